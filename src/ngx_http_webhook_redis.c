/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hiredis's asynchronous API on nginx's event loop.
 *
 * Each worker process keeps one connection per Redis (address, db,
 * password) of the configuration.  The socket hiredis opened is wrapped
 * in an ngx_connection_t taken with ngx_get_connection() and given back
 * with ngx_free_connection() from hiredis's cleanup hook: hiredis closes
 * the descriptor itself right after.
 *
 * Events are registered level-triggered (NGX_LEVEL_EVENT), as hiredis's
 * own adapters do: hiredis reads at most 16 KB and writes once per call,
 * and with edge-triggered epoll the rest of a large reply or of the output
 * buffer would wait for an edge that never comes.
 *
 * hiredis frees its context from inside redisAsyncHandleRead/Write() (a
 * lost connection, a failed connect) and from redisAsyncFree(): nothing
 * here touches the context or the connection after such a call.  Every
 * free goes through the cleanup hook, which clears peer->ac and posts
 * peer->down; the follow-up (failing waiting commands, scheduling the
 * reconnection) runs from that event, outside hiredis.
 *
 * On (re)connecting, AUTH [user] password, ROLE (with Sentinels),
 * SELECT, SCRIPT LOAD of the enqueue script and a SET of every workflow
 * definition that uses the connection are sent first; commands issued
 * meanwhile wait in peer->waiting until the last of those replies, so a
 * job never reaches Redis before its definition.  hiredis 0.14 has no
 * timeouts: the setup has a connect timer and every command its own
 * timer.
 *
 * With sentinel=, every connect first asks the Sentinels in turn for the
 * primary's address, on a query peer of its own (the same machinery, a
 * SENTINEL command as its setup); the server must then say ROLE master.
 * READONLY, LOADING or NOSCRIPT replies close the connection, so that the
 * next connect asks again (and loads the script again).
 *
 * With replicas=N, a command sent with ngx_http_webhook_redis_write() is
 * answered only after a WAIT N written behind it confirmed it: its reply
 * is copied and held in peer->held; one WAIT, from an event posted by the
 * first such command of an event-loop turn, covers every command written
 * before it on the connection (Redis answers in order, so the held ones
 * are exactly those).  A WAIT short of N, a lost connection or a timeout
 * fails them all: never a 2xx before the replicas have the job.
 *
 * A Redis used by a sync location with worker nodes has a second peer,
 * peer->sub, the subscriber: the same connection machinery, with AUTH,
 * SELECT and SUBSCRIBE as its setup.  It is ready once Redis confirmed the
 * subscription, so a job queued after that cannot have its reply missed.
 * Requests wait in sub->waits, a tree by execution id; the messages name
 * their execution.  Pub/sub delivers a message to whoever listens at the
 * time only: when the subscriber connection is lost, every wait fails.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"
#include "wh_redis_keys.h"
#include "wh_val.h"

#include <openssl/evp.h>
#include <openssl/rand.h>


/* the reply channels of sync runs: <prefix><hostname>:<pid>:<random> */
#define NGX_HTTP_WEBHOOK_REDIS_REPLY       "webhook:reply:"

#define NGX_HTTP_WEBHOOK_REDIS_DOWN        0
#define NGX_HTTP_WEBHOOK_REDIS_CONNECTING  1
#define NGX_HTTP_WEBHOOK_REDIS_READY       2


struct ngx_http_webhook_redis_peer_s {
    ngx_http_webhook_redis_conf_t     *conf;
    ngx_str_t                          name;         /* for the log */
    ngx_array_t                        workflows;    /* wh_workflow_t * */
    ngx_http_webhook_redis_peer_t     *sub;          /* its subscriber */
    ngx_uint_t                         subscriber;   /* this is one */

    /* a subscriber's */
    ngx_str_t                          channel;
    ngx_rbtree_t                       waits;        /* by execution id */
    ngx_rbtree_node_t                  sentinel;
    ngx_queue_t                        all;          /* oldest first */
    ngx_queue_t                        pending;      /* until subscribed */
    ngx_uint_t                         conn;         /* attempts made */

    /* where it connects: the address, or the primary a Sentinel named */
    char                              *host;
    ngx_int_t                          port;
    u_char                             primary[NGX_INET6_ADDRSTRLEN + 1];

    /* with Sentinels: the query connection, and its owner's state */
    ngx_http_webhook_redis_peer_t     *query;
    ngx_http_webhook_redis_peer_t     *owner;        /* of a query */
    ngx_uint_t                         next_sentinel;
    ngx_uint_t                         asked;        /* this round */
    ngx_uint_t                         discovering;
    ngx_uint_t                         found;        /* primary is fresh */

    /* replicas=: commands answered, held until WAIT confirms them */
    ngx_queue_t                        held;
    ngx_event_t                        wait_ev;      /* posted */
    ngx_uint_t                         wait_needed;  /* once ready */

    redisAsyncContext                 *ac;
    ngx_connection_t                  *c;
    ngx_uint_t                         state;
    ngx_uint_t                         setup;        /* replies awaited */
    ngx_uint_t                         exiting;
    ngx_uint_t                         writing;      /* in HandleWrite */
    ngx_uint_t                         failures;     /* attempts in a row */
    ngx_msec_t                         backoff;
    ngx_msec_t                         last_attempt;
    time_t                             last_error;   /* logged at */

    ngx_event_t                        retry;
    ngx_event_t                        connect_timer;
    ngx_event_t                        down;         /* posted */
    ngx_event_t                        drop;         /* posted */

    ngx_queue_t                        waiting;      /* not yet in hiredis */
    ngx_queue_t                        sent;         /* in hiredis */

    const char                        *reason;       /* why we close it */
    char                               err[128];     /* why it closed */
    ngx_log_t                         *log;
};


struct ngx_http_webhook_redis_cmd_s {
    ngx_queue_t                        queue;
    ngx_http_webhook_redis_peer_t     *peer;
    ngx_http_webhook_redis_handler_pt  handler;
    void                              *data;
    char                              *buf;          /* while waiting */
    size_t                             len;
    redisReply                        *reply;        /* held: a copy */
    ngx_event_t                        timer;
    unsigned                           quiet:1;     /* failure reported */
    unsigned                           confirm:1;   /* WAIT for replicas */
    unsigned                           held:1;      /* in peer->held */
};


struct ngx_http_webhook_redis_wait_s {
    ngx_str_node_t                     node;         /* str: the id */
    ngx_queue_t                        all;          /* in sub->all */
    ngx_queue_t                        queue;        /* in sub->pending */
    ngx_http_webhook_redis_peer_t     *sub;
    ngx_uint_t                         conn;         /* sub->conn then */
    ngx_http_webhook_redis_reply_pt    handler;
    void                              *data;
    unsigned                           waiting:1;    /* in waits, all */
    unsigned                           pending:1;    /* in sub->pending */
};


/*
 * XLEN counts what is not yet acknowledged: the worker trims entries
 * from the stream once their execution is final (every 50 ms when busy),
 * while those waiting for a retry or a delay stay.  Both are O(1).
 */
static char  ngx_http_webhook_redis_enqueue_script[] =
    "if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then "
    "return false end "
    "return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))";

char  ngx_http_webhook_redis_enqueue_sha[41];


static ngx_int_t ngx_http_webhook_redis_parse_addr(ngx_conf_t *cf,
    ngx_str_t *value, ngx_str_t *host, ngx_int_t *port,
    ngx_uint_t allow_unix);
static ngx_int_t ngx_http_webhook_redis_sha(ngx_conf_t *cf);
static ngx_http_webhook_redis_peer_t *ngx_http_webhook_redis_peer(
    ngx_conf_t *cf, ngx_http_webhook_redis_conf_t *rc);
static ngx_int_t ngx_http_webhook_redis_subscriber(ngx_conf_t *cf,
    ngx_http_webhook_redis_peer_t *peer);
static ngx_int_t ngx_http_webhook_redis_peer_init(ngx_cycle_t *cycle,
    ngx_http_webhook_redis_peer_t *peer);
static ngx_int_t ngx_http_webhook_redis_channel_init(ngx_cycle_t *cycle,
    ngx_http_webhook_redis_peer_t *sub);
static void ngx_http_webhook_redis_peer_exit(
    ngx_http_webhook_redis_peer_t *peer);
static ngx_int_t ngx_http_webhook_redis_wake(
    ngx_http_webhook_redis_peer_t *peer);
static void ngx_http_webhook_redis_connect(
    ngx_http_webhook_redis_peer_t *peer);
static char *ngx_http_webhook_redis_format(int argc, const char **argv,
    const size_t *argvlen, int *len, ngx_log_t *log);
static ngx_int_t ngx_http_webhook_redis_flush(
    ngx_http_webhook_redis_peer_t *peer);
static u_char *ngx_http_webhook_redis_num(u_char *p, size_t n);
static void ngx_http_webhook_redis_setup(ngx_http_webhook_redis_peer_t *peer);
static void ngx_http_webhook_redis_setup_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_webhook_redis_ready(ngx_http_webhook_redis_peer_t *peer);
static void ngx_http_webhook_redis_failed(ngx_http_webhook_redis_peer_t *peer,
    const char *err);
static void ngx_http_webhook_redis_close(ngx_http_webhook_redis_peer_t *peer,
    const char *reason);
static void ngx_http_webhook_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_webhook_redis_add_read(void *data);
static void ngx_http_webhook_redis_del_read(void *data);
static void ngx_http_webhook_redis_add_write(void *data);
static void ngx_http_webhook_redis_del_write(void *data);
static void ngx_http_webhook_redis_cleanup(void *data);
static void ngx_http_webhook_redis_read_handler(ngx_event_t *rev);
static void ngx_http_webhook_redis_write_handler(ngx_event_t *wev);
static void ngx_http_webhook_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_webhook_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_webhook_redis_down_handler(ngx_event_t *ev);
static void ngx_http_webhook_redis_drop_handler(ngx_event_t *ev);
static ngx_uint_t ngx_http_webhook_redis_level(
    ngx_http_webhook_redis_peer_t *peer);
static void ngx_http_webhook_redis_cmd_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_webhook_redis_cmd_timeout(ngx_event_t *ev);
static void ngx_http_webhook_redis_cmd_free(
    ngx_http_webhook_redis_cmd_t *cmd);
static void ngx_http_webhook_redis_sub_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_webhook_redis_sub_ready(
    ngx_http_webhook_redis_peer_t *sub);
static void ngx_http_webhook_redis_sub_down(
    ngx_http_webhook_redis_peer_t *sub);
static void ngx_http_webhook_redis_dispatch(
    ngx_http_webhook_redis_peer_t *sub, const char *msg, size_t len);
static ngx_http_webhook_redis_cmd_t *ngx_http_webhook_redis_command(
    ngx_http_webhook_redis_peer_t *peer, int argc, const char **argv,
    const size_t *argvlen, ngx_http_webhook_redis_handler_pt handler,
    void *data, ngx_uint_t confirm);
static void ngx_http_webhook_redis_wait_handler(ngx_event_t *ev);
static void ngx_http_webhook_redis_wait_reply(void *data, redisReply *reply,
    const char *err);
static void ngx_http_webhook_redis_release(
    ngx_http_webhook_redis_peer_t *peer, ngx_uint_t ok, const char *err);
static redisReply *ngx_http_webhook_redis_copy(redisReply *r);
static void ngx_http_webhook_redis_ask(ngx_http_webhook_redis_peer_t *peer);
static void ngx_http_webhook_redis_sentinel_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_webhook_redis_query_down(
    ngx_http_webhook_redis_peer_t *q);
static void ngx_http_webhook_redis_role_reply(redisAsyncContext *ac,
    void *r, void *privdata);


/* configuration */

/*
 * webhook_redis ADDRESS [db=N] [user=U password=P] [replicas=N wait=TIME],
 * or sentinel=IP:PORT[,IP:PORT...] master=NAME in place of ADDRESS.
 * Addresses are IPs and ports or unix sockets, never names: hiredis would
 * resolve a name with a blocking call.
 */

char *
ngx_http_webhook_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    u_char                         *p, *last, *comma;
    ngx_int_t                       n;
    ngx_str_t                      *value, s;
    ngx_uint_t                      i, first;
    ngx_http_webhook_redis_addr_t  *sa;
    ngx_http_webhook_redis_conf_t  *rc;

    if (wlcf->redis != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rc = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_redis_conf_t));
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    rc->name = value[1];
    rc->wait = NGX_HTTP_WEBHOOK_REDIS_WAIT;
    first = 1;

    if (ngx_strncmp(value[1].data, "sentinel=", 9) != 0) {
        if (ngx_http_webhook_redis_parse_addr(cf, &value[1], &rc->host,
                                              &rc->port, 1)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        first = 2;
    }

    for (i = first; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "sentinel=", 9) == 0
            && value[i].len > 9 && rc->sentinels == NULL && first == 1)
        {
            rc->sentinels = ngx_array_create(cf->pool, 3,
                                        sizeof(ngx_http_webhook_redis_addr_t));
            if (rc->sentinels == NULL) {
                return NGX_CONF_ERROR;
            }

            p = value[i].data + 9;
            last = value[i].data + value[i].len;

            while (p < last) {
                comma = ngx_strlchr(p, last, ',');
                if (comma == NULL) {
                    comma = last;
                }

                s.data = p;
                s.len = comma - p;

                sa = ngx_array_push(rc->sentinels);
                if (sa == NULL) {
                    return NGX_CONF_ERROR;
                }

                if (ngx_http_webhook_redis_parse_addr(cf, &s, &sa->host,
                                                      &sa->port, 0)
                    != NGX_OK)
                {
                    return NGX_CONF_ERROR;
                }

                p = comma + 1;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "master=", 7) == 0
            && value[i].len > 7)
        {
            rc->master.data = value[i].data + 7;
            rc->master.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            rc->db = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (rc->db == NGX_ERROR) {
                goto invalid_parameter;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0
            && value[i].len > 9)
        {
            rc->password.data = value[i].data + 9;
            rc->password.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "user=", 5) == 0 && value[i].len > 5) {
            rc->user.data = value[i].data + 5;
            rc->user.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "replicas=", 9) == 0) {
            n = ngx_atoi(value[i].data + 9, value[i].len - 9);
            if (n == NGX_ERROR) {
                goto invalid_parameter;
            }

            rc->replicas = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "wait=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            n = ngx_parse_time(&s, 0);
            if (n == NGX_ERROR || n < 1) {
                goto invalid_parameter;
            }

            rc->wait = n;
            continue;
        }

        goto invalid_parameter;
    }

    if (first == 1 && (rc->sentinels == NULL || rc->master.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sentinel=\" and \"master=\" go together, "
                           "in place of the address");
        return NGX_CONF_ERROR;
    }

    if (first == 2 && rc->master.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"master=\" needs \"sentinel=\" in place of the "
                           "address");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_webhook_redis_sha(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (rc->user.len && rc->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"user=\" needs \"password=\"");
        return NGX_CONF_ERROR;
    }

    wlcf->redis = rc;

    return NGX_CONF_OK;

invalid_parameter:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* IP:PORT, [IPv6]:PORT or (with unix) unix:PATH; host NUL-terminated */

static ngx_int_t
ngx_http_webhook_redis_parse_addr(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *host, ngx_int_t *port, ngx_uint_t allow_unix)
{
    u_char     *colon, *last;
    ngx_str_t   h;
#if (NGX_HAVE_INET6)
    u_char      addr6[16];
#endif

    if (allow_unix && value->len > 5
        && ngx_strncmp(value->data, "unix:", 5) == 0)
    {
        h.data = value->data + 5;
        h.len = value->len - 5;
        *port = 0;

    } else {
        if (value->len == 0) {
            goto invalid;
        }

        last = value->data + value->len;

        if (value->data[0] == '[') {
            /* "[::1]:6379"; hiredis takes the address without brackets */
            colon = ngx_strlchr(value->data, last, ']');
            if (colon == NULL || colon + 1 == last || colon[1] != ':') {
                goto invalid;
            }

            h.data = value->data + 1;
            h.len = colon - h.data;
            colon++;

#if (NGX_HAVE_INET6)
            if (ngx_inet6_addr(h.data, h.len, addr6) != NGX_OK) {
                goto invalid;
            }
#else
            goto invalid;
#endif

        } else {
            colon = ngx_strlchr(value->data, last, ':');
            if (colon == NULL) {
                goto invalid;
            }

            h.data = value->data;
            h.len = colon - value->data;

            if (ngx_inet_addr(h.data, h.len) == INADDR_NONE) {
                goto invalid;
            }
        }

        *port = ngx_atoi(colon + 1, last - colon - 1);
        if (*port < 1 || *port > 65535) {
            goto invalid;
        }
    }

    /* hiredis wants a C string */
    host->data = ngx_pnalloc(cf->pool, h.len + 1);
    if (host->data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(host->data, h.data, h.len + 1);
    host->len = h.len;

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid %s address \"%V\": expected %s",
                       allow_unix ? "Redis" : "Sentinel", value,
                       allow_unix ? "IP:PORT, [IPv6]:PORT or unix:PATH"
                            : "IP:PORT or [IPv6]:PORT");
    return NGX_ERROR;
}


static ngx_int_t
ngx_http_webhook_redis_sha(ngx_conf_t *cf)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;

    if (ngx_http_webhook_redis_enqueue_sha[0]) {
        return NGX_OK;
    }

    if (EVP_Digest(ngx_http_webhook_redis_enqueue_script,
                   sizeof(ngx_http_webhook_redis_enqueue_script) - 1, md, &n,
                   EVP_sha1(), NULL)
        != 1 || n != 20)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "EVP_Digest() failed");
        return NGX_ERROR;
    }

    *ngx_hex_dump((u_char *) ngx_http_webhook_redis_enqueue_sha, md, n) = '\0';

    return NGX_OK;
}


/* webhook_queue NAME [max=N] */

char *
ngx_http_webhook_queue_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_int_t   max;
    ngx_str_t  *value;

    if (wlcf->queue.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes a non-empty stream name";
    }

    wlcf->queue = value[1];
    wlcf->queue_max = NGX_HTTP_WEBHOOK_QUEUE_MAX;

    if (cf->args->nelts == 3) {
        max = -1;

        if (value[2].len > 4 && ngx_strncmp(value[2].data, "max=", 4) == 0) {
            max = ngx_atoi(value[2].data + 4, value[2].len - 4);
        }

        if (max < 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": expected max=N, "
                               "N at least 1", &value[2]);
            return NGX_CONF_ERROR;
        }

        wlcf->queue_max = max;
    }

    return NGX_CONF_OK;
}


/* Records that the location's workflow is used with its Redis. */

ngx_int_t
ngx_http_webhook_redis_register(ngx_conf_t *cf,
    ngx_http_webhook_loc_conf_t *wlcf)
{
    ngx_uint_t                      i;
    wh_workflow_t                 **wfp;
    ngx_http_webhook_redis_peer_t  *peer;

    peer = wlcf->redis->peer;

    if (peer == NULL) {
        peer = ngx_http_webhook_redis_peer(cf, wlcf->redis);
        if (peer == NULL) {
            return NGX_ERROR;
        }

        wlcf->redis->peer = peer;
    }

    if (wlcf->workflow == NULL) {
        return NGX_OK;       /* a status location only reads */
    }

    if (wlcf->mode == NGX_HTTP_WEBHOOK_SYNC && wlcf->workflow->needs_worker
        && peer->sub == NULL
        && ngx_http_webhook_redis_subscriber(cf, peer) != NGX_OK)
    {
        return NGX_ERROR;
    }

    wfp = peer->workflows.elts;

    for (i = 0; i < peer->workflows.nelts; i++) {
        if (ngx_strcmp(wfp[i]->revision, wlcf->workflow->revision) == 0) {
            return NGX_OK;
        }
    }

    wfp = ngx_array_push(&peer->workflows);
    if (wfp == NULL) {
        return NGX_ERROR;
    }

    *wfp = wlcf->workflow;

    return NGX_OK;
}


/* Directives naming the same Redis share one connection. */

static ngx_http_webhook_redis_peer_t *
ngx_http_webhook_redis_peer(ngx_conf_t *cf, ngx_http_webhook_redis_conf_t *rc)
{
    ngx_uint_t                       i;
    ngx_http_webhook_redis_conf_t   *prc;
    ngx_http_webhook_main_conf_t    *wmcf;
    ngx_http_webhook_redis_peer_t   *peer, **pp;

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    pp = wmcf->peers.elts;

    for (i = 0; i < wmcf->peers.nelts; i++) {
        prc = pp[i]->conf;

        if (prc->name.len == rc->name.len
            && ngx_strncmp(prc->name.data, rc->name.data, rc->name.len) == 0
            && prc->db == rc->db
            && prc->replicas == rc->replicas
            && prc->wait == rc->wait
            && prc->user.len == rc->user.len
            && ngx_strncmp(prc->user.data, rc->user.data, rc->user.len) == 0
            && prc->password.len == rc->password.len
            && (rc->password.len == 0
                || ngx_strncmp(prc->password.data, rc->password.data,
                               rc->password.len)
                   == 0))
        {
            return pp[i];
        }
    }

    peer = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_redis_peer_t));
    if (peer == NULL) {
        return NULL;
    }

    peer->conf = rc;
    peer->name = rc->name;

    if (ngx_array_init(&peer->workflows, cf->pool, 2, sizeof(wh_workflow_t *))
        != NGX_OK)
    {
        return NULL;
    }

    pp = ngx_array_push(&wmcf->peers);
    if (pp == NULL) {
        return NULL;
    }

    *pp = peer;

    return peer;
}


static ngx_int_t
ngx_http_webhook_redis_subscriber(ngx_conf_t *cf,
    ngx_http_webhook_redis_peer_t *peer)
{
    u_char                         *p;
    ngx_http_webhook_redis_peer_t  *sub;

    sub = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_redis_peer_t));
    if (sub == NULL) {
        return NGX_ERROR;
    }

    sub->conf = peer->conf;
    sub->subscriber = 1;

    p = ngx_pnalloc(cf->pool, peer->name.len + sizeof(" (replies)") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    sub->name.data = p;
    sub->name.len = ngx_sprintf(p, "%V (replies)", &peer->name) - p;

    peer->sub = sub;

    return NGX_OK;
}


/* process life */

ngx_int_t
ngx_http_webhook_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_webhook_main_conf_t   *wmcf;
    ngx_http_webhook_redis_peer_t  *peer, **pp;

    /* not in the cache manager and loader */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_webhook_module);
    if (wmcf == NULL) {
        return NGX_OK;
    }

    pp = wmcf->peers.elts;

    for (i = 0; i < wmcf->peers.nelts; i++) {
        peer = pp[i];

        if (ngx_http_webhook_redis_peer_init(cycle, peer) != NGX_OK) {
            return NGX_ERROR;
        }

        if (peer->sub
            && (ngx_http_webhook_redis_channel_init(cycle, peer->sub)
                != NGX_OK
                || ngx_http_webhook_redis_peer_init(cycle, peer->sub)
                   != NGX_OK))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webhook_redis_peer_init(ngx_cycle_t *cycle,
    ngx_http_webhook_redis_peer_t *peer)
{
    ngx_http_webhook_redis_peer_t  *q;

    peer->log = cycle->log;
    peer->backoff = NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN;
    peer->host = (char *) peer->conf->host.data;
    peer->port = peer->conf->port;
    ngx_queue_init(&peer->held);
    ngx_queue_init(&peer->waiting);
    ngx_queue_init(&peer->sent);
    ngx_queue_init(&peer->all);
    ngx_queue_init(&peer->pending);
    ngx_rbtree_init(&peer->waits, &peer->sentinel,
                    ngx_str_rbtree_insert_value);

    /* cancelable: they must not hold up a graceful shutdown */

    peer->retry.handler = ngx_http_webhook_redis_retry_handler;
    peer->retry.data = peer;
    peer->retry.log = cycle->log;
    peer->retry.cancelable = 1;

    peer->connect_timer.handler = ngx_http_webhook_redis_connect_timeout;
    peer->connect_timer.data = peer;
    peer->connect_timer.log = cycle->log;
    peer->connect_timer.cancelable = 1;

    peer->down.handler = ngx_http_webhook_redis_down_handler;
    peer->down.data = peer;
    peer->down.log = cycle->log;

    peer->drop.handler = ngx_http_webhook_redis_drop_handler;
    peer->drop.data = peer;
    peer->drop.log = cycle->log;

    peer->wait_ev.handler = ngx_http_webhook_redis_wait_handler;
    peer->wait_ev.data = peer;
    peer->wait_ev.log = cycle->log;

    if (peer->owner) {
        return NGX_OK;                    /* a query: asked when needed */
    }

    if (peer->conf->sentinels) {
        /* a connection of its own for asking the Sentinels */
        q = ngx_pcalloc(cycle->pool, sizeof(ngx_http_webhook_redis_peer_t));
        if (q == NULL) {
            return NGX_ERROR;
        }

        q->conf = peer->conf;
        q->owner = peer;
        ngx_str_set(&q->name, "Sentinel");
        peer->query = q;

        if (ngx_http_webhook_redis_peer_init(cycle, q) != NGX_OK) {
            return NGX_ERROR;
        }

        /* a random first Sentinel spreads the processes' questions */
        peer->next_sentinel = ngx_random() % peer->conf->sentinels->nelts;
    }

    ngx_http_webhook_redis_connect(peer);

    return NGX_OK;
}


/*
 * webhook:reply:<hostname>:<pid>:<random>: the random part keeps two
 * hosts of one name, or a pid reused after a restart, apart.
 */

static ngx_int_t
ngx_http_webhook_redis_channel_init(ngx_cycle_t *cycle,
    ngx_http_webhook_redis_peer_t *sub)
{
    u_char  *p, rnd[8];
    size_t   len;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "webhook: RAND_bytes() failed");
        return NGX_ERROR;
    }

    len = sizeof(NGX_HTTP_WEBHOOK_REDIS_REPLY) - 1 + cycle->hostname.len + 1
          + NGX_INT64_LEN + 1 + 2 * sizeof(rnd);

    p = ngx_pnalloc(cycle->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    sub->channel.data = p;

    p = ngx_cpymem(p, NGX_HTTP_WEBHOOK_REDIS_REPLY,
                   sizeof(NGX_HTTP_WEBHOOK_REDIS_REPLY) - 1);
    p = ngx_sprintf(p, "%V:%P:", &cycle->hostname, ngx_pid);
    p = ngx_hex_dump(p, rnd, sizeof(rnd));

    sub->channel.len = p - sub->channel.data;

    return NGX_OK;
}


/*
 * Requests still waiting are being terminated: their handlers must not
 * run.  The connection must be gone before nginx looks for open sockets.
 */

void
ngx_http_webhook_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_http_webhook_main_conf_t   *wmcf;
    ngx_http_webhook_redis_peer_t  *peer, **pp;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_webhook_module);
    if (wmcf == NULL) {
        return;
    }

    pp = wmcf->peers.elts;

    for (i = 0; i < wmcf->peers.nelts; i++) {
        peer = pp[i];

        ngx_http_webhook_redis_peer_exit(peer);

        if (peer->sub) {
            ngx_http_webhook_redis_peer_exit(peer->sub);
        }
    }
}


static void
ngx_http_webhook_redis_peer_exit(ngx_http_webhook_redis_peer_t *peer)
{
    ngx_queue_t                    *q;
    ngx_http_webhook_redis_cmd_t   *cmd;
    ngx_http_webhook_redis_wait_t  *w;

    if (peer->log == NULL) {
        return;                    /* init_process did not run */
    }

    peer->exiting = 1;

    if (peer->query) {
        ngx_http_webhook_redis_peer_exit(peer->query);
    }

    if (peer->wait_ev.posted) {
        ngx_delete_posted_event(&peer->wait_ev);
    }

    while (!ngx_queue_empty(&peer->held)) {
        q = ngx_queue_head(&peer->held);
        cmd = ngx_queue_data(q, ngx_http_webhook_redis_cmd_t, queue);

        if (cmd->reply) {
            freeReplyObject(cmd->reply);
        }

        ngx_http_webhook_redis_cmd_free(cmd);
    }

    if (peer->retry.timer_set) {
        ngx_del_timer(&peer->retry);
    }

    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    if (peer->down.posted) {
        ngx_delete_posted_event(&peer->down);
    }

    if (peer->drop.posted) {
        ngx_delete_posted_event(&peer->drop);
    }

    while (!ngx_queue_empty(&peer->waiting)) {
        q = ngx_queue_head(&peer->waiting);
        cmd = ngx_queue_data(q, ngx_http_webhook_redis_cmd_t, queue);
        ngx_http_webhook_redis_cmd_free(cmd);
    }

    for (q = ngx_queue_head(&peer->sent);
         q != ngx_queue_sentinel(&peer->sent);
         q = ngx_queue_next(q))
    {
        cmd = ngx_queue_data(q, ngx_http_webhook_redis_cmd_t, queue);
        cmd->handler = NULL;
    }

    /* the waits live in the pools of requests that are not freed */
    while (!ngx_queue_empty(&peer->all)) {
        q = ngx_queue_head(&peer->all);
        w = ngx_queue_data(q, ngx_http_webhook_redis_wait_t, all);
        ngx_http_webhook_redis_unwait(w);
    }

    ngx_http_webhook_redis_close(peer, "the worker process is exiting");
}


/* connecting */

static void
ngx_http_webhook_redis_connect(ngx_http_webhook_redis_peer_t *peer)
{
    ngx_connection_t               *c;
    redisAsyncContext              *ac;
    ngx_http_webhook_redis_conf_t  *rc;

    rc = peer->conf;
    peer->last_attempt = ngx_current_msec;
    peer->reason = NULL;

    if (rc->sentinels && peer->owner == NULL && !peer->found) {
        /* the primary is asked of the Sentinels before every connect */
        peer->discovering = 1;
        peer->asked = 0;
        peer->state = NGX_HTTP_WEBHOOK_REDIS_CONNECTING;
        ngx_http_webhook_redis_ask(peer);
        return;
    }

    peer->found = 0;
    peer->conn++;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, peer->log, 0,
                   "webhook redis %V: connecting to %s", &rc->name,
                   peer->host);

    /* addresses only (the directive and the query check): no blocking */
    if (peer->port) {
        ac = redisAsyncConnect(peer->host, (int) peer->port);

    } else {
        ac = redisAsyncConnectUnix(peer->host);
    }

    if (ac == NULL) {
        ngx_http_webhook_redis_failed(peer, "out of memory");
        return;
    }

    if (ac->err) {
        ngx_cpystrn((u_char *) peer->err, (u_char *) ac->errstr,
                    sizeof(peer->err));
        redisAsyncFree(ac);
        ngx_http_webhook_redis_failed(peer, peer->err);
        return;
    }

    c = ngx_get_connection(ac->c.fd, peer->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_webhook_redis_failed(peer, "no free connection");
        return;
    }

    c->data = peer;
    c->read->handler = ngx_http_webhook_redis_read_handler;
    c->write->handler = ngx_http_webhook_redis_write_handler;
    c->read->log = peer->log;
    c->write->log = peer->log;

    peer->ac = ac;
    peer->c = c;
    peer->state = NGX_HTTP_WEBHOOK_REDIS_CONNECTING;

    ac->data = peer;
    ac->ev.data = peer;
    ac->ev.addRead = ngx_http_webhook_redis_add_read;
    ac->ev.delRead = ngx_http_webhook_redis_del_read;
    ac->ev.addWrite = ngx_http_webhook_redis_add_write;
    ac->ev.delWrite = ngx_http_webhook_redis_del_write;
    ac->ev.cleanup = ngx_http_webhook_redis_cleanup;

    /* asks for the write event that tells the connect is done */
    redisAsyncSetConnectCallback(ac, ngx_http_webhook_redis_on_connect);

    ngx_http_webhook_redis_setup(peer);

    ngx_add_timer(&peer->connect_timer,
                  NGX_HTTP_WEBHOOK_REDIS_CONNECT_TIMEOUT);
}


/* A workflow of a location that uses this peer. */

static ngx_uint_t
ngx_http_webhook_redis_own(ngx_http_webhook_redis_peer_t *peer,
    wh_workflow_t *wf)
{
    ngx_uint_t       i;
    wh_workflow_t  **wfp;

    wfp = peer->workflows.elts;

    for (i = 0; i < peer->workflows.nelts; i++) {
        if (wfp[i] == wf
            || ngx_strcmp(wfp[i]->revision, wf->revision) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* webhook:workflow:<revision> and webhook:workflow:key:<key> */

static void
ngx_http_webhook_redis_publish(ngx_http_webhook_redis_peer_t *peer,
    wh_workflow_t *wf)
{
    u_char       key[sizeof(WH_REDIS_WORKFLOW) - 1 + 64];
    u_char       kkey[sizeof(WH_REDIS_WORKFLOW_KEY) + 64];
    size_t       len[3];
    const char  *argv[3];

    ngx_memcpy(key, WH_REDIS_WORKFLOW, sizeof(WH_REDIS_WORKFLOW) - 1);
    ngx_memcpy(key + sizeof(WH_REDIS_WORKFLOW) - 1, wf->revision, 64);

    argv[0] = "SET";
    len[0] = 3;
    argv[1] = (char *) key;
    len[1] = sizeof(key);
    argv[2] = wf->definition;
    len[2] = wf->definition_len;

    if (redisAsyncCommandArgv(peer->ac, ngx_http_webhook_redis_setup_reply,
                              peer, 3, argv, len)
        == REDIS_OK)
    {
        peer->setup++;
    }

    /* by key too, for subflow nodes (SPEC §11): the last one wins */
    len[1] = ngx_sprintf(kkey, WH_REDIS_WORKFLOW_KEY "%s", wf->key) - kkey;
    argv[1] = (char *) kkey;
    argv[2] = wf->revision;
    len[2] = 64;

    if (redisAsyncCommandArgv(peer->ac, ngx_http_webhook_redis_setup_reply,
                              peer, 3, argv, len)
        == REDIS_OK)
    {
        peer->setup++;
    }
}


/*
 * AUTH, SELECT, the enqueue script, the workflow definitions (a PING
 * when there is
 * nothing else to wait for: the connection is ready with the last reply.
 * All are buffered by hiredis until the connect completes.
 */

static void
ngx_http_webhook_redis_setup(ngx_http_webhook_redis_peer_t *peer)
{
    u_char                          db[NGX_INT_T_LEN];
    int                             n;
    size_t                          len[3];
    ngx_uint_t                      i;
    const char                     *argv[3];
    wh_workflow_t                 **wfp;
    ngx_http_webhook_main_conf_t   *wmcf;
    ngx_http_webhook_redis_conf_t  *rc;

    rc = peer->conf;
    peer->setup = 0;

    if (peer->owner) {
        argv[0] = "SENTINEL";
        len[0] = 8;
        argv[1] = "get-master-addr-by-name";
        len[1] = sizeof("get-master-addr-by-name") - 1;
        argv[2] = (char *) rc->master.data;
        len[2] = rc->master.len;

        (void) redisAsyncCommandArgv(peer->ac,
                                     ngx_http_webhook_redis_sentinel_reply,
                                     peer, 3, argv, len);
        return;
    }

    if (rc->password.len) {
        n = 0;
        argv[n] = "AUTH";
        len[n++] = 4;

        if (rc->user.len) {
            argv[n] = (char *) rc->user.data;
            len[n++] = rc->user.len;
        }

        argv[n] = (char *) rc->password.data;
        len[n++] = rc->password.len;

        if (redisAsyncCommandArgv(peer->ac,
                                  ngx_http_webhook_redis_setup_reply, peer,
                                  n, argv, len)
            == REDIS_OK)
        {
            peer->setup++;
        }
    }

    /* a Sentinel's answer may be stale: the server must say "master" */
    if (rc->sentinels) {
        argv[0] = "ROLE";
        len[0] = 4;

        if (redisAsyncCommandArgv(peer->ac,
                                  ngx_http_webhook_redis_role_reply, peer,
                                  1, argv, len)
            == REDIS_OK)
        {
            peer->setup++;
        }
    }

    /*
     * Channels are not per database, but an ACL that refuses SELECT
     * should fail both connections alike, and at setup.
     */

    if (rc->db) {
        argv[0] = "SELECT";
        len[0] = 6;
        argv[1] = (char *) db;
        len[1] = ngx_sprintf(db, "%i", rc->db) - db;

        if (redisAsyncCommandArgv(peer->ac,
                                  ngx_http_webhook_redis_setup_reply, peer,
                                  2, argv, len)
            == REDIS_OK)
        {
            peer->setup++;
        }
    }

    if (peer->subscriber) {
        argv[0] = "SUBSCRIBE";
        len[0] = 9;
        argv[1] = (char *) peer->channel.data;
        len[1] = peer->channel.len;

        (void) redisAsyncCommandArgv(peer->ac,
                                     ngx_http_webhook_redis_sub_reply, peer,
                                     2, argv, len);
        return;
    }

    /* a new primary, or a restarted Redis, has an empty script cache */
    argv[0] = "SCRIPT";
    len[0] = 6;
    argv[1] = "LOAD";
    len[1] = 4;
    argv[2] = ngx_http_webhook_redis_enqueue_script;
    len[2] = sizeof(ngx_http_webhook_redis_enqueue_script) - 1;

    if (redisAsyncCommandArgv(peer->ac, ngx_http_webhook_redis_setup_reply,
                              peer, 3, argv, len)
        == REDIS_OK)
    {
        peer->setup++;
    }

    /*
     * Every workflow nginx loaded (SPEC §11): a subflow may name one of
     * a location without webhook_redis.  The peer's own ones last, so
     * that under a key loaded twice its own location's revision wins.
     */

    wmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_webhook_module);
    wfp = wmcf->workflows.elts;

    for (i = 0; i < wmcf->workflows.nelts; i++) {
        if (!ngx_http_webhook_redis_own(peer, wfp[i])) {
            ngx_http_webhook_redis_publish(peer, wfp[i]);
        }
    }

    wfp = peer->workflows.elts;

    for (i = 0; i < peer->workflows.nelts; i++) {
        ngx_http_webhook_redis_publish(peer, wfp[i]);
    }

    if (peer->setup == 0) {
        argv[0] = "PING";
        len[0] = 4;

        if (redisAsyncCommandArgv(peer->ac,
                                  ngx_http_webhook_redis_setup_reply, peer,
                                  1, argv, len)
            == REDIS_OK)
        {
            peer->setup++;
        }
    }
}


static void
ngx_http_webhook_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                     *reply = r;
    ngx_http_webhook_redis_peer_t  *peer = privdata;

    ngx_uint_t  level;

    if (reply == NULL) {
        return;                    /* the connection is going away */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        level = ngx_http_webhook_redis_level(peer);

        ngx_log_error(level, peer->log, 0,
                      "webhook: Redis %V refused the connection setup: %*s",
                      &peer->name, (size_t) reply->len, reply->str);

        /* in a callback hiredis defers the free until we return */
        ngx_http_webhook_redis_close(peer, "the connection setup failed");
        return;
    }

    /* a subscriber is ready with the confirmation of its SUBSCRIBE */
    if (--peer->setup == 0 && !peer->subscriber) {
        ngx_http_webhook_redis_ready(peer);
    }
}


static void
ngx_http_webhook_redis_ready(ngx_http_webhook_redis_peer_t *peer)
{
    ngx_uint_t                     level;
    ngx_queue_t                   *q;
    ngx_http_webhook_redis_cmd_t  *cmd;

    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    peer->state = NGX_HTTP_WEBHOOK_REDIS_READY;
    peer->backoff = NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN;

    level = peer->failures ? NGX_LOG_NOTICE : NGX_LOG_INFO;

    ngx_log_error(level, peer->log, 0, "webhook: connected to Redis %V",
                  &peer->name);

    peer->failures = 0;

    if (peer->subscriber) {
        ngx_http_webhook_redis_sub_ready(peer);
        return;
    }

    while (!ngx_queue_empty(&peer->waiting)) {
        q = ngx_queue_head(&peer->waiting);
        cmd = ngx_queue_data(q, ngx_http_webhook_redis_cmd_t, queue);

        ngx_queue_remove(q);

        if (redisAsyncFormattedCommand(peer->ac,
                                       ngx_http_webhook_redis_cmd_reply, cmd,
                                       cmd->buf, cmd->len)
            != REDIS_OK)
        {
            /* only when hiredis is closing: it reports on its own */
            ngx_queue_insert_head(&peer->waiting, q);
            return;
        }

        ngx_free(cmd->buf);
        cmd->buf = NULL;
        ngx_queue_insert_tail(&peer->sent, q);
    }

    if (peer->wait_needed) {
        peer->wait_needed = 0;
        ngx_http_webhook_redis_wait_handler(&peer->wait_ev);
    }
}


/* A connect that failed before hiredis owned an event hook. */

static void
ngx_http_webhook_redis_failed(ngx_http_webhook_redis_peer_t *peer,
    const char *err)
{
    if (err != peer->err) {
        ngx_cpystrn((u_char *) peer->err, (u_char *) err, sizeof(peer->err));
    }

    peer->state = NGX_HTTP_WEBHOOK_REDIS_DOWN;
    ngx_post_event(&peer->down, &ngx_posted_events);
}


/*
 * Closes the connection (possibly deferred by hiredis when called from a
 * reply callback).  Not to be called from an event hook: hiredis is in
 * the middle of using the context then.
 */

static void
ngx_http_webhook_redis_close(ngx_http_webhook_redis_peer_t *peer,
    const char *reason)
{
    if (peer->ac == NULL
        || (peer->ac->c.flags & (REDIS_FREEING|REDIS_DISCONNECTING)))
    {
        return;
    }

    peer->reason = reason;
    redisAsyncFree(peer->ac);
}


static void
ngx_http_webhook_redis_on_connect(const redisAsyncContext *ac, int status)
{
#if (NGX_DEBUG)
    ngx_http_webhook_redis_peer_t  *peer = ac->data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, peer->log, 0,
                   "webhook redis %V: connect status %d",
                   &peer->name, status);
#endif
}


/*
 * Event hooks.  hiredis calls them from inside its own functions, so they
 * only (un)register events; a failure is handled from a posted event.
 */

static void
ngx_http_webhook_redis_add_read(void *data)
{
    ngx_http_webhook_redis_peer_t  *peer = data;

    if (peer->c == NULL || peer->c->read->active) {
        return;
    }

    if (ngx_add_event(peer->c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
        != NGX_OK)
    {
        ngx_post_event(&peer->drop, &ngx_posted_events);
    }
}


static void
ngx_http_webhook_redis_del_read(void *data)
{
    ngx_http_webhook_redis_peer_t  *peer = data;

    if (peer->c == NULL || !peer->c->read->active) {
        return;
    }

    if (ngx_del_event(peer->c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_post_event(&peer->drop, &ngx_posted_events);
    }
}


static void
ngx_http_webhook_redis_add_write(void *data)
{
    ngx_http_webhook_redis_peer_t  *peer = data;

    if (peer->c == NULL || peer->c->write->active) {
        return;
    }

    /*
     * A connected socket can take the commands at once: they are written
     * after the events of this loop iteration, all of them in one write
     * and without an epoll_ctl() pair.  Only a connect in progress or a
     * full socket buffer waits for the kernel to say it is writable.
     */

    if ((peer->ac->c.flags & REDIS_CONNECTED) && !peer->writing) {
        if (!peer->c->write->posted) {
            ngx_post_event(peer->c->write, &ngx_posted_events);
        }

        return;
    }

    if (ngx_add_event(peer->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
        != NGX_OK)
    {
        ngx_post_event(&peer->drop, &ngx_posted_events);
    }
}


static void
ngx_http_webhook_redis_del_write(void *data)
{
    ngx_http_webhook_redis_peer_t  *peer = data;

    if (peer->c == NULL || !peer->c->write->active) {
        return;
    }

    if (ngx_del_event(peer->c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
        ngx_post_event(&peer->drop, &ngx_posted_events);
    }
}


/*
 * hiredis is freeing the context: the commands it held have had their
 * callbacks, it closes the descriptor after this returns.
 */

static void
ngx_http_webhook_redis_cleanup(void *data)
{
    ngx_http_webhook_redis_peer_t  *peer = data;

    ngx_connection_t  *c;

    if (peer->reason) {
        ngx_cpystrn((u_char *) peer->err, (u_char *) peer->reason,
                    sizeof(peer->err));

    } else if (peer->ac->err) {
        ngx_cpystrn((u_char *) peer->err, (u_char *) peer->ac->errstr,
                    sizeof(peer->err));

    } else {
        ngx_cpystrn((u_char *) peer->err, (u_char *) "connection closed",
                    sizeof(peer->err));
    }

    c = peer->c;

    if (c != NULL) {
        if (c->read->active) {
            ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        peer->c = NULL;
    }

    if (peer->connect_timer.timer_set) {
        ngx_del_timer(&peer->connect_timer);
    }

    if (peer->drop.posted) {
        ngx_delete_posted_event(&peer->drop);
    }

    peer->ac = NULL;
    peer->state = NGX_HTTP_WEBHOOK_REDIS_DOWN;

    if (!peer->exiting) {
        ngx_post_event(&peer->down, &ngx_posted_events);
    }
}


/* After these calls the context and c may be gone: nothing follows them. */

static void
ngx_http_webhook_redis_read_handler(ngx_event_t *rev)
{
    ngx_connection_t               *c = rev->data;
    ngx_http_webhook_redis_peer_t  *peer = c->data;

    if (peer->ac) {
        redisAsyncHandleRead(peer->ac);
    }
}


static void
ngx_http_webhook_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t               *c = wev->data;
    ngx_http_webhook_redis_peer_t  *peer = c->data;

    if (peer->ac == NULL
        || ((peer->ac->c.flags & REDIS_CONNECTED)
            && ngx_http_webhook_redis_flush(peer) == NGX_OK))
    {
        return;
    }

    /* the hooks called inside see it; peers live as long as the cycle */
    peer->writing = 1;
    redisAsyncHandleWrite(peer->ac);
    peer->writing = 0;
}


/*
 * Writes hiredis' output buffer when the socket takes all of it, and keeps
 * the buffer: hiredis would free it after each write and grow a new one,
 * by doubling, for the next batch of commands, copying it each time.  One
 * that a burst of large jobs grew beyond NGX_HTTP_WEBHOOK_REDIS_KEEP is
 * given back, as hiredis does.  Anything else (nothing to write, a partial
 * write, EAGAIN, an error) is left to hiredis: NGX_DECLINED.
 */

#define NGX_HTTP_WEBHOOK_REDIS_KEEP  (1024 * 1024)

static ngx_int_t
ngx_http_webhook_redis_flush(ngx_http_webhook_redis_peer_t *peer)
{
    sds            fresh;
    size_t         len;
    ssize_t        n;
    redisContext  *c;

    c = &peer->ac->c;
    len = sdslen(c->obuf);

    if (len == 0 || c->err) {
        return NGX_DECLINED;
    }

    n = write(c->fd, c->obuf, len);

    if (n != (ssize_t) len) {
        if (n > 0) {
            sdsrange(c->obuf, (int) n, -1);
        }

        return NGX_DECLINED;
    }

    if (sdsalloc(c->obuf) > NGX_HTTP_WEBHOOK_REDIS_KEEP
        && (fresh = sdsempty()) != NULL)
    {
        sdsfree(c->obuf);
        c->obuf = fresh;

    } else {
        sdsclear(c->obuf);
    }

    /* as hiredis does when its buffer is written */
    ngx_http_webhook_redis_del_write(peer);
    ngx_http_webhook_redis_add_read(peer);

    return NGX_OK;
}


static void
ngx_http_webhook_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_webhook_redis_peer_t  *peer = ev->data;

    if (peer->ac == NULL && !peer->exiting && !peer->discovering) {
        ngx_http_webhook_redis_connect(peer);
    }
}


static void
ngx_http_webhook_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_webhook_redis_peer_t  *peer = ev->data;

    if (peer->state == NGX_HTTP_WEBHOOK_REDIS_CONNECTING) {
        ngx_http_webhook_redis_close(peer, "timed out connecting");
    }
}


static void
ngx_http_webhook_redis_drop_handler(ngx_event_t *ev)
{
    ngx_http_webhook_redis_peer_t  *peer = ev->data;

    ngx_http_webhook_redis_close(peer, "an event could not be registered");
}


/*
 * The connection is gone or could not be made: the commands that were
 * waiting for it fail now, and a new attempt is scheduled.  A connection
 * opened meanwhile (a command asked for it) takes the waiting commands.
 */

static void
ngx_http_webhook_redis_down_handler(ngx_event_t *ev)
{
    ngx_http_webhook_redis_peer_t  *peer = ev->data;

    void                               *data;
    ngx_uint_t                          level;
    ngx_queue_t                        *q;
    ngx_http_webhook_redis_cmd_t       *cmd;
    ngx_http_webhook_redis_handler_pt   handler;

    if (peer->exiting) {
        return;
    }

    if (peer->owner) {
        ngx_http_webhook_redis_query_down(peer);
        return;
    }

    if (peer->ac == NULL) {
        /* answered but not confirmed: the WAIT can no longer come */
        ngx_http_webhook_redis_release(peer, 0, peer->err);
    }

    if (peer->ac == NULL && peer->discovering) {
        return;                    /* asking the Sentinels meanwhile */
    }

    if (peer->ac == NULL) {
        /* not inside ngx_log_error(): the macro evaluates it twice */
        level = ngx_http_webhook_redis_level(peer);

        ngx_log_error(level, peer->log, 0,
                      "webhook: Redis %V: %s, retrying in %M ms",
                      &peer->name, peer->err, peer->backoff);

        peer->failures++;

        if (!peer->retry.timer_set) {
            ngx_add_timer(&peer->retry, peer->backoff);
        }

        peer->backoff *= 2;

        if (peer->backoff > NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MAX) {
            peer->backoff = NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MAX;
        }
    }

    if (peer->subscriber) {
        ngx_http_webhook_redis_sub_down(peer);
        return;
    }

    if (peer->ac != NULL) {
        return;
    }

    while (!ngx_queue_empty(&peer->waiting)) {
        q = ngx_queue_head(&peer->waiting);
        cmd = ngx_queue_data(q, ngx_http_webhook_redis_cmd_t, queue);

        handler = cmd->handler;
        data = cmd->data;

        ngx_http_webhook_redis_cmd_free(cmd);

        if (handler) {
            handler(data, NULL, peer->err);
        }

        if (peer->ac != NULL) {
            break;           /* a handler asked again: the rest wait */
        }
    }
}


/* An outage is logged as an error at most every 5 seconds. */

static ngx_uint_t
ngx_http_webhook_redis_level(ngx_http_webhook_redis_peer_t *peer)
{
    if (ngx_time() - peer->last_error < 5) {
        return NGX_LOG_INFO;
    }

    peer->last_error = ngx_time();

    return NGX_LOG_ERR;
}


/*
 * NGX_OK when the connection is up or being made, NGX_DECLINED when it
 * cannot be now.  Down, a user does not wait for the backoff: it has the
 * next attempt made at once, or within BACKOFF_MIN of the last one.
 */

static ngx_int_t
ngx_http_webhook_redis_wake(ngx_http_webhook_redis_peer_t *peer)
{
    ngx_msec_t  elapsed;

    if (peer->log == NULL || peer->exiting) {
        return NGX_DECLINED;
    }

    if (peer->ac != NULL) {
        if (peer->ac->c.flags & (REDIS_FREEING|REDIS_DISCONNECTING)) {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (peer->discovering) {
        return NGX_OK;
    }

    elapsed = ngx_current_msec - peer->last_attempt;

    if (elapsed >= NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN) {
        if (peer->retry.timer_set) {
            ngx_del_timer(&peer->retry);
        }

        ngx_http_webhook_redis_connect(peer);

        return peer->ac ? NGX_OK : NGX_DECLINED;
    }

    if (!peer->retry.timer_set
        || peer->retry.timer.key
           > ngx_current_msec + NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN)
    {
        if (peer->retry.timer_set) {
            ngx_del_timer(&peer->retry);
        }

        ngx_add_timer(&peer->retry,
                      NGX_HTTP_WEBHOOK_REDIS_BACKOFF_MIN - elapsed);
    }

    return NGX_OK;
}


/* commands */

/*
 * The RESP text of a command.  hiredis 0.14 formats each argument's
 * length with sprintf(), a fifth of an async request's instructions.
 * hiredis copies the text into its output buffer at once, so it is
 * written into one buffer kept for the next command; a command larger
 * than NGX_HTTP_WEBHOOK_REDIS_SCRATCH gets a buffer of its size, kept
 * only until a usual one comes.
 */

#define NGX_HTTP_WEBHOOK_REDIS_SCRATCH  (64 * 1024)

static char *
ngx_http_webhook_redis_format(int argc, const char **argv,
    const size_t *argvlen, int *len, ngx_log_t *log)
{
    int            i;
    char          *buf;
    u_char        *p;
    size_t         size;

    static char   *scratch;
    static size_t  scratch_size;

    size = sizeof("*\r\n") - 1 + NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        size += sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN + argvlen[i];
    }

    if (size > NGX_MAX_INT32_VALUE) {           /* hiredis takes an int */
        return NULL;
    }

    if (size > scratch_size
        || (scratch_size > NGX_HTTP_WEBHOOK_REDIS_SCRATCH
            && size <= NGX_HTTP_WEBHOOK_REDIS_SCRATCH))
    {
        size = ngx_max(size, NGX_HTTP_WEBHOOK_REDIS_SCRATCH);

        buf = ngx_alloc(size, log);
        if (buf == NULL) {
            return NULL;
        }

        ngx_free(scratch);
        scratch = buf;
        scratch_size = size;
    }

    buf = scratch;

    p = (u_char *) buf;
    *p++ = '*';
    p = ngx_http_webhook_redis_num(p, (size_t) argc);
    *p++ = CR; *p++ = LF;

    for (i = 0; i < argc; i++) {
        *p++ = '$';
        p = ngx_http_webhook_redis_num(p, argvlen[i]);
        *p++ = CR; *p++ = LF;
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = CR; *p++ = LF;
    }

    *len = (int) (p - (u_char *) buf);

    return buf;
}


/* Decimal digits, without ngx_sprintf()'s format parsing. */

static u_char *
ngx_http_webhook_redis_num(u_char *p, size_t n)
{
    u_char   tmp[NGX_SIZE_T_LEN], *t;

    t = tmp + sizeof(tmp);

    do {
        *--t = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return ngx_cpymem(p, t, tmp + sizeof(tmp) - t);
}


ngx_http_webhook_redis_cmd_t *
ngx_http_webhook_redis_send(ngx_http_webhook_loc_conf_t *wlcf, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_webhook_redis_handler_pt handler, void *data)
{
    ngx_http_webhook_redis_peer_t  *peer;

    peer = wlcf->redis->peer;

    if (peer == NULL || ngx_http_webhook_redis_wake(peer) != NGX_OK) {
        return NULL;
    }

    return ngx_http_webhook_redis_command(peer, argc, argv, argvlen, handler,
                                          data, 0);
}


ngx_http_webhook_redis_cmd_t *
ngx_http_webhook_redis_write(ngx_http_webhook_loc_conf_t *wlcf, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_webhook_redis_handler_pt handler, void *data)
{
    ngx_http_webhook_redis_peer_t  *peer;

    peer = wlcf->redis->peer;

    if (peer == NULL || ngx_http_webhook_redis_wake(peer) != NGX_OK) {
        return NULL;
    }

    return ngx_http_webhook_redis_command(peer, argc, argv, argvlen, handler,
                                          data, peer->conf->replicas > 0);
}


static ngx_http_webhook_redis_cmd_t *
ngx_http_webhook_redis_command(ngx_http_webhook_redis_peer_t *peer, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_webhook_redis_handler_pt handler, void *data,
    ngx_uint_t confirm)
{
    int                             len;
    char                           *buf;
    ngx_msec_t                      timeout;
    ngx_http_webhook_redis_cmd_t   *cmd;

    buf = ngx_http_webhook_redis_format(argc, argv, argvlen, &len,
                                        peer->log);
    if (buf == NULL) {
        return NULL;
    }

    cmd = ngx_calloc(sizeof(ngx_http_webhook_redis_cmd_t), peer->log);
    if (cmd == NULL) {
        return NULL;
    }

    cmd->peer = peer;
    cmd->handler = handler;
    cmd->data = data;
    cmd->confirm = confirm;
    cmd->timer.handler = ngx_http_webhook_redis_cmd_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = peer->log;

    if (peer->state == NGX_HTTP_WEBHOOK_REDIS_READY) {
        if (redisAsyncFormattedCommand(peer->ac,
                                       ngx_http_webhook_redis_cmd_reply, cmd,
                                       buf, len)
            != REDIS_OK)
        {
            ngx_free(cmd);
            return NULL;
        }

        ngx_queue_insert_tail(&peer->sent, &cmd->queue);

    } else {
        /* kept until the connection is ready: a copy of its own */
        cmd->buf = ngx_alloc(len, peer->log);
        if (cmd->buf == NULL) {
            ngx_free(cmd);
            return NULL;
        }

        ngx_memcpy(cmd->buf, buf, len);
        cmd->len = len;
        ngx_queue_insert_tail(&peer->waiting, &cmd->queue);
    }

    timeout = NGX_HTTP_WEBHOOK_REDIS_COMMAND_TIMEOUT;

    if (confirm) {
        /* one WAIT, sent after this turn's events, covers them all */
        timeout += peer->conf->wait;

        if (!peer->wait_ev.posted) {
            ngx_post_event(&peer->wait_ev, &ngx_posted_events);
        }
    }

    ngx_add_timer(&cmd->timer, timeout);

    return cmd;
}


/*
 * replicas=N: WAIT N <wait> after the commands of an event-loop turn.
 * Redis answers it once the replicas acknowledged everything this
 * connection wrote before it, or at the timeout with how many did.
 */

static void
ngx_http_webhook_redis_wait_handler(ngx_event_t *ev)
{
    ngx_http_webhook_redis_peer_t  *peer = ev->data;

    u_char                          n[NGX_INT_T_LEN], ms[NGX_INT_T_LEN];
    size_t                          len[3];
    const char                     *argv[3];
    ngx_http_webhook_redis_cmd_t   *cmd;
    ngx_http_webhook_redis_conf_t  *rc;

    rc = peer->conf;

    if (peer->state != NGX_HTTP_WEBHOOK_REDIS_READY) {
        if (!ngx_queue_empty(&peer->held)) {
            /* a WAIT on another connection would confirm nothing */
            ngx_http_webhook_redis_release(peer, 0, "the connection was "
                                           "lost before WAIT");
        }

        if (!ngx_queue_empty(&peer->waiting)) {
            peer->wait_needed = 1;
        }

        return;
    }

    argv[0] = "WAIT";
    len[0] = 4;
    argv[1] = (char *) n;
    len[1] = ngx_sprintf(n, "%ui", rc->replicas) - n;
    argv[2] = (char *) ms;
    len[2] = ngx_sprintf(ms, "%M", rc->wait) - ms;

    cmd = ngx_http_webhook_redis_command(peer, 3, argv, len,
                                         ngx_http_webhook_redis_wait_reply,
                                         peer, 0);
    if (cmd == NULL) {
        ngx_http_webhook_redis_close(peer, "WAIT could not be sent");
        return;
    }

    /* Redis itself answers WAIT at its timeout */
    ngx_add_timer(&cmd->timer, NGX_HTTP_WEBHOOK_REDIS_COMMAND_TIMEOUT
                               + rc->wait);
}


static void
ngx_http_webhook_redis_wait_reply(void *data, redisReply *reply,
    const char *err)
{
    ngx_http_webhook_redis_peer_t  *peer = data;

    ngx_uint_t  ok;

    ok = (reply != NULL && reply->type == REDIS_REPLY_INTEGER
          && reply->integer >= (long long) peer->conf->replicas);

    if (!ok) {
        if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
            ngx_log_error(ngx_http_webhook_redis_level(peer), peer->log, 0,
                          "webhook: Redis %V: %L of %ui replicas "
                          "confirmed within %M ms", &peer->name,
                          (int64_t) reply->integer, peer->conf->replicas,
                          peer->conf->wait);
            err = "the job was not confirmed by enough replicas";

        } else if (reply != NULL) {
            ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                          "webhook: Redis %V: WAIT: %*s", &peer->name,
                          (size_t) reply->len, reply->str);
            err = "WAIT failed";
        }
    }

    ngx_http_webhook_redis_release(peer, ok, err);
}


/*
 * The held commands, all written before the WAIT that answered (their
 * replies came before its reply): their handlers get their replies, or
 * the failure.
 */

static void
ngx_http_webhook_redis_release(ngx_http_webhook_redis_peer_t *peer,
    ngx_uint_t ok, const char *err)
{
    void                               *data;
    redisReply                         *reply;
    ngx_queue_t                        *q;
    ngx_http_webhook_redis_cmd_t       *cmd;
    ngx_http_webhook_redis_handler_pt   handler;

    while (!ngx_queue_empty(&peer->held)) {
        q = ngx_queue_head(&peer->held);
        cmd = ngx_queue_data(q, ngx_http_webhook_redis_cmd_t, queue);

        handler = cmd->handler;
        data = cmd->data;
        reply = cmd->reply;

        ngx_http_webhook_redis_cmd_free(cmd);

        if (handler) {
            handler(data, ok ? reply : NULL,
                    ok ? NULL : (err ? err : "not confirmed by replicas"));
        }

        if (reply) {
            freeReplyObject(reply);
        }
    }
}


/* A reply hiredis is about to free, copied as freeReplyObject() frees. */

static redisReply *
ngx_http_webhook_redis_copy(redisReply *r)
{
    size_t       i;
    redisReply  *c;

    c = calloc(1, sizeof(redisReply));
    if (c == NULL) {
        return NULL;
    }

    c->type = r->type;
    c->integer = r->integer;

    if (r->str != NULL) {
        c->str = malloc(r->len + 1);
        if (c->str == NULL) {
            free(c);
            return NULL;
        }

        ngx_memcpy(c->str, r->str, r->len);
        c->str[r->len] = '\0';
        c->len = r->len;
    }

    if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        c->element = calloc(r->elements, sizeof(redisReply *));
        if (c->element == NULL) {
            freeReplyObject(c);
            return NULL;
        }

        c->elements = r->elements;

        for (i = 0; i < r->elements; i++) {
            c->element[i] = ngx_http_webhook_redis_copy(r->element[i]);
            if (c->element[i] == NULL) {
                freeReplyObject(c);
                return NULL;
            }
        }
    }

    return c;
}


/*
 * Sentinels.  The query peer connects to one Sentinel, asks for the
 * primary's address and closes; its down event tries the next Sentinel,
 * or has its owner connect to the address found.  Each connect asks
 * again, so a failover is followed at the next reconnect.
 */

static void
ngx_http_webhook_redis_ask(ngx_http_webhook_redis_peer_t *peer)
{
    ngx_http_webhook_redis_peer_t  *q;
    ngx_http_webhook_redis_addr_t  *sa;

    q = peer->query;
    sa = peer->conf->sentinels->elts;
    sa = &sa[peer->next_sentinel % peer->conf->sentinels->nelts];

    q->host = (char *) sa->host.data;
    q->port = sa->port;
    q->found = 0;

    ngx_http_webhook_redis_connect(q);
}


static void
ngx_http_webhook_redis_sentinel_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                     *reply = r;
    ngx_http_webhook_redis_peer_t  *q = privdata;

    ngx_int_t                       port;
    redisReply                    **e;
    ngx_http_webhook_redis_peer_t  *owner;
#if (NGX_HAVE_INET6)
    u_char                          addr6[16];
#endif

    if (reply == NULL) {
        return;                    /* the connection is going away */
    }

    owner = q->owner;
    e = reply->element;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || e[0]->type != REDIS_REPLY_STRING
        || e[1]->type != REDIS_REPLY_STRING
        || e[0]->len > NGX_INET6_ADDRSTRLEN)
    {
        ngx_log_error(ngx_http_webhook_redis_level(owner), q->log, 0,
                      "webhook: Sentinel %s:%i knows no primary \"%V\"%s%*s",
                      q->host, q->port, &owner->conf->master,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      (size_t) (reply->type == REDIS_REPLY_ERROR
                                ? reply->len : 0),
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        ngx_http_webhook_redis_close(q, "no primary known");
        return;
    }

    port = ngx_atoi((u_char *) e[1]->str, e[1]->len);

    /* an announced host name would need a blocking resolver */
    if (port < 1 || port > 65535
        || (ngx_inet_addr((u_char *) e[0]->str, e[0]->len) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && ngx_inet6_addr((u_char *) e[0]->str, e[0]->len, addr6)
               != NGX_OK
#endif
        ))
    {
        ngx_log_error(NGX_LOG_ERR, q->log, 0,
                      "webhook: Sentinel %s:%i names the primary \"%*s:%*s\", "
                      "not an IP address and port", q->host, q->port,
                      (size_t) e[0]->len, e[0]->str,
                      (size_t) e[1]->len, e[1]->str);
        ngx_http_webhook_redis_close(q, "not an address");
        return;
    }

    ngx_cpystrn(owner->primary, (u_char *) e[0]->str, e[0]->len + 1);
    owner->host = (char *) owner->primary;
    owner->port = port;
    q->found = 1;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, q->log, 0,
                   "webhook redis: Sentinel %s:%i: primary %s:%i",
                   q->host, q->port, owner->host, owner->port);

    ngx_http_webhook_redis_close(q, "asked");
}


static void
ngx_http_webhook_redis_query_down(ngx_http_webhook_redis_peer_t *q)
{
    ngx_uint_t                      n;
    ngx_http_webhook_redis_peer_t  *owner;

    owner = q->owner;

    if (owner->exiting || !owner->discovering) {
        return;
    }

    n = owner->conf->sentinels->nelts;

    if (q->found) {
        q->found = 0;
        owner->discovering = 0;
        owner->found = 1;
        ngx_http_webhook_redis_connect(owner);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, q->log, 0,
                  "webhook: Sentinel %s:%i: %s", q->host, q->port, q->err);

    owner->next_sentinel++;

    if (++owner->asked < n) {
        ngx_http_webhook_redis_ask(owner);
        return;
    }

    owner->discovering = 0;

    ngx_snprintf((u_char *) owner->err, sizeof(owner->err) - 1,
                 "no Sentinel named a primary \"%V\"%Z",
                 &owner->conf->master);

    ngx_http_webhook_redis_failed(owner, owner->err);
}


/* ROLE: a server that is not (or no longer) the primary is left. */

static void
ngx_http_webhook_redis_role_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                     *reply = r;
    ngx_http_webhook_redis_peer_t  *peer = privdata;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements > 0
        && (reply->element[0]->type != REDIS_REPLY_STRING
            || ngx_strcmp(reply->element[0]->str, "master") != 0))
    {
        ngx_log_error(ngx_http_webhook_redis_level(peer), peer->log, 0,
                      "webhook: Redis %V: %s:%i is not the primary, asking "
                      "the Sentinels again", &peer->name, peer->host,
                      peer->port);

        ngx_http_webhook_redis_close(peer, "not the primary");
        return;
    }

    ngx_http_webhook_redis_setup_reply(ac, r, privdata);
}


void
ngx_http_webhook_redis_detach(ngx_http_webhook_redis_cmd_t *cmd)
{
    cmd->handler = NULL;
    cmd->data = NULL;
}


static void
ngx_http_webhook_redis_cmd_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                     *reply = r;
    ngx_http_webhook_redis_cmd_t   *cmd = privdata;

    void                               *data;
    ngx_uint_t                          quiet;
    const char                         *err;
    ngx_http_webhook_redis_peer_t      *peer;
    ngx_http_webhook_redis_handler_pt   handler;

    peer = cmd->peer;
    handler = cmd->handler;
    data = cmd->data;
    quiet = cmd->quiet || peer->exiting;

    if (cmd->confirm && handler && reply != NULL
        && reply->type != REDIS_REPLY_ERROR)
    {
        /* until the WAIT written after it answers */
        cmd->reply = ngx_http_webhook_redis_copy(reply);

        if (cmd->reply != NULL) {
            ngx_queue_remove(&cmd->queue);
            ngx_queue_insert_tail(&peer->held, &cmd->queue);
            cmd->held = 1;
            return;
        }

        reply = NULL;                         /* out of memory */
    }

    ngx_http_webhook_redis_cmd_free(cmd);

    err = NULL;

    if (reply == NULL && r != NULL) {
        err = "out of memory";

    } else if (reply == NULL) {
        if (peer->reason) {
            err = peer->reason;

        } else if (ac->err) {
            err = ac->errstr;

        } else {
            err = "connection closed";
        }
    }

    /*
     * A server that lost the enqueue script (SCRIPT FLUSH), that is no
     * longer the primary (READONLY) or is loading its data (LOADING): the
     * command fails, and a new connection loads the script again (and asks
     * the Sentinels again).  hiredis defers the free until we return.
     */

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR
        && (ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0
            || ngx_strncmp(reply->str, "READONLY", 8) == 0
            || ngx_strncmp(reply->str, "LOADING", 7) == 0))
    {
        ngx_log_error(NGX_LOG_WARN, peer->log, 0,
                      "webhook: Redis %V: %*s, reconnecting", &peer->name,
                      (size_t) reply->len, reply->str);

        ngx_http_webhook_redis_close(peer, "the server must be asked again");
    }

    if (handler) {
        handler(data, reply, err);
        return;
    }

    if (quiet) {
        return;
    }

    if (reply == NULL) {
        ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                      "webhook: Redis %V: %s", &peer->name, err);

    } else if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                      "webhook: Redis %V: %*s", &peer->name,
                      (size_t) reply->len, reply->str);
    }
}


/*
 * Replies come in order: the ones queued behind a command that timed out
 * would come later still.  The connection is closed, every command in it
 * fails now, and the next one reconnects.
 */

static void
ngx_http_webhook_redis_cmd_timeout(ngx_event_t *ev)
{
    ngx_http_webhook_redis_cmd_t  *cmd = ev->data;

    void                               *data;
    ngx_http_webhook_redis_peer_t      *peer;
    ngx_http_webhook_redis_handler_pt   handler;

    peer = cmd->peer;
    handler = cmd->handler;
    data = cmd->data;

    if (cmd->held) {
        /* the WAIT's own timer closes the connection: not reached */
        if (cmd->reply) {
            freeReplyObject(cmd->reply);
        }

        ngx_http_webhook_redis_cmd_free(cmd);

        if (handler) {
            handler(data, NULL, "timed out waiting for replicas");
        }

        return;
    }

    if (cmd->buf != NULL) {
        /* still waiting for the connection setup */
        ngx_http_webhook_redis_cmd_free(cmd);

        if (handler) {
            handler(data, NULL, "timed out waiting for the connection");
        }

        return;
    }

    /* hiredis still holds the callback: it frees the command later */
    cmd->handler = NULL;
    cmd->quiet = 1;

    ngx_log_error(NGX_LOG_ERR, peer->log, 0,
                  "webhook: Redis %V did not answer in %M ms, "
                  "closing the connection", &peer->name,
                  (ngx_msec_t) NGX_HTTP_WEBHOOK_REDIS_COMMAND_TIMEOUT);

    if (handler) {
        handler(data, NULL, "timed out");
    }

    ngx_http_webhook_redis_close(peer, "timed out");
}


static void
ngx_http_webhook_redis_cmd_free(ngx_http_webhook_redis_cmd_t *cmd)
{
    ngx_queue_remove(&cmd->queue);

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    if (cmd->buf) {
        ngx_free(cmd->buf);
    }

    ngx_free(cmd);
}


/* the subscriber */

ngx_http_webhook_redis_wait_t *
ngx_http_webhook_redis_await(ngx_http_webhook_loc_conf_t *wlcf,
    const char *id, ngx_pool_t *pool, ngx_http_webhook_redis_reply_pt handler,
    void *data, ngx_uint_t *ready)
{
    ngx_http_webhook_redis_peer_t  *peer, *sub;
    ngx_http_webhook_redis_wait_t  *w;

    peer = wlcf->redis->peer;
    sub = peer ? peer->sub : NULL;

    if (sub == NULL || ngx_http_webhook_redis_wake(sub) != NGX_OK) {
        return NULL;
    }

    w = ngx_pcalloc(pool, sizeof(ngx_http_webhook_redis_wait_t));
    if (w == NULL) {
        return NULL;
    }

    w->sub = sub;
    w->handler = handler;
    w->data = data;

    w->node.str.data = (u_char *) id;
    w->node.str.len = 36;
    w->node.node.key = ngx_crc32_short((u_char *) id, 36);

    w->conn = sub->conn;

    ngx_rbtree_insert(&sub->waits, &w->node.node);
    ngx_queue_insert_tail(&sub->all, &w->all);
    w->waiting = 1;

    if (sub->state == NGX_HTTP_WEBHOOK_REDIS_READY) {
        *ready = 1;

    } else {
        *ready = 0;
        ngx_queue_insert_tail(&sub->pending, &w->queue);
        w->pending = 1;
    }

    return w;
}


void
ngx_http_webhook_redis_unwait(ngx_http_webhook_redis_wait_t *w)
{
    if (w->waiting) {
        ngx_rbtree_delete(&w->sub->waits, &w->node.node);
        ngx_queue_remove(&w->all);
        w->waiting = 0;
    }

    if (w->pending) {
        ngx_queue_remove(&w->queue);
        w->pending = 0;
    }
}


ngx_str_t *
ngx_http_webhook_redis_channel(ngx_http_webhook_redis_wait_t *w)
{
    return &w->sub->channel;
}


/*
 * The SUBSCRIBE callback: its confirmation, then every message.  NULL
 * when hiredis frees the context: the cleanup hook reports that.
 */

static void
ngx_http_webhook_redis_sub_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                     *reply = r;
    ngx_http_webhook_redis_peer_t  *sub = privdata;

    redisReply  **e;

    if (reply == NULL) {
        return;
    }

    e = reply->element;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || e[0]->type != REDIS_REPLY_STRING)
    {
        ngx_log_error(NGX_LOG_ERR, sub->log, 0,
                      "webhook: Redis %V: unexpected reply of type %d",
                      &sub->name, reply->type);
        return;
    }

    if (ngx_strcasecmp((u_char *) e[0]->str, (u_char *) "message") == 0) {
        if (e[2]->type == REDIS_REPLY_STRING) {
            ngx_http_webhook_redis_dispatch(sub, e[2]->str, e[2]->len);
        }

        return;
    }

    if (ngx_strcasecmp((u_char *) e[0]->str, (u_char *) "subscribe") == 0
        && sub->state == NGX_HTTP_WEBHOOK_REDIS_CONNECTING
        && sub->setup == 0)
    {
        ngx_http_webhook_redis_ready(sub);
    }
}


/* The waits that came while connecting may have their jobs queued now. */

static void
ngx_http_webhook_redis_sub_ready(ngx_http_webhook_redis_peer_t *sub)
{
    ngx_queue_t                    *q;
    ngx_http_webhook_redis_wait_t  *w;

    while (!ngx_queue_empty(&sub->pending)
           && sub->state == NGX_HTTP_WEBHOOK_REDIS_READY)
    {
        q = ngx_queue_head(&sub->pending);
        w = ngx_queue_data(q, ngx_http_webhook_redis_wait_t, queue);

        ngx_queue_remove(q);
        w->pending = 0;

        w->handler(w->data, NULL, 0, NULL);
    }
}


/*
 * Messages sent while a connection was down are lost: the waits made on
 * a connection that is gone fail, the ones that have their jobs queued
 * and the ones that did not get that far.  Waits made on a connection
 * opened since then stay.
 */

static void
ngx_http_webhook_redis_sub_down(ngx_http_webhook_redis_peer_t *sub)
{
    ngx_queue_t                    *q;
    ngx_http_webhook_redis_wait_t  *w;

    while (!ngx_queue_empty(&sub->all)) {
        q = ngx_queue_head(&sub->all);
        w = ngx_queue_data(q, ngx_http_webhook_redis_wait_t, all);

        if (sub->ac != NULL && w->conn == sub->conn) {
            break;
        }

        ngx_http_webhook_redis_unwait(w);

        w->handler(w->data, NULL, 0, sub->err);
    }
}


/* The message names its execution: {"execution":ID,…}. */

static void
ngx_http_webhook_redis_dispatch(ngx_http_webhook_redis_peer_t *sub,
    const char *msg, size_t len)
{
    size_t                          idlen;
    uint32_t                        hash;
    wh_mem_t                        mem;
    wh_val_t                        v;
    ngx_str_t                       id;
    wh_arena_t                     *arena;
    const char                     *s;
    wh_json_err_t                   err;
    ngx_http_webhook_redis_wait_t  *w;

    arena = wh_arena_create(1024);
    if (arena == NULL) {
        return;
    }

    wh_arena_mem(arena, &mem);

    w = NULL;

    if (wh_val_parse(&mem, msg, len, 0, &v, &err) != 0
        || wh_val_str(&mem, wh_val_get(v, "execution", 9), &s, &idlen) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, sub->log, 0,
                      "webhook: Redis %V: a message without an execution "
                      "id on \"%V\"", &sub->name, &sub->channel);

    } else {
        id.data = (u_char *) s;
        id.len = idlen;
        hash = ngx_crc32_short(id.data, id.len);

        w = (ngx_http_webhook_redis_wait_t *)
                ngx_str_rbtree_lookup(&sub->waits, &id, hash);

        if (w == NULL) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, sub->log, 0,
                           "webhook: nobody waits for execution %V any "
                           "more", &id);
        }
    }

    wh_arena_destroy(arena);

    if (w == NULL) {
        return;
    }

    ngx_http_webhook_redis_unwait(w);

    w->handler(w->data, msg, len, NULL);
}
