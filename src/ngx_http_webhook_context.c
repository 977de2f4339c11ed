/*
 * The request context ($context of SPEC §4), built as one JSON text:
 * a JSON body is copied verbatim into its "data" member and the whole
 * text is tokenized once, which also validates the body.  The same text
 * is what an async job carries.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "wh_time.h"

#include <openssl/rand.h>


static void ngx_http_webhook_add_headers(ngx_http_request_t *r, wh_buf_t *b,
    ngx_array_t *redact);
static void ngx_http_webhook_add_params(ngx_http_request_t *r, wh_buf_t *b);
static ngx_int_t ngx_http_webhook_add_data(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, size_t *data_start);
static ngx_int_t ngx_http_webhook_check_data(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, size_t start, wh_json_err_t *err,
    int parsed);


/*
 * Random bits of execution ids (§7): OpenSSL's CSPRNG, drawn 4 KB at a
 * time so that a request costs no call into it, and per process (the
 * buffer is refilled after fork, in init_process).
 */
static u_char  ngx_http_webhook_rnd[4096];
static size_t  ngx_http_webhook_rnd_pos = sizeof(ngx_http_webhook_rnd);


/* The offset of the first byte at or after from that is not JSON space. */

static size_t
ngx_http_webhook_skip_ws(const char *p, size_t from, size_t len)
{
    while (from < len
           && (p[from] == ' ' || p[from] == '\t' || p[from] == '\r'
               || p[from] == '\n'))
    {
        from++;
    }

    return from;
}


ngx_int_t
ngx_http_webhook_init_random(void)
{
    /* nothing drawn before fork is used: workers share the master's */
    if (RAND_bytes(ngx_http_webhook_rnd, sizeof(ngx_http_webhook_rnd))
        != 1)
    {
        return NGX_ERROR;
    }

    ngx_http_webhook_rnd_pos = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_random(u_char *out, size_t n)
{
    if (ngx_http_webhook_rnd_pos + n > sizeof(ngx_http_webhook_rnd)) {
        if (RAND_bytes(ngx_http_webhook_rnd, sizeof(ngx_http_webhook_rnd))
            != 1)
        {
            return NGX_ERROR;
        }

        ngx_http_webhook_rnd_pos = 0;
    }

    ngx_memcpy(out, ngx_http_webhook_rnd + ngx_http_webhook_rnd_pos, n);

    /* bytes handed out are not kept for a later core dump to show */
    ngx_explicit_memzero(ngx_http_webhook_rnd + ngx_http_webhook_rnd_pos, n);
    ngx_http_webhook_rnd_pos += n;

    return NGX_OK;
}


/*
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit sequence
 * that keeps ids of one process ordered within a millisecond.
 */

ngx_int_t
ngx_http_webhook_uuid7(char *out)
{
    u_char           b[16], rb[10];
    uint64_t         ms;
    ngx_uint_t       i;
    static uint64_t  last_ms;
    static uint32_t  seq;

    static const char  hex[] = "0123456789abcdef";

    /* 2 bytes for a new sequence, 8 for the id's random part */
    if (ngx_http_webhook_random(rb, sizeof(rb)) != NGX_OK) {
        return NGX_ERROR;
    }

    ms = (uint64_t) ngx_http_webhook_now();

    if (ms <= last_ms) {
        ms = last_ms;
        if (++seq > 0xfff) {
            ms++;
            seq = ((rb[0] << 8) | rb[1]) & 0x3ff;
        }

    } else {
        seq = ((rb[0] << 8) | rb[1]) & 0x3ff;
    }

    last_ms = ms;

    for (i = 0; i < 6; i++) {
        b[i] = (u_char) (ms >> (40 - 8 * i));
    }

    b[6] = (u_char) (0x70 | (seq >> 8));
    b[7] = (u_char) seq;

    ngx_memcpy(&b[8], &rb[2], 8);
    b[8] = (u_char) (0x80 | (b[8] & 0x3f));

    ngx_explicit_memzero(rb, sizeof(rb));

    for (i = 0; i < 16; i++) {
        *out++ = hex[b[i] >> 4];
        *out++ = hex[b[i] & 0xf];

        if (i == 3 || i == 5 || i == 7 || i == 9) {
            *out++ = '-';
        }
    }

    *out = '\0';

    return NGX_OK;
}


/* receivedAt: all but the milliseconds change once a second at most */

static void
ngx_http_webhook_received_at(ngx_http_request_t *r, u_char *ts)
{
    ngx_msec_t     ms;
    static time_t  sec = -1;
    static u_char  last[WH_ISO_LEN];

    if (r->start_sec != sec) {
        wh_iso_time((int64_t) r->start_sec * 1000, (char *) last);
        sec = r->start_sec;
    }

    ngx_memcpy(ts, last, WH_ISO_LEN);

    ms = r->start_msec;
    ts[20] = (u_char) ('0' + ms / 100);
    ts[21] = (u_char) ('0' + ms / 10 % 10);
    ts[22] = (u_char) ('0' + ms % 10);
}


/* The body as one contiguous piece; read from the temp file if need be. */

ngx_int_t
ngx_http_webhook_read_body(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        ctx->body = NULL;
        ctx->body_len = 0;
        return NGX_DECLINED;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        ctx->body = (char *) cl->buf->pos;
        ctx->body_len = cl->buf->last - cl->buf->pos;
        return NGX_DECLINED;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    if (len > 0xfffffff0) {
        return ngx_http_webhook_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                      "invalid_body", "the body is too large");
    }

    p = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->body = (char *) p;
    ctx->body_len = (size_t) len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            /* the last buffer of a chunked body may be empty, pos NULL */
            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "webhook: could not read the body from \"%V\"",
                          &b->file->name);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p += n;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_webhook_build_context(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_loc_conf_t *wlcf)
{
    char            err[128];
    u_char          ts[WH_ISO_LEN];
    size_t          data_start;
    ngx_int_t       rc;
    wh_buf_t       *b;
    wh_json_err_t   jerr;
    wh_json_doc_t  *doc;

    if (ngx_http_webhook_uuid7(ctx->id) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "webhook: RAND_bytes() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = &ctx->context;
    wh_buf_init(b, &ctx->mem, ctx->body_len + 1024);

    wh_buf_adds(b, "{\"id\":\"");
    wh_buf_add(b, ctx->id, 36);
    wh_buf_adds(b, "\",\"workflow\":\"");
    /* [A-Za-z0-9_-] only; none before webhook_verify's proxy_pass */
    wh_buf_adds(b, wlcf->workflow ? wlcf->workflow->key : "");
    wh_buf_adds(b, "\",\"method\":");
    wh_json_escape(b, (char *) r->method_name.data, r->method_name.len);
    wh_buf_adds(b, ",\"path\":");
    wh_json_escape(b, (char *) r->uri.data, r->uri.len);
    wh_buf_adds(b, ",\"data\":");

    rc = ngx_http_webhook_add_data(r, ctx, &data_start);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    wh_buf_adds(b, ",\"headers\":");
    ngx_http_webhook_add_headers(r, b, wlcf->redact);

    wh_buf_adds(b, ",\"query\":");

    if (wh_form_to_json(b, (char *) r->args.data, r->args.len, err,
                        sizeof(err))
        != 0)
    {
        return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                      "invalid query string: %s", err);
    }

    wh_buf_adds(b, ",\"params\":");
    ngx_http_webhook_add_params(r, b);

    wh_buf_adds(b, ",\"ip\":");
    wh_json_escape(b, (char *) r->connection->addr_text.data,
                   r->connection->addr_text.len);

    ngx_http_webhook_received_at(r, ts);

    wh_buf_adds(b, ",\"receivedAt\":\"");
    wh_buf_add(b, ts, sizeof(ts) - 1);
    wh_buf_addc(b, '"');

    if (wlcf->raw_body) {
        wh_buf_adds(b, ",\"rawBody\":");
        wh_json_escape(b, ctx->body ? ctx->body : "", ctx->body_len);
    }

    wh_buf_addc(b, '}');

    if (b->failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    doc = ngx_palloc(r->pool, sizeof(wh_json_doc_t));
    if (doc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * An async job without a "response" acknowledgement is read by the
     * worker only: nothing here looks into the context, which is valid by
     * construction once a JSON body is one value.  The body alone is
     * checked then, without keeping tokens; an invalid one goes the usual
     * way below, for the same message in both modes.
     */

    if (wlcf->workflow != NULL
        && wlcf->mode == NGX_HTTP_WEBHOOK_ASYNC
        && !wlcf->workflow->has_response
        && !ngx_http_webhook_dedup_needs_context(wlcf->dedup)
        && (data_start == (size_t) -1
            || wh_json_validate(ctx->body, ctx->body_len, &jerr) == 0))
    {
        return NGX_DECLINED;
    }

    if (wh_json_parse(&ctx->mem, b->data, b->len, doc, &jerr) != 0) {
        return ngx_http_webhook_check_data(r, ctx, data_start, &jerr, 0);
    }

    ctx->context_val.doc = doc;
    ctx->context_val.tok = 0;

    if (data_start != (size_t) -1) {
        return ngx_http_webhook_check_data(r, ctx, data_start, NULL, 1);
    }

    return NGX_DECLINED;
}


/*
 * Writes "data".  For JSON, *data_start is where the body was copied; it
 * is validated when the whole context is tokenized.  Otherwise -1.
 */

static ngx_int_t
ngx_http_webhook_add_data(ngx_http_request_t *r, ngx_http_webhook_ctx_t *ctx,
    size_t *data_start)
{
    char         err[128];
    size_t       blen;
    wh_buf_t    *b;
    wh_media_t   media;
    const char  *boundary;

    b = &ctx->context;
    *data_start = (size_t) -1;

    if (ngx_http_webhook_skip_ws(ctx->body, 0, ctx->body_len)
        == ctx->body_len)
    {
        wh_buf_adds(b, "null");
        return NGX_DECLINED;
    }

    boundary = NULL;
    blen = 0;

    if (r->headers_in.content_type == NULL) {
        /* senders that omit the type almost always send JSON */
        media = WH_MEDIA_JSON;

    } else {
        media = wh_media_type((char *) r->headers_in.content_type->value.data,
                              r->headers_in.content_type->value.len,
                              &boundary, &blen);
    }

    switch (media) {

    case WH_MEDIA_NONE:
    case WH_MEDIA_JSON:
        *data_start = b->len;
        wh_buf_add(b, ctx->body, ctx->body_len);
        return NGX_DECLINED;

    case WH_MEDIA_FORM:
        if (wh_form_to_json(b, ctx->body, ctx->body_len, err, sizeof(err))
            != 0)
        {
            return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST,
                                          "invalid_body",
                                          "invalid form body: %s", err);
        }

        return NGX_DECLINED;

    case WH_MEDIA_MULTIPART:
        if (boundary == NULL) {
            return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST,
                                          "invalid_body",
                                          "multipart: missing or invalid "
                                          "boundary parameter");
        }

        if (wh_multipart_to_json(b, boundary, blen, ctx->body, ctx->body_len,
                                 1000, err, sizeof(err))
            != 0)
        {
            return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST,
                                          "invalid_body", "%s", err);
        }

        return NGX_DECLINED;

    case WH_MEDIA_TEXT:
        wh_json_escape(b, ctx->body, ctx->body_len);
        return NGX_DECLINED;

    default: /* WH_MEDIA_UNSUPPORTED */
        return ngx_http_webhook_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                      "unsupported_media_type",
                                      "unsupported Content-Type \"%V\": "
                                      "send JSON, a form, multipart or text",
                                      &r->headers_in.content_type->value);
    }
}


/*
 * The body went into the context verbatim, so a JSON error is found
 * while tokenizing the context: report it relative to the body.  A parse
 * that succeeded must still have "data" span exactly the body, or the
 * body closed the value early and went on (`1,"ip":"x"`).
 */

static ngx_int_t
ngx_http_webhook_check_data(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, size_t start, wh_json_err_t *err,
    int parsed)
{
    size_t                end, off, lead;
    uint32_t              tok;
    const char           *body;
    wh_json_err_t         e;
    const wh_json_doc_t  *doc;

    body = ctx->context.data + start;

    if (start == (size_t) -1) {
        /* only JSON bodies can break the context */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "webhook: context is not JSON: %s", err->msg);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = start + ctx->body_len;

    if (!parsed) {
        e = *err;

        if (e.offset >= end || e.offset < start) {
            off = ctx->body_len;
            ngx_cpystrn((u_char *) e.msg, (u_char *) "unexpected end of input",
                        sizeof(e.msg));

        } else {
            off = e.offset - start;
        }

        goto invalid;
    }

    doc = ctx->context_val.doc;
    tok = wh_json_get(doc, 0, "data", 4);

    lead = ngx_http_webhook_skip_ws(body, 0, ctx->body_len);

    if (tok != 0 && doc->toks[tok].start == start + lead) {
        off = ngx_http_webhook_skip_ws(body, doc->toks[tok].start
                                             + doc->toks[tok].len - start,
                                       ctx->body_len);

        if (off == ctx->body_len) {
            return NGX_DECLINED;
        }

    } else {
        off = lead;
    }

    ngx_cpystrn((u_char *) e.msg, (u_char *) "unexpected data after the value",
                sizeof(e.msg));

invalid:

    e.offset = off;
    wh_json_err_position(body, ctx->body_len, &e);

    return ngx_http_webhook_error(r, NGX_HTTP_BAD_REQUEST, "invalid_body",
                                  "invalid JSON: %s at line %uz, column %uz",
                                  e.msg, e.line, e.column);
}


/*
 * Lower-cased names; repeated headers joined with ", " (as Node does), in
 * the order they came.  Each header links to the next one of its name;
 * the links come from a sort when there are many headers, so that a
 * request with thousands of them costs O(n log n), not O(n^2).
 */

typedef struct {
    ngx_table_elt_t   *h;
    ngx_uint_t         idx;
} ngx_http_webhook_hdr_t;


static ngx_inline ngx_uint_t
ngx_http_webhook_same_header(ngx_table_elt_t *a, ngx_table_elt_t *b)
{
    return a->hash == b->hash && a->key.len == b->key.len
           && ngx_strncmp(a->lowcase_key, b->lowcase_key, a->key.len) == 0;
}


static int ngx_libc_cdecl
ngx_http_webhook_header_cmp(const void *one, const void *two)
{
    int                            rc;
    const ngx_http_webhook_hdr_t  *a = one, *b = two;

    if (a->h->hash != b->h->hash) {
        return a->h->hash < b->h->hash ? -1 : 1;
    }

    if (a->h->key.len != b->h->key.len) {
        return a->h->key.len < b->h->key.len ? -1 : 1;
    }

    rc = ngx_memcmp(a->h->lowcase_key, b->h->lowcase_key, a->h->key.len);
    if (rc != 0) {
        return rc;
    }

    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}


/*
 * next[i]: the index of the next header named as hs[i], or n; dup[i]: it
 * is not the first of its name.  A few headers are compared pairwise.
 */

static ngx_int_t
ngx_http_webhook_header_links(ngx_pool_t *pool, ngx_table_elt_t **hs,
    ngx_uint_t n, ngx_uint_t *next, u_char *dup)
{
    ngx_uint_t               i, j, last;
    ngx_http_webhook_hdr_t  *sorted;

    for (i = 0; i < n; i++) {
        next[i] = n;
        dup[i] = 0;
    }

    if (n <= 16) {
        for (i = 0; i < n; i++) {
            if (dup[i]) {
                continue;
            }

            last = i;

            for (j = i + 1; j < n; j++) {
                if (ngx_http_webhook_same_header(hs[i], hs[j])) {
                    next[last] = j;
                    dup[j] = 1;
                    last = j;
                }
            }
        }

        return NGX_OK;
    }

    sorted = ngx_palloc(pool, n * sizeof(ngx_http_webhook_hdr_t));
    if (sorted == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        sorted[i].h = hs[i];
        sorted[i].idx = i;
    }

    ngx_qsort(sorted, n, sizeof(ngx_http_webhook_hdr_t),
              ngx_http_webhook_header_cmp);

    for (i = 0; i + 1 < n; i++) {
        if (ngx_http_webhook_same_header(sorted[i].h, sorted[i + 1].h)) {
            next[sorted[i].idx] = sorted[i + 1].idx;
            dup[sorted[i + 1].idx] = 1;
        }
    }

    return NGX_OK;
}


static void
ngx_http_webhook_add_headers(ngx_http_request_t *r, wh_buf_t *b,
    ngx_array_t *redact)
{
    u_char            *p, *dup;
    size_t             len;
    ngx_str_t         *rn;
    ngx_uint_t         i, j, k, n, first, *next;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h, **hs;

    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    hs = ngx_palloc(r->pool, (n + 1) * (sizeof(ngx_table_elt_t *)
                                        + sizeof(ngx_uint_t) + 1));
    if (hs == NULL) {
        b->failed = 1;
        return;
    }

    next = (ngx_uint_t *) (hs + n + 1);
    dup = (u_char *) (next + n + 1);

    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash != 0) {
                hs[n++] = &h[i];
            }
        }
    }

    if (ngx_http_webhook_header_links(r->pool, hs, n, next, dup) != NGX_OK) {
        b->failed = 1;
        return;
    }

    wh_buf_addc(b, '{');
    first = 1;

    for (i = 0; i < n; i++) {

        if (dup[i]) {
            continue;      /* written with its first occurrence */
        }

        if (!first) {
            wh_buf_addc(b, ',');
        }

        first = 0;

        wh_json_escape(b, (char *) hs[i]->lowcase_key, hs[i]->key.len);
        wh_buf_addc(b, ':');

        if (redact) {
            rn = redact->elts;

            for (k = 0; k < redact->nelts; k++) {
                if (rn[k].len == hs[i]->key.len
                    && ngx_strncmp(rn[k].data, hs[i]->lowcase_key,
                                   rn[k].len) == 0)
                {
                    break;
                }
            }

            if (k < redact->nelts) {
                wh_buf_adds(b, "\"[redacted]\"");
                continue;
            }
        }

        len = hs[i]->value.len;

        for (j = next[i]; j < n; j = next[j]) {
            len += 2 + hs[j]->value.len;
        }

        if (len == hs[i]->value.len) {
            wh_json_escape(b, (char *) hs[i]->value.data, len);
            continue;
        }

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        len = ngx_cpymem(p, hs[i]->value.data, hs[i]->value.len) - p;

        for (j = next[i]; j < n; j = next[j]) {
            p[len++] = ',';
            p[len++] = ' ';
            len = ngx_cpymem(p + len, hs[j]->value.data, hs[j]->value.len)
                  - p;
        }

        wh_json_escape(b, (char *) p, len);
    }

    wh_buf_addc(b, '}');
}


static void
ngx_http_webhook_add_params(ngx_http_request_t *r, wh_buf_t *b)
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

    wh_buf_addc(b, '{');

    if (re == NULL) {
        wh_buf_addc(b, '}');
        return;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);
    var = cmcf->variables.elts;

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
#else
    wh_buf_adds(b, "{}");
#endif
}
