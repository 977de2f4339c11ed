/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers every part of the request path uses: the core library's
 * allocator over a request's pool, the clock, request header lookup and
 * the method table of webhook_methods.  They call nothing of the module.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_webhook.h"


/* webhook_methods: the names taken, in the order Allow lists them. */

ngx_conf_bitmask_t  ngx_http_webhook_methods_mask[] = {
    { ngx_string("GET"), NGX_HTTP_GET },
    { ngx_string("POST"), NGX_HTTP_POST },
    { ngx_string("PUT"), NGX_HTTP_PUT },
    { ngx_string("PATCH"), NGX_HTTP_PATCH },
    { ngx_string("DELETE"), NGX_HTTP_DELETE },
    { ngx_string("HEAD"), NGX_HTTP_HEAD },
    { ngx_null_string, 0 }
};


/*
 * The core library's allocator for a request: bump allocation from
 * chunks sized by the body.  A request makes dozens of allocations, some
 * a few times the body's size; from nginx's 4 KB request pool blocks
 * they would cost a malloc for every few.  The chunks are the pool's, and
 * go with it.
 */

static void *
ngx_http_webhook_palloc(void *data, size_t size)
{
    u_char                  *p;
    size_t                   chunk;
    ngx_http_webhook_ctx_t  *ctx;

    ctx = data;
    size = ngx_align(size, NGX_ALIGNMENT);

    if (size > (size_t) (ctx->mem_end - ctx->mem_pos)) {
        chunk = (ctx->body_len < 64 * 1024) ? 8192 + 4 * ctx->body_len
                                              : 256 * 1024;

        if (size > chunk / 2) {
            return ngx_palloc(ctx->pool, size);
        }

        p = ngx_palloc(ctx->pool, chunk);
        if (p == NULL) {
            return NULL;
        }

        ctx->mem_pos = p;
        ctx->mem_end = p + chunk;
    }

    p = ctx->mem_pos;
    ctx->mem_pos += size;

    return p;
}


void
ngx_http_webhook_mem(ngx_http_webhook_ctx_t *ctx, ngx_pool_t *pool)
{
    ctx->mem.alloc = ngx_http_webhook_palloc;
    ctx->mem.data = ctx;
    ctx->pool = pool;
    ctx->mem_pos = NULL;
    ctx->mem_end = NULL;
}


int64_t
ngx_http_webhook_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/* The first request header with the name (case-insensitive), or NULL. */

ngx_table_elt_t *
ngx_http_webhook_header_in(ngx_http_request_t *r, const char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* The value of the Allow header of a 405 answer. */

size_t
ngx_http_webhook_allow(ngx_uint_t methods, u_char *buf, size_t size)
{
    u_char              *p, *last;
    ngx_conf_bitmask_t  *m;

    p = buf;
    last = buf + size;

    for (m = ngx_http_webhook_methods_mask; m->name.len; m++) {
        if (!(methods & m->mask)) {
            continue;
        }

        if (p != buf) {
            p = ngx_slprintf(p, last, ", ");
        }

        p = ngx_slprintf(p, last, "%V", &m->name);
    }

    return p - buf;
}
