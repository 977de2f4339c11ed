/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the workflow core: the input is a workflow file.
 * When it loads, it runs against a fixed context: worker nodes are
 * resumed with canned results (parallel lists run as branches), every
 * pending node's config and the acknowledgement are rendered, and
 * rendered JSON must parse again.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *       -o build/fuzz_tpl fuzz/fuzz_tpl.c src/core/wh_tpl.c \
 *       src/core/wh_cond.c src/core/wh_workflow.c src/core/wh_exec.c \
 *       src/core/wh_mem.c src/core/wh_json.c src/core/wh_val.c \
 *       src/core/wh_path.c src/core/wh_math.c src/core/wh_calc.c \
 *       -ljansson -lcrypto -lpcre2-8 -lm
 *   build/fuzz_tpl -max_total_time=60 fuzz/corpus-tpl t/unit/workflows
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_exec.h"


static const char  context[] =
    "{\"id\":\"0190a8f2-0000-7000-8000-000000000001\",\"workflow\":\"k\","
    "\"method\":\"POST\",\"path\":\"/hook\",\"data\":{\"ref\":"
    "\"refs/heads/main\",\"n\":3,\"s\":\"a\\\"b\\u00e9\",\"l\":[1,\"x\","
    "{\"y\":null}],\"o\":{\"k\":[true,false]},\"z\":0,\"e\":\"\"},"
    "\"headers\":{\"x-a\":\"1\"},\"query\":{},\"params\":{},"
    "\"ip\":\"127.0.0.1\",\"receivedAt\":\"2026-01-01T00:00:00.000Z\"}";


static void
check_json(wh_mem_t *mem, const char *text, size_t len)
{
    wh_val_t       v;
    wh_json_err_t  err;

    if (wh_val_parse(mem, text, len, 0, &v, &err) != 0
        && strstr(err.msg, "deep") == NULL
        && strstr(err.msg, "nest") == NULL
        && strstr(err.msg, "memory") == NULL)
    {
        fprintf(stderr, "rendered JSON does not parse (%s): %.*s\n",
                err.msg, (int) len, text);
        abort();
    }
}


static void
render(wh_mem_t *mem, const wh_tpl_t *t, wh_scope_t *scope)
{
    wh_buf_t  b;
    wh_val_t  v;
    int       json;

    wh_buf_init(&b, mem, 0);
    if (wh_tpl_render_json(t, scope, &b) == 0) {
        check_json(mem, b.data, b.len);
    }

    wh_buf_init(&b, mem, 0);
    (void) wh_tpl_render_text(t, scope, &b);

    wh_buf_init(&b, mem, 0);
    if (wh_tpl_render_value(t, scope, &b, &json) == 0 && json) {
        check_json(mem, b.data, b.len);
    }

    (void) wh_tpl_eval(t, scope, &v);
}


/* Runs ex to its end; canned results for worker nodes. */

static void
drive(wh_exec_t *ex, wh_mem_t *mem, int depth)
{
    int               n, status;
    size_t            i;
    wh_exec_t        *br;
    const wh_node_t  *node;

    for (n = 0; n < 200; n++) {
        if (wh_exec_run(ex) != WH_EXEC_YIELD) {
            return;
        }

        node = wh_exec_pending(ex);
        render(mem, node->config_tpl, wh_exec_scope(ex));

        if (node->type == WH_NODE_PARALLEL && depth < 4) {
            for (i = 0; i < node->nlists; i++) {
                br = wh_exec_branch(ex, &node->lists[i]);
                if (br != NULL) {
                    drive(br, mem, depth + 1);
                }
            }
        }

        status = (n % 5 == 4) ? WH_STATUS_FAILED : WH_STATUS_RESOLVED;
        wh_exec_resume(ex, status, wh_val_number(mem, n),
                       status < 0 ? "canned failure" : NULL);
    }

    wh_exec_abort(ex, WH_STATUS_ABORTED, "too many yields");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  err[512];
    size_t                i;
    wh_val_t              ctx;
    wh_mem_t              mem;
    wh_exec_t            *ex;
    wh_arena_t           *arena;
    wh_json_err_t         jerr;
    wh_workflow_t        *wf, *wf2;
    wh_response_t         resp;
    const wh_response_t  *r;

    wf = wh_workflow_load((const char *) data, size, "fuzz.json", err,
                          sizeof(err));
    if (wf == NULL) {
        if (strncmp(err, "\"fuzz.json\": ", 13) != 0) {
            abort();
        }
        return 0;
    }

    (void) wh_workflow_check_async(wf, err, sizeof(err));

    arena = wh_arena_create(8192);
    if (arena == NULL) {
        wh_workflow_free(wf);
        return 0;
    }

    wh_arena_mem(arena, &mem);

    if (wh_val_parse(&mem, context, sizeof(context) - 1, 0, &ctx, &jerr)
        != 0)
    {
        abort();
    }

    ex = wh_exec_create(wf, &mem, ctx, 1767225600000LL);

    if (ex != NULL) {
        (void) wh_response_render(&wf->response, wh_exec_scope(ex), &resp);

        drive(ex, &mem, 0);

        r = wh_exec_response(ex);
        if (r != NULL && r->body != NULL && r->body_json) {
            check_json(&mem, r->body, r->body_len);
        }

        for (i = 0; i < wh_exec_njobs(ex); i++) {
            if (wh_exec_job(ex, i)->node == NULL) {
                abort();
            }
        }
    }

    /* the canonical text must load to the same revision */
    wf2 = wh_workflow_load(wf->canonical, wf->canonical_len, "canonical",
                           err, sizeof(err));
    if (wf2 == NULL || strcmp(wf2->revision, wf->revision) != 0) {
        fprintf(stderr, "canonical text: %s\n", wf2 ? "revision" : err);
        abort();
    }

    wh_workflow_free(wf2);
    wh_arena_destroy(arena);
    wh_workflow_free(wf);

    return 0;
}
