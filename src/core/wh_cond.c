/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Condition calculations: compiled from the workflow file once, evaluated
 * per execution.  Recursion follows the nesting of the file only.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wh_cond.h"


#define WH_COND_SHAPE \
    "\"calculation\" must be an object with \"group\" or \"calculator\""


static wh_cond_t *
wh_cond_new(void)
{
    wh_cond_t  *c;

    c = calloc(1, sizeof(wh_cond_t));

    return c;
}


static wh_cond_t *
wh_cond_group(const json_t *g, const wh_keys_t *keys, char *err,
    size_t errlen)
{
    size_t       i, n;
    json_t      *type, *list;
    wh_cond_t   *c;
    const char  *s;

    if (!json_is_object(g)) {
        snprintf(err, errlen, "\"group\" must be an object");
        return NULL;
    }

    type = json_object_get(g, "type");
    s = json_is_string(type) ? json_string_value(type) : NULL;

    if (type != NULL
        && (s == NULL || (strcmp(s, "and") != 0 && strcmp(s, "or") != 0)))
    {
        snprintf(err, errlen, "group \"type\" must be \"and\" or \"or\"");
        return NULL;
    }

    list = json_object_get(g, "calculations");
    if (list != NULL && !json_is_array(list)) {
        snprintf(err, errlen, "group \"calculations\" must be an array");
        return NULL;
    }

    n = json_array_size(list);

    c = wh_cond_new();
    if (c == NULL) {
        goto nomem;
    }

    c->group = 1;
    c->any = (s != NULL && strcmp(s, "or") == 0);

    if (n) {
        c->items = calloc(n, sizeof(wh_cond_t *));
        if (c->items == NULL) {
            wh_cond_free(c);
            goto nomem;
        }
    }

    for (i = 0; i < n; i++) {
        c->items[i] = wh_cond_compile(json_array_get(list, i), keys, err,
                                      errlen);
        if (c->items[i] == NULL) {
            wh_cond_free(c);
            return NULL;
        }
        c->nitems++;
    }

    return c;

nomem:

    snprintf(err, errlen, "out of memory");
    return NULL;
}


wh_cond_t *
wh_cond_compile(const json_t *calc, const wh_keys_t *keys, char *err,
    size_t errlen)
{
    int          op, arity;
    char         msg[256];
    size_t       n;
    json_t      *name, *operands, *b;
    wh_cond_t   *c;

    if (!json_is_object(calc)) {
        snprintf(err, errlen, WH_COND_SHAPE);
        return NULL;
    }

    if (json_object_get(calc, "group") != NULL) {
        return wh_cond_group(json_object_get(calc, "group"), keys, err,
                             errlen);
    }

    name = json_object_get(calc, "calculator");
    if (name == NULL) {
        snprintf(err, errlen, WH_COND_SHAPE);
        return NULL;
    }

    if (!json_is_string(name)) {
        snprintf(err, errlen, "\"calculator\" must be a string");
        return NULL;
    }

    op = wh_calc_lookup(json_string_value(name), json_string_length(name));
    if (op < 0) {
        snprintf(err, errlen, "unknown calculator \"%.64s\"",
                 json_string_value(name));
        return NULL;
    }

    arity = wh_calc_arity((wh_calc_op_t) op);
    operands = json_object_get(calc, "operands");
    n = json_array_size(operands);

    /*
     * One-operand calculators tolerate a second, ignored operand: editors
     * keep it when the calculator is switched to "empty".
     */
    if (!json_is_array(operands)
        || n < (size_t) arity || n > 2)
    {
        snprintf(err, errlen, "calculator \"%s\" needs %d operand%s",
                 json_string_value(name), arity, arity == 1 ? "" : "s");
        return NULL;
    }

    c = wh_cond_new();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    c->op = (wh_calc_op_t) op;

    c->a = wh_tpl_compile(json_array_get(operands, 0), keys, err, errlen);
    if (c->a == NULL) {
        goto failed;
    }

    if (arity == 1) {
        return c;
    }

    b = json_array_get(operands, 1);

    c->b = wh_tpl_compile(b, keys, err, errlen);
    if (c->b == NULL) {
        goto failed;
    }

    if (c->op == WH_CALC_MATCHES && json_is_string(b)
        && wh_tpl_is_constant(c->b))
    {
        c->re = wh_calc_re_compile(json_string_value(b),
                                   json_string_length(b), msg, sizeof(msg));
        if (c->re == NULL) {
            snprintf(err, errlen, "\"matches\" pattern: %s", msg);
            goto failed;
        }
    }

    return c;

failed:

    wh_cond_free(c);
    return NULL;
}


void
wh_cond_free(wh_cond_t *c)
{
    size_t  i;

    if (c == NULL) {
        return;
    }

    for (i = 0; i < c->nitems; i++) {
        wh_cond_free(c->items[i]);
    }

    free(c->items);
    wh_tpl_free(c->a);
    wh_tpl_free(c->b);

    if (c->re != NULL) {
        wh_calc_re_free(c->re);
    }

    free(c);
}


int
wh_cond_eval(const wh_cond_t *c, wh_scope_t *scope, int *result,
    char *err, size_t errlen)
{
    size_t    i;
    wh_val_t  a, b;

    if (c->group) {
        for (i = 0; i < c->nitems; i++) {
            if (wh_cond_eval(c->items[i], scope, result, err, errlen) != 0) {
                return -1;
            }

            if (*result == c->any) {
                return 0;
            }
        }

        *result = !c->any;
        return 0;
    }

    b = wh_val_missing();

    if (wh_tpl_eval(c->a, scope, &a) != 0
        || (c->b && wh_tpl_eval(c->b, scope, &b) != 0))
    {
        snprintf(err, errlen, "cannot render an operand (out of memory, or "
                 "nested too deep)");
        return -1;
    }

    return wh_calc(c->op, a, b, c->re, scope->mem, result, err, errlen);
}
