/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Redis for webhook-worker and webhookctl: options, connections, command
 * vectors and replies.  Every connection, the first and each reconnect,
 * goes through wk_connect(), so each one logs in (AUTH [user] password)
 * and selects its database before anything else is sent; the password
 * comes from a file or the environment, never from argv.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk.h"


/* options */

static int
wk_redis_fail(const char *prog, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");

    return -1;
}


static int
wk_redis_password_file(wk_redis_t *r, const char *prog, const char *path)
{
    char    buf[1024];
    FILE   *f;
    size_t  n;

    f = fopen(path, "re");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot read the Redis password file \"%s\": "
                "%s\n", prog, path, strerror(errno));
        return -1;
    }

    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);

    /* the first line; a trailing newline is not part of it */
    buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';

    if (n == sizeof(buf)) {
        return wk_redis_fail(prog, "the Redis password file \"%s\" is "
                             "longer than 1023 bytes", path);
    }

    free(r->password);
    r->password = NULL;

    /* an empty file: no password (the Debian package installs one) */
    if (buf[0] == '\0') {
        return 0;
    }

    r->password = strdup(buf);
    explicit_bzero(buf, sizeof(buf));

    return r->password ? 0 : wk_redis_fail(prog, "%s", "out of memory");
}


static int
wk_redis_sentinels(wk_redis_t *r, const char *prog, const char *list)
{
    char  *copy, *p, *save;

    copy = strdup(list);
    if (copy == NULL) {
        return wk_redis_fail(prog, "%s", "out of memory");
    }

    r->nsentinels = 0;

    for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (r->nsentinels == WK_SENTINELS_MAX
            || wk_addr_parse(p, &r->sentinels[r->nsentinels]) != 0
            || r->sentinels[r->nsentinels].port == 0)
        {
            free(copy);
            return wk_redis_fail(prog, "invalid sentinel list \"%s\": "
                                 "IP:PORT[,IP:PORT...], at most 8", list);
        }

        r->nsentinels++;
    }

    free(copy);

    return r->nsentinels ? 0 : wk_redis_fail(prog, "invalid sentinel list "
                                             "\"%s\"", list);
}


int
wk_redis_option(wk_redis_t *r, const char *prog, const char *name,
    const char *value)
{
    long   n;
    char  *end;

    if (strcmp(name, "redis") == 0) {
        if (wk_addr_parse(value, &r->addr) != 0) {
            return wk_redis_fail(prog, "invalid redis address \"%s\"", value);
        }

        return 0;
    }

    if (strcmp(name, "sentinel") == 0) {
        return wk_redis_sentinels(r, prog, value);
    }

    if (strcmp(name, "master") == 0) {
        r->master = value;
        return 0;
    }

    if (strcmp(name, "redis-db") == 0) {
        errno = 0;
        n = strtol(value, &end, 10);

        if (errno || end == value || *end != '\0' || n < 0 || n > INT_MAX) {
            return wk_redis_fail(prog, "invalid redis-db \"%s\"", value);
        }

        r->db = (int) n;
        return 0;
    }

    if (strcmp(name, "redis-user") == 0) {
        if (*value == '\0') {
            return wk_redis_fail(prog, "%s", "invalid redis-user \"\"");
        }

        r->user = value;
        return 0;
    }

    if (strcmp(name, "redis-password-file") == 0) {
        return wk_redis_password_file(r, prog, value);
    }

    if (strcmp(name, "redis-password") == 0) {
        return wk_redis_fail(prog, "%s", "--redis-password is refused: a "
                             "password on the command line is seen by "
                             "anyone who runs ps; use --redis-password-file "
                             "FILE or the environment variable "
                             "WEBHOOK_REDIS_PASSWORD");
    }

    return wk_redis_fail(prog, "unknown option --%s", name);
}


int
wk_redis_options_done(wk_redis_t *r, const char *prog)
{
    const char  *env;

    env = getenv("WEBHOOK_REDIS_PASSWORD");

    if (env != NULL && *env != '\0' && r->password == NULL) {
        r->password = strdup(env);
        if (r->password == NULL) {
            return wk_redis_fail(prog, "%s", "out of memory");
        }
    }

    /* not for the processes the worker starts */
    unsetenv("WEBHOOK_REDIS_PASSWORD");

    if (r->user != NULL && r->password == NULL) {
        return wk_redis_fail(prog, "%s", "--redis-user needs a password "
                             "(--redis-password-file or "
                             "WEBHOOK_REDIS_PASSWORD)");
    }

    if ((r->nsentinels != 0) != (r->master != NULL)) {
        return wk_redis_fail(prog, "%s", "--sentinel and --master go "
                             "together");
    }

    if (r->addr.path[0] == '\0') {
        strcpy(r->addr.path, "127.0.0.1");
        r->addr.port = 6379;
    }

    return 0;
}


/* connections */

static redisContext *
wk_connect_addr(const wk_addr_t *a, int timeout_ms, char *err, size_t errlen)
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

    /* a Redis that accepts and never answers does not hang the login */
    redisSetTimeout(c, tv);

    return c;
}


/* One command of the login; 0 when its reply is not an error. */

static int
wk_login_step(redisContext *c, int argc, const char **argv, char *err,
    size_t errlen)
{
    int          rc;
    redisReply  *r;

    r = redisCommandArgv(c, argc, argv, NULL);

    if (r == NULL) {
        snprintf(err, errlen, "%s: %s", argv[0], c->errstr);
        return -1;
    }

    rc = 0;

    if (r->type == REDIS_REPLY_ERROR) {
        /* never the arguments: they hold the password */
        snprintf(err, errlen, "%s: %s", argv[0], r->str);
        rc = -1;
    }

    freeReplyObject(r);

    return rc;
}


static int
wk_login(wk_redis_t *r, redisContext *c, char *err, size_t errlen)
{
    int          n;
    char         db[16];
    const char  *argv[3];

    if (r->password != NULL) {
        n = 0;
        argv[n++] = "AUTH";

        if (r->user != NULL) {
            argv[n++] = r->user;
        }

        argv[n++] = r->password;

        if (wk_login_step(c, n, argv, err, errlen) != 0) {
            return -1;
        }
    }

    if (r->db != 0) {
        snprintf(db, sizeof(db), "%d", r->db);
        argv[0] = "SELECT";
        argv[1] = db;

        if (wk_login_step(c, 2, argv, err, errlen) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * The primary's address from the Sentinels, each asked in turn from the
 * one after the last that answered.  Only an IP address is taken: a name
 * would need the resolver.
 */

static int
wk_sentinel_ask(wk_redis_t *r, int timeout_ms, char *err, size_t errlen)
{
    int                  i, k, port;
    char                *end;
    redisReply          *rep;
    redisContext        *sc;
    const char          *argv[3];
    struct in6_addr      a6;
    struct in_addr       a4;
    static int           next;

    snprintf(err, errlen, "no Sentinel answered");

    for (i = 0; i < r->nsentinels; i++) {
        k = (next + i) % r->nsentinels;

        sc = wk_connect_addr(&r->sentinels[k], timeout_ms, err, errlen);
        if (sc == NULL) {
            continue;
        }

        argv[0] = "SENTINEL";
        argv[1] = "get-master-addr-by-name";
        argv[2] = r->master;
        rep = redisCommandArgv(sc, 3, argv, NULL);

        if (rep == NULL) {
            snprintf(err, errlen, "Sentinel %s:%d: %s", r->sentinels[k].path,
                     r->sentinels[k].port, sc->errstr);
            redisFree(sc);
            continue;
        }

        redisFree(sc);

        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
            || rep->element[0]->type != REDIS_REPLY_STRING
            || rep->element[1]->type != REDIS_REPLY_STRING
            || rep->element[0]->len >= sizeof(r->addr.path)
            || (inet_pton(AF_INET, rep->element[0]->str, &a4) != 1
                && inet_pton(AF_INET6, rep->element[0]->str, &a6) != 1))
        {
            snprintf(err, errlen, "Sentinel %s:%d knows no primary \"%s\"",
                     r->sentinels[k].path, r->sentinels[k].port, r->master);
            freeReplyObject(rep);
            continue;
        }

        port = (int) strtol(rep->element[1]->str, &end, 10);

        if (*end != '\0' || port < 1 || port > 65535) {
            freeReplyObject(rep);
            continue;
        }

        strcpy(r->addr.path, rep->element[0]->str);
        r->addr.port = port;
        freeReplyObject(rep);
        next = k;

        return 0;
    }

    next++;

    return -1;
}


/* ROLE: a Sentinel's answer may be stale during a failover. */

static int
wk_role_master(redisContext *c, char *err, size_t errlen)
{
    int          rc;
    redisReply  *r;

    r = redisCommand(c, "ROLE");

    if (r == NULL) {
        snprintf(err, errlen, "ROLE: %s", c->errstr);
        return -1;
    }

    rc = (r->type == REDIS_REPLY_ARRAY && r->elements > 0
          && r->element[0]->type == REDIS_REPLY_STRING
          && strcmp(r->element[0]->str, "master") == 0) ? 0 : -1;

    if (rc != 0) {
        snprintf(err, errlen, "%s:%d is not the primary (yet)",
                 c->tcp.host ? c->tcp.host : "?", c->tcp.port);
    }

    freeReplyObject(r);

    return rc;
}


redisContext *
wk_connect(wk_redis_t *r, int timeout_ms, char *err, size_t errlen)
{
    redisContext    *c;
    struct timeval   tv;

    if (r->nsentinels
        && wk_sentinel_ask(r, timeout_ms, err, errlen) != 0)
    {
        return NULL;
    }

    c = wk_connect_addr(&r->addr, timeout_ms, err, errlen);
    if (c == NULL) {
        return NULL;
    }

    if (wk_login(r, c, err, errlen) != 0
        || (r->nsentinels && wk_role_master(c, err, errlen) != 0))
    {
        redisFree(c);
        return NULL;
    }

    /* the caller sets the timeout its commands need, if any */
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    redisSetTimeout(c, tv);

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


/*
 * A server that is no longer the primary (READONLY, a failover), or is
 * loading its data: the connection is marked failed like a lost one, so
 * that the caller reconnects, asking the Sentinels again.
 */

static void
wk_redis_check(redisContext *c, redisReply *r)
{
    if (r != NULL && r->type == REDIS_REPLY_ERROR && c->err == 0
        && (strncmp(r->str, "READONLY", 8) == 0
            || strncmp(r->str, "LOADING", 7) == 0
            || strncmp(r->str, "MASTERDOWN", 10) == 0))
    {
        c->err = REDIS_ERR_OTHER;
        snprintf(c->errstr, sizeof(c->errstr), "%s", r->str);
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
    wk_redis_check(c, r);

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
        wk_redis_check(c, r);

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
