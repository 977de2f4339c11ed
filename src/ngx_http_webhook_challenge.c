/*
 * webhook_challenge PROVIDER [SECRET] (SPEC §10): the URL-verification
 * handshakes that senders make before they deliver anything, answered
 * here and never queued.  The query ones (meta, twitter, msgraph,
 * dropbox) come before the method check, so GET works whatever
 * webhook_methods says; the body ones (slack, zoom) come after the
 * signature check: zoom's answer is an HMAC under the signing secret, so
 * an unsigned request must not obtain one.  Everything is linear in the
 * request; secrets never appear in an answer or a log line.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>


#define NGX_HTTP_WEBHOOK_CHALLENGE_SLACK    1
#define NGX_HTTP_WEBHOOK_CHALLENGE_META     2
#define NGX_HTTP_WEBHOOK_CHALLENGE_ZOOM     3
#define NGX_HTTP_WEBHOOK_CHALLENGE_TWITTER  4
#define NGX_HTTP_WEBHOOK_CHALLENGE_MSGRAPH  5
#define NGX_HTTP_WEBHOOK_CHALLENGE_DROPBOX  6


static struct {
    ngx_str_t   name;
    ngx_uint_t  secret;                 /* takes a SECRET */
} ngx_http_webhook_providers[] = {
    { ngx_null_string, 0 },
    { ngx_string("slack"), 0 },
    { ngx_string("meta"), 1 },
    { ngx_string("zoom"), 1 },
    { ngx_string("twitter"), 1 },
    { ngx_string("msgraph"), 0 },
    { ngx_string("dropbox"), 0 },
};


static ngx_int_t ngx_http_webhook_query_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static ngx_uint_t ngx_http_webhook_crc_token(ngx_str_t *token);
static ngx_int_t ngx_http_webhook_challenge_secret(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_str_t *secret);
static ngx_int_t ngx_http_webhook_challenge_text(ngx_http_request_t *r,
    ngx_str_t *text);
static ngx_int_t ngx_http_webhook_challenge_hmac(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, const u_char *msg, size_t len,
    u_char *md);


char *
ngx_http_webhook_challenge_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         p, n;
    ngx_http_compile_complex_value_t   ccv;

    if (wlcf->challenge != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        wlcf->challenge = 0;
        wlcf->challenge_secret = NULL;
        return NGX_CONF_OK;
    }

    n = sizeof(ngx_http_webhook_providers)
        / sizeof(ngx_http_webhook_providers[0]);

    for (p = 1; p < n; p++) {
        if (value[1].len == ngx_http_webhook_providers[p].name.len
            && ngx_strncmp(value[1].data,
                           ngx_http_webhook_providers[p].name.data,
                           value[1].len)
               == 0)
        {
            break;
        }
    }

    if (p == n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown challenge provider \"%V\" (slack, meta, "
                           "zoom, twitter, msgraph, dropbox)", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_webhook_providers[p].secret != (cf->args->nelts == 3)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           ngx_http_webhook_providers[p].secret
                           ? "challenge provider \"%V\" needs a SECRET"
                           : "challenge provider \"%V\" takes no SECRET",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    wlcf->challenge = p;
    wlcf->challenge_secret = NULL;

    if (cf->args->nelts == 3) {
        wlcf->challenge_secret = ngx_palloc(cf->pool,
                                            sizeof(ngx_http_complex_value_t));
        if (wlcf->challenge_secret == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[2];
        ccv.complex_value = wlcf->challenge_secret;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_webhook_challenge_query(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    u_char                   md[SHA256_DIGEST_LENGTH];
    u_char                   want[SHA256_DIGEST_LENGTH];
    u_char                   got[SHA256_DIGEST_LENGTH], *p;
    ngx_int_t                rc;
    ngx_str_t                arg, token, secret, b64, raw;
    const char              *name;
    ngx_http_webhook_ctx_t  *ctx;

    switch (wlcf->challenge) {

    case NGX_HTTP_WEBHOOK_CHALLENGE_META:
        name = "hub.challenge";
        break;

    case NGX_HTTP_WEBHOOK_CHALLENGE_TWITTER:
        name = "crc_token";
        break;

    case NGX_HTTP_WEBHOOK_CHALLENGE_DROPBOX:
        name = "challenge";
        break;

    case NGX_HTTP_WEBHOOK_CHALLENGE_MSGRAPH:
        name = "validationToken";
        break;

    default:
        return NGX_DECLINED;
    }

    /* Graph POSTs its handshake, the others make it with GET */
    if (wlcf->challenge != NGX_HTTP_WEBHOOK_CHALLENGE_MSGRAPH
        && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return NGX_DECLINED;
    }

    if (ngx_http_webhook_query_arg(r, name, &arg) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (wlcf->challenge == NGX_HTTP_WEBHOOK_CHALLENGE_TWITTER
        && !ngx_http_webhook_crc_token(&arg))
    {
        return NGX_DECLINED;
    }

    if (wlcf->challenge == NGX_HTTP_WEBHOOK_CHALLENGE_META
        && (ngx_http_webhook_query_arg(r, "hub.mode", &token) != NGX_OK
            || token.len != sizeof("subscribe") - 1
            || ngx_strncmp(token.data, "subscribe", token.len) != 0))
    {
        return NGX_DECLINED;
    }

    /* a handshake: its body, if any, is not the request's */

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (ctx != NULL && ctx->status.len == 0) {
        ngx_str_set(&ctx->status, "challenge");
    }

    switch (wlcf->challenge) {

    case NGX_HTTP_WEBHOOK_CHALLENGE_META:
        if (ngx_http_webhook_query_arg(r, "hub.verify_token", &token)
            != NGX_OK)
        {
            ngx_str_null(&token);
        }

        rc = ngx_http_webhook_challenge_secret(r, wlcf, &secret);
        if (rc != NGX_OK) {
            return rc;
        }

        /* digests first: the comparison does not reveal the length */
        SHA256(secret.data, secret.len, want);
        SHA256(token.data ? token.data : (u_char *) "", token.len, got);

        if (CRYPTO_memcmp(want, got, sizeof(want)) != 0) {
            return ngx_http_webhook_error(r, NGX_HTTP_FORBIDDEN,
                                          "invalid_verify_token",
                                          "hub.verify_token does not match");
        }

        return ngx_http_webhook_challenge_text(r, &arg);

    case NGX_HTTP_WEBHOOK_CHALLENGE_TWITTER:
        rc = ngx_http_webhook_challenge_hmac(r, wlcf, arg.data, arg.len, md);
        if (rc != NGX_OK) {
            return rc;
        }

        raw.data = md;
        raw.len = sizeof(md);

        p = ngx_pnalloc(r->pool, sizeof("{\"response_token\":\"sha256=\"}")
                                 + ngx_base64_encoded_length(sizeof(md)));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b64.data = ngx_cpymem(p, "{\"response_token\":\"sha256=",
                              sizeof("{\"response_token\":\"sha256=") - 1);
        ngx_encode_base64(&b64, &raw);
        ngx_memcpy(b64.data + b64.len, "\"}", 2);

        return ngx_http_webhook_send_json(r, NGX_HTTP_OK, (char *) p,
                                          b64.data + b64.len + 2 - p);

    default: /* msgraph, dropbox: the token itself */
        return ngx_http_webhook_challenge_text(r, &arg);
    }
}


ngx_int_t
ngx_http_webhook_challenge_body(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    u_char         md[SHA256_DIGEST_LENGTH];
    size_t         len;
    ngx_int_t      rc;
    ngx_uint_t     i;
    wh_buf_t       b;
    wh_val_t       v, s;
    const char    *str, *tag;
    wh_json_err_t  err;

    static const char  hex[] = "0123456789abcdef";

    if (wlcf->challenge == NGX_HTTP_WEBHOOK_CHALLENGE_SLACK) {
        tag = "url_verification";

    } else if (wlcf->challenge == NGX_HTTP_WEBHOOK_CHALLENGE_ZOOM) {
        tag = "endpoint.url_validation";

    } else {
        return NGX_DECLINED;
    }

    if (ctx->body == NULL || r->method != NGX_HTTP_POST) {
        return NGX_DECLINED;
    }

    /* the usual event is not parsed twice: a linear look for the tag */
    if (ngx_strlcasestrn((u_char *) ctx->body,
                         (u_char *) ctx->body + ctx->body_len,
                         (u_char *) tag, ngx_strlen(tag) - 1)
        == NULL)
    {
        return NGX_DECLINED;
    }

    if (wh_val_parse(&ctx->mem, ctx->body, ctx->body_len, 1, &v, &err) != 0)
    {
        return NGX_DECLINED;       /* the usual path reports the body */
    }

    wh_buf_init(&b, &ctx->mem, 128);

    if (wlcf->challenge == NGX_HTTP_WEBHOOK_CHALLENGE_SLACK) {
        if (wh_val_str(&ctx->mem, wh_val_get(v, "type", 4), &str, &len) != 0
            || len != sizeof("url_verification") - 1
            || ngx_strncmp(str, "url_verification", len) != 0)
        {
            return NGX_DECLINED;
        }

        s = wh_val_get(v, "challenge", 9);
        if (wh_val_str(&ctx->mem, s, &str, &len) != 0) {
            return NGX_DECLINED;
        }

        wh_buf_adds(&b, "{\"challenge\":");
        wh_json_escape(&b, str, len);
        wh_buf_addc(&b, '}');

    } else {
        if (wh_val_str(&ctx->mem, wh_val_get(v, "event", 5), &str, &len) != 0
            || len != sizeof("endpoint.url_validation") - 1
            || ngx_strncmp(str, "endpoint.url_validation", len) != 0)
        {
            return NGX_DECLINED;
        }

        s = wh_val_get(wh_val_get(v, "payload", 7), "plainToken", 10);
        if (wh_val_str(&ctx->mem, s, &str, &len) != 0) {
            return NGX_DECLINED;
        }

        rc = ngx_http_webhook_challenge_hmac(r, wlcf, (u_char *) str, len,
                                             md);
        if (rc != NGX_OK) {
            return rc;
        }

        wh_buf_adds(&b, "{\"plainToken\":");
        wh_json_escape(&b, str, len);
        wh_buf_adds(&b, ",\"encryptedToken\":\"");

        for (i = 0; i < sizeof(md); i++) {
            wh_buf_addc(&b, hex[md[i] >> 4]);
            wh_buf_addc(&b, hex[md[i] & 0xf]);
        }

        wh_buf_adds(&b, "\"}");
    }

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->status.len == 0) {
        ngx_str_set(&ctx->status, "challenge");
    }

    ctx->id[0] = '\0';                     /* no execution was made */

    return ngx_http_webhook_send_json(r, NGX_HTTP_OK, b.data, b.len);
}


/*
 * X's response_token is "sha256=" base64 HMAC-SHA256 of crc_token, which
 * is also the twitter signature of a body equal to crc_token: answering
 * any token would sign any event.  X's tokens are short base64 text, so
 * only those are answered; no JSON or form body is made of them.
 */

static ngx_uint_t
ngx_http_webhook_crc_token(ngx_str_t *token)
{
    u_char  c;
    size_t  i, end;

    if (token->len == 0 || token->len > 256) {
        return 0;
    }

    end = token->len;

    while (end > 0 && token->data[end - 1] == '=') {
        end--;                              /* padding, at the end only */
    }

    for (i = 0; i < end; i++) {
        c = token->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/'
              || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return end > 0;
}


/* HMAC-SHA256 under the directive's SECRET. */

static ngx_int_t
ngx_http_webhook_challenge_hmac(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, const u_char *msg, size_t len,
    u_char *md)
{
    ngx_int_t     rc;
    ngx_str_t     secret;
    unsigned int  mdlen;

    rc = ngx_http_webhook_challenge_secret(r, wlcf, &secret);
    if (rc != NGX_OK) {
        return rc;
    }

    mdlen = SHA256_DIGEST_LENGTH;

    if (HMAC(EVP_sha256(), secret.data, (int) secret.len, msg, len, md,
             &mdlen)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_challenge_secret(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_str_t *secret)
{
    if (ngx_http_complex_value(r, wlcf->challenge_secret, secret) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (secret->len == 0) {
        /* an unset variable must not become an empty key */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "webhook: the challenge secret is empty");
        return ngx_http_webhook_error(r, NGX_HTTP_FORBIDDEN,
                                      "invalid_verify_token",
                                      "the handshake cannot be answered");
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_challenge_text(ngx_http_request_t *r, ngx_str_t *text)
{
    ngx_str_set(&r->headers_out.content_type, "text/plain; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_webhook_output(r, NGX_HTTP_OK, (char *) text->data,
                                   text->len);
}


/*
 * A query argument, decoded as forms are (%XX, "+" as a space).  Names
 * are matched exactly: ngx_http_arg() would take "hub.challenge" for
 * "hub_challenge" as well.
 */

static ngx_int_t
ngx_http_webhook_query_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char  *p, *last, *v, *end, *d;
    size_t   len;
    int      hi, lo;

    len = ngx_strlen(name);
    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if ((size_t) (end - p) > len && p[len] == '='
            && ngx_strncmp(p, name, len) == 0)
        {
            v = p + len + 1;

            d = ngx_pnalloc(r->pool, end - v + 1);
            if (d == NULL) {
                return NGX_ERROR;
            }

            value->data = d;

            for ( /* void */ ; v < end; v++) {
                if (*v == '+') {
                    *d++ = ' ';

                } else if (*v == '%' && end - v >= 3
                           && (hi = wh_hexval(v[1])) >= 0
                           && (lo = wh_hexval(v[2])) >= 0)
                {
                    *d++ = (u_char) (hi << 4 | lo);
                    v += 2;

                } else {
                    *d++ = *v;
                }
            }

            value->len = d - value->data;

            return NGX_OK;
        }

        p = end + 1;
    }

    return NGX_DECLINED;
}
