/*
 * Redis for webhook-worker and webhookctl: connections, command vectors
 * and replies.
 */

#define _GNU_SOURCE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk.h"


redisContext *
wk_connect(const wk_addr_t *a, int timeout_ms, char *err, size_t errlen)
{
    redisContext    *c;
    struct timeval   tv;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;

    if (a->port == 0) {
        c = redisConnectUnixWithTimeout(a->path, tv);

    } else {
        c = redisConnectWithTimeout(a->path, a->port, tv);
    }

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    if (c->err) {
        snprintf(err, errlen, "%s", c->errstr);
        redisFree(c);
        return NULL;
    }

    return c;
}


void
wk_args_init(wk_args_t *a)
{
    memset(a, 0, sizeof(wk_args_t));
}


void
wk_args_reset(wk_args_t *a)
{
    int  i;

    for (i = 0; i < a->nowned; i++) {
        free(a->owned[i]);
    }

    a->n = 0;
    a->nowned = 0;
    a->failed = 0;
}


void
wk_args_free(wk_args_t *a)
{
    wk_args_reset(a);
    free(a->argv);
    free(a->lens);
    free(a->owned);
    wk_args_init(a);
}


static int
wk_args_grow(wk_args_t *a)
{
    int           cap;
    char        **owned;
    size_t       *lens;
    const char  **argv;

    if (a->n < a->cap) {
        return 0;
    }

    cap = a->cap ? a->cap * 2 : 32;

    argv = realloc(a->argv, cap * sizeof(char *));
    if (argv == NULL) {
        return -1;
    }

    a->argv = argv;

    lens = realloc(a->lens, cap * sizeof(size_t));
    if (lens == NULL) {
        return -1;
    }

    a->lens = lens;

    owned = realloc(a->owned, cap * sizeof(char *));
    if (owned == NULL) {
        return -1;
    }

    a->owned = owned;
    a->cap = cap;

    return 0;
}


void
wk_args_add(wk_args_t *a, const char *s, size_t len)
{
    if (a->failed || wk_args_grow(a) != 0) {
        a->failed = 1;
        return;
    }

    a->argv[a->n] = s;
    a->lens[a->n] = len;
    a->n++;
}


void
wk_args_adds(wk_args_t *a, const char *s)
{
    wk_args_add(a, s, strlen(s));
}


/* Decimal digits of n at the end of buf[0..21): returns the first. */

static char *
wk_lltoa(long long n, char *end)
{
    char                *p;
    unsigned long long   u;

    p = end;
    u = n < 0 ? 0ULL - (unsigned long long) n : (unsigned long long) n;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    return p;
}


void
wk_args_addll(wk_args_t *a, long long n)
{
    char   buf[24], *p, *s;
    size_t  len;

    if (a->failed || wk_args_grow(a) != 0) {
        a->failed = 1;
        return;
    }

    p = wk_lltoa(n, buf + sizeof(buf));
    len = buf + sizeof(buf) - p;

    s = malloc(len + 1);
    if (s == NULL) {
        a->failed = 1;
        return;
    }

    memcpy(s, p, len);
    s[len] = '\0';

    a->owned[a->nowned++] = s;
    wk_args_add(a, s, len);
}


void
wk_args_addf(wk_args_t *a, const char *fmt, ...)
{
    int       n;
    char     *s;
    va_list   args;

    if (a->failed || wk_args_grow(a) != 0) {
        a->failed = 1;
        return;
    }

    va_start(args, fmt);
    n = vasprintf(&s, fmt, args);
    va_end(args);

    if (n < 0) {
        a->failed = 1;
        return;
    }

    a->owned[a->nowned++] = s;
    wk_args_add(a, s, n);
}


/*
 * The RESP text of the command, formatted here in one buffer: hiredis
 * 0.14's redisAppendCommandArgv() spends a printf-style sdscatfmt() per
 * argument, which was a fifth of the worker's time.
 */

int
wk_append(redisContext *c, wk_args_t *a)
{
    int     i, rc;
    char   *cmd, *o, num[24], *p;
    size_t  len, n;

    if (a->failed || a->n == 0) {
        wk_args_reset(a);
        return -1;
    }

    len = 1 + 21 + 2;                         /* *<n>\r\n */

    for (i = 0; i < a->n; i++) {
        len += 1 + 21 + 2 + a->lens[i] + 2;   /* $<len>\r\n<arg>\r\n */
    }

    cmd = malloc(len);
    if (cmd == NULL) {
        wk_args_reset(a);
        return -1;
    }

    o = cmd;
    *o++ = '*';
    p = wk_lltoa(a->n, num + sizeof(num));
    n = num + sizeof(num) - p;
    memcpy(o, p, n);
    o += n;
    *o++ = '\r';
    *o++ = '\n';

    for (i = 0; i < a->n; i++) {
        *o++ = '$';
        p = wk_lltoa((long long) a->lens[i], num + sizeof(num));
        n = num + sizeof(num) - p;
        memcpy(o, p, n);
        o += n;
        *o++ = '\r';
        *o++ = '\n';
        memcpy(o, a->argv[i], a->lens[i]);
        o += a->lens[i];
        *o++ = '\r';
        *o++ = '\n';
    }

    rc = redisAppendFormattedCommand(c, cmd, o - cmd);

    free(cmd);
    wk_args_reset(a);

    return rc == REDIS_OK ? 0 : -1;
}


/*
 * Replies the caller put off reading (pipelined transactions) come before
 * any later command's: a synchronous command first has them read.
 */

static redisContext  *wk_defer_c;
static void         (*wk_defer_flush)(void *data);
static void          *wk_defer_data;


void
wk_redis_deferred(redisContext *c, void (*flush)(void *data), void *data)
{
    wk_defer_c = c;
    wk_defer_flush = flush;
    wk_defer_data = data;
}


static void
wk_redis_sync(redisContext *c)
{
    if (c == wk_defer_c && wk_defer_flush != NULL) {
        wk_defer_flush(wk_defer_data);
    }
}


redisReply *
wk_command(redisContext *c, wk_args_t *a)
{
    redisReply  *r;

    wk_redis_sync(c);

    if (a->failed || a->n == 0) {
        wk_args_reset(a);
        return NULL;
    }

    r = redisCommandArgv(c, a->n, a->argv, a->lens);
    wk_args_reset(a);

    return r;
}


redisReply *
wk_replies(redisContext *c, int n, const char *what)
{
    wk_redis_sync(c);

    return wk_replies_now(c, n, what);
}


redisReply *
wk_replies_now(redisContext *c, int n, const char *what)
{
    int          i, bad;
    void        *p;
    redisReply  *r, *last;

    last = NULL;
    bad = 0;

    for (i = 0; i < n; i++) {
        if (redisGetReply(c, &p) != REDIS_OK) {
            wk_log("redis: %s: %s", what, c->errstr);
            freeReplyObject(last);
            return NULL;
        }

        r = p;

        if (r->type == REDIS_REPLY_ERROR && i < n - 1 && !bad) {
            wk_log("redis: %s: %s", what, r->str);
            bad = 1;
        }

        freeReplyObject(last);
        last = r;
    }

    if (bad) {
        freeReplyObject(last);
        return NULL;
    }

    return last;
}


redisReply *
wk_field(redisReply *r, const char *name)
{
    size_t  i;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING
            && strcmp(r->element[i]->str, name) == 0)
        {
            return r->element[i + 1];
        }
    }

    return NULL;
}
