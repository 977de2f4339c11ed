/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Templates: typed single paths, interpolation, constant folding, missing
 * values in objects and arrays, escaping.
 */

#include <jansson.h>
#include "wh_tpl.h"
#include "wh_test.h"


static wh_arena_t  *arena;
static wh_mem_t     mem;
static wh_scope_t   scope;
static wh_val_t     nodes[2];
static wh_val_t     scopes[2];
static const char  *key_names[] = { "a", "b" };
static wh_keys_t    keys = { key_names, 2 };


static wh_val_t
parse(const char *text)
{
    wh_val_t       v;
    wh_json_err_t  err;

    if (wh_val_parse(&mem, text, strlen(text), 1, &v, &err) != 0) {
        printf("# bad JSON in test: %s\n", err.msg);
        exit(1);
    }

    return v;
}


static wh_tpl_t *
compile(const char *json)
{
    json_t        *v;
    wh_tpl_t      *t;
    json_error_t   jerr;
    char           err[256];

    v = json_loads(json, JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        printf("# bad JSON in test: %s\n", jerr.text);
        exit(1);
    }

    err[0] = '\0';
    t = wh_tpl_compile(v, &keys, err, sizeof(err));
    json_decref(v);

    if (t == NULL) {
        printf("# compile error: %s\n", err);
    }

    return t;
}


/* compile error message, or "" when it compiled */

static const char *
compile_err(const char *json)
{
    json_t        *v;
    wh_tpl_t      *t;
    json_error_t   jerr;
    static char    err[256];

    v = json_loads(json, JSON_DECODE_ANY, &jerr);
    err[0] = '\0';
    t = wh_tpl_compile(v, &keys, err, sizeof(err));
    json_decref(v);

    if (t != NULL) {
        wh_tpl_free(t);
        return "";
    }

    return err;
}


static const char *
render_json(const char *json)
{
    wh_tpl_t  *t;
    wh_buf_t   b;

    t = compile(json);
    if (t == NULL) {
        return "(compile error)";
    }

    wh_buf_init(&b, &mem, 0);
    if (wh_tpl_render_json(t, &scope, &b) != 0) {
        wh_tpl_free(t);
        return "(render error)";
    }

    wh_tpl_free(t);

    return b.data;
}


static const char *
render_text(const char *json)
{
    wh_tpl_t  *t;
    wh_buf_t   b;

    t = compile(json);
    if (t == NULL) {
        return "(compile error)";
    }

    wh_buf_init(&b, &mem, 0);
    if (wh_tpl_render_text(t, &scope, &b) != 0) {
        wh_tpl_free(t);
        return "(render error)";
    }

    wh_tpl_free(t);

    return b.data;
}


/* evaluates and prints the value back as JSON; "type:json" */

static const char *
eval(const char *json)
{
    wh_tpl_t  *t;
    wh_val_t   v;
    wh_buf_t   b;

    t = compile(json);
    if (t == NULL) {
        return "(compile error)";
    }

    if (wh_tpl_eval(t, &scope, &v) != 0) {
        wh_tpl_free(t);
        return "(eval error)";
    }

    wh_buf_init(&b, &mem, 0);
    wh_buf_printf(&b, "%d:", (int) wh_val_type(v));
    wh_val_write_json(&b, v);
    wh_tpl_free(t);

    return b.data;
}


static void
test_constants(void)
{
    wh_tpl_t  *t;

    t = compile("{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}, \"d\": true}");
    ok(t != NULL && wh_tpl_is_constant(t), "an object without templates is "
       "constant");
    wh_tpl_free(t);

    is_str(render_json("{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}, "
                       "\"d\": true, \"e\": false}"),
           "{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null},\"d\":true,\"e\":false}",
           "constant object renders compact, keys in file order");
    is_str(render_json("{\"z\": 1, \"a\": 2}"), "{\"z\":1,\"a\":2}",
           "member order is kept");
    is_str(render_json("[]"), "[]", "empty array");
    is_str(render_json("{}"), "{}", "empty object");
    is_str(render_json("0.1"), "0.1", "reals print shortest: 0.1");
    is_str(render_json("1e300"), "1e+300", "1e300");
    is_str(render_json("-9007199254740993"), "-9007199254740993",
           "integers stay exact");
    is_str(render_json("\"tab\\there \\\"q\\\" \\u00e9\""),
           "\"tab\\there \\\"q\\\" \xc3\xa9\"",
           "constant string: escaped JSON, UTF-8 kept");
    is_str(render_text("\"tab\\there \\\"q\\\"\""), "tab\there \"q\"",
           "constant string as text is unquoted");
    is_str(render_text("[1, \"x\"]"), "[1,\"x\"]",
           "constant array as text is JSON");
    is_str(eval("{\"a\": 1}"), "7:{\"a\":1}", "constant object evaluates");
    is_str(eval("\"s\""), "5:\"s\"", "constant string evaluates");
    is_str(eval("12"), "4:12", "constant number evaluates");
    is_str(render_json("{\"a\\\"b\": 1}"), "{\"a\\\"b\":1}",
           "keys are escaped");
    is_str(render_json("\"{ {not a template} }\""),
           "\"{ {not a template} }\"", "single braces are text");
}


static void
test_paths(void)
{
    wh_tpl_t  *t;

    t = compile("\"{{ $context.data.n }}\"");
    ok(t != NULL && !wh_tpl_is_constant(t), "a path is not constant");
    wh_tpl_free(t);

    is_str(render_json("\"{{ $context.data.n }}\""), "5",
           "a single path keeps its type (number)");
    is_str(render_json("\"{{$context.data.n}}\""), "5",
           "no white space inside the braces");
    is_str(render_json("\"{{   $context.data.n\\t}}\""), "5",
           "more white space inside the braces");
    is_str(render_json("\"{{ $context.data.o }}\""), "{\"x\":[1,2]}",
           "a single path keeps its type (object)");
    is_str(render_json("\"{{ $context.data.t }}\""), "true",
           "a single path keeps its type (bool)");
    is_str(render_json("\"{{ $context.data.missing }}\""), "null",
           "a missing single path renders null at the top");
    is_str(render_json("\" {{ $context.data.n }}\""), "\" 5\"",
           "text outside the braces makes a string");
    is_str(render_json("\"{{ $context.data.n }}{{ $context.data.n }}\""),
           "\"55\"", "two paths make a string");
    is_str(render_text("\"{{ $context.data.s }}\""), "a\"b",
           "text of a string path is unquoted");
    is_str(render_text("\"{{ $context.data.missing }}\""), "",
           "text of a missing path is empty");
    is_str(eval("\"{{ $context.data.o.x }}\""), "6:[1,2]",
           "eval of one path is its value");
    is_str(eval("\"{{ $context.data.o.x.1 }}\""), "4:2",
           "a numeric segment indexes an array");
    is_str(eval("\"{{ $context.data.missing }}\""), "0:null",
           "eval of a missing path is missing");
    is_str(eval("\"{{ $nodes.b.x }}\""), "5:\"from b\"",
           "$nodes resolves by key");
    is_str(eval("\"{{ $jobsMapByNodeKey.b.x }}\""), "5:\"from b\"",
           "$jobsMapByNodeKey is an alias");
    is_str(eval("\"{{ $nodes.a }}\""), "0:null",
           "a node that did not run is missing");
    is_str(eval("\"{{ $scopes.a.item }}\""), "4:7", "$scopes");
}


static void
test_interpolation(void)
{
    is_str(render_text("\"n={{ $context.data.n }}, s={{ $context.data.s }}, "
                       "o={{ $context.data.o }}, m={{ $context.data.missing "
                       "}}!\""),
           "n=5, s=a\"b, o={\"x\":[1,2]}, m=!",
           "interpolation: strings as is, others as JSON, missing empty");
    is_str(render_json("\"n={{ $context.data.n }}, s={{ $context.data.s }}, "
                       "o={{ $context.data.o }}, m={{ $context.data.missing "
                       "}}!\""),
           "\"n=5, s=a\\\"b, o={\\\"x\\\":[1,2]}, m=!\"",
           "interpolation as JSON is one escaped string");
    is_str(render_json("\"\\n{{ $context.data.u }}\\t\""),
           "\"\\n\\u00e9\\\\x\\t\"",
           "escapes of the literal and of the value are kept");
    is_str(eval("\"<{{ $context.data.u }}>\""), "5:\"<\\u00e9\\\\x>\"",
           "eval of interpolation is a string value");
    is_str(eval("\"[{{ $context.data.f }}|{{ $context.data.z }}]\""),
           "5:\"[1.5|null]\"", "numbers and null interpolate as JSON");
    is_str(render_text("\"a {{ $context.data.o.x }} b\""), "a [1,2] b",
           "an array interpolates as compact JSON");
}


static void
test_structures(void)
{
    wh_tpl_t  *t;
    wh_val_t   v;
    wh_buf_t   b;
    int        json;

    is_str(render_json("{\"a\": \"{{ $context.data.missing }}\", \"b\": 1, "
                       "\"c\": \"{{ $context.data.n }}\"}"),
           "{\"b\":1,\"c\":5}", "a missing member is dropped");
    is_str(render_json("{\"a\": \"{{ $context.data.missing }}\", "
                       "\"b\": \"{{ $context.data.missing }}\"}"),
           "{}", "all members missing: empty object");
    is_str(render_json("{\"a\": \"{{ $context.data.n }}\", "
                       "\"b\": \"{{ $context.data.missing }}\", \"c\": 2}"),
           "{\"a\":5,\"c\":2}", "a missing member in the middle");
    is_str(render_json("{\"a\": \"x{{ $context.data.missing }}\"}"),
           "{\"a\":\"x\"}", "missing inside text is empty, member kept");
    is_str(render_json("[\"{{ $context.data.missing }}\", 1, "
                       "\"{{ $context.data.n }}\"]"),
           "[null,1,5]", "a missing array item is null");
    is_str(render_json("{\"k\": {\"x\": \"{{ $context.data.s }}\", "
                       "\"y\": [1, {\"z\": \"{{ $context.data.n }}\"}, 3]}, "
                       "\"c\": \"const\", \"d\": [true]}"),
           "{\"k\":{\"x\":\"a\\\"b\",\"y\":[1,{\"z\":5},3]},"
           "\"c\":\"const\",\"d\":[true]}",
           "nested objects and arrays render recursively");
    is_str(render_json("{\"a\": 1, \"b\": 2, \"t\": \"{{ $context.data.t }}\","
                       " \"c\": 3, \"d\": 4}"),
           "{\"a\":1,\"b\":2,\"t\":true,\"c\":3,\"d\":4}",
           "constant runs around a template");
    is_str(render_json("{\"executionId\": \"{{ $context.id }}\", "
                       "\"status\": \"queued\"}"),
           "{\"executionId\":\"0190a8f2-0000-7000-8000-000000000001\","
           "\"status\":\"queued\"}", "the default acknowledgement body");
    is_str(eval("{\"n\": \"{{ $context.data.n }}\", \"l\": "
                "[\"{{ $context.data.s }}\"]}"),
           "7:{\"n\":5,\"l\":[\"a\\\"b\"]}", "eval of an object");
    is_str(render_text("{\"n\": \"{{ $context.data.n }}\"}"), "{\"n\":5}",
           "an object as text is JSON");

    /* render_value: what an HTTP body gets */
    t = compile("\"{{ $context.data.s }}\"");
    wh_buf_init(&b, &mem, 0);
    json = -1;
    ok(t && wh_tpl_render_value(t, &scope, &b, &json) == 0 && json == 0
       && strcmp(b.data, "a\"b") == 0, "render_value: a string is text");
    wh_tpl_free(t);

    t = compile("{\"n\": \"{{ $context.data.n }}\"}");
    wh_buf_init(&b, &mem, 0);
    ok(t && wh_tpl_render_value(t, &scope, &b, &json) == 0 && json == 1
       && strcmp(b.data, "{\"n\":5}") == 0,
       "render_value: an object is JSON");
    wh_tpl_free(t);

    t = compile("\"plain\"");
    wh_buf_init(&b, &mem, 0);
    ok(t && wh_tpl_render_value(t, &scope, &b, &json) == 0 && json == 0
       && strcmp(b.data, "plain") == 0, "render_value: constant string");
    wh_tpl_free(t);

    t = compile("\"{{ $context.data.n }}\"");
    wh_buf_init(&b, &mem, 0);
    ok(t && wh_tpl_render_value(t, &scope, &b, &json) == 0 && json == 1
       && strcmp(b.data, "5") == 0, "render_value: number is JSON");
    wh_tpl_free(t);

    t = wh_tpl_compile_string("id={{ $context.id }}", 20, &keys, NULL, 0);
    ok(t != NULL, "compile_string");
    if (t) {
        wh_buf_init(&b, &mem, 0);
        wh_tpl_render_text(t, &scope, &b);
        is_str(b.data, "id=0190a8f2-0000-7000-8000-000000000001",
               "compile_string renders");
        ok(wh_tpl_eval(t, &scope, &v) == 0
           && wh_val_type(v) == WH_JSON_STRING, "compile_string evaluates "
           "to a string");
        wh_tpl_free(t);
    }
}


static void
test_errors(void)
{
    ok(strlen(compile_err("\"{{ $nodes.nope }}\"")) > 0,
       "an unknown node key is a compile error");
    ok(strstr(compile_err("\"{{ $nodes.nope }}\""), "nope") != NULL,
       "the message names the key: %s", compile_err("\"{{ $nodes.nope }}\""));
    ok(strlen(compile_err("{\"a\": [\"x {{ $context.data\"]}")) > 0,
       "an unclosed template is a compile error (%s)",
       compile_err("{\"a\": [\"x {{ $context.data\"]}"));
    ok(strlen(compile_err("\"{{ $bogus }}\"")) > 0,
       "an unknown variable is a compile error");
    is_str(compile_err("{\"ok\": \"{{ $nodes.a.b }}\"}"), "",
           "a known node key compiles");
}


int
main(void)
{
    arena = wh_arena_create(4096);
    wh_arena_mem(arena, &mem);

    memset(&scope, 0, sizeof(scope));
    scope.mem = &mem;
    scope.context = parse("{\"id\":\"0190a8f2-0000-7000-8000-000000000001\","
                          "\"data\":{\"n\":5,\"s\":\"a\\\"b\","
                          "\"o\":{\"x\":[1,2]},\"t\":true,"
                          "\"u\":\"\\u00e9\\\\x\",\"f\":1.5,\"z\":null}}");
    nodes[0] = wh_val_missing();
    nodes[1] = parse("{\"x\":\"from b\"}");
    scopes[0] = parse("{\"item\":7,\"index\":0}");
    scopes[1] = wh_val_missing();
    scope.nodes = nodes;
    scope.scopes = scopes;
    scope.nnodes = 2;
    scope.now_ms = 1700000000000LL;

    test_constants();
    test_paths();
    test_interpolation();
    test_structures();
    test_errors();

    wh_arena_destroy(arena);

    return done_testing();
}
