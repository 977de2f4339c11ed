/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhook_viewer: an HTML page (built in) and the JSON it reads, answered
 * from the module's shared memory (workflows, counters, the ledger) and
 * from Redis through the non-blocking connection (executions, dead
 * letters, queue depth), and two actions by POST: retry an execution and
 * replay a ledger request.
 *
 *     ?format=workflows
 *     ?format=requests[&workflow=K][&outcome=C][&limit=N]   ?request=ID
 *     ?format=executions[&workflow=K][&status=S][&limit=N]  ?execution=ID
 *     ?format=dead[&limit=N]
 *     POST ?action=retry&execution=ID[&from=NODE]
 *     POST ?action=replay&request=ID
 *
 * Each Redis read or action is one EVAL, so one round trip.  Actions are
 * refused (403) cross-site: an Origin other than the page's own, or an
 * X-Webhook-Token header other than the one the page embeds (random per
 * configuration, the same in every worker process).  webhook_status
 * serves counters only; who may see requests and executions is decided on
 * this location (allow/deny, auth_basic).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"
#include "wh_redis_fields.h"
#include "wh_redis_keys.h"
#include "wh_retry.h"
#include "wh_time.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>


typedef struct {
    ngx_http_request_t            *request;
    ngx_http_webhook_redis_cmd_t  *cmd;
    ngx_uint_t                     show;
    ngx_uint_t                     workflows;   /* ?format=workflows */
    ngx_uint_t                     action;      /* the answer: new id */
    ngx_str_t                      extra;       /* its members */
} ngx_http_webhook_exec_read_t;


#define NGX_HTTP_WEBHOOK_TOKEN_LEN  32


extern const ngx_str_t  ngx_http_webhook_viewer;


/*
 * Newest first from the index; HMGET of each record.  A record without a
 * status is queued; the filter compares the status as Redis holds it.
 */
static char  ngx_http_webhook_list_script[] =
    "local idx = '" WH_REDIS_INDEX "'\n"
    "if ARGV[1] ~= '' then idx = idx .. ':' .. ARGV[1] end\n"
    "local want, limit, out, pos = ARGV[2], tonumber(ARGV[3]), {}, 0\n"
    "while #out < limit and pos < 10000 do\n"
    "  local ids = redis.call('ZREVRANGE', idx, pos, pos + 99)\n"
    "  if #ids == 0 then break end\n"
    "  pos = pos + #ids\n"
    "  for _, id in ipairs(ids) do\n"
    "    local h = redis.call('HMGET', '" WH_REDIS_EXECUTION "' .. id,\n"
    "      '" WH_REC_WORKFLOW "', '" WH_REC_STATUS "', "
    "        '" WH_REC_CREATED_AT "', '" WH_REC_STARTED_AT "', "
    "        '" WH_REC_FINISHED_AT "',\n"
    "      '" WH_REC_ATTEMPTS "', '" WH_REC_ERROR "')\n"
    "    if h[1] and (want == '' or want == (h[2] or 'queued')) then\n"
    "      out[#out + 1] = cjson.encode({id = id, workflow = h[1],\n"
    "        status = h[2] and tonumber(h[2]) or cjson.null,\n"
    "        createdAt = h[3] or cjson.null,\n"
    "        startedAt = h[4] or cjson.null,\n"
    "        finishedAt = h[5] or cjson.null,\n"
    "        attempts = tonumber(h[6] or '0'),\n"
    "        error = (h[7] and h[7] ~= '') and h[7] or cjson.null})\n"
    "      if #out >= limit then break end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return '[' .. table.concat(out, ',') .. ']'\n";

/* context and jobs are JSON already (the worker wrote them) */
static char  ngx_http_webhook_show_script[] =
    "local h = redis.call('HGETALL', '" WH_REDIS_EXECUTION "' .. ARGV[1])\n"
    "if #h == 0 then return false end\n"
    "local p = {'\"id\":' .. cjson.encode(ARGV[1])}\n"
    "for i = 1, #h, 2 do\n"
    "  local k, v = h[i], h[i + 1]\n"
    "  if (k == '" WH_REC_CONTEXT "' or k == '" WH_REC_JOBS "') and v ~= '' "
    "    then\n"
    "    p[#p + 1] = cjson.encode(k) .. ':' .. v\n"
    "  elseif k == '" WH_REC_STATUS "' or k == '" WH_REC_ATTEMPTS "' then\n"
    "    p[#p + 1] = cjson.encode(k) .. ':' .. (tonumber(v) or 'null')\n"
    "  else\n"
    "    p[#p + 1] = cjson.encode(k) .. ':' .. cjson.encode(v)\n"
    "  end\n"
    "  if k == '" WH_REC_REVISION "' then\n"
    "    local d = redis.call('GET', '" WH_REDIS_WORKFLOW "' .. v)\n"
    "    if d then p[#p + 1] = '\"definition\":' .. d end\n"
    "  end\n"
    "end\n"
    "return '{' .. table.concat(p, ',') .. '}'\n";

/* newest first; the fields of each entry as an object */
static char  ngx_http_webhook_dead_script[] =
    "local r = redis.call('XREVRANGE', '" WH_REDIS_DEAD "', '+', '-', "
    "  'COUNT',\n"
    "  tonumber(ARGV[1]))\n"
    "local out = {}\n"
    "for _, e in ipairs(r) do\n"
    "  local o = {id = e[1]}\n"
    "  for i = 1, #e[2], 2 do o[e[2][i]] = e[2][i + 1] end\n"
    "  out[#out + 1] = cjson.encode(o)\n"
    "end\n"
    "return '[' .. table.concat(out, ',') .. ']'\n";

/*
 * ARGV: queue, workflow, queue, workflow, ...: the length of each queue
 * and whether the workflow is paused (SPEC §11: a member of the set
 * webhook:paused).
 */
static char  ngx_http_webhook_queues_script[] =
    "local out = {}\n"
    "for i = 1, #ARGV, 2 do\n"
    "  local ok, n = pcall(redis.call, 'XLEN', ARGV[i])\n"
    "  out[#out + 1] = ok and n or -1\n"
    "  local ok2, p = pcall(redis.call, 'SISMEMBER', '" WH_REDIS_PAUSED "',\n"
    "    ARGV[i + 1])\n"
    "  out[#out + 1] = ok2 and p or 0\n"
    "end\n"
    "return out\n";

/* ARGV: queue, revision, definition, id, workflow, context */
static char  ngx_http_webhook_replay_script[] =
    "redis.call('SET', '" WH_REDIS_WORKFLOW "' .. ARGV[2], ARGV[3], 'NX')\n"
    "redis.call('XADD', ARGV[1], '*', '" WH_JOB_EXECUTION "', ARGV[4],\n"
    "  '" WH_JOB_WORKFLOW "', ARGV[5], '" WH_JOB_REVISION "', ARGV[2], "
    "    '" WH_JOB_CONTEXT "', ARGV[6])\n"
    "return ARGV[4]\n";

static char  ngx_http_webhook_retry_script[] = WH_RETRY_SCRIPT;


/* ?format=executions&status=: the names of SPEC §6's codes */
static struct {
    ngx_str_t  name;
    ngx_str_t  code;
} ngx_http_webhook_status_names[] = {
    { ngx_string("started"), ngx_string("0") },
    { ngx_string("resolved"), ngx_string("1") },
    { ngx_string("failed"), ngx_string("-1") },
    { ngx_string("error"), ngx_string("-2") },
    { ngx_string("aborted"), ngx_string("-3") },
    { ngx_string("retry_needed"), ngx_string("-6") },
    { ngx_null_string, ngx_null_string }
};


static ngx_int_t ngx_http_webhook_viewer_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_viewer_header(ngx_http_request_t *r,
    const char *name, const char *value);
static ngx_int_t ngx_http_webhook_viewer_action(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_workflows(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_dead(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_retry(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webhook_replay(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_loc_conf_t *wlcf);
static ngx_int_t ngx_http_webhook_eval(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_exec_read_t *rd,
    int argc, const char **argv, size_t *argvlen);
static ngx_int_t ngx_http_webhook_viewer_page(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_requests(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
static ngx_int_t ngx_http_webhook_executions(ngx_http_request_t *r,
    ngx_uint_t show);
static void ngx_http_webhook_exec_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_http_webhook_exec_cleanup(void *data);
static ngx_int_t ngx_http_webhook_workflows_answer(ngx_http_request_t *r,
    redisReply *reply);


char *
ngx_http_webhook_viewer_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    u_char                     rnd[NGX_HTTP_WEBHOOK_TOKEN_LEN / 2];
    ngx_http_core_loc_conf_t  *clcf;

    if (wlcf->viewer) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_webhook_viewer_handler;

    wlcf->viewer = 1;

    /* made in the master: every worker process embeds and expects it */
    wlcf->viewer_token.data = ngx_pnalloc(cf->pool,
                                          NGX_HTTP_WEBHOOK_TOKEN_LEN);
    if (wlcf->viewer_token.data == NULL
        || RAND_bytes(rnd, sizeof(rnd)) != 1)
    {
        return NGX_CONF_ERROR;
    }

    ngx_hex_dump(wlcf->viewer_token.data, rnd, sizeof(rnd));
    wlcf->viewer_token.len = NGX_HTTP_WEBHOOK_TOKEN_LEN;

    return NGX_CONF_OK;
}


/* Does the query have NAME=VALUE? */

static ngx_uint_t
ngx_http_webhook_viewer_is(ngx_http_request_t *r, const char *name,
    const char *value)
{
    ngx_str_t  v;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &v) != NGX_OK) {
        return 0;
    }

    return v.len == ngx_strlen(value)
           && ngx_strncmp(v.data, value, v.len) == 0;
}


static ngx_int_t
ngx_http_webhook_viewer_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                v;
    ngx_http_webhook_ctx_t  *ctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* a context of its own makes errors JSON like the endpoints' */
    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_webhook_module);
    ngx_http_webhook_mem(ctx, r->pool);

    if (r->method == NGX_HTTP_POST) {
        return ngx_http_webhook_viewer_action(r, ctx);
    }

    if (ngx_http_arg(r, (u_char *) "action", 6, &v) == NGX_OK) {
        return ngx_http_webhook_error(r, NGX_HTTP_NOT_ALLOWED,
                                      "method_not_allowed",
                                      "actions are POST requests");
    }

    if (ngx_http_arg(r, (u_char *) "execution", 9, &v) == NGX_OK) {
        return ngx_http_webhook_executions(r, 1);
    }

    if (ngx_http_webhook_viewer_is(r, "format", "executions")) {
        return ngx_http_webhook_executions(r, 0);
    }

    if (ngx_http_arg(r, (u_char *) "request", 7, &v) == NGX_OK
        || ngx_http_webhook_viewer_is(r, "format", "requests"))
    {
        return ngx_http_webhook_requests(r, ctx);
    }

    if (ngx_http_webhook_viewer_is(r, "format", "workflows")) {
        return ngx_http_webhook_workflows(r, ctx);
    }

    if (ngx_http_webhook_viewer_is(r, "format", "dead")) {
        return ngx_http_webhook_dead(r);
    }

    if (ngx_http_arg(r, (u_char *) "format", 6, &v) == NGX_OK) {
        return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST, "bad_request",
                                      "unknown format");
    }

    /* JSON is asked by ?format=, so whatever the Accept, the page */
    return ngx_http_webhook_viewer_page(r);
}


/* The page, with this configuration's token where it says @TOKEN@. */

static ngx_int_t
ngx_http_webhook_viewer_page(ngx_http_request_t *r)
{
    u_char                       *body, *p, *mark;
    size_t                        len;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    body = ngx_http_webhook_viewer.data;
    len = ngx_http_webhook_viewer.len;

    mark = ngx_strnstr(body, "@TOKEN@", len);

    if (mark != NULL) {
        p = ngx_pnalloc(r->pool, len + wlcf->viewer_token.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        body = p;
        p = ngx_cpymem(p, ngx_http_webhook_viewer.data,
                       mark - ngx_http_webhook_viewer.data);
        p = ngx_cpymem(p, wlcf->viewer_token.data, wlcf->viewer_token.len);
        mark += sizeof("@TOKEN@") - 1;
        p = ngx_cpymem(p, mark, ngx_http_webhook_viewer.data
                                + ngx_http_webhook_viewer.len - mark);
        len = p - body;
    }

    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /* the page is its own: no framing, no other origin's scripts */
    if (ngx_http_webhook_viewer_header(r, "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'") != NGX_OK
        || ngx_http_webhook_viewer_header(r, "Cache-Control", "no-store")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_output(r, NGX_HTTP_OK, (char *) body, len);
}


static ngx_int_t
ngx_http_webhook_viewer_header(ngx_http_request_t *r, const char *name,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


/*
 * Cross-site protection of the actions: a browser sends Origin with a
 * POST; it must be the page's own (the scheme and Host this request came
 * with).  The token proves the caller read the page (a form on another
 * site cannot), and a client without Origin (curl) needs it too.
 */

static ngx_int_t
ngx_http_webhook_viewer_csrf(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, const char **why)
{
    size_t            n;
    ngx_str_t        *host;
    ngx_table_elt_t  *origin, *token, *site;

    origin = ngx_http_webhook_header_in(r, "Origin", 6);

    if (origin != NULL) {
        /*
         * The host and port must be this request's Host; the scheme is
         * not compared, so a proxy that ends TLS in front changes nothing.
         */
        host = r->headers_in.host ? &r->headers_in.host->value : NULL;
        n = 0;

        if (origin->value.len > 7
            && ngx_strncasecmp(origin->value.data, (u_char *) "http://", 7)
               == 0)
        {
            n = 7;

        } else if (origin->value.len > 8
                   && ngx_strncasecmp(origin->value.data,
                                      (u_char *) "https://", 8) == 0)
        {
            n = 8;
        }

        if (n == 0 || host == NULL
            || origin->value.len != n + host->len
            || ngx_strncasecmp(origin->value.data + n, host->data,
                               host->len) != 0)
        {
            *why = "the Origin is not the viewer's own";
            return NGX_DECLINED;
        }
    }

    site = ngx_http_webhook_header_in(r, "Sec-Fetch-Site", 14);

    if (site != NULL && site->value.len == 10
        && ngx_strncasecmp(site->value.data, (u_char *) "cross-site", 10)
           == 0)
    {
        *why = "a cross-site request";
        return NGX_DECLINED;
    }

    token = ngx_http_webhook_header_in(r, "X-Webhook-Token", 15);

    /* the token's length is public: the page shows it to its reader */
    if (token == NULL || token->value.len != wlcf->viewer_token.len
        || CRYPTO_memcmp(token->value.data, wlcf->viewer_token.data,
                         wlcf->viewer_token.len) != 0)
    {
        *why = "missing or wrong X-Webhook-Token (the viewer page's)";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_viewer_action(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx)
{
    const char                   *why;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (ngx_http_webhook_viewer_csrf(r, wlcf, &why) != NGX_OK) {
        return ngx_http_webhook_error(r, NGX_HTTP_FORBIDDEN, "forbidden",
                                      "%s", why);
    }

    if (ngx_http_webhook_viewer_is(r, "action", "retry")) {
        return ngx_http_webhook_retry(r, wlcf);
    }

    if (ngx_http_webhook_viewer_is(r, "action", "replay")) {
        return ngx_http_webhook_replay(r, ctx, wlcf);
    }

    return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST, "bad_request",
                                  "unknown action: retry or replay");
}


/* Unescaped query argument; "" and NGX_DECLINED when absent. */

static ngx_int_t
ngx_http_webhook_exec_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char  *dst, *src;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), value) != NGX_OK) {
        ngx_str_set(value, "");
        return NGX_DECLINED;
    }

    dst = ngx_pnalloc(r->pool, value->len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    src = value->data;
    value->data = dst;
    ngx_unescape_uri(&dst, &src, value->len, NGX_UNESCAPE_URI);
    value->len = dst - value->data;

    return NGX_OK;
}


/* The limit=N of a list: 1-1000, 50 when absent or out of range. */

static ngx_uint_t
ngx_http_webhook_viewer_limit(ngx_http_request_t *r)
{
    ngx_int_t  n;
    ngx_str_t  lim;

    if (ngx_http_arg(r, (u_char *) "limit", 5, &lim) != NGX_OK) {
        return 50;
    }

    n = ngx_atoi(lim.data, lim.len);

    return (n < 1 || n > 1000) ? 50 : (ngx_uint_t) n;
}


/* ?format=requests[&workflow=K][&outcome=C][&limit=N] and ?request=ID */

static ngx_int_t
ngx_http_webhook_requests(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx)
{
    ngx_int_t   rc, id;
    ngx_str_t   v, wf, oc;
    wh_buf_t    b;

    wh_buf_init(&b, &ctx->mem, 16384);

    if (ngx_http_arg(r, (u_char *) "request", 7, &v) == NGX_OK) {
        id = ngx_atoi(v.data, v.len);
        if (id == NGX_ERROR) {
            return ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND,
                                          "not_found", "no such request");
        }

        rc = ngx_http_webhook_ledger_get(r, (uint64_t) id, &b);

    } else {
        if (ngx_http_webhook_exec_arg(r, "workflow", &wf) == NGX_ERROR
            || ngx_http_webhook_exec_arg(r, "outcome", &oc) == NGX_ERROR)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_webhook_ledger_list(r, &wf, &oc,
                                          ngx_http_webhook_viewer_limit(r),
                                          &b);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                      ((ngx_http_webhook_main_conf_t *)
                                       ngx_http_get_module_main_conf(r,
                                           ngx_http_webhook_module))->ledger
                                      ? "no such request"
                                      : "webhook_ledger is off");
    }

    return ngx_http_webhook_send_json(r, NGX_HTTP_OK, b.data, b.len);
}


static ngx_int_t
ngx_http_webhook_executions(ngx_http_request_t *r, ngx_uint_t show)
{
    u_char                        *p, num[NGX_INT_T_LEN];
    size_t                         len[7];
    ngx_int_t                      n;
    ngx_str_t                      id, wf, st;
    ngx_uint_t                     i;
    const char                    *argv[7];
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_exec_read_t  *rd;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (wlcf->redis == NULL) {
        return ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                      "no webhook_redis here: execution "
                                      "records cannot be read");
    }

    rd = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_exec_read_t));
    if (rd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd->request = r;
    rd->show = show;

    argv[0] = "EVAL";
    argv[2] = "0";
    len[0] = 4;
    len[2] = 1;

    if (show) {
        if (ngx_http_webhook_exec_arg(r, "execution", &id) != NGX_OK
            || id.len == 0)
        {
            return NGX_HTTP_BAD_REQUEST;
        }

        argv[1] = ngx_http_webhook_show_script;
        len[1] = sizeof(ngx_http_webhook_show_script) - 1;
        argv[3] = (char *) id.data;
        len[3] = id.len;
        n = 4;

    } else {
        if (ngx_http_webhook_exec_arg(r, "workflow", &wf) == NGX_ERROR
            || ngx_http_webhook_exec_arg(r, "status", &st) == NGX_ERROR)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* a status by name as webhookctl takes it, or its number */
        for (i = 0; ngx_http_webhook_status_names[i].name.len; i++) {
            if (st.len == ngx_http_webhook_status_names[i].name.len
                && ngx_strncasecmp(st.data,
                                   ngx_http_webhook_status_names[i].name.data,
                                   st.len) == 0)
            {
                st = ngx_http_webhook_status_names[i].code;
                break;
            }
        }

        p = ngx_sprintf(num, "%ui", ngx_http_webhook_viewer_limit(r));

        argv[1] = ngx_http_webhook_list_script;
        len[1] = sizeof(ngx_http_webhook_list_script) - 1;
        argv[3] = (char *) wf.data;
        len[3] = wf.len;
        argv[4] = (char *) st.data;
        len[4] = st.len;
        argv[5] = (char *) num;
        len[5] = p - num;
        n = 6;
    }

    return ngx_http_webhook_eval(r, wlcf, rd, (int) n, argv, len);
}


/* Sends one command for the request; the answer is made by exec_reply. */

static ngx_int_t
ngx_http_webhook_eval(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_exec_read_t *rd,
    int argc, const char **argv, size_t *argvlen)
{
    ngx_pool_cleanup_t  *cln;

    if (wlcf->redis == NULL) {
        return ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                      "no webhook_redis here: execution "
                                      "records cannot be read");
    }

    rd->request = r;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_webhook_exec_cleanup;
    cln->data = rd;

    /* an action writes a job: its 2xx waits for replicas= (SPEC §8) */
    rd->cmd = rd->action
              ? ngx_http_webhook_redis_write(wlcf, argc, argv, argvlen,
                                             ngx_http_webhook_exec_reply, rd)
              : ngx_http_webhook_redis_send(wlcf, argc, argv, argvlen,
                                            ngx_http_webhook_exec_reply, rd);

    if (rd->cmd == NULL && rd->workflows) {
        /* what shared memory knows is shown without Redis */
        return ngx_http_webhook_workflows_answer(r, NULL);
    }

    if (rd->cmd == NULL) {
        return ngx_http_webhook_unavailable(r, "Redis is not reachable");
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_webhook_exec_reply(void *data, redisReply *reply, const char *err)
{
    ngx_http_webhook_exec_read_t *rd = data;

    u_char              *body;
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = rd->request;
    c = r->connection;
    rd->cmd = NULL;

    if (rd->workflows) {
        /* without Redis: queue depth and paused state are null */
        rc = ngx_http_webhook_workflows_answer(r,
                 (reply && reply->type == REDIS_REPLY_ARRAY) ? reply : NULL);

    } else if (reply != NULL && reply->type == REDIS_REPLY_ERROR
               && ngx_strncmp(reply->str, "NOTFOUND ", 9) == 0)
    {
        rc = ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                    "%s", reply->str + 9);

    } else if (reply != NULL && reply->type == REDIS_REPLY_ERROR
               && ngx_strncmp(reply->str, "CONFLICT ", 9) == 0)
    {
        rc = ngx_http_webhook_error(r, NGX_HTTP_CONFLICT, "conflict",
                                    "%s", reply->str + 9);

    } else if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "webhook: viewer: Redis failed: %s",
                      reply ? reply->str : err);

        /* §5: a 503 queue_unavailable carries Retry-After */
        rc = ngx_http_webhook_unavailable(r, rd->action
                                          ? "the job could not be queued"
                                          : "the execution records could "
                                            "not be read");

    } else if (rd->action && reply->type == REDIS_REPLY_STRING) {
        body = ngx_pnalloc(r->pool, reply->len + rd->extra.len + 64);

        if (body == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            rc = ngx_sprintf(body, "{\"executionId\":\"%*s\","
                             "\"status\":\"queued\"%V}",
                             reply->len, reply->str, &rd->extra)
                 - body;
            rc = ngx_http_webhook_send_json(r, NGX_HTTP_OK, (char *) body,
                                            rc);
        }

    } else if (reply->type != REDIS_REPLY_STRING) {
        rc = ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                    "no such execution");

    } else {
        /* the reply is freed after this call, the answer may wait */
        body = ngx_pnalloc(r->pool, reply->len);

        if (body == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            ngx_memcpy(body, reply->str, reply->len);
            rc = ngx_http_webhook_send_json(r, NGX_HTTP_OK, (char *) body,
                                            reply->len);
        }
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_webhook_exec_cleanup(void *data)
{
    ngx_http_webhook_exec_read_t *rd = data;

    if (rd->cmd) {
        ngx_http_webhook_redis_detach(rd->cmd);
        rd->cmd = NULL;
    }
}


/*
 * ?format=workflows: each configured workflow once, with its counters and
 * last minutes (shared memory), its definition (the graph), and, when
 * the viewer has webhook_redis, its queue's length and paused state.
 */

static ngx_int_t
ngx_http_webhook_workflows(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx)
{
    size_t                         *len;
    ngx_uint_t                      i, n;
    const char                    **argv;
    ngx_http_webhook_loc_conf_t    *wlcf, **locs;
    ngx_http_webhook_main_conf_t   *wmcf;
    ngx_http_webhook_exec_read_t   *rd;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (wlcf->redis == NULL) {
        return ngx_http_webhook_workflows_answer(r, NULL);
    }

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);
    locs = wmcf->locations.elts;

    argv = ngx_palloc(r->pool,
                      (2 * wmcf->locations.nelts + 3) * sizeof(char *));
    len = ngx_palloc(r->pool,
                     (2 * wmcf->locations.nelts + 3) * sizeof(size_t));
    rd = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_exec_read_t));

    if (argv == NULL || len == NULL || rd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = "EVAL";
    len[0] = 4;
    argv[1] = ngx_http_webhook_queues_script;
    len[1] = sizeof(ngx_http_webhook_queues_script) - 1;
    argv[2] = "0";
    len[2] = 1;
    n = 3;

    /* each location's queue, in order: the answer finds them by index */
    for (i = 0; i < wmcf->locations.nelts; i++) {
        argv[n] = (char *) locs[i]->queue.data;
        len[n] = locs[i]->queue.len;
        n++;
        argv[n] = locs[i]->workflow->key;
        len[n] = ngx_strlen(locs[i]->workflow->key);
        n++;
    }

    rd->workflows = 1;

    return ngx_http_webhook_eval(r, wlcf, rd, (int) n, argv, len);
}


static ngx_int_t
ngx_http_webhook_workflows_answer(ngx_http_request_t *r, redisReply *reply)
{
    ngx_uint_t                      i, j;
    wh_buf_t                        b;
    redisReply                     *paused, *depth;
    ngx_http_webhook_ctx_t         *ctx;
    ngx_http_webhook_loc_conf_t   **locs, *l;
    ngx_http_webhook_main_conf_t   *wmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);
    locs = wmcf->locations.elts;

    if (reply != NULL
        && (reply->type != REDIS_REPLY_ARRAY
            || reply->elements != 2 * wmcf->locations.nelts))
    {
        reply = NULL;
    }

    wh_buf_init(&b, &ctx->mem, 8192);
    wh_buf_addc(&b, '[');

    for (i = 0; i < wmcf->locations.nelts; i++) {
        l = locs[i];

        /* a workflow in several locations is shown once */
        for (j = 0; j < i; j++) {
            if (ngx_strcmp(locs[j]->workflow->key, l->workflow->key) == 0) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if (b.len > 1) {
            wh_buf_addc(&b, ',');
        }

        wh_buf_adds(&b, "{\"key\":\"");
        wh_buf_adds(&b, l->workflow->key);
        wh_buf_adds(&b, "\",\"title\":");

        if (l->workflow->title) {
            wh_json_escape(&b, l->workflow->title,
                           ngx_strlen(l->workflow->title));

        } else {
            wh_buf_adds(&b, "null");
        }

        wh_buf_printf(&b, ",\"enabled\":%s,\"mode\":\"%s\",\"revision\":\"%s\","
                      "\"queue\":", l->workflow->enabled ? "true" : "false",
                      l->mode == NGX_HTTP_WEBHOOK_SYNC ? "sync" : "async",
                      l->workflow->revision);
        wh_json_escape(&b, (char *) l->queue.data, l->queue.len);

        if (reply == NULL) {
            wh_buf_adds(&b, ",\"queueDepth\":null,\"paused\":null,");

        } else {
            depth = reply->element[2 * i];
            paused = reply->element[2 * i + 1];

            if (depth->type == REDIS_REPLY_INTEGER && depth->integer >= 0) {
                wh_buf_printf(&b, ",\"queueDepth\":%lld,",
                              (long long) depth->integer);

            } else {
                wh_buf_adds(&b, ",\"queueDepth\":null,");
            }

            wh_buf_adds(&b, (paused->type == REDIS_REPLY_INTEGER
                             && paused->integer == 1)
                            ? "\"paused\":true," : "\"paused\":false,");
        }

        ngx_http_webhook_status_viewer(r, l->stat, &b);

        wh_buf_adds(&b, ",\"definition\":");
        wh_buf_add(&b, l->workflow->definition,
                   l->workflow->definition_len);
        wh_buf_addc(&b, '}');
    }

    wh_buf_addc(&b, ']');

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webhook_send_json(r, NGX_HTTP_OK, b.data, b.len);
}


static ngx_int_t
ngx_http_webhook_dead(ngx_http_request_t *r)
{
    u_char                        *p, num[NGX_INT_T_LEN];
    size_t                         len[4];
    const char                    *argv[4];
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_exec_read_t  *rd;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    rd = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_exec_read_t));
    if (rd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(num, "%ui", ngx_http_webhook_viewer_limit(r));

    argv[0] = "EVAL";
    len[0] = 4;
    argv[1] = ngx_http_webhook_dead_script;
    len[1] = sizeof(ngx_http_webhook_dead_script) - 1;
    argv[2] = "0";
    len[2] = 1;
    argv[3] = (char *) num;
    len[3] = p - num;

    return ngx_http_webhook_eval(r, wlcf, rd, 4, argv, len);
}


/* POST ?action=retry&execution=ID[&from=NODE] */

static ngx_int_t
ngx_http_webhook_retry(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    char                           nid[37], ts[WH_ISO_LEN], ttl[16];
    wh_buf_t                       b;
    ngx_http_webhook_ctx_t        *ctx;
    size_t                         len[9];
    ngx_str_t                      id, from;
    const char                    *argv[9];
    ngx_http_webhook_exec_read_t  *rd;

    if (ngx_http_webhook_exec_arg(r, "execution", &id) != NGX_OK
        || id.len == 0 || id.len > 64)
    {
        return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST, "bad_request",
                                      "retry needs execution=ID");
    }

    if (ngx_http_webhook_exec_arg(r, "from", &from) == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_exec_read_t));
    if (rd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_webhook_uuid7(nid);
    wh_iso_time(ngx_http_webhook_now(), ts);

    rd->action = 1;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    wh_buf_init(&b, &ctx->mem, id.len + 16);
    wh_buf_adds(&b, ",\"retryOf\":");
    wh_json_escape(&b, (char *) id.data, id.len);

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd->extra.data = (u_char *) b.data;
    rd->extra.len = b.len;

    argv[0] = "EVAL";
    len[0] = 4;
    argv[1] = ngx_http_webhook_retry_script;
    len[1] = sizeof(ngx_http_webhook_retry_script) - 1;
    argv[2] = "0";
    len[2] = 1;
    argv[3] = (char *) id.data;
    len[3] = id.len;
    argv[4] = nid;
    len[4] = 36;
    argv[5] = (char *) from.data;
    len[5] = from.len;
    argv[6] = (char *) wlcf->queue.data;
    len[6] = wlcf->queue.len;
    argv[7] = ts;
    len[7] = WH_ISO_LEN - 1;
    argv[8] = ttl;
    len[8] = ngx_sprintf((u_char *) ttl, "%d", 7 * 86400) - (u_char *) ttl;

    return ngx_http_webhook_eval(r, wlcf, rd, 9, argv, len);
}


/*
 * POST ?action=replay&request=ID: the ledger entry becomes a new job of
 * its workflow, queued for webhook-worker whatever the location's mode
 * (the definition is stored first, as the module does for a first job).
 */

static ngx_int_t
ngx_http_webhook_replay(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    char                          nid[37];
    size_t                        len[9];
    ngx_int_t                     id, rc;
    ngx_str_t                     v, why;
    ngx_uint_t                    status;
    wh_buf_t                      context;
    const char                   *argv[9];
    ngx_http_webhook_loc_conf_t  *target;
    ngx_http_webhook_exec_read_t *rd;

    if (ngx_http_arg(r, (u_char *) "request", 7, &v) != NGX_OK
        || (id = ngx_atoi(v.data, v.len)) == NGX_ERROR)
    {
        return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST, "bad_request",
                                      "replay needs request=ID");
    }

    if (wlcf->redis == NULL) {
        return ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                      "no webhook_redis here: nothing can "
                                      "be queued");
    }

    ngx_http_webhook_uuid7(nid);

    rc = ngx_http_webhook_ledger_replay(r, ctx, (uint64_t) id, nid,
                                        &context, &target, &status, &why);
    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_webhook_error(r, status,
                                      status == NGX_HTTP_NOT_FOUND
                                      ? "not_found" : "conflict",
                                      "%V", &why);
    }

    rd = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_exec_read_t));
    if (rd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd->action = 2;
    rd->extra.data = ngx_pnalloc(r->pool, 32 + NGX_INT_T_LEN);
    if (rd->extra.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rd->extra.len = ngx_sprintf(rd->extra.data, ",\"replayOf\":%i", id)
                    - rd->extra.data;

    argv[0] = "EVAL";
    len[0] = 4;
    argv[1] = ngx_http_webhook_replay_script;
    len[1] = sizeof(ngx_http_webhook_replay_script) - 1;
    argv[2] = "0";
    len[2] = 1;
    argv[3] = (char *) target->queue.data;
    len[3] = target->queue.len;
    argv[4] = target->workflow->revision;
    len[4] = 64;
    argv[5] = target->workflow->definition;
    len[5] = target->workflow->definition_len;
    argv[6] = nid;
    len[6] = 36;
    argv[7] = target->workflow->key;
    len[7] = ngx_strlen(target->workflow->key);
    argv[8] = context.data;
    len[8] = context.len;

    return ngx_http_webhook_eval(r, wlcf, rd, 9, argv, len);
}
