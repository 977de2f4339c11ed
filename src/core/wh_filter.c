/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Filters of the record nodes: compiled into a tree of "and"/"or" groups
 * whose leaves are calculators (wh_calc.h) between a field path of the
 * record and a value of the filter.  Filters are rendered at run time and
 * may come from a request, so compiling is bounded in depth and reports
 * every mistake; matching never recurses deeper than compiling did.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wh_filter.h"


struct wh_filter_s {
    int                 group;      /* 1: $and/$or, 0: a comparison */

    /* group */
    int                 any;        /* $or (else $and) */
    wh_filter_t       **items;
    size_t              nitems;

    /* comparison */
    wh_calc_op_t        op;
    const char        **segs;       /* the field's path */
    size_t             *lens;
    size_t              nsegs;
    const char         *field;      /* as written, for messages */
    wh_val_t            value;
};


typedef struct {
    const char         *name;
    size_t              len;
    wh_calc_op_t        op;
} wh_filter_op_t;

#define wh_filter_op(s, op)  { s, sizeof(s) - 1, op }

static const wh_filter_op_t  wh_filter_ops[] = {
    wh_filter_op("$eq", WH_CALC_EQUAL),
    wh_filter_op("$ne", WH_CALC_NOT_EQUAL),
    wh_filter_op("$gt", WH_CALC_GT),
    wh_filter_op("$gte", WH_CALC_GTE),
    wh_filter_op("$lt", WH_CALC_LT),
    wh_filter_op("$lte", WH_CALC_LTE),
    wh_filter_op("$in", WH_CALC_IN),
    wh_filter_op("$notIn", WH_CALC_NOT_IN),
    wh_filter_op("$includes", WH_CALC_INCLUDES),
    wh_filter_op("$notIncludes", WH_CALC_NOT_INCLUDES),
    wh_filter_op("$empty", WH_CALC_EMPTY),
    wh_filter_op("$notEmpty", WH_CALC_NOT_EMPTY)
};

#define WH_FILTER_NOPS  (sizeof(wh_filter_ops) / sizeof(wh_filter_ops[0]))

#define WH_FILTER_OP_LIST                                                   \
    "$eq, $ne, $gt, $gte, $lt, $lte, $in, $notIn, $includes, "            \
    "$notIncludes, $empty, $notEmpty"


typedef struct {
    wh_mem_t           *mem;
    char               *err;
    size_t              errlen;
    int                 failed;
} wh_filter_ctx_t;


static wh_filter_t *wh_filter_object(wh_filter_ctx_t *ctx, wh_val_t obj,
    int depth);


static void wh_filter_fail(wh_filter_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
wh_filter_fail(wh_filter_ctx_t *ctx, const char *fmt, ...)
{
    va_list  ap;

    if (ctx->failed) {
        return;
    }

    ctx->failed = 1;

    if (ctx->err == NULL || ctx->errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(ctx->err, ctx->errlen, fmt, ap);
    va_end(ap);
}


static wh_filter_t *
wh_filter_new(wh_filter_ctx_t *ctx, int group, size_t nitems)
{
    wh_filter_t  *f;

    f = wh_alloc(ctx->mem, sizeof(wh_filter_t));
    if (f == NULL) {
        goto oom;
    }

    memset(f, 0, sizeof(wh_filter_t));
    f->group = group;

    if (nitems) {
        f->items = wh_alloc(ctx->mem, nitems * sizeof(wh_filter_t *));
        if (f->items == NULL) {
            goto oom;
        }
    }

    return f;

oom:

    wh_filter_fail(ctx, "out of memory");
    return NULL;
}


/* The unescaped text of string token tok (a key). */

static const char *
wh_filter_str(wh_filter_ctx_t *ctx, wh_val_t v, size_t *len)
{
    const char  *s;

    if (wh_val_str(ctx->mem, v, &s, len) != 0) {
        wh_filter_fail(ctx, "out of memory");
        return NULL;
    }

    return s;
}


/* Splits a field's path at its dots. */

static int
wh_filter_path(wh_filter_ctx_t *ctx, wh_filter_t *f, const char *field,
    size_t len)
{
    size_t       i, n, start;

    if (len == 0) {
        wh_filter_fail(ctx, "a field name must not be empty");
        return -1;
    }

    n = 1;
    for (i = 0; i < len; i++) {
        n += field[i] == '.';
    }

    f->segs = wh_alloc(ctx->mem, n * sizeof(const char *));
    f->lens = wh_alloc(ctx->mem, n * sizeof(size_t));

    if (f->segs == NULL || f->lens == NULL) {
        wh_filter_fail(ctx, "out of memory");
        return -1;
    }

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && field[i] != '.') {
            continue;
        }

        if (i == start) {
            wh_filter_fail(ctx, "field \"%s\" has an empty path segment",
                           field);
            return -1;
        }

        f->segs[f->nsegs] = field + start;
        f->lens[f->nsegs++] = i - start;
        start = i + 1;
    }

    f->field = field;

    return 0;
}


static wh_filter_t *
wh_filter_cmp(wh_filter_ctx_t *ctx, const char *field, size_t len,
    wh_calc_op_t op, wh_val_t value, const char *opname)
{
    wh_filter_t  *f;

    if ((op == WH_CALC_IN || op == WH_CALC_NOT_IN)
        && wh_val_type(value) != WH_JSON_ARRAY)
    {
        wh_filter_fail(ctx, "\"%s\" of field \"%s\" must be an array",
                       opname, field);
        return NULL;
    }

    f = wh_filter_new(ctx, 0, 0);
    if (f == NULL || wh_filter_path(ctx, f, field, len) != 0) {
        return NULL;
    }

    f->op = op;
    f->value = value;

    return f;
}


/*
 * How many operators a field's value has: 0 for a plain value, -1 when
 * it mixes operators and plain keys.
 */

static int
wh_filter_nops(wh_filter_ctx_t *ctx, const char *field, wh_val_t v)
{
    size_t                kl;
    uint32_t              n, m, k, nops;
    const char           *ks;
    const wh_json_doc_t  *doc;

    if (wh_val_type(v) != WH_JSON_OBJECT) {
        return 0;
    }

    doc = v.doc;
    n = wh_val_size(v);
    nops = 0;

    for (m = 0, k = v.tok + 1; m < n; m++, k = doc->toks[k + 1].next) {
        ks = wh_filter_str(ctx, (wh_val_t) { doc, k }, &kl);
        if (ks == NULL) {
            return -1;
        }

        nops += ks[0] == '$';
    }

    if (nops && nops != n) {
        wh_filter_fail(ctx, "field \"%s\" mixes operators and plain keys",
                       field);
        return -1;
    }

    return (int) nops;
}


/*
 * One field of a filter object: a plain value, or an object of operators
 * (several are and'ed).  Appends its comparisons to group g.
 */

static int
wh_filter_field(wh_filter_ctx_t *ctx, wh_filter_t *g, const char *field,
    size_t len, wh_val_t v, int nops)
{
    size_t                i, kl;
    uint32_t              n, k, m;
    wh_filter_t          *f;
    const char           *ks;
    const wh_json_doc_t  *doc;

    doc = v.doc;

    if (nops == 0) {
        f = wh_filter_cmp(ctx, field, len, WH_CALC_EQUAL, v, "$eq");
        if (f == NULL) {
            return -1;
        }

        g->items[g->nitems++] = f;
        return 0;
    }

    n = wh_val_size(v);

    for (m = 0, k = v.tok + 1; m < n; m++, k = doc->toks[k + 1].next) {
        ks = wh_filter_str(ctx, (wh_val_t) { doc, k }, &kl);
        if (ks == NULL) {
            return -1;
        }

        for (i = 0; i < WH_FILTER_NOPS; i++) {
            if (wh_filter_ops[i].len == kl
                && memcmp(wh_filter_ops[i].name, ks, kl) == 0)
            {
                break;
            }
        }

        if (i == WH_FILTER_NOPS) {
            wh_filter_fail(ctx, "unknown operator \"%s\" for field \"%s\" "
                           "(known: " WH_FILTER_OP_LIST ")", ks, field);
            return -1;
        }

        f = wh_filter_cmp(ctx, field, len, wh_filter_ops[i].op,
                          (wh_val_t) { doc, k + 1 }, ks);
        if (f == NULL) {
            return -1;
        }

        g->items[g->nitems++] = f;
    }

    return 0;
}


/* "$and" or "$or": an array of filter objects. */

static wh_filter_t *
wh_filter_group(wh_filter_ctx_t *ctx, const char *name, wh_val_t v,
    int depth)
{
    uint32_t      i, n, t;
    wh_filter_t  *g, *f;

    if (wh_val_type(v) != WH_JSON_ARRAY) {
        wh_filter_fail(ctx, "\"%s\" must be an array of filters", name);
        return NULL;
    }

    n = wh_val_size(v);

    g = wh_filter_new(ctx, 1, n);
    if (g == NULL) {
        return NULL;
    }

    g->any = name[1] == 'o';

    for (i = 0, t = v.tok + 1; i < n; i++, t = v.doc->toks[t].next) {
        if (wh_val_type((wh_val_t) { v.doc, t }) != WH_JSON_OBJECT) {
            wh_filter_fail(ctx, "\"%s\" item %u must be a filter object",
                           name, i + 1);
            return NULL;
        }

        f = wh_filter_object(ctx, (wh_val_t) { v.doc, t }, depth + 1);
        if (f == NULL) {
            return NULL;
        }

        g->items[g->nitems++] = f;
    }

    return g;
}


/* A filter object: its members and'ed. */

static wh_filter_t *
wh_filter_object(wh_filter_ctx_t *ctx, wh_val_t obj, int depth)
{
    int                   nops;
    size_t                kl, count;
    uint32_t              n, m, k;
    wh_val_t              key, v;
    wh_filter_t          *g, *f;
    const char           *ks;
    const wh_json_doc_t  *doc;

    if (depth > WH_FILTER_MAX_DEPTH) {
        wh_filter_fail(ctx, "filters nest deeper than %d levels",
                       WH_FILTER_MAX_DEPTH);
        return NULL;
    }

    doc = obj.doc;
    n = wh_val_size(obj);

    /* one comparison per operator or plain value */
    count = 0;

    for (m = 0, k = obj.tok + 1; m < n; m++, k = doc->toks[k + 1].next) {
        ks = wh_filter_str(ctx, (wh_val_t) { doc, k }, &kl);
        if (ks == NULL) {
            return NULL;
        }

        nops = ks[0] == '$' ? 1 : wh_filter_nops(ctx, ks,
                                                 (wh_val_t) { doc, k + 1 });
        if (nops < 0) {
            return NULL;
        }

        count += nops ? (size_t) nops : 1;
    }

    g = wh_filter_new(ctx, 1, count);
    if (g == NULL) {
        return NULL;
    }

    for (m = 0, k = obj.tok + 1; m < n; m++, k = doc->toks[k + 1].next) {
        key = (wh_val_t) { doc, k };
        v = (wh_val_t) { doc, k + 1 };

        ks = wh_filter_str(ctx, key, &kl);
        if (ks == NULL) {
            return NULL;
        }

        if (strcmp(ks, "$and") == 0 || strcmp(ks, "$or") == 0) {
            f = wh_filter_group(ctx, ks, v, depth);
            if (f == NULL) {
                return NULL;
            }

            g->items[g->nitems++] = f;
            continue;
        }

        if (ks[0] == '$') {
            wh_filter_fail(ctx, "unknown key \"%s\" (a filter's keys are "
                           "field names, \"$and\" and \"$or\")", ks);
            return NULL;
        }

        if (memchr(ks, '\0', kl) != NULL) {
            wh_filter_fail(ctx, "a field name must not contain NUL");
            return NULL;
        }

        if (wh_filter_field(ctx, g, ks, kl, v, wh_filter_nops(ctx, ks, v))
            != 0)
        {
            return NULL;
        }
    }

    /* one comparison needs no group around it */
    if (g->nitems == 1 && !g->items[0]->group) {
        return g->items[0];
    }

    return g;
}


wh_filter_t *
wh_filter_compile(wh_mem_t *mem, wh_val_t filter, char *err, size_t errlen)
{
    wh_filter_t      *f;
    wh_filter_ctx_t   ctx;

    ctx.mem = mem;
    ctx.err = err;
    ctx.errlen = errlen;
    ctx.failed = 0;

    switch (wh_val_type(filter)) {

    case WH_JSON_MISSING:
    case WH_JSON_NULL:
        return wh_filter_new(&ctx, 1, 0);

    case WH_JSON_OBJECT:
        f = wh_filter_object(&ctx, filter, 1);
        return ctx.failed ? NULL : f;

    default:
        wh_filter_fail(&ctx, "a filter must be an object");
        return NULL;
    }
}


/* The record's value at the field's path; missing when there is none. */

static wh_val_t
wh_filter_value(const wh_filter_t *f, wh_val_t v)
{
    size_t       i, j;
    uint32_t     idx;
    const char  *s;

    for (i = 0; i < f->nsegs; i++) {
        s = f->segs[i];

        switch (wh_val_type(v)) {

        case WH_JSON_OBJECT:
            v = wh_val_get(v, s, f->lens[i]);
            break;

        case WH_JSON_ARRAY:
            idx = 0;

            for (j = 0; j < f->lens[i]; j++) {
                if (s[j] < '0' || s[j] > '9' || j == 9) {
                    return wh_val_missing();
                }

                idx = idx * 10 + (uint32_t) (s[j] - '0');
            }

            v = wh_val_index(v, idx);
            break;

        default:
            return wh_val_missing();
        }
    }

    return v;
}


int
wh_filter_match(const wh_filter_t *f, wh_val_t record, wh_mem_t *mem)
{
    int     r;
    size_t  i;
    char    err[64];

    if (f->group) {
        for (i = 0; i < f->nitems; i++) {
            r = wh_filter_match(f->items[i], record, mem);

            if (r < 0) {
                return -1;
            }

            if (r == f->any) {
                return r;
            }
        }

        return !f->any;
    }

    if (wh_calc(f->op, wh_filter_value(f, record), f->value, NULL, mem, &r,
                err, sizeof(err))
        != 0)
    {
        return -1;
    }

    return r;
}
