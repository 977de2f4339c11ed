/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Runs a workflow.  The engine is a step machine: wh_exec_run() runs inline
 * nodes until the execution ends or reaches a node it cannot run itself
 * (a worker node); then it returns WH_EXEC_YIELD, the caller performs the
 * node and hands its result to wh_exec_resume().  nginx runs only
 * workflows without worker nodes and never sees a yield.
 */

#ifndef WH_EXEC_H
#define WH_EXEC_H

#include "wh_workflow.h"


#define WH_STATUS_STARTED     0
#define WH_STATUS_RESOLVED    1
#define WH_STATUS_FAILED     -1
#define WH_STATUS_ERROR      -2
#define WH_STATUS_ABORTED    -3

/*
 * Node runs plus loop iterations allowed per execution: the work an input
 * can cause is bounded (a loop over a count taken from the request).
 * Beyond it the execution ends with status error.
 */
#define WH_EXEC_MAX_STEPS   100000

typedef enum {
    WH_EXEC_DONE,           /* ended: see wh_exec_status() */
    WH_EXEC_YIELD,          /* wh_exec_pending() needs the caller */
    WH_EXEC_NOMEM
} wh_exec_rc_t;

typedef struct {
    const wh_node_t   *node;
    int                status;        /* WH_STATUS_* */
    wh_val_t           result;
    const char        *error;         /* NULL or a message */
    int64_t            started_ms;
    int64_t            finished_ms;
    wh_val_t           logs;          /* a script's console lines or missing */
} wh_job_t;

typedef struct {
    const char        *name;
    size_t             name_len;
    const char        *value;
    size_t             value_len;
} wh_header_t;

typedef struct {
    int                status;        /* HTTP status, 200-599 */
    wh_header_t       *headers;
    size_t             nheaders;
    const char        *body;          /* NULL: no body */
    size_t             body_len;
    int                body_json;     /* body is JSON (else a string's text) */
} wh_response_t;

typedef struct wh_exec_s  wh_exec_t;

wh_exec_t *wh_exec_create(const wh_workflow_t *wf, wh_mem_t *mem,
    wh_val_t context, int64_t now_ms);

/*
 * The clock of the jobs' start and end, in ms since 1970; by default the
 * system's.  nginx gives its cached time: inline nodes take microseconds,
 * less than reading the clock twice for each.
 */
void wh_exec_clock(wh_exec_t *ex, int64_t (*now)(void));

/* The scope templates resolve against (the worker sets env there). */
wh_scope_t *wh_exec_scope(wh_exec_t *ex);

/*
 * Runs until the end or a worker node.  "loop" is pure control flow and
 * runs here: $scopes.<key> is {"item", "index", "length"} per iteration;
 * its target is an array (its items), a number or numeric string n
 * (0 … n-1), null (no iteration) or any other value (once, as itself).
 * The loop's job is open (status 0) while its body runs; its result is
 * the target.
 */
wh_exec_rc_t wh_exec_run(wh_exec_t *ex);

/*
 * The worker node the caller must perform after WH_EXEC_YIELD.  Its
 * config is node->config (or node->config_tpl rendered in the scope).
 * wh_exec_resume() records its job (status, result, error copied) and
 * sets $nodes.<key>; a negative status ends the execution with that
 * status unless the node's config has "ignoreFail": true.  Then call
 * wh_exec_run() again.
 */
const wh_node_t *wh_exec_pending(const wh_exec_t *ex);
void wh_exec_resume(wh_exec_t *ex, int status, wh_val_t result,
    const char *error);

/* Lines a node logged (an array value), kept on the job of the next
 * wh_exec_resume() as "logs". */
void wh_exec_resume_logs(wh_exec_t *ex, wh_val_t logs);

/*
 * For a "parallel" node: an execution of one of its lists, sharing the
 * scope of ex.  It runs and yields like any execution and ends resolved
 * at the end of its list, or failed or error as a node decides; the
 * caller combines the branches by the node's mode and resumes ex.  Its
 * jobs are recorded in ex's job list.  An "end" or "response" node in a
 * branch ends ex as well.
 */
wh_exec_t *wh_exec_branch(wh_exec_t *ex, const wh_list_t *list);

/* Ends the execution from outside (a timeout, shutdown). */
void wh_exec_abort(wh_exec_t *ex, int status, const char *error);

int wh_exec_status(const wh_exec_t *ex);           /* WH_STATUS_* */
const char *wh_exec_error(const wh_exec_t *ex);    /* NULL or a message */

/*
 * The part of an execution's error that an HTTP answer may show (§7).  A
 * node's error ("node \"KEY\": …") keeps the node and the kind of
 * failure: the words before the message's first ':' or digit that starts
 * a word (so no URL, host, address, port or $env value), and "HTTP status NNN" of a request
 * node.  Other errors are the run's own (timeout, revision, memory),
 * made of no request or node data, and stay whole.  The record keeps the
 * whole error.  Writes to b (not NUL-terminated).
 */
void wh_exec_public_error(const char *err, size_t len, wh_buf_t *b);

/* The response node's answer, NULL when none was reached. */
const wh_response_t *wh_exec_response(const wh_exec_t *ex);

/* The workflow's output (its last "output" node's value): 1, or 0. */
int wh_exec_output(const wh_exec_t *ex, wh_val_t *v);

size_t wh_exec_njobs(const wh_exec_t *ex);
const wh_job_t *wh_exec_job(const wh_exec_t *ex, size_t i);

/*
 * Renders a response template (the workflow's async acknowledgement) in
 * the scope.  Returns 0 or -1 (OOM, or a statusCode not in 200-599).
 */
int wh_response_render(const wh_resp_tpl_t *rt, wh_scope_t *scope,
    wh_response_t *out);

#endif /* WH_EXEC_H */
