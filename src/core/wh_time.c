/*
 * ISO 8601 timestamps by arithmetic: a civil date from days since 1970
 * (H. Hinnant's algorithm).  A worker's record has a dozen of them, and
 * gmtime_r() with snprintf() was a quarter of the worker's time.
 */

#include "wh_time.h"


void
wh_iso_time(int64_t ms, char *buf)
{
    int       y, m, d, v[7], i;
    char     *p;
    int64_t   days, sod, era, doe, yoe, doy, mp;

    static const int  width[7] = { 4, 2, 2, 2, 2, 2, 3 };
    static const char sep[7] = { '-', '-', 'T', ':', ':', '.', 'Z' };

    /* floor division: a time before 1970 is in the day before */
    days = ms / 86400000;
    sod = ms % 86400000;

    if (sod < 0) {
        sod += 86400000;
        days--;
    }

    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = (int) (doy - (153 * mp + 2) / 5 + 1);
    m = (int) (mp < 10 ? mp + 3 : mp - 9);
    y = (int) (yoe + era * 400 + (m <= 2));

    v[0] = y % 10000;
    v[1] = m;
    v[2] = d;
    v[3] = (int) (sod / 3600000);
    v[4] = (int) (sod / 60000 % 60);
    v[5] = (int) (sod / 1000 % 60);
    v[6] = (int) (sod % 1000);

    p = buf;

    for (i = 0; i < 7; i++) {
        p += width[i];

        for (m = 1; m <= width[i]; m++) {
            p[-m] = (char) ('0' + v[i] % 10);
            v[i] /= 10;
        }

        *p++ = sep[i];
    }

    *p = '\0';
}
