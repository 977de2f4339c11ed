/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * V8 (Debian's libnode) behind a C interface for the script process, the
 * only C++ of the project (wk_v8.cc).  wk_v8_init() readies V8 once, with
 * --jitless and no background threads, so that the process may fork
 * afterwards; each wk_v8_run() then runs one script in a fresh context of
 * the process's isolate (made by its first run) and either gives its
 * result as JSON text or says why not.  Nothing here touches files,
 * sockets or the environment.
 */

#ifndef WK_V8_H
#define WK_V8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif


#define WK_V8_OK          0
#define WK_V8_ERROR      -1     /* *error says why */
#define WK_V8_TIMEOUT    -2
#define WK_V8_MEMORY     -3


/* a console line, UTF-8, not NUL-terminated */
typedef void (*wk_v8_log_pt)(void *data, const char *p, size_t len);

/* V8 gave up (out of memory, fatal error): must not return */
typedef void (*wk_v8_fatal_pt)(int memory, const char *msg);


typedef struct {
    const char          *content;
    size_t               len;
    const char          *args_json;     /* object by name, or NULL */
    const char          *context_json;  /* NULL: null */
    const char          *nodes_json;    /* NULL: {} */
    size_t               heap_limit;    /* the same for every run */
    unsigned             timeout_ms;
    unsigned             grace_ms;      /* then expire(0) */
    int                  allow_eval;
    uint64_t             seed[2];       /* Math.random, never both 0 */
    wk_v8_log_pt         log;
    void                *log_data;
} wk_v8_in_t;


/*
 * Once per process, before any fork: V8's flags and platform (V8 marks
 * its heap MADV_DONTFORK, so isolates are made after the fork).  Returns
 * 0, or -1 when V8 cannot start.  heap_limit is unused.
 */
int wk_v8_init(size_t heap_limit, wk_v8_fatal_pt fatal);

/*
 * Starts the watchdog thread of the process's runs: timeout_ms into a run
 * it stops the script (wk_v8_run() returns WK_V8_TIMEOUT); grace_ms
 * later, or at once when fd is hung up during a run (the caller went
 * away), it calls expire(hung_up), which must not return.  The thread
 * first calls sandbox() (its system-call filter); when that fails, -1
 * with *err set to its errno.  Returns 0, or -1 (*err 0: no thread).
 */
int wk_v8_watch(int fd, void (*expire)(int hung_up), int (*sandbox)(void),
    int *err);

/*
 * Runs the script, a function body, and awaits a returned promise.  On
 * WK_V8_OK *json is the result as compact JSON (undefined as null), on
 * WK_V8_ERROR *error is "script error: ..." or the like; both malloc'd.
 */
int wk_v8_run(const wk_v8_in_t *in, char **json, size_t *json_len,
    char **error);


#ifdef __cplusplus
}
#endif

#endif /* WK_V8_H */
