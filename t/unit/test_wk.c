/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of the worker's helpers without Redis (src/worker/wk_util.c):
 * addresses, times, ids, status names, the retry backoff, the RESP
 * text of commands and the Redis options (wk_redis.c).
 */

#include "../../src/worker/wk_util.c"
#include "../../src/worker/wk_redis.c"

#include <time.h>

#include "wh_test.h"


static void
test_time(void)
{
    size_t   i;
    int64_t  ms;

    static const struct {
        const char  *s;
        int64_t      ms;
    } good[] = {
        { "500ms", 500 },
        { "30s", 30000 },
        { "10", 10000 },
        { "5m", 300000 },
        { "2h", 7200000 },
        { "7d", 604800000 },
        { "0s", 0 },
    };

    static const char  *bad[] = {
        "", "s", "5x", "-1s", "1.5s", " 5s", "5 s", "5sec",
        "99999999999999999999d"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ms = -1;
        ok(wk_time_parse(good[i].s, &ms) == 0 && ms == good[i].ms,
           "time \"%s\" is %lld ms", good[i].s, (long long) good[i].ms);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(wk_time_parse(bad[i], &ms), -1, "time \"%s\" is refused",
               bad[i]);
    }
}


static void
test_addr(void)
{
    size_t     i;
    wk_addr_t  a;

    static const char  *bad[] = {
        "nohost", ":6379", "h:0", "h:70000", "h:12a", "h:", "unix:"
    };

    ok(wk_addr_parse("127.0.0.1:6379", &a) == 0, "host:port");
    is_str(a.path, "127.0.0.1", "... the host");
    is_int(a.port, 6379, "... the port");

    ok(wk_addr_parse("unix:/run/redis/redis.sock", &a) == 0, "unix:/path");
    is_str(a.path, "/run/redis/redis.sock", "... the path");
    is_int(a.port, 0, "... no port");

    ok(wk_addr_parse("[::1]:6380", &a) == 0 && a.port == 6380
       && strcmp(a.path, "::1") == 0, "[IPv6]:port");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        is_int(wk_addr_parse(bad[i], &a), -1, "address \"%s\" is refused",
               bad[i]);
    }
}


static void
test_iso(void)
{
    char  buf[WH_ISO_LEN];

    wh_iso_time(0, buf);
    is_str(buf, "1970-01-01T00:00:00.000Z", "ISO time of 0");

    wh_iso_time(1700000000123LL, buf);
    is_str(buf, "2023-11-14T22:13:20.123Z", "ISO time with milliseconds");
    is_int(wk_iso_parse(buf), 1700000000123LL, "... and back");

    wh_iso_time(1709251199999LL, buf);
    is_str(buf, "2024-02-29T23:59:59.999Z", "a leap day's last millisecond");
    is_int(wk_iso_parse(buf), 1709251199999LL, "... and back");

    /* the arithmetic against gmtime_r over four centuries, leap days and
       the turn of 2100 included */
    {
        int        i, bad;
        char       want[64];
        time_t     sec;
        int64_t    t;
        struct tm  tm;

        bad = 0;

        for (i = 0; i < 200000 && !bad; i++) {
            t = (int64_t) i * 63113904LL + i % 1000
                + (i % 7 == 0 ? 86399999LL : 0);
            sec = (time_t) (t / 1000);
            gmtime_r(&sec, &tm);
            snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (t % 1000));
            wh_iso_time(t, buf);

            if (strcmp(buf, want) != 0) {
                printf("# %lld: got %s, want %s\n", (long long) t, buf,
                       want);
                bad = 1;
            }
        }

        ok(!bad, "ISO time agrees with gmtime_r from 1970 to 2370");
    }

    wh_iso_time(-1, buf);
    is_str(buf, "1969-12-31T23:59:59.999Z", "a millisecond before 1970");
    wh_iso_time(-86400000LL * 365, buf);
    is_str(buf, "1969-01-01T00:00:00.000Z", "a year before 1970");

    wh_iso_time(4107542400000LL, buf);
    is_str(buf, "2100-03-01T00:00:00.000Z", "2100 has no leap day");

    is_int(wk_iso_parse("2023-11-14T22:13:20Z"), -1,
           "ISO time without milliseconds is refused");
    is_int(wk_iso_parse("2023-11-14T22:13:20.123Zx"), -1,
           "trailing bytes are refused");
    is_int(wk_iso_parse(""), -1, "the empty string is refused");
}


static void
test_uuid(void)
{
    int      good;
    char     id[40];
    int64_t  before, ms;

    is_int(wk_uuid7_ms("0190a5c4-1111-7000-8000-000000000001"),
           0x0190a5c41111LL, "the time of a UUIDv7");
    is_int(wk_uuid7_ms("0190A5C4-1111-7ABC-8000-000000000001"),
           0x0190a5c41111LL, "... in upper case");
    is_int(wk_uuid7_ms("0190a5c4-1111-4000-8000-000000000001"), -1,
           "a UUIDv4 has none");
    is_int(wk_uuid7_ms("0190a5c4-1111-7000-8000-00000000001"), -1,
           "a short id has none");
    is_int(wk_uuid7_ms("0190a5g4-1111-7000-8000-000000000001"), -1,
           "an id with a non-hex digit has none");
    is_int(wk_uuid7_ms("x1"), -1, "any other id has none");

    before = wk_now_ms();
    ok(wk_uuid7(id) == 0, "a new UUIDv7");
    ms = wk_uuid7_ms(id);
    ok(ms >= before && ms <= wk_now_ms(), "... of now: %s", id);

    good = strlen(id) == 36 && strchr("89ab", id[19]) != NULL;
    ok(good, "... with the RFC 9562 variant");
}


static void
test_status(void)
{
    int  s;

    is_str(wk_status_name(0), "started", "status 0");
    is_str(wk_status_name(1), "resolved", "status 1");
    is_str(wk_status_name(-1), "failed", "status -1");
    is_str(wk_status_name(-2), "error", "status -2");
    is_str(wk_status_name(-3), "aborted", "status -3");
    is_str(wk_status_name(-6), "retry_needed", "status -6");
    is_str(wk_status_name(WK_STATUS_QUEUED), "queued", "no status");
    is_str(wk_status_name(7), "unknown", "another status");

    ok(wk_status_parse("resolved", &s) == 0 && s == 1, "parse resolved");
    ok(wk_status_parse("retry_needed", &s) == 0 && s == -6,
       "parse retry_needed");
    ok(wk_status_parse("-3", &s) == 0 && s == -3, "parse -3");
    is_int(wk_status_parse("done", &s), -1, "an unknown name is refused");
    is_int(wk_status_parse("1x", &s), -1, "a bad number is refused");
}


static void
test_backoff(void)
{
    is_int(wk_backoff_ms(1), 1000, "backoff after attempt 1: 1s");
    is_int(wk_backoff_ms(2), 2000, "after attempt 2: 2s");
    is_int(wk_backoff_ms(3), 4000, "after attempt 3: 4s");
    is_int(wk_backoff_ms(9), 256000, "after attempt 9: 256s");
    is_int(wk_backoff_ms(10), 300000, "after attempt 10: capped at 5 min");
    is_int(wk_backoff_ms(1000), 300000, "after attempt 1000: 5 min");
    is_int(wk_backoff_ms(0), 1000, "attempt 0: 1s");
}


static void
test_resp(void)
{
    int            i;
    char          *want;
    size_t         len[5];
    wk_args_t      a;
    const char    *argv[5];
    redisContext  *c;

    static const char  bin[] = "a\0b\r\nc";

    c = redisConnectUnixNonBlock("/nonexistent/wk-test.sock");
    ok(c != NULL, "a context to format into");

    if (c == NULL) {
        return;
    }

    wk_args_init(&a);
    wk_args_adds(&a, "HSET");
    wk_args_adds(&a, "webhook:execution:x");
    wk_args_add(&a, bin, sizeof(bin) - 1);
    wk_args_addll(&a, -1234567890123LL);
    wk_args_add(&a, "", 0);

    argv[0] = "HSET";
    argv[1] = "webhook:execution:x";
    argv[2] = bin;
    argv[3] = "-1234567890123";
    argv[4] = "";

    for (i = 0; i < 5; i++) {
        len[i] = i == 2 ? sizeof(bin) - 1 : strlen(argv[i]);
    }

    sdsfree(c->obuf);
    c->obuf = sdsempty();

    is_int(wk_append(c, &a), 0, "a command is appended");
    is_int(a.n, 0, "... and the vector is reset");

    is_int(redisFormatCommandArgv(&want, 5, argv, len),
           (long long) sdslen(c->obuf), "RESP length as hiredis formats it");
    ok(memcmp(c->obuf, want, sdslen(c->obuf)) == 0,
       "... and the same bytes, binary argument included");

    free(want);
    wk_args_free(&a);
    redisFree(c);
}


/* The Redis options of both programs (wk_redis.c), without Redis. */

static void
test_redis_options(void)
{
    int          fd;
    FILE        *f;
    char         path[] = "/tmp/wk-test-pass-XXXXXX";
    wk_redis_t   r;

    memset(&r, 0, sizeof(r));
    ok(wk_redis_option(&r, "t", "redis-password", "secret") == -1,
       "--redis-password is refused");
    ok(r.password == NULL, "... and nothing was taken from it");

    ok(wk_redis_option(&r, "t", "redis-db", "3") == 0 && r.db == 3,
       "--redis-db 3");
    ok(wk_redis_option(&r, "t", "redis-db", "x") == -1, "--redis-db x");
    ok(wk_redis_option(&r, "t", "redis-db", "-1") == -1, "--redis-db -1");

    fd = mkstemp(path);
    f = fdopen(fd, "w");
    fputs("s3cret word\nsecond line\n", f);
    fclose(f);

    ok(wk_redis_option(&r, "t", "redis-password-file", path) == 0,
       "--redis-password-file");
    is_str(r.password, "s3cret word", "the file's first line, no newline");

    f = fopen(path, "w");
    fclose(f);
    ok(wk_redis_option(&r, "t", "redis-password-file", path) == 0
       && r.password == NULL, "an empty file: no password");
    unlink(path);
    ok(wk_redis_option(&r, "t", "redis-password-file", path) == -1,
       "a missing file is an error");

    setenv("WEBHOOK_REDIS_PASSWORD", "from-env", 1);
    ok(wk_redis_options_done(&r, "t") == 0, "options done");
    is_str(r.password, "from-env", "the environment's password");
    ok(getenv("WEBHOOK_REDIS_PASSWORD") == NULL,
       "... removed from the environment");
    is_str(r.addr.path, "127.0.0.1", "the default address");

    memset(&r, 0, sizeof(r));
    ok(wk_redis_option(&r, "t", "redis-user", "hook") == 0
       && wk_redis_options_done(&r, "t") == -1,
       "--redis-user without a password is refused");

    memset(&r, 0, sizeof(r));
    ok(wk_redis_option(&r, "t", "sentinel", "127.0.0.1:26379,[::1]:26380")
       == 0 && r.nsentinels == 2 && r.sentinels[1].port == 26380,
       "--sentinel with two addresses");
    ok(wk_redis_options_done(&r, "t") == -1, "--sentinel needs --master");
    ok(wk_redis_option(&r, "t", "sentinel", "127.0.0.1:26379,unix:/x")
       == -1, "a Sentinel is IP:PORT, not a unix socket");
    ok(wk_redis_option(&r, "t", "sentinel", "127.0.0.1") == -1,
       "a Sentinel needs a port");
}


int
main(void)
{
    test_time();
    test_addr();
    test_iso();
    test_uuid();
    test_status();
    test_backoff();
    test_resp();
    test_redis_options();

    return done_testing();
}
