/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal to the run engine (wk_run.c: the run state machine,
 * wk_record.c: the record writer, wk_stream.c: stream upkeep): the run
 * and the functions they share.  Nothing else includes it.
 */

#ifndef WK_RUN_INT_H
#define WK_RUN_INT_H

#include "wk.h"
#include "wk_flow.h"
#include "wk_gate.h"
#include "wk_node.h"


#define WK_WF_CACHE      64


typedef struct {
    int                 node;           /* index, -1: not replayable */
    uint32_t            tok;            /* the job in saved */
    int                 used;
} wk_replay_t;


typedef struct {
    const char         *name;
    size_t              name_len;
    const char         *value;
    size_t              value_len;
} wk_kv_t;

struct wk_wf_s {
    char                revision[65];
    wh_workflow_t      *wf;
    int                 refs;
    int64_t             used_ms;
};

struct wk_run_s {
    wk_run_t           *next;
    wh_arena_t         *arena;
    wh_mem_t            mem;

    char                id[48];
    wk_kv_t            *fields;
    size_t              nfields;
    const char         *execution;
    const char         *workflow;
    const char         *revision;
    const char         *context;
    size_t              context_len;
    const char         *reply;
    const char         *parent;         /* a subflow's parent execution */
    int                 depth;          /* subflows above it */

    wk_wf_t            *wf;
    wh_exec_t          *ex;
    int                 ready;          /* wh_exec_run() may go on */
    int                 started;        /* the start is recorded */
    int                 attempts;
    int                 no_incr;        /* the end must not count one */
    int64_t             created_ms;
    int64_t             started_ms;

    /* an end decided outside the step machine */
    int                 status;
    const char         *error;
    int                 permanent;      /* no retry can cure the error */
    int                 fresh;          /* no record of it exists */
    int                 may_skip_start; /* a first delivery */
    int                 asked;          /* 1: its record's HMGET was sent,
                                           2: and SISMEMBER webhook:paused */
    int                 paused;         /* its workflow seemed paused */
    int                 gated;          /* holds what gate says */
    wk_gate_t           gate;           /* options.concurrency, orderKey */
    char                order[33];

    /* a final transaction sent, its reply not read yet (wk_run_step) */
    wk_run_t           *fin_next;
    int                 fin_replies;
    int                 fin_got;        /* replies read so far */
    int                 fin_bad;        /* one of them was an error */
    int                 fin_status;
    int                 fin_retry;
    int64_t             fin_due;
    const char         *fin_error;
    int                 lost;           /* Redis failed: forget the run */

    /* worker jobs of the earlier attempt, replayed node by node */
    wh_val_t            saved;
    uint32_t            replay;
    int                 replaying;

    wk_hold_t          *holds;          /* asynchronous nodes in flight */
    const wk_node_t    *starting;       /* the type whose start runs */

    /* options.timeout: the watch's key points back to the run */
    wk_run_t           *timer;
    const char         *aborted;        /* top: why the run was aborted */

    /*
     * Branches of parallel nodes (wk_flow.h): runs in the top run's
     * arena, listed by it; the top run is the one in w->runs.
     */
    wk_run_t           *top;            /* self at the top */
    wk_run_t           *subs;           /* top: the live branches */
    wk_run_t           *next_sub;
    wk_branch_end_pt    branch_end;     /* NULL at the top */
    void               *branch_data;
    int                 dead;           /* a branch that is over */
    int                 inflight;       /* its node is asynchronous */
    int                 detached;       /* top: nodes of dead branches */
    int                 waiting;        /* top: ended, awaits those */
    wk_replay_t        *rjobs;          /* top: the saved worker jobs */
    uint32_t            nrjobs;
};


/* wk_record.c */

void wk_append_expire(wk_worker_t *w, const char *key, int *ncmds);
redisReply *wk_exec(wk_worker_t *w, int ncmds, const char *what);
void wk_multi(wk_worker_t *w);
void wk_run_append_index(wk_worker_t *w, wk_run_t *run, int *ncmds);
void wk_run_append_start(wk_worker_t *w, wk_run_t *run, const char *key,
    int status, int *ncmds);
void wk_run_fin_lost(wk_worker_t *w);
void wk_run_fin_reply(wk_worker_t *w, redisReply *r);
void wk_run_finish(wk_worker_t *w, wk_run_t *run);
void wk_run_finished(wk_worker_t *w, wk_run_t *run, redisReply *r);
void wk_run_flush(void *data);
int wk_run_save(wk_worker_t *w, wk_run_t *run);
void wk_run_fin_batch(wk_worker_t *w, int on);
void wk_run_fin_forget(void);

/* wk_run.c */

void wk_run_free(wk_worker_t *w, wk_run_t *run);
const char *wk_run_key(wk_run_t *run);
void wk_wait_add(wk_worker_t *w, const char *id, int64_t due);

/* wk_stream.c */

void wk_run_acked(wk_worker_t *w, const char *id);

#endif /* WK_RUN_INT_H */
