/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The node API of webhook-worker: what a worker node type provides (a
 * row of the table in wk_node.c: its type, start and cancel) and what it
 * may call on its run.  The engine (wk_run.c) starts a node through the
 * table only, so adding a node type touches no engine code.
 *
 * start(w, run, ex, node) performs the node.  It returns 0 when the node
 * ended (it called wk_run_node_done(), or the run was resumed or ended),
 * 1 when it goes on asynchronously: it holds the run (wk_run_hold()) and
 * calls wk_run_node_done() later, from a watch or timer of wk_loop.h.
 */

#ifndef WK_NODE_H
#define WK_NODE_H

#include "wk.h"


typedef struct wk_hold_s  wk_hold_t;

typedef int (*wk_node_start_pt)(wk_worker_t *w, wk_run_t *run,
    wh_exec_t *ex, const wh_node_t *node);
typedef void (*wk_node_cancel_pt)(wk_worker_t *w, wk_hold_t *h);

typedef struct {
    wh_node_type_t      type;
    wk_node_start_pt    start;
    wk_node_cancel_pt   cancel;         /* NULL: it never holds a run */
} wk_node_t;


/* The row of type t; NULL when the worker does not run that type. */
const wk_node_t *wk_node_find(wh_node_type_t t);


/* wk_run.c: what a node may call on its run */

/*
 * The node's error is one that a retry cannot cure (a script that throws,
 * an HTTP 4xx answer): the run ends without retries.
 */
void wk_run_permanent(wk_run_t *run);

/*
 * An asynchronous worker node ended with an error that neither a retry
 * nor "ignoreFail" may pass over (a destination the SSRF policy
 * refuses): the run ends with it.
 */
void wk_run_node_final(wk_worker_t *w, wk_run_t *run, wh_val_t result,
    const char *error);

/* The node keys of the run's workflow, to compile a template path. */
const wh_keys_t *wk_run_keys(wk_run_t *run);

/* An asynchronous worker node ended: records its job, the run goes on. */
void wk_run_node_done(wk_worker_t *w, wk_run_t *run, int status,
    wh_val_t result, const char *error);

/*
 * What an asynchronous node has in flight for a run, held from its start
 * function.  A run freed before its node ended (Redis lost, shutdown)
 * calls its type's cancel, which must drop the node's watches and memory
 * and never call wk_run_node_done().  A node releases its hold before it
 * calls wk_run_node_done().
 */
struct wk_hold_s {
    wk_hold_t          *next;
    const wk_node_t    *node;           /* the type that holds */
};

void wk_run_hold(wk_run_t *run, wk_hold_t *h);
void wk_run_release(wk_run_t *run, wk_hold_t *h);

#endif /* WK_NODE_H */
