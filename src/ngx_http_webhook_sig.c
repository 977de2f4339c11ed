/*
 * webhook_signature: the directive and the check of a request against
 * every configured line (several lines are how secrets rotate).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"


static void ngx_http_webhook_free_sigs(void *data);
static int ngx_http_webhook_sig_header(void *data, const char *name,
    const char **v, size_t *vlen);


char *
ngx_http_webhook_signature(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    char                              err[256];
    u_char                           *eq;
    ngx_str_t                        *value;
    ngx_uint_t                        i;
    ngx_pool_cleanup_t               *cln;
    ngx_http_webhook_sig_t           *sig;
    ngx_http_compile_complex_value_t  ccv;

    value = cf->args->elts;

    if (wlcf->signatures == NGX_CONF_UNSET_PTR) {
        wlcf->signatures = ngx_array_create(cf->pool, 2,
                                            sizeof(ngx_http_webhook_sig_t));
        if (wlcf->signatures == NULL) {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_webhook_free_sigs;
        cln->data = wlcf->signatures;
    }

    sig = ngx_array_push(wlcf->signatures);
    if (sig == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(sig, sizeof(ngx_http_webhook_sig_t));
    sig->name = value[1];

    if (wh_sig_init(&sig->opts, (char *) value[1].data, value[1].len) != 0) {
        wlcf->signatures->nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown signature scheme \"%V\" (github, gitlab, "
                           "stripe, slack, shopify, standard, dingtalk, "
                           "basic, token, hmac)", &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &sig->secret;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": expected "
                               "name=value", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (wh_sig_option(&sig->opts, (char *) value[i].data,
                          eq - value[i].data, (char *) eq + 1,
                          value[i].data + value[i].len - eq - 1,
                          err, sizeof(err))
            != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
            return NGX_CONF_ERROR;
        }
    }

    if (wh_sig_check(&sig->opts, err, sizeof(err)) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Headers that carry a secret itself (gitlab, token, basic) are redacted
 * from $context: secrets never reach a job or an execution record.
 */

ngx_int_t
ngx_http_webhook_redact_init(ngx_conf_t *cf, ngx_http_webhook_loc_conf_t *wlcf)
{
    ngx_str_t               *name;
    ngx_uint_t               i;
    const char              *h;
    ngx_http_webhook_sig_t  *sig;

    if (wlcf->signatures == NULL) {
        return NGX_OK;
    }

    sig = wlcf->signatures->elts;

    for (i = 0; i < wlcf->signatures->nelts; i++) {

        switch (sig[i].opts.scheme) {
        case WH_SIG_GITLAB:
            h = "x-gitlab-token";
            break;
        case WH_SIG_BASIC:
            h = "authorization";
            break;
        case WH_SIG_TOKEN:
            h = sig[i].opts.header;
            break;
        default:
            continue;
        }

        if (wlcf->redact == NULL) {
            wlcf->redact = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
            if (wlcf->redact == NULL) {
                return NGX_ERROR;
            }
        }

        name = ngx_array_push(wlcf->redact);
        if (name == NULL) {
            return NGX_ERROR;
        }

        name->len = ngx_strlen(h);
        name->data = ngx_pnalloc(cf->pool, name->len);
        if (name->data == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(name->data, (u_char *) h, name->len);
    }

    return NGX_OK;
}


static void
ngx_http_webhook_free_sigs(void *data)
{
    ngx_array_t *sigs = data;

    ngx_uint_t               i;
    ngx_http_webhook_sig_t  *sig;

    sig = sigs->elts;

    for (i = 0; i < sigs->nelts; i++) {
        wh_sig_free(&sig[i].opts);
    }
}


ngx_int_t
ngx_http_webhook_verify(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    ngx_str_t                secret;
    ngx_uint_t               i;
    wh_sig_rc_t              rc, best;
    wh_sig_input_t           in;
    ngx_http_webhook_sig_t  *sig;

    in.header = ngx_http_webhook_sig_header;
    in.data = r;
    in.body = ctx->body ? ctx->body : "";
    in.body_len = ctx->body_len;
    in.now = ngx_time();

    best = WH_SIG_MISSING;
    sig = wlcf->signatures->elts;

    for (i = 0; i < wlcf->signatures->nelts; i++) {

        if (ngx_http_complex_value(r, &sig[i].secret, &secret) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (secret.len == 0) {
            /* an unset variable must not turn into an empty key */
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "webhook: signature line %ui has an empty secret",
                          i + 1);
            continue;
        }

        rc = wh_sig_verify(&sig[i].opts, (char *) secret.data, secret.len,
                           &in);

        if (rc == WH_SIG_OK) {
            ctx->verified = sig[i].name;
            return NGX_DECLINED;
        }

        best = wh_sig_combine(best, rc);
    }

    switch (best) {

    case WH_SIG_EXPIRED:
        return ngx_http_webhook_error(r, NGX_HTTP_UNAUTHORIZED,
                                      "expired_timestamp",
                                      "the signature timestamp is outside "
                                      "the allowed tolerance");

    case WH_SIG_INVALID:
        return ngx_http_webhook_error(r, NGX_HTTP_UNAUTHORIZED,
                                      "invalid_signature",
                                      "the signature does not match");

    default:
        return ngx_http_webhook_error(r, NGX_HTTP_UNAUTHORIZED,
                                      "missing_signature",
                                      "the request is not signed");
    }
}


static int
ngx_http_webhook_sig_header(void *data, const char *name, const char **v,
    size_t *vlen)
{
    ngx_table_elt_t  *h;

    h = ngx_http_webhook_header_in(data, name, ngx_strlen(name));
    if (h == NULL) {
        return 0;
    }

    *v = (char *) h->value.data;
    *vlen = h->value.len;

    return 1;
}
