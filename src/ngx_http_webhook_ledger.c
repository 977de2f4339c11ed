/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhook_ledger: the most recent requests to webhook locations, whatever
 * their outcome, in one shared memory zone that every worker process
 * writes and that a reload keeps.
 *
 * The zone holds a ring of bytes: an entry is appended whole at the head
 * under the zone's mutex, and the oldest entries leave from the tail until
 * it fits.  Recording is done in the log phase, once the answer is known;
 * its work is bounded by the request's headers and webhook_ledger_body,
 * and nothing is allocated in the zone but the ring itself.  An entry is
 * kept as the request had it (its strings copied, the redacted header
 * values replaced) and made JSON only when someone reads it: the request
 * path pays for copies, not for escaping or parsing.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "wh_time.h"


#define NGX_HTTP_WEBHOOK_LEDGER_MIN  (32 * 1024)
#define NGX_HTTP_WEBHOOK_LEDGER_URI  2048


/*
 * An entry: this header, then the strings it gives the lengths of, as
 * they came (method, URI, client, message, params as JSON, the headers as
 * NAME\0VALUE\0 pairs, the body).  Writers only copy; readers make JSON.
 */
typedef struct {
    uint32_t                     len;          /* whole entry, aligned */
    uint32_t                     status;
    uint64_t                     id;
    int64_t                      time;         /* ms */
    uint32_t                     method_len;
    uint32_t                     uri_len;
    uint32_t                     client_len;
    uint32_t                     message_len;  /* -1: none */
    uint32_t                     params_len;
    uint32_t                     headers_len;  /* -1: not kept */
    uint32_t                     body_len;     /* kept; -1: none */
    uint32_t                     body_size;    /* as received */
    u_char                       exec_id[36];  /* "" : none */
    u_char                       workflow[65];
    u_char                       outcome[39];  /* NUL-terminated */
} ngx_http_webhook_ledger_entry_t;


struct ngx_http_webhook_ledger_s {
    uint64_t                     next_id;
    size_t                       cap;
    size_t                       head;         /* the next entry */
    size_t                       tail;         /* the oldest entry */
    size_t                       wrap_end;     /* where the old lap ends */
    ngx_uint_t                   count;
    ngx_uint_t                   wrapped;      /* head is behind tail */
    u_char                       data[1];
};


static ngx_int_t ngx_http_webhook_ledger_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_webhook_ledger_log(ngx_http_request_t *r);
static void ngx_http_webhook_ledger_headers(ngx_pool_t *pool, wh_buf_t *b,
    u_char *p, size_t len);
static ngx_int_t ngx_http_webhook_ledger_params(ngx_http_request_t *r,
    wh_buf_t *b);
static void ngx_http_webhook_ledger_body(wh_buf_t *b, const u_char *body,
    size_t keep, size_t size);
static ngx_http_webhook_ledger_entry_t *ngx_http_webhook_ledger_put(
    ngx_http_webhook_ledger_t *lg, size_t n);


char *
ngx_http_webhook_ledger_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_main_conf_t *wmcf = conf;

    ssize_t     size;
    ngx_str_t  *value, name;

    if (wmcf->ledger_zone != NULL || wmcf->ledger_off) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        wmcf->ledger_off = 1;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < NGX_HTTP_WEBHOOK_LEDGER_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid ledger size \"%V\" (32k at least)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&name, "webhook_ledger");

    wmcf->ledger_zone = ngx_shared_memory_add(cf, &name, size,
                                              &ngx_http_webhook_module);
    if (wmcf->ledger_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (wmcf->ledger_zone->data) {
        return "is duplicate";
    }

    wmcf->ledger_zone->init = ngx_http_webhook_ledger_init_zone;
    wmcf->ledger_zone->data = wmcf;

    return NGX_CONF_OK;
}


/*
 * A reload with the same size keeps the zone, and nginx hands the old
 * configuration in: its ring goes on.  A new zone gets one ring as large
 * as the slab pool can give.
 */

static ngx_int_t
ngx_http_webhook_ledger_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_webhook_main_conf_t *wmcf = shm_zone->data;

    size_t                      size;
    ngx_slab_pool_t            *shpool;
    ngx_http_webhook_ledger_t  *lg;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data != NULL) {
        wmcf->ledger = ((ngx_http_webhook_main_conf_t *) data)->ledger;
        wmcf->ledger_mutex = &shpool->mutex;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        wmcf->ledger = shpool->data;
        wmcf->ledger_mutex = &shpool->mutex;
        return NGX_OK;
    }

    size = shpool->pfree * ngx_pagesize;

    lg = ngx_slab_alloc(shpool, size);
    if (lg == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(lg, offsetof(ngx_http_webhook_ledger_t, data));

    lg->next_id = 1;
    lg->cap = (size - offsetof(ngx_http_webhook_ledger_t, data))
              & ~((size_t) 7);

    shpool->data = lg;
    shpool->log_nomem = 0;

    wmcf->ledger = lg;
    wmcf->ledger_mutex = &shpool->mutex;

    return NGX_OK;
}


ngx_int_t
ngx_http_webhook_ledger_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    if (wmcf->ledger_zone == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_webhook_ledger_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_ledger_log(ngx_http_request_t *r)
{
    u_char                           *p;
    size_t                            n, limit, size, keep, hlen, uri_len;
    ngx_str_t                        *rn;
    ngx_str_t                         outcome, params;
    ngx_uint_t                        status, i, k;
    wh_buf_t                          pb;
    ngx_list_part_t                  *part;
    ngx_table_elt_t                  *h;
    ngx_http_webhook_ctx_t           *ctx, tmp;
    ngx_http_webhook_ledger_t        *lg;
    ngx_http_webhook_loc_conf_t      *wlcf;
    ngx_http_webhook_main_conf_t     *wmcf;
    ngx_http_webhook_ledger_entry_t  *e;
    u_char                            num[NGX_INT_T_LEN + 8];

    static ngx_str_t  redacted = ngx_string("[redacted]");

    if (r != r->main) {
        return NGX_OK;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);
    lg = wmcf->ledger;

    if (wlcf->workflow == NULL || lg == NULL) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);

    if (ctx == NULL) {
        /* refused before the module ran: allow/deny, limit_req, 413 */
        ngx_memzero(&tmp, sizeof(ngx_http_webhook_ctx_t));
        ngx_http_webhook_mem(&tmp, r->pool);
        ctx = &tmp;
    }

    status = r->headers_out.status ? r->headers_out.status : r->err_status;

    if (ctx->status.len) {
        outcome = ctx->status;

    } else {
        /* an answer that nginx made: "http_403" */
        outcome.data = num;
        outcome.len = ngx_sprintf(num, "http_%ui", status) - num;
    }

    if (ctx->body) {
        size = ctx->body_len;

    } else {
        size = r->headers_in.content_length_n > 0
               ? (size_t) r->headers_in.content_length_n : 0;
    }

    /* the named captures of a regex location, as JSON (rare) */
    ngx_str_null(&params);
    wh_buf_init(&pb, &ctx->mem, 64);

    if (ngx_http_webhook_ledger_params(r, &pb) == NGX_OK && !pb.failed) {
        params.data = (u_char *) pb.data;
        params.len = pb.len;
    }

    /* a URI of large_client_header_buffers' size is kept in part */
    uri_len = ngx_min(r->unparsed_uri.len, NGX_HTTP_WEBHOOK_LEDGER_URI);

    /* headers: NAME\0VALUE\0, the redacted ones with "[redacted]" */
    hlen = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            /* at most: a redacted value is written as "[redacted]" */
            if (h[i].hash != 0) {
                hlen += h[i].key.len + ngx_max(h[i].value.len, redacted.len)
                        + 2;
            }
        }
    }

    /* an entry takes at most a quarter of the ring, the body an eighth */
    limit = ngx_min(wlcf->ledger_body, lg->cap / 8);
    keep = ctx->body ? ngx_min(ctx->body_len, limit) : 0;

    n = sizeof(ngx_http_webhook_ledger_entry_t) + r->method_name.len
        + uri_len + r->connection->addr_text.len + ctx->message.len
        + params.len;

    if (n + hlen + keep > lg->cap / 4) {
        /* headers too large for this ring: the summary alone */
        hlen = (size_t) -1;
        keep = (size_t) -1;

    } else {
        n += hlen + keep;
    }

    n = ngx_align(n, 8);

    if (n > lg->cap / 2) {
        /* a summary alone this large only fits a larger ring */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "webhook: the request is too large for webhook_ledger");
        return NGX_OK;
    }

    ngx_shmtx_lock(wmcf->ledger_mutex);

    e = ngx_http_webhook_ledger_put(lg, n);

    e->len = n;
    e->id = lg->next_id++;
    e->status = status;
    e->time = (int64_t) r->start_sec * 1000 + r->start_msec;
    e->method_len = r->method_name.len;
    e->uri_len = uri_len;
    e->client_len = r->connection->addr_text.len;
    e->message_len = ctx->message.len ? ctx->message.len : (uint32_t) -1;
    e->params_len = params.len;
    e->body_size = size;

    /* an id only where an execution ran or was queued */
    if (ctx->id[0]
        && (status < NGX_HTTP_BAD_REQUEST
            || status == NGX_HTTP_INTERNAL_SERVER_ERROR
            || status == NGX_HTTP_GATEWAY_TIME_OUT))
    {
        ngx_memcpy(e->exec_id, ctx->id, 36);

    } else {
        e->exec_id[0] = '\0';
    }

    ngx_cpystrn(e->workflow, (u_char *) wlcf->workflow->key,
                sizeof(e->workflow));
    ngx_cpystrn(e->outcome, outcome.data,
                ngx_min(outcome.len + 1, sizeof(e->outcome)));

    p = (u_char *) (e + 1);
    p = ngx_cpymem(p, r->method_name.data, r->method_name.len);
    p = ngx_cpymem(p, r->unparsed_uri.data, uri_len);
    p = ngx_cpymem(p, r->connection->addr_text.data,
                   r->connection->addr_text.len);
    p = ngx_cpymem(p, ctx->message.data, ctx->message.len);
    p = ngx_cpymem(p, params.data, params.len);

    if (hlen == (size_t) -1) {
        e->headers_len = (uint32_t) -1;
        e->body_len = (uint32_t) -1;

    } else {
        e->headers_len = (uint32_t) hlen;
        hlen = 0;

        for (part = &r->headers_in.headers.part; part; part = part->next) {
            h = part->elts;

            for (i = 0; i < part->nelts; i++) {
                if (h[i].hash == 0) {
                    continue;
                }

                p = ngx_cpymem(p, h[i].lowcase_key, h[i].key.len);
                *p++ = '\0';

                rn = wlcf->redact ? wlcf->redact->elts : NULL;

                for (k = 0; rn && k < wlcf->redact->nelts; k++) {
                    if (rn[k].len == h[i].key.len
                        && ngx_strncmp(rn[k].data, h[i].lowcase_key,
                                       rn[k].len) == 0)
                    {
                        break;
                    }
                }

                if (rn && k < wlcf->redact->nelts) {
                    p = ngx_cpymem(p, redacted.data, redacted.len);
                    hlen += h[i].key.len + redacted.len + 2;

                } else {
                    p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
                    hlen += h[i].key.len + h[i].value.len + 2;
                }

                *p++ = '\0';
            }
        }

        e->headers_len = (uint32_t) hlen;

        if (ctx->body) {
            e->body_len = (uint32_t) keep;
            ngx_memcpy(p, ctx->body, keep);

        } else {
            e->body_len = (uint32_t) -1;
        }
    }

    ngx_shmtx_unlock(wmcf->ledger_mutex);

    return NGX_OK;
}


/*
 * Makes room for n bytes at the head, the oldest entries leaving first;
 * n is at most a quarter of the ring, so this ends within one lap.
 */

static ngx_http_webhook_ledger_entry_t *
ngx_http_webhook_ledger_put(ngx_http_webhook_ledger_t *lg, size_t n)
{
    ngx_http_webhook_ledger_entry_t  *e;

    for ( ;; ) {

        if (lg->count == 0) {
            lg->head = 0;
            lg->tail = 0;
            lg->wrapped = 0;
        }

        if (!lg->wrapped) {
            /* used: [tail, head) */
            if (lg->cap - lg->head >= n) {
                break;
            }

            if (lg->count == 0) {
                break;      /* n <= cap */
            }

            lg->wrap_end = lg->head;
            lg->head = 0;
            lg->wrapped = 1;
        }

        /* used: [tail, wrap_end) and [0, head) */
        if (lg->tail - lg->head >= n) {
            break;
        }

        e = (ngx_http_webhook_ledger_entry_t *) (lg->data + lg->tail);
        lg->tail += e->len;
        lg->count--;

        if (lg->tail >= lg->wrap_end) {
            lg->tail = 0;
            lg->wrapped = 0;
        }
    }

    e = (ngx_http_webhook_ledger_entry_t *) (lg->data + lg->head);
    lg->head += n;
    lg->count++;

    return e;
}


/*
 * The recorded headers (NAME\0VALUE\0 ..., redacted when recorded) as
 * $context.headers has them: lower-cased names, repeated ones joined with
 * ", " in order.  Repeated names are found by sorting (O(n log n)): the
 * number of headers is the sender's choice, up to
 * large_client_header_buffers.
 */

typedef struct {
    u_char            *key;
    size_t             key_len;
    u_char            *value;
    size_t             value_len;
    ngx_uint_t         index;      /* in arrival order */
    ngx_uint_t         first;      /* index of the first of its name */
} ngx_http_webhook_ledger_hdr_t;


static int ngx_libc_cdecl
ngx_http_webhook_ledger_cmp(const void *one, const void *two)
{
    const ngx_http_webhook_ledger_hdr_t  *a = one, *b = two;

    ngx_int_t  rc;

    if (a->key_len != b->key_len) {
        return a->key_len < b->key_len ? -1 : 1;
    }

    rc = ngx_memcmp(a->key, b->key, a->key_len);
    if (rc != 0) {
        return rc < 0 ? -1 : 1;
    }

    return a->index < b->index ? -1 : 1;
}


static void
ngx_http_webhook_ledger_headers(ngx_pool_t *pool, wh_buf_t *b, u_char *p,
    size_t len)
{
    u_char                         *q, *v, *last;
    size_t                          vlen;
    ngx_uint_t                      i, j, n, first, *start;
    ngx_http_webhook_ledger_hdr_t  *hs, *sorted;

    last = p + len;
    n = 0;

    for (q = p; q < last; q++) {
        n += (*q == '\0');
    }

    n /= 2;

    hs = ngx_palloc(pool, (n + 1) * sizeof(ngx_http_webhook_ledger_hdr_t) * 2
                          + (n + 1) * sizeof(ngx_uint_t));
    if (hs == NULL) {
        b->failed = 1;
        return;
    }

    sorted = hs + n + 1;
    start = (ngx_uint_t *) (sorted + n + 1);

    for (i = 0; i < n; i++) {
        hs[i].key = p;
        hs[i].key_len = ngx_strlen(p);
        p += hs[i].key_len + 1;
        hs[i].value = p;
        hs[i].value_len = ngx_strlen(p);
        p += hs[i].value_len + 1;
        hs[i].index = i;
    }

    ngx_memcpy(sorted, hs, n * sizeof(ngx_http_webhook_ledger_hdr_t));
    qsort(sorted, n, sizeof(ngx_http_webhook_ledger_hdr_t),
          ngx_http_webhook_ledger_cmp);

    /* each header learns the first of its name; a first, where its run is */
    for (i = 0; i < n; i = j) {
        for (j = i; j < n
                    && sorted[j].key_len == sorted[i].key_len
                    && ngx_memcmp(sorted[j].key, sorted[i].key,
                                  sorted[i].key_len) == 0;
             j++)
        {
            hs[sorted[j].index].first = sorted[i].index;
        }

        start[sorted[i].index] = i;
    }

    wh_buf_addc(b, '{');
    first = 1;

    for (i = 0; i < n; i++) {

        if (hs[i].first != i) {
            continue;           /* written with the first of its name */
        }

        if (!first) {
            wh_buf_addc(b, ',');
        }

        first = 0;

        wh_json_escape(b, (char *) hs[i].key, hs[i].key_len);
        wh_buf_addc(b, ':');

        /* the run of this name in the sorted array, in arrival order */
        vlen = 0;

        for (j = start[i]; j < n && hs[sorted[j].index].first == i; j++) {
            vlen += (j > start[i] ? 2 : 0) + sorted[j].value_len;
        }

        if (j == start[i] + 1) {
            wh_json_escape(b, (char *) hs[i].value, hs[i].value_len);
            continue;
        }

        v = ngx_pnalloc(pool, vlen);
        if (v == NULL) {
            b->failed = 1;
            return;
        }

        q = v;

        for (j = start[i]; j < n && hs[sorted[j].index].first == i; j++) {
            if (j > start[i]) {
                *q++ = ',';
                *q++ = ' ';
            }

            q = ngx_cpymem(q, sorted[j].value, sorted[j].value_len);
        }

        wh_json_escape(b, (char *) v, q - v);
    }

    wh_buf_addc(b, '}');
}


/*
 * The named captures of the location's regex, as $context.params has
 * them, so that a replay has them too.
 */

static ngx_int_t
ngx_http_webhook_ledger_params(ngx_http_request_t *r, wh_buf_t *b)
{
#if (NGX_PCRE)
    ngx_uint_t                  i;
    ngx_http_regex_t           *re;
    ngx_http_variable_t        *var;
    ngx_http_variable_value_t  *vv;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_core_main_conf_t  *cmcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    re = clcf->regex;

    if (re == NULL || re->nvariables == 0) {
        return NGX_DECLINED;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);
    var = cmcf->variables.elts;

    wh_buf_addc(b, '{');

    for (i = 0; i < re->nvariables; i++) {
        vv = ngx_http_get_indexed_variable(r, re->variables[i].index);

        if (i) {
            wh_buf_addc(b, ',');
        }

        wh_json_escape(b, (char *) var[re->variables[i].index].name.data,
                       var[re->variables[i].index].name.len);
        wh_buf_addc(b, ':');

        if (vv == NULL || vv->not_found) {
            wh_buf_adds(b, "null");

        } else {
            wh_json_escape(b, (char *) vv->data, vv->len);
        }
    }

    wh_buf_addc(b, '}');

    return NGX_OK;
#else
    return NGX_DECLINED;
#endif
}


/* A UTF-8 prefix: the length of s that is valid, a cut sequence dropped. */

static size_t
ngx_http_webhook_ledger_utf8(const u_char *s, size_t len, ngx_uint_t *ok)
{
    size_t  i, k, need;

    *ok = 1;

    for (i = 0; i < len; /* void */) {

        if (s[i] < 0x80) {
            i++;
            continue;
        }

        if ((s[i] & 0xe0) == 0xc0 && s[i] >= 0xc2) {
            need = 1;

        } else if ((s[i] & 0xf0) == 0xe0) {
            need = 2;

        } else if ((s[i] & 0xf8) == 0xf0 && s[i] <= 0xf4) {
            need = 3;

        } else {
            *ok = 0;
            return i;
        }

        if (i + need >= len) {
            /* cut by the end of the prefix: kept for the next bytes */
            return i;
        }

        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *ok = 0;
                return i;
            }
        }

        i += need + 1;
    }

    return len;
}


/*
 * "body" as text when the kept bytes are UTF-8, else "bodyBase64";
 * "bodyTruncated" when the ledger kept fewer bytes than came.
 */

static void
ngx_http_webhook_ledger_body(wh_buf_t *b, const u_char *body, size_t keep,
    size_t size)
{
    size_t      text;
    ngx_str_t   src, dst;
    ngx_uint_t  ok;

    if (body == NULL) {
        wh_buf_adds(b, ",\"body\":null");

    } else {
        text = ngx_http_webhook_ledger_utf8(body, keep, &ok);

        if (ok) {
            keep = text;
            wh_buf_adds(b, ",\"body\":");
            wh_json_escape(b, (char *) body, keep);

        } else {
            src.data = (u_char *) body;
            src.len = keep;

            dst.len = ngx_base64_encoded_length(keep);

            wh_buf_adds(b, ",\"body\":null,\"bodyBase64\":\"");

            if (wh_buf_reserve(b, dst.len + 1) == 0) {
                dst.data = (u_char *) b->data + b->len;
                ngx_encode_base64(&dst, &src);
                b->len += dst.len;
            }

            wh_buf_addc(b, '"');
        }
    }

    wh_buf_adds(b, keep < size ? ",\"bodyTruncated\":true"
                               : ",\"bodyTruncated\":false");
}


/*
 * Readers: entries newest first, as JSON.  The walk is linear in the
 * entries the ring holds, under the mutex; the copy is bounded by limit.
 */

static ngx_uint_t
ngx_http_webhook_ledger_walk(ngx_http_webhook_ledger_t *lg,
    ngx_http_webhook_ledger_entry_t **out)
{
    size_t                            pos, end;
    ngx_uint_t                        n;
    ngx_http_webhook_ledger_entry_t  *e;

    n = 0;
    pos = lg->tail;
    end = lg->wrapped ? lg->wrap_end : lg->head;

    while (n < lg->count) {
        if (pos >= end) {
            pos = 0;
            end = lg->head;
        }

        e = (ngx_http_webhook_ledger_entry_t *) (lg->data + pos);
        out[n++] = e;
        pos += e->len;
    }

    return n;
}


static void
ngx_http_webhook_ledger_write(ngx_pool_t *pool, wh_buf_t *b,
    ngx_http_webhook_ledger_entry_t *e, ngx_uint_t detail)
{
    u_char  *p, *params;
    char     ts[WH_ISO_LEN];

    p = (u_char *) (e + 1);

    wh_iso_time(e->time, ts);

    wh_buf_printf(b, "{\"id\":%llu,\"time\":\"%s\",\"workflow\":\"%s\","
                  "\"method\":", (unsigned long long) e->id, ts,
                  (char *) e->workflow);
    wh_json_escape(b, (char *) p, e->method_len);
    p += e->method_len;
    wh_buf_adds(b, ",\"uri\":");
    wh_json_escape(b, (char *) p, e->uri_len);
    p += e->uri_len;
    wh_buf_adds(b, ",\"client\":");
    wh_json_escape(b, (char *) p, e->client_len);
    p += e->client_len;
    wh_buf_printf(b, ",\"status\":%u,\"outcome\":", (unsigned) e->status);
    wh_json_escape(b, (char *) e->outcome, ngx_strlen(e->outcome));
    wh_buf_adds(b, ",\"message\":");

    if (e->message_len == (uint32_t) -1) {
        wh_buf_adds(b, "null");

    } else {
        wh_json_escape(b, (char *) p, e->message_len);
        p += e->message_len;
    }

    if (e->exec_id[0]) {
        wh_buf_adds(b, ",\"executionId\":\"");
        wh_buf_add(b, e->exec_id, 36);
        wh_buf_addc(b, '"');

    } else {
        wh_buf_adds(b, ",\"executionId\":null");
    }

    wh_buf_printf(b, ",\"bodySize\":%u", (unsigned) e->body_size);

    params = p;
    p += e->params_len;

    if (detail) {
        if (e->headers_len == (uint32_t) -1) {
            wh_buf_adds(b, ",\"headers\":null");

        } else {
            wh_buf_adds(b, ",\"headers\":");
            ngx_http_webhook_ledger_headers(pool, b, p, e->headers_len);
            p += e->headers_len;
        }

        wh_buf_adds(b, ",\"params\":");

        if (e->params_len) {
            wh_buf_add(b, params, e->params_len);

        } else {
            wh_buf_adds(b, "{}");
        }

        if (e->body_len == (uint32_t) -1) {
            ngx_http_webhook_ledger_body(b, NULL, 0, e->body_size);

        } else {
            ngx_http_webhook_ledger_body(b, p, e->body_len, e->body_size);
        }
    }

    wh_buf_addc(b, '}');
}


ngx_int_t
ngx_http_webhook_ledger_list(ngx_http_request_t *r, ngx_str_t *workflow,
    ngx_str_t *outcome, ngx_uint_t limit, wh_buf_t *b)
{
    ngx_uint_t                         i, n, found;
    ngx_http_webhook_ledger_t         *lg;
    ngx_http_webhook_main_conf_t      *wmcf;
    ngx_http_webhook_ledger_entry_t  **es, *e;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);
    lg = wmcf->ledger;

    if (lg == NULL) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(wmcf->ledger_mutex);

    es = ngx_alloc((lg->count + 1) * sizeof(void *), r->connection->log);
    if (es == NULL) {
        ngx_shmtx_unlock(wmcf->ledger_mutex);
        return NGX_ERROR;
    }

    n = ngx_http_webhook_ledger_walk(lg, es);

    wh_buf_addc(b, '[');
    found = 0;

    for (i = n; i > 0 && found < limit; i--) {
        e = es[i - 1];

        if (workflow->len
            && (ngx_strlen(e->workflow) != workflow->len
                || ngx_strncmp(e->workflow, workflow->data, workflow->len)))
        {
            continue;
        }

        if (outcome->len
            && (ngx_strlen(e->outcome) != outcome->len
                || ngx_strncmp(e->outcome, outcome->data, outcome->len)))
        {
            continue;
        }

        if (found++) {
            wh_buf_addc(b, ',');
        }

        ngx_http_webhook_ledger_write(r->pool, b, e, 0);
    }

    wh_buf_addc(b, ']');

    ngx_shmtx_unlock(wmcf->ledger_mutex);

    ngx_free(es);

    return b->failed ? NGX_ERROR : NGX_OK;
}


ngx_int_t
ngx_http_webhook_ledger_get(ngx_http_request_t *r, uint64_t id, wh_buf_t *b)
{
    size_t                            pos, end;
    ngx_uint_t                        n;
    ngx_int_t                         rc;
    ngx_http_webhook_ledger_t        *lg;
    ngx_http_webhook_main_conf_t     *wmcf;
    ngx_http_webhook_ledger_entry_t  *e;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);
    lg = wmcf->ledger;

    if (lg == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_shmtx_lock(wmcf->ledger_mutex);

    pos = lg->tail;
    end = lg->wrapped ? lg->wrap_end : lg->head;

    for (n = 0; n < lg->count; n++) {
        if (pos >= end) {
            pos = 0;
            end = lg->head;
        }

        e = (ngx_http_webhook_ledger_entry_t *) (lg->data + pos);

        if (e->id == id) {
            ngx_http_webhook_ledger_write(r->pool, b, e, 1);
            rc = b->failed ? NGX_ERROR : NGX_OK;
            break;
        }

        pos += e->len;
    }

    ngx_shmtx_unlock(wmcf->ledger_mutex);

    return rc;
}


/* The string member name of v, decoded; "" when it is not a string. */

static void
ngx_http_webhook_ledger_str(ngx_http_webhook_ctx_t *ctx, wh_val_t v,
    const char *name, ngx_str_t *out)
{
    const char  *s;
    size_t       len;

    v = wh_val_get(v, name, ngx_strlen(name));

    if (wh_val_type(v) != WH_JSON_STRING
        || wh_val_str(&ctx->mem, v, &s, &len) != 0)
    {
        ngx_str_set(out, "");
        return;
    }

    out->data = (u_char *) s;
    out->len = len;
}


#define ngx_http_webhook_replay_fail(st, msg)                                \
    *status = st; ngx_str_set(why, msg); return NGX_DECLINED


/*
 * $context of a replay, as the endpoint would have built it from the
 * recorded request, with "replayOf": the entry's id.
 */

ngx_int_t
ngx_http_webhook_ledger_replay(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, uint64_t id, const char *nid,
    wh_buf_t *b, ngx_http_webhook_loc_conf_t **target, ngx_uint_t *status,
    ngx_str_t *why)
{
    char                           err[128], ts[WH_ISO_LEN];
    u_char                        *q, *dst, *src;
    size_t                         blen, qlen;
    ngx_int_t                      rc;
    ngx_str_t                      wf, method, uri, client, body, b64, ct;
    ngx_uint_t                     i;
    wh_val_t                       e, headers, params;
    wh_buf_t                       text;
    wh_media_t                     media;
    const char                    *bnd;
    wh_json_err_t                  jerr;
    ngx_http_webhook_loc_conf_t  **locs;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    wh_buf_init(&text, &ctx->mem, 4096);

    rc = ngx_http_webhook_ledger_get(r, id, &text);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_webhook_replay_fail(NGX_HTTP_NOT_FOUND,
                                     "no such request in the ledger");
    }

    if (wh_val_parse(&ctx->mem, text.data, text.len, 0, &e, &jerr) != 0) {
        return NGX_ERROR;
    }

    if (wh_val_truthy(wh_val_get(e, "bodyTruncated", 13))) {
        ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                     "the ledger kept only part of the "
                                     "body (webhook_ledger_body)");
    }

    ngx_http_webhook_ledger_str(ctx, e, "workflow", &wf);

    locs = wmcf->locations.elts;
    *target = NULL;

    for (i = 0; i < wmcf->locations.nelts; i++) {
        if (ngx_strlen(locs[i]->workflow->key) == wf.len
            && ngx_strncmp(locs[i]->workflow->key, wf.data, wf.len) == 0)
        {
            *target = locs[i];
            break;
        }
    }

    if (*target == NULL) {
        ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                     "the workflow is no longer configured");
    }

    ngx_http_webhook_ledger_str(ctx, e, "method", &method);
    ngx_http_webhook_ledger_str(ctx, e, "uri", &uri);
    ngx_http_webhook_ledger_str(ctx, e, "client", &client);
    ngx_http_webhook_ledger_str(ctx, e, "body", &body);
    ngx_http_webhook_ledger_str(ctx, e, "bodyBase64", &b64);

    headers = wh_val_get(e, "headers", 7);
    params = wh_val_get(e, "params", 6);
    if (wh_val_type(headers) != WH_JSON_OBJECT) {
        ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                     "the ledger did not keep the headers");
    }

    ngx_http_webhook_ledger_str(ctx, headers, "content-type", &ct);

    if (b64.len) {
        body.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(b64.len));
        if (body.data == NULL
            || ngx_decode_base64(&body, &b64) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    wh_buf_init(b, &ctx->mem, 1024 + 2 * body.len + text.len);

    wh_buf_adds(b, "{\"id\":\"");
    wh_buf_add(b, nid, 36);
    wh_buf_adds(b, "\",\"workflow\":\"");
    wh_buf_adds(b, (*target)->workflow->key);
    wh_buf_adds(b, "\",\"method\":");
    wh_json_escape(b, (char *) method.data, method.len);

    /* the path as nginx decodes it, the query as the endpoint parses it */
    q = ngx_strlchr(uri.data, uri.data + uri.len, '?');
    qlen = q ? uri.len - (q - uri.data) - 1 : 0;
    blen = q ? (size_t) (q - uri.data) : uri.len;

    dst = ngx_pnalloc(r->pool, blen + 1);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    src = uri.data;
    q = dst;
    ngx_unescape_uri(&dst, &src, blen, 0);

    wh_buf_adds(b, ",\"path\":");
    wh_json_escape(b, (char *) q, dst - q);

    wh_buf_adds(b, ",\"data\":");

    media = ct.len ? wh_media_type((char *) ct.data, ct.len, &bnd, &blen)
                   : WH_MEDIA_NONE;

    switch (media) {

    case WH_MEDIA_NONE:
    case WH_MEDIA_JSON:
        if (body.len == 0) {
            wh_buf_adds(b, "null");
            break;
        }

        if (wh_json_validate((char *) body.data, body.len, &jerr) != 0) {
            ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                         "the body is not valid JSON");
        }

        wh_buf_add(b, body.data, body.len);
        break;

    case WH_MEDIA_FORM:
        if (wh_form_to_json(b, (char *) body.data, body.len, err,
                            sizeof(err))
            != 0)
        {
            ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                         "the form body does not parse");
        }
        break;

    case WH_MEDIA_MULTIPART:
        if (bnd == NULL
            || wh_multipart_to_json(b, bnd, blen, (char *) body.data,
                                    body.len, 1000, err, sizeof(err))
               != 0)
        {
            ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                         "the multipart body does not "
                                         "parse");
        }
        break;

    case WH_MEDIA_TEXT:
        wh_json_escape(b, (char *) body.data, body.len);
        break;

    default:
        ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                     "the body's type is not one a "
                                     "workflow takes (it was a 415)");
    }

    wh_buf_adds(b, ",\"headers\":");
    wh_val_write_json(b, headers);

    wh_buf_adds(b, ",\"query\":");

    if (wh_form_to_json(b, q ? (char *) uri.data + uri.len - qlen : "",
                        qlen, err, sizeof(err))
        != 0)
    {
        ngx_http_webhook_replay_fail(NGX_HTTP_CONFLICT,
                                     "the query string does not parse");
    }

    wh_buf_adds(b, ",\"params\":");

    if (wh_val_type(params) == WH_JSON_OBJECT) {
        wh_val_write_json(b, params);

    } else {
        wh_buf_adds(b, "{}");
    }

    wh_buf_adds(b, ",\"ip\":");
    wh_json_escape(b, (char *) client.data, client.len);

    wh_iso_time(ngx_http_webhook_now(), ts);

    wh_buf_adds(b, ",\"receivedAt\":\"");
    wh_buf_add(b, ts, WH_ISO_LEN - 1);
    wh_buf_printf(b, "\",\"replayOf\":%llu", (unsigned long long) id);

    if ((*target)->raw_body) {
        wh_buf_adds(b, ",\"rawBody\":");
        wh_json_escape(b, (char *) body.data, body.len);
    }

    wh_buf_addc(b, '}');

    return b->failed ? NGX_ERROR : NGX_OK;
}
