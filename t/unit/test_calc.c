/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Calculators of condition nodes: names, arities and exact results of every
 * calculator, and PCRE2 patterns compiled ahead or at run time.
 */

#include "wh_test.h"
#include "wh_calc.h"


static wh_mem_t   mem;
static char       err[256];


static wh_val_t
parse(const char *json)
{
    wh_val_t       v;
    wh_json_err_t  jerr;

    if (json == NULL) {
        return wh_val_missing();
    }

    if (wh_val_parse(&mem, json, strlen(json), 1, &v, &jerr) != 0) {
        printf("# bad test JSON: %s\n", jerr.msg);
        exit(2);
    }

    return v;
}


/* 0, 1, or -1 on error; NULL operands are missing values. */

static int
calc(const char *name, const char *a, const char *b)
{
    int  op, r;

    op = wh_calc_lookup(name, strlen(name));
    if (op < 0) {
        return -2;
    }

    err[0] = '\0';
    r = -3;

    if (wh_calc(op, parse(a), parse(b), NULL, &mem, &r, err, sizeof(err))
        != 0)
    {
        return -1;
    }

    return r;
}


typedef struct {
    const char  *name;
    const char  *a;       /* JSON; NULL: missing */
    const char  *b;
    int          expect;
} calc_case_t;


static const calc_case_t  cases[] = {

    { "equal", "1", "1", 1 },
    { "equal", "1", "2", 0 },
    { "equal", "1", "\"1\"", 1 },
    { "equal", "\"1.0\"", "1", 1 },
    { "equal", "\"1e2\"", "\"100\"", 1 },
    { "equal", "\" 5 \"", "5", 1 },
    { "equal", "\"abc\"", "\"abc\"", 1 },
    { "equal", "\"abc\"", "\"ABC\"", 0 },
    { "equal", "\"refs/heads/main\"", "\"refs/heads/main\"", 1 },
    { "equal", "\"a\\u0062\"", "\"ab\"", 1 },
    { "equal", "true", "\"true\"", 1 },
    { "equal", "true", "true", 1 },
    { "equal", "true", "1", 0 },
    { "equal", "null", NULL, 1 },
    { "equal", NULL, NULL, 1 },
    { "equal", "null", "null", 1 },
    { "equal", "null", "\"\"", 0 },
    { "equal", NULL, "\"\"", 1 },
    { "equal", "null", "0", 0 },
    { "equal", "[1,2]", "[1,2]", 1 },
    { "equal", "[1,2]", "[2,1]", 0 },
    { "equal", "{\"a\":1,\"b\":[true]}", "{\"b\":[true],\"a\":1}", 1 },
    { "equal", "{\"a\":1}", "{\"a\":2}", 0 },
    { "equal", "[1]", "{\"0\":1}", 0 },
    { "notEqual", "1", "2", 1 },
    { "notEqual", "\"10\"", "10", 0 },
    { "notEqual", "null", NULL, 0 },
    { "notEqual", "[1]", "[1]", 0 },

    { "gt", "\"10\"", "\"9\"", 1 },
    { "gt", "10", "9", 1 },
    { "gt", "9", "10", 0 },
    { "gt", "\"abd\"", "\"abc\"", 1 },
    { "gt", "\"abc\"", "\"abd\"", 0 },
    { "gt", "\"b\"", "\"abc\"", 1 },
    { "gt", "\"10\"", "\"x\"", 0 },
    { "gt", "5", "5", 0 },
    { "gt", NULL, "1", 0 },
    { "gt", "1", NULL, 0 },
    { "gt", "null", "-1", 0 },
    { "gte", "5", "5", 1 },
    { "gte", "\"5.0\"", "5", 1 },
    { "gte", "4", "5", 0 },
    { "gte", NULL, NULL, 0 },
    { "lt", "\"9\"", "\"10\"", 1 },
    { "lt", "\"abc\"", "\"abd\"", 1 },
    { "lt", "\"ab\"", "\"abc\"", 1 },
    { "lt", "\"-3\"", "-2", 1 },
    { "lt", "1", NULL, 0 },
    { "lte", "2", "2", 1 },
    { "lte", "3", "2", 0 },
    { "lte", NULL, "2", 0 },

    { "includes", "\"hello world\"", "\"o w\"", 1 },
    { "includes", "\"hello\"", "\"xyz\"", 0 },
    { "includes", "\"hello\"", "\"\"", 1 },
    { "includes", "\"hi\"", "\"hello\"", 0 },
    { "includes", "[1,2,3]", "2", 1 },
    { "includes", "[1,2,3]", "\"2\"", 1 },
    { "includes", "[1,2,3]", "4", 0 },
    { "includes", "[\"a\",\"b\"]", "\"b\"", 1 },
    { "includes", "[[1],{\"k\":1}]", "{\"k\":1}", 1 },
    { "includes", "[]", "1", 0 },
    { "includes", "12345", "\"234\"", 1 },
    { "includes", NULL, "\"a\"", 0 },
    { "includes", "null", "\"u\"", 0 },
    { "includes", "\"abc\"", NULL, 0 },
    { "includes", "{\"a\":1}", "\"a\"", 0 },
    { "notIncludes", "\"hello\"", "\"xyz\"", 1 },
    { "notIncludes", "[1,2]", "1", 0 },
    { "notIncludes", NULL, "\"a\"", 1 },

    { "startsWith", "\"refs/heads/main\"", "\"refs/heads/\"", 1 },
    { "startsWith", "\"refs/tags/v1\"", "\"refs/heads/\"", 0 },
    { "startsWith", "\"ab\"", "\"abc\"", 0 },
    { "startsWith", "\"abc\"", "\"\"", 1 },
    { "startsWith", "12345", "12", 1 },
    { "startsWith", NULL, "\"\"", 0 },
    { "startsWith", "\"abc\"", NULL, 0 },
    { "notStartsWith", "\"abc\"", "\"b\"", 1 },
    { "notStartsWith", "\"abc\"", "\"a\"", 0 },
    { "endsWith", "\"report.pdf\"", "\".pdf\"", 1 },
    { "endsWith", "\"report.pdf\"", "\".doc\"", 0 },
    { "endsWith", "\"f\"", "\"pdf\"", 0 },
    { "endsWith", "1.5", "\".5\"", 1 },
    { "endsWith", "null", "\"l\"", 0 },
    { "notEndsWith", "\"a.txt\"", "\".pdf\"", 1 },
    { "notEndsWith", "\"a.pdf\"", "\".pdf\"", 0 },

    { "empty", NULL, NULL, 1 },
    { "empty", "null", NULL, 1 },
    { "empty", "\"\"", NULL, 1 },
    { "empty", "[]", NULL, 1 },
    { "empty", "{}", NULL, 1 },
    { "empty", "[ ]", NULL, 1 },
    { "empty", "\" \"", NULL, 0 },
    { "empty", "0", NULL, 0 },
    { "empty", "false", NULL, 0 },
    { "empty", "[null]", NULL, 0 },
    { "empty", "{\"a\":null}", NULL, 0 },
    { "empty", "\"\\u0000\"", NULL, 0 },
    { "notEmpty", "\"x\"", NULL, 1 },
    { "notEmpty", "\"\"", NULL, 0 },
    { "notEmpty", NULL, NULL, 0 },
    { "notEmpty", "[0]", NULL, 1 },

    { "in", "\"b\"", "[\"a\",\"b\"]", 1 },
    { "in", "\"c\"", "[\"a\",\"b\"]", 0 },
    { "in", "2", "[\"1\",\"2\"]", 1 },
    { "in", "\"2.0\"", "[1,2]", 1 },
    { "in", "null", "[1,null]", 1 },
    { "in", NULL, "[null]", 1 },
    { "in", "[1]", "[[1],[2]]", 1 },
    { "in", "\"a\"", "\"abc\"", 0 },
    { "in", "\"a\"", NULL, 0 },
    { "in", "\"a\"", "[]", 0 },
    { "notIn", "\"c\"", "[\"a\",\"b\"]", 1 },
    { "notIn", "\"a\"", "[\"a\"]", 0 },
    { "notIn", "\"a\"", "\"abc\"", 1 },

    { "matches", "\"refs/heads/main\"", "\"^refs/heads/(main|master)$\"", 1 },
    { "matches", "\"refs/heads/dev\"", "\"^refs/heads/(main|master)$\"", 0 },
    { "matches", "\"abc123\"", "\"\\\\d+\"", 1 },
    { "matches", "\"abc\"", "\"\\\\d+\"", 0 },
    { "matches", "\"\xc3\xa9t\xc3\xa9\"", "\"^.{3}$\"", 1 },
    { "matches", "\"ABC\"", "\"(?i)abc\"", 1 },
    { "matches", "12345", "\"^\\\\d{5}$\"", 1 },
    { "matches", NULL, "\"^$\"", 1 },
    { "matches", "\"abc\"", NULL, 0 },
    { "matches", "\"abc\"", "\"(\"", -1 },

    { NULL, NULL, NULL, 0 }
};

/*
 * SPEC §7: a megabyte of request data through each calculator gives the
 * right answer (in milliseconds: the README lists the bounds; no timing
 * is asserted here).
 */

static char *
repeat(const char *pre, char c, size_t n, const char *post)
{
    char    *s;
    size_t   pl;

    pl = strlen(pre);
    s = malloc(pl + n + strlen(post) + 1);
    memcpy(s, pre, pl);
    memset(s + pl, c, n);
    strcpy(s + pl + n, post);

    return s;
}


static int
calc_v(const char *name, wh_val_t a, wh_val_t b)
{
    int  r;

    r = -3;
    err[0] = '\0';

    if (wh_calc(wh_calc_lookup(name, strlen(name)), a, b, NULL, &mem, &r,
                err, sizeof(err))
        != 0)
    {
        return -1;
    }

    return r;
}


static void
large_inputs(void)
{
    int            i, r;
    char          *big, *needle, *o1, *o2, *p, *arr;
    size_t         n, k;
    wh_val_t       hay, a, b;
    wh_calc_re_t  *re;

    n = 1 << 20;

    big = repeat("\"", 'a', n, "\"");
    needle = repeat("\"", 'a', n / 2, "b\"");
    hay = parse(big);

    is_int(calc_v("includes", hay, parse(needle)), 0,
           "includes: 1 MB of a, needle of 512 KB a and b");
    is_int(calc_v("notIncludes", hay, parse(needle)), 1,
           "notIncludes: the same");
    is_int(calc_v("includes", hay, parse("\"aaab\"")), 0,
           "includes: short needle, absent");
    big[n] = 'b';
    is_int(calc_v("includes", parse(big), parse("\"aaab\"")), 1,
           "includes: short needle at the very end");
    is_int(calc_v("endsWith", parse(big), parse(needle)), 1,
           "endsWith: 512 KB suffix");
    is_int(calc_v("startsWith", parse(big), parse(needle)), 0,
           "startsWith: 512 KB that is not a prefix");
    big[n] = 'a';
    is_int(calc_v("equal", hay, parse(big)), 1, "equal: two 1 MB strings");
    free(needle);

    /* objects of 20 000 keys in opposite orders */

    k = 20000;
    o1 = malloc(k * 32);
    o2 = malloc(k * 32);

    p = o1;
    *p++ = '{';
    for (i = 0; i < (int) k; i++) {
        p += sprintf(p, "%s\"key%d\":[%d,{\"x\":%d}]", i ? "," : "", i, i, i);
    }
    strcpy(p, "}");

    p = o2;
    *p++ = '{';
    for (i = (int) k - 1; i >= 0; i--) {
        p += sprintf(p, "%s\"key%d\":[%d,{\"x\":%d}]", i != (int) k - 1
                     ? "," : "", i, i, i);
    }
    strcpy(p, "}");

    a = parse(o1);
    b = parse(o2);

    is_int(calc_v("equal", a, b), 1, "equal: 20 000 keys, reversed order");
    is_int(calc_v("notEqual", a, b), 0, "notEqual: the same");

    p = strstr(o2, "\"key0\":[0,{\"x\":0");
    p[strlen("\"key0\":[0,{\"x\":")] = '1';
    is_int(calc_v("equal", a, parse(o2)), 0,
           "equal: 20 000 keys, the last differs deep inside");

    /* the last of duplicate keys counts, in large objects too */
    p = o2 + strlen(o2) - 1;
    strcpy(p, ",\"key0\":[0,{\"x\":0}]}");
    is_int(calc_v("equal", a, parse(o2)), 1,
           "equal: a later duplicate key replaces the earlier");
    free(o1);
    free(o2);

    /* nested objects whose innermost member differs: each level once */

    o1 = malloc(200 * 16 + 16);
    o2 = malloc(200 * 16 + 16);
    o1[0] = o2[0] = '\0';

    for (i = 0; i < 200; i++) {
        strcat(o1, "{\"a\":");
        strcat(o2, "{\"a\":");
    }

    strcat(o1, "1");
    strcat(o2, "2");

    for (i = 0; i < 200; i++) {
        strcat(o1, ",\"b\":1}");
        strcat(o2, ",\"b\":1}");
    }

    is_int(calc_v("equal", parse(o1), parse(o2)), 0,
           "equal: 200 nested objects, the innermost differs");
    is_int(calc_v("equal", parse(o1), parse(o1)), 1,
           "equal: 200 nested objects, equal");
    free(o1);
    free(o2);

    /* in and includes over 100 000 items, a 1 MB probe */

    arr = malloc(100000 * 12 + 16);
    p = arr;
    *p++ = '[';
    for (i = 0; i < 100000; i++) {
        p += sprintf(p, "%s\"x%d\"", i ? "," : "", i);
    }
    strcpy(p, "]");
    b = parse(arr);

    is_int(calc_v("in", hay, b), 0, "in: 1 MB probe, 100 000 items");
    is_int(calc_v("notIn", hay, b), 1, "notIn: the same");
    is_int(calc_v("in", parse("\"x99999\""), b), 1, "in: the last item");
    is_int(calc_v("includes", b, parse("\"x99999\"")), 1,
           "includes: an array of 100 000, the last item");
    is_int(calc_v("includes", b, hay), 0,
           "includes: an array of 100 000, a 1 MB needle");
    free(arr);

    /* matches: a pattern that backtracking would rescan at each start */

    re = wh_calc_re_compile("a*b|c", 5, err, sizeof(err));
    r = -1;
    ok(re != NULL && wh_calc(WH_CALC_MATCHES, hay, wh_val_missing(), re, &mem,
                             &r, err, sizeof(err)) == 0 && r == 0,
       "matches: a*b|c over 1 MB of a, no match");
    big[n] = 'c';
    r = -1;
    ok(re != NULL && wh_calc(WH_CALC_MATCHES, parse(big), wh_val_missing(),
                             re, &mem, &r, err, sizeof(err)) == 0 && r == 1,
       "matches: a*b|c over 1 MB of a and a final c");
    wh_calc_re_free(re);
    big[n] = 'a';

    is_int(calc_v("matches", hay, parse("\"^(a|aa)*$\"")), 1,
           "matches: run-time pattern (a|aa)*$ over 1 MB");
    is_int(calc_v("matches", hay, parse("\"(a{1,300})+x\"")), 0,
           "matches: bounded repeats over 1 MB, no match");

    free(big);
}


int
main(void)
{
    int                 r;
    char               *subject, name[128];
    size_t              i;
    wh_val_t            a;
    wh_arena_t         *arena;
    wh_calc_re_t       *re;
    const calc_case_t  *c;

    arena = wh_arena_create(0);
    wh_arena_mem(arena, &mem);

    /* names and arities */

    is_int(wh_calc_lookup("equal", 5), WH_CALC_EQUAL, "lookup equal");
    is_int(wh_calc_lookup("notEqual", 8), WH_CALC_NOT_EQUAL, "lookup notEqual");
    is_int(wh_calc_lookup("gt", 2), WH_CALC_GT, "lookup gt");
    is_int(wh_calc_lookup("gte", 3), WH_CALC_GTE, "lookup gte");
    is_int(wh_calc_lookup("lt", 2), WH_CALC_LT, "lookup lt");
    is_int(wh_calc_lookup("lte", 3), WH_CALC_LTE, "lookup lte");
    is_int(wh_calc_lookup("includes", 8), WH_CALC_INCLUDES, "lookup includes");
    is_int(wh_calc_lookup("notIncludes", 11), WH_CALC_NOT_INCLUDES,
           "lookup notIncludes");
    is_int(wh_calc_lookup("startsWith", 10), WH_CALC_STARTS_WITH,
           "lookup startsWith");
    is_int(wh_calc_lookup("notStartsWith", 13), WH_CALC_NOT_STARTS_WITH,
           "lookup notStartsWith");
    is_int(wh_calc_lookup("endsWith", 8), WH_CALC_ENDS_WITH,
           "lookup endsWith");
    is_int(wh_calc_lookup("notEndsWith", 11), WH_CALC_NOT_ENDS_WITH,
           "lookup notEndsWith");
    is_int(wh_calc_lookup("empty", 5), WH_CALC_EMPTY, "lookup empty");
    is_int(wh_calc_lookup("notEmpty", 8), WH_CALC_NOT_EMPTY,
           "lookup notEmpty");
    is_int(wh_calc_lookup("in", 2), WH_CALC_IN, "lookup in");
    is_int(wh_calc_lookup("notIn", 5), WH_CALC_NOT_IN, "lookup notIn");
    is_int(wh_calc_lookup("matches", 7), WH_CALC_MATCHES, "lookup matches");
    is_int(wh_calc_lookup("Equal", 5), -1, "lookup is case-sensitive");
    is_int(wh_calc_lookup("eq", 2), -1, "lookup unknown");
    is_int(wh_calc_lookup("equalx", 5), WH_CALC_EQUAL,
           "lookup uses the length");
    is_int(wh_calc_lookup("", 0), -1, "lookup empty name");

    is_int(wh_calc_arity(WH_CALC_EMPTY), 1, "empty takes 1");
    is_int(wh_calc_arity(WH_CALC_NOT_EMPTY), 1, "notEmpty takes 1");
    is_int(wh_calc_arity(WH_CALC_EQUAL), 2, "equal takes 2");
    is_int(wh_calc_arity(WH_CALC_MATCHES), 2, "matches takes 2");
    is_int(wh_calc_arity(WH_CALC_NOT_IN), 2, "notIn takes 2");

    /* every calculator */

    for (c = cases; c->name != NULL; c++) {
        snprintf(name, sizeof(name), "%s(%s, %s)", c->name,
                 c->a ? c->a : "missing", c->b ? c->b : "missing");
        is_int(calc(c->name, c->a, c->b), c->expect, "%s", name);
    }

    calc("matches", "\"abc\"", "\"a(b\"");
    is_str(err, "invalid pattern: missing closing parenthesis at offset 3",
           "run-time pattern error message");

    /* patterns compiled once */

    re = wh_calc_re_compile("^v(\\d+)\\.(\\d+)$", 14, err, sizeof(err));
    ok(re != NULL, "constant pattern compiles");

    r = -1;
    ok(wh_calc(WH_CALC_MATCHES, parse("\"v1.22\""), wh_val_missing(), re,
               &mem, &r, err, sizeof(err)) == 0 && r == 1,
       "constant pattern matches");
    r = -1;
    ok(wh_calc(WH_CALC_MATCHES, parse("\"v1.x\""), parse("\"ignored\""), re,
               &mem, &r, err, sizeof(err)) == 0 && r == 0,
       "constant pattern does not match (b is ignored)");
    wh_calc_re_free(re);
    wh_calc_re_free(NULL);

    re = wh_calc_re_compile("[a-", 3, err, sizeof(err));
    ok(re == NULL, "bad constant pattern");
    is_str(err, "invalid pattern: missing terminating ] for character class "
           "at offset 3", "bad constant pattern message");

    re = wh_calc_re_compile("a\0b", 3, err, sizeof(err));
    ok(re != NULL, "a pattern with a NUL byte");
    r = -1;
    ok(wh_calc(WH_CALC_MATCHES, parse("\"xa\\u0000by\""), wh_val_missing(),
               re, &mem, &r, err, sizeof(err)) == 0 && r == 1,
       "NUL byte in pattern and subject");
    wh_calc_re_free(re);

    /* invalid UTF-8 in a subject does not fail the match */

    re = wh_calc_re_compile("b", 1, err, sizeof(err));
    a = wh_val_string(&mem, "a\xff" "b", 3);
    r = -1;
    ok(re != NULL && wh_calc(WH_CALC_MATCHES, a, wh_val_missing(), re, &mem,
                             &r, err, sizeof(err)) == 0 && r == 1,
       "invalid UTF-8 subject");
    wh_calc_re_free(re);

    /* a hostile pattern stops at the match limit */

    subject = malloc(2 + 40 + 2);
    strcpy(subject, "\"");
    for (i = 0; i < 40; i++) {
        strcat(subject, "a");
    }
    strcat(subject, "!\"");

    /* the one-pass DFA run answers what backtracking could not */
    r = -1;
    is_int(wh_calc(WH_CALC_MATCHES, parse(subject), parse("\"^(a+)+$\""),
                   NULL, &mem, &r, err, sizeof(err)), 0,
           "nested quantifier: no catastrophic backtracking");
    is_int(r, 0, "nested quantifier: no match");

    /* a back reference needs the backtracker, which stops at the limit */
    r = -1;
    is_int(wh_calc(WH_CALC_MATCHES, parse(subject),
                   parse("\"^(a|aa)+\\\\1$\""), NULL, &mem, &r, err,
                   sizeof(err)), -1,
           "catastrophic backtracking is an error");
    is_str(err, "matches: match limit exceeded", "match limit message");
    free(subject);

    large_inputs();

    wh_arena_destroy(arena);

    return done_testing();
}
