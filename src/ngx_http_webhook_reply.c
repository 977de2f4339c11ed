/*
 * Answers: the JSON errors of SPEC §5 and the workflow's response.  All
 * of them leave through ngx_http_webhook_output(), which notes the body
 * sent in the request's ctx (webhook_dedup stores it for repeats): no
 * body filter, so the module works wherever configure lists it.  It adds
 * "X-Content-Type-Options: nosniff" to every answer (§7): a body typed
 * from request data is never sniffed into HTML by a browser.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"


/* Seconds: the longest Redis reconnection backoff. */
#define NGX_HTTP_WEBHOOK_RETRY_AFTER    "5"


static ngx_int_t
ngx_http_webhook_nosniff(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Content-Type-Options");
    ngx_str_set(&h->value, "nosniff");

    return NGX_OK;
}


ngx_int_t
ngx_http_webhook_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...)
{
    u_char                   msg[512], *last;
    va_list                  args;
    wh_buf_t                 b;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    /* a caller may have set a more specific outcome ("failed") */
    if (ctx != NULL && ctx->status.len == 0) {
        ctx->status.data = (u_char *) code;
        ctx->status.len = ngx_strlen(code);
    }

    va_start(args, fmt);
    last = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "webhook: %ui %s: %*s", status, code, last - msg, msg);

    if (ctx == NULL) {
        /* nginx's own page answers: nosniff all the same */
        (void) ngx_http_webhook_nosniff(r);
        return status;
    }

    /* for webhook_ledger */
    ctx->message.data = ngx_pnalloc(r->pool, last - msg);
    if (ctx->message.data != NULL) {
        ctx->message.len = last - msg;
        ngx_memcpy(ctx->message.data, msg, last - msg);
    }

    wh_buf_init(&b, &ctx->mem, 64 + (last - msg) + ngx_strlen(code));
    wh_buf_adds(&b, "{\"error\":{\"code\":\"");
    wh_buf_adds(&b, code);
    wh_buf_adds(&b, "\",\"message\":");
    wh_json_escape(&b, (char *) msg, last - msg);
    wh_buf_adds(&b, "}}");

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_send_json(r, status, b.data, b.len);
}


/*
 * 500 workflow_failed for a failed sync run: its message names the node
 * and the kind of failure only (§7), the log and the record keep err.
 */
ngx_int_t
ngx_http_webhook_failed(ngx_http_request_t *r, const char *err, size_t len)
{
    wh_buf_t                 b;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (err == NULL || ctx == NULL) {
        return ngx_http_webhook_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "workflow_failed", "the workflow ended "
                                      "with status failed");
    }

    wh_buf_init(&b, &ctx->mem, 64);
    wh_exec_public_error(err, len, &b);

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "workflow_failed", "%*s", b.len, b.data);
}


ngx_int_t
ngx_http_webhook_disabled(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "workflow_disabled",
                                  "workflow \"%s\" is disabled",
                                  wlcf->workflow->key);
}


static ngx_int_t
ngx_http_webhook_retry_after(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, NGX_HTTP_WEBHOOK_RETRY_AFTER);

    return NGX_OK;
}


/* Redis is needed and not there: 503 with Retry-After. */

ngx_int_t
ngx_http_webhook_unavailable(ngx_http_request_t *r, const char *err)
{
    if (ngx_http_webhook_retry_after(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "queue_unavailable",
                                  "the job queue is unavailable: %s", err);
}


/* webhook_queue max=: nothing was added; 503 with Retry-After. */

ngx_int_t
ngx_http_webhook_queue_full(ngx_http_request_t *r)
{
    if (ngx_http_webhook_retry_after(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "queue_full",
                                  "the job queue is full, retry later");
}


/* 405 with the Allow header; the body is not read */

ngx_int_t
ngx_http_webhook_not_allowed(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    u_char            allow[64];
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

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
    h->value.len = ngx_http_webhook_allow(wlcf->methods, allow, sizeof(allow));
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


ngx_int_t
ngx_http_webhook_send_json(ngx_http_request_t *r, ngx_uint_t status,
    const char *json, size_t len)
{
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_webhook_output(r, status, json, len);
}


/* {"executionId":"<id>","status":"<state>"}, the answer without a body */

ngx_int_t
ngx_http_webhook_send_state(ngx_http_request_t *r, ngx_uint_t status,
    const char *id, const char *state)
{
    u_char  *p;
    size_t   len;

    len = sizeof("{\"executionId\":\"\",\"status\":\"\"}") - 1
          + ngx_strlen(id) + ngx_strlen(state);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(p, "{\"executionId\":\"%s\",\"status\":\"%s\"}", id, state);

    return ngx_http_webhook_send_json(r, status, (char *) p, len);
}


static ngx_uint_t
ngx_http_webhook_is(const wh_header_t *h, const char *name)
{
    size_t  len;

    len = ngx_strlen(name);

    return h->name_len == len
           && ngx_strncasecmp((u_char *) h->name, (u_char *) name, len) == 0;
}


ngx_int_t
ngx_http_webhook_send(ngx_http_request_t *r, const wh_response_t *resp)
{
    size_t            i;
    ngx_uint_t        typed;
    ngx_table_elt_t  *h;

    typed = 0;

    for (i = 0; i < resp->nheaders; i++) {

        if (ngx_http_webhook_is(&resp->headers[i], "Content-Type")) {
            r->headers_out.content_type.data = (u_char *)
                                               resp->headers[i].value;
            r->headers_out.content_type.len = resp->headers[i].value_len;
            r->headers_out.content_type_len = resp->headers[i].value_len;
            r->headers_out.content_type_lowcase = NULL;
            typed = 1;
            continue;
        }

        /* nginx computes these itself; nosniff is always sent */
        if (ngx_http_webhook_is(&resp->headers[i], "Content-Length")
            || ngx_http_webhook_is(&resp->headers[i], "Transfer-Encoding")
            || ngx_http_webhook_is(&resp->headers[i],
                                   "X-Content-Type-Options"))
        {
            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        h->key.data = (u_char *) resp->headers[i].name;
        h->key.len = resp->headers[i].name_len;
        h->value.data = (u_char *) resp->headers[i].value;
        h->value.len = resp->headers[i].value_len;
    }

    if (!typed && resp->body != NULL) {
        if (resp->body_json) {
            ngx_str_set(&r->headers_out.content_type, "application/json");

        } else {
            ngx_str_set(&r->headers_out.content_type,
                        "text/plain; charset=utf-8");
        }

        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
    }

    return ngx_http_webhook_output(r, resp->status, resp->body,
                                   resp->body ? resp->body_len : 0);
}


ngx_int_t
ngx_http_webhook_output(ngx_http_request_t *r, ngx_uint_t status,
    const char *body, size_t len)
{
    ngx_int_t                rc;
    ngx_buf_t               *b;
    ngx_chain_t              out;
    ngx_http_webhook_ctx_t  *ctx;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "webhook output: %ui, %uz bytes", status, len);

    if (ngx_http_webhook_nosniff(r) != NGX_OK) {
        return NGX_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || len == 0) {
        return rc;
    }

    /* the body lives in the request's pool: a dedup run stores it */
    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    if (ctx != NULL) {
        ctx->answer.data = (u_char *) body;
        ctx->answer.len = len;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) body;
    b->last = (u_char *) body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
