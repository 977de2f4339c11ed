/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Template paths: compilation errors, resolution against a scope, and the
 * "{{ … }}" scanner.
 */

#include "wh_test.h"
#include "wh_path.h"


static wh_mem_t   mem;
static char       err[256];

static const char  *key_names[] = { "branch", "loop1", "never" };
static wh_keys_t    keys = { key_names, 3 };


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


static const char *
json(wh_val_t v)
{
    wh_buf_t  b;

    if (v.doc == NULL) {
        return "(missing)";
    }

    wh_buf_init(&b, &mem, 64);
    wh_val_write_json(&b, v);

    return b.failed ? "(oom)" : b.data;
}


/* $execution: the node index that renders it shows in resumeUrl */

static wh_val_t
execution(void *data, wh_mem_t *m, int node)
{
    char           text[64];
    wh_val_t       v;
    wh_json_err_t  jerr;

    snprintf(text, sizeof(text), "{\"id\":\"e1\",\"resumeUrl\":\"u%d\"}",
             node);

    if (wh_val_parse(m, text, strlen(text), 1, &v, &jerr) != 0) {
        return wh_val_missing();
    }

    return v;
}


static wh_val_t
env(void *data, wh_mem_t *m, const char *name, size_t len)
{
    wh_val_t       v;
    wh_json_err_t  jerr;

    if (len == 4 && memcmp(name, "HOME", 4) == 0) {
        return wh_val_string(m, "/home/wh", 8);
    }

    if (len == 3 && memcmp(name, "CFG", 3) == 0
        && wh_val_parse(m, "{\"a\":[5]}", 9, 1, &v, &jerr) == 0)
    {
        return v;
    }

    return wh_val_missing();
}


/* Compiles and resolves, returning the JSON of the value or the error. */

static const char *
get(wh_scope_t *scope, const char *path)
{
    wh_val_t    v;
    wh_path_t  *p;

    err[0] = '\0';

    p = wh_path_compile(path, strlen(path), &keys, err, sizeof(err));
    if (p == NULL) {
        return err;
    }

    v = wh_path_resolve(p, scope);
    wh_path_free(p);

    return json(v);
}


static const char *
compile_err(const char *path)
{
    wh_path_t  *p;

    strcpy(err, "(no error)");

    p = wh_path_compile(path, strlen(path), &keys, err, sizeof(err));
    if (p != NULL) {
        wh_path_free(p);
        return "(compiled)";
    }

    return err;
}


typedef struct {
    char    out[512];
    int     calls;
    int     stop_at;
} scan_log_t;


static int
scan_cb(void *data, size_t start, size_t end, const char *inner,
    size_t inner_len)
{
    scan_log_t  *log = data;
    size_t       n;

    log->calls++;
    n = strlen(log->out);
    snprintf(log->out + n, sizeof(log->out) - n, "[%zu,%zu,'%.*s']",
             start, end, (int) inner_len, inner);

    return log->calls == log->stop_at ? 7 : 0;
}


static const char *
scan(const char *s, int stop_at, int *rc)
{
    static scan_log_t  log;

    memset(&log, 0, sizeof(log));
    log.stop_at = stop_at;
    err[0] = '\0';

    *rc = wh_path_scan(s, strlen(s), scan_cb, &log, err, sizeof(err));

    return log.out;
}


int
main(void)
{
    int          rc;
    wh_path_t   *p;
    wh_arena_t  *arena;
    wh_scope_t   scope;
    wh_val_t     nodes[3], scopes[3];

    arena = wh_arena_create(0);
    wh_arena_mem(arena, &mem);

    /* wh_keys_find */

    is_int(wh_keys_find(&keys, "branch", 6), 0, "keys: first");
    is_int(wh_keys_find(&keys, "loop1", 5), 1, "keys: second");
    is_int(wh_keys_find(&keys, "loop", 4), -1, "keys: prefix is no match");
    is_int(wh_keys_find(&keys, "branchx", 7), -1, "keys: longer no match");
    is_int(wh_keys_find(NULL, "branch", 6), -1, "keys: NULL set");

    /* compilation errors */

    is_str(compile_err(""), "empty path in \"{{ }}\"", "empty path");
    is_str(compile_err("  \t "), "empty path in \"{{ }}\"", "blank path");
    is_str(compile_err("$foo.a"), "unknown variable \"$foo\"",
           "unknown root");
    is_str(compile_err("context.a"), "unknown variable \"context\"",
           "root without $");
    is_str(compile_err("$contexts"), "unknown variable \"$contexts\"",
           "root prefix is not enough");
    is_str(compile_err("$context.a..b"),
           "empty segment in path \"$context.a..b\"", "empty segment");
    is_str(compile_err("$context."),
           "empty segment in path \"$context.\"", "trailing dot");
    is_str(compile_err("$context.a b"),
           "white space in path \"$context.a b\"", "space inside a path");
    is_str(compile_err("$nodes"), "\"$nodes\" needs a node key",
           "$nodes alone");
    is_str(compile_err("$scopes"), "\"$scopes\" needs a node key",
           "$scopes alone");
    is_str(compile_err("$nodes.nope.x"), "unknown node \"nope\"",
           "unknown node key");
    is_str(compile_err("$jobsMapByNodeKey.zz"), "unknown node \"zz\"",
           "unknown node key through the alias");
    is_str(compile_err("$env"), "\"$env\" needs a variable name",
           "$env alone");
    is_str(compile_err("$system.later"),
           "unknown variable \"$system.later\" (only \"$system.now\")",
           "$system other than now");
    is_str(compile_err("$system"),
           "unknown variable \"$system\" (only \"$system.now\")",
           "$system alone");
    is_str(compile_err("$system.now.x"),
           "unknown variable \"$system.now.x\" (only \"$system.now\")",
           "$system.now has no members");
    is_str(compile_err(" $context.a "), "(compiled)", "white space trimmed");

    p = wh_path_compile("$nodes.never", 12, NULL, err, sizeof(err));
    ok(p == NULL && strcmp(err, "unknown node \"never\"") == 0,
       "no keys: every node is unknown");

    /* the compiled form */

    p = wh_path_compile(" $jobsMapByNodeKey.loop1.a.12.b ", 32, &keys, err,
                        sizeof(err));
    ok(p != NULL, "compiled alias path");
    if (p != NULL) {
        is_int(p->root, WH_ROOT_NODES, "alias root is $nodes");
        is_int(p->node, 1, "node index");
        is_int(p->nsegs, 3, "segments after the key");
        is_str(p->segs[0].name, "a", "segment 0 name");
        is_int(p->segs[0].index, -1, "segment 0 is a key");
        is_str(p->segs[1].name, "12", "segment 1 name");
        is_int(p->segs[1].index, 12, "segment 1 is an index");
        is_int(p->segs[2].len, 1, "segment 2 length");
        wh_path_free(p);
    }

    p = wh_path_compile("$context.99999999999", 20, &keys, err, sizeof(err));
    ok(p != NULL && p->segs[0].index == -1, "huge number is only a key");
    wh_path_free(p);

    /* resolution */

    memset(&scope, 0, sizeof(scope));
    scope.mem = &mem;
    scope.context = parse("{\"id\":\"e1\","
                          "\"data\":{\"ref\":\"refs/heads/main\","
                          "\"commits\":[{\"id\":\"c1\"},{\"id\":\"c2\"}],"
                          "\"0\":\"zero\",\"n\":12.5,\"t\":true,\"z\":null},"
                          "\"headers\":{\"x-a\":\"1\"},"
                          "\"grid\":[[1,2],[3,4]]}");
    nodes[0] = parse("\"refs/heads/main\"");
    nodes[1] = parse("{\"status\":200,\"data\":[1,2,3]}");
    nodes[2] = wh_val_missing();
    scopes[0] = wh_val_missing();
    scopes[1] = parse("{\"item\":{\"name\":\"x\"},\"index\":4}");
    scopes[2] = wh_val_missing();
    scope.nodes = nodes;
    scope.scopes = scopes;
    scope.nnodes = 3;
    scope.now_ms = 1795345087123LL;

    is_str(get(&scope, "$context.id"), "\"e1\"", "context string");
    is_str(get(&scope, "$context.data.ref"), "\"refs/heads/main\"",
           "nested member");
    is_str(get(&scope, "$context.data.commits.1.id"), "\"c2\"",
           "array index");
    is_str(get(&scope, "$context.data.commits.0"), "{\"id\":\"c1\"}",
           "array item object");
    is_str(get(&scope, "$context.data.commits.2"), "(missing)",
           "index out of range");
    is_str(get(&scope, "$context.data.commits.x"), "(missing)",
           "key on an array");
    is_str(get(&scope, "$context.data.commits[1].id"), "\"c2\"",
           "bracket index");
    is_str(get(&scope, "$nodes.loop1.data[2]"), "3", "bracket index last");
    is_str(get(&scope, "$context.grid[1][0]"), "3", "brackets in a row");
    is_str(get(&scope, "$context.data.commits[x]"),
           "invalid \"[\" in path \"$context.data.commits[x]\"",
           "bracket without digits");
    is_str(get(&scope, "$context.data.commits[0]x"),
           "invalid \"[\" in path \"$context.data.commits[0]x\"",
           "text after a bracket");
    is_str(get(&scope, "$context.data.commits[0"),
           "invalid \"[\" in path \"$context.data.commits[0\"",
           "unclosed bracket");
    is_str(get(&scope, "$context.data.0"), "\"zero\"",
           "digits on an object are a key");
    is_str(get(&scope, "$context.data.n"), "12.5", "number");
    is_str(get(&scope, "$context.data.t"), "true", "boolean");
    is_str(get(&scope, "$context.data.z"), "null", "null is not missing");
    is_str(get(&scope, "$context.data.z.a"), "(missing)",
           "member of null is missing");
    is_str(get(&scope, "$context.data.ref.x"), "(missing)",
           "member of a string is missing");
    is_str(get(&scope, "$context.nope.deeper.still"), "(missing)",
           "missing propagates");
    is_str(get(&scope, "$context.headers.x-a"), "\"1\"",
           "dash in a key");
    is_str(get(&scope, "{{$context.id}}"),
           "unknown variable \"{{$context\"", "braces are not part of a path");
    ok(strncmp(get(&scope, "$context"), "{\"id\":\"e1\",", 10) == 0,
       "$context alone is the whole context");

    is_str(get(&scope, "$nodes.branch"), "\"refs/heads/main\"",
           "node result");
    is_str(get(&scope, "$jobsMapByNodeKey.branch"), "\"refs/heads/main\"",
           "node result through the alias");
    is_str(get(&scope, "$nodes.loop1.data.2"), "3", "inside a node result");
    is_str(get(&scope, "$nodes.never"), "(missing)", "node not run");
    is_str(get(&scope, "$scopes.loop1.item.name"), "\"x\"", "scope item");
    is_str(get(&scope, "$scopes.loop1.index"), "4", "scope index");
    is_str(get(&scope, "$scopes.branch.item"), "(missing)",
           "not a loop scope");

    scope.nnodes = 1;
    is_str(get(&scope, "$nodes.loop1"), "(missing)",
           "node index beyond nnodes");
    scope.nnodes = 3;
    scope.nodes = NULL;
    is_str(get(&scope, "$nodes.branch"), "(missing)", "no nodes at all");
    scope.nodes = nodes;

    is_str(get(&scope, "$env.HOME"), "(missing)", "no env callback");
    scope.env = env;
    is_str(get(&scope, "$env.HOME"), "\"/home/wh\"", "env value");
    is_str(get(&scope, "$env.SECRET"), "(missing)", "env not allowed");
    is_str(get(&scope, "$env.CFG.a.0"), "5", "segments after an env name");

    is_str(get(&scope, "$system.now"), "\"2026-11-22T10:58:07.123Z\"",
           "system.now");
    scope.now_ms = 7;
    is_str(get(&scope, "$system.now"), "\"1970-01-01T00:00:00.007Z\"",
           "system.now pads milliseconds");
    scope.now_ms = -1;
    is_str(get(&scope, "$system.now"), "\"1969-12-31T23:59:59.999Z\"",
           "system.now before the epoch");

    is_str(get(&scope, "$execution.resumeUrl"), "(missing)",
           "no execution callback: $execution is missing (nginx)");
    scope.execution = execution;
    scope.node = 4;
    is_str(get(&scope, "$execution.resumeUrl"), "\"u4\"",
           "$execution for the node that renders it");
    is_str(get(&scope, "$execution.id"), "\"e1\"", "$execution.id");
    scope.execution = NULL;

    /* wh_path_scan */

    is_str(scan("a {{ $context.x }} b {{y}}", 0, &rc),
           "[2,18,' $context.x '][21,26,'y']", "scan: two templates");
    is_int(rc, 0, "scan: rc 0");
    is_str(scan("no templates { } }} here", 0, &rc), "",
           "scan: none, stray braces ignored");
    is_int(rc, 0, "scan: none rc");
    is_str(scan("{{}}", 0, &rc), "[0,4,'']", "scan: empty inner");
    is_str(scan("{{a}}{{b}}{{c}}", 2, &rc), "[0,5,'a'][5,10,'b']",
           "scan: stops when fn returns non-zero");
    is_int(rc, 7, "scan: returns fn's value");
    is_str(scan("{{{ x }}}", 0, &rc), "[0,8,'{ x ']",
           "scan: first closing braces end it");
    is_str(scan("x {{a}} {{ b", 0, &rc), "[2,7,'a']",
           "scan: calls before an unclosed template");
    is_int(rc, -1, "scan: unclosed is -1");
    is_str(err, "unclosed \"{{\"", "scan: unclosed message");
    is_str(scan("{{ a }", 0, &rc), "", "scan: single closing brace");
    is_int(rc, -1, "scan: single closing brace is unclosed");
    is_str(scan("{", 0, &rc), "", "scan: lone brace");
    is_int(rc, 0, "scan: lone brace is text");

    wh_arena_destroy(arena);

    return done_testing();
}
