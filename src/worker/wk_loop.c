/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The worker's event loop (wk_loop.h).  Watches live in an array in the
 * order they were added; each carries a serial, so that a dispatch
 * finds a watch again after handlers added or deleted others, and never
 * calls one that was deleted, or added, since the poll.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk.h"


int
wk_io_add(wk_worker_t *w, int fd, short events, int64_t deadline,
    wk_io_handler_pt handler, void *data)
{
    size_t      cap;
    wk_io_t    *ios, *io;
    wk_loop_t  *l;

    l = &w->loop;

    if (l->nios == l->ios_cap) {
        cap = l->ios_cap ? l->ios_cap * 2 : 16;
        ios = realloc(l->ios, cap * sizeof(wk_io_t));
        if (ios == NULL) {
            return -1;
        }

        l->ios = ios;
        l->ios_cap = cap;
    }

    io = &l->ios[l->nios++];
    io->fd = fd;
    io->events = events;
    io->deadline = deadline;
    io->handler = handler;
    io->data = data;
    io->serial = ++l->serial;

    return 0;
}


int
wk_timer_add(wk_worker_t *w, int64_t deadline, wk_io_handler_pt handler,
    void *data)
{
    return wk_io_add(w, -1, 0, deadline, handler, data);
}


void
wk_io_del(wk_worker_t *w, void *data)
{
    size_t      i;
    wk_loop_t  *l;

    l = &w->loop;

    for (i = 0; i < l->nios; /* void */) {
        if (l->ios[i].data == data) {
            memmove(&l->ios[i], &l->ios[i + 1],
                    (l->nios - i - 1) * sizeof(wk_io_t));
            l->nios--;
            continue;
        }

        i++;
    }
}


int
wk_loop_poll(wk_worker_t *w, struct pollfd *own, size_t nown,
    int64_t block, const sigset_t *mask)
{
    int               rc;
    size_t            i, n, cap;
    int64_t           now;
    uint64_t         *serials;
    wk_loop_t        *l;
    struct pollfd    *pfds;
    struct timespec   ts;

    l = &w->loop;
    l->npfds = 0;
    l->nown = nown;

    if (l->nios + nown > l->pfds_cap) {
        cap = l->nios + nown + 16;

        pfds = realloc(l->pfds, cap * sizeof(struct pollfd));
        if (pfds == NULL) {
            errno = ENOMEM;
            return -1;
        }

        l->pfds = pfds;

        serials = realloc(l->serials, cap * sizeof(uint64_t));
        if (serials == NULL) {
            errno = ENOMEM;
            return -1;
        }

        l->serials = serials;
        l->pfds_cap = cap;
    }

    for (n = 0; n < nown; n++) {
        l->pfds[n] = own[n];
        l->pfds[n].revents = 0;
        l->serials[n] = 0;
    }

    now = wk_now_ms();

    for (i = 0; i < l->nios; i++) {
        l->pfds[n].fd = l->ios[i].fd;
        l->pfds[n].events = l->ios[i].events;
        l->pfds[n].revents = 0;
        l->serials[n++] = l->ios[i].serial;

        if (l->ios[i].deadline && l->ios[i].deadline - now < block) {
            block = l->ios[i].deadline - now;
        }
    }

    block = block < 0 ? 0 : block;
    ts.tv_sec = block / 1000;
    ts.tv_nsec = (block % 1000) * 1000000;

    rc = ppoll(l->pfds, n, &ts, mask);

    if (rc < 0) {
        return rc;
    }

    l->npfds = n;

    for (i = 0; i < nown; i++) {
        own[i].revents = l->pfds[i].revents;
    }

    return rc;
}


/*
 * A handler may add and delete watches: each is looked up again by its
 * serial.
 */

void
wk_loop_dispatch(wk_worker_t *w)
{
    int         revents;
    size_t      i, j;
    int64_t     now;
    wk_io_t     io;
    wk_loop_t  *l;

    l = &w->loop;
    now = wk_now_ms();

    for (i = l->nown; i < l->npfds; i++) {
        for (j = 0; j < l->nios && l->ios[j].serial != l->serials[i]; j++) {
            /* void */
        }

        if (j == l->nios) {
            continue;
        }

        revents = l->pfds[i].fd >= 0 ? l->pfds[i].revents : 0;

        if (revents == 0
            && (l->ios[j].deadline == 0 || l->ios[j].deadline > now))
        {
            continue;
        }

        io = l->ios[j];
        io.handler(w, io.data, revents);
    }

    l->npfds = 0;
}


void
wk_loop_free(wk_worker_t *w)
{
    free(w->loop.ios);
    free(w->loop.pfds);
    free(w->loop.serials);
    memset(&w->loop, 0, sizeof(wk_loop_t));
}
