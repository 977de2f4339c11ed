/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The "request" node: libcurl's multi interface on the worker's event
 * loop (the "mail" node, wk_mail.h, shares it).  One multi handle per
 * process carries every transfer, so a worker has as many requests and
 * mails in flight as its runs need, each watched through wk_io_add().
 *
 * request: method (POST), url, contentType ("json": the data as JSON, a
 * string that is JSON text as it is (as axios does); "form": an object
 * urlencoded, "text": the data as text; the MIME types
 * application/json, application/x-www-form-urlencoded and text/plain
 * are taken too), headers and params [{name, value}], data, timeout ms
 * (5000 when missing or not positive), ignoreFail, onlyData.  The result
 * is {"status", "headers" (lower-cased names; a repeated header's values
 * joined with ", ", set-cookie an array), "data" (the body as JSON when
 * it parses as JSON, else its text)}.  Redirects are followed, up to 5,
 * over http and https only.  A status >= 400, a transport error or a body
 * larger than 10 MB fails the node with "request failed: ..."; its result
 * is the response (null when there was none).  GET and HEAD send no body.
 *
 * Every connection of a request node is checked against the SSRF policy
 * (wk_net.h, --allow-net): a refused address fails the node for good,
 * ignoreFail or not, with "... is not allowed".  The url's scheme, host
 * and port come from its own text and $env values only; other values are
 * percent-encoded after the authority and refused inside it.
 *
 * With "ignoreFail": true a failure resolves the node (status 1) with
 * that result and the error kept on the job; "onlyData" makes the result
 * the response's data alone.
 */

#ifndef WK_HTTP_H
#define WK_HTTP_H

#include "wk.h"
#include "wk_node.h"


#define WK_HTTP_TIMEOUT     5000
#define WK_HTTP_MAX_BODY    (10 * 1024 * 1024)
#define WK_HTTP_MAX_REDIRS  5


/* The start function of the type (wk_node.h). */
int wk_http_request_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node);

#endif /* WK_HTTP_H */
