/*
 * Everything that needs Redis: async enqueue, webhook_dedup (both modes)
 * and sync runs with worker nodes.
 *
 * The contract's order is dedup, enabled?, run.  Each request makes one
 * round trip, sync runs with worker nodes two with a dedup key:
 *
 *   async                 XADD far below webhook_queue max=; near it
 *                         EVALSHA: XLEN below max, then XADD
 *   async + dedup key     EVAL: the first id, or XADD then SET NX EX
 *   sync + dedup key      EVAL: SET NX EX, or the first id and answer
 *   disabled + dedup key  MGET of the first id and answer
 *   sync, worker nodes    XADD with "reply", then the worker's message
 *
 * The dedup key is set only by the script that also queues the job (after
 * the XADD, which aborts the script when it fails): never a key without
 * its job.  A disabled workflow claims nothing, so a retry once it is
 * enabled again runs.
 *
 * A sync run that claimed its key answers, then stores that answer under
 * "<key>:response" ("<status>\n<content-type>\n<body>") with the key's
 * TTL.  A repeat arriving while the first run has not answered yet (the
 * key is set, the answer not stored) gets 409 duplicate: the client
 * should retry later rather than run the workflow twice.  A first run
 * that produced no answer of its own (an internal error) deletes the key.
 *
 * The run itself is the sync runner's (ngx_http_webhook_sync.c), inline
 * or through a worker; the answer it sends is noted in ctx->answer by
 * ngx_http_webhook_output() and stored from there.  Answers that are not
 * the workflow's (503, 504, a client gone) are not kept for dedup: the
 * key is deleted, a retry runs the workflow again.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"
#include "wh_redis_keys.h"

#include <openssl/evp.h>


#define NGX_HTTP_WEBHOOK_ENQUEUE        0
#define NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP  1
#define NGX_HTTP_WEBHOOK_CLAIM          2
#define NGX_HTTP_WEBHOOK_PEEK           3

/*
 * webhook_queue max=: far below it a job is a plain XADD, near it the
 * enqueue script checks the length and adds atomically.  "Far below" is
 * under half of max by this process's view: the last XLEN (asked at most
 * every SAMPLE ms, in order with the XADDs on the same connection) plus
 * the jobs this process sent since it asked, not older than FRESH ms.
 * Only other senders adding half of max within that time could overshoot.
 */
#define NGX_HTTP_WEBHOOK_QUEUE_SAMPLE   100
#define NGX_HTTP_WEBHOOK_QUEUE_FRESH    1000


/*
 * KEYS: dedup key, queue; ARGV: id, workflow, revision, context, TTL,
 * webhook_queue max=.  {2}: the queue is full (a duplicate is answered
 * as one even then).
 */
static char  ngx_http_webhook_enqueue_script[] =
    "local first = redis.call('GET', KEYS[1]) "
    "if first then return {0, first} end "
    "if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[6]) then "
    "return {2} end "
    "redis.call('XADD', KEYS[2], '*', 'execution', ARGV[1], "
    "'workflow', ARGV[2], 'revision', ARGV[3], 'context', ARGV[4]) "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5]) "
    "return {1, ARGV[1]}";

/* KEYS: dedup key, its answer; ARGV: id, TTL */
static char  ngx_http_webhook_claim_script[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then "
    "return {1} end "
    "return {0, redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}";


static ngx_int_t ngx_http_webhook_async_keys(ngx_http_request_t *r,
    ngx_http_webhook_async_t *st, ngx_str_t *value);
static void ngx_http_webhook_async_reply(void *data, redisReply *reply,
    const char *err);
static ngx_int_t ngx_http_webhook_async_answer(ngx_http_webhook_async_t *st,
    redisReply *reply, const char *err);
static ngx_int_t ngx_http_webhook_async_ack(ngx_http_webhook_async_t *st);
static ngx_int_t ngx_http_webhook_async_duplicate(
    ngx_http_webhook_async_t *st, redisReply *first);
static ngx_int_t ngx_http_webhook_async_replay(ngx_http_webhook_async_t *st,
    redisReply *answer);
static ngx_int_t ngx_http_webhook_async_run(ngx_http_webhook_async_t *st);
static void ngx_http_webhook_async_store(ngx_http_webhook_async_t *st);
static void ngx_http_webhook_async_cleanup(void *data);
static ngx_uint_t ngx_http_webhook_queue_roomy(
    ngx_http_webhook_loc_conf_t *wlcf);
static void ngx_http_webhook_queue_sampled(void *data, redisReply *reply,
    const char *err);


ngx_int_t
ngx_http_webhook_redis_path(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    int                        argc;
    u_char                     ttl[NGX_TIME_T_LEN];
    u_char                     max[NGX_INT_T_LEN];
    size_t                     len[13];
    ngx_str_t                  value;
    const char                *argv[13];
    wh_workflow_t             *wf;
    ngx_pool_cleanup_t        *cln;
    ngx_http_webhook_async_t  *st;

    wf = wlcf->workflow;

    value.len = 0;

    if (wlcf->dedup
        && ngx_http_webhook_dedup_value(r, wlcf->dedup, ctx, &value)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook redis path: execution %s, dedup \"%V\"",
                   ctx->id, &value);

    ctx->dedup_key = value;

    if (value.len == 0 && wlcf->mode == NGX_HTTP_WEBHOOK_SYNC
        && !wf->needs_worker)
    {
        return ngx_http_webhook_run_sync(r, wlcf, ctx);
    }

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_async_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->request = r;
    st->wlcf = wlcf;
    st->ctx = ctx;
    ctx->async = st;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_webhook_async_cleanup;
    cln->data = st;

    if (value.len == 0) {
        if (!wf->enabled) {
            return ngx_http_webhook_disabled(r, wlcf);
        }

        if (wlcf->mode == NGX_HTTP_WEBHOOK_SYNC) {
            return ngx_http_webhook_sync_start(st);
        }

        st->op = NGX_HTTP_WEBHOOK_ENQUEUE;

    } else {
        if (ngx_http_webhook_async_keys(r, st, &value) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!wf->enabled) {
            st->op = NGX_HTTP_WEBHOOK_PEEK;

        } else if (wlcf->mode == NGX_HTTP_WEBHOOK_ASYNC) {
            st->op = NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP;

        } else {
            st->op = NGX_HTTP_WEBHOOK_CLAIM;
        }
    }

    /* at most 13: EVALSHA, its SHA, 1, the queue, max and 4 fields */
    argc = 0;

#define ngx_http_webhook_arg(s, n)                                            \
    argv[argc] = (const char *) (s); len[argc++] = (n)

    switch (st->op) {

    case NGX_HTTP_WEBHOOK_ENQUEUE:
        wlcf->queue_len.added++;

        if (ngx_http_webhook_queue_roomy(wlcf)) {
            ngx_http_webhook_arg("XADD", 4);
            ngx_http_webhook_arg(wlcf->queue.data, wlcf->queue.len);
            ngx_http_webhook_arg("*", 1);
            break;
        }

        ngx_http_webhook_arg("EVALSHA", 7);
        ngx_http_webhook_arg(ngx_http_webhook_redis_enqueue_sha, 40);
        ngx_http_webhook_arg("1", 1);
        ngx_http_webhook_arg(wlcf->queue.data, wlcf->queue.len);
        ngx_http_webhook_arg(max, ngx_sprintf(max, "%ui", wlcf->queue_max)
                                  - max);
        break;

    case NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP:
        ngx_http_webhook_arg("EVAL", 4);
        ngx_http_webhook_arg(ngx_http_webhook_enqueue_script,
                             sizeof(ngx_http_webhook_enqueue_script) - 1);
        ngx_http_webhook_arg("2", 1);
        ngx_http_webhook_arg(st->key.data, st->key.len);
        ngx_http_webhook_arg(wlcf->queue.data, wlcf->queue.len);
        break;

    case NGX_HTTP_WEBHOOK_CLAIM:
        ngx_http_webhook_arg("EVAL", 4);
        ngx_http_webhook_arg(ngx_http_webhook_claim_script,
                             sizeof(ngx_http_webhook_claim_script) - 1);
        ngx_http_webhook_arg("2", 1);
        ngx_http_webhook_arg(st->key.data, st->key.len);
        ngx_http_webhook_arg(st->answer.data, st->answer.len);
        ngx_http_webhook_arg(ctx->id, 36);
        ngx_http_webhook_arg(ttl, ngx_sprintf(ttl, "%T", wlcf->dedup_ttl)
                                  - ttl);
        break;

    default: /* NGX_HTTP_WEBHOOK_PEEK */
        ngx_http_webhook_arg("MGET", 4);
        ngx_http_webhook_arg(st->key.data, st->key.len);
        ngx_http_webhook_arg(st->answer.data, st->answer.len);
        break;
    }

    if (st->op == NGX_HTTP_WEBHOOK_ENQUEUE) {
        ngx_http_webhook_arg("execution", 9);
        ngx_http_webhook_arg(ctx->id, 36);
        ngx_http_webhook_arg("workflow", 8);
        ngx_http_webhook_arg(wf->key, ngx_strlen(wf->key));
        ngx_http_webhook_arg("revision", 8);
        ngx_http_webhook_arg(wf->revision, 64);
        ngx_http_webhook_arg("context", 7);
        ngx_http_webhook_arg(ctx->context.data, ctx->context.len);

    } else if (st->op == NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP) {
        ngx_http_webhook_arg(ctx->id, 36);
        ngx_http_webhook_arg(wf->key, ngx_strlen(wf->key));
        ngx_http_webhook_arg(wf->revision, 64);
        ngx_http_webhook_arg(ctx->context.data, ctx->context.len);
        ngx_http_webhook_arg(ttl, ngx_sprintf(ttl, "%T", wlcf->dedup_ttl)
                                  - ttl);
        ngx_http_webhook_arg(max, ngx_sprintf(max, "%ui", wlcf->queue_max)
                                  - max);
    }

#undef ngx_http_webhook_arg

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook redis path: execution %s, op %ui",
                   ctx->id, st->op);

    /* with replicas=, answered once WAIT confirmed it */
    st->cmd = ngx_http_webhook_redis_write(wlcf, argc, argv, len,
                                           ngx_http_webhook_async_reply, st);
    if (st->cmd == NULL) {
        return ngx_http_webhook_unavailable(r, "Redis is not "
                                                  "reachable");
    }

    return NGX_DONE;
}


static ngx_uint_t
ngx_http_webhook_queue_roomy(ngx_http_webhook_loc_conf_t *wlcf)
{
    size_t       len[2];
    ngx_msec_t   age;
    const char  *argv[2];

    age = ngx_current_msec - wlcf->queue_len.at;

    if (!wlcf->queue_len.asking
        && (!wlcf->queue_len.known
            || age >= NGX_HTTP_WEBHOOK_QUEUE_SAMPLE))
    {
        argv[0] = "XLEN";
        len[0] = 4;
        argv[1] = (char *) wlcf->queue.data;
        len[1] = wlcf->queue.len;

        if (ngx_http_webhook_redis_send(wlcf, 2, argv, len,
                                        ngx_http_webhook_queue_sampled, wlcf)
            != NULL)
        {
            wlcf->queue_len.asking = 1;
            /* XLEN counts what was sent before it, this job excluded */
            wlcf->queue_len.base = wlcf->queue_len.added - 1;
        }
    }

    return wlcf->queue_len.known && age < NGX_HTTP_WEBHOOK_QUEUE_FRESH
           && wlcf->queue_len.len + (wlcf->queue_len.added
                                     - wlcf->queue_len.base)
              < wlcf->queue_max / 2;
}


static void
ngx_http_webhook_queue_sampled(void *data, redisReply *reply,
    const char *err)
{
    ngx_http_webhook_loc_conf_t *wlcf = data;

    wlcf->queue_len.asking = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < 0)
    {
        wlcf->queue_len.known = 0;
        return;
    }

    wlcf->queue_len.len = (ngx_uint_t) reply->integer;
    wlcf->queue_len.at = ngx_current_msec;
    wlcf->queue_len.known = 1;
}


/*
 * webhook:dedup:<workflow>:<hex SHA-256 of the value> and …:response: a
 * delivery id or token a sender puts in the value never names a key
 * (§7), and every key has the same length whatever the value's.
 */

static ngx_int_t
ngx_http_webhook_async_keys(ngx_http_request_t *r,
    ngx_http_webhook_async_t *st, ngx_str_t *value)
{
    u_char         *p, md[EVP_MAX_MD_SIZE], hex[64];
    size_t          len;
    unsigned int    mdlen;
    wh_workflow_t  *wf;

    wf = st->wlcf->workflow;

    if (EVP_Digest(value->data, value->len, md, &mdlen, EVP_sha256(), NULL)
        != 1)
    {
        return NGX_ERROR;
    }

    ngx_hex_dump(hex, md, 32);

    len = sizeof(WH_REDIS_DEDUP) - 1 + ngx_strlen(wf->key) + 1 + 64;

    p = ngx_pnalloc(r->pool, len + sizeof(":response") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    st->key.data = p;
    st->key.len = len;

    p = ngx_cpymem(p, WH_REDIS_DEDUP, sizeof(WH_REDIS_DEDUP) - 1);
    p = ngx_cpymem(p, wf->key, ngx_strlen(wf->key));
    *p++ = ':';
    p = ngx_cpymem(p, hex, 64);
    ngx_memcpy(p, ":response", sizeof(":response") - 1);

    st->answer.data = st->key.data;
    st->answer.len = len + sizeof(":response") - 1;

    return NGX_OK;
}


static void
ngx_http_webhook_async_reply(void *data, redisReply *reply, const char *err)
{
    ngx_http_webhook_async_t *st = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = st->request;
    c = r->connection;

    st->cmd = NULL;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "webhook redis path: execution %s, reply %s",
                   st->ctx->id, err ? err : "received");

    rc = ngx_http_webhook_async_answer(st, reply, err);

    /* a claimed key of a sync run with worker nodes: waiting now */
    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_webhook_async_answer(ngx_http_webhook_async_t *st,
    redisReply *reply, const char *err)
{
    redisReply          **e;
    ngx_http_request_t   *r;

    r = st->request;

    if (reply == NULL) {
        return ngx_http_webhook_unavailable(r, err);
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* not an outage: the queue or a key has the wrong type, … */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: Redis %V: %*s", &st->wlcf->redis->name,
                      (size_t) reply->len, reply->str);

        return ngx_http_webhook_unavailable(r, "Redis refused the "
                                                  "command");
    }

    e = reply->element;

    switch (st->op) {

    case NGX_HTTP_WEBHOOK_ENQUEUE:
        if (reply->type == REDIS_REPLY_NIL) {
            return ngx_http_webhook_queue_full(r);
        }

        if (reply->type != REDIS_REPLY_STRING) {
            break;
        }

        return ngx_http_webhook_async_ack(st);

    case NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP:
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
            || e[0]->type != REDIS_REPLY_INTEGER
            || (e[0]->integer != 2 && reply->elements != 2))
        {
            break;
        }

        if (e[0]->integer == 1) {
            return ngx_http_webhook_async_ack(st);
        }

        if (e[0]->integer == 2) {
            return ngx_http_webhook_queue_full(r);
        }

        return ngx_http_webhook_async_duplicate(st, e[1]);

    case NGX_HTTP_WEBHOOK_CLAIM:
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
            || e[0]->type != REDIS_REPLY_INTEGER)
        {
            break;
        }

        if (e[0]->integer == 1) {
            return ngx_http_webhook_async_run(st);
        }

        if (reply->elements != 3) {
            break;
        }

        if (e[1]->type != REDIS_REPLY_STRING) {
            /* cannot happen within one script */
            return ngx_http_webhook_unavailable(r, "the dedup key "
                                                      "changed, retry");
        }

        return ngx_http_webhook_async_replay(st, e[2]);

    default: /* NGX_HTTP_WEBHOOK_PEEK */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            break;
        }

        if (e[0]->type != REDIS_REPLY_STRING) {
            return ngx_http_webhook_disabled(r, st->wlcf);
        }

        if (st->wlcf->mode == NGX_HTTP_WEBHOOK_ASYNC) {
            return ngx_http_webhook_async_duplicate(st, e[0]);
        }

        return ngx_http_webhook_async_replay(st, e[1]);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "webhook: Redis %V: unexpected reply of type %d",
                  &st->wlcf->redis->name, reply->type);

    return ngx_http_webhook_unavailable(r, "unexpected reply from "
                                              "Redis");
}


/* Only once Redis has the job: 202 or the workflow's "response". */

static ngx_int_t
ngx_http_webhook_async_ack(ngx_http_webhook_async_t *st)
{
    wh_scope_t               scope;
    wh_workflow_t           *wf;
    wh_response_t            resp;
    ngx_http_request_t      *r;
    ngx_http_webhook_ctx_t  *ctx;

    r = st->request;
    ctx = st->ctx;
    wf = st->wlcf->workflow;

    ngx_str_set(&ctx->status, "queued");

    if (wf->has_response) {
        ngx_memzero(&scope, sizeof(wh_scope_t));
        scope.mem = &ctx->mem;
        scope.context = ctx->context_val;
        scope.now_ms = ngx_http_webhook_now();

        if (wh_response_render(&wf->response, &scope, &resp) == 0) {
            return ngx_http_webhook_send(r, &resp);
        }

        /* the job is queued whatever happens here */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: \"%s\": the \"response\" acknowledgement "
                      "could not be rendered (a \"statusCode\" out of "
                      "200-599 or a \"Content-Type\" that is no media "
                      "type?), answering 202", wf->key);
    }

    return ngx_http_webhook_send_state(r, NGX_HTTP_ACCEPTED, ctx->id, "queued");
}


static ngx_int_t
ngx_http_webhook_async_duplicate(ngx_http_webhook_async_t *st,
    redisReply *first)
{
    wh_buf_t                 b;
    ngx_http_request_t      *r;
    ngx_http_webhook_ctx_t  *ctx;

    r = st->request;
    ctx = st->ctx;

    if (first->type != REDIS_REPLY_STRING) {
        return ngx_http_webhook_unavailable(r, "unexpected reply "
                                                  "from Redis");
    }

    /* $webhook_execution_id: the execution this request maps to */
    if (first->len == 36) {
        ngx_memcpy(ctx->id, first->str, 36);
    }

    ngx_str_set(&ctx->status, "duplicate");

    wh_buf_init(&b, &ctx->mem, 64 + first->len);
    wh_buf_adds(&b, "{\"executionId\":");
    wh_json_escape(&b, first->str, first->len);
    wh_buf_adds(&b, ",\"status\":\"duplicate\"}");

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_send_json(r, NGX_HTTP_OK, b.data, b.len);
}


/* Sync: the first run's answer, "<status>\n<content-type>\n<body>". */

static ngx_int_t
ngx_http_webhook_async_replay(ngx_http_webhook_async_t *st,
    redisReply *answer)
{
    u_char                  *p, *last, *nl, *copy;
    ngx_int_t                status;
    wh_header_t              h;
    wh_response_t            resp;
    ngx_http_request_t      *r;

    r = st->request;

    if (answer->type != REDIS_REPLY_STRING) {
        return ngx_http_webhook_error(r, NGX_HTTP_CONFLICT, "duplicate",
                                      "the first request with this key "
                                      "is still running");
    }

    /* the reply is freed after the callback, the answer may be sent later */
    copy = ngx_pnalloc(r->pool, answer->len);
    if (copy == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(copy, answer->str, answer->len);

    p = copy;
    last = copy + answer->len;

    nl = ngx_strlchr(p, last, '\n');
    status = (nl == NULL) ? NGX_ERROR : ngx_atoi(p, nl - p);

    if (status < 200 || status > 599) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: invalid answer stored at \"%V\"",
                      &st->answer);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = nl + 1;

    nl = ngx_strlchr(p, last, '\n');
    if (nl == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: invalid answer stored at \"%V\"",
                      &st->answer);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&resp, sizeof(wh_response_t));
    resp.status = (int) status;

    if (nl > p) {
        h.name = "Content-Type";
        h.name_len = sizeof("Content-Type") - 1;
        h.value = (char *) p;
        h.value_len = nl - p;

        resp.headers = &h;
        resp.nheaders = 1;
    }

    if (nl + 1 < last) {
        resp.body = (char *) nl + 1;
        resp.body_len = last - nl - 1;
    }

    ngx_str_set(&st->ctx->status, "duplicate");

    return ngx_http_webhook_send(r, &resp);
}


/* Sync with a new dedup key: run, answer, then keep the answer. */

static ngx_int_t
ngx_http_webhook_async_run(ngx_http_webhook_async_t *st)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = st->request;

    if (st->wlcf->workflow->needs_worker) {
        st->done = ngx_http_webhook_async_store;
        return ngx_http_webhook_sync_start(st);
    }

    rc = ngx_http_webhook_run_sync(r, st->wlcf, st->ctx);

    ngx_http_webhook_async_store(st);

    return rc;
}


static void
ngx_http_webhook_async_store(ngx_http_webhook_async_t *st)
{
    u_char               ttl[NGX_TIME_T_LEN], *p;
    size_t               len[5];
    wh_buf_t             b;
    const char          *argv[5];
    ngx_str_t           *body;
    ngx_http_request_t  *r;

    r = st->request;
    body = &st->ctx->answer;

    if (!r->header_sent || st->forget) {
        /* no answer of its own to replay: let a retry run */
        argv[0] = "DEL";
        len[0] = 3;
        argv[1] = (char *) st->key.data;
        len[1] = st->key.len;

        if (ngx_http_webhook_redis_send(st->wlcf, 2, argv, len, NULL, NULL)
            == NULL)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "webhook: could not delete \"%V\": repeats "
                          "answer 409 until it expires", &st->key);
        }

        return;
    }

    wh_buf_init(&b, &st->ctx->mem, 64 + body->len);
    wh_buf_printf(&b, "%u\n", (unsigned) r->headers_out.status);

    /* the record is split at new lines: a content type has none */
    for (p = r->headers_out.content_type.data;
         p < r->headers_out.content_type.data
             + r->headers_out.content_type.len;
         p++)
    {
        wh_buf_addc(&b, (*p == '\n' || *p == '\r') ? ' ' : (char) *p);
    }

    wh_buf_addc(&b, '\n');
    wh_buf_add(&b, (char *) body->data, body->len);

    if (b.failed) {
        return;
    }

    argv[0] = "SET";
    len[0] = 3;
    argv[1] = (char *) st->answer.data;
    len[1] = st->answer.len;
    argv[2] = b.data;
    len[2] = b.len;
    argv[3] = "EX";
    len[3] = 2;
    argv[4] = (char *) ttl;
    len[4] = ngx_sprintf(ttl, "%T", st->wlcf->dedup_ttl) - ttl;

    if (ngx_http_webhook_redis_send(st->wlcf, 5, argv, len, NULL, NULL)
        == NULL)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: could not store the answer at \"%V\": "
                      "repeats answer 409 until the key expires",
                      &st->answer);
    }
}


/* The request is gone before Redis answered. */

static void
ngx_http_webhook_async_cleanup(void *data)
{
    ngx_http_webhook_async_t *st = data;

    if (st->cmd) {
        ngx_http_webhook_redis_detach(st->cmd);
        st->cmd = NULL;
    }

    if (st->wait) {
        ngx_http_webhook_redis_unwait(st->wait);
        st->wait = NULL;
    }

    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }
}
