/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by webhook-worker and webhookctl without Redis: the
 * address, times, ids, status names, the log and the retry backoff.
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/time.h>

#include "wk.h"


static const struct {
    int          status;
    const char  *name;
} wk_statuses[] = {
    { WH_STATUS_STARTED, "started" },
    { WH_STATUS_RESOLVED, "resolved" },
    { WH_STATUS_FAILED, "failed" },
    { WH_STATUS_ERROR, "error" },
    { WH_STATUS_ABORTED, "aborted" },
    { WK_STATUS_RETRY_NEEDED, "retry_needed" },
    { WK_STATUS_QUEUED, "queued" },
};

#define WK_NSTATUSES  (sizeof(wk_statuses) / sizeof(wk_statuses[0]))


int
wk_addr_parse(const char *s, wk_addr_t *a)
{
    long         port;
    char        *end;
    const char  *colon;

    if (strncmp(s, "unix:", 5) == 0) {
        if (s[5] == '\0' || strlen(s + 5) >= sizeof(a->path)) {
            return -1;
        }

        strcpy(a->path, s + 5);
        a->port = 0;
        return 0;
    }

    colon = strrchr(s, ':');
    if (colon == NULL || colon == s
        || (size_t) (colon - s) >= sizeof(a->path))
    {
        return -1;
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end != '\0' || end == colon + 1 || port < 1
        || port > 65535)
    {
        return -1;
    }

    /* "[::1]:6379": hiredis wants the address without the brackets */
    if (s[0] == '[' && colon[-1] == ']' && colon - s > 2) {
        memcpy(a->path, s + 1, colon - s - 2);
        a->path[colon - s - 2] = '\0';

    } else {
        memcpy(a->path, s, colon - s);
        a->path[colon - s] = '\0';
    }

    a->port = (int) port;

    return 0;
}


/* nginx-style times: "500ms", "30s", "5m", "2h", "7d"; a bare number is s */

int
wk_time_parse(const char *s, int64_t *ms)
{
    char       *end;
    int64_t     unit;
    long long   n;

    if (!isdigit((unsigned char) *s)) {
        return -1;
    }

    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno || n < 0) {
        return -1;
    }

    if (strcmp(end, "ms") == 0) {
        unit = 1;

    } else if (*end == '\0' || strcmp(end, "s") == 0) {
        unit = 1000;

    } else if (strcmp(end, "m") == 0) {
        unit = 60 * 1000;

    } else if (strcmp(end, "h") == 0) {
        unit = 3600 * 1000;

    } else if (strcmp(end, "d") == 0) {
        unit = 86400 * 1000;

    } else {
        return -1;
    }

    if (n > INT64_MAX / unit / 4) {
        return -1;
    }

    *ms = n * unit;

    return 0;
}


int64_t
wk_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int64_t
wk_iso_parse(const char *s)
{
    int        n, msec;
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    msec = 0;
    n = 0;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec, &n)
        != 7 || n == 0 || s[n] != '\0')
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm) * 1000 + msec;
}


/* The 48-bit Unix millisecond prefix of a UUIDv7 (RFC 9562). */

int64_t
wk_uuid7_ms(const char *id)
{
    int      i, d;
    int64_t  ms;

    if (strlen(id) != 36 || id[8] != '-' || id[13] != '-' || id[14] != '7'
        || id[18] != '-' || id[23] != '-')
    {
        return -1;
    }

    ms = 0;

    for (i = 0; i < 13; i++) {
        if (i == 8) {
            continue;
        }

        if (id[i] >= '0' && id[i] <= '9') {
            d = id[i] - '0';

        } else if (id[i] >= 'a' && id[i] <= 'f') {
            d = id[i] - 'a' + 10;

        } else if (id[i] >= 'A' && id[i] <= 'F') {
            d = id[i] - 'A' + 10;

        } else {
            return -1;
        }

        ms = ms * 16 + d;
    }

    return ms;
}


int
wk_uuid7(char *out)
{
    int            i;
    char          *p;
    int64_t        ms;
    unsigned char  b[16];

    static const char  hex[] = "0123456789abcdef";

    if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b)) {
        return -1;
    }

    ms = wk_now_ms();

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (ms >> (40 - 8 * i));
    }

    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);

    p = out;

    for (i = 0; i < 16; i++) {
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0xf];

        if (i == 3 || i == 5 || i == 7 || i == 9) {
            *p++ = '-';
        }
    }

    *p = '\0';

    return 0;
}


const char *
wk_status_name(int status)
{
    size_t  i;

    for (i = 0; i < WK_NSTATUSES; i++) {
        if (wk_statuses[i].status == status) {
            return wk_statuses[i].name;
        }
    }

    return "unknown";
}


int
wk_status_parse(const char *s, int *status)
{
    long    n;
    char   *end;
    size_t  i;

    for (i = 0; i < WK_NSTATUSES; i++) {
        if (strcmp(wk_statuses[i].name, s) == 0) {
            *status = wk_statuses[i].status;
            return 0;
        }
    }

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || n < -100 || n > 100) {
        return -1;
    }

    *status = (int) n;

    return 0;
}


/*
 * Log lines are collected and written whole, several in one write(), when
 * the event loop is about to wait (wk_log_flush): a write per execution
 * was the worker's only system call per job.  A line never straddles two
 * writes, so workers sharing a log do not cut each other's lines.
 */

static char    wk_log_buf[WK_LOG_BUF];
static size_t  wk_log_len;
static int     wk_log_now = 1;        /* until the event loop runs */


void
wk_log(const char *fmt, ...)
{
    int      n;
    char     line[2048 + WH_ISO_LEN + 2];
    va_list  args;

    wh_iso_time(wk_now_ms(), line);
    line[WH_ISO_LEN - 1] = ' ';

    va_start(args, fmt);
    n = vsnprintf(line + WH_ISO_LEN, 2048, fmt, args);
    va_end(args);

    if (n < 0) {
        return;
    }

    n = WH_ISO_LEN + (n < 2048 ? n : 2047);
    line[n++] = '\n';

    if (wk_log_len + n > sizeof(wk_log_buf)) {
        wk_log_flush();
    }

    memcpy(wk_log_buf + wk_log_len, line, n);
    wk_log_len += n;

    if (wk_log_now) {
        wk_log_flush();
    }
}


void
wk_log_batch(int on)
{
    wk_log_now = !on;

    if (!on) {
        wk_log_flush();
    }
}


void
wk_log_flush(void)
{
    size_t   off;
    ssize_t  n;

    off = 0;

    while (off < wk_log_len) {
        n = write(STDERR_FILENO, wk_log_buf + off, wk_log_len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            break;                  /* nowhere to log: drop it */
        }

        off += n;
    }

    wk_log_len = 0;
}


const char *
wk_fmt(wh_mem_t *mem, const char *fmt, ...)
{
    char        *s;
    char         buf[1024];
    va_list      args;

    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    s = wh_memdup(mem, buf, strlen(buf));

    return s ? s : "out of memory";
}


int64_t
wk_backoff_ms(int attempts)
{
    int64_t  ms;

    ms = 1000;

    while (--attempts > 0 && ms < WK_BACKOFF_MAX) {
        ms *= 2;
    }

    return ms < WK_BACKOFF_MAX ? ms : WK_BACKOFF_MAX;
}
