/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The transfers of the "request" and "mail" nodes (wk_http.c,
 * wk_mail.c) on the process's one libcurl multi handle.  A transfer
 * holds its run from wk_xfer_go() until its done callback runs, which
 * ends the node through wk_http_end() and never runs after a cancel.
 */

#ifndef WK_XFER_H
#define WK_XFER_H

#include <curl/curl.h>

#include "wk.h"
#include "wk_node.h"


typedef struct {
    char               *data;
    size_t              len;
    size_t              cap;
} wk_mbuf_t;

typedef struct wk_xfer_s {
    wk_hold_t           hold;           /* first: the run's cancel hook */
    void              (*done)(struct wk_xfer_s *x, CURLcode code);
    wk_worker_t        *w;
    wk_run_t           *run;
    wh_mem_t           *mem;
    CURL               *easy;
    CURLU              *url;
    struct curl_slist  *headers;
    struct curl_slist  *rcpts;
    int                 ignore_fail;
    int                 only_data;
    int                 too_big;
    int                 nomem;
    wk_mbuf_t           body;           /* request: the response body */
    wk_mbuf_t           hdrs;           /* its header lines, "name:value\n" */
    const char         *msg;            /* mail: the message */
    size_t              msg_len;
    size_t              msg_pos;
    const char         *accepted;       /* mail: the result, JSON */
    char                refused[56];    /* an address --allow-net lacks */
    int                 last_refused;   /* the latest socket was refused */
    char                errbuf[CURL_ERROR_SIZE];
} wk_xfer_t;


/* A transfer of run's node, its memory mem; NULL on failure. */
wk_xfer_t *wk_xfer_create(wk_worker_t *w, wk_run_t *run, wh_mem_t *mem);
/* Adds it to the multi handle and holds the run: 0 or -1. */
int wk_xfer_go(wk_xfer_t *x);
void wk_xfer_free(wk_xfer_t *x);
/* The cancel of the request and mail types (wk_node.h). */
void wk_xfer_cancel(wk_worker_t *w, wk_hold_t *h);

/* Ends a node; with ignore_fail a failure resolves it. */
void wk_http_end(wk_worker_t *w, wk_run_t *run, int ignore_fail, int status,
    wh_val_t result, const char *error);

/* The text of a config member; dflt when it is missing, null or "". */
int wk_cfg_str(wh_mem_t *mem, wh_val_t cfg, const char *name,
    const char *dflt, const char **s, size_t *len);
/* Its "timeout" in ms, dflt when missing or not positive. */
int64_t wk_cfg_ms(wh_val_t cfg, int64_t dflt);
/* Does s[0..len) hold a byte that would end or split a header line? */
int wk_has_ctl(const char *s, size_t len);

#endif /* WK_XFER_H */
