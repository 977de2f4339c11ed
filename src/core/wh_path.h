/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Template paths: "$context.data.commits.0.id", "$nodes.branch",
 * "$jobsMapByNodeKey.branch", "$scopes.loop1.item", "$env.NAME",
 * "$system.now", "$execution.resumeUrl".  Compiled once at configuration
 * time; node keys are resolved to node indexes then.
 */

#ifndef WH_PATH_H
#define WH_PATH_H

#include "wh_val.h"


typedef enum {
    WH_ROOT_CONTEXT,
    WH_ROOT_NODES,       /* also $jobsMapByNodeKey */
    WH_ROOT_SCOPES,
    WH_ROOT_ENV,
    WH_ROOT_SYSTEM,
    WH_ROOT_EXECUTION    /* the worker's: resumeUrl, resumeUrls (§11) */
} wh_root_t;


/* Node keys of a workflow in index order (see wh_workflow.h). */

typedef struct {
    const char  **keys;
    size_t        n;
} wh_keys_t;

int wh_keys_find(const wh_keys_t *keys, const char *key, size_t len);


typedef struct {
    const char  *name;      /* NUL-terminated */
    size_t       len;
    int          index;     /* >= 0 when the segment is all digits */
} wh_seg_t;

typedef struct {
    wh_root_t    root;
    int          node;      /* nodes and scopes: node index, -1 unknown */
    wh_seg_t    *segs;      /* after the root (and after the node key) */
    size_t       nsegs;
} wh_path_t;


/*
 * What paths are resolved against.  nodes[] and scopes[] are indexed by
 * node index and hold missing values for nodes that have not run.
 */

typedef struct wh_scope_s  wh_scope_t;

struct wh_scope_s {
    wh_mem_t    *mem;
    wh_val_t     context;
    wh_val_t    *nodes;
    wh_val_t    *scopes;     /* a loop's {"item":…, "index":…} */
    size_t       nnodes;
    /* $env.NAME: returns missing for names not allowed; NULL: none */
    wh_val_t   (*env)(void *data, wh_mem_t *mem, const char *name,
                      size_t len);
    void        *env_data;
    int64_t      now_ms;     /* $system.now, Unix time in milliseconds */
    /*
     * $execution for the node being run (node: its index, set by wh_exec
     * before a node runs or yields); NULL: $execution is missing.
     */
    wh_val_t   (*execution)(void *data, wh_mem_t *mem, int node);
    void        *execution_data;
    int          node;
};


/*
 * Compiles the text between "{{" and "}}" (white space around it allowed).
 * Allocates with malloc (configuration lifetime).  Returns NULL with a
 * message in err.
 */
wh_path_t *wh_path_compile(const char *s, size_t len, const wh_keys_t *keys,
    char *err, size_t errlen);
void wh_path_free(wh_path_t *p);

wh_val_t wh_path_resolve(const wh_path_t *p, wh_scope_t *scope);

/*
 * Calls fn for every "{{ … }}" in s[0..len): offsets of the opening and
 * just past the closing braces, and the text between them.  A non-zero
 * return from fn stops the scan and is returned.  An unclosed "{{" is -1
 * with a message in err.  Used by templates and the math engine.
 */
typedef int (*wh_path_each_pt)(void *data, size_t start, size_t end,
    const char *inner, size_t inner_len);
int wh_path_scan(const char *s, size_t len, wh_path_each_pt fn, void *data,
    char *err, size_t errlen);

#endif /* WH_PATH_H */
