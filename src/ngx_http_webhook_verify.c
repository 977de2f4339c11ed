/*
 * webhook_verify (SPEC §10): verify-then-proxy.  The checks of a webhook
 * endpoint (handshake, method, signature, dedup) run before the
 * location's own content handler (proxy_pass, fastcgi_pass, static
 * files, …), which then gets the request with its headers and body
 * unchanged: the body is read once, as nginx reads it for any content
 * handler (memory or temp file), and left in r->request_body.
 *
 * The handler sits in the precontent phase, as the mirror module's body
 * reading does.  That is after the whole access phase, so allow/deny,
 * auth_basic and auth_request decide first whatever "satisfy" says, and
 * a verification can never be what grants access under "satisfy any".
 * A subrequest passes only when its main request did (the body is the
 * main request's); a request that passed is not checked again after an
 * internal redirect.
 *
 * A dedup key is claimed with SET NX EX under
 * webhook:dedup:@verify:<hex SHA-256 of the key> ("@" is not allowed in
 * a workflow key), for PENDING seconds at most while the upstream has
 * not answered.  A 2xx gives the key the TTL of webhook_dedup; anything
 * else deletes it, so the sender's retry goes through.  A claim whose
 * nginx worker died with the request lapses after PENDING seconds.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"
#include "wh_redis_keys.h"

#include <openssl/sha.h>


#define NGX_HTTP_WEBHOOK_VERIFY_PREFIX  WH_REDIS_DEDUP "@verify:"

/* s: a claim whose request is still at the upstream */
#define NGX_HTTP_WEBHOOK_VERIFY_PENDING  300

#define NGX_HTTP_WEBHOOK_VAR_VERIFIED   0
#define NGX_HTTP_WEBHOOK_VAR_DEDUP_KEY  1


typedef struct {
    ngx_http_request_t            *request;
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_redis_cmd_t  *cmd;
    u_char                         key[sizeof(NGX_HTTP_WEBHOOK_VERIFY_PREFIX)
                                       + 2 * SHA256_DIGEST_LENGTH];
    size_t                         key_len;
    ngx_str_t                      verified;   /* kept for a redirect */
    ngx_str_t                      dedup_key;
    unsigned                       claimed:1;
    unsigned                       passed:1;
} ngx_http_webhook_verify_t;


static ngx_int_t ngx_http_webhook_verify_handler(ngx_http_request_t *r);
static void ngx_http_webhook_verify_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_verify_checks(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_verify_claim(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_str_t *value);
static void ngx_http_webhook_verify_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_http_webhook_verify_done(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_webhook_verify_cleanup(void *data);
static ngx_http_webhook_verify_t *ngx_http_webhook_verify_find(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_verify_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_webhook_verify_vars[] = {

    { ngx_string("webhook_verified"), NULL, ngx_http_webhook_verify_variable,
      NGX_HTTP_WEBHOOK_VAR_VERIFIED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_dedup_key"), NULL,
      ngx_http_webhook_verify_variable, NGX_HTTP_WEBHOOK_VAR_DEDUP_KEY,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


char *
ngx_http_webhook_verify_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    if (wlcf->verify) {
        return "is duplicate";
    }

    if (wlcf->workflow) {
        return "cannot be used with \"webhook\" in one location";
    }

    wlcf->verify = 1;

    return NGX_CONF_OK;
}


/* Called by the merge of a location without a workflow. */

char *
ngx_http_webhook_verify_merge(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *conf)
{
    if (!conf->verify) {
        return NGX_CONF_OK;
    }

    if (conf->dedup && conf->redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webhook_verify\" with \"webhook_dedup\" needs "
                           "\"webhook_redis\"");
        return NGX_CONF_ERROR;
    }

    if (conf->dedup && ngx_http_webhook_redis_register(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_webhook_verify_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_webhook_verify_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_webhook_verify_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_webhook_verify_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_verify_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t               *s;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (data == NGX_HTTP_WEBHOOK_VAR_VERIFIED) ? &ctx->verified
                                                : &ctx->dedup_key;

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;
    v->len = s->len;

    return NGX_OK;
}


/*
 * Returns NGX_DECLINED to let the request go on, NGX_DONE while the body
 * or Redis is awaited; an answer of its own finalizes the request here,
 * since the phase's checker would take NGX_OK for "go on".
 */

static ngx_int_t
ngx_http_webhook_verify_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_verify_t    *st;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (!wlcf->verify) {
        return NGX_DECLINED;
    }

    if (r != r->main) {
        /* a subrequest (mirror, SSI) shares the main request's verdict */
        ctx = ngx_http_get_module_ctx(r->main, ngx_http_webhook_module);

        if (ctx != NULL && ctx->verify != NULL
            && ((ngx_http_webhook_verify_t *) ctx->verify)->passed)
        {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "webhook_verify: a subrequest of a request that "
                      "was not verified");
        return NGX_HTTP_FORBIDDEN;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (ctx != NULL) {
        return ctx->phase_rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_webhook_module);
    ngx_http_webhook_mem(ctx, r->pool);
    ctx->phase_rc = NGX_DONE;

    /*
     * An internal redirect (try_files, error_page) clears the ctx: a
     * request that passed once is not checked again, else its own dedup
     * claim would make it a duplicate.
     */
    st = r->internal ? ngx_http_webhook_verify_find(r) : NULL;

    if (st != NULL && st->passed) {
        ctx->verify = st;
        ctx->verified = st->verified;
        ctx->dedup_key = st->dedup_key;
        ctx->phase_rc = NGX_DECLINED;
        return NGX_DECLINED;
    }

    if (st == NULL) {
        st = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_verify_t));
        if (st == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_webhook_verify_cleanup;
        cln->data = st;
        st->request = r;
    }

    st->wlcf = wlcf;
    ctx->verify = st;

    rc = ngx_http_webhook_challenge_query(r, wlcf);

    if (rc == NGX_DECLINED && !(r->method & wlcf->methods)) {
        rc = ngx_http_webhook_not_allowed(r, wlcf);
    }

    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_webhook_verify_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /* the reference the body reading took; its handler goes on */
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_webhook_verify_body(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    /* an error_page redirect keeps the body for the upstream */
    r->preserve_body = 1;

    if (r->connection->error) {
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    rc = ngx_http_webhook_verify_checks(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_webhook_verify_done(r, rc);
    }
}


static ngx_int_t
ngx_http_webhook_verify_checks(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_str_t                     value;
    ngx_uint_t                    context;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    context = ngx_http_webhook_dedup_needs_context(wlcf->dedup);

    /* a contiguous copy only when something reads the body */
    if (wlcf->signatures || wlcf->challenge || context) {
        rc = ngx_http_webhook_read_body(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
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

    if (wlcf->dedup == NULL) {
        return NGX_DECLINED;
    }

    if (context) {
        /* the key is in the body: it must be parsed now */
        rc = ngx_http_webhook_build_context(r, ctx, wlcf);

        ctx->id[0] = '\0';                 /* no execution is made */

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (ngx_http_webhook_dedup_value(r, wlcf->dedup, ctx, &value) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (value.len == 0) {
        return NGX_DECLINED;
    }

    return ngx_http_webhook_verify_claim(r, ctx, &value);
}


static ngx_int_t
ngx_http_webhook_verify_claim(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_str_t *value)
{
    u_char                      *p, md[SHA256_DIGEST_LENGTH];
    u_char                       ttl[NGX_TIME_T_LEN];
    size_t                       len[7];
    const char                  *argv[7];
    ngx_http_webhook_verify_t   *st;
    ngx_http_webhook_loc_conf_t *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    /* the key as configured, for the log; in Redis only its digest */
    ctx->dedup_key.data = ngx_pstrdup(r->pool, value);
    if (ctx->dedup_key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->dedup_key.len = value->len;

    st = ctx->verify;

    SHA256(value->data, value->len, md);

    p = ngx_cpymem(st->key, NGX_HTTP_WEBHOOK_VERIFY_PREFIX,
                   sizeof(NGX_HTTP_WEBHOOK_VERIFY_PREFIX) - 1);
    p = ngx_hex_dump(p, md, sizeof(md));
    st->key_len = p - st->key;

    argv[0] = "SET";
    len[0] = 3;
    argv[1] = (char *) st->key;
    len[1] = st->key_len;
    argv[2] = "1";
    len[2] = 1;
    argv[3] = "NX";
    len[3] = 2;
    argv[4] = "EX";
    len[4] = 2;
    argv[5] = (char *) ttl;
    len[5] = ngx_sprintf(ttl, "%T",
                         ngx_min(wlcf->dedup_ttl,
                                 NGX_HTTP_WEBHOOK_VERIFY_PENDING))
             - ttl;

    st->cmd = ngx_http_webhook_redis_send(wlcf, 6, argv, len,
                                          ngx_http_webhook_verify_reply, st);
    if (st->cmd == NULL) {
        return ngx_http_webhook_unavailable(r, "Redis is not reachable");
    }

    return NGX_DONE;
}


static void
ngx_http_webhook_verify_reply(void *data, redisReply *reply, const char *err)
{
    ngx_http_webhook_verify_t *st = data;

    ngx_int_t                rc;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_webhook_ctx_t  *ctx;

    r = st->request;
    c = r->connection;
    st->cmd = NULL;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (reply == NULL) {
        rc = ngx_http_webhook_unavailable(r, err);

    } else if (reply->type == REDIS_REPLY_STATUS) {
        st->claimed = 1;                    /* "OK": the first */
        rc = NGX_DECLINED;

    } else if (reply->type == REDIS_REPLY_NIL) {
        ngx_str_set(&ctx->status, "duplicate");
        rc = ngx_http_webhook_send_json(r, NGX_HTTP_OK,
                                        "{\"status\":\"duplicate\"}",
                                        sizeof("{\"status\":\"duplicate\"}")
                                        - 1);

    } else {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0, "webhook: Redis %V: %*s",
                          &st->wlcf->redis->name, (size_t) reply->len,
                          reply->str);
        }

        rc = ngx_http_webhook_unavailable(r, "Redis refused the command");
    }

    ngx_http_webhook_verify_done(r, rc);
    ngx_http_run_posted_requests(c);
}


/* NGX_DECLINED: on to the content handler; anything else is final. */

static void
ngx_http_webhook_verify_done(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_webhook_ctx_t     *ctx;
    ngx_http_webhook_verify_t  *st;

    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    ctx->phase_rc = NGX_DECLINED;

    st = ctx->verify;
    st->passed = 1;
    st->verified = ctx->verified;
    st->dedup_key = ctx->dedup_key;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_http_webhook_verify_t *
ngx_http_webhook_verify_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_webhook_verify_t  *st;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_webhook_verify_cleanup) {
            st = cln->data;

            if (st->request == r) {
                return st;
            }
        }
    }

    return NULL;
}


/*
 * The request is over.  A claim whose upstream did not answer 2xx is
 * given back: the sender retries, and the retry must not be a
 * "duplicate" of a delivery that never arrived.
 */

static void
ngx_http_webhook_verify_cleanup(void *data)
{
    ngx_http_webhook_verify_t *st = data;

    u_char               ttl[NGX_TIME_T_LEN];
    size_t               len[3];
    ngx_uint_t           status;
    const char          *argv[3];
    ngx_http_request_t  *r;

    if (st->cmd) {
        ngx_http_webhook_redis_detach(st->cmd);
        st->cmd = NULL;
        return;
    }

    if (!st->claimed) {
        return;
    }

    r = st->request;
    status = r->headers_out.status;

    argv[1] = (char *) st->key;
    len[1] = st->key_len;

    if (status >= NGX_HTTP_OK && status < NGX_HTTP_SPECIAL_RESPONSE) {
        if (st->wlcf->dedup_ttl <= NGX_HTTP_WEBHOOK_VERIFY_PENDING) {
            return;
        }

        /* delivered: a repeat within the whole TTL is a duplicate */
        argv[0] = "EXPIRE";
        len[0] = 6;
        argv[2] = (char *) ttl;
        len[2] = ngx_sprintf(ttl, "%T", st->wlcf->dedup_ttl) - ttl;

        (void) ngx_http_webhook_redis_send(st->wlcf, 3, argv, len, NULL,
                                           NULL);
        return;
    }

    argv[0] = "DEL";
    len[0] = 3;

    (void) ngx_http_webhook_redis_send(st->wlcf, 2, argv, len, NULL, NULL);
}

