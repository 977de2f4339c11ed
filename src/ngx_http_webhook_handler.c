/*
 * The content handler of a webhook location, the top of the request
 * path: method check, body reading, then in the contract's order the
 * context (context.c), the signature (sig.c), and the run: through Redis
 * when the location needs it (async.c), else inline (sync.c).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"


static void ngx_http_webhook_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_process(ngx_http_request_t *r);


ngx_int_t
ngx_http_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook handler: %V \"%s\"", &r->method_name,
                   wlcf->workflow->key);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_webhook_module);
    ngx_http_webhook_mem(ctx, r->pool);

    if (wlcf->challenge) {
        rc = ngx_http_webhook_challenge_query(r, wlcf);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (!(r->method & wlcf->methods)) {
        return ngx_http_webhook_not_allowed(r, wlcf);
    }

    /* one buffer when the body fits client_body_buffer_size */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_webhook_body_handler);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook read body: %i", rc);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_webhook_body_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_webhook_process(r);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * The order is the contract's: parse, verify, deduplicate, enabled?, run.
 * Each step returns NGX_DECLINED to go on; anything else is final: an
 * HTTP status, the result of sending an answer, or NGX_DONE when the
 * answer comes later (Redis).
 */

static ngx_int_t
ngx_http_webhook_process(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (r->connection->error) {
        return NGX_HTTP_CLIENT_CLOSED_REQUEST;
    }

    rc = ngx_http_webhook_read_body(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook body: %uz bytes", ctx->body_len);

    rc = ngx_http_webhook_build_context(r, ctx, wlcf);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook context: execution %s, %uz bytes",
                   ctx->id, ctx->context.len);

    if (wlcf->signatures) {
        rc = ngx_http_webhook_verify(r, wlcf, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "webhook signature verified");
    }

    if (wlcf->challenge) {
        rc = ngx_http_webhook_challenge_body(r, wlcf, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (wlcf->needs_redis) {
        return ngx_http_webhook_redis_path(r, wlcf, ctx);
    }

    return ngx_http_webhook_run_sync(r, wlcf, ctx);
}
