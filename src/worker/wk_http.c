/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "request" node and the transfers it shares with "mail" (wk_mail.c)
 * on libcurl's multi interface.
 *
 * One multi handle serves the process.  Its socket callback turns
 * libcurl's interest in a socket into a watch of the worker's poll()
 * loop (wk_io_add() keyed by a small per-socket record), its timer
 * callback into a timer (wk_timer_add()); both handlers feed
 * curl_multi_socket_action() and then collect finished transfers with
 * curl_multi_info_read().  Nothing here blocks: name resolution is
 * libcurl's threaded resolver, and a node's transfer ends through
 * wk_run_node_done() from whichever handler saw it finish.
 *
 * A transfer belongs to its run: it holds the run (wk_run_hold()) so
 * that a run dropped while the transfer is in flight cancels it first.
 * Request bodies and mail messages live in the run's memory, responses
 * in malloc'd buffers until the result is written to the run's memory.
 */

#define _GNU_SOURCE

#include <poll.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "wk.h"
#include "wk_http.h"
#include "wk_node.h"
#include "wk_xfer.h"


#define WK_HTTP_AGENT      "webhook-worker"


typedef struct {
    curl_socket_t       fd;
} wk_sock_t;

/* One header line of a response: name lower-cased, value trimmed. */
typedef struct {
    const char         *name;
    size_t              name_len;
    const char         *value;
    size_t              value_len;
    int                 done;
} wk_hline_t;



static CURLM        *wk_multi;
static wk_worker_t  *wk_multi_w;
static int           wk_timer;          /* its address keys the watch */


static void wk_http_check(void);


/* malloc'd buffers for what a response may make large */

static int
wk_mbuf_add(wk_mbuf_t *m, const char *p, size_t len)
{
    char    *d;
    size_t   cap;

    if (m->cap - m->len <= len) {
        cap = m->cap ? m->cap : 4096;
        while (cap - m->len <= len) {
            cap *= 2;
        }

        d = realloc(m->data, cap);
        if (d == NULL) {
            return -1;
        }

        m->data = d;
        m->cap = cap;
    }

    memcpy(m->data + m->len, p, len);
    m->len += len;
    m->data[m->len] = '\0';

    return 0;
}


/*
 * Ends a node.  With "ignoreFail" a failure resolves it: the run goes on
 * with the result, the job keeps the error.
 */

void
wk_http_end(wk_worker_t *w, wk_run_t *run, int ignore_fail, int status,
    wh_val_t result, const char *error)
{
    if (status < 0 && ignore_fail) {
        status = WH_STATUS_RESOLVED;
    }

    wk_run_node_done(w, run, status, result, error);
}


/* The multi handle and its callbacks */

static void
wk_http_on_sock(wk_worker_t *w, void *data, int revents)
{
    int            mask, running;
    wk_sock_t     *sk;
    curl_socket_t  fd;

    sk = data;
    fd = sk->fd;
    mask = 0;

    if (revents & (POLLIN | POLLHUP)) {
        mask |= CURL_CSELECT_IN;
    }

    if (revents & POLLOUT) {
        mask |= CURL_CSELECT_OUT;
    }

    if (revents & (POLLERR | POLLNVAL)) {
        mask |= CURL_CSELECT_ERR;
    }

    /* sk may be freed in there (CURL_POLL_REMOVE) */
    curl_multi_socket_action(wk_multi, fd, mask, &running);

    wk_http_check();
}


static int
wk_http_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *sockp)
{
    short         events;
    wk_sock_t    *sk;
    wk_worker_t  *w;

    w = wk_multi_w;
    sk = sockp;

    if (what == CURL_POLL_REMOVE) {
        if (sk != NULL) {
            wk_io_del(w, sk);
            free(sk);
        }

        return 0;
    }

    if (sk == NULL) {
        sk = malloc(sizeof(wk_sock_t));
        if (sk == NULL) {
            return -1;
        }

        sk->fd = fd;
        curl_multi_assign(wk_multi, fd, sk);

    } else {
        wk_io_del(w, sk);
    }

    events = 0;

    if (what & CURL_POLL_IN) {
        events |= POLLIN;
    }

    if (what & CURL_POLL_OUT) {
        events |= POLLOUT;
    }

    return wk_io_add(w, fd, events, 0, wk_http_on_sock, sk);
}


static void
wk_http_on_timer(wk_worker_t *w, void *data, int revents)
{
    int  running;

    wk_io_del(w, &wk_timer);

    curl_multi_socket_action(wk_multi, CURL_SOCKET_TIMEOUT, 0, &running);

    wk_http_check();
}


static int
wk_http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    wk_io_del(wk_multi_w, &wk_timer);

    if (timeout_ms < 0) {
        return 0;
    }

    return wk_timer_add(wk_multi_w, wk_now_ms() + timeout_ms,
                        wk_http_on_timer, &wk_timer);
}


static int
wk_http_init(wk_worker_t *w)
{
    if (wk_multi != NULL) {
        return 0;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }

    wk_multi = curl_multi_init();
    if (wk_multi == NULL) {
        return -1;
    }

    wk_multi_w = w;

    curl_multi_setopt(wk_multi, CURLMOPT_SOCKETFUNCTION, wk_http_sock_cb);
    curl_multi_setopt(wk_multi, CURLMOPT_TIMERFUNCTION, wk_http_timer_cb);

    return 0;
}


/* Transfers */

void
wk_xfer_free(wk_xfer_t *x)
{
    if (x->easy != NULL) {
        curl_easy_cleanup(x->easy);
    }

    if (x->url != NULL) {
        curl_url_cleanup(x->url);
    }

    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->rcpts);
    free(x->body.data);
    free(x->hdrs.data);
    free(x);
}


void
wk_xfer_cancel(wk_worker_t *w, wk_hold_t *h)
{
    wk_xfer_t  *x;

    x = (wk_xfer_t *) h;

    curl_multi_remove_handle(wk_multi, x->easy);
    wk_xfer_free(x);
}


wk_xfer_t *
wk_xfer_create(wk_worker_t *w, wk_run_t *run, wh_mem_t *mem)
{
    wk_xfer_t  *x;

    if (wk_http_init(w) != 0) {
        return NULL;
    }

    x = calloc(1, sizeof(wk_xfer_t));
    if (x == NULL) {
        return NULL;
    }

    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        free(x);
        return NULL;
    }

    x->w = w;
    x->run = run;
    x->mem = mem;

    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);

    return x;
}


int
wk_xfer_go(wk_xfer_t *x)
{
    if (curl_multi_add_handle(wk_multi, x->easy) != CURLM_OK) {
        return -1;
    }

    wk_run_hold(x->run, &x->hold);

    return 0;
}


/*
 * Every socket of a request node is opened here, after name resolution
 * and for each redirect, so the SSRF policy sees the very address that is
 * connected: DNS answers, rebinding and Location headers change nothing.
 */
static curl_socket_t
wk_http_open_socket(void *data, curlsocktype purpose,
    struct curl_sockaddr *a)
{
    wk_xfer_t  *x;

    x = data;

    if (purpose != CURLSOCKTYPE_IPCXN
        || !wk_net_allowed(&x->w->conf->net, &a->addr, a->addrlen))
    {
        wk_net_ntop(&a->addr, x->refused, sizeof(x->refused));
        x->last_refused = 1;
        return CURL_SOCKET_BAD;
    }

    /* a refused IPv6 then an allowed IPv4 that fails: a connect error */
    x->last_refused = 0;

    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}


/* The request's response */

static size_t
wk_http_on_body(char *p, size_t size, size_t n, void *data)
{
    size_t      len;
    wk_xfer_t  *x;

    x = data;
    len = size * n;

    if (x->body.len + len > WK_HTTP_MAX_BODY) {
        x->too_big = 1;
        return 0;
    }

    if (wk_mbuf_add(&x->body, p, len) != 0) {
        x->nomem = 1;
        return 0;
    }

    return len;
}


static size_t
wk_http_on_header(char *p, size_t size, size_t n, void *data)
{
    size_t      len;
    wk_xfer_t  *x;

    x = data;
    len = size * n;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or a 100): its own headers */
        x->hdrs.len = 0;
        return len;
    }

    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        len--;
    }

    if (len == 0 || memchr(p, ':', len) == NULL || p[0] == ' '
        || p[0] == '\t' || memchr(p, '\n', len) != NULL)
    {
        return size * n;
    }

    if (x->hdrs.len + len + 1 > WK_HTTP_MAX_BODY) {
        x->too_big = 1;
        return 0;
    }

    if (wk_mbuf_add(&x->hdrs, p, len) != 0
        || wk_mbuf_add(&x->hdrs, "\n", 1) != 0)
    {
        x->nomem = 1;
        return 0;
    }

    return size * n;
}


static int
wk_http_is_ows(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}


/*
 * The headers as an object: names lower-cased, the values of a repeated
 * name joined with ", " (set-cookie, which cannot be joined, an array).
 */

static int
wk_http_headers_json(wk_xfer_t *x, wh_buf_t *b)
{
    char        *p, *end, *nl, *colon;
    size_t       i, j, n, k;
    wk_mbuf_t    joined;
    wk_hline_t  *lines, *l;

    n = 0;

    for (i = 0; i < x->hdrs.len; i++) {
        n += x->hdrs.data[i] == '\n';
    }

    lines = calloc(n + 1, sizeof(wk_hline_t));
    if (lines == NULL) {
        return -1;
    }

    p = x->hdrs.data;
    end = p + x->hdrs.len;
    n = 0;

    while (p < end) {
        nl = memchr(p, '\n', end - p);
        colon = memchr(p, ':', nl - p);

        l = &lines[n++];
        l->name = p;
        l->name_len = colon - p;

        while (l->name_len && wk_http_is_ows(p[l->name_len - 1])) {
            l->name_len--;
        }

        for (i = 0; i < l->name_len; i++) {
            p[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' + 'a' : p[i];
        }

        l->value = colon + 1;

        while (l->value < nl && wk_http_is_ows(*l->value)) {
            l->value++;
        }

        l->value_len = nl - l->value;

        while (l->value_len && wk_http_is_ows(l->value[l->value_len - 1])) {
            l->value_len--;
        }

        p = nl + 1;
    }

    memset(&joined, 0, sizeof(wk_mbuf_t));
    wh_buf_addc(b, '{');
    k = 0;

    for (i = 0; i < n; i++) {
        if (lines[i].done) {
            continue;
        }

        if (k++) {
            wh_buf_addc(b, ',');
        }

        wh_json_escape(b, lines[i].name, lines[i].name_len);
        wh_buf_addc(b, ':');

        if (lines[i].name_len == 10
            && memcmp(lines[i].name, "set-cookie", 10) == 0)
        {
            wh_buf_addc(b, '[');

            for (j = i; j < n; j++) {
                if (lines[j].name_len == 10
                    && memcmp(lines[j].name, "set-cookie", 10) == 0)
                {
                    if (j != i) {
                        wh_buf_addc(b, ',');
                    }

                    wh_json_escape(b, lines[j].value, lines[j].value_len);
                    lines[j].done = 1;
                }
            }

            wh_buf_addc(b, ']');
            continue;
        }

        joined.len = 0;

        for (j = i; j < n; j++) {
            if (lines[j].name_len != lines[i].name_len
                || memcmp(lines[j].name, lines[i].name, lines[i].name_len)
                   != 0)
            {
                continue;
            }

            if ((j != i && wk_mbuf_add(&joined, ", ", 2) != 0)
                || wk_mbuf_add(&joined, lines[j].value, lines[j].value_len)
                   != 0)
            {
                free(joined.data);
                free(lines);
                return -1;
            }

            lines[j].done = 1;
        }

        wh_json_escape(b, joined.data ? joined.data : "", joined.len);
    }

    wh_buf_addc(b, '}');

    free(joined.data);
    free(lines);

    return 0;
}


static int
wk_is_json(const char *s, size_t len)
{
    int             rc;
    wh_mem_t        tmp;
    wh_arena_t     *arena;
    wh_json_doc_t   doc;
    wh_json_err_t   err;

    arena = wh_arena_create(0);
    if (arena == NULL) {
        return 0;
    }

    wh_arena_mem(arena, &tmp);
    rc = wh_json_parse(&tmp, s, len, &doc, &err) == 0;
    wh_arena_destroy(arena);

    return rc;
}


/* The body: its JSON when it parses as JSON, else its text. */

static void
wk_http_data_json(wk_xfer_t *x, wh_buf_t *b)
{
    wh_mem_t        tmp;
    wh_arena_t     *arena;
    wh_json_doc_t   doc;
    wh_json_err_t   err;

    if (x->body.len == 0) {
        wh_buf_adds(b, "\"\"");
        return;
    }

    arena = wh_arena_create(0);

    if (arena != NULL) {
        wh_arena_mem(arena, &tmp);

        if (wh_json_parse(&tmp, x->body.data, x->body.len, &doc, &err) == 0)
        {
            wh_json_write_compact(b, &doc, 0);
            wh_arena_destroy(arena);
            return;
        }

        wh_arena_destroy(arena);
    }

    wh_json_escape(b, x->body.data, x->body.len);
}


static void
wk_http_request_done(wk_xfer_t *x, CURLcode code)
{
    int            status, ignore_fail;
    long           http_status;
    int            permanent, refused;
    wh_buf_t       b;
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
    permanent = 0;
    refused = code != CURLE_OK && x->last_refused;

    if (refused) {
        status = WH_STATUS_ERROR;
        error = wk_fmt(mem, "request failed: the address %s is not allowed "
                       "(webhook-worker --allow-net)", x->refused);

    } else if (code != CURLE_OK) {
        status = WH_STATUS_ERROR;

        if (x->too_big || code == CURLE_FILESIZE_EXCEEDED) {
            error = wk_fmt(mem, "request failed: the response is "
                           "larger than %d bytes", WK_HTTP_MAX_BODY);

        } else if (x->nomem) {
            error = "request failed: out of memory";

        } else {
            error = wk_fmt(mem, "request failed: %s",
                           x->errbuf[0] ? x->errbuf
                           : curl_easy_strerror(code));
        }

    } else {
        http_status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http_status);

        wh_buf_init(&b, mem, x->body.len + x->hdrs.len + 256);
        wh_buf_printf(&b, "{\"status\":%ld,\"headers\":", http_status);

        if (wk_http_headers_json(x, &b) != 0) {
            b.failed = 1;
        }

        wh_buf_adds(&b, ",\"data\":");
        wk_http_data_json(x, &b);
        wh_buf_addc(&b, '}');

        if (b.failed
            || wh_val_parse(mem, b.data, b.len, 0, &result, &jerr) != 0)
        {
            status = WH_STATUS_ERROR;
            error = "request failed: out of memory";
            result = wh_val_null();

        } else if (http_status >= 400) {
            status = WH_STATUS_ERROR;
            error = wk_fmt(mem, "request failed: HTTP status %ld",
                           http_status);

            /* a client error is final; 408, 429 and 5xx may pass */
            permanent = http_status < 500 && http_status != 408
                        && http_status != 429;
        }

        if (x->only_data) {
            result = wh_val_get(result, "data", 4);
        }
    }

    w = x->w;
    run = x->run;
    ignore_fail = x->ignore_fail;
    wk_xfer_free(x);

    if (refused) {
        /* a policy refusal: final, and not hidden by ignoreFail */
        wk_run_node_final(w, run, result, error);
        return;
    }

    if (permanent && !ignore_fail) {
        wk_run_permanent(run);
    }

    wk_http_end(w, run, ignore_fail, status, result, error);
}


static void
wk_http_check(void)
{
    int         left;
    CURL       *easy;
    CURLMsg    *m;
    CURLcode    code;
    wk_xfer_t  *x;

    while ((m = curl_multi_info_read(wk_multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }

        easy = m->easy_handle;
        code = m->data.result;
        x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &x);
        curl_multi_remove_handle(wk_multi, easy);

        if (x == NULL) {
            continue;
        }

        wk_run_release(x->run, &x->hold);

        x->done(x, code);
    }
}


/* Configuration helpers */

/*
 * The text of a config member; dflt when it is missing, null or "" (no
 * default: -1).
 */

int
wk_cfg_str(wh_mem_t *mem, wh_val_t cfg, const char *name, const char *dflt,
    const char **s, size_t *len)
{
    wh_val_t  v;

    v = wh_val_get(cfg, name, strlen(name));

    if (wh_val_type(v) != WH_JSON_MISSING && wh_val_type(v) != WH_JSON_NULL)
    {
        if (wh_val_text(mem, v, s, len) != 0) {
            return -1;
        }

        if (*len || dflt == NULL) {
            return 0;
        }
    }

    if (dflt == NULL) {
        return -1;
    }

    *s = dflt;
    *len = strlen(dflt);

    return 0;
}


int64_t
wk_cfg_ms(wh_val_t cfg, int64_t dflt)
{
    double  d;

    if (wh_val_to_number(wh_val_get(cfg, "timeout", 7), &d) != 0 || d < 1) {
        return dflt;
    }

    return d > 86400000.0 ? 86400000 : (int64_t) d;
}


/* Does s[0..len) hold a byte that would end or split a header line? */

int
wk_has_ctl(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
            return 1;
        }
    }

    return 0;
}


static int
wk_is_token(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] <= ' ' || s[i] >= 127 || strchr("()<>@,;:\\\"/[]?={}",
                                                 s[i]) != NULL)
        {
            return 0;
        }
    }

    return 1;
}


/* Appends name=value urlencoded (form bodies and query strings). */

static int
wk_urlencode_pair(CURL *easy, wh_buf_t *b, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
    char  *n, *v;

    n = curl_easy_escape(easy, name, (int) nlen);
    v = curl_easy_escape(easy, value, (int) vlen);

    if (n == NULL || v == NULL) {
        curl_free(n);
        curl_free(v);
        return -1;
    }

    wh_buf_adds(b, n);
    wh_buf_addc(b, '=');
    wh_buf_adds(b, v);

    curl_free(n);
    curl_free(v);

    return 0;
}


/* A form body of an object: arrays repeat their name. */

static int
wk_form_body(wk_xfer_t *x, wh_val_t data, wh_buf_t *b)
{
    size_t       nlen, vlen;
    uint32_t     i, j, n, m;
    wh_val_t     v, item;
    const char  *name, *value;

    n = wh_val_size(data);

    for (i = 0; i < n; i++) {
        if (wh_val_str(x->mem, wh_val_member_key(data, i), &name, &nlen)
            != 0)
        {
            return -1;
        }

        v = wh_val_member_value(data, i);

        if (wh_val_type(v) == WH_JSON_ARRAY) {
            m = wh_val_size(v);

            for (j = 0; j < m; j++) {
                item = wh_val_index(v, j);

                if (wh_val_text(x->mem, item, &value, &vlen) != 0) {
                    return -1;
                }

                if (b->len) {
                    wh_buf_addc(b, '&');
                }

                if (wk_urlencode_pair(x->easy, b, name, nlen, value, vlen)
                    != 0)
                {
                    return -1;
                }
            }

            continue;
        }

        if (wh_val_text(x->mem, v, &value, &vlen) != 0) {
            return -1;
        }

        if (b->len) {
            wh_buf_addc(b, '&');
        }

        if (wk_urlencode_pair(x->easy, b, name, nlen, value, vlen) != 0) {
            return -1;
        }
    }

    return 0;
}


/* [{name, value}] pairs of a config member; NULL err when fine. */

static const char *
wk_cfg_pair(wh_mem_t *mem, wh_val_t item, const char *what,
    const char **name, size_t *nlen, const char **value, size_t *vlen)
{
    if (wh_val_type(item) != WH_JSON_OBJECT
        || wh_val_str(mem, wh_val_get(item, "name", 4), name, nlen) != 0)
    {
        return wk_fmt(mem, "request failed: an item of \"%s\" has no "
                      "name", what);
    }

    if (wh_val_text(mem, wh_val_get(item, "value", 5), value, vlen) != 0) {
        return "request failed: out of memory";
    }

    return NULL;
}

/*
 * The request node's URL (SPEC §7): request data can never change its
 * scheme, host or port.  The url's template is rendered here rather than
 * as text: its own characters, and values of $env (the operator's), are
 * copied and decide where the authority ends; any other value is
 * refused while the authority is still open, and after it is
 * percent-encoded but for RFC 3986's unreserved characters, so "/",
 * "?", "#", "@", "%" and ".." arrive as data, not as URL syntax.
 */

typedef struct {
    size_t              start;
    size_t              end;
    const char         *inner;
    size_t              inner_len;
} wk_url_span_t;

typedef struct {
    wk_url_span_t      *spans;
    size_t              n;
    size_t              cap;
} wk_url_spans_t;

typedef struct {
    wh_buf_t            b;
    int                 state;      /* 0 authority, 1 path, 2 query, 3 # */
    int                 slashes;    /* after the scheme's ':' */
} wk_url_t;


static int
wk_url_span(void *data, size_t start, size_t end, const char *inner,
    size_t inner_len)
{
    size_t           cap;
    wk_url_span_t   *s;
    wk_url_spans_t  *l;

    l = data;

    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 4;
        s = realloc(l->spans, cap * sizeof(wk_url_span_t));
        if (s == NULL) {
            return -1;
        }

        l->spans = s;
        l->cap = cap;
    }

    l->spans[l->n++] = (wk_url_span_t) { start, end, inner, inner_len };

    return 0;
}


/* URL text copied as it is: it moves the state past the authority. */
static void
wk_url_raw(wk_url_t *u, const char *p, size_t len)
{
    char    c;
    size_t  i;

    wh_buf_add(&u->b, p, len);

    for (i = 0; i < len; i++) {
        c = p[i];

        switch (u->state) {

        case 0:
            /* the authority ends at the first / ? # after "scheme://" */
            if (u->slashes < 0) {
                if (c == ':') {
                    u->slashes = 0;
                }

            } else if (u->slashes < 2) {
                u->slashes = c == '/' ? u->slashes + 1 : 2;

            } else if (c == '/') {
                u->state = 1;

            } else if (c == '?') {
                u->state = 2;

            } else if (c == '#') {
                u->state = 3;
            }

            break;

        case 1:
            u->state = c == '?' ? 2 : c == '#' ? 3 : 1;
            break;

        case 2:
            u->state = c == '#' ? 3 : 2;
            break;
        }
    }
}


static void
wk_url_encoded(wk_url_t *u, const char *p, size_t len)
{
    u_char  c;
    size_t  i;

    static const char  hex[] = "0123456789ABCDEF";

    for (i = 0; i < len; i++) {
        c = (u_char) p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~'
            || (c == '.' && u->state != 1))
        {
            wh_buf_addc(&u->b, (char) c);

        } else {
            /* in a path, "." too: no value forms a "." or ".." segment */
            wh_buf_addc(&u->b, '%');
            wh_buf_addc(&u->b, hex[c >> 4]);
            wh_buf_addc(&u->b, hex[c & 0xf]);
        }
    }
}


/*
 * NULL, or the error (*final set when no retry can cure it); *url is the
 * URL, NUL-terminated, in run memory.
 */
static const char *
wk_http_url(wk_xfer_t *x, const wh_node_t *node, wh_scope_t *scope,
    wh_val_t cfg, const char **url, size_t *len, int *final)
{
    char             perr[128];
    size_t           i, pos, vlen;
    json_t          *raw;
    wh_buf_t         vb;
    wh_mem_t        *mem;
    wh_path_t       *path;
    wk_url_t         u;
    const char      *s, *err, *value;
    wk_url_spans_t   l;

    mem = x->mem;

    raw = json_object_get(node->config, "url");

    if (!json_is_string(raw)
        || memmem(json_string_value(raw), json_string_length(raw), "{{", 2)
           == NULL)
    {
        /* no template: the node's own text */
        if (wk_cfg_str(mem, cfg, "url", NULL, url, len) != 0 || *len == 0) {
            return "request failed: no url";
        }

        return NULL;
    }

    s = json_string_value(raw);
    memset(&l, 0, sizeof(l));

    if (wh_path_scan(s, json_string_length(raw), wk_url_span, &l, perr,
                     sizeof(perr))
        != 0)
    {
        free(l.spans);
        return "request failed: invalid url template";
    }

    wh_buf_init(&u.b, mem, json_string_length(raw) + 64);
    u.state = 0;
    u.slashes = -1;
    err = NULL;
    pos = 0;

    for (i = 0; i < l.n && err == NULL; i++) {
        wk_url_raw(&u, s + pos, l.spans[i].start - pos);
        pos = l.spans[i].end;

        path = wh_path_compile(l.spans[i].inner, l.spans[i].inner_len,
                               wk_run_keys(x->run), perr, sizeof(perr));
        if (path == NULL) {
            err = wk_fmt(mem, "request failed: url: %s", perr);
            break;
        }

        wh_buf_init(&vb, mem, 64);
        wh_val_write_text(&vb, wh_path_resolve(path, scope));
        value = vb.data;
        vlen = vb.len;

        if (vb.failed) {
            err = "request failed: out of memory";

        } else if (path->root == WH_ROOT_ENV) {
            wk_url_raw(&u, value, vlen);

        } else if (u.state == 0) {
            err = "request failed: the url's scheme, host or port "
                  "is a template: only $env values may set them";
            *final = 1;

        } else {
            wk_url_encoded(&u, value, vlen);
        }

        wh_path_free(path);
    }

    if (err == NULL) {
        wk_url_raw(&u, s + pos, json_string_length(raw) - pos);
        wh_buf_addc(&u.b, '\0');

        if (u.b.failed) {
            err = "request failed: out of memory";

        } else if (u.b.len == 1) {
            err = "request failed: no url";
        }
    }

    free(l.spans);

    if (err == NULL) {
        *url = u.b.data;
        *len = u.b.len - 1;
    }

    return err;
}


int
wk_http_request_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    int            ignore_fail, has_ct, has_body, rc, final;
    char           sep;
    char          *scheme;
    size_t         len, nlen, vlen, i;
    uint32_t       k, n;
    wh_val_t       cfg, data, list;
    wh_buf_t       b, body;
    wh_mem_t      *mem;
    wk_xfer_t     *x;
    wh_scope_t    *scope;
    CURLUcode      uc;
    const char    *method, *url, *ctype, *name, *value, *err, *mime;
    const char    *hash;
    struct curl_slist  *sl;

    scope = wh_exec_scope(ex);
    mem = scope->mem;
    ignore_fail = json_is_true(json_object_get(node->config, "ignoreFail"));
    x = NULL;
    final = 0;

    if (wh_tpl_eval(node->config_tpl, scope, &cfg) != 0) {
        err = "request failed: out of memory";
        goto failed;
    }

    x = wk_xfer_create(w, run, mem);
    if (x == NULL) {
        err = "request failed: cannot set up libcurl";
        goto failed;
    }

    x->done = wk_http_request_done;

    x->ignore_fail = ignore_fail;
    x->only_data = wh_val_truthy(wh_val_get(cfg, "onlyData", 8));

    /* the method */

    if (wk_cfg_str(mem, cfg, "method", "POST", &method, &len) != 0) {
        err = "request failed: out of memory";
        goto failed;
    }

    if (len == 0 || len > 32 || !wk_is_token(method, len)) {
        err = wk_fmt(mem, "request failed: invalid method \"%.64s\"",
                     method);
        goto failed;
    }

    method = wh_memdup(mem, method, len);
    if (method == NULL) {
        err = "request failed: out of memory";
        goto failed;
    }

    for (i = 0; i < len; i++) {
        if (method[i] >= 'a' && method[i] <= 'z') {
            ((char *) method)[i] = method[i] - 'a' + 'A';
        }
    }

    /* the URL and its params */

    err = wk_http_url(x, node, scope, cfg, &url, &len, &final);
    if (err != NULL) {
        goto failed;
    }

    x->url = curl_url();
    if (x->url == NULL) {
        err = "request failed: out of memory";
        goto failed;
    }

    uc = curl_url_set(x->url, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        err = wk_fmt(mem, "request failed: invalid url \"%.256s\": %s",
                     url, curl_url_strerror(uc));
        goto failed;
    }

    scheme = NULL;
    curl_url_get(x->url, CURLUPART_SCHEME, &scheme, 0);
    rc = scheme != NULL && (strcasecmp(scheme, "http") == 0
                            || strcasecmp(scheme, "https") == 0);
    curl_free(scheme);

    if (!rc) {
        err = wk_fmt(mem, "request failed: invalid url \"%.256s\": "
                     "only http and https are allowed", url);
        goto failed;
    }

    /*
     * params go after the URL's own query, built here: libcurl's URL API
     * would rewrite the escapes in lower case.  A fragment is not sent.
     */
    hash = memchr(url, '#', len);
    wh_buf_init(&b, mem, len + 64);
    wh_buf_add(&b, url, hash ? (size_t) (hash - url) : len);
    sep = memchr(b.data, '?', b.len) == NULL ? '?'
          : (b.data[b.len - 1] == '?' || b.data[b.len - 1] == '&') ? '\0'
          : '&';

    list = wh_val_get(cfg, "params", 6);
    n = wh_val_type(list) == WH_JSON_ARRAY ? wh_val_size(list) : 0;

    for (k = 0; k < n; k++) {
        err = wk_cfg_pair(mem, wh_val_index(list, k), "params", &name, &nlen,
                          &value, &vlen);
        if (err != NULL) {
            goto failed;
        }

        if (sep) {
            wh_buf_addc(&b, sep);
        }

        sep = '&';

        if (wk_urlencode_pair(x->easy, &b, name, nlen, value, vlen) != 0) {
            b.failed = 1;
        }
    }

    if (b.failed) {
        err = "request failed: out of memory";
        goto failed;
    }

    url = b.data;

    /* the headers */

    has_ct = 0;
    list = wh_val_get(cfg, "headers", 7);
    n = wh_val_type(list) == WH_JSON_ARRAY ? wh_val_size(list) : 0;

    for (k = 0; k < n; k++) {
        err = wk_cfg_pair(mem, wh_val_index(list, k), "headers", &name,
                          &nlen, &value, &vlen);
        if (err != NULL) {
            goto failed;
        }

        if (!wk_is_token(name, nlen) || wk_has_ctl(value, vlen)) {
            err = wk_fmt(mem, "request failed: invalid header "
                         "\"%.64s\"", name);
            goto failed;
        }

        if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0) {
            has_ct = 1;
        }

        /* "Name;" is libcurl's way to send a header with no value */
        wh_buf_init(&b, mem, nlen + vlen + 4);
        wh_buf_add(&b, name, nlen);
        wh_buf_adds(&b, vlen ? ": " : ";");
        wh_buf_add(&b, value, vlen);

        sl = b.failed ? NULL : curl_slist_append(x->headers, b.data);
        if (sl == NULL) {
            err = "request failed: out of memory";
            goto failed;
        }

        x->headers = sl;
    }

    /* the body */

    if (wk_cfg_str(mem, cfg, "contentType", "json", &ctype, &len) != 0) {
        err = "request failed: out of memory";
        goto failed;
    }

    if (strcmp(ctype, "json") == 0
        || strcasecmp(ctype, "application/json") == 0)
    {
        mime = "application/json";

    } else if (strcmp(ctype, "form") == 0
               || strcasecmp(ctype, "application/x-www-form-urlencoded")
                  == 0)
    {
        mime = "application/x-www-form-urlencoded";

    } else if (strcmp(ctype, "text") == 0
               || strcasecmp(ctype, "text/plain") == 0)
    {
        mime = "text/plain; charset=utf-8";

    } else {
        err = wk_fmt(mem, "request failed: unknown contentType "
                     "\"%.64s\" (json, form or text)", ctype);
        goto failed;
    }

    data = wh_val_get(cfg, "data", 4);
    has_body = wh_val_type(data) != WH_JSON_MISSING
               && wh_val_type(data) != WH_JSON_NULL
               && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;

    if (has_body) {
        wh_buf_init(&body, mem, 256);

        if (mime[0] == 'a' && mime[12] == 'j') {
            /* as axios does: a string that is JSON text goes as it is */
            if (wh_val_type(data) == WH_JSON_STRING
                && wh_val_str(mem, data, &value, &vlen) == 0
                && wk_is_json(value, vlen))
            {
                wh_buf_add(&body, value, vlen);

            } else {
                wh_val_write_json(&body, data);
            }

        } else if (mime[0] == 'a') {
            if (wh_val_type(data) == WH_JSON_OBJECT) {
                if (wk_form_body(x, data, &body) != 0) {
                    body.failed = 1;
                }

            } else {
                wh_val_write_text(&body, data);
            }

        } else {
            wh_val_write_text(&body, data);
        }

        if (body.failed) {
            err = "request failed: out of memory";
            goto failed;
        }

        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) body.len);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, body.data);

        if (strcmp(method, "POST") != 0) {
            curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
        }

        if (!has_ct) {
            wh_buf_init(&b, mem, 64);
            wh_buf_printf(&b, "Content-Type: %s", mime);

            sl = b.failed ? NULL : curl_slist_append(x->headers, b.data);
            if (sl == NULL) {
                err = "request failed: out of memory";
                goto failed;
            }

            x->headers = sl;
        }

    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);

    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);

    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, "");

    } else {
        curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
    }

    /* no "Expect: 100-continue" round trip before larger bodies */
    sl = curl_slist_append(x->headers, "Expect:");
    if (sl == NULL) {
        err = "request failed: out of memory";
        goto failed;
    }

    x->headers = sl;

    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, (long) WK_HTTP_MAX_REDIRS);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
                     (long) wk_cfg_ms(cfg, WK_HTTP_TIMEOUT));
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, WK_HTTP_AGENT);
    curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) WK_HTTP_MAX_BODY);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, wk_http_on_body);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, wk_http_on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION,
                     wk_http_open_socket);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);

    /* a proxy from the environment would be the only address checked */
    curl_easy_setopt(x->easy, CURLOPT_PROXY, "");

    if (wk_xfer_go(x) != 0) {
        err = "request failed: cannot start the transfer";
        goto failed;
    }

    return 1;

failed:

    if (x != NULL) {
        wk_xfer_free(x);
    }

    if (final) {
        /* a template in the url's authority: no retry changes that */
        wk_run_node_final(w, run, wh_val_null(), err);
        return 0;
    }

    wk_http_end(w, run, ignore_fail, WH_STATUS_ERROR, wh_val_null(), err);

    return 0;
}
