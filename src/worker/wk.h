/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhook-worker and webhookctl: shared declarations.  The Redis layout
 * is the one of wh_redis_keys.h (SPEC §6).
 */

#ifndef WK_H
#define WK_H

#include <stdint.h>
#include <stddef.h>
#include <hiredis/hiredis.h>

#include "wh_exec.h"
#include "wh_redis_fields.h"
#include "wh_redis_keys.h"
#include "wh_time.h"
#include "wk_loop.h"
#include "wk_net.h"


#define WK_STATUS_RETRY_NEEDED  -6
#define WK_STATUS_QUEUED        100     /* no status field: not started */

#define WK_LOG_BUF              65536   /* log lines written at once */
#define WK_BACKOFF_MAX          (5 * 60 * 1000)
#define WK_WAIT_MS              1000    /* --replicas: WAIT's timeout */


typedef struct {
    char                path[256];      /* host, or the socket's path */
    int                 port;           /* 0: unix socket */
} wk_addr_t;


/* wk_util.c: helpers shared by the worker and webhookctl */

int wk_addr_parse(const char *s, wk_addr_t *a);

int wk_time_parse(const char *s, int64_t *ms);
int64_t wk_now_ms(void);
int64_t wk_iso_parse(const char *s);              /* -1 when invalid */
int64_t wk_uuid7_ms(const char *id);              /* -1: not a UUIDv7 */
int wk_uuid7(char *out);                          /* 37 bytes */

const char *wk_status_name(int status);
int wk_status_parse(const char *s, int *status);  /* name or number */

void wk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* on: lines wait for wk_log_flush(); off: each is written at once */
void wk_log_batch(int on);
void wk_log_flush(void);

/* A message in mem, at most 1023 bytes: errors outlive a node's frame. */
const char *wk_fmt(wh_mem_t *mem, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The wait before the attempt after attempt n: 1s, 2s, 4s … 5 min. */
int64_t wk_backoff_ms(int attempts);


/* wk_redis.c */

#define WK_SENTINELS_MAX  8

/*
 * Where Redis is and how to log in.  With sentinels, addr is the primary
 * they named last, asked again on every connect.
 */
typedef struct {
    wk_addr_t           addr;
    wk_addr_t           sentinels[WK_SENTINELS_MAX];
    int                 nsentinels;
    const char         *master;
    int                 db;
    const char         *user;
    char               *password;       /* from the file or environment */
} wk_redis_t;

/*
 * The Redis options of both programs: --redis, --sentinel, --master,
 * --redis-db, --redis-user, --redis-password-file, and --redis-password,
 * refused.  0, or -1 with a message on stderr.
 */
int wk_redis_option(wk_redis_t *r, const char *prog, const char *name,
    const char *value);
/* After the options: the environment's password, the checks. */
int wk_redis_options_done(wk_redis_t *r, const char *prog);

/*
 * A connection that has logged in and selected the database; with
 * sentinels, to the primary they name, checked with ROLE.
 */
redisContext *wk_connect(wk_redis_t *r, int timeout_ms, char *err,
    size_t errlen);


/*
 * Argument vectors for redisAppendCommandArgv(): strings are borrowed
 * unless added with wk_args_addf() or wk_args_addll(), which copy.
 */

typedef struct {
    int                 n;
    int                 cap;
    const char        **argv;
    size_t             *lens;
    char              **owned;
    int                 nowned;
    int                 failed;
} wk_args_t;

void wk_args_init(wk_args_t *a);
void wk_args_reset(wk_args_t *a);
void wk_args_free(wk_args_t *a);
void wk_args_add(wk_args_t *a, const char *s, size_t len);
void wk_args_adds(wk_args_t *a, const char *s);
void wk_args_addll(wk_args_t *a, long long n);
void wk_args_addf(wk_args_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends the command to c's output buffer and resets a: 0 or -1. */
int wk_append(redisContext *c, wk_args_t *a);

/* Runs one command: the reply, or NULL when the connection failed. */
redisReply *wk_command(redisContext *c, wk_args_t *a);

/*
 * Reads n pipelined replies and returns the last one (the others are
 * freed); NULL when the connection failed or an earlier reply was an
 * error (logged with what).
 */
redisReply *wk_replies(redisContext *c, int n, const char *what);

/* The same, without reading the deferred replies first (see below). */
redisReply *wk_replies_now(redisContext *c, int n, const char *what);

/*
 * Replies put off on c: flush(data) reads them, and wk_command() and
 * wk_replies() call it first, so replies are always read in order.
 */
void wk_redis_deferred(redisContext *c, void (*flush)(void *data),
    void *data);

/* The value of field name in a flat [field, value, …] array reply. */
redisReply *wk_field(redisReply *r, const char *name);


/* webhook-worker */

typedef struct {
    wk_redis_t          redis;
    const char         *queue;
    const char         *group;
    char                consumer[128];
    int                 concurrency;
    int                 max_attempts;
    int64_t             claim_after_ms;
    int64_t             retention_ms;
    int                 replicas;       /* WAIT after each worker node */
    const char         *smtp;
    char              **env;            /* names $env may read */
    size_t              nenv;
    const char         *resume_url;     /* --resume-url: wait nodes' base */
    char               *resume_secret;  /* --resume-secret-file's text */
    size_t              resume_secret_len;
    wk_net_t            net;            /* --allow-net */
} wk_conf_t;

typedef struct wk_run_s  wk_run_t;
typedef struct wk_wf_s   wk_wf_t;

typedef struct {
    char                id[48];         /* stream entry id */
    int64_t             due_ms;
} wk_wait_t;

struct wk_worker_s {
    wk_conf_t          *conf;
    redisContext       *cmd;            /* records, acks, claims */

    wk_run_t           *runs;           /* in flight */
    int                 nruns;
    int                 nfinishing;     /* of them, done, being recorded */

    wk_wait_t          *waits;          /* errored runs awaiting a retry */
    size_t              nwaits;
    size_t              wait_cap;

    wk_wf_t            *wfs;            /* parsed workflows by revision */
    size_t              nwfs;

    wk_loop_t           loop;           /* watches and timers */

    char              **acked;          /* ids to drop from the stream */
    size_t              nacked;
    size_t              acked_cap;
    int64_t             stream_trimmed; /* ms */
};


/* wk_run.c */

/*
 * Starts the executions of stream entries ([[id, [field, value, …]], …]).
 * fresh: a first delivery (XREADGROUP ">").
 */
void wk_run_entries(wk_worker_t *w, redisReply *entries, int fresh,
    redisContext *c);

/* Can a run go on without waiting? */
int wk_run_ready(wk_worker_t *w);

/* Advances every run that can go on; returns how many ended. */
int wk_run_step(wk_worker_t *w);

/* Is the stream entry id running or awaiting its retry here? */
int wk_run_owned(wk_worker_t *w, const char *id);

/*
 * Resets the idle time of the entries this worker holds, running or
 * awaiting a retry, so that nobody reclaims them meanwhile.
 */
void wk_run_heartbeat(wk_worker_t *w);

/* Drops index entries of expired records. */
void wk_run_trim(wk_worker_t *w);
/*
 * Reads the replies to final transactions that have come (the command
 * connection is readable): 0, or -1 when the connection failed.
 */
int wk_run_fin_read(wk_worker_t *w);
/*
 * Reads the replies still owed to final transactions: before a command
 * whose replies are read later is appended to the command connection.
 */
void wk_run_settle(wk_worker_t *w);

/* Drops the entries acknowledged since the last call from the stream. */
void wk_run_trim_stream(wk_worker_t *w);

/* Forgets every run (the connection broke): the entries stay pending. */
void wk_run_abandon_all(wk_worker_t *w);

void wk_run_cleanup(wk_worker_t *w);

#endif /* WK_H */
