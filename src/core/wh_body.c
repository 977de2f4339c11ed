/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Request bodies to JSON: media types, urlencoded forms and
 * multipart/form-data.  Inputs are untrusted, so every pass is linear
 * (names are grouped with a merge sort, delimiters found with memmem) and
 * the whole input is checked before the first byte of output is written.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                  /* memmem */
#endif

#include <stdio.h>
#include <string.h>

#include "wh_body.h"
#include "wh_json.h"


#define WH_BODY_NONE        UINT32_MAX
#define WH_BOUNDARY_MAX     70           /* RFC 2046 */
#define WH_BODY_MAX         ((size_t) INT32_MAX)

#define wh_lc(c)    (((c) >= 'A' && (c) <= 'Z') ? (c) | 0x20 : (c))
#define wh_ows(c)   ((c) == ' ' || (c) == '\t')


/* A name of a form field or a multipart part, in input order. */

typedef struct {
    const char  *name;
    uint32_t     len;
    uint32_t     next;       /* next entry with the same name, or NONE */
} wh_key_t;


/* A multipart part besides its name; filename NULL for a plain field. */

typedef struct {
    const char  *value;
    size_t       vlen;
    const char  *filename;
    size_t       flen;
    const char  *ctype;
    size_t       clen;
} wh_part_t;


typedef struct {
    wh_buf_t    *out;
    wh_key_t    *keys;
    wh_part_t   *parts;
    uint32_t     n;
    size_t       cap;
    const char  *end;        /* form: end of the last decoded value */
} wh_fields_t;


static void wh_body_error(char *err, size_t errlen, const char *msg);
static int wh_tchar(unsigned char c);
static int wh_bchar(unsigned char c);
static int wh_strcaseeq(const char *s, size_t len, const char *lit);
static const char *wh_param(const char *p, const char *end,
    const char **name, size_t *nlen, const char **value, size_t *vlen,
    int *quoted);
static int wh_group(wh_mem_t *mem, wh_key_t *keys, uint32_t n,
    uint8_t **dup);
static int wh_key_cmp(const wh_key_t *a, const wh_key_t *b);
static void wh_emit(wh_fields_t *f, uint8_t *dup);
static void wh_emit_value(wh_fields_t *f, uint32_t i);
static void wh_base64(wh_buf_t *b, const char *s, size_t len);
static int wh_part_add(wh_mem_t *mem, wh_fields_t *f);
static const char *wh_delimiter(const char *p, const char *end,
    const char *needle, size_t nlen, const char **content_end, int *close);
static int wh_part_headers(wh_mem_t *mem, const char **pp, const char *end,
    wh_key_t *key, wh_part_t *part, const char **msg);
static int wh_disposition(wh_mem_t *mem, const char *p, const char *end,
    wh_key_t *key, wh_part_t *part);
static const char *wh_quoted(wh_mem_t *mem, const char *p, size_t len,
    size_t *out_len);


static const char *
wh_token_end(const char *p, const char *end)
{
    while (p < end && wh_tchar((unsigned char) *p)) {
        p++;
    }

    return p;
}


int
wh_media_type_valid(const char *s, size_t len)
{
    unsigned char       c;
    const char  *p, *q, *end;

    p = s;
    end = s + len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    q = wh_token_end(p, end);
    if (q == p || q == end || *q != '/') {
        return 0;
    }

    p = q + 1;
    q = wh_token_end(p, end);
    if (q == p) {
        return 0;
    }

    p = q;

    for ( ;; ) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            return 1;
        }

        if (*p++ != ';') {
            return 0;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end || *p == ';') {
            continue;           /* an empty parameter, as RFC 9110 allows */
        }

        q = wh_token_end(p, end);
        if (q == p || q == end || *q != '=') {
            return 0;
        }

        p = q + 1;

        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                c = (unsigned char) *p;

                if (c == '\\') {
                    if (++p == end) {
                        return 0;
                    }

                    c = (unsigned char) *p;
                }

                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                    return 0;
                }
            }

            if (p == end) {
                return 0;
            }

            p++;

        } else {
            q = wh_token_end(p, end);
            if (q == p) {
                return 0;
            }

            p = q;
        }
    }
}


wh_media_t
wh_media_type(const char *ct, size_t len, const char **boundary,
    size_t *blen)
{
    int          quoted;
    size_t       tlen, slen, nlen, vlen, i;
    const char  *p, *end, *type, *sub, *name, *value;

    if (boundary) {
        *boundary = NULL;
    }

    if (blen) {
        *blen = 0;
    }

    if (ct == NULL) {
        return WH_MEDIA_NONE;
    }

    p = ct;
    end = ct + len;

    while (p < end && wh_ows(*p)) {
        p++;
    }

    while (end > p && wh_ows(end[-1])) {
        end--;
    }

    if (p == end) {
        return WH_MEDIA_NONE;
    }

    type = p;
    while (p < end && wh_tchar(*p)) {
        p++;
    }

    tlen = p - type;

    if (tlen == 0 || p == end || *p != '/') {
        return WH_MEDIA_UNSUPPORTED;
    }

    sub = ++p;
    while (p < end && wh_tchar(*p)) {
        p++;
    }

    slen = p - sub;

    while (p < end && wh_ows(*p)) {
        p++;
    }

    if (slen == 0 || (p < end && *p != ';')) {
        return WH_MEDIA_UNSUPPORTED;
    }

    if (wh_strcaseeq(type, tlen, "text")) {
        return WH_MEDIA_TEXT;
    }

    if (wh_strcaseeq(type, tlen, "application")) {

        if (wh_strcaseeq(sub, slen, "json")
            || (slen > 5 && wh_strcaseeq(sub + slen - 5, 5, "+json")))
        {
            return WH_MEDIA_JSON;
        }

        if (wh_strcaseeq(sub, slen, "x-www-form-urlencoded")) {
            return WH_MEDIA_FORM;
        }

        return WH_MEDIA_UNSUPPORTED;
    }

    if (!wh_strcaseeq(type, tlen, "multipart")
        || !wh_strcaseeq(sub, slen, "form-data"))
    {
        return WH_MEDIA_UNSUPPORTED;
    }

    while (p < end) {
        p = wh_param(p, end, &name, &nlen, &value, &vlen, &quoted);

        if (name == NULL || !wh_strcaseeq(name, nlen, "boundary")) {
            continue;
        }

        /* the first boundary parameter counts, valid or not */

        if (vlen == 0 || vlen > WH_BOUNDARY_MAX || value[vlen - 1] == ' ') {
            break;
        }

        for (i = 0; i < vlen; i++) {
            if (!wh_bchar(value[i]) || (value[i] == ' ' && !quoted)) {
                break;
            }
        }

        if (i < vlen) {
            break;
        }

        if (boundary) {
            *boundary = value;
        }

        if (blen) {
            *blen = vlen;
        }

        break;
    }

    return WH_MEDIA_MULTIPART;
}


/*
 * One ";name=value" parameter from p (at a ';' or white space); returns the
 * position after it.  A malformed parameter gives *name NULL.  Quoted values
 * are returned without their quotes and with escapes left in place: callers
 * here only accept values that have no backslash.
 */

static const char *
wh_param(const char *p, const char *end, const char **name, size_t *nlen,
    const char **value, size_t *vlen, int *quoted)
{
    const char  *n;

    *name = NULL;
    *quoted = 0;

    while (p < end && (*p == ';' || wh_ows(*p))) {
        p++;
    }

    n = p;
    while (p < end && wh_tchar(*p)) {
        p++;
    }

    *nlen = p - n;

    while (p < end && wh_ows(*p)) {
        p++;
    }

    if (*nlen == 0 || p == end || *p != '=') {
        while (p < end && *p != ';') {
            p++;
        }

        return p;
    }

    p++;

    while (p < end && wh_ows(*p)) {
        p++;
    }

    if (p < end && *p == '"') {
        *value = ++p;

        while (p < end && *p != '"') {
            if (*p == '\\' && p + 1 < end) {
                p++;
            }

            p++;
        }

        if (p == end) {
            return p;                       /* unterminated */
        }

        *vlen = p - *value;
        *quoted = 1;
        p++;

    } else {
        *value = p;

        while (p < end && *p != ';' && !wh_ows(*p)) {
            p++;
        }

        *vlen = p - *value;
    }

    while (p < end && wh_ows(*p)) {
        p++;
    }

    if (p < end && *p != ';') {
        while (p < end && *p != ';') {
            p++;
        }

        return p;
    }

    *name = n;

    return p;
}


int
wh_form_to_json(wh_buf_t *out, const char *s, size_t len, char *err,
    size_t errlen)
{
    int           hi, lo, in_value;
    char         *dec, *d;
    size_t        i, max;
    uint8_t      *dup;
    uint32_t      n;
    wh_key_t     *keys;
    const char   *p, *end;
    wh_fields_t   f;

    if (out->failed) {
        goto nomem;
    }

    if (len > WH_BODY_MAX) {
        wh_body_error(err, errlen, "form too large");
        return -1;
    }

    /* names and values are decoded back to back: value i ends at name i+1 */

    max = 1;
    for (i = 0; i < len; i++) {
        if (s[i] == '&') {
            max++;
        }
    }

    dec = wh_alloc(out->mem, len + 1);
    keys = wh_alloc(out->mem, max * sizeof(wh_key_t));

    if (dec == NULL || keys == NULL) {
        goto nomem;
    }

    n = 0;
    d = dec;
    p = s;
    end = s + len;

    while (p < end) {

        if (*p == '&') {
            p++;
            continue;
        }

        keys[n].name = d;
        keys[n].next = WH_BODY_NONE;
        in_value = 0;

        for ( /* void */ ; p < end && *p != '&'; p++) {

            if (*p == '=' && !in_value) {
                keys[n].len = d - keys[n].name;
                in_value = 1;
                continue;
            }

            if (*p == '+') {
                *d++ = ' ';
                continue;
            }

            if (*p != '%') {
                *d++ = *p;
                continue;
            }

            hi = (end - p > 2) ? wh_hexval(p[1]) : -1;
            lo = (end - p > 2) ? wh_hexval(p[2]) : -1;

            if (hi < 0 || lo < 0) {
                wh_body_error(err, errlen, "invalid percent-encoding");
                return -1;
            }

            *d++ = (char) (hi << 4 | lo);
            p += 2;
        }

        if (!in_value) {
            keys[n].len = d - keys[n].name;
        }

        n++;
    }

    if (wh_group(out->mem, keys, n, &dup) != 0) {
        goto nomem;
    }

    f.out = out;
    f.keys = keys;
    f.parts = NULL;
    f.n = n;
    f.cap = n;
    f.end = d;

    wh_emit(&f, dup);

    if (out->failed) {
        goto nomem;
    }

    return 0;

nomem:

    wh_body_error(err, errlen, "out of memory");
    return -1;
}


int
wh_multipart_to_json(wh_buf_t *out, const char *boundary, size_t blen,
    const char *body, size_t len, size_t max_parts, char *err,
    size_t errlen)
{
    int           close;
    char         *needle;
    uint8_t      *dup;
    wh_mem_t     *mem;
    const char   *p, *end, *next, *cend, *msg;
    wh_fields_t   f;

    mem = out->mem;

    if (out->failed) {
        goto nomem;
    }

    if (boundary == NULL || blen == 0 || blen > WH_BODY_MAX) {
        wh_body_error(err, errlen, "multipart: no boundary");
        return -1;
    }

    if (len > WH_BODY_MAX) {
        wh_body_error(err, errlen, "multipart: body too large");
        return -1;
    }

    needle = wh_alloc(mem, blen + 3);
    if (needle == NULL) {
        goto nomem;
    }

    memcpy(needle, "\n--", 3);
    memcpy(needle + 3, boundary, blen);

    end = body + len;

    p = wh_delimiter(body, end, needle, blen + 3, &cend, &close);

    if (p == NULL) {
        wh_body_error(err, errlen, "multipart: no opening boundary");
        return -1;
    }

    f.out = out;
    f.keys = NULL;
    f.parts = NULL;
    f.n = 0;
    f.cap = 0;
    f.end = NULL;

    while (!close) {

        if (f.n >= max_parts) {
            wh_body_error(err, errlen, "multipart: too many parts");
            return -1;
        }

        if (wh_part_add(mem, &f) != 0) {
            goto nomem;
        }

        msg = NULL;

        if (wh_part_headers(mem, &p, end, &f.keys[f.n], &f.parts[f.n], &msg)
            != 0)
        {
            if (msg == NULL) {
                goto nomem;
            }

            wh_body_error(err, errlen, msg);
            return -1;
        }

        next = wh_delimiter(p, end, needle, blen + 3, &cend, &close);

        if (next == NULL) {
            wh_body_error(err, errlen, "multipart: no closing boundary");
            return -1;
        }

        f.parts[f.n].value = p;
        f.parts[f.n].vlen = cend - p;
        f.n++;

        p = next;
    }

    if (wh_group(mem, f.keys, f.n, &dup) != 0) {
        goto nomem;
    }

    wh_emit(&f, dup);

    if (out->failed) {
        goto nomem;
    }

    return 0;

nomem:

    wh_body_error(err, errlen, "out of memory");
    return -1;
}


/*
 * Finds the first delimiter at or after p: needle is "\n--boundary"; the
 * delimiter may also start at p itself without the line break (the start
 * of the body, or an empty part right after its headers).  It is followed
 * by "--" (the close delimiter) or by optional white space and the end of
 * the line.  A bare LF is accepted as a line end, so a CR before the LF
 * does not belong to the content.  Returns the position after the
 * delimiter and sets *content_end, or NULL when there is none.
 */

static const char *
wh_delimiter(const char *p, const char *end, const char *needle,
    size_t nlen, const char **content_end, int *close)
{
    const char  *d, *dash, *q, *from;

    from = p;
    dash = NULL;

    if ((size_t) (end - p) >= nlen - 1 && memcmp(p, needle + 1, nlen - 1) == 0)
    {
        dash = p;
        *content_end = p;
    }

    for ( ;; ) {

        if (dash == NULL) {
            d = memmem(p, end - p, needle, nlen);

            if (d == NULL) {
                return NULL;
            }

            *content_end = (d > from && d[-1] == '\r') ? d - 1 : d;
            dash = d + 1;
        }

        q = dash + nlen - 1;

        if (end - q >= 2 && q[0] == '-' && q[1] == '-') {
            *close = 1;
            return q + 2;
        }

        while (q < end && wh_ows(*q)) {
            q++;
        }

        if (q < end && *q == '\r') {
            q++;
        }

        if (q < end && *q == '\n') {
            *close = 0;
            return q + 1;
        }

        /* "--boundaryX" is no delimiter: the content goes on */

        p = dash;
        dash = NULL;
    }
}


static int
wh_part_add(wh_mem_t *mem, wh_fields_t *f)
{
    size_t      cap;
    wh_key_t   *keys;
    wh_part_t  *parts;

    if (f->n < f->cap) {
        return 0;
    }

    if (f->n >= UINT32_MAX / 2) {
        return -1;
    }

    /* the arrays double, so the memory left behind is at most as much */

    cap = f->cap ? f->cap * 2 : 8;

    keys = wh_alloc(mem, cap * sizeof(wh_key_t));
    parts = wh_alloc(mem, cap * sizeof(wh_part_t));

    if (keys == NULL || parts == NULL) {
        return -1;
    }

    if (f->n) {
        memcpy(keys, f->keys, f->n * sizeof(wh_key_t));
        memcpy(parts, f->parts, f->n * sizeof(wh_part_t));
    }

    f->keys = keys;
    f->parts = parts;
    f->cap = cap;

    return 0;
}


/*
 * Reads the part headers from *pp up to and including the empty line.
 * Returns -1 with *msg set on malformed input, or with *msg NULL on OOM.
 */

static int
wh_part_headers(wh_mem_t *mem, const char **pp, const char *end,
    wh_key_t *key, wh_part_t *part, const char **msg)
{
    const char  *p, *nl, *line, *le, *colon, *ne, *v;

    key->name = NULL;
    key->len = 0;
    key->next = WH_BODY_NONE;

    part->filename = NULL;
    part->flen = 0;
    part->ctype = NULL;
    part->clen = 0;

    p = *pp;

    for ( ;; ) {
        nl = memchr(p, '\n', end - p);

        if (nl == NULL) {
            *msg = "multipart: unterminated part headers";
            return -1;
        }

        line = p;
        le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
        p = nl + 1;

        if (le == line) {
            break;
        }

        /* obsolete line folding: the continuation is ignored */

        if (wh_ows(*line)) {
            continue;
        }

        colon = memchr(line, ':', le - line);

        if (colon == NULL || colon == line) {
            *msg = "multipart: malformed part header";
            return -1;
        }

        ne = colon;
        while (ne > line && wh_ows(ne[-1])) {
            ne--;
        }

        v = colon + 1;
        while (v < le && wh_ows(*v)) {
            v++;
        }

        while (le > v && wh_ows(le[-1])) {
            le--;
        }

        if (wh_strcaseeq(line, ne - line, "content-disposition")) {

            if (key->name == NULL
                && wh_disposition(mem, v, le, key, part) != 0)
            {
                return -1;
            }

        } else if (wh_strcaseeq(line, ne - line, "content-type")) {
            part->ctype = v;
            part->clen = le - v;
        }
    }

    if (key->name == NULL) {
        *msg = "multipart: part without Content-Disposition name";
        return -1;
    }

    *pp = p;

    return 0;
}


/* form-data; name="x"; filename="y" (filename* is not used) */

static int
wh_disposition(wh_mem_t *mem, const char *p, const char *end,
    wh_key_t *key, wh_part_t *part)
{
    int          quoted, have_file;
    size_t       nlen, vlen;
    const char  *name, *value, *s, *fname;

    while (p < end && *p != ';') {
        p++;
    }

    s = NULL;
    fname = NULL;
    have_file = 0;

    while (p < end) {
        p = wh_param(p, end, &name, &nlen, &value, &vlen, &quoted);

        if (name == NULL) {
            continue;
        }

        if (s == NULL && wh_strcaseeq(name, nlen, "name")) {
            s = quoted ? wh_quoted(mem, value, vlen, &vlen) : value;
            if (s == NULL) {
                return -1;
            }

            key->len = vlen;

        } else if (!have_file && wh_strcaseeq(name, nlen, "filename")) {
            fname = quoted ? wh_quoted(mem, value, vlen, &vlen) : value;
            if (fname == NULL) {
                return -1;
            }

            part->flen = vlen;
            have_file = 1;
        }
    }

    key->name = s;
    part->filename = fname;

    return 0;
}


/* The quoted-string contents s[0..len) without backslash escapes. */

static const char *
wh_quoted(wh_mem_t *mem, const char *s, size_t len, size_t *out_len)
{
    char        *d, *r;
    const char  *end;

    *out_len = len;

    if (memchr(s, '\\', len) == NULL) {
        return s;
    }

    r = wh_alloc(mem, len + 1);
    if (r == NULL) {
        return NULL;
    }

    d = r;
    end = s + len;

    while (s < end) {
        if (*s == '\\' && s + 1 < end) {
            s++;
        }

        *d++ = *s++;
    }

    *out_len = d - r;

    return r;
}


/*
 * Links the entries of each name in input order (next) and marks in *dup
 * every entry that is not the first of its name.  A stable merge sort of
 * the indices keeps this O(n log n) whatever the names are.
 */

static int
wh_group(wh_mem_t *mem, wh_key_t *keys, uint32_t n, uint8_t **dup)
{
    uint8_t   *d;
    uint32_t  *idx, *tmp, *t, w, lo, mid, hi, i, j, k;

    *dup = NULL;

    if (n < 2) {
        return 0;
    }

    idx = wh_alloc(mem, (size_t) n * sizeof(uint32_t));
    tmp = wh_alloc(mem, (size_t) n * sizeof(uint32_t));

    if (idx == NULL || tmp == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        idx[i] = i;
    }

    for (w = 1; w < n; w = (w > n / 2) ? n : w * 2) {

        for (lo = 0; lo < n; lo = hi) {
            mid = (n - lo > w) ? lo + w : n;
            hi = (n - mid > w) ? mid + w : n;

            i = lo;
            j = mid;
            k = lo;

            while (i < mid && j < hi) {
                if (wh_key_cmp(&keys[idx[j]], &keys[idx[i]]) < 0) {
                    tmp[k++] = idx[j++];

                } else {
                    tmp[k++] = idx[i++];
                }
            }

            while (i < mid) {
                tmp[k++] = idx[i++];
            }

            while (j < hi) {
                tmp[k++] = idx[j++];
            }
        }

        t = idx;
        idx = tmp;
        tmp = t;
    }

    /* the spare index array becomes the flags */

    d = (uint8_t *) tmp;
    memset(d, 0, n);

    for (i = 1; i < n; i++) {
        if (keys[idx[i]].len == keys[idx[i - 1]].len
            && memcmp(keys[idx[i]].name, keys[idx[i - 1]].name,
                      keys[idx[i]].len) == 0)
        {
            keys[idx[i - 1]].next = idx[i];
            d[idx[i]] = 1;
        }
    }

    *dup = d;

    return 0;
}


static int
wh_key_cmp(const wh_key_t *a, const wh_key_t *b)
{
    int  rc;

    rc = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);

    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


static void
wh_emit(wh_fields_t *f, uint8_t *dup)
{
    int        first;
    uint32_t   i, j;
    wh_buf_t  *b;

    b = f->out;
    first = 1;

    wh_buf_addc(b, '{');

    for (i = 0; i < f->n; i++) {

        if (dup && dup[i]) {
            continue;
        }

        if (!first) {
            wh_buf_addc(b, ',');
        }

        first = 0;

        wh_json_escape(b, f->keys[i].name, f->keys[i].len);
        wh_buf_addc(b, ':');

        if (f->keys[i].next == WH_BODY_NONE) {
            wh_emit_value(f, i);
            continue;
        }

        wh_buf_addc(b, '[');

        for (j = i; j != WH_BODY_NONE; j = f->keys[j].next) {
            if (j != i) {
                wh_buf_addc(b, ',');
            }

            wh_emit_value(f, j);
        }

        wh_buf_addc(b, ']');
    }

    wh_buf_addc(b, '}');
}


static void
wh_emit_value(wh_fields_t *f, uint32_t i)
{
    const char  *v, *e;
    wh_buf_t    *b;
    wh_part_t   *part;

    b = f->out;

    if (f->parts == NULL) {
        v = f->keys[i].name + f->keys[i].len;
        e = (i + 1 < f->n) ? f->keys[i + 1].name : f->end;

        wh_json_escape(b, v, e - v);
        return;
    }

    part = &f->parts[i];

    if (part->filename == NULL) {
        wh_json_escape(b, part->value, part->vlen);
        return;
    }

    wh_buf_adds(b, "{\"filename\":");
    wh_json_escape(b, part->filename, part->flen);
    wh_buf_adds(b, ",\"contentType\":");

    if (part->ctype && part->clen) {
        wh_json_escape(b, part->ctype, part->clen);

    } else {
        wh_buf_adds(b, "\"application/octet-stream\"");
    }

    wh_buf_printf(b, ",\"size\":%zu,\"content\":\"", part->vlen);
    wh_base64(b, part->value, part->vlen);
    wh_buf_adds(b, "\"}");
}


static void
wh_base64(wh_buf_t *b, const char *s, size_t len)
{
    char                  tmp[1024];
    size_t                n;
    uint32_t              v;
    const unsigned char  *p, *end;
    static const char     tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    p = (const unsigned char *) s;
    end = p + len;
    n = 0;

    while (end - p >= 3) {
        v = (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2];
        p += 3;

        tmp[n++] = tab[v >> 18];
        tmp[n++] = tab[(v >> 12) & 0x3f];
        tmp[n++] = tab[(v >> 6) & 0x3f];
        tmp[n++] = tab[v & 0x3f];

        if (n == sizeof(tmp)) {
            wh_buf_add(b, tmp, n);
            n = 0;
        }
    }

    if (p < end) {
        v = (uint32_t) p[0] << 16;

        if (end - p == 2) {
            v |= (uint32_t) p[1] << 8;
        }

        tmp[n++] = tab[v >> 18];
        tmp[n++] = tab[(v >> 12) & 0x3f];
        tmp[n++] = (end - p == 2) ? tab[(v >> 6) & 0x3f] : '=';
        tmp[n++] = '=';
    }

    wh_buf_add(b, tmp, n);
}


static void
wh_body_error(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) {
        snprintf(err, errlen, "%s", msg);
    }
}


/* RFC 9110 tchar */

static int
wh_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/* RFC 2046 bchars (the space may not end a boundary) */

static int
wh_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z'))
    {
        return 1;
    }

    return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}


/* s[0..len) equals the lower-case literal lit, ignoring case */

static int
wh_strcaseeq(const char *s, size_t len, const char *lit)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (lit[i] == '\0' || wh_lc((unsigned char) s[i]) != lit[i]) {
            return 0;
        }
    }

    return lit[i] == '\0';
}
