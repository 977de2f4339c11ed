/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Calculators of condition nodes.  Values compare numerically when both
 * are numbers or numeric strings, objects and arrays as JSON, anything
 * else by its text.  No calculator is worse than O(n log n) in its
 * operands: text search is memmem, objects compare by canonical forms,
 * a probe against an array is prepared once, and regular expressions run
 * in one pass of PCRE2's DFA matcher (the backtracking matcher, with
 * match, depth and heap limits, only where the DFA cannot).  At run time
 * PCRE2 allocates from the caller's memory, never with malloc.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                /* memmem */
#endif
#define PCRE2_CODE_UNIT_WIDTH  8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcre2.h>

#include "wh_calc.h"


#define WH_CALC_MATCH_LIMIT   1000000
#define WH_CALC_DEPTH_LIMIT   20000
#define WH_CALC_HEAP_LIMIT    4096        /* KiB */
#define WH_CALC_RE_OPTIONS    (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)


typedef struct {
    const char  *name;
    size_t       len;
} wh_calc_name_t;

#define wh_calc_name(s)  { s, sizeof(s) - 1 }

/* in wh_calc_op_t order */
static const wh_calc_name_t  wh_calc_names[] = {
    wh_calc_name("equal"),
    wh_calc_name("notEqual"),
    wh_calc_name("gt"),
    wh_calc_name("gte"),
    wh_calc_name("lt"),
    wh_calc_name("lte"),
    wh_calc_name("includes"),
    wh_calc_name("notIncludes"),
    wh_calc_name("startsWith"),
    wh_calc_name("notStartsWith"),
    wh_calc_name("endsWith"),
    wh_calc_name("notEndsWith"),
    wh_calc_name("empty"),
    wh_calc_name("notEmpty"),
    wh_calc_name("in"),
    wh_calc_name("notIn"),
    wh_calc_name("matches")
};

#define WH_CALC_NNAMES  (sizeof(wh_calc_names) / sizeof(wh_calc_names[0]))


static int wh_calc_absent(wh_val_t v);
static int wh_calc_numeric(wh_val_t v, double *d);
static int wh_calc_order(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *c);
static int wh_calc_includes(wh_mem_t *mem, wh_val_t a, wh_val_t b,
    int *r);
static int wh_calc_affix(wh_mem_t *mem, wh_val_t a, wh_val_t b, int end,
    int *r);
static int wh_calc_member(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *r);
static int wh_calc_matches(wh_val_t a, wh_val_t b, const wh_calc_re_t *re,
    wh_mem_t *mem, int *r, char *err, size_t errlen);
static void *wh_calc_pcre_alloc(PCRE2_SIZE size, void *data);
static void wh_calc_pcre_free(void *p, void *data);


int
wh_calc_lookup(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < WH_CALC_NNAMES; i++) {
        if (wh_calc_names[i].len == len
            && memcmp(wh_calc_names[i].name, name, len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


int
wh_calc_arity(wh_calc_op_t op)
{
    return (op == WH_CALC_EMPTY || op == WH_CALC_NOT_EMPTY) ? 1 : 2;
}


static int
wh_calc_absent(wh_val_t v)
{
    wh_json_type_t  t;

    t = wh_val_type(v);

    return t == WH_JSON_MISSING || t == WH_JSON_NULL;
}


/*
 * A side of a comparison.  Its number, text and canonical form are worked
 * out once, when first needed: "in" and "includes" compare one side with
 * every item of an array, and a megabyte on that side must not be read
 * again for each item.
 */

typedef struct {
    wh_val_t         v;
    wh_json_type_t   type;
    int              num;         /* -1 not known yet, 0 no, 1 yes */
    double           d;
    const char      *s;           /* text, NULL until needed */
    size_t           len;
    const char      *c;           /* canonical form, NULL until needed */
    size_t           clen;
} wh_calc_arg_t;


static void
wh_calc_arg(wh_val_t v, wh_calc_arg_t *a)
{
    a->v = v;
    a->type = wh_val_type(v);
    a->num = -1;
    a->s = NULL;
    a->c = NULL;
}


static int
wh_calc_arg_num(wh_calc_arg_t *a)
{
    if (a->num == -1) {
        a->num = (a->type == WH_JSON_NUMBER || a->type == WH_JSON_STRING)
                 && wh_val_to_number(a->v, &a->d) == 0;
    }

    return a->num;
}


static int
wh_calc_arg_text(wh_mem_t *mem, wh_calc_arg_t *a)
{
    if (a->s == NULL) {
        return wh_val_text(mem, a->v, &a->s, &a->len);
    }

    return 0;
}


static int
wh_calc_arg_canon(wh_mem_t *mem, wh_calc_arg_t *a)
{
    wh_buf_t  b;

    if (a->c == NULL) {
        wh_buf_init(&b, mem, 64);

        if (wh_val_canon(&b, a->v) != 0) {
            return -1;
        }

        a->c = b.data;
        a->clen = b.len;
    }

    return 0;
}


#define wh_calc_container(t)  ((t) == WH_JSON_ARRAY || (t) == WH_JSON_OBJECT)
#define wh_calc_absent_type(t)  ((t) == WH_JSON_MISSING || (t) == WH_JSON_NULL)


static int
wh_calc_equal(wh_mem_t *mem, wh_calc_arg_t *a, wh_calc_arg_t *b, int *eq)
{
    *eq = 0;

    if (wh_calc_absent_type(a->type) && wh_calc_absent_type(b->type)) {
        *eq = 1;
        return 0;
    }

    if (wh_calc_arg_num(a) && wh_calc_arg_num(b)) {
        *eq = (a->d == b->d);
        return 0;
    }

    if (wh_calc_container(a->type) && wh_calc_container(b->type)) {
        if (a->type != b->type) {
            return 0;
        }

        if (wh_calc_arg_canon(mem, a) != 0
            || wh_calc_arg_canon(mem, b) != 0)
        {
            return -1;
        }

        *eq = (a->clen == b->clen && memcmp(a->c, b->c, a->clen) == 0);
        return 0;
    }

    if (wh_calc_arg_text(mem, a) != 0 || wh_calc_arg_text(mem, b) != 0) {
        return -1;
    }

    *eq = (a->len == b->len && memcmp(a->s, b->s, a->len) == 0);

    return 0;
}


static int
wh_calc_numeric(wh_val_t v, double *d)
{
    wh_json_type_t  t;

    t = wh_val_type(v);

    if (t != WH_JSON_NUMBER && t != WH_JSON_STRING) {
        return -1;
    }

    return wh_val_to_number(v, d);
}


/* Sets *c to -1, 0 or 1; 2 when the values are not ordered. */

static int
wh_calc_order(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *c)
{
    int          r;
    double       x, y;
    size_t       al, bl;
    const char  *as, *bs;

    if (wh_calc_absent(a) || wh_calc_absent(b)) {
        *c = 2;
        return 0;
    }

    if (wh_calc_numeric(a, &x) == 0 && wh_calc_numeric(b, &y) == 0) {
        *c = x < y ? -1 : x > y ? 1 : 0;
        return 0;
    }

    if (wh_val_text(mem, a, &as, &al) != 0
        || wh_val_text(mem, b, &bs, &bl) != 0)
    {
        return -1;
    }

    r = memcmp(as, bs, al < bl ? al : bl);
    if (r == 0) {
        r = al < bl ? -1 : al > bl ? 1 : 0;
    }

    *c = r < 0 ? -1 : r > 0 ? 1 : 0;

    return 0;
}


/* Is probe equal to an item of array arr?  Each item is read once. */

static int
wh_calc_any(wh_mem_t *mem, wh_val_t arr, wh_calc_arg_t *probe, int *r)
{
    wh_val_t       item;
    wh_calc_arg_t  ia;

    *r = 0;

    for (item = wh_val_first(arr);
         item.doc != NULL;
         item = wh_val_next(arr, item))
    {
        wh_calc_arg(item, &ia);

        if (wh_calc_equal(mem, &ia, probe, r) != 0) {
            return -1;
        }

        if (*r) {
            return 0;
        }
    }

    return 0;
}


static int
wh_calc_includes(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *r)
{
    size_t          al, bl;
    const char     *as, *bs;
    wh_json_type_t  t;
    wh_calc_arg_t   probe;

    *r = 0;
    t = wh_val_type(a);

    if (t == WH_JSON_ARRAY) {
        wh_calc_arg(b, &probe);
        return wh_calc_any(mem, a, &probe, r);
    }

    if (t == WH_JSON_OBJECT || wh_calc_absent(a)
        || wh_val_type(b) == WH_JSON_MISSING)
    {
        return 0;
    }

    if (wh_val_text(mem, a, &as, &al) != 0
        || wh_val_text(mem, b, &bs, &bl) != 0)
    {
        return -1;
    }

    /* glibc's memmem is the two-way algorithm: linear in al + bl */
    *r = (bl == 0 || memmem(as, al, bs, bl) != NULL);

    return 0;
}


static int
wh_calc_affix(wh_mem_t *mem, wh_val_t a, wh_val_t b, int end, int *r)
{
    size_t       al, bl;
    const char  *as, *bs;

    *r = 0;

    if (wh_calc_absent(a) || wh_calc_absent(b)) {
        return 0;
    }

    if (wh_val_text(mem, a, &as, &al) != 0
        || wh_val_text(mem, b, &bs, &bl) != 0)
    {
        return -1;
    }

    if (bl <= al) {
        *r = memcmp(end ? as + al - bl : as, bs, bl) == 0;
    }

    return 0;
}


static int
wh_calc_member(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *r)
{
    wh_calc_arg_t  probe;

    *r = 0;

    if (wh_val_type(b) != WH_JSON_ARRAY) {
        return 0;
    }

    wh_calc_arg(a, &probe);

    return wh_calc_any(mem, b, &probe, r);
}


/*
 * Regular expressions.  PCRE2's backtracking matcher retries the pattern
 * at every start position, and each try may scan to the end: "a*b|c" over
 * 40 KB of "a" took a second however low the match limit, which counts
 * backtracking, not scanning.  So a pattern is also compiled as
 * "(?s:.*?)(?:PATTERN)" and run anchored by the DFA matcher, which
 * follows every start position at once in one pass: O(n * m) for a
 * subject of n bytes and a pattern of m items, m being the author's.
 * Patterns the DFA matcher cannot run (back references, some verbs) and
 * subjects that are not UTF-8 go to the backtracking matcher with its
 * match, depth and heap limits.  Lookaround assertions are evaluated at
 * each position by the DFA matcher: a lookahead that scans to the end is
 * the pattern author's quadratic, as the README says.
 */

#define WH_CALC_DFA_WS       1024         /* ints; doubled on demand */
#define WH_CALC_DFA_WS_MAX   (256 * 1024)


struct wh_calc_re_s {
    pcre2_code  *code;
    pcre2_code  *dfa;            /* NULL: backtracking only */
};


static void *
wh_calc_pcre_alloc(PCRE2_SIZE size, void *data)
{
    return wh_alloc((wh_mem_t *) data, size);
}


static void
wh_calc_pcre_free(void *p, void *data)
{
    /* the caller's memory is freed all at once */
}


/* The one-pass form of a valid pattern, or NULL. */

static pcre2_code *
wh_calc_re_dfa(const pcre2_code *code, const char *pattern, size_t len,
    pcre2_compile_context *cctx, wh_mem_t *mem)
{
    int          ec;
    char        *w;
    uint32_t     backrefs;
    PCRE2_SIZE   off;

    static const char  head[] = "(?s:.*?)(?:";
    static const char  tail[] = "\\E)";     /* \E ends a \Q left open */

    /* (*VERB) options must open the pattern; the DFA has no backrefs */
    if ((len >= 2 && pattern[0] == '(' && pattern[1] == '*')
        || pcre2_pattern_info(code, PCRE2_INFO_BACKREFMAX, &backrefs) != 0
        || backrefs > 0)
    {
        return NULL;
    }

    w = mem ? wh_alloc(mem, sizeof(head) + len + sizeof(tail))
            : malloc(sizeof(head) + len + sizeof(tail));
    if (w == NULL) {
        return NULL;
    }

    memcpy(w, head, sizeof(head) - 1);
    memcpy(w + sizeof(head) - 1, pattern, len);
    memcpy(w + sizeof(head) - 1 + len, tail, sizeof(tail) - 1);

    code = pcre2_compile((PCRE2_SPTR) w,
                         sizeof(head) - 1 + len + sizeof(tail) - 1,
                         PCRE2_UTF, &ec, &off, cctx);

    if (mem == NULL) {
        free(w);
    }

    return (pcre2_code *) code;
}


wh_calc_re_t *
wh_calc_re_compile(const char *pattern, size_t len, char *err,
    size_t errlen)
{
    int            ec;
    PCRE2_SIZE     off;
    PCRE2_UCHAR    msg[128];
    wh_calc_re_t  *re;

    re = malloc(sizeof(wh_calc_re_t));
    if (re == NULL) {
        wh_err(err, errlen, "out of memory");
        return NULL;
    }

    re->code = pcre2_compile((PCRE2_SPTR) pattern, len, WH_CALC_RE_OPTIONS,
                             &ec, &off, NULL);
    if (re->code == NULL) {
        pcre2_get_error_message(ec, msg, sizeof(msg));
        wh_err(err, errlen, "invalid pattern: %s at offset %zu",
                    (char *) msg, (size_t) off);
        free(re);
        return NULL;
    }

    re->dfa = wh_calc_re_dfa(re->code, pattern, len, NULL, NULL);

    return re;
}


void
wh_calc_re_free(wh_calc_re_t *re)
{
    if (re == NULL) {
        return;
    }

    pcre2_code_free(re->code);
    pcre2_code_free(re->dfa);
    free(re);
}


/* 1 match, 0 none, or a PCRE2 error; -1000 to use the backtracker. */

static int
wh_calc_dfa_match(const pcre2_code *dfa, const char *s, size_t sl,
    pcre2_match_data *md, pcre2_match_context *mctx, wh_mem_t *mem)
{
    int     rc, *ws;
    size_t  n;

    for (n = WH_CALC_DFA_WS; n <= WH_CALC_DFA_WS_MAX; n *= 2) {
        ws = wh_alloc(mem, n * sizeof(int));
        if (ws == NULL) {
            return PCRE2_ERROR_NOMEMORY;
        }

        rc = pcre2_dfa_match(dfa, (PCRE2_SPTR) s, sl, 0,
                             PCRE2_ANCHORED | PCRE2_DFA_SHORTEST, md, mctx,
                             ws, n);

        if (rc >= 0) {
            return 1;
        }

        if (rc == PCRE2_ERROR_NOMATCH) {
            return 0;
        }

        if (rc != PCRE2_ERROR_DFA_WSSIZE) {
            break;
        }
    }

    /* a subject that is not UTF-8, or an item the DFA does not know */
    if (rc == PCRE2_ERROR_DFA_WSSIZE || rc == PCRE2_ERROR_DFA_UITEM
        || rc == PCRE2_ERROR_DFA_UCOND || rc == PCRE2_ERROR_DFA_UFUNC
        || rc == PCRE2_ERROR_DFA_UINVALID_UTF
        || (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21))
    {
        return -1000;
    }

    return rc;
}


static int
wh_calc_other_case(int c)
{
    if (c >= 'a' && c <= 'z') {
        return c - 32;
    }

    if (c >= 'A' && c <= 'Z') {
        return c + 32;
    }

    return c;
}


static int
wh_calc_matches(wh_val_t a, wh_val_t b, const wh_calc_re_t *re,
    wh_mem_t *mem, int *r, char *err, size_t errlen)
{
    int                      ec, rc;
    size_t                   sl, pl;
    PCRE2_SIZE               off;
    PCRE2_UCHAR              msg[128];
    const char              *s, *pat;
    uint32_t                 req, flags;
    const pcre2_code        *code, *dfa;
    pcre2_match_data        *md;
    pcre2_match_context     *mctx;
    pcre2_compile_context   *cctx;
    pcre2_general_context   *gctx;

    *r = 0;

    if (re == NULL && wh_val_type(b) == WH_JSON_MISSING) {
        return 0;
    }

    if (wh_val_text(mem, a, &s, &sl) != 0) {
        goto oom;
    }

    gctx = pcre2_general_context_create(wh_calc_pcre_alloc,
                                        wh_calc_pcre_free, mem);
    if (gctx == NULL) {
        goto oom;
    }

    if (re != NULL) {
        code = re->code;
        dfa = re->dfa;

    } else {
        if (wh_val_text(mem, b, &pat, &pl) != 0) {
            goto oom;
        }

        cctx = pcre2_compile_context_create(gctx);
        if (cctx == NULL) {
            goto oom;
        }

        code = pcre2_compile((PCRE2_SPTR) pat, pl, WH_CALC_RE_OPTIONS, &ec,
                             &off, cctx);
        if (code == NULL) {
            pcre2_get_error_message(ec, msg, sizeof(msg));
            wh_err(err, errlen, "invalid pattern: %s at offset %zu",
                        (char *) msg, (size_t) off);
            return -1;
        }

        dfa = wh_calc_re_dfa(code, pat, pl, cctx, mem);
    }

    mctx = pcre2_match_context_create(gctx);
    md = pcre2_match_data_create(1, gctx);

    if (mctx == NULL || md == NULL) {
        goto oom;
    }

    pcre2_set_match_limit(mctx, WH_CALC_MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, WH_CALC_DEPTH_LIMIT);
    pcre2_set_heap_limit(mctx, WH_CALC_HEAP_LIMIT);

    rc = -1000;

    /*
     * A byte every match holds (PCRE2's "required code unit") that the
     * subject lacks: no match, after one memchr.  The DFA has no such
     * shortcut, and its states multiply with counted repeats.
     */
    if (pcre2_pattern_info(code, PCRE2_INFO_LASTCODETYPE, &flags) == 0
        && flags == 1
        && pcre2_pattern_info(code, PCRE2_INFO_LASTCODEUNIT, &req) == 0
        && req < 0x80
        && memchr(s, (int) req, sl) == NULL
        /* the pattern may be caseless: both cases must be absent */
        && memchr(s, wh_calc_other_case((int) req), sl) == NULL)
    {
        return 0;
    }

    if (dfa != NULL) {
        rc = wh_calc_dfa_match(dfa, s, sl, md, mctx, mem);
    }

    if (rc == -1000) {
        rc = pcre2_match(code, (PCRE2_SPTR) s, sl, 0, 0, md, mctx);
        rc = rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
    }

    if (rc >= 0) {
        *r = rc;
        return 0;
    }

    if (rc == PCRE2_ERROR_NOMEMORY) {
        goto oom;
    }

    pcre2_get_error_message(rc, msg, sizeof(msg));
    wh_err(err, errlen, "matches: %s", (char *) msg);

    return -1;

oom:

    wh_err(err, errlen, "out of memory");
    return -1;
}


int
wh_calc(wh_calc_op_t op, wh_val_t a, wh_val_t b, const wh_calc_re_t *re,
    wh_mem_t *mem, int *result, char *err, size_t errlen)
{
    int             r, c;
    wh_json_type_t  t;
    wh_calc_arg_t   aa, ba;

    r = 0;

    switch (op) {

    case WH_CALC_EQUAL:
    case WH_CALC_NOT_EQUAL:
        wh_calc_arg(a, &aa);
        wh_calc_arg(b, &ba);

        if (wh_calc_equal(mem, &aa, &ba, &r) != 0) {
            goto oom;
        }

        break;

    case WH_CALC_GT:
    case WH_CALC_GTE:
    case WH_CALC_LT:
    case WH_CALC_LTE:
        if (wh_calc_order(mem, a, b, &c) != 0) {
            goto oom;
        }

        if (c == 2) {
            *result = 0;
            return 0;
        }

        *result = op == WH_CALC_GT ? c > 0
                  : op == WH_CALC_GTE ? c >= 0
                  : op == WH_CALC_LT ? c < 0
                  : c <= 0;
        return 0;

    case WH_CALC_INCLUDES:
    case WH_CALC_NOT_INCLUDES:
        if (wh_calc_includes(mem, a, b, &r) != 0) {
            goto oom;
        }

        break;

    case WH_CALC_STARTS_WITH:
    case WH_CALC_NOT_STARTS_WITH:
    case WH_CALC_ENDS_WITH:
    case WH_CALC_NOT_ENDS_WITH:
        if (wh_calc_affix(mem, a, b, op >= WH_CALC_ENDS_WITH, &r) != 0) {
            goto oom;
        }

        break;

    case WH_CALC_EMPTY:
    case WH_CALC_NOT_EMPTY:
        t = wh_val_type(a);

        r = t == WH_JSON_MISSING || t == WH_JSON_NULL
            || ((t == WH_JSON_STRING || t == WH_JSON_ARRAY
                 || t == WH_JSON_OBJECT)
                && (t == WH_JSON_STRING ? a.doc->toks[a.tok].len == 2
                                        : wh_val_size(a) == 0));
        break;

    case WH_CALC_IN:
    case WH_CALC_NOT_IN:
        if (wh_calc_member(mem, a, b, &r) != 0) {
            goto oom;
        }

        break;

    case WH_CALC_MATCHES:
        if (wh_calc_matches(a, b, re, mem, &r, err, errlen) != 0) {
            return -1;
        }

        break;

    default:
        wh_err(err, errlen, "unknown calculator");
        return -1;
    }

    switch (op) {
    case WH_CALC_NOT_EQUAL:
    case WH_CALC_NOT_INCLUDES:
    case WH_CALC_NOT_STARTS_WITH:
    case WH_CALC_NOT_ENDS_WITH:
    case WH_CALC_NOT_EMPTY:
    case WH_CALC_NOT_IN:
        r = !r;
        break;
    default:
        break;
    }

    *result = r;

    return 0;

oom:

    wh_err(err, errlen, "out of memory");
    return -1;
}
