/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhook-worker: runs the jobs of a Redis stream (SPEC §6).
 *
 * One thread and one event loop.  Two connections: "rd" only ever waits
 * in XREADGROUP BLOCK, its socket in the poll set, so that the loop stays
 * free for the runs; "cmd" carries the short commands (records, acks,
 * claims) synchronously.  The loop also reclaims entries that a dead
 * consumer left pending (XAUTOCLAIM after --claim-after), keeps the idle
 * time of its own entries low while they run or wait for a retry, and
 * claims those retries back when they are due.
 *
 * SIGTERM and SIGINT are blocked except inside ppoll(), so a Redis
 * command is never interrupted half way; they stop the reading, the runs
 * in flight end and are recorded, then the process exits 0.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "wk.h"
#include "wk_script.h"
#include "wk_flow.h"


#define WK_BLOCK_MAX      1000      /* ms an XREADGROUP waits at most */
#define WK_RECONNECT      1000
#define WK_CMD_TIMEOUT    10000
#define WK_TRIM_EVERY     60000
#define WK_STREAM_TRIM_EVERY  50    /* ms between trims of a busy stream */
#define WK_WAIT_SWEEP_MS  500       /* ms between looks for due waits */


typedef struct {
    redisContext       *c;
    int                 outstanding;    /* an XREADGROUP awaits its reply */
} wk_reader_t;


static volatile sig_atomic_t  wk_stop;


static void
wk_usage(FILE *f)
{
    fprintf(f,
        "usage: webhook-worker [options]\n"
        "\n"
        "Runs the webhook jobs queued in a Redis stream and records their\n"
        "executions.\n"
        "\n"
        "  --redis ADDR          host:port or unix:/path (127.0.0.1:6379)\n"
        "  --sentinel ADDR,...   ask these Sentinels for the primary\n"
        "  --master NAME         ... of this name (with --sentinel)\n"
        "  --redis-db N          SELECT this database (0)\n"
        "  --redis-user NAME     ACL user (with a password)\n"
        "  --redis-password-file FILE\n"
        "                        the Redis password, first line of FILE;\n"
        "                        or WEBHOOK_REDIS_PASSWORD in the "
        "environment\n"
        "  --replicas N          each worker node's result confirmed on N\n"
        "                        replicas (WAIT) before the next node\n"
        "  --queue NAME          the stream of jobs (" WH_REDIS_QUEUE_DEFAULT
        ")\n"
        "  --group NAME          consumer group (" WH_REDIS_GROUP_DEFAULT ")\n"
        "  --consumer NAME       consumer name (hostname-pid)\n"
        "  --concurrency N       executions in flight at most (128)\n"
        "  --max-attempts N      attempts before a dead letter (5)\n"
        "  --claim-after TIME    reclaim entries idle that long (60s)\n"
        "  --retention TIME      keep execution records that long (7d)\n"
        "  --smtp URL            the mail server of mail nodes\n"
        "  --env NAME,...        environment variables $env may read\n"
        "  --resume-url BASE     the base of wait nodes' resume URLs\n"
        "  --resume-secret-file FILE  the secret of their tokens\n"
        "  --allow-net CIDR,...  addresses request nodes may reach besides\n"
        "                        public ones, e.g. 127.0.0.0/8,::1/128\n"
        "  --help                this text\n"
        "\n"
        "TIME: a number and a unit: ms, s, m, h, d (30s, 500ms, 7d).\n");
}


static void
wk_signal(int signo)
{
    wk_stop = 1;
}


static int
wk_int_arg(const char *name, const char *s, int min, int *out)
{
    long   n;
    char  *end;

    errno = 0;
    n = strtol(s, &end, 10);

    if (errno || end == s || *end != '\0' || n < min || n > INT_MAX) {
        fprintf(stderr, "webhook-worker: invalid %s \"%s\"\n", name, s);
        return -1;
    }

    *out = (int) n;

    return 0;
}


static int
wk_env_arg(wk_conf_t *conf, const char *s)
{
    char    *copy, *name, *save;
    char   **env;

    copy = strdup(s);
    if (copy == NULL) {
        return -1;
    }

    for (name = strtok_r(copy, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save))
    {
        env = realloc(conf->env, (conf->nenv + 1) * sizeof(char *));
        if (env == NULL) {
            free(copy);
            return -1;
        }

        conf->env = env;

        conf->env[conf->nenv] = strdup(name);
        if (conf->env[conf->nenv] == NULL) {
            free(copy);
            return -1;
        }

        conf->nenv++;
    }

    free(copy);

    return 0;
}


/* The resume secret: the file's text without a trailing newline. */

static int
wk_secret_file(wk_conf_t *conf, const char *path)
{
    FILE    *f;
    char     buf[4096];
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "webhook-worker: --resume-secret-file %s: %s\n",
                path, strerror(errno));
        return -1;
    }

    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (n == 0 || n == sizeof(buf)) {
        fprintf(stderr, "webhook-worker: --resume-secret-file %s: empty or "
                "longer than 4 KB\n", path);
        return -1;
    }

    conf->resume_secret = malloc(n + 1);
    if (conf->resume_secret == NULL) {
        return -1;
    }

    memcpy(conf->resume_secret, buf, n);
    conf->resume_secret[n] = '\0';
    conf->resume_secret_len = n;
    explicit_bzero(buf, sizeof(buf));

    return 0;
}


static int
wk_options(int argc, char **argv, wk_conf_t *conf)
{
    int          c, idx, rc;
    char         host[64], *url;
    size_t       len;
    const char  *bad;

    static const struct option  opts[] = {
        { "redis", required_argument, NULL, 'r' },
        { "sentinel", required_argument, NULL, 'r' },
        { "master", required_argument, NULL, 'r' },
        { "redis-db", required_argument, NULL, 'r' },
        { "redis-user", required_argument, NULL, 'r' },
        { "redis-password-file", required_argument, NULL, 'r' },
        { "redis-password", required_argument, NULL, 'r' },
        { "replicas", required_argument, NULL, 'W' },
        { "queue", required_argument, NULL, 'q' },
        { "group", required_argument, NULL, 'g' },
        { "consumer", required_argument, NULL, 'c' },
        { "concurrency", required_argument, NULL, 'n' },
        { "max-attempts", required_argument, NULL, 'a' },
        { "claim-after", required_argument, NULL, 'C' },
        { "retention", required_argument, NULL, 'R' },
        { "smtp", required_argument, NULL, 's' },
        { "env", required_argument, NULL, 'e' },
        { "resume-url", required_argument, NULL, 'U' },
        { "resume-secret-file", required_argument, NULL, 'S' },
        { "allow-net", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    conf->queue = WH_REDIS_QUEUE_DEFAULT;
    conf->group = WH_REDIS_GROUP_DEFAULT;
    conf->concurrency = 128;
    conf->max_attempts = 5;
    conf->claim_after_ms = 60 * 1000;
    conf->retention_ms = 7LL * 86400 * 1000;

    if (gethostname(host, sizeof(host)) != 0) {
        strcpy(host, "localhost");
    }

    host[sizeof(host) - 1] = '\0';
    snprintf(conf->consumer, sizeof(conf->consumer), "%s-%d", host,
             (int) getpid());

    while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        switch (c) {

        case 'r':
            if (wk_redis_option(&conf->redis, "webhook-worker",
                                opts[idx].name, optarg)
                != 0)
            {
                return -1;
            }

            break;

        case 'q':
            conf->queue = optarg;
            break;

        case 'g':
            conf->group = optarg;
            break;

        case 'c':
            if (strlen(optarg) >= sizeof(conf->consumer) || *optarg == '\0') {
                fprintf(stderr, "webhook-worker: invalid consumer\n");
                return -1;
            }

            strcpy(conf->consumer, optarg);
            break;

        case 'n':
            if (wk_int_arg("concurrency", optarg, 1, &conf->concurrency)) {
                return -1;
            }

            break;

        case 'a':
            if (wk_int_arg("max-attempts", optarg, 1, &conf->max_attempts)) {
                return -1;
            }

            break;

        case 'C':
            if (wk_time_parse(optarg, &conf->claim_after_ms) != 0
                || conf->claim_after_ms < 10)
            {
                fprintf(stderr, "webhook-worker: invalid claim-after \"%s\""
                        "\n", optarg);
                return -1;
            }

            break;

        case 'R':
            if (wk_time_parse(optarg, &conf->retention_ms) != 0
                || conf->retention_ms < 1000)
            {
                fprintf(stderr, "webhook-worker: invalid retention \"%s\"\n",
                        optarg);
                return -1;
            }

            break;

        case 'W':
            if (wk_int_arg("replicas", optarg, 0, &conf->replicas)) {
                return -1;
            }

            break;

        case 's':
            conf->smtp = optarg;
            break;

        case 'e':
            if (wk_env_arg(conf, optarg) != 0) {
                fprintf(stderr, "webhook-worker: out of memory\n");
                return -1;
            }

            break;

        case 'U':
            if (*optarg == '\0' || strchr(optarg, '?') != NULL) {
                fprintf(stderr, "webhook-worker: invalid resume-url \"%s\""
                        " (a URL without a query: https://host/resume/)\n",
                        optarg);
                return -1;
            }

            conf->resume_url = optarg;

            /* <BASE><id>/<key>: "…/resume" names the same location */
            if (optarg[strlen(optarg) - 1] != '/') {
                if (asprintf(&url, "%s/", optarg) < 0) {
                    fprintf(stderr, "webhook-worker: out of memory\n");
                    return -1;
                }

                conf->resume_url = url;
            }

            break;

        case 'S':
            if (wk_secret_file(conf, optarg) != 0) {
                return -1;
            }

            break;

        case 'N':
            rc = wk_net_allow(&conf->net, optarg, &bad, &len);

            if (rc == -1) {
                fprintf(stderr, "webhook-worker: invalid allow-net \"%.*s\""
                        " (CIDR: 10.0.0.0/8, ::1/128, 127.0.0.1)\n",
                        (int) len, bad);
                return -1;
            }

            if (rc != 0) {
                fprintf(stderr, "webhook-worker: out of memory\n");
                return -1;
            }

            break;

        case 'h':
            wk_usage(stdout);
            exit(0);

        default:
            wk_usage(stderr);
            return -1;
        }
    }

    if (optind < argc) {
        fprintf(stderr, "webhook-worker: unexpected argument \"%s\"\n",
                argv[optind]);
        wk_usage(stderr);
        return -1;
    }

    if (wk_redis_options_done(&conf->redis, "webhook-worker") != 0) {
        return -1;
    }

    if ((conf->resume_url == NULL) != (conf->resume_secret == NULL)) {
        fprintf(stderr, "webhook-worker: --resume-url and "
                "--resume-secret-file go together\n");
        return -1;
    }

    return 0;
}


/*
 * The group starts at the beginning of the stream: jobs queued before
 * the first worker ever ran must run too.  An existing group is kept.
 */

static int
wk_group_create(wk_worker_t *w)
{
    int          rc;
    wk_args_t    a;
    redisReply  *r;

    wk_args_init(&a);
    wk_args_adds(&a, "XGROUP");
    wk_args_adds(&a, "CREATE");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, w->conf->group);
    wk_args_adds(&a, "0");
    wk_args_adds(&a, "MKSTREAM");
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    if (r == NULL) {
        wk_log("redis: XGROUP CREATE: %s", w->cmd->errstr);
        return -1;
    }

    rc = 0;

    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
    {
        wk_log("redis: XGROUP CREATE: %s", r->str);
        rc = -1;
    }

    freeReplyObject(r);

    return rc;
}


static void
wk_disconnect(wk_worker_t *w, wk_reader_t *rd)
{
    if (w->cmd != NULL) {
        redisFree(w->cmd);
        w->cmd = NULL;
    }

    if (rd->c != NULL) {
        redisFree(rd->c);
        rd->c = NULL;
    }

    rd->outstanding = 0;

    /* their entries stay pending: reclaimed after --claim-after */
    wk_run_abandon_all(w);
}


static int
wk_connect_all(wk_worker_t *w, wk_reader_t *rd, int *logged)
{
    char            err[256];
    struct timeval  tv;

    w->cmd = wk_connect(&w->conf->redis, WK_CMD_TIMEOUT, err, sizeof(err));

    if (w->cmd != NULL) {
        rd->c = wk_connect(&w->conf->redis, WK_CMD_TIMEOUT, err,
                           sizeof(err));
    }

    if (w->cmd == NULL || rd->c == NULL) {
        if (!*logged) {
            wk_log("redis: cannot connect: %s; retrying", err);
            *logged = 1;
        }

        wk_disconnect(w, rd);
        return -1;
    }

    tv.tv_sec = WK_CMD_TIMEOUT / 1000;
    tv.tv_usec = 0;
    redisSetTimeout(w->cmd, tv);
    redisEnableKeepAlive(w->cmd);
    redisEnableKeepAlive(rd->c);

    if (wk_group_create(w) != 0) {
        wk_disconnect(w, rd);
        return -1;
    }

    if (*logged) {
        wk_log("redis: connected");
        *logged = 0;
    }

    return 0;
}


static int
wk_read_send(wk_worker_t *w, wk_reader_t *rd, int count, int64_t block)
{
    int        done;
    wk_args_t  a;

    wk_args_init(&a);
    wk_args_adds(&a, "XREADGROUP");
    wk_args_adds(&a, "GROUP");
    wk_args_adds(&a, w->conf->group);
    wk_args_adds(&a, w->conf->consumer);
    wk_args_adds(&a, "COUNT");
    wk_args_addll(&a, count);
    wk_args_adds(&a, "BLOCK");
    wk_args_addll(&a, block);
    wk_args_adds(&a, "STREAMS");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, ">");

    if (wk_append(rd->c, &a) != 0) {
        wk_args_free(&a);
        return -1;
    }

    wk_args_free(&a);

    do {
        if (redisBufferWrite(rd->c, &done) != REDIS_OK) {
            wk_log("redis: XREADGROUP: %s", rd->c->errstr);
            return -1;
        }
    } while (!done);

    rd->outstanding = 1;

    return 0;
}




/* The reader's socket is readable: 0, or -1 when the connection broke. */

static int
wk_read_reply(wk_worker_t *w, wk_reader_t *rd)
{
    void        *p;
    size_t       i;
    redisReply  *r, *s;

    if (redisBufferRead(rd->c) != REDIS_OK) {
        wk_log("redis: XREADGROUP: %s", rd->c->errstr);
        return -1;
    }

    if (redisGetReplyFromReader(rd->c, &p) != REDIS_OK) {
        wk_log("redis: XREADGROUP: %s", rd->c->errstr);
        return -1;
    }

    if (p == NULL) {
        return 0;
    }

    rd->outstanding = 0;
    r = p;

    if (r->type == REDIS_REPLY_ERROR) {
        wk_log("redis: XREADGROUP: %s", r->str);

        if (strncmp(r->str, "NOGROUP", 7) == 0) {
            /* the stream was deleted */
            wk_group_create(w);
        }

    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++) {
            s = r->element[i];

            if (s->type == REDIS_REPLY_ARRAY && s->elements == 2) {
                wk_run_entries(w, s->element[1], 1, rd->c);
            }
        }
    }

    freeReplyObject(r);

    return 0;
}


/* Entries abandoned by a dead consumer; returns the next cursor wait. */

static int64_t
wk_autoclaim(wk_worker_t *w, char *cursor, size_t cursor_size, int count)
{
    wk_args_t    a;
    redisReply  *r;
    int64_t      again;

    wk_args_init(&a);
    wk_args_adds(&a, "XAUTOCLAIM");
    wk_args_adds(&a, w->conf->queue);
    wk_args_adds(&a, w->conf->group);
    wk_args_adds(&a, w->conf->consumer);
    wk_args_addll(&a, w->conf->claim_after_ms);
    wk_args_adds(&a, cursor);
    wk_args_adds(&a, "COUNT");
    wk_args_addll(&a, count);
    r = wk_command(w->cmd, &a);
    wk_args_free(&a);

    again = w->conf->claim_after_ms / 2;
    again = again < 100 ? 100 : again > 5000 ? 5000 : again;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            wk_log("redis: XAUTOCLAIM: %s", r ? r->str : w->cmd->errstr);

            if (r != NULL && strncmp(r->str, "NOGROUP", 7) == 0) {
                wk_group_create(w);
            }
        }

        freeReplyObject(r);
        return again;
    }

    snprintf(cursor, cursor_size, "%s", r->element[0]->str);

    if (r->element[1]->type == REDIS_REPLY_ARRAY
        && r->element[1]->elements > 0)
    {
        wk_log("reclaimed %zu entries", r->element[1]->elements);
    }

    wk_run_entries(w, r->element[1], 0, w->cmd);
    freeReplyObject(r);

    /* more to scan: soon again */
    return strcmp(cursor, "0-0") == 0 ? again : 0;
}


/*
 * Every request or mail node in flight has a socket and a script node a
 * pipe: --concurrency 1000 needs more descriptors than the usual soft
 * limit of 1024, so the soft limit is raised to the hard one.
 */

static void
wk_nofile(wk_conf_t *conf)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }

    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;

        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            wk_log("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }

    if (rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur < (rlim_t) conf->concurrency + 64)
    {
        wk_log("warning: %llu file descriptors at most, for --concurrency "
               "%d", (unsigned long long) rl.rlim_cur, conf->concurrency);
    }
}


/* Retries that are due, claimed back from the group's pending list. */

static void
wk_due(wk_worker_t *w, int64_t now)
{
    size_t       i;
    wk_args_t    a;
    wk_wait_t    wait;
    redisReply  *r;

    i = 0;

    while (i < w->nwaits && w->nruns < w->conf->concurrency) {
        if (w->waits[i].due_ms > now) {
            i++;
            continue;
        }

        wait = w->waits[i];
        w->waits[i] = w->waits[--w->nwaits];

        wk_args_init(&a);
        wk_args_adds(&a, "XCLAIM");
        wk_args_adds(&a, w->conf->queue);
        wk_args_adds(&a, w->conf->group);
        wk_args_adds(&a, w->conf->consumer);
        wk_args_adds(&a, "0");
        wk_args_adds(&a, wait.id);
        r = wk_command(w->cmd, &a);
        wk_args_free(&a);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            wk_log("redis: XCLAIM %s: %s", wait.id,
                   r ? r->str : w->cmd->errstr);
            freeReplyObject(r);
            return;
        }

        /* empty when someone else has finished it meanwhile */
        wk_run_entries(w, r, 0, w->cmd);
        freeReplyObject(r);
    }
}


int
main(int argc, char **argv)
{
    int               logged, stopping, rc;
    size_t            i, nown;
    char              cursor[64];
    int64_t           now, next_connect, next_claim, next_beat, next, block;
    int64_t           beat_every, next_trim, next_sweep;
    sigset_t          block_set, wait_set;
    wk_conf_t         conf;
    wk_worker_t       w;
    wk_reader_t       rd;
    struct pollfd     own[2];
    struct sigaction  sa;

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    memset(&rd, 0, sizeof(rd));

    /*
     * The script nodes' helper first, before any option, password file,
     * credential or job is read (wk_script.h); it wipes its copy of the
     * environment and the arguments.
     */
    if (wk_script_helper_start(1, argv) != 0) {
        fprintf(stderr, "webhook-worker: the script helper cannot start: "
                "%s\n", strerror(errno));
        return 1;
    }

    if (wk_options(argc, argv, &conf) != 0) {
        return 2;
    }

    w.conf = &conf;
    wk_wait_init(&conf);

    wk_nofile(&conf);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wk_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sigemptyset(&block_set);
    sigaddset(&block_set, SIGTERM);
    sigaddset(&block_set, SIGINT);
    sigprocmask(SIG_BLOCK, &block_set, &wait_set);
    sigdelset(&wait_set, SIGTERM);
    sigdelset(&wait_set, SIGINT);

    wk_log("webhook-worker: queue %s, group %s, consumer %s, "
           "concurrency %d", conf.queue, conf.group, conf.consumer,
           conf.concurrency);

    beat_every = conf.claim_after_ms / 3;
    strcpy(cursor, "0-0");
    logged = 0;
    stopping = 0;
    next_connect = 0;
    next_claim = 0;
    next_beat = 0;
    next_trim = 0;
    next_sweep = 0;

    /*
     * Freed memory stays in the heap between batches of runs instead of
     * going back and forth to the kernel (brk) with every batch.
     */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);

    wk_log_batch(1);

    for ( ;; ) {
        now = wk_now_ms();

        if (wk_stop && !stopping) {
            stopping = 1;
            wk_log("stopping: %d executions in flight", w.nruns);

            /* a delay is not waited for: its due time is recorded */
            wk_flow_stop(&w);
        }

        if (stopping && w.nruns == 0 && !rd.outstanding) {
            break;
        }

        if (w.cmd == NULL) {
            if (stopping) {
                break;
            }

            if (now >= next_connect
                && wk_connect_all(&w, &rd, &logged) != 0)
            {
                next_connect = now + WK_RECONNECT;
            }
        }

        if (w.cmd != NULL && !stopping) {
            if (now >= next_beat) {
                wk_run_heartbeat(&w);
                next_beat = now + beat_every;
            }

            wk_due(&w, now);

            if (now >= next_sweep) {
                wk_wait_sweep(&w);
                next_sweep = now + WK_WAIT_SWEEP_MS;
            }

            if (now >= next_trim) {
                wk_run_trim(&w);
                next_trim = now + WK_TRIM_EVERY;
            }

            if (now >= next_claim && !rd.outstanding
                && w.nruns - w.nfinishing < conf.concurrency)
            {
                next_claim = now + wk_autoclaim(&w, cursor, sizeof(cursor),
                                                conf.concurrency - w.nruns
                                                + w.nfinishing);
            }
        }

        wk_run_step(&w);

        /* at once when idle, so that a quiet queue is an empty stream */
        if (w.nacked && w.cmd != NULL && !w.cmd->err
            && (w.nruns == 0
                || wk_now_ms() - w.stream_trimmed >= WK_STREAM_TRIM_EVERY))
        {
            wk_run_trim_stream(&w);
        }

        if (w.cmd != NULL && w.cmd->err) {
            wk_log("redis: %s", w.cmd->errstr);
            wk_disconnect(&w, &rd);
            next_connect = now + WK_RECONNECT;
            continue;
        }

        /* when to look at claims, heartbeats and retries again */
        next = stopping ? now + WK_BLOCK_MAX : next_claim;
        next = next_beat < next ? next_beat : next;

        if (w.nacked
            && w.stream_trimmed + WK_STREAM_TRIM_EVERY < next)
        {
            next = w.stream_trimmed + WK_STREAM_TRIM_EVERY;
        }

        for (i = 0; i < w.nwaits; i++) {
            if (w.waits[i].due_ms < next) {
                next = w.waits[i].due_ms;
            }
        }

        if (w.cmd == NULL) {
            next = next_connect;
        }

        now = wk_now_ms();
        block = next - now;
        block = block < 1 ? 1 : block > WK_BLOCK_MAX ? WK_BLOCK_MAX : block;

        if (w.cmd != NULL && !stopping && !rd.outstanding
            && w.nruns - w.nfinishing < conf.concurrency)
        {
            /*
             * Runs being recorded no longer count: the next ones are
             * read and computed while Redis records them.
             */
            if (wk_read_send(&w, &rd,
                             conf.concurrency - w.nruns + w.nfinishing,
                             block)
                != 0)
            {
                wk_disconnect(&w, &rd);
                next_connect = now + WK_RECONNECT;
                continue;
            }
        }

        if (rd.outstanding) {
            /* the read's own block bounds the wait */
            block = WK_BLOCK_MAX + 1000;
        }

        /* the reader; the replies to final transactions, while due */
        own[0].fd = rd.outstanding ? rd.c->fd : -1;
        own[0].events = POLLIN;
        nown = 1;

        if (w.cmd != NULL && w.nfinishing > 0) {
            own[1].fd = w.cmd->fd;
            own[1].events = POLLIN;
            nown = 2;
        }

        if (wk_run_ready(&w)) {
            block = 0;
        }

        wk_log_flush();

        rc = wk_loop_poll(&w, own, nown, block, &wait_set);

        if (rc < 0 && errno == ENOMEM) {
            wk_log("out of memory");
            break;
        }

        if (rc < 0 && errno != EINTR) {
            wk_log("ppoll: %s", strerror(errno));
            break;
        }

        if (rc < 0) {
            continue;
        }

        if (nown == 2 && own[1].revents && w.cmd != NULL
            && wk_run_fin_read(&w) != 0)
        {
            wk_disconnect(&w, &rd);
            next_connect = wk_now_ms() + WK_RECONNECT;
        }

        if (own[0].revents && rd.outstanding
            && wk_read_reply(&w, &rd) != 0)
        {
            wk_disconnect(&w, &rd);
            next_connect = wk_now_ms() + WK_RECONNECT;
        }

        wk_loop_dispatch(&w);
    }

    wk_log_batch(0);

    /* what finished last leaves the stream before we go */
    if (w.nacked && w.cmd != NULL && !w.cmd->err) {
        wk_run_trim_stream(&w);
    }

    wk_log("webhook-worker: stopped");

    wk_run_cleanup(&w);
    wk_loop_free(&w);

    if (w.cmd != NULL) {
        redisFree(w.cmd);
    }

    if (rd.c != NULL) {
        redisFree(rd.c);
    }

    while (conf.nenv) {
        free(conf.env[--conf.nenv]);
    }

    free(conf.env);
    wk_net_free(&conf.net);

    return 0;
}
