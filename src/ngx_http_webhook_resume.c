/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhook_resume SECRET (SPEC §11): the endpoint that resumes executions
 * waiting in a "wait" node.
 *
 *     POST <location>…/<execution id>/<node key>?token=<T>
 *
 * T must be the hex HMAC-SHA256 of "<execution id>/<node key>" under
 * SECRET, compared in constant time: else 403 invalid_token, before
 * anything is read from Redis.  The body must be JSON (or empty: null);
 * else 400 invalid_body.  Then one script, atomically: 404 not_found
 * when there is no record of the execution, 409 not_waiting when it does
 * not wait in that node (another node, running, or done); otherwise the
 * body goes to the record's "resume:<key>", "waiting" is cleared and a
 * job for the execution is queued (the record's queue), where a worker
 * picks it up (wk_wait.c): 200 {"executionId":ID,"status":"resumed"},
 * with webhook_redis replicas=N only once WAIT confirmed the script's
 * writes, else 503 queue_unavailable (the resume may have happened).
 * A second POST to the same URL gets 409: a wait resumes once.
 *
 * Early callbacks: a workflow usually sends its resume URL in a node
 * before the wait, and a fast peer may POST before the worker reached
 * the wait.  While the execution is queued or running and waits nowhere,
 * the body is stored (200 as well, once) and the wait node finds it and
 * goes on at once instead of waiting.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


#define NGX_HTTP_WEBHOOK_RESUME_MAX  64        /* id and key, each */


typedef struct {
    ngx_http_webhook_ctx_t         ctx;        /* first: the module's ctx */
    ngx_http_request_t            *request;
    ngx_http_webhook_redis_cmd_t  *cmd;
    ngx_str_t                      id;
    ngx_str_t                      key;
} ngx_http_webhook_resume_t;


static const char  ngx_http_webhook_resume_script[] =
    "local id, k, rec = ARGV[1], ARGV[2], 'webhook:execution:' .. ARGV[1]\n"
    "if redis.call('EXISTS', rec) == 0 then return 404 end\n"
    "local f = redis.call('HMGET', rec, 'waiting', 'workflow', 'revision',\n"
    "  'context', 'queue', 'parent', 'depth')\n"
    "if not f[1] then\n"
    "  local st = redis.call('HGET', rec, 'status')\n"
    "  if (st and st ~= '0' and st ~= '-6')\n"
    "     or redis.call('HEXISTS', rec, 'resume:' .. k) == 1 then\n"
    "    return 409\n"
    "  end\n"
    "  redis.call('HSET', rec, 'resume:' .. k, ARGV[3])\n"
    "  return 200\n"
    "end\n"
    "if f[1] ~= k or not f[2] or not f[3] or not f[4] then return 409 end\n"
    "redis.call('HSET', rec, 'resume:' .. k, ARGV[3])\n"
    "redis.call('HDEL', rec, 'waiting', 'waitDue')\n"
    "redis.call('ZREM', 'webhook:waiting', id)\n"
    "local job = {'execution', id, 'workflow', f[2], 'revision', f[3],\n"
    "  'context', f[4]}\n"
    "if f[6] then table.insert(job, 'parent') table.insert(job, f[6]) end\n"
    "if f[7] then table.insert(job, 'depth') table.insert(job, f[7]) end\n"
    "redis.call('XADD', f[5] or ARGV[4], '*', unpack(job))\n"
    "return 200\n";


static ngx_int_t ngx_http_webhook_resume_handler(ngx_http_request_t *r);
static void ngx_http_webhook_resume_body(ngx_http_request_t *r);
static void ngx_http_webhook_resume_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_http_webhook_resume_cleanup(void *data);


char *
ngx_http_webhook_resume(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (wlcf->resume_secret.data != NULL) {
        return "is duplicate";
    }

    if (wlcf->workflow != NULL) {
        return "cannot be combined with \"webhook\"";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "needs a non-empty secret";
    }

    wlcf->resume_secret = value[1];

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_webhook_resume_handler;

    return NGX_CONF_OK;
}


static ngx_uint_t
ngx_http_webhook_resume_name(u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HTTP_WEBHOOK_RESUME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_webhook_resume_handler(ngx_http_request_t *r)
{
    u_char                       *p, *end, *slash;
    u_char                        md[EVP_MAX_MD_SIZE], want[64];
    u_char                        msg[2 * NGX_HTTP_WEBHOOK_RESUME_MAX + 1];
    ngx_int_t                     rc;
    ngx_str_t                     token;
    unsigned int                  mdlen;
    ngx_table_elt_t              *h;
    ngx_http_webhook_resume_t    *rs;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    if (r->method != NGX_HTTP_POST) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");

        return ngx_http_webhook_error(r, NGX_HTTP_NOT_ALLOWED,
                                      "method_not_allowed",
                                      "a resume URL takes POST only");
    }

    rs = ngx_pcalloc(r->pool, sizeof(ngx_http_webhook_resume_t));
    if (rs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rs->request = r;
    ngx_http_webhook_mem(&rs->ctx, r->pool);
    ngx_http_set_ctx(r, &rs->ctx, ngx_http_webhook_module);

    /* the last two segments of the path: <id>/<key> */
    end = r->uri.data + r->uri.len;
    slash = NULL;

    for (p = end; p > r->uri.data; p--) {
        if (p[-1] == '/') {
            if (slash == NULL) {
                slash = p - 1;
                continue;
            }

            break;
        }
    }

    if (slash == NULL
        || !ngx_http_webhook_resume_name(p, slash - p)
        || !ngx_http_webhook_resume_name(slash + 1, end - slash - 1))
    {
        return ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                      "no execution waits there");
    }

    rs->id.data = p;
    rs->id.len = slash - p;
    rs->key.data = slash + 1;
    rs->key.len = end - slash - 1;

    /* the id and key checked above are all of msg: no escaping */
    p = ngx_cpymem(msg, rs->id.data, rs->id.len);
    *p++ = '/';
    p = ngx_cpymem(p, rs->key.data, rs->key.len);

    if (HMAC(EVP_sha256(), wlcf->resume_secret.data,
             (int) wlcf->resume_secret.len, msg, p - msg, md, &mdlen)
        == NULL
        || mdlen != 32)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_hex_dump(want, md, 32);

    /* any length, any case: the comparison does not depend on it */
    if (ngx_http_arg(r, (u_char *) "token", 5, &token) != NGX_OK
        || token.len != 64
        || CRYPTO_memcmp(want, token.data, 64) != 0)
    {
        return ngx_http_webhook_error(r, NGX_HTTP_FORBIDDEN, "invalid_token",
                                      "the resume token is missing or "
                                      "wrong");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_webhook_resume_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_webhook_resume_body(ngx_http_request_t *r)
{
    size_t                        len[7];
    json_t                       *v;
    ngx_int_t                     rc;
    const char                   *argv[7];
    json_error_t                  jerr;
    ngx_pool_cleanup_t           *cln;
    ngx_http_webhook_ctx_t       *body;
    ngx_http_webhook_resume_t    *rs;
    ngx_http_webhook_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);
    /* the module's ctx is the first member of rs */
    rs = (ngx_http_webhook_resume_t *)
             ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    body = &rs->ctx;

    rc = ngx_http_webhook_read_body(r, body);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* linear in the body, as any parser here */
    if (body->body_len > 0) {
        v = json_loadb(body->body, body->body_len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (v == NULL) {
            ngx_http_finalize_request(r,
                ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST,
                                       "invalid_body",
                                       "the body must be JSON: line %d, "
                                       "column %d: %s", jerr.line,
                                       jerr.column, jerr.text));
            return;
        }

        json_decref(v);
    }

    argv[0] = "EVAL";
    argv[1] = ngx_http_webhook_resume_script;
    argv[2] = "0";
    argv[3] = (char *) rs->id.data;
    argv[4] = (char *) rs->key.data;
    argv[5] = body->body != NULL ? body->body : "";
    argv[6] = (char *) wlcf->queue.data;

    len[0] = 4;
    len[1] = sizeof(ngx_http_webhook_resume_script) - 1;
    len[2] = 1;
    len[3] = rs->id.len;
    len[4] = rs->key.len;
    len[5] = body->body_len;
    len[6] = wlcf->queue.len;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_webhook_resume_cleanup;
    cln->data = rs;

    /* replicas=N (SPEC §8): no 200 before WAIT confirmed body and job */
    rs->cmd = ngx_http_webhook_redis_write(wlcf, 7, argv, len,
                                           ngx_http_webhook_resume_reply, rs);

    if (rs->cmd == NULL) {
        ngx_http_finalize_request(r,
            ngx_http_webhook_unavailable(r, "Redis is not reachable"));
        return;
    }

    /* the body reader's count is ours until the reply */
}


static void
ngx_http_webhook_resume_reply(void *data, redisReply *reply, const char *err)
{
    ngx_http_webhook_resume_t *rs = data;

    u_char              *p;
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = rs->request;
    c = r->connection;
    rs->cmd = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "webhook: resuming an execution failed: %s",
                      reply == NULL ? err
                      : reply->type == REDIS_REPLY_ERROR ? reply->str
                      : "unexpected reply");

        /* §5: every 503 queue_unavailable says when to try again */
        rc = ngx_http_webhook_unavailable(r, "the execution could not be "
                                          "resumed");

    } else if (reply->integer == 404) {
        rc = ngx_http_webhook_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                    "no such execution");

    } else if (reply->integer == 409) {
        rc = ngx_http_webhook_error(r, NGX_HTTP_CONFLICT, "not_waiting",
                                    "the execution does not wait in this "
                                    "node");

    } else {
        p = ngx_pnalloc(r->pool, rs->id.len + 1);

        if (p == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            *ngx_cpymem(p, rs->id.data, rs->id.len) = '\0';
            rc = ngx_http_webhook_send_state(r, NGX_HTTP_OK, (char *) p,
                                             "resumed");
        }
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_webhook_resume_cleanup(void *data)
{
    ngx_http_webhook_resume_t *rs = data;

    if (rs->cmd) {
        ngx_http_webhook_redis_detach(rs->cmd);
        rs->cmd = NULL;
    }
}
