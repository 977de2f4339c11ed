/*
 * ngx_http_webhook_module: webhook endpoints that verify, parse and run a
 * workflow inside nginx (sync) or queue it to Redis for webhook-worker
 * (async).  This file holds the module definition: directives,
 * configuration and variables.  The request path is in src/.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"
#include "ngx_http_webhook_redis.h"


static ngx_int_t ngx_http_webhook_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_webhook_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_webhook_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_webhook_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_webhook_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_webhook_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_methods(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webhook_dedup(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_webhook_free_workflow(void *data);
static ngx_int_t ngx_http_webhook_init_process(ngx_cycle_t *cycle);
static void ngx_http_webhook_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_webhook_modes[] = {
    { ngx_string("sync"), NGX_HTTP_WEBHOOK_SYNC },
    { ngx_string("async"), NGX_HTTP_WEBHOOK_ASYNC },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_webhook_commands[] = {

    { ngx_string("webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_methods"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webhook_methods,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, methods),
      &ngx_http_webhook_methods_mask },

    { ngx_string("webhook_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, mode),
      &ngx_http_webhook_modes },

    { ngx_string("webhook_signature"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_webhook_signature,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_dedup"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webhook_dedup,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_redis"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webhook_redis_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webhook_queue_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_sync_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, sync_timeout),
      NULL },

    { ngx_string("webhook_raw_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, raw_body),
      NULL },

    { ngx_string("webhook_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webhook_verify_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_challenge"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webhook_challenge_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_redact_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webhook_redact_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webhook_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_ledger"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_ledger_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_ledger_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webhook_loc_conf_t, ledger_body),
      NULL },

    { ngx_string("webhook_viewer"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webhook_viewer_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webhook_resume"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_webhook_resume,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_webhook_module_ctx = {
    ngx_http_webhook_add_variables,        /* preconfiguration */
    ngx_http_webhook_postconfiguration,    /* postconfiguration */

    ngx_http_webhook_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_webhook_create_loc_conf,      /* create location configuration */
    ngx_http_webhook_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_webhook_module = {
    NGX_MODULE_V1,
    &ngx_http_webhook_module_ctx,          /* module context */
    ngx_http_webhook_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_webhook_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_webhook_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


#define NGX_HTTP_WEBHOOK_VAR_ID        0
#define NGX_HTTP_WEBHOOK_VAR_WORKFLOW  1
#define NGX_HTTP_WEBHOOK_VAR_STATUS    2

static ngx_http_variable_t  ngx_http_webhook_vars[] = {

    { ngx_string("webhook_execution_id"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_workflow"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_WORKFLOW, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("webhook_status"), NULL, ngx_http_webhook_variable,
      NGX_HTTP_WEBHOOK_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_webhook_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_webhook_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return ngx_http_webhook_verify_add_variables(cf);
}


static ngx_int_t
ngx_http_webhook_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_webhook_ctx_t       *ctx;
    ngx_http_webhook_loc_conf_t  *wlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webhook_module);
    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webhook_module);

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    switch (data) {

    case NGX_HTTP_WEBHOOK_VAR_ID:
        if (ctx == NULL || ctx->id[0] == '\0') {
            v->not_found = 1;
            return NGX_OK;
        }
        v->data = (u_char *) ctx->id;
        v->len = 36;
        return NGX_OK;

    case NGX_HTTP_WEBHOOK_VAR_WORKFLOW:
        if (wlcf->workflow == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }
        v->data = (u_char *) wlcf->workflow->key;
        v->len = ngx_strlen(wlcf->workflow->key);
        return NGX_OK;

    default: /* NGX_HTTP_WEBHOOK_VAR_STATUS */
        if (ctx == NULL || ctx->status.len == 0) {
            v->not_found = 1;
            return NGX_OK;
        }
        v->data = ctx->status.data;
        v->len = ctx->status.len;
        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_webhook_postconfiguration(ngx_conf_t *cf)
{
    char                           err[1024];
    ngx_http_webhook_main_conf_t  *wmcf;

    /* the cycles nginx can see: among the workflows it loads (SPEC §11) */
    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);

    if (wh_workflow_check_cycles(wmcf->workflows.elts, wmcf->workflows.nelts,
                                 err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "webhook: %s", err);
        return NGX_ERROR;
    }

    if (ngx_http_webhook_verify_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_webhook_status_init(cf);
}


static void *
ngx_http_webhook_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_webhook_main_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_main_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&wmcf->stats, cf->pool, 4,
                       sizeof(ngx_http_webhook_stat_t *))
        != NGX_OK
        || ngx_array_init(&wmcf->peers, cf->pool, 1, sizeof(void *))
           != NGX_OK
        || ngx_array_init(&wmcf->locations, cf->pool, 4, sizeof(void *))
           != NGX_OK
        || ngx_array_init(&wmcf->workflows, cf->pool, 4, sizeof(void *))
           != NGX_OK)
    {
        return NULL;
    }

    return wmcf;
}


static void *
ngx_http_webhook_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_webhook_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_webhook_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->workflow = NULL;
     *     conf->file = { 0, NULL };
     *     conf->methods = 0;
 *     conf->needs_redis = 0;
     *     conf->queue = { 0, NULL };
     */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->raw_body = NGX_CONF_UNSET;
    conf->signatures = NGX_CONF_UNSET_PTR;
    conf->redact_headers = NGX_CONF_UNSET_PTR;
    conf->dedup = NGX_CONF_UNSET_PTR;
    conf->dedup_ttl = NGX_CONF_UNSET;
    conf->redis = NGX_CONF_UNSET_PTR;
    conf->sync_timeout = NGX_CONF_UNSET_MSEC;
    conf->ledger_body = NGX_CONF_UNSET_SIZE;
    conf->queue_max = NGX_CONF_UNSET_UINT;
    conf->challenge = NGX_CONF_UNSET_UINT;
    conf->challenge_secret = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_webhook_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_webhook_loc_conf_t *prev = parent;
    ngx_http_webhook_loc_conf_t *conf = child;

    char  err[512];

    ngx_conf_merge_bitmask_value(conf->methods, prev->methods,
                                 NGX_HTTP_POST);

    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_WEBHOOK_ASYNC);
    ngx_conf_merge_value(conf->raw_body, prev->raw_body, 0);
    ngx_conf_merge_ptr_value(conf->signatures, prev->signatures, NULL);
    ngx_conf_merge_ptr_value(conf->redact_headers, prev->redact_headers,
                             NULL);
    ngx_conf_merge_ptr_value(conf->dedup, prev->dedup, NULL);
    ngx_conf_merge_value(conf->dedup_ttl, prev->dedup_ttl, 86400);
    ngx_conf_merge_ptr_value(conf->redis, prev->redis, NULL);
    ngx_conf_merge_str_value(conf->queue, prev->queue, "webhook:jobs");
    ngx_conf_merge_uint_value(conf->queue_max, prev->queue_max,
                              NGX_HTTP_WEBHOOK_QUEUE_MAX);
    ngx_conf_merge_msec_value(conf->sync_timeout, prev->sync_timeout, 10000);
    ngx_conf_merge_size_value(conf->ledger_body, prev->ledger_body,
                              64 * 1024);
    ngx_conf_merge_uint_value(conf->challenge, prev->challenge, 0);
    ngx_conf_merge_ptr_value(conf->challenge_secret, prev->challenge_secret,
                             NULL);

    if (conf->workflow == NULL) {
        if (conf->verify) {
            return ngx_http_webhook_verify_merge(cf, conf);
        }

        if (conf->resume_secret.data != NULL && conf->redis == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webhook_resume\" needs \"webhook_redis\"");
            return NGX_CONF_ERROR;
        }

        if (conf->resume_secret.data != NULL
            && ngx_http_webhook_redis_register(cf, conf) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        /* the viewer reads the records */
        if (conf->viewer && conf->redis
            && ngx_http_webhook_redis_register(cf, conf) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_webhook_redact_init(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* What the endpoint needs is known only once everything is merged. */

    if (conf->mode == NGX_HTTP_WEBHOOK_ASYNC) {
        if (wh_workflow_check_async(conf->workflow, err, sizeof(err)) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
            return NGX_CONF_ERROR;
        }

        if (conf->redis == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "webhook \"%V\": \"webhook_mode async\" "
                               "needs \"webhook_redis\"", &conf->file);
            return NGX_CONF_ERROR;
        }

    } else if (conf->workflow->needs_worker && conf->redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook \"%V\": the workflow has worker nodes "
                           "and needs \"webhook_redis\"", &conf->file);
        return NGX_CONF_ERROR;
    }

    if (conf->dedup && conf->redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook \"%V\": \"webhook_dedup\" needs "
                           "\"webhook_redis\"", &conf->file);
        return NGX_CONF_ERROR;
    }

    /* the handler asks this, not the three reasons, on every request */
    conf->needs_redis = (conf->mode == NGX_HTTP_WEBHOOK_ASYNC || conf->dedup
                         || conf->workflow->needs_worker);

    /*
     * The connection of each process sends the definitions it needs, and
     * every workflow where Redis is configured: a subflow may call it.
     */
    if ((conf->needs_redis || conf->redis != NULL)
        && ngx_http_webhook_redis_register(cf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    char                           err[1024];
    ngx_str_t                     *value, name;
    wh_workflow_t                **wfp;
    ngx_pool_cleanup_t            *cln;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_webhook_loc_conf_t  **loc;
    ngx_http_webhook_main_conf_t  *wmcf;

    if (wlcf->workflow) {
        return "is duplicate";
    }

    if (wlcf->verify) {
        return "cannot be used with \"webhook_verify\" in one location";
    }

    /* both would be the location's content handler: the last one wins */
    if (wlcf->resume_secret.data != NULL) {
        return "cannot be combined with \"webhook_resume\"";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    wlcf->workflow = wh_workflow_load_file((char *) name.data, err,
                                           sizeof(err));
    if (wlcf->workflow == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "webhook: %s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        wh_workflow_free(wlcf->workflow);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_webhook_free_workflow;
    cln->data = wlcf->workflow;

    wlcf->file = value[1];

    /* for the subflow cycles of all of them (postconfiguration) */
    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webhook_module);
    wfp = ngx_array_push(&wmcf->workflows);
    if (wfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *wfp = wlcf->workflow;

    wlcf->stat = ngx_http_webhook_stat_add(cf, wlcf->workflow->key);
    if (wlcf->stat == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the viewer finds the workflows (and where to replay) here */
    loc = ngx_array_push(&wmcf->locations);
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    *loc = wlcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_webhook_handler;

    return NGX_CONF_OK;
}


static void
ngx_http_webhook_free_workflow(void *data)
{
    wh_workflow_free(data);
}


/* ngx_conf_set_bitmask_slot() as dav_methods; one line per level */

static char *
ngx_http_webhook_methods(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    if (wlcf->methods) {
        return "is duplicate";
    }

    return ngx_conf_set_bitmask_slot(cf, cmd, conf);
}


static char *
ngx_http_webhook_dedup(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webhook_loc_conf_t *wlcf = conf;

    ngx_str_t  *value;

    if (wlcf->dedup != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        wlcf->dedup = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_http_webhook_dedup_compile(cf, wlcf, &value[1])
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        wlcf->dedup_ttl = ngx_parse_time(&value[2], 1);
        if (wlcf->dedup_ttl == (time_t) NGX_ERROR || wlcf->dedup_ttl == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid dedup TTL \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_webhook_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_webhook_init_random() != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_webhook_redis_init_process(cycle);
}


static void
ngx_http_webhook_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_webhook_redis_exit_process(cycle);
}
