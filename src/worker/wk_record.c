/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The record writer of executions (SPEC §6): the commands that record a
 * run's start, progress and end on the command connection, the answer of
 * a sync caller, and the pipeline of final transactions.  The end of a
 * run is one MULTI/EXEC (final record, dead letter, XACK), so a delivered
 * entry is either pending or recorded; within a step those transactions
 * are pipelined and their replies read as they come.
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


#define WK_FIN_FLUSH     65536     /* bytes of final records sent at once */


/*
 * Within wk_run_step(), the final transactions of the runs that end are
 * pipelined: sent one after another, their replies read together at the
 * end of the step (or before any other command on the connection).
 */
static int        wk_fin_batch;
static wk_run_t  *wk_fin_head;
static wk_run_t  *wk_fin_tail;


/*
 * The jobs as the record keeps them; the "node" of a run that ended
 * outside the step machine is appended as a job with the run's error.
 */

static void
wk_run_jobs(wk_run_t *run, wh_buf_t *b)
{
    char              t[WH_ISO_LEN];
    size_t            i, n;
    const wh_job_t   *job;

    wh_buf_addc(b, '[');

    n = run->ex ? wh_exec_njobs(run->ex) : 0;

    for (i = 0; i < n; i++) {
        job = wh_exec_job(run->ex, i);

        if (i) {
            wh_buf_addc(b, ',');
        }

        wh_buf_adds(b, "{\"nodeKey\":");
        wh_json_escape(b, job->node->key, strlen(job->node->key));
        wh_buf_printf(b, ",\"type\":\"%s\",\"status\":%d,\"result\":",
                      wh_node_type_name(job->node->type), job->status);
        wh_val_write_json(b, job->result);

        wh_iso_time(job->started_ms, t);
        wh_buf_printf(b, ",\"startedAt\":\"%s\"", t);

        if (job->finished_ms && job->status != WH_STATUS_STARTED) {
            wh_iso_time(job->finished_ms, t);
            wh_buf_printf(b, ",\"finishedAt\":\"%s\"", t);

        } else {
            wh_buf_adds(b, ",\"finishedAt\":null");
        }

        if (job->error != NULL) {
            wh_buf_adds(b, ",\"error\":");
            wh_json_escape(b, job->error, strlen(job->error));
        }

        if (wh_val_type(job->logs) == WH_JSON_ARRAY) {
            wh_buf_adds(b, ",\"logs\":");
            wh_val_write_json(b, job->logs);
        }

        wh_buf_addc(b, '}');
    }

    wh_buf_addc(b, ']');
}


/* The fields a record takes from the job, those the job has. */

static void
wk_run_add_job_fields(wk_args_t *a, wk_run_t *run)
{
    if (run->workflow != NULL) {
        wk_args_adds(a, WH_REC_WORKFLOW);
        wk_args_adds(a, run->workflow);
    }

    if (run->revision != NULL) {
        wk_args_adds(a, WH_REC_REVISION);
        wk_args_adds(a, run->revision);
    }

    if (run->context != NULL) {
        wk_args_adds(a, WH_REC_CONTEXT);
        wk_args_add(a, run->context, run->context_len);
    }

    if (run->parent != NULL) {
        wk_args_adds(a, WH_REC_PARENT);
        wk_args_adds(a, run->parent);
    }
}


/*
 * Appends the commands that record a start: used at the start of a run,
 * and by a run that ends before it started so that its record is whole.
 */

void
wk_run_append_start(wk_worker_t *w, wk_run_t *run, const char *key,
    int status, int *ncmds)
{
    char        created[WH_ISO_LEN], started[WH_ISO_LEN];
    wk_args_t   a;

    wk_args_init(&a);
    wh_iso_time(run->created_ms, created);
    wh_iso_time(run->started_ms, started);

    wk_args_adds(&a, "HSET");
    wk_args_adds(&a, key);
    wk_args_adds(&a, WH_REC_STATUS);
    wk_args_addll(&a, status);
    wk_args_adds(&a, WH_REC_STARTED_AT);
    wk_args_adds(&a, started);

    wk_run_add_job_fields(&a, run);

    wk_append(w->cmd, &a);
    (*ncmds)++;

    wk_args_adds(&a, "HDEL");
    wk_args_adds(&a, key);
    wk_args_adds(&a, WH_REC_FINISHED_AT);
    wk_args_adds(&a, WH_REC_NEXT_ATTEMPT_AT);
    wk_args_adds(&a, WH_REC_PARKED);
    wk_append(w->cmd, &a);
    (*ncmds)++;

    wk_args_adds(&a, "HSETNX");
    wk_args_adds(&a, key);
    wk_args_adds(&a, WH_REC_CREATED_AT);
    wk_args_adds(&a, created);
    wk_append(w->cmd, &a);
    (*ncmds)++;

    if (!run->no_incr) {
        wk_args_adds(&a, "HINCRBY");
        wk_args_adds(&a, key);
        wk_args_adds(&a, WH_REC_ATTEMPTS);
        wk_args_adds(&a, "1");
        wk_append(w->cmd, &a);
        (*ncmds)++;
    }

    wk_args_free(&a);
    wk_run_append_index(w, run, ncmds);
}


/* The record in the indexes webhookctl and the viewer list. */

void
wk_run_append_index(wk_worker_t *w, wk_run_t *run, int *ncmds)
{
    wk_args_t  a;

    wk_args_init(&a);
    wk_args_adds(&a, "ZADD");
    wk_args_adds(&a, WH_REDIS_INDEX);
    wk_args_adds(&a, "NX");
    wk_args_addll(&a, run->created_ms);
    wk_args_adds(&a, run->execution);
    wk_append(w->cmd, &a);
    (*ncmds)++;

    if (run->workflow != NULL) {
        wk_args_adds(&a, "ZADD");
        wk_args_addf(&a, WH_REDIS_INDEX ":%s", run->workflow);
        wk_args_adds(&a, "NX");
        wk_args_addll(&a, run->created_ms);
        wk_args_adds(&a, run->execution);
        wk_append(w->cmd, &a);
        (*ncmds)++;
    }

    wk_args_free(&a);
}


void
wk_append_expire(wk_worker_t *w, const char *key, int *ncmds)
{
    wk_args_t  a;

    wk_args_init(&a);
    wk_args_adds(&a, "PEXPIRE");
    wk_args_adds(&a, key);
    wk_args_addll(&a, w->conf->retention_ms);
    wk_append(w->cmd, &a);
    wk_args_free(&a);
    (*ncmds)++;
}


static void
wk_append_simple(wk_worker_t *w, const char *cmd)
{
    wk_args_t  a;

    wk_args_init(&a);
    wk_args_adds(&a, cmd);
    wk_append(w->cmd, &a);
    wk_args_free(&a);
}


/*
 * Begins a transaction.  Replies still owed to final transactions are read
 * first, unless this is one of them (a step's batch): reading them ends
 * runs, and the end of a run may send a command of its own (a sync
 * caller's PUBLISH), which must go before this transaction, not into it.
 */

void
wk_multi(wk_worker_t *w)
{
    if (!wk_fin_batch) {
        wk_run_flush(w);
    }

    wk_append_simple(w, "MULTI");
}


void
wk_run_settle(wk_worker_t *w)
{
    wk_run_flush(w);
}


/*
 * Sends MULTI, the ncmds commands already appended (after the MULTI that
 * the caller appended first) and EXEC: the EXEC reply or NULL.
 */

redisReply *
wk_exec(wk_worker_t *w, int ncmds, const char *what)
{
    redisReply  *r;

    wk_append_simple(w, "EXEC");

    r = wk_replies(w->cmd, ncmds + 2, what);

    if (r != NULL && r->type != REDIS_REPLY_ARRAY) {
        wk_log("redis: %s: %s", what,
               r->type == REDIS_REPLY_ERROR ? r->str : "transaction failed");
        freeReplyObject(r);
        return NULL;
    }

    return r;
}


/* The answer a sync request waits for on the entry's reply channel. */

static void
wk_run_reply(wk_worker_t *w, wk_run_t *run, int status, const char *error)
{
    size_t                i;
    wh_buf_t              b;
    wk_args_t             a;
    redisReply           *r;
    const wh_response_t  *resp;

    wh_buf_init(&b, &run->mem, 256);
    wh_buf_adds(&b, "{\"execution\":");
    wh_json_escape(&b, run->execution, strlen(run->execution));
    wh_buf_printf(&b, ",\"status\":%d,\"error\":", status);

    if (error != NULL) {
        wh_json_escape(&b, error, strlen(error));

    } else {
        wh_buf_adds(&b, "null");
    }

    resp = run->ex ? wh_exec_response(run->ex) : NULL;

    if (resp != NULL) {
        wh_buf_printf(&b, ",\"response\":{\"statusCode\":%d,\"headers\":[",
                      resp->status);

        for (i = 0; i < resp->nheaders; i++) {
            wh_buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
            wh_json_escape(&b, resp->headers[i].name,
                           resp->headers[i].name_len);
            wh_buf_adds(&b, ",\"value\":");
            wh_json_escape(&b, resp->headers[i].value,
                           resp->headers[i].value_len);
            wh_buf_addc(&b, '}');
        }

        wh_buf_adds(&b, "],\"body\":");

        if (resp->body != NULL) {
            wh_json_escape(&b, resp->body, resp->body_len);

        } else {
            wh_buf_adds(&b, "null");
        }

        wh_buf_printf(&b, ",\"json\":%s}}",
                      resp->body_json ? "true" : "false");

    } else {
        wh_buf_adds(&b, ",\"response\":null}");
    }

    if (b.failed) {
        return;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "PUBLISH");
    wk_args_adds(&a, run->reply);
    wk_args_add(&a, b.data, b.len);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        wk_log("redis: PUBLISH %s: %s", run->reply,
               r ? r->str : w->cmd->errstr);
    }

    freeReplyObject(r);
}


static void
wk_run_log(wk_worker_t *w, wk_run_t *run, int status, const char *error)
{
    wk_log("%s %s %s %lldms%s%s", run->execution ? run->execution : "-",
           run->workflow ? run->workflow : "-", wk_status_name(status),
           (long long) (wk_now_ms() - run->started_ms),
           error ? " " : "", error ? error : "");
}


/* Writes the jobs so far: the progress a reclaim resumes from. */

int
wk_run_save(wk_worker_t *w, wk_run_t *run)
{
    int          rc;
    wh_buf_t     b;
    wk_args_t    a;
    redisReply  *r;
    const char  *key;

    key = wk_run_key(run);
    wh_buf_init(&b, &run->mem, 1024);
    wk_run_jobs(run, &b);

    if (key == NULL || b.failed) {
        return -1;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "HSET");
    wk_args_adds(&a, key);
    wk_args_adds(&a, WH_REC_JOBS);
    wk_args_add(&a, b.data, b.len);

    if (w->conf->replicas == 0) {
        r = wk_command(w->cmd, &a);
        wk_args_free(&a);

    } else {
        /*
         * --replicas: the node's result (and every write before it on
         * this connection: collection writes) on N replicas before the
         * next node starts, so a failover never makes a run repeat it.
         * Not confirmed: the run is given up, its entry stays pending.
         */
        wk_append(w->cmd, &a);
        wk_args_adds(&a, "WAIT");
        wk_args_addll(&a, w->conf->replicas);
        wk_args_addll(&a, WK_WAIT_MS);
        wk_append(w->cmd, &a);
        wk_args_free(&a);

        r = wk_replies(w->cmd, 2, "saving a run");

        if (r != NULL && r->type == REDIS_REPLY_INTEGER
            && r->integer < w->conf->replicas)
        {
            wk_log("redis: saving %s: %lld of %d replicas confirmed",
                   run->execution, r->integer, w->conf->replicas);
            freeReplyObject(r);
            return -1;
        }
    }

    rc = (r != NULL && r->type != REDIS_REPLY_ERROR) ? 0 : -1;

    if (rc != 0) {
        wk_log("redis: saving %s: %s", run->execution,
               r ? r->str : w->cmd->errstr);
    }

    freeReplyObject(r);

    return rc;
}


void
wk_run_flush(void *data)
{
    wk_worker_t *w = data;

    void  *p;

    while (wk_fin_head != NULL) {
        if (w->cmd == NULL || redisGetReply(w->cmd, &p) != REDIS_OK) {
            wk_log("redis: recording an execution: %s",
                   w->cmd ? w->cmd->errstr : "not connected");
            wk_run_fin_lost(w);
            return;
        }

        wk_run_fin_reply(w, p);
    }
}


/*
 * The final transactions' replies that have come (the connection is
 * readable), without waiting for the others: the worker computes the
 * next runs meanwhile.  -1 when the connection failed.
 */

int
wk_run_fin_read(wk_worker_t *w)
{
    void  *p;

    if (wk_fin_head == NULL) {
        return 0;
    }

    if (redisBufferRead(w->cmd) != REDIS_OK) {
        wk_log("redis: recording an execution: %s", w->cmd->errstr);
        wk_run_fin_lost(w);
        return -1;
    }

    while (wk_fin_head != NULL) {
        if (redisGetReplyFromReader(w->cmd, &p) != REDIS_OK) {
            wk_log("redis: recording an execution: %s", w->cmd->errstr);
            wk_run_fin_lost(w);
            return -1;
        }

        if (p == NULL) {
            break;
        }

        wk_run_fin_reply(w, p);
    }

    return 0;
}


/* One reply of the oldest final transaction: MULTI's, a QUEUED, EXEC's. */

void
wk_run_fin_reply(wk_worker_t *w, redisReply *r)
{
    wk_run_t  *run;

    run = wk_fin_head;

    if (++run->fin_got < run->fin_replies) {
        if (r->type == REDIS_REPLY_ERROR && !run->fin_bad) {
            wk_log("redis: recording an execution: %s", r->str);
            run->fin_bad = 1;
        }

        freeReplyObject(r);
        return;
    }

    wk_fin_head = run->fin_next;

    if (wk_fin_head == NULL) {
        wk_fin_tail = NULL;
    }

    w->nfinishing--;

    if (run->fin_bad || r->type != REDIS_REPLY_ARRAY) {
        if (!run->fin_bad) {
            wk_log("redis: recording an execution: %s",
                   r->type == REDIS_REPLY_ERROR ? r->str
                   : "transaction failed");
        }

        freeReplyObject(r);
        r = NULL;
    }

    wk_run_finished(w, run, r);
}


/* The connection failed: none of the transactions awaited is known. */

void
wk_run_fin_lost(wk_worker_t *w)
{
    wk_run_t  *run;

    while (wk_fin_head != NULL) {
        run = wk_fin_head;
        wk_fin_head = run->fin_next;
        w->nfinishing--;
        wk_run_finished(w, run, NULL);
    }

    wk_fin_tail = NULL;
}


/*
 * The end of a run: the final record, the dead letter and the XACK in
 * one transaction, or the record of a retry to come.
 */

void
wk_run_finish(wk_worker_t *w, wk_run_t *run)
{
    int           status, ncmds, retry, attempts, fresh, done;
    char          now_iso[WH_ISO_LEN], due_iso[WH_ISO_LEN];
    char          created_iso[WH_ISO_LEN], started_iso[WH_ISO_LEN];
    size_t        i;
    int64_t       now, due;
    wh_buf_t      jobs, out;
    wh_val_t      output;
    wk_args_t     a;
    redisReply   *r;
    const char   *key, *error;
    size_t              n;

    if (run->status != WH_STATUS_STARTED) {
        status = run->status;
        error = run->error;

    } else {
        status = wh_exec_status(run->ex);
        error = wh_exec_error(run->ex);

        /* an inline node fails again on the same input and revision */
        n = wh_exec_njobs(run->ex);

        if (status == WH_STATUS_ERROR && n > 0
            && wh_node_is_inline(wh_exec_job(run->ex, n - 1)->node->type))
        {
            run->permanent = 1;
        }
    }

    if (status == WH_STATUS_STARTED) {
        status = WH_STATUS_ERROR;
        error = "the execution stopped";
    }

    key = wk_run_key(run);
    wh_buf_init(&jobs, &run->mem, 1024);
    wk_run_jobs(run, &jobs);

    if (key == NULL || jobs.failed) {
        wk_log("out of memory: %s stays pending", run->execution);
        wk_run_free(w, run);
        return;
    }

    attempts = run->attempts;
    if (!run->started && !run->no_incr) {
        attempts++;
    }

    /* a sync caller waits for this answer: no retries behind its back */
    retry = status == WH_STATUS_ERROR && !run->permanent
            && run->reply == NULL && attempts < w->conf->max_attempts;

    now = wk_now_ms();
    wh_iso_time(now, now_iso);
    ncmds = 0;

    wk_args_init(&a);
    wk_multi(w);

    /* a run without a record gets the whole record in one HSET */
    fresh = !run->started && run->fresh && !run->no_incr;

    if (!run->started && !fresh) {
        wk_run_append_start(w, run, key, WH_STATUS_STARTED, &ncmds);
    }

    wk_args_adds(&a, "HSET");
    wk_args_adds(&a, key);
    wk_args_adds(&a, WH_REC_STATUS);
    wk_args_addll(&a, retry ? WK_STATUS_RETRY_NEEDED : status);
    wk_args_adds(&a, WH_REC_JOBS);
    wk_args_add(&a, jobs.data, jobs.len);

    if (fresh) {
        wh_iso_time(run->created_ms, created_iso);
        wh_iso_time(run->started_ms, started_iso);
        wk_args_adds(&a, WH_REC_STARTED_AT);
        wk_args_adds(&a, started_iso);
        wk_args_adds(&a, WH_REC_CREATED_AT);
        wk_args_adds(&a, created_iso);
        wk_args_adds(&a, WH_REC_ATTEMPTS);
        wk_args_addll(&a, attempts);

        wk_run_add_job_fields(&a, run);
    }

    if (error != NULL) {
        wk_args_adds(&a, WH_REC_ERROR);
        wk_args_adds(&a, error);
    }

    /* the workflow's "output" node: what a parent's subflow node gets */
    if (run->ex != NULL && wh_exec_output(run->ex, &output)) {
        wh_buf_init(&out, &run->mem, 256);
        wh_val_write_json(&out, output);

        if (!out.failed) {
            wk_args_adds(&a, WH_REC_OUTPUT);
            wk_args_add(&a, out.data, out.len);
        }
    }

    due = 0;

    if (retry) {
        due = now + wk_backoff_ms(attempts);
        wh_iso_time(due, due_iso);
        wk_args_adds(&a, WH_REC_NEXT_ATTEMPT_AT);
        wk_args_adds(&a, due_iso);

    } else {
        wk_args_adds(&a, WH_REC_FINISHED_AT);
        wk_args_adds(&a, now_iso);
    }

    wk_append(w->cmd, &a);
    ncmds++;

    if (fresh) {
        wk_run_append_index(w, run, &ncmds);

    } else if (error == NULL || !retry) {
        wk_args_adds(&a, "HDEL");
        wk_args_adds(&a, key);
        wk_args_adds(&a, retry ? WH_REC_FINISHED_AT : WH_REC_NEXT_ATTEMPT_AT);

        if (error == NULL) {
            wk_args_adds(&a, WH_REC_ERROR);
        }

        wk_append(w->cmd, &a);
        ncmds++;
    }

    wk_append_expire(w, key, &ncmds);

    if (run->gated) {
        wk_gate_append_release(w, &run->gate, !retry, &ncmds);
    }

    if (!retry) {
        if (status == WH_STATUS_ERROR) {
            wk_args_adds(&a, "XADD");
            wk_args_adds(&a, WH_REDIS_DEAD);
            wk_args_adds(&a, "*");

            for (i = 0; i < run->nfields; i++) {
                if (strcmp(run->fields[i].name, WH_DEAD_ERROR) == 0
                    || strcmp(run->fields[i].name, WH_DEAD_ATTEMPTS) == 0)
                {
                    continue;
                }

                wk_args_add(&a, run->fields[i].name, run->fields[i].name_len);
                wk_args_add(&a, run->fields[i].value,
                            run->fields[i].value_len);
            }

            wk_args_adds(&a, WH_DEAD_ERROR);
            wk_args_adds(&a, error ? error : "error");
            wk_args_adds(&a, WH_DEAD_ATTEMPTS);
            wk_args_addll(&a, attempts);
            wk_append(w->cmd, &a);
            ncmds++;
        }

        wk_args_adds(&a, "XACK");
        wk_args_adds(&a, w->conf->queue);
        wk_args_adds(&a, w->conf->group);
        wk_args_adds(&a, run->id);
        wk_append(w->cmd, &a);
        ncmds++;

    }

    wk_args_free(&a);

    run->fin_status = status;
    run->fin_error = error;
    run->fin_retry = retry;
    run->fin_due = due;

    if (wk_fin_batch) {
        wk_append_simple(w, "EXEC");
        run->fin_replies = ncmds + 2;
        run->fin_got = 0;
        run->fin_bad = 0;
        run->fin_next = NULL;
        w->nfinishing++;

        if (wk_fin_tail != NULL) {
            wk_fin_tail->fin_next = run;

        } else {
            wk_fin_head = run;
        }

        wk_fin_tail = run;

        /*
         * Redis records these while the next runs are computed; in
         * pieces, so that neither side pays a system call per run.
         */
        if (sdslen(w->cmd->obuf) >= WK_FIN_FLUSH) {
            (void) redisBufferWrite(w->cmd, &done);
        }

        return;
    }

    r = wk_exec(w, ncmds, "recording an execution");
    wk_run_finished(w, run, r);
}


/* The final transaction's reply (NULL: it failed) for a run. */

void
wk_run_finished(wk_worker_t *w, wk_run_t *run, redisReply *r)
{
    if (r == NULL) {
        /* not recorded, not acknowledged: a reclaim runs it again */
        wk_log("%s stays pending", run->execution);
        wk_run_free(w, run);
        return;
    }

    freeReplyObject(r);

    if (!run->fin_retry) {
        /* recorded and acknowledged: wk_run_trim_stream() drops it */
        wk_run_acked(w, run->id);
    }

    if (run->fin_retry) {
        wk_wait_add(w, run->id, run->fin_due);

    } else if (run->reply != NULL) {
        wk_run_reply(w, run, run->fin_status, run->fin_error);
    }

    wk_run_log(w, run, run->fin_retry ? WK_STATUS_RETRY_NEEDED
                                      : run->fin_status,
               run->fin_error);
    wk_run_free(w, run);
}


/*
 * on: the final transactions of runs that end are pipelined from now on;
 * off: those pipelined are written, their replies read when they come
 * (wk_run_fin_read()).
 */

void
wk_run_fin_batch(wk_worker_t *w, int on)
{
    int  done;

    wk_fin_batch = on;

    if (on || w->cmd == NULL || wk_fin_head == NULL) {
        return;
    }

    do {
        if (redisBufferWrite(w->cmd, &done) != REDIS_OK) {
            wk_log("redis: recording an execution: %s", w->cmd->errstr);
            wk_run_fin_lost(w);
            break;
        }
    } while (!done);
}


/* The connection is gone: the transactions awaited are forgotten. */

void
wk_run_fin_forget(void)
{
    wk_fin_head = NULL;
    wk_fin_tail = NULL;
}
