/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "math" engine of calculation nodes: numbers, strings, booleans, null;
 * + - * / % (+ concatenates when either side is a string), unary - and !,
 * == != < <= > >= (numeric when both sides are numbers, else as strings),
 * && || (JavaScript semantics, returning an operand), ?: , parentheses,
 * and the functions lower upper trim len replace substr split join round
 * floor ceil now.  A "{{ path }}" inside the expression stands for its
 * value (a string as a string literal).
 */

#ifndef WH_MATH_H
#define WH_MATH_H

#include "wh_path.h"


typedef struct wh_math_s  wh_math_t;

/* malloc'd, configuration lifetime; NULL with a message in err. */
wh_math_t *wh_math_compile(const char *expr, size_t len,
    const wh_keys_t *keys, char *err, size_t errlen);
void wh_math_free(wh_math_t *m);

/*
 * Evaluates into a new value in scope->mem.  Returns 0, or -1 with a
 * message in err: division by zero, a result that is not finite, an
 * unknown function or a wrong argument count.
 */
int wh_math_eval(const wh_math_t *m, wh_scope_t *scope, wh_val_t *v,
    char *err, size_t errlen);

#endif /* WH_MATH_H */
