/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The request-path JSON tokenizer: one pass over the text, an explicit
 * stack instead of recursion, and a token array that grows by doubling
 * through the caller's allocator.  Strings are validated but not copied.
 */

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "wh_json.h"


/*
 * Byte classes inside strings.  0 is a byte that is copied as is; the UTF-8
 * classes say how the bytes after a lead byte must look (RFC 3629 table,
 * which excludes overlong forms, surrogates and code points > U+10FFFF).
 */

enum {
    WH_C_PLAIN = 0,
    WH_C_QUOTE,
    WH_C_BSLASH,
    WH_C_CTRL,
    WH_C_U2,        /* C2..DF */
    WH_C_E0,        /* E0: A0..BF */
    WH_C_U3,        /* E1..EC, EE..EF */
    WH_C_ED,        /* ED: 80..9F, no surrogates */
    WH_C_F0,        /* F0: 90..BF */
    WH_C_U4,        /* F1..F3 */
    WH_C_F4,        /* F4: 80..8F, up to U+10FFFF */
    WH_C_BAD        /* 80..C1, F5..FF */
};


static const uint8_t  wh_json_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 6, 6,
    8, 9, 9, 9, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11
};


/* per UTF-8 class: length of the sequence and range of its second byte */

static const uint8_t  wh_utf8_len[] = { 0, 0, 0, 0, 2, 3, 3, 3, 4, 4, 4 };
static const uint8_t  wh_utf8_lo[] = {
    0, 0, 0, 0, 0x80, 0xa0, 0x80, 0x80, 0x90, 0x80, 0x80
};
static const uint8_t  wh_utf8_hi[] = {
    0, 0, 0, 0, 0xbf, 0xbf, 0xbf, 0x9f, 0xbf, 0xbf, 0x8f
};


/* ' ', '\t', '\n', '\r' as a bit mask: one compare and a shift */
#define wh_json_ws(c)  ((c) <= ' ' && ((0x100002600ULL >> (c)) & 1))
#define wh_json_digit(c)  ((unsigned) ((c) - '0') < 10)

#define WH_JSON_MAX_LEN  0xffffffffULL

/*
 * Strings are scanned for their next special byte (< 0x20, '"', '\\' or
 * >= 0x80) 16 bytes at a time with SSE2 (every x86-64 has it), else 8 at
 * a time within a 64-bit word on little-endian machines.
 */

#if (defined __SSE2__ && !defined WH_JSON_NO_SSE2)
#include <emmintrin.h>
#define WH_JSON_RUN  16

#elif (defined __BYTE_ORDER__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ \
       && defined __GNUC__)
#define WH_JSON_RUN  8
#define WH_ONES  0x0101010101010101ULL

#else
#define WH_JSON_RUN  0
#endif


#if (WH_JSON_RUN == 16)

/* a bit per special byte of x; a signed compare: >= 0x80 is below 0x20 */

static inline __attribute__((always_inline)) int
wh_json_special16(__m128i x)
{
    return _mm_movemask_epi8(
               _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                   _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')))));
}

#elif (WH_JSON_RUN == 8)

/*
 * The high bit of a byte of the result is set where the byte of w is
 * special; borrows only spill above a hit, so the lowest marked byte is
 * the first special one.
 */

static inline __attribute__((always_inline)) uint64_t
wh_json_special8(uint64_t w)
{
    return ((w - WH_ONES * 0x20)
            | ((w ^ (WH_ONES * '"')) - WH_ONES)
            | ((w ^ (WH_ONES * '\\')) - WH_ONES)
            | w)
           & (WH_ONES * 0x80);
}

#endif


/*
 * The first special byte at or after p, or end.  Only whole blocks are
 * read from the text: its last bytes are scanned as a block padded with
 * plain spaces, or short strings such as header names would go byte by
 * byte.
 */

static inline __attribute__((always_inline)) const u_char *
wh_json_run(const u_char *p, const u_char *end)
{
#if (WH_JSON_RUN == 16)
    int       m;
    u_char    tail[16];

    while (end - p >= 16) {
        m = wh_json_special16(_mm_loadu_si128((const __m128i *) p));

        if (m) {
            return p + __builtin_ctz(m);
        }

        p += 16;
    }

    if (p == end) {
        return end;
    }

    memset(tail, ' ', 16);
    memcpy(tail, p, end - p);
    m = wh_json_special16(_mm_loadu_si128((const __m128i *) tail));

    return m ? p + __builtin_ctz(m) : end;

#elif (WH_JSON_RUN == 8)
    uint64_t  w, m;

    while (end - p >= 8) {
        memcpy(&w, p, 8);
        m = wh_json_special8(w);

        if (m) {
            return p + (__builtin_ctzll(m) >> 3);
        }

        p += 8;
    }

    if (p == end) {
        return end;
    }

    w = WH_ONES * ' ';
    memcpy(&w, p, end - p);
    m = wh_json_special8(w);

    return m ? p + (__builtin_ctzll(m) >> 3) : end;

#else
    while (p < end && wh_json_class[*p] == WH_C_PLAIN) {
        p++;
    }

    return p;
#endif
}


static size_t wh_json_unescape1(const u_char **pp, const u_char *end,
    u_char *out);


/*
 * Length of the valid UTF-8 sequence at p with lead class cls, 0 when it is
 * invalid, or -1 when the text ends inside it.
 */

static int
wh_utf8_seq(const u_char *p, const u_char *end, unsigned cls)
{
    int  n, i;

    if (cls == WH_C_BAD) {
        return 0;
    }

    n = wh_utf8_len[cls];

    if (end - p < 2) {
        return -1;
    }

    if (p[1] < wh_utf8_lo[cls] || p[1] > wh_utf8_hi[cls]) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (end - p <= i) {
            return -1;
        }

        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    return n;
}


static wh_json_tok_t *
wh_json_grow(wh_mem_t *mem, wh_json_tok_t *toks, uint32_t *cap, size_t len)
{
    size_t          ncap;
    wh_json_tok_t  *nt;

    /* every token takes at least one byte of text */
    ncap = (size_t) *cap * 2;
    if (ncap > len + 1) {
        ncap = len + 1;
    }

    if (ncap <= *cap || ncap > WH_JSON_MAX_LEN) {
        return NULL;
    }

    nt = wh_alloc(mem, ncap * sizeof(wh_json_tok_t));
    if (nt == NULL) {
        return NULL;
    }

    memcpy(nt, toks, (size_t) *cap * sizeof(wh_json_tok_t));
    *cap = (uint32_t) ncap;

    return nt;
}


/*
 * One scanner for both: wh_json_parse() keeps every token, and
 * wh_json_validate() (validate, a constant after inlining) writes each
 * token to a slot per nesting level, so the open containers are still
 * there to close and nothing is allocated.
 */

static inline __attribute__((always_inline)) int
wh_json_scan(wh_mem_t *mem, const char *text, size_t len,
    wh_json_doc_t *doc, wh_json_err_t *err, int validate)
{
    int             k, is_key;
    size_t          guess;
    unsigned        cls;
    uint32_t        n, cap, depth, top;
    const char     *msg, *lit;
    const u_char   *p, *end, *start;
    wh_json_tok_t  *toks, *t;
    uint32_t        stack[WH_JSON_MAX_DEPTH];
    wh_json_tok_t   levels[validate ? WH_JSON_MAX_DEPTH + 1 : 1];

    if (!validate) {
        doc->text = text;
        doc->len = len;
        doc->toks = NULL;
        doc->ntoks = 0;
    }

    start = (const u_char *) text;
    p = start;
    end = start + len;

    if ((unsigned long long) len > WH_JSON_MAX_LEN) {
        err->offset = 0;
        err->line = 1;
        err->column = 1;
        snprintf(err->msg, sizeof(err->msg), "text too large");
        return -1;
    }

    guess = len / 8 + 16;
    if (guess > 65536) {
        guess = 65536;
    }

    cap = (uint32_t) guess;

    if (validate) {
        toks = levels;

    } else {
        toks = wh_alloc(mem, (size_t) cap * sizeof(wh_json_tok_t));
        if (toks == NULL) {
            goto oom;
        }
    }

    n = 0;
    depth = 0;
    top = 0;

value:

    while (p < end && wh_json_ws(*p)) {
        p++;
    }

    if (p == end) {
        goto eof;
    }

    if (!validate && n == cap) {
        toks = wh_json_grow(mem, toks, &cap, len);
        if (toks == NULL) {
            goto oom;
        }
    }

    t = &toks[validate ? depth : n];
    n++;
    t->escaped = 0;
    t->start = (uint32_t) (p - start);
    t->size = 0;
    t->next = n;

    switch (*p) {

    case '"':
        t->type = WH_JSON_STRING;
        is_key = 0;
        goto string;

    case '[':
        t->type = WH_JSON_ARRAY;
        goto open;

    case '{':
        t->type = WH_JSON_OBJECT;
        goto open;

    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        t->type = WH_JSON_NUMBER;

        if (*p == '-') {
            if (++p == end) {
                goto eof;
            }

            if (!wh_json_digit(*p)) {
                goto bad_number;
            }
        }

        if (*p++ != '0') {
            while (p < end && wh_json_digit(*p)) {
                p++;
            }

        } else if (p < end && wh_json_digit(*p)) {
            goto bad_number;
        }

        if (p < end && *p == '.') {
            if (++p == end) {
                goto eof;
            }

            if (!wh_json_digit(*p)) {
                goto bad_number;
            }

            while (p < end && wh_json_digit(*p)) {
                p++;
            }
        }

        if (p < end && (*p == 'e' || *p == 'E')) {
            if (++p == end) {
                goto eof;
            }

            if (*p == '+' || *p == '-') {
                if (++p == end) {
                    goto eof;
                }
            }

            if (!wh_json_digit(*p)) {
                goto bad_number;
            }

            while (p < end && wh_json_digit(*p)) {
                p++;
            }
        }

        t->len = (uint32_t) (p - start) - t->start;
        goto after;

    case 't':
        t->type = WH_JSON_TRUE;
        lit = "true";
        goto literal;

    case 'f':
        t->type = WH_JSON_FALSE;
        lit = "false";
        goto literal;

    case 'n':
        t->type = WH_JSON_NULL;
        lit = "null";
        goto literal;

    default:
        goto unexpected;
    }

literal:

    for (k = 1; lit[k]; k++) {
        if (p + k == end) {
            goto eof;
        }

        if (p[k] != (u_char) lit[k]) {
            p += k;
            goto unexpected;
        }
    }

    p += k;
    t->len = k;
    goto after;

open:

    if (depth == WH_JSON_MAX_DEPTH) {
        msg = "nesting too deep";
        goto fail;
    }

    top = validate ? depth : n - 1;
    stack[depth++] = top;
    p++;

    while (p < end && wh_json_ws(*p)) {
        p++;
    }

    if (p == end) {
        goto eof;
    }

    if (*p == (t->type == WH_JSON_ARRAY ? ']' : '}')) {
        goto close;
    }

    t->size = 1;

    if (t->type == WH_JSON_ARRAY) {
        goto value;
    }

key:

    /* p is at the first byte of a member */

    if (*p != '"') {
        goto unexpected;
    }

    if (!validate && n == cap) {
        toks = wh_json_grow(mem, toks, &cap, len);
        if (toks == NULL) {
            goto oom;
        }
    }

    t = &toks[validate ? depth : n];
    n++;
    t->type = WH_JSON_STRING;
    t->escaped = 0;
    t->start = (uint32_t) (p - start);
    t->size = 0;
    t->next = n;
    is_key = 1;

string:

    /* p is at the opening quote, t is the string token */

    p++;

    for ( ;; ) {

        p = wh_json_run(p, end);

        if (p == end) {
            goto eof;
        }

        if (*p == '"') {
            p++;
            break;
        }

        cls = wh_json_class[*p];

        if (cls == WH_C_BSLASH) {
            t->escaped = 1;

            if (end - p < 2) {
                goto eof;
            }

            switch (p[1]) {

            case '"': case '\\': case '/': case 'b':
            case 'f': case 'n': case 'r': case 't':
                p += 2;
                continue;

            case 'u':
                for (k = 2; k < 6; k++) {
                    if (p + k == end) {
                        goto eof;
                    }

                    if (wh_hexval(p[k]) < 0) {
                        goto bad_escape;
                    }
                }

                p += 6;
                continue;

            default:
                goto bad_escape;
            }
        }

        if (cls == WH_C_CTRL) {
            msg = "control character in string";
            goto fail;
        }

        k = wh_utf8_seq(p, end, cls);

        if (k == 0) {
            msg = "invalid UTF-8";
            goto fail;
        }

        if (k < 0) {
            goto eof;
        }

        p += k;
    }

    t->len = (uint32_t) (p - start) - t->start;

    if (!is_key) {
        goto after;
    }

    while (p < end && wh_json_ws(*p)) {
        p++;
    }

    if (p == end) {
        goto eof;
    }

    if (*p != ':') {
        goto unexpected;
    }

    p++;
    goto value;

after:

    if (depth == 0) {
        goto done;
    }

    while (p < end && wh_json_ws(*p)) {
        p++;
    }

    if (p == end) {
        goto eof;
    }

    top = stack[depth - 1];

    if (*p == ',') {
        p++;
        toks[top].size++;

        if (toks[top].type == WH_JSON_ARRAY) {
            goto value;
        }

        while (p < end && wh_json_ws(*p)) {
            p++;
        }

        if (p == end) {
            goto eof;
        }

        goto key;
    }

    if (*p != (toks[top].type == WH_JSON_ARRAY ? ']' : '}')) {
        goto unexpected;
    }

close:

    p++;
    toks[top].len = (uint32_t) (p - start) - toks[top].start;
    toks[top].next = n;

    if (--depth) {
        top = stack[depth - 1];
    }

    goto after;

done:

    while (p < end && wh_json_ws(*p)) {
        p++;
    }

    if (p != end) {
        msg = "unexpected data after the value";
        goto fail;
    }

    if (!validate) {
        doc->toks = toks;
        doc->ntoks = n;
    }

    return 0;

bad_number:
    msg = "invalid number";
    goto fail;

bad_escape:
    msg = "invalid escape";
    goto fail;

unexpected:

    err->offset = p - start;

    if (*p > 0x20 && *p < 0x7f) {
        snprintf(err->msg, sizeof(err->msg), "unexpected character '%c'",
                 *p);

    } else {
        snprintf(err->msg, sizeof(err->msg), "unexpected byte 0x%02x", *p);
    }

    goto position;

eof:
    msg = "unexpected end of input";
    p = end;
    goto fail;

oom:
    msg = "out of memory";

fail:

    err->offset = p - start;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);

position:

    wh_json_err_position(text, len, err);

    return -1;
}


int
wh_json_parse(wh_mem_t *mem, const char *text, size_t len,
    wh_json_doc_t *doc, wh_json_err_t *err)
{
    return wh_json_scan(mem, text, len, doc, err, 0);
}


int
wh_json_validate(const char *text, size_t len, wh_json_err_t *err)
{
    return wh_json_scan(NULL, text, len, NULL, err, 1);
}


void
wh_json_err_position(const char *text, size_t len, wh_json_err_t *err)
{
    size_t       off;
    const char  *p, *nl, *line;

    off = err->offset < len ? err->offset : len;

    err->line = 1;
    line = text;

    for (p = text; (size_t) (p - text) < off; p = nl + 1) {
        nl = memchr(p, '\n', off - (p - text));
        if (nl == NULL) {
            break;
        }

        err->line++;
        line = nl + 1;
    }

    err->column = (text + off - line) + 1;
}


static uint32_t
wh_json_hex4(const u_char *p)
{
    return (uint32_t) (wh_hexval(p[0]) << 12 | wh_hexval(p[1]) << 8
                       | wh_hexval(p[2]) << 4 | wh_hexval(p[3]));
}


size_t
wh_utf8_encode(uint32_t cp, void *buf)
{
    u_char  *out = buf;

    if (cp < 0x80) {
        out[0] = (u_char) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (u_char) (0xc0 | (cp >> 6));
        out[1] = (u_char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (u_char) (0xe0 | (cp >> 12));
        out[1] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (u_char) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (u_char) (0xf0 | (cp >> 18));
    out[1] = (u_char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (u_char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (u_char) (0x80 | (cp & 0x3f));
    return 4;
}


/*
 * Decodes the escape at *pp (validated text) into out (4 bytes at most).
 * A surrogate that is not part of a pair becomes U+FFFD.
 */

static size_t
wh_json_unescape1(const u_char **pp, const u_char *end, u_char *out)
{
    uint32_t       cp, lo;
    const u_char  *p;

    p = *pp;

    switch (p[1]) {
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'n':
        out[0] = '\n';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 't':
        out[0] = '\t';
        break;

    case 'u':
        cp = wh_json_hex4(p + 2);
        p += 6;

        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6
            && p[0] == '\\' && p[1] == 'u')
        {
            lo = wh_json_hex4(p + 2);

            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
        }

        if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = 0xfffd;
        }

        *pp = p;
        return wh_utf8_encode(cp, out);

    default:
        out[0] = p[1];
        break;
    }

    *pp = p + 2;
    return 1;
}


void
wh_json_escape(wh_buf_t *b, const char *s, size_t len)
{
    int            k;
    u_char         c;
    unsigned       cls;
    const u_char  *p, *end, *run;
    char           esc[8];

    static const char  hex[] = "0123456789abcdef";

    if (wh_buf_reserve(b, len + 2) != 0) {
        return;
    }

    wh_buf_addc(b, '"');

    p = (const u_char *) s;
    end = p + len;
    run = p;

    while (p < end) {

        p = wh_json_run(p, end);

        if (p == end) {
            break;
        }

        cls = wh_json_class[*p];

        if (cls >= WH_C_U2) {
            k = wh_utf8_seq(p, end, cls);
            if (k > 0) {
                p += k;
                continue;
            }
        }

        wh_buf_add(b, run, p - run);

        c = *p++;
        run = p;

        switch (cls) {
        case WH_C_QUOTE:
            wh_buf_add(b, "\\\"", 2);
            break;
        case WH_C_BSLASH:
            wh_buf_add(b, "\\\\", 2);
            break;
        case WH_C_CTRL:
            esc[0] = '\\';

            switch (c) {
            case '\n':
                esc[1] = 'n';
                break;
            case '\t':
                esc[1] = 't';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\b':
                esc[1] = 'b';
                break;
            case '\f':
                esc[1] = 'f';
                break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xf];
                wh_buf_add(b, esc, 6);
                continue;
            }

            wh_buf_add(b, esc, 2);
            break;

        default:
            wh_buf_add(b, "\\ufffd", 6);
            break;
        }
    }

    wh_buf_add(b, run, p - run);
    wh_buf_addc(b, '"');
}


int
wh_json_string(wh_mem_t *mem, const wh_json_doc_t *doc, uint32_t tok,
    const char **s, size_t *len)
{
    u_char               *out, *o;
    const u_char         *p, *end, *bs;
    const wh_json_tok_t  *t;

    t = &doc->toks[tok];

    if (t->type != WH_JSON_STRING) {
        return -1;
    }

    p = (const u_char *) doc->text + t->start + 1;
    end = p + t->len - 2;

    /* escapes never make a string longer */

    out = wh_alloc(mem, end - p + 1);
    if (out == NULL) {
        return -1;
    }

    if (!t->escaped) {
        memcpy(out, p, end - p);
        out[end - p] = '\0';
        *s = (const char *) out;
        *len = end - p;
        return 0;
    }

    o = out;

    while (p < end) {
        bs = memchr(p, '\\', end - p);
        if (bs == NULL) {
            bs = end;
        }

        memcpy(o, p, bs - p);
        o += bs - p;
        p = bs;

        if (p < end) {
            o += wh_json_unescape1(&p, end, o);
        }
    }

    *o = '\0';
    *s = (const char *) out;
    *len = o - out;

    return 0;
}


/*
 * Walks the unescaped bytes of a string in pieces: runs of the text itself
 * and single decoded escapes.
 */

typedef struct {
    const u_char  *p;
    const u_char  *end;
    const u_char  *piece;
    size_t         plen;
    int            escaped;
    u_char         tmp[4];
} wh_json_iter_t;


static void
wh_json_iter_init(wh_json_iter_t *it, const wh_json_doc_t *doc, uint32_t tok)
{
    const wh_json_tok_t  *t;

    t = &doc->toks[tok];

    it->p = (const u_char *) doc->text + t->start + 1;
    it->end = it->p + t->len - 2;
    it->escaped = t->escaped;
    it->plen = 0;
}


/* Next piece into it->piece/plen; 0 at the end. */

static int
wh_json_iter_next(wh_json_iter_t *it)
{
    const u_char  *bs;

    if (it->p >= it->end) {
        it->plen = 0;
        return 0;
    }

    if (*it->p == '\\' && it->escaped) {
        it->plen = wh_json_unescape1(&it->p, it->end, it->tmp);
        it->piece = it->tmp;
        return 1;
    }

    bs = it->escaped ? memchr(it->p, '\\', it->end - it->p) : NULL;
    if (bs == NULL) {
        bs = it->end;
    }

    it->piece = it->p;
    it->plen = bs - it->p;
    it->p = bs;

    return 1;
}


static int
wh_json_iter_eq(wh_json_iter_t *a, wh_json_iter_t *b)
{
    size_t  n;

    for ( ;; ) {
        if (a->plen == 0) {
            wh_json_iter_next(a);
        }

        if (b->plen == 0) {
            wh_json_iter_next(b);
        }

        if (a->plen == 0 || b->plen == 0) {
            return a->plen == b->plen;
        }

        n = a->plen < b->plen ? a->plen : b->plen;

        if (memcmp(a->piece, b->piece, n) != 0) {
            return 0;
        }

        a->piece += n;
        a->plen -= n;
        b->piece += n;
        b->plen -= n;
    }
}


int
wh_json_string_eq(const wh_json_doc_t *doc, uint32_t tok,
    const char *s, size_t len)
{
    wh_json_iter_t        a, b;
    const wh_json_tok_t  *t;

    t = &doc->toks[tok];

    if (t->type != WH_JSON_STRING) {
        return 0;
    }

    if (!t->escaped) {
        return t->len - 2 == len
               && memcmp(doc->text + t->start + 1, s, len) == 0;
    }

    /* escapes only make the text longer than what they stand for */

    if (len > t->len - 2) {
        return 0;
    }

    wh_json_iter_init(&a, doc, tok);

    b.p = (const u_char *) s;
    b.end = b.p + len;
    b.escaped = 0;
    b.plen = 0;

    return wh_json_iter_eq(&a, &b);
}


int
wh_json_string_eq_tok(const wh_json_doc_t *a, uint32_t ta,
    const wh_json_doc_t *b, uint32_t tb)
{
    wh_json_iter_t        ia, ib;
    const wh_json_tok_t  *t, *u;

    t = &a->toks[ta];
    u = &b->toks[tb];

    if (t->type != WH_JSON_STRING || u->type != WH_JSON_STRING) {
        return 0;
    }

    if (!t->escaped && !u->escaped) {
        return t->len == u->len
               && memcmp(a->text + t->start, b->text + u->start, t->len)
                  == 0;
    }

    wh_json_iter_init(&ia, a, ta);
    wh_json_iter_init(&ib, b, tb);

    return wh_json_iter_eq(&ia, &ib);
}


void
wh_json_write_compact(wh_buf_t *b, const wh_json_doc_t *doc, uint32_t tok)
{
    const u_char         *p, *end, *run, *q, *r;
    const wh_json_tok_t  *t;

    t = &doc->toks[tok];
    p = (const u_char *) doc->text + t->start;
    end = p + t->len;

    if (t->type != WH_JSON_ARRAY && t->type != WH_JSON_OBJECT) {
        wh_buf_add(b, p, t->len);
        return;
    }

    if (wh_buf_reserve(b, t->len) != 0) {
        return;
    }

    run = p;

    while (p < end) {

        if (*p == '"') {
            /* the closing quote is the first one not escaped */

            for (q = p + 1; ; q++) {
                q = memchr(q, '"', end - q);

                for (r = q; r[-1] == '\\'; r--) { /* void */ }

                if (((q - r) & 1) == 0) {
                    break;
                }
            }

            p = q + 1;
            continue;
        }

        if (wh_json_ws(*p)) {
            wh_buf_add(b, run, p - run);

            while (p < end && wh_json_ws(*p)) {
                p++;
            }

            run = p;
            continue;
        }

        p++;
    }

    wh_buf_add(b, run, p - run);
}


uint32_t
wh_json_get(const wh_json_doc_t *doc, uint32_t tok,
    const char *key, size_t key_len)
{
    uint32_t              i, m, found;
    const wh_json_tok_t  *t, *k;

    t = &doc->toks[tok];

    if (t->type != WH_JSON_OBJECT) {
        return 0;
    }

    found = 0;
    i = tok + 1;

    for (m = 0; m < t->size; m++) {
        k = &doc->toks[i];

        if (k->escaped) {
            if (wh_json_string_eq(doc, i, key, key_len)) {
                found = i + 1;
            }

        } else if (k->len - 2 == key_len
                   && (key_len == 0 || doc->text[k->start + 1] == key[0])
                   && memcmp(doc->text + k->start + 1, key, key_len) == 0)
        {
            found = i + 1;
        }

        i = doc->toks[i + 1].next;
    }

    return found;
}


uint32_t
wh_json_index(const wh_json_doc_t *doc, uint32_t tok, uint32_t i)
{
    uint32_t              j, k;
    const wh_json_tok_t  *t;

    t = &doc->toks[tok];

    if (t->type != WH_JSON_ARRAY || i >= t->size) {
        return 0;
    }

    k = tok + 1;

    for (j = 0; j < i; j++) {
        k = doc->toks[k].next;
    }

    return k;
}
