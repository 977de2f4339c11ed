/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Compiled calculations of condition nodes (private to the workflow
 * loader and the executor): a tree of "and"/"or" groups whose leaves are
 * calculators with template operands.
 */

#ifndef WH_COND_H
#define WH_COND_H

#include "wh_workflow.h"


struct wh_cond_s {
    int                group;      /* 1: a group, 0: a calculator */

    /* group */
    int                any;        /* "or" (else "and") */
    wh_cond_t        **items;
    size_t             nitems;

    /* calculator */
    wh_calc_op_t       op;
    wh_tpl_t          *a;
    wh_tpl_t          *b;          /* NULL for one-operand calculators */
    wh_calc_re_t      *re;         /* "matches" with a constant pattern */
};


/*
 * Compiles config.calculation: {"group":{"type":"and"|"or",
 * "calculations":[…]}} or {"calculator":NAME,"operands":[…]}, nestable.
 * malloc'd; NULL with a message in err.
 */
wh_cond_t *wh_cond_compile(const json_t *calc, const wh_keys_t *keys,
    char *err, size_t errlen);
void wh_cond_free(wh_cond_t *c);

/*
 * Sets *result to 0 or 1.  Groups short-circuit; an empty "and" is true,
 * an empty "or" false.  Returns 0, or -1 with a message in err.
 */
int wh_cond_eval(const wh_cond_t *c, wh_scope_t *scope, int *result,
    char *err, size_t errlen);

#endif /* WH_COND_H */
