/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Script node executions per second of one worker process, and its memory:
 * N runs of a small script through wk_script_start/collect (the worker's
 * path), C in flight at once.  Built against either engine's wk_script.c
 * by bench/script/run.sh.  Prints one line: runs/s, the process's peak RSS
 * and private dirty memory, and those of its descendants (the V8 build's
 * helper and idle script processes) at the end.
 */

#define _GNU_SOURCE

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "wk_script.h"


static double
now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/*
 * RSS and private dirty memory (what is the process's alone) of pid's
 * descendants: the V8 build's helper and idle script processes.
 */

static void
children_mem_kb(long pid, long *rss, long *dirty)
{
    long   child, kb;
    char   path[64], line[256];
    FILE  *f, *s;

    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return;
    }

    while (fscanf(f, "%ld", &child) == 1) {
        snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", child);
        s = fopen(path, "r");
        if (s == NULL) {
            continue;
        }

        while (fgets(line, sizeof(line), s) != NULL) {
            if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
                *rss += kb;
            }

            if (sscanf(line, "Private_Dirty: %ld kB", &kb) == 1) {
                *dirty += kb;
            }
        }

        fclose(s);
        children_mem_kb(child, rss, dirty);
    }

    fclose(f);
}


static long
self_dirty_kb(void)
{
    long   kb, dirty;
    char   line[256];
    FILE  *s;

    dirty = 0;
    s = fopen("/proc/self/smaps_rollup", "r");
    if (s == NULL) {
        return -1;
    }

    while (fgets(line, sizeof(line), s) != NULL) {
        if (sscanf(line, "Private_Dirty: %ld kB", &kb) == 1) {
            dirty += kb;
        }
    }

    fclose(s);

    return dirty;
}


int
main(int argc, char **argv)
{
    int                  n, c, started, done, failed, i, k;
    long                 rss, dirty;
    double               t;
    wk_script_t        **fl;
    struct pollfd       *pfd;
    struct rusage        ru;
    wk_script_result_t   r;
    static const char    src[] = "return context.data.n + 1";
    static const char    ctx[] = "{\"data\":{\"n\":41}}";

    n = argc > 1 ? atoi(argv[1]) : 500;
    c = argc > 2 ? atoi(argv[2]) : 8;

    fl = calloc(c, sizeof(*fl));
    pfd = calloc(c, sizeof(*pfd));
    started = done = failed = 0;
    t = now_s();

    while (done < n) {
        for (i = 0; i < c && started < n; i++) {
            if (fl[i] == NULL) {
                fl[i] = wk_script_start(src, sizeof(src) - 1, NULL, ctx,
                                        NULL, 5000, 0);
                started++;
                if (fl[i] == NULL) {
                    failed++;
                    done++;
                }
            }
        }

        for (i = 0, k = 0; i < c; i++) {
            pfd[i].fd = fl[i] ? wk_script_fd(fl[i]) : -1;
            pfd[i].events = POLLIN;
            k += (fl[i] != NULL);
        }

        if (k == 0) {
            continue;
        }

        (void) poll(pfd, c, 1000);

        for (i = 0; i < c; i++) {
            if (fl[i] && pfd[i].revents
                && wk_script_collect(fl[i], &r) != WK_SCRIPT_AGAIN)
            {
                failed += !(r.ok && strcmp(r.result_json, "42") == 0);
                wk_script_result_free(&r);
                fl[i] = NULL;
                done++;
            }
        }
    }

    t = now_s() - t;
    getrusage(RUSAGE_SELF, &ru);

    rss = 0;
    dirty = 0;
    children_mem_kb((long) getpid(), &rss, &dirty);

    printf("%d runs, %d in flight: %.0f runs/s, %d failed; worker: peak RSS "
           "%ld kB, private dirty %ld kB; its descendants: RSS %ld kB, "
           "private dirty %ld kB\n", n, c, n / t, failed, ru.ru_maxrss,
           self_dirty_kb(), rss, dirty);

    return failed != 0;
}
