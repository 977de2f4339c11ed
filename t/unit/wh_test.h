/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal TAP producer for the core library's unit tests: each test
 * binary prints "ok N - name" / "not ok N - name" and a closing plan, so
 * prove runs them beside the Test::Nginx suites.
 */

#ifndef WH_TEST_H
#define WH_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int  wh_test_n;
static int  wh_test_failed;

#define ok(cond, ...)                                                       \
    do {                                                                    \
        int _c = (cond) ? 1 : 0;                                            \
        printf("%sok %d - ", _c ? "" : "not ", ++wh_test_n);                \
        printf(__VA_ARGS__);                                                \
        printf("\n");                                                       \
        if (!_c) {                                                          \
            wh_test_failed++;                                               \
            printf("#   at %s line %d\n", __FILE__, __LINE__);              \
        }                                                                   \
    } while (0)

#define is_str(got, exp, ...)                                               \
    do {                                                                    \
        const char *_g = (got), *_e = (exp);                                \
        int _m = (_g != NULL && _e != NULL && strcmp(_g, _e) == 0);         \
        ok(_m, __VA_ARGS__);                                                \
        if (!_m) {                                                          \
            printf("#   got:      '%s'\n#   expected: '%s'\n",              \
                   _g ? _g : "(null)", _e ? _e : "(null)");                 \
        }                                                                   \
    } while (0)

#define is_int(got, exp, ...)                                               \
    do {                                                                    \
        long long _g = (long long) (got), _e = (long long) (exp);           \
        ok(_g == _e, __VA_ARGS__);                                          \
        if (_g != _e) {                                                     \
            printf("#   got: %lld expected: %lld\n", _g, _e);               \
        }                                                                   \
    } while (0)

#define done_testing()                                                      \
    (printf("1..%d\n", wh_test_n), wh_test_failed ? 1 : 0)

#endif /* WH_TEST_H */
