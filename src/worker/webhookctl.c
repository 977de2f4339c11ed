/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhookctl: reads the execution records and dead letters that
 * webhook-worker writes, and re-enqueues executions (SPEC §6).
 */

#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "wk.h"
#include "wh_retry.h"
#include "wh_time.h"
#include "wk_test.h"


#define WK_PAGE  100


typedef struct {
    wk_redis_t          addr;
    const char         *queue;
    redisContext       *c;
} wk_ctl_t;


static void
wk_ctl_usage(FILE *f)
{
    fprintf(f,
        "usage: webhookctl [--redis ADDR | --sentinel ADDR,... --master NAME]"
        "\n"
        "                  [--redis-db N] [--redis-user NAME]\n"
        "                  [--redis-password-file FILE] [--queue NAME] "
        "COMMAND\n"
        "\n"
        "  executions [--workflow KEY] [--status S] [--limit N]\n"
        "                    executions, newest first (S: a name such as\n"
        "                    resolved, failed, error, waiting, paused, or\n"
        "                    a number; N: 20)\n"
        "  show ID           an execution record as JSON (with \"waiting\",\n"
        "                    \"parked\", \"parent\" and \"children\" when\n"
        "                    it has them)\n"
        "  retry ID          runs an execution's job again, under a new id\n"
        "  test FILE --data JSON|@FILE [--header NAME:VALUE]... [--query Q]\n"
        "       [--method M] [--path P] [--mock NODE=JSON]...\n"
        "                    runs a workflow file outside nginx (inline\n"
        "                    nodes here, worker nodes in webhook-worker\n"
        "                    unless mocked); exit 0 resolved, 1 failed,\n"
        "                    2 error\n"
        "  retry ID --from NODE   ... keeping the results of the worker\n"
        "                    nodes that ran before NODE\n"
        "  dead [--limit N]  the dead letters, oldest first\n"
        "  revision FILE     the revision of a workflow file\n"
        "  publish FILE      stores a workflow file's revision in Redis,\n"
        "                    and its key's latest revision\n"
        "  pause KEY         no execution of workflow KEY starts; its jobs\n"
        "                    are still accepted and parked\n"
        "  resume KEY        queues the parked jobs again, in order\n"
        "\n"
        "ADDR: host:port or unix:/path (127.0.0.1:6379); NAME: the job\n"
        "stream (" WH_REDIS_QUEUE_DEFAULT "). The password may also come\n"
        "from the environment: WEBHOOK_REDIS_PASSWORD.\n");
}


static int
wk_ctl_fail(const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "webhookctl: ");
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\n");

    return 1;
}


static int
wk_ctl_connect(wk_ctl_t *ctl)
{
    char  err[256];

    ctl->c = wk_connect(&ctl->addr, 5000, err, sizeof(err));
    if (ctl->c == NULL) {
        return wk_ctl_fail("cannot connect to redis: %s", err);
    }

    return 0;
}


/* A reply that is not an error; NULL (with a message) otherwise. */

static redisReply *
wk_ctl_command(wk_ctl_t *ctl, wk_args_t *a)
{
    redisReply  *r;

    r = wk_command(ctl->c, a);

    if (r == NULL) {
        wk_ctl_fail("redis: %s", ctl->c->errstr);
        return NULL;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        wk_ctl_fail("redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }

    return r;
}


static int
wk_ctl_limit(const char *s, long *limit)
{
    char  *end;

    errno = 0;
    *limit = strtol(s, &end, 10);

    if (errno || end == s || *end != '\0' || *limit < 1) {
        return wk_ctl_fail("invalid limit \"%s\"", s);
    }

    return 0;
}


static const char *
wk_str(redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_STRING ? r->str : NULL;
}


static int
wk_ctl_executions(wk_ctl_t *ctl, int argc, char **argv)
{
    int           i, status, want, filter;
    long          limit, shown, start;
    char          key[256], dur[32];
    size_t        j;
    int64_t       s, f;
    wk_args_t     a;
    redisReply   *ids, *r;
    const char   *workflow, *st, *name, *want_name;

    workflow = NULL;
    want_name = NULL;
    limit = 20;
    filter = 0;
    want = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--workflow") == 0 && i + 1 < argc) {
            workflow = argv[++i];

        } else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc
                   && (strcmp(argv[i + 1], "waiting") == 0
                       || strcmp(argv[i + 1], "paused") == 0))
        {
            /* not statuses: what the list shows for them (SPEC §11) */
            want_name = argv[++i];

        } else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
            if (wk_status_parse(argv[++i], &want) != 0) {
                return wk_ctl_fail("invalid status \"%s\"", argv[i]);
            }

            filter = 1;

        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (wk_ctl_limit(argv[++i], &limit) != 0) {
                return 1;
            }

        } else {
            return wk_ctl_fail("executions: unexpected \"%s\"", argv[i]);
        }
    }

    if (workflow != NULL) {
        snprintf(key, sizeof(key), WH_REDIS_INDEX ":%s", workflow);

    } else {
        snprintf(key, sizeof(key), WH_REDIS_INDEX);
    }

    if (wk_ctl_connect(ctl) != 0) {
        return 1;
    }

    wk_args_init(&a);
    shown = 0;

    for (start = 0; shown < limit; start += WK_PAGE) {
        wk_args_adds(&a, "ZREVRANGE");
        wk_args_adds(&a, key);
        wk_args_addll(&a, start);
        wk_args_addll(&a, start + WK_PAGE - 1);

        ids = wk_ctl_command(ctl, &a);
        if (ids == NULL) {
            wk_args_free(&a);
            return 1;
        }

        if (ids->type != REDIS_REPLY_ARRAY || ids->elements == 0) {
            freeReplyObject(ids);
            break;
        }

        for (j = 0; j < ids->elements; j++) {
            wk_args_adds(&a, "HMGET");
            wk_args_addf(&a, WH_REDIS_EXECUTION "%s", ids->element[j]->str);
            wk_args_adds(&a, "workflow");
            wk_args_adds(&a, "status");
            wk_args_adds(&a, "createdAt");
            wk_args_adds(&a, "startedAt");
            wk_args_adds(&a, "finishedAt");
            wk_args_adds(&a, "parked");
            wk_args_adds(&a, "waiting");
            wk_append(ctl->c, &a);
        }

        for (j = 0; j < ids->elements; j++) {
            void  *p;

            if (redisGetReply(ctl->c, &p) != REDIS_OK) {
                freeReplyObject(ids);
                wk_args_free(&a);
                return wk_ctl_fail("redis: %s", ctl->c->errstr);
            }

            r = p;

            if (r->type != REDIS_REPLY_ARRAY || r->elements != 7
                || (wk_str(r->element[0]) == NULL
                    && wk_str(r->element[2]) == NULL)
                || shown >= limit)
            {
                /* expired records, or past the limit */
                freeReplyObject(r);
                continue;
            }

            st = wk_str(r->element[1]);
            status = st ? atoi(st) : WK_STATUS_QUEUED;

            if (filter && status != want) {
                freeReplyObject(r);
                continue;
            }

            s = wk_str(r->element[3]) ? wk_iso_parse(r->element[3]->str) : -1;
            f = wk_str(r->element[4]) ? wk_iso_parse(r->element[4]->str) : -1;

            if (s >= 0 && f >= 0 && status != WH_STATUS_STARTED
                && status != WK_STATUS_RETRY_NEEDED)
            {
                snprintf(dur, sizeof(dur), "%lldms", (long long) (f - s));

            } else {
                strcpy(dur, "-");
            }

            /* not a status of their own (SPEC §6): what holds them */
            name = wk_status_name(status);

            if (wk_str(r->element[6]) != NULL
                && (status == WH_STATUS_STARTED || st == NULL))
            {
                name = "waiting";

            } else if (st == NULL && wk_str(r->element[5]) != NULL
                       && strcmp(r->element[5]->str, "paused") == 0)
            {
                name = "paused";
            }

            if (want_name != NULL && strcmp(name, want_name) != 0) {
                freeReplyObject(r);
                continue;
            }

            printf("%-36s  %-20s  %-12s  %-24s  %s\n", ids->element[j]->str,
                   wk_str(r->element[0]) ? r->element[0]->str : "-",
                   name,
                   wk_str(r->element[2]) ? r->element[2]->str : "-", dur);
            shown++;

            freeReplyObject(r);
        }

        j = ids->elements;
        freeReplyObject(ids);

        if (j < WK_PAGE) {
            break;
        }
    }

    wk_args_free(&a);

    return 0;
}


/*
 * pause: later entries of the workflow are parked by the workers
 * (wk_gate.c).  resume: the parked executions go back to their queue in
 * the order they were parked, a batch per script so that Redis is never
 * held long; the workflow leaves webhook:paused only with the last
 * batch, so jobs arriving meanwhile are parked behind and keep the order.
 */

static int
wk_ctl_pause(wk_ctl_t *ctl, const char *key, int pause)
{
    long long    total;
    wk_args_t    a;
    redisReply  *r;

    static const char  lua[] =
        "local n = 0 "
        "while n < tonumber(ARGV[2]) do "
        "  local id = redis.call('LPOP', KEYS[2]) "
        "  if not id then "
        "    redis.call('SREM', KEYS[1], ARGV[1]) "
        "    return {n, 0} "
        "  end "
        "  local rec = 'webhook:execution:' .. id "
        "  local f = redis.call('HMGET', rec, 'workflow', 'revision', "
        "    'context', 'queue') "
        "  if f[1] and f[2] and f[3] then "
        "    redis.call('XADD', f[4] or ARGV[3], '*', 'execution', id, "
        "      'workflow', f[1], 'revision', f[2], 'context', f[3]) "
        "    redis.call('HSET', rec, 'parked', 'resumed') "
        "    n = n + 1 "
        "  end "
        "end "
        "return {n, 1}";

    if (wk_ctl_connect(ctl) != 0) {
        return 1;
    }

    wk_args_init(&a);

    if (pause) {
        wk_args_adds(&a, "SADD");
        wk_args_adds(&a, WH_REDIS_PAUSED);
        wk_args_adds(&a, key);
        r = wk_ctl_command(ctl, &a);
        wk_args_free(&a);

        if (r == NULL) {
            return 1;
        }

        freeReplyObject(r);
        printf("paused %s\n", key);
        return 0;
    }

    total = 0;

    for ( ;; ) {
        wk_args_adds(&a, "EVAL");
        wk_args_adds(&a, lua);
        wk_args_adds(&a, "2");
        wk_args_adds(&a, WH_REDIS_PAUSED);
        wk_args_addf(&a, WH_REDIS_PARKED "%s", key);
        wk_args_adds(&a, key);
        wk_args_adds(&a, "1000");
        wk_args_adds(&a, ctl->queue);
        r = wk_ctl_command(ctl, &a);

        if (r == NULL) {
            wk_args_free(&a);
            return 1;
        }

        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            wk_args_free(&a);
            return wk_ctl_fail("redis: unexpected reply");
        }

        total += r->element[0]->integer;

        if (r->element[1]->integer == 0) {
            freeReplyObject(r);
            break;
        }

        freeReplyObject(r);
    }

    wk_args_free(&a);
    printf("resumed %s: %lld queued again\n", key, total);

    return 0;
}


static int
wk_ctl_show(wk_ctl_t *ctl, const char *id)
{
    int           rc;
    char         *out;
    size_t        i, k;
    json_t       *o, *v;
    wk_args_t     a;
    redisReply   *r, *f;
    json_error_t  jerr;

    static const char  *order[] = {
        "workflow", "revision", "status", "attempts", "createdAt",
        "startedAt", "finishedAt", "nextAttemptAt", "error", "parent",
        "waiting", "parked", "context", "jobs", "output", NULL
    };

    if (wk_ctl_connect(ctl) != 0) {
        return 1;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "HGETALL");
    wk_args_addf(&a, WH_REDIS_EXECUTION "%s", id);
    r = wk_ctl_command(ctl, &a);
    wk_args_free(&a);

    if (r == NULL) {
        return 1;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        freeReplyObject(r);
        return wk_ctl_fail("no execution %s", id);
    }

    o = json_object();
    json_object_set_new(o, "id", json_string(id));

    /* the known fields in a fixed order, then any others */
    for (k = 0; ; k++) {
        for (i = 0; i + 1 < r->elements; i += 2) {
            f = r->element[i];

            if (order[k] != NULL ? strcmp(f->str, order[k]) != 0
                : json_object_get(o, f->str) != NULL)
            {
                continue;
            }

            f = r->element[i + 1];

            if (strcmp(r->element[i]->str, "status") == 0
                || strcmp(r->element[i]->str, "attempts") == 0)
            {
                v = json_integer(atoll(f->str));

            } else if (strcmp(r->element[i]->str, "context") == 0
                       || strcmp(r->element[i]->str, "jobs") == 0
                       || strcmp(r->element[i]->str, "output") == 0)
            {
                v = json_loadb(f->str, f->len,
                               JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
                if (v == NULL) {
                    v = json_stringn(f->str, f->len);
                }

            } else {
                v = json_stringn(f->str, f->len);
            }

            json_object_set_new(o, r->element[i]->str, v);
        }

        if (order[k] == NULL) {
            break;
        }
    }

    /* the child executions of subflow nodes, in one plain list */
    v = json_array();

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (strncmp(r->element[i]->str, "subflow:", 8) == 0) {
            json_array_append_new(v, json_stringn(r->element[i + 1]->str,
                                                  r->element[i + 1]->len));
        }
    }

    if (json_array_size(v) > 0) {
        json_object_set_new(o, "children", v);

    } else {
        json_decref(v);
    }

    freeReplyObject(r);

    out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);

    if (out == NULL) {
        return wk_ctl_fail("out of memory");
    }

    rc = printf("%s\n", out) < 0;
    free(out);

    return rc;
}


static int
wk_ctl_retry(wk_ctl_t *ctl, const char *id)
{
    char          nid[40];
    wk_args_t     a;
    redisReply   *r, *x;

    if (wk_ctl_connect(ctl) != 0) {
        return 1;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "HMGET");
    wk_args_addf(&a, WH_REDIS_EXECUTION "%s", id);
    wk_args_adds(&a, "workflow");
    wk_args_adds(&a, "revision");
    wk_args_adds(&a, "context");
    r = wk_ctl_command(ctl, &a);

    if (r == NULL) {
        wk_args_free(&a);
        return 1;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || wk_str(r->element[0]) == NULL || wk_str(r->element[1]) == NULL
        || wk_str(r->element[2]) == NULL)
    {
        freeReplyObject(r);
        wk_args_free(&a);
        return wk_ctl_fail("no execution %s", id);
    }

    /* the job would only become a dead letter */
    wk_args_adds(&a, "EXISTS");
    wk_args_addf(&a, WH_REDIS_WORKFLOW "%s", r->element[1]->str);
    x = wk_ctl_command(ctl, &a);

    if (x == NULL || x->type != REDIS_REPLY_INTEGER || x->integer != 1) {
        freeReplyObject(x);
        freeReplyObject(r);
        wk_args_free(&a);
        return wk_ctl_fail("workflow revision %s is not in Redis",
                           r->element[1]->str);
    }

    freeReplyObject(x);

    if (wk_uuid7(nid) != 0) {
        freeReplyObject(r);
        wk_args_free(&a);
        return wk_ctl_fail("no random numbers: %s", strerror(errno));
    }

    wk_args_adds(&a, "XADD");
    wk_args_adds(&a, ctl->queue);
    wk_args_adds(&a, "*");
    wk_args_adds(&a, "execution");
    wk_args_adds(&a, nid);
    wk_args_adds(&a, "workflow");
    wk_args_add(&a, r->element[0]->str, r->element[0]->len);
    wk_args_adds(&a, "revision");
    wk_args_add(&a, r->element[1]->str, r->element[1]->len);
    wk_args_adds(&a, "context");
    wk_args_add(&a, r->element[2]->str, r->element[2]->len);
    x = wk_ctl_command(ctl, &a);

    freeReplyObject(r);
    wk_args_free(&a);

    if (x == NULL) {
        return 1;
    }

    freeReplyObject(x);
    printf("%s\n", nid);

    return 0;
}


/*
 * retry ID --from NODE: the script the viewer runs too (wh_retry.h): the
 * new record starts with the jobs recorded before NODE, which the worker
 * resumes from, so the worker nodes before NODE are not run again.
 */

static int
wk_ctl_retry_from(wk_ctl_t *ctl, const char *id, const char *node)
{
    char          nid[40], ts[WH_ISO_LEN];
    wk_args_t     a;
    redisReply   *r;

    if (wk_ctl_connect(ctl) != 0) {
        return 1;
    }

    if (wk_uuid7(nid) != 0) {
        return wk_ctl_fail("no random numbers: %s", strerror(errno));
    }

    wh_iso_time(wk_now_ms(), ts);

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, WH_RETRY_SCRIPT);
    wk_args_adds(&a, "0");
    wk_args_adds(&a, id);
    wk_args_adds(&a, nid);
    wk_args_adds(&a, node);
    wk_args_adds(&a, ctl->queue);
    wk_args_adds(&a, ts);
    wk_args_adds(&a, "604800");
    r = wk_ctl_command(ctl, &a);
    wk_args_free(&a);

    if (r == NULL) {
        return 1;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        wk_ctl_fail("%s", strchr(r->str, ' ') ? strchr(r->str, ' ') + 1
                                              : r->str);
        freeReplyObject(r);
        return 1;
    }

    printf("%s\n", nid);
    freeReplyObject(r);

    return 0;
}


/*
 * webhookctl test, for a workflow with worker nodes that are not mocked:
 * the run goes to webhook-worker (wk_test.c says how); the answer comes
 * on a channel of this process, the jobs from the record.
 */

static int
wk_ctl_test_remote(void *data, const wh_workflow_t *wf, const char *id,
    const char *context, size_t context_len, const char **nodes,
    const size_t *node_lens, const char **values, size_t nmocks)
{
    wk_ctl_t *ctl = data;

    int            rc, status;
    char           ts[WH_ISO_LEN], channel[128];
    size_t         i, k;
    json_t        *jobs, *job, *msg, *out, *resp, *body, *v;
    wk_args_t      a;
    redisReply    *r;
    json_error_t   jerr;
    redisContext  *sub, *cmd;
    struct timeval tv;

    if (wk_ctl_connect(ctl) != 0) {
        return 2;
    }

    /* a second connection, made as the first, listens */
    cmd = ctl->c;
    ctl->c = NULL;

    if (wk_ctl_connect(ctl) != 0) {
        ctl->c = cmd;
        return 2;
    }

    sub = ctl->c;
    ctl->c = cmd;

    snprintf(channel, sizeof(channel), "webhook:reply:webhookctl:%ld:%s",
             (long) getpid(), id);

    r = redisCommand(sub, "SUBSCRIBE %s", channel);
    if (r == NULL) {
        redisFree(sub);
        return wk_ctl_fail("redis: %s", sub->errstr) + 1;
    }

    freeReplyObject(r);

    wk_args_init(&a);
    wk_args_adds(&a, "SET");
    wk_args_addf(&a, WH_REDIS_WORKFLOW "%s", wf->revision);
    wk_args_add(&a, wf->definition, wf->definition_len);
    wk_args_adds(&a, "NX");
    r = wk_ctl_command(ctl, &a);
    if (r == NULL) {
        wk_args_free(&a);
        redisFree(sub);
        return 2;
    }

    freeReplyObject(r);

    if (nmocks) {
        /* recorded jobs the worker takes instead of running the nodes */
        wh_iso_time(wk_now_ms(), ts);
        jobs = json_array();

        for (i = 0; i < nmocks; i++) {
            v = json_loads(values[i], JSON_DECODE_ANY, &jerr);

            /* enough for the iterations of a loop */
            for (k = 0; v && k < 100; k++) {
                job = json_pack("{s:s%,s:s,s:i,s:O,s:s,s:s}",
                                "nodeKey", nodes[i], node_lens[i],
                                "type", "mock", "status", 1, "result", v,
                                "startedAt", ts, "finishedAt", ts);
                json_array_append_new(jobs, job);
            }

            json_decref(v);
        }

        wk_args_adds(&a, "HSET");
        wk_args_addf(&a, WH_REDIS_EXECUTION "%s", id);
        wk_args_adds(&a, "status");
        wk_args_adds(&a, "0");
        wk_args_adds(&a, "workflow");
        wk_args_adds(&a, wf->key);
        wk_args_adds(&a, "revision");
        wk_args_adds(&a, wf->revision);
        wk_args_adds(&a, "context");
        wk_args_add(&a, context, context_len);
        wk_args_adds(&a, "attempts");
        wk_args_adds(&a, "0");
        wk_args_adds(&a, "createdAt");
        wk_args_adds(&a, ts);
        wk_args_adds(&a, "jobs");
        wk_args_addf(&a, "%s", json_dumps(jobs, JSON_COMPACT));
        json_decref(jobs);
        r = wk_ctl_command(ctl, &a);
        if (r == NULL) {
            wk_args_free(&a);
            redisFree(sub);
            return 2;
        }

        freeReplyObject(r);
    }

    wk_args_adds(&a, "XADD");
    wk_args_adds(&a, ctl->queue);
    wk_args_adds(&a, "*");
    wk_args_adds(&a, "execution");
    wk_args_adds(&a, id);
    wk_args_adds(&a, "workflow");
    wk_args_adds(&a, wf->key);
    wk_args_adds(&a, "revision");
    wk_args_adds(&a, wf->revision);
    wk_args_adds(&a, "context");
    wk_args_add(&a, context, context_len);
    wk_args_adds(&a, "reply");
    wk_args_adds(&a, channel);
    r = wk_ctl_command(ctl, &a);
    wk_args_free(&a);

    if (r == NULL) {
        redisFree(sub);
        return 2;
    }

    freeReplyObject(r);

    tv.tv_sec = 60;
    tv.tv_usec = 0;
    redisSetTimeout(sub, tv);

    msg = NULL;

    while (msg == NULL) {
        if (redisGetReply(sub, (void **) &r) != REDIS_OK || r == NULL) {
            redisFree(sub);
            return wk_ctl_fail("no answer from webhook-worker within 60 s "
                               "(is one running on queue %s?)", ctl->queue)
                   + 1;
        }

        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3
            && r->element[2]->type == REDIS_REPLY_STRING)
        {
            msg = json_loadb(r->element[2]->str, r->element[2]->len, 0,
                             &jerr);
        }

        freeReplyObject(r);
    }

    redisFree(sub);

    status = json_integer_value(json_object_get(msg, "status"));

    out = json_object();
    json_object_set_new(out, "executionId", json_string(id));
    json_object_set_new(out, "status", json_string(
        status == 1 ? "resolved" : status == -1 ? "failed"
        : status == -3 ? "aborted" : "error"));

    v = json_object_get(msg, "error");
    if (json_is_string(v)) {
        json_object_set(out, "error", v);
    }

    resp = json_object_get(msg, "response");

    if (json_is_object(resp)) {
        v = json_object_get(resp, "body");
        body = json_is_string(v)
               && json_is_true(json_object_get(resp, "json"))
               ? json_loads(json_string_value(v), JSON_DECODE_ANY, &jerr)
               : json_incref(v);
        resp = json_pack("{s:O,s:O,s:o}",
                         "statusCode", json_object_get(resp, "statusCode"),
                         "headers", json_object_get(resp, "headers"),
                         "body", body ? body : json_null());

    } else if (status == 1) {
        resp = json_pack("{s:i,s:[],s:{s:s,s:s}}", "statusCode", 200,
                         "headers", "body", "executionId", id,
                         "status", "resolved");

    } else {
        resp = json_pack("{s:i,s:[],s:{s:{s:s,s:s}}}", "statusCode", 500,
                         "headers", "body", "error", "code",
                         "workflow_failed", "message",
                         "the workflow did not resolve");
    }

    json_object_set_new(out, "response", resp);

    wk_args_adds(&a, "HGET");
    wk_args_addf(&a, WH_REDIS_EXECUTION "%s", id);
    wk_args_adds(&a, "jobs");
    r = wk_ctl_command(ctl, &a);
    wk_args_free(&a);

    jobs = NULL;
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        jobs = json_loadb(r->str, r->len, 0, &jerr);
    }

    freeReplyObject(r);

    json_object_set_new(out, "nodes", jobs ? jobs : json_array());

    rc = json_dumpf(out, stdout, JSON_COMPACT);
    printf("\n");
    json_decref(out);
    json_decref(msg);

    (void) rc;

    return status == 1 ? 0 : status == -1 ? 1 : 2;
}


static int
wk_ctl_dead(wk_ctl_t *ctl, int argc, char **argv)
{
    int          i;
    long         limit;
    size_t       j;
    wk_args_t    a;
    redisReply  *r, *e;
    const char  *exe, *wf, *err, *att;

    limit = 0;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (wk_ctl_limit(argv[++i], &limit) != 0) {
                return 1;
            }

        } else {
            return wk_ctl_fail("dead: unexpected \"%s\"", argv[i]);
        }
    }

    if (wk_ctl_connect(ctl) != 0) {
        return 1;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "XRANGE");
    wk_args_adds(&a, WH_REDIS_DEAD);
    wk_args_adds(&a, "-");
    wk_args_adds(&a, "+");

    if (limit) {
        wk_args_adds(&a, "COUNT");
        wk_args_addll(&a, limit);
    }

    r = wk_ctl_command(ctl, &a);
    wk_args_free(&a);

    if (r == NULL) {
        return 1;
    }

    for (j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++) {
        e = r->element[j];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
            continue;
        }

        exe = wk_str(wk_field(e->element[1], "execution"));
        wf = wk_str(wk_field(e->element[1], "workflow"));
        err = wk_str(wk_field(e->element[1], "error"));
        att = wk_str(wk_field(e->element[1], "attempts"));

        printf("%s\t%s\t%s\t%s\t%s\n", e->element[0]->str,
               exe ? exe : "-", wf ? wf : "-", err ? err : "-",
               att ? att : "-");
    }

    freeReplyObject(r);

    return 0;
}


static int
wk_ctl_revision(wk_ctl_t *ctl, const char *file, int publish)
{
    char            err[1024];
    wk_args_t       a;
    redisReply     *r;
    wh_workflow_t  *wf;

    wf = wh_workflow_load_file(file, err, sizeof(err));
    if (wf == NULL) {
        return wk_ctl_fail("%s", err);
    }

    if (publish) {
        if (wk_ctl_connect(ctl) != 0) {
            wh_workflow_free(wf);
            return 1;
        }

        wk_args_init(&a);
        wk_args_adds(&a, "SET");
        wk_args_addf(&a, WH_REDIS_WORKFLOW "%s", wf->revision);
        wk_args_add(&a, wf->definition, wf->definition_len);
        r = wk_ctl_command(ctl, &a);
        wk_args_free(&a);

        if (r == NULL) {
            wh_workflow_free(wf);
            return 1;
        }

        freeReplyObject(r);

        /* as nginx does: subflow nodes find it by key (SPEC §11) */
        wk_args_init(&a);
        wk_args_adds(&a, "SET");
        wk_args_addf(&a, WH_REDIS_WORKFLOW_KEY "%s", wf->key);
        wk_args_adds(&a, wf->revision);
        r = wk_ctl_command(ctl, &a);
        wk_args_free(&a);

        if (r == NULL) {
            wh_workflow_free(wf);
            return 1;
        }

        freeReplyObject(r);
    }

    printf("%s\n", wf->revision);
    wh_workflow_free(wf);

    return 0;
}


int
main(int argc, char **argv)
{
    int          i, rc;
    wk_ctl_t     ctl;
    const char  *cmd, *opt;

    memset(&ctl, 0, sizeof(ctl));
    ctl.queue = WH_REDIS_QUEUE_DEFAULT;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        opt = argv[i] + 2;

        if (strncmp(argv[i], "--", 2) == 0
            && (strcmp(opt, "redis") == 0 || strcmp(opt, "sentinel") == 0
                || strcmp(opt, "master") == 0
                || strncmp(opt, "redis-", 6) == 0))
        {
            if (i + 1 == argc) {
                return wk_ctl_fail("--%s needs a value", opt);
            }

            if (wk_redis_option(&ctl.addr, "webhookctl", opt, argv[++i])
                != 0)
            {
                return 2;
            }

        } else if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc) {
            ctl.queue = argv[++i];

        } else if (strcmp(argv[i], "--help") == 0
                   || strcmp(argv[i], "-h") == 0)
        {
            wk_ctl_usage(stdout);
            return 0;

        } else {
            wk_ctl_usage(stderr);
            return 2;
        }
    }

    if (i == argc) {
        wk_ctl_usage(stderr);
        return 2;
    }

    if (wk_redis_options_done(&ctl.addr, "webhookctl") != 0) {
        return 2;
    }

    cmd = argv[i++];

    if (strcmp(cmd, "executions") == 0) {
        rc = wk_ctl_executions(&ctl, argc - i, argv + i);

    } else if ((strcmp(cmd, "show") == 0 || strcmp(cmd, "retry") == 0
                || strcmp(cmd, "revision") == 0
                || strcmp(cmd, "publish") == 0
                || strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0)
               && argc - i == 1)
    {
        if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
            rc = wk_ctl_pause(&ctl, argv[i], cmd[0] == 'p');

        } else if (strcmp(cmd, "show") == 0) {
            rc = wk_ctl_show(&ctl, argv[i]);

        } else if (strcmp(cmd, "retry") == 0) {
            rc = wk_ctl_retry(&ctl, argv[i]);

        } else {
            rc = wk_ctl_revision(&ctl, argv[i], cmd[0] == 'p');
        }

    } else if (strcmp(cmd, "retry") == 0 && argc - i == 3
               && strcmp(argv[i + 1], "--from") == 0)
    {
        rc = wk_ctl_retry_from(&ctl, argv[i], argv[i + 2]);

    } else if (strcmp(cmd, "dead") == 0) {
        rc = wk_ctl_dead(&ctl, argc - i, argv + i);

    } else if (strcmp(cmd, "test") == 0) {
        rc = wk_test_main(argc - i, argv + i, wk_ctl_test_remote, &ctl);

    } else {
        wk_ctl_usage(stderr);
        return 2;
    }

    if (ctl.c != NULL) {
        redisFree(ctl.c);
    }

    return rc;
}
