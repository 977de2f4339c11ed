/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "wait" node and $execution (SPEC §11).
 *
 * A wait keeps its state in the execution record, not in a worker: one
 * script sets "waiting" = the node key (with "waitDue" and an entry in
 * the zset webhook:waiting when there is a "timeout"), gives back the
 * concurrency lease and acknowledges and deletes the stream entry, all
 * at once, so the execution is always either pending in the stream or
 * waiting in its record, never both and never lost.  The run is then
 * forgotten: no worker slot is held, and nothing is lost when a worker
 * is killed, however long the wait.
 *
 * The end of a wait is a new job for the same execution id:
 *   - nginx's webhook_resume stores the POSTed body in "resume:<key>",
 *     clears "waiting" and queues the job, in one script;
 *   - or a worker finds the due time passed (wk_wait_sweep, every
 *     WK_WAIT_SWEEP_MS), clears "waiting", sets "timeout:<key>" and
 *     queues the job, in one script.
 * The run of that job replays the recorded worker jobs and reaches the
 * wait node again; its start moves "resume:<key>" (or "timeout:<key>")
 * to "resumed:<key>:<n>" ("timedout:…"), n counting the earlier runs of
 * the node, so a replay after a crash finds the same outcome and a wait
 * in a loop waits each time.  A resumed wait resolves with the body
 * (JSON; an empty body is null); a timed out one resolves with "default"
 * when the config has one, else fails.  Record fields while waiting:
 * status 0, "waiting", "waitDue"; attempts start again from 0, so waits
 * do not use up --max-attempts.  The record does not expire while
 * waiting (PERSIST); the final transaction sets --retention again.
 *
 * $execution: {"id", "resumeUrl", "resumeUrls": {key: url}} with
 * resumeUrl the URL of the next wait node in document order after the
 * node that renders it, url = <--resume-url><id>/<key>?token=<T>, T the
 * hex HMAC-SHA256 of "<id>/<key>" under the --resume-secret-file secret.
 * Without --resume-url the URLs are missing.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "wk_flow.h"


static const wk_conf_t  *wk_wait_cf;


static const char  wk_wait_lua[] =
    "local k, n, rec = ARGV[1], ARGV[2], KEYS[1] "
    "local r = redis.call('HGET', rec, '" WH_REC_RESUME "' .. k) "
    "if r then "
    "  redis.call('HDEL', rec, '" WH_REC_RESUME "' .. k) "
    "  redis.call('HSET', rec, '" WH_REC_RESUMED "' .. k .. ':' .. n, r) "
    "  return {'resumed', r} "
    "end "
    "r = redis.call('HGET', rec, '" WH_REC_RESUMED "' .. k .. ':' .. n) "
    "if r then return {'resumed', r} end "
    "if redis.call('HGET', rec, '" WH_REC_TIMEOUT "' .. k) then "
    "  redis.call('HDEL', rec, '" WH_REC_TIMEOUT "' .. k) "
    "  redis.call('HSET', rec, '" WH_REC_TIMEDOUT "' .. k .. ':' .. n, '1') "
    "  return {'timeout', ''} "
    "end "
    "if redis.call('HGET', rec, '" WH_REC_TIMEDOUT "' .. k .. ':' .. n) then "
    "  return {'timeout', ''} "
    "end "
    "redis.call('HSET', rec, '" WH_REC_WAITING "', k, '" WH_REC_QUEUE "', "
    "  ARGV[4], '" WH_REC_ATTEMPTS "', 0, "
    "  '" WH_REC_DEPTH "', ARGV[9]) "
    "if ARGV[6] ~= '' then "
    "  redis.call('HSET', rec, '" WH_REC_WAIT_DUE "', ARGV[6]) "
    "  redis.call('ZADD', '" WH_REDIS_WAITING "', ARGV[6], ARGV[7]) "
    "else "
    "  redis.call('HDEL', rec, '" WH_REC_WAIT_DUE "') "
    "end "
    "redis.call('PERSIST', rec) "
    "redis.call('ZREM', '" WH_REDIS_RUNNING "' .. ARGV[8], ARGV[7]) "
    "redis.call('XACK', ARGV[4], ARGV[5], ARGV[3]) "
    "redis.call('XDEL', ARGV[4], ARGV[3]) "
    "return {'waiting', ''}";


/* Ends due waits; the job it queues runs the wait node's timeout. */

static const char  wk_wait_sweep_lua[] =
    "local now = tonumber(ARGV[1]) "
    "local ids = redis.call('ZRANGEBYSCORE', '" WH_REDIS_WAITING "', '-inf', "
    "  now, "
    "  'LIMIT', 0, 100) "
    "local n = 0 "
    "for _, id in ipairs(ids) do "
    "  redis.call('ZREM', '" WH_REDIS_WAITING "', id) "
    "  local rec = '" WH_REDIS_EXECUTION "' .. id "
    "  local f = redis.call('HMGET', rec, '" WH_REC_WAITING "', "
    "    '" WH_REC_WAIT_DUE "', '" WH_REC_WORKFLOW "', "
    "    '" WH_REC_REVISION "', '" WH_REC_CONTEXT "', '" WH_REC_QUEUE "', "
    "      '" WH_REC_PARENT "', '" WH_REC_DEPTH "') "
    "  if f[1] and tonumber(f[2] or '0') <= now and f[3] and f[4] "
    "     and f[5] then "
    "    redis.call('HDEL', rec, '" WH_REC_WAITING "', '" WH_REC_WAIT_DUE "') "
    "    redis.call('HSET', rec, '" WH_REC_TIMEOUT "' .. f[1], '1') "
    "    local job = {'" WH_JOB_EXECUTION "', id, '" WH_JOB_WORKFLOW "', f[3], "
    "      '" WH_JOB_REVISION "', f[4], "
    "      '" WH_JOB_CONTEXT "', f[5]} "
    "    if f[7] then table.insert(job, '" WH_JOB_PARENT "') table.insert(job, "
    "      f[7]) end "
    "    if f[8] then table.insert(job, '" WH_JOB_DEPTH "') table.insert(job, "
    "      f[8]) end "
    "    redis.call('XADD', f[6] or ARGV[2], '*', unpack(job)) "
    "    n = n + 1 "
    "  end "
    "end "
    "return n";


void
wk_wait_init(const wk_conf_t *conf)
{
    wk_wait_cf = conf;
}


/* <BASE><id>/<key>?token=<hex HMAC-SHA256 of "<id>/<key>"> */

static wh_val_t
wk_wait_url(wh_mem_t *mem, const char *id, const char *key)
{
    char           msg[256];
    size_t         i;
    wh_buf_t       b;
    unsigned int   mdlen;
    unsigned char  md[EVP_MAX_MD_SIZE];

    snprintf(msg, sizeof(msg), "%s/%s", id, key);

    if (HMAC(EVP_sha256(), wk_wait_cf->resume_secret,
             (int) wk_wait_cf->resume_secret_len, (unsigned char *) msg,
             strlen(msg), md, &mdlen)
        == NULL)
    {
        return wh_val_missing();
    }

    wh_buf_init(&b, mem, 256);
    wh_buf_printf(&b, "%s%s?token=", wk_wait_cf->resume_url, msg);

    for (i = 0; i < mdlen; i++) {
        wh_buf_printf(&b, "%02x", md[i]);
    }

    if (b.failed) {
        return wh_val_missing();
    }

    return wh_val_string(mem, b.data, b.len);
}


/* The scope's $execution for the node of index node. */

static wh_val_t
wk_wait_execution(void *data, wh_mem_t *mem, int node)
{
    size_t                i, n;
    wh_buf_t              b;
    wh_val_t              v, url;
    wk_run_t             *run;
    const char           *id;
    wh_json_err_t         jerr;
    const wh_workflow_t  *wf;

    run = data;
    id = wk_run_execution(run);
    wf = wk_run_workflow(run);

    wh_buf_init(&b, mem, 256);
    wh_buf_adds(&b, "{\"id\":");
    wh_val_write_json(&b, wh_val_string(mem, id, strlen(id)));

    if (wk_wait_cf != NULL && wk_wait_cf->resume_url != NULL) {
        /* the next wait after the node, in document order */
        for (i = node < 0 ? 0 : (size_t) node + 1; i < wf->nnodes; i++) {
            if (wf->all[i]->type == WH_NODE_WAIT) {
                url = wk_wait_url(mem, id, wf->all[i]->key);
                wh_buf_adds(&b, ",\"resumeUrl\":");
                wh_val_write_json(&b, url);
                break;
            }
        }

        wh_buf_adds(&b, ",\"resumeUrls\":{");
        n = 0;

        for (i = 0; i < wf->nnodes; i++) {
            if (wf->all[i]->type != WH_NODE_WAIT) {
                continue;
            }

            url = wk_wait_url(mem, id, wf->all[i]->key);
            wh_buf_printf(&b, "%s\"%s\":", n++ ? "," : "", wf->all[i]->key);
            wh_val_write_json(&b, url);
        }

        wh_buf_addc(&b, '}');
    }

    wh_buf_addc(&b, '}');

    if (b.failed || wh_val_parse(mem, b.data, b.len, 1, &v, &jerr) != 0) {
        return wh_val_missing();
    }

    return v;
}


void
wk_wait_scope(wh_scope_t *scope, wk_run_t *run)
{
    scope->execution = wk_wait_execution;
    scope->execution_data = run;
}


int
wk_wait_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    char            n[32], due[32], depth[16];
    double          ms;
    size_t          i, k;
    wh_val_t        cfg, v, dflt;
    wh_mem_t       *mem;
    wk_args_t       a;
    redisReply     *r;
    const char     *msg;
    wh_json_err_t   jerr;

    mem = wh_exec_scope(ex)->mem;

    if (wh_tpl_eval(node->config_tpl, wh_exec_scope(ex), &cfg) != 0) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "cannot render the config");
        return 0;
    }

    if (wk_run_is_sync(run)) {
        wk_run_permanent(run);
        wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                         "a wait node runs only in asynchronous workflows");
        return 0;
    }

    due[0] = '\0';
    v = wh_val_get(cfg, "timeout", 7);

    if (wh_val_type(v) != WH_JSON_MISSING && wh_val_type(v) != WH_JSON_NULL)
    {
        if ((wh_val_type(v) != WH_JSON_NUMBER
             && wh_val_type(v) != WH_JSON_STRING)
            || wh_val_to_number(v, &ms) != 0 || !(ms >= 0)
            || ms > 366.0 * 86400 * 1000)
        {
            wk_run_permanent(run);
            wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                             "\"timeout\" must be a number of milliseconds "
                             "from 0 to 366 days");
            return 0;
        }

        snprintf(due, sizeof(due), "%lld",
                 (long long) (wk_now_ms() + (int64_t) ms));
    }

    /* which run of the node this is: a wait in a loop waits each time */
    k = 0;

    for (i = 0; i < wh_exec_njobs(ex); i++) {
        k += wh_exec_job(ex, i)->node == node;
    }

    snprintf(n, sizeof(n), "%zu", k);
    snprintf(depth, sizeof(depth), "%d", wk_run_depth(run));

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, wk_wait_lua);
    wk_args_adds(&a, "1");
    wk_args_addf(&a, WH_REDIS_EXECUTION "%s", wk_run_execution(run));
    wk_args_adds(&a, node->key);
    wk_args_adds(&a, n);
    wk_args_adds(&a, wk_run_entry_id(run));
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, w->conf->group);
    wk_args_adds(&a, due);
    wk_args_adds(&a, wk_run_execution(run));
    wk_args_adds(&a, wk_run_workflow(run)->key);
    wk_args_adds(&a, depth);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        msg = wk_fmt(mem, "redis: the wait: %s",
                     r == NULL ? w->cmd->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                     : "unexpected reply");
        freeReplyObject(r);
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(), msg);
        return 0;
    }

    if (strcmp(r->element[0]->str, "waiting") == 0) {
        freeReplyObject(r);
        wk_log("%s: waits in \"%s\"", wk_run_execution(run), node->key);

        /* the record holds it now: forget the run, keep no slot */
        wk_run_drop(w, run);
        return 1;
    }

    if (strcmp(r->element[0]->str, "resumed") == 0) {
        if (r->element[1]->len == 0) {
            v = wh_val_null();

        } else if (wh_val_parse(mem, r->element[1]->str, r->element[1]->len,
                                1, &v, &jerr)
                   != 0)
        {
            /* nginx takes JSON only: a body stored by someone else */
            v = wh_val_string(mem, r->element[1]->str, r->element[1]->len);
        }

        freeReplyObject(r);
        wk_run_node_done(w, run, WH_STATUS_RESOLVED, v, NULL);
        return 0;
    }

    freeReplyObject(r);

    dflt = wh_val_get(cfg, "default", 7);

    if (wh_val_type(dflt) != WH_JSON_MISSING) {
        wk_run_node_done(w, run, WH_STATUS_RESOLVED, dflt, NULL);
        return 0;
    }

    wk_run_permanent(run);
    wk_run_node_done(w, run, WH_STATUS_FAILED, wh_val_missing(),
                     wk_fmt(mem, "wait \"%s\" timed out", node->key));

    return 0;
}


void
wk_wait_sweep(wk_worker_t *w)
{
    wk_args_t    a;
    redisReply  *r;

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, wk_wait_sweep_lua);
    wk_args_adds(&a, "0");
    wk_args_addll(&a, wk_now_ms());
    wk_args_adds(&a, w->conf->queue);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        wk_log("redis: the timeouts of waits: %s",
               r ? r->str : w->cmd->errstr);

    } else if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
        wk_log("%lld waits timed out", r->integer);
    }

    freeReplyObject(r);
}
