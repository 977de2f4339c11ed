/*
 * ngx_http_webhook_module: shared declarations of the module's parts.
 * The request path calls downwards only: handler.c -> context.c ->
 * sig.c -> async.c (Redis) -> sync.c -> reply.c, each using util.c.
 */

#ifndef NGX_HTTP_WEBHOOK_H
#define NGX_HTTP_WEBHOOK_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "wh_exec.h"
#include "wh_sig.h"
#include "wh_body.h"


#define NGX_HTTP_WEBHOOK_SYNC   0
#define NGX_HTTP_WEBHOOK_ASYNC  1


typedef struct {
    wh_sig_opts_t                opts;
    ngx_http_complex_value_t     secret;
    ngx_str_t                    name;      /* the scheme, $webhook_verified */
} ngx_http_webhook_sig_t;


/* webhook_dedup VALUE: nginx variables and $context templates, in order */
typedef struct ngx_http_webhook_dedup_s  ngx_http_webhook_dedup_t;


typedef struct {
    ngx_str_t                    host;      /* NUL-terminated IP */
    ngx_int_t                    port;
} ngx_http_webhook_redis_addr_t;


typedef struct {
    ngx_str_t                    name;      /* "127.0.0.1:6379", "unix:…" */
    ngx_str_t                    host;      /* NUL-terminated */
    ngx_int_t                    port;      /* 0: unix socket */
    ngx_int_t                    db;
    ngx_str_t                    user;      /* ACL user, with password */
    ngx_str_t                    password;
    ngx_uint_t                   replicas;  /* WAIT for that many */
    ngx_msec_t                   wait;      /* WAIT's timeout */
    ngx_array_t                 *sentinels; /* redis_addr_t, or NULL */
    ngx_str_t                    master;    /* the Sentinels' name */
    void                        *peer;      /* its connection, redis.c */
} ngx_http_webhook_redis_conf_t;


typedef struct ngx_http_webhook_shm_s  ngx_http_webhook_shm_t;

/* A request's Redis state (ngx_http_webhook_redis.h). */
typedef struct ngx_http_webhook_async_s  ngx_http_webhook_async_t;

/* A workflow's counters: its slot in the webhook_status zone. */
typedef struct {
    ngx_str_t                    key;
    ngx_uint_t                   slot;
} ngx_http_webhook_stat_t;


typedef struct ngx_http_webhook_ledger_s  ngx_http_webhook_ledger_t;

typedef struct {
    ngx_array_t                  peers;   /* ngx_http_webhook_redis_peer_t * */
    ngx_array_t                  stats;     /* ngx_http_webhook_stat_t * */
    ngx_array_t                  workflows; /* wh_workflow_t *, all loaded */
    ngx_shm_zone_t              *zone;
    ngx_http_webhook_shm_t      *shm;
    ngx_shm_zone_t              *ledger_zone;
    ngx_http_webhook_ledger_t   *ledger;
    ngx_shmtx_t                 *ledger_mutex;
    ngx_uint_t                   ledger_off;
    ngx_array_t                  locations; /* loc confs of webhook */
} ngx_http_webhook_main_conf_t;


typedef struct {
    wh_workflow_t               *workflow;
    ngx_http_webhook_stat_t     *stat;
    ngx_uint_t                   viewer;      /* webhook_viewer here */
    ngx_str_t                    viewer_token; /* its actions' token */
    ngx_str_t                    file;
    ngx_uint_t                   methods;     /* bitmask of NGX_HTTP_* */
    ngx_uint_t                   mode;
    ngx_flag_t                   needs_redis; /* async, dedup or worker */
    ngx_flag_t                   raw_body;
    ngx_array_t                 *signatures;  /* ngx_http_webhook_sig_t */
    ngx_array_t                 *redact;      /* ngx_str_t, lower case */
    ngx_array_t                 *redact_headers; /* webhook_redact_header */
    ngx_http_webhook_dedup_t    *dedup;
    time_t                       dedup_ttl;
    ngx_http_webhook_redis_conf_t *redis;
    ngx_str_t                    queue;
    ngx_uint_t                   queue_max;  /* webhook_queue max= */
    /* this process's view of the queue's length (async.c), not config */
    struct {
        ngx_uint_t               len;       /* XLEN's last answer */
        ngx_msec_t               at;        /* when it came */
        ngx_uint_t               added;     /* jobs sent by this process */
        ngx_uint_t               base;      /* added when XLEN was sent */
        unsigned                 known:1;
        unsigned                 asking:1;
    }                            queue_len;
    ngx_msec_t                   sync_timeout;
    size_t                       ledger_body;
    ngx_str_t                    resume_secret;  /* webhook_resume here */
    ngx_flag_t                   verify;      /* webhook_verify */
    ngx_uint_t                   challenge;   /* webhook_challenge */
    ngx_http_complex_value_t    *challenge_secret;
} ngx_http_webhook_loc_conf_t;


typedef struct {
    wh_mem_t                     mem;         /* ngx_http_webhook_mem() */
    ngx_pool_t                  *pool;
    u_char                      *mem_pos;
    u_char                      *mem_end;
    char                         id[37];      /* UUIDv7 */
    ngx_str_t                    status;      /* $webhook_status */
    ngx_str_t                    message;     /* of an error answer */
    wh_buf_t                     context;     /* the $context JSON text */
    wh_val_t                     context_val;
    const char                  *body;        /* raw body, contiguous */
    size_t                       body_len;
    ngx_str_t                    answer;      /* the body sent, pool's */
    ngx_http_webhook_async_t    *async;       /* while Redis is used */
    ngx_str_t                    verified;    /* $webhook_verified */
    ngx_str_t                    dedup_key;   /* $webhook_dedup_key */
    ngx_int_t                    phase_rc;    /* webhook_verify's */
    void                        *verify;      /* its state, verify.c */
} ngx_http_webhook_ctx_t;


extern ngx_module_t  ngx_http_webhook_module;


/* ngx_http_webhook_util.c */
extern ngx_conf_bitmask_t  ngx_http_webhook_methods_mask[];

size_t ngx_http_webhook_allow(ngx_uint_t methods, u_char *buf, size_t size);
void ngx_http_webhook_mem(ngx_http_webhook_ctx_t *ctx, ngx_pool_t *pool);
/* nginx's cached time in ms since 1970, as its own logs use */
int64_t ngx_http_webhook_now(void);
ngx_table_elt_t *ngx_http_webhook_header_in(ngx_http_request_t *r,
    const char *name, size_t len);

/* ngx_http_webhook_handler.c */
ngx_int_t ngx_http_webhook_handler(ngx_http_request_t *r);

/*
 * Steps of the request path (read body, context, verify) return
 * NGX_DECLINED to go on; anything else is the request's final rc.
 */

/* ngx_http_webhook_context.c */
ngx_int_t ngx_http_webhook_read_body(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx);
ngx_int_t ngx_http_webhook_build_context(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, ngx_http_webhook_loc_conf_t *wlcf);
ngx_int_t ngx_http_webhook_uuid7(char *out);
ngx_int_t ngx_http_webhook_init_random(void);

/*
 * ngx_http_webhook_async.c: everything that needs Redis (needs_redis):
 * async enqueue, webhook_dedup (both modes) and sync runs with worker
 * nodes.  Called after the signature check; returns like a content
 * handler (NGX_DONE while Redis is asked).
 */
ngx_int_t ngx_http_webhook_redis_path(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);

/*
 * ngx_http_webhook_sync.c: a sync run inline, from the handler or once a
 * dedup key is claimed (for the run through a worker, see
 * ngx_http_webhook_redis.h).
 */
ngx_int_t ngx_http_webhook_run_sync(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);

/* ngx_http_webhook_reply.c */
ngx_int_t ngx_http_webhook_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...);
ngx_int_t ngx_http_webhook_send(ngx_http_request_t *r,
    const wh_response_t *resp);
ngx_int_t ngx_http_webhook_failed(ngx_http_request_t *r, const char *err,
    size_t len);
ngx_int_t ngx_http_webhook_send_json(ngx_http_request_t *r,
    ngx_uint_t status, const char *json, size_t len);
ngx_int_t ngx_http_webhook_send_state(ngx_http_request_t *r,
    ngx_uint_t status, const char *id, const char *state);
ngx_int_t ngx_http_webhook_disabled(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf);
ngx_int_t ngx_http_webhook_unavailable(ngx_http_request_t *r,
    const char *err);
ngx_int_t ngx_http_webhook_queue_full(ngx_http_request_t *r);
ngx_int_t ngx_http_webhook_not_allowed(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf);
/* every answer's body goes out here, and is noted in ctx->answer */
ngx_int_t ngx_http_webhook_output(ngx_http_request_t *r, ngx_uint_t status,
    const char *body, size_t len);

/* ngx_http_webhook_executions.c: the webhook_viewer location */
char *ngx_http_webhook_viewer_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_webhook_ledger.c */
char *ngx_http_webhook_ledger_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_webhook_ledger_init(ngx_conf_t *cf);
/* JSON of entries newest first; NGX_DECLINED: no ledger */
ngx_int_t ngx_http_webhook_ledger_list(ngx_http_request_t *r,
    ngx_str_t *workflow, ngx_str_t *outcome, ngx_uint_t limit, wh_buf_t *b);
/* JSON of one entry whole; NGX_DECLINED: none such */
ngx_int_t ngx_http_webhook_ledger_get(ngx_http_request_t *r, uint64_t id,
    wh_buf_t *b);

/*
 * The context of a replay of ledger entry id, as a new execution nid:
 * NGX_OK with the context and the location whose workflow runs it;
 * NGX_DECLINED with *status (404, 409) and why; NGX_ERROR.
 */
ngx_int_t ngx_http_webhook_ledger_replay(ngx_http_request_t *r,
    ngx_http_webhook_ctx_t *ctx, uint64_t id, const char *nid,
    wh_buf_t *context, ngx_http_webhook_loc_conf_t **target,
    ngx_uint_t *status, ngx_str_t *why);

/* ngx_http_webhook_status.c */
ngx_http_webhook_stat_t *ngx_http_webhook_stat_add(ngx_conf_t *cf,
    const char *key);
ngx_int_t ngx_http_webhook_status_init(ngx_conf_t *cf);
void ngx_http_webhook_status_viewer(ngx_http_request_t *r,
    ngx_http_webhook_stat_t *st, wh_buf_t *b);
char *ngx_http_webhook_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_webhook_resume.c */
char *ngx_http_webhook_resume(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_webhook_sig.c */
char *ngx_http_webhook_signature(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_webhook_redact_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_webhook_redact_init(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *wlcf);
ngx_int_t ngx_http_webhook_verify(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);

/* ngx_http_webhook_dedup.c: webhook_dedup VALUE */
char *ngx_http_webhook_dedup_compile(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_str_t *value);
/* whether the value has $context templates (the body must be parsed) */
ngx_uint_t ngx_http_webhook_dedup_needs_context(
    ngx_http_webhook_dedup_t *dedup);
/* the key for the request; ctx->context_val must be set when needed */
ngx_int_t ngx_http_webhook_dedup_value(ngx_http_request_t *r,
    ngx_http_webhook_dedup_t *dedup, ngx_http_webhook_ctx_t *ctx,
    ngx_str_t *value);

/* ngx_http_webhook_verify.c: webhook_verify and its variables */
char *ngx_http_webhook_verify_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_webhook_verify_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_webhook_verify_init(ngx_conf_t *cf);
char *ngx_http_webhook_verify_merge(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *conf);

/*
 * ngx_http_webhook_challenge.c: webhook_challenge.  The query handshakes
 * (any method, before the method check, body discarded) and those in a
 * body (after it is read and the signature checked); both return
 * NGX_DECLINED for a request that is not a handshake.
 */
char *ngx_http_webhook_challenge_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_webhook_challenge_query(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf);
ngx_int_t ngx_http_webhook_challenge_body(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx);

#endif /* NGX_HTTP_WEBHOOK_H */
