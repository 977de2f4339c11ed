/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Executions of stream entries and their records.
 *
 * A run starts from an entry, reads what an earlier delivery left in the
 * record, writes the start, and then drives the step machine: inline
 * nodes run inside wh_exec_run(); at a worker node the run may wait (the
 * node will later be asynchronous) and is resumed from the event loop.
 * The record's jobs are written after every worker node, so a run that
 * another worker reclaims replays the recorded results of those nodes
 * instead of performing them again (inline nodes are recomputed: they
 * have no effect outside the execution).
 *
 * Retries.  A run that ends with status error for a reason that another
 * attempt may cure is recorded as retry_needed (-6) with nextAttemptAt,
 * and its entry stays pending with this consumer, which claims it again
 * when it is due (1s, 2s, 4s … 5 min after attempts 1, 2, 3 …).  The
 * worker keeps the entry's idle time low meanwhile, so only a dead
 * worker's entries are reclaimed by others; whoever reclaims a
 * retry_needed entry waits for nextAttemptAt too.  Errors that no retry
 * cures (a missing revision, an invalid context, a node type this worker
 * cannot run) and the last allowed attempt go to the dead letters.
 * A final record and the XACK of the entry are written in one MULTI/EXEC,
 * so a delivered entry is either pending or recorded, never lost; the
 * acknowledged entries leave the stream together soon after (within
 * WK_STREAM_TRIM_EVERY), so it holds little more than the jobs that are
 * not final yet (a dead letter's copy is in webhook:dead).
 *
 * options.timeout: a run still going that long after the start of its
 * attempt is aborted (-3), its nodes in flight cancelled; final, no retry.
 *
 * This file is the run state machine; the record writer is wk_record.c,
 * the upkeep of the stream wk_stream.c (wk_run_int.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/sds.h>

#include "wk.h"
#include "wk_flow.h"
#include "wk_gate.h"
#include "wk_node.h"
#include "wk_run_int.h"







/* The key of the record: "webhook:execution:<id>", in the run's arena. */

const char *
wk_run_key(wk_run_t *run)
{
    wh_buf_t  b;

    wh_buf_init(&b, &run->mem, 64);
    wh_buf_adds(&b, WH_REDIS_EXECUTION);
    wh_buf_adds(&b, run->execution);

    return b.failed ? NULL : b.data;
}


static wk_run_t *
wk_run_create(redisReply *entry)
{
    size_t       i;
    wk_kv_t     *kv;
    wk_run_t    *run;
    wh_arena_t  *arena;
    redisReply  *fields, *n, *v;

    arena = wh_arena_create(0);
    if (arena == NULL) {
        return NULL;
    }

    run = calloc(1, sizeof(wk_run_t));
    if (run == NULL) {
        wh_arena_destroy(arena);
        return NULL;
    }

    run->arena = arena;
    run->top = run;
    wh_arena_mem(arena, &run->mem);
    snprintf(run->id, sizeof(run->id), "%s", entry->element[0]->str);

    fields = entry->element[1];

    run->fields = wh_alloc(&run->mem,
                           (fields->elements / 2 + 1) * sizeof(wk_kv_t));
    if (run->fields == NULL) {
        goto failed;
    }

    for (i = 0; i + 1 < fields->elements; i += 2) {
        n = fields->element[i];
        v = fields->element[i + 1];

        if (n->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        kv = &run->fields[run->nfields++];
        kv->name = wh_memdup(&run->mem, n->str, n->len);
        kv->name_len = n->len;
        kv->value = wh_memdup(&run->mem, v->str, v->len);
        kv->value_len = v->len;

        if (kv->name == NULL || kv->value == NULL) {
            goto failed;
        }

        if (strcmp(kv->name, WH_JOB_EXECUTION) == 0) {
            run->execution = kv->value;

        } else if (strcmp(kv->name, WH_JOB_WORKFLOW) == 0) {
            run->workflow = kv->value;

        } else if (strcmp(kv->name, WH_JOB_REVISION) == 0) {
            run->revision = kv->value;

        } else if (strcmp(kv->name, WH_JOB_CONTEXT) == 0) {
            run->context = kv->value;
            run->context_len = kv->value_len;

        } else if (strcmp(kv->name, WH_JOB_REPLY) == 0) {
            run->reply = kv->value;

        } else if (strcmp(kv->name, WH_JOB_PARENT) == 0) {
            run->parent = kv->value;

        } else if (strcmp(kv->name, WH_JOB_DEPTH) == 0) {
            run->depth = atoi(kv->value);
        }
    }

    /* ids become key names: keep them printable and short */
    if (run->execution != NULL
        && (strlen(run->execution) == 0 || strlen(run->execution) > 128
            || strpbrk(run->execution, " \t\r\n") != NULL))
    {
        run->execution = NULL;
    }

    return run;

failed:

    wh_arena_destroy(arena);
    free(run);

    return NULL;
}


static void
wk_run_cancel_holds(wk_worker_t *w, wk_run_t *run)
{
    wk_hold_t  *h;

    while (run->holds != NULL) {
        h = run->holds;
        run->holds = h->next;
        h->node->cancel(w, h);
    }
}


void
wk_run_free(wk_worker_t *w, wk_run_t *run)
{
    wk_run_t  *b;

    wk_io_del(w, &run->timer);
    wk_run_cancel_holds(w, run);

    /* the branches live in the arena freed here */
    for (b = run->subs; b != NULL; b = b->next_sub) {
        wk_run_cancel_holds(w, b);
    }

    if (run->wf != NULL) {
        run->wf->refs--;
    }

    wh_arena_destroy(run->arena);
    free(run);
}


void
wk_run_hold(wk_run_t *run, wk_hold_t *h)
{
    h->node = run->starting;
    h->next = run->holds;
    run->holds = h;
}


void
wk_run_release(wk_run_t *run, wk_hold_t *h)
{
    wk_hold_t  **pp;

    for (pp = &run->holds; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            return;
        }
    }
}


wk_run_t *
wk_run_branch(wk_worker_t *w, wk_run_t *run, const wh_list_t *list,
    wk_branch_end_pt end, void *data)
{
    wk_run_t   *b, **pp, *top;
    wh_exec_t  *ex;

    top = run->top;

    b = wh_alloc(&top->mem, sizeof(wk_run_t));
    ex = wh_exec_branch(run->ex, list);

    if (b == NULL || ex == NULL) {
        return NULL;
    }

    /* the entry's identity and record are the top run's */
    *b = *top;
    b->next = NULL;
    b->ex = ex;
    b->ready = 1;
    b->status = WH_STATUS_STARTED;
    b->error = NULL;
    b->permanent = 0;
    b->holds = NULL;
    b->top = top;
    b->subs = NULL;
    b->next_sub = NULL;
    b->branch_end = end;
    b->branch_data = data;
    b->dead = 0;
    b->inflight = 0;
    b->detached = 0;
    b->waiting = 0;

    /* in list order: a replay then ends branches in a stable order */
    for (pp = &top->subs; *pp != NULL; pp = &(*pp)->next_sub) {
        /* void */
    }

    *pp = b;

    return b;
}


int
wk_run_branch_status(wk_run_t *b, const char **error)
{
    if (b->status != WH_STATUS_STARTED) {
        *error = b->error;
        return b->status;
    }

    *error = wh_exec_error(b->ex);

    return wh_exec_status(b->ex);
}


void
wk_run_branch_cancel(wk_worker_t *w, wk_run_t *b, const char *why)
{
    if (b->dead) {
        return;
    }

    b->dead = 1;
    b->ready = 0;

    if (!b->inflight) {
        return;
    }

    if (b->holds == NULL) {
        /* a node that cannot be cancelled: the top run waits for it */
        b->top->detached++;
        return;
    }

    wk_run_cancel_holds(w, b);
    b->inflight = 0;
    wh_exec_resume(b->ex, WH_STATUS_ABORTED, wh_val_missing(), why);
}


int
wk_run_over(wk_run_t *run)
{
    return wh_exec_status(run->top->ex) != WH_STATUS_STARTED
           || run->top->status != WH_STATUS_STARTED;
}


wh_exec_t *
wk_run_exec(wk_run_t *run)
{
    return run->ex;
}


const char *
wk_run_execution(wk_run_t *run)
{
    return run->execution;
}


const wh_workflow_t *
wk_run_workflow(wk_run_t *run)
{
    return run->top->wf->wf;
}


int
wk_run_depth(wk_run_t *run)
{
    return run->top->depth;
}


const char *
wk_run_entry_id(wk_run_t *run)
{
    return run->top->id;
}


int
wk_run_is_sync(wk_run_t *run)
{
    return run->reply != NULL;
}


void
wk_run_drop(wk_worker_t *w, wk_run_t *run)
{
    run->top->lost = 1;
    run->top->ready = 1;
}


const char *
wk_run_aborted(wk_run_t *run)
{
    return run->top->aborted;
}


/*
 * options.timeout passed: the execution ends aborted.  The nodes in
 * flight are cancelled through their holds, as for a run that goes away,
 * and recorded with status aborted: the top run's own node here, those
 * of parallel branches by wk_run_branch_cancel().  A node that cannot be
 * cancelled is waited for; its result no longer changes the end.
 */

static void
wk_run_timeout(wk_worker_t *w, void *data, int revents)
{
    wk_run_t  *run;

    run = *(wk_run_t **) data;

    wk_io_del(w, data);

    if (run->lost || run->status != WH_STATUS_STARTED
        || wh_exec_status(run->ex) != WH_STATUS_STARTED)
    {
        return;
    }

    run->aborted = wk_fmt(&run->mem, "the execution exceeded options.timeout "
                          "(%lld ms)",
                          (long long) run->wf->wf->timeout_ms);

    wh_exec_abort(run->ex, WH_STATUS_ABORTED, run->aborted);

    if (run->inflight && run->holds != NULL) {
        wk_run_cancel_holds(w, run);
        run->inflight = 0;
        wh_exec_resume(run->ex, WH_STATUS_ABORTED, wh_val_missing(),
                       run->aborted);
    }

    if (!run->inflight) {
        run->ready = 1;
    }
}


static void
wk_run_unlink(wk_worker_t *w, wk_run_t *run)
{
    wk_run_t  **pp;

    for (pp = &w->runs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == run) {
            *pp = run->next;
            w->nruns--;
            return;
        }
    }
}


int
wk_run_owned(wk_worker_t *w, const char *id)
{
    size_t     i;
    wk_run_t  *run;

    for (run = w->runs; run != NULL; run = run->next) {
        if (strcmp(run->id, id) == 0) {
            return 1;
        }
    }

    for (i = 0; i < w->nwaits; i++) {
        if (strcmp(w->waits[i].id, id) == 0) {
            return 1;
        }
    }

    return 0;
}


void
wk_wait_add(wk_worker_t *w, const char *id, int64_t due)
{
    size_t      cap;
    wk_wait_t  *waits;

    if (w->nwaits == w->wait_cap) {
        cap = w->wait_cap ? w->wait_cap * 2 : 64;
        waits = realloc(w->waits, cap * sizeof(wk_wait_t));
        if (waits == NULL) {
            /* the claim of abandoned entries will retry it */
            wk_log("out of memory: entry %s waits for a reclaim", id);
            return;
        }

        w->waits = waits;
        w->wait_cap = cap;
    }

    snprintf(w->waits[w->nwaits].id, sizeof(w->waits[0].id), "%s", id);
    w->waits[w->nwaits].due_ms = due;
    w->nwaits++;
}


/* The parsed workflow of a revision, from the cache or from Redis. */

static wk_wf_t *
wk_wf_get(wk_worker_t *w, wk_run_t *run, int *conn_err)
{
    char            err[512], name[128];
    size_t          i, victim;
    wk_wf_t        *e;
    wk_args_t       a;
    redisReply     *r;
    wh_workflow_t  *wf;

    *conn_err = 0;

    for (i = 0; i < w->nwfs; i++) {
        if (strcmp(w->wfs[i].revision, run->revision) == 0) {
            w->wfs[i].used_ms = wk_now_ms();
            return &w->wfs[i];
        }
    }

    if (strlen(run->revision) != 64) {
        run->error = wk_fmt(&run->mem, "invalid workflow revision \"%s\"",
                            run->revision);
        return NULL;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "GET");
    wk_args_addf(&a, WH_REDIS_WORKFLOW "%s", run->revision);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        wk_log("redis: GET " WH_REDIS_WORKFLOW "%s: %s", run->revision,
               r ? r->str : w->cmd->errstr);
        freeReplyObject(r);
        *conn_err = 1;
        return NULL;
    }

    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        run->error = wk_fmt(&run->mem, "workflow revision %s is not in Redis",
                            run->revision);
        return NULL;
    }

    snprintf(name, sizeof(name), WH_REDIS_WORKFLOW "%.64s", run->revision);
    wf = wh_workflow_load(r->str, r->len, name, err, sizeof(err));
    freeReplyObject(r);

    if (wf == NULL) {
        run->error = wk_fmt(&run->mem, "%s", err);
        return NULL;
    }

    if (w->wfs == NULL) {
        w->wfs = calloc(WK_WF_CACHE, sizeof(wk_wf_t));
        if (w->wfs == NULL) {
            wh_workflow_free(wf);
            run->error = "out of memory";
            run->permanent = 0;
            return NULL;
        }
    }

    if (w->nwfs < WK_WF_CACHE) {
        e = &w->wfs[w->nwfs++];

    } else {
        /* the least recently used of the revisions no run holds */
        victim = WK_WF_CACHE;

        for (i = 0; i < w->nwfs; i++) {
            if (w->wfs[i].refs == 0
                && (victim == WK_WF_CACHE
                    || w->wfs[i].used_ms < w->wfs[victim].used_ms))
            {
                victim = i;
            }
        }

        if (victim == WK_WF_CACHE) {
            wh_workflow_free(wf);
            run->error = "too many workflow revisions in use";
            run->permanent = 0;
            return NULL;
        }

        e = &w->wfs[victim];
        wh_workflow_free(e->wf);
    }

    snprintf(e->revision, sizeof(e->revision), "%s", run->revision);
    e->wf = wf;
    e->refs = 0;
    e->used_ms = wk_now_ms();

    return e;
}


static wh_val_t
wk_env(void *data, wh_mem_t *mem, const char *name, size_t len)
{
    size_t       i;
    const char  *v;
    wk_conf_t   *conf;

    conf = data;

    for (i = 0; i < conf->nenv; i++) {
        if (strlen(conf->env[i]) == len
            && memcmp(conf->env[i], name, len) == 0)
        {
            v = getenv(conf->env[i]);
            return v ? wh_val_string(mem, v, strlen(v)) : wh_val_missing();
        }
    }

    return wh_val_missing();
}


static int
wk_node_yields(wh_node_type_t t)
{
    return !wh_node_is_inline(t) && t != WH_NODE_LOOP
           && t != WH_NODE_PARALLEL;
}


/*
 * The recorded worker jobs, read once: the node of each (-1 for jobs that
 * are not replayed: inline nodes, loops, parallel nodes, which run again
 * around their replayed nodes).  0, or -1 on OOM.
 */

static int
wk_run_replay_init(wk_run_t *top)
{
    int                   idx;
    size_t                len;
    uint32_t              i, n, tok;
    wh_val_t              job, v;
    const char           *key;
    const wh_json_doc_t  *doc;
    const wh_workflow_t  *wf;

    wf = top->wf->wf;
    doc = top->saved.doc;
    n = wh_val_size(top->saved);

    top->rjobs = wh_alloc(&top->mem, (n ? n : 1) * sizeof(wk_replay_t));
    if (top->rjobs == NULL) {
        return -1;
    }

    tok = top->saved.tok + 1;

    for (i = 0; i < n; i++) {
        job = (wh_val_t) { doc, tok };
        tok = doc->toks[tok].next;

        top->rjobs[i].node = -1;
        top->rjobs[i].tok = job.tok;
        top->rjobs[i].used = 0;

        v = wh_val_get(job, WH_REC_JOB_NODE_KEY,
                       wh_field_len(WH_REC_JOB_NODE_KEY));

        if (wh_val_str(&top->mem, v, &key, &len) != 0) {
            continue;
        }

        idx = wh_keys_find(&wf->keys, key, len);

        if (idx >= 0 && wk_node_yields(wf->all[idx]->type)) {
            top->rjobs[i].node = idx;
        }
    }

    top->nrjobs = n;

    return 0;
}


/*
 * Feeds the pending node the earliest unused recorded job of the same
 * node when that job ended; a node without one runs for real.  Jobs are
 * matched by node rather than by position because the branches of a
 * parallel node record theirs in the order they happened to end.
 */

static int
wk_run_replay(wk_run_t *run, const wh_node_t *node)
{
    double        d;
    uint32_t      i;
    wh_val_t      job, v;
    wk_run_t     *top;
    wk_replay_t  *rj;

    top = run->top;

    if (!top->replaying) {
        return 0;
    }

    if (top->rjobs == NULL && wk_run_replay_init(top) != 0) {
        top->replaying = 0;
        return 0;
    }

    /* top->replay: the first job not used yet */
    while (top->replay < top->nrjobs
           && (top->rjobs[top->replay].used
               || top->rjobs[top->replay].node < 0))
    {
        top->replay++;
    }

    for (i = top->replay; i < top->nrjobs; i++) {
        rj = &top->rjobs[i];

        if (rj->used || rj->node != node->index) {
            continue;
        }

        rj->used = 1;
        job = (wh_val_t) { top->saved.doc, rj->tok };
        v = wh_val_get(job, WH_REC_JOB_STATUS, wh_field_len(WH_REC_JOB_STATUS));

        /* what was in flight, errored or cancelled runs again */
        if (wh_val_type(v) != WH_JSON_NUMBER || wh_val_to_number(v, &d) != 0
            || d == WH_STATUS_STARTED || d == WH_STATUS_ERROR
            || d == WH_STATUS_ABORTED)
        {
            return 0;
        }

        v = wh_val_get(job, WH_REC_JOB_RESULT,
                       wh_field_len(WH_REC_JOB_RESULT));
        wh_exec_resume(run->ex, (int) d, v, NULL);

        return 1;
    }

    return 0;
}


/*
 * A worker node ended: its job is recorded, the run goes on.  Nodes that
 * run asynchronously call this from the event loop.
 */

void
wk_run_permanent(wk_run_t *run)
{
    run->permanent = 1;
}


void
wk_run_node_final(wk_worker_t *w, wk_run_t *run, wh_val_t result,
    const char *error)
{
    const wh_node_t  *node;

    node = wh_exec_pending(run->ex);
    run->permanent = 1;

    wk_run_node_done(w, run, WH_STATUS_ERROR, result, error);

    if (wh_exec_status(run->ex) == WH_STATUS_STARTED && node != NULL) {
        /* "ignoreFail" kept the run going: it ends all the same */
        run->status = WH_STATUS_ERROR;
        run->error = wk_fmt(&run->mem, "node \"%s\": %s", node->key, error);
    }
}


const wh_keys_t *
wk_run_keys(wk_run_t *run)
{
    return &run->top->wf->wf->keys;
}


void
wk_run_node_done(wk_worker_t *w, wk_run_t *run, int status, wh_val_t result,
    const char *error)
{
    wk_run_t  *top;

    top = run->top;
    run->inflight = 0;

    wh_exec_resume(run->ex, status, result, error);

    if (!run->dead) {
        run->ready = 1;

    } else if (--top->detached == 0 && top->waiting) {
        /* the last node of a branch given up: the top run may end */
        top->waiting = 0;
        top->ready = 1;
    }

    /* the progress a reclaim resumes from */
    if (wh_exec_status(top->ex) == WH_STATUS_STARTED
        && wk_run_save(w, top) != 0)
    {
        top->lost = 1;
        top->ready = 1;
    }
}


/*
 * Performs a worker node through its type's start function (wk_node.h):
 * 0 when the node ended, 1 when it goes on asynchronously.
 */

static int
wk_node_start(wk_worker_t *w, wk_run_t *run, const wh_node_t *node)
{
    const char       *msg;
    const wk_node_t  *type;

    type = wk_node_find(node->type);

    if (type != NULL) {
        run->starting = type;
        return type->start(w, run, run->ex, node);
    }

    msg = wk_fmt(&run->mem, "node type %s is not supported yet",
                 wh_node_type_name(node->type));

    run->permanent = 1;
    wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(), msg);

    if (wh_exec_status(run->ex) == WH_STATUS_STARTED) {
        /* "ignoreFail" cannot make a node that never ran succeed */
        run->status = WH_STATUS_ERROR;
        run->error = wk_fmt(&run->mem, "node \"%s\": %s", node->key, msg);
    }

    return 0;
}


/* Runs until the run ends or waits; ends it (and frees it) when done. */

static void
wk_run_go(wk_worker_t *w, wk_run_t *run)
{
    wk_run_t         *top;
    wh_exec_rc_t      rc;
    const wh_node_t  *node;

    top = run->top;

    for ( ;; ) {
        if (top->lost) {
            if (run != top) {
                run->ready = 0;
                top->ready = 1;
                return;
            }

            /* not recorded: the entry stays pending, a reclaim goes on */
            wk_run_unlink(w, run);
            wk_run_free(w, run);
            return;
        }

        if (run->status != WH_STATUS_STARTED) {
            break;
        }

        rc = wh_exec_run(run->ex);

        if (rc != WH_EXEC_YIELD) {
            break;
        }

        node = wh_exec_pending(run->ex);

        if (wk_run_replay(run, node)) {
            continue;
        }

        if (wk_node_start(w, run, node) != 0) {
            if (top->lost) {
                /* dropped by its node (a wait): forgotten above */
                continue;
            }

            run->ready = 0;
            run->inflight = 1;
            return;
        }
    }

    run->ready = 0;

    if (run != top) {
        /* the end of a branch: its parallel node decides */
        if (run->status != WH_STATUS_STARTED) {
            top->status = run->status;
            top->error = run->error;
            top->permanent = run->permanent;
        }

        run->dead = 1;
        run->branch_end(w, run, run->branch_data);
        return;
    }

    if (run->detached) {
        /* nodes of branches given up are still in flight */
        run->waiting = 1;
        return;
    }

    wk_run_unlink(w, run);
    wk_run_finish(w, run);
}


/* A branch of top that can go on; forgets the branches that are over. */

static wk_run_t *
wk_run_ready_sub(wk_run_t *top)
{
    wk_run_t  **pp, *b;

    for (pp = &top->subs; (b = *pp) != NULL; /* void */) {
        if (b->dead && !b->inflight && b->holds == NULL) {
            *pp = b->next_sub;
            continue;
        }

        if (b->ready) {
            return b;
        }

        pp = &b->next_sub;
    }

    return NULL;
}


int
wk_run_ready(wk_worker_t *w)
{
    wk_run_t  *run;

    for (run = w->runs; run != NULL; run = run->next) {
        if (run->ready || wk_run_ready_sub(run) != NULL) {
            return 1;
        }
    }

    return 0;
}


int
wk_run_step(wk_worker_t *w)
{
    int        n;
    wk_run_t  *run, *next, *b;

    n = 0;

    wk_redis_deferred(w->cmd, wk_run_flush, w);
    wk_run_fin_batch(w, 1);

    for (run = w->runs; run != NULL; run = next) {
        next = run->next;

        /* branches first: their ends may let the run go on */
        while ((b = wk_run_ready_sub(run)) != NULL) {
            wk_run_go(w, b);
        }

        if (run->ready) {
            wk_run_go(w, run);
            n++;
        }
    }

    wk_run_fin_batch(w, 0);

    return n;
}


/* An entry without an execution id cannot have a record. */

static void
wk_run_dead_only(wk_worker_t *w, wk_run_t *run, const char *error)
{
    size_t       i;
    wk_args_t    a;
    redisReply  *r;

    wk_args_init(&a);
    wk_multi(w);

    wk_args_adds(&a, "XADD");
    wk_args_adds(&a, WH_REDIS_DEAD);
    wk_args_adds(&a, "*");

    for (i = 0; i < run->nfields; i++) {
        wk_args_add(&a, run->fields[i].name, run->fields[i].name_len);
        wk_args_add(&a, run->fields[i].value, run->fields[i].value_len);
    }

    wk_args_adds(&a, WH_DEAD_ERROR);
    wk_args_adds(&a, error);
    wk_args_adds(&a, WH_DEAD_ATTEMPTS);
    wk_args_adds(&a, "1");
    wk_append(w->cmd, &a);

    wk_args_adds(&a, "XACK");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, w->conf->group);
    wk_args_adds(&a, run->id);
    wk_append(w->cmd, &a);

    wk_args_adds(&a, "XDEL");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, run->id);
    wk_append(w->cmd, &a);
    wk_args_free(&a);

    r = wk_exec(w, 3, "dead letter");
    freeReplyObject(r);

    wk_log("entry %s: %s", run->id, error);
}


/* An entry with nothing left to run: acknowledged and deleted. */

static void
wk_ack(wk_worker_t *w, const char *id)
{
    wk_args_t    a;
    redisReply  *r;

    wk_args_init(&a);
    wk_multi(w);

    wk_args_adds(&a, "XACK");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, w->conf->group);
    wk_args_adds(&a, id);
    wk_append(w->cmd, &a);

    wk_args_adds(&a, "XDEL");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, id);
    wk_append(w->cmd, &a);
    wk_args_free(&a);

    r = wk_exec(w, 2, "acknowledging an entry");
    freeReplyObject(r);
}


/*
 * What an earlier delivery left: returns 1 when the entry needs no run
 * now (already final, or waiting for its retry), 0 to run, -1 when Redis
 * failed.
 */

static int
wk_run_previous_send(redisContext *c, const char *key)
{
    int        rc;
    wk_args_t  a;

    wk_args_init(&a);
    wk_args_adds(&a, "HMGET");
    wk_args_adds(&a, key);
    wk_args_adds(&a, WH_REC_STATUS);
    wk_args_adds(&a, WH_REC_ATTEMPTS);
    wk_args_adds(&a, WH_REC_JOBS);
    wk_args_adds(&a, WH_REC_NEXT_ATTEMPT_AT);
    wk_args_adds(&a, WH_REC_PARKED);
    rc = wk_append(c, &a);
    wk_args_free(&a);

    return rc;
}


/* Is the entry's workflow paused?  Asked with the record's HMGET. */

static int
wk_run_paused_send(redisContext *c, wk_run_t *run)
{
    int        rc;
    wk_args_t  a;

    wk_args_init(&a);
    wk_args_adds(&a, "SISMEMBER");
    wk_args_adds(&a, WH_REDIS_PAUSED);
    wk_args_adds(&a, run->workflow != NULL ? run->workflow : "");
    rc = wk_append(c, &a);
    wk_args_free(&a);

    return rc;
}


/*
 * What the record says of an entry about to run (r: the HMGET's reply,
 * freed here): 0 to run it, 1 when it is not to run now, -1 on a
 * connection error.  Sets run->fresh when there is no record at all.
 */

static int
wk_run_previous(wk_worker_t *w, wk_run_t *run, const char *key,
    redisReply *r)
{
    int             status;
    int64_t         due;
    redisReply     *e;
    wh_json_err_t   jerr;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
        wk_log("redis: HMGET %s: %s", key,
               r == NULL ? w->cmd->errstr
               : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }

    e = r->element[1];
    if (e->type == REDIS_REPLY_STRING) {
        run->attempts = atoi(e->str);
    }

    e = r->element[0];
    if (e->type != REDIS_REPLY_STRING) {
        /* a record parked by a pause is not fresh: its start clears that */
        run->fresh = (run->attempts == 0
                      && r->element[4]->type != REDIS_REPLY_STRING);
        freeReplyObject(r);
        return 0;
    }

    status = atoi(e->str);

    if (status != WH_STATUS_STARTED && status != WK_STATUS_RETRY_NEEDED) {
        /* recorded and acknowledged together: a duplicate delivery */
        freeReplyObject(r);
        wk_ack(w, run->id);
        return 1;
    }

    e = r->element[3];
    if (status == WK_STATUS_RETRY_NEEDED && e->type == REDIS_REPLY_STRING) {
        due = wk_iso_parse(e->str);

        if (due > wk_now_ms()) {
            freeReplyObject(r);
            wk_wait_add(w, run->id, due);
            return 1;
        }
    }

    e = r->element[2];
    if (e->type == REDIS_REPLY_STRING
        && wh_val_parse(&run->mem, e->str, e->len, 1, &run->saved, &jerr)
           == 0
        && wh_val_type(run->saved) == WH_JSON_ARRAY)
    {
        run->replaying = 1;
    }

    freeReplyObject(r);

    return 0;
}


/*
 * Pause, orderKey and concurrency (wk_gate.c): WK_GATE_GO to start now;
 * otherwise the run is to be freed, its entry parked in Redis (paused)
 * or kept pending here to ask again (the run holds no slot meanwhile),
 * or left for a reclaim when Redis failed.
 */

static int
wk_run_gate(wk_worker_t *w, wk_run_t *run, wh_val_t context)
{
    int          rc;
    int64_t      due, extra;
    wh_buf_t     b;
    wk_gate_t   *g;
    wh_exec_t   *ex;
    wh_scope_t  *scope;

    g = &run->gate;
    g->workflow = run->workflow;
    g->execution = run->execution;
    g->entry = run->id;
    g->revision = run->revision;
    g->context = run->context;
    g->context_len = run->context_len;
    g->created_ms = run->created_ms;
    g->concurrency = run->wf->wf->concurrency;

    if (run->wf->wf->order_key != NULL) {
        /* $context only: no node has run yet */
        ex = wh_exec_create(run->wf->wf, &run->mem, context,
                            run->started_ms);
        if (ex == NULL) {
            return -1;
        }

        scope = wh_exec_scope(ex);
        scope->env = wk_env;
        scope->env_data = w->conf;

        wh_buf_init(&b, &run->mem, 64);
        if (wh_tpl_render_text(run->wf->wf->order_key, scope, &b) != 0
            || b.failed
            || wk_gate_hash(b.data ? b.data : "", b.len, run->order) != 0)
        {
            wk_log("out of memory: %s waits for a reclaim", run->execution);
            return -1;
        }

        g->order = run->order;
        g->order_text = b.data;
        g->order_text_len = b.len;
    }

    wk_run_flush(w);

    rc = wk_gate_enter(w, g, &due);

    if (rc == WK_GATE_GO) {
        run->gated = 1;

    } else if (rc == WK_GATE_WAIT) {
        /*
         * Each turned-away entry asks again on its own: with a long line
         * of them, less often, so that a worker asks Redis a few hundred
         * times a second at most, however long the line.
         */
        extra = (int64_t) (w->nwaits / 16) * 50;
        wk_wait_add(w, run->id, due + (extra > 10000 ? 10000 : extra));

    } else if (rc == WK_GATE_PAUSED) {
        wk_log("%s parked: workflow %s is paused", run->execution,
               run->workflow);
    }

    return rc;
}


static void
wk_run_begin(wk_worker_t *w, wk_run_t *run, redisReply *previous)
{
    int             conn_err, ncmds, rc;
    size_t          i;
    wh_val_t        context;
    redisReply     *r, *e;
    wh_scope_t     *scope;
    const char     *key;
    wh_json_err_t   jerr;

    run->started_ms = wk_now_ms();

    if (run->execution == NULL) {
        wk_run_dead_only(w, run, "the job has no valid execution id");
        wk_run_free(w, run);
        return;
    }

    run->created_ms = wk_uuid7_ms(run->execution);
    if (run->created_ms < 0) {
        run->created_ms = run->started_ms;
    }

    key = wk_run_key(run);
    if (key == NULL) {
        freeReplyObject(previous);
        wk_run_free(w, run);
        return;
    }

    rc = wk_run_previous(w, run, key, previous);
    if (rc != 0) {
        wk_run_free(w, run);
        return;
    }

    run->status = WH_STATUS_ERROR;
    run->permanent = 1;

    if (run->attempts >= w->conf->max_attempts) {
        /* deliveries that never ended, e.g. a job that kills workers */
        run->no_incr = 1;
        run->error = wk_fmt(&run->mem, "gave up after %d attempts",
                            run->attempts);

        wk_run_finish(w, run);
        return;
    }

    if (run->workflow == NULL || run->revision == NULL
        || run->context == NULL)
    {
        run->error = wk_fmt(&run->mem, "the job has no \"%s\" field",
                            run->workflow == NULL ? WH_JOB_WORKFLOW
                            : run->revision == NULL ? WH_JOB_REVISION
                            : WH_JOB_CONTEXT);
        wk_run_finish(w, run);
        return;
    }

    run->wf = wk_wf_get(w, run, &conn_err);

    if (conn_err) {
        wk_run_free(w, run);
        return;
    }

    if (run->wf == NULL) {
        wk_run_finish(w, run);
        return;
    }

    run->wf->refs++;

    if (wh_val_parse(&run->mem, run->context, run->context_len, 1, &context,
                     &jerr)
        != 0)
    {
        wh_json_err_position(run->context, run->context_len, &jerr);
        run->error = wk_fmt(&run->mem, "invalid context: %s", jerr.msg);
        wk_run_finish(w, run);
        return;
    }

    if (run->paused || run->wf->wf->concurrency > 0
        || run->wf->wf->order_key != NULL)
    {
        rc = wk_run_gate(w, run, context);
        if (rc != WK_GATE_GO) {
            wk_run_free(w, run);
            return;
        }
    }

    /*
     * The start, with the delivery counted.  A first delivery without a
     * record, of a workflow without worker nodes, ends within this step:
     * its start goes with the final record in one MULTI.  A reclaimed
     * entry always records its start apart, so a job that kills workers
     * still runs out of attempts.
     */
    if (run->may_skip_start && run->fresh && !run->wf->wf->needs_worker) {
        goto run;
    }

    ncmds = 0;
    wk_multi(w);
    wk_run_append_start(w, run, key, WH_STATUS_STARTED, &ncmds);
    wk_append_expire(w, key, &ncmds);
    r = wk_exec(w, ncmds, "recording a start");

    if (r == NULL) {
        wk_run_free(w, run);
        return;
    }

    /* the HINCRBY's answer */
    for (i = 0; i < r->elements; i++) {
        e = r->element[i];
        if (i == 3 && e->type == REDIS_REPLY_INTEGER) {
            run->attempts = (int) e->integer;
        }
    }

    freeReplyObject(r);

    run->started = 1;

run:

    run->status = WH_STATUS_STARTED;
    run->error = NULL;
    run->permanent = 0;

    run->ex = wh_exec_create(run->wf->wf, &run->mem, context,
                             run->started_ms);
    if (run->ex == NULL) {
        run->status = WH_STATUS_ERROR;
        run->error = "out of memory";
        wk_run_finish(w, run);
        return;
    }

    scope = wh_exec_scope(run->ex);
    scope->env = wk_env;
    scope->env_data = w->conf;
    wk_wait_scope(scope, run);

    run->ready = 1;
    run->next = w->runs;
    w->runs = run;
    w->nruns++;

    /*
     * Counted per attempt, from this delivery's start (the startedAt
     * the record shows): a reclaimed or retried run has the whole time
     * again, its recorded nodes replayed rather than performed.
     */
    if (run->wf->wf->timeout_ms > 0) {
        run->timer = run;

        if (wk_timer_add(w, run->started_ms + run->wf->wf->timeout_ms,
                         wk_run_timeout, &run->timer)
            != 0)
        {
            wk_log("out of memory: %s runs without options.timeout",
                   run->execution);
        }
    }
}


static wk_run_t *
wk_run_entry(wk_worker_t *w, redisReply *entry)
{
    wk_run_t  *run;

    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING)
    {
        return NULL;
    }

    if (wk_run_owned(w, entry->element[0]->str)) {
        return NULL;
    }

    if (entry->element[1]->type != REDIS_REPLY_ARRAY) {
        /* deleted from the stream while pending: nothing to run */
        wk_ack(w, entry->element[0]->str);
        return NULL;
    }

    run = wk_run_create(entry);
    if (run == NULL) {
        wk_log("out of memory: entry %s stays pending",
               entry->element[0]->str);
    }

    return run;
}


/*
 * Starts the entries of one read.  Their records are asked for in one
 * pipelined round trip on c, and all the replies are read before anything
 * else goes on it.  c is the reader's connection for a first delivery
 * (fresh, XREADGROUP ">"): the answers do not wait behind the final
 * transactions on the command connection.
 */

void
wk_run_entries(wk_worker_t *w, redisReply *entries, int fresh,
    redisContext *c)
{
    void         *p;
    size_t        i, n;
    wk_run_t    **runs;
    const char   *key;
    redisReply  **replies;

    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY
        || entries->elements == 0)
    {
        return;
    }

    if (c == w->cmd) {
        wk_run_flush(w);
    }

    runs = calloc(entries->elements, sizeof(wk_run_t *));
    replies = calloc(entries->elements, sizeof(redisReply *));

    if (runs == NULL || replies == NULL) {
        wk_log("out of memory: %zu entries stay pending", entries->elements);
        free(runs);
        free(replies);
        return;
    }

    n = 0;

    for (i = 0; i < entries->elements; i++) {
        runs[n] = wk_run_entry(w, entries->element[i]);

        if (runs[n] == NULL) {
            continue;
        }

        /* an entry without an execution id has no record to ask for */
        if (runs[n]->execution != NULL) {
            key = wk_run_key(runs[n]);

            if (key == NULL || wk_run_previous_send(c, key) != 0) {
                /* nothing was asked for it: it stays pending */
                wk_run_free(w, runs[n]);
                continue;
            }

            /* 2: the pause was asked too (the gate asks again if not) */
            runs[n]->asked = wk_run_paused_send(c, runs[n]) == 0 ? 2 : 1;
            runs[n]->paused = (runs[n]->asked == 1);
        }

        n++;
    }

    for (i = 0; i < n; i++) {
        p = NULL;

        if (runs[i]->asked && redisGetReply(c, &p) != REDIS_OK) {
            p = NULL;
        }

        replies[i] = p;

        if (runs[i]->asked == 2 && p != NULL) {
            p = NULL;

            if (redisGetReply(c, &p) == REDIS_OK && p != NULL
                && ((redisReply *) p)->type == REDIS_REPLY_INTEGER)
            {
                runs[i]->paused = (((redisReply *) p)->integer == 1);
            }

            freeReplyObject(p);
        }
    }

    for (i = 0; i < n; i++) {
        runs[i]->may_skip_start = fresh;
        wk_run_begin(w, runs[i], replies[i]);
    }

    free(runs);
    free(replies);
}


void
wk_run_abandon_all(wk_worker_t *w)
{
    wk_run_t  *run;

    wk_run_fin_forget();
    w->nfinishing = 0;

    while (w->runs != NULL) {
        run = w->runs;
        w->runs = run->next;
        wk_run_free(w, run);
    }

    w->nruns = 0;
    w->nwaits = 0;
}


void
wk_run_cleanup(wk_worker_t *w)
{
    size_t  i;

    wk_run_abandon_all(w);

    for (i = 0; i < w->nwfs; i++) {
        wh_workflow_free(w->wfs[i].wf);
    }

    for (i = 0; i < w->nacked; i++) {
        free(w->acked[i]);
    }

    free(w->acked);
    w->acked = NULL;
    w->nacked = 0;
    w->acked_cap = 0;

    free(w->wfs);
    free(w->waits);
    w->wfs = NULL;
    w->nwfs = 0;
    w->waits = NULL;
    w->wait_cap = 0;
}
