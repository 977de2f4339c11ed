/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests of the arena, the buffer and the request-path JSON tokenizer.
 */

#include <stdint.h>
#include <time.h>

#include "wh_test.h"
#include "wh_json.h"


static wh_mem_t  mem;


/* fails every allocation after "left" more have succeeded */

static int  fail_left;

static void *
failing_alloc(void *data, size_t size)
{
    if (fail_left-- <= 0) {
        return NULL;
    }

    return wh_alloc((wh_mem_t *) data, size);
}


/* a printable form of a test document for the TAP name */

static const char *
name_of(const char *text, size_t len)
{
    size_t       i;
    char        *p;
    static char  buf[8][80];
    static int   n;

    p = buf[n++ % 8];

    for (i = 0; i < len && p - buf[(n - 1) % 8] < 70; i++) {
        if (text[i] >= 0x20 && text[i] < 0x7f) {
            *p++ = text[i];

        } else {
            p += sprintf(p, "\\x%02x", (unsigned char) text[i]);
        }
    }

    *p = '\0';

    return buf[(n - 1) % 8];
}


/* a bump allocator over a static buffer, reset before each parse */

static char    bump_buf[1 << 16];
static size_t  bump_pos;

static void *
bump_alloc(void *data, size_t size)
{
    void  *p;

    size = (size + 15) & ~(size_t) 15;

    if (size > sizeof(bump_buf) - bump_pos) {
        return NULL;
    }

    p = bump_buf + bump_pos;
    bump_pos += size;

    return p;
}


static int
parse(const char *text, size_t len, wh_json_doc_t *doc, wh_json_err_t *err)
{
    memset(err, 0, sizeof(*err));
    return wh_json_parse(&mem, text, len, doc, err);
}


static void
valid(const char *text)
{
    wh_json_doc_t  doc;
    wh_json_err_t  err;
    int            rc;

    rc = parse(text, strlen(text), &doc, &err);
    ok(rc == 0, "valid: %s", name_of(text, strlen(text)));

    if (rc != 0) {
        printf("#   error: %s at %zu:%zu\n", err.msg, err.line, err.column);
    }

    ok(wh_json_validate(text, strlen(text), &err) == 0,
       "  validate agrees on %s", name_of(text, strlen(text)));
}


static void
invalid_n(const char *name, const char *text, size_t len, const char *msg,
    size_t line, size_t column)
{
    wh_json_doc_t  doc;
    wh_json_err_t  err;
    int            rc;

    wh_json_err_t  verr;

    rc = parse(text, len, &doc, &err);
    name = name_of(name, strlen(name));
    ok(rc == -1, "invalid: %s", name);
    is_str(err.msg, msg, "  message of %s", name);
    is_int(err.line, line, "  line of %s", name);
    is_int(err.column, column, "  column of %s", name);

    memset(&verr, 0, sizeof(verr));
    ok(wh_json_validate(text, len, &verr) == -1
       && strcmp(verr.msg, err.msg) == 0 && verr.offset == err.offset,
       "  validate says the same of %s", name);
}

#define invalid(text, msg, line, column)                                      \
    invalid_n(text, text, strlen(text), msg, line, column)


static const char *
compact(const char *text, uint32_t tok)
{
    wh_buf_t       b;
    wh_json_doc_t  doc;
    wh_json_err_t  err;

    if (parse(text, strlen(text), &doc, &err) != 0) {
        return "(parse error)";
    }

    wh_buf_init(&b, &mem, 0);
    wh_json_write_compact(&b, &doc, tok);

    return b.failed ? "(failed)" : b.data;
}


static const char *
escape(const char *s, size_t len)
{
    wh_buf_t  b;

    wh_buf_init(&b, &mem, 0);
    wh_json_escape(&b, s, len);

    return b.failed ? "(failed)" : b.data;
}


/* unescaped value of the string at the root of text */

static const char *
unescape(const char *text, size_t *len)
{
    const char     *s;
    wh_json_doc_t   doc;
    wh_json_err_t   err;

    if (parse(text, strlen(text), &doc, &err) != 0) {
        return "(parse error)";
    }

    if (wh_json_string(&mem, &doc, 0, &s, len) != 0) {
        return "(failed)";
    }

    return s;
}


static const char  push_event[] =
    "{\n"
    "  \"ref\": \"refs/heads/main\",\n"
    "  \"before\": \"6113728f27ae82c7b1a177c8d03f9e96e0adf246\",\n"
    "  \"after\": \"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c\",\n"
    "  \"repository\": {\n"
    "    \"id\": 186853002,\n"
    "    \"node_id\": \"MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=\",\n"
    "    \"name\": \"Hello-World\",\n"
    "    \"full_name\": \"Codertocat/Hello-World\",\n"
    "    \"private\": false,\n"
    "    \"owner\": {\n"
    "      \"name\": \"Codertocat\",\n"
    "      \"email\": \"21031067+Codertocat@users.noreply.github.com\",\n"
    "      \"login\": \"Codertocat\",\n"
    "      \"id\": 21031067,\n"
    "      \"type\": \"User\",\n"
    "      \"site_admin\": false\n"
    "    },\n"
    "    \"html_url\": \"https://github.com/Codertocat/Hello-World\",\n"
    "    \"description\": null,\n"
    "    \"fork\": false,\n"
    "    \"created_at\": 1557933565,\n"
    "    \"updated_at\": \"2019-05-15T15:20:41Z\",\n"
    "    \"pushed_at\": 1557933657,\n"
    "    \"size\": 0,\n"
    "    \"stargazers_count\": 0,\n"
    "    \"language\": \"Ruby\",\n"
    "    \"has_issues\": true,\n"
    "    \"forks\": 1,\n"
    "    \"default_branch\": \"main\"\n"
    "  },\n"
    "  \"pusher\": {\n"
    "    \"name\": \"Codertocat\",\n"
    "    \"email\": \"21031067+Codertocat@users.noreply.github.com\"\n"
    "  },\n"
    "  \"sender\": {\n"
    "    \"login\": \"Codertocat\",\n"
    "    \"id\": 21031067,\n"
    "    \"avatar_url\": "
    "\"https://avatars1.githubusercontent.com/u/21031067?v=4\",\n"
    "    \"type\": \"User\",\n"
    "    \"site_admin\": false\n"
    "  },\n"
    "  \"created\": false,\n"
    "  \"deleted\": false,\n"
    "  \"forced\": false,\n"
    "  \"compare\": "
    "\"https://github.com/Codertocat/Hello-World/compare/"
    "6113728f27ae...0d1a26e67d8f\",\n"
    "  \"commits\": [\n"
    "    {\n"
    "      \"id\": \"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c\",\n"
    "      \"tree_id\": \"f9d2a07e9488b91af2641b26b9407fe22a451433\",\n"
    "      \"distinct\": true,\n"
    "      \"message\": \"Update README.md\\n\\nFixes #1 \\u2014 "
    "caf\\u00e9 \\\"quoted\\\"\",\n"
    "      \"timestamp\": \"2019-05-15T15:20:30-05:00\",\n"
    "      \"url\": \"https://github.com/Codertocat/Hello-World/commit/"
    "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c\",\n"
    "      \"author\": { \"name\": \"Codertocat\", \"email\": "
    "\"21031067+Codertocat@users.noreply.github.com\", "
    "\"username\": \"Codertocat\" },\n"
    "      \"added\": [], \"removed\": [], \"modified\": [\"README.md\"]\n"
    "    }\n"
    "  ],\n"
    "  \"head_commit\": null,\n"
    "  \"ratio\": -1.25e-3\n"
    "}\n";


static void
test_mem(void)
{
    int          i, aligned;
    char        *p, *big;
    wh_buf_t     b;
    wh_mem_t     fm;
    wh_arena_t  *a;

    a = wh_arena_create(256);
    ok(a != NULL, "arena created");
    wh_arena_mem(a, &fm);

    aligned = 1;

    for (i = 1; i < 300; i++) {
        p = wh_alloc(&fm, i);
        if (p == NULL || ((uintptr_t) p & 15)) {
            aligned = 0;
            break;
        }
        memset(p, 'x', i);
    }

    ok(aligned, "arena allocations are 16-byte aligned");

    big = wh_alloc(&fm, 100000);
    ok(big != NULL && ((uintptr_t) big & 15) == 0, "large allocation");
    memset(big, 'y', 100000);

    p = wh_memdup(&fm, "hello", 3);
    is_str(p, "hel", "wh_memdup terminates the copy");

    p = wh_memdup(&fm, "", 0);
    is_str(p, "", "wh_memdup of nothing");

    wh_arena_destroy(a);

    wh_buf_init(&b, &mem, 0);
    is_str(b.data, "", "new buffer is empty");
    is_int(b.len, 0, "new buffer has length 0");

    for (i = 0; i < 1000; i++) {
        wh_buf_addc(&b, 'a' + i % 26);
    }

    is_int(b.len, 1000, "1000 chars added");
    ok(b.data[1000] == '\0' && b.data[999] == 'a' + 999 % 26,
       "buffer content and terminator");

    wh_buf_init(&b, &mem, 4);
    wh_buf_adds(&b, "abc");
    wh_buf_add(&b, "defgh", 5);
    wh_buf_printf(&b, "-%d-%s-", 42, "xyz");
    wh_buf_printf(&b, "%s", "");
    is_str(b.data, "abcdefgh-42-xyz-", "adds, add and printf");

    wh_buf_init(&b, &mem, 4);
    wh_buf_printf(&b, "%0300d", 7);
    ok(b.len == 300 && b.data[299] == '7' && b.data[0] == '0'
       && b.data[300] == '\0', "printf that grows the buffer");

    /* failure is sticky */

    fm.alloc = failing_alloc;
    fm.data = &mem;
    fail_left = 1;

    wh_buf_init(&b, &fm, 40);
    wh_buf_adds(&b, "0123456789012345678901234567890123456789");
    ok(!b.failed && b.len == 40, "buffer fits");
    wh_buf_adds(&b, "89");
    ok(b.failed, "failed on growth");
    fail_left = 100;
    wh_buf_adds(&b, "x");
    wh_buf_addc(&b, 'x');
    wh_buf_printf(&b, "%d", 1);
    ok(b.failed && b.len == 40, "writes after a failure are ignored");
    is_int(wh_buf_reserve(&b, 1), -1, "reserve reports the failure");

    fail_left = 0;
    wh_buf_init(&b, &fm, 8);
    ok(b.failed, "failed init");
    wh_buf_adds(&b, "x");
    ok(b.failed && b.len == 0, "failed init ignores writes");
}


static void
test_valid(void)
{
    valid("0");
    valid("-0");
    valid("-0.0e-0");
    valid("1E+2");
    valid("123.456e789");
    valid("true");
    valid("false");
    valid("null");
    valid("\"\"");
    valid(" \t\r\n[ ] \n");
    valid("{}");
    valid("[[],{},[{}]]");
    valid("{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}");
    valid("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uABCD\\uabcd\"");
    valid("\"\\ud800\"");
    valid("\"\\udc00\\ud800x\"");
    valid("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
    valid("\"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"");
    valid("\"\x7f\"");
    valid("{\"a\":1,\"a\":2}");
    valid("[1e5,-1.5E-5,0.5]");
}


static void
test_invalid(void)
{
    invalid("", "unexpected end of input", 1, 1);
    invalid("   ", "unexpected end of input", 1, 4);
    invalid("[", "unexpected end of input", 1, 2);
    invalid("[1", "unexpected end of input", 1, 3);
    invalid("[1,", "unexpected end of input", 1, 4);
    invalid("{\"a\"", "unexpected end of input", 1, 5);
    invalid("{\"a\":", "unexpected end of input", 1, 6);
    invalid("\"abc", "unexpected end of input", 1, 5);
    invalid("\"ab\\", "unexpected end of input", 1, 5);
    invalid("\"\\u12", "unexpected end of input", 1, 6);
    invalid("tru", "unexpected end of input", 1, 4);
    invalid("-", "unexpected end of input", 1, 2);
    invalid("1.", "unexpected end of input", 1, 3);
    invalid("1e", "unexpected end of input", 1, 3);
    invalid("1e+", "unexpected end of input", 1, 4);

    invalid("x", "unexpected character 'x'", 1, 1);
    invalid("[1,]", "unexpected character ']'", 1, 4);
    invalid("{\"a\":1,}", "unexpected character '}'", 1, 8);
    invalid("[1 2]", "unexpected character '2'", 1, 4);
    invalid("[1}", "unexpected character '}'", 1, 3);
    invalid("{\"a\":1]", "unexpected character ']'", 1, 7);
    invalid("{\"a\" 1}", "unexpected character '1'", 1, 6);
    invalid("{a:1}", "unexpected character 'a'", 1, 2);
    invalid("{1:1}", "unexpected character '1'", 1, 2);
    invalid("[,1]", "unexpected character ','", 1, 2);
    invalid("+1", "unexpected character '+'", 1, 1);
    invalid(".5", "unexpected character '.'", 1, 1);
    invalid("NaN", "unexpected character 'N'", 1, 1);
    invalid("[Infinity]", "unexpected character 'I'", 1, 2);
    invalid("'a'", "unexpected character '''", 1, 1);
    invalid("// c\n1", "unexpected character '/'", 1, 1);
    invalid("[1,/* c */2]", "unexpected character '/'", 1, 4);
    invalid("trux", "unexpected character 'x'", 1, 4);
    invalid("[nul]", "unexpected character ']'", 1, 5);
    invalid("True", "unexpected character 'T'", 1, 1);
    invalid("\xef\xbb\xbf{}", "unexpected byte 0xef", 1, 1);
    invalid("[\x01]", "unexpected byte 0x01", 1, 2);
    invalid("{\"a\":1}\n{", "unexpected data after the value", 2, 1);
    invalid("1 2", "unexpected data after the value", 1, 3);
    invalid("truex", "unexpected data after the value", 1, 5);
    invalid("[1]]", "unexpected data after the value", 1, 4);

    invalid("01", "invalid number", 1, 2);
    invalid("-01", "invalid number", 1, 3);
    invalid("[00]", "invalid number", 1, 3);
    invalid("-a", "invalid number", 1, 2);
    invalid("1.e5", "invalid number", 1, 3);
    invalid("1.5e+x", "invalid number", 1, 6);
    invalid("[1.]", "invalid number", 1, 4);

    invalid("\"\\x\"", "invalid escape", 1, 2);
    invalid("\"ab\\'\"", "invalid escape", 1, 4);
    invalid("\"\\u12g4\"", "invalid escape", 1, 2);
    invalid("\"\\U1234\"", "invalid escape", 1, 2);

    invalid("\"a\tb\"", "control character in string", 1, 3);
    invalid("[\n\"a\nb\"]", "control character in string", 2, 3);
    invalid("\"\x1f\"", "control character in string", 1, 2);
    invalid_n("NUL in string", "\"a\0b\"", 5,
              "control character in string", 1, 3);
    invalid_n("NUL after the value", "1\0", 2,
              "unexpected data after the value", 1, 2);

    invalid("\"\x80\"", "invalid UTF-8", 1, 2);
    invalid("\"a\xbf\"", "invalid UTF-8", 1, 3);
    invalid("\"\xc0\xaf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xc1\xbf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xe0\x80\xaf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xe0\x9f\xbf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xf0\x80\x80\xaf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xf0\x8f\xbf\xbf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xed\xa0\x80\"", "invalid UTF-8", 1, 2);
    invalid("\"\xed\xbf\xbf\"", "invalid UTF-8", 1, 2);
    invalid("\"\xf4\x90\x80\x80\"", "invalid UTF-8", 1, 2);
    invalid("\"\xf5\x80\x80\x80\"", "invalid UTF-8", 1, 2);
    invalid("\"\xff\"", "invalid UTF-8", 1, 2);
    invalid("\"\xc3\"", "invalid UTF-8", 1, 2);
    invalid("\"\xe2\x82\"", "invalid UTF-8", 1, 2);
    invalid("\"\xe2\x82", "unexpected end of input", 1, 4);
    invalid("\"\xf0\x9f\x98x\"", "invalid UTF-8", 1, 2);

    invalid("{\n  \"a\": [1,\n  2,,\n]}", "unexpected character ','", 3, 5);
    invalid("[\r\n1\r\n}", "unexpected character '}'", 3, 1);
}


/* a special byte at every offset of a long string (8-byte scanning) */

static void
test_string_offsets(void)
{
    int            i, j, good;
    char           s[40];
    size_t         n;
    wh_json_doc_t  doc;
    wh_json_err_t  err;

    static const struct {
        const char  *bytes;
        const char  *msg;
        int          ok;
    } cases[] = {
        { "\"", NULL, 1 },
        { "\\n", NULL, 1 },
        { "\xc3\xa9", NULL, 1 },
        { "\x7f", NULL, 1 },
        { "\x1f", "control character in string", 0 },
        { "\\q", "invalid escape", 0 },
        { "\x80", "invalid UTF-8", 0 },
        { "\xe0\x80\x80", "invalid UTF-8", 0 },
    };

    for (j = 0; j < (int) (sizeof(cases) / sizeof(cases[0])); j++) {
        good = 1;

        for (i = 0; i < 24; i++) {
            memset(s, 'a', sizeof(s));
            s[0] = '"';
            n = strlen(cases[j].bytes);
            memcpy(s + 1 + i, cases[j].bytes, n);
            s[30] = '"';

            if (cases[j].bytes[0] == '"') {
                /* the string ends early: what follows is extra data */
                memset(s + 2 + i, ' ', 29 - i);
            }

            s[31] = '\0';

            if (parse(s, 31, &doc, &err) != (cases[j].ok ? 0 : -1)) {
                good = 0;
                printf("#   %d at %d: %s\n", j, i, err.msg);
                continue;
            }

            if (cases[j].ok) {
                if (doc.toks[0].len != (cases[j].bytes[0] == '"'
                                        ? (uint32_t) i + 2 : 31))
                {
                    good = 0;
                    printf("#   %d at %d: length %u\n", j, i,
                           doc.toks[0].len);
                }

                continue;
            }

            if (strcmp(err.msg, cases[j].msg) != 0
                || err.column != (size_t) i + 2)
            {
                good = 0;
                printf("#   %d at %d: %s at %zu\n", j, i, err.msg,
                       err.column);
            }
        }

        ok(good, "string with special %d (%s) at every offset", j,
           cases[j].msg ? cases[j].msg : "valid");
    }
}


static void
test_depth(void)
{
    int             rc;
    char           *s;
    size_t          i, n;
    wh_json_doc_t   doc;
    wh_json_err_t   err;

    n = WH_JSON_MAX_DEPTH;
    s = malloc(2 * n + 2);

    for (i = 0; i < n; i++) {
        s[i] = '[';
        s[2 * n - 1 - i] = ']';
    }

    rc = parse(s, 2 * n, &doc, &err);
    ok(rc == 0, "256 nested arrays are accepted");
    ok(wh_json_validate(s, 2 * n, &err) == 0, "  and validated");
    is_int(doc.ntoks, 256, "  256 tokens");
    is_int(doc.toks[0].next, 256, "  root next");
    is_int(doc.toks[255].len, 2, "  innermost array");

    memmove(s + 1, s, 2 * n);
    s[0] = '{';
    memcpy(s + 1, "\"a\":", 4);
    rc = parse(s, 2 * n + 1, &doc, &err);
    ok(rc == -1, "257 levels are rejected");
    free(s);

    s = malloc(2 * n + 3);
    memset(s, '[', n + 1);
    memset(s + n + 1, ']', n + 1);
    rc = parse(s, 2 * n + 2, &doc, &err);
    ok(rc == -1, "257 nested arrays are rejected");
    is_str(err.msg, "nesting too deep", "  message");
    is_int(err.column, 257, "  column of the 257th '['");
    free(s);

    n = 100000;
    s = malloc(n);
    memset(s, '[', n);
    rc = parse(s, n, &doc, &err);
    ok(rc == -1, "100000 '[' rejected without a crash");
    is_str(err.msg, "nesting too deep", "  message");
    is_int(err.offset, 256, "  offset");

    for (i = 0; i < n; i += 2) {
        s[i] = '{';
        s[i + 1] = '[';
    }
    rc = parse(s, n, &doc, &err);
    is_str(err.msg, "unexpected character '['", "'{[' nesting fails first");

    for (i = 0; i < n; i += 5) {
        memcpy(s + i, "{\"a\":", 5);
    }
    rc = parse(s, n, &doc, &err);
    is_str(err.msg, "nesting too deep", "deep objects rejected");
    is_int(err.offset, 256 * 5, "  offset");
    free(s);

    /* the deepest level holds a member and a scalar: the last slot */
    {
        wh_buf_t  b;

        wh_buf_init(&b, &mem, 0);

        for (i = 0; i < WH_JSON_MAX_DEPTH; i++) {
            wh_buf_adds(&b, i % 2 ? "[1, " : "{\"k\": \"v\", \"a\": ");
        }

        wh_buf_adds(&b, "\"deep\"");

        for (i = WH_JSON_MAX_DEPTH; i > 0; i--) {
            wh_buf_adds(&b, (i - 1) % 2 ? "]" : "}");
        }

        ok(parse(b.data, b.len, &doc, &err) == 0
           && wh_json_validate(b.data, b.len, &err) == 0,
           "256 levels of members and items: parsed and validated");

        b.data[b.len - 1] = ']';
        rc = parse(b.data, b.len, &doc, &err);
        ok(rc == -1 && wh_json_validate(b.data, b.len, &err) == -1,
           "  a wrong last bracket: rejected by both");
    }
}


static void
test_big(void)
{
    int             rc;
    char           *s;
    size_t          i, n;
    wh_json_doc_t   doc;
    wh_json_err_t   err;

    n = 10000;
    s = malloc(n + 3);
    s[0] = '[';
    s[1] = '-';
    for (i = 2; i < n + 2; i++) {
        s[i] = '0' + i % 10;
    }
    s[2] = '1';
    s[n + 2] = ']';

    rc = parse(s, n + 3, &doc, &err);
    ok(rc == 0, "10000-digit number accepted");
    is_int(doc.ntoks, 2, "  two tokens");
    is_int(doc.toks[1].type, WH_JSON_NUMBER, "  number token");
    is_int(doc.toks[1].len, n + 1, "  its length");
    free(s);

    /* many tokens: the array must grow many times */

    n = 200000;
    s = malloc(2 * n + 2);
    s[0] = '[';
    for (i = 0; i < n; i++) {
        s[1 + 2 * i] = '1';
        s[2 + 2 * i] = ',';
    }
    s[2 * n] = ']';

    rc = parse(s, 2 * n + 1, &doc, &err);
    ok(rc == 0, "array of 200000 numbers");
    is_int(doc.ntoks, n + 1, "  tokens");
    is_int(doc.toks[0].size, n, "  size");
    is_int(wh_json_index(&doc, 0, n - 1), n, "  last item");
    is_int(wh_json_index(&doc, 0, n), 0, "  out of range");
    free(s);

    /* only white space and one value: the guess is far too big */

    n = 100000;
    s = malloc(n);
    memset(s, ' ', n);
    s[n / 2] = '7';
    rc = parse(s, n, &doc, &err);
    ok(rc == 0 && doc.ntoks == 1 && doc.toks[0].start == n / 2,
       "a value in much white space");
    free(s);
}


static void
test_oom(void)
{
    int             i, rc, oom;
    wh_mem_t        fm;
    wh_json_doc_t   doc;
    wh_json_err_t   err;

    fm.alloc = failing_alloc;
    fm.data = &mem;

    fail_left = 0;
    rc = wh_json_parse(&fm, "[1]", 3, &doc, &err);
    ok(rc == -1, "parse fails without memory");
    is_str(err.msg, "out of memory", "  message");

    oom = 1;

    for (i = 0; i < 20; i++) {
        fail_left = i;
        rc = wh_json_parse(&fm, push_event, sizeof(push_event) - 1, &doc,
                           &err);
        if (rc == 0) {
            break;
        }

        if (strcmp(err.msg, "out of memory") != 0) {
            oom = 0;
        }
    }

    ok(oom && rc == 0 && i > 0, "token array growth fails cleanly (%d)", i);
}


static void
test_tokens(void)
{
    int                  rc;
    size_t               len;
    const char          *s, *text;
    wh_json_doc_t        doc;
    wh_json_err_t        err;
    const wh_json_tok_t *t;

    text = " {\"a\" : [1, \"x\\ny\", {}], \"b\":{\"c\":true},"
           " \"a\":null, \"\\u0061\":-2.5e1} ";
    rc = parse(text, strlen(text), &doc, &err);
    ok(rc == 0, "token layout document parses");
    is_int(doc.ntoks, 14, "  14 tokens");

    t = doc.toks;
    is_int(t[0].type, WH_JSON_OBJECT, "  root object");
    is_int(t[0].start, 1, "  root start");
    is_int(t[0].len, strlen(text) - 2, "  root len");
    is_int(t[0].size, 4, "  root members");
    is_int(t[0].next, 14, "  root next");

    is_int(t[1].type, WH_JSON_STRING, "  key a");
    is_int(t[1].start, 2, "  key a start");
    is_int(t[1].len, 3, "  key a len (quotes included)");
    is_int(t[1].next, 2, "  key a next");

    is_int(t[2].type, WH_JSON_ARRAY, "  array");
    is_int(t[2].size, 3, "  array items");
    is_int(t[2].next, 6, "  array next");
    is_int(t[2].len, 15, "  array len");

    is_int(t[3].type, WH_JSON_NUMBER, "  number");
    is_int(t[3].len, 1, "  number len");
    is_int(t[4].escaped, 1, "  escaped string");
    is_int(t[4].len, 6, "  string len");
    is_int(t[5].type, WH_JSON_OBJECT, "  empty object");
    is_int(t[5].size, 0, "  empty object size");
    is_int(t[5].len, 2, "  empty object len");
    is_int(t[3].escaped, 0, "  number not escaped");

    is_int(t[7].type, WH_JSON_OBJECT, "  object b");
    is_int(t[7].next, 10, "  object b next");
    is_int(t[9].type, WH_JSON_TRUE, "  true");
    is_int(t[11].type, WH_JSON_NULL, "  null");
    is_int(t[12].escaped, 1, "  escaped key");
    is_int(t[13].type, WH_JSON_NUMBER, "  -2.5e1");
    is_int(t[13].len, 6, "  -2.5e1 len");

    /* get: the last member wins, escaped keys match */

    is_int(wh_json_get(&doc, 0, "a", 1), 13, "get a: last wins (escaped)");
    is_int(wh_json_get(&doc, 0, "b", 1), 7, "get b");
    is_int(wh_json_get(&doc, 7, "c", 1), 9, "get b.c");
    is_int(wh_json_get(&doc, 0, "c", 1), 0, "get c: absent");
    is_int(wh_json_get(&doc, 0, "ab", 2), 0, "get ab: absent");
    is_int(wh_json_get(&doc, 0, "", 0), 0, "get empty key: absent");
    is_int(wh_json_get(&doc, 2, "a", 1), 0, "get on an array");
    is_int(wh_json_get(&doc, 3, "a", 1), 0, "get on a number");

    is_int(wh_json_index(&doc, 2, 0), 3, "index 0");
    is_int(wh_json_index(&doc, 2, 1), 4, "index 1");
    is_int(wh_json_index(&doc, 2, 2), 5, "index 2");
    is_int(wh_json_index(&doc, 2, 3), 0, "index 3: absent");
    is_int(wh_json_index(&doc, 0, 0), 0, "index on an object");
    is_int(wh_json_index(&doc, 5, 0), 0, "index on an empty object");

    ok(wh_json_string(&mem, &doc, 4, &s, &len) == 0 && len == 3
       && memcmp(s, "x\ny", 4) == 0, "string unescaped");
    ok(wh_json_string(&mem, &doc, 1, &s, &len) == 0 && len == 1
       && strcmp(s, "a") == 0, "plain string");
    ok(wh_json_string(&mem, &doc, 3, &s, &len) == -1, "string of a number");

    ok(wh_json_string_eq(&doc, 4, "x\ny", 3), "string_eq escaped");
    ok(!wh_json_string_eq(&doc, 4, "x\nz", 3), "string_eq differs");
    ok(!wh_json_string_eq(&doc, 4, "x\ny ", 4), "string_eq longer");
    ok(!wh_json_string_eq(&doc, 4, "x\n", 2), "string_eq shorter");
    ok(wh_json_string_eq(&doc, 12, "a", 1), "string_eq \\u0061");
    ok(!wh_json_string_eq(&doc, 3, "1", 1), "string_eq on a number");

    ok(wh_json_string_eq_tok(&doc, 1, &doc, 12), "string_eq_tok a, \\u0061");
    ok(!wh_json_string_eq_tok(&doc, 1, &doc, 6), "string_eq_tok a, b");
    ok(!wh_json_string_eq_tok(&doc, 1, &doc, 4), "string_eq_tok a, x\\ny");

    /* duplicates in nested objects and after containers */

    text = "{\"k\":{\"k\":1},\"k\":[2],\"x\":0,\"k\":3,\"y\":{}}";
    rc = parse(text, strlen(text), &doc, &err);
    ok(rc == 0, "duplicates parse");
    t = &doc.toks[wh_json_get(&doc, 0, "k", 1)];
    ok(t->type == WH_JSON_NUMBER && text[t->start] == '3',
       "last duplicate wins");
    is_int(doc.toks[0].size, 5, "  5 members counted");
}


static void
test_escape(void)
{
    size_t       len;
    const char  *s;
    char         all[32];
    int          i;

    is_str(escape("", 0), "\"\"", "escape empty");
    is_str(escape("abc", 3), "\"abc\"", "escape plain");
    is_str(escape("a\"b\\c/d", 7), "\"a\\\"b\\\\c/d\"",
           "escape quote and backslash, not slash");
    is_str(escape("\n\t\r\b\f", 5), "\"\\n\\t\\r\\b\\f\"", "short escapes");
    is_str(escape("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\x7f\"",
           "control characters");
    is_str(escape("a\0b", 3), "\"a\\u0000b\"", "NUL");
    is_str(escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
           "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
           "valid UTF-8 copied");
    is_str(escape("a\xff" "b", 3), "\"a\\ufffdb\"", "invalid byte");
    is_str(escape("\xc3", 1), "\"\\ufffd\"", "truncated sequence");
    is_str(escape("\xe2\x82", 2), "\"\\ufffd\\ufffd\"",
           "truncated 3-byte sequence");
    is_str(escape("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"", "overlong");
    is_str(escape("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"",
           "UTF-8 surrogate");
    is_str(escape("\xf4\x90\x80\x80", 4),
           "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF");
    is_str(escape("\xc3\xa9\xc3", 3), "\"\xc3\xa9\\ufffd\"",
           "truncated after valid");

    is_str(unescape("\"\\ud83d\\ude00\"", &len), "\xf0\x9f\x98\x80",
           "surrogate pair");
    is_str(unescape("\"\\uD83D\\uDE00\"", &len), "\xf0\x9f\x98\x80",
           "surrogate pair, upper case");
    is_str(unescape("\"\\ud800\"", &len), "\xef\xbf\xbd",
           "lone high surrogate");
    is_str(unescape("\"\\udc00\"", &len), "\xef\xbf\xbd",
           "lone low surrogate");
    is_str(unescape("\"\\ud800x\"", &len), "\xef\xbf\xbdx",
           "high surrogate before a letter");
    is_str(unescape("\"\\ud800\\u0041\"", &len), "\xef\xbf\xbd" "A",
           "high surrogate before a non-surrogate escape");
    is_str(unescape("\"\\ud800\\ud800\\udc00\"", &len),
           "\xef\xbf\xbd\xf0\x90\x80\x80", "two highs and a low");
    is_str(unescape("\"\\udc00\\ud800\"", &len),
           "\xef\xbf\xbd\xef\xbf\xbd", "low then high");
    is_str(unescape("\"\\u00e9\\u20ac\\u0041\\/\"", &len),
           "\xc3\xa9\xe2\x82\xac" "A/", "BMP escapes");
    s = unescape("\"a\\u0000b\"", &len);
    ok(len == 3 && memcmp(s, "a\0b", 4) == 0, "escaped NUL unescapes");

    /* round trip of every control character and some text */

    for (i = 0; i < 32; i++) {
        all[i] = (char) (i + 1);
    }
    all[31] = '"';

    s = escape(all, 32);
    s = unescape(s, &len);
    ok(len == 32 && memcmp(s, all, 32) == 0, "escape/unescape round trip");

    s = unescape(escape("\xe2\x82\xac\xff", 4), &len);
    is_str(s, "\xe2\x82\xac\xef\xbf\xbd", "invalid byte round trips as FFFD");

    /* every position of a special byte in plain runs of every length up
       to 40 (the scan takes 16 or 8 bytes at a time, then the tail) */
    {
        int          bad;
        size_t       pos, k, n, len;
        char         in[48], want[96];

        static const struct {
            const char  *in;
            const char  *out;
        } sp[] = {
            { "\"", "\\\"" }, { "\\", "\\\\" }, { "\n", "\\n" },
            { "\x01", "\\u0001" }, { "\x1f", "\\u001f" },
            { "\xff", "\\ufffd" }, { "\xc3\xa9", "\xc3\xa9" },
            { "\x80", "\\ufffd" }, { "\x7f", "\x7f" }, { " ", " " },
        };

        bad = 0;

        for (k = 0; k < sizeof(sp) / sizeof(sp[0]); k++) {
            n = strlen(sp[k].in);

            for (len = n; len <= 40; len++) {
                for (pos = 0; pos + n <= len; pos++) {
                    memset(in, 'a', sizeof(in));
                    memcpy(in + pos, sp[k].in, n);

                    memset(want, 0, sizeof(want));
                    want[0] = '"';
                    memset(want + 1, 'a', pos);
                    strcat(want, sp[k].out);
                    memset(want + strlen(want), 'a', len - pos - n);
                    strcat(want, "\"");

                    if (strcmp(escape(in, len), want) != 0) {
                        printf("# special %zu at %zu of %zu: %s\n", k, pos,
                               len, escape(in, len));
                        bad++;
                    }
                }
            }
        }

        is_int(bad, 0, "a special byte at every position of 1 to 40 bytes");
    }
}


static void
test_compact(void)
{
    is_str(compact(" { \"a\" : [ 1 , 2 ] ,\n\t\"b\" : \"x y\" } ", 0),
           "{\"a\":[1,2],\"b\":\"x y\"}", "compact object");
    is_str(compact("[ \"a \\\" ]\\\\\" , \" \\\\\" , 1 ]", 0),
           "[\"a \\\" ]\\\\\",\" \\\\\",1]", "escapes kept verbatim");
    is_str(compact("{\"a\": [ 1, {\"b\" : null } ] }", 2),
           "[1,{\"b\":null}]", "compact of a subtree");
    is_str(compact("[ 1.50e3 ]", 1), "1.50e3", "number copied verbatim");
    is_str(compact("  \"a b\"  ", 0), "\"a b\"", "string at root");
    is_str(compact("[[ ],{ }]", 0), "[[],{}]", "empty containers");
    is_str(compact("[\"\\\\\", \"\\\\\\\\\" ]", 0),
           "[\"\\\\\",\"\\\\\\\\\"]", "backslash runs before quotes");
}


static void
test_speed(void)
{
    int             i, n, rc;
    double          ns;
    wh_arena_t     *a;
    wh_mem_t        am;
    wh_json_doc_t   doc;
    wh_json_err_t   err;
    struct timespec t0, t1;

    rc = parse(push_event, sizeof(push_event) - 1, &doc, &err);
    ok(rc == 0, "push event parses");
    if (rc) {
        printf("# %s at %zu:%zu\n", err.msg, err.line, err.column);
        return;
    }

    ok(doc.toks[wh_json_get(&doc, 0, "ratio", 5)].type == WH_JSON_NUMBER,
       "push event: last member");

    n = 100000;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < n; i++) {
        a = wh_arena_create(16384);
        wh_arena_mem(a, &am);
        rc |= wh_json_parse(&am, push_event, sizeof(push_event) - 1, &doc,
                            &err);
        wh_arena_destroy(a);
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
    ok(rc == 0, "%d parses", n);
    printf("# speed: %zu bytes, %u tokens, %.0f ns per parse"
           " (arena created and destroyed each time)\n",
           sizeof(push_event) - 1, doc.ntoks, ns);

    am.alloc = bump_alloc;
    am.data = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < n; i++) {
        bump_pos = 0;
        rc |= wh_json_parse(&am, push_event, sizeof(push_event) - 1, &doc,
                            &err);
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
    ok(rc == 0, "%d parses with a bump allocator", n);
    printf("# speed: %.0f ns per parse, %.0f MB/s (tokenizer alone)\n",
           ns, (sizeof(push_event) - 1) / ns * 1e3);
}


int
main(void)
{
    wh_arena_t  *a;

    a = wh_arena_create(0);
    wh_arena_mem(a, &mem);

    test_mem();
    test_valid();
    test_invalid();
    test_string_offsets();
    test_depth();
    test_big();
    test_oom();
    test_tokens();
    test_escape();
    test_compact();
    test_speed();

    wh_arena_destroy(a);

    return done_testing();
}
