/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "script" node: wk_script's asynchronous form on the event loop.
 * The run's script goes to a child process; its pipe is watched with the
 * child's deadline, so a script stuck in `while (true) {}` costs the
 * worker nothing but a process until the deadline kills it.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "wk.h"
#include "wk_script.h"
#include "wk_node_script.h"


typedef struct {
    wk_hold_t           hold;           /* first: the run's cancel hook */
    wk_worker_t        *w;
    wk_run_t           *run;
    wh_mem_t           *mem;
    wh_exec_t          *ex;
    wk_script_t        *script;
    int                 ignore_fail;
} wk_sjob_t;


static void
wk_sjob_end(wk_worker_t *w, wk_run_t *run, int ignore_fail, int status,
    wh_val_t result, const char *error)
{
    if (status < 0 && ignore_fail) {
        /* the error stays on the job */
        status = WH_STATUS_RESOLVED;

    } else if (status < 0) {
        /* the same script fails the same way on the same input */
        wk_run_permanent(run);
    }

    wk_run_node_done(w, run, status, result, error);
}


void
wk_node_script_cancel(wk_worker_t *w, wk_hold_t *h)
{
    wk_sjob_t  *sj;

    sj = (wk_sjob_t *) h;

    wk_io_del(w, sj);
    wk_script_cancel(sj->script);
    free(sj);
}


/* The console lines go to the job as "logs", an array of strings. */

static void
wk_sjob_logs(wk_sjob_t *sj, const wk_script_result_t *out)
{
    size_t         i;
    wh_buf_t       b;
    wh_val_t       logs;
    wh_json_err_t  jerr;

    if (out->nlogs == 0) {
        return;
    }

    wh_buf_init(&b, sj->mem, 256);
    wh_buf_addc(&b, '[');

    for (i = 0; i < out->nlogs; i++) {
        if (i) {
            wh_buf_addc(&b, ',');
        }

        wh_json_escape(&b, out->logs[i], strlen(out->logs[i]));
    }

    wh_buf_addc(&b, ']');

    if (!b.failed
        && wh_val_parse(sj->mem, b.data, b.len, 0, &logs, &jerr) == 0)
    {
        wh_exec_resume_logs(sj->ex, logs);
    }
}


static void
wk_sjob_handler(wk_worker_t *w, void *data, int revents)
{
    int                  status;
    wk_run_t            *run;
    wh_val_t             result;
    wk_sjob_t           *sj;
    const char          *error;
    wh_json_err_t        jerr;
    wk_script_result_t   out;

    sj = data;

    if (wk_script_collect(sj->script, &out) == WK_SCRIPT_AGAIN) {
        if (revents == 0) {
            /* the wall clock ran ahead of the monotonic deadline */
            wk_io_del(w, sj);

            if (wk_io_add(w, wk_script_fd(sj->script), POLLIN,
                          wk_now_ms() + 10, wk_sjob_handler, sj)
                != 0)
            {
                wk_run_release(sj->run, &sj->hold);
                run = sj->run;
                wk_script_cancel(sj->script);
                wk_sjob_end(w, run, sj->ignore_fail, WH_STATUS_ERROR,
                            wh_val_null(), "out of memory");
                free(sj);
            }
        }

        return;
    }

    wk_io_del(w, sj);
    wk_run_release(sj->run, &sj->hold);

    result = wh_val_null();
    error = NULL;
    status = WH_STATUS_RESOLVED;

    if (out.ok) {
        if (wh_val_parse(sj->mem, out.result_json, strlen(out.result_json),
                         1, &result, &jerr)
            != 0)
        {
            status = WH_STATUS_ERROR;
            error = "script error: the result is not JSON";
            result = wh_val_null();
        }

    } else {
        status = WH_STATUS_ERROR;
        error = out.error ? out.error : "script error: out of memory";
    }

    wk_sjob_logs(sj, &out);

    /* the job copies the error */
    wk_sjob_end(w, sj->run, sj->ignore_fail, status, result, error);

    wk_script_result_free(&out);
    free(sj);
}


static int64_t
wk_sjob_mono_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* {"key": result, ...} of the nodes that have run, as $nodes has them. */

static void
wk_sjob_nodes(wh_exec_t *ex, wh_buf_t *b)
{
    int                 first;
    size_t              i, j, n;
    wh_scope_t         *scope;
    const wh_job_t     *job;
    const wh_node_t    *node;

    scope = wh_exec_scope(ex);
    n = wh_exec_njobs(ex);
    first = 1;

    wh_buf_addc(b, '{');

    for (i = 0; i < n; i++) {
        node = wh_exec_job(ex, i)->node;

        /* a node that ran more than once (a loop): its latest result */
        for (j = 0; j < i; j++) {
            job = wh_exec_job(ex, j);
            if (job->node == node) {
                break;
            }
        }

        if (j < i || (size_t) node->index >= scope->nnodes
            || wh_val_type(scope->nodes[node->index]) == WH_JSON_MISSING)
        {
            continue;
        }

        if (!first) {
            wh_buf_addc(b, ',');
        }

        first = 0;
        wh_json_escape(b, node->key, strlen(node->key));
        wh_buf_addc(b, ':');
        wh_val_write_json(b, scope->nodes[node->index]);
    }

    wh_buf_addc(b, '}');
}


static const char *
wk_sjob_args(wh_mem_t *mem, wh_val_t args, const char **err)
{
    size_t       len;
    uint32_t     i, n;
    wh_val_t     a, v;
    wh_buf_t     b;
    const char  *name;

    *err = NULL;

    if (wh_val_type(args) == WH_JSON_MISSING
        || wh_val_type(args) == WH_JSON_NULL)
    {
        return NULL;
    }

    if (wh_val_type(args) != WH_JSON_ARRAY) {
        *err = "script error: \"arguments\" is not an array";
        return NULL;
    }

    wh_buf_init(&b, mem, 256);
    wh_buf_addc(&b, '{');
    n = wh_val_size(args);

    for (i = 0; i < n; i++) {
        a = wh_val_index(args, i);

        if (wh_val_str(mem, wh_val_get(a, "name", 4), &name, &len) != 0
            || len == 0)
        {
            *err = "script error: an argument has no name";
            return NULL;
        }

        v = wh_val_get(a, "value", 5);

        if (i) {
            wh_buf_addc(&b, ',');
        }

        wh_json_escape(&b, name, len);
        wh_buf_addc(&b, ':');
        wh_val_write_json(&b, v);
    }

    wh_buf_addc(&b, '}');

    if (b.failed) {
        *err = "out of memory";
        return NULL;
    }

    return b.data;
}


int
wk_node_script_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    int          ignore_fail, allow_eval;
    double       d;
    size_t       len, memory;
    int64_t      deadline;
    unsigned     timeout;
    wh_val_t     cfg;
    wh_buf_t     ctx, nodes;
    wh_mem_t    *mem;
    wk_sjob_t   *sj;
    wh_scope_t  *scope;
    const char  *content, *args, *err;

    scope = wh_exec_scope(ex);
    mem = scope->mem;
    ignore_fail = json_is_true(json_object_get(node->config, "ignoreFail"));

    if (wh_tpl_eval(node->config_tpl, scope, &cfg) != 0) {
        err = "out of memory";
        goto failed;
    }

    if (wh_val_str(mem, wh_val_get(cfg, "content", 7), &content, &len) != 0)
    {
        err = "script error: \"content\" is not a string";
        goto failed;
    }

    args = wk_sjob_args(mem, wh_val_get(cfg, "arguments", 9), &err);
    if (err != NULL) {
        goto failed;
    }

    timeout = WK_SCRIPT_TIMEOUT;

    if (wh_val_to_number(wh_val_get(cfg, "timeout", 7), &d) == 0 && d >= 1) {
        timeout = d > UINT_MAX / 2 ? UINT_MAX / 2 : (unsigned) d;
    }

    /*
     * memory: MB of JavaScript heap (64 when missing); a value of a
     * million or more can only mean bytes.  At most 4 GB.
     */
    memory = WK_SCRIPT_MEM_LIMIT;

    if (wh_val_to_number(wh_val_get(cfg, "memory", 6), &d) == 0 && d >= 1) {
        if (d < 1048576) {
            d *= 1048576;
        }

        memory = d > 4294967296.0 ? (size_t) 4294967296ULL : (size_t) d;
    }

    allow_eval = (wh_val_type(wh_val_get(cfg, "allowEval", 9))
                  == WH_JSON_TRUE);

    wh_buf_init(&ctx, mem, 1024);
    wh_val_write_json(&ctx, scope->context);
    wh_buf_init(&nodes, mem, 1024);
    wk_sjob_nodes(ex, &nodes);

    if (ctx.failed || nodes.failed) {
        err = "out of memory";
        goto failed;
    }

    sj = calloc(1, sizeof(wk_sjob_t));
    if (sj == NULL) {
        err = "out of memory";
        goto failed;
    }

    sj->script = wk_script_start_eval(content, len, args, ctx.data,
                                      nodes.data, timeout, memory,
                                      allow_eval);
    if (sj->script == NULL) {
        wh_buf_init(&ctx, mem, 64);
        wh_buf_printf(&ctx, "script cannot start: %s", strerror(errno));
        err = ctx.failed ? "script cannot start" : ctx.data;
        free(sj);
        goto failed;
    }

    sj->w = w;
    sj->run = run;
    sj->mem = mem;
    sj->ex = ex;
    sj->ignore_fail = ignore_fail;

    /* the child's deadline is on the monotonic clock, the loop's not */
    deadline = wk_now_ms()
               + (wk_script_deadline(sj->script) - wk_sjob_mono_ms());

    if (wk_io_add(w, wk_script_fd(sj->script), POLLIN, deadline,
                  wk_sjob_handler, sj)
        != 0)
    {
        wk_script_cancel(sj->script);
        free(sj);
        err = "out of memory";
        goto failed;
    }

    wk_run_hold(run, &sj->hold);

    return 1;

failed:

    wk_sjob_end(w, run, ignore_fail, WH_STATUS_ERROR, wh_val_null(), err);

    return 0;
}
