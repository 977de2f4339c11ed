/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The step machine: every inline node type, branches, rejectOnFalse, end
 * statuses, responses, loops with $scopes, yields to the caller and
 * resumption, errors.
 */

#include "wh_exec.h"
#include "wh_test.h"


static wh_arena_t  *arena;
static wh_mem_t     mem;


static wh_workflow_t *
wf_load(const char *json)
{
    char            err[512];
    wh_workflow_t  *wf;

    wf = wh_workflow_load(json, strlen(json), "t.json", err, sizeof(err));
    if (wf == NULL) {
        printf("# load error: %s\n", err);
    }

    return wf;
}


static wh_exec_t *
start(const wh_workflow_t *wf, const char *context)
{
    wh_val_t       ctx;
    wh_json_err_t  jerr;

    if (wh_val_parse(&mem, context, strlen(context), 1, &ctx, &jerr) != 0) {
        printf("# bad context: %s\n", jerr.msg);
        exit(1);
    }

    return wh_exec_create(wf, &mem, ctx, 1700000000000LL);
}


static const char *
json_of(wh_val_t v)
{
    wh_buf_t  b;

    if (v.doc == NULL) {
        return "(missing)";
    }

    wh_buf_init(&b, &mem, 64);
    wh_val_write_json(&b, v);

    return b.data;
}


static wh_val_t
val(const char *json)
{
    wh_val_t       v;
    wh_json_err_t  jerr;

    wh_val_parse(&mem, json, strlen(json), 1, &v, &jerr);

    return v;
}


/* "key:status,key:status,…" of the jobs */

static const char *
jobs(const wh_exec_t *ex)
{
    size_t           i;
    wh_buf_t         b;
    const wh_job_t  *j;

    wh_buf_init(&b, &mem, 64);

    for (i = 0; i < wh_exec_njobs(ex); i++) {
        j = wh_exec_job(ex, i);
        wh_buf_printf(&b, "%s%s:%d", i ? "," : "", j->node->key, j->status);
    }

    return b.len ? b.data : "";
}


/* the result of the last job of node key */

static const char *
result(const wh_exec_t *ex, const char *key)
{
    size_t           i;
    const wh_job_t  *j, *found;

    found = NULL;

    for (i = 0; i < wh_exec_njobs(ex); i++) {
        j = wh_exec_job(ex, i);
        if (strcmp(j->node->key, key) == 0) {
            found = j;
        }
    }

    return found ? json_of(found->result) : "(no job)";
}


/* runs to the end, failing on a yield */

static int
run(wh_exec_t *ex)
{
    wh_exec_rc_t  rc;

    if (ex == NULL) {
        return -100;
    }

    rc = wh_exec_run(ex);
    if (rc != WH_EXEC_DONE) {
        printf("# run returned %d\n", (int) rc);
        return -100;
    }

    return wh_exec_status(ex);
}


static const char  *spec_example =
    "{\"key\":\"github-push\",\"options\":{\"timeout\":30000},"
    "\"response\":{\"statusCode\":202,\"headers\":[{\"name\":\"X-Queued\","
    "\"value\":\"yes\"}],\"body\":{\"executionId\":\"{{ $context.id }}\","
    "\"status\":\"queued\"}},"
    "\"nodes\":["
    "{\"key\":\"branch\",\"type\":\"calculation\",\"config\":{\"engine\":"
    "\"string\",\"expression\":\"{{ $context.data.ref }}\"}},"
    "{\"key\":\"is_main\",\"type\":\"condition\",\"config\":{\"calculation\":"
    "{\"group\":{\"type\":\"and\",\"calculations\":[{\"calculator\":"
    "\"equal\",\"operands\":[\"{{ $nodes.branch }}\",\"refs/heads/main\"]}]"
    "}}},\"branches\":{\"true\":[{\"key\":\"deploy\",\"type\":\"request\","
    "\"config\":{\"method\":\"POST\",\"url\":\"http://127.0.0.1:9000/deploy\","
    "\"data\":{\"commits\":\"{{ $context.data.commits }}\"}}}],"
    "\"false\":[{\"key\":\"skip\",\"type\":\"end\",\"config\":"
    "{\"endStatus\":1}}]}}]}";


static int64_t
fixed_clock(void)
{
    return 1700000000123LL;
}


static void
test_spec_example(void)
{
    wh_exec_t            *ex;
    wh_buf_t              b;
    wh_exec_rc_t          rc;
    wh_workflow_t        *wf;
    const wh_node_t      *node;
    const wh_job_t       *j;
    wh_response_t         resp;

    wf = wf_load(spec_example);
    if (wf == NULL) {
        ok(0, "spec example loads");
        return;
    }

    ex = start(wf, "{\"id\":\"E1\",\"data\":{\"ref\":\"refs/heads/main\","
                   "\"commits\":[{\"id\":\"c1\"}]}}");
    rc = wh_exec_run(ex);
    is_int(rc, WH_EXEC_YIELD, "main: yields at the request node");
    node = wh_exec_pending(ex);
    ok(node != NULL && strcmp(node->key, "deploy") == 0, "pending: deploy");
    is_str(jobs(ex), "branch:1,is_main:1", "jobs so far");
    is_str(result(ex, "branch"), "\"refs/heads/main\"",
           "calculation result");
    is_str(result(ex, "is_main"), "true", "condition result");
    is_int(wh_exec_status(ex), WH_STATUS_STARTED, "still started");
    is_int(wh_exec_run(ex), WH_EXEC_YIELD, "running again yields again");

    if (node) {
        wh_buf_init(&b, &mem, 0);
        wh_tpl_render_json(node->config_tpl, wh_exec_scope(ex), &b);
        is_str(b.data, "{\"method\":\"POST\",\"url\":"
               "\"http://127.0.0.1:9000/deploy\",\"data\":{\"commits\":"
               "[{\"id\":\"c1\"}]}}", "the worker renders the config");
    }

    wh_exec_resume(ex, WH_STATUS_RESOLVED, val("{\"status\":200}"), NULL);
    ok(wh_exec_pending(ex) == NULL, "nothing pending after resume");
    is_int(run(ex), WH_STATUS_RESOLVED, "then ends resolved");
    is_str(jobs(ex), "branch:1,is_main:1,deploy:1", "three jobs");
    is_str(result(ex, "deploy"), "{\"status\":200}", "the request result");
    ok(wh_exec_error(ex) == NULL, "no error");
    ok(wh_exec_response(ex) == NULL, "no response node");

    j = wh_exec_job(ex, 2);
    ok(j && j->started_ms > 1600000000000LL
       && j->finished_ms >= j->started_ms, "job times are Unix ms");

    /* a caller's clock (nginx's cached time) times every job */
    ex = start(wf, "{\"id\":\"E2\",\"data\":{\"ref\":\"refs/heads/dev\"}}");
    wh_exec_clock(ex, fixed_clock);
    is_int(run(ex), WH_STATUS_RESOLVED, "dev: the false branch ends 1");
    j = wh_exec_job(ex, 0);
    ok(j && j->started_ms == 1700000000123LL
       && j->finished_ms == 1700000000123LL, "wh_exec_clock: the jobs' times");
    is_str(jobs(ex), "branch:1,is_main:1,skip:1", "no request");
    is_str(result(ex, "is_main"), "false", "condition false");

    /* the acknowledgement */
    ok(wh_response_render(&wf->response, wh_exec_scope(ex), &resp) == 0,
       "acknowledgement renders");
    is_int(resp.status, 202, "ack status");
    is_int(resp.nheaders, 1, "ack header");
    ok(resp.nheaders == 1 && resp.headers[0].name_len == 8
       && memcmp(resp.headers[0].name, "X-Queued", 8) == 0
       && resp.headers[0].value_len == 3
       && memcmp(resp.headers[0].value, "yes", 3) == 0, "X-Queued: yes");
    is_str(resp.body, "{\"executionId\":\"E2\",\"status\":\"queued\"}",
           "ack body");
    is_int(resp.body_json, 1, "ack body is JSON");

    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":[]}");
    ex = start(wf, "{\"id\":\"0190-x\"}");
    is_int(run(ex), WH_STATUS_RESOLVED, "no nodes: resolved");
    is_int(wh_exec_njobs(ex), 0, "no jobs");
    ok(wh_response_render(&wf->response, wh_exec_scope(ex), &resp) == 0
       && resp.status == 202 && resp.nheaders == 0 && resp.body_json
       && strcmp(resp.body, "{\"executionId\":\"0190-x\","
                 "\"status\":\"queued\"}") == 0,
       "default acknowledgement: 202 {executionId, status: queued}");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"response\":{\"body\":null,\"statusCode\":"
                 "\"{{ $context.data.c }}\"},\"nodes\":[]}");
    ex = start(wf, "{\"data\":{\"c\":\"204\"}}");
    ok(wf && wh_response_render(&wf->response, wh_exec_scope(ex), &resp)
             == 0 && resp.status == 204 && resp.body == NULL,
       "body null: no body; statusCode from a template");
    ex = start(wf, "{\"data\":{\"c\":99}}");
    ok(wf && wh_response_render(&wf->response, wh_exec_scope(ex), &resp)
             == -1, "a rendered statusCode out of range is refused");
    wh_workflow_free(wf);
}


static void
test_conditions(void)
{
    size_t          i;
    char            ctx[256];
    wh_exec_t      *ex;
    wh_workflow_t  *wf;

    static const struct {
        const char  *data;
        const char  *jobs;
        int          status;
    } cases[] = {
        { "{\"n\":5,\"s\":\"abc\",\"t\":\"x\"}", "c:1,after:1", 1 },
        { "{\"n\":50,\"s\":\"abc\",\"t\":\"x\"}", "c:-1", -1 },
        { "{\"n\":50,\"s\":\"abc\",\"t\":\"yes\"}", "c:1,after:1", 1 },
        { "{\"n\":\"7\",\"s\":\"xabc\",\"t\":\"no\"}", "c:-1", -1 },
        { "{\"n\":\"7\",\"s\":\"abcd\",\"t\":\"no\"}", "c:1,after:1", 1 },
        { "{}", "c:-1", -1 },
    };

    /* (1 < n < 10 and s starts with "abc") or t in ["yes", "ok"] */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"c\",\"type\":"
                 "\"condition\",\"config\":{\"calculation\":{\"group\":"
                 "{\"type\":\"or\",\"calculations\":["
                 "{\"group\":{\"type\":\"and\",\"calculations\":["
                 "{\"calculator\":\"gt\",\"operands\":"
                 "[\"{{ $context.data.n }}\",1]},"
                 "{\"calculator\":\"lt\",\"operands\":"
                 "[\"{{ $context.data.n }}\",10]},"
                 "{\"calculator\":\"startsWith\",\"operands\":"
                 "[\"{{ $context.data.s }}\",\"abc\"]}]}},"
                 "{\"calculator\":\"in\",\"operands\":"
                 "[\"{{ $context.data.t }}\",[\"yes\",\"ok\"]]}]}}}},"
                 "{\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"a\":1}}}]}");
    ok(wf != NULL, "nested groups load");

    for (i = 0; wf && i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(ctx, sizeof(ctx), "{\"data\":%s}", cases[i].data);
        ex = start(wf, ctx);
        is_int(run(ex), cases[i].status, "groups: %s", cases[i].data);
        is_str(jobs(ex), cases[i].jobs, "groups: %s: jobs", cases[i].data);
    }

    wh_workflow_free(wf);

    /* rejectOnFalse: false continues; the result is the boolean */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"c\",\"type\":"
                 "\"condition\",\"config\":{\"rejectOnFalse\":false,"
                 "\"calculation\":{\"calculator\":\"empty\",\"operands\":"
                 "[\"{{ $context.data.x }}\"]}}},"
                 "{\"key\":\"r\",\"type\":\"calculation\",\"config\":"
                 "{\"engine\":\"string\",\"expression\":"
                 "\"{{ $nodes.c }}\"}}]}");
    ex = start(wf, "{\"data\":{\"x\":[1]}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "rejectOnFalse false: resolved");
    is_str(jobs(ex), "c:1,r:1", "both nodes ran");
    is_str(result(ex, "r"), "false", "$nodes.c is the boolean false");
    ex = start(wf, "{\"data\":{}}");
    run(ex);
    is_str(result(ex, "r"), "true", "empty of a missing value is true");
    wh_workflow_free(wf);

    /* branches: the chosen list, then the parent list continues */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"c\",\"type\":"
                 "\"condition\",\"config\":{\"calculation\":{\"calculator\":"
                 "\"equal\",\"operands\":[\"{{ $context.data.v }}\",1]}},"
                 "\"branches\":{\"true\":[{\"key\":\"t1\",\"type\":\"set\","
                 "\"config\":{\"values\":{\"b\":\"t\"}}},{\"key\":\"t2\","
                 "\"type\":\"condition\",\"config\":{\"calculation\":"
                 "{\"calculator\":\"notEmpty\",\"operands\":[1]}},"
                 "\"branches\":{\"true\":[{\"key\":\"t3\",\"type\":\"set\","
                 "\"config\":{\"values\":{\"x\":1}}}]}}],"
                 "\"false\":[]}},"
                 "{\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"t1\":\"{{ $nodes.t1.b }}\"}}}]}");
    ex = start(wf, "{\"data\":{\"v\":\"1\"}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "branches: resolved");
    is_str(jobs(ex), "c:1,t1:1,t2:1,t3:1,after:1",
           "true branch, nested branch, then the parent list");
    is_str(result(ex, "after"), "{\"t1\":\"t\"}", "after sees the branch");
    ex = start(wf, "{\"data\":{\"v\":2}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "false with branches is not a "
           "failure");
    is_str(jobs(ex), "c:1,after:1", "empty false branch");
    is_str(result(ex, "after"), "{}", "a missing member is dropped");
    wh_workflow_free(wf);

    /* matches: run-time pattern; an invalid one is a node error */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"m\",\"type\":"
                 "\"condition\",\"config\":{\"calculation\":{\"calculator\":"
                 "\"matches\",\"operands\":[\"{{ $context.data.s }}\","
                 "\"{{ $context.data.re }}\"]}}}]}");
    ex = start(wf, "{\"data\":{\"s\":\"abc\",\"re\":\"^a.c$\"}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "run-time pattern matches");
    ex = start(wf, "{\"data\":{\"s\":\"abc\",\"re\":\"(\"}}");
    is_int(run(ex), WH_STATUS_ERROR, "an invalid run-time pattern: error");
    is_str(jobs(ex), "m:-2", "the job is an error");
    ok(wh_exec_error(ex) != NULL
       && strncmp(wh_exec_error(ex), "node \"m\": ", 10) == 0,
       "error names the node: %s", wh_exec_error(ex));
    ok(wh_exec_job(ex, 0)->error != NULL, "the job has the message");
    wh_workflow_free(wf);
}


static void
test_calculation_set(void)
{
    int             i;
    wh_buf_t        b;
    wh_exec_t      *ex;
    wh_workflow_t  *wf;

    wf = wf_load("{\"key\":\"k\",\"nodes\":["
                 "{\"key\":\"m\",\"type\":\"calculation\",\"config\":"
                 "{\"expression\":\"{{ $context.data.n }} * 2 + 1\"}},"
                 "{\"key\":\"typed\",\"type\":\"calculation\",\"config\":"
                 "{\"engine\":\"string\",\"expression\":"
                 "\"{{ $context.data.n }}\"}},"
                 "{\"key\":\"text\",\"type\":\"calculation\",\"config\":"
                 "{\"engine\":\"string\",\"expression\":"
                 "\"n={{ $context.data.n }} m={{ $nodes.m }}\"}},"
                 "{\"key\":\"s\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"a\":\"{{ $context.data.n }}\",\"b\":\"x{{ $nodes.m }}\","
                 "\"c\":\"{{ $context.data.missing }}\",\"d\":[1,"
                 "\"{{ $nodes.typed }}\"],\"e\":\"{{ $context.data.o }}\"}}},"
                 "{\"key\":\"cat\",\"type\":\"calculation\",\"config\":"
                 "{\"engine\":\"math\",\"expression\":"
                 "\"upper({{ $context.data.name }}) + '!'\"}}"
                 "]}");
    ex = start(wf, "{\"data\":{\"n\":5,\"o\":{\"k\":[true]},"
                   "\"name\":\"bob\"}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "calculation and set: resolved");
    is_str(result(ex, "m"), "11", "math engine result");
    is_str(result(ex, "typed"), "5", "string engine: one path keeps type");
    is_str(result(ex, "text"), "\"n=5 m=11\"", "string engine interpolates");
    is_str(result(ex, "s"),
           "{\"a\":5,\"b\":\"x11\",\"d\":[1,5],\"e\":{\"k\":[true]}}",
           "set: object of rendered values");
    is_str(result(ex, "cat"), "\"BOB!\"", "math with a string template");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":["
                 "{\"key\":\"calc\",\"type\":\"calculation\",\"config\":"
                 "{\"expression\":\"1 / {{ $context.data.z }}\"}},"
                 "{\"key\":\"never\",\"type\":\"end\"}]}");
    ex = start(wf, "{\"data\":{\"z\":0}}");
    is_int(run(ex), WH_STATUS_ERROR, "division by zero: error");
    is_str(jobs(ex), "calc:-2", "the job is an error, later nodes do not "
           "run");
    ok(wh_exec_error(ex) != NULL
       && strncmp(wh_exec_error(ex), "node \"calc\": ", 13) == 0
       && strlen(wh_exec_error(ex)) > 13,
       "error: %s", wh_exec_error(ex));
    ex = start(wf, "{\"data\":{\"z\":4}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "no error with 4");
    is_str(result(ex, "calc"), "0.25", "1 / 4");
    wh_workflow_free(wf);

    /* a value too deep for the request-path parser */
    wh_buf_init(&b, &mem, 0);
    wh_buf_adds(&b, "{\"key\":\"k\",\"nodes\":[{\"key\":\"s\",\"type\":"
                "\"set\",\"config\":{\"values\":{\"a\":");
    for (i = 0; i < 300; i++) {
        wh_buf_addc(&b, '[');
    }
    wh_buf_adds(&b, "\"{{ $context.data }}\"");
    for (i = 0; i < 300; i++) {
        wh_buf_addc(&b, ']');
    }
    wh_buf_adds(&b, "}}}]}");
    wf = wf_load(b.data);
    ex = start(wf, "{\"data\":1}");
    is_int(run(ex), WH_STATUS_ERROR, "a rendered value too deep: error");
    is_str(wh_exec_error(ex), "node \"s\": cannot render a template (out of "
           "memory, or nested too deep)", "its message");
    wh_workflow_free(wf);
}


static void
test_response_end(void)
{
    wh_exec_t            *ex;
    wh_workflow_t        *wf;
    const wh_response_t  *r;

    wf = wf_load("{\"key\":\"k\",\"nodes\":["
                 "{\"key\":\"r\",\"type\":\"response\",\"config\":"
                 "{\"statusCode\":\"{{ $context.data.code }}\",\"headers\":["
                 "{\"name\":\"X-N\",\"value\":\"{{ $context.data.n }}\"},"
                 "{\"name\":\"X-S\",\"value\":\"{{ $context.data.s }}\"},"
                 "{\"name\":\"X-O\",\"value\":\"{{ $context.data.o }}\"}],"
                 "\"body\":{\"n\":\"{{ $context.data.n }}\",\"t\":"
                 "\"v={{ $context.data.n }}\",\"m\":"
                 "\"{{ $context.data.missing }}\"}}},"
                 "{\"key\":\"never\",\"type\":\"end\",\"config\":"
                 "{\"endStatus\":-1}}]}");
    ex = start(wf, "{\"data\":{\"code\":201,\"n\":5,\"s\":\"a\\r\\nb\","
                   "\"o\":{\"x\":1}}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "a response node resolves");
    is_str(jobs(ex), "r:1", "and ends the execution");
    r = wh_exec_response(ex);
    ok(r != NULL, "the response is kept");
    if (r) {
        is_int(r->status, 201, "status from a template");
        is_int(r->nheaders, 3, "three headers");
        ok(r->headers[0].value_len == 1
           && memcmp(r->headers[0].value, "5", 1) == 0, "X-N: 5");
        ok(r->headers[1].value_len == 4
           && memcmp(r->headers[1].value, "a  b", 4) == 0,
           "CR LF in a header value become spaces");
        ok(r->headers[2].value_len == 7
           && memcmp(r->headers[2].value, "{\"x\":1}", 7) == 0,
           "an object header value is its JSON text");
        is_str(r->body, "{\"n\":5,\"t\":\"v=5\"}", "body: typed template, "
               "interpolated text, missing member dropped");
        is_int(r->body_len, strlen("{\"n\":5,\"t\":\"v=5\"}"), "body_len");
        is_int(r->body_json, 1, "body is JSON");
    }

    ex = start(wf, "{\"data\":{\"code\":\"700\"}}");
    is_int(run(ex), WH_STATUS_ERROR, "status 700 at run time: error");
    is_str(wh_exec_error(ex), "node \"r\": \"statusCode\" must be an "
           "integer from 200 to 599", "its message");
    ok(wh_exec_response(ex) == NULL, "no response then");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"r\",\"type\":"
                 "\"response\",\"config\":{\"body\":"
                 "\"plain {{ $context.data.n }}\"}}]}");
    ex = start(wf, "{\"data\":{\"n\":[1]}}");
    run(ex);
    r = wh_exec_response(ex);
    ok(r && r->status == 200 && r->body_json == 0
       && strcmp(r->body, "plain [1]") == 0 && r->nheaders == 0,
       "a string body is text; statusCode 200 by default");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"r\",\"type\":"
                 "\"response\",\"config\":{\"statusCode\":204}}]}");
    ex = start(wf, "{}");
    run(ex);
    r = wh_exec_response(ex);
    ok(r && r->status == 204 && r->body == NULL, "no body");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"e\",\"type\":\"end\","
                 "\"config\":{\"endStatus\":-1}},{\"key\":\"n\",\"type\":"
                 "\"end\"}]}");
    ex = start(wf, "{}");
    is_int(run(ex), WH_STATUS_FAILED, "endStatus -1: failed");
    is_str(jobs(ex), "e:-1", "the end job has the status");
    ok(wh_exec_error(ex) == NULL, "no error message");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"e\",\"type\":\"end\"},"
                 "{\"key\":\"n\",\"type\":\"end\",\"config\":{\"endStatus\":"
                 "-1}}]}");
    ex = start(wf, "{}");
    is_int(run(ex), WH_STATUS_RESOLVED, "end: resolved by default");
    is_str(jobs(ex), "e:1", "later nodes do not run");
    wh_workflow_free(wf);
}


static void
test_loops(void)
{
    wh_exec_t      *ex;
    wh_workflow_t  *wf;

    wf = wf_load("{\"key\":\"k\",\"nodes\":["
                 "{\"key\":\"lo\",\"type\":\"loop\",\"config\":{\"target\":"
                 "\"{{ $context.data.t }}\"},\"branches\":{\"body\":["
                 "{\"key\":\"s\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"v\":\"{{ $scopes.lo.item }}-{{ $scopes.lo.index }}\","
                 "\"i\":\"{{ $scopes.lo.item }}\"}}}]}},"
                 "{\"key\":\"after\",\"type\":\"calculation\",\"config\":"
                 "{\"engine\":\"string\",\"expression\":"
                 "\"{{ $nodes.s.v }}/{{ $nodes.lo }}\"}}]}");

    ex = start(wf, "{\"data\":{\"t\":[\"a\",{\"b\":[2]},\"c\"]}}");
    is_int(run(ex), WH_STATUS_RESOLVED, "loop over an array");
    is_str(jobs(ex), "lo:1,s:1,s:1,s:1,after:1", "the body runs per item");
    is_str(result(ex, "after"), "\"c-2/[\\\"a\\\",{\\\"b\\\":[2]},\\\"c\\\"]\"",
           "$scopes item and index; the loop result is the target");
    is_str(json_of(wh_exec_job(ex, 2)->result),
           "{\"v\":\"{\\\"b\\\":[2]}-1\",\"i\":{\"b\":[2]}}",
           "an object item keeps its type");

    ex = start(wf, "{\"data\":{\"t\":3}}");
    run(ex);
    is_str(jobs(ex), "lo:1,s:1,s:1,s:1,after:1", "a count of 3");
    is_str(result(ex, "s"), "{\"v\":\"2-2\",\"i\":2}", "the item is the "
           "index");

    ex = start(wf, "{\"data\":{\"t\":\"2\"}}");
    run(ex);
    is_str(jobs(ex), "lo:1,s:1,s:1,after:1", "a numeric string counts");

    ex = start(wf, "{\"data\":{\"t\":2.7}}");
    run(ex);
    is_str(jobs(ex), "lo:1,s:1,s:1,after:1", "2.7 counts 2");

    ex = start(wf, "{\"data\":{\"t\":null}}");
    run(ex);
    is_str(jobs(ex), "lo:1,after:1", "null: no iteration");
    is_str(result(ex, "after"), "\"/null\"", "nothing from the body");

    ex = start(wf, "{\"data\":{\"t\":[]}}");
    run(ex);
    is_str(jobs(ex), "lo:1,after:1", "empty array: no iteration");

    ex = start(wf, "{\"data\":{\"t\":{\"one\":1}}}");
    run(ex);
    is_str(jobs(ex), "lo:1,s:1,after:1", "an object: once");
    is_str(result(ex, "s"), "{\"v\":\"{\\\"one\\\":1}-0\",\"i\":{\"one\":1}}",
           "the item is the object");

    ex = start(wf, "{\"data\":{\"t\":-1}}");
    is_int(run(ex), WH_STATUS_ERROR, "a negative count is an error");
    is_str(wh_exec_error(ex), "node \"lo\": a loop count must not be "
           "negative", "its message");

    ex = start(wf, "{\"data\":{\"t\":1e9}}");
    is_int(run(ex), WH_STATUS_ERROR, "a huge count hits the step limit");
    is_str(wh_exec_error(ex), "more than 100000 steps", "its message");
    is_int(wh_exec_job(ex, 0)->status, WH_STATUS_ERROR,
           "the open loop job ends with the execution");
    wh_workflow_free(wf);

    /* nested loops see both scopes */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"outer\",\"type\":"
                 "\"loop\",\"config\":{\"target\":[\"x\",\"y\"]},\"branches\":"
                 "{\"body\":[{\"key\":\"inner\",\"type\":\"loop\",\"config\":"
                 "{\"target\":2},\"branches\":{\"body\":[{\"key\":\"s\","
                 "\"type\":\"calculation\",\"config\":{\"engine\":\"string\","
                 "\"expression\":\"{{ $scopes.outer.item }}"
                 "{{ $scopes.inner.index }}/{{ $scopes.inner.length }}\"}}]}}"
                 "]}}]}");
    ex = start(wf, "{}");
    is_int(run(ex), WH_STATUS_RESOLVED, "nested loops");
    is_str(jobs(ex), "outer:1,inner:1,s:1,s:1,inner:1,s:1,s:1",
           "2 x 2 body runs");
    is_str(json_of(wh_exec_job(ex, 3)->result), "\"x1/2\"", "x1");
    is_str(result(ex, "s"), "\"y1/2\"", "y1");
    wh_workflow_free(wf);

    /* an end node inside a loop ends everything */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"lo\",\"type\":"
                 "\"loop\",\"config\":{\"target\":5},\"branches\":{\"body\":"
                 "[{\"key\":\"c\",\"type\":\"condition\",\"config\":"
                 "{\"calculation\":{\"calculator\":\"lt\",\"operands\":"
                 "[\"{{ $scopes.lo.index }}\",1]}}}]}},"
                 "{\"key\":\"after\",\"type\":\"end\"}]}");
    ex = start(wf, "{}");
    is_int(run(ex), WH_STATUS_FAILED, "rejectOnFalse inside a loop fails");
    is_str(jobs(ex), "lo:-1,c:1,c:-1", "the loop job ends failed");
    wh_workflow_free(wf);
}


static void
test_yield(void)
{
    int               n;
    wh_exec_t        *ex, *b1, *b2;
    wh_workflow_t    *wf;
    const wh_node_t  *node;

    wf = wf_load("{\"key\":\"k\",\"nodes\":["
                 "{\"key\":\"req\",\"type\":\"request\",\"config\":"
                 "{\"url\":\"http://x/\",\"ignoreFail\":"
                 "\"{{ $context.data.x }}\"}},"
                 "{\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"s\":\"{{ $nodes.req.status }}\"}}}]}");
    ex = start(wf, "{}");
    is_int(wh_exec_run(ex), WH_EXEC_YIELD, "yield");
    wh_exec_resume(ex, WH_STATUS_FAILED, val("{\"status\":500}"),
                   "HTTP 500");
    is_int(run(ex), WH_STATUS_FAILED, "a failed worker node fails");
    is_str(jobs(ex), "req:-1", "its job");
    is_str(wh_exec_error(ex), "node \"req\": HTTP 500", "error message");
    is_str(wh_exec_job(ex, 0)->error, "HTTP 500", "job error");
    wh_workflow_free(wf);

    wf = wf_load("{\"key\":\"k\",\"nodes\":["
                 "{\"key\":\"req\",\"type\":\"request\",\"config\":"
                 "{\"url\":\"http://x/\",\"ignoreFail\":true}},"
                 "{\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"s\":\"{{ $nodes.req.status }}\"}}}]}");
    ex = start(wf, "{}");
    is_int(wh_exec_run(ex), WH_EXEC_YIELD, "yield");
    wh_exec_resume(ex, WH_STATUS_ERROR, val("{\"status\":500}"), "boom");
    is_int(run(ex), WH_STATUS_RESOLVED, "ignoreFail: continues");
    is_str(jobs(ex), "req:-2,after:1", "jobs");
    is_str(result(ex, "after"), "{\"s\":500}", "the result is visible");
    wh_workflow_free(wf);

    /* worker nodes inside a loop yield once per iteration */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"lo\",\"type\":"
                 "\"loop\",\"config\":{\"target\":[10,20]},\"branches\":"
                 "{\"body\":[{\"key\":\"js\",\"type\":\"script\",\"config\":"
                 "{\"content\":\"return x\"}},{\"key\":\"s\",\"type\":"
                 "\"calculation\",\"config\":{\"expression\":"
                 "\"{{ $nodes.js }} + 1\"}}]}}]}");
    ex = start(wf, "{}");
    n = 0;
    while (wh_exec_run(ex) == WH_EXEC_YIELD && n < 10) {
        node = wh_exec_pending(ex);
        n++;
        wh_exec_resume(ex, WH_STATUS_RESOLVED,
                       wh_exec_scope(ex)->scopes[0].doc
                       ? wh_val_get(wh_exec_scope(ex)->scopes[0], "item", 4)
                       : wh_val_null(), NULL);
        (void) node;
    }
    is_int(n, 2, "two yields");
    is_int(wh_exec_status(ex), WH_STATUS_RESOLVED, "resolved");
    is_str(jobs(ex), "lo:1,js:1,s:1,js:1,s:1", "jobs in order");
    is_str(result(ex, "s"), "21", "the last iteration");
    wh_workflow_free(wf);

    /* parallel: the caller runs the lists as branches */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"pa\",\"type\":"
                 "\"parallel\",\"branches\":{\"list\":["
                 "[{\"key\":\"a\",\"type\":\"set\",\"config\":{\"values\":"
                 "{\"a\":1}}},{\"key\":\"d\",\"type\":\"delay\",\"config\":"
                 "{\"duration\":5}}],"
                 "[{\"key\":\"b\",\"type\":\"calculation\",\"config\":"
                 "{\"expression\":\"{{ $context.data.n }} + 1\"}}]]}},"
                 "{\"key\":\"after\",\"type\":\"calculation\",\"config\":"
                 "{\"engine\":\"string\",\"expression\":"
                 "\"{{ $nodes.a.a }}{{ $nodes.b }}\"}}]}");
    ex = start(wf, "{\"data\":{\"n\":1}}");
    is_int(wh_exec_run(ex), WH_EXEC_YIELD, "parallel yields");
    node = wh_exec_pending(ex);
    ok(node && node->nlists == 2, "with two lists");
    b1 = wh_exec_branch(ex, &node->lists[0]);
    b2 = wh_exec_branch(ex, &node->lists[1]);
    is_int(wh_exec_run(b1), WH_EXEC_YIELD, "branch 1 yields at the delay");
    is_int(run(b2), WH_STATUS_RESOLVED, "branch 2 resolves");
    wh_exec_resume(b1, WH_STATUS_RESOLVED, wh_val_null(), NULL);
    is_int(run(b1), WH_STATUS_RESOLVED, "branch 1 resolves");
    wh_exec_resume(ex, WH_STATUS_RESOLVED, wh_val_null(), NULL);
    is_int(run(ex), WH_STATUS_RESOLVED, "then the execution resolves");
    is_str(jobs(ex), "a:1,b:1,d:1,pa:1,after:1", "all jobs in the "
           "execution");
    is_str(result(ex, "after"), "\"12\"", "branch results are visible");
    wh_workflow_free(wf);

    /* an end node in a branch ends the execution */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"pa\",\"type\":"
                 "\"parallel\",\"branches\":{\"list\":["
                 "[{\"key\":\"e\",\"type\":\"end\",\"config\":{\"endStatus\":"
                 "-1}}]]}},{\"key\":\"after\",\"type\":\"end\"}]}");
    ex = start(wf, "{}");
    wh_exec_run(ex);
    node = wh_exec_pending(ex);
    b1 = node ? wh_exec_branch(ex, &node->lists[0]) : NULL;
    is_int(run(b1), WH_STATUS_FAILED, "the branch ends failed");
    wh_exec_resume(ex, WH_STATUS_RESOLVED, wh_val_null(), NULL);
    is_int(run(ex), WH_STATUS_FAILED, "and so does the execution");
    is_str(jobs(ex), "e:-1,pa:1", "the parallel job is still recorded");
    wh_workflow_free(wf);

    /* abort */
    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"d\",\"type\":"
                 "\"delay\",\"config\":{\"duration\":1}}]}");
    ex = start(wf, "{}");
    wh_exec_run(ex);
    wh_exec_abort(ex, WH_STATUS_ABORTED, "timeout");
    is_int(run(ex), WH_STATUS_ABORTED, "aborted");
    is_str(wh_exec_error(ex), "timeout", "abort message");
    wh_workflow_free(wf);
}


/* §7: a Content-Type from request data must be a media type */
static void
test_response_type(void)
{
    size_t           i;
    wh_exec_t       *ex;
    wh_workflow_t   *wf;
    char             ctx[256];
    const wh_response_t  *r;

    static const char  *good[] = {
        "text/plain", "application/json; charset=utf-8",
        "application/vnd.api+json", "text/plain;charset=\\\"a b\\\"",
        "multipart/mixed; boundary=x; a=b",
    };

    static const char  *bad[] = {
        "", "text", "text/", "/plain", "text/html<script>", "text/plain;x",
        "text/plain; x=", "text/html, text/plain", "text /plain",
        "text/plain; a=\\\"open", "a/b\\u0000c", "text/html\\r\\nX-A: 1",
    };

    wf = wf_load("{\"key\":\"k\",\"nodes\":[{\"key\":\"r\",\"type\":"
                 "\"response\",\"config\":{\"headers\":[{\"name\":"
                 "\"content-type\",\"value\":\"{{ $context.data.t }}\"}],"
                 "\"body\":\"x\"}}]}");

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(ctx, sizeof(ctx), "{\"data\":{\"t\":\"%s\"}}", good[i]);
        ex = start(wf, ctx);
        is_int(run(ex), WH_STATUS_RESOLVED, "Content-Type %s: answered",
               good[i]);
        r = wh_exec_response(ex);
        ok(r != NULL && r->nheaders == 1, "... with the header");
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(ctx, sizeof(ctx), "{\"data\":{\"t\":\"%s\"}}", bad[i]);
        ex = start(wf, ctx);
        is_int(run(ex), WH_STATUS_ERROR, "Content-Type \"%s\": the node "
               "fails", bad[i]);
        is_str(wh_exec_error(ex), "node \"r\": \"Content-Type\" is not a "
               "media type", "... saying so");
        ok(wh_exec_response(ex) == NULL, "... no response");
    }

    wh_workflow_free(wf);
}


/* §7: what a failed sync answer shows of an execution's error */
static void
test_public_error(void)
{
    size_t    i;
    wh_buf_t  b;

    static const struct {
        const char  *err;
        const char  *pub;
    } t[] = {
        { "node \"call\": request failed: Failed to connect to 10.0.0.5 "
          "port 8080 after 0 ms: Couldn't connect to server",
          "node \"call\": request failed" },
        { "node \"call\": request failed: the address 127.0.0.2 is not "
          "allowed (webhook-worker --allow-net)",
          "node \"call\": request failed" },
        { "node \"call\": request failed: HTTP status 503",
          "node \"call\": request failed: HTTP status 503" },
        { "node \"call\": request failed: invalid url "
          "\"http://secret.internal/x?token=s3cr3t\": bad",
          "node \"call\": request failed" },
        { "node \"x-1_a\": script failed: s3cr3t is not defined",
          "node \"x-1_a\": script failed" },
        { "node \"r\": \"Content-Type\" is not a media type",
          "node \"r\": \"Content-Type\" is not a media type" },
        { "node \"m\": 10.0.0.5 said no", "node \"m\": failed" },
        { "node \"n\": ", "node \"n\": failed" },
        { "node \"m\": unbase64(): not base64",
          "node \"m\": unbase64" },
        { "node \"m\": port 8080 refused", "node \"m\": port" },
        { "the execution exceeded options.timeout (400 ms)",
          "the execution exceeded options.timeout (400 ms)" },
    };

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        wh_buf_init(&b, &mem, 16);
        wh_exec_public_error(t[i].err, strlen(t[i].err), &b);
        wh_buf_addc(&b, '\0');
        is_str(b.data, t[i].pub, "public part of \"%s\"", t[i].err);
    }
}


int
main(void)
{
    arena = wh_arena_create(16384);
    wh_arena_mem(arena, &mem);

    test_spec_example();
    test_conditions();
    test_calculation_set();
    test_response_end();
    test_loops();
    test_yield();
    test_response_type();
    test_public_error();

    wh_arena_destroy(arena);

    return done_testing();
}
