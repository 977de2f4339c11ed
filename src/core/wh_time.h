/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ISO 8601 UTC timestamps with milliseconds ("2024-01-31T12:00:00.000Z"),
 * the one format of the context, the records and $system.now.
 */

#ifndef WH_TIME_H
#define WH_TIME_H

#include <stdint.h>

#include "wh_mem.h"

#define WH_ISO_LEN  25          /* "2024-01-31T12:00:00.000Z" and a NUL */

/* ms since 1970 into buf[WH_ISO_LEN]; the year is taken modulo 10000. */
void wh_iso_time(int64_t ms, char *buf);

/* The dates of JavaScript: +-8.64e15 ms around 1970. */
#define WH_TIME_MAX  8.64e15

enum {
    WH_TIME_MILLISECOND, WH_TIME_SECOND, WH_TIME_MINUTE, WH_TIME_HOUR,
    WH_TIME_DAY, WH_TIME_WEEK, WH_TIME_MONTH, WH_TIME_YEAR
};

/* Is ms a time within WH_TIME_MAX? */
int wh_time_valid(double ms);

/*
 * ISO 8601 text to ms: YYYY-MM-DD, optionally THH:mm, :ss, .fraction
 * (milliseconds kept), and Z, +HH, +HH:MM or +HHMM (none: UTC).  -1 when
 * it is not such a date.
 */
int wh_time_parse(const char *s, size_t len, double *ms);

/* Appends ms in UTC by pattern: YYYY MM DD HH mm ss SSS, others copied. */
int wh_time_format(wh_buf_t *b, double ms, const char *pat, size_t len);

/* A unit's WH_TIME_ number from its name, singular or plural; or -1. */
int wh_time_unit(const char *s, size_t len);

/*
 * ms + amount units; months and years by the calendar, the day clamped to
 * the month's last.  -1 when the result is out of range.
 */
int wh_time_add(double ms, double amount, int unit, double *out);

/* a - b in whole units, truncated toward zero. */
int wh_time_diff(double a, double b, int unit, double *out);

#endif /* WH_TIME_H */
