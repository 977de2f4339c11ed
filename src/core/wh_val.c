/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Workflow values: tokens of JSON documents.  Computed values are written
 * as one-token documents, so every consumer sees a single representation.
 * Equality of objects and arrays goes through canonical forms (sorted
 * keys), O(n log n); the one number printer of the library lives here.
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "wh_val.h"


/*
 * Significant digits kept when a decimal number is handed to strtod: more
 * than a double's longest exact halfway value (767), so dropping the rest
 * (remembered by a sticky digit) never changes the rounding.
 */
#define WH_NUM_DIGITS  800

#define wh_digit(c)  ((unsigned) ((c) - '0') < 10)
#define wh_space(c)                                                           \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r'                  \
     || (c) == '\v' || (c) == '\f')


static const wh_json_tok_t  wh_val_null_tok = {
    .type = WH_JSON_NULL, .start = 0, .len = 4, .next = 1
};
static const wh_json_tok_t  wh_val_false_tok = {
    .type = WH_JSON_FALSE, .start = 0, .len = 5, .next = 1
};
static const wh_json_tok_t  wh_val_true_tok = {
    .type = WH_JSON_TRUE, .start = 0, .len = 4, .next = 1
};

static const wh_json_doc_t  wh_val_null_doc = {
    "null", 4, (wh_json_tok_t *) &wh_val_null_tok, 1
};
static const wh_json_doc_t  wh_val_false_doc = {
    "false", 5, (wh_json_tok_t *) &wh_val_false_tok, 1
};
static const wh_json_doc_t  wh_val_true_doc = {
    "true", 4, (wh_json_tok_t *) &wh_val_true_tok, 1
};


/* An allocator over a caller's stack buffer, for short-lived unescaping. */

typedef struct {
    char    *p;
    size_t   left;
} wh_val_stack_t;


static void *
wh_val_stack_alloc(void *data, size_t size)
{
    char            *p;
    wh_val_stack_t  *st;

    st = data;

    if (size > st->left) {
        return NULL;
    }

    p = st->p;
    st->p += size;
    st->left -= size;

    return p;
}


wh_json_type_t
wh_val_type(wh_val_t v)
{
    if (v.doc == NULL) {
        return WH_JSON_MISSING;
    }

    return (wh_json_type_t) v.doc->toks[v.tok].type;
}


wh_val_t
wh_val_null(void)
{
    return (wh_val_t) { &wh_val_null_doc, 0 };
}


wh_val_t
wh_val_bool(int b)
{
    return (wh_val_t) { b ? &wh_val_true_doc : &wh_val_false_doc, 0 };
}


/* A one-token document whose text is allocated along with it. */

static wh_json_doc_t *
wh_val_doc_alloc(wh_mem_t *mem, size_t text_len, char **text)
{
    char           *p;
    wh_json_doc_t  *doc;
    wh_json_tok_t  *tok;

    p = wh_alloc(mem, sizeof(wh_json_doc_t) + sizeof(wh_json_tok_t)
                      + text_len + 1);
    if (p == NULL) {
        return NULL;
    }

    doc = (wh_json_doc_t *) p;
    tok = (wh_json_tok_t *) (p + sizeof(wh_json_doc_t));
    *text = p + sizeof(wh_json_doc_t) + sizeof(wh_json_tok_t);

    memset(tok, 0, sizeof(wh_json_tok_t));
    tok->len = (uint32_t) text_len;
    tok->next = 1;

    doc->text = *text;
    doc->len = text_len;
    doc->toks = tok;
    doc->ntoks = 1;

    return doc;
}


/*
 * The shortest decimal digits that read back as |d| (d finite, not 0),
 * for every number the library prints (wh_val_number, the math engine's
 * text and its round()).
 */

int
wh_num_digits(double d, char *digits, int *n)
{
    int    prec, k;
    char   tmp[40], *q;

    /*
     * With 53 significant bits, the shortest digits of a double (padded
     * with zeros) are also its rounding to 15 digits, so the search starts
     * there; subnormals have fewer bits and are searched from 1 digit.
     */
    for (prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, fabs(d));
        if (strtod(tmp, NULL) == fabs(d)) {
            break;
        }
    }

    /* tmp is "D.DDDDe[+-]XX" */

    k = 0;

    for (q = tmp; *q != 'e' && *q != '\0'; q++) {
        if (*q != '.') {
            digits[k++] = *q;
        }
    }

    *n = (*q == 'e' ? atoi(q + 1) : 0) + 1;

    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }

    digits[k] = '\0';

    return k;
}


size_t
wh_num_format(double d, char *out)
{
    int    e, k, n, i;
    char  *o;
    char   digits[24];

    if (isnan(d)) {
        memcpy(out, "NaN", 4);
        return 3;
    }

    if (isinf(d)) {
        memcpy(out, d > 0 ? "Infinity" : "-Infinity", d > 0 ? 9 : 10);
        return d > 0 ? 8 : 9;
    }

    if (d == 0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }

    if (fabs(d) < 9007199254740992.0 && d == (double) (long long) d) {
        return sprintf(out, "%lld", (long long) d);
    }

    o = out;

    if (d < 0) {
        *o++ = '-';
    }

    k = wh_num_digits(d, digits, &n);
    e = n - 1;

    if (k <= n && n <= 21) {
        memcpy(o, digits, k);
        o += k;

        for (i = k; i < n; i++) {
            *o++ = '0';
        }

    } else if (0 < n && n <= 21) {
        memcpy(o, digits, n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, k - n);
        o += k - n;

    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';

        for (i = n; i < 0; i++) {
            *o++ = '0';
        }

        memcpy(o, digits, k);
        o += k;

    } else {
        *o++ = digits[0];

        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, k - 1);
            o += k - 1;
        }

        o += sprintf(o, "e%c%d", e < 0 ? '-' : '+', abs(e));
    }

    *o = '\0';

    return o - out;
}


wh_val_t
wh_val_number(wh_mem_t *mem, double d)
{
    char           *text;
    size_t          len;
    wh_json_doc_t  *doc;
    char            buf[48];

    if (isnan(d) || isinf(d)) {
        return wh_val_missing();
    }

    len = wh_num_format(d, buf);

    doc = wh_val_doc_alloc(mem, len, &text);
    if (doc == NULL) {
        return wh_val_missing();
    }

    memcpy(text, buf, len + 1);
    doc->toks[0].type = WH_JSON_NUMBER;

    return (wh_val_t) { doc, 0 };
}


wh_val_t
wh_val_string(wh_mem_t *mem, const char *s, size_t len)
{
    char           *text;
    wh_buf_t        b;
    wh_json_doc_t  *doc;

    wh_buf_init(&b, mem, len + 2);
    wh_json_escape(&b, s, len);

    if (b.failed || b.len > 0xffffffff) {
        return wh_val_missing();
    }

    doc = wh_val_doc_alloc(mem, 0, &text);
    if (doc == NULL) {
        return wh_val_missing();
    }

    doc->text = b.data;
    doc->len = b.len;
    doc->toks[0].type = WH_JSON_STRING;
    doc->toks[0].len = (uint32_t) b.len;
    doc->toks[0].escaped = (memchr(b.data, '\\', b.len) != NULL);

    return (wh_val_t) { doc, 0 };
}


int
wh_val_parse(wh_mem_t *mem, const char *text, size_t len, int copy,
    wh_val_t *v, wh_json_err_t *err)
{
    wh_json_doc_t  *doc;

    *v = wh_val_missing();

    doc = wh_alloc(mem, sizeof(wh_json_doc_t));
    if (doc == NULL) {
        goto oom;
    }

    if (copy) {
        text = wh_memdup(mem, text, len);
        if (text == NULL) {
            goto oom;
        }
    }

    if (wh_json_parse(mem, text, len, doc, err) != 0) {
        return -1;
    }

    v->doc = doc;
    v->tok = 0;

    return 0;

oom:

    err->offset = 0;
    err->line = 1;
    err->column = 1;
    snprintf(err->msg, sizeof(err->msg), "out of memory");

    return -1;
}


wh_val_t
wh_val_get(wh_val_t v, const char *key, size_t key_len)
{
    uint32_t  t;

    if (v.doc == NULL) {
        return v;
    }

    t = wh_json_get(v.doc, v.tok, key, key_len);
    if (t == 0) {
        return wh_val_missing();
    }

    return (wh_val_t) { v.doc, t };
}


wh_val_t
wh_val_index(wh_val_t v, uint32_t i)
{
    uint32_t  t;

    if (v.doc == NULL) {
        return v;
    }

    t = wh_json_index(v.doc, v.tok, i);
    if (t == 0) {
        return wh_val_missing();
    }

    return (wh_val_t) { v.doc, t };
}


uint32_t
wh_val_size(wh_val_t v)
{
    switch (wh_val_type(v)) {
    case WH_JSON_ARRAY:
    case WH_JSON_OBJECT:
        return v.doc->toks[v.tok].size;
    default:
        return 0;
    }
}


static uint32_t
wh_val_member(wh_val_t v, uint32_t i)
{
    uint32_t  k, j;

    if (wh_val_type(v) != WH_JSON_OBJECT || i >= v.doc->toks[v.tok].size) {
        return 0;
    }

    k = v.tok + 1;

    for (j = 0; j < i; j++) {
        k = v.doc->toks[k + 1].next;
    }

    return k;
}


wh_val_t
wh_val_member_key(wh_val_t v, uint32_t i)
{
    uint32_t  k;

    k = wh_val_member(v, i);

    return k ? (wh_val_t) { v.doc, k } : wh_val_missing();
}


wh_val_t
wh_val_member_value(wh_val_t v, uint32_t i)
{
    uint32_t  k;

    k = wh_val_member(v, i);

    return k ? (wh_val_t) { v.doc, k + 1 } : wh_val_missing();
}


int
wh_val_truthy(wh_val_t v)
{
    double  d;

    switch (wh_val_type(v)) {
    case WH_JSON_MISSING:
    case WH_JSON_NULL:
    case WH_JSON_FALSE:
        return 0;

    case WH_JSON_NUMBER:
        return wh_val_to_number(v, &d) == 0 && d != 0;

    case WH_JSON_STRING:
        return v.doc->toks[v.tok].len > 2;

    default:
        return 1;
    }
}


/*
 * A strtod-style decimal number filling all of p..end, white space around
 * it allowed: [+-] digits [. digits] [e [+-] digits], or [+-] . digits ...
 * Digits beyond WH_NUM_DIGITS are folded into a sticky digit and the
 * exponent, so numbers of any length convert without allocation.
 */

static int
wh_val_scan_number(const u_char *p, const u_char *end, double *d)
{
    int         neg, eneg, any, sticky;
    size_t      nd;
    long long   adj, exp;
    char        buf[WH_NUM_DIGITS + 32];

    while (p < end && wh_space(*p)) {
        p++;
    }

    neg = 0;

    if (p < end && (*p == '+' || *p == '-')) {
        neg = (*p++ == '-');
    }

    buf[0] = '-';
    nd = 0;
    adj = 0;
    any = 0;
    sticky = 0;

    for ( ; p < end && wh_digit(*p); p++) {
        any = 1;

        if (nd == 0 && *p == '0') {
            continue;
        }

        if (nd < WH_NUM_DIGITS) {
            buf[1 + nd++] = *p;

        } else {
            adj++;
            sticky |= (*p != '0');
        }
    }

    if (p < end && *p == '.') {
        for (p++; p < end && wh_digit(*p); p++) {
            any = 1;

            if (nd == 0 && *p == '0') {
                adj--;

            } else if (nd < WH_NUM_DIGITS) {
                buf[1 + nd++] = *p;
                adj--;

            } else {
                sticky |= (*p != '0');
            }
        }
    }

    if (!any) {
        return -1;
    }

    exp = 0;

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        eneg = 0;

        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p++ == '-');
        }

        if (p == end || !wh_digit(*p)) {
            return -1;
        }

        for ( ; p < end && wh_digit(*p); p++) {
            if (exp < 100000000) {
                exp = exp * 10 + (*p - '0');
            }
        }

        if (eneg) {
            exp = -exp;
        }
    }

    while (p < end && wh_space(*p)) {
        p++;
    }

    if (p != end) {
        return -1;
    }

    if (nd == 0) {
        *d = neg ? -0.0 : 0.0;
        return 0;
    }

    if (sticky) {
        buf[1 + nd++] = '1';
        adj--;
    }

    /* with at most 801 digits, anything beyond this is 0 or infinity */

    exp += adj;

    /*
     * Up to 15 digits and a power of ten up to 22 are exact doubles, so
     * one multiplication or division rounds correctly (Clinger's fast
     * path): the usual numbers skip snprintf() and strtod().
     */

    if (nd <= 15 && exp >= -22 && exp <= 22) {
        size_t  i;
        double  m;

        static const double  pow10[] = {
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
        };

        m = 0;

        for (i = 0; i < nd; i++) {
            m = m * 10 + (buf[1 + i] - '0');
        }

        m = exp < 0 ? m / pow10[-exp] : m * pow10[exp];
        *d = neg ? -m : m;

        return 0;
    }

    if (exp > 100000) {
        exp = 100000;

    } else if (exp < -100000) {
        exp = -100000;
    }

    snprintf(buf + 1 + nd, 32, "e%lld", exp);

    *d = strtod(neg ? buf : buf + 1, NULL);

    return 0;
}


int
wh_val_to_number(wh_val_t v, double *d)
{
    size_t                len;
    const char           *s;
    wh_mem_t              mem;
    wh_val_stack_t        st;
    const wh_json_tok_t  *t;
    char                  buf[1024];

    switch (wh_val_type(v)) {

    case WH_JSON_NUMBER:
        t = &v.doc->toks[v.tok];
        s = v.doc->text + t->start;

        return wh_val_scan_number((const u_char *) s,
                                  (const u_char *) s + t->len, d);

    case WH_JSON_STRING:
        t = &v.doc->toks[v.tok];

        if (!t->escaped) {
            s = v.doc->text + t->start + 1;

            return wh_val_scan_number((const u_char *) s,
                                      (const u_char *) s + t->len - 2, d);
        }

        /* escaped numbers are rare ("\t1"): unescape on the stack */

        st.p = buf;
        st.left = sizeof(buf);
        mem.alloc = wh_val_stack_alloc;
        mem.data = &st;

        if (wh_json_string(&mem, v.doc, v.tok, &s, &len) != 0) {
            return -1;
        }

        return wh_val_scan_number((const u_char *) s,
                                  (const u_char *) s + len, d);

    default:
        return -1;
    }
}


int
wh_val_str(wh_mem_t *mem, wh_val_t v, const char **s, size_t *len)
{
    if (wh_val_type(v) != WH_JSON_STRING) {
        return -1;
    }

    return wh_json_string(mem, v.doc, v.tok, s, len);
}


int
wh_val_text(wh_mem_t *mem, wh_val_t v, const char **s, size_t *len)
{
    wh_buf_t  b;

    switch (wh_val_type(v)) {

    case WH_JSON_MISSING:
        *s = "";
        *len = 0;
        return 0;

    case WH_JSON_STRING:
        return wh_json_string(mem, v.doc, v.tok, s, len);

    default:
        wh_buf_init(&b, mem, v.doc->toks[v.tok].len);
        wh_json_write_compact(&b, v.doc, v.tok);

        if (b.failed) {
            return -1;
        }

        *s = b.data;
        *len = b.len;
        return 0;
    }
}


void
wh_val_write_text(wh_buf_t *b, wh_val_t v)
{
    size_t                len;
    const char           *s;
    wh_mem_t              mem;
    wh_val_stack_t        st;
    const wh_json_tok_t  *t;

    switch (wh_val_type(v)) {

    case WH_JSON_MISSING:
        return;

    case WH_JSON_STRING:
        t = &v.doc->toks[v.tok];

        /* unescape straight into the free space of the buffer */

        if (wh_buf_reserve(b, t->len) != 0) {
            return;
        }

        st.p = b->data + b->len;
        st.left = b->cap - b->len + 1;
        mem.alloc = wh_val_stack_alloc;
        mem.data = &st;

        if (wh_json_string(&mem, v.doc, v.tok, &s, &len) == 0) {
            b->len += len;
        }

        return;

    default:
        wh_json_write_compact(b, v.doc, v.tok);
        return;
    }
}


void
wh_val_write_json(wh_buf_t *b, wh_val_t v)
{
    if (v.doc == NULL) {
        wh_buf_add(b, "null", 4);
        return;
    }

    wh_json_write_compact(b, v.doc, v.tok);
}


/*
 * Canonical form: a byte string that two values share exactly when they
 * are equal as JSON (numbers by value, strings by their unescaped bytes,
 * object members by key, where only the last of duplicate keys counts).
 * Each part is prefixed by a type byte and strings by their length, so
 * the concatenation cannot be read two ways.  Object members are sorted
 * by key: O(n log n) in the size of the value, never a search per key.
 */

typedef struct {
    const char  *key;
    size_t       len;
    uint32_t     tok;            /* key token; its value follows */
} wh_val_member_t;


static int
wh_val_member_cmp(const void *x, const void *y)
{
    int                     r;
    const wh_val_member_t  *a = x, *b = y;

    r = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);

    if (r == 0 && a->len != b->len) {
        r = a->len < b->len ? -1 : 1;
    }

    if (r == 0) {
        /* the last of duplicates sorts last */
        r = a->tok < b->tok ? -1 : a->tok > b->tok ? 1 : 0;
    }

    return r;
}


static int
wh_val_canon_str(wh_buf_t *b, const char *s, size_t len)
{
    char  num[24];

    wh_buf_add(b, num, snprintf(num, sizeof(num), "s%zu:", len));
    wh_buf_add(b, s, len);

    return b->failed ? -1 : 0;
}


static int
wh_val_canon_tok(wh_buf_t *b, const wh_json_doc_t *doc, uint32_t tok)
{
    double                 d;
    size_t                 len, n, i, k;
    uint32_t               j, m;
    const char            *s;
    wh_val_member_t       *ms;
    const wh_json_tok_t   *t;
    char                   num[48];

    t = &doc->toks[tok];

    switch (t->type) {

    case WH_JSON_NULL:
        wh_buf_addc(b, 'z');
        break;

    case WH_JSON_FALSE:
        wh_buf_addc(b, 'f');
        break;

    case WH_JSON_TRUE:
        wh_buf_addc(b, 't');
        break;

    case WH_JSON_NUMBER:
        if (wh_val_to_number((wh_val_t) { doc, tok }, &d) != 0) {
            return -1;
        }

        wh_buf_addc(b, 'n');

        if (!isfinite(d)) {
            wh_buf_adds(b, d > 0 ? "inf;" : "-inf;");
            break;
        }

        /* -0 == 0 */
        len = wh_num_format(d == 0 ? 0.0 : d, num);
        wh_buf_add(b, num, len);
        wh_buf_addc(b, ';');
        break;

    case WH_JSON_STRING:
        if (!t->escaped) {
            return wh_val_canon_str(b, doc->text + t->start + 1, t->len - 2);
        }

        if (wh_json_string(b->mem, doc, tok, &s, &len) != 0) {
            return -1;
        }

        return wh_val_canon_str(b, s, len);

    case WH_JSON_ARRAY:
        wh_buf_addc(b, '[');

        for (j = tok + 1, m = 0; m < t->size; m++, j = doc->toks[j].next) {
            if (wh_val_canon_tok(b, doc, j) != 0) {
                return -1;
            }
        }

        wh_buf_addc(b, ']');
        break;

    case WH_JSON_OBJECT:
        n = t->size;

        ms = wh_alloc(b->mem, (n ? n : 1) * sizeof(wh_val_member_t));
        if (ms == NULL) {
            return -1;
        }

        for (j = tok + 1, i = 0; i < n; i++, j = doc->toks[j + 1].next) {
            ms[i].tok = j;

            if (!doc->toks[j].escaped) {
                ms[i].key = doc->text + doc->toks[j].start + 1;
                ms[i].len = doc->toks[j].len - 2;

            } else if (wh_json_string(b->mem, doc, j, &ms[i].key,
                                      &ms[i].len)
                       != 0)
            {
                return -1;
            }
        }

        qsort(ms, n, sizeof(wh_val_member_t), wh_val_member_cmp);

        wh_buf_addc(b, '{');

        for (i = 0; i < n; i = k) {
            /* the last of a run of equal keys */
            for (k = i + 1;
                 k < n && ms[k].len == ms[i].len
                 && memcmp(ms[k].key, ms[i].key, ms[i].len) == 0;
                 k++)
            {
                /* void */
            }

            if (wh_val_canon_str(b, ms[k - 1].key, ms[k - 1].len) != 0
                || wh_val_canon_tok(b, doc, ms[k - 1].tok + 1) != 0)
            {
                return -1;
            }
        }

        wh_buf_addc(b, '}');
        break;

    default:
        return -1;
    }

    return b->failed ? -1 : 0;
}


int
wh_val_canon(wh_buf_t *b, wh_val_t v)
{
    if (v.doc == NULL) {
        wh_buf_addc(b, 'm');
        return b->failed ? -1 : 0;
    }

    return wh_val_canon_tok(b, v.doc, v.tok);
}


int
wh_val_equal_canon(wh_mem_t *mem, wh_val_t a, const char *canon,
    size_t len, int *eq)
{
    wh_buf_t  b;

    *eq = 0;

    wh_buf_init(&b, mem, 64);

    if (wh_val_canon(&b, a) != 0) {
        return -1;
    }

    *eq = (b.len == len && memcmp(b.data, canon, len) == 0);

    return 0;
}


int
wh_val_equal(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *eq)
{
    double          x, y;
    wh_buf_t        cb;
    wh_json_type_t  type;

    type = wh_val_type(a);
    *eq = 0;

    if (type != wh_val_type(b)) {
        return 0;
    }

    switch (type) {

    case WH_JSON_NUMBER:
        *eq = wh_val_to_number(a, &x) == 0 && wh_val_to_number(b, &y) == 0
              && x == y;
        return 0;

    case WH_JSON_STRING:
        *eq = wh_json_string_eq_tok(a.doc, a.tok, b.doc, b.tok);
        return 0;

    case WH_JSON_ARRAY:
    case WH_JSON_OBJECT:
        wh_buf_init(&cb, mem, 64);

        if (wh_val_canon(&cb, b) != 0) {
            return -1;
        }

        return wh_val_equal_canon(mem, a, cb.data, cb.len, eq);

    default:
        *eq = 1;
        return 0;
    }
}


wh_val_t
wh_val_first(wh_val_t arr)
{
    if (wh_val_type(arr) != WH_JSON_ARRAY || arr.doc->toks[arr.tok].size == 0)
    {
        return wh_val_missing();
    }

    return (wh_val_t) { arr.doc, arr.tok + 1 };
}


wh_val_t
wh_val_next(wh_val_t arr, wh_val_t item)
{
    uint32_t  next;

    if (item.doc == NULL) {
        return item;
    }

    next = item.doc->toks[item.tok].next;

    if (next >= arr.doc->toks[arr.tok].next) {
        return wh_val_missing();
    }

    return (wh_val_t) { arr.doc, next };
}
