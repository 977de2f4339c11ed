/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "mail" node: a message built in the run's memory (RFC 5322 headers,
 * RFC 2047 encoded words, quoted-printable parts) sent to --smtp as one
 * transfer of wk_xfer.h.  Addresses and header text never carry a line
 * break into the message.
 */

#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "wk.h"
#include "wk_mail.h"
#include "wk_xfer.h"


/* An address of a mail: as the header shows it, and the bare one. */
typedef struct {
    const char         *text;
    size_t              text_len;
    const char         *addr;
    size_t              addr_len;
} wk_maddr_t;

typedef struct {
    wk_maddr_t         *a;
    size_t              n;
    size_t              cap;
} wk_maddrs_t;


static void
wk_mail_done(wk_xfer_t *x, CURLcode code)
{
    int            status, ignore_fail;
    wh_mem_t      *mem;
    wh_val_t       result;
    wk_run_t      *run;
    wk_worker_t   *w;
    const char    *error;
    wh_json_err_t  jerr;

    mem = x->mem;
    result = wh_val_null();
    error = NULL;
    status = WH_STATUS_RESOLVED;

    if (code != CURLE_OK) {
        status = WH_STATUS_ERROR;
        error = wk_fmt(mem, "mail failed: %s",
                       x->errbuf[0] ? x->errbuf
                       : curl_easy_strerror(code));

    } else if (wh_val_parse(mem, x->accepted, strlen(x->accepted), 0,
                            &result, &jerr)
               != 0)
    {
        status = WH_STATUS_ERROR;
        error = "mail failed: out of memory";
        result = wh_val_null();
    }

    w = x->w;
    run = x->run;
    ignore_fail = x->ignore_fail;
    wk_xfer_free(x);

    wk_http_end(w, run, ignore_fail, status, result, error);
}


static int
wk_is_ascii(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] >= 0x80) {
            return 0;
        }
    }

    return 1;
}


/*
 * RFC 2047 encoded words of UTF-8 text, folded between words; a word
 * never splits a character.
 */

static void
wk_mail_encode_words(wh_buf_t *b, const char *s, size_t len)
{
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    size_t          i, n, k;
    uint32_t        v;
    const uint8_t  *p;

    p = (const uint8_t *) s;
    i = 0;

    while (i < len) {
        n = len - i < 45 ? len - i : 45;

        /* back off to the start of a character */
        while (i + n < len && n > 1 && (p[i + n] & 0xc0) == 0x80) {
            n--;
        }

        if (i) {
            wh_buf_adds(b, "\r\n ");
        }

        wh_buf_adds(b, "=?UTF-8?B?");

        for (k = 0; k < n; k += 3) {
            v = (uint32_t) p[i + k] << 16;
            v |= k + 1 < n ? (uint32_t) p[i + k + 1] << 8 : 0;
            v |= k + 2 < n ? p[i + k + 2] : 0;

            wh_buf_addc(b, b64[(v >> 18) & 63]);
            wh_buf_addc(b, b64[(v >> 12) & 63]);
            wh_buf_addc(b, k + 1 < n ? b64[(v >> 6) & 63] : '=');
            wh_buf_addc(b, k + 2 < n ? b64[v & 63] : '=');
        }

        wh_buf_adds(b, "?=");
        i += n;
    }
}


/* Header text: line breaks become spaces, non-ASCII encoded words. */

static void
wk_mail_header_text(wh_buf_t *b, const char *s, size_t len)
{
    size_t  i;

    if (!wk_is_ascii(s, len) || len > 900) {
        wk_mail_encode_words(b, s, len);
        return;
    }

    for (i = 0; i < len; i++) {
        wh_buf_addc(b, (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i]);
    }
}


/* Quoted-printable body: CRLF lines of 76 characters at most. */

static void
wk_mail_qp(wh_buf_t *b, const char *s, size_t len)
{
    int            ws, brk;
    size_t         i, col, elen;
    char           enc[4];
    unsigned char  c;

    static const char  hex[] = "0123456789ABCDEF";

    col = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
            continue;
        }

        if (c == '\n' || c == '\r') {
            wh_buf_adds(b, "\r\n");
            col = 0;
            continue;
        }

        ws = (c == ' ' || c == '\t');
        brk = (i + 1 == len || s[i + 1] == '\n' || s[i + 1] == '\r');

        if (((c >= 33 && c <= 126 && c != '=') || (ws && !brk))
            && !(c == '.' && col == 0))
        {
            enc[0] = (char) c;
            elen = 1;

        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            elen = 3;
        }

        if (col + elen > 75) {
            wh_buf_adds(b, "=\r\n");
            col = 0;

            if (elen == 1 && c == '.') {
                enc[0] = '=';
                enc[1] = '2';
                enc[2] = 'E';
                elen = 3;
            }
        }

        wh_buf_add(b, enc, elen);
        col += elen;
    }

    wh_buf_adds(b, "\r\n");
}


static void
wk_mail_part_header(wh_buf_t *b, const char *type)
{
    wh_buf_printf(b, "Content-Type: %s; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  type);
}


static int
wk_maddrs_add(wh_mem_t *mem, wk_maddrs_t *l, const char *s, size_t len)
{
    size_t       cap;
    wk_maddr_t  *a, *na;
    const char  *lt, *gt;

    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }

    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }

    if (len == 0) {
        return 0;
    }

    if (l->n == l->cap) {
        cap = l->cap ? 2 * l->cap : 8;
        na = wh_alloc(mem, cap * sizeof(wk_maddr_t));
        if (na == NULL) {
            return -1;
        }

        if (l->n) {
            memcpy(na, l->a, l->n * sizeof(wk_maddr_t));
        }

        l->a = na;
        l->cap = cap;
    }

    a = &l->a[l->n];
    a->text = s;
    a->text_len = len;
    a->addr = s;
    a->addr_len = len;

    lt = memrchr(s, '<', len);

    if (lt != NULL) {
        gt = memchr(lt, '>', s + len - lt);
        if (gt == NULL) {
            return -1;
        }

        a->addr = lt + 1;
        a->addr_len = gt - lt - 1;
    }

    if (a->addr_len == 0 || wk_has_ctl(s, len)) {
        return -1;
    }

    for (cap = 0; cap < a->addr_len; cap++) {
        if (a->addr[cap] <= ' ' || strchr("<>,;\"", a->addr[cap]) != NULL)
        {
            return -1;
        }
    }

    l->n++;

    return 0;
}


/* "a@x, Name <b@y>" or ["a@x", ...]: commas in quotes do not split. */

static const char *
wk_mail_addrs(wh_mem_t *mem, wh_val_t v, const char *what, wk_maddrs_t *l)
{
    int          quoted, angle;
    size_t       len, i, start;
    uint32_t     k, n;
    wh_val_t     item;
    const char  *s;

    n = 1;
    item = v;

    if (wh_val_type(v) == WH_JSON_MISSING || wh_val_type(v) == WH_JSON_NULL)
    {
        return NULL;
    }

    if (wh_val_type(v) == WH_JSON_ARRAY) {
        n = wh_val_size(v);
    }

    for (k = 0; k < n; k++) {
        if (wh_val_type(v) == WH_JSON_ARRAY) {
            item = wh_val_index(v, k);
        }

        if (wh_val_type(item) == WH_JSON_NULL) {
            continue;
        }

        if (wh_val_type(item) != WH_JSON_STRING
            || wh_val_str(mem, item, &s, &len) != 0)
        {
            return wk_fmt(mem, "mail failed: \"%s\" is not an address "
                          "or a list of addresses", what);
        }

        quoted = 0;
        angle = 0;
        start = 0;

        for (i = 0; i <= len; i++) {
            if (i < len) {
                if (s[i] == '"') {
                    quoted = !quoted;

                } else if (s[i] == '<') {
                    angle = 1;

                } else if (s[i] == '>') {
                    angle = 0;
                }

                if (s[i] != ',' || quoted || angle) {
                    continue;
                }
            }

            if (wk_maddrs_add(mem, l, s + start, i - start) != 0) {
                return wk_fmt(mem, "mail failed: invalid address "
                              "\"%.*s\" in \"%s\"",
                              (int) (i - start > 128 ? 128 : i - start),
                              s + start, what);
            }

            start = i + 1;
        }
    }

    return NULL;
}


/* An address header, folded between addresses. */

static void
wk_mail_addr_header(wh_buf_t *b, const char *name, const wk_maddrs_t *l)
{
    size_t             i, col, start;
    const char        *lt;
    const wk_maddr_t  *a;

    wh_buf_printf(b, "%s: ", name);
    col = strlen(name) + 2;

    for (i = 0; i < l->n; i++) {
        a = &l->a[i];

        if (i) {
            wh_buf_addc(b, ',');

            if (col + a->text_len > 76) {
                wh_buf_adds(b, "\r\n ");
                col = 1;

            } else {
                wh_buf_addc(b, ' ');
                col += 2;
            }
        }

        start = b->len;

        if (!wk_is_ascii(a->text, a->text_len) && a->addr != a->text) {
            /* the display name is encoded, the address stays as it is */
            lt = a->addr - 1;
            wk_mail_encode_words(b, a->text, lt - a->text);
            wh_buf_adds(b, " <");
            wh_buf_add(b, a->addr, a->addr_len);
            wh_buf_addc(b, '>');

        } else {
            wh_buf_add(b, a->text, a->text_len);
        }

        col += b->len - start;
    }

    wh_buf_adds(b, "\r\n");
}


static size_t
wk_mail_read(char *buf, size_t size, size_t n, void *data)
{
    size_t      len;
    wk_xfer_t  *x;

    x = data;
    len = size * n;

    if (len > x->msg_len - x->msg_pos) {
        len = x->msg_len - x->msg_pos;
    }

    memcpy(buf, x->msg + x->msg_pos, len);
    x->msg_pos += len;

    return len;
}


static int
wk_mail_rcpts(wk_xfer_t *x, const wk_maddrs_t *l, wh_buf_t *acc)
{
    size_t              i;
    wh_buf_t            b;
    struct curl_slist  *sl;

    for (i = 0; i < l->n; i++) {
        wh_buf_init(&b, x->mem, l->a[i].addr_len + 3);
        wh_buf_addc(&b, '<');
        wh_buf_add(&b, l->a[i].addr, l->a[i].addr_len);
        wh_buf_addc(&b, '>');

        sl = b.failed ? NULL : curl_slist_append(x->rcpts, b.data);
        if (sl == NULL) {
            return -1;
        }

        x->rcpts = sl;

        if (!acc->failed && acc->data[acc->len - 1] != '[') {
            wh_buf_addc(acc, ',');
        }

        wh_json_escape(acc, l->a[i].addr, l->a[i].addr_len);
    }

    return 0;
}


int
wk_mail_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    int            ignore_fail, has_text, has_html;
    char           id[40], date[64], boundary[64];
    char          *q;
    size_t         len, tlen, hlen, slen;
    time_t         now;
    wh_val_t       cfg;
    wh_buf_t       b, acc;
    wh_mem_t      *mem;
    struct tm      tm;
    wk_xfer_t     *x;
    wh_scope_t    *scope;
    wk_maddrs_t    from, to, cc, bcc;
    const char    *url, *err, *text, *html, *subject, *fromtext;
    long           use_ssl;

    scope = wh_exec_scope(ex);
    mem = scope->mem;
    ignore_fail = json_is_true(json_object_get(node->config, "ignoreFail"));
    x = NULL;

    memset(&from, 0, sizeof(wk_maddrs_t));
    memset(&to, 0, sizeof(wk_maddrs_t));
    memset(&cc, 0, sizeof(wk_maddrs_t));
    memset(&bcc, 0, sizeof(wk_maddrs_t));

    if (w->conf->smtp == NULL || w->conf->smtp[0] == '\0') {
        err = "mail failed: no mail server: the worker runs without --smtp";
        goto failed;
    }

    if (wh_tpl_eval(node->config_tpl, scope, &cfg) != 0) {
        err = "mail failed: out of memory";
        goto failed;
    }

    /* "?starttls" is ours: libcurl would take it for a part of the path */
    url = wh_memdup(mem, w->conf->smtp, strlen(w->conf->smtp));
    if (url == NULL) {
        err = "mail failed: out of memory";
        goto failed;
    }

    use_ssl = CURLUSESSL_NONE;
    q = strchr(url, '?');

    if (q != NULL) {
        if (strcmp(q + 1, "starttls") != 0) {
            err = "mail failed: the --smtp URL may only end with ?starttls";
            goto failed;
        }

        *q = '\0';
        use_ssl = CURLUSESSL_ALL;
    }

    if (strncasecmp(url, "smtp://", 7) != 0
        && strncasecmp(url, "smtps://", 8) != 0)
    {
        err = "mail failed: the --smtp URL is not smtp:// or smtps://";
        goto failed;
    }

    /* addresses */

    if (wk_cfg_str(mem, cfg, "from", WK_MAIL_FROM, &fromtext, &len) != 0) {
        err = "mail failed: out of memory";
        goto failed;
    }

    if (wk_maddrs_add(mem, &from, fromtext, len) != 0 || from.n != 1) {
        err = wk_fmt(mem, "mail failed: invalid address \"%.128s\" in "
                     "\"from\"", fromtext);
        goto failed;
    }

    err = wk_mail_addrs(mem, wh_val_get(cfg, "to", 2), "to", &to);
    if (err == NULL) {
        err = wk_mail_addrs(mem, wh_val_get(cfg, "cc", 2), "cc", &cc);
    }

    if (err == NULL) {
        err = wk_mail_addrs(mem, wh_val_get(cfg, "bcc", 3), "bcc", &bcc);
    }

    if (err != NULL) {
        goto failed;
    }

    if (to.n + cc.n + bcc.n == 0) {
        err = "mail failed: no recipient (\"to\", \"cc\" or \"bcc\")";
        goto failed;
    }

    /* contents */

    if (wk_cfg_str(mem, cfg, "subject", "", &subject, &slen) != 0
        || wk_cfg_str(mem, cfg, "text", "", &text, &tlen) != 0
        || wk_cfg_str(mem, cfg, "html", "", &html, &hlen) != 0)
    {
        err = "mail failed: out of memory";
        goto failed;
    }

    has_text = tlen > 0;
    has_html = hlen > 0;

    x = wk_xfer_create(w, run, mem);
    if (x == NULL) {
        err = "mail failed: cannot set up libcurl";
        goto failed;
    }

    x->done = wk_mail_done;
    x->ignore_fail = ignore_fail;

    if (wk_uuid7(id) != 0) {
        snprintf(id, sizeof(id), "%lld", (long long) wk_now_ms());
    }

    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(boundary, sizeof(boundary), "=_wh_%s", id);

    wh_buf_init(&b, mem, tlen + tlen / 8 + hlen + hlen / 8 + slen + 1024);
    wh_buf_printf(&b, "Date: %s\r\n", date);
    wk_mail_addr_header(&b, "From", &from);

    if (to.n) {
        wk_mail_addr_header(&b, "To", &to);
    }

    if (cc.n) {
        wk_mail_addr_header(&b, "Cc", &cc);
    }

    wh_buf_adds(&b, "Subject: ");
    wk_mail_header_text(&b, subject, slen);
    wh_buf_printf(&b, "\r\nMessage-ID: <%s@webhook-worker>\r\n"
                  "MIME-Version: 1.0\r\n", id);

    if (has_text && has_html) {
        wh_buf_printf(&b, "Content-Type: multipart/alternative;\r\n"
                      " boundary=\"%s\"\r\n\r\n", boundary);
        wh_buf_printf(&b, "--%s\r\n", boundary);
        wk_mail_part_header(&b, "text/plain");
        wk_mail_qp(&b, text, tlen);
        wh_buf_printf(&b, "--%s\r\n", boundary);
        wk_mail_part_header(&b, "text/html");
        wk_mail_qp(&b, html, hlen);
        wh_buf_printf(&b, "--%s--\r\n", boundary);

    } else if (has_html) {
        wk_mail_part_header(&b, "text/html");
        wk_mail_qp(&b, html, hlen);

    } else {
        wk_mail_part_header(&b, "text/plain");
        wk_mail_qp(&b, text, tlen);
    }

    wh_buf_init(&acc, mem, 64);
    wh_buf_adds(&acc, "{\"accepted\":[");

    if (wk_mail_rcpts(x, &to, &acc) != 0 || wk_mail_rcpts(x, &cc, &acc) != 0
        || wk_mail_rcpts(x, &bcc, &acc) != 0)
    {
        err = "mail failed: out of memory";
        goto failed;
    }

    wh_buf_adds(&acc, "]}");

    if (b.failed || acc.failed) {
        err = "mail failed: out of memory";
        goto failed;
    }

    x->msg = b.data;
    x->msg_len = b.len;
    x->accepted = acc.data;

    wh_buf_init(&b, mem, from.a[0].addr_len + 3);
    wh_buf_addc(&b, '<');
    wh_buf_add(&b, from.a[0].addr, from.a[0].addr_len);
    wh_buf_addc(&b, '>');

    if (b.failed) {
        err = "mail failed: out of memory";
        goto failed;
    }

    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(x->easy, CURLOPT_USE_SSL, use_ssl);
    curl_easy_setopt(x->easy, CURLOPT_MAIL_FROM, b.data);
    curl_easy_setopt(x->easy, CURLOPT_MAIL_RCPT, x->rcpts);
    curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, wk_mail_read);
    curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t) x->msg_len);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
                     (long) wk_cfg_ms(cfg, WK_MAIL_TIMEOUT));

    if (wk_xfer_go(x) != 0) {
        err = "mail failed: cannot start the transfer";
        goto failed;
    }

    return 1;

failed:

    if (x != NULL) {
        wk_xfer_free(x);
    }

    wk_http_end(w, run, ignore_fail, WH_STATUS_ERROR, wh_val_null(), err);

    return 0;
}
