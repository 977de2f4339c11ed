/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "script" node on the worker's event loop: the asynchronous form of
 * wk_script.h, so that other runs go on while a script runs.  Config:
 * content, arguments [{name, value}] (rendered; globals by name),
 * timeout ms (5000 when missing or not positive), memory MB of heap (64;
 * bytes when a million or more), allowEval (false).  The script sees
 * `context` ($context) and `nodes` (the results so far by node key); its
 * console lines go to the job's "logs".
 */

#ifndef WK_NODE_SCRIPT_H
#define WK_NODE_SCRIPT_H

#include "wk.h"
#include "wk_node.h"


/* The start and cancel of the type (wk_node.h). */
int wk_node_script_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);
void wk_node_script_cancel(wk_worker_t *w, wk_hold_t *h);

#endif /* WK_NODE_SCRIPT_H */
