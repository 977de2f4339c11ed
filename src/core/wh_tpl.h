/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Templates: any JSON value of a workflow file in which strings may hold
 * "{{ path }}".  A string that is exactly one template keeps the JSON type
 * of its value; inside longer text values are interpolated (strings as
 * they are, other values as compact JSON, missing as empty).  Objects and
 * arrays render recursively.  Constant subtrees are kept as ready JSON text.
 */

#ifndef WH_TPL_H
#define WH_TPL_H

#include <jansson.h>
#include "wh_path.h"


typedef struct wh_tpl_s  wh_tpl_t;

/* malloc'd, configuration lifetime; NULL with a message in err. */
wh_tpl_t *wh_tpl_compile(const json_t *v, const wh_keys_t *keys,
    char *err, size_t errlen);

/* Compiles a plain string (for example a header value or an expression). */
wh_tpl_t *wh_tpl_compile_string(const char *s, size_t len,
    const wh_keys_t *keys, char *err, size_t errlen);

void wh_tpl_free(wh_tpl_t *t);

int wh_tpl_is_constant(const wh_tpl_t *t);

/* Appends the rendered value as compact JSON. Returns 0, -1 on OOM. */
int wh_tpl_render_json(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b);

/* Appends the rendered value as text (strings unquoted). */
int wh_tpl_render_text(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b);

/*
 * Appends the rendered value as an HTTP body carries it: a string as its
 * text (*json set to 0), any other value as compact JSON (*json set to 1).
 */
int wh_tpl_render_value(const wh_tpl_t *t, wh_scope_t *scope, wh_buf_t *b,
    int *json);

/* The rendered value (a path's value itself when the template is one path). */
int wh_tpl_eval(const wh_tpl_t *t, wh_scope_t *scope, wh_val_t *v);

#endif /* WH_TPL_H */
