/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Flow nodes of webhook-worker: "parallel" and "delay" (SPEC §4), and
 * the branch runs that wk_run.c offers for parallel nodes.
 *
 * A branch of a parallel node is a run of its own for the nodes of its
 * list, driven by the same loop as the runs of stream entries: a node in
 * a branch starts, goes asynchronous and ends exactly as it does at the
 * top, so the branches of a parallel node have their nodes in flight
 * together.  A branch shares its top run's arena, record and replay.
 */

#ifndef WK_FLOW_H
#define WK_FLOW_H

#include "wk.h"
#include "wk_node.h"


/* Start functions, with the contract of wk_node.h. */
int wk_parallel_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);
int wk_delay_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);
int wk_subflow_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);
int wk_wait_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);

/* Their cancels (wk_node.h). */
void wk_parallel_cancel(wk_worker_t *w, wk_hold_t *h);
void wk_delay_cancel(wk_worker_t *w, wk_hold_t *h);
void wk_subflow_cancel(wk_worker_t *w, wk_hold_t *h);

/* wk_wait.c: the conf of resume URLs; $execution in a run's scope. */
void wk_wait_init(const wk_conf_t *conf);
void wk_wait_scope(wh_scope_t *scope, wk_run_t *run);
/* Queues again the executions whose wait timed out. */
void wk_wait_sweep(wk_worker_t *w);

/* Shutdown: runs waiting for a child are given up (wk_subflow.c). */
void wk_subflow_stop(wk_worker_t *w);

/*
 * Shutdown: the runs waiting in delay nodes are given up rather than
 * waited for; their entries stay pending, and whoever reclaims them
 * waits only for what is left of the recorded due time.
 */
void wk_flow_stop(wk_worker_t *w);


/* Branch runs, implemented in wk_run.c (which owns wk_run_t). */

typedef void (*wk_branch_end_pt)(wk_worker_t *w, wk_run_t *branch,
    void *data);

/*
 * A run of list with run's execution and scope (wh_exec_branch()), ready
 * to be driven; end is called once when its list ended (resolved, failed
 * or error: wk_run_branch_status()).  NULL on OOM.
 */
wk_run_t *wk_run_branch(wk_worker_t *w, wk_run_t *run, const wh_list_t *list,
    wk_branch_end_pt end, void *data);

int wk_run_branch_status(wk_run_t *branch, const char **error);

/*
 * Stops a branch that no longer matters: the node it has in flight is
 * cancelled (its holds) and recorded with status aborted and why.  end
 * is not called.
 */
void wk_run_branch_cancel(wk_worker_t *w, wk_run_t *branch,
    const char *why);

/* Has the execution ended meanwhile (an "end" node in a branch)? */
int wk_run_over(wk_run_t *run);

wh_exec_t *wk_run_exec(wk_run_t *run);
const char *wk_run_execution(wk_run_t *run);     /* the execution id */
int wk_run_depth(wk_run_t *run);                 /* subflows above it */
const wh_workflow_t *wk_run_workflow(wk_run_t *run);
const char *wk_run_entry_id(wk_run_t *run);      /* its stream entry */
int wk_run_is_sync(wk_run_t *run);               /* a request awaits it */

/*
 * Why the execution was aborted from outside (options.timeout), NULL
 * when it was not: its nodes in flight are then cancelled for good.
 */
const char *wk_run_aborted(wk_run_t *run);

/*
 * Forgets the run of this branch or entry without a record: its entry
 * stays pending, and a reclaim resumes it from the jobs saved so far.
 */
void wk_run_drop(wk_worker_t *w, wk_run_t *run);

#endif /* WK_FLOW_H */
