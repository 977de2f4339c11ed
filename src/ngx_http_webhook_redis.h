/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Redis connections of a worker process: hiredis's asynchronous API
 * driven by nginx's event loop.  One connection per process and Redis
 * (address or Sentinels, db, user, password, replicas), opened in
 * init_process, reopened with backoff, logged in and selected each time;
 * a second one in SUBSCRIBE mode where sync runs wait for workers.  The
 * webhook_redis and webhook_queue directives are parsed here.
 */

#ifndef NGX_HTTP_WEBHOOK_REDIS_H
#define NGX_HTTP_WEBHOOK_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"

/* after nginx's headers, which set the feature macros system headers read */
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


/* The contract has no directives for these. */
#define NGX_HTTP_WEBHOOK_REDIS_CONNECT_TIMEOUT  1000    /* ms, with setup */
#define NGX_HTTP_WEBHOOK_REDIS_COMMAND_TIMEOUT  2000    /* ms */
#define NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN      100     /* ms */
#define NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MAX      5000    /* ms */

#define NGX_HTTP_WEBHOOK_REDIS_WAIT             1000    /* ms, SPEC §8 */
#define NGX_HTTP_WEBHOOK_QUEUE_MAX              100000  /* SPEC §2 */


/*
 * The enqueue script, loaded on every connection (SCRIPT LOAD) and run by
 * its SHA-1 (EVALSHA): KEYS[1] the stream, ARGV[1] webhook_queue max=,
 * then the entry's field-value pairs.  The entry id, or nil when the
 * stream holds max entries or more (queue_full).
 */
extern char  ngx_http_webhook_redis_enqueue_sha[41];


typedef struct ngx_http_webhook_redis_peer_s  ngx_http_webhook_redis_peer_t;
typedef struct ngx_http_webhook_redis_cmd_s   ngx_http_webhook_redis_cmd_t;

/* ngx_http_webhook_main_conf_t (ngx_http_webhook.h) holds the peers. */

/*
 * Called exactly once per command unless detached: with the reply (which
 * may be an error reply, and is freed after the call), or with NULL and
 * the reason (timeout, connection lost).
 */
typedef void (*ngx_http_webhook_redis_handler_pt)(void *data,
    redisReply *reply, const char *err);


/* ngx_http_webhook_module.c: the directive, merge, init_process, exit */
char *ngx_http_webhook_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_webhook_queue_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_webhook_redis_register(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *wlcf);
ngx_int_t ngx_http_webhook_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_webhook_redis_exit_process(ngx_cycle_t *cycle);

/*
 * Queues a command on the location's connection.  While the connection
 * is being set up the command waits, so it always comes after the
 * workflow definitions; while Redis is down it waits for the next attempt,
 * made at once or within BACKOFF_MIN of the last one.  NULL when Redis is
 * not available (the handler is then never called).  handler may be NULL:
 * the reply is then only checked for errors.
 */

ngx_http_webhook_redis_cmd_t *ngx_http_webhook_redis_send(
    ngx_http_webhook_loc_conf_t *wlcf, int argc, const char **argv,
    const size_t *argvlen, ngx_http_webhook_redis_handler_pt handler,
    void *data);

/*
 * The same for a command whose effect must be durable: with replicas=N
 * its handler is called only once WAIT confirmed it on N replicas, or
 * with NULL and the reason when that did not happen within wait=.
 */
ngx_http_webhook_redis_cmd_t *ngx_http_webhook_redis_write(
    ngx_http_webhook_loc_conf_t *wlcf, int argc, const char **argv,
    const size_t *argvlen, ngx_http_webhook_redis_handler_pt handler,
    void *data);

/* The handler will not be called (its request is gone). */
void ngx_http_webhook_redis_detach(ngx_http_webhook_redis_cmd_t *cmd);

/*
 * Sync runs with worker nodes.  A peer used by such a location also has a
 * subscriber connection, opened and reopened with the command connection,
 * listening on a channel of the process's own
 * (webhook:reply:<hostname>:<pid>:<random>), where the worker publishes
 * the outcome of each execution that named it in its "reply" field.
 */

typedef struct ngx_http_webhook_redis_wait_s  ngx_http_webhook_redis_wait_t;

/*
 * Called once with msg and err NULL when the channel becomes subscribed
 * (not when it already was: see ready), then exactly once more unless
 * the wait ends first: with the execution's message (freed after the
 * call), or with msg NULL and the reason the subscription failed or was
 * lost (a message may have been missed).
 */
typedef void (*ngx_http_webhook_redis_reply_pt)(void *data, const char *msg,
    size_t len, const char *err);

/*
 * Waits for the message about execution id (36 characters, kept by the
 * caller).  The wait lives in pool.  *ready tells whether the channel is
 * subscribed already (the job may be queued at once).  NULL when the
 * subscription cannot be made now (Redis down).
 */
ngx_http_webhook_redis_wait_t *ngx_http_webhook_redis_await(
    ngx_http_webhook_loc_conf_t *wlcf, const char *id, ngx_pool_t *pool,
    ngx_http_webhook_redis_reply_pt handler, void *data, ngx_uint_t *ready);

/* The handler will not be called again. */
void ngx_http_webhook_redis_unwait(ngx_http_webhook_redis_wait_t *w);

/* The channel of the wait's connection. */
ngx_str_t *ngx_http_webhook_redis_channel(ngx_http_webhook_redis_wait_t *w);

/*
 * The state of a request that uses Redis, made by
 * ngx_http_webhook_redis_path() (async.c), kept in ctx->async and shared
 * with the sync run through a worker (sync.c).
 */

typedef void (*ngx_http_webhook_async_done_pt)(ngx_http_webhook_async_t *st);

struct ngx_http_webhook_async_s {
    ngx_http_request_t            *request;
    ngx_http_webhook_loc_conf_t   *wlcf;
    ngx_http_webhook_ctx_t        *ctx;
    ngx_http_webhook_redis_cmd_t  *cmd;
    ngx_uint_t                     op;
    ngx_str_t                      key;        /* webhook:dedup:<wf>:<v> */
    ngx_str_t                      answer;     /* the key + ":response" */
    ngx_http_webhook_redis_wait_t *wait;       /* for the worker */
    ngx_str_t                      early;      /* its message, before WAIT */
    ngx_event_t                    timer;      /* webhook_sync_timeout */
    /* once a sync run through a worker has answered (dedup keeps it) */
    ngx_http_webhook_async_done_pt done;
    unsigned                       forget:1;   /* no answer to replay */
    unsigned                       sent:1;     /* the job went to Redis */
};

/*
 * ngx_http_webhook_sync.c: a sync run through a worker.  Returns like a
 * content handler; NGX_DONE until the worker's message, the timeout or
 * the client's close, when it answers and finalizes the request.
 */
ngx_int_t ngx_http_webhook_sync_start(ngx_http_webhook_async_t *st);

#endif /* NGX_HTTP_WEBHOOK_REDIS_H */
