/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The math engine: every operator and function with exact results,
 * JavaScript-like conversions, templates as values, and the errors of
 * compilation and evaluation.
 */

#include "wh_test.h"
#include "wh_math.h"


static wh_mem_t     mem;
static wh_scope_t   scope;
static char         out[512];

static const char  *key_names[] = { "calc", "loop1" };
static wh_keys_t    keys = { key_names, 2 };


static wh_val_t
parse(const char *json)
{
    wh_val_t       v;
    wh_json_err_t  jerr;

    if (wh_val_parse(&mem, json, strlen(json), 1, &v, &jerr) != 0) {
        printf("# bad test JSON: %s\n", jerr.msg);
        exit(2);
    }

    return v;
}


/*
 * The result as compact JSON, "error: …" for a compilation error or
 * "eval: …" for an evaluation error.
 */

static const char *
run(const char *expr)
{
    char        err[256];
    wh_buf_t    b;
    wh_val_t    v;
    wh_math_t  *m;

    strcpy(err, "(none)");

    m = wh_math_compile(expr, strlen(expr), &keys, err, sizeof(err));
    if (m == NULL) {
        snprintf(out, sizeof(out), "error: %s", err);
        return out;
    }

    strcpy(err, "(none)");

    if (wh_math_eval(m, &scope, &v, err, sizeof(err)) != 0) {
        snprintf(out, sizeof(out), "eval: %s", err);
        wh_math_free(m);
        return out;
    }

    wh_math_free(m);

    if (v.doc == NULL) {
        return "(missing)";
    }

    wh_buf_init(&b, &mem, 64);
    wh_val_write_json(&b, v);
    snprintf(out, sizeof(out), "%s", b.failed ? "(oom)" : b.data);

    return out;
}


typedef struct {
    const char  *expr;
    const char  *expect;
} math_case_t;


static const math_case_t  cases[] = {

    /* literals */
    { "42", "42" },
    { "  42  ", "42" },
    { "1.5", "1.5" },
    { ".5", "0.5" },
    { "2.", "2" },
    { "1e3", "1000" },
    { "1.5E-2", "0.015" },
    { "'it''s'", "error: unexpected \"'s'\" at column 5" },
    { "'a\\'b'", "\"a'b\"" },
    { "\"dq \\\"x\\\"\"", "\"dq \\\"x\\\"\"" },
    { "'tab\\tnl\\n\\\\'", "\"tab\\tnl\\n\\\\\"" },
    { "'\\u00e9\\u20ac'", "\"\xc3\xa9\xe2\x82\xac\"" },
    { "'\\ud83d\\ude00'", "\"\xf0\x9f\x98\x80\"" },
    { "'\\q'", "\"q\"" },
    { "''", "\"\"" },
    { "true", "true" },
    { "false", "false" },
    { "null", "null" },

    /* SPEC §10: digests and HMAC (RFC 1321, FIPS 180, RFC 2202/4231) */
    { "sha256('abc')",
      "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"" },
    { "sha1('abc')", "\"a9993e364706816aba3e25717850c26c9cd0d89d\"" },
    { "md5('abc')", "\"900150983cd24fb0d6963f7d28e17f72\"" },
    { "md5('')", "\"d41d8cd98f00b204e9800998ecf8427e\"" },
    { "sha1(12)", "\"7b52009b64fd0a2a49e6d8a939753077792b0554\"" },
    { "hmac('sha256', 'Jefe', 'what do ya want for nothing?')",
      "\"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\"" },
    { "hmac('sha256', 'Jefe', 'what do ya want for nothing?', 'hex')",
      "\"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\"" },
    { "hmac('sha256', 'Jefe', 'what do ya want for nothing?', 'base64')",
      "\"W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=\"" },
    { "hmac('sha1', 'Jefe', 'what do ya want for nothing?')",
      "\"effcdf6ae5eb2fa2d27416d5f184df9c259a7c79\"" },
    { "hmac('sha512', 'Jefe', 'what do ya want for nothing?')",
      "\"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758"
      "bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737\"" },
    { "hmac('md5', 'k', 'm')",
      "eval: hmac(): algorithm must be sha1, sha256 or sha512" },
    { "hmac('sha256', 'k', 'm', 'b32')",
      "eval: hmac(): encoding must be hex or base64" },
    { "hmac('sha256', 'k')", "error: hmac() takes 3 or 4 arguments" },

    /* encodings */
    { "base64('hello')", "\"aGVsbG8=\"" },
    { "base64('')", "\"\"" },
    { "base64('\\u00e9')", "\"w6k=\"" },
    { "unbase64('aGVsbG8=')", "\"hello\"" },
    { "unbase64('aGVsbG8')", "\"hello\"" },
    { "unbase64('-_8=')", "\"\\ufffd\\ufffd\"" },
    { "unbase64('aGl=')", "\"hi\"" },
    { "unbase64('aGVs\\r\\nbG8=\\n')", "\"hello\"" },
    { "unbase64('a\\n')", "eval: unbase64(): not base64" },
    { "unbase64('a')", "eval: unbase64(): not base64" },
    { "unbase64('a$==')", "eval: unbase64(): not base64" },
    { "unbase64(base64('round trip'))", "\"round trip\"" },
    { "hex('hi')", "\"6869\"" },
    { "hex('\\u00e9')", "\"c3a9\"" },
    { "urlencode('a b&c=d/\\u00e9~-._')", "\"a%20b%26c%3Dd%2F%C3%A9~-._\"" },
    { "urldecode('a+b%20c%2f%zz%4')", "\"a b c/%zz%4\"" },
    { "urldecode(urlencode('x y+z'))", "\"x y+z\"" },

    /* JSON text */
    { "json(1.5)", "\"1.5\"" },
    { "json('a\"b')", "\"\\\"a\\\\\\\"b\\\"\"" },
    { "json(true)", "\"true\"" },
    { "json(null)", "\"null\"" },
    { "json({{ $context.obj }})", "\"{\\\"a\\\":1}\"" },
    { "parse('{\"a\": [1, 2]}')", "{\"a\":[1,2]}" },
    { "parse('3') + 1", "4" },
    { "parse(json({{ $context.obj }}))", "{\"a\":1}" },
    { "parse('{')", "eval: parse(): unexpected end of input at offset 1" },

    /* dates in UTC */
    { "date('1970-01-01T00:00:00Z')", "0" },
    { "date('2024-02-29T12:34:56.789Z')", "1709210096789" },
    { "date('2024-02-29T12:34:56.7891234Z')", "1709210096789" },
    { "date('2024-02-29T13:34:56.789+01:00')", "1709210096789" },
    { "date('2024-02-29T07:04:56.789-0530')", "1709210096789" },
    { "date('2024-01-31')", "1706659200000" },
    { "date('1969-12-31T23:59:59Z')", "-1000" },
    { "date(1000)", "1000" },
    { "date('1000')", "1000" },
    { "date('2023-02-29')", "eval: date(): not a date" },
    { "date('2024-13-01')", "eval: date(): not a date" },
    { "date('yesterday')", "eval: date(): not a date" },
    { "date(9e15)", "eval: date(): not a date" },
    { "format(0, 'YYYY-MM-DD HH:mm')", "\"1970-01-01 00:00\"" },
    { "format(1709210096789, 'YYYY-MM-DDTHH:mm:ss.SSS')",
      "\"2024-02-29T12:34:56.789\"" },
    { "format('2024-02-29T12:34:56.789Z', 'DD/MM/YYYY [x] Q')",
      "\"29/02/2024 [x] Q\"" },
    { "format(-1, 'YYYY-MM-DD HH:mm:ss.SSS')",
      "\"1969-12-31 23:59:59.999\"" },
    { "format(add(date('2024-01-31'), 1, 'month'), 'YYYY-MM-DD')",
      "\"2024-02-29\"" },
    { "format(add(date('2023-01-31'), 1, 'month'), 'YYYY-MM-DD')",
      "\"2023-02-28\"" },
    { "format(add(date('2024-03-31'), -1, 'months'), 'YYYY-MM-DD')",
      "\"2024-02-29\"" },
    { "format(add(date('2024-02-29T10:00:00Z'), 1, 'year'), 'YYYY-MM-DD HH')",
      "\"2025-02-28 10\"" },
    { "format(add(date('2024-12-15'), 14, 'month'), 'YYYY-MM-DD')",
      "\"2026-02-15\"" },
    { "add(0, 2, 'day')", "172800000" },
    { "add(0, 1, 'week')", "604800000" },
    { "add(0, -90, 'second')", "-90000" },
    { "add(1000, 1, 'millisecond')", "1001" },
    { "add(0, 1, 'fortnight')", "eval: add(): unknown unit" },
    { "add(0, 1e9, 'year')", "eval: add(): date out of range" },
    { "diff(90000000, 0, 'day')", "1" },
    { "diff(0, 90000000, 'day')", "-1" },
    { "diff(0, 90000000, 'hour')", "-25" },
    { "diff(date('2024-03-01'), date('2024-01-31'), 'month')", "1" },
    { "diff(date('2024-02-29'), date('2024-01-31'), 'month')", "1" },
    { "diff(date('2024-01-31'), date('2024-03-01'), 'month')", "-1" },
    { "diff(date('2025-02-28'), date('2024-02-29'), 'year')", "1" },
    { "diff(date('2025-02-27'), date('2024-02-29'), 'year')", "0" },
    { "diff(date('2024-01-31'), date('2024-02-29'), 'month')", "-1" },
    { "diff(date('2024-02-29'), date('2025-02-28'), 'year')", "-1" },
    { "diff(date('2024-01-20'), date('2024-03-15'), 'month')", "-1" },
    { "diff('2024-01-02T00:00:00Z', '2024-01-01T00:00:00.001Z', 'day')",
      "0" },

    /* arithmetic and precedence */
    { "2 ^ 10", "1024" },
    { "2 ** 10", "1024" },
    { "2 ^ 3 ^ 2", "512" },
    { "-2 ^ 2", "-4" },
    { "2 ^ -1", "0.5" },
    { "1 + 2 * 3 ^ 2", "19" },
    { "(1 + 2) ^ 2", "9" },
    { "'3' ^ 2", "9" },
    { "10 ^ 400", "eval: result is not a finite number" },
    { "1 + 2", "3" },
    { "0.1 + 0.2", "0.30000000000000004" },
    { "10 - 4 - 3", "3" },
    { "2 * 3 + 4", "10" },
    { "2 + 3 * 4", "14" },
    { "(2 + 3) * 4", "20" },
    { "((((1 + 2))) * ((3)))", "9" },
    { "100 / 8", "12.5" },
    { "1 / 3", "0.3333333333333333" },
    { "24 / 4 / 2", "3" },
    { "7 % 3", "1" },
    { "-7 % 3", "-1" },
    { "7.5 % 2", "1.5" },
    { "2 * -3", "-6" },
    { "-(2 + 3)", "-5" },
    { "--4", "4" },
    { "+'12' + 1", "13" },
    { "-'3'", "-3" },
    { "1e21 * 10", "1e+22" },
    { "2 * 0.5 - 1", "0" },
    { "-0", "0" },
    { "0 * -1", "0" },
    { "1e308 * 10", "eval: result is not a finite number" },
    { "7 % 0", "eval: modulo by zero" },
    { "7 / 0", "eval: division by zero" },
    { "0 / 0", "eval: division by zero" },
    { "1 / '0'", "eval: division by zero" },
    { "'abc' * 2", "eval: operand of \"*\" is not a number" },
    { "'6' * '7'", "42" },
    { "' 6 ' - 1", "5" },
    { "'' - 1", "eval: operand of \"-\" is not a number" },
    { "-'x'", "eval: operand of \"unary -\" is not a number" },
    { "true + 1", "2" },
    { "null + 1", "1" },
    { "{{ $context.nope }} + 1", "eval: operand of \"+\" is not a number" },
    { "{{ $context.arr }} * 2", "eval: operand of \"*\" is not a number" },

    /* concatenation */
    { "'a' + 1", "\"a1\"" },
    { "1 + 'a'", "\"1a\"" },
    { "1 + 2 + 'a'", "\"3a\"" },
    { "'a' + 1 + 2", "\"a12\"" },
    { "'a' + (1 + 2)", "\"a3\"" },
    { "'x' + 0.1 * 3", "\"x0.30000000000000004\"" },
    { "'v' + 1.0", "\"v1\"" },
    { "'v' + 1e21", "\"v1e+21\"" },
    { "'v' + 123456789012345680000", "\"v123456789012345680000\"" },
    { "'v' + 0.000001", "\"v0.000001\"" },
    { "'v' + 0.0000001", "\"v1e-7\"" },
    { "'v' + -2.5e-10", "\"v-2.5e-10\"" },
    { "'' + true + null", "\"truenull\"" },
    { "'n=' + {{ $context.n }}", "\"n=10\"" },
    { "'a=' + {{ $context.arr }}", "\"a=[1,2,3]\"" },
    { "'m=' + {{ $context.nope }}", "\"m=\"" },
    { "{{ $context.s }} + 1", "\"91\"" },
    { "{{ $context.n }} + 1", "11" },

    /* comparisons */
    { "1 < 2", "true" },
    { "2 < 1", "false" },
    { "2 <= 2", "true" },
    { "3 > 2", "true" },
    { "2 >= 3", "false" },
    { "'10' > '9'", "true" },
    { "{{ $context.ten }} > {{ $context.s }}", "true" },
    { "'abc' < 'abd'", "true" },
    { "'abc' < 'ab'", "false" },
    { "'ab' < 'abc'", "true" },
    { "'B' < 'a'", "true" },
    { "'10' < 'x'", "true" },
    { "{{ $context.nope }} < 1", "false" },
    { "{{ $context.nope }} >= 1", "false" },
    { "null < 1", "false" },
    { "1 + 1 < 3", "true" },
    { "1 == 1", "true" },
    { "1 == '1'", "true" },
    { "'1.0' == 1", "true" },
    { "'1.0' == '1'", "true" },
    { "'a' == 'a'", "true" },
    { "'a' == 'A'", "false" },
    { "1 === 1", "true" },
    { "1 !== 2", "true" },
    { "1 != 1", "false" },
    { "true == 'true'", "true" },
    { "null == {{ $context.nope }}", "true" },
    { "null == 0", "false" },
    { "{{ $context.nope }} == ''", "true" },
    { "{{ $context.arr }} == {{ $context.arr2 }}", "true" },
    { "{{ $context.arr }} == {{ $context.obj }}", "false" },
    { "{{ $context.obj }} == {{ $context.obj2 }}", "true" },
    { "{{ $context.n }} == 10", "true" },
    { "1 < 2 == true", "true" },

    /* logic */
    { "!true", "false" },
    { "!0", "true" },
    { "!''", "true" },
    { "!'0'", "false" },
    { "!!{{ $context.arr }}", "true" },
    { "!{{ $context.nope }}", "true" },
    { "true && 'yes'", "\"yes\"" },
    { "0 && 'yes'", "0" },
    { "'' || 'dflt'", "\"dflt\"" },
    { "'x' || 'dflt'", "\"x\"" },
    { "null || 0", "0" },
    { "1 || 1 / 0", "1" },
    { "0 && 1 / 0", "0" },
    { "true || false && false", "true" },
    { "(true || false) && false", "false" },
    { "1 < 2 && 2 < 3", "true" },
    { "{{ $context.nope }} || 'fallback'", "\"fallback\"" },

    /* ternary */
    { "1 < 2 ? 'yes' : 'no'", "\"yes\"" },
    { "0 ? 'yes' : 'no'", "\"no\"" },
    { "0 ? 1 : 0 ? 2 : 3", "3" },
    { "1 ? 0 ? 'a' : 'b' : 'c'", "\"b\"" },
    { "{{ $context.n }} > 5 ? 'big' : 'small'", "\"big\"" },
    { "1 ? 2", "error: expected \":\" at the end" },
    { "1 ? 2 , 3", "error: expected \":\" at column 7" },

    /* templates are values, never expression text */
    { "{{ $context.n }} * 2", "20" },
    { "{{$context.n}}*{{$context.n}}", "100" },
    { "{{ $context.expr }}", "\"1+1\"" },
    { "{{ $context.expr }} + 1", "\"1+11\"" },
    { "{{ $context.quote }}", "\"O'Brien \\\"x\\\"\"" },
    { "{{ $context.quote }} + '!'", "\"O'Brien \\\"x\\\"!\"" },
    { "len({{ $context.quote }})", "11" },
    { "{{ $context.arr }}", "[1,2,3]" },
    { "{{ $context.obj }}", "{\"a\":1}" },
    { "{{ $context.nope }}", "null" },
    { "{{ $context.float }} * 2", "1" },
    { "{{ $context.neg }} * 2", "-10" },
    { "{{ $nodes.calc }} + 1", "8" },
    { "{{ $scopes.loop1.index }} * 10", "30" },
    { "{{ $system.now }}", "\"2026-11-22T10:58:07.123Z\"" },
    { "'hi {{ $context.quote }}!'", "\"hi O'Brien \\\"x\\\"!\"" },
    { "'n={{ $context.n }}, a={{ $context.arr }}'", "\"n=10, a=[1,2,3]\"" },
    { "\"{{ $context.n }}\" + 1", "\"101\"" },
    { "'{{ $context.nope }}'", "\"\"" },
    { "{{ $context.n }} {{ $context.n }}",
      "error: unexpected template at column 18" },
    { "{{ $foo }} + 1", "error: unknown variable \"$foo\"" },
    { "{{ $nodes.nokey }}", "error: unknown node \"nokey\"" },
    { "{{ $context.n + 1", "error: unclosed \"{{\"" },

    /* functions */
    { "lower('HeLLo')", "\"hello\"" },
    { "upper('HeLLo')", "\"HELLO\"" },
    { "upper({{ $context.u }})",
      "\"\xc3\x9cN\xc3\x8f\x43\xc3\x96\x44\xc3\x89\"" },
    { "lower('\xc3\x84\xce\xa3\xd0\x96')", "\"\xc3\xa4\xcf\x83\xd0\xb6\"" },
    { "upper(12)", "\"12\"" },
    { "trim('  a b \\t\\n')", "\"a b\"" },
    { "trim('')", "\"\"" },
    { "len('hello')", "5" },
    { "len({{ $context.u }})", "7" },
    { "len('')", "0" },
    { "len({{ $context.arr }})", "3" },
    { "len({{ $context.obj }})", "1" },
    { "len({{ $context.nope }})", "0" },
    { "len(12345)", "5" },
    { "replace('a-b-c', '-', '+')", "\"a+b+c\"" },
    { "replace('aaa', 'a', 'aa')", "\"aaaaaa\"" },
    { "replace('abc', '', 'x')", "\"abc\"" },
    { "replace('a.b', '.', '')", "\"ab\"" },
    { "replace('x', 'long', 'y')", "\"x\"" },
    { "substr('hello', 1)", "\"ello\"" },
    { "substr('hello', 1, 3)", "\"ell\"" },
    { "substr('hello', -3)", "\"llo\"" },
    { "substr('hello', -3, 2)", "\"ll\"" },
    { "substr('hello', -10, 2)", "\"he\"" },
    { "substr('hello', 10)", "\"\"" },
    { "substr('hello', 1, -1)", "\"\"" },
    { "substr('hello', 1, 100)", "\"ello\"" },
    { "substr('hello', 1.9, 2.9)", "\"el\"" },
    { "substr({{ $context.u }}, 1, 3)", "\"n\xc3\xaf" "c\"" },
    { "substr({{ $context.u }}, -2)", "\"d\xc3\xa9\"" },
    { "substr('abc', 'x')", "eval: substr(): start is not a number" },
    { "split('a,b,,c', ',')", "[\"a\",\"b\",\"\",\"c\"]" },
    { "split('a,b,', ',')", "[\"a\",\"b\",\"\"]" },
    { "split('abc', '')", "[\"a\",\"b\",\"c\"]" },
    { "split('', ',')", "[\"\"]" },
    { "split('a::b', '::')", "[\"a\",\"b\"]" },
    { "split('x\"y', ',')", "[\"x\\\"y\"]" },
    { "len(split('a b c', ' '))", "3" },
    { "join(split('a b c', ' '), '-')", "\"a-b-c\"" },
    { "join({{ $context.arr }}, '+')", "\"1+2+3\"" },
    { "join({{ $context.mixed }}, ',')", "\"a,1,,true,{\\\"k\\\":2}\"" },
    { "join({{ $context.empty }}, ',')", "\"\"" },
    { "join('abc', ',')", "eval: join(): not an array" },
    { "round(2.5)", "3" },
    { "round(-2.5)", "-3" },
    { "round(2.4)", "2" },
    { "round(1.005, 2)", "1.01" },
    { "round(3.14159, 3)", "3.142" },
    { "round(0.06)", "0" },
    { "round(0.5)", "1" },
    { "round(9.995, 2)", "10" },
    { "round(1234.5678, 0)", "1235" },
    { "round(12, 2)", "12" },
    { "round('2.6')", "3" },
    { "round(1, 16)",
      "eval: round(): digits must be an integer from 0 to 15" },
    { "round(1, -1)",
      "eval: round(): digits must be an integer from 0 to 15" },
    { "round('x')", "eval: round(): not a number" },
    { "floor(2.7)", "2" },
    { "floor(-2.1)", "-3" },
    { "ceil(2.1)", "3" },
    { "ceil(-2.7)", "-2" },
    { "now()", "\"2026-11-22T10:58:07.123Z\"" },
    { "upper(substr(trim('  hello '), 0, 1)) + substr('hello', 1)",
      "\"Hello\"" },

    /* compilation errors */
    { "", "error: empty expression" },
    { "   ", "error: empty expression" },
    { "1 +", "error: unexpected end of expression" },
    { "1 + * 2", "error: unexpected \"*\" at column 5" },
    { "(1 + 2", "error: missing \")\"" },
    { "(1 + 2]", "error: unexpected \"]\" at column 7" },
    { "1 + 2)", "error: unexpected \")\" at column 6" },
    { "1 2", "error: unexpected \"2\" at column 3" },
    { "'abc", "error: unterminated string at column 1" },
    { "1 = 2", "error: unexpected \"=\" at column 3" },
    { "1 & 2", "error: unexpected \"&\" at column 3" },
    { "1 | 2", "error: unexpected \"|\" at column 3" },
    { "1 # 2", "error: unexpected \"#\" at column 3" },
    { "12abc", "error: invalid number at column 1" },
    { "1.2.3", "error: invalid number at column 1" },
    { "1e", "error: invalid number at column 1" },
    { "1e999", "error: number out of range at column 1" },
    { "x + 1", "error: unknown name \"x\" at column 1 (functions are "
      "called with \"()\", values are \"{{ path }}\")" },
    { "foo(1)", "error: unknown function \"foo\" at column 1" },
    { "lower()", "error: lower() takes 1 argument" },
    { "lower('a', 'b')", "error: lower() takes 1 argument" },
    { "replace('a', 'b')", "error: replace() takes 3 arguments" },
    { "substr('a')", "error: substr() takes 2 or 3 arguments" },
    { "round(1, 2, 3)", "error: round() takes 1 or 2 arguments" },
    { "now(1)", "error: now() takes 0 arguments" },
    { "lower('a' 'b')", "error: expected \",\" or \")\" at column 11" },
    { "lower('a',", "error: unexpected end of expression" },
    { "lower('a'", "error: missing \")\" of lower()" },
    { "'\\u12'", "error: invalid \\u escape at column 3" },
    { "\x01", "error: unexpected character 0x01 at column 1" },

    { NULL, NULL }
};


static void
nested(char *buf, size_t n, const char *open, const char *mid,
    const char *close)
{
    size_t  i, len;

    buf[0] = '\0';
    len = 0;

    for (i = 0; i < n; i++) {
        len += sprintf(buf + len, "%s", open);
    }

    len += sprintf(buf + len, "%s", mid);

    for (i = 0; i < n; i++) {
        len += sprintf(buf + len, "%s", close);
    }
}

/*
 * SPEC §7: every string function over a megabyte, with the inputs that
 * made the old loops quadratic (a separator that almost matches at every
 * position, items fetched by index).  Answers only; no timing.
 */

static void
large_inputs(void)
{
    char    *e, *a, *needle;
    size_t   n;

    n = 1 << 20;
    e = malloc(3 * n);
    a = malloc(n + 1);
    needle = malloc(n / 2 + 2);

    memset(a, 'a', n);
    a[n] = '\0';
    memset(needle, 'a', n / 2);
    strcpy(needle + n / 2, "b");

    snprintf(e, 3 * n, "len(replace('%s', '%s', 'x'))", a, needle);
    is_str(run(e), "1048576", "replace: 1 MB, 512 KB near-miss needle");
    snprintf(e, 3 * n, "len(replace('%s', 'a', 'bc'))", a);
    is_str(run(e), "2097152", "replace: 1 MB, every character");
    snprintf(e, 3 * n, "len(split('%s', '%s'))", a, needle);
    is_str(run(e), "1", "split: 1 MB, 512 KB near-miss separator");
    snprintf(e, 3 * n, "len(split('%s', 'aa'))", a);
    is_str(run(e), "524289", "split: 1 MB into 524 289 parts");
    snprintf(e, 3 * n, "len(join(split('%s', ''), ','))", a);
    is_str(run(e), "2097151", "join: 1 048 576 items");
    snprintf(e, 3 * n, "len(upper(lower(trim(substr('%s', 10, 1000000)))))",
             a);
    is_str(run(e), "1000000", "lower upper trim substr: 1 MB");
    snprintf(e, 3 * n, "len(unbase64(base64('%s')))", a);
    is_str(run(e), "1048576", "base64 and back: 1 MB");
    snprintf(e, 3 * n, "len(urldecode(urlencode('%s')))", needle);
    is_str(run(e), "524289", "urlencode and back: 512 KB");
    snprintf(e, 3 * n, "len(hex('%s'))", a);
    is_str(run(e), "2097152", "hex: 1 MB");
    snprintf(e, 3 * n, "sha1('%s')", a);
    is_str(run(e), "\"454027d64e3b855735552d42230eea1cbd645fa0\"",
           "sha1: 1 MB of a");
    snprintf(e, 3 * n, "len(parse(json(split('%s', ''))))", a);
    is_str(run(e), "1048576", "json and parse: an array of 1 048 576");
    snprintf(e, 3 * n, "split('%s', '') == split('%s', '')", a, a);
    is_str(run(e), "true", "==: two arrays of 1 048 576 items");
    snprintf(e, 3 * n, "len(format(0, '%s'))", a);
    is_str(run(e), "1048576", "format: 1 MB pattern");
    snprintf(e, 3 * n, "date('%s')", a);
    is_str(run(e), "eval: date(): not a date", "date: 1 MB of text");

    free(e);
    free(a);
    free(needle);
}


int
main(void)
{
    char               err[256], *big;
    size_t             i, n;
    wh_val_t           v, nodes[2], scopes[2];
    wh_math_t         *m;
    wh_arena_t        *arena;
    const math_case_t *c;

    arena = wh_arena_create(0);
    wh_arena_mem(arena, &mem);

    memset(&scope, 0, sizeof(scope));
    scope.mem = &mem;
    scope.context = parse(
        "{\"n\":10,\"s\":\"9\",\"ten\":\"10\",\"expr\":\"1+1\","
        "\"quote\":\"O'Brien \\\"x\\\"\",\"arr\":[1,2,3],\"arr2\":[1,2,3],"
        "\"obj\":{\"a\":1},\"obj2\":{ \"a\" : 1.0 },\"neg\":\"-5\","
        "\"float\":\"0.5\",\"u\":\"\xc3\x9cn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9\","
        "\"mixed\":[\"a\",1,null,true,{\"k\":2}],\"empty\":[]}");
    nodes[0] = parse("7");
    nodes[1] = wh_val_missing();
    scopes[0] = wh_val_missing();
    scopes[1] = parse("{\"item\":\"x\",\"index\":3}");
    scope.nodes = nodes;
    scope.scopes = scopes;
    scope.nnodes = 2;
    scope.now_ms = 1795345087123LL;

    for (c = cases; c->expr != NULL; c++) {
        is_str(run(c->expr), c->expect, "%s", c->expr);
    }

    /* results keep their JSON type */

    m = wh_math_compile("1 + 1", 5, &keys, err, sizeof(err));
    ok(m != NULL && wh_math_eval(m, &scope, &v, err, sizeof(err)) == 0
       && wh_val_type(v) == WH_JSON_NUMBER, "number result");
    wh_math_free(m);

    m = wh_math_compile("'1' + 1", 7, &keys, err, sizeof(err));
    ok(m != NULL && wh_math_eval(m, &scope, &v, err, sizeof(err)) == 0
       && wh_val_type(v) == WH_JSON_STRING, "string result");
    wh_math_free(m);

    m = wh_math_compile("{{ $context.expr }}", 19, &keys, err, sizeof(err));
    ok(m != NULL && wh_math_eval(m, &scope, &v, err, sizeof(err)) == 0
       && wh_val_type(v) == WH_JSON_STRING, "template string stays a string");
    wh_math_free(m);

    /* depth limits */

    big = malloc(100000);

    nested(big, 63, "(", "1", ")");
    is_str(run(big), "1", "63 nested parentheses");

    nested(big, 64, "(", "1", ")");
    is_str(run(big), "error: expression too deep", "64 nested parentheses");

    nested(big, 5000, "(", "1", ")");
    is_str(run(big), "error: expression too deep", "5000 parentheses");

    nested(big, 5000, "-", "1", "");
    is_str(run(big), "error: expression too deep", "5000 unary minus");

    nested(big, 5000, "lower(", "'a'", ")");
    is_str(run(big), "error: expression too deep", "5000 nested calls");

    nested(big, 40, "1 ? 2 : ", "3", "");
    is_str(run(big), "2", "40 chained ternaries");

    strcpy(big, "1");
    for (i = 0; i < 200; i++) {
        strcat(big, "+1");
    }
    is_str(run(big), "201", "a chain of 200 additions");

    n = strlen(big);
    for (i = 0; i < 5000; i++) {
        memcpy(big + n, "+1", 3);
        n += 2;
    }
    is_str(run(big), "error: expression too deep", "5000 additions");

    free(big);

    large_inputs();

    wh_arena_destroy(arena);

    return done_testing();
}
