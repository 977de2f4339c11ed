/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stream upkeep of webhook-worker: the idle time of the entries it holds
 * kept low (XCLAIM JUSTID) while they run or wait for a retry, the
 * indexes of expired records trimmed, and the entries acknowledged since
 * the last trim dropped from the stream (XDEL) together.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk.h"
#include "wk_gate.h"
#include "wk_run_int.h"


static void
wk_heartbeat_send(wk_worker_t *w, wk_args_t *a)
{
    redisReply  *r;

    wk_args_adds(a, "JUSTID");
    r = wk_command(w->cmd, a);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        wk_log("redis: XCLAIM: %s", r ? r->str : w->cmd->errstr);
    }

    freeReplyObject(r);
}


static void
wk_heartbeat_start(wk_worker_t *w, wk_args_t *a)
{
    wk_args_adds(a, "XCLAIM");
    wk_args_adds(a, w->conf->queue);
    wk_args_adds(a, w->conf->group);
    wk_args_adds(a, w->conf->consumer);
    wk_args_adds(a, "0");
}


void
wk_run_heartbeat(wk_worker_t *w)
{
    int         nrenew;
    int64_t     now;
    size_t      i, n;
    wk_run_t   *run;
    wk_args_t   a;

    /* JUSTID: the claim does not count as a delivery */
    wk_args_init(&a);
    wk_heartbeat_start(w, &a);
    n = 0;
    run = w->runs;
    i = 0;

    for ( ;; ) {
        if (run != NULL) {
            wk_args_adds(&a, run->id);
            run = run->next;

        } else if (i < w->nwaits) {
            wk_args_adds(&a, w->waits[i++].id);

        } else {
            break;
        }

        if (++n == 256) {
            wk_heartbeat_send(w, &a);
            wk_heartbeat_start(w, &a);
            n = 0;
        }
    }

    if (n) {
        wk_heartbeat_send(w, &a);
    }

    wk_args_free(&a);

    /* the concurrency leases of the runs in flight */
    wk_run_flush(w);
    nrenew = 0;
    now = wk_now_ms();

    for (run = w->runs; run != NULL; run = run->next) {
        if (run->gated) {
            wk_gate_append_renew(w, &run->gate, now, &nrenew);
        }
    }

    if (nrenew) {
        freeReplyObject(wk_replies(w->cmd, nrenew, "renewing leases"));
    }
}


/*
 * Drops index entries whose records have expired.  Only entries older
 * than the retention can be stale; those whose records still exist (a
 * job that ran long after it was queued) stay, and are looked at again
 * until they expire.
 */

static const char  wk_trim_lua[] =
    "local n = 0 "
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], "
    "                       'LIMIT', 0, tonumber(ARGV[2])) "
    "for _, id in ipairs(ids) do "
    "  if redis.call('EXISTS', ARGV[3] .. id) == 0 then "
    "    redis.call('ZREM', KEYS[1], id) n = n + 1 "
    "  end "
    "end "
    "return n";


static void
wk_trim_index(wk_worker_t *w, const char *workflow, int64_t cutoff)
{
    wk_args_t    a;
    redisReply  *r;

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, wk_trim_lua);
    wk_args_adds(&a, "1");

    if (workflow != NULL) {
        wk_args_addf(&a, WH_REDIS_INDEX ":%s", workflow);

    } else {
        wk_args_adds(&a, WH_REDIS_INDEX);
    }

    wk_args_addll(&a, cutoff);
    wk_args_adds(&a, "1000");
    wk_args_adds(&a, WH_REDIS_EXECUTION);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        wk_log("redis: trimming the index: %s",
               r ? r->str : w->cmd->errstr);
    }

    freeReplyObject(r);
}


/*
 * The entries acknowledged lately leave the stream in one script rather
 * than an XDEL per run, which was a tenth of Redis's work per job.  The
 * head of the stream, every entry before the group's oldest pending one
 * (or before the next undelivered one), goes by XTRIM MINID, which frees
 * whole stream nodes and also catches an entry whose id a crash lost
 * between its final transaction and this; those after it, behind a long
 * delay or a retry, go by XDEL.  As with XDEL, a queue has one group.
 */

static const char  wk_trim_stream_lua[] =
    "local function id(s) "
    "  local ms, seq = string.match(s, '^(%d+)-(%d+)$') "
    "  return tonumber(ms), tonumber(seq) "
    "end "
    "local last "
    "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do "
    "  local t = {} "
    "  for i = 1, #g, 2 do t[g[i]] = g[i + 1] end "
    "  if t['name'] == ARGV[1] then last = t['last-delivered-id'] end "
    "end "
    "if not last then return 0 end "
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1]) "
    "local mms, mseq "
    "if p[1] > 0 then "
    "  mms, mseq = id(p[2]) "
    "else "
    "  mms, mseq = id(last) "
    "  mseq = mseq + 1 "
    "end "
    "if not mms then return 0 end "
    "local n = redis.call('XTRIM', KEYS[1], 'MINID', "
    "                     string.format('%.0f-%.0f', mms, mseq)) "
    "local rest = {} "
    "for i = 2, #ARGV do "
    "  local ms, seq = id(ARGV[i]) "
    "  if ms and (ms > mms or (ms == mms and seq >= mseq)) then "
    "    rest[#rest + 1] = ARGV[i] "
    "  end "
    "end "
    "if #rest > 0 then "
    "  n = n + redis.call('XDEL', KEYS[1], unpack(rest)) "
    "end "
    "return n";


#define WK_TRIM_IDS  1000          /* ids per script call */


void
wk_run_acked(wk_worker_t *w, const char *id)
{
    char    *s, **a;
    size_t   cap;

    if (w->nacked == w->acked_cap) {
        cap = w->acked_cap ? w->acked_cap * 2 : 256;
        a = realloc(w->acked, cap * sizeof(char *));

        if (a == NULL) {
            return;                 /* the next head trim catches it */
        }

        w->acked = a;
        w->acked_cap = cap;
    }

    s = strdup(id);
    if (s != NULL) {
        w->acked[w->nacked++] = s;
    }
}


void
wk_run_trim_stream(wk_worker_t *w)
{
    size_t       i, from, to;
    wk_args_t    a;
    redisReply  *r;

    w->stream_trimmed = wk_now_ms();
    from = 0;

    do {
        to = w->nacked - from > WK_TRIM_IDS ? from + WK_TRIM_IDS : w->nacked;

        wk_args_init(&a);
        wk_args_adds(&a, "EVAL");
        wk_args_adds(&a, wk_trim_stream_lua);
        wk_args_adds(&a, "1");
        wk_args_adds(&a, w->conf->queue);
        wk_args_adds(&a, w->conf->group);

        for (i = from; i < to; i++) {
            wk_args_adds(&a, w->acked[i]);
        }

        r = wk_command(w->cmd, &a);
        wk_args_free(&a);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            wk_log("redis: trimming the stream: %s",
                   r ? r->str : w->cmd->errstr);
        }

        freeReplyObject(r);
        from = to;

    } while (from < w->nacked && r != NULL);

    for (i = 0; i < w->nacked; i++) {
        free(w->acked[i]);
    }

    w->nacked = 0;
}


void
wk_run_trim(wk_worker_t *w)
{
    size_t   i, j;
    int64_t  cutoff;

    cutoff = wk_now_ms() - w->conf->retention_ms;

    wk_trim_index(w, NULL, cutoff);

    /* the workflows this worker has seen lately */
    for (i = 0; i < w->nwfs; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(w->wfs[j].wf->key, w->wfs[i].wf->key) == 0) {
                break;
            }
        }

        if (j == i) {
            wk_trim_index(w, w->wfs[i].wf->key, cutoff);
        }
    }
}
