/*
 * The content handler of a webhook location: method check, body reading,
 * parsing, verification, and the run of a sync workflow.
 */

#include "ngx_http_webhook.h"


static void ngx_http_webhook_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_process(ngx_http_request_t *r);


/*
 * The core library's allocator for a request: bump allocation from
 * chunks sized by the body.  A request makes dozens of allocations, some
 * a few times the body's size; from nginx's 4 KB request pool blocks
 * they would cost a malloc for every few.  The chunks are the pool's, and
 * go with it.
 */

static void *
ngx_http_webhook_palloc(void *data, size_t size)
{
    u_char                  *p;
    size_t                   chunk;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = data;
    size = ngx_align(size, NGX_ALIGNMENT);

    if (size > (size_t) (ctx->mem_end - ctx->mem_pos)) {
        chunk = (ctx->body_len < 64 * 1024) ? 8192 + 4 * ctx->body_len
                                              : 256 * 1024;

        if (size > chunk / 2) {
            return ngx_palloc(ctx->pool, size);
        }

        p = ngx_palloc(ctx->pool, chunk);
        if (p == NULL) {
            return NULL;
        }

        ctx->mem_pos = p;
        ctx->mem_end = p + chunk;
    }

    p = ctx->mem_pos;
    ctx->mem_pos += size;

    return p;
}


void
ngx_http_webhook_mem(ngx_http_webhook_ctx_t *ctx, ngx_pool_t *pool)
{
    ctx->mem.alloc = ngx_http_webhook_palloc;
    ctx->mem.data = ctx;
    ctx->pool = pool;
    ctx->mem_pos = NULL;
    ctx->mem_end = NULL;
}


/* The first request header with the name (case-insensitive), or NULL. */

ngx_table_elt_t *
ngx_http_webhook_header_in(ngx_http_request_t *r, const char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


ngx_int_t
ngx_http_webhook_handler(ngx_http_request_t *r)
{
    u_char                        allow[64];
    ngx_int_t                     rc;
    ngx_table_elt_t              *h;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

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
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        h->value.len = ngx_http_webhook_allow(wlcf->methods, allow,
                                              sizeof(allow));
        h->value.data = ngx_pnalloc(r->pool, h->value.len);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(h->value.data, allow, h->value.len);

        return ngx_http_webhook_error(r, NGX_HTTP_NOT_ALLOWED,
                                      "method_not_allowed",
                                      "method %V is not allowed here",
                                      &r->method_name);
    }

    /* one buffer when the body fits client_body_buffer_size */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_webhook_body_handler);

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

    rc = ngx_http_webhook_build_context(r, ctx, wlcf);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (wlcf->signatures) {
        rc = ngx_http_webhook_verify(r, wlcf, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (wlcf->challenge) {
        rc = ngx_http_webhook_challenge_body(r, wlcf, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (wlcf->mode == NGX_HTTP_WEBHOOK_ASYNC || wlcf->dedup
        || wlcf->workflow->needs_worker)
    {
        return ngx_http_webhook_redis_path(r, wlcf, ctx);
    }

    return ngx_http_webhook_run_sync(r, wlcf, ctx);
}


int64_t
ngx_http_webhook_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


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
        return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      "workflow_disabled",
                                      "workflow \"%s\" is disabled",
                                      wlcf->workflow->key);
    }

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

    return ngx_http_webhook_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "workflow_failed", "%s",
                                  err ? err : "the workflow ended "
                                              "with status failed");
}
