/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The script node (src/worker/wk_script.c, wk_v8.cc): results, globals,
 * ES2022, errors, time and memory caps, isolation between runs, the
 * sandbox (helper process, descriptors, system-call filter, failing
 * closed), and the non-blocking form.  The script processes are children
 * of the helper, so "children" below are the helper's children.
 */

#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "wh_test.h"
#include "wk_script.h"


#define CONTEXT                                                               \
    "{\"id\":\"0190c3a4-0000-7000-8000-000000000000\",\"data\":"              \
    "{\"ref\":\"refs/heads/main\",\"commits\":[{\"id\":\"a1\"},"               \
    "{\"id\":\"b2\"},{\"id\":\"c3\"}],\"repository\":{\"name\":\"site\"}}}"

#define NODES  "{\"branch\":\"main\",\"count\":{\"n\":3}}"


static wk_script_result_t  r;
static char                text[4096];


static int64_t
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* The result's JSON, or "error: " and the message. */

static const char *
show(void)
{
    snprintf(text, sizeof(text), "%s%s", r.ok ? "" : "error: ",
             r.ok ? r.result_json : (r.error ? r.error : "(null)"));

    return text;
}


static const char *
run_full(const char *src, const char *args, const char *context,
    const char *nodes, unsigned timeout_ms, size_t mem_limit)
{
    int  rc;

    wk_script_result_free(&r);
    rc = wk_script_run(src, strlen(src), args, context, nodes, timeout_ms,
                       mem_limit, &r);

    if ((rc == 0) != (r.ok == 1)) {
        return "return code and result disagree";
    }

    return show();
}


static const char *
run(const char *src, const char *args)
{
    return run_full(src, args, CONTEXT, NODES, 2000, 0);
}


static int
count_fds(void)
{
    int             n;
    DIR            *d;
    struct dirent  *e;

    n = 0;
    d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        n += (e->d_name[0] != '.');
    }

    closedir(d);

    return n;
}


/* Children of this process, from /proc (space separated pids). */

static int
children(pid_t *pids, int max)
{
    int    n;
    long   pid;
    char   path[64];
    FILE  *f;

    int    k, nh;
    pid_t  helpers[16];

    snprintf(path, sizeof(path), "/proc/self/task/%d/children",
             (int) getpid());

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    nh = 0;

    while (nh < 16 && fscanf(f, "%ld", &pid) == 1) {
        helpers[nh++] = (pid_t) pid;
    }

    fclose(f);

    /* the script processes: the helpers' children */

    n = 0;

    for (k = 0; k < nh; k++) {
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
                 (int) helpers[k], (int) helpers[k]);

        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }

        while (n < max && fscanf(f, "%ld", &pid) == 1) {
            pids[n++] = (pid_t) pid;
        }

        fclose(f);
    }

    return n;
}


static int
status_has(pid_t pid, const char *line)
{
    int    found;
    char   path[64], buf[256];
    FILE  *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    found = 0;

    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (strcmp(buf, line) == 0) {
            found = 1;
        }
    }

    fclose(f);

    return found;
}


/* The child that is not in before[], once it has its seccomp filter. */

static pid_t
new_child(const pid_t *before, int nb)
{
    int      i, j, n;
    pid_t    pids[16];
    int64_t  t;

    for (t = now_ms(); now_ms() - t < 2000; usleep(5000)) {
        n = children(pids, 16);

        for (i = 0; i < n; i++) {
            for (j = 0; j < nb && before[j] != pids[i]; j++) {
                /* void */
            }

            if (j == nb && status_has(pids[i], "Seccomp:\t2\n")) {
                return pids[i];
            }
        }
    }

    return -1;
}


/* Waits for a started script; returns its elapsed ms. */

static int64_t
finish(wk_script_t *s, int64_t start)
{
    int64_t        wait;
    struct pollfd  pfd;

    wk_script_result_free(&r);

    while (wk_script_collect(s, &r) == WK_SCRIPT_AGAIN) {
        wait = wk_script_deadline(s) - now_ms();
        pfd.fd = wk_script_fd(s);
        pfd.events = POLLIN;
        (void) poll(&pfd, 1, wait > 0 ? (int) wait : 0);
    }

    return now_ms() - start;
}


/* The descriptors of a process, "3" or "0 1 3", sorted. */

static int
fd_list(pid_t pid, char *buf, size_t size)
{
    int            fds[64], n, i, j, t;
    DIR           *d;
    size_t         len;
    char           path[64];
    struct dirent *e;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
    d = opendir(path);
    if (d == NULL) {
        snprintf(buf, size, "%s", strerror(errno));
        return -1;
    }

    n = 0;

    while ((e = readdir(d)) != NULL && n < 64) {
        if (e->d_name[0] != '.') {
            fds[n++] = atoi(e->d_name);
        }
    }

    closedir(d);

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (fds[j] < fds[i]) {
                t = fds[i]; fds[i] = fds[j]; fds[j] = t;
            }
        }
    }

    buf[0] = '\0';
    len = 0;

    for (i = 0; i < n && len < size; i++) {
        len += snprintf(buf + len, size - len, "%s%d", i ? " " : "", fds[i]);
    }

    return 0;
}


static void
test_results(void)
{
    is_str(run("return context.data.commits.length", NULL), "3",
           "NocoBase example: commits.length");
    is_str(run("return context.data.ref.replace('refs/heads/', '')", NULL),
           "\"main\"", "NocoBase example: branch name from ref");
    is_str(run("const x = 1; return {a: x}", NULL), "{\"a\":1}",
           "NocoBase example: const and an object literal");
    is_str(run("return $context.data.repository.name", NULL), "\"site\"",
           "$context is an alias of context");
    is_str(run("return nodes.branch + '/' + $nodes.count.n", NULL),
           "\"main/3\"", "nodes and $nodes are the node results");
    is_str(run("return context.data.commits.map(function (c) {\n"
               "    return c.id;\n"
               "}).join(',')", NULL),
           "\"a1,b2,c3\"", "a multi-line script with a callback");
    is_str(run("var o = { list: [1, 'two', null, true, 2.5],\n"
               "          deep: { a: { b: { c: [] } } } };\n"
               "return o", NULL),
           "{\"list\":[1,\"two\",null,true,2.5],\"deep\":{\"a\":{\"b\":"
           "{\"c\":[]}}}}", "nested objects come back as compact JSON");
    is_str(run("var x = 1;", NULL), "null", "no return gives null");
    is_str(run("return undefined", NULL), "null", "undefined gives null");
    is_str(run("return 'x'", NULL), "\"x\"", "a string");
    is_str(run("return 0.1 + 0.2", NULL), "0.30000000000000004", "a number");
    is_str(run("return 1 / 0", NULL), "null", "Infinity is null in JSON");
    is_str(run("return [function () {}, 1]", NULL), "[null,1]",
           "functions inside arrays are null, as JSON.stringify has it");
    is_str(run("return new Date(0)", NULL),
           "\"1970-01-01T00:00:00.000Z\"", "dates as ISO strings");
    is_str(run("return '\\uD83D\\uDE00 \\u00e9'", NULL),
           "\"\xf0\x9f\x98\x80 \xc3\xa9\"",
           "a surrogate pair comes back as one UTF-8 character");
    is_str(run("return 'a\\uD800b'", NULL), "\"a\xef\xbf\xbd" "b\"",
           "a lone surrogate becomes U+FFFD");
    is_str(run("return context.data.x", NULL), "null",
           "a missing member is undefined, so null");
    is_str(run_full("return [context, nodes]", NULL, NULL, NULL, 0, 0),
           "[null,{}]", "no context is null, no nodes is {}");
    is_str(run("'use strict'; return typeof this", NULL), "\"undefined\"",
           "a 'use strict' directive applies to the script");
}


static void
test_arguments(void)
{
    const char  *args;

    args = "{\"name\":\"Ann\",\"n\":2,\"flag\":false,"
           "\"obj\":{\"a\":[1,{\"b\":true}]},\"none\":null}";

    is_str(run("return name + n", args), "\"Ann2\"",
           "arguments are globals by name");
    is_str(run("return obj.a[1].b && !flag && none === null", args), "true",
           "argument values keep their JSON types");
    is_str(run("return obj", args), "{\"a\":[1,{\"b\":true}]}",
           "an object argument round-trips");
    is_str(run("return typeof this.n", args), "\"number\"",
           "arguments are properties of the global object");
    is_str(run("return context", "{\"context\":\"mine\"}"), "\"mine\"",
           "an argument named like a built-in global wins");
    is_str(run("return this['__proto__'] === 1", "{\"__proto__\":1}"),
           "true", "an argument named __proto__ is an ordinary global");
    is_str(run("return 1", "[1]"),
           "error: script setup failed: TypeError: arguments are not a JSON "
           "object", "arguments must be an object");
}


static void
test_errors(void)
{
    is_str(run("throw new Error('boom')", NULL),
           "error: script error: Error: boom (line 1)",
           "a thrown error gives its message and line");
    is_str(run("var a = 1;\nvar b = 2;\nthrow new RangeError('bad ' + b)",
               NULL),
           "error: script error: RangeError: bad 2 (line 3)",
           "the line is the line in the script");
    is_str(run("throw 'plain'", NULL), "error: script error: plain",
           "a thrown string");
    is_str(run("return context.nothing.deeper", NULL),
           "error: script error: TypeError: Cannot read properties of "
           "undefined (reading 'deeper') (line 1)", "a TypeError at run time");
    is_str(run("\nreturn missing + 1", NULL),
           "error: script error: ReferenceError: missing is not defined "
           "(line 2)", "an undefined identifier");
    is_str(run("return (", NULL),
           "error: script error: SyntaxError: Unexpected token '}' (line 2)",
           "a syntax error");
    is_str(run("var = 1", NULL),
           "error: script error: SyntaxError: Unexpected token '=' (line 1)",
           "another syntax error");
    is_str(run("let y = 1; return y", NULL), "1",
           "let works (it did not in Duktape 2.7)");
    is_str(run("return [1].map(x => x)", NULL), "[1]",
           "and arrow functions");
    is_str(run("return function () {}", NULL),
           "error: script result cannot be converted to JSON: TypeError: "
           "a function has no JSON form", "a function result is an error");
    is_str(run("var a = {}; a.self = a; return a", NULL),
           "error: script result cannot be converted to JSON: TypeError: "
           "Converting circular structure to JSON",
           "a cyclic result is an error (the message's first line)");
    is_str(run("function f() { return 1 + f(); } return f()", NULL),
           "error: script error: RangeError: Maximum call stack size "
           "exceeded (line 1)", "unbounded recursion is stopped");
    is_str(run("return 1n", NULL),
           "error: script result cannot be converted to JSON: TypeError: "
           "Do not know how to serialize a BigInt", "a BigInt result too");
}


static void
test_sandbox(void)
{
    is_str(run("return [typeof require, typeof print, typeof alert,\n"
               "        typeof process, typeof fetch, typeof XMLHttpRequest,\n"
               "        typeof WebAssembly, typeof setTimeout,\n"
               "        typeof setInterval, typeof SharedArrayBuffer,\n"
               "        typeof Atomics, typeof module, typeof exports,\n"
               "        typeof Buffer, typeof global]", NULL),
           "[\"undefined\",\"undefined\",\"undefined\",\"undefined\","
           "\"undefined\",\"undefined\",\"undefined\",\"undefined\","
           "\"undefined\",\"undefined\",\"undefined\",\"undefined\","
           "\"undefined\",\"undefined\",\"undefined\"]",
           "no require, process, network, timers, WebAssembly, shared "
           "memory or Node globals");
    is_str(run("return import('fs')", NULL),
           "error: script error: Error: Not supported (line 1)",
           "no import() either");
    is_str(run("return eval('1 + 1')", NULL),
           "error: script error: EvalError: Code generation from strings "
           "disallowed for this context (line 1)", "no eval of code");
    is_str(run("return new Function('return 1')()", NULL),
           "error: script error: EvalError: Code generation from strings "
           "disallowed for this context (line 1)", "nor new Function");
    wk_script_result_free(&r);
    wk_script_run_eval("return eval('1 + 1')", 20, NULL, NULL, NULL, 2000,
                       0, 1, &r);
    is_str(show(), "2", "unless allowEval");
    is_str(run("console.log('hi', {a: 1}, [1], null, 2);\n"
               "console.error('second');\n"
               "return 1", NULL), "1", "console works");
    is_str(r.log, "hi {\"a\":1} [1] null 2\nsecond",
           "console output is captured, one line per call");
    is_str(run("return 1", NULL), "1", "a script without console");
    ok(r.log == NULL, "has no log");
    is_str(run("for (var i = 0; i < 10000; i++) console.log('0123456789');",
               NULL), "null", "a flood of console output");
    ok(r.nlogs == WK_SCRIPT_LOG_LINES && r.log != NULL
       && strlen(r.log) == WK_SCRIPT_LOG_LINES * 11 - 1,
       "is capped at %d lines", WK_SCRIPT_LOG_LINES);
    is_str(run("console.log('x'.repeat(10000)); console.warn('a\\nb');\n"
               "console.info(`${1 + 1}`); return 0", NULL), "0",
           "a long line, a line with a new line, a template");
    ok(r.nlogs == 3 && strlen(r.logs[0]) == WK_SCRIPT_LOG_LINE
       && strcmp(r.logs[1], "a\nb") == 0 && strcmp(r.logs[2], "2") == 0,
       "lines are cut at %d bytes, kept whole otherwise",
       WK_SCRIPT_LOG_LINE);
    is_str(run("console.log('before'); throw new Error('x')", NULL),
           "error: script error: Error: x (line 1)", "a failing script");
    ok(r.nlogs == 1 && strcmp(r.logs[0], "before") == 0,
       "keeps its lines too");
    is_str(run_full("console.log('spinning'); while (true) {}", NULL,
                    CONTEXT, NODES, 300, 0),
           "error: script timed out after 300 ms", "a script that times out");
    ok(r.nlogs == 1 && strcmp(r.logs[0], "spinning") == 0,
       "keeps its lines as well");

    run("return Math.random()", NULL);
    snprintf(text + 2048, 64, "%s", r.result_json ? r.result_json : "");
    run("return Math.random()", NULL);
    ok(r.ok && strcmp(text + 2048, r.result_json) != 0,
       "Math.random differs between runs (%s, %s)", text + 2048,
       r.result_json);
}


static void
test_limits(void)
{
    int64_t  t;

    t = now_ms();
    is_str(run_full("while (true) {}", NULL, CONTEXT, NODES, 1000, 0),
           "error: script timed out after 1000 ms",
           "an endless loop is stopped");
    t = now_ms() - t;
    ok(t >= 1000 && t < 1500, "at the timeout: %lld ms", (long long) t);

    t = now_ms();
    is_str(run_full("for (;;) { try { while (true) {} } catch (e) {} }",
                    NULL, CONTEXT, NODES, 300, 0),
           "error: script timed out after 300 ms",
           "a loop that catches everything is stopped too");
    t = now_ms() - t;
    ok(t >= 300 && t < 800, "at the timeout: %lld ms", (long long) t);

    t = now_ms();
    is_str(run_full("var a = []; while (true) a.push(new Array(1e6))",
                    NULL, CONTEXT, NODES, 20000, 0),
           "error: script exceeded the memory limit",
           "a memory bomb is stopped at the default cap");
    t = now_ms() - t;
    printf("# memory bomb stopped in %lld ms\n", (long long) t);

    is_str(run_full("var s = 'x'; while (true) s = s + s", NULL, CONTEXT,
                    NODES, 5000, 0),
           "error: script error: RangeError: Invalid string length (line 1)",
           "a string doubling bomb meets V8's string length limit first");
    t = now_ms();
    is_str(run_full("const a = []; while (true)\n"
                    "    a.push('x'.repeat(1 << 20) + a.length)",
                    NULL, CONTEXT, NODES, 20000, 16 << 20),
           "error: script exceeded the memory limit",
           "a bomb of megabyte strings is stopped");
    printf("# string bomb stopped in %lld ms\n", (long long) (now_ms() - t));
    is_str(run_full("const a = []; while (true)\n"
                    "    a.push(new ArrayBuffer(1 << 20))", NULL, CONTEXT,
                    NODES, 20000, 0),
           "error: script exceeded the memory limit",
           "array buffers count against the cap too");
    is_str(run_full("return new Promise(() => {})", NULL, CONTEXT, NODES,
                    5000, 0),
           "error: script timed out: the returned promise never settles "
           "(nothing is left that could settle it)",
           "a promise that never settles fails the node, saying so");
    is_str(run_full("const spin = async () => { for (;;) await null; };\n"
                    "await spin()", NULL, CONTEXT, NODES, 300, 0),
           "error: script timed out after 300 ms",
           "a promise chain that never ends is stopped at the timeout");

    is_str(run_full("var a = []; for (var i = 0; i < 200000; i++)\n"
                    "    a.push({i: i});\n"
                    "return a.length", NULL, CONTEXT, NODES, 20000, 0),
           "200000", "200000 objects fit in the default 64 MB");
    is_str(run_full("var a = []; for (var i = 0; i < 200000; i++)\n"
                    "    a.push({i: i});\n"
                    "return a.length", NULL, CONTEXT, NODES, 5000,
                    4 * 1024 * 1024),
           "error: script exceeded the memory limit", "but not in 4 MB");

    run("return new Array(1 << 20).join('x')", NULL);
    ok(r.ok && strlen(r.result_json) == (1 << 20) + 1
       && r.result_json[0] == '"' && r.result_json[1 << 20] == '"',
       "a 1 MB result comes through the pipe whole");
}


static void
test_many(void)
{
    int      i, good;
    char     args[64], exp[64];
    int64_t  t;

    is_str(run_full("while (true) {}", NULL, NULL, NULL, 200, 0),
           "error: script timed out after 200 ms", "after a timeout,");

    good = 0;
    t = now_ms();

    for (i = 0; i < 100; i++) {
        snprintf(args, sizeof(args), "{\"i\":%d}", i);
        snprintf(exp, sizeof(exp), "%d", i * 2);
        good += (strcmp(run("return i * 2", args), exp) == 0);
    }

    t = now_ms() - t;
    is_int(good, 100, "100 scripts in a row work (%.2f ms each)",
           t / 100.0);
}


static void
test_async(void)
{
    int               n = 0, seccomp, i;
    pid_t             pids[16];
    int64_t           t, ta, tb;
    wk_script_t      *a, *b, *c;
    const char       *src_a, *src_b;
    wk_script_result_t  ra, rb;

    src_a = "var t = Date.now(); while (Date.now() - t < 400) {}\n"
            "return 'a' + x";
    src_b = "return 'b' + x";

    t = now_ms();
    a = wk_script_start(src_a, strlen(src_a), "{\"x\":1}", NULL, NULL, 3000,
                        0);
    b = wk_script_start(src_b, strlen(src_b), "{\"x\":2}", NULL, NULL, 3000,
                        0);
    ok(a != NULL && b != NULL, "two scripts started");
    if (a == NULL || b == NULL) {
        return;
    }

    ok(wk_script_fd(a) != wk_script_fd(b), "each has its descriptor");
    ok(wk_script_deadline(a) >= t + 3000, "deadline past the timeout");

    for (ta = now_ms(); now_ms() - ta < 2000; usleep(5000)) {
        n = children(pids, 16);
        if (n == -1 || n >= 2) {
            break;
        }
    }

    ok(n == -1 || n >= 2, "both are in flight at once (%d children)", n);

    tb = finish(b, t);
    rb = r;
    memset(&r, 0, sizeof(r));
    is_str(rb.result_json, "\"b2\"", "the quick one ends first");
    ok(tb < 400, "after %lld ms", (long long) tb);

    ta = finish(a, t);
    ra = r;
    memset(&r, 0, sizeof(r));
    is_str(ra.result_json, "\"a1\"", "the slow one ends after");
    ok(ta >= 400 && ta < 1400, "after %lld ms", (long long) ta);

    wk_script_result_free(&ra);
    wk_script_result_free(&rb);

    /* the child runs under seccomp with no new privileges */

    src_a = "while (true) {}";
    c = wk_script_start(src_a, strlen(src_a), NULL, NULL, NULL, 5000, 0);
    ok(c != NULL, "an endless script started");
    if (c == NULL) {
        return;
    }

    seccomp = 0;

    for (t = now_ms(); !seccomp && now_ms() - t < 2000; /* void */) {
        n = children(pids, 16);
        for (i = 0; i < n; i++) {
            seccomp |= status_has(pids[i], "Seccomp:\t2\n")
                       && status_has(pids[i], "NoNewPrivs:\t1\n");
        }

        if (n == -1) {
            break;
        }

        usleep(10000);
    }

    ok(seccomp || n == -1, "its process has a seccomp filter");

    is_int(wk_script_collect(c, &r), WK_SCRIPT_AGAIN,
           "collecting before the end says again");

    t = now_ms();
    wk_script_cancel(c);
    ok(now_ms() - t < 200, "and cancelling it is immediate");
}


static void
test_process(void)
{
    int             fds[2], status, nb;
    pid_t           mid, pid, before[16];
    int64_t         t;
    wk_script_t    *s;
    const char     *src;

    /* SIGTERM goes to the whole cgroup: in-flight scripts go on */

    src = "var t = Date.now(); while (Date.now() - t < 300) {}\n"
          "return 'done'";
    nb = children(before, 16);
    t = now_ms();
    /* another heap cap than the idle processes': a new process */
    s = wk_script_start(src, strlen(src), NULL, NULL, NULL, 2000, 32 << 20);
    ok(s != NULL, "a script started");
    if (s == NULL) {
        return;
    }

    pid = new_child(before, nb);
    ok(pid > 0, "its process is %d", (int) pid);
    ok(pid > 0 && kill(pid, SIGTERM) == 0 && kill(pid, SIGINT) == 0
       && kill(pid, SIGHUP) == 0, "got SIGTERM, SIGINT and SIGHUP");

    /* a script process holds its socket and nothing else */
    ok(pid > 0 && fd_list(pid, text, sizeof(text)) == 0
       && strcmp(text, "3") == 0, "its only descriptor is fd 3 (%s)", text);
    finish(s, t);
    is_str(show(), "\"done\"", "and finished its work");

    /* a script dies with its worker */

    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 || pipe(fds) != 0) {
        ok(0, "subreaper and pipe: %s", strerror(errno));
        return;
    }

    mid = fork();

    if (mid == 0) {
        src = "while (true) {}";
        pid = -1;
        if (wk_script_start(src, strlen(src), NULL, NULL, NULL, 10000, 0)
            != NULL)
        {
            pid = new_child(NULL, 0);
        }

        _exit(write(fds[1], &pid, sizeof(pid)) != sizeof(pid));
    }

    close(fds[1]);
    pid = -1;
    if (read(fds[0], &pid, sizeof(pid)) != sizeof(pid)) {
        pid = -1;
    }
    close(fds[0]);
    waitpid(mid, NULL, 0);

    ok(pid > 0, "a worker started an endless script and exited");

    if (pid > 0) {
        t = now_ms();
        status = 0;
        (void) waitpid(pid, &status, 0);
        t = now_ms() - t;
        /* the socket hung up, or the helper's death killed it */
        ok((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
           || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
           "the script ended (status %#x)", status);
        ok(t < 1000, "at once (%lld ms)", (long long) t);
    }

    (void) prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}


/* §12's list, each feature on its own line. */

static void
test_es2022(void)
{
    is_str(run("const {ref} = context.data;\n"
               "return `${ref.replace('refs/heads/', '')}`", NULL),
           "\"main\"", "destructuring and a template literal");
    is_str(run("const ids = context.data.commits.map(({id}) => id);\n"
               "return [...ids, ...'de']", NULL),
           "[\"a1\",\"b2\",\"c3\",\"d\",\"e\"]", "arrow functions, spread");
    is_str(run("class A { #n = 1; static k = 2; get n() { return this.#n; } }\n"
               "class B extends A { constructor() { super(); this.m = 3; } }\n"
               "const b = new B(); return [b.n, A.k, b.m]", NULL), "[1,2,3]",
           "classes with private and static fields");
    is_str(run("const f = async (x) => x * 2;\n"
               "const v = await f(21);\n"
               "return await Promise.all([v, Promise.resolve(1)])", NULL),
           "[42,1]", "async/await and Promise.all");
    is_str(run("return (async () => 'later')()", NULL), "\"later\"",
           "a returned promise is awaited");
    is_str(run("return Promise.reject(new TypeError('no'))", NULL),
           "error: script error: TypeError: no (line 1)",
           "a rejected promise fails the node");
    is_str(run("return [context?.data?.nothing?.deeper, null ?? 'd',\n"
               "        0 ?? 'd']", NULL), "[null,\"d\",0]",
           "optional chaining and ??");
    is_str(run("return [[1, 2], [3]].flatMap(a => a)", NULL), "[1,2,3]",
           "Array.prototype.flatMap");
    is_str(run("return Object.fromEntries([['a', 1], ['b', 2]])", NULL),
           "{\"a\":1,\"b\":2}", "Object.fromEntries");
    is_str(run("const m = /(?<y>\\d{4})-(?<mo>\\d{2})/.exec('2024-05');\n"
               "return m.groups", NULL), "{\"y\":\"2024\",\"mo\":\"05\"}",
           "RegExp named groups");
    is_str(run("return (2n ** 64n).toString()", NULL),
           "\"18446744073709551616\"", "BigInt");
    is_str(run("return [[1, 2].at(-1), 'abc'.replaceAll('b', 'x'),\n"
               "        Object.hasOwn({a: 1}, 'a')]", NULL),
           "[2,\"axc\",true]", "at, replaceAll, Object.hasOwn");
    is_str(run("const a = {d: new Date(0), m: new Map([[1, [2]]])};\n"
               "const b = structuredClone(a); b.m.get(1).push(3);\n"
               "return [b.d instanceof Date, a.m.get(1), b.m.get(1)]", NULL),
           "[true,[2],[2,3]]", "structuredClone (a deep copy)");
    is_str(run("return structuredClone({f() {}})", NULL),
           "error: script error: Error: f() {} could not be "
           "cloned. (line 1)", "which refuses functions");
    is_str(run("return $jobsMapByNodeKey.branch", NULL), "\"main\"",
           "$jobsMapByNodeKey is an alias of nodes");
    is_str(run("return new Intl.NumberFormat('en-US').format(1234.5)",
               NULL), "\"1,234.5\"", "Intl works (ICU)");
}


/* Every run starts in a fresh global context. */

static void
test_isolation(void)
{
    int    i, j, n1, n2, same;
    pid_t  p1[16], p2[16];

    is_str(run("globalThis.leak = 'secret'; Object.prototype.polluted = 1;\n"
               "Array.prototype.map = null; Symbol.for('k').x = 1;\n"
               "return 1", NULL), "1",
           "a run sets a global and changes built-ins");
    n1 = children(p1, 16);
    is_str(run("return [typeof leak, ({}).polluted === undefined,\n"
               "        typeof [].map]", NULL),
           "[\"undefined\",true,\"function\"]",
           "the next run sees none of it");
    n2 = children(p2, 16);

    /* in the same process: the pool gave the second run the first's */
    same = (n1 > 0 && n2 == n1);

    for (i = 0; same && i < n2; i++) {
        for (j = 0; j < n1 && p1[j] != p2[i]; j++) {
            /* void */
        }

        same = (j < n1);
    }

    ok(same || n1 == -1, "though it ran in the same script process "
       "(%d, %d processes)", n1, n2);
}


/*
 * The sandbox fails closed, and lets no file or socket open.  The switch
 * WEBHOOK_SCRIPT_TEST is read by a helper when it starts.
 */

static int under_system_service(void);


static void
test_fail_closed(void)
{
    wk_script_helper_stop();
    setenv("WEBHOOK_SCRIPT_TEST", "seccomp-fail", 1);
    is_str(run("return 1", NULL),
           "error: script sandbox cannot be installed: system-call filter: "
           "Function not implemented",
           "a script whose filter cannot be installed does not run");

    wk_script_helper_stop();
    setenv("WEBHOOK_SCRIPT_TEST", "probe", 1);
    is_str(run("return 1", NULL), "1", "with the filter,");
    is_str(r.log, "probe: open EPERM, socket EPERM",
           "opening a file or a socket fails with EPERM");

    wk_script_helper_stop();
    unsetenv("WEBHOOK_SCRIPT_TEST");
    is_str(run("return 2", NULL), "2", "a fresh helper runs scripts again");

    is_int(under_system_service(), 0, "scripts run where seccomp(2) is "
           "refused, as systemd's @system-service filter does (the unit's)");
}


/*
 * A worker whose own seccomp(2) is refused (prctl() is not): the filter
 * of systemd's @system-service.  0 when a script runs there.
 */

static int
under_system_service(void)
{
    int                 status;
    pid_t               pid;
    struct sock_fprog   prog;
    struct sock_filter  filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };

    fflush(stdout);     /* the child must not print the parent's lines */
    pid = fork();

    if (pid == 0) {
        prog.len = sizeof(filter) / sizeof(filter[0]);
        prog.filter = filter;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
        {
            _exit(2);
        }

        run("return 3", NULL);
        printf("# under a filter refusing seccomp(2): %s\n", show());
        fflush(stdout);
        wk_script_helper_stop();
        _exit(strcmp(text, "3") != 0);
    }

    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }

    return WEXITSTATUS(status);
}


int
main(void)
{
    int            fds, n;
    pid_t          pids[16];
    int64_t        t;
    wk_script_t   *slow;
    const char    *loop;

    fds = count_fds();

    /* the default timeout runs beside the other tests */

    loop = "while (true) {}";
    t = now_ms();
    slow = wk_script_start(loop, strlen(loop), NULL, NULL, NULL, 0, 0);
    ok(slow != NULL, "a script with the default timeout started");

    test_results();
    test_arguments();
    test_errors();
    test_sandbox();
    test_limits();
    test_many();
    test_async();
    test_process();

    if (slow != NULL) {
        t = finish(slow, t);
        is_str(show(), "error: script timed out after 5000 ms",
               "a timeout of 0 means 5000 ms");
        ok(t >= 5000, "not before (%lld ms, collected late)", (long long) t);
    }

    test_es2022();
    test_isolation();
    test_fail_closed();

    wk_script_result_free(&r);
    wk_script_helper_stop();

    /* what the helper of test_process()'s worker left to this subreaper */
    while (waitpid(-1, NULL, 0) > 0) {
        /* void */
    }

    is_int(count_fds(), fds, "no descriptor leaked");
    is_int(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, 1,
           "no child process left");
    n = children(pids, 16);
    ok(n <= 0, "none in /proc either");

    return done_testing();
}
