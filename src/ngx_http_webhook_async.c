/*
 * Placeholder until the Redis path lands: configuration already refuses
 * async mode, dedup and worker nodes without webhook_redis.
 */

#include "ngx_http_webhook.h"


ngx_int_t
ngx_http_webhook_redis_path(ngx_http_request_t *r,
    ngx_http_webhook_loc_conf_t *wlcf, ngx_http_webhook_ctx_t *ctx)
{
    return ngx_http_webhook_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "queue_unavailable",
                                  "the job queue is not available");
}
