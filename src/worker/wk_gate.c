/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The gate before a run starts (SPEC §11): pause, options.orderKey and
 * options.concurrency, decided in Redis by one script per attempt, so
 * that every worker process on every host sees the same state.
 *
 *   webhook:paused (set)                 keys of paused workflows
 *   webhook:parked:<workflow> (list)     execution ids parked by a pause;
 *                                        their records hold what a new
 *                                        job needs (workflow, revision,
 *                                        context, queue)
 *   webhook:running:<workflow> (zset)    concurrency leases: execution
 *                                        id by expiry (ms)
 *   webhook:order:<workflow>:<hash> (zset) the executions of one order
 *                                        key by queue position; the first
 *                                        one is the only one that runs
 *   webhook:ordered:<workflow> (set)     the executions registered in one
 *                                        of those
 *
 * Guarantees.  A paused workflow's entry is parked and acknowledged in
 * the same script (never lost, never run) until webhookctl resume queues
 * it again.  At most N executions hold a lease at once; a lease lives
 * --claim-after and the heartbeat renews the leases of the runs in
 * flight, so a dead worker's slot comes free when its entry can be
 * reclaimed.  Of one order key, only the first registered execution
 * runs, until its record is final (or gone): a dead worker's run keeps
 * its place, and the reclaim of its entry runs it first.  An entry is
 * registered only once every earlier entry of the workflow still
 * pending in the group is registered, so two workers reading entries of
 * one key at the same moment cannot swap them (an earlier entry that
 * already started without registering, say of a revision without
 * orderKey, is not waited for).  An entry turned away
 * (slot or key taken) is not failed and holds no run: the caller keeps
 * only its entry id and asks again a little later.
 */

#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "wk.h"
#include "wk_gate.h"


#define WK_GATE_POLL_MS   50        /* a turned-away entry asks again */
#define WK_GATE_SOON_MS   10        /* an earlier entry is registering */


static const char  wk_gate_lua[] =
    "local wf, id, eid, q, g = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] "
    "local now, lease, conc = tonumber(ARGV[6]), tonumber(ARGV[7]), "
    "  tonumber(ARGV[8]) "
    "local okey, score = ARGV[9], ARGV[10] "
    "local rec = '" WH_REDIS_EXECUTION "' .. id "
    "if redis.call('SISMEMBER', '" WH_REDIS_PAUSED "', wf) == 1 then "
    "  redis.call('HSET', rec, '" WH_REC_WORKFLOW "', wf, "
    "    '" WH_REC_REVISION "', ARGV[11], "
    "    '" WH_REC_CONTEXT "', ARGV[12], '" WH_REC_PARKED "', 'paused', "
    "      '" WH_REC_QUEUE "', q) "
    "  redis.call('HSETNX', rec, '" WH_REC_CREATED_AT "', ARGV[13]) "
    "  redis.call('ZADD', '" WH_REDIS_INDEX "', 'NX', ARGV[14], id) "
    "  redis.call('ZADD', '" WH_REDIS_INDEX ":' .. wf, 'NX', ARGV[14], id) "
    "  redis.call('RPUSH', '" WH_REDIS_PARKED "' .. wf, id) "
    "  redis.call('XACK', q, g, eid) "
    "  redis.call('XDEL', q, eid) "
    "  return 'paused' "
    "end "
    "if okey ~= '' then "
    "  local oz = '" WH_REDIS_ORDER "' .. wf .. ':' .. okey "
    "  local reg = '" WH_REDIS_ORDERED "' .. wf "
    "  if not redis.call('ZSCORE', oz, id) then "
    "    local p = redis.call('XPENDING', q, g, '-', eid, 10000) "
    "    for _, e in ipairs(p) do "
    "      if e[1] ~= eid then "
    "        local x = redis.call('XRANGE', q, e[1], e[1])[1] "
    "        if x then "
    "          local w2, x2 "
    "          for i = 1, #x[2], 2 do "
    "            if x[2][i] == '" WH_JOB_WORKFLOW "' then w2 = x[2][i + 1] "
    "            elseif x[2][i] == '" WH_JOB_EXECUTION "' then x2 = x[2][i + "
    "              1] end "
    "          end "
    "          if w2 == wf and x2 and x2 ~= id "
    "             and redis.call('SISMEMBER', reg, x2) == 0 "
    "             and not redis.call('HGET', '" WH_REDIS_EXECUTION "' .. x2, "
    "               '" WH_REC_STATUS "') then "
    "            return 'soon' "
    "          end "
    "        end "
    "      end "
    "    end "
    "    redis.call('ZADD', oz, score, id) "
    "    redis.call('SADD', reg, id) "
    "    redis.call('HSET', rec, '" WH_REC_ORDER_KEY "', ARGV[15]) "
    "  end "
    "  while true do "
    "    local h = redis.call('ZRANGE', oz, 0, 0)[1] "
    "    if h == id then break end "
    "    local st = redis.call('HGET', '" WH_REDIS_EXECUTION "' .. h, "
    "      '" WH_REC_STATUS "') "
    "    if redis.call('EXISTS', '" WH_REDIS_EXECUTION "' .. h) == 1 "
    "       and (not st or st == '0' or st == '-6') then "
    "      return 'order' "
    "    end "
    "    redis.call('ZREM', oz, h) "
    "    redis.call('SREM', reg, h) "
    "  end "
    "end "
    "if conc > 0 then "
    "  local rz = '" WH_REDIS_RUNNING "' .. wf "
    "  redis.call('ZREMRANGEBYSCORE', rz, '-inf', now) "
    "  if not redis.call('ZSCORE', rz, id) "
    "     and redis.call('ZCARD', rz) >= conc then "
    "    redis.call('HSETNX', rec, '" WH_REC_CREATED_AT "', ARGV[13]) "
    "    return 'busy' "
    "  end "
    "  redis.call('ZADD', rz, now + lease, id) "
    "end "
    "return 'go'";


/* "<ms>-<seq>" as one number that keeps the stream's order exactly. */

static void
wk_gate_score(const char *entry, char *buf, size_t size)
{
    unsigned long long  ms, seq;

    if (sscanf(entry, "%llu-%llu", &ms, &seq) != 2) {
        ms = 0;
        seq = 0;
    }

    /* 2^53 holds ms * 2048 until the year 4000; seq beyond 2047 clamps */
    snprintf(buf, size, "%llu", ms * 2048 + (seq > 2047 ? 2047 : seq));
}


int
wk_gate_hash(const char *text, size_t len, char *out)
{
    size_t        i;
    unsigned int  mdlen;
    unsigned char md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        return -1;
    }

    for (i = 0; i < 16; i++) {
        snprintf(&out[2 * i], 3, "%02x", md[i]);
    }

    return 0;
}


int
wk_gate_enter(wk_worker_t *w, const wk_gate_t *g, int64_t *due)
{
    int          rc;
    char         score[32], created[WH_ISO_LEN];
    int64_t      now;
    wk_args_t    a;
    redisReply  *r;

    now = wk_now_ms();
    wk_gate_score(g->entry, score, sizeof(score));
    wh_iso_time(g->created_ms, created);

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, wk_gate_lua);
    wk_args_adds(&a, "0");
    wk_args_adds(&a, g->workflow);
    wk_args_adds(&a, g->execution);
    wk_args_adds(&a, g->entry);
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, w->conf->group);
    wk_args_addll(&a, now);
    wk_args_addll(&a, w->conf->claim_after_ms);
    wk_args_addll(&a, g->concurrency);
    wk_args_adds(&a, g->order != NULL ? g->order : "");
    wk_args_adds(&a, score);
    wk_args_adds(&a, g->revision);
    wk_args_add(&a, g->context, g->context_len);
    wk_args_adds(&a, created);
    wk_args_addll(&a, g->created_ms);
    wk_args_add(&a, g->order_text != NULL ? g->order_text : "",
                g->order_text_len);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL
        || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS))
    {
        wk_log("redis: the gate of %s: %s", g->execution,
               r == NULL ? w->cmd->errstr
               : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        *due = now + 1000;
        return r == NULL ? -1 : WK_GATE_WAIT;
    }

    if (strcmp(r->str, "go") == 0) {
        rc = WK_GATE_GO;

    } else if (strcmp(r->str, "paused") == 0) {
        rc = WK_GATE_PAUSED;

    } else {
        rc = WK_GATE_WAIT;
        *due = now + (strcmp(r->str, "soon") == 0 ? WK_GATE_SOON_MS
                                                  : WK_GATE_POLL_MS);
    }

    freeReplyObject(r);

    return rc;
}


void
wk_gate_append_release(wk_worker_t *w, const wk_gate_t *g, int final,
    int *ncmds)
{
    wk_args_t  a;

    wk_args_init(&a);

    if (g->concurrency > 0) {
        wk_args_adds(&a, "ZREM");
        wk_args_addf(&a, WH_REDIS_RUNNING "%s", g->workflow);
        wk_args_adds(&a, g->execution);
        wk_append(w->cmd, &a);
        (*ncmds)++;
    }

    /* a retry keeps the key: the next of the key waits for its end */
    if (final && g->order != NULL) {
        wk_args_adds(&a, "ZREM");
        wk_args_addf(&a, WH_REDIS_ORDER "%s:%s", g->workflow, g->order);
        wk_args_adds(&a, g->execution);
        wk_append(w->cmd, &a);
        (*ncmds)++;

        wk_args_adds(&a, "SREM");
        wk_args_addf(&a, WH_REDIS_ORDERED "%s", g->workflow);
        wk_args_adds(&a, g->execution);
        wk_append(w->cmd, &a);
        (*ncmds)++;
    }

    wk_args_free(&a);
}


void
wk_gate_append_renew(wk_worker_t *w, const wk_gate_t *g, int64_t now,
    int *ncmds)
{
    wk_args_t  a;

    if (g->concurrency <= 0) {
        return;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "ZADD");
    wk_args_addf(&a, WH_REDIS_RUNNING "%s", g->workflow);
    wk_args_adds(&a, "XX");
    wk_args_addll(&a, now + w->conf->claim_after_ms);
    wk_args_adds(&a, g->execution);
    wk_append(w->cmd, &a);
    wk_args_free(&a);
    (*ncmds)++;
}
