/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "subflow" node (SPEC §11): runs another workflow as a child
 * execution.
 *
 * The child is found by key among the workflows nginx published
 * (webhook:workflow:key:<key> → revision).  One script records the
 * child's id in the parent's record (field "subflow:<node key>:<n>", n
 * counting earlier runs of the node, as for delays), writes the child's
 * record with its "parent" and queues its job, so a parent run that is
 * reclaimed or retried finds its child instead of queueing a second one.
 * The child's $context is the parent's with "data" = the rendered
 * "context" (default the parent's $context.data), "parent" = the
 * parent's execution id, and "id" and "workflow" those of the child.
 *
 * wait (default true): the parent polls the child's record until it is
 * final; the node's result is {"executionId", "status", "output"} (the
 * output being the child's "output" node's value, null without one), and
 * the node fails when the child did not resolve.  The parent's run keeps
 * its slot while it waits; at SIGTERM the wait is given up (the entry
 * stays pending, whoever resumes it waits for the same child).  wait
 * false: the result is {"executionId"} once the child is queued.
 *
 * Depth: the job of a child carries "depth" (its parent's plus one);
 * beyond WK_SUBFLOW_DEPTH the node fails, which bounds the cycles that
 * no single file shows (a → b → a).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_flow.h"


#define WK_SUBFLOW_POLL_MS   50
#define WK_SUBFLOW_DEPTH     8


typedef struct wk_sub_s  wk_sub_t;

struct wk_sub_s {
    wk_hold_t           hold;           /* first: the run's cancel hook */
    wk_run_t           *run;
    wh_exec_t          *ex;
    const wh_node_t    *node;
    char                child[48];
    wk_sub_t           *next;
    wk_sub_t          **prev;
};


static wk_sub_t  *wk_subs;             /* waiting for their children */
static int        wk_sub_stopping;


static const char  wk_subflow_lua[] =
    "local f = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if f then return {f, 'old'} end "
    "local rev = redis.call('GET', '" WH_REDIS_WORKFLOW_KEY "' .. ARGV[3]) "
    "if not rev then return {'', 'unknown'} end "
    "local rec = '" WH_REDIS_EXECUTION "' .. ARGV[2] "
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('HSET', rec, '" WH_REC_WORKFLOW "', ARGV[3], "
    "  '" WH_REC_REVISION "', rev, "
    "  '" WH_REC_CONTEXT "', ARGV[4], '" WH_REC_PARENT "', ARGV[5], "
    "    '" WH_REC_CREATED_AT "', ARGV[8]) "
    "redis.call('ZADD', '" WH_REDIS_INDEX "', 'NX', ARGV[9], ARGV[2]) "
    "redis.call('ZADD', '" WH_REDIS_INDEX ":' .. ARGV[3], 'NX', ARGV[9], "
    "  ARGV[2]) "
    "redis.call('XADD', ARGV[6], '*', '" WH_JOB_EXECUTION "', ARGV[2], "
    "  '" WH_JOB_WORKFLOW "', ARGV[3], '" WH_JOB_REVISION "', rev, "
    "    '" WH_JOB_CONTEXT "', ARGV[4], "
    "  '" WH_JOB_PARENT "', ARGV[5], '" WH_JOB_DEPTH "', ARGV[7]) "
    "return {ARGV[2], rev}";


static void
wk_sub_unlink(wk_sub_t *s)
{
    if (s->prev != NULL) {
        *s->prev = s->next;

        if (s->next != NULL) {
            s->next->prev = s->prev;
        }

        s->prev = NULL;
        s->next = NULL;
    }
}


void
wk_subflow_cancel(wk_worker_t *w, wk_hold_t *h)
{
    wk_sub_t  *s;

    s = (wk_sub_t *) h;

    wk_io_del(w, s);
    wk_sub_unlink(s);
}


/* The child's $context: the parent's, with its own data, id and parent. */

static int
wk_sub_context(wh_exec_t *ex, wh_val_t data, const char *child,
    const char *key, const char *parent, wh_buf_t *b)
{
    uint32_t     i, n;
    size_t       len;
    wh_val_t     ctx, k;
    const char  *s;
    wh_mem_t    *mem;

    static const char  *own[] = { "id", "workflow", "data", "parent", NULL };

    mem = wh_exec_scope(ex)->mem;
    ctx = wh_exec_scope(ex)->context;

    wh_buf_printf(b, "{\"id\":\"%s\",\"workflow\":\"%s\",\"parent\":\"%s\","
                  "\"data\":", child, key, parent);
    wh_val_write_json(b, wh_val_type(data) == WH_JSON_MISSING
                         ? wh_val_null() : data);

    n = wh_val_type(ctx) == WH_JSON_OBJECT ? wh_val_size(ctx) : 0;

    for (i = 0; i < n; i++) {
        k = wh_val_member_key(ctx, i);

        if (wh_val_str(mem, k, &s, &len) != 0) {
            return -1;
        }

        for (size_t j = 0; own[j] != NULL; j++) {
            if (len == strlen(own[j]) && memcmp(s, own[j], len) == 0) {
                goto next;
            }
        }

        wh_buf_addc(b, ',');
        wh_val_write_json(b, k);
        wh_buf_addc(b, ':');
        wh_val_write_json(b, wh_val_member_value(ctx, i));

    next:
        continue;
    }

    wh_buf_addc(b, '}');

    return b->failed ? -1 : 0;
}


static void
wk_sub_done(wk_worker_t *w, wk_sub_t *s, int status, const char *output)
{
    int             node_status;
    wh_buf_t        b;
    wh_val_t        v;
    wh_mem_t       *mem;
    const char     *error;
    wh_json_err_t   jerr;

    mem = wh_exec_scope(s->ex)->mem;

    wh_buf_init(&b, mem, 128);
    wh_buf_printf(&b, "{\"executionId\":\"%s\",\"status\":%d,\"output\":%s}",
                  s->child, status, output != NULL ? output : "null");

    if (b.failed || wh_val_parse(mem, b.data, b.len, 1, &v, &jerr) != 0) {
        /* an output that is not JSON: left out rather than failing */
        wh_buf_init(&b, mem, 128);
        wh_buf_printf(&b, "{\"executionId\":\"%s\",\"status\":%d,"
                      "\"output\":null}", s->child, status);

        if (b.failed || wh_val_parse(mem, b.data, b.len, 1, &v, &jerr) != 0)
        {
            wk_run_node_done(w, s->run, WH_STATUS_ERROR, wh_val_missing(),
                             "out of memory");
            return;
        }
    }

    node_status = WH_STATUS_RESOLVED;
    error = NULL;

    if (status != WH_STATUS_RESOLVED) {
        node_status = WH_STATUS_FAILED;
        error = wk_fmt(mem, "subflow \"%s\": child %s ended with status %d",
                       s->node->u.subflow.workflow, s->child, status);
        wk_run_permanent(s->run);
    }

    wk_run_node_done(w, s->run, node_status, v, error);
}


static void
wk_sub_poll(wk_worker_t *w, void *data, int revents)
{
    int          status;
    wk_sub_t    *s;
    wk_args_t    a;
    redisReply  *r;

    s = data;

    wk_args_init(&a);
    wk_args_adds(&a, "HMGET");
    wk_args_addf(&a, WH_REDIS_EXECUTION "%s", s->child);
    wk_args_adds(&a, WH_REC_STATUS);
    wk_args_adds(&a, WH_REC_OUTPUT);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    wk_io_del(w, s);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        freeReplyObject(r);

        if (w->cmd->err) {
            /* the run is abandoned with the connection */
            return;
        }

        goto again;
    }

    if (r->element[0]->type == REDIS_REPLY_STRING) {
        status = atoi(r->element[0]->str);

        if (status != WH_STATUS_STARTED && status != WK_STATUS_RETRY_NEEDED) {
            wk_sub_unlink(s);
            wk_run_release(s->run, &s->hold);
            wk_sub_done(w, s, status,
                        r->element[1]->type == REDIS_REPLY_STRING
                        ? wh_memdup(wh_exec_scope(s->ex)->mem,
                                    r->element[1]->str, r->element[1]->len)
                        : NULL);
            freeReplyObject(r);
            return;
        }
    }

    freeReplyObject(r);

again:

    if (wk_timer_add(w, wk_now_ms() + WK_SUBFLOW_POLL_MS, wk_sub_poll, s)
        != 0)
    {
        wk_sub_unlink(s);
        wk_run_release(s->run, &s->hold);
        wk_run_node_done(w, s->run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
    }
}


int
wk_subflow_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    int             depth;
    char            id[48], field[160], created[WH_ISO_LEN], ms[32];
    char            dstr[16];
    size_t          i, n;
    int64_t         now;
    wh_val_t        cfg, data, v;
    wh_buf_t        ctx;
    wk_sub_t       *s;
    wh_mem_t       *mem;
    wk_args_t       a;
    redisReply     *r;
    const char     *key, *parent, *msg;
    wh_json_err_t   jerr;

    mem = wh_exec_scope(ex)->mem;
    key = node->u.subflow.workflow;
    parent = wk_run_execution(run);

    if (wh_tpl_eval(node->config_tpl, wh_exec_scope(ex), &cfg) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "cannot render the config");
        return 0;
    }

    depth = wk_run_depth(run) + 1;

    if (depth > WK_SUBFLOW_DEPTH) {
        wk_run_permanent(run);
        wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                         wk_fmt(mem, "subflow \"%s\": more than %d nested "
                                "subflows (a cycle?)", key,
                                WK_SUBFLOW_DEPTH));
        return 0;
    }

    data = wh_val_get(cfg, "context", 7);

    if (wh_val_type(data) == WH_JSON_MISSING) {
        data = wh_val_get(wh_exec_scope(ex)->context, "data", 4);
    }

    /* which run of the node this is: a subflow in a loop runs each time */
    n = 0;

    for (i = 0; i < wh_exec_njobs(ex); i++) {
        n += wh_exec_job(ex, i)->node == node;
    }

    snprintf(field, sizeof(field), "subflow:%s:%zu", node->key, n);
    snprintf(dstr, sizeof(dstr), "%d", depth);

    if (wk_uuid7(id) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "no random bytes for the child's id");
        return 0;
    }

    now = wk_now_ms();
    wh_iso_time(now, created);
    snprintf(ms, sizeof(ms), "%lld", (long long) now);

    wh_buf_init(&ctx, mem, 256);

    if (wk_sub_context(ex, data, id, key, parent, &ctx) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
        return 0;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, wk_subflow_lua);
    wk_args_adds(&a, "1");
    wk_args_addf(&a, WH_REDIS_EXECUTION "%s", parent);
    wk_args_adds(&a, field);
    wk_args_adds(&a, id);
    wk_args_adds(&a, key);
    wk_args_add(&a, ctx.data, ctx.len);
    wk_args_adds(&a, parent);
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, dstr);
    wk_args_adds(&a, created);
    wk_args_adds(&a, ms);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        msg = wk_fmt(mem, "redis: queueing the subflow: %s",
                     r == NULL ? w->cmd->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                     : "unexpected reply");
        freeReplyObject(r);
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(), msg);
        return 0;
    }

    if (strcmp(r->element[1]->str, "unknown") == 0) {
        freeReplyObject(r);
        wk_run_permanent(run);
        wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                         wk_fmt(mem, "subflow: no workflow \"%s\" was "
                                "published (webhook:workflow:key:%s)", key,
                                key));
        return 0;
    }

    s = wh_alloc(mem, sizeof(wk_sub_t));
    if (s == NULL) {
        freeReplyObject(r);
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
        return 0;
    }

    memset(s, 0, sizeof(wk_sub_t));
    s->run = run;
    s->ex = ex;
    s->node = node;
    snprintf(s->child, sizeof(s->child), "%s", r->element[0]->str);
    freeReplyObject(r);

    if (!node->u.subflow.wait) {
        wh_buf_init(&ctx, mem, 64);
        wh_buf_printf(&ctx, "{\"executionId\":\"%s\"}", s->child);

        if (ctx.failed
            || wh_val_parse(mem, ctx.data, ctx.len, 1, &v, &jerr) != 0)
        {
            wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                             "out of memory");
            return 0;
        }

        wk_run_node_done(w, run, WH_STATUS_RESOLVED, v, NULL);
        return 0;
    }

    if (wk_sub_stopping) {
        /* reached during the shutdown: the next worker waits for it */
        wk_run_drop(w, run);
        return 1;
    }

    if (wk_timer_add(w, wk_now_ms(), wk_sub_poll, s) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
        return 0;
    }

    wk_run_hold(run, &s->hold);

    s->next = wk_subs;
    s->prev = &wk_subs;

    if (wk_subs != NULL) {
        wk_subs->prev = &s->next;
    }

    wk_subs = s;

    return 1;
}


void
wk_subflow_stop(wk_worker_t *w)
{
    wk_sub_t  *s;

    wk_sub_stopping = 1;

    while (wk_subs != NULL) {
        s = wk_subs;

        wk_io_del(w, s);
        wk_sub_unlink(s);
        wk_run_release(s->run, &s->hold);

        wk_log("%s: given up waiting for subflow %s", wk_run_execution(s->run),
               s->child);

        wk_run_drop(w, s->run);
    }
}
