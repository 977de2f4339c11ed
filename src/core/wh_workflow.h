/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The workflow model: a workflow file (SPEC §4) loaded with jansson,
 * validated completely and compiled (templates, conditions, math) once,
 * at configuration time.  Immutable afterwards, shared by all requests.
 */

#ifndef WH_WORKFLOW_H
#define WH_WORKFLOW_H

#include <jansson.h>
#include "wh_tpl.h"
#include "wh_math.h"
#include "wh_calc.h"


typedef enum {
    /* inline: run by wh_exec in nginx (sync) or in the worker */
    WH_NODE_CONDITION, WH_NODE_CALCULATION, WH_NODE_SET, WH_NODE_RESPONSE,
    WH_NODE_END, WH_NODE_OUTPUT,
    /* worker only */
    WH_NODE_REQUEST, WH_NODE_SCRIPT, WH_NODE_CREATE, WH_NODE_UPDATE,
    WH_NODE_DESTROY, WH_NODE_QUERY, WH_NODE_MAIL, WH_NODE_LOOP,
    WH_NODE_PARALLEL, WH_NODE_DELAY, WH_NODE_SUBFLOW, WH_NODE_WAIT
} wh_node_type_t;

#define wh_node_is_inline(t)  ((t) <= WH_NODE_OUTPUT)

const char *wh_node_type_name(wh_node_type_t t);


typedef struct wh_node_s  wh_node_t;
typedef struct wh_cond_s  wh_cond_t;      /* compiled calculation tree */

typedef struct {
    wh_node_t  **items;
    size_t       n;
} wh_list_t;

typedef struct {
    char        *name;
    wh_tpl_t    *value;
} wh_header_tpl_t;

typedef struct {
    wh_tpl_t          *status;     /* statusCode, a number or a template */
    wh_header_tpl_t   *headers;
    size_t             nheaders;
    wh_tpl_t          *body;       /* NULL: no body */
} wh_resp_tpl_t;

struct wh_node_s {
    char              *key;
    char              *title;      /* NULL when absent */
    wh_node_type_t     type;
    int                index;      /* in wf->all */
    json_t            *config;     /* as written (borrowed from wf->root) */
    wh_tpl_t          *config_tpl; /* whole config as a template */

    union {
        struct {
            wh_cond_t *calc;
            int        reject_on_false;
            int        has_branches;
        } condition;
        struct {
            int        math;       /* engine "math" (else "string") */
            wh_tpl_t  *expr;
            wh_math_t *m;
        } calculation;
        wh_tpl_t      *set_values;
        wh_resp_tpl_t  response;
        int            end_status;     /* 1 or -1 */
        wh_tpl_t      *loop_target;
        wh_tpl_t      *output_value;
        struct {
            char      *workflow;   /* the child's key */
            int        wait;
        } subflow;
    } u;

    /* condition: "true", "false"; loop: "body"; parallel: the lists */
    wh_list_t          when_true;
    wh_list_t          when_false;
    wh_list_t          body;
    wh_list_t         *lists;
    size_t             nlists;
};

typedef struct {
    char              *key;
    char              *title;
    int                enabled;
    int64_t            timeout_ms;     /* options.timeout, 0: none */
    int                concurrency;    /* options.concurrency, 0: none */
    wh_tpl_t          *order_key;      /* options.orderKey, NULL: none */
    wh_resp_tpl_t      response;       /* async acknowledgement */
    int                has_response;   /* "response" given in the file */

    wh_list_t          nodes;
    wh_node_t        **all;            /* every node, by index */
    size_t             nnodes;
    wh_keys_t          keys;

    int                needs_worker;   /* any worker node */
    int                has_response_node;
    int                has_wait;       /* a "wait" node: async only */

    char               revision[65];   /* hex SHA-256 of canonical JSON */
    char              *canonical;      /* sorted keys, compact */
    size_t             canonical_len;
    char              *definition;     /* compact, the file's key order: */
    size_t             definition_len; /* webhook:workflow:<revision> */
    json_t            *root;
    char              *name;           /* file name, for messages */
} wh_workflow_t;


/*
 * Loads and validates a workflow.  On error returns NULL with a message
 * a person can act on, naming the file and then either the JSON position
 * ("line 3, column 7: …") or the node ("node \"is_main\": …").
 */
wh_workflow_t *wh_workflow_load_file(const char *path, char *err,
    size_t errlen);
wh_workflow_t *wh_workflow_load(const char *text, size_t len,
    const char *name, char *err, size_t errlen);
void wh_workflow_free(wh_workflow_t *wf);

/*
 * Subflow cycles among the workflows given (a -> b -> a): -1 with a
 * message naming the cycle.  Keys not among them are not followed (the
 * worker bounds those calls by depth).  O(workflows + subflow nodes).
 */
int wh_workflow_check_cycles(wh_workflow_t *const *wfs, size_t n, char *err,
    size_t errlen);

/* async mode: a "response" node is refused.  -1 with a message. */
int wh_workflow_check_async(const wh_workflow_t *wf, char *err,
    size_t errlen);

#endif /* WH_WORKFLOW_H */
