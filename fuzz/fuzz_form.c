/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: urlencoded forms.  Whatever the input, the parser
 * either fails with a message or writes a JSON object that the request
 * path's own parser accepts; input without '%' never fails.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *     fuzz/fuzz_form.c src/core/wh_body.c src/core/wh_json.c \
 *     src/core/wh_mem.c -o build/fuzz_form
 */

#include <stdlib.h>
#include <string.h>

#include "wh_body.h"
#include "wh_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    char            err[128];
    wh_buf_t        b;
    wh_mem_t        mem;
    wh_arena_t     *a;
    wh_json_doc_t   doc;
    wh_json_err_t   jerr;

    a = wh_arena_create(0);
    if (a == NULL) {
        return 0;
    }

    wh_arena_mem(a, &mem);
    wh_buf_init(&b, &mem, 0);

    err[0] = '\0';
    rc = wh_form_to_json(&b, (const char *) data, size, err, sizeof(err));

    if (rc != 0) {
        if (err[0] == '\0' || memchr(data, '%', size) == NULL) {
            abort();
        }

    } else {
        if (b.failed || b.len < 2 || b.data[0] != '{'
            || b.data[b.len - 1] != '}'
            || wh_json_parse(&mem, b.data, b.len, &doc, &jerr) != 0
            || doc.toks[0].type != WH_JSON_OBJECT)
        {
            abort();
        }
    }

    wh_arena_destroy(a);

    return 0;
}
