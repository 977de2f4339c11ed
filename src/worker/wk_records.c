/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Record nodes: create, update, destroy and query over Redis-backed
 * collections (wh_redis_keys.h: hash webhook:collection:<name> of id →
 * record JSON, webhook:collection:<name>:seq the last id).
 *
 * Config (rendered in the run's scope), NocoBase-shaped; each key may
 * also be given inside "params" as NocoBase writes it:
 *
 *     collection   [A-Za-z0-9_-]{1,128}, all types
 *     values       create, update: an object (create: may be left out)
 *     filter       update, destroy, query: wh_filter.h
 *     id           update, destroy, query: a positive integer (or its
 *                  string); with a filter, both must match
 *     sort         query: "field" or ["field", "-field", …], dotted paths;
 *                  ascending by id when none, id breaks ties
 *     pageSize     query: records per page (alias limit), 20
 *     page         query: 1-based, 1
 *     multiple     query: false (the first record or null) or true (the
 *                  page, an array)
 *     failOnEmpty  query: fail the node when nothing matched
 *
 * Records are the values plus "id" (from the counter), "createdAt" and
 * "updatedAt" (ISO-8601 UTC with milliseconds), which values cannot set.
 * Results: create the record; update {"count": n, "records": [the
 * updated records, the first 100 by id]}; destroy {"count": n}; query
 * as above.  update and destroy need a filter or an id: a node that
 * forgot both must not touch the whole collection ({} does, on purpose).
 *
 * Atomicity: create is one Lua script (INCR and HSET); update and
 * destroy read the matching records under WATCH and write them in
 * MULTI/EXEC, again from the read when another client changed the
 * collection in between.  The commands go through the worker's
 * synchronous connection: a local Redis answers them in microseconds,
 * and a collection is read whole (HGETALL), which suits the collections
 * of a workflow, not millions of records.  Like every worker node, a
 * create runs again if the worker dies before its job is recorded
 * (at-least-once).
 *
 * Invalid config fails the node (status -1); Redis errors make it an
 * error (-2), which the run retries.
 */

#define _GNU_SOURCE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_records.h"
#include "wh_filter.h"


#define WK_REC_NAME_MAX     128
#define WK_REC_PAGE_SIZE    20
#define WK_REC_UPDATED_MAX  100       /* records in an update's result */
#define WK_REC_WATCH_TRIES  10


typedef struct {
    long long               id;
    wh_val_t                rec;
} wk_rec_item_t;

typedef struct {
    const char             *path;
    size_t                  len;
    int                     desc;
} wk_rec_sort_t;

typedef struct {
    wk_worker_t            *w;
    const wh_node_t        *node;
    wh_mem_t               *mem;          /* the run's: the result */
    wh_arena_t             *arena;        /* this node's work */
    wh_mem_t                tmp;

    wh_val_t                cfg;
    char                    key[sizeof(WH_REDIS_COLLECTION)
                                + WK_REC_NAME_MAX];
    char                    seq[sizeof(WH_REDIS_COLLECTION)
                                + WK_REC_NAME_MAX + 4];

    wh_filter_t            *filter;
    int                     has_filter;
    int                     has_id;
    long long               id;
    wh_val_t                values;

    redisReply             *reply;        /* the records read */
    wk_rec_item_t          *items;
    size_t                  nitems;

    wk_rec_sort_t          *sort;
    size_t                  nsort;

    int                     watching;     /* a WATCH is on w->cmd */
    int                     status;       /* of a failure */
    char                    err[512];
    wh_val_t                result;
} wk_rec_t;


static int wk_rec_fail(wk_rec_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


static int
wk_rec_fail(wk_rec_t *r, int status, const char *fmt, ...)
{
    va_list  ap;

    r->status = status;

    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);

    return -1;
}


static int
wk_rec_redis_fail(wk_rec_t *r, redisReply *reply, const char *what)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "WRONGTYPE", 9) == 0)
    {
        /* no retry cures it */
        return wk_rec_fail(r, WH_STATUS_FAILED, "redis: %s: %s is not a "
                           "collection: %s", what, r->key, reply->str);
    }

    return wk_rec_fail(r, WH_STATUS_ERROR, "redis: %s: %s", what,
                       reply == NULL ? r->w->cmd->errstr
                       : reply->type == REDIS_REPLY_ERROR ? reply->str
                       : "unexpected reply");
}


/* A config key, or the same key inside "params". */

static wh_val_t
wk_rec_get(wk_rec_t *r, const char *name)
{
    wh_val_t  v;

    v = wh_val_get(r->cfg, name, strlen(name));

    if (wh_val_type(v) == WH_JSON_MISSING) {
        v = wh_val_get(wh_val_get(r->cfg, "params", 6), name, strlen(name));
    }

    return v;
}


static int
wk_rec_collection(wk_rec_t *r)
{
    size_t       i, len;
    wh_val_t     v;
    const char  *s;

    v = wk_rec_get(r, "collection");

    if (wh_val_type(v) != WH_JSON_STRING
        || wh_val_str(&r->tmp, v, &s, &len) != 0)
    {
        return wk_rec_fail(r, WH_STATUS_FAILED,
                           "\"collection\" must be a string");
    }

    if (len == 0 || len > WK_REC_NAME_MAX) {
        return wk_rec_fail(r, WH_STATUS_FAILED, "\"collection\" must have "
                           "1 to %d characters", WK_REC_NAME_MAX);
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
        {
            return wk_rec_fail(r, WH_STATUS_FAILED, "\"collection\" must "
                               "match [A-Za-z0-9_-]+");
        }
    }

    snprintf(r->key, sizeof(r->key), WH_REDIS_COLLECTION "%s", s);
    snprintf(r->seq, sizeof(r->seq), WH_REDIS_COLLECTION "%s:seq", s);

    return 0;
}


/* A positive integer id: a number or a string of one. */

static int
wk_rec_id_of(wh_val_t v, long long *id)
{
    double  d;

    if ((wh_val_type(v) != WH_JSON_NUMBER && wh_val_type(v) != WH_JSON_STRING)
        || wh_val_to_number(v, &d) != 0 || d < 1 || d > 9007199254740991.0
        || d != (double) (long long) d)
    {
        return -1;
    }

    *id = (long long) d;

    return 0;
}


static int
wk_rec_where(wk_rec_t *r)
{
    wh_val_t  v;

    v = wk_rec_get(r, "id");

    if (wh_val_type(v) != WH_JSON_MISSING && wh_val_type(v) != WH_JSON_NULL)
    {
        if (wk_rec_id_of(v, &r->id) != 0) {
            return wk_rec_fail(r, WH_STATUS_FAILED, "\"id\" must be a "
                               "positive integer");
        }

        r->has_id = 1;
    }

    v = wk_rec_get(r, "filter");
    r->has_filter = wh_val_type(v) != WH_JSON_MISSING
                    && wh_val_type(v) != WH_JSON_NULL;

    r->filter = wh_filter_compile(&r->tmp, v, r->err, sizeof(r->err));

    if (r->filter == NULL) {
        char  msg[sizeof(r->err)];

        snprintf(msg, sizeof(msg), "%s", r->err);
        return wk_rec_fail(r, WH_STATUS_FAILED, "filter: %s", msg);
    }

    return 0;
}


static int
wk_rec_values(wk_rec_t *r, int required)
{
    r->values = wk_rec_get(r, "values");

    switch (wh_val_type(r->values)) {

    case WH_JSON_OBJECT:
        return 0;

    case WH_JSON_MISSING:
    case WH_JSON_NULL:
        if (!required) {
            r->values = wh_val_missing();
            return 0;
        }

        /* fall through */

    default:
        return wk_rec_fail(r, WH_STATUS_FAILED,
                           "\"values\" must be an object");
    }
}


/* Keys that the system sets: values cannot. */

static int
wk_rec_protected(const wh_json_doc_t *doc, uint32_t key)
{
    return wh_json_string_eq(doc, key, "id", 2)
           || wh_json_string_eq(doc, key, "createdAt", 9)
           || wh_json_string_eq(doc, key, "updatedAt", 9);
}


/* Does object obj have a member named like key token k of doc? */

static uint32_t
wk_rec_member(wh_val_t obj, const wh_json_doc_t *doc, uint32_t k)
{
    uint32_t              i, n, t, found;
    const wh_json_doc_t  *od;

    if (wh_val_type(obj) != WH_JSON_OBJECT) {
        return 0;
    }

    od = obj.doc;
    n = wh_val_size(obj);
    found = 0;

    /* the last one wins, as in wh_json_get() */
    for (i = 0, t = obj.tok + 1; i < n; i++, t = od->toks[t + 1].next) {
        if (wh_json_string_eq_tok(od, t, doc, k)) {
            found = t + 1;
        }
    }

    return found;
}


/* Appends the members of values that the system does not set. */

static void
wk_rec_write_values(wh_buf_t *b, wh_val_t values, wh_val_t except)
{
    uint32_t              i, n, k;
    const wh_json_doc_t  *doc;

    if (wh_val_type(values) != WH_JSON_OBJECT) {
        return;
    }

    doc = values.doc;
    n = wh_val_size(values);

    for (i = 0, k = values.tok + 1; i < n; i++, k = doc->toks[k + 1].next) {
        if (wk_rec_protected(doc, k) || wk_rec_member(except, doc, k)) {
            continue;
        }

        /* the last of duplicate keys only */
        if (wk_rec_member(values, doc, k) != k + 1) {
            continue;
        }

        wh_json_write_compact(b, doc, k);
        wh_buf_addc(b, ':');
        wh_json_write_compact(b, doc, k + 1);
        wh_buf_addc(b, ',');
    }
}


static int
wk_rec_result(wk_rec_t *r, wh_buf_t *b)
{
    wh_json_err_t  jerr;

    if (b->failed
        || wh_val_parse(r->mem, b->data, b->len, 1, &r->result, &jerr) != 0)
    {
        return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
    }

    return 0;
}


static int
wk_rec_create(wk_rec_t *r)
{
    char           now[WH_ISO_LEN];
    wh_buf_t       pre, post, rec;
    wk_args_t      a;
    redisReply    *reply;

    static const char  lua[] =
        "local id = redis.call('INCR', KEYS[2]) "
        "redis.call('HSET', KEYS[1], id, ARGV[1] .. id .. ARGV[2]) "
        "return id";

    if (wk_rec_values(r, 0) != 0) {
        return -1;
    }

    wh_iso_time(wk_now_ms(), now);

    wh_buf_init(&pre, &r->tmp, 16);
    wh_buf_adds(&pre, "{\"id\":");

    wh_buf_init(&post, &r->tmp, 256);
    wh_buf_addc(&post, ',');
    wk_rec_write_values(&post, r->values, wh_val_missing());
    wh_buf_printf(&post, "\"createdAt\":\"%s\",\"updatedAt\":\"%s\"}", now,
                  now);

    if (pre.failed || post.failed) {
        return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
    }

    wk_args_init(&a);
    wk_args_adds(&a, "EVAL");
    wk_args_adds(&a, lua);
    wk_args_adds(&a, "2");
    wk_args_adds(&a, r->key);
    wk_args_adds(&a, r->seq);
    wk_args_add(&a, pre.data, pre.len);
    wk_args_add(&a, post.data, post.len);
    reply = wk_command(r->w->cmd, &a);
    wk_args_free(&a);

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        wk_rec_redis_fail(r, reply, "create");
        freeReplyObject(reply);
        return -1;
    }

    wh_buf_init(&rec, &r->tmp, pre.len + post.len + 24);
    wh_buf_add(&rec, pre.data, pre.len);
    wh_buf_printf(&rec, "%lld", reply->integer);
    wh_buf_add(&rec, post.data, post.len);
    freeReplyObject(reply);

    return wk_rec_result(r, &rec);
}


/*
 * Reads the records the node is about (the one of "id", or all) and
 * keeps those that match the filter, ordered by id.  watch: under WATCH.
 */

static int
wk_rec_cmp_id(const void *a, const void *b)
{
    const wk_rec_item_t  *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}


static int
wk_rec_load(wk_rec_t *r, int watch)
{
    int             m;
    size_t          i, n;
    wh_val_t        rec;
    wk_args_t       a;
    long long       id;
    redisReply     *reply, *f, *v;
    wh_json_err_t   jerr;

    freeReplyObject(r->reply);
    r->reply = NULL;
    r->nitems = 0;

    wk_args_init(&a);

    if (watch) {
        wk_args_adds(&a, "WATCH");
        wk_args_adds(&a, r->key);
        reply = wk_command(r->w->cmd, &a);

        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            wk_args_free(&a);
            wk_rec_redis_fail(r, reply, "WATCH");
            freeReplyObject(reply);
            return -1;
        }

        freeReplyObject(reply);
        r->watching = 1;
    }

    if (r->has_id) {
        wk_args_adds(&a, "HGET");
        wk_args_adds(&a, r->key);
        wk_args_addll(&a, r->id);

    } else {
        wk_args_adds(&a, "HGETALL");
        wk_args_adds(&a, r->key);
    }

    reply = wk_command(r->w->cmd, &a);
    wk_args_free(&a);

    if (reply == NULL
        || (reply->type != REDIS_REPLY_ARRAY && reply->type != REDIS_REPLY_NIL
            && reply->type != REDIS_REPLY_STRING))
    {
        wk_rec_redis_fail(r, reply, "reading the collection");
        freeReplyObject(reply);
        return -1;
    }

    r->reply = reply;

    n = reply->type == REDIS_REPLY_ARRAY ? reply->elements / 2
        : reply->type == REDIS_REPLY_STRING ? 1 : 0;

    r->items = wh_alloc(&r->tmp, (n ? n : 1) * sizeof(wk_rec_item_t));
    if (r->items == NULL) {
        return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
    }

    for (i = 0; i < n; i++) {
        if (reply->type == REDIS_REPLY_STRING) {
            id = r->id;
            v = reply;

        } else {
            f = reply->element[2 * i];
            v = reply->element[2 * i + 1];

            if (f->type != REDIS_REPLY_STRING
                || v->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            id = strtoll(f->str, NULL, 10);
        }

        /* not a record of ours: left alone */
        if (wh_val_parse(&r->tmp, v->str, v->len, 0, &rec, &jerr) != 0
            || wh_val_type(rec) != WH_JSON_OBJECT)
        {
            continue;
        }

        m = wh_filter_match(r->filter, rec, &r->tmp);

        if (m < 0) {
            return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
        }

        if (m) {
            r->items[r->nitems].id = id;
            r->items[r->nitems].rec = rec;
            r->nitems++;
        }
    }

    qsort(r->items, r->nitems, sizeof(wk_rec_item_t), wk_rec_cmp_id);

    return 0;
}


static int
wk_rec_need_where(wk_rec_t *r)
{
    if (!r->has_id && !r->has_filter) {
        return wk_rec_fail(r, WH_STATUS_FAILED, "\"filter\" or \"id\" is "
                           "required (the filter {} means every record)");
    }

    return 0;
}


/*
 * Sends MULTI, the commands in cmds and EXEC: 1 done, 0 when the
 * collection changed since WATCH, -1 on errors.
 */

static int
wk_rec_exec(wk_rec_t *r, wk_args_t *cmd, const char *what)
{
    int          rc;
    wk_args_t    a;
    redisReply  *reply;

    if (cmd->failed) {
        wk_args_reset(cmd);
        return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
    }

    /* nothing another run still owes may land inside the transaction */
    wk_run_settle(r->w);

    wk_args_init(&a);
    wk_args_adds(&a, "MULTI");
    wk_append(r->w->cmd, &a);
    wk_append(r->w->cmd, cmd);
    wk_args_adds(&a, "EXEC");
    wk_append(r->w->cmd, &a);
    wk_args_free(&a);

    reply = wk_replies(r->w->cmd, 3, what);

    /* EXEC ends the WATCH, whatever its outcome */
    r->watching = 0;

    if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
        rc = 0;

    } else if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
               && reply->elements == 1
               && reply->element[0]->type != REDIS_REPLY_ERROR)
    {
        rc = 1;

    } else {
        rc = wk_rec_redis_fail(r, reply, what);
    }

    freeReplyObject(reply);

    return rc;
}


static void
wk_rec_unwatch(wk_rec_t *r)
{
    wk_args_t    a;

    wk_args_init(&a);
    wk_args_adds(&a, "UNWATCH");
    freeReplyObject(wk_command(r->w->cmd, &a));
    wk_args_free(&a);

    r->watching = 0;
}


/* rec with values merged in and updatedAt now, appended to b. */

static void
wk_rec_merge(wh_buf_t *b, wh_val_t rec, wh_val_t values, const char *now)
{
    int                   updated;
    uint32_t              i, n, k, v;
    const wh_json_doc_t  *doc;

    doc = rec.doc;
    n = wh_val_size(rec);
    updated = 0;

    wh_buf_addc(b, '{');

    for (i = 0, k = rec.tok + 1; i < n; i++, k = doc->toks[k + 1].next) {
        wh_json_write_compact(b, doc, k);
        wh_buf_addc(b, ':');

        if (wh_json_string_eq(doc, k, "updatedAt", 9)) {
            wh_buf_printf(b, "\"%s\"", now);
            updated = 1;

        } else if (!wk_rec_protected(doc, k)
                   && (v = wk_rec_member(values, doc, k)) != 0)
        {
            wh_json_write_compact(b, values.doc, v);

        } else {
            wh_json_write_compact(b, doc, k + 1);
        }

        wh_buf_addc(b, ',');
    }

    wk_rec_write_values(b, values, rec);

    if (!updated) {
        wh_buf_printf(b, "\"updatedAt\":\"%s\",", now);
    }

    /* the last comma closes the object */
    b->data[b->len - 1] = '}';
}


/*
 * A write that depends on what it read: the matching records are loaded
 * under WATCH, build() turns them into one command, and MULTI/EXEC runs
 * it; when another client changed the collection meanwhile, again from
 * the load.  0 done (r->nitems may be 0: nothing written), -1 failed.
 */

typedef int (*wk_rec_write_pt)(wk_rec_t *r, wk_args_t *cmd, wh_buf_t *out);

static int
wk_rec_watched(wk_rec_t *r, wk_rec_write_pt build, wh_buf_t *out,
    const char *what)
{
    int        rc, tries;
    wk_args_t  cmd;

    wk_args_init(&cmd);

    for (tries = 0; tries < WK_REC_WATCH_TRIES; tries++) {
        if (wk_rec_load(r, 1) != 0) {
            rc = -1;
            goto done;
        }

        if (r->nitems == 0) {
            wk_rec_unwatch(r);
            rc = 0;
            goto done;
        }

        if (build(r, &cmd, out) != 0) {
            rc = -1;
            goto done;
        }

        rc = wk_rec_exec(r, &cmd, what);

        if (rc != 0) {
            rc = rc > 0 ? 0 : -1;
            goto done;
        }
    }

    rc = wk_rec_fail(r, WH_STATUS_ERROR, "the collection changed during %d "
                     "attempts to %s records", tries, what);

done:

    wk_args_free(&cmd);

    return rc;
}


/* HSET of the merged records; out gets the answer's first records */

static int
wk_rec_update_cmd(wk_rec_t *r, wk_args_t *cmd, wh_buf_t *out)
{
    char      now[WH_ISO_LEN];
    size_t    i;
    wh_buf_t  rec;

    wh_iso_time(wk_now_ms(), now);
    wh_buf_init(out, &r->tmp, 256);
    wh_buf_printf(out, "{\"count\":%zu,\"records\":[", r->nitems);

    wk_args_adds(cmd, "HSET");
    wk_args_adds(cmd, r->key);

    for (i = 0; i < r->nitems; i++) {
        wh_buf_init(&rec, &r->tmp, 256);
        wk_rec_merge(&rec, r->items[i].rec, r->values, now);

        if (rec.failed) {
            wk_args_reset(cmd);
            return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
        }

        wk_args_addll(cmd, r->items[i].id);
        wk_args_add(cmd, rec.data, rec.len);

        if (i < WK_REC_UPDATED_MAX) {
            wh_buf_add(out, ",", i ? 1 : 0);
            wh_buf_add(out, rec.data, rec.len);
        }
    }

    return 0;
}


static int
wk_rec_update(wk_rec_t *r)
{
    wh_buf_t  out;

    if (wk_rec_values(r, 1) != 0 || wk_rec_need_where(r) != 0
        || wk_rec_watched(r, wk_rec_update_cmd, &out, "update") != 0)
    {
        return -1;
    }

    if (r->nitems == 0) {
        wh_buf_init(&out, &r->tmp, 32);
        wh_buf_adds(&out, "{\"count\":0,\"records\":[");
    }

    wh_buf_adds(&out, "]}");

    return wk_rec_result(r, &out);
}


static int
wk_rec_destroy_cmd(wk_rec_t *r, wk_args_t *cmd, wh_buf_t *out)
{
    size_t  i;

    (void) out;

    wk_args_adds(cmd, "HDEL");
    wk_args_adds(cmd, r->key);

    for (i = 0; i < r->nitems; i++) {
        wk_args_addll(cmd, r->items[i].id);
    }

    return 0;
}


static int
wk_rec_destroy(wk_rec_t *r)
{
    wh_buf_t  out;

    if (wk_rec_need_where(r) != 0
        || wk_rec_watched(r, wk_rec_destroy_cmd, NULL, "destroy") != 0)
    {
        return -1;
    }

    wh_buf_init(&out, &r->tmp, 32);
    wh_buf_printf(&out, "{\"count\":%zu}", r->nitems);

    return wk_rec_result(r, &out);
}


/* query */

static int
wk_rec_sort_add(wk_rec_t *r, wh_val_t v)
{
    size_t          len;
    const char     *s;
    wk_rec_sort_t  *k;

    if (wh_val_type(v) != WH_JSON_STRING
        || wh_val_str(&r->tmp, v, &s, &len) != 0)
    {
        return wk_rec_fail(r, WH_STATUS_FAILED, "\"sort\" must be a field "
                           "name or an array of them (\"-name\": "
                           "descending)");
    }

    k = &r->sort[r->nsort];
    k->desc = len > 0 && s[0] == '-';
    k->path = s + k->desc;
    k->len = len - k->desc;

    if (k->len == 0) {
        return wk_rec_fail(r, WH_STATUS_FAILED, "\"sort\" has an empty "
                           "field name");
    }

    r->nsort++;

    return 0;
}


static int
wk_rec_sort_parse(wk_rec_t *r)
{
    uint32_t  i, n;
    wh_val_t  v;

    v = wk_rec_get(r, "sort");

    switch (wh_val_type(v)) {

    case WH_JSON_MISSING:
    case WH_JSON_NULL:
        return 0;

    case WH_JSON_ARRAY:
        n = wh_val_size(v);
        break;

    default:
        n = 1;
        break;
    }

    r->sort = wh_alloc(&r->tmp, (n ? n : 1) * sizeof(wk_rec_sort_t));
    if (r->sort == NULL) {
        return wk_rec_fail(r, WH_STATUS_ERROR, "out of memory");
    }

    if (wh_val_type(v) != WH_JSON_ARRAY) {
        return wk_rec_sort_add(r, v);
    }

    for (i = 0; i < n; i++) {
        if (wk_rec_sort_add(r, wh_val_index(v, i)) != 0) {
            return -1;
        }
    }

    return 0;
}


/* The value at a dotted path: object members, numeric segments index. */

static wh_val_t
wk_rec_path(wh_val_t v, const char *p, size_t len)
{
    size_t       seg;
    uint32_t     idx;
    const char  *end, *dot;

    end = p + len;

    while (p < end) {
        dot = memchr(p, '.', end - p);
        seg = (dot ? dot : end) - p;

        if (wh_val_type(v) == WH_JSON_ARRAY && seg > 0 && seg < 10
            && strspn(p, "0123456789") >= seg)
        {
            idx = (uint32_t) strtoul(p, NULL, 10);
            v = wh_val_index(v, idx);

        } else {
            v = wh_val_get(v, p, seg);
        }

        p += seg + (dot != NULL);
    }

    return v;
}


/* Missing and null first, numbers as numbers, other values by text. */

static int
wk_rec_cmp_val(wh_mem_t *mem, wh_val_t a, wh_val_t b)
{
    int             c, an, bn;
    double          x, y;
    size_t          al, bl;
    const char     *as, *bs;
    wh_json_type_t  at, bt;

    at = wh_val_type(a);
    bt = wh_val_type(b);
    an = at == WH_JSON_MISSING || at == WH_JSON_NULL;
    bn = bt == WH_JSON_MISSING || bt == WH_JSON_NULL;

    if (an || bn) {
        return bn - an;
    }

    if ((at == WH_JSON_NUMBER || at == WH_JSON_STRING)
        && (bt == WH_JSON_NUMBER || bt == WH_JSON_STRING)
        && wh_val_to_number(a, &x) == 0 && wh_val_to_number(b, &y) == 0)
    {
        return x < y ? -1 : x > y;
    }

    if (wh_val_text(mem, a, &as, &al) != 0
        || wh_val_text(mem, b, &bs, &bl) != 0)
    {
        return 0;
    }

    c = memcmp(as, bs, al < bl ? al : bl);

    if (c == 0) {
        return al < bl ? -1 : al > bl;
    }

    return c < 0 ? -1 : 1;
}


static int
wk_rec_cmp_sort(const void *pa, const void *pb, void *data)
{
    int                   c;
    size_t                i;
    wk_rec_t             *r;
    const wk_rec_sort_t  *k;
    const wk_rec_item_t  *a = pa, *b = pb;

    r = data;

    for (i = 0; i < r->nsort; i++) {
        k = &r->sort[i];
        c = wk_rec_cmp_val(&r->tmp, wk_rec_path(a->rec, k->path, k->len),
                           wk_rec_path(b->rec, k->path, k->len));

        if (c != 0) {
            return k->desc ? -c : c;
        }
    }

    return wk_rec_cmp_id(a, b);
}


/* A positive integer option with a default. */

static int
wk_rec_int(wk_rec_t *r, const char *name, const char *alias, long long def,
    long long *out)
{
    double    d;
    wh_val_t  v;

    v = wk_rec_get(r, name);

    if (alias != NULL && wh_val_type(v) == WH_JSON_MISSING) {
        v = wk_rec_get(r, alias);
        name = alias;
    }

    if (wh_val_type(v) == WH_JSON_MISSING || wh_val_type(v) == WH_JSON_NULL) {
        *out = def;
        return 0;
    }

    if ((wh_val_type(v) != WH_JSON_NUMBER && wh_val_type(v) != WH_JSON_STRING)
        || wh_val_to_number(v, &d) != 0 || d < 1 || d > 1e9
        || d != (double) (long long) d)
    {
        return wk_rec_fail(r, WH_STATUS_FAILED, "\"%s\" must be a positive "
                           "integer", name);
    }

    *out = (long long) d;

    return 0;
}


static int
wk_rec_query(wk_rec_t *r)
{
    int         multiple, fail_empty;
    size_t      i, from, to;
    wh_buf_t    out;
    long long   page, size;

    multiple = wh_val_truthy(wk_rec_get(r, "multiple"));
    fail_empty = wh_val_truthy(wk_rec_get(r, "failOnEmpty"));

    if (wk_rec_sort_parse(r) != 0
        || wk_rec_int(r, "pageSize", "limit", WK_REC_PAGE_SIZE, &size) != 0
        || wk_rec_int(r, "page", NULL, 1, &page) != 0
        || wk_rec_load(r, 0) != 0)
    {
        return -1;
    }

    if (r->nsort) {
        qsort_r(r->items, r->nitems, sizeof(wk_rec_item_t), wk_rec_cmp_sort,
                r);
    }

    if (!multiple) {
        page = 1;
        size = 1;
    }

    from = (size_t) ((page - 1) * size);
    from = from > r->nitems ? r->nitems : from;
    to = from + (size_t) size;
    to = to > r->nitems ? r->nitems : to;

    wh_buf_init(&out, &r->tmp, 256);

    if (multiple) {
        wh_buf_addc(&out, '[');
    }

    for (i = from; i < to; i++) {
        if (i > from) {
            wh_buf_addc(&out, ',');
        }

        wh_val_write_json(&out, r->items[i].rec);
    }

    if (multiple) {
        wh_buf_addc(&out, ']');

    } else if (from == to) {
        wh_buf_adds(&out, "null");
    }

    if (wk_rec_result(r, &out) != 0) {
        return -1;
    }

    if (fail_empty && from == to) {
        return wk_rec_fail(r, WH_STATUS_FAILED, "no record matched");
    }

    return 0;
}


int
wk_records_start(wk_worker_t *w, wk_run_t *run, wh_exec_t *ex,
    const wh_node_t *node)
{
    int          rc;
    wk_rec_t     r;
    wh_scope_t  *scope;

    memset(&r, 0, sizeof(wk_rec_t));
    r.w = w;
    r.node = node;
    scope = wh_exec_scope(ex);
    r.mem = scope->mem;
    r.result = wh_val_missing();

    r.arena = wh_arena_create(0);
    if (r.arena == NULL) {
        wk_run_node_done(w, run, WH_STATUS_ERROR, wh_val_missing(),
                         "out of memory");
        return 0;
    }

    wh_arena_mem(r.arena, &r.tmp);

    if (wh_tpl_eval(node->config_tpl, scope, &r.cfg) != 0) {
        rc = wk_rec_fail(&r, WH_STATUS_ERROR, "cannot render the config");

    } else if (wk_rec_collection(&r) != 0) {
        rc = -1;

    } else if (node->type == WH_NODE_CREATE) {
        rc = wk_rec_create(&r);

    } else if (wk_rec_where(&r) != 0) {
        rc = -1;

    } else if (node->type == WH_NODE_UPDATE) {
        rc = wk_rec_update(&r);

    } else if (node->type == WH_NODE_DESTROY) {
        rc = wk_rec_destroy(&r);

    } else {
        rc = wk_rec_query(&r);
    }

    freeReplyObject(r.reply);

    /* a WATCH left behind would abort the run's own MULTI/EXEC later */
    if (r.watching) {
        wk_rec_unwatch(&r);
    }

    if (rc == 0) {
        wk_run_node_done(w, run, WH_STATUS_RESOLVED, r.result, NULL);

    } else {
        /* the error is copied by wh_exec_resume() */
        wk_run_node_done(w, run, r.status, r.result, r.err);
    }

    wh_arena_destroy(r.arena);

    return 0;
}
