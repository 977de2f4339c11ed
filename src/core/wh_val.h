/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Values of workflows: every value is a token of a JSON document (the request
 * context, a node result, a constant of the workflow file).  Computed values
 * are written as small JSON documents, so templates, conditions and the math
 * engine need a single representation, and copying a value out (into an HTTP
 * answer or a Redis job) is a copy of its text.
 */

#ifndef WH_VAL_H
#define WH_VAL_H

#include "wh_json.h"


typedef struct {
    const wh_json_doc_t  *doc;     /* NULL: missing */
    uint32_t              tok;
} wh_val_t;

#define wh_val_missing()   ((wh_val_t) { NULL, 0 })

wh_json_type_t wh_val_type(wh_val_t v);         /* WH_JSON_MISSING if none */

/*
 * Numbers as JavaScript prints them (Number.prototype.toString: the
 * shortest digits that read back, NaN, Infinity) into out (32 bytes):
 * the length.  wh_num_digits gives those digits of |d| (finite, not 0)
 * and the decimal point's place n: |d| = 0.DIGITS * 10^n.
 */
size_t wh_num_format(double d, char *out);
int wh_num_digits(double d, char *digits, int *n);

/* Static singletons, no allocation. */
wh_val_t wh_val_null(void);
wh_val_t wh_val_bool(int b);

/* New one-token documents in mem; a missing value on OOM. */
wh_val_t wh_val_number(wh_mem_t *mem, double d);  /* integers print as such */
wh_val_t wh_val_string(wh_mem_t *mem, const char *s, size_t len);

/*
 * Parses trusted or untrusted JSON text (copied into mem first when copy
 * is set).  Returns -1 with err set on invalid text.
 */
int wh_val_parse(wh_mem_t *mem, const char *text, size_t len, int copy,
    wh_val_t *v, wh_json_err_t *err);

/* Member or item access; missing propagates. */
wh_val_t wh_val_get(wh_val_t v, const char *key, size_t key_len);
wh_val_t wh_val_index(wh_val_t v, uint32_t i);
uint32_t wh_val_size(wh_val_t v);     /* items or members, 0 for scalars */

/* Object member i: key (as a string value) and value. */
wh_val_t wh_val_member_key(wh_val_t v, uint32_t i);
wh_val_t wh_val_member_value(wh_val_t v, uint32_t i);

int wh_val_truthy(wh_val_t v);        /* JavaScript truthiness */

/*
 * Number of a number, or of a string that is a JSON-style decimal number
 * (surrounding white space allowed, not empty).  Returns 0 and sets *d,
 * or -1.
 */
int wh_val_to_number(wh_val_t v, double *d);

/* Unescaped string of a string value; -1 for other types or OOM. */
int wh_val_str(wh_mem_t *mem, wh_val_t v, const char **s, size_t *len);

/*
 * Text of a value as templates interpolate it: strings as they are, other
 * values as compact JSON, missing as "".
 */
int wh_val_text(wh_mem_t *mem, wh_val_t v, const char **s, size_t *len);
void wh_val_write_text(wh_buf_t *b, wh_val_t v);

/* Compact JSON of a value; missing is written as null. */
void wh_val_write_json(wh_buf_t *b, wh_val_t v);

/*
 * Deep JSON equality (object member order does not matter, the last of
 * duplicate keys counts): sets *eq; returns 0, or -1 on OOM.  Arrays and
 * objects compare by their canonical forms, O(n log n) in their size.
 */
int wh_val_equal(wh_mem_t *mem, wh_val_t a, wh_val_t b, int *eq);

/*
 * Appends the canonical form of v (not JSON: equal values have equal
 * forms, others differ) for comparing one value against many; -1 on OOM.
 */
int wh_val_canon(wh_buf_t *b, wh_val_t v);

/* Is a equal to the value whose canonical form is canon[0..len)? */
int wh_val_equal_canon(wh_mem_t *mem, wh_val_t a, const char *canon,
    size_t len, int *eq);

/*
 * Items of an array one after the other, O(1) a step (wh_val_index walks
 * from the first): missing when arr is empty, not an array, or after the
 * last item.
 */
wh_val_t wh_val_first(wh_val_t arr);
wh_val_t wh_val_next(wh_val_t arr, wh_val_t item);

#endif /* WH_VAL_H */
