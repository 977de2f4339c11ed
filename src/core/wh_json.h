/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A validating JSON tokenizer that works in place over a text buffer
 * (RFC 8259, UTF-8 only).  It produces a flat array of tokens in document
 * order; nothing is copied or unescaped.  This is the request-path parser:
 * jansson is used only for workflow files and off the hot path.
 */

#ifndef WH_JSON_H
#define WH_JSON_H

#include "wh_mem.h"


#define WH_JSON_MAX_DEPTH  256

typedef enum {
    WH_JSON_MISSING = 0,     /* only for wh_val_t: no such value */
    WH_JSON_NULL,
    WH_JSON_FALSE,
    WH_JSON_TRUE,
    WH_JSON_NUMBER,
    WH_JSON_STRING,
    WH_JSON_ARRAY,
    WH_JSON_OBJECT
} wh_json_type_t;


typedef struct {
    uint32_t    type:4;
    uint32_t    escaped:1;   /* string holds a backslash escape */
    uint32_t    start;       /* offset in text; strings include quotes */
    uint32_t    len;         /* bytes of the whole value in text */
    uint32_t    next;        /* index of the token after this subtree */
    uint32_t    size;        /* array: items; object: members */
} wh_json_tok_t;

/*
 * Object members are stored as a key token (a string) followed by the value
 * subtree.  Token 0 is the root.
 */

typedef struct {
    const char     *text;
    size_t          len;
    wh_json_tok_t  *toks;
    uint32_t        ntoks;
} wh_json_doc_t;


typedef struct {
    size_t      offset;      /* byte offset of the error in text */
    size_t      line;        /* 1-based */
    size_t      column;      /* 1-based, in bytes */
    char        msg[96];     /* "unexpected character 'x'", ... */
} wh_json_err_t;


/*
 * Tokenizes text[0..len).  Leading and trailing white space is allowed,
 * anything else after the value is an error.  Returns 0 or -1 with err set
 * (err->msg is "out of memory" when the allocator failed).
 */
int wh_json_parse(wh_mem_t *mem, const char *text, size_t len,
    wh_json_doc_t *doc, wh_json_err_t *err);

/*
 * The same checks as wh_json_parse(), the same error, without keeping the
 * tokens: 0 when text is one valid JSON value.
 */
int wh_json_validate(const char *text, size_t len, wh_json_err_t *err);

/* Fills line and column of err from err->offset over text. */
void wh_json_err_position(const char *text, size_t len, wh_json_err_t *err);

/*
 * Appends s[0..len) as a quoted JSON string.  Bytes that are not valid UTF-8
 * become U+FFFD, control characters are escaped.
 */
void wh_json_escape(wh_buf_t *b, const char *s, size_t len);

/*
 * Unescapes the string token tok of doc into mem.  The result is
 * NUL-terminated (len excludes the NUL).  Returns 0 or -1 on OOM.
 */
int wh_json_string(wh_mem_t *mem, const wh_json_doc_t *doc, uint32_t tok,
    const char **s, size_t *len);

/* Does string token tok equal the (unescaped) bytes s[0..len)? */
int wh_json_string_eq(const wh_json_doc_t *doc, uint32_t tok,
    const char *s, size_t len);

/* Do string tokens ta of a and tb of b hold the same unescaped bytes? */
int wh_json_string_eq_tok(const wh_json_doc_t *a, uint32_t ta,
    const wh_json_doc_t *b, uint32_t tb);

/* Writes code point cp (<= 0x10ffff) as UTF-8: 1 to 4 bytes, the count. */
size_t wh_utf8_encode(uint32_t cp, void *out);

/* Appends the value at tok without insignificant white space. */
void wh_json_write_compact(wh_buf_t *b, const wh_json_doc_t *doc,
    uint32_t tok);

/* Member value token of object tok with key, or 0 when absent (last wins). */
uint32_t wh_json_get(const wh_json_doc_t *doc, uint32_t tok,
    const char *key, size_t key_len);

/* Item token i of array tok, or 0 when out of range. */
uint32_t wh_json_index(const wh_json_doc_t *doc, uint32_t tok, uint32_t i);

#endif /* WH_JSON_H */
