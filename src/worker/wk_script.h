/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "script" node: modern JavaScript (V8 from Debian's libnode, ES2022)
 * in a sandboxed process per run, bounded in time and memory.  See
 * wk_script.c for the processes and the sandbox, wk_v8.cc for the engine.
 *
 * The script is the body of an async function: `return` gives the result
 * (a promise is awaited), `await` works.  Globals: every argument by
 * name, `context` (alias `$context`), `nodes` (aliases `$nodes`,
 * `$jobsMapByNodeKey`) and a `console` whose lines are captured.  No
 * require, process, network, files, timers or WebAssembly; eval and
 * `new Function` only with allow_eval.
 */

#ifndef WK_SCRIPT_H
#define WK_SCRIPT_H

#include <stddef.h>
#include <stdint.h>


#define WK_SCRIPT_TIMEOUT    5000               /* ms, when 0 is given */
#define WK_SCRIPT_MEM_LIMIT  (64 * 1024 * 1024) /* bytes, when 0 is given */
#define WK_SCRIPT_LOG_LINES  100                /* console lines kept */
#define WK_SCRIPT_LOG_LINE   4096               /* bytes of one line */

#define WK_SCRIPT_AGAIN      1


/*
 * All strings are malloc'd, NUL-terminated UTF-8.  On success result_json
 * is compact JSON (undefined returns null); on failure error says why:
 * "script error: ...", "script timed out after N ms", "script exceeded
 * the memory limit", ...  error is NULL only when even that could not be
 * allocated.  logs are the console lines (nlogs of them), log the same
 * joined by new lines; NULL when there was none.
 */

typedef struct {
    int                  ok;
    char                *result_json;
    char                *error;
    char                *log;
    char               **logs;
    size_t               nlogs;
} wk_script_result_t;

typedef struct wk_script_s  wk_script_t;


/*
 * The helper: a process forked before the caller reads any secret or job,
 * holding neither (it wipes its environment and arguments), from which
 * every script process is forked.  wk_script_helper_start() forks it
 * (once; returns 0, or -1 with errno); after a start with final set, a
 * helper that died is not replaced (the caller holds secrets by then) and
 * script nodes fail.  Without a call, the first run starts one.
 * wk_script_helper_stop() ends it and reaps it.
 */
int wk_script_helper_start(int final, char **argv);
void wk_script_helper_stop(void);


/*
 * Runs a script and waits for it.  args_json is a JSON object of argument
 * names to values (NULL: none), context_json and nodes_json are JSON texts
 * (NULL: null and {}).  Returns 0 when out->ok, -1 otherwise; out is
 * always filled and must be freed with wk_script_result_free().
 */
int wk_script_run(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, wk_script_result_t *out);
int wk_script_run_eval(const char *content, size_t len,
    const char *args_json, const char *context_json, const char *nodes_json,
    unsigned timeout_ms, size_t mem_limit, int allow_eval,
    wk_script_result_t *out);

void wk_script_result_free(wk_script_result_t *r);


/*
 * The same without blocking, for an event loop.  wk_script_start() forks
 * the run and returns NULL with errno set when it cannot.  Call
 * wk_script_collect() whenever wk_script_fd() is readable, and once the
 * monotonic clock (CLOCK_MONOTONIC, ms) passes wk_script_deadline(): it
 * returns WK_SCRIPT_AGAIN while the script runs (out untouched), or 0 with
 * out filled and the handle freed.  wk_script_cancel() kills the run and
 * frees the handle.
 *
 * The helper is a child of the caller: it must not reap it itself (no
 * SIGCHLD set to SIG_IGN, no waitpid(-1, ...)).  The script processes are
 * the helper's children.
 */
wk_script_t *wk_script_start(const char *content, size_t len,
    const char *args_json, const char *context_json, const char *nodes_json,
    unsigned timeout_ms, size_t mem_limit);
wk_script_t *wk_script_start_eval(const char *content, size_t len,
    const char *args_json, const char *context_json, const char *nodes_json,
    unsigned timeout_ms, size_t mem_limit, int allow_eval);
int wk_script_fd(const wk_script_t *s);
int64_t wk_script_deadline(const wk_script_t *s);
int wk_script_collect(wk_script_t *s, wk_script_result_t *out);
void wk_script_cancel(wk_script_t *s);

#endif /* WK_SCRIPT_H */
