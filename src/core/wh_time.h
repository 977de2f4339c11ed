/*
 * ISO 8601 UTC timestamps with milliseconds ("2024-01-31T12:00:00.000Z"),
 * the one format of the context, the records and $system.now.
 */

#ifndef WH_TIME_H
#define WH_TIME_H

#include <stdint.h>

#define WH_ISO_LEN  25          /* "2024-01-31T12:00:00.000Z" and a NUL */

/* ms since 1970 into buf[WH_ISO_LEN]; the year is taken modulo 10000. */
void wh_iso_time(int64_t ms, char *buf);

#endif /* WH_TIME_H */
