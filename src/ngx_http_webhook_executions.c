/*
 * The execution viewer of a webhook_status location: an HTML page (built
 * in) and the two JSON reads it makes, answered from the execution
 * records in Redis through the non-blocking connection:
 *
 *     ?format=executions[&workflow=K][&status=S][&limit=N]
 *     ?execution=ID
 *
 * Each read is one EVAL, so a page costs one round trip whatever it shows.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"


typedef struct {
    ngx_http_request_t            *request;
    ngx_http_webhook_redis_cmd_t  *cmd;
    ngx_uint_t                     show;
} ngx_http_webhook_exec_read_t;


extern const ngx_str_t  ngx_http_webhook_viewer;


/*
 * Newest first from the index; HMGET of each record.  A record without a
 * status is queued; the filter compares the status as Redis holds it.
 */
static char  ngx_http_webhook_list_script[] =
    "local idx = 'webhook:executions'\n"
    "if ARGV[1] ~= '' then idx = idx .. ':' .. ARGV[1] end\n"
    "local want, limit, out, pos = ARGV[2], tonumber(ARGV[3]), {}, 0\n"
    "while #out < limit and pos < 10000 do\n"
    "  local ids = redis.call('ZREVRANGE', idx, pos, pos + 99)\n"
    "  if #ids == 0 then break end\n"
    "  pos = pos + #ids\n"
    "  for _, id in ipairs(ids) do\n"
    "    local h = redis.call('HMGET', 'webhook:execution:' .. id,\n"
    "      'workflow', 'status', 'createdAt', 'startedAt', 'finishedAt',\n"
    "      'attempts', 'error')\n"
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
    "local h = redis.call('HGETALL', 'webhook:execution:' .. ARGV[1])\n"
    "if #h == 0 then return false end\n"
    "local p = {'\"id\":' .. cjson.encode(ARGV[1])}\n"
    "for i = 1, #h, 2 do\n"
    "  local k, v = h[i], h[i + 1]\n"
    "  if (k == 'context' or k == 'jobs') and v ~= '' then\n"
    "    p[#p + 1] = cjson.encode(k) .. ':' .. v\n"
    "  elseif k == 'status' or k == 'attempts' then\n"
    "    p[#p + 1] = cjson.encode(k) .. ':' .. (tonumber(v) or 'null')\n"
    "  else\n"
    "    p[#p + 1] = cjson.encode(k) .. ':' .. cjson.encode(v)\n"
    "  end\n"
    "end\n"
    "return '{' .. table.concat(p, ',') .. '}'\n";


static void ngx_http_webhook_exec_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_http_webhook_exec_cleanup(void *data);


ngx_int_t
ngx_http_webhook_viewer_page(ngx_http_request_t *r)
{
    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_webhook_output(r, NGX_HTTP_OK,
                                   (char *) ngx_http_webhook_viewer.data,
                                   ngx_http_webhook_viewer.len);
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


ngx_int_t
ngx_http_webhook_executions(ngx_http_request_t *r, ngx_uint_t show)
{
    u_char                        *p, num[NGX_INT_T_LEN];
    size_t                         len[7];
    ngx_int_t                      n;
    ngx_str_t                      id, wf, st, lim;
    const char                    *argv[7];
    ngx_pool_cleanup_t            *cln;
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

        n = 50;

        if (ngx_http_arg(r, (u_char *) "limit", 5, &lim) == NGX_OK) {
            n = ngx_atoi(lim.data, lim.len);
            if (n < 1 || n > 1000) {
                n = 50;
            }
        }

        p = ngx_sprintf(num, "%i", n);

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

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_webhook_exec_cleanup;
    cln->data = rd;

    rd->cmd = ngx_http_webhook_redis_send(wlcf, (int) n, argv, len,
                                          ngx_http_webhook_exec_reply, rd);
    if (rd->cmd == NULL) {
        return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      "queue_unavailable",
                                      "Redis is not reachable");
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

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "webhook: reading executions failed: %s",
                      reply ? reply->str : err);

        rc = ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "queue_unavailable",
                                    "the execution records could not be "
                                    "read");

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
