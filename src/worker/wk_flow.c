/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "parallel" and "delay" nodes.
 *
 * parallel: each list of branches.list becomes a branch run (wk_flow.h)
 * that the event loop drives like any run, so the worker nodes of all
 * branches are in flight together: two requests, or two delays, in two
 * branches take the time of the longer one, not the sum.  Inline nodes
 * of the branches run one branch at a time (there is one thread).  The
 * branches share the scope: $nodes.<key> of a node of one branch is
 * visible to the others once it ran, and the jobs of all branches go to
 * the one job list in the order they ended.
 *
 *     mode "all"  (default) resolves when every branch resolved; fails
 *                 as soon as one branch fails, with that branch's
 *                 status and error
 *     mode "any"  resolves as soon as one branch resolves; fails when
 *                 every branch failed (status and error of the last)
 *     mode "race" the first branch to end decides, resolved or failed
 *
 * Once decided, the branches still running are cancelled: the node each
 * has in flight is stopped and recorded with status -3 (aborted).  The
 * result is an array with one item per branch: the result of the last
 * node of its list when the branch resolved, null otherwise (an empty
 * list resolves at once with null).  An "end" node in a branch ends the
 * execution: the parallel node decides at once and its other branches
 * are cancelled.
 *
 * delay: "duration" ms (a number or a numeric string, 0 or more).  The
 * due time is recorded before the wait, in the execution record (field
 * "delay:<node key>:<n>", n counting earlier runs of the node in the
 * execution, so a delay in a loop waits each time) and in the zset
 * webhook:delayed (execution id by due time, the latest of its delays).
 * The run waits in the event loop (a deadline, no descriptor).  A worker
 * that dies or stops meanwhile leaves the entry pending; whoever resumes
 * it finds the recorded due time and waits only for what is left, or
 * not at all.  The result is {"duration": ms, "delayedUntil": ISO}.  At
 * SIGTERM the runs waiting in delays are given up at once (their entries
 * stay pending) instead of holding the shutdown for the delay.  SPEC §4
 * has delays in async workflows only: in a sync job (one with a reply
 * channel) the node fails.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_flow.h"


#define WK_PAR_ALL       0
#define WK_PAR_ANY       1
#define WK_PAR_RACE      2

#define WK_DELAY_MAX     (366LL * 86400 * 1000)


typedef struct wk_par_s  wk_par_t;

typedef struct {
    wk_par_t               *par;
    wk_run_t               *run;
    const wh_list_t        *list;
    int                     ended;
    int                     status;
} wk_par_branch_t;

struct wk_par_s {
    wk_hold_t               hold;       /* first: the run's cancel hook */
    wk_run_t               *run;
    wh_exec_t              *ex;
    const wh_node_t        *node;
    int                     mode;
    int                     decided;

    wk_par_branch_t        *branches;
    size_t                  n;
    size_t                  ended;
    size_t                  resolved;

    /* the failure that decides, when one does */
    size_t                  fail_index;
    int                     fail_status;
    const char             *fail_error;
};


typedef struct wk_delay_s  wk_delay_t;

struct wk_delay_s {
    wk_hold_t               hold;       /* first: the run's cancel hook */
    wk_delay_t             *next;       /* waiting, for wk_flow_stop() */
    wk_delay_t            **prev;
    wk_run_t               *run;
    wh_exec_t              *ex;
    const wh_node_t        *node;
    int64_t                 duration;
    int64_t                 due;
    char                   *key;        /* the record */
    char                   *field;
};


static wk_delay_t  *wk_delays;
static int          wk_deciding;    /* branches are cancelled by a decision */
static int          wk_stopping;    /* wk_flow_stop() was called */


/* parallel */

static void
wk_par_cancel_branches(wk_worker_t *w, wk_par_t *par)
{
    size_t       i;
    const char  *why;

    why = wk_run_aborted(par->run);

    if (why == NULL) {
        why = wk_fmt(wh_exec_scope(par->ex)->mem, "cancelled: parallel "
                     "node \"%s\" decided without this branch",
                     par->node->key);
    }

    for (i = 0; i < par->n; i++) {
        if (!par->branches[i].ended) {
            par->branches[i].ended = 1;
            wk_run_branch_cancel(w, par->branches[i].run, why);
        }
    }
}


/* The run holding the node went away (or its own branch was cancelled). */

void
wk_parallel_cancel(wk_worker_t *w, wk_hold_t *h)
{
    wk_par_t  *par;

    par = (wk_par_t *) h;
    par->decided = 1;

    wk_par_cancel_branches(w, par);
}


/* [the result of each resolved branch's last node, else null] */

static wh_val_t
wk_par_result(wk_par_t *par)
{
    size_t            i;
    wh_val_t          v, r;
    wh_buf_t          b;
    wh_scope_t       *scope;
    wh_json_err_t     jerr;
    const wh_list_t  *list;

    scope = wh_exec_scope(par->ex);
    wh_buf_init(&b, scope->mem, 64);
    wh_buf_addc(&b, '[');

    for (i = 0; i < par->n; i++) {
        if (i) {
            wh_buf_addc(&b, ',');
        }

        list = par->branches[i].list;
        v = wh_val_missing();

        if (par->branches[i].status == WH_STATUS_RESOLVED && list->n) {
            v = scope->nodes[list->items[list->n - 1]->index];
        }

        wh_val_write_json(&b, v);
    }

    wh_buf_addc(&b, ']');

    if (b.failed || wh_val_parse(scope->mem, b.data, b.len, 0, &r, &jerr)
                    != 0)
    {
        return wh_val_missing();
    }

    return r;
}


static void
wk_par_decide(wk_worker_t *w, wk_par_t *par, int status, const char *error)
{
    wh_val_t  result;

    par->decided = 1;

    wk_deciding++;
    wk_par_cancel_branches(w, par);
    wk_deciding--;

    result = wk_par_result(par);

    if (wh_val_type(result) == WH_JSON_MISSING && status >= 0) {
        status = WH_STATUS_ERROR;
        error = "out of memory";
    }

    wk_run_release(par->run, &par->hold);
    wk_run_node_done(w, par->run, status, result, error);
}


static void
wk_par_branch_end(wk_worker_t *w, wk_run_t *run, void *data)
{
    int               status;
    wh_mem_t         *mem;
    wk_par_t         *par;
    const char       *error;
    wk_par_branch_t  *br;

    br = data;
    par = br->par;

    if (par->decided || br->ended) {
        return;
    }

    status = wk_run_branch_status(run, &error);
    mem = wh_exec_scope(par->ex)->mem;

    br->ended = 1;
    br->status = status;
    par->ended++;

    if (status == WH_STATUS_RESOLVED) {
        par->resolved++;

    } else {
        par->fail_index = (size_t) (br - par->branches);
        par->fail_status = status < 0 ? status : WH_STATUS_FAILED;
        par->fail_error = error;
    }

    /* an "end" node in a branch ended the whole execution */
    if (wk_run_over(run)) {
        wk_par_decide(w, par, status, NULL);
        return;
    }

    if (status == WH_STATUS_RESOLVED
        ? (par->mode != WK_PAR_ALL || par->ended == par->n)
        : (par->mode != WK_PAR_ANY || par->ended == par->n))
    {
        if (status == WH_STATUS_RESOLVED) {
            wk_par_decide(w, par, WH_STATUS_RESOLVED, NULL);
            return;
        }

        error = par->fail_error
                ? wk_fmt(mem, "%sbranch %zu: %s",
                         par->mode == WK_PAR_ANY ? "every branch "
                         "failed; " : "", par->fail_index + 1,
                         par->fail_error)
                : wk_fmt(mem, "%sbranch %zu failed",
                         par->mode == WK_PAR_ANY ? "every branch "
                         "failed; " : "", par->fail_index + 1);

        wk_par_decide(w, par, par->fail_status, error);
    }
}


int
wk_parallel_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    size_t       i, len;
    wh_val_t     cfg, v;
    wk_par_t    *par;
    wh_mem_t    *mem;
    const char  *s;

    mem = wh_exec_scope(ex)->mem;

    if (wh_tpl_eval(node->config_tpl, wh_exec_scope(ex), &cfg) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "cannot render the config");
        return 0;
    }

    par = wh_alloc(mem, sizeof(wk_par_t));
    if (par == NULL) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
        return 0;
    }

    memset(par, 0, sizeof(wk_par_t));
    par->run = run;
    par->ex = ex;
    par->node = node;
    par->n = node->nlists;
    par->mode = WK_PAR_ALL;

    v = wh_val_get(cfg, "mode", 4);

    if (wh_val_type(v) != WH_JSON_MISSING && wh_val_type(v) != WH_JSON_NULL) {
        if (wh_val_str(mem, v, &s, &len) != 0
            || (strcmp(s, "all") != 0 && strcmp(s, "any") != 0
                && strcmp(s, "race") != 0))
        {
            wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                             "\"mode\" must be \"all\", \"any\" or "
                             "\"race\"");
            return 0;
        }

        par->mode = s[1] == 'l' ? WK_PAR_ALL
                    : s[1] == 'n' ? WK_PAR_ANY : WK_PAR_RACE;
    }

    if (par->n == 0) {
        wk_run_node_done(w, run, WH_STATUS_RESOLVED, wk_par_result(par),
                         NULL);
        return 0;
    }

    par->branches = wh_alloc(mem, par->n * sizeof(wk_par_branch_t));
    if (par->branches == NULL) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
        return 0;
    }

    memset(par->branches, 0, par->n * sizeof(wk_par_branch_t));

    for (i = 0; i < par->n; i++) {
        par->branches[i].par = par;
        par->branches[i].list = &node->lists[i];
        par->branches[i].status = WH_STATUS_STARTED;
        par->branches[i].run = wk_run_branch(w, run, &node->lists[i],
                                             wk_par_branch_end,
                                             &par->branches[i]);

        if (par->branches[i].run == NULL) {
            /* those made are dropped: nothing of them ran */
            while (i--) {
                par->branches[i].ended = 1;
                wk_run_branch_cancel(w, par->branches[i].run, "");
            }

            wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                             "out of memory");
            return 0;
        }
    }

    wk_run_hold(run, &par->hold);

    return 1;
}


/* delay */

static void
wk_delay_unlink(wk_delay_t *d)
{
    if (d->prev != NULL) {
        *d->prev = d->next;

        if (d->next != NULL) {
            d->next->prev = d->prev;
        }

        d->prev = NULL;
        d->next = NULL;
    }
}


static void wk_delay_forget(wk_worker_t *w, wk_delay_t *d);


/*
 * A parallel node decided without the branch, or the execution was
 * aborted: the delay will not be waited for.  Otherwise (the connection
 * lost) the run is dropped and the due time stays for whoever resumes it.
 */

void
wk_delay_cancel(wk_worker_t *w, wk_hold_t *h)
{
    wk_delay_t  *d;

    d = (wk_delay_t *) h;

    wk_io_del(w, d);
    wk_delay_unlink(d);

    if ((wk_deciding || wk_run_aborted(d->run) != NULL)
        && w->cmd != NULL && !w->cmd->err)
    {
        wk_delay_forget(w, d);
    }
}


static wh_val_t
wk_delay_result(wk_delay_t *d)
{
    char            iso[WH_ISO_LEN];
    wh_buf_t        b;
    wh_val_t        v;
    wh_json_err_t   jerr;

    wh_iso_time(d->due, iso);

    wh_buf_init(&b, wh_exec_scope(d->ex)->mem, 64);
    wh_buf_printf(&b, "{\"duration\":%lld,\"delayedUntil\":\"%s\"}",
                  (long long) d->duration, iso);

    if (b.failed
        || wh_val_parse(wh_exec_scope(d->ex)->mem, b.data, b.len, 0, &v,
                        &jerr)
           != 0)
    {
        return wh_val_missing();
    }

    return v;
}


/*
 * Forgets the due time of a delay that is over or cancelled; the zset
 * keeps the latest due time of the execution's delays still waiting.
 */

static void
wk_delay_forget(wk_worker_t *w, wk_delay_t *d)
{
    wk_args_t    a;
    redisReply  *r;

    static const char  lua[] =
        "redis.call('HDEL', KEYS[1], ARGV[1]) "
        "local due = nil "
        "for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
        "  if string.sub(f, 1, 6) == 'delay:' then "
        "    local t = tonumber(redis.call('HGET', KEYS[1], f)) "
        "    if t and (not due or t > due) then due = t end "
        "  end "
        "end "
        "if due then "
        "  redis.call('ZADD', KEYS[2], due, ARGV[2]) "
        "else "
        "  redis.call('ZREM', KEYS[2], ARGV[2]) "
        "end "
        "return 1";

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, lua);
    wk_args_adds(&a, "2");
    wk_args_adds(&a, d->key);
    wk_args_adds(&a, WH_REDIS_DELAYED);
    wk_args_adds(&a, d->field);
    wk_args_adds(&a, wk_run_execution(d->run));
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        /* harmless: the recorded job is what counts */
        wk_log("redis: clearing a delay of %s: %s", wk_run_execution(d->run),
               r ? r->str : w->cmd->errstr);
    }

    freeReplyObject(r);
}


/*
 * The delay is over: its job is recorded (that is what a resumed run
 * goes by), then its due time is forgotten.
 */

static void
wk_delay_done(wk_worker_t *w, wk_delay_t *d)
{
    wh_val_t  result;

    result = wk_delay_result(d);

    if (wh_val_type(result) == WH_JSON_MISSING) {
        wk_run_node_done(w, d->run, WH_STATUS_ERROR, result, "out of memory");
        return;
    }

    wk_run_node_done(w, d->run, WH_STATUS_RESOLVED, result, NULL);
    wk_delay_forget(w, d);
}


static void
wk_delay_handler(wk_worker_t *w, void *data, int revents)
{
    wk_delay_t  *d;

    d = data;

    if (wk_now_ms() < d->due) {
        return;
    }

    wk_io_del(w, d);
    wk_delay_unlink(d);
    wk_run_release(d->run, &d->hold);

    wk_delay_done(w, d);
}


/* The due time: the one recorded by an earlier attempt, or now's. */

static int
wk_delay_due(wk_worker_t *w, wk_delay_t *d, const char **error)
{
    char         due[32];
    wk_args_t    a;
    redisReply  *r;

    static const char  lua[] =
        "local due = redis.call('HGET', KEYS[1], ARGV[1]) "
        "if not due then "
        "  due = ARGV[2] "
        "  redis.call('HSET', KEYS[1], ARGV[1], due) "
        "end "
        "redis.call('ZADD', KEYS[2], 'GT', due, ARGV[3]) "
        "return due";

    snprintf(due, sizeof(due), "%lld", (long long) (wk_now_ms()
                                                    + d->duration));

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, lua);
    wk_args_adds(&a, "2");
    wk_args_adds(&a, d->key);
    wk_args_adds(&a, WH_REDIS_DELAYED);
    wk_args_adds(&a, d->field);
    wk_args_adds(&a, due);
    wk_args_adds(&a, wk_run_execution(d->run));
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        *error = wk_fmt(wh_exec_scope(d->ex)->mem,
                        "redis: recording the delay: %s",
                        r == NULL ? w->cmd->errstr
                        : r->type == REDIS_REPLY_ERROR ? r->str
                        : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }

    d->due = strtoll(r->str, NULL, 10);
    freeReplyObject(r);

    return 0;
}


int
wk_delay_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    double       ms;
    size_t       i, n, len;
    wh_val_t     cfg, v;
    wh_mem_t    *mem;
    wh_buf_t     b;
    wk_delay_t  *d;
    const char  *error;

    mem = wh_exec_scope(ex)->mem;

    if (wh_tpl_eval(node->config_tpl, wh_exec_scope(ex), &cfg) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "cannot render the config");
        return 0;
    }

    if (wk_run_is_sync(run)) {
        /* a request waits for the answer: nothing to wait for there */
        wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                         "a delay node runs only in asynchronous "
                         "workflows");
        return 0;
    }

    v = wh_val_get(cfg, "duration", 8);

    if ((wh_val_type(v) != WH_JSON_NUMBER && wh_val_type(v) != WH_JSON_STRING)
        || wh_val_to_number(v, &ms) != 0 || !(ms >= 0)
        || ms > (double) WK_DELAY_MAX)
    {
        wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                         "\"duration\" must be a number of milliseconds "
                         "from 0 to 366 days");
        return 0;
    }

    d = wh_alloc(mem, sizeof(wk_delay_t));
    if (d == NULL) {
        goto nomem;
    }

    memset(d, 0, sizeof(wk_delay_t));
    d->run = run;
    d->ex = ex;
    d->node = node;
    d->duration = (int64_t) ms;

    /* which run of the node this is: a delay in a loop waits each time */
    n = 0;

    for (i = 0; i < wh_exec_njobs(ex); i++) {
        n += wh_exec_job(ex, i)->node == node;
    }

    len = strlen(wk_run_execution(run));
    d->key = wh_alloc(mem, sizeof(WH_REDIS_EXECUTION) + len);

    wh_buf_init(&b, mem, 64);
    wh_buf_printf(&b, "delay:%s:%zu", node->key, n);
    d->field = b.data;

    if (d->key == NULL || b.failed) {
        goto nomem;
    }

    memcpy(d->key, WH_REDIS_EXECUTION, sizeof(WH_REDIS_EXECUTION) - 1);
    memcpy(d->key + sizeof(WH_REDIS_EXECUTION) - 1, wk_run_execution(run),
           len + 1);

    if (wk_delay_due(w, d, &error) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(), error);
        return 0;
    }

    if (d->due <= wk_now_ms()) {
        wk_delay_done(w, d);
        return 0;
    }

    if (wk_stopping) {
        /* reached during the shutdown: left to the next worker too */
        wk_run_drop(w, run);
        return 1;
    }

    if (wk_timer_add(w, d->due, wk_delay_handler, d) != 0) {
        goto nomem;
    }

    wk_run_hold(run, &d->hold);

    d->next = wk_delays;
    d->prev = &wk_delays;

    if (wk_delays != NULL) {
        wk_delays->prev = &d->next;
    }

    wk_delays = d;

    return 1;

nomem:

    wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                     "out of memory");
    return 0;
}


void
wk_flow_stop(wk_worker_t *w)
{
    wk_delay_t  *d;

    wk_stopping = 1;

    wk_subflow_stop(w);

    while (wk_delays != NULL) {
        d = wk_delays;

        wk_io_del(w, d);
        wk_delay_unlink(d);
        wk_run_release(d->run, &d->hold);

        wk_log("%s: given up in delay \"%s\", due %lldms later",
               wk_run_execution(d->run), d->node->key,
               (long long) (d->due - wk_now_ms()));

        wk_run_drop(w, d->run);
    }
}
