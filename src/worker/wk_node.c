/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The table of worker node types: one row per type, the only place that
 * names them all.  A type missing here fails its node with "node type
 * ... is not supported yet".
 */

#include "wk.h"
#include "wk_node.h"
#include "wk_flow.h"
#include "wk_http.h"
#include "wk_mail.h"
#include "wk_node_script.h"
#include "wk_records.h"
#include "wk_xfer.h"


static const wk_node_t  wk_nodes[] = {
    { WH_NODE_REQUEST, wk_http_request_start, wk_xfer_cancel },
    { WH_NODE_MAIL, wk_mail_start, wk_xfer_cancel },
    { WH_NODE_SCRIPT, wk_node_script_start, wk_node_script_cancel },
    { WH_NODE_CREATE, wk_records_start, NULL },
    { WH_NODE_UPDATE, wk_records_start, NULL },
    { WH_NODE_DESTROY, wk_records_start, NULL },
    { WH_NODE_QUERY, wk_records_start, NULL },
    { WH_NODE_PARALLEL, wk_parallel_start, wk_parallel_cancel },
    { WH_NODE_DELAY, wk_delay_start, wk_delay_cancel },
    { WH_NODE_SUBFLOW, wk_subflow_start, wk_subflow_cancel },
    { WH_NODE_WAIT, wk_wait_start, NULL },
};


const wk_node_t *
wk_node_find(wh_node_type_t t)
{
    size_t  i;

    for (i = 0; i < sizeof(wk_nodes) / sizeof(wk_nodes[0]); i++) {
        if (wk_nodes[i].type == t) {
            return &wk_nodes[i];
        }
    }

    return NULL;
}
