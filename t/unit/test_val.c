/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of workflow values (wh_val_*).
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_test.h"
#include "wh_val.h"


static wh_mem_t  mem;


static wh_val_t
val(const char *text)
{
    wh_val_t       v;
    wh_json_err_t  err;

    if (wh_val_parse(&mem, text, strlen(text), 1, &v, &err) != 0) {
        printf("# cannot parse %s: %s\n", text, err.msg);
        return wh_val_missing();
    }

    return v;
}


static const char *
json(wh_val_t v)
{
    wh_buf_t  b;

    wh_buf_init(&b, &mem, 0);
    wh_val_write_json(&b, v);

    return b.failed ? "(failed)" : b.data;
}


static const char *
text(wh_val_t v)
{
    size_t       len;
    const char  *s;

    if (wh_val_text(&mem, v, &s, &len) != 0) {
        return "(failed)";
    }

    if (strlen(s) != len) {
        return "(bad length)";
    }

    return s;
}


static const char *
num(double d)
{
    wh_val_t  v;

    v = wh_val_number(&mem, d);

    if (wh_val_type(v) == WH_JSON_MISSING) {
        return "(missing)";
    }

    if (wh_val_type(v) != WH_JSON_NUMBER) {
        return "(not a number)";
    }

    return json(v);
}


/* does the number print as exp and read back as d? */

static void
number_is(double d, const char *exp)
{
    double    r;
    wh_val_t  v, p;

    is_str(num(d), exp, "number %s", exp);

    v = wh_val_number(&mem, d);
    p = val(json(v));
    ok(wh_val_to_number(p, &r) == 0 && r == d, "  %s reads back", exp);
}


static double
to_num(const char *doc, int *rc)
{
    double  d;

    d = -12345;
    *rc = wh_val_to_number(val(doc), &d);

    return d;
}


static void
number_of(const char *doc, double exp)
{
    int     rc;
    double  d;

    d = to_num(doc, &rc);
    ok(rc == 0 && d == exp, "to_number %s", doc);

    if (rc != 0 || d != exp) {
        printf("#   rc %d, got %.17g, expected %.17g\n", rc, d, exp);
    }
}


static void
not_number(const char *doc)
{
    int  rc;

    to_num(doc, &rc);
    is_int(rc, -1, "not a number: %s", doc);
}


static int
veq(wh_val_t a, wh_val_t b)
{
    int  r;

    return wh_val_equal(&mem, a, b, &r) == 0 ? r : -1;
}


static int
eq(const char *a, const char *b)
{
    return veq(val(a), val(b));
}


static void
test_basics(void)
{
    wh_val_t        v, w;
    wh_json_err_t   err;
    const char     *s;
    size_t          len;
    char            src[16];

    v = wh_val_missing();
    is_int(wh_val_type(v), WH_JSON_MISSING, "missing");
    is_int(wh_val_type(wh_val_null()), WH_JSON_NULL, "null");
    is_int(wh_val_type(wh_val_bool(1)), WH_JSON_TRUE, "true");
    is_int(wh_val_type(wh_val_bool(0)), WH_JSON_FALSE, "false");
    is_str(json(wh_val_null()), "null", "null json");
    is_str(json(wh_val_bool(7)), "true", "true json");
    is_str(json(wh_val_bool(0)), "false", "false json");
    is_str(json(v), "null", "missing writes null");
    is_str(text(v), "", "missing text is empty");
    is_str(text(wh_val_null()), "null", "null text");
    is_str(text(wh_val_bool(1)), "true", "true text");

    v = val(" {\"a\": [1, \"two\", {\"x\": null}], \"b\": \"c\\nd\","
            " \"a\": [3] } ");
    is_int(wh_val_type(v), WH_JSON_OBJECT, "parsed object");
    is_int(wh_val_size(v), 3, "3 members");
    is_str(json(v), "{\"a\":[1,\"two\",{\"x\":null}],\"b\":\"c\\nd\","
           "\"a\":[3]}", "compact json");
    is_str(json(wh_val_get(v, "a", 1)), "[3]", "get: last member wins");
    is_int(wh_val_type(wh_val_get(v, "z", 1)), WH_JSON_MISSING,
           "get absent");
    is_int(wh_val_type(wh_val_get(wh_val_get(v, "z", 1), "y", 1)),
           WH_JSON_MISSING, "missing propagates through get");
    is_int(wh_val_type(wh_val_index(wh_val_missing(), 0)), WH_JSON_MISSING,
           "missing propagates through index");
    is_int(wh_val_type(wh_val_get(wh_val_get(v, "b", 1), "y", 1)),
           WH_JSON_MISSING, "get on a string");

    w = wh_val_member_value(v, 0);
    is_int(wh_val_size(w), 3, "first member value has 3 items");
    is_str(json(wh_val_index(w, 1)), "\"two\"", "index 1");
    is_str(text(wh_val_index(w, 1)), "two", "text of a string");
    is_str(text(wh_val_index(w, 2)), "{\"x\":null}", "text of an object");
    is_int(wh_val_type(wh_val_index(w, 3)), WH_JSON_MISSING, "index 3");
    is_int(wh_val_size(wh_val_index(w, 0)), 0, "size of a scalar");
    is_int(wh_val_size(wh_val_missing()), 0, "size of missing");

    is_str(text(wh_val_member_key(v, 0)), "a", "member key 0");
    is_str(text(wh_val_member_key(v, 1)), "b", "member key 1");
    is_str(text(wh_val_member_value(v, 1)), "c\nd", "member value 1");
    is_str(json(wh_val_member_value(v, 2)), "[3]", "member value 2");
    is_int(wh_val_type(wh_val_member_key(v, 3)), WH_JSON_MISSING,
           "member 3 absent");
    is_int(wh_val_type(wh_val_member_key(w, 0)), WH_JSON_MISSING,
           "member of an array");

    ok(wh_val_str(&mem, wh_val_get(v, "b", 1), &s, &len) == 0 && len == 3
       && strcmp(s, "c\nd") == 0, "wh_val_str");
    is_int(wh_val_str(&mem, w, &s, &len), -1, "wh_val_str of an array");

    /* copy: the value survives the source text */

    strcpy(src, "[\"abc\"]");
    ok(wh_val_parse(&mem, src, strlen(src), 1, &v, &err) == 0, "copy parse");
    memset(src, 'x', 7);
    is_str(text(wh_val_index(v, 0)), "abc", "copied text kept");

    strcpy(src, "[\"abc\"]");
    ok(wh_val_parse(&mem, src, strlen(src), 0, &v, &err) == 0, "no copy");
    ok(v.doc->text == src, "in place");

    ok(wh_val_parse(&mem, "[1,]", 4, 0, &v, &err) == -1, "parse error");
    is_str(err.msg, "unexpected character ']'", "  message");
    is_int(err.column, 4, "  column");
    is_int(wh_val_type(v), WH_JSON_MISSING, "  value is missing");
}


static void
test_numbers(void)
{
    number_is(0, "0");
    number_is(-0.0, "0");
    number_is(3, "3");
    number_is(-12, "-12");
    number_is(0.1, "0.1");
    number_is(-0.5, "-0.5");
    number_is(0.1 + 0.2, "0.30000000000000004");
    number_is(1.0 / 3, "0.3333333333333333");
    number_is(100, "100");
    number_is(1e15, "1000000000000000");
    number_is(9007199254740991.0, "9007199254740991");
    number_is(-9007199254740991.0, "-9007199254740991");
    number_is(9007199254740992.0, "9007199254740992");
    number_is(123456789012345678.0, "123456789012345680");
    number_is(1e20, "100000000000000000000");
    number_is(1e21, "1e+21");
    number_is(1.5e21, "1.5e+21");
    number_is(1e300, "1e+300");
    number_is(-1.7976931348623157e308, "-1.7976931348623157e+308");
    number_is(1e-6, "0.000001");
    number_is(1.5e-6, "0.0000015");
    number_is(1e-7, "1e-7");
    number_is(-2.5e-10, "-2.5e-10");
    number_is(5e-324, "5e-324");
    number_is(2.2250738585072014e-308, "2.2250738585072014e-308");
    number_is(123.456, "123.456");
    number_is(1234567.125, "1234567.125");

    is_str(num(NAN), "(missing)", "NaN is missing");
    is_str(num(INFINITY), "(missing)", "Infinity is missing");
    is_str(num(-INFINITY), "(missing)", "-Infinity is missing");

    number_of("0", 0);
    number_of("-0", 0);
    number_of("12", 12);
    number_of("-1.5e3", -1500);
    number_of("1E-2", 0.01);
    number_of("0.1", 0.1);
    number_of("123456789012345678901234567890",
              123456789012345678901234567890.0);
    number_of("1e400", INFINITY);
    number_of("1e-400", 0);
    number_of("\"42\"", 42);
    number_of("\" \\t 4.5e1 \\n\"", 45);
    number_of("\"  -7  \"", -7);
    number_of("\"+7\"", 7);
    number_of("\".5\"", 0.5);
    number_of("\"5.\"", 5);
    number_of("\"007\"", 7);
    number_of("\"1E3\"", 1000);
    number_of("\"\\u0031\\u0032\"", 12);
    number_of("\"0.30000000000000004\"", 0.1 + 0.2);
    number_of("\"2.2250738585072011e-308\"", 2.2250738585072011e-308);
    number_of("\"9007199254740993\"", 9007199254740992.0);
    not_number("\"\"");
    not_number("\"  \"");
    not_number("\"abc\"");
    not_number("\"1a\"");
    not_number("\"0x10\"");
    not_number("\"inf\"");
    not_number("\"Infinity\"");
    not_number("\"nan\"");
    not_number("\"1e\"");
    not_number("\"1e+\"");
    not_number("\".\"");
    not_number("\"-\"");
    not_number("\"1 2\"");
    not_number("\"1,5\"");
    not_number("\"--1\"");
    not_number("null");
    not_number("true");
    not_number("[1]");
    not_number("{}");
    is_int(wh_val_to_number(wh_val_missing(), &(double) { 0 }), -1,
           "not a number: missing");
}


/* Numbers the fast path converts, and its edges, as strtod() does. */

static void
test_number_rounding(void)
{
    int       i, k, bad, nd, e;
    char      text[96];
    double    got, want;
    uint64_t  x;

    bad = 0;
    x = 0x9e3779b97f4a7c15ULL;

    for (i = 0; i < 50000 && bad < 5; i++) {
        /* a random decimal: 1-18 digits, a point somewhere, an exponent */
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;

        k = 0;

        if (x & 1) {
            text[k++] = '-';
        }

        nd = 1 + (int) ((x >> 1) % 18);

        text[k++] = (char) ('1' + (x >> 8) % 9);

        for (e = 1; e < nd; e++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            text[k++] = (char) ('0' + x % 10);

            if (e == nd / 2 && e < nd - 1 && (x & 0x100)) {
                text[k++] = '.';
            }
        }

        if (x & 0x200) {
            k += sprintf(text + k, "e%d", (int) ((x >> 16) % 61) - 30);
        }

        text[k] = '\0';

        want = strtod(text, NULL);

        if (wh_val_to_number(val(text), &got) != 0
            || memcmp(&got, &want, sizeof(double)) != 0)
        {
            printf("# %s: got %.17g, want %.17g\n", text, got, want);
            bad++;
        }
    }

    is_int(bad, 0, "50000 random decimals convert as strtod() does");

    ok(wh_val_to_number(val("9007199254740993"), &got) == 0
       && got == 9007199254740992.0, "2^53 + 1 rounds to even");
    ok(wh_val_to_number(val("123456789012345e22"), &got) == 0
       && got == 123456789012345e22, "15 digits times 1e22");
    ok(wh_val_to_number(val("1e23"), &got) == 0 && got == 1e23,
       "1e23, past the exact powers of ten");
    ok(wh_val_to_number(val("-0.0"), &got) == 0 && got == 0
       && signbit(got), "-0.0 keeps its sign");
}


static void
test_long_numbers(void)
{
    int       rc;
    char     *s;
    size_t    i, n;
    double    d;
    wh_val_t  v;

    /* 10000 digits: 1234567890123...  is about 1.23e9999: infinity */

    n = 10000;
    s = malloc(n + 16);
    for (i = 0; i < n; i++) {
        s[i] = '0' + (i + 1) % 10;
    }
    s[n] = '\0';

    v = val(s);
    rc = wh_val_to_number(v, &d);
    ok(rc == 0 && isinf(d), "10000 digits overflow to infinity");
    is_str(json(v), s, "long number copied verbatim");
    ok(wh_val_truthy(v), "long number is truthy");

    /* 0.000...0001234 with 10000 zeros is 0 */

    s[0] = '0';
    s[1] = '.';
    memset(s + 2, '0', n - 6);
    memcpy(s + n - 4, "1234", 4);
    rc = wh_val_to_number(val(s), &d);
    ok(rc == 0 && d == 0, "tiny long number is 0");
    ok(!wh_val_truthy(val(s)), "  and falsy");

    /* 1.000...0001 with 10000 digits rounds to 1 */

    s[0] = '1';
    memset(s + 2, '0', n - 3);
    s[n - 1] = '1';
    rc = wh_val_to_number(val(s), &d);
    ok(rc == 0 && d == 1, "1.000...0001 is 1");

    /* 1000...000 (9999 zeros) e-9990 is 1e9 */

    s[0] = '1';
    memset(s + 1, '0', n - 1);
    strcpy(s + n, "e-9990");
    rc = wh_val_to_number(val(s), &d);
    ok(rc == 0 && d == 1e9, "long mantissa with a negative exponent");
    free(s);

    /* 2^53 + 1 followed by many zeros and a 1 rounds up, not to even */

    n = 2000;
    s = malloc(n + 32);
    strcpy(s, "9007199254740993.");
    memset(s + 17, '0', n);
    strcpy(s + 17 + n, "1");
    rc = wh_val_to_number(val(s), &d);
    ok(rc == 0 && d == 9007199254740994.0, "sticky digit breaks the tie");

    strcpy(s + 17 + n, "0");
    rc = wh_val_to_number(val(s), &d);
    ok(rc == 0 && d == 9007199254740992.0, "exact tie rounds to even");
    free(s);

    rc = wh_val_to_number(val("1e99999999999999999999"), &d);
    ok(rc == 0 && isinf(d), "huge exponent");
    rc = wh_val_to_number(val("-1e-99999999999999999999"), &d);
    ok(rc == 0 && d == 0 && signbit(d), "huge negative exponent");
}


static void
test_truthy(void)
{
    ok(!wh_val_truthy(wh_val_missing()), "missing is falsy");
    ok(!wh_val_truthy(wh_val_null()), "null is falsy");
    ok(!wh_val_truthy(wh_val_bool(0)), "false is falsy");
    ok(wh_val_truthy(wh_val_bool(1)), "true is truthy");
    ok(!wh_val_truthy(val("0")), "0 is falsy");
    ok(!wh_val_truthy(val("-0")), "-0 is falsy");
    ok(!wh_val_truthy(val("0.0e5")), "0.0e5 is falsy");
    ok(!wh_val_truthy(wh_val_number(&mem, 0)), "computed 0 is falsy");
    ok(wh_val_truthy(val("1")), "1 is truthy");
    ok(wh_val_truthy(val("-0.001")), "-0.001 is truthy");
    ok(!wh_val_truthy(val("\"\"")), "\"\" is falsy");
    ok(wh_val_truthy(val("\"0\"")), "\"0\" is truthy");
    ok(wh_val_truthy(val("\"false\"")), "\"false\" is truthy");
    ok(wh_val_truthy(val("\" \"")), "\" \" is truthy");
    ok(wh_val_truthy(val("\"\\u0000\"")), "\"\\u0000\" is truthy");
    ok(wh_val_truthy(val("[]")), "[] is truthy");
    ok(wh_val_truthy(val("{}")), "{} is truthy");
    ok(!wh_val_truthy(wh_val_string(&mem, "", 0)), "computed \"\" is falsy");
}


static void
test_strings(void)
{
    size_t      len;
    const char *s;
    wh_val_t    v;
    wh_buf_t    b;

    v = wh_val_string(&mem, "a\"b\\c\nd\x01\xff\xc3\xa9", 11);
    is_int(wh_val_type(v), WH_JSON_STRING, "computed string");
    is_str(json(v), "\"a\\\"b\\\\c\\nd\\u0001\\ufffd\xc3\xa9\"",
           "computed string json");
    ok(wh_val_str(&mem, v, &s, &len) == 0 && len == 13
       && memcmp(s, "a\"b\\c\nd\x01\xef\xbf\xbd\xc3\xa9", 14) == 0,
       "computed string unescapes (invalid byte is U+FFFD)");
    ok(veq(v, val("\"a\\\"b\\\\c\\nd\\u0001\\uFFFD\\u00e9\"")),
       "computed string equals its parsed form");

    v = wh_val_string(&mem, "plain", 5);
    ok(!v.doc->toks[0].escaped, "plain string is not marked escaped");
    is_str(text(v), "plain", "plain text");

    v = wh_val_string(&mem, "a\0b", 3);
    ok(wh_val_str(&mem, v, &s, &len) == 0 && len == 3
       && memcmp(s, "a\0b", 3) == 0, "NUL survives");

    is_str(text(val("\"\\ud83d\\ude00 \\ud800\"")),
           "\xf0\x9f\x98\x80 \xef\xbf\xbd", "text of surrogates");

    wh_buf_init(&b, &mem, 0);
    wh_buf_adds(&b, "<");
    wh_val_write_text(&b, val("\"x\\ty\""));
    wh_val_write_text(&b, wh_val_missing());
    wh_val_write_text(&b, val("[1, 2]"));
    wh_val_write_text(&b, wh_val_number(&mem, 2.5));
    wh_val_write_text(&b, val("\"\""));
    wh_val_write_text(&b, wh_val_null());
    wh_buf_adds(&b, ">");
    is_str(b.data, "<x\ty[1,2]2.5null>", "write_text");
    is_int(b.len, 17, "write_text length");

    wh_buf_init(&b, &mem, 0);
    wh_val_write_json(&b, val("\"x\\ty\""));
    wh_val_write_json(&b, wh_val_missing());
    wh_val_write_json(&b, val(" { \"a\" : [ ] } "));
    is_str(b.data, "\"x\\ty\"null{\"a\":[]}", "write_json");
}


static void
test_equal(void)
{
    ok(eq("1", "1.0"), "1 == 1.0");
    ok(eq("100", "1e2"), "100 == 1e2");
    ok(eq("0", "-0"), "0 == -0");
    ok(!eq("1", "2"), "1 != 2");
    ok(!eq("1", "\"1\""), "1 != \"1\"");
    ok(eq("\"abc\"", "\"abc\""), "strings");
    ok(eq("\"a\\u0062c\"", "\"abc\""), "escaped vs plain string");
    ok(eq("\"\\u00e9\"", "\"\xc3\xa9\""), "escaped vs UTF-8");
    ok(eq("\"\\u00e9x\\n\"", "\"\\u00E9\\u0078\\u000a\""),
       "escaped vs escaped");
    ok(!eq("\"ab\"", "\"abc\""), "prefix string differs");
    ok(!eq("\"a\\u0062\"", "\"abc\""), "escaped prefix differs");
    ok(eq("null", "null"), "null");
    ok(!eq("null", "false"), "null != false");
    ok(eq("true", "true"), "true");
    ok(!eq("true", "false"), "true != false");
    ok(veq(wh_val_missing(), wh_val_missing()),
       "missing == missing");
    ok(!veq(wh_val_missing(), wh_val_null()),
       "missing != null");
    ok(veq(wh_val_bool(1), val("true")), "static true");
    ok(veq(wh_val_number(&mem, 2), val("2.0")),
       "computed number");
    ok(veq(wh_val_string(&mem, "x\"", 2), val("\"x\\\"\"")),
       "computed string");

    ok(eq("[]", "[ ]"), "empty arrays");
    ok(eq("[1,[2,{\"a\":3}]]", "[1.0, [2, {\"a\": 3e0}]]"), "nested arrays");
    ok(!eq("[1,2]", "[2,1]"), "array order matters");
    ok(!eq("[1,2]", "[1,2,3]"), "array length matters");
    ok(!eq("[]", "{}"), "[] != {}");

    ok(eq("{}", "{ }"), "empty objects");
    ok(eq("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}"), "member order ignored");
    ok(!eq("{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":3}"), "value differs");
    ok(!eq("{\"a\":1,\"b\":2}", "{\"a\":1,\"c\":2}"), "key differs");
    ok(!eq("{\"a\":1}", "{\"a\":1,\"b\":2}"), "more members");
    ok(!eq("{\"a\":1,\"b\":2}", "{\"a\":1}"), "fewer members");
    ok(eq("{\"a\":1,\"a\":2}", "{\"a\":2}"), "last duplicate wins");
    ok(!eq("{\"a\":1,\"a\":2}", "{\"a\":1}"), "first duplicate ignored");
    ok(eq("{\"a\":{\"x\":1},\"b\":0,\"a\":3}", "{\"b\":0,\"a\":3}"),
       "duplicate of another type");
    ok(eq("{\"a\":1,\"a\":2}", "{\"a\":3,\"a\":2}"),
       "same keys, differing overridden value");
    ok(eq("{\"a\":1,\"b\":1,\"a\":2}", "{\"b\":1,\"a\":2,\"b\":1}"),
       "duplicates on both sides");
    ok(!eq("{\"a\":1,\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1,\"c\":1}"),
       "duplicates hide a missing key");
    ok(eq("{\"\\u0061\":[1,{\"b\":\"c\"}]}", "{\"a\":[1,{\"b\":\"\\u0063\"}]}"),
       "escaped keys");
    ok(eq("{\"x\":{\"a\":1,\"b\":[true,null]}}",
          "{\"x\":{\"b\":[true,null],\"a\":1.0}}"), "nested objects");
}


static void *
no_alloc(void *data, size_t size)
{
    return NULL;
}


static void
test_oom(void)
{
    size_t          len;
    wh_mem_t        none;
    wh_val_t        v, w;
    const char     *s;
    wh_json_err_t   err;

    none.alloc = no_alloc;
    none.data = NULL;

    v = val("\"abc\\n\"");
    w = val("[1, 2]");

    is_int(wh_val_type(wh_val_number(&none, 1)), WH_JSON_MISSING,
           "number without memory is missing");
    is_int(wh_val_type(wh_val_string(&none, "a", 1)), WH_JSON_MISSING,
           "string without memory is missing");
    is_int(wh_val_str(&none, v, &s, &len), -1, "str without memory");
    is_int(wh_val_text(&none, v, &s, &len), -1, "text without memory");
    is_int(wh_val_text(&none, w, &s, &len), -1, "json text without memory");
    ok(wh_val_text(&none, wh_val_missing(), &s, &len) == 0 && len == 0,
       "missing text needs no memory");
    is_int(wh_val_parse(&none, "1", 1, 0, &v, &err), -1,
           "parse without memory");
    is_str(err.msg, "out of memory", "  message");
}


int
main(void)
{
    wh_arena_t  *a;

    a = wh_arena_create(0);
    wh_arena_mem(a, &mem);

    test_basics();
    test_numbers();
    test_number_rounding();
    test_long_numbers();
    test_truthy();
    test_strings();
    test_equal();
    test_oom();

    wh_arena_destroy(a);

    return done_testing();
}
