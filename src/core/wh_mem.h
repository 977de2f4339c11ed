/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory for the core library.  The library never keeps global state and
 * never calls malloc on the request path: callers hand it an allocator
 * (nginx passes its request pool, the worker and the tests an arena).
 * Nothing allocated through wh_mem_t is freed one by one.
 */

#ifndef WH_MEM_H
#define WH_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>


typedef struct {
    void   *(*alloc)(void *data, size_t size);   /* NULL on failure */
    void    *data;
} wh_mem_t;

#define wh_alloc(mem, size)  (mem)->alloc((mem)->data, (size))

void *wh_memdup(wh_mem_t *mem, const void *p, size_t len); /* NUL-terminated */


/* A growable arena of malloc'd chunks, freed all at once. */

typedef struct wh_arena_s  wh_arena_t;

wh_arena_t *wh_arena_create(size_t chunk_size);
void wh_arena_destroy(wh_arena_t *a);
void wh_arena_mem(wh_arena_t *a, wh_mem_t *mem);    /* fills mem */


/*
 * A growable byte buffer.  On allocation failure it sets "failed" and
 * ignores further writes, so callers check once at the end.
 * data is always NUL-terminated when not failed (the NUL is not in len).
 */

typedef struct {
    char       *data;
    size_t      len;
    size_t      cap;
    wh_mem_t   *mem;
    int         failed;
} wh_buf_t;

void wh_buf_init(wh_buf_t *b, wh_mem_t *mem, size_t cap);
int wh_buf_grow(wh_buf_t *b, size_t extra);      /* wh_buf_reserve's rest */
void wh_buf_printf(wh_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/*
 * The writes are inline: the request path makes hundreds of small ones,
 * and a call each cost more than the copy.
 */

/* Room for extra more bytes: 0, or -1 when the buffer has failed. */
static inline int
wh_buf_reserve(wh_buf_t *b, size_t extra)
{
    if (extra <= b->cap - b->len && !b->failed) {
        return 0;
    }

    return wh_buf_grow(b, extra);
}


static inline void
wh_buf_add(wh_buf_t *b, const void *p, size_t len)
{
    if (len == 0 || wh_buf_reserve(b, len) != 0) {
        return;
    }

    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
}


static inline void
wh_buf_addc(wh_buf_t *b, char c)
{
    if (wh_buf_reserve(b, 1) != 0) {
        return;
    }

    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}


/* strlen of a literal is folded at compile time */
static inline void
wh_buf_adds(wh_buf_t *b, const char *s)
{
    wh_buf_add(b, s, strlen(s));
}

/* Formats a message into err; nothing when err is NULL or errlen 0. */
void wh_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of a hex digit of either case, or -1. */
static inline int
wh_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

#endif /* WH_MEM_H */
