/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhook_status: per-workflow counters shared by all worker processes
 * (received, outcomes, a latency histogram), as JSON or in Prometheus'
 * text exposition format.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"


#define NGX_HTTP_WEBHOOK_SLOTS    256
#define NGX_HTTP_WEBHOOK_KEY_LEN  64


static const char  *ngx_http_webhook_outcomes[] = {
    "queued", "resolved", "failed", "duplicate",
    "method_not_allowed", "unsupported_media_type", "invalid_body",
    "missing_signature", "invalid_signature", "expired_timestamp",
    "queue_unavailable", "workflow_disabled", "workflow_failed",
    "workflow_timeout", "other"
};

#define NGX_HTTP_WEBHOOK_NOUTCOMES                                           \
    (sizeof(ngx_http_webhook_outcomes) / sizeof(char *))

/* upper bounds in milliseconds; the last bucket is +Inf */
static const ngx_msec_t  ngx_http_webhook_buckets[] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

#define NGX_HTTP_WEBHOOK_NBUCKETS                                            \
    (sizeof(ngx_http_webhook_buckets) / sizeof(ngx_msec_t))


/* the viewer's charts: requests and latency per minute, the last 15 */
#define NGX_HTTP_WEBHOOK_MINUTES  15

typedef struct {
    ngx_atomic_t        minute;              /* ms / 60000 */
    ngx_atomic_t        count;
    ngx_atomic_t        buckets[NGX_HTTP_WEBHOOK_NBUCKETS + 1];
} ngx_http_webhook_minute_t;


typedef struct {
    u_char              key[NGX_HTTP_WEBHOOK_KEY_LEN + 1];
    ngx_http_webhook_minute_t  minutes[NGX_HTTP_WEBHOOK_MINUTES];
    ngx_atomic_t        received;
    ngx_atomic_t        outcomes[NGX_HTTP_WEBHOOK_NOUTCOMES];
    ngx_atomic_t        buckets[NGX_HTTP_WEBHOOK_NBUCKETS + 1];
    ngx_atomic_t        sum_ms;
} ngx_http_webhook_slot_t;


struct ngx_http_webhook_shm_s {
    ngx_uint_t                nslots;
    ngx_http_webhook_slot_t   slots[NGX_HTTP_WEBHOOK_SLOTS];
};


static ngx_int_t ngx_http_webhook_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_webhook_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_webhook_status_handler(ngx_http_request_t *r);
static void ngx_http_webhook_status_json(
    ngx_http_webhook_main_conf_t *wmcf,
    ngx_http_webhook_shm_t *shm, wh_buf_t *b);
static void ngx_http_webhook_status_prometheus(
    ngx_http_webhook_main_conf_t *wmcf, ngx_http_webhook_shm_t *shm,
    wh_buf_t *b);


/* Called by the webhook directive: the workflow gets a counters entry. */

ngx_http_webhook_stat_t *
ngx_http_webhook_stat_add(ngx_conf_t *cf, const char *key)
{
    size_t                         len;
    ngx_str_t                      name;
    ngx_uint_t                     i;
    ngx_http_webhook_stat_t       *st, **stp;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    len = ngx_strlen(key);
    stp = wmcf->stats.elts;

    for (i = 0; i < wmcf->stats.nelts; i++) {
        if (stp[i]->key.len == len
            && ngx_strncmp(stp[i]->key.data, key, len) == 0)
        {
            return stp[i];
        }
    }

    if (wmcf->stats.nelts == NGX_HTTP_WEBHOOK_SLOTS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "more than %d workflows", NGX_HTTP_WEBHOOK_SLOTS);
        return NULL;
    }

    /* locations keep the pointer: the array may move, the entry not */
    st = ngx_palloc(cf->pool, sizeof(ngx_http_webhook_stat_t));
    stp = ngx_array_push(&wmcf->stats);
    if (st == NULL || stp == NULL) {
        return NULL;
    }

    *stp = st;

    st->key.len = len;
    st->key.data = (u_char *) key;
    st->slot = NGX_CONF_UNSET_UINT;

    if (wmcf->zone == NULL) {
        ngx_str_set(&name, "webhook_status");

        wmcf->zone = ngx_shared_memory_add(cf, &name,
                                           ngx_align(sizeof(
                                               ngx_http_webhook_shm_t)
                                               + 16 * ngx_pagesize,
                                               ngx_pagesize),
                                           &ngx_http_webhook_module);
        if (wmcf->zone == NULL) {
            return NULL;
        }

        wmcf->zone->init = ngx_http_webhook_init_zone;
        wmcf->zone->data = wmcf;
    }

    return st;
}


/*
 * A reload keeps the counters of workflows that are still configured:
 * slots are found again by key.
 */

static ngx_int_t
ngx_http_webhook_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_webhook_main_conf_t *wmcf = shm_zone->data;

    ngx_uint_t                i, j;
    ngx_slab_pool_t          *shpool;
    ngx_http_webhook_shm_t   *shm;
    ngx_http_webhook_stat_t **st;

    /* the zone starts with nginx's slab pool: the counters live in it */
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data != NULL) {
        shm = ((ngx_http_webhook_main_conf_t *) data)->shm;

    } else if (shm_zone->shm.exists) {
        shm = shpool->data;

    } else {
        shm = ngx_slab_alloc(shpool, sizeof(ngx_http_webhook_shm_t));
        if (shm == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(shm, sizeof(ngx_http_webhook_shm_t));
        shpool->data = shm;
    }

    wmcf->shm = shm;
    st = wmcf->stats.elts;

    for (i = 0; i < wmcf->stats.nelts; i++) {

        for (j = 0; j < shm->nslots; j++) {
            if (ngx_strcmp(shm->slots[j].key, st[i]->key.data) == 0) {
                break;
            }
        }

        if (j == shm->nslots) {
            if (shm->nslots == NGX_HTTP_WEBHOOK_SLOTS) {
                /* the oldest workflows give their slot up */
                j = i;

            } else {
                shm->nslots++;
            }

            ngx_memzero(&shm->slots[j], sizeof(ngx_http_webhook_slot_t));
            ngx_cpystrn(shm->slots[j].key, st[i]->key.data,
                        NGX_HTTP_WEBHOOK_KEY_LEN + 1);
        }

        st[i]->slot = j;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_webhook_status_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_webhook_log_handler;

    return ngx_http_webhook_ledger_init(cf);
}


static ngx_int_t
ngx_http_webhook_log_handler(ngx_http_request_t *r)
{
    int64_t                        now;
    ngx_msec_int_t                 ms;
    ngx_uint_t                     i, o, k;
    ngx_atomic_uint_t              m, old;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_minute_t     *mi;
    ngx_http_webhook_slot_t       *slot;
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_main_conf_t  *wmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    if (ctx == NULL) {
        return NGX_OK;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);
    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    if (wlcf->stat == NULL || wmcf->shm == NULL
        || wlcf->stat->slot == NGX_CONF_UNSET_UINT)
    {
        return NGX_OK;
    }

    slot = &wmcf->shm->slots[wlcf->stat->slot];

    for (o = 0; o < NGX_HTTP_WEBHOOK_NOUTCOMES - 1; o++) {
        if (ngx_strlen(ngx_http_webhook_outcomes[o]) == ctx->status.len
            && ngx_strncmp(ngx_http_webhook_outcomes[o], ctx->status.data,
                           ctx->status.len) == 0)
        {
            break;
        }
    }

    now = ngx_http_webhook_now();
    ms = (ngx_msec_int_t) (now - ((int64_t) r->start_sec * 1000
                                  + r->start_msec));
    ms = ngx_max(ms, 0);

    for (i = 0; i < NGX_HTTP_WEBHOOK_NBUCKETS; i++) {
        if ((ngx_msec_t) ms <= ngx_http_webhook_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&slot->received, 1);
    (void) ngx_atomic_fetch_add(&slot->outcomes[o], 1);
    (void) ngx_atomic_fetch_add(&slot->buckets[i], 1);
    (void) ngx_atomic_fetch_add(&slot->sum_ms, ms);

    /* the first request of a minute clears what its slot held */
    m = (ngx_atomic_uint_t) (now / 60000);
    mi = &slot->minutes[m % NGX_HTTP_WEBHOOK_MINUTES];
    old = mi->minute;

    if (old != m && ngx_atomic_cmp_set(&mi->minute, old, m)) {
        mi->count = 0;

        for (k = 0; k <= NGX_HTTP_WEBHOOK_NBUCKETS; k++) {
            mi->buckets[k] = 0;
        }
    }

    (void) ngx_atomic_fetch_add(&mi->count, 1);
    (void) ngx_atomic_fetch_add(&mi->buckets[i], 1);

    return NGX_OK;
}


/* The upper bound of the bucket that holds the q-quantile; -1: +Inf. */

static ngx_int_t
ngx_http_webhook_quantile(ngx_http_webhook_minute_t *mi, ngx_uint_t pct)
{
    ngx_uint_t  k;
    uint64_t    seen, want;

    want = ((uint64_t) mi->count * pct + 99) / 100;
    seen = 0;

    for (k = 0; k < NGX_HTTP_WEBHOOK_NBUCKETS; k++) {
        seen += mi->buckets[k];
        if (seen >= want) {
            return ngx_http_webhook_buckets[k];
        }
    }

    return -1;
}


/*
 * For the viewer: a workflow's counters and its last minutes, oldest
 * first, as JSON members.
 */

void
ngx_http_webhook_status_viewer(ngx_http_request_t *r,
    ngx_http_webhook_stat_t *st, wh_buf_t *b)
{
    int64_t                        m, now;
    ngx_int_t                      p50, p99;
    ngx_uint_t                     o, j;
    ngx_http_webhook_slot_t       *s;
    ngx_http_webhook_minute_t     *mi;
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    if (wmcf->shm == NULL || st->slot == NGX_CONF_UNSET_UINT) {
        wh_buf_adds(b, "\"received\":0,\"outcomes\":{},\"minutes\":[]");
        return;
    }

    s = &wmcf->shm->slots[st->slot];

    wh_buf_printf(b, "\"received\":%lu,\"outcomes\":{",
                  (unsigned long) s->received);

    for (o = 0; o < NGX_HTTP_WEBHOOK_NOUTCOMES; o++) {
        wh_buf_printf(b, "%s\"%s\":%lu", o ? "," : "",
                      ngx_http_webhook_outcomes[o],
                      (unsigned long) s->outcomes[o]);
    }

    wh_buf_adds(b, "},\"minutes\":[");

    now = ngx_http_webhook_now() / 60000;

    for (j = 0; j < NGX_HTTP_WEBHOOK_MINUTES; j++) {
        m = now - (NGX_HTTP_WEBHOOK_MINUTES - 1) + j;
        mi = &s->minutes[m % NGX_HTTP_WEBHOOK_MINUTES];

        if ((int64_t) mi->minute != m || mi->count == 0) {
            wh_buf_printf(b, "%s{\"minute\":%lld,\"count\":0,"
                          "\"p50\":null,\"p99\":null}", j ? "," : "",
                          (long long) m * 60);
            continue;
        }

        p50 = ngx_http_webhook_quantile(mi, 50);
        p99 = ngx_http_webhook_quantile(mi, 99);

        wh_buf_printf(b, "%s{\"minute\":%lld,\"count\":%lu,",
                      j ? "," : "", (long long) m * 60,
                      (unsigned long) mi->count);
        wh_buf_printf(b, p50 < 0 ? "\"p50\":null," : "\"p50\":%ld,",
                      (long) p50);
        wh_buf_printf(b, p99 < 0 ? "\"p99\":null}" : "\"p99\":%ld}",
                      (long) p99);
    }

    wh_buf_addc(b, ']');
}


char *
ngx_http_webhook_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_webhook_status_handler;

    return NGX_CONF_OK;
}


#define NGX_HTTP_WEBHOOK_FMT_JSON        0
#define NGX_HTTP_WEBHOOK_FMT_PROMETHEUS  1


/*
 * ?format=json|prometheus, else the Accept header: a Prometheus scraper
 * gets the text format, anything else JSON.  Counters only: execution
 * data is the viewer's (webhook_viewer), which an operator guards apart.
 */

static ngx_uint_t
ngx_http_webhook_status_format(ngx_http_request_t *r)
{
    ngx_str_t         fmt;
    ngx_table_elt_t  *accept;

    if (ngx_http_arg(r, (u_char *) "format", 6, &fmt) == NGX_OK) {
        if (fmt.len == 10 && ngx_strncmp(fmt.data, "prometheus", 10) == 0) {
            return NGX_HTTP_WEBHOOK_FMT_PROMETHEUS;
        }

        return NGX_HTTP_WEBHOOK_FMT_JSON;
    }

    accept = ngx_http_webhook_header_in(r, "Accept", 6);

    if (accept == NULL) {
        return NGX_HTTP_WEBHOOK_FMT_JSON;
    }

    if (ngx_strlcasestrn(accept->value.data,
                         accept->value.data + accept->value.len,
                         (u_char *) "openmetrics", 11 - 1) != NULL
        || ngx_strlcasestrn(accept->value.data,
                            accept->value.data + accept->value.len,
                            (u_char *) "text/plain", 10 - 1) != NULL)
    {
        return NGX_HTTP_WEBHOOK_FMT_PROMETHEUS;
    }

    return NGX_HTTP_WEBHOOK_FMT_JSON;
}


static ngx_int_t
ngx_http_webhook_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_uint_t                     fmt;
    wh_buf_t                       b;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_main_conf_t  *wmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
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

    fmt = ngx_http_webhook_status_format(r);

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_webhook_module);

    wh_buf_init(&b, &ctx->mem, 4096);

    if (fmt == NGX_HTTP_WEBHOOK_FMT_PROMETHEUS) {
        ngx_http_webhook_status_prometheus(wmcf, wmcf->shm, &b);

    } else {
        ngx_http_webhook_status_json(wmcf, wmcf->shm, &b);
    }

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (fmt == NGX_HTTP_WEBHOOK_FMT_JSON) {
        return ngx_http_webhook_send_json(r, NGX_HTTP_OK, b.data, b.len);
    }

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_webhook_output(r, NGX_HTTP_OK, b.data, b.len);
}


static void
ngx_http_webhook_status_json(ngx_http_webhook_main_conf_t *wmcf,
    ngx_http_webhook_shm_t *shm, wh_buf_t *b)
{
    ngx_uint_t                i, o, k;
    ngx_atomic_uint_t         n;
    ngx_http_webhook_slot_t  *s;
    ngx_http_webhook_stat_t **st;

    wh_buf_adds(b, "{\"workflows\":{");

    st = wmcf->stats.elts;

    for (i = 0; shm && i < wmcf->stats.nelts; i++) {
        s = &shm->slots[st[i]->slot];

        wh_buf_printf(b, "%s\"%s\":{\"received\":%lu,\"outcomes\":{",
                      i ? "," : "", (char *) s->key,
                      (unsigned long) s->received);

        for (o = 0; o < NGX_HTTP_WEBHOOK_NOUTCOMES; o++) {
            wh_buf_printf(b, "%s\"%s\":%lu", o ? "," : "",
                          ngx_http_webhook_outcomes[o],
                          (unsigned long) s->outcomes[o]);
        }

        wh_buf_adds(b, "},\"latency\":{\"buckets\":{");

        n = 0;
        for (k = 0; k <= NGX_HTTP_WEBHOOK_NBUCKETS; k++) {
            n += s->buckets[k];

            if (k == NGX_HTTP_WEBHOOK_NBUCKETS) {
                wh_buf_printf(b, ",\"+Inf\":%lu", (unsigned long) n);

            } else {
                wh_buf_printf(b, "%s\"%g\":%lu", k ? "," : "",
                              ngx_http_webhook_buckets[k] / 1000.0,
                              (unsigned long) n);
            }
        }

        wh_buf_printf(b, "},\"sum\":%.3f,\"count\":%lu}}",
                      s->sum_ms / 1000.0, (unsigned long) n);
    }

    wh_buf_adds(b, "}}");
}


static void
ngx_http_webhook_status_prometheus(ngx_http_webhook_main_conf_t *wmcf,
    ngx_http_webhook_shm_t *shm, wh_buf_t *b)
{
    ngx_uint_t                i, o, k;
    ngx_atomic_uint_t         n;
    ngx_http_webhook_slot_t  *s;
    ngx_http_webhook_stat_t **st;

    st = wmcf->stats.elts;

    wh_buf_adds(b, "# HELP webhook_received_total Webhook requests "
                   "received.\n# TYPE webhook_received_total counter\n");

    for (i = 0; shm && i < wmcf->stats.nelts; i++) {
        s = &shm->slots[st[i]->slot];
        wh_buf_printf(b, "webhook_received_total{workflow=\"%s\"} %lu\n",
                      (char *) s->key, (unsigned long) s->received);
    }

    wh_buf_adds(b, "# HELP webhook_requests_total Webhook requests by "
                   "outcome.\n# TYPE webhook_requests_total counter\n");

    for (i = 0; shm && i < wmcf->stats.nelts; i++) {
        s = &shm->slots[st[i]->slot];

        for (o = 0; o < NGX_HTTP_WEBHOOK_NOUTCOMES; o++) {
            wh_buf_printf(b, "webhook_requests_total{workflow=\"%s\","
                          "outcome=\"%s\"} %lu\n", (char *) s->key,
                          ngx_http_webhook_outcomes[o],
                          (unsigned long) s->outcomes[o]);
        }
    }

    wh_buf_adds(b, "# HELP webhook_request_duration_seconds Time from the "
                   "request to its answer.\n"
                   "# TYPE webhook_request_duration_seconds histogram\n");

    for (i = 0; shm && i < wmcf->stats.nelts; i++) {
        s = &shm->slots[st[i]->slot];
        n = 0;

        for (k = 0; k <= NGX_HTTP_WEBHOOK_NBUCKETS; k++) {
            n += s->buckets[k];

            if (k == NGX_HTTP_WEBHOOK_NBUCKETS) {
                wh_buf_printf(b, "webhook_request_duration_seconds_bucket"
                              "{workflow=\"%s\",le=\"+Inf\"} %lu\n",
                              (char *) s->key, (unsigned long) n);

            } else {
                wh_buf_printf(b, "webhook_request_duration_seconds_bucket"
                              "{workflow=\"%s\",le=\"%g\"} %lu\n",
                              (char *) s->key,
                              ngx_http_webhook_buckets[k] / 1000.0,
                              (unsigned long) n);
            }
        }

        wh_buf_printf(b, "webhook_request_duration_seconds_sum"
                      "{workflow=\"%s\"} %.3f\n"
                      "webhook_request_duration_seconds_count"
                      "{workflow=\"%s\"} %lu\n",
                      (char *) s->key, s->sum_ms / 1000.0,
                      (char *) s->key, (unsigned long) n);
    }
}
