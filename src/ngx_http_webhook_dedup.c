/*
 * webhook_dedup VALUE: the idempotency key of a request.  VALUE is split
 * at its "{{ … }}" templates: the text between them is an nginx complex
 * value (variables), each template renders over $context.  Request data
 * that a template renders is never read again as nginx variables, so a
 * body cannot name one.  Rendering is linear in the rendered values.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "wh_tpl.h"


typedef struct {
    ngx_http_complex_value_t    *cv;        /* text and variables, or */
    wh_tpl_t                    *tpl;       /* a template */
} ngx_http_webhook_dedup_part_t;


struct ngx_http_webhook_dedup_s {
    ngx_array_t                  parts;     /* ngx_http_webhook_dedup_part_t */
    ngx_uint_t                   context;   /* a template needs $context */
};


typedef struct {
    ngx_conf_t                  *cf;
    ngx_http_webhook_dedup_t    *dedup;
    ngx_str_t                   *value;
    size_t                       last;      /* end of the previous part */
    char                        *err;
    size_t                       errlen;
} ngx_http_webhook_dedup_scan_t;


static ngx_int_t ngx_http_webhook_dedup_text(ngx_http_webhook_dedup_scan_t *s,
    size_t start, size_t end);
static int ngx_http_webhook_dedup_each(void *data, size_t start, size_t end,
    const char *inner, size_t inner_len);
static void ngx_http_webhook_dedup_free(void *data);


char *
ngx_http_webhook_dedup_compile(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_str_t *value)
{
    char                            err[256];
    ngx_pool_cleanup_t             *cln;
    ngx_http_webhook_dedup_t       *dedup;
    ngx_http_webhook_dedup_scan_t   s;

    dedup = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_dedup_t));
    if (dedup == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_array_init(&dedup->parts, cf->pool, 2,
                       sizeof(ngx_http_webhook_dedup_part_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_webhook_dedup_free;
    cln->data = dedup;

    s.cf = cf;
    s.dedup = dedup;
    s.value = value;
    s.last = 0;
    s.err = err;
    s.errlen = sizeof(err);
    err[0] = '\0';

    if (wh_path_scan((char *) value->data, value->len,
                     ngx_http_webhook_dedup_each, &s, err, sizeof(err))
        != 0
        || ngx_http_webhook_dedup_text(&s, s.last, value->len) != NGX_OK)
    {
        if (err[0]) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook_dedup \"%V\": %s", value, err);
        }

        return NGX_CONF_ERROR;
    }

    wlcf->dedup = dedup;

    return NGX_CONF_OK;
}


static int
ngx_http_webhook_dedup_each(void *data, size_t start, size_t end,
    const char *inner, size_t inner_len)
{
    ngx_http_webhook_dedup_scan_t *s = data;

    wh_keys_t                       keys;
    ngx_http_webhook_dedup_part_t  *part;

    if (ngx_http_webhook_dedup_text(s, s->last, start) != NGX_OK) {
        return -1;
    }

    s->last = end;

    part = ngx_array_push(&s->dedup->parts);
    if (part == NULL) {
        return -1;
    }

    part->cv = NULL;

    /* no nodes have run when the key is computed: $context only */
    keys.keys = NULL;
    keys.n = 0;

    part->tpl = wh_tpl_compile_string((char *) s->value->data + start,
                                      end - start, &keys, s->err, s->errlen);
    if (part->tpl == NULL) {
        s->dedup->parts.nelts--;
        return -1;
    }

    s->dedup->context = 1;

    return 0;
}


/* The text in [start, end) of VALUE, with its nginx variables. */

static ngx_int_t
ngx_http_webhook_dedup_text(ngx_http_webhook_dedup_scan_t *s, size_t start,
    size_t end)
{
    ngx_str_t                          text;
    ngx_http_webhook_dedup_part_t     *part;
    ngx_http_compile_complex_value_t   ccv;

    if (start == end) {
        return NGX_OK;
    }

    part = ngx_array_push(&s->dedup->parts);
    if (part == NULL) {
        return NGX_ERROR;
    }

    part->tpl = NULL;
    part->cv = ngx_palloc(s->cf->pool, sizeof(ngx_http_complex_value_t));
    if (part->cv == NULL) {
        return NGX_ERROR;
    }

    text.data = s->value->data + start;
    text.len = end - start;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = s->cf;
    ccv.value = &text;
    ccv.complex_value = part->cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_webhook_dedup_free(void *data)
{
    ngx_http_webhook_dedup_t *dedup = data;

    ngx_uint_t                      i;
    ngx_http_webhook_dedup_part_t  *part;

    part = dedup->parts.elts;

    for (i = 0; i < dedup->parts.nelts; i++) {
        if (part[i].tpl) {
            wh_tpl_free(part[i].tpl);
        }
    }
}


ngx_uint_t
ngx_http_webhook_dedup_needs_context(ngx_http_webhook_dedup_t *dedup)
{
    return dedup != NULL && dedup->context;
}


ngx_int_t
ngx_http_webhook_dedup_value(ngx_http_request_t *r,
    ngx_http_webhook_dedup_t *dedup, ngx_http_webhook_ctx_t *ctx,
    ngx_str_t *value)
{
    ngx_str_t                       text;
    ngx_uint_t                      i;
    wh_buf_t                        b;
    wh_scope_t                      scope;
    ngx_http_webhook_dedup_part_t  *part;

    part = dedup->parts.elts;

    if (dedup->parts.nelts == 1 && part[0].cv) {
        return ngx_http_complex_value(r, part[0].cv, value);
    }

    ngx_memzero(&scope, sizeof(wh_scope_t));
    scope.mem = &ctx->mem;
    scope.context = ctx->context_val;
    scope.now_ms = ngx_http_webhook_now();

    wh_buf_init(&b, &ctx->mem, 128);

    for (i = 0; i < dedup->parts.nelts; i++) {

        if (part[i].cv) {
            if (ngx_http_complex_value(r, part[i].cv, &text) != NGX_OK) {
                return NGX_ERROR;
            }

            if (text.len) {
                wh_buf_add(&b, text.data, text.len);
            }

            continue;
        }

        if (wh_tpl_render_text(part[i].tpl, &scope, &b) != 0) {
            return NGX_ERROR;
        }
    }

    if (b.failed) {
        return NGX_ERROR;
    }

    value->data = (u_char *) b.data;
    value->len = b.len;

    return NGX_OK;
}
