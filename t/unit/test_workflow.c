/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The workflow loader: every error message of the fixtures in
 * t/unit/workflows exactly as "nginx -t" prints it, the model built from
 * valid files, and the revision.
 */

#include <openssl/evp.h>
#include "wh_workflow.h"
#include "wh_cond.h"
#include "wh_test.h"


static char  dir[512];


static char *
slurp(const char *name, size_t *len)
{
    FILE   *f;
    char    path[1024], *text;
    long    n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        printf("# cannot open %s\n", path);
        exit(1);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    text = malloc(n + 1);
    if (text == NULL || fread(text, 1, n, f) != (size_t) n) {
        exit(1);
    }

    text[n] = '\0';
    fclose(f);
    *len = n;

    return text;
}


/* Loads a fixture under its base name; NULL with the message in err. */

static wh_workflow_t *
load(const char *name, char *err, size_t errlen)
{
    char           *text;
    size_t          len;
    wh_workflow_t  *wf;

    text = slurp(name, &len);
    err[0] = '\0';
    wf = wh_workflow_load(text, len, name, err, errlen);
    free(text);

    return wf;
}


static const struct {
    const char  *file;
    const char  *msg;
} invalid[] = {
    { "bad_json.json",
      "\"bad_json.json\": line 2, column 14: unexpected token near '}'" },
    { "dup_member.json",
      "\"dup_member.json\": line 2, column 7: duplicate object key near "
      "'\"key\"'" },
    { "not_object.json",
      "\"not_object.json\": a workflow must be a JSON object" },
    { "no_key.json", "\"no_key.json\": \"key\" is required" },
    { "bad_key.json",
      "\"bad_key.json\": \"key\" must match [A-Za-z0-9_-]{1,64}" },
    { "long_key.json",
      "\"long_key.json\": \"key\" must match [A-Za-z0-9_-]{1,64}" },
    { "bad_title.json", "\"bad_title.json\": \"title\" must be a string" },
    { "bad_enabled.json",
      "\"bad_enabled.json\": \"enabled\" must be true or false" },
    { "bad_timeout.json",
      "\"bad_timeout.json\": \"options.timeout\" must be a non-negative "
      "integer (milliseconds)" },
    { "no_nodes.json", "\"no_nodes.json\": \"nodes\" is required" },
    { "nodes_not_array.json",
      "\"nodes_not_array.json\": \"nodes\" must be an array" },
    { "node_not_object.json",
      "\"node_not_object.json\": \"nodes\" item 1 must be an object" },
    { "node_no_key.json",
      "\"node_no_key.json\": \"nodes\" item 2: \"key\" is required" },
    { "node_bad_key.json",
      "\"node_bad_key.json\": node \"c\": branch \"true\" item 1: \"key\" "
      "must match [A-Za-z0-9_-]{1,64}" },
    { "unknown_type.json",
      "\"unknown_type.json\": node \"is_main\": unknown type \"foo\"" },
    { "no_type.json", "\"no_type.json\": node \"n\": \"type\" is required" },
    { "dup_node.json", "\"dup_node.json\": duplicate node key \"x\"" },
    { "unknown_calculator.json",
      "\"unknown_calculator.json\": node \"is_main\": unknown calculator "
      "\"eq\"" },
    { "bad_operands.json",
      "\"bad_operands.json\": node \"c\": calculator \"equal\" needs 2 "
      "operands" },
    { "bad_group_type.json",
      "\"bad_group_type.json\": node \"c\": group \"type\" must be \"and\" "
      "or \"or\"" },
    { "no_calculation.json",
      "\"no_calculation.json\": node \"c\": \"calculation\" is required" },
    { "bad_calculation.json",
      "\"bad_calculation.json\": node \"c\": \"calculation\" must be an "
      "object with \"group\" or \"calculator\"" },
    { "bad_regex.json",
      "\"bad_regex.json\": node \"c\": \"matches\" pattern: invalid "
      "pattern: missing closing parenthesis at offset 9" },
    { "bad_reject.json",
      "\"bad_reject.json\": node \"c\": \"rejectOnFalse\" must be true or "
      "false" },
    { "unknown_branch.json",
      "\"unknown_branch.json\": node \"c\": unknown branch \"maybe\" "
      "(expected \"true\" or \"false\")" },
    { "branches_on_request.json",
      "\"branches_on_request.json\": node \"r\": a \"request\" node has no "
      "\"branches\"" },
    { "math_error.json",
      "\"math_error.json\": node \"calc1\": math: unexpected end of "
      "expression" },
    { "bad_engine.json",
      "\"bad_engine.json\": node \"calc1\": \"engine\" must be \"math\" or "
      "\"string\"" },
    { "no_expression.json",
      "\"no_expression.json\": node \"calc1\": \"expression\" is required" },
    { "unknown_node_ref.json",
      "\"unknown_node_ref.json\": node \"s\": unknown node \"nope\"" },
    { "unclosed_template.json",
      "\"unclosed_template.json\": node \"s\": unclosed \"{{\"" },
    { "set_no_values.json",
      "\"set_no_values.json\": node \"s\": \"values\" is required" },
    { "bad_status.json",
      "\"bad_status.json\": node \"r\": \"statusCode\" must be an integer "
      "from 200 to 599" },
    { "bad_status_string.json",
      "\"bad_status_string.json\": node \"r\": \"statusCode\" must be an "
      "integer from 200 to 599" },
    { "bad_header.json",
      "\"bad_header.json\": node \"r\": \"headers\" item 1: \"name\" must "
      "be an HTTP header name (a token)" },
    { "bad_content_type.json",
      "\"bad_content_type.json\": node \"r\": \"headers\" item 2: "
      "\"Content-Type\" is not a media type" },
    { "ack_bad_status.json",
      "\"ack_bad_status.json\": \"response\": \"statusCode\" must be an "
      "integer from 200 to 599" },
    { "ack_bad_headers.json",
      "\"ack_bad_headers.json\": \"response\": \"headers\" must be an array "
      "of {\"name\", \"value\"} objects" },
    { "bad_end.json",
      "\"bad_end.json\": node \"e\": \"endStatus\" must be 1 or -1" },
    { "request_no_url.json",
      "\"request_no_url.json\": node \"r\": \"url\" is required" },
    { "bad_method.json",
      "\"bad_method.json\": node \"r\": \"method\" must be one of GET POST "
      "PUT PATCH DELETE HEAD OPTIONS" },
    { "script_no_content.json",
      "\"script_no_content.json\": node \"js\": \"content\" is required" },
    { "query_no_collection.json",
      "\"query_no_collection.json\": node \"q\": \"collection\" is "
      "required" },
    { "mail_no_to.json", "\"mail_no_to.json\": node \"m\": \"to\" is "
      "required" },
    { "loop_no_target.json",
      "\"loop_no_target.json\": node \"l\": \"target\" is required" },
    { "bad_mode.json",
      "\"bad_mode.json\": node \"p\": \"mode\" must be \"all\", \"any\" or "
      "\"race\"" },
    { "delay_no_duration.json",
      "\"delay_no_duration.json\": node \"d\": \"duration\" is required" },
    { "bad_config.json",
      "\"bad_config.json\": node \"d\": \"config\" must be an object" },
    { "deep_constant.json",
      "\"deep_constant.json\": node \"s\": a value nested more than 256 "
      "levels deep (nesting too deep)" },
    { "parallel_bad_list.json",
      "\"parallel_bad_list.json\": node \"p\": branch \"list\" item 2 must "
      "be an array of nodes" },
};


static void
test_invalid(void)
{
    size_t          i;
    char            err[512];
    wh_workflow_t  *wf;

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        wf = load(invalid[i].file, err, sizeof(err));
        ok(wf == NULL, "%s is refused", invalid[i].file);
        is_str(err, invalid[i].msg, "%s: message", invalid[i].file);
        wh_workflow_free(wf);
    }
}


static void
test_spec_example(void)
{
    size_t          i;
    char            err[512], hex[65];
    unsigned char   md[EVP_MAX_MD_SIZE];
    unsigned int    mdlen;
    wh_node_t      *n;
    wh_workflow_t  *wf, *wf2;

    wf = load("spec_example.json", err, sizeof(err));
    ok(wf != NULL, "the SPEC §4 example loads (%s)", err);
    if (wf == NULL) {
        return;
    }

    is_str(wf->key, "github-push", "key");
    is_str(wf->title, "Deploy on push to main", "title");
    is_int(wf->enabled, 1, "enabled");
    is_int(wf->timeout_ms, 30000, "options.timeout");
    is_int(wf->has_response, 1, "has a response");
    is_int(wf->response.nheaders, 1, "one acknowledgement header");
    is_str(wf->response.headers[0].name, "X-Queued", "its name");
    ok(wf->response.body != NULL, "acknowledgement body");
    is_int(wf->needs_worker, 1, "a request node needs the worker");
    is_int(wf->has_response_node, 0, "no response node");

    is_int(wf->nodes.n, 2, "two top-level nodes");
    is_int(wf->nnodes, 4, "four nodes in all");
    is_int(wf->keys.n, 4, "four keys");
    is_str(wf->keys.keys[0], "branch", "key 0: branch");
    is_str(wf->keys.keys[1], "is_main", "key 1: is_main (document order)");
    is_str(wf->keys.keys[2], "deploy", "key 2: deploy (depth first)");
    is_str(wf->keys.keys[3], "skip", "key 3: skip");

    for (i = 0; i < wf->nnodes; i++) {
        ok(wf->all[i]->index == (int) i && wf->all[i]->config_tpl != NULL,
           "node %zu: index and config template", i);
    }

    n = wf->all[0];
    is_int(n->type, WH_NODE_CALCULATION, "branch is a calculation");
    is_int(n->u.calculation.math, 0, "with the string engine");
    ok(n->u.calculation.expr != NULL, "and its expression template");

    n = wf->all[1];
    is_int(n->type, WH_NODE_CONDITION, "is_main is a condition");
    is_int(n->u.condition.has_branches, 1, "with branches");
    is_int(n->u.condition.reject_on_false, 1, "rejectOnFalse by default");
    ok(n->u.condition.calc->group && !n->u.condition.calc->any
       && n->u.condition.calc->nitems == 1, "an \"and\" group of one");
    is_int(n->u.condition.calc->items[0]->op, WH_CALC_EQUAL, "equal");
    ok(n->when_true.n == 1 && n->when_true.items[0] == wf->all[2],
       "true branch: deploy");
    ok(n->when_false.n == 1 && n->when_false.items[0] == wf->all[3],
       "false branch: skip");
    is_str(wh_node_type_name(wf->all[2]->type), "request", "deploy type");
    is_int(wf->all[3]->u.end_status, 1, "skip ends resolved");

    ok(strlen(wf->revision) == 64
       && strspn(wf->revision, "0123456789abcdef") == 64,
       "revision is lowercase hex SHA-256");
    ok(strncmp(wf->canonical, "{\"enabled\":true,\"key\":\"github-push\","
               "\"nodes\":[{\"config\":{\"engine\":\"string\",", 60) == 0,
       "canonical JSON: sorted keys, compact");
    is_int(strlen(wf->canonical), wf->canonical_len, "canonical length");

    EVP_Digest(wf->canonical, wf->canonical_len, md, &mdlen, EVP_sha256(),
               NULL);
    for (i = 0; i < 32; i++) {
        snprintf(&hex[2 * i], 3, "%02x", md[i]);
    }
    is_str(wf->revision, hex, "revision = SHA-256 of the canonical text");
    is_str(wf->revision,
           "322c82e042df0532d2e96578fdf7c964d2fc998b5da04bdd64ce2aeeabac64e7",
           "revision is stable");

    wf2 = load("spec_example_reordered.json", err, sizeof(err));
    ok(wf2 != NULL && strcmp(wf2->revision, wf->revision) == 0,
       "layout and member order do not change the revision");
    wh_workflow_free(wf2);

    wf2 = wh_workflow_load(wf->canonical, wf->canonical_len, "canonical",
                           err, sizeof(err));
    ok(wf2 != NULL && strcmp(wf2->revision, wf->revision) == 0,
       "the canonical text loads to the same revision (the worker's copy)");
    wh_workflow_free(wf2);

    ok(wh_workflow_check_async(wf, err, sizeof(err)) == 0,
       "no response node: fine for async");

    wh_workflow_free(wf);
}


static void
test_valid(void)
{
    char            err[512];
    wh_node_t      *n;
    wh_workflow_t  *wf;

    wf = load("minimal.json", err, sizeof(err));
    ok(wf != NULL, "a workflow without nodes loads");
    if (wf) {
        is_int(wf->nnodes, 0, "no nodes");
        is_int(wf->enabled, 1, "enabled by default");
        is_int(wf->timeout_ms, 0, "no timeout");
        is_int(wf->has_response, 0, "no response given");
        is_int(wf->needs_worker, 0, "no worker needed");
        ok(wf->response.status && wf->response.body,
           "the default acknowledgement is compiled");
        ok(wf->title == NULL, "title is NULL");
        wh_workflow_free(wf);
    }

    wf = load("all_types.json", err, sizeof(err));
    ok(wf != NULL, "every node type loads (%s)", err);
    if (wf == NULL) {
        return;
    }

    is_int(wf->enabled, 0, "enabled: false");
    is_int(wf->nnodes, 16, "sixteen nodes");
    is_int(wf->has_response_node, 1, "has a response node");
    is_int(wf->needs_worker, 1, "needs the worker");

    n = wf->all[0];
    is_str(n->title, "a condition", "node title");
    is_int(n->u.condition.reject_on_false, 0, "rejectOnFalse: false");
    is_int(n->u.condition.has_branches, 0, "no branches");
    ok(n->u.condition.calc->re != NULL, "a constant pattern is compiled");

    is_int(wf->all[1]->u.calculation.math, 1, "math engine by default");
    ok(wf->all[1]->u.calculation.m != NULL, "math compiled");

    n = wf->all[10];
    is_str(n->key, "lo", "the loop");
    ok(n->body.n == 1 && n->body.items[0] == wf->all[11], "loop body");
    ok(n->u.loop_target != NULL, "loop target compiled");

    n = wf->all[12];
    is_str(n->key, "pa", "the parallel node");
    ok(n->nlists == 2 && n->lists[0].n == 1 && n->lists[1].n == 0
       && n->lists[0].items[0] == wf->all[13], "parallel lists");

    n = wf->all[14];
    is_int(n->type, WH_NODE_RESPONSE, "response node");
    ok(!wh_tpl_is_constant(n->u.response.status),
       "a template statusCode");
    ok(json_is_object(wf->all[15]->config) && wf->all[15]->config_tpl,
       "a missing config is {}");
    is_int(wf->all[15]->u.end_status, 1, "endStatus 1 by default");

    ok(wh_workflow_check_async(wf, err, sizeof(err)) == -1,
       "a response node is refused for async");
    is_str(err, "\"all_types.json\": node \"r\": a \"response\" node needs "
           "webhook_mode sync", "async message");

    wh_workflow_free(wf);

    wf = load("sync_response.json", err, sizeof(err));
    ok(wf != NULL && wh_workflow_check_async(wf, err, sizeof(err)) == -1,
       "a nested response node is found");
    is_str(err, "\"sync_response.json\": node \"r\": a \"response\" node "
           "needs webhook_mode sync", "nested async message");
    is_int(wf ? wf->needs_worker : -1, 0, "inline nodes only");
    wh_workflow_free(wf);
}


static void
test_files(void)
{
    char            path[1024], err[1024], exp[1200];
    wh_workflow_t  *wf;

    snprintf(path, sizeof(path), "%s/spec_example.json", dir);
    wf = wh_workflow_load_file(path, err, sizeof(err));
    ok(wf != NULL, "load_file");
    wh_workflow_free(wf);

    snprintf(path, sizeof(path), "%s/no_key.json", dir);
    wf = wh_workflow_load_file(path, err, sizeof(err));
    snprintf(exp, sizeof(exp), "\"%s\": \"key\" is required", path);
    is_str(err, exp, "load_file names the path");

    snprintf(path, sizeof(path), "%s/nonexistent.json", dir);
    wf = wh_workflow_load_file(path, err, sizeof(err));
    snprintf(exp, sizeof(exp), "\"%s\": cannot open: No such file or "
             "directory", path);
    ok(wf == NULL, "a missing file");
    is_str(err, exp, "missing file message");

    wf = wh_workflow_load("", 0, "empty.json", err, sizeof(err));
    ok(wf == NULL && strncmp(err, "\"empty.json\": line 1, column ", 29) == 0,
       "an empty file: %s", err);

    wf = wh_workflow_load("{\"key\":\"k\",\"nodes\":[]} x", 24, "t.json", err,
                          sizeof(err));
    ok(wf == NULL && strncmp(err, "\"t.json\": line 1, column ", 25) == 0,
       "trailing garbage: %s", err);
}


static wh_workflow_t *
loads(const char *text, char *err, size_t errlen)
{
    return wh_workflow_load(text, strlen(text), "f.json", err, errlen);
}


static wh_workflow_t *
caller(const char *key, const char *callee)
{
    char  text[256], err[256];

    snprintf(text, sizeof(text), "{\"key\":\"%s\",\"nodes\":[{\"key\":"
             "\"s\",\"type\":\"subflow\",\"config\":{\"workflow\":"
             "\"%s\"}}]}", key, callee);

    return wh_workflow_load(text, strlen(text), key, err, sizeof(err));
}


static void
test_cycles(void)
{
    char            err[512];
    size_t          i;
    wh_workflow_t  *w[4];

    /* a -> b -> c -> a, and d -> a */
    w[0] = caller("a", "b");
    w[1] = caller("b", "c");
    w[2] = caller("c", "a");
    w[3] = caller("d", "a");

    err[0] = '\0';
    ok(wh_workflow_check_cycles(w, 4, err, sizeof(err)) == -1,
       "a -> b -> c -> a is a cycle");
    is_str(err, "\"c\": node \"s\": workflow \"a\" is already on the "
           "calling path: a subflow cycle", "the message names it");

    ok(wh_workflow_check_cycles(w, 2, err, sizeof(err)) == 0,
       "a -> b -> (unknown c): no cycle seen");
    {
        wh_workflow_t  *v[4] = { w[3], w[2], w[1], w[0] };

        ok(wh_workflow_check_cycles(v, 4, err, sizeof(err)) == -1,
           "found from d too, whatever the order");
    }
    ok(wh_workflow_check_cycles(&w[3], 1, err, sizeof(err)) == 0,
       "d alone calls an unknown a");

    for (i = 0; i < 4; i++) {
        wh_workflow_free(w[i]);
    }

    /* a diamond is no cycle: a -> b, a -> c, b -> d, c -> d */
    {
        const char  *t = "{\"key\":\"a\",\"nodes\":[{\"key\":\"s1\","
                         "\"type\":\"subflow\",\"config\":{\"workflow\":"
                         "\"b\"}},{\"key\":\"s2\",\"type\":\"subflow\","
                         "\"config\":{\"workflow\":\"c\"}}]}";

        w[0] = wh_workflow_load(t, strlen(t), "a", err, sizeof(err));
        w[1] = caller("b", "d");
        w[2] = caller("c", "d");
        w[3] = caller("d", "e");
        ok(w[0] != NULL && wh_workflow_check_cycles(w, 4, err, sizeof(err))
                           == 0, "a diamond is not a cycle");

        for (i = 0; i < 4; i++) {
            wh_workflow_free(w[i]);
        }
    }
}


/* SPEC §11: options.concurrency, options.orderKey, subflow, output, wait */

static void
test_flow_control(void)
{
    size_t          i;
    char            err[512];
    wh_workflow_t  *wf;

    static const struct {
        const char  *text;
        const char  *msg;
    } bad[] = {
        { "{\"key\":\"k\",\"options\":{\"concurrency\":0},\"nodes\":[]}",
          "\"f.json\": \"options.concurrency\" must be an integer from 1 "
          "to 1000000" },
        { "{\"key\":\"k\",\"options\":{\"concurrency\":\"2\"},"
          "\"nodes\":[]}",
          "\"f.json\": \"options.concurrency\" must be an integer from 1 "
          "to 1000000" },
        { "{\"key\":\"k\",\"options\":{\"orderKey\":5},\"nodes\":[]}",
          "\"f.json\": \"options.orderKey\" must be a string (a "
          "template)" },
        { "{\"key\":\"k\",\"nodes\":[{\"key\":\"s\",\"type\":\"subflow\","
          "\"config\":{}}]}",
          "\"f.json\": node \"s\": \"workflow\" is required" },
        { "{\"key\":\"k\",\"nodes\":[{\"key\":\"s\",\"type\":\"subflow\","
          "\"config\":{\"workflow\":\"a b\"}}]}",
          "\"f.json\": node \"s\": \"workflow\" must be a workflow key, "
          "[A-Za-z0-9_-]{1,64}" },
        { "{\"key\":\"k\",\"nodes\":[{\"key\":\"s\",\"type\":\"subflow\","
          "\"config\":{\"workflow\":\"k\"}}]}",
          "\"f.json\": node \"s\": \"workflow\" is this workflow itself: "
          "a subflow cycle" },
        { "{\"key\":\"k\",\"nodes\":[{\"key\":\"s\",\"type\":\"subflow\","
          "\"config\":{\"workflow\":\"c\",\"wait\":1}}]}",
          "\"f.json\": node \"s\": \"wait\" must be true or false" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wf = wh_workflow_load(bad[i].text, strlen(bad[i].text), "f.json",
                              err, sizeof(err));
        ok(wf == NULL, "flow control: refused %zu", i);
        is_str(err, bad[i].msg, "flow control: message %zu", i);
        wh_workflow_free(wf);
    }

    wf = loads("{\"key\":\"k\",\"options\":{\"concurrency\":3,"
                          "\"orderKey\":\"{{ $context.data.c }}\"},"
                          "\"nodes\":[{\"key\":\"o\",\"type\":\"output\","
                          "\"config\":{\"value\":\"{{ $context.data }}\"}},"
                          "{\"key\":\"s\",\"type\":\"subflow\",\"config\":"
                          "{\"workflow\":\"child\",\"wait\":false}},"
                          "{\"key\":\"w\",\"type\":\"wait\",\"config\":{}}]}",
                          err, sizeof(err));
    ok(wf != NULL, "concurrency, orderKey, output, subflow, wait load (%s)",
       err);
    if (wf == NULL) {
        return;
    }

    is_int(wf->concurrency, 3, "options.concurrency");
    ok(wf->order_key != NULL, "options.orderKey compiled");
    ok(wh_node_is_inline(wf->all[0]->type), "output is an inline node");
    is_str(wh_node_type_name(wf->all[1]->type), "subflow", "subflow type");
    is_str(wf->all[1]->u.subflow.workflow, "child", "subflow workflow");
    is_int(wf->all[1]->u.subflow.wait, 0, "subflow wait false");
    is_str(wh_node_type_name(wf->all[2]->type), "wait", "wait type");
    is_int(wf->has_wait, 1, "has a wait node");
    wh_workflow_free(wf);

    test_cycles();

    wf = loads("{\"key\":\"k\",\"nodes\":[{\"key\":\"o\","
                          "\"type\":\"output\",\"config\":{\"value\":1}}]}",
                          err, sizeof(err));
    ok(wf != NULL && !wf->needs_worker, "an output node alone runs inline");
    wh_workflow_free(wf);
}


int
main(void)
{
    char  *p;

    snprintf(dir, sizeof(dir), "%s", __FILE__);
    p = strrchr(dir, '/');
    if (p) {
        snprintf(p, sizeof(dir) - (p - dir), "/workflows");

    } else {
        snprintf(dir, sizeof(dir), "workflows");
    }

    if (getenv("WH_WORKFLOWS") != NULL) {
        snprintf(dir, sizeof(dir), "%s", getenv("WH_WORKFLOWS"));
    }

    test_invalid();
    test_spec_example();
    test_valid();
    test_files();
    test_flow_control();

    return done_testing();
}
