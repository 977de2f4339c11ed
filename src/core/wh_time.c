/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Dates in UTC by arithmetic: a civil date from days since 1970 and back
 * (H. Hinnant's algorithms).  A worker's record has a dozen timestamps,
 * and gmtime_r() with snprintf() was a quarter of the worker's time.  The
 * math engine's date functions parse, format, add and diff here; each is
 * linear in its text and constant in the dates.
 */

#include <math.h>
#include <string.h>

#include "wh_time.h"


#define WH_DAY_MS  86400000LL


static void
wh_time_civil(int64_t days, int *y, int *m, int *d)
{
    int64_t  era, doe, yoe, doy, mp;

    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}


static int64_t
wh_time_days(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static int
wh_time_mdays(int64_t y, int m)
{
    static const int  mdays[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        return 29;
    }

    return mdays[m - 1];
}


/* floor division: a time before 1970 is in the day before */

static void
wh_time_split(int64_t ms, int64_t *days, int64_t *sod)
{
    *days = ms / WH_DAY_MS;
    *sod = ms % WH_DAY_MS;

    if (*sod < 0) {
        *sod += WH_DAY_MS;
        (*days)--;
    }
}


void
wh_iso_time(int64_t ms, char *buf)
{
    int       y, m, d, v[7], i;
    char     *p;
    int64_t   days, sod;

    static const int  width[7] = { 4, 2, 2, 2, 2, 2, 3 };
    static const char sep[7] = { '-', '-', 'T', ':', ':', '.', 'Z' };

    wh_time_split(ms, &days, &sod);
    wh_time_civil(days, &y, &m, &d);

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


/* digits of exactly n characters; -1 otherwise */

static int
wh_time_num(const char *s, size_t len, size_t *i, int n)
{
    int  v, k;

    if (len - *i < (size_t) n) {
        return -1;
    }

    for (v = 0, k = 0; k < n; k++) {
        if (s[*i + k] < '0' || s[*i + k] > '9') {
            return -1;
        }

        v = v * 10 + (s[*i + k] - '0');
    }

    *i += n;

    return v;
}


int
wh_time_parse(const char *s, size_t len, double *ms)
{
    int      y, mo, d, h, mi, sec, frac, k, sign, oh, om;
    size_t   i;
    int64_t  t;

    i = 0;
    h = mi = sec = frac = 0;

    if ((y = wh_time_num(s, len, &i, 4)) < 0
        || i >= len || s[i++] != '-'
        || (mo = wh_time_num(s, len, &i, 2)) < 1 || mo > 12
        || i >= len || s[i++] != '-'
        || (d = wh_time_num(s, len, &i, 2)) < 1
        || d > wh_time_mdays(y, mo))
    {
        return -1;
    }

    if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;

        if ((h = wh_time_num(s, len, &i, 2)) < 0 || h > 23
            || i >= len || s[i++] != ':'
            || (mi = wh_time_num(s, len, &i, 2)) < 0 || mi > 59)
        {
            return -1;
        }

        if (i < len && s[i] == ':') {
            i++;

            if ((sec = wh_time_num(s, len, &i, 2)) < 0 || sec > 59) {
                return -1;
            }

            if (i < len && (s[i] == '.' || s[i] == ',')) {
                i++;

                /* milliseconds: the first three digits, the rest dropped */
                for (k = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, k++)
                {
                    if (k < 3) {
                        frac = frac * 10 + (s[i] - '0');
                    }
                }

                if (k == 0) {
                    return -1;
                }

                for ( /* void */ ; k < 3; k++) {
                    frac *= 10;
                }
            }
        }
    }

    t = (wh_time_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000
        + frac;

    /* a zone: Z, +HH, +HH:MM or +HHMM; none is UTC */

    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;

    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = (s[i++] == '-') ? -1 : 1;
        om = 0;

        if ((oh = wh_time_num(s, len, &i, 2)) < 0 || oh > 23) {
            return -1;
        }

        if (i < len && s[i] == ':') {
            i++;
        }

        if (i < len && (om = wh_time_num(s, len, &i, 2)) < 0) {
            return -1;
        }

        if (om > 59) {
            return -1;
        }

        t -= sign * (oh * 60 + om) * 60000LL;
    }

    if (i != len) {
        return -1;
    }

    *ms = (double) t;

    return 0;
}


static void
wh_time_put(wh_buf_t *b, int64_t v, int width)
{
    int   n;
    char  tmp[24];

    if (v < 0) {
        wh_buf_addc(b, '-');
        v = -v;
    }

    n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v > 0 || n < width);

    while (n > 0) {
        wh_buf_addc(b, tmp[--n]);
    }
}


int
wh_time_format(wh_buf_t *b, double ms, const char *pat, size_t len)
{
    int      y, m, d;
    size_t   i;
    int64_t  days, sod, t;

    if (!wh_time_valid(ms)) {
        return -1;
    }

    t = (int64_t) floor(ms);
    wh_time_split(t, &days, &sod);
    wh_time_civil(days, &y, &m, &d);

    for (i = 0; i < len; /* void */ ) {
        if (len - i >= 4 && memcmp(pat + i, "YYYY", 4) == 0) {
            wh_time_put(b, y, 4);
            i += 4;

        } else if (len - i >= 3 && memcmp(pat + i, "SSS", 3) == 0) {
            wh_time_put(b, sod % 1000, 3);
            i += 3;

        } else if (len - i >= 2 && memcmp(pat + i, "MM", 2) == 0) {
            wh_time_put(b, m, 2);
            i += 2;

        } else if (len - i >= 2 && memcmp(pat + i, "DD", 2) == 0) {
            wh_time_put(b, d, 2);
            i += 2;

        } else if (len - i >= 2 && memcmp(pat + i, "HH", 2) == 0) {
            wh_time_put(b, sod / 3600000, 2);
            i += 2;

        } else if (len - i >= 2 && memcmp(pat + i, "mm", 2) == 0) {
            wh_time_put(b, sod / 60000 % 60, 2);
            i += 2;

        } else if (len - i >= 2 && memcmp(pat + i, "ss", 2) == 0) {
            wh_time_put(b, sod / 1000 % 60, 2);
            i += 2;

        } else {
            wh_buf_addc(b, pat[i]);
            i++;
        }
    }

    return b->failed ? -1 : 0;
}


static const char  *wh_time_units[] = {
    "millisecond", "second", "minute", "hour", "day", "week", "month",
    "year"
};

static const int64_t  wh_time_unit_ms[] = {
    1, 1000, 60000, 3600000, WH_DAY_MS, 7 * WH_DAY_MS, 0, 0
};


int
wh_time_unit(const char *s, size_t len)
{
    size_t  i, n;

    /* "days" as "day" */
    if (len > 1 && s[len - 1] == 's') {
        len--;
    }

    for (i = 0; i < sizeof(wh_time_units) / sizeof(char *); i++) {
        n = strlen(wh_time_units[i]);

        if (n == len && memcmp(wh_time_units[i], s, n) == 0) {
            return (int) i;
        }
    }

    return -1;
}


int
wh_time_valid(double ms)
{
    return isfinite(ms) && fabs(ms) <= WH_TIME_MAX;
}


static int
wh_time_add_months(double ms, double months, double *out)
{
    int      y, m, d;
    int64_t  days, sod, t, total, ny, nm, nd;

    if (!wh_time_valid(ms) || !isfinite(months) || fabs(months) > 4e6) {
        return -1;
    }

    t = (int64_t) floor(ms);
    wh_time_split(t, &days, &sod);
    wh_time_civil(days, &y, &m, &d);

    total = (int64_t) y * 12 + (m - 1) + (int64_t) trunc(months);
    ny = (total >= 0 ? total : total - 11) / 12;
    nm = total - ny * 12 + 1;

    /* Jan 31 + 1 month is the last day of February, as moment and date-fns */
    nd = d;
    if (nd > wh_time_mdays(ny, (int) nm)) {
        nd = wh_time_mdays(ny, (int) nm);
    }

    *out = (double) (wh_time_days(ny, (int) nm, (int) nd) * WH_DAY_MS + sod)
           + (ms - (double) t);

    return wh_time_valid(*out) ? 0 : -1;
}


int
wh_time_add(double ms, double amount, int unit, double *out)
{
    if (!wh_time_valid(ms) || !isfinite(amount)) {
        return -1;
    }

    switch (unit) {
    case WH_TIME_MONTH:
        return wh_time_add_months(ms, amount, out);
    case WH_TIME_YEAR:
        return wh_time_add_months(ms, amount * 12, out);
    default:
        *out = ms + amount * (double) wh_time_unit_ms[unit];
        return wh_time_valid(*out) ? 0 : -1;
    }
}


int
wh_time_diff(double a, double b, int unit, double *out)
{
    int      ya, ma, da, yb, mb, db;
    double   c;
    int64_t  days, sod, months;

    if (!wh_time_valid(a) || !wh_time_valid(b)) {
        return -1;
    }

    if (unit != WH_TIME_MONTH && unit != WH_TIME_YEAR) {
        *out = trunc((a - b) / (double) wh_time_unit_ms[unit]);
        return 0;
    }

    /*
     * Clamping to a month's end is not symmetric (Jan 31 + 1 month is
     * Feb 29, Feb 29 - 1 month is Jan 29): counting from the earlier date
     * always makes diff(b, a) the negation of diff(a, b), as moment's.
     */

    if (a < b) {
        if (wh_time_diff(b, a, unit, &c) != 0) {
            return -1;
        }

        *out = -c;
        return 0;
    }

    wh_time_split((int64_t) floor(a), &days, &sod);
    wh_time_civil(days, &ya, &ma, &da);
    wh_time_split((int64_t) floor(b), &days, &sod);
    wh_time_civil(days, &yb, &mb, &db);

    months = ((int64_t) ya - yb) * 12 + (ma - mb);

    /* whole months only: step back when b + months passes a */

    if (wh_time_add_months(b, (double) months, &c) != 0) {
        return -1;
    }

    if (months > 0 && c > a) {
        months--;

    } else if (months < 0 && c < a) {
        months++;
    }

    *out = (double) (unit == WH_TIME_YEAR ? months / 12 : months);

    return 0;
}
