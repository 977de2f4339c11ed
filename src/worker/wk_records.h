/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Record nodes of webhook-worker: "create", "update", "destroy" and
 * "query" over Redis-backed collections (SPEC §4, wh_redis_keys.h):
 * hash webhook:collection:<name> holds id → record JSON, and
 * webhook:collection:<name>:seq the last id given out.
 */

#ifndef WK_RECORDS_H
#define WK_RECORDS_H

#include "wk.h"
#include "wk_node.h"


/* The start function of the four types (wk_node.h). */
int wk_records_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);

#endif /* WK_RECORDS_H */
