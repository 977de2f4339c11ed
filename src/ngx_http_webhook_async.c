/*
 * Everything that needs Redis: async enqueue, webhook_dedup (both modes)
 * and sync runs with worker nodes.
 *
 * The contract's order is dedup, enabled?, run.  Each request makes one
 * round trip, sync runs with worker nodes two with a dedup key:
 *
 *   async                 XADD
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
 * A sync run with worker nodes waits on the subscriber connection of its
 * Redis (ngx_http_webhook_redis.c) for the message the worker publishes
 * on the process's channel once the execution is final, the job being
 * queued only once the channel is subscribed.  webhook_sync_timeout
 * covers the whole wait; past it the answer is 504 and the message, if
 * it ever comes, finds nobody.  Answers that are not the workflow's
 * (503, 504, a client gone) are not kept for dedup: the key is deleted,
 * a retry runs the workflow again.
 */

#include "ngx_http_webhook_redis.h"
#include "wh_redis_keys.h"


#define NGX_HTTP_WEBHOOK_ENQUEUE        0
#define NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP  1
#define NGX_HTTP_WEBHOOK_CLAIM          2
#define NGX_HTTP_WEBHOOK_PEEK           3
#define NGX_HTTP_WEBHOOK_SYNC_ENQUEUE   4

/* how a sync run with worker nodes ends */
#define NGX_HTTP_WEBHOOK_SYNC_MESSAGE      0
#define NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE  1
#define NGX_HTTP_WEBHOOK_SYNC_TIMEOUT      2
#define NGX_HTTP_WEBHOOK_SYNC_GONE         3

/* Seconds: the longest reconnection backoff. */
#define NGX_HTTP_WEBHOOK_RETRY_AFTER    "5"


typedef struct {
    ngx_http_request_t            *request;
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_redis_cmd_t  *cmd;
    ngx_uint_t                     op;
    ngx_str_t                      key;        /* webhook:dedup:<wf>:<v> */
    ngx_str_t                      answer;     /* the key + ":response" */
    wh_buf_t                       body;       /* a sync run's answer */
    ngx_http_webhook_redis_wait_t *wait;       /* for the worker */
    ngx_event_t                    timer;      /* webhook_sync_timeout */
    unsigned                       forget:1;   /* no answer to replay */
    unsigned                       sent:1;     /* the job went to Redis */
} ngx_http_webhook_async_t;


/* KEYS: dedup key, queue; ARGV: id, workflow, revision, context, TTL */
static char  ngx_http_webhook_enqueue_script[] =
    "local first = redis.call('GET', KEYS[1]) "
    "if first then return {0, first} end "
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
static ngx_int_t ngx_http_webhook_async_disabled(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webhook_async_unavailable(ngx_http_request_t *r,
    const char *err);
static void ngx_http_webhook_async_cleanup(void *data);
static ngx_int_t ngx_http_webhook_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_webhook_sync_start(ngx_http_webhook_async_t *st);
static ngx_int_t ngx_http_webhook_sync_enqueue(ngx_http_webhook_async_t *st);
static void ngx_http_webhook_sync_reply(void *data, const char *msg,
    size_t len, const char *err);
static void ngx_http_webhook_sync_timeout(ngx_event_t *ev);
static void ngx_http_webhook_sync_test_reading(ngx_http_request_t *r);
static void ngx_http_webhook_sync_end(ngx_http_webhook_async_t *st,
    const char *msg, size_t len, const char *err, ngx_uint_t how);
static ngx_int_t ngx_http_webhook_sync_finish(ngx_http_webhook_async_t *st,
    const char *msg, size_t len, const char *err, ngx_uint_t how);
static ngx_int_t ngx_http_webhook_sync_answer(ngx_http_webhook_async_t *st,
    const char *msg, size_t len);
static ngx_int_t ngx_http_webhook_sync_response(ngx_http_webhook_async_t *st,
    wh_val_t v);


static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

/*
 * The request whose answer is being captured.  Inline runs never wait,
 * so the answer passes the filter during the call to
 * ngx_http_webhook_run_sync() and one pointer is enough.
 */
static ngx_http_webhook_async_t         *ngx_http_webhook_capture;


ngx_int_t
ngx_http_webhook_async_init(ngx_conf_t *cf)
{
    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_webhook_body_filter;

    return NGX_OK;
}


ngx_int_t
ngx_http_webhook_redis_path(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    int                        argc;
    u_char                     ttl[NGX_TIME_T_LEN];
    size_t                     len[12];
    ngx_str_t                  value;
    const char                *argv[12];
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

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_webhook_async_cleanup;
    cln->data = st;

    if (value.len == 0) {
        if (!wf->enabled) {
            return ngx_http_webhook_async_disabled(r, wlcf);
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

    /* at most 11: XADD, the queue, "*" and 4 fields */
    argc = 0;

#define ngx_http_webhook_arg(s, n)                                            \
    argv[argc] = (const char *) (s); len[argc++] = (n)

    switch (st->op) {

    case NGX_HTTP_WEBHOOK_ENQUEUE:
        ngx_http_webhook_arg("XADD", 4);
        ngx_http_webhook_arg(wlcf->queue.data, wlcf->queue.len);
        ngx_http_webhook_arg("*", 1);
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
    }

#undef ngx_http_webhook_arg

    st->cmd = ngx_http_webhook_redis_send(wlcf, argc, argv, len,
                                          ngx_http_webhook_async_reply, st);
    if (st->cmd == NULL) {
        return ngx_http_webhook_async_unavailable(r, "Redis is not "
                                                  "reachable");
    }

    return NGX_DONE;
}


/* webhook:dedup:<workflow>:<value> and webhook:dedup:…:response */

static ngx_int_t
ngx_http_webhook_async_keys(ngx_http_request_t *r,
    ngx_http_webhook_async_t *st, ngx_str_t *value)
{
    u_char         *p;
    size_t          len;
    wh_workflow_t  *wf;

    wf = st->wlcf->workflow;

    len = sizeof(WH_REDIS_DEDUP) - 1 + ngx_strlen(wf->key) + 1 + value->len;

    p = ngx_pnalloc(r->pool, len + sizeof(":response") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    st->key.data = p;
    st->key.len = len;

    p = ngx_cpymem(p, WH_REDIS_DEDUP, sizeof(WH_REDIS_DEDUP) - 1);
    p = ngx_cpymem(p, wf->key, ngx_strlen(wf->key));
    *p++ = ':';
    p = ngx_cpymem(p, value->data, value->len);
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

    if (st->op == NGX_HTTP_WEBHOOK_SYNC_ENQUEUE) {
        if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
            return;                         /* queued: wait for the worker */
        }

        if (reply != NULL) {
            if (reply->type == REDIS_REPLY_ERROR) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "webhook: Redis %V: %*s",
                              &st->wlcf->redis->name, (size_t) reply->len,
                              reply->str);
            }

            err = "Redis refused the command";
        }

        ngx_http_webhook_sync_end(st, NULL, 0, err,
                                  NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE);
        return;
    }

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
        return ngx_http_webhook_async_unavailable(r, err);
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* not an outage: the queue or a key has the wrong type, … */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: Redis %V: %*s", &st->wlcf->redis->name,
                      (size_t) reply->len, reply->str);

        return ngx_http_webhook_async_unavailable(r, "Redis refused the "
                                                  "command");
    }

    e = reply->element;

    switch (st->op) {

    case NGX_HTTP_WEBHOOK_ENQUEUE:
        if (reply->type != REDIS_REPLY_STRING) {
            break;
        }

        return ngx_http_webhook_async_ack(st);

    case NGX_HTTP_WEBHOOK_ENQUEUE_DEDUP:
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
            || e[0]->type != REDIS_REPLY_INTEGER)
        {
            break;
        }

        if (e[0]->integer == 1) {
            return ngx_http_webhook_async_ack(st);
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
            return ngx_http_webhook_async_unavailable(r, "the dedup key "
                                                      "changed, retry");
        }

        return ngx_http_webhook_async_replay(st, e[2]);

    default: /* NGX_HTTP_WEBHOOK_PEEK */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            break;
        }

        if (e[0]->type != REDIS_REPLY_STRING) {
            return ngx_http_webhook_async_disabled(r, st->wlcf);
        }

        if (st->wlcf->mode == NGX_HTTP_WEBHOOK_ASYNC) {
            return ngx_http_webhook_async_duplicate(st, e[0]);
        }

        return ngx_http_webhook_async_replay(st, e[1]);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "webhook: Redis %V: unexpected reply of type %d",
                  &st->wlcf->redis->name, reply->type);

    return ngx_http_webhook_async_unavailable(r, "unexpected reply from "
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
                      "200-599?), answering 202", wf->key);
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
        return ngx_http_webhook_async_unavailable(r, "unexpected reply "
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
        return ngx_http_webhook_sync_start(st);
    }

    wh_buf_init(&st->body, &st->ctx->mem, 256);

    ngx_http_webhook_capture = st;
    rc = ngx_http_webhook_run_sync(r, st->wlcf, st->ctx);
    ngx_http_webhook_capture = NULL;

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
    ngx_http_request_t  *r;

    r = st->request;

    if (!r->header_sent || st->body.failed || st->forget) {
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

    wh_buf_init(&b, &st->ctx->mem, 64 + st->body.len);
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
    wh_buf_add(&b, st->body.data, st->body.len);

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


static ngx_int_t
ngx_http_webhook_async_disabled(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "workflow_disabled",
                                  "workflow \"%s\" is disabled",
                                  wlcf->workflow->key);
}


static ngx_int_t
ngx_http_webhook_async_unavailable(ngx_http_request_t *r, const char *err)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, NGX_HTTP_WEBHOOK_RETRY_AFTER);

    return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "queue_unavailable",
                                  "the job queue is unavailable: %s", err);
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

    if (ngx_http_webhook_capture == st) {
        ngx_http_webhook_capture = NULL;
    }
}


static ngx_int_t
ngx_http_webhook_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t               *cl;
    ngx_http_webhook_async_t  *st;

    st = ngx_http_webhook_capture;

    if (st != NULL && st->request == r) {
        for (cl = in; cl; cl = cl->next) {
            if (ngx_buf_in_memory(cl->buf)) {
                wh_buf_add(&st->body, cl->buf->pos,
                           cl->buf->last - cl->buf->pos);

            } else if (ngx_buf_size(cl->buf)) {
                st->body.failed = 1;      /* not an answer of ours */
            }
        }
    }

    return ngx_http_next_body_filter(r, in);
}


/* Sync runs with worker nodes. */

static ngx_int_t
ngx_http_webhook_sync_start(ngx_http_webhook_async_t *st)
{
    ngx_uint_t           ready;
    ngx_http_request_t  *r;

    r = st->request;

    st->timer.handler = ngx_http_webhook_sync_timeout;
    st->timer.data = st;
    st->timer.log = r->connection->log;

    ngx_add_timer(&st->timer, st->wlcf->sync_timeout);

    st->wait = ngx_http_webhook_redis_await(st->wlcf, st->ctx->id, r->pool,
                                            ngx_http_webhook_sync_reply, st,
                                            &ready);
    if (st->wait == NULL) {
        return ngx_http_webhook_sync_finish(st, NULL, 0,
                                            "Redis is not reachable",
                                            NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE);
    }

    /* a client that goes away while the worker runs is noticed */
    r->read_event_handler = ngx_http_webhook_sync_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    if (!ready) {
        return NGX_DONE;                   /* until the channel listens */
    }

    return ngx_http_webhook_sync_enqueue(st);
}


/* The job, with the channel its outcome is to be published on. */

static ngx_int_t
ngx_http_webhook_sync_enqueue(ngx_http_webhook_async_t *st)
{
    size_t                        len[13];
    ngx_str_t                    *channel;
    const char                   *argv[13];
    wh_workflow_t                *wf;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = st->wlcf;
    wf = wlcf->workflow;
    ctx = st->ctx;
    channel = ngx_http_webhook_redis_channel(st->wait);

    argv[0] = "XADD";
    len[0] = 4;
    argv[1] = (char *) wlcf->queue.data;
    len[1] = wlcf->queue.len;
    argv[2] = "*";
    len[2] = 1;
    argv[3] = "execution";
    len[3] = 9;
    argv[4] = ctx->id;
    len[4] = 36;
    argv[5] = "workflow";
    len[5] = 8;
    argv[6] = wf->key;
    len[6] = ngx_strlen(wf->key);
    argv[7] = "revision";
    len[7] = 8;
    argv[8] = wf->revision;
    len[8] = 64;
    argv[9] = "context";
    len[9] = 7;
    argv[10] = ctx->context.data;
    len[10] = ctx->context.len;
    argv[11] = "reply";
    len[11] = 5;
    argv[12] = (char *) channel->data;
    len[12] = channel->len;

    st->op = NGX_HTTP_WEBHOOK_SYNC_ENQUEUE;

    st->cmd = ngx_http_webhook_redis_send(wlcf, 13, argv, len,
                                          ngx_http_webhook_async_reply, st);
    if (st->cmd == NULL) {
        return ngx_http_webhook_sync_finish(st, NULL, 0,
                                            "Redis is not reachable",
                                            NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE);
    }

    st->sent = 1;

    return NGX_DONE;
}


static void
ngx_http_webhook_sync_reply(void *data, const char *msg, size_t len,
    const char *err)
{
    ngx_http_webhook_async_t *st = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (msg == NULL && err == NULL) {
        /* subscribed */
        r = st->request;
        c = r->connection;

        rc = ngx_http_webhook_sync_enqueue(st);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
            ngx_http_run_posted_requests(c);
        }

        return;
    }

    st->wait = NULL;                        /* the adapter is done with it */

    ngx_http_webhook_sync_end(st, msg, len, err,
                              msg ? NGX_HTTP_WEBHOOK_SYNC_MESSAGE
                                  : NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE);
}


static void
ngx_http_webhook_sync_timeout(ngx_event_t *ev)
{
    ngx_http_webhook_async_t *st = ev->data;

    ngx_http_webhook_sync_end(st, NULL, 0, NULL,
                              NGX_HTTP_WEBHOOK_SYNC_TIMEOUT);
}


/*
 * What ngx_http_upstream does for a client that closes while the
 * upstream works: a peek at the socket.  Data (a pipelined request) is
 * left for later; end of file or an error ends the wait.
 */

static void
ngx_http_webhook_sync_test_reading(ngx_http_request_t *r)
{
    int                        n;
    char                       buf[1];
    ngx_err_t                  err;
    ngx_event_t               *rev;
    ngx_connection_t          *c;
    ngx_pool_cleanup_t        *cln;
    ngx_http_webhook_async_t  *st;

    c = r->connection;
    rev = c->read;

    if (!c->error) {

#if (NGX_HTTP_V2)
        if (r->stream) {
            return;                 /* the stream's end sets c->error */
        }
#endif

        n = recv(c->fd, buf, 1, MSG_PEEK);
        err = ngx_socket_errno;

        if (n > 0 || (n == -1 && err == NGX_EAGAIN)) {
            if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && rev->active) {
                /* else select and poll report the data again and again */
                if (ngx_del_event(rev, NGX_READ_EVENT, 0) != NGX_OK) {
                    c->error = 1;
                }
            }

            if (!c->error) {
                return;
            }

        } else {
            rev->eof = 1;
            c->error = 1;

            ngx_log_error(NGX_LOG_INFO, c->log, n == 0 ? 0 : err,
                          "webhook: the client closed the connection "
                          "while the worker ran execution %s",
                          ((ngx_http_webhook_ctx_t *)
                           ngx_http_get_module_ctx(r, ngx_http_webhook_module))
                          ->id);
        }
    }

    /* the request's state is the data of its cleanup */
    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_webhook_async_cleanup) {
            st = cln->data;

            ngx_http_webhook_sync_end(st, NULL, 0, NULL,
                                      NGX_HTTP_WEBHOOK_SYNC_GONE);
            return;
        }
    }
}


/* From an event: the answer, and the request is done. */

static void
ngx_http_webhook_sync_end(ngx_http_webhook_async_t *st, const char *msg,
    size_t len, const char *err, ngx_uint_t how)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = st->request;
    c = r->connection;

    rc = ngx_http_webhook_sync_finish(st, msg, len, err, how);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* The wait is over: the answer, kept for dedup when it is the run's. */

static ngx_int_t
ngx_http_webhook_sync_finish(ngx_http_webhook_async_t *st, const char *msg,
    size_t len, const char *err, ngx_uint_t how)
{
    ngx_int_t            rc;
    ngx_uint_t           dedup;
    ngx_http_request_t  *r;

    r = st->request;

    if (st->timer.timer_set) {
        ngx_del_timer(&st->timer);
    }

    if (st->wait) {
        ngx_http_webhook_redis_unwait(st->wait);
        st->wait = NULL;
    }

    if (st->cmd) {
        /* the message came before the XADD's reply, or the time is up */
        ngx_http_webhook_redis_detach(st->cmd);
        st->cmd = NULL;
    }

    r->read_event_handler = ngx_http_block_reading;

    dedup = (st->key.len != 0);

    if (dedup) {
        wh_buf_init(&st->body, &st->ctx->mem, 256);
        ngx_http_webhook_capture = st;
    }

    if (how == NGX_HTTP_WEBHOOK_SYNC_TIMEOUT && !st->sent) {
        /* nothing was queued: there is no run to go on */
        how = NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE;
        err = "timed out waiting for the reply channel";
    }

    switch (how) {

    case NGX_HTTP_WEBHOOK_SYNC_MESSAGE:
        rc = ngx_http_webhook_sync_answer(st, msg, len);
        break;

    case NGX_HTTP_WEBHOOK_SYNC_TIMEOUT:
        st->forget = 1;
        rc = ngx_http_webhook_error(r, NGX_HTTP_GATEWAY_TIME_OUT,
                                    "workflow_timeout",
                                    "execution %s did not finish within "
                                    "%M ms; it goes on in the worker",
                                    st->ctx->id, st->wlcf->sync_timeout);
        break;

    case NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE:
        st->forget = 1;
        rc = ngx_http_webhook_async_unavailable(r, err);
        break;

    default: /* NGX_HTTP_WEBHOOK_SYNC_GONE */
        st->forget = 1;
        rc = NGX_HTTP_CLIENT_CLOSED_REQUEST;
        break;
    }

    if (dedup) {
        ngx_http_webhook_capture = NULL;
        ngx_http_webhook_async_store(st);
    }

    return rc;
}


/*
 * The worker's message (wh_redis_keys.h): {"execution","status","error",
 * "response": null or {"statusCode","headers","body","json"}}.
 */

static ngx_int_t
ngx_http_webhook_sync_answer(ngx_http_webhook_async_t *st, const char *msg,
    size_t len)
{
    size_t                   elen;
    double                   d;
    wh_val_t                 v, resp;
    const char              *e;
    wh_json_err_t            jerr;
    ngx_http_request_t      *r;
    ngx_http_webhook_ctx_t  *ctx;

    r = st->request;
    ctx = st->ctx;

    /* copied: the message is freed once this returns, the answer is not */
    if (wh_val_parse(&ctx->mem, msg, len, 1, &v, &jerr) != 0
        || wh_val_type(v) != WH_JSON_OBJECT
        || wh_val_to_number(wh_val_get(v, "status", 6), &d) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: an invalid message about execution %s: "
                      "%*s", ctx->id, ngx_min(len, 256), msg);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    resp = wh_val_get(v, "response", 8);

    if (wh_val_type(resp) == WH_JSON_OBJECT) {
        return ngx_http_webhook_sync_response(st, resp);
    }

    if ((int) d == WH_STATUS_RESOLVED) {
        ngx_str_set(&ctx->status, "resolved");

        return ngx_http_webhook_send_state(r, NGX_HTTP_OK, ctx->id,
                                           "resolved");
    }

    if (wh_val_str(&ctx->mem, wh_val_get(v, "error", 5), &e, &elen) != 0) {
        e = "the workflow ended with status failed";
        elen = ngx_strlen(e);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webhook: execution %s of \"%s\" ended with status %d: "
                  "%*s", ctx->id, st->wlcf->workflow->key, (int) d,
                  elen, e);

    ngx_str_set(&ctx->status, "failed");

    return ngx_http_webhook_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "workflow_failed", "%*s", elen, e);
}


/* The workflow's "response" node, as the worker rendered it. */

static ngx_int_t
ngx_http_webhook_sync_response(ngx_http_webhook_async_t *st, wh_val_t v)
{
    double                   d;
    size_t                   i, n;
    wh_val_t                 headers, h, body;
    wh_header_t             *hd;
    wh_response_t            resp;
    ngx_http_request_t      *r;
    ngx_http_webhook_ctx_t  *ctx;

    r = st->request;
    ctx = st->ctx;

    ngx_memzero(&resp, sizeof(wh_response_t));

    if (wh_val_to_number(wh_val_get(v, "statusCode", 10), &d) != 0
        || d < 200 || d > 599)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: execution %s: the worker's response has no "
                      "valid statusCode", ctx->id);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    resp.status = (int) d;

    headers = wh_val_get(v, "headers", 7);
    n = (wh_val_type(headers) == WH_JSON_ARRAY) ? wh_val_size(headers) : 0;

    if (n) {
        resp.headers = ngx_pcalloc(r->pool, n * sizeof(wh_header_t));
        if (resp.headers == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        h = wh_val_index(headers, i);
        hd = &resp.headers[resp.nheaders];

        if (wh_val_str(&ctx->mem, wh_val_get(h, "name", 4), &hd->name,
                       &hd->name_len) != 0
            || wh_val_str(&ctx->mem, wh_val_get(h, "value", 5), &hd->value,
                          &hd->value_len) != 0)
        {
            continue;
        }

        /* a rendered value must not end the header or start another */
        if (hd->name_len == 0
            || ngx_strlchr((u_char *) hd->name,
                           (u_char *) hd->name + hd->name_len, '\n')
            || ngx_strlchr((u_char *) hd->name,
                           (u_char *) hd->name + hd->name_len, '\r')
            || ngx_strlchr((u_char *) hd->value,
                           (u_char *) hd->value + hd->value_len, '\n')
            || ngx_strlchr((u_char *) hd->value,
                           (u_char *) hd->value + hd->value_len, '\r'))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "webhook: execution %s: header \"%*s\" left out, "
                          "it holds a line break", ctx->id,
                          ngx_min(hd->name_len, 64), hd->name);
            continue;
        }

        resp.nheaders++;
    }

    body = wh_val_get(v, "body", 4);

    if (wh_val_type(body) == WH_JSON_STRING) {
        if (wh_val_str(&ctx->mem, body, &resp.body, &resp.body_len) != 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        resp.body_json = (wh_val_type(wh_val_get(v, "json", 4))
                          == WH_JSON_TRUE);
    }

    ngx_str_set(&ctx->status, "resolved");

    return ngx_http_webhook_send(r, &resp);
}
