/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the request-path JSON tokenizer and the value
 * functions that walk its tokens.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *       fuzz/fuzz_json.c src/core/wh_mem.c src/core/wh_json.c \
 *       src/core/wh_val.c -o /tmp/fj
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wh_val.h"


static void
wh_fuzz_check(int cond)
{
    if (!cond) {
        abort();
    }
}


/* Checks the token invariants of the subtree at tok and walks it. */

static int
wh_fuzz_eq(wh_mem_t *mem, wh_val_t a, wh_val_t b)
{
    int  r;

    return wh_val_equal(mem, a, b, &r) == 0 && r;
}


static void
wh_fuzz_walk(wh_mem_t *mem, wh_val_t v, int depth)
{
    double                d;
    size_t                len;
    uint32_t              i, n, next;
    wh_val_t              k, m, c;
    const char           *s;
    wh_json_doc_t         doc;
    wh_json_err_t         err;
    const wh_json_tok_t  *t;
    wh_buf_t              b;

    t = &v.doc->toks[v.tok];

    wh_fuzz_check(t->next > v.tok && t->next <= v.doc->ntoks);
    wh_fuzz_check((size_t) t->start + t->len <= v.doc->len);

    wh_val_truthy(v);
    wh_val_to_number(v, &d);
    wh_fuzz_check(wh_fuzz_eq(mem, v, v));

    /* the compact form parses and is equal */

    wh_buf_init(&b, mem, 0);
    wh_val_write_json(&b, v);
    wh_fuzz_check(!b.failed && b.len <= t->len);
    wh_fuzz_check(wh_json_parse(mem, b.data, b.len, &doc, &err) == 0);
    wh_fuzz_check(wh_fuzz_eq(mem, v, (wh_val_t) { &doc, 0 }));

    wh_fuzz_check(wh_val_text(mem, v, &s, &len) == 0);

    if (t->type == WH_JSON_STRING) {
        /* escaping the unescaped text gives an equal string */
        c = wh_val_string(mem, s, len);
        wh_fuzz_check(wh_fuzz_eq(mem, v, c));
        wh_fuzz_check(wh_json_string_eq(v.doc, v.tok, s, len));
    }

    if (t->type == WH_JSON_NUMBER && wh_val_to_number(v, &d) == 0) {
        c = wh_val_number(mem, d);
        wh_fuzz_check(wh_val_type(c) == WH_JSON_MISSING
                      || wh_fuzz_eq(mem, v, c));
    }

    if (depth > 32) {
        return;
    }

    n = wh_val_size(v);
    next = v.tok + 1;

    if (t->type == WH_JSON_ARRAY) {
        for (i = 0; i < n && i < 64; i++) {
            c = wh_val_index(v, i);
            wh_fuzz_check(c.tok == next);
            next = v.doc->toks[next].next;
            wh_fuzz_walk(mem, c, depth + 1);
        }

        wh_fuzz_check(wh_val_type(wh_val_index(v, n)) == WH_JSON_MISSING);
    }

    if (t->type == WH_JSON_OBJECT) {
        for (i = 0; i < n && i < 64; i++) {
            k = wh_val_member_key(v, i);
            wh_fuzz_check(wh_val_type(k) == WH_JSON_STRING);
            wh_fuzz_check(wh_val_str(mem, k, &s, &len) == 0);

            /* get finds this key, or a later duplicate of it */
            m = wh_val_get(v, s, len);
            wh_fuzz_check(m.tok > k.tok);
            wh_fuzz_check(wh_json_string_eq(v.doc, m.tok - 1, s, len));

            wh_fuzz_walk(mem, wh_val_member_value(v, i), depth + 1);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    wh_mem_t        mem;
    wh_val_t        v;
    wh_arena_t     *a;
    wh_json_err_t   err, verr;

    a = wh_arena_create(4096);
    if (a == NULL) {
        return 0;
    }

    wh_arena_mem(a, &mem);

    rc = wh_val_parse(&mem, (const char *) data, size, 0, &v, &err);

    /* the validator and the tokenizer agree, to the error's offset */
    wh_fuzz_check(wh_json_validate((const char *) data, size, &verr) == rc);
    wh_fuzz_check(rc == 0 || (verr.offset == err.offset
                              && strcmp(verr.msg, err.msg) == 0));

    if (rc == 0) {
        wh_fuzz_check(v.doc->ntoks > 0);
        wh_fuzz_check(v.doc->toks[0].next == v.doc->ntoks);
        wh_fuzz_walk(&mem, v, 0);

    } else {
        wh_fuzz_check(err.offset <= size && err.line >= 1
                      && err.column >= 1 && err.msg[0] != '\0');
    }

    wh_arena_destroy(a);

    return 0;
}
