/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The worker's event loop: fd watches and timers, one ppoll() per turn
 * (models: Redis's ae.c, hiredis's adapters).  Everything that waits
 * registers here and is called back; the loop itself never blocks
 * anywhere else, and a handler may add and delete watches, its own
 * included, while the loop dispatches.
 */

#ifndef WK_LOOP_H
#define WK_LOOP_H

#include <stdint.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>


typedef struct wk_worker_s  wk_worker_t;

/*
 * A watch's handler gets poll()'s revents, or 0 when the deadline passed
 * first (a timer's always).
 */
typedef void (*wk_io_handler_pt)(wk_worker_t *w, void *data, int revents);

typedef struct {
    int                 fd;             /* -1: a timer */
    short               events;         /* POLLIN, POLLOUT */
    int64_t             deadline;       /* ms, 0: none */
    wk_io_handler_pt    handler;
    void               *data;
    uint64_t            serial;
} wk_io_t;

typedef struct {
    wk_io_t            *ios;
    size_t              nios;
    size_t              ios_cap;
    uint64_t            serial;

    /* the last turn's poll set: the caller's fds, then the watches' */
    struct pollfd      *pfds;
    uint64_t           *serials;
    size_t              npfds;
    size_t              nown;
    size_t              pfds_cap;
} wk_loop_t;


/* Watches fd (or only a deadline, with fd -1); 0 or -1 on OOM. */
int wk_io_add(wk_worker_t *w, int fd, short events, int64_t deadline,
    wk_io_handler_pt handler, void *data);
/* Calls handler(w, data, 0) once at deadline (ms); 0 or -1 on OOM. */
int wk_timer_add(wk_worker_t *w, int64_t deadline, wk_io_handler_pt handler,
    void *data);
/* Stops every watch and timer registered for data. */
void wk_io_del(wk_worker_t *w, void *data);

/*
 * Waits in ppoll() with mask for own[0..nown) (the caller's fds, which
 * it reads itself; fd -1 is skipped) and the watches, block ms at most
 * and no longer than the nearest deadline.  own's revents are set.
 * Returns ppoll()'s result: -1 with errno (EINTR: a signal came).
 */
int wk_loop_poll(wk_worker_t *w, struct pollfd *own, size_t nown,
    int64_t block, const sigset_t *mask);
/* Calls the handlers of the watches that fired or expired last poll. */
void wk_loop_dispatch(wk_worker_t *w);

void wk_loop_free(wk_worker_t *w);

#endif /* WK_LOOP_H */
