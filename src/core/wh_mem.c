/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory for the core library: the arena used by the worker and the tests,
 * and the growable buffer every writer of the library appends to.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_mem.h"


#define WH_ARENA_ALIGN    16
#define WH_ARENA_DEFAULT  16384
#define WH_ARENA_MIN      256

#define wh_align(n)                                                           \
    (((n) + (WH_ARENA_ALIGN - 1)) & ~(size_t) (WH_ARENA_ALIGN - 1))


typedef struct wh_arena_chunk_s  wh_arena_chunk_t;

struct wh_arena_chunk_s {
    wh_arena_chunk_t  *next;
};

struct wh_arena_s {
    wh_arena_chunk_t  *chunks;
    char              *pos;
    char              *end;
    size_t             chunk_size;
};

/* the chunk header keeps the data that follows it 16-byte aligned */
#define WH_ARENA_HDR  wh_align(sizeof(wh_arena_chunk_t))


static void *wh_arena_alloc(void *data, size_t size);


void *
wh_memdup(wh_mem_t *mem, const void *p, size_t len)
{
    char  *d;

    if (len == SIZE_MAX) {
        return NULL;
    }

    d = wh_alloc(mem, len + 1);
    if (d == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(d, p, len);
    }

    d[len] = '\0';

    return d;
}


wh_arena_t *
wh_arena_create(size_t chunk_size)
{
    wh_arena_t  *a;

    a = malloc(sizeof(wh_arena_t));
    if (a == NULL) {
        return NULL;
    }

    if (chunk_size == 0) {
        chunk_size = WH_ARENA_DEFAULT;

    } else if (chunk_size < WH_ARENA_MIN) {
        chunk_size = WH_ARENA_MIN;
    }

    a->chunks = NULL;
    a->pos = NULL;
    a->end = NULL;
    a->chunk_size = wh_align(chunk_size);

    return a;
}


void
wh_arena_destroy(wh_arena_t *a)
{
    wh_arena_chunk_t  *c, *next;

    if (a == NULL) {
        return;
    }

    for (c = a->chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    free(a);
}


void
wh_arena_mem(wh_arena_t *a, wh_mem_t *mem)
{
    mem->alloc = wh_arena_alloc;
    mem->data = a;
}


static void *
wh_arena_alloc(void *data, size_t size)
{
    char              *p;
    wh_arena_t        *a;
    wh_arena_chunk_t  *c;

    a = data;

    if (size > SIZE_MAX / 2) {
        return NULL;
    }

    size = size ? wh_align(size) : WH_ARENA_ALIGN;

    if (size <= (size_t) (a->end - a->pos)) {
        p = a->pos;
        a->pos += size;
        return p;
    }

    /*
     * Large requests get a chunk of their own, linked behind the current
     * one, so the free space of the current chunk is not wasted.
     */

    if (size > a->chunk_size / 4) {
        c = malloc(WH_ARENA_HDR + size);
        if (c == NULL) {
            return NULL;
        }

        if (a->chunks) {
            c->next = a->chunks->next;
            a->chunks->next = c;

        } else {
            c->next = NULL;
            a->chunks = c;
        }

        return (char *) c + WH_ARENA_HDR;
    }

    c = malloc(WH_ARENA_HDR + a->chunk_size);
    if (c == NULL) {
        return NULL;
    }

    c->next = a->chunks;
    a->chunks = c;

    p = (char *) c + WH_ARENA_HDR;
    a->pos = p + size;
    a->end = p + a->chunk_size;

    return p;
}


void
wh_buf_init(wh_buf_t *b, wh_mem_t *mem, size_t cap)
{
    b->mem = mem;
    b->len = 0;
    b->failed = 0;

    if (cap < 32) {
        cap = 32;
    }

    b->data = (cap < SIZE_MAX) ? wh_alloc(mem, cap + 1) : NULL;

    if (b->data == NULL) {
        b->cap = 0;
        b->failed = 1;
        return;
    }

    b->cap = cap;
    b->data[0] = '\0';
}


int
wh_buf_grow(wh_buf_t *b, size_t extra)
{
    char    *d;
    size_t   need, cap;

    if (b->failed) {
        return -1;
    }

    if (extra <= b->cap - b->len) {
        return 0;
    }

    if (extra > SIZE_MAX / 4 - b->len) {
        b->failed = 1;
        return -1;
    }

    need = b->len + extra;
    cap = b->cap * 2;

    if (cap < need) {
        cap = need;
    }

    /* the old storage is pool memory: it is simply left behind */

    d = wh_alloc(b->mem, cap + 1);
    if (d == NULL) {
        b->failed = 1;
        return -1;
    }

    if (b->data) {
        memcpy(d, b->data, b->len + 1);

    } else {
        d[0] = '\0';
    }

    b->data = d;
    b->cap = cap;

    return 0;
}


void
wh_buf_printf(wh_buf_t *b, const char *fmt, ...)
{
    int      n;
    size_t   room;
    va_list  args;

    if (b->failed) {
        return;
    }

    room = b->cap - b->len + 1;

    va_start(args, fmt);
    n = vsnprintf(b->data + b->len, room, fmt, args);
    va_end(args);

    if (n < 0) {
        b->data[b->len] = '\0';
        b->failed = 1;
        return;
    }

    if ((size_t) n < room) {
        b->len += n;
        return;
    }

    /* vsnprintf has written a truncated text: terminate again */
    b->data[b->len] = '\0';

    if (wh_buf_reserve(b, n) != 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(b->data + b->len, n + 1, fmt, args);
    va_end(args);

    b->len += n;
}


void
wh_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
