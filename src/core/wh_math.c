/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "math" engine: an expression is parsed once (precedence climbing)
 * into a tree; every "{{ path }}" in it becomes a variable node holding the
 * compiled path, so a value from a request is never parsed as expression
 * text.  Evaluation follows JavaScript where the SPEC does not say more.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                /* memmem */
#endif

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_codec.h"
#include "wh_math.h"
#include "wh_time.h"


#define WH_MATH_MAX_DEPTH  64     /* nesting of the parser */
#define WH_MATH_MAX_TREE   256    /* height of the tree: evaluation stack */
#define WH_MATH_MAX_ROUND  15


typedef enum {
    WH_MN_NUM, WH_MN_STR, WH_MN_TRUE, WH_MN_FALSE, WH_MN_NULL, WH_MN_VAR,
    WH_MN_INTERP, WH_MN_NEG, WH_MN_POS, WH_MN_NOT, WH_MN_MUL, WH_MN_DIV,
    WH_MN_MOD, WH_MN_POW, WH_MN_ADD, WH_MN_SUB, WH_MN_LT, WH_MN_LE,
    WH_MN_GT, WH_MN_GE,
    WH_MN_EQ, WH_MN_NE, WH_MN_AND, WH_MN_OR, WH_MN_COND, WH_MN_CALL
} wh_mn_type_t;

typedef enum {
    WH_MF_LOWER, WH_MF_UPPER, WH_MF_TRIM, WH_MF_LEN, WH_MF_REPLACE,
    WH_MF_SUBSTR, WH_MF_SPLIT, WH_MF_JOIN, WH_MF_ROUND, WH_MF_FLOOR,
    WH_MF_CEIL, WH_MF_NOW, WH_MF_HMAC, WH_MF_SHA256, WH_MF_SHA1, WH_MF_MD5,
    WH_MF_BASE64, WH_MF_UNBASE64, WH_MF_HEX, WH_MF_URLENCODE,
    WH_MF_URLDECODE, WH_MF_JSON, WH_MF_PARSE, WH_MF_DATE, WH_MF_FORMAT,
    WH_MF_ADD, WH_MF_DIFF
} wh_mf_t;

typedef struct {
    const char  *name;
    int          min;
    int          max;
} wh_mf_def_t;

static const wh_mf_def_t  wh_math_fns[] = {
    { "lower", 1, 1 },
    { "upper", 1, 1 },
    { "trim", 1, 1 },
    { "len", 1, 1 },
    { "replace", 3, 3 },
    { "substr", 2, 3 },
    { "split", 2, 2 },
    { "join", 2, 2 },
    { "round", 1, 2 },
    { "floor", 1, 1 },
    { "ceil", 1, 1 },
    { "now", 0, 0 },
    { "hmac", 3, 4 },
    { "sha256", 1, 1 },
    { "sha1", 1, 1 },
    { "md5", 1, 1 },
    { "base64", 1, 1 },
    { "unbase64", 1, 1 },
    { "hex", 1, 1 },
    { "urlencode", 1, 1 },
    { "urldecode", 1, 1 },
    { "json", 1, 1 },
    { "parse", 1, 1 },
    { "date", 1, 1 },
    { "format", 2, 2 },
    { "add", 3, 3 },
    { "diff", 3, 3 }
};

#define WH_MATH_NFNS  (sizeof(wh_math_fns) / sizeof(wh_math_fns[0]))


typedef struct wh_mn_s  wh_mn_t;

struct wh_mn_s {
    wh_mn_type_t       type;
    int                fn;
    int                height;
    double             num;
    char              *str;
    size_t             len;
    const wh_path_t   *path;
    size_t             nkids;
    wh_mn_t           *kids[];
};

typedef struct {
    size_t             start;
    size_t             end;
    wh_path_t         *path;
} wh_mspan_t;

struct wh_math_s {
    wh_mn_t           *root;
    wh_mspan_t        *spans;
    size_t             nspans;
};


typedef enum {
    WH_MT_END, WH_MT_NUM, WH_MT_STR, WH_MT_VAR, WH_MT_IDENT, WH_MT_TRUE,
    WH_MT_FALSE, WH_MT_NULL, WH_MT_LPAREN, WH_MT_RPAREN, WH_MT_COMMA,
    WH_MT_QUESTION, WH_MT_COLON, WH_MT_PLUS, WH_MT_MINUS, WH_MT_STAR,
    WH_MT_SLASH, WH_MT_PERCENT, WH_MT_NOT, WH_MT_LT, WH_MT_LE, WH_MT_GT,
    WH_MT_GE, WH_MT_EQ, WH_MT_NE, WH_MT_AND, WH_MT_OR, WH_MT_POW
} wh_mt_t;

typedef struct {
    const char        *s;
    size_t             len;
    size_t             pos;
    wh_mspan_t        *spans;
    size_t             nspans;
    size_t             span;
    int                depth;
    const wh_keys_t   *keys;
    char              *err;
    size_t             errlen;

    wh_mt_t            tok;
    size_t             tok_start;
    wh_mn_t           *tok_node;    /* literal or template of tok */
} wh_mparse_t;


/* A value during evaluation. */

typedef struct {
    wh_json_type_t     type;
    double             d;           /* numbers */
    const char        *s;           /* strings */
    size_t             len;
    wh_val_t           v;           /* the value it came from, if any */
} wh_mv_t;

typedef struct {
    wh_scope_t        *scope;
    wh_mem_t          *mem;
    char              *err;
    size_t             errlen;
} wh_meval_t;


static int wh_math_span(void *data, size_t start, size_t end,
    const char *inner, size_t inner_len);
static void wh_mn_free(wh_mn_t *n);
static wh_mn_t *wh_mn_new(wh_mparse_t *p, wh_mn_type_t type, size_t nkids);
static int wh_mn_set_height(wh_mparse_t *p, wh_mn_t *n);
static void wh_mparse_unexpected(wh_mparse_t *p);
static int wh_mparse_next(wh_mparse_t *p);
static int wh_mparse_number(wh_mparse_t *p);
static int wh_mparse_string(wh_mparse_t *p);
static int wh_mparse_escape(wh_mparse_t *p, char **buf, size_t *n,
    size_t *cap);
static int wh_mparse_add_part(wh_mparse_t *p, wh_mn_t ***parts,
    size_t *nparts, wh_mn_t *part);
static int wh_math_grow(char **buf, size_t *cap, size_t need);
static wh_mn_t *wh_mparse_cond(wh_mparse_t *p);
static wh_mn_t *wh_mparse_binary(wh_mparse_t *p, int min);
static wh_mn_t *wh_mparse_unary(wh_mparse_t *p);
static wh_mn_t *wh_mparse_power(wh_mparse_t *p);
static wh_mn_t *wh_mparse_primary(wh_mparse_t *p);
static wh_mn_t *wh_mparse_call(wh_mparse_t *p, const char *name,
    size_t len, size_t at);
static int wh_math_prec(wh_mt_t t);

static int wh_math_run(wh_meval_t *e, const wh_mn_t *n, wh_mv_t *r);
static int wh_math_call(wh_meval_t *e, const wh_mn_t *n, wh_mv_t *r);
static int wh_mv_from_val(wh_meval_t *e, wh_val_t v, wh_mv_t *r);
static int wh_mv_text(wh_meval_t *e, const wh_mv_t *a, const char **s,
    size_t *len);
static int wh_mv_num(wh_meval_t *e, const wh_mv_t *a, double *d);
static int wh_mv_numeric(wh_meval_t *e, const wh_mv_t *a, double *d);
static int wh_mv_truthy(const wh_mv_t *a);
static int wh_mv_equal(wh_meval_t *e, const wh_mv_t *a, const wh_mv_t *b,
    int *eq);
static int wh_mv_number(wh_meval_t *e, double d, wh_mv_t *r);
static int wh_mv_string(wh_meval_t *e, const char *s, size_t len,
    wh_mv_t *r);
static int wh_math_strtonum(wh_mem_t *mem, const char *s, size_t len,
    double *d);
static double wh_math_round(double x, int digits);
static size_t wh_utf8_next(const char *s, size_t len, unsigned *cp);
static unsigned wh_case_map(unsigned cp, int upper);
static size_t wh_utf8_count(const char *s, size_t len);
static size_t wh_utf8_offset(const char *s, size_t len, size_t cps);


/* compilation */

typedef struct {
    wh_math_t          *m;
    size_t              cap;
    const wh_keys_t    *keys;
    char               *err;
    size_t              errlen;
} wh_mscan_t;


static int
wh_math_span(void *data, size_t start, size_t end, const char *inner,
    size_t inner_len)
{
    wh_mscan_t  *sc = data;
    wh_mspan_t  *spans;
    wh_path_t   *path;

    if (sc->m->nspans == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 4;
        spans = realloc(sc->m->spans, sc->cap * sizeof(wh_mspan_t));
        if (spans == NULL) {
            wh_err(sc->err, sc->errlen, "out of memory");
            return -1;
        }

        sc->m->spans = spans;
    }

    path = wh_path_compile(inner, inner_len, sc->keys, sc->err, sc->errlen);
    if (path == NULL) {
        return -1;
    }

    sc->m->spans[sc->m->nspans].start = start;
    sc->m->spans[sc->m->nspans].end = end;
    sc->m->spans[sc->m->nspans].path = path;
    sc->m->nspans++;

    return 0;
}


wh_math_t *
wh_math_compile(const char *expr, size_t len, const wh_keys_t *keys,
    char *err, size_t errlen)
{
    wh_math_t    *m;
    wh_mscan_t    sc;
    wh_mparse_t   p;

    m = calloc(1, sizeof(wh_math_t));
    if (m == NULL) {
        wh_err(err, errlen, "out of memory");
        return NULL;
    }

    sc.m = m;
    sc.cap = 0;
    sc.keys = keys;
    sc.err = err;
    sc.errlen = errlen;

    if (wh_path_scan(expr, len, wh_math_span, &sc, err, errlen) != 0) {
        wh_math_free(m);
        return NULL;
    }

    memset(&p, 0, sizeof(wh_mparse_t));
    p.s = expr;
    p.len = len;
    p.spans = m->spans;
    p.nspans = m->nspans;
    p.keys = keys;
    p.err = err;
    p.errlen = errlen;

    if (wh_mparse_next(&p) != 0) {
        goto failed;
    }

    if (p.tok == WH_MT_END) {
        wh_err(err, errlen, "empty expression");
        goto failed;
    }

    m->root = wh_mparse_cond(&p);
    if (m->root == NULL) {
        goto failed;
    }

    if (p.tok != WH_MT_END) {
        wh_mparse_unexpected(&p);
        goto failed;
    }

    return m;

failed:

    wh_mn_free(p.tok_node);
    wh_math_free(m);
    return NULL;
}


void
wh_math_free(wh_math_t *m)
{
    size_t  i;

    if (m == NULL) {
        return;
    }

    wh_mn_free(m->root);

    for (i = 0; i < m->nspans; i++) {
        wh_path_free(m->spans[i].path);
    }

    free(m->spans);
    free(m);
}


static void
wh_mn_free(wh_mn_t *n)
{
    size_t  i;

    if (n == NULL) {
        return;
    }

    for (i = 0; i < n->nkids; i++) {
        wh_mn_free(n->kids[i]);
    }

    free(n->str);
    free(n);
}


static wh_mn_t *
wh_mn_new(wh_mparse_t *p, wh_mn_type_t type, size_t nkids)
{
    wh_mn_t  *n;

    n = calloc(1, sizeof(wh_mn_t) + nkids * sizeof(wh_mn_t *));
    if (n == NULL) {
        wh_err(p->err, p->errlen, "out of memory");
        return NULL;
    }

    n->type = type;
    n->height = 1;
    n->nkids = nkids;

    return n;
}


/* The tree is evaluated recursively: bound its height. */

static int
wh_mn_set_height(wh_mparse_t *p, wh_mn_t *n)
{
    size_t  i;

    n->height = 1;

    for (i = 0; i < n->nkids; i++) {
        if (n->kids[i]->height >= n->height) {
            n->height = n->kids[i]->height + 1;
        }
    }

    if (n->height > WH_MATH_MAX_TREE) {
        wh_err(p->err, p->errlen, "expression too deep");
        return -1;
    }

    return 0;
}


static void
wh_mparse_unexpected(wh_mparse_t *p)
{
    size_t  n;

    if (p->tok == WH_MT_END) {
        wh_err(p->err, p->errlen, "unexpected end of expression");
        return;
    }

    n = p->pos - p->tok_start;

    if (p->tok == WH_MT_VAR) {
        wh_err(p->err, p->errlen, "unexpected template at column %zu",
                    p->tok_start + 1);
        return;
    }

    wh_err(p->err, p->errlen, "unexpected \"%.*s\" at column %zu",
                n > 32 ? 32 : (int) n, p->s + p->tok_start,
                p->tok_start + 1);
}


static int
wh_mparse_next(wh_mparse_t *p)
{
    char         c, c2;
    const char  *s;
    size_t       len;

    wh_mn_free(p->tok_node);
    p->tok_node = NULL;

    s = p->s;
    len = p->len;

    while (p->pos < len
           && (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n'
               || s[p->pos] == '\r'))
    {
        p->pos++;
    }

    /* templates swallowed by a string escape are plain text */
    while (p->span < p->nspans && p->spans[p->span].start < p->pos) {
        p->span++;
    }

    p->tok_start = p->pos;

    if (p->pos >= len) {
        p->tok = WH_MT_END;
        return 0;
    }

    if (p->span < p->nspans && p->spans[p->span].start == p->pos) {
        p->tok_node = wh_mn_new(p, WH_MN_VAR, 0);
        if (p->tok_node == NULL) {
            return -1;
        }

        p->tok_node->path = p->spans[p->span].path;
        p->pos = p->spans[p->span].end;
        p->span++;
        p->tok = WH_MT_VAR;
        return 0;
    }

    c = s[p->pos];
    c2 = p->pos + 1 < len ? s[p->pos + 1] : '\0';

    if (isdigit((unsigned char) c)
        || (c == '.' && isdigit((unsigned char) c2)))
    {
        return wh_mparse_number(p);
    }

    if (c == '\'' || c == '"') {
        return wh_mparse_string(p);
    }

    if (isalpha((unsigned char) c) || c == '_') {
        while (p->pos < len
               && (isalnum((unsigned char) s[p->pos]) || s[p->pos] == '_'))
        {
            p->pos++;
        }

        len = p->pos - p->tok_start;
        s += p->tok_start;

        if (len == 4 && memcmp(s, "true", 4) == 0) {
            p->tok = WH_MT_TRUE;

        } else if (len == 5 && memcmp(s, "false", 5) == 0) {
            p->tok = WH_MT_FALSE;

        } else if (len == 4 && memcmp(s, "null", 4) == 0) {
            p->tok = WH_MT_NULL;

        } else {
            p->tok = WH_MT_IDENT;
        }

        return 0;
    }

    p->pos++;

    switch (c) {

    case '(':
        p->tok = WH_MT_LPAREN;
        return 0;

    case ')':
        p->tok = WH_MT_RPAREN;
        return 0;

    case ',':
        p->tok = WH_MT_COMMA;
        return 0;

    case '?':
        p->tok = WH_MT_QUESTION;
        return 0;

    case ':':
        p->tok = WH_MT_COLON;
        return 0;

    case '+':
        p->tok = WH_MT_PLUS;
        return 0;

    case '-':
        p->tok = WH_MT_MINUS;
        return 0;

    case '*':
        /* "**" as JavaScript's power */
        if (c2 == '*') {
            p->pos++;
            p->tok = WH_MT_POW;
            return 0;
        }

        p->tok = WH_MT_STAR;
        return 0;

    case '^':
        /* power, as math.js (NocoBase's math engine) has it */
        p->tok = WH_MT_POW;
        return 0;

    case '/':
        p->tok = WH_MT_SLASH;
        return 0;

    case '%':
        p->tok = WH_MT_PERCENT;
        return 0;

    case '<':
    case '>':
        if (c2 == '=') {
            p->pos++;
            p->tok = c == '<' ? WH_MT_LE : WH_MT_GE;

        } else {
            p->tok = c == '<' ? WH_MT_LT : WH_MT_GT;
        }

        return 0;

    case '!':
    case '=':
        if (c2 == '=') {
            p->pos++;

            /* "===" and "!==" are "==" and "!=" */
            if (p->pos < len && s[p->pos] == '=') {
                p->pos++;
            }

            p->tok = c == '!' ? WH_MT_NE : WH_MT_EQ;
            return 0;
        }

        if (c == '!') {
            p->tok = WH_MT_NOT;
            return 0;
        }

        break;

    case '&':
    case '|':
        if (c2 == c) {
            p->pos++;
            p->tok = c == '&' ? WH_MT_AND : WH_MT_OR;
            return 0;
        }

        break;

    default:
        break;
    }

    if ((unsigned char) c < 0x20 || (unsigned char) c >= 0x7f) {
        wh_err(p->err, p->errlen,
                    "unexpected character 0x%02x at column %zu",
                    (unsigned char) c, p->tok_start + 1);

    } else {
        wh_err(p->err, p->errlen, "unexpected \"%c\" at column %zu",
                    c, p->tok_start + 1);
    }

    return -1;
}


static int
wh_mparse_number(wh_mparse_t *p)
{
    char        *buf;
    double       d;
    size_t       n;
    const char  *s;

    s = p->s;

    while (p->pos < p->len && isdigit((unsigned char) s[p->pos])) {
        p->pos++;
    }

    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;

        while (p->pos < p->len && isdigit((unsigned char) s[p->pos])) {
            p->pos++;
        }
    }

    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;

        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) {
            p->pos++;
        }

        if (p->pos >= p->len || !isdigit((unsigned char) s[p->pos])) {
            goto bad;
        }

        while (p->pos < p->len && isdigit((unsigned char) s[p->pos])) {
            p->pos++;
        }
    }

    if (p->pos < p->len
        && (isalnum((unsigned char) s[p->pos]) || s[p->pos] == '_'
            || s[p->pos] == '.'))
    {
        goto bad;
    }

    n = p->pos - p->tok_start;

    buf = malloc(n + 1);
    if (buf == NULL) {
        wh_err(p->err, p->errlen, "out of memory");
        return -1;
    }

    memcpy(buf, s + p->tok_start, n);
    buf[n] = '\0';
    d = strtod(buf, NULL);
    free(buf);

    if (!isfinite(d)) {
        wh_err(p->err, p->errlen, "number out of range at column %zu",
                    p->tok_start + 1);
        return -1;
    }

    p->tok_node = wh_mn_new(p, WH_MN_NUM, 0);
    if (p->tok_node == NULL) {
        return -1;
    }

    p->tok_node->num = d;
    p->tok = WH_MT_NUM;

    return 0;

bad:

    wh_err(p->err, p->errlen, "invalid number at column %zu",
                p->tok_start + 1);
    return -1;
}


static int
wh_math_grow(char **buf, size_t *cap, size_t need)
{
    char    *nb;
    size_t   ncap;

    if (need <= *cap) {
        return 0;
    }

    ncap = *cap ? *cap * 2 : 32;
    while (ncap < need) {
        ncap *= 2;
    }

    nb = realloc(*buf, ncap);
    if (nb == NULL) {
        return -1;
    }

    *buf = nb;
    *cap = ncap;

    return 0;
}


static int
wh_mparse_hex4(const char *s, unsigned *v)
{
    int  i;

    *v = 0;

    for (i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char) s[i])) {
            return -1;
        }

        *v = *v * 16 + (isdigit((unsigned char) s[i])
                        ? (unsigned) (s[i] - '0')
                        : (unsigned) (tolower((unsigned char) s[i]) - 'a'
                                      + 10));
    }

    return 0;
}


/* Called with p->pos on the backslash. */

static int
wh_mparse_escape(wh_mparse_t *p, char **buf, size_t *n, size_t *cap)
{
    char         c;
    unsigned     cp, lo;
    const char  *s;

    s = p->s;
    p->pos++;

    if (p->pos >= p->len) {
        return 1;
    }

    if (wh_math_grow(buf, cap, *n + 4) != 0) {
        wh_err(p->err, p->errlen, "out of memory");
        return -1;
    }

    c = s[p->pos++];

    switch (c) {
    case 'n':
        (*buf)[(*n)++] = '\n';
        return 0;
    case 't':
        (*buf)[(*n)++] = '\t';
        return 0;
    case 'r':
        (*buf)[(*n)++] = '\r';
        return 0;
    case 'b':
        (*buf)[(*n)++] = '\b';
        return 0;
    case 'f':
        (*buf)[(*n)++] = '\f';
        return 0;
    case 'v':
        (*buf)[(*n)++] = '\v';
        return 0;
    case '0':
        (*buf)[(*n)++] = '\0';
        return 0;
    case 'u':
        break;
    default:
        /* \\ \' \" and any other character stand for themselves */
        (*buf)[(*n)++] = c;
        return 0;
    }

    if (p->len - p->pos < 4 || wh_mparse_hex4(s + p->pos, &cp) != 0) {
        goto bad;
    }

    p->pos += 4;

    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->len - p->pos < 6 || s[p->pos] != '\\' || s[p->pos + 1] != 'u'
            || wh_mparse_hex4(s + p->pos + 2, &lo) != 0
            || lo < 0xdc00 || lo > 0xdfff)
        {
            cp = 0xfffd;

        } else {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p->pos += 6;
        }

    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = 0xfffd;
    }

    *n += wh_utf8_encode(cp, *buf + *n);
    return 0;

bad:

    wh_err(p->err, p->errlen, "invalid \\u escape at column %zu",
                p->pos);
    return -1;
}


static int
wh_mparse_add_part(wh_mparse_t *p, wh_mn_t ***parts, size_t *nparts,
    wh_mn_t *part)
{
    wh_mn_t  **np;

    np = realloc(*parts, (*nparts + 1) * sizeof(wh_mn_t *));
    if (np == NULL) {
        wh_mn_free(part);
        wh_err(p->err, p->errlen, "out of memory");
        return -1;
    }

    np[(*nparts)++] = part;
    *parts = np;

    return 0;
}


/*
 * A string literal; templates inside it interpolate their text, so it
 * becomes a list of parts.
 */

static int
wh_mparse_string(wh_mparse_t *p)
{
    int          rc;
    char         q, *buf;
    size_t       n, cap, nparts, i;
    wh_mn_t     *part, **parts, *node;
    const char  *s;

    s = p->s;
    q = s[p->pos++];
    buf = NULL;
    n = 0;
    cap = 0;
    parts = NULL;
    nparts = 0;

    for ( ;; ) {
        while (p->span < p->nspans && p->spans[p->span].start < p->pos) {
            p->span++;
        }

        if (p->pos >= p->len) {
            wh_err(p->err, p->errlen,
                        "unterminated string at column %zu",
                        p->tok_start + 1);
            goto failed;
        }

        if (p->span < p->nspans && p->spans[p->span].start == p->pos) {
            if (n > 0) {
                part = wh_mn_new(p, WH_MN_STR, 0);
                if (part == NULL) {
                    goto failed;
                }

                part->str = buf;
                part->len = n;
                buf = NULL;
                n = 0;
                cap = 0;

                if (wh_mparse_add_part(p, &parts, &nparts, part) != 0) {
                    goto failed;
                }
            }

            part = wh_mn_new(p, WH_MN_VAR, 0);
            if (part == NULL) {
                goto failed;
            }

            part->path = p->spans[p->span].path;
            p->pos = p->spans[p->span].end;
            p->span++;

            if (wh_mparse_add_part(p, &parts, &nparts, part) != 0) {
                goto failed;
            }

            continue;
        }

        if (s[p->pos] == q) {
            p->pos++;
            break;
        }

        if (s[p->pos] == '\\') {
            rc = wh_mparse_escape(p, &buf, &n, &cap);
            if (rc < 0) {
                goto failed;
            }

            continue;
        }

        if (wh_math_grow(&buf, &cap, n + 1) != 0) {
            wh_err(p->err, p->errlen, "out of memory");
            goto failed;
        }

        buf[n++] = s[p->pos++];
    }

    if (nparts == 0 || n > 0) {
        if (wh_math_grow(&buf, &cap, n + 1) != 0) {
            wh_err(p->err, p->errlen, "out of memory");
            goto failed;
        }

        buf[n] = '\0';

        part = wh_mn_new(p, WH_MN_STR, 0);
        if (part == NULL) {
            goto failed;
        }

        part->str = buf;
        part->len = n;
        buf = NULL;

        if (nparts == 0) {
            p->tok_node = part;
            p->tok = WH_MT_STR;
            return 0;
        }

        if (wh_mparse_add_part(p, &parts, &nparts, part) != 0) {
            goto failed;
        }
    }

    node = wh_mn_new(p, WH_MN_INTERP, nparts);
    if (node == NULL) {
        goto failed;
    }

    for (i = 0; i < nparts; i++) {
        node->kids[i] = parts[i];
    }

    node->height = 2;
    free(parts);

    p->tok_node = node;
    p->tok = WH_MT_STR;

    return 0;

failed:

    for (i = 0; i < nparts; i++) {
        wh_mn_free(parts[i]);
    }

    free(parts);
    free(buf);

    return -1;
}


static int
wh_math_prec(wh_mt_t t)
{
    switch (t) {
    case WH_MT_OR:
        return 1;
    case WH_MT_AND:
        return 2;
    case WH_MT_EQ:
    case WH_MT_NE:
        return 3;
    case WH_MT_LT:
    case WH_MT_LE:
    case WH_MT_GT:
    case WH_MT_GE:
        return 4;
    case WH_MT_PLUS:
    case WH_MT_MINUS:
        return 5;
    case WH_MT_STAR:
    case WH_MT_SLASH:
    case WH_MT_PERCENT:
        return 6;
    default:
        return 0;
    }
}


static wh_mn_t *
wh_mparse_cond(wh_mparse_t *p)
{
    wh_mn_t  *c, *a, *b, *n;

    if (++p->depth > WH_MATH_MAX_DEPTH) {
        wh_err(p->err, p->errlen, "expression too deep");
        return NULL;
    }

    c = wh_mparse_binary(p, 1);
    if (c == NULL) {
        return NULL;
    }

    if (p->tok != WH_MT_QUESTION) {
        p->depth--;
        return c;
    }

    a = NULL;
    b = NULL;

    if (wh_mparse_next(p) != 0) {
        goto failed;
    }

    a = wh_mparse_cond(p);
    if (a == NULL) {
        goto failed;
    }

    if (p->tok != WH_MT_COLON) {
        if (p->tok == WH_MT_END) {
            wh_err(p->err, p->errlen, "expected \":\" at the end");

        } else {
            wh_err(p->err, p->errlen, "expected \":\" at column %zu",
                        p->tok_start + 1);
        }

        goto failed;
    }

    if (wh_mparse_next(p) != 0) {
        goto failed;
    }

    b = wh_mparse_cond(p);
    if (b == NULL) {
        goto failed;
    }

    n = wh_mn_new(p, WH_MN_COND, 3);
    if (n == NULL) {
        goto failed;
    }

    n->kids[0] = c;
    n->kids[1] = a;
    n->kids[2] = b;

    if (wh_mn_set_height(p, n) != 0) {
        wh_mn_free(n);
        return NULL;
    }

    p->depth--;
    return n;

failed:

    wh_mn_free(c);
    wh_mn_free(a);
    wh_mn_free(b);
    return NULL;
}


static wh_mn_t *
wh_mparse_binary(wh_mparse_t *p, int min)
{
    int            prec;
    wh_mt_t        op;
    wh_mn_t       *left, *right, *n;
    wh_mn_type_t   type;

    left = wh_mparse_unary(p);
    if (left == NULL) {
        return NULL;
    }

    for ( ;; ) {
        op = p->tok;
        prec = wh_math_prec(op);

        if (prec == 0 || prec < min) {
            return left;
        }

        if (wh_mparse_next(p) != 0) {
            wh_mn_free(left);
            return NULL;
        }

        /* all binary operators are left-associative */
        right = wh_mparse_binary(p, prec + 1);
        if (right == NULL) {
            wh_mn_free(left);
            return NULL;
        }

        switch (op) {
        case WH_MT_OR:
            type = WH_MN_OR;
            break;
        case WH_MT_AND:
            type = WH_MN_AND;
            break;
        case WH_MT_EQ:
            type = WH_MN_EQ;
            break;
        case WH_MT_NE:
            type = WH_MN_NE;
            break;
        case WH_MT_LT:
            type = WH_MN_LT;
            break;
        case WH_MT_LE:
            type = WH_MN_LE;
            break;
        case WH_MT_GT:
            type = WH_MN_GT;
            break;
        case WH_MT_GE:
            type = WH_MN_GE;
            break;
        case WH_MT_PLUS:
            type = WH_MN_ADD;
            break;
        case WH_MT_MINUS:
            type = WH_MN_SUB;
            break;
        case WH_MT_STAR:
            type = WH_MN_MUL;
            break;
        case WH_MT_SLASH:
            type = WH_MN_DIV;
            break;
        default:
            type = WH_MN_MOD;
            break;
        }

        n = wh_mn_new(p, type, 2);
        if (n == NULL) {
            wh_mn_free(left);
            wh_mn_free(right);
            return NULL;
        }

        n->kids[0] = left;
        n->kids[1] = right;

        if (wh_mn_set_height(p, n) != 0) {
            wh_mn_free(n);
            return NULL;
        }

        left = n;
    }
}


/*
 * Power binds tighter than a unary sign on its left and is
 * right-associative: -2 ^ 2 is -4, 2 ^ 3 ^ 2 is 512, 2 ^ -1 is 0.5.
 */
static wh_mn_t *
wh_mparse_power(wh_mparse_t *p)
{
    wh_mn_t  *a, *b, *n;

    a = wh_mparse_primary(p);
    if (a == NULL || p->tok != WH_MT_POW) {
        return a;
    }

    if (++p->depth > WH_MATH_MAX_DEPTH) {
        wh_err(p->err, p->errlen, "expression too deep");
        wh_mn_free(a);
        return NULL;
    }

    if (wh_mparse_next(p) != 0) {
        wh_mn_free(a);
        return NULL;
    }

    b = wh_mparse_unary(p);
    if (b == NULL) {
        wh_mn_free(a);
        return NULL;
    }

    p->depth--;

    n = wh_mn_new(p, WH_MN_POW, 2);
    if (n == NULL) {
        wh_mn_free(a);
        wh_mn_free(b);
        return NULL;
    }

    n->kids[0] = a;
    n->kids[1] = b;

    if (wh_mn_set_height(p, n) != 0) {
        wh_mn_free(n);
        return NULL;
    }

    return n;
}


static wh_mn_t *
wh_mparse_unary(wh_mparse_t *p)
{
    wh_mn_t       *a, *n;
    wh_mn_type_t   type;

    switch (p->tok) {
    case WH_MT_MINUS:
        type = WH_MN_NEG;
        break;
    case WH_MT_PLUS:
        type = WH_MN_POS;
        break;
    case WH_MT_NOT:
        type = WH_MN_NOT;
        break;
    default:
        return wh_mparse_power(p);
    }

    if (++p->depth > WH_MATH_MAX_DEPTH) {
        wh_err(p->err, p->errlen, "expression too deep");
        return NULL;
    }

    if (wh_mparse_next(p) != 0) {
        return NULL;
    }

    a = wh_mparse_unary(p);
    if (a == NULL) {
        return NULL;
    }

    p->depth--;

    /* fold negative literals so that "-5" is a number */
    if (type == WH_MN_NEG && a->type == WH_MN_NUM) {
        a->num = -a->num;
        return a;
    }

    n = wh_mn_new(p, type, 1);
    if (n == NULL) {
        wh_mn_free(a);
        return NULL;
    }

    n->kids[0] = a;

    if (wh_mn_set_height(p, n) != 0) {
        wh_mn_free(n);
        return NULL;
    }

    return n;
}


static wh_mn_t *
wh_mparse_primary(wh_mparse_t *p)
{
    size_t        at, len;
    wh_mn_t      *n;
    const char   *name;

    switch (p->tok) {

    case WH_MT_NUM:
    case WH_MT_STR:
    case WH_MT_VAR:
        n = p->tok_node;
        p->tok_node = NULL;

        if (wh_mparse_next(p) != 0) {
            wh_mn_free(n);
            return NULL;
        }

        return n;

    case WH_MT_TRUE:
    case WH_MT_FALSE:
    case WH_MT_NULL:
        n = wh_mn_new(p, p->tok == WH_MT_TRUE ? WH_MN_TRUE
                         : p->tok == WH_MT_FALSE ? WH_MN_FALSE : WH_MN_NULL,
                      0);
        if (n == NULL) {
            return NULL;
        }

        if (wh_mparse_next(p) != 0) {
            wh_mn_free(n);
            return NULL;
        }

        return n;

    case WH_MT_IDENT:
        at = p->tok_start;
        name = p->s + at;
        len = p->pos - at;

        if (wh_mparse_next(p) != 0) {
            return NULL;
        }

        if (p->tok != WH_MT_LPAREN) {
            wh_err(p->err, p->errlen, "unknown name \"%.*s\" at column "
                        "%zu (functions are called with \"()\", values "
                        "are \"{{ path }}\")",
                        len > 32 ? 32 : (int) len, name, at + 1);
            return NULL;
        }

        return wh_mparse_call(p, name, len, at);

    case WH_MT_LPAREN:
        if (wh_mparse_next(p) != 0) {
            return NULL;
        }

        n = wh_mparse_cond(p);
        if (n == NULL) {
            return NULL;
        }

        if (p->tok != WH_MT_RPAREN) {
            if (p->tok == WH_MT_END) {
                wh_err(p->err, p->errlen, "missing \")\"");

            } else {
                wh_err(p->err, p->errlen,
                            "expected \")\" at column %zu", p->tok_start + 1);
            }

            wh_mn_free(n);
            return NULL;
        }

        if (wh_mparse_next(p) != 0) {
            wh_mn_free(n);
            return NULL;
        }

        return n;

    default:
        wh_mparse_unexpected(p);
        return NULL;
    }
}


/* Called with the current token on "(". */

static wh_mn_t *
wh_mparse_call(wh_mparse_t *p, const char *name, size_t len, size_t at)
{
    int        fn;
    size_t     i, nargs;
    wh_mn_t   *args[4], *n;

    for (fn = 0; fn < (int) WH_MATH_NFNS; fn++) {
        if (strlen(wh_math_fns[fn].name) == len
            && memcmp(wh_math_fns[fn].name, name, len) == 0)
        {
            break;
        }
    }

    if (fn == (int) WH_MATH_NFNS) {
        wh_err(p->err, p->errlen,
                    "unknown function \"%.*s\" at column %zu",
                    len > 32 ? 32 : (int) len, name, at + 1);
        return NULL;
    }

    if (++p->depth > WH_MATH_MAX_DEPTH) {
        wh_err(p->err, p->errlen, "expression too deep");
        return NULL;
    }

    nargs = 0;

    if (wh_mparse_next(p) != 0) {
        return NULL;
    }

    if (p->tok != WH_MT_RPAREN) {
        for ( ;; ) {
            if (nargs == 4) {
                goto count;
            }

            args[nargs] = wh_mparse_cond(p);
            if (args[nargs] == NULL) {
                goto failed;
            }

            nargs++;

            if (p->tok == WH_MT_RPAREN) {
                break;
            }

            if (p->tok != WH_MT_COMMA) {
                if (p->tok == WH_MT_END) {
                    wh_err(p->err, p->errlen, "missing \")\" of %s()",
                                wh_math_fns[fn].name);

                } else {
                    wh_err(p->err, p->errlen,
                                "expected \",\" or \")\" at column %zu",
                                p->tok_start + 1);
                }

                goto failed;
            }

            if (wh_mparse_next(p) != 0) {
                goto failed;
            }
        }
    }

    if ((int) nargs < wh_math_fns[fn].min
        || (int) nargs > wh_math_fns[fn].max)
    {
        goto count;
    }

    n = wh_mn_new(p, WH_MN_CALL, nargs);
    if (n == NULL) {
        goto failed;
    }

    n->fn = fn;

    for (i = 0; i < nargs; i++) {
        n->kids[i] = args[i];
    }

    nargs = 0;

    if (wh_mn_set_height(p, n) != 0) {
        wh_mn_free(n);
        return NULL;
    }

    if (wh_mparse_next(p) != 0) {
        wh_mn_free(n);
        return NULL;
    }

    p->depth--;
    return n;

count:

    if (wh_math_fns[fn].min == wh_math_fns[fn].max) {
        wh_err(p->err, p->errlen, "%s() takes %d argument%s",
                    wh_math_fns[fn].name, wh_math_fns[fn].min,
                    wh_math_fns[fn].min == 1 ? "" : "s");

    } else {
        wh_err(p->err, p->errlen, "%s() takes %d or %d arguments",
                    wh_math_fns[fn].name, wh_math_fns[fn].min,
                    wh_math_fns[fn].max);
    }

failed:

    for (i = 0; i < nargs; i++) {
        wh_mn_free(args[i]);
    }

    return NULL;
}


/* evaluation */

int
wh_math_eval(const wh_math_t *m, wh_scope_t *scope, wh_val_t *v,
    char *err, size_t errlen)
{
    wh_mv_t     r;
    wh_meval_t  e;

    e.scope = scope;
    e.mem = scope->mem;
    e.err = err;
    e.errlen = errlen;

    if (wh_math_run(&e, m->root, &r) != 0) {
        return -1;
    }

    if (r.v.doc != NULL) {
        *v = r.v;
        return 0;
    }

    switch (r.type) {

    case WH_JSON_NUMBER:
        /* JavaScript prints -0 as 0 */
        *v = wh_val_number(e.mem, r.d == 0 ? 0.0 : r.d);
        break;

    case WH_JSON_STRING:
        *v = wh_val_string(e.mem, r.s, r.len);
        break;

    case WH_JSON_TRUE:
    case WH_JSON_FALSE:
        *v = wh_val_bool(r.type == WH_JSON_TRUE);
        return 0;

    default:
        *v = wh_val_null();
        return 0;
    }

    if (v->doc == NULL) {
        wh_err(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static int
wh_mv_from_val(wh_meval_t *e, wh_val_t v, wh_mv_t *r)
{
    memset(r, 0, sizeof(wh_mv_t));

    r->type = wh_val_type(v);
    r->v = v;

    switch (r->type) {

    case WH_JSON_NUMBER:
        if (wh_val_to_number(v, &r->d) != 0) {
            wh_err(e->err, e->errlen, "invalid number");
            return -1;
        }

        break;

    case WH_JSON_STRING:
        if (wh_val_str(e->mem, v, &r->s, &r->len) != 0) {
            wh_err(e->err, e->errlen, "out of memory");
            return -1;
        }

        break;

    default:
        break;
    }

    return 0;
}


static int
wh_mv_number(wh_meval_t *e, double d, wh_mv_t *r)
{
    if (!isfinite(d)) {
        wh_err(e->err, e->errlen, "result is not a finite number");
        return -1;
    }

    memset(r, 0, sizeof(wh_mv_t));
    r->type = WH_JSON_NUMBER;
    r->d = d;

    return 0;
}


static int
wh_mv_string(wh_meval_t *e, const char *s, size_t len, wh_mv_t *r)
{
    memset(r, 0, sizeof(wh_mv_t));
    r->type = WH_JSON_STRING;
    r->s = s;
    r->len = len;

    return 0;
}


static void
wh_mv_bool(int b, wh_mv_t *r)
{
    memset(r, 0, sizeof(wh_mv_t));
    r->type = b ? WH_JSON_TRUE : WH_JSON_FALSE;
}


/* Text as templates interpolate it, numbers as JavaScript prints them. */

static int
wh_mv_text(wh_meval_t *e, const wh_mv_t *a, const char **s, size_t *len)
{
    char  buf[40];

    switch (a->type) {

    case WH_JSON_STRING:
        *s = a->s;
        *len = a->len;
        return 0;

    case WH_JSON_NUMBER:
        *len = wh_num_format(a->d, buf);
        *s = wh_memdup(e->mem, buf, *len);
        break;

    case WH_JSON_TRUE:
        *s = "true";
        *len = 4;
        return 0;

    case WH_JSON_FALSE:
        *s = "false";
        *len = 5;
        return 0;

    case WH_JSON_NULL:
        *s = "null";
        *len = 4;
        return 0;

    case WH_JSON_MISSING:
        *s = "";
        *len = 0;
        return 0;

    default:
        if (wh_val_text(e->mem, a->v, s, len) != 0) {
            *s = NULL;
        }

        break;
    }

    if (*s == NULL) {
        wh_err(e->err, e->errlen, "out of memory");
        return -1;
    }

    return 0;
}


/* Numbers for arithmetic: numbers, numeric strings, booleans and null. */

static int
wh_mv_num(wh_meval_t *e, const wh_mv_t *a, double *d)
{
    switch (a->type) {
    case WH_JSON_NUMBER:
        *d = a->d;
        return 0;
    case WH_JSON_STRING:
        return wh_math_strtonum(e->mem, a->s, a->len, d);
    case WH_JSON_TRUE:
        *d = 1;
        return 0;
    case WH_JSON_FALSE:
    case WH_JSON_NULL:
        *d = 0;
        return 0;
    default:
        return -1;
    }
}


/* Numbers for comparisons: only numbers and numeric strings. */

static int
wh_mv_numeric(wh_meval_t *e, const wh_mv_t *a, double *d)
{
    if (a->type == WH_JSON_NUMBER) {
        *d = a->d;
        return 0;
    }

    if (a->type == WH_JSON_STRING) {
        return wh_math_strtonum(e->mem, a->s, a->len, d);
    }

    return -1;
}


static int
wh_mv_truthy(const wh_mv_t *a)
{
    switch (a->type) {
    case WH_JSON_NUMBER:
        return a->d != 0 && !isnan(a->d);
    case WH_JSON_STRING:
        return a->len > 0;
    case WH_JSON_TRUE:
    case WH_JSON_ARRAY:
    case WH_JSON_OBJECT:
        return 1;
    default:
        return 0;
    }
}


/* SPEC "equal": see wh_calc.c, which does the same for wh_val_t. */

static int
wh_mv_equal(wh_meval_t *e, const wh_mv_t *a, const wh_mv_t *b, int *eq)
{
    int          an, bn;
    double       x, y;
    size_t       al, bl;
    const char  *as, *bs;

    an = (a->type == WH_JSON_MISSING || a->type == WH_JSON_NULL);
    bn = (b->type == WH_JSON_MISSING || b->type == WH_JSON_NULL);

    if (an && bn) {
        *eq = 1;
        return 0;
    }

    if (wh_mv_numeric(e, a, &x) == 0 && wh_mv_numeric(e, b, &y) == 0) {
        *eq = (x == y);
        return 0;
    }

    if ((a->type == WH_JSON_ARRAY || a->type == WH_JSON_OBJECT)
        && (b->type == WH_JSON_ARRAY || b->type == WH_JSON_OBJECT))
    {
        return wh_val_equal(e->mem, a->v, b->v, eq);
    }

    if (wh_mv_text(e, a, &as, &al) != 0 || wh_mv_text(e, b, &bs, &bl) != 0) {
        return -1;
    }

    *eq = (al == bl && memcmp(as, bs, al) == 0);

    return 0;
}


static const char *
wh_math_op_name(wh_mn_type_t t)
{
    switch (t) {
    case WH_MN_NEG:
        return "unary -";
    case WH_MN_POS:
        return "unary +";
    case WH_MN_MUL:
        return "*";
    case WH_MN_DIV:
        return "/";
    case WH_MN_MOD:
        return "%";
    case WH_MN_POW:
        return "^";
    case WH_MN_ADD:
        return "+";
    default:
        return "-";
    }
}


static int
wh_math_run(wh_meval_t *e, const wh_mn_t *n, wh_mv_t *r)
{
    int          eq, c;
    char        *s;
    double       x, y;
    size_t       i, al, bl;
    wh_buf_t     b;
    wh_mv_t      a, bv;
    const char  *as, *bs;

    switch (n->type) {

    case WH_MN_NUM:
        return wh_mv_number(e, n->num, r);

    case WH_MN_STR:
        return wh_mv_string(e, n->str, n->len, r);

    case WH_MN_TRUE:
    case WH_MN_FALSE:
        wh_mv_bool(n->type == WH_MN_TRUE, r);
        return 0;

    case WH_MN_NULL:
        memset(r, 0, sizeof(wh_mv_t));
        r->type = WH_JSON_NULL;
        return 0;

    case WH_MN_VAR:
        return wh_mv_from_val(e, wh_path_resolve(n->path, e->scope), r);

    case WH_MN_INTERP:
        wh_buf_init(&b, e->mem, 64);

        for (i = 0; i < n->nkids; i++) {
            if (n->kids[i]->type == WH_MN_STR) {
                wh_buf_add(&b, n->kids[i]->str, n->kids[i]->len);

            } else {
                wh_val_write_text(&b,
                                  wh_path_resolve(n->kids[i]->path, e->scope));
            }
        }

        if (b.failed) {
            wh_err(e->err, e->errlen, "out of memory");
            return -1;
        }

        return wh_mv_string(e, b.data, b.len, r);

    case WH_MN_NOT:
        if (wh_math_run(e, n->kids[0], &a) != 0) {
            return -1;
        }

        wh_mv_bool(!wh_mv_truthy(&a), r);
        return 0;

    case WH_MN_AND:
    case WH_MN_OR:
        if (wh_math_run(e, n->kids[0], r) != 0) {
            return -1;
        }

        if (wh_mv_truthy(r) == (n->type == WH_MN_OR)) {
            return 0;
        }

        return wh_math_run(e, n->kids[1], r);

    case WH_MN_COND:
        if (wh_math_run(e, n->kids[0], &a) != 0) {
            return -1;
        }

        return wh_math_run(e, n->kids[wh_mv_truthy(&a) ? 1 : 2], r);

    case WH_MN_CALL:
        return wh_math_call(e, n, r);

    case WH_MN_NEG:
    case WH_MN_POS:
        if (wh_math_run(e, n->kids[0], &a) != 0) {
            return -1;
        }

        if (wh_mv_num(e, &a, &x) != 0) {
            goto nan;
        }

        return wh_mv_number(e, n->type == WH_MN_NEG ? -x : x, r);

    default:
        break;
    }

    /* binary operators */

    if (wh_math_run(e, n->kids[0], &a) != 0
        || wh_math_run(e, n->kids[1], &bv) != 0)
    {
        return -1;
    }

    switch (n->type) {

    case WH_MN_ADD:
        if (a.type == WH_JSON_STRING || bv.type == WH_JSON_STRING
            || a.type == WH_JSON_ARRAY || bv.type == WH_JSON_ARRAY
            || a.type == WH_JSON_OBJECT || bv.type == WH_JSON_OBJECT)
        {
            if (wh_mv_text(e, &a, &as, &al) != 0
                || wh_mv_text(e, &bv, &bs, &bl) != 0)
            {
                return -1;
            }

            s = wh_alloc(e->mem, al + bl + 1);
            if (s == NULL) {
                wh_err(e->err, e->errlen, "out of memory");
                return -1;
            }

            memcpy(s, as, al);
            memcpy(s + al, bs, bl);
            s[al + bl] = '\0';

            return wh_mv_string(e, s, al + bl, r);
        }

        /* fall through */

    case WH_MN_SUB:
    case WH_MN_MUL:
    case WH_MN_DIV:
    case WH_MN_MOD:
    case WH_MN_POW:
        if (wh_mv_num(e, &a, &x) != 0 || wh_mv_num(e, &bv, &y) != 0) {
            goto nan;
        }

        switch (n->type) {
        case WH_MN_ADD:
            return wh_mv_number(e, x + y, r);
        case WH_MN_SUB:
            return wh_mv_number(e, x - y, r);
        case WH_MN_MUL:
            return wh_mv_number(e, x * y, r);
        case WH_MN_POW:
            return wh_mv_number(e, pow(x, y), r);
        case WH_MN_DIV:
            if (y == 0) {
                wh_err(e->err, e->errlen, "division by zero");
                return -1;
            }

            return wh_mv_number(e, x / y, r);
        default:
            if (y == 0) {
                wh_err(e->err, e->errlen, "modulo by zero");
                return -1;
            }

            return wh_mv_number(e, fmod(x, y), r);
        }

    case WH_MN_EQ:
    case WH_MN_NE:
        if (wh_mv_equal(e, &a, &bv, &eq) != 0) {
            return -1;
        }

        wh_mv_bool(n->type == WH_MN_EQ ? eq : !eq, r);
        return 0;

    default:
        break;
    }

    /* < <= > >=: a missing or null side is never ordered (as wh_calc) */

    if (a.type == WH_JSON_MISSING || bv.type == WH_JSON_MISSING
        || a.type == WH_JSON_NULL || bv.type == WH_JSON_NULL)
    {
        wh_mv_bool(0, r);
        return 0;
    }

    if (wh_mv_numeric(e, &a, &x) == 0 && wh_mv_numeric(e, &bv, &y) == 0) {
        c = x < y ? -1 : x > y ? 1 : 0;

    } else {
        if (wh_mv_text(e, &a, &as, &al) != 0
            || wh_mv_text(e, &bv, &bs, &bl) != 0)
        {
            return -1;
        }

        c = memcmp(as, bs, al < bl ? al : bl);
        if (c == 0) {
            c = al < bl ? -1 : al > bl ? 1 : 0;
        }
    }

    switch (n->type) {
    case WH_MN_LT:
        wh_mv_bool(c < 0, r);
        break;
    case WH_MN_LE:
        wh_mv_bool(c <= 0, r);
        break;
    case WH_MN_GT:
        wh_mv_bool(c > 0, r);
        break;
    default:
        wh_mv_bool(c >= 0, r);
        break;
    }

    return 0;

nan:

    wh_err(e->err, e->errlen, "operand of \"%s\" is not a number",
                wh_math_op_name(n->type));
    return -1;
}


/* JavaScript's ToIntegerOrInfinity, clamped to a size. */

static long long
wh_math_int(double d)
{
    if (isnan(d)) {
        return 0;
    }

    if (d > 1e15) {
        return (long long) 1e15;
    }

    if (d < -1e15) {
        return (long long) -1e15;
    }

    return (long long) trunc(d);
}


/* The byte functions of SPEC §10: one pass over their input each. */

static int
wh_math_bytes(wh_meval_t *e, const wh_mn_t *n, wh_mv_t *args, wh_mv_t *r)
{
    int            alg, b64;
    size_t         len, klen, mlen, elen;
    wh_buf_t       b;
    wh_val_t       v;
    const char    *s, *key, *msg, *enc, *name;
    wh_json_err_t  jerr;
    char           num[32];

    name = wh_math_fns[n->fn].name;

    if (n->fn == WH_MF_JSON) {
        wh_buf_init(&b, e->mem, 64);

        if (args[0].v.doc != NULL) {
            wh_val_write_json(&b, args[0].v);

        } else {
            switch (args[0].type) {
            case WH_JSON_NUMBER:
                wh_buf_add(&b, num, wh_num_format(args[0].d, num));
                break;
            case WH_JSON_STRING:
                wh_json_escape(&b, args[0].s, args[0].len);
                break;
            case WH_JSON_TRUE:
                wh_buf_adds(&b, "true");
                break;
            case WH_JSON_FALSE:
                wh_buf_adds(&b, "false");
                break;
            default:
                wh_buf_adds(&b, "null");
                break;
            }
        }

        if (b.failed) {
            goto oom;
        }

        return wh_mv_string(e, b.data, b.len, r);
    }

    if (n->fn == WH_MF_HMAC) {
        if (wh_mv_text(e, &args[0], &s, &len) != 0
            || wh_mv_text(e, &args[1], &key, &klen) != 0
            || wh_mv_text(e, &args[2], &msg, &mlen) != 0)
        {
            return -1;
        }

        alg = wh_codec_digest_alg(s, len);

        if (alg <= 0) {
            wh_err(e->err, e->errlen,
                        "hmac(): algorithm must be sha1, sha256 or sha512");
            return -1;
        }

        b64 = 0;

        if (n->nkids == 4) {
            if (wh_mv_text(e, &args[3], &enc, &elen) != 0) {
                return -1;
            }

            if (elen == 6 && memcmp(enc, "base64", 6) == 0) {
                b64 = 1;

            } else if (!(elen == 3 && memcmp(enc, "hex", 3) == 0)) {
                wh_err(e->err, e->errlen,
                            "hmac(): encoding must be hex or base64");
                return -1;
            }
        }

        wh_buf_init(&b, e->mem, 96);

        if (wh_codec_hmac(&b, alg, key, klen, msg, mlen, b64) != 0) {
            goto oom;
        }

        return wh_mv_string(e, b.data, b.len, r);
    }

    if (wh_mv_text(e, &args[0], &s, &len) != 0) {
        return -1;
    }

    wh_buf_init(&b, e->mem, len + 16);

    switch ((wh_mf_t) n->fn) {

    case WH_MF_SHA256:
    case WH_MF_SHA1:
    case WH_MF_MD5:
        if (wh_codec_digest(&b, wh_codec_digest_alg(name, strlen(name)), s,
                            len)
            != 0)
        {
            goto oom;
        }

        break;

    case WH_MF_BASE64:
        wh_codec_base64(&b, s, len);
        break;

    case WH_MF_UNBASE64:
        if (wh_codec_unbase64(&b, s, len) != 0 && !b.failed) {
            wh_err(e->err, e->errlen, "unbase64(): not base64");
            return -1;
        }

        break;

    case WH_MF_HEX:
        wh_codec_hex(&b, s, len);
        break;

    case WH_MF_URLENCODE:
        wh_codec_urlencode(&b, s, len);
        break;

    case WH_MF_URLDECODE:
        wh_codec_urldecode(&b, s, len);
        break;

    default: /* WH_MF_PARSE */
        if (wh_val_parse(e->mem, s, len, 1, &v, &jerr) != 0) {
            if (strcmp(jerr.msg, "out of memory") == 0) {
                goto oom;
            }

            wh_err(e->err, e->errlen, "parse(): %s at offset %zu", jerr.msg,
                        jerr.offset);
            return -1;
        }

        return wh_mv_from_val(e, v, r);
    }

    if (b.failed) {
        goto oom;
    }

    return wh_mv_string(e, b.data, b.len, r);

oom:

    wh_err(e->err, e->errlen, "out of memory");
    return -1;
}


/*
 * A date argument: epoch ms as a number or a numeric string, or ISO 8601
 * text.  -1 (no message) for anything else or a date out of range.
 */

static int
wh_math_date_arg(wh_meval_t *e, const wh_mv_t *a, double *ms)
{
    if (a->type == WH_JSON_NUMBER) {
        *ms = a->d;

    } else if (a->type != WH_JSON_STRING
               || (wh_math_strtonum(e->mem, a->s, a->len, ms) != 0
                   && wh_time_parse(a->s, a->len, ms) != 0))
    {
        return -1;
    }

    return wh_time_valid(*ms) ? 0 : -1;
}


static int
wh_math_dates(wh_meval_t *e, const wh_mn_t *n, wh_mv_t *args, wh_mv_t *r)
{
    int          unit;
    double       a, b, x, out;
    size_t       len;
    wh_buf_t     buf;
    const char  *s, *name;

    name = wh_math_fns[n->fn].name;

    if (wh_math_date_arg(e, &args[0], &a) != 0) {
        wh_err(e->err, e->errlen, "%s(): not a date", name);
        return -1;
    }

    switch ((wh_mf_t) n->fn) {

    case WH_MF_DATE:
        return wh_mv_number(e, a, r);

    case WH_MF_FORMAT:
        if (wh_mv_text(e, &args[1], &s, &len) != 0) {
            return -1;
        }

        wh_buf_init(&buf, e->mem, len + 16);

        if (wh_time_format(&buf, a, s, len) != 0) {
            wh_err(e->err, e->errlen, "out of memory");
            return -1;
        }

        return wh_mv_string(e, buf.data, buf.len, r);

    default:
        break;
    }

    if (wh_mv_text(e, &args[2], &s, &len) != 0) {
        return -1;
    }

    unit = wh_time_unit(s, len);

    if (unit < 0) {
        wh_err(e->err, e->errlen, "%s(): unknown unit", name);
        return -1;
    }

    if (n->fn == WH_MF_ADD) {
        if (wh_mv_num(e, &args[1], &x) != 0 || !isfinite(x)) {
            wh_err(e->err, e->errlen, "add(): amount is not a number");
            return -1;
        }

        if (wh_time_add(a, x, unit, &out) != 0) {
            wh_err(e->err, e->errlen, "add(): date out of range");
            return -1;
        }

        return wh_mv_number(e, out, r);
    }

    if (wh_math_date_arg(e, &args[1], &b) != 0) {
        wh_err(e->err, e->errlen, "diff(): not a date");
        return -1;
    }

    if (wh_time_diff(a, b, unit, &out) != 0) {
        wh_err(e->err, e->errlen, "diff(): date out of range");
        return -1;
    }

    return wh_mv_number(e, out == 0 ? 0.0 : out, r);
}


static int
wh_math_call(wh_meval_t *e, const wh_mn_t *n, wh_mv_t *r)
{
    int            upper;
    char          *out;
    double         x, y;
    size_t         i, j, len, flen, rlen, slen, k, off;
    unsigned       cp;
    wh_buf_t       b;
    wh_mv_t        args[4];
    wh_val_t       v, item;
    long long      start, count, total;
    const char    *s, *f, *rp, *sep, *f2;
    wh_path_t      now;
    wh_json_err_t  jerr;

    for (i = 0; i < n->nkids; i++) {
        if (wh_math_run(e, n->kids[i], &args[i]) != 0) {
            return -1;
        }
    }

    switch ((wh_mf_t) n->fn) {

    case WH_MF_LOWER:
    case WH_MF_UPPER:
        if (wh_mv_text(e, &args[0], &s, &len) != 0) {
            return -1;
        }

        upper = (n->fn == WH_MF_UPPER);

        out = wh_alloc(e->mem, len + 1);
        if (out == NULL) {
            goto oom;
        }

        /* mapped characters keep their UTF-8 length */
        for (i = 0, j = 0; i < len; i += k) {
            k = wh_utf8_next(s + i, len - i, &cp);

            if (k == 0) {
                out[j++] = s[i];
                k = 1;
                continue;
            }

            cp = wh_case_map(cp, upper);
            j += wh_utf8_encode(cp, out + j);
        }

        out[j] = '\0';
        return wh_mv_string(e, out, j, r);

    case WH_MF_TRIM:
        if (wh_mv_text(e, &args[0], &s, &len) != 0) {
            return -1;
        }

        while (len > 0 && isspace((unsigned char) s[0])) {
            s++;
            len--;
        }

        while (len > 0 && isspace((unsigned char) s[len - 1])) {
            len--;
        }

        return wh_mv_string(e, s, len, r);

    case WH_MF_LEN:
        switch (args[0].type) {
        case WH_JSON_ARRAY:
        case WH_JSON_OBJECT:
            return wh_mv_number(e, wh_val_size(args[0].v), r);
        case WH_JSON_NULL:
        case WH_JSON_MISSING:
            return wh_mv_number(e, 0, r);
        default:
            if (wh_mv_text(e, &args[0], &s, &len) != 0) {
                return -1;
            }

            return wh_mv_number(e, (double) wh_utf8_count(s, len), r);
        }

    case WH_MF_REPLACE:
        if (wh_mv_text(e, &args[0], &s, &len) != 0
            || wh_mv_text(e, &args[1], &f, &flen) != 0
            || wh_mv_text(e, &args[2], &rp, &rlen) != 0)
        {
            return -1;
        }

        if (flen == 0 || flen > len) {
            return wh_mv_string(e, s, len, r);
        }

        wh_buf_init(&b, e->mem, len + 1);

        /* memmem (two-way) keeps this linear in len + flen */
        for (i = 0; i < len; i = j + flen) {
            f2 = memmem(s + i, len - i, f, flen);
            j = f2 ? (size_t) (f2 - s) : len;

            wh_buf_add(&b, s + i, j - i);

            if (f2 == NULL) {
                break;
            }

            wh_buf_add(&b, rp, rlen);
        }

        if (b.failed) {
            goto oom;
        }

        return wh_mv_string(e, b.data, b.len, r);

    case WH_MF_SUBSTR:
        if (wh_mv_text(e, &args[0], &s, &len) != 0) {
            return -1;
        }

        if (wh_mv_num(e, &args[1], &x) != 0) {
            wh_err(e->err, e->errlen,
                        "substr(): start is not a number");
            return -1;
        }

        total = (long long) wh_utf8_count(s, len);
        start = wh_math_int(x);

        if (start < 0) {
            start += total;
            if (start < 0) {
                start = 0;
            }
        }

        if (start > total) {
            start = total;
        }

        count = total - start;

        if (n->nkids == 3 && args[2].type != WH_JSON_MISSING) {
            if (wh_mv_num(e, &args[2], &y) != 0) {
                wh_err(e->err, e->errlen,
                            "substr(): length is not a number");
                return -1;
            }

            if (wh_math_int(y) < count) {
                count = wh_math_int(y);
            }

            if (count < 0) {
                count = 0;
            }
        }

        off = wh_utf8_offset(s, len, (size_t) start);
        slen = wh_utf8_offset(s + off, len - off, (size_t) count);

        return wh_mv_string(e, s + off, slen, r);

    case WH_MF_SPLIT:
        if (wh_mv_text(e, &args[0], &s, &len) != 0
            || wh_mv_text(e, &args[1], &sep, &flen) != 0)
        {
            return -1;
        }

        wh_buf_init(&b, e->mem, len + 16);
        wh_buf_addc(&b, '[');

        if (flen == 0) {
            /* every character */
            for (i = 0; i < len; i += k) {
                k = wh_utf8_next(s + i, len - i, &cp);
                if (k == 0) {
                    k = 1;
                }

                if (i > 0) {
                    wh_buf_addc(&b, ',');
                }

                wh_json_escape(&b, s + i, k);
            }

        } else {
            for (j = 0; /* void */; j = i + flen) {
                f2 = memmem(s + j, len - j, sep, flen);

                if (f2 == NULL) {
                    wh_json_escape(&b, s + j, len - j);
                    break;
                }

                i = f2 - s;
                wh_json_escape(&b, s + j, i - j);
                wh_buf_addc(&b, ',');
            }
        }

        wh_buf_addc(&b, ']');

        if (b.failed) {
            goto oom;
        }

        if (wh_val_parse(e->mem, b.data, b.len, 0, &v, &jerr) != 0) {
            goto oom;
        }

        memset(r, 0, sizeof(wh_mv_t));
        r->type = WH_JSON_ARRAY;
        r->v = v;
        return 0;

    case WH_MF_JOIN:
        if (args[0].type != WH_JSON_ARRAY) {
            wh_err(e->err, e->errlen, "join(): not an array");
            return -1;
        }

        if (wh_mv_text(e, &args[1], &sep, &flen) != 0) {
            return -1;
        }

        wh_buf_init(&b, e->mem, 64);

        for (item = wh_val_first(args[0].v), i = 0;
             item.doc != NULL;
             item = wh_val_next(args[0].v, item), i++)
        {
            if (i > 0) {
                wh_buf_add(&b, sep, flen);
            }

            /* as JavaScript: null items are empty */
            if (wh_val_type(item) != WH_JSON_NULL) {
                wh_val_write_text(&b, item);
            }
        }

        if (b.failed) {
            goto oom;
        }

        return wh_mv_string(e, b.data, b.len, r);

    case WH_MF_ROUND:
    case WH_MF_FLOOR:
    case WH_MF_CEIL:
        if (wh_mv_num(e, &args[0], &x) != 0) {
            wh_err(e->err, e->errlen, "%s(): not a number",
                        wh_math_fns[n->fn].name);
            return -1;
        }

        if (n->fn == WH_MF_FLOOR) {
            return wh_mv_number(e, floor(x), r);
        }

        if (n->fn == WH_MF_CEIL) {
            return wh_mv_number(e, ceil(x), r);
        }

        y = 0;

        if (n->nkids == 2
            && (wh_mv_num(e, &args[1], &y) != 0 || y != floor(y) || y < 0
                || y > WH_MATH_MAX_ROUND))
        {
            wh_err(e->err, e->errlen, "round(): digits must be an "
                        "integer from 0 to %d", WH_MATH_MAX_ROUND);
            return -1;
        }

        return wh_mv_number(e, wh_math_round(x, (int) y), r);

    case WH_MF_HMAC:
    case WH_MF_SHA256:
    case WH_MF_SHA1:
    case WH_MF_MD5:
    case WH_MF_BASE64:
    case WH_MF_UNBASE64:
    case WH_MF_HEX:
    case WH_MF_URLENCODE:
    case WH_MF_URLDECODE:
    case WH_MF_JSON:
    case WH_MF_PARSE:
        return wh_math_bytes(e, n, args, r);

    case WH_MF_DATE:
    case WH_MF_FORMAT:
    case WH_MF_ADD:
    case WH_MF_DIFF:
        return wh_math_dates(e, n, args, r);

    case WH_MF_NOW:
        now.root = WH_ROOT_SYSTEM;
        now.node = -1;
        now.segs = NULL;
        now.nsegs = 0;

        v = wh_path_resolve(&now, e->scope);
        if (v.doc == NULL) {
            goto oom;
        }

        return wh_mv_from_val(e, v, r);
    }

    wh_err(e->err, e->errlen, "unknown function");
    return -1;

oom:

    wh_err(e->err, e->errlen, "out of memory");
    return -1;
}


/* numbers */

/*
 * The numbers of strings that wh_val_to_number accepts: strtod-style
 * decimals, white space around them allowed.
 */

static int
wh_math_strtonum(wh_mem_t *mem, const char *s, size_t len, double *d)
{
    int      any;
    char     buf[64], *copy;
    size_t   i, n;

#define wh_math_space(c)                                                      \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r'                  \
     || (c) == '\v' || (c) == '\f')

    while (len > 0 && wh_math_space(s[0])) {
        s++;
        len--;
    }

    while (len > 0 && wh_math_space(s[len - 1])) {
        len--;
    }

#undef wh_math_space

    i = 0;
    any = 0;

    if (i < len && (s[i] == '-' || s[i] == '+')) {
        i++;
    }

    while (i < len && isdigit((unsigned char) s[i])) {
        i++;
        any = 1;
    }

    if (i < len && s[i] == '.') {
        i++;

        while (i < len && isdigit((unsigned char) s[i])) {
            i++;
            any = 1;
        }
    }

    if (!any) {
        return -1;
    }

    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;

        if (i < len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }

        n = i;

        while (i < len && isdigit((unsigned char) s[i])) {
            i++;
        }

        if (i == n) {
            return -1;
        }
    }

    if (i != len) {
        return -1;
    }

    if (len < sizeof(buf)) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        *d = strtod(buf, NULL);
        return 0;
    }

    copy = wh_memdup(mem, s, len);
    if (copy == NULL) {
        return -1;
    }

    *d = strtod(copy, NULL);

    return 0;
}


/*
 * Rounds half away from zero on the shortest decimal form, so that
 * round(1.005, 2) is 1.01 as people (and math.js) expect.
 */

static double
wh_math_round(double x, int digits)
{
    int    k, n, keep, i;
    char   d[24], num[48];

    if (x == 0 || !isfinite(x) || fabs(x) >= 1e21) {
        return x;
    }

    k = wh_num_digits(x, d, &n);
    keep = n + digits;

    if (keep >= k) {
        return x;
    }

    if (keep < 0) {
        return x < 0 ? -0.0 : 0.0;
    }

    i = 0;

    if (x < 0) {
        num[i++] = '-';
    }

    /* a leading 0 takes the carry out of the first digit */
    num[i++] = '0';
    memcpy(num + i, d, keep);

    if (d[keep] >= '5') {
        for (k = i + keep - 1; num[k] == '9'; k--) {
            num[k] = '0';
        }

        num[k]++;
    }

    i += keep;
    snprintf(num + i, sizeof(num) - i, "e%d", n - keep);

    return strtod(num, NULL);
}


/* UTF-8 */

/* Decodes one valid sequence: its length, or 0 for an invalid byte. */

static size_t
wh_utf8_next(const char *s, size_t len, unsigned *cp)
{
    size_t          n, i;
    unsigned        c;
    const uint8_t  *u;

    u = (const uint8_t *) s;
    c = u[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (u[i] & 0x3f);
    }

    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)))
        || (n == 4 && (c < 0x10000 || c > 0x10ffff)))
    {
        return 0;
    }

    *cp = c;
    return n;
}


/*
 * Simple case mapping of ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic; other characters are kept.  Mappings keep the UTF-8 length.
 */

static unsigned
wh_case_map(unsigned cp, int upper)
{
    if (upper) {
        if ((cp >= 'a' && cp <= 'z')
            || (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7)
            || (cp >= 0x3b1 && cp <= 0x3c9 && cp != 0x3c2)
            || (cp >= 0x430 && cp <= 0x44f))
        {
            return cp - 0x20;
        }

        if (cp == 0x3c2) {
            return 0x3a3;
        }

        if (cp >= 0x450 && cp <= 0x45f) {
            return cp - 0x50;
        }

        if (((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137)
             || (cp >= 0x14a && cp <= 0x177))
            && (cp & 1))
        {
            return cp - 1;
        }

        if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
            && !(cp & 1))
        {
            return cp - 1;
        }

        return cp;
    }

    if ((cp >= 'A' && cp <= 'Z')
        || (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
        || (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
        || (cp >= 0x410 && cp <= 0x42f))
    {
        return cp + 0x20;
    }

    if (cp >= 0x400 && cp <= 0x40f) {
        return cp + 0x50;
    }

    if (((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137)
         || (cp >= 0x14a && cp <= 0x177))
        && !(cp & 1))
    {
        return cp + 1;
    }

    if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
        && (cp & 1))
    {
        return cp + 1;
    }

    return cp;
}


/* Characters: invalid bytes count one each. */

static size_t
wh_utf8_count(const char *s, size_t len)
{
    size_t    i, k, n;
    unsigned  cp;

    for (i = 0, n = 0; i < len; i += k, n++) {
        k = wh_utf8_next(s + i, len - i, &cp);
        if (k == 0) {
            k = 1;
        }
    }

    return n;
}


static size_t
wh_utf8_offset(const char *s, size_t len, size_t cps)
{
    size_t    i, k;
    unsigned  cp;

    for (i = 0; i < len && cps > 0; i += k, cps--) {
        k = wh_utf8_next(s + i, len - i, &cp);
        if (k == 0) {
            k = 1;
        }
    }

    return i;
}
