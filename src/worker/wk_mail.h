/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "mail" node, on the transfers of wk_xfer.h.
 *
 * mail: from ("webhook-worker@localhost"), to, cc, bcc (a string with
 * comma-separated addresses or an array), subject, text and/or html
 * (multipart/alternative when both), timeout ms (30000), sent to the
 * worker's --smtp URL: smtp://[user:password@]host[:port] (STARTTLS when
 * the server offers it is not tried), smtps:// for TLS from the start,
 * smtp://...?starttls to require STARTTLS.  The result is
 * {"accepted": [the recipients' addresses]}; failures are "mail failed:
 * ...".
 *
 * With "ignoreFail": true a failure resolves the node (status 1) with
 * that result and the error kept on the job.
 */

#ifndef WK_MAIL_H
#define WK_MAIL_H

#include "wk.h"
#include "wk_node.h"


#define WK_MAIL_TIMEOUT     30000
#define WK_MAIL_FROM        "webhook-worker@localhost"


/* The start function of the type (wk_node.h). */
int wk_mail_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);

#endif /* WK_MAIL_H */
