/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Template paths: compiled once into a root, a node index and segments,
 * resolved per request without parsing or allocating (except $system.now
 * and $env).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_path.h"
#include "wh_time.h"


#define WH_PATH_MAX_INDEX  0x7fffffff


static int wh_path_is_space(char c);
static wh_path_t *wh_path_compile_brackets(const char *s, size_t len,
    const wh_keys_t *keys, char *err, size_t errlen);
static wh_val_t wh_path_now(wh_mem_t *mem, int64_t ms);


int
wh_keys_find(const wh_keys_t *keys, const char *key, size_t len)
{
    size_t  i;

    if (keys == NULL) {
        return -1;
    }

    for (i = 0; i < keys->n; i++) {
        if (keys->keys[i] != NULL
            && strlen(keys->keys[i]) == len
            && memcmp(keys->keys[i], key, len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


static int
wh_path_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}


wh_path_t *
wh_path_compile(const char *s, size_t len, const wh_keys_t *keys,
    char *err, size_t errlen)
{
    int          node, shown;
    char        *names;
    size_t       i, n, nsegs, rlen, skip;
    uint64_t     idx;
    wh_seg_t    *seg;
    wh_root_t    root;
    wh_path_t   *p;
    const char  *e, *q, *r, *dot, *end;

    while (len > 0 && wh_path_is_space(s[0])) {
        s++;
        len--;
    }

    while (len > 0 && wh_path_is_space(s[len - 1])) {
        len--;
    }

    if (len == 0) {
        wh_err(err, errlen, "empty path in \"{{ }}\"");
        return NULL;
    }

    end = s + len;
    shown = len > 64 ? 64 : (int) len;

    for (q = s; q < end; q++) {
        if (wh_path_is_space(*q) || (unsigned char) *q < 0x20) {
            wh_err(err, errlen, "white space in path \"%.*s\"",
                        shown, s);
            return NULL;
        }
    }

    if (memchr(s, '[', len) != NULL) {
        return wh_path_compile_brackets(s, len, keys, err, errlen);
    }

    /* the root: "$name" up to the first dot */

    dot = memchr(s, '.', len);
    r = s;
    rlen = (dot ? dot : end) - s;

#define wh_root_is(lit)                                                     \
    (rlen == sizeof(lit) - 1 && memcmp(r, lit, rlen) == 0)

    if (wh_root_is("$context")) {
        root = WH_ROOT_CONTEXT;

    } else if (wh_root_is("$nodes") || wh_root_is("$jobsMapByNodeKey")) {
        root = WH_ROOT_NODES;

    } else if (wh_root_is("$scopes")) {
        root = WH_ROOT_SCOPES;

    } else if (wh_root_is("$env")) {
        root = WH_ROOT_ENV;

    } else if (wh_root_is("$system")) {
        root = WH_ROOT_SYSTEM;

    } else if (wh_root_is("$execution")) {
        root = WH_ROOT_EXECUTION;

    } else {
        wh_err(err, errlen, "unknown variable \"%.*s\"",
                    rlen > 64 ? 64 : (int) rlen, r);
        return NULL;
    }

#undef wh_root_is

    /* count and check segments after the root */

    nsegs = 0;

    if (dot != NULL) {
        for (q = dot + 1; ; q = e + 1) {
            e = memchr(q, '.', end - q);
            if (e == NULL) {
                e = end;
            }

            if (e == q) {
                wh_err(err, errlen, "empty segment in path \"%.*s\"",
                            shown, s);
                return NULL;
            }

            nsegs++;

            if (e == end) {
                break;
            }
        }
    }

    node = -1;
    skip = 0;

    switch (root) {

    case WH_ROOT_NODES:
    case WH_ROOT_SCOPES:
        if (nsegs == 0) {
            wh_err(err, errlen, "\"%.*s\" needs a node key",
                        (int) rlen, r);
            return NULL;
        }

        q = dot + 1;
        e = memchr(q, '.', end - q);
        n = (e ? e : end) - q;

        node = wh_keys_find(keys, q, n);
        if (node < 0) {
            wh_err(err, errlen, "unknown node \"%.*s\"",
                        n > 64 ? 64 : (int) n, q);
            return NULL;
        }

        /* the key is not a segment */
        skip = 1;
        break;

    case WH_ROOT_ENV:
        if (nsegs == 0) {
            wh_err(err, errlen, "\"$env\" needs a variable name");
            return NULL;
        }
        break;

    case WH_ROOT_SYSTEM:
        if (nsegs != 1 || (size_t) (end - dot - 1) != 3
            || memcmp(dot + 1, "now", 3) != 0)
        {
            wh_err(err, errlen, "unknown variable \"%.*s\" "
                        "(only \"$system.now\")", shown, s);
            return NULL;
        }

        /* resolved without segments */
        skip = 1;
        break;

    default:
        break;
    }

    /* one allocation: the path, its segments and their names */

    p = malloc(sizeof(wh_path_t) + nsegs * sizeof(wh_seg_t) + len + 1);
    if (p == NULL) {
        wh_err(err, errlen, "out of memory");
        return NULL;
    }

    p->root = root;
    p->node = node;
    p->segs = (wh_seg_t *) (p + 1);
    p->nsegs = 0;
    names = (char *) (p->segs + nsegs);

    if (dot == NULL) {
        return p;
    }

    for (q = dot + 1, i = 0; i < nsegs; q = e + 1, i++) {
        e = memchr(q, '.', end - q);
        if (e == NULL) {
            e = end;
        }

        if (i < skip) {
            continue;
        }

        n = e - q;
        seg = &p->segs[p->nsegs++];

        memcpy(names, q, n);
        names[n] = '\0';

        seg->name = names;
        seg->len = n;
        seg->index = -1;

        names += n + 1;

        idx = 0;

        for (r = q; r < e; r++) {
            if (*r < '0' || *r > '9') {
                break;
            }

            idx = idx * 10 + (*r - '0');
            if (idx > WH_PATH_MAX_INDEX) {
                break;
            }
        }

        if (r == e) {
            seg->index = (int) idx;
        }
    }

    return p;
}


/* "a[0].b" (as lodash writes it) is "a.0.b". */

static wh_path_t *
wh_path_compile_brackets(const char *s, size_t len, const wh_keys_t *keys,
    char *err, size_t errlen)
{
    char       *buf;
    size_t      i, j, n;
    wh_path_t  *p;

    buf = malloc(len + 1);
    if (buf == NULL) {
        wh_err(err, errlen, "out of memory");
        return NULL;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] != '[') {
            buf[n++] = s[i];
            continue;
        }

        for (j = i + 1; j < len && s[j] >= '0' && s[j] <= '9'; j++) {
            /* void */
        }

        if (j == i + 1 || j == len || s[j] != ']'
            || (j + 1 < len && s[j + 1] != '.' && s[j + 1] != '['))
        {
            wh_err(err, errlen, "invalid \"[\" in path \"%.*s\"",
                        len > 64 ? 64 : (int) len, s);
            free(buf);
            return NULL;
        }

        buf[n++] = '.';
        memcpy(buf + n, s + i + 1, j - i - 1);
        n += j - i - 1;
        i = j;
    }

    p = wh_path_compile(buf, n, keys, err, errlen);
    free(buf);

    return p;
}


void
wh_path_free(wh_path_t *p)
{
    free(p);
}


static wh_val_t
wh_path_now(wh_mem_t *mem, int64_t ms)
{
    char  buf[WH_ISO_LEN];

    wh_iso_time(ms, buf);

    return wh_val_string(mem, buf, WH_ISO_LEN - 1);
}


wh_val_t
wh_path_resolve(const wh_path_t *p, wh_scope_t *scope)
{
    size_t          i;
    wh_val_t        v;
    const wh_seg_t  *seg;

    i = 0;

    switch (p->root) {

    case WH_ROOT_CONTEXT:
        v = scope->context;
        break;

    case WH_ROOT_NODES:
        if (p->node < 0 || (size_t) p->node >= scope->nnodes
            || scope->nodes == NULL)
        {
            return wh_val_missing();
        }

        v = scope->nodes[p->node];
        break;

    case WH_ROOT_SCOPES:
        if (p->node < 0 || (size_t) p->node >= scope->nnodes
            || scope->scopes == NULL)
        {
            return wh_val_missing();
        }

        v = scope->scopes[p->node];
        break;

    case WH_ROOT_ENV:
        if (scope->env == NULL) {
            return wh_val_missing();
        }

        v = scope->env(scope->env_data, scope->mem, p->segs[0].name,
                       p->segs[0].len);
        i = 1;
        break;

    case WH_ROOT_SYSTEM:
        return wh_path_now(scope->mem, scope->now_ms);

    case WH_ROOT_EXECUTION:
        if (scope->execution == NULL) {
            return wh_val_missing();
        }

        v = scope->execution(scope->execution_data, scope->mem, scope->node);
        break;

    default:
        return wh_val_missing();
    }

    for ( /* void */ ; i < p->nsegs; i++) {
        if (v.doc == NULL) {
            return v;
        }

        seg = &p->segs[i];

        if (seg->index >= 0 && wh_val_type(v) == WH_JSON_ARRAY) {
            v = wh_val_index(v, (uint32_t) seg->index);

        } else {
            v = wh_val_get(v, seg->name, seg->len);
        }
    }

    return v;
}


int
wh_path_scan(const char *s, size_t len, wh_path_each_pt fn, void *data,
    char *err, size_t errlen)
{
    int          rc;
    size_t       i, j;

    i = 0;

    while (i + 1 < len) {
        if (s[i] != '{' || s[i + 1] != '{') {
            i++;
            continue;
        }

        for (j = i + 2; j + 1 < len; j++) {
            if (s[j] == '}' && s[j + 1] == '}') {
                break;
            }
        }

        if (j + 1 >= len) {
            wh_err(err, errlen, "unclosed \"{{\"");
            return -1;
        }

        rc = fn(data, i, j + 2, s + i + 2, j - i - 2);
        if (rc != 0) {
            return rc;
        }

        i = j + 2;
    }

    return 0;
}
