/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the math engine: the input is compiled as an
 * expression and evaluated against a small fixed context.  The same bytes
 * are also compiled as a template path and used as a run-time "matches"
 * pattern, which covers wh_path and the PCRE2 limits of wh_calc.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *       fuzz/fuzz_math.c src/core/wh_mem.c src/core/wh_json.c \
 *       src/core/wh_val.c src/core/wh_path.c src/core/wh_math.c \
 *       src/core/wh_calc.c -lpcre2-8 -lm -o /tmp/fm
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wh_math.h"
#include "wh_calc.h"


static const char  *wh_fuzz_key_names[] = { "calc", "loop1" };
static wh_keys_t    wh_fuzz_keys = { wh_fuzz_key_names, 2 };

static const char   wh_fuzz_context[] =
    "{\"n\":10,\"s\":\"9\",\"f\":\"0.5\",\"str\":\"O'Brien \\\"x\\\"\","
    "\"arr\":[1,\"two\",null,true,{\"k\":[3]}],\"obj\":{\"a\":1,\"b\":\"c\"},"
    "\"u\":\"\xc3\x9cn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9\",\"e\":\"\",\"z\":null}";


static const char   wh_fuzz_scope[] = "{\"item\":\"x\",\"index\":3}";


static void
wh_fuzz_check(int cond)
{
    if (!cond) {
        abort();
    }
}


static wh_val_t
wh_fuzz_env(void *data, wh_mem_t *mem, const char *name, size_t len)
{
    return wh_val_string(mem, name, len);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             r;
    char            err[256];
    wh_val_t        v, nodes[2], scopes[2];
    wh_mem_t        mem;
    wh_buf_t        b;
    wh_path_t      *p;
    wh_math_t      *m;
    wh_arena_t     *arena;
    wh_scope_t      scope;
    wh_json_err_t   jerr;
    const char     *s;

    arena = wh_arena_create(0);
    wh_fuzz_check(arena != NULL);
    wh_arena_mem(arena, &mem);

    memset(&scope, 0, sizeof(scope));
    scope.mem = &mem;
    wh_fuzz_check(wh_val_parse(&mem, wh_fuzz_context,
                               sizeof(wh_fuzz_context) - 1, 1,
                               &scope.context, &jerr) == 0);
    wh_fuzz_check(wh_val_parse(&mem, "7", 1, 1, &nodes[0], &jerr) == 0);
    nodes[1] = wh_val_missing();
    scopes[0] = wh_val_missing();
    wh_fuzz_check(wh_val_parse(&mem, wh_fuzz_scope, strlen(wh_fuzz_scope),
                               1, &scopes[1], &jerr) == 0);
    scope.nodes = nodes;
    scope.scopes = scopes;
    scope.nnodes = 2;
    scope.env = wh_fuzz_env;
    scope.now_ms = 1795345087123LL;

    s = (const char *) data;

    /* the expression */

    err[0] = '\0';
    m = wh_math_compile(s, size, &wh_fuzz_keys, err, sizeof(err));

    if (m == NULL) {
        wh_fuzz_check(err[0] != '\0' && memchr(err, '\0', sizeof(err)));

    } else {
        err[0] = '\0';

        if (wh_math_eval(m, &scope, &v, err, sizeof(err)) == 0) {
            wh_fuzz_check(v.doc != NULL);

            wh_buf_init(&b, &mem, 0);
            wh_val_write_json(&b, v);
            wh_fuzz_check(!b.failed);

        } else {
            wh_fuzz_check(err[0] != '\0');
        }

        wh_math_free(m);
    }

    /* the same bytes as a path */

    p = wh_path_compile(s, size, &wh_fuzz_keys, err, sizeof(err));
    if (p != NULL) {
        v = wh_path_resolve(p, &scope);
        wh_buf_init(&b, &mem, 0);
        wh_val_write_json(&b, v);
        wh_fuzz_check(!b.failed);
        wh_path_free(p);
    }

    /* and as a run-time pattern against a fixed subject */

    if (size <= 512) {
        r = -1;
        v = wh_val_string(&mem, s, size);
        wh_fuzz_check(v.doc != NULL);

        if (wh_calc(WH_CALC_MATCHES, wh_val_get(scope.context, "str", 3), v,
                    NULL, &mem, &r, err, sizeof(err)) == 0)
        {
            wh_fuzz_check(r == 0 || r == 1);
        }

        wh_calc(WH_CALC_INCLUDES, scope.context, v, NULL, &mem, &r, err,
                sizeof(err));
        wh_calc(WH_CALC_EQUAL, wh_val_get(scope.context, "arr", 3), v, NULL,
                &mem, &r, err, sizeof(err));
    }

    wh_arena_destroy(arena);

    return 0;
}
