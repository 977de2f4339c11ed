/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The gate before a run starts: pause, options.orderKey and
 * options.concurrency (SPEC §11), shared by all workers through Redis.
 */

#ifndef WK_GATE_H
#define WK_GATE_H

#include "wk.h"


#define WK_GATE_GO      0
#define WK_GATE_PAUSED  1       /* parked in Redis, the entry acknowledged */
#define WK_GATE_WAIT    2       /* turned away: ask again at *due */

typedef struct {
    const char         *workflow;
    const char         *execution;
    const char         *entry;          /* stream entry id */
    const char         *revision;
    const char         *context;
    size_t              context_len;
    int64_t             created_ms;
    int                 concurrency;    /* 0: none */
    const char         *order;          /* hash of the order key, or NULL */
    const char         *order_text;     /* the rendered key */
    size_t              order_text_len;
} wk_gate_t;

/* 32 hex digits of the SHA-256 of text, and a NUL, in out: 0 or -1. */
int wk_gate_hash(const char *text, size_t len, char *out);

/* WK_GATE_GO, _PAUSED, _WAIT, or -1 when the connection failed. */
int wk_gate_enter(wk_worker_t *w, const wk_gate_t *g, int64_t *due);

/*
 * Appends to a transaction the commands that give the slot back (and,
 * when final, the order key to the next execution of the key).
 */
void wk_gate_append_release(wk_worker_t *w, const wk_gate_t *g, int final,
    int *ncmds);

/* Appends the renewal of the run's concurrency lease, if it has one. */
void wk_gate_append_renew(wk_worker_t *w, const wk_gate_t *g, int64_t now,
    int *ncmds);

#endif /* WK_GATE_H */
