/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Calculators of condition nodes (NocoBase names), see SPEC §4
 * "Comparisons".
 */

#ifndef WH_CALC_H
#define WH_CALC_H

#include "wh_val.h"


typedef enum {
    WH_CALC_EQUAL, WH_CALC_NOT_EQUAL, WH_CALC_GT, WH_CALC_GTE, WH_CALC_LT,
    WH_CALC_LTE, WH_CALC_INCLUDES, WH_CALC_NOT_INCLUDES,
    WH_CALC_STARTS_WITH, WH_CALC_NOT_STARTS_WITH, WH_CALC_ENDS_WITH,
    WH_CALC_NOT_ENDS_WITH, WH_CALC_EMPTY, WH_CALC_NOT_EMPTY, WH_CALC_IN,
    WH_CALC_NOT_IN, WH_CALC_MATCHES
} wh_calc_op_t;

/* -1 for an unknown name. */
int wh_calc_lookup(const char *name, size_t len);

/* How many operands the calculator takes (1 for empty and notEmpty). */
int wh_calc_arity(wh_calc_op_t op);

/*
 * Compiled right-hand side of "matches" when it is a constant pattern
 * (PCRE2); NULL otherwise and the pattern is compiled at run time.
 */
typedef struct wh_calc_re_s  wh_calc_re_t;

wh_calc_re_t *wh_calc_re_compile(const char *pattern, size_t len,
    char *err, size_t errlen);
void wh_calc_re_free(wh_calc_re_t *re);

/*
 * Sets *result to 0 or 1.  Returns 0, or -1 with err set (an invalid
 * run-time pattern, OOM).  re may be NULL.
 */
int wh_calc(wh_calc_op_t op, wh_val_t a, wh_val_t b, const wh_calc_re_t *re,
    wh_mem_t *mem, int *result, char *err, size_t errlen);

#endif /* WH_CALC_H */
