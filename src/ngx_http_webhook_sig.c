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
static ngx_int_t ngx_http_webhook_sig_url(ngx_http_request_t *r,
    ngx_str_t *url, ngx_str_t *scheme, ngx_str_t *host, ngx_uint_t port);
static ngx_uint_t ngx_http_webhook_sig_urls(ngx_http_request_t *r,
    ngx_str_t *urls);


/* twilio: the URL as requested, with and without the port, two schemes */
#define NGX_HTTP_WEBHOOK_SIG_URLS  6


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
                           "basic, token, hmac, zoom, twitter, dropbox, "
                           "meta, paddle, linear, twilio)", &value[1]);
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
 * webhook_redact_header NAME ... | off (§7): the request headers that are
 * "[redacted]" in $context.headers.  Names replace the default list; "off"
 * leaves only the headers that carry a scheme's secret.
 */

static ngx_str_t  ngx_http_webhook_redact_default[] = {
    ngx_string("authorization"),
    ngx_string("proxy-authorization"),
    ngx_string("cookie"),
    ngx_string("x-api-key"),
};


char *
ngx_http_webhook_redact_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    u_char      *p;
    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    if (wlcf->redact_headers != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    wlcf->redact_headers = ngx_array_create(cf->pool, cf->args->nelts,
                                            sizeof(ngx_str_t));
    if (wlcf->redact_headers == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        for (p = value[i].data; p < value[i].data + value[i].len; p++) {
            if (*p <= ' ' || *p >= 0x7f || ngx_strchr("\"(),/:;<=>?@[\\]{}",
                                                      *p))
            {
                break;
            }
        }

        if (value[i].len == 0 || p < value[i].data + value[i].len
            || ngx_strcmp(value[i].data, "off") == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid header name \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(wlcf->redact_headers);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        name->len = value[i].len;
        name->data = ngx_pnalloc(cf->pool, name->len);
        if (name->data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_strlow(name->data, value[i].data, name->len);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_webhook_redact_add(ngx_conf_t *cf, ngx_http_webhook_loc_conf_t *wlcf,
    u_char *data, size_t len)
{
    ngx_str_t  *name;

    name = ngx_array_push(wlcf->redact);
    if (name == NULL) {
        return NGX_ERROR;
    }

    name->len = len;
    name->data = ngx_pnalloc(cf->pool, len);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(name->data, data, len);

    return NGX_OK;
}


/*
 * The location's list: webhook_redact_header's (or the default) and the
 * headers that carry a secret itself (gitlab, token, basic), so secrets
 * never reach the workflow, a job or an execution record.
 */

ngx_int_t
ngx_http_webhook_redact_init(ngx_conf_t *cf, ngx_http_webhook_loc_conf_t *wlcf)
{
    ngx_str_t               *names;
    ngx_uint_t               i, n;
    const char              *h;
    ngx_http_webhook_sig_t  *sig;

    if (wlcf->redact_headers != NULL) {
        names = wlcf->redact_headers->elts;
        n = wlcf->redact_headers->nelts;

    } else {
        names = ngx_http_webhook_redact_default;
        n = sizeof(ngx_http_webhook_redact_default) / sizeof(ngx_str_t);
    }

    wlcf->redact = ngx_array_create(cf->pool, n + 2, sizeof(ngx_str_t));
    if (wlcf->redact == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_webhook_redact_add(cf, wlcf, names[i].data,
                                        names[i].len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

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

        if (ngx_http_webhook_redact_add(cf, wlcf, (u_char *) h,
                                        ngx_strlen(h))
            != NGX_OK)
        {
            return NGX_ERROR;
        }
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
    ngx_str_t                secret, urls[NGX_HTTP_WEBHOOK_SIG_URLS];
    ngx_uint_t               i, k, nurls;
    wh_sig_rc_t              rc, best;
    wh_sig_input_t           in;
    ngx_http_webhook_sig_t  *sig;

    in.header = ngx_http_webhook_sig_header;
    in.data = r;
    in.body = ctx->body ? ctx->body : "";
    in.body_len = ctx->body_len;
    in.now = ngx_time();
    in.url = NULL;
    in.url_len = 0;

    best = WH_SIG_MISSING;
    sig = wlcf->signatures->elts;
    nurls = 0;

    for (i = 0; i < wlcf->signatures->nelts; i++) {
        if (sig[i].opts.scheme == WH_SIG_TWILIO) {
            nurls = ngx_http_webhook_sig_urls(r, urls);
            if (nurls == 0) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            break;
        }
    }

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

        k = 0;

        do {
            if (sig[i].opts.scheme == WH_SIG_TWILIO) {
                in.url = (char *) urls[k].data;
                in.url_len = urls[k].len;
            }

            rc = wh_sig_verify(&sig[i].opts, (char *) secret.data,
                               secret.len, &in);

            if (rc == WH_SIG_OK) {
                ctx->verified = sig[i].name;
                return NGX_DECLINED;
            }

            best = wh_sig_combine(best, rc);

        } while (sig[i].opts.scheme == WH_SIG_TWILIO && ++k < nurls);
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


/*
 * The URLs a sender may have signed, for twilio.  The Host header names
 * what the sender requested; without a port it is the scheme's default,
 * which Twilio may sign either way (its own validators try the URL with
 * and without the port), so both forms are tried, and the server's own
 * port when that is not the default.  Behind a TLS-terminating proxy the
 * sender's scheme is X-Forwarded-Proto's: both schemes are tried when it
 * names the other one.  Returns the number of URLs, 0 on error.
 */

static ngx_int_t
ngx_http_webhook_sig_url(ngx_http_request_t *r, ngx_str_t *url,
    ngx_str_t *scheme, ngx_str_t *host, ngx_uint_t port)
{
    u_char  *p;

    url->data = ngx_pnalloc(r->pool, scheme->len + 3 + host->len
                                     + sizeof(":65535") - 1
                                     + r->unparsed_uri.len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, scheme->data, scheme->len);
    p = ngx_cpymem(p, "://", 3);
    p = ngx_cpymem(p, host->data, host->len);

    if (port) {
        p = ngx_sprintf(p, ":%ui", port);
    }

    p = ngx_cpymem(p, r->unparsed_uri.data, r->unparsed_uri.len);
    url->len = p - url->data;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_webhook_sig_urls(ngx_http_request_t *r, ngx_str_t *urls)
{
    u_char            *p, *colon;
    ngx_str_t          host, name, scheme[2];
    ngx_uint_t         i, n, nschemes, port, dflt[2];
    ngx_table_elt_t   *xfp;
    ngx_connection_t  *c;

    c = r->connection;

    ngx_str_set(&scheme[0], "http");
    dflt[0] = 80;

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        ngx_str_set(&scheme[0], "https");
        dflt[0] = 443;
    }
#endif

    nschemes = 1;

    xfp = ngx_http_webhook_header_in(r, "X-Forwarded-Proto",
                                     sizeof("X-Forwarded-Proto") - 1);

    if (xfp != NULL) {
        if (dflt[0] == 80 && xfp->value.len == 5
            && ngx_strncasecmp(xfp->value.data, (u_char *) "https", 5) == 0)
        {
            ngx_str_set(&scheme[1], "https");
            dflt[1] = 443;
            nschemes = 2;

        } else if (dflt[0] == 443 && xfp->value.len == 4
                   && ngx_strncasecmp(xfp->value.data, (u_char *) "http", 4)
                      == 0)
        {
            ngx_str_set(&scheme[1], "http");
            dflt[1] = 80;
            nschemes = 2;
        }
    }

    host = r->headers_in.host ? r->headers_in.host->value
                              : r->headers_in.server;

    /* a port after the name; an IPv6 literal's colons are in brackets */
    p = (host.len && host.data[0] == '[')
        ? ngx_strlchr(host.data, host.data + host.len, ']') : host.data;
    colon = p ? ngx_strlchr(p, host.data + host.len, ':') : NULL;

    name = host;

    if (colon != NULL) {
        name.len = colon - host.data;
    }

    port = 0;

    if (colon == NULL
        && ngx_connection_local_sockaddr(c, NULL, 0) == NGX_OK)
    {
        port = ngx_inet_get_port(c->local_sockaddr);
    }

    n = 0;

    for (i = 0; i < nschemes; i++) {

        /* as requested */
        if (ngx_http_webhook_sig_url(r, &urls[n++], &scheme[i], &host, 0)
            != NGX_OK)
        {
            return 0;
        }

        if (colon == NULL) {
            /* the default port written out */
            if (ngx_http_webhook_sig_url(r, &urls[n++], &scheme[i], &host,
                                         dflt[i])
                != NGX_OK)
            {
                return 0;
            }

            /* the port the server listens on */
            if (port && port != dflt[i]
                && ngx_http_webhook_sig_url(r, &urls[n++], &scheme[i],
                                            &host, port)
                   != NGX_OK)
            {
                return 0;
            }

        } else if ((ngx_uint_t) ngx_atoi(colon + 1,
                                         host.data + host.len - colon - 1)
                   == dflt[i])
        {
            /* the default port left out */
            if (ngx_http_webhook_sig_url(r, &urls[n++], &scheme[i], &name, 0)
                != NGX_OK)
            {
                return 0;
            }
        }
    }

    return n;
}
