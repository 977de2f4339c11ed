/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sync runs.  Inline: the workflow runs to its end inside the request's
 * event (its nodes never wait) and the answer is its response node, 200
 * resolved or 500 workflow_failed.  Through a worker (workflows with
 * worker nodes): the run waits on the subscriber connection of its Redis
 * (ngx_http_webhook_redis.c) for the message the worker publishes on the
 * process's channel once the execution is final, the job being queued
 * only once the channel is subscribed.  webhook_sync_timeout covers the
 * whole wait; past it the answer is 504 and the message, if it ever
 * comes, finds nobody.  A client that closes meanwhile ends the wait.
 * Once answered, st->done (set by a dedup claim, async.c) keeps the
 * answer; this file calls nothing above it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"


/* how a sync run with worker nodes ends */
#define NGX_HTTP_WEBHOOK_SYNC_MESSAGE      0
#define NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE  1
#define NGX_HTTP_WEBHOOK_SYNC_TIMEOUT      2
#define NGX_HTTP_WEBHOOK_SYNC_GONE         3
#define NGX_HTTP_WEBHOOK_SYNC_FULL         4


static ngx_int_t ngx_http_webhook_sync_enqueue(ngx_http_webhook_async_t *st);
static void ngx_http_webhook_sync_queued(void *data, redisReply *reply,
    const char *err);
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


ngx_int_t
ngx_http_webhook_run_sync(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    int                   status;
    wh_exec_t            *ex;
    wh_exec_rc_t          erc;
    const char           *err;
    const wh_response_t  *resp;

    if (!wlcf->workflow->enabled) {
        return ngx_http_webhook_disabled(r, wlcf);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook sync run %s inline", ctx->id);

    ex = wh_exec_create(wlcf->workflow, &ctx->mem, ctx->context_val,
                        ngx_http_webhook_now());
    if (ex == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* inline nodes take microseconds: the cached time times them */
    wh_exec_clock(ex, ngx_http_webhook_now);

    erc = wh_exec_run(ex);

    if (erc != WH_EXEC_DONE) {
        /* configuration routes workflows with worker nodes elsewhere */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook: execution %s could not finish inline",
                      ctx->id);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = wh_exec_status(ex);
    resp = wh_exec_response(ex);

    if (resp != NULL) {
        ngx_str_set(&ctx->status, "resolved");
        return ngx_http_webhook_send(r, resp);
    }

    if (status == WH_STATUS_RESOLVED) {
        ngx_str_set(&ctx->status, "resolved");

        return ngx_http_webhook_send_state(r, NGX_HTTP_OK, ctx->id,
                                           "resolved");
    }

    err = wh_exec_error(ex);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webhook: execution %s of \"%s\" ended with status %d%s%s",
                  ctx->id, wlcf->workflow->key, status,
                  err ? ": " : "", err ? err : "");

    /* the answer is workflow_failed, the execution's status is failed */
    ngx_str_set(&ctx->status, "failed");

    return ngx_http_webhook_failed(r, err, err ? ngx_strlen(err) : 0);
}


/* Sync runs through a worker. */

ngx_int_t
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
    int                           argc;
    u_char                        max[NGX_INT_T_LEN];
    size_t                        len[15];
    ngx_str_t                    *channel;
    const char                   *argv[15];
    wh_workflow_t                *wf;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = st->wlcf;
    wf = wlcf->workflow;
    ctx = st->ctx;
    channel = ngx_http_webhook_redis_channel(st->wait);

    argc = 0;

#define ngx_http_webhook_arg(s, n)                                            \
    argv[argc] = (const char *) (s); len[argc++] = (n)

    /* the enqueue script: webhook_queue max= applies (redis.h) */
    ngx_http_webhook_arg("EVALSHA", 7);
    ngx_http_webhook_arg(ngx_http_webhook_redis_enqueue_sha, 40);
    ngx_http_webhook_arg("1", 1);
    ngx_http_webhook_arg(wlcf->queue.data, wlcf->queue.len);
    ngx_http_webhook_arg(max, ngx_sprintf(max, "%ui", wlcf->queue_max) - max);
    ngx_http_webhook_arg("execution", 9);
    ngx_http_webhook_arg(ctx->id, 36);
    ngx_http_webhook_arg("workflow", 8);
    ngx_http_webhook_arg(wf->key, ngx_strlen(wf->key));
    ngx_http_webhook_arg("revision", 8);
    ngx_http_webhook_arg(wf->revision, 64);
    ngx_http_webhook_arg("context", 7);
    ngx_http_webhook_arg(ctx->context.data, ctx->context.len);
    ngx_http_webhook_arg("reply", 5);
    ngx_http_webhook_arg(channel->data, channel->len);

#undef ngx_http_webhook_arg

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, st->request->connection->log, 0,
                   "webhook sync run %s: queued, reply on \"%V\"",
                   ctx->id, channel);

    /* with replicas=, the reply comes once WAIT confirmed the job */
    st->cmd = ngx_http_webhook_redis_write(wlcf, argc, argv, len,
                                           ngx_http_webhook_sync_queued, st);
    if (st->cmd == NULL) {
        return ngx_http_webhook_sync_finish(st, NULL, 0,
                                            "Redis is not reachable",
                                            NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE);
    }

    st->sent = 1;

    return NGX_DONE;
}


/* The XADD of the job: on success the wait goes on. */

static void
ngx_http_webhook_sync_queued(void *data, redisReply *reply, const char *err)
{
    ngx_http_webhook_async_t *st = data;

    st->cmd = NULL;

    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        if (st->early.data) {
            ngx_http_webhook_sync_end(st, (char *) st->early.data,
                                      st->early.len, NULL,
                                      NGX_HTTP_WEBHOOK_SYNC_MESSAGE);
        }

        return;                             /* queued: wait for the worker */
    }

    if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
        st->sent = 0;                       /* nothing was queued */
        ngx_http_webhook_sync_end(st, NULL, 0, NULL,
                                  NGX_HTTP_WEBHOOK_SYNC_FULL);
        return;
    }

    if (reply != NULL) {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, st->request->connection->log, 0,
                          "webhook: Redis %V: %*s",
                          &st->wlcf->redis->name, (size_t) reply->len,
                          reply->str);
        }

        err = "Redis refused the command";
    }

    ngx_http_webhook_sync_end(st, NULL, 0, err,
                              NGX_HTTP_WEBHOOK_SYNC_UNAVAILABLE);
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

    if (msg != NULL && st->cmd != NULL && st->wlcf->redis->replicas) {
        /* the worker was faster than WAIT: no answer before it confirms */
        st->early.data = ngx_pnalloc(st->request->pool, len);
        if (st->early.data != NULL) {
            ngx_memcpy(st->early.data, msg, len);
            st->early.len = len;
            return;
        }

        msg = NULL;
        err = "out of memory";
    }

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
    ngx_http_webhook_ctx_t    *ctx;

    c = r->connection;
    rev = c->read;
    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

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
                          "while the worker ran execution %s", ctx->id);
        }
    }

    ngx_http_webhook_sync_end(ctx->async, NULL, 0, NULL,
                              NGX_HTTP_WEBHOOK_SYNC_GONE);
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
    ngx_http_request_t  *r;

    r = st->request;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook sync run %s: wait over (%ui)", st->ctx->id, how);

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
        rc = ngx_http_webhook_unavailable(r, err);
        break;

    case NGX_HTTP_WEBHOOK_SYNC_FULL:
        st->forget = 1;
        rc = ngx_http_webhook_queue_full(r);
        break;

    default: /* NGX_HTTP_WEBHOOK_SYNC_GONE */
        st->forget = 1;
        rc = NGX_HTTP_CLIENT_CLOSED_REQUEST;
        break;
    }

    if (st->done) {
        st->done(st);
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

    return ngx_http_webhook_failed(r, e, elen);
}


/* The workflow's "response" node, as the worker rendered it. */

static ngx_int_t
ngx_http_webhook_sync_response(ngx_http_webhook_async_t *st, wh_val_t v)
{
    double                   d;
    size_t                   n;
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

    /* item by item: wh_val_index would walk from the first each time */
    for (h = wh_val_first(headers); h.doc != NULL;
         h = wh_val_next(headers, h))
    {
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
