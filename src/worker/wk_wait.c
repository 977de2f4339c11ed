/*
 * The "wait" node (SPEC §11).
 */

#include "wk_flow.h"


int
wk_wait_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    wk_run_permanent(run);
    wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                     "node type wait is not supported yet");
    return 0;
}
