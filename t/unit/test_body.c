/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Media types, urlencoded forms and multipart/form-data to JSON.
 */

#include <time.h>

#include "wh_test.h"
#include "wh_body.h"
#include "wh_json.h"


static wh_mem_t  mem;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static const char *
result(wh_buf_t *b, int rc, const char *err)
{
    char  *r;

    if (rc != 0) {
        r = wh_alloc(&mem, strlen(err) + 5);
        sprintf(r, "ERR:%s", err);
        return r;
    }

    return b->failed ? "FAILED" : b->data;
}


static const char *
form_n(const char *s, size_t len)
{
    int       rc;
    char      err[128];
    wh_buf_t  b;

    err[0] = '\0';
    wh_buf_init(&b, &mem, 16);
    rc = wh_form_to_json(&b, s, len, err, sizeof(err));

    return result(&b, rc, err);
}


static const char *
form(const char *s)
{
    return form_n(s, strlen(s));
}


static const char *
mp_n(const char *boundary, const char *body, size_t len, size_t max)
{
    int       rc;
    char      err[128];
    wh_buf_t  b;

    err[0] = '\0';
    wh_buf_init(&b, &mem, 16);
    rc = wh_multipart_to_json(&b, boundary, strlen(boundary), body, len, max,
                              err, sizeof(err));

    return result(&b, rc, err);
}


static const char *
mp(const char *boundary, const char *body)
{
    return mp_n(boundary, body, strlen(body), 100);
}


static void
media(const char *ct, wh_media_t exp, const char *exp_boundary)
{
    size_t       blen;
    wh_media_t   t;
    const char  *bnd;
    char         got[128];

    bnd = "junk";
    blen = 99;

    t = wh_media_type(ct, ct ? strlen(ct) : 0, &bnd, &blen);

    is_int(t, exp, "media type of '%.60s'", ct ? ct : "(null)");

    if (exp != WH_MEDIA_MULTIPART) {
        return;
    }

    if (exp_boundary == NULL) {
        ok(bnd == NULL && blen == 0, "  no valid boundary");
        return;
    }

    snprintf(got, sizeof(got), "%.*s", bnd ? (int) blen : 6,
             bnd ? bnd : "(null)");
    is_str(got, exp_boundary, "  boundary");
}


static void
test_media(void)
{
    char  ct[4200], b70[71];

    media(NULL, WH_MEDIA_NONE, NULL);
    media("", WH_MEDIA_NONE, NULL);
    media("  \t ", WH_MEDIA_NONE, NULL);

    media("application/json", WH_MEDIA_JSON, NULL);
    media("Application/JSON", WH_MEDIA_JSON, NULL);
    media("application/json; charset=utf-8", WH_MEDIA_JSON, NULL);
    media("application/json;charset=\"UTF-8\"", WH_MEDIA_JSON, NULL);
    media(" application/json ", WH_MEDIA_JSON, NULL);
    media("application/vnd.github+json", WH_MEDIA_JSON, NULL);
    media("application/cloudevents+json; charset=utf-8", WH_MEDIA_JSON,
          NULL);
    media("application/merge-patch+JSON", WH_MEDIA_JSON, NULL);
    media("application/+json", WH_MEDIA_UNSUPPORTED, NULL);
    media("application/jsonx", WH_MEDIA_UNSUPPORTED, NULL);
    media("application/json garbage", WH_MEDIA_UNSUPPORTED, NULL);

    media("application/x-www-form-urlencoded", WH_MEDIA_FORM, NULL);
    media("application/x-www-form-urlencoded;charset=UTF-8", WH_MEDIA_FORM,
          NULL);
    media("APPLICATION/X-WWW-FORM-URLENCODED", WH_MEDIA_FORM, NULL);

    media("text/plain", WH_MEDIA_TEXT, NULL);
    media("text/html; charset=iso-8859-1", WH_MEDIA_TEXT, NULL);
    media("TEXT/CSV", WH_MEDIA_TEXT, NULL);
    media("text/json", WH_MEDIA_TEXT, NULL);
    media("text/", WH_MEDIA_UNSUPPORTED, NULL);

    media("application/octet-stream", WH_MEDIA_UNSUPPORTED, NULL);
    media("application/xml", WH_MEDIA_UNSUPPORTED, NULL);
    media("image/png", WH_MEDIA_UNSUPPORTED, NULL);
    media("multipart/mixed; boundary=x", WH_MEDIA_UNSUPPORTED, NULL);
    media("garbage", WH_MEDIA_UNSUPPORTED, NULL);
    media("json", WH_MEDIA_UNSUPPORTED, NULL);
    media("/json", WH_MEDIA_UNSUPPORTED, NULL);
    media("application/", WH_MEDIA_UNSUPPORTED, NULL);
    media("appli cation/json", WH_MEDIA_UNSUPPORTED, NULL);

    media("multipart/form-data; boundary=abc", WH_MEDIA_MULTIPART, "abc");
    media("multipart/form-data;boundary=abc", WH_MEDIA_MULTIPART, "abc");
    media("Multipart/Form-Data; BOUNDARY=----WebKitFormBoundary7MA4YWxk",
          WH_MEDIA_MULTIPART, "----WebKitFormBoundary7MA4YWxk");
    media("multipart/form-data; boundary=\"a b:c?=\"", WH_MEDIA_MULTIPART,
          "a b:c?=");
    media("multipart/form-data; charset=utf-8; boundary = \"x\" ",
          WH_MEDIA_MULTIPART, "x");
    media("multipart/form-data; boundary=abc; charset=utf-8",
          WH_MEDIA_MULTIPART, "abc");
    media("multipart/form-data; name=\"a;boundary=no\"; boundary=yes",
          WH_MEDIA_MULTIPART, "yes");
    media("multipart/form-data", WH_MEDIA_MULTIPART, NULL);
    media("multipart/form-data; charset=utf-8", WH_MEDIA_MULTIPART, NULL);
    media("multipart/form-data; boundary=", WH_MEDIA_MULTIPART, NULL);
    media("multipart/form-data; boundary=\"\"", WH_MEDIA_MULTIPART, NULL);
    media("multipart/form-data; boundary=\"abc \"", WH_MEDIA_MULTIPART,
          NULL);
    media("multipart/form-data; boundary=\"a\\\"b\"", WH_MEDIA_MULTIPART,
          NULL);
    media("multipart/form-data; boundary=\"abc", WH_MEDIA_MULTIPART, NULL);
    media("multipart/form-data; boundary=a@b", WH_MEDIA_MULTIPART, NULL);
    media("multipart/form-data; boundary=a b", WH_MEDIA_MULTIPART, NULL);

    memset(b70, 'b', 70);
    b70[70] = '\0';

    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b70);
    media(ct, WH_MEDIA_MULTIPART, b70);

    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%sb", b70);
    media(ct, WH_MEDIA_MULTIPART, NULL);

    strcpy(ct, "multipart/form-data; boundary=");
    memset(ct + strlen(ct), 'x', 4096);
    ct[30 + 4096] = '\0';
    media(ct, WH_MEDIA_MULTIPART, NULL);

    /* NULL out-pointers are allowed */
    is_int(wh_media_type("text/plain", 10, NULL, NULL), WH_MEDIA_TEXT,
           "NULL boundary pointers");
}


static void
test_form(void)
{
    int       rc;
    char      err[64];
    wh_buf_t  b;

    is_str(form(""), "{}", "empty input");
    is_str(form("&"), "{}", "only a separator");
    is_str(form("&&&"), "{}", "only separators");
    is_str(form("a=1&b=2"), "{\"a\":\"1\",\"b\":\"2\"}", "two fields");
    is_str(form("a=1&&b=2&"), "{\"a\":\"1\",\"b\":\"2\"}", "empty pairs");
    is_str(form("=x"), "{\"\":\"x\"}", "empty name");
    is_str(form("="), "{\"\":\"\"}", "empty name and value");
    is_str(form("a"), "{\"a\":\"\"}", "name without =");
    is_str(form("a=&b"), "{\"a\":\"\",\"b\":\"\"}", "empty values");
    is_str(form("x=1=2"), "{\"x\":\"1=2\"}", "= in value");
    is_str(form("q=hello+world"), "{\"q\":\"hello world\"}", "plus is space");
    is_str(form("a+b=c+d+"), "{\"a b\":\"c d \"}", "plus in name");
    is_str(form("x=%2B1"), "{\"x\":\"+1\"}", "%%2B is a plus");
    is_str(form("x=%20%25%26%3D"), "{\"x\":\" %&=\"}", "encoded specials");
    is_str(form("%41=%62%6A"), "{\"A\":\"bj\"}", "hex either case");
    is_str(form("n=caf%C3%A9"), "{\"n\":\"caf\xC3\xA9\"}", "UTF-8 %%C3%%A9");
    is_str(form("n=caf\xC3\xA9"), "{\"n\":\"caf\xC3\xA9\"}", "raw UTF-8");
    is_str(form("%e2%82%ac=1"), "{\"\xE2\x82\xAC\":\"1\"}", "UTF-8 name");
    is_str(form("b=%FF"), "{\"b\":\"\\ufffd\"}", "invalid byte");
    is_str(form("b=a%C3"), "{\"b\":\"a\\ufffd\"}", "truncated UTF-8");
    is_str(form("k=a%22b%5C"), "{\"k\":\"a\\\"b\\\\\"}", "quote, backslash");
    is_str(form("a=1&b=2&a=3"), "{\"a\":[\"1\",\"3\"],\"b\":\"2\"}",
           "repeated name becomes an array");
    is_str(form("b=1&a=2&b=3&a=4&c=5&b=6"),
           "{\"b\":[\"1\",\"3\",\"6\"],\"a\":[\"2\",\"4\"],\"c\":\"5\"}",
           "arrays keep first-occurrence order");
    is_str(form("a%5B%5D=1&a[]=2"), "{\"a[]\":[\"1\",\"2\"]}",
           "names compared after decoding");
    is_str(form("ab=1&a=2&abc=3&a=4&=5&="),
           "{\"ab\":\"1\",\"a\":[\"2\",\"4\"],\"abc\":\"3\",\"\":[\"5\",\"\"]}",
           "prefix names are distinct");
    is_str(form("a&a&a"), "{\"a\":[\"\",\"\",\"\"]}", "repeated bare names");
    is_str(form_n("a=x&b=y", 5), "{\"a\":\"x\",\"b\":\"\"}",
           "length is respected");

    is_str(form("%zz"), "ERR:invalid percent-encoding", "%%zz");
    is_str(form("a=%4"), "ERR:invalid percent-encoding", "%%4 at the end");
    is_str(form("a=%"), "ERR:invalid percent-encoding", "trailing %%");
    is_str(form("a=%g1"), "ERR:invalid percent-encoding", "%%g1");
    is_str(form("a=%1g&b=2"), "ERR:invalid percent-encoding", "%%1g");
    is_str(form("a=1&b=2&c=%%41"), "ERR:invalid percent-encoding",
           "%%%% in the last field");
    is_str(form_n("a=%41", 4), "ERR:invalid percent-encoding",
           "%% cut by the length");

    /* output is appended; an error leaves the buffer as it was */

    wh_buf_init(&b, &mem, 4);
    wh_buf_adds(&b, "X:");
    rc = wh_form_to_json(&b, "a=1", 3, err, sizeof(err));
    is_int(rc, 0, "append: rc");
    is_str(b.data, "X:{\"a\":\"1\"}", "append: output after the prefix");

    rc = wh_form_to_json(&b, "a=%x", 4, err, sizeof(err));
    is_int(rc, -1, "error: rc");
    is_str(b.data, "X:{\"a\":\"1\"}", "error: buffer unchanged");

    rc = wh_form_to_json(&b, "a=%x", 4, NULL, 0);
    is_int(rc, -1, "error without an err buffer");
}


static void
test_form_large(void)
{
    int        rc;
    char      *s, *exp;
    size_t     n, i, len, elen;
    double     t;
    wh_buf_t   b;

    n = 100000;
    s = malloc(n * 16);
    exp = malloc(n * 24);

    if (s == NULL || exp == NULL) {
        ok(0, "malloc");
        return;
    }

    /* the same name 100000 times */

    len = 0;
    elen = sprintf(exp, "{\"a\":[");

    for (i = 0; i < n; i++) {
        len += sprintf(s + len, "%sa=%zu", i ? "&" : "", i);
        elen += sprintf(exp + elen, "%s\"%zu\"", i ? "," : "", i);
    }

    strcpy(exp + elen, "]}");

    wh_buf_init(&b, &mem, 0);
    t = now();
    rc = wh_form_to_json(&b, s, len, NULL, 0);
    t = now() - t;
    printf("# 100000 fields, one name: %.3f s\n", t);

    is_int(rc, 0, "100000 equal names: rc");
    ok(b.data && strcmp(b.data, exp) == 0, "100000 equal names: output");

    /* 100000 different names, in descending order */

    len = 0;
    elen = 1;
    strcpy(exp, "{");

    for (i = 0; i < n; i++) {
        len += sprintf(s + len, "%sk%zu=%zu", i ? "&" : "", n - i, i);
        elen += sprintf(exp + elen, "%s\"k%zu\":\"%zu\"", i ? "," : "",
                        n - i, i);
    }

    strcpy(exp + elen, "}");

    wh_buf_init(&b, &mem, 0);
    t = now();
    rc = wh_form_to_json(&b, s, len, NULL, 0);
    t = now() - t;
    printf("# 100000 fields, different names: %.3f s\n", t);

    is_int(rc, 0, "100000 different names: rc");
    ok(b.data && strcmp(b.data, exp) == 0, "100000 different names: output");

    /* 100000 fields over 3 names */

    len = 0;

    for (i = 0; i < n; i++) {
        len += sprintf(s + len, "%s%c=%zu", i ? "&" : "", "xyz"[i % 3],
                       i % 10);
    }

    wh_buf_init(&b, &mem, 0);
    t = now();
    rc = wh_form_to_json(&b, s, len, NULL, 0);
    t = now() - t;
    printf("# 100000 fields, three names: %.3f s\n", t);

    is_int(rc, 0, "100000 fields, three names: rc");
    strcpy(exp, "{\"x\":[\"0\",\"3\",\"6\",\"9\",\"2\",");
    ok(b.data && strncmp(b.data, exp, strlen(exp)) == 0,
       "three names: first array");
    ok(b.data && strstr(b.data, "],\"y\":[\"1\",\"4\",\"7\",\"0\"")
       && strstr(b.data, "],\"z\":[\"2\",\"5\",\"8\",\"1\""),
       "three names: the other arrays");

    free(s);
    free(exp);
}


#define CD  "Content-Disposition: form-data; "

static void
test_multipart(void)
{
    size_t       blen;
    const char  *bnd;
    char         body[512];
    static const char  bin[] =
        "--XyZ\r\n" CD "name=\"bin\"; filename=\"b.dat\"\r\n\r\n"
        "\0\xff\xfe\r\n--XyZ--";

    is_str(mp("XyZ",
              "preamble text\r\n"
              "--XyZ\r\n"
              CD "name=\"title\"\r\n"
              "\r\n"
              "Hello\r\n"
              "--XyZ\r\n"
              CD "name=\"tag\"\r\n"
              "\r\n"
              "a\r\n"
              "--XyZ\r\n"
              "content-disposition: form-data; name=tag\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "\r\n"
              "b\r\n"
              "--XyZ\r\n"
              CD "name=\"file\"; filename=\"f.txt\"\r\n"
              "Content-Type: text/plain\r\n"
              "\r\n"
              "hello world\r\n"
              "--XyZ--\r\n"
              "epilogue\r\n--XyZ\r\nignored"),
           "{\"title\":\"Hello\",\"tag\":[\"a\",\"b\"],"
           "\"file\":{\"filename\":\"f.txt\",\"contentType\":\"text/plain\","
           "\"size\":11,\"content\":\"aGVsbG8gd29ybGQ=\"}}",
           "fields, repeated names, a file, preamble and epilogue");

    strcpy(body, "multipart/form-data; boundary=\"my bnd:1\"");
    is_int(wh_media_type(body, strlen(body), &bnd, &blen),
           WH_MEDIA_MULTIPART, "quoted boundary: media type");
    snprintf(body, sizeof(body), "%.*s", (int) blen, bnd);
    is_str(mp(body,
              "--my bnd:1\r\n" CD "name=\"a\"\r\n\r\n1\r\n--my bnd:1--"),
           "{\"a\":\"1\"}", "quoted boundary with a space");

    is_str(mp("XyZ",
              "--XyZ\r\n" CD "name=\"f\"; filename=\"x\"\r\n\r\n"
              "a\r\n--XyZx\r\nb\r\n--XyZ--"),
           "{\"f\":{\"filename\":\"x\",\"contentType\":"
           "\"application/octet-stream\",\"size\":12,"
           "\"content\":\"YQ0KLS1YeVp4DQpi\"}}",
           "file: default type, boundary-like line in the content");

    is_str(mp_n("XyZ", bin, sizeof(bin) - 1, 10),
           "{\"bin\":{\"filename\":\"b.dat\",\"contentType\":"
           "\"application/octet-stream\",\"size\":3,\"content\":\"AP/+\"}}",
           "binary file with a NUL byte");

    is_str(mp("b",
              "--b\r\n" CD "name=\"x\"\r\n\r\nv\r\n"
              "--b\r\n" CD "name=\"x\"; filename=\"\"\r\n"
              "Content-Type: application/x-empty\r\n\r\n\r\n"
              "--b\r\n" CD "name=\"x\"\r\n\r\nab\r\n--b--"),
           "{\"x\":[\"v\",{\"filename\":\"\",\"contentType\":"
           "\"application/x-empty\",\"size\":0,\"content\":\"\"},\"ab\"]}",
           "fields and files under one name");

    is_str(mp("b", "--b\r\n" CD "name=\"e\"\r\n\r\n\r\n--b--"),
           "{\"e\":\"\"}", "empty field");
    is_str(mp("b", "--b\r\n" CD "name=\"e\"\r\n\r\n--b--"),
           "{\"e\":\"\"}", "empty field, delimiter right after headers");
    is_str(mp("b", "--b--"), "{}", "only the close delimiter");
    is_str(mp("b", "--b--\r\n"), "{}", "close delimiter and CRLF");
    is_str(mp("b", "--b \t\r\n" CD "name=a\r\n\r\n1\r\n--b--"),
           "{\"a\":\"1\"}", "transport padding after the boundary");
    is_str(mp("b", "--b\n" CD "name=\"a\"\n\nline1\r\nline2\n--b\n"
              CD "name=\"c\"\n\n2\n--b--\n"),
           "{\"a\":\"line1\\r\\nline2\",\"c\":\"2\"}", "LF line ends");
    is_str(mp("b", "--b\r\n" CD "name=\"a\\\"q\\\\\"\r\n\r\n1\r\n--b--"),
           "{\"a\\\"q\\\\\":\"1\"}", "escaped quote in the name");
    is_str(mp("b", "--b\r\n" CD "name=\"a;b\"; filename=\"c;d\"\r\n\r\n"
              "1\r\n--b--"),
           "{\"a;b\":{\"filename\":\"c;d\",\"contentType\":"
           "\"application/octet-stream\",\"size\":1,\"content\":\"MQ==\"}}",
           "semicolons inside quotes");
    is_str(mp("b", "--b\r\n" CD "filename*=UTF-8''%C3%A9.txt; name=\"f\"; "
              "filename=\"e.txt\"\r\n\r\nab\r\n--b--"),
           "{\"f\":{\"filename\":\"e.txt\",\"contentType\":"
           "\"application/octet-stream\",\"size\":2,\"content\":\"YWI=\"}}",
           "filename* is ignored");
    is_str(mp("b", "--b\r\n" CD "name=\"v\"\r\nX-Other: 1\r\n"
              "Content-Type: text/plain\r\n\r\nbad\xff\r\n--b--"),
           "{\"v\":\"bad\\ufffd\"}", "invalid UTF-8 in a field");
    is_str(mp("b", "--b\r\ncontent-disposition:form-data;name=a\r\n"
              "\r\n1\r\n--b--"),
           "{\"a\":\"1\"}", "compact header");
    is_str(mp("b", "pre--b\r\n--b\r\n" CD "name=a\r\n\r\n1\r\n--b--"),
           "{\"a\":\"1\"}", "a boundary inside the preamble line");
    is_str(mp("b", "\r\n--b\r\n" CD "name=a\r\n\r\n1\r\n--b--"),
           "{\"a\":\"1\"}", "empty preamble line");

    is_str(mp_n("b", "--b\r\n" CD "name=a\r\n\r\n1\r\n--b--", 8, 10),
           "ERR:multipart: unterminated part headers",
           "length is respected");

    /* errors */

    is_str(mp("b", ""), "ERR:multipart: no opening boundary", "empty body");
    is_str(mp("b", "a=1&b=2"), "ERR:multipart: no opening boundary",
           "no boundary at all");
    is_str(mp("b", "--bx\r\n" CD "name=a\r\n\r\n1\r\n--bx--"),
           "ERR:multipart: no opening boundary", "only a longer boundary");
    is_str(mp("b", "--b\r\n" CD "name=\"a\"\r\n\r\nvalue"),
           "ERR:multipart: no closing boundary", "no closing boundary");
    is_str(mp("b", "--b\r\n" CD "name=\"a\"\r\n\r\nvalue\r\n--bb--"),
           "ERR:multipart: no closing boundary", "only a longer close");
    is_str(mp("b", "--b\r\n" CD "name=\"a\"\r\n"),
           "ERR:multipart: unterminated part headers", "headers not ended");
    is_str(mp("b", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--"),
           "ERR:multipart: part without Content-Disposition name",
           "no Content-Disposition");
    is_str(mp("b", "--b\r\n" CD "filename=\"x\"\r\n\r\nx\r\n--b--"),
           "ERR:multipart: part without Content-Disposition name",
           "Content-Disposition without name");
    is_str(mp("b", "--b\r\n\r\nx\r\n--b--"),
           "ERR:multipart: part without Content-Disposition name",
           "part without headers");
    is_str(mp("b", "--b\r\n" CD "name=\"x\r\n\r\nx\r\n--b--"),
           "ERR:multipart: part without Content-Disposition name",
           "unterminated quoted name");
    is_str(mp("b", "--b\r\n" CD "name=a\r\nbogus\r\n\r\nx\r\n--b--"),
           "ERR:multipart: malformed part header", "header without colon");

    strcpy(body, "--b\r\n" CD "name=a\r\n\r\n1\r\n"
                 "--b\r\n" CD "name=a\r\n\r\n2\r\n--b--");
    is_str(mp_n("b", body, strlen(body), 2), "{\"a\":[\"1\",\"2\"]}",
           "max_parts parts");
    is_str(mp_n("b", body, strlen(body), 1),
           "ERR:multipart: too many parts", "more than max_parts");
    is_str(mp_n("b", "--b--", 5, 0), "{}", "no parts with max_parts 0");
}


static void
test_multipart_large(void)
{
    int        rc;
    char      *body, *bnd, *p;
    size_t     len, i, n;
    double     t;
    wh_buf_t   b;

    len = 1 << 20;
    body = malloc(len + 200);
    bnd = malloc(4097);

    if (body == NULL || bnd == NULL) {
        ok(0, "malloc");
        return;
    }

    memset(bnd, 'x', 4096);
    bnd[4096] = '\0';

    /* 1 MB of near-delimiters for a 4 KB boundary */

    for (i = 0; i < len; i++) {
        body[i] = "\r\n--"[i % 4];
    }

    for (i = 0; i + 4200 < len; i += 4200) {
        memset(body + i + 4, 'x', 4000);
    }

    t = now();
    is_str(mp_n(bnd, body, len, 1000), "ERR:multipart: no opening boundary",
           "1 MB without the 4 KB boundary");
    printf("# 1 MB, 4 KB boundary: %.3f s\n", now() - t);

    /* a valid start, then 1 MB of "\r\n--bbb..." that never matches */

    memset(bnd, 'b', 70);
    bnd[70] = '\0';

    p = body;
    p += sprintf(p, "--%s\r\n" CD "name=a\r\n\r\n", bnd);

    while (p < body + len) {
        p += sprintf(p, "\r\n--%.69sX", bnd);
    }

    t = now();
    is_str(mp_n(bnd, body, p - body, 1000),
           "ERR:multipart: no closing boundary",
           "1 MB of near boundaries");
    printf("# 1 MB of near boundaries: %.3f s\n", now() - t);

    /* "--boundaryX" lines: full matches that are not delimiters */

    p = body;
    p += sprintf(p, "--%s\r\n" CD "name=a\r\n\r\n", bnd);

    n = 0;
    while (p < body + len) {
        p += sprintf(p, "\r\n--%sX", bnd);
        n++;
    }

    t = now();
    is_str(mp_n(bnd, body, p - body, 1000),
           "ERR:multipart: no closing boundary",
           "1 MB of longer boundaries");
    printf("# 1 MB of %zu longer boundaries: %.3f s\n", n, now() - t);

    /* many small parts */

    p = body;
    n = 0;

    while (p < body + len - 100) {
        p += sprintf(p, "--b\r\n" CD "name=f%zu\r\n\r\n%zu\r\n", n % 7, n);
        n++;
    }

    p += sprintf(p, "--b--");

    wh_buf_init(&b, &mem, 0);
    t = now();
    rc = wh_multipart_to_json(&b, "b", 1, body, p - body, n, NULL, 0);
    printf("# %zu parts: %.3f s\n", n, now() - t);
    is_int(rc, 0, "many parts: rc");
    ok(b.data && strncmp(b.data, "{\"f0\":[\"0\",\"7\",\"14\",", 20) == 0,
       "many parts: output");

    free(body);
    free(bnd);
}


int
main(void)
{
    wh_arena_t  *a;

    a = wh_arena_create(0);
    wh_arena_mem(a, &mem);

    test_media();
    test_form();
    test_form_large();
    test_multipart();
    test_multipart_large();

    wh_arena_destroy(a);

    return done_testing();
}
