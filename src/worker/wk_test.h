/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhookctl test (wk_test.c): a workflow file run outside nginx.
 */

#ifndef WK_TEST_H
#define WK_TEST_H

#include "wh_workflow.h"

/*
 * The run through Redis and webhook-worker, for a workflow whose worker
 * nodes are not all mocked: prints the result as wk_test_main does and
 * returns the exit status.  The mocks are NODE (len) and JSON text.
 */
typedef int (*wk_test_remote_pt)(void *data, const wh_workflow_t *wf,
    const char *id, const char *context, size_t context_len,
    const char **nodes, const size_t *node_lens, const char **values,
    size_t nmocks);

/* argv[0] is FILE.  Exit status: 0 resolved, 1 failed, 2 error. */
int wk_test_main(int argc, char **argv, wk_test_remote_pt remote,
    void *data);

#endif /* WK_TEST_H */
