/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: multipart/form-data.  The first line of the input is
 * the boundary (also tried as a Content-Type value, and through the media
 * type check of response nodes), the rest the body.
 * Success must give a JSON object the request path's parser accepts.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *     fuzz/fuzz_multipart.c src/core/wh_body.c src/core/wh_json.c \
 *     src/core/wh_mem.c -o build/fuzz_multipart
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
    size_t          blen, mlen;
    wh_buf_t        b;
    wh_mem_t        mem;
    wh_media_t      t;
    wh_arena_t     *a;
    const char     *s, *nl, *body, *mb;
    wh_json_doc_t   doc;
    wh_json_err_t   jerr;

    s = (const char *) data;

    nl = memchr(s, '\n', size);
    blen = nl ? (size_t) (nl - s) : size;
    body = nl ? nl + 1 : s + size;

    /* a valid media type has its "/" */
    if (wh_media_type_valid(s, blen) && memchr(s, '/', blen) == NULL) {
        abort();
    }

    t = wh_media_type(s, blen, &mb, &mlen);

    if (t == WH_MEDIA_MULTIPART && mb != NULL
        && (mlen == 0 || mlen > 70 || mb < s || mb + mlen > s + blen))
    {
        abort();
    }

    if (t != WH_MEDIA_MULTIPART && (mb != NULL || mlen != 0)) {
        abort();
    }

    if (blen == 0) {
        return 0;
    }

    a = wh_arena_create(0);
    if (a == NULL) {
        return 0;
    }

    wh_arena_mem(a, &mem);
    wh_buf_init(&b, &mem, 0);

    err[0] = '\0';
    rc = wh_multipart_to_json(&b, s, blen, body, s + size - body, 64, err,
                              sizeof(err));

    if (rc != 0) {
        if (err[0] == '\0') {
            abort();
        }

    } else {
        if (b.failed || b.len < 2 || b.data[0] != '{'
            || wh_json_parse(&mem, b.data, b.len, &doc, &jerr) != 0
            || doc.toks[0].type != WH_JSON_OBJECT)
        {
            abort();
        }
    }

    wh_arena_destroy(a);

    return 0;
}
