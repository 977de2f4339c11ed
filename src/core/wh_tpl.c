/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Templates.  A compiled template is a tree of five kinds of nodes:
 * constants (ready compact JSON text and, for strings, the plain text),
 * one path (keeps the JSON type of its value), an interpolated string
 * (literal parts between paths), and objects and arrays whose runs of
 * constant members are merged into single chunks of JSON text, so a
 * mostly constant body renders with a few memcpy calls.
 *
 * Missing values: inside an object a member whose value is a single
 * path that resolves to nothing is dropped (as JavaScript drops undefined
 * members when serializing); an array item and a whole template render
 * as null; inside interpolated text a missing value is empty.
 *
 * All memory of a template comes from a list of malloc'd blocks owned by
 * the root, so freeing is one walk over that list.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wh_tpl.h"


typedef enum {
    WH_TPL_CONST,
    WH_TPL_PATH,
    WH_TPL_STRING,
    WH_TPL_OBJECT,
    WH_TPL_ARRAY
} wh_tpl_kind_t;

typedef struct {
    const char         *raw;       /* literal text before path */
    size_t              raw_len;
    const char         *esc;       /* the same, JSON-escaped, unquoted */
    size_t              esc_len;
    wh_path_t          *path;      /* NULL in the last part */
} wh_tpl_part_t;

typedef struct {
    const char         *text;      /* a constant chunk, or "key": */
    size_t              len;
    wh_tpl_t           *child;     /* NULL: text is a constant chunk */
} wh_tpl_item_t;

typedef union wh_tpl_block_u  wh_tpl_block_t;

union wh_tpl_block_u {
    wh_tpl_block_t     *next;
    max_align_t         align;
};

typedef struct wh_tpl_pathref_s  wh_tpl_pathref_t;

struct wh_tpl_pathref_s {
    wh_path_t          *path;
    wh_tpl_pathref_t   *next;
};

struct wh_tpl_s {
    wh_tpl_kind_t       kind;
    int                 string;    /* constant: a JSON string */

    const char         *json;      /* constant: compact JSON */
    size_t              json_len;
    const char         *text;      /* constant: text (strings unquoted) */
    size_t              text_len;
    wh_val_t            val;       /* constant root: the parsed value */

    wh_path_t          *path;

    wh_tpl_part_t      *parts;
    size_t              nparts;

    wh_tpl_item_t      *items;
    size_t              nitems;

    size_t              hint;      /* expected size of the JSON output */

    /* root only */
    wh_tpl_block_t     *blocks;
    wh_tpl_pathref_t   *paths;
};


typedef struct {
    size_t              start;
    size_t              end;
    const char         *inner;
    size_t              inner_len;
} wh_tpl_span_t;

typedef struct {
    wh_mem_t            mem;
    wh_tpl_block_t     *blocks;
    wh_tpl_pathref_t   *paths;
    const wh_keys_t    *keys;
    char               *err;
    size_t              errlen;

    wh_tpl_span_t      *spans;
    size_t              nspans;
    size_t              spans_cap;
} wh_tpl_ctx_t;


#define WH_TPL_PATH_HINT  16


static void *
wh_tpl_block_alloc(void *data, size_t size)
{
    wh_tpl_block_t  **head, *blk;

    head = data;

    blk = malloc(sizeof(wh_tpl_block_t) + size);
    if (blk == NULL) {
        return NULL;
    }

    blk->next = *head;
    *head = blk;

    return blk + 1;
}


static void
wh_tpl_release(wh_tpl_block_t *blocks, wh_tpl_pathref_t *paths)
{
    wh_tpl_block_t  *next;

    for ( /* void */ ; paths; paths = paths->next) {
        wh_path_free(paths->path);
    }

    while (blocks) {
        next = blocks->next;
        free(blocks);
        blocks = next;
    }
}


static int
wh_tpl_oom(wh_tpl_ctx_t *ctx)
{
    snprintf(ctx->err, ctx->errlen, "out of memory");
    return -1;
}


static wh_tpl_t *
wh_tpl_new(wh_tpl_ctx_t *ctx, wh_tpl_kind_t kind)
{
    wh_tpl_t  *t;

    t = wh_alloc(&ctx->mem, sizeof(wh_tpl_t));
    if (t == NULL) {
        wh_tpl_oom(ctx);
        return NULL;
    }

    memset(t, 0, sizeof(wh_tpl_t));
    t->kind = kind;
    t->val = wh_val_missing();

    return t;
}


/* Shortest text that reads back as the same double, as values print. */

static void
wh_tpl_write_real(wh_buf_t *b, double d)
{
    char  s[40];

    wh_buf_add(b, s, wh_num_format(d, s));
}


/* Compact JSON of a constant jansson value (keys in document order). */

static void
wh_tpl_write_jansson(wh_buf_t *b, const json_t *v)
{
    size_t       i, n;
    const char  *key;
    json_t      *item;
    int          first;

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        wh_buf_addc(b, '{');
        first = 1;
        json_object_foreach((json_t *) v, key, item) {
            if (!first) {
                wh_buf_addc(b, ',');
            }
            first = 0;
            wh_json_escape(b, key, strlen(key));
            wh_buf_addc(b, ':');
            wh_tpl_write_jansson(b, item);
        }
        wh_buf_addc(b, '}');
        break;

    case JSON_ARRAY:
        wh_buf_addc(b, '[');
        n = json_array_size(v);
        for (i = 0; i < n; i++) {
            if (i) {
                wh_buf_addc(b, ',');
            }
            wh_tpl_write_jansson(b, json_array_get(v, i));
        }
        wh_buf_addc(b, ']');
        break;

    case JSON_STRING:
        wh_json_escape(b, json_string_value(v), json_string_length(v));
        break;

    case JSON_INTEGER:
        wh_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;

    case JSON_REAL:
        wh_tpl_write_real(b, json_real_value(v));
        break;

    case JSON_TRUE:
        wh_buf_adds(b, "true");
        break;

    case JSON_FALSE:
        wh_buf_adds(b, "false");
        break;

    default:
        wh_buf_adds(b, "null");
        break;
    }
}


static int
wh_tpl_span(void *data, size_t start, size_t end, const char *inner,
    size_t inner_len)
{
    wh_tpl_ctx_t   *ctx;
    wh_tpl_span_t  *spans;
    size_t          cap;

    ctx = data;

    if (ctx->nspans == ctx->spans_cap) {
        cap = ctx->spans_cap ? ctx->spans_cap * 2 : 8;
        spans = realloc(ctx->spans, cap * sizeof(wh_tpl_span_t));
        if (spans == NULL) {
            return wh_tpl_oom(ctx);
        }
        ctx->spans = spans;
        ctx->spans_cap = cap;
    }

    ctx->spans[ctx->nspans++] = (wh_tpl_span_t) { start, end, inner,
                                                  inner_len };
    return 0;
}


static wh_path_t *
wh_tpl_path(wh_tpl_ctx_t *ctx, const char *s, size_t len)
{
    wh_path_t         *p;
    wh_tpl_pathref_t  *ref;

    ref = wh_alloc(&ctx->mem, sizeof(wh_tpl_pathref_t));
    if (ref == NULL) {
        wh_tpl_oom(ctx);
        return NULL;
    }

    p = wh_path_compile(s, len, ctx->keys, ctx->err, ctx->errlen);
    if (p == NULL) {
        return NULL;
    }

    ref->path = p;
    ref->next = ctx->paths;
    ctx->paths = ref;

    return p;
}


/* Escaped JSON string content of s (no quotes) in template memory. */

static int
wh_tpl_escape(wh_tpl_ctx_t *ctx, const char *s, size_t len,
    const char **esc, size_t *esc_len)
{
    wh_buf_t  b;

    wh_buf_init(&b, &ctx->mem, len + 2);
    wh_json_escape(&b, s, len);

    if (b.failed) {
        return wh_tpl_oom(ctx);
    }

    *esc = b.data + 1;
    *esc_len = b.len - 2;

    return 0;
}


static wh_tpl_t *
wh_tpl_string(wh_tpl_ctx_t *ctx, const char *s, size_t len)
{
    size_t          i, pos;
    wh_tpl_t       *t;
    wh_tpl_part_t  *part;
    wh_tpl_span_t  *sp;
    wh_buf_t        b;

    ctx->nspans = 0;

    if (wh_path_scan(s, len, wh_tpl_span, ctx, ctx->err, ctx->errlen) != 0) {
        return NULL;
    }

    if (ctx->nspans == 0) {
        t = wh_tpl_new(ctx, WH_TPL_CONST);
        if (t == NULL) {
            return NULL;
        }

        t->string = 1;
        t->text = wh_memdup(&ctx->mem, s, len);
        t->text_len = len;

        wh_buf_init(&b, &ctx->mem, len + 2);
        wh_json_escape(&b, s, len);

        if (t->text == NULL || b.failed) {
            wh_tpl_oom(ctx);
            return NULL;
        }

        t->json = b.data;
        t->json_len = b.len;
        t->hint = b.len;

        return t;
    }

    sp = ctx->spans;

    if (ctx->nspans == 1 && sp[0].start == 0 && sp[0].end == len) {
        t = wh_tpl_new(ctx, WH_TPL_PATH);
        if (t == NULL) {
            return NULL;
        }

        t->path = wh_tpl_path(ctx, sp[0].inner, sp[0].inner_len);
        if (t->path == NULL) {
            return NULL;
        }

        t->hint = WH_TPL_PATH_HINT;

        return t;
    }

    t = wh_tpl_new(ctx, WH_TPL_STRING);
    if (t == NULL) {
        return NULL;
    }

    t->nparts = ctx->nspans + 1;
    t->parts = wh_alloc(&ctx->mem, t->nparts * sizeof(wh_tpl_part_t));
    if (t->parts == NULL) {
        wh_tpl_oom(ctx);
        return NULL;
    }

    t->hint = 2;
    pos = 0;

    for (i = 0; i < t->nparts; i++) {
        part = &t->parts[i];

        if (i < ctx->nspans) {
            sp = &ctx->spans[i];
            part->raw_len = sp->start - pos;
            part->path = wh_tpl_path(ctx, sp->inner, sp->inner_len);
            if (part->path == NULL) {
                return NULL;
            }

        } else {
            sp = NULL;
            part->raw_len = len - pos;
            part->path = NULL;
        }

        part->raw = wh_memdup(&ctx->mem, s + pos, part->raw_len);
        if (part->raw == NULL) {
            wh_tpl_oom(ctx);
            return NULL;
        }

        if (wh_tpl_escape(ctx, s + pos, part->raw_len, &part->esc,
                          &part->esc_len)
            != 0)
        {
            return NULL;
        }

        t->hint += part->esc_len + (part->path ? WH_TPL_PATH_HINT : 0);

        if (sp) {
            pos = sp->end;
        }
    }

    return t;
}


static wh_tpl_t *wh_tpl_node(wh_tpl_ctx_t *ctx, const json_t *v);


/*
 * Objects and arrays: runs of constant members become one chunk of JSON
 * text; a member with a template keeps its "key": prefix beside it.
 */

static int
wh_tpl_flush(wh_tpl_ctx_t *ctx, wh_tpl_t *t, wh_buf_t *chunk)
{
    wh_tpl_item_t  *it;

    if (chunk->failed) {
        return wh_tpl_oom(ctx);
    }

    if (chunk->len) {
        it = &t->items[t->nitems++];
        it->text = chunk->data;
        it->len = chunk->len;
        it->child = NULL;
        wh_buf_init(chunk, &ctx->mem, 64);
    }

    return 0;
}


static int
wh_tpl_add(wh_tpl_ctx_t *ctx, wh_tpl_t *t, wh_buf_t *chunk, const char *key,
    wh_tpl_t *child)
{
    wh_buf_t        kb;
    wh_tpl_item_t  *it;

    t->hint += child->hint + 1 + (key ? strlen(key) + 3 : 0);

    if (child->kind == WH_TPL_CONST) {
        if (chunk->len) {
            wh_buf_addc(chunk, ',');
        }

        if (key) {
            wh_json_escape(chunk, key, strlen(key));
            wh_buf_addc(chunk, ':');
        }

        wh_buf_add(chunk, child->json, child->json_len);
        return 0;
    }

    if (wh_tpl_flush(ctx, t, chunk) != 0) {
        return -1;
    }

    it = &t->items[t->nitems++];
    it->text = NULL;
    it->len = 0;
    it->child = child;

    if (key) {
        wh_buf_init(&kb, &ctx->mem, strlen(key) + 3);
        wh_json_escape(&kb, key, strlen(key));
        wh_buf_addc(&kb, ':');
        if (kb.failed) {
            return wh_tpl_oom(ctx);
        }

        it->text = kb.data;
        it->len = kb.len;
    }

    return 0;
}


static wh_tpl_t *
wh_tpl_compound(wh_tpl_ctx_t *ctx, const json_t *v)
{
    int          object;
    size_t       i, n;
    json_t      *item;
    const char  *key;
    wh_tpl_t    *t, *child;
    wh_buf_t     chunk, b;

    object = json_is_object(v);
    n = object ? json_object_size(v) : json_array_size(v);

    t = wh_tpl_new(ctx, object ? WH_TPL_OBJECT : WH_TPL_ARRAY);
    if (t == NULL) {
        return NULL;
    }

    /* at most one chunk before each templated member and one at the end */
    t->items = wh_alloc(&ctx->mem, (2 * n + 1) * sizeof(wh_tpl_item_t));
    if (t->items == NULL) {
        wh_tpl_oom(ctx);
        return NULL;
    }

    wh_buf_init(&chunk, &ctx->mem, 64);
    t->hint = 2;

    if (object) {
        json_object_foreach((json_t *) v, key, item) {
            child = wh_tpl_node(ctx, item);
            if (child == NULL || wh_tpl_add(ctx, t, &chunk, key, child) != 0) {
                return NULL;
            }
        }

    } else {
        for (i = 0; i < n; i++) {
            child = wh_tpl_node(ctx, json_array_get(v, i));
            if (child == NULL || wh_tpl_add(ctx, t, &chunk, NULL, child) != 0)
            {
                return NULL;
            }
        }
    }

    if (chunk.failed) {
        wh_tpl_oom(ctx);
        return NULL;
    }

    if (t->nitems) {
        return wh_tpl_flush(ctx, t, &chunk) == 0 ? t : NULL;
    }

    /* all constant: the whole value is one chunk */

    wh_buf_init(&b, &ctx->mem, chunk.len + 2);
    wh_buf_addc(&b, object ? '{' : '[');
    wh_buf_add(&b, chunk.data, chunk.len);
    wh_buf_addc(&b, object ? '}' : ']');
    if (b.failed) {
        wh_tpl_oom(ctx);
        return NULL;
    }

    t->kind = WH_TPL_CONST;
    t->items = NULL;
    t->json = b.data;
    t->json_len = b.len;
    t->text = b.data;
    t->text_len = b.len;
    t->hint = b.len;

    return t;
}


static wh_tpl_t *
wh_tpl_node(wh_tpl_ctx_t *ctx, const json_t *v)
{
    wh_tpl_t  *t;
    wh_buf_t   b;

    switch (json_typeof(v)) {

    case JSON_OBJECT:
    case JSON_ARRAY:
        return wh_tpl_compound(ctx, v);

    case JSON_STRING:
        return wh_tpl_string(ctx, json_string_value(v),
                             json_string_length(v));

    default:
        t = wh_tpl_new(ctx, WH_TPL_CONST);
        if (t == NULL) {
            return NULL;
        }

        wh_buf_init(&b, &ctx->mem, 24);
        wh_tpl_write_jansson(&b, v);
        if (b.failed) {
            wh_tpl_oom(ctx);
            return NULL;
        }

        t->json = b.data;
        t->json_len = b.len;
        t->text = b.data;
        t->text_len = b.len;
        t->hint = b.len;

        return t;
    }
}


static wh_tpl_t *
wh_tpl_finish(wh_tpl_ctx_t *ctx, wh_tpl_t *t)
{
    wh_json_err_t  jerr;

    free(ctx->spans);
    ctx->spans = NULL;

    if (t != NULL && t->kind == WH_TPL_CONST) {
        if (wh_val_parse(&ctx->mem, t->json, t->json_len, 0, &t->val, &jerr)
            != 0)
        {
            snprintf(ctx->err, ctx->errlen, "a value nested more than %d "
                     "levels deep (%s)", WH_JSON_MAX_DEPTH, jerr.msg);
            t = NULL;
        }
    }

    if (t == NULL) {
        wh_tpl_release(ctx->blocks, ctx->paths);
        return NULL;
    }

    t->blocks = ctx->blocks;
    t->paths = ctx->paths;

    return t;
}


static void
wh_tpl_ctx_init(wh_tpl_ctx_t *ctx, const wh_keys_t *keys, char *err,
    size_t errlen)
{
    memset(ctx, 0, sizeof(wh_tpl_ctx_t));
    ctx->mem.alloc = wh_tpl_block_alloc;
    ctx->mem.data = &ctx->blocks;
    ctx->keys = keys;
    ctx->err = err;
    ctx->errlen = errlen;
}


wh_tpl_t *
wh_tpl_compile(const json_t *v, const wh_keys_t *keys, char *err,
    size_t errlen)
{
    wh_tpl_ctx_t  ctx;

    wh_tpl_ctx_init(&ctx, keys, err, errlen);

    return wh_tpl_finish(&ctx, wh_tpl_node(&ctx, v));
}


wh_tpl_t *
wh_tpl_compile_string(const char *s, size_t len, const wh_keys_t *keys,
    char *err, size_t errlen)
{
    wh_tpl_ctx_t  ctx;

    wh_tpl_ctx_init(&ctx, keys, err, errlen);

    return wh_tpl_finish(&ctx, wh_tpl_string(&ctx, s, len));
}


void
wh_tpl_free(wh_tpl_t *t)
{
    if (t != NULL) {
        wh_tpl_release(t->blocks, t->paths);
    }
}


int
wh_tpl_is_constant(const wh_tpl_t *t)
{
    return t->kind == WH_TPL_CONST;
}


/*
 * A value as the content of a JSON string: the text of a string token is
 * already valid escaped content; numbers and literals need no escaping.
 */

static void
wh_tpl_write_escaped(wh_buf_t *b, wh_val_t v)
{
    size_t          pos;
    wh_buf_t        tmp;
    wh_json_tok_t  *tok;

    if (v.doc == NULL) {
        return;
    }

    tok = &v.doc->toks[v.tok];

    switch (tok->type) {

    case WH_JSON_STRING:
        wh_buf_add(b, v.doc->text + tok->start + 1, tok->len - 2);
        return;

    case WH_JSON_OBJECT:
    case WH_JSON_ARRAY:
        wh_buf_init(&tmp, b->mem, tok->len);
        wh_json_write_compact(&tmp, v.doc, v.tok);
        if (tmp.failed) {
            b->failed = 1;
            return;
        }

        pos = b->len;
        wh_json_escape(b, tmp.data, tmp.len);
        if (b->failed) {
            return;
        }

        /* drop the quotes wh_json_escape() adds */
        memmove(b->data + pos, b->data + pos + 1, b->len - pos - 2);
        b->len -= 2;
        b->data[b->len] = '\0';
        return;

    default:
        wh_json_write_compact(b, v.doc, v.tok);
        return;
    }
}


static void
wh_tpl_write_json(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b)
{
    size_t          i;
    int             first;
    wh_val_t        v;
    wh_tpl_part_t  *part;
    wh_tpl_item_t  *it;

    switch (t->kind) {

    case WH_TPL_CONST:
        wh_buf_add(b, t->json, t->json_len);
        return;

    case WH_TPL_PATH:
        wh_val_write_json(b, wh_path_resolve(t->path, scope));
        return;

    case WH_TPL_STRING:
        wh_buf_addc(b, '"');
        for (i = 0; i < t->nparts; i++) {
            part = &t->parts[i];
            wh_buf_add(b, part->esc, part->esc_len);
            if (part->path) {
                wh_tpl_write_escaped(b, wh_path_resolve(part->path, scope));
            }
        }
        wh_buf_addc(b, '"');
        return;

    case WH_TPL_OBJECT:
        wh_buf_addc(b, '{');
        first = 1;

        for (i = 0; i < t->nitems; i++) {
            it = &t->items[i];

            if (it->child == NULL) {
                if (!first) {
                    wh_buf_addc(b, ',');
                }
                wh_buf_add(b, it->text, it->len);
                first = 0;
                continue;
            }

            if (it->child->kind == WH_TPL_PATH) {
                v = wh_path_resolve(it->child->path, scope);
                if (v.doc == NULL) {
                    continue;
                }

                if (!first) {
                    wh_buf_addc(b, ',');
                }
                wh_buf_add(b, it->text, it->len);
                wh_val_write_json(b, v);
                first = 0;
                continue;
            }

            if (!first) {
                wh_buf_addc(b, ',');
            }
            wh_buf_add(b, it->text, it->len);
            wh_tpl_write_json(it->child, scope, b);
            first = 0;
        }

        wh_buf_addc(b, '}');
        return;

    case WH_TPL_ARRAY:
        wh_buf_addc(b, '[');

        for (i = 0; i < t->nitems; i++) {
            it = &t->items[i];

            if (i) {
                wh_buf_addc(b, ',');
            }

            if (it->child == NULL) {
                wh_buf_add(b, it->text, it->len);

            } else {
                wh_tpl_write_json(it->child, scope, b);
            }
        }

        wh_buf_addc(b, ']');
        return;
    }
}


int
wh_tpl_render_json(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b)
{
    if (wh_buf_reserve(b, t->hint) != 0) {
        return -1;
    }

    wh_tpl_write_json(t, scope, b);

    return b->failed ? -1 : 0;
}


int
wh_tpl_render_text(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b)
{
    size_t          i;
    wh_tpl_part_t  *part;

    switch (t->kind) {

    case WH_TPL_CONST:
        wh_buf_add(b, t->text, t->text_len);
        break;

    case WH_TPL_PATH:
        wh_val_write_text(b, wh_path_resolve(t->path, scope));
        break;

    case WH_TPL_STRING:
        for (i = 0; i < t->nparts; i++) {
            part = &t->parts[i];
            wh_buf_add(b, part->raw, part->raw_len);
            if (part->path) {
                wh_val_write_text(b, wh_path_resolve(part->path, scope));
            }
        }
        break;

    default:
        return wh_tpl_render_json(t, scope, b);
    }

    return b->failed ? -1 : 0;
}


int
wh_tpl_render_value(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b,
    int *json)
{
    wh_val_t  v;

    switch (t->kind) {

    case WH_TPL_CONST:
        *json = !t->string;
        break;

    case WH_TPL_PATH:
        v = wh_path_resolve(t->path, scope);
        *json = (wh_val_type(v) != WH_JSON_STRING);
        if (*json) {
            wh_val_write_json(b, v);

        } else {
            wh_val_write_text(b, v);
        }

        return b->failed ? -1 : 0;

    case WH_TPL_STRING:
        *json = 0;
        break;

    default:
        *json = 1;
        return wh_tpl_render_json(t, scope, b);
    }

    return wh_tpl_render_text(t, scope, b);
}


int
wh_tpl_eval(const wh_tpl_t *t, wh_scope_t *scope, wh_val_t *v)
{
    wh_buf_t       b;
    wh_json_err_t  jerr;

    switch (t->kind) {

    case WH_TPL_CONST:
        *v = t->val;
        return 0;

    case WH_TPL_PATH:
        *v = wh_path_resolve(t->path, scope);
        return 0;

    default:
        break;
    }

    wh_buf_init(&b, scope->mem, t->hint);

    if (wh_tpl_render_json(t, scope, &b) != 0) {
        return -1;
    }

    /* the text stays in scope->mem: no copy */
    return wh_val_parse(scope->mem, b.data, b.len, 0, v, &jerr);
}
