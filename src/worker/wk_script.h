/*
 * The "script" node: JavaScript (Duktape 2.7) in a sandbox, one forked
 * child process per run, bounded in time and memory.  See wk_script.c for
 * why a process and not a thread.
 *
 * The script is a function body: `return` gives the result.  Globals:
 * every argument by name, `context` (alias `$context`), `nodes` (alias
 * `$nodes`) and a `console` whose output is captured.  ECMAScript 5.1 plus
 * what Duktape has of ES2015+: `const` works, `let`, arrow functions,
 * template literals, destructuring and for-of do not (no transpiling).
 */

#ifndef WK_SCRIPT_H
#define WK_SCRIPT_H

#include <stddef.h>
#include <stdint.h>


#define WK_SCRIPT_TIMEOUT    5000               /* ms, when 0 is given */
#define WK_SCRIPT_MEM_LIMIT  (64 * 1024 * 1024) /* bytes, when 0 is given */
#define WK_SCRIPT_LOG_MAX    16384              /* captured console bytes */

#define WK_SCRIPT_AGAIN      1


/*
 * All strings are malloc'd, NUL-terminated UTF-8.  On success result_json
 * is compact JSON (undefined returns null); on failure error says why:
 * "script error: ...", "script timed out after N ms", "script exceeded
 * the memory limit", ...  error is NULL only when even that could not be
 * allocated.  log is the console output, NULL when there was none.
 */

typedef struct {
    int                  ok;
    char                *result_json;
    char                *error;
    char                *log;
} wk_script_result_t;

typedef struct wk_script_s  wk_script_t;


/*
 * Runs a script and waits for it.  args_json is a JSON object of argument
 * names to values (NULL: none), context_json and nodes_json are JSON texts
 * (NULL: null and {}).  Returns 0 when out->ok, -1 otherwise; out is
 * always filled and must be freed with wk_script_result_free().
 */
int wk_script_run(const char *content, size_t len, const char *args_json,
    const char *context_json, const char *nodes_json, unsigned timeout_ms,
    size_t mem_limit, wk_script_result_t *out);

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
 * The runs are children of the caller: it must not reap them itself
 * (no SIGCHLD set to SIG_IGN, no waitpid(-1, ...)).
 */
wk_script_t *wk_script_start(const char *content, size_t len,
    const char *args_json, const char *context_json, const char *nodes_json,
    unsigned timeout_ms, size_t mem_limit);
int wk_script_fd(const wk_script_t *s);
int64_t wk_script_deadline(const wk_script_t *s);
int wk_script_collect(wk_script_t *s, wk_script_result_t *out);
void wk_script_cancel(wk_script_t *s);

#endif /* WK_SCRIPT_H */
