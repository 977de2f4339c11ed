/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The step machine.  An execution is a stack of frames, each a node list
 * and the position of the next node in it: the top list, the chosen
 * branch of a condition, or the body of a loop with its iteration state.
 * A condition's branch runs and then the parent list continues after the
 * condition, as in NocoBase.  The stack grows with the nesting of the
 * file only, never with the input, and nothing here recurses.
 *
 * Every node run appends a job; $nodes.<key> is the result of the last
 * run of that node.  All memory comes from the execution's allocator.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/types.h>
#include "wh_body.h"
#include "wh_cond.h"
#include "wh_exec.h"


typedef struct {
    const wh_list_t    *list;
    size_t              pos;

    /* the body of a loop */
    const wh_node_t    *loop;
    size_t              job;        /* the loop's job */
    wh_val_t            target;
    uint32_t            item;       /* token of the current array item */
    uint32_t            index;
    uint32_t            count;
    int                 mode;
} wh_frame_t;

#define WH_EXEC_TPL_ERR                                                     \
    "cannot render a template (out of memory, or nested too deep)"

/* what a loop iterates */
#define WH_LOOP_ONE    0      /* a single value, once */
#define WH_LOOP_ITEMS  1      /* the items of an array */
#define WH_LOOP_COUNT  2      /* 0 … n-1 */

struct wh_exec_s {
    const wh_workflow_t  *wf;
    wh_mem_t             *mem;
    wh_exec_t            *root;     /* self, or the execution of a branch */
    wh_scope_t           *scope;
    wh_scope_t            own_scope;

    wh_frame_t           *frames;
    size_t                nframes;
    size_t                frames_cap;

    /* jobs are kept by the root execution */
    wh_job_t             *jobs;
    size_t                njobs;
    size_t                jobs_cap;
    size_t                steps;
    int64_t             (*clock)(void);   /* the root's: wh_exec_clock() */

    const wh_node_t      *pending;
    int64_t               pending_started;
    wh_val_t              pending_logs;     /* wh_exec_resume_logs() */

    int                   done;
    int                   status;
    const char           *error;
    wh_response_t        *response;
    wh_val_t              output;   /* root: the last "output" node's */
    int                   has_output;
};


static int64_t
wh_exec_now(wh_exec_t *ex)
{
    struct timespec  ts;

    if (ex->root->clock) {
        return ex->root->clock();
    }

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * Ends the execution.  Loops still open end with it.  A pending node
 * stays pending, so that wh_exec_resume() still records its job.
 */

static void
wh_exec_finish(wh_exec_t *ex, int status, const char *error)
{
    size_t     i;
    int64_t    now;
    wh_job_t  *job;

    now = wh_exec_now(ex);

    for (i = 0; i < ex->nframes; i++) {
        if (ex->frames[i].loop != NULL) {
            job = &ex->root->jobs[ex->frames[i].job];
            job->status = status;
            job->finished_ms = now;
        }
    }

    ex->done = 1;
    ex->status = status;
    ex->error = error;
    ex->nframes = 0;
}


/* "node \"key\": msg" in the execution's memory; NULL on OOM */

static const char *
wh_exec_node_msg(wh_exec_t *ex, const wh_node_t *node, const char *msg)
{
    wh_buf_t  b;

    wh_buf_init(&b, ex->mem, strlen(node->key) + strlen(msg) + 16);
    wh_buf_printf(&b, "node \"%s\": %s", node->key, msg);

    return b.failed ? NULL : b.data;
}


static wh_exec_rc_t
wh_exec_nomem(wh_exec_t *ex)
{
    wh_exec_finish(ex, WH_STATUS_ERROR, "out of memory");

    return WH_EXEC_NOMEM;
}


/* Counts node runs and loop iterations: a bound on the work per input. */

static int
wh_exec_step(wh_exec_t *ex)
{
    char  msg[64];

    if (++ex->root->steps <= WH_EXEC_MAX_STEPS) {
        return 0;
    }

    snprintf(msg, sizeof(msg), "more than %d steps", WH_EXEC_MAX_STEPS);
    wh_exec_finish(ex, WH_STATUS_ERROR, wh_memdup(ex->mem, msg,
                                                  strlen(msg)));
    if (ex->root != ex) {
        wh_exec_finish(ex->root, WH_STATUS_ERROR, ex->error);
    }

    return -1;
}


/* Appends a job (to the root execution); its index or -1 on OOM. */

static ssize_t
wh_exec_job_add(wh_exec_t *ex, const wh_node_t *node, int status,
    wh_val_t result, const char *error, int64_t started)
{
    size_t     cap;
    wh_job_t  *jobs, *job;
    wh_exec_t *root;

    root = ex->root;

    if (root->njobs == root->jobs_cap) {
        cap = root->jobs_cap ? root->jobs_cap * 2 : 16;
        jobs = wh_alloc(root->mem, cap * sizeof(wh_job_t));
        if (jobs == NULL) {
            return -1;
        }

        if (root->njobs) {
            memcpy(jobs, root->jobs, root->njobs * sizeof(wh_job_t));
        }

        root->jobs = jobs;
        root->jobs_cap = cap;
    }

    job = &root->jobs[root->njobs];
    job->node = node;
    job->status = status;
    job->result = result;
    job->error = error;
    job->started_ms = started;
    job->finished_ms = wh_exec_now(ex);
    job->logs = wh_val_missing();

    ex->scope->nodes[node->index] = result;

    return (ssize_t) root->njobs++;
}


static int
wh_exec_push(wh_exec_t *ex, const wh_list_t *list, const wh_node_t *loop)
{
    size_t       cap;
    wh_frame_t  *frames, *f;

    if (ex->nframes == ex->frames_cap) {
        cap = ex->frames_cap ? ex->frames_cap * 2 : 8;
        frames = wh_alloc(ex->mem, cap * sizeof(wh_frame_t));
        if (frames == NULL) {
            return -1;
        }

        if (ex->nframes) {
            memcpy(frames, ex->frames, ex->nframes * sizeof(wh_frame_t));
        }

        ex->frames = frames;
        ex->frames_cap = cap;
    }

    f = &ex->frames[ex->nframes++];
    memset(f, 0, sizeof(wh_frame_t));
    f->list = list;
    f->loop = loop;

    return 0;
}


wh_exec_t *
wh_exec_create(const wh_workflow_t *wf, wh_mem_t *mem, wh_val_t context,
    int64_t now_ms)
{
    size_t      i, n;
    wh_exec_t  *ex;

    ex = wh_alloc(mem, sizeof(wh_exec_t));
    if (ex == NULL) {
        return NULL;
    }

    memset(ex, 0, sizeof(wh_exec_t));
    ex->wf = wf;
    ex->mem = mem;
    ex->root = ex;
    ex->scope = &ex->own_scope;
    ex->status = WH_STATUS_STARTED;

    n = wf->nnodes ? wf->nnodes : 1;

    ex->own_scope.mem = mem;
    ex->own_scope.context = context;
    ex->own_scope.nnodes = wf->nnodes;
    ex->own_scope.now_ms = now_ms;
    ex->own_scope.nodes = wh_alloc(mem, n * sizeof(wh_val_t));
    ex->own_scope.scopes = wh_alloc(mem, n * sizeof(wh_val_t));

    if (ex->own_scope.nodes == NULL || ex->own_scope.scopes == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        ex->own_scope.nodes[i] = wh_val_missing();
        ex->own_scope.scopes[i] = wh_val_missing();
    }

    if (wh_exec_push(ex, &wf->nodes, NULL) != 0) {
        return NULL;
    }

    return ex;
}


wh_exec_t *
wh_exec_branch(wh_exec_t *parent, const wh_list_t *list)
{
    wh_exec_t  *ex;

    ex = wh_alloc(parent->mem, sizeof(wh_exec_t));
    if (ex == NULL) {
        return NULL;
    }

    memset(ex, 0, sizeof(wh_exec_t));
    ex->wf = parent->wf;
    ex->mem = parent->mem;
    ex->root = parent->root;
    ex->scope = parent->scope;
    ex->status = WH_STATUS_STARTED;

    if (wh_exec_push(ex, list, NULL) != 0) {
        return NULL;
    }

    return ex;
}


void
wh_exec_clock(wh_exec_t *ex, int64_t (*now)(void))
{
    ex->root->clock = now;
}


wh_scope_t *
wh_exec_scope(wh_exec_t *ex)
{
    return ex->scope;
}


/* $scopes.<loop> = {"item":…,"index":…,"length":…} for the iteration */

static int
wh_exec_loop_scope(wh_exec_t *ex, wh_frame_t *f)
{
    wh_val_t       item, v;
    wh_buf_t       b;
    wh_json_err_t  jerr;

    if (f->mode == WH_LOOP_ITEMS) {
        item.doc = f->target.doc;
        item.tok = f->item;

    } else if (f->mode == WH_LOOP_COUNT) {
        item = wh_val_missing();     /* the item is the index */

    } else {
        item = f->target;
    }

    wh_buf_init(&b, ex->mem, 48);
    wh_buf_adds(&b, "{\"item\":");

    if (item.doc != NULL) {
        wh_val_write_json(&b, item);

    } else {
        wh_buf_printf(&b, "%u", f->index);
    }

    wh_buf_printf(&b, ",\"index\":%u,\"length\":%u}", f->index, f->count);

    if (b.failed
        || wh_val_parse(ex->mem, b.data, b.len, 0, &v, &jerr) != 0)
    {
        return -1;
    }

    ex->scope->scopes[f->loop->index] = v;

    return 0;
}


/*
 * Node errors end the execution with status "error" and name the node.
 */

static wh_exec_rc_t
wh_exec_node_error(wh_exec_t *ex, const wh_node_t *node, const char *msg,
    int64_t started)
{
    const char  *job_err, *err;

    job_err = wh_memdup(ex->mem, msg, strlen(msg));
    err = wh_exec_node_msg(ex, node, msg);

    if (job_err == NULL || err == NULL
        || wh_exec_job_add(ex, node, WH_STATUS_ERROR, wh_val_missing(),
                           job_err, started)
           < 0)
    {
        return wh_exec_nomem(ex);
    }

    wh_exec_finish(ex, WH_STATUS_ERROR, err);

    return WH_EXEC_DONE;
}


static wh_exec_rc_t
wh_exec_loop(wh_exec_t *ex, const wh_node_t *node, int64_t started)
{
    double       d;
    ssize_t      job;
    wh_val_t     target;
    wh_frame_t  *f;
    uint32_t     count;
    int          mode;

    if (wh_tpl_eval(node->u.loop_target, ex->scope, &target) != 0) {
        return wh_exec_node_error(ex, node, WH_EXEC_TPL_ERR, started);
    }

    mode = WH_LOOP_ONE;

    switch (wh_val_type(target)) {

    case WH_JSON_MISSING:
    case WH_JSON_NULL:
        count = 0;
        break;

    case WH_JSON_ARRAY:
        count = wh_val_size(target);
        mode = WH_LOOP_ITEMS;
        break;

    case WH_JSON_NUMBER:
    case WH_JSON_STRING:
        if (wh_val_to_number(target, &d) == 0) {
            if (d < 0 || d != d) {
                return wh_exec_node_error(ex, node, "a loop count must not "
                                          "be negative", started);
            }

            d = floor(d);
            count = d > WH_EXEC_MAX_STEPS ? WH_EXEC_MAX_STEPS + 1
                                          : (uint32_t) d;
            mode = WH_LOOP_COUNT;
            break;
        }

        /* fall through */

    default:
        /* any other single value is iterated once, as NocoBase does */
        count = 1;
        break;
    }

    /* the job is open while the body runs: status started */
    job = wh_exec_job_add(ex, node, WH_STATUS_STARTED, target, NULL,
                          started);
    if (job < 0) {
        return wh_exec_nomem(ex);
    }

    if (count == 0) {
        ex->root->jobs[job].status = WH_STATUS_RESOLVED;
        return WH_EXEC_DONE;
    }

    if (wh_exec_push(ex, &node->body, node) != 0) {
        return wh_exec_nomem(ex);
    }

    f = &ex->frames[ex->nframes - 1];
    f->job = (size_t) job;
    f->target = target;
    f->mode = mode;
    f->count = count;
    f->index = 0;
    f->item = target.doc ? target.tok + 1 : 0;

    if (wh_exec_loop_scope(ex, f) != 0) {
        return wh_exec_nomem(ex);
    }

    return WH_EXEC_DONE;
}


/* The end of a loop body: the next iteration or the end of the loop. */

static int
wh_exec_loop_next(wh_exec_t *ex, wh_frame_t *f)
{
    wh_job_t  *job;

    if (f->index + 1 < f->count) {
        if (wh_exec_step(ex) != 0) {
            return 1;
        }

        f->index++;
        f->pos = 0;

        if (f->mode == WH_LOOP_ITEMS) {
            f->item = f->target.doc->toks[f->item].next;
        }

        if (wh_exec_loop_scope(ex, f) != 0) {
            wh_exec_nomem(ex);
            return -1;
        }

        return 1;
    }

    job = &ex->root->jobs[f->job];
    job->status = WH_STATUS_RESOLVED;
    job->finished_ms = wh_exec_now(ex);

    return 0;
}


static int
wh_exec_render_response(const wh_resp_tpl_t *rt, wh_scope_t *scope,
    wh_response_t *out, char *err, size_t errlen)
{
    size_t     i;
    double     d;
    char      *p;
    wh_val_t   v;
    wh_buf_t   b;

    memset(out, 0, sizeof(wh_response_t));

    if (wh_tpl_eval(rt->status, scope, &v) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (wh_val_to_number(v, &d) != 0 || d != floor(d) || d < 200
        || d > 599)
    {
        snprintf(err, errlen, "\"statusCode\" must be an integer from 200 "
                 "to 599");
        return -1;
    }

    out->status = (int) d;

    if (rt->nheaders) {
        out->headers = wh_alloc(scope->mem,
                                rt->nheaders * sizeof(wh_header_t));
        if (out->headers == NULL) {
            goto nomem;
        }
    }

    for (i = 0; i < rt->nheaders; i++) {
        wh_buf_init(&b, scope->mem, 64);
        if (wh_tpl_render_text(rt->headers[i].value, scope, &b) != 0) {
            goto nomem;
        }

        /* request data must not be able to split the header */
        for (p = b.data; p < b.data + b.len; p++) {
            if ((*(u_char *) p < 0x20 && *p != '\t') || *p == 0x7f) {
                *p = ' ';
            }
        }

        /* a type from request data must not be "text/html<script>…" */
        if (strcasecmp(rt->headers[i].name, "Content-Type") == 0
            && !wh_media_type_valid(b.data, b.len))
        {
            snprintf(err, errlen, "\"Content-Type\" is not a media type");
            return -1;
        }

        out->headers[i].name = rt->headers[i].name;
        out->headers[i].name_len = strlen(rt->headers[i].name);
        out->headers[i].value = b.data;
        out->headers[i].value_len = b.len;
        out->nheaders++;
    }

    if (rt->body != NULL) {
        wh_buf_init(&b, scope->mem, 0);
        if (wh_tpl_render_value(rt->body, scope, &b, &out->body_json) != 0) {
            goto nomem;
        }

        out->body = b.data;
        out->body_len = b.len;
    }

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");
    return -1;
}


void
wh_exec_public_error(const char *err, size_t len, wh_buf_t *b)
{
    u_char       c;
    const char  *p, *end, *kind;

    static const char  http[] = "request failed: HTTP status ";

    end = err + len;
    p = err;

    /* node "KEY": keys are [A-Za-z0-9_-] */
    if (len > 7 && memcmp(p, "node \"", 6) == 0) {
        for (p += 6; p < end && *p != '"'; p++) {
            c = (u_char) *p;

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            {
                break;
            }
        }

        if (end - p >= 3 && p[0] == '"' && p[1] == ':' && p[2] == ' ') {
            wh_buf_add(b, err, p + 3 - err);
            p += 3;

        } else {
            p = err;
        }
    }

    if (p == err) {
        wh_buf_add(b, err, len);
        return;
    }

    kind = p;

    if ((size_t) (end - p) > sizeof(http) - 1 + 2
        && memcmp(p, http, sizeof(http) - 1) == 0
        && p[sizeof(http) - 1] >= '1' && p[sizeof(http) - 1] <= '5')
    {
        wh_buf_add(b, p, sizeof(http) - 1 + 3);
        return;
    }

    for ( /* void */ ; p < end; p++) {
        c = (u_char) *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || c == ' ' || c == '"' || c == '\'' || c == '_' || c == '-')
        {
            continue;
        }

        /* a digit inside a word ("unbase64"), never one that starts it */
        if (c >= '0' && c <= '9' && p > kind
            && ((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z')
                || (p[-1] >= '0' && p[-1] <= '9')))
        {
            continue;
        }

        break;
    }

    while (p > kind && p[-1] == ' ') {
        p--;
    }

    if (p == kind) {
        wh_buf_adds(b, "failed");
        return;
    }

    wh_buf_add(b, kind, p - kind);
}


int
wh_response_render(const wh_resp_tpl_t *rt, wh_scope_t *scope,
    wh_response_t *out)
{
    char  err[96];

    return wh_exec_render_response(rt, scope, out, err, sizeof(err));
}


/* Runs one inline node (or a loop's start). */

static wh_exec_rc_t
wh_exec_node(wh_exec_t *ex, const wh_node_t *node)
{
    int             r, status;
    char            msg[256];
    int64_t         started;
    wh_val_t        v;
    wh_response_t  *resp;

    started = wh_exec_now(ex);
    msg[0] = '\0';

    switch (node->type) {

    case WH_NODE_CONDITION:
        if (wh_cond_eval(node->u.condition.calc, ex->scope, &r, msg,
                         sizeof(msg))
            != 0)
        {
            return wh_exec_node_error(ex, node, msg, started);
        }

        status = WH_STATUS_RESOLVED;

        if (!node->u.condition.has_branches && !r
            && node->u.condition.reject_on_false)
        {
            status = WH_STATUS_FAILED;
        }

        if (wh_exec_job_add(ex, node, status, wh_val_bool(r), NULL, started)
            < 0)
        {
            return wh_exec_nomem(ex);
        }

        if (status == WH_STATUS_FAILED) {
            wh_exec_finish(ex, WH_STATUS_FAILED, NULL);
            return WH_EXEC_DONE;
        }

        if (node->u.condition.has_branches
            && wh_exec_push(ex, r ? &node->when_true : &node->when_false,
                            NULL)
               != 0)
        {
            return wh_exec_nomem(ex);
        }

        return WH_EXEC_DONE;

    case WH_NODE_CALCULATION:
        if (node->u.calculation.math) {
            if (wh_math_eval(node->u.calculation.m, ex->scope, &v, msg,
                             sizeof(msg))
                != 0)
            {
                return wh_exec_node_error(ex, node, msg, started);
            }

        } else if (wh_tpl_eval(node->u.calculation.expr, ex->scope, &v) != 0)
        {
            return wh_exec_node_error(ex, node, WH_EXEC_TPL_ERR, started);
        }

        break;

    case WH_NODE_SET:
        if (wh_tpl_eval(node->u.set_values, ex->scope, &v) != 0) {
            return wh_exec_node_error(ex, node, WH_EXEC_TPL_ERR, started);
        }

        break;

    case WH_NODE_RESPONSE:
        resp = wh_alloc(ex->mem, sizeof(wh_response_t));
        if (resp == NULL) {
            return wh_exec_nomem(ex);
        }

        if (wh_exec_render_response(&node->u.response, ex->scope, resp, msg,
                                    sizeof(msg))
            != 0)
        {
            return wh_exec_node_error(ex, node, msg, started);
        }

        if (wh_exec_job_add(ex, node, WH_STATUS_RESOLVED, wh_val_null(),
                            NULL, started)
            < 0)
        {
            return wh_exec_nomem(ex);
        }

        /* the answer ends the whole execution, also from a branch */
        ex->root->response = resp;
        wh_exec_finish(ex, WH_STATUS_RESOLVED, NULL);
        if (ex->root != ex) {
            wh_exec_finish(ex->root, WH_STATUS_RESOLVED, NULL);
        }

        return WH_EXEC_DONE;

    case WH_NODE_END:
        status = node->u.end_status;

        if (wh_exec_job_add(ex, node, status, wh_val_null(), NULL, started)
            < 0)
        {
            return wh_exec_nomem(ex);
        }

        wh_exec_finish(ex, status, NULL);
        if (ex->root != ex) {
            wh_exec_finish(ex->root, status, NULL);
        }

        return WH_EXEC_DONE;

    case WH_NODE_OUTPUT:
        if (wh_tpl_eval(node->u.output_value, ex->scope, &v) != 0) {
            return wh_exec_node_error(ex, node, WH_EXEC_TPL_ERR, started);
        }

        ex->root->output = v;
        ex->root->has_output = 1;
        break;

    case WH_NODE_LOOP:
        return wh_exec_loop(ex, node, started);

    default:
        /* not reached: worker nodes are handed to the caller */
        return wh_exec_node_error(ex, node, "not an inline node", started);
    }

    if (wh_exec_job_add(ex, node, WH_STATUS_RESOLVED, v, NULL, started) < 0) {
        return wh_exec_nomem(ex);
    }

    return WH_EXEC_DONE;
}


wh_exec_rc_t
wh_exec_run(wh_exec_t *ex)
{
    int               r;
    wh_frame_t       *f;
    wh_exec_rc_t      rc;
    const wh_node_t  *node;

    for ( ;; ) {
        if (ex->done) {
            return WH_EXEC_DONE;
        }

        if (ex->pending != NULL) {
            return WH_EXEC_YIELD;
        }

        /* an "end" or "response" node in a branch ends the root as well */
        if (ex->root != ex && ex->root->done) {
            wh_exec_finish(ex, ex->root->status, ex->root->error);
            return WH_EXEC_DONE;
        }

        if (ex->nframes == 0) {
            wh_exec_finish(ex, WH_STATUS_RESOLVED, NULL);
            return WH_EXEC_DONE;
        }

        f = &ex->frames[ex->nframes - 1];

        if (f->pos == f->list->n) {
            if (f->loop != NULL) {
                r = wh_exec_loop_next(ex, f);

                if (r < 0) {
                    return WH_EXEC_NOMEM;
                }

                if (r > 0) {
                    continue;
                }
            }

            ex->nframes--;
            continue;
        }

        node = f->list->items[f->pos++];

        if (wh_exec_step(ex) != 0) {
            return WH_EXEC_DONE;
        }

        /* $execution.resumeUrl depends on the node that renders it */
        ex->scope->node = node->index;

        if (!wh_node_is_inline(node->type) && node->type != WH_NODE_LOOP) {
            ex->pending = node;
            ex->pending_started = wh_exec_now(ex);
            return WH_EXEC_YIELD;
        }

        rc = wh_exec_node(ex, node);

        if (rc != WH_EXEC_DONE) {
            return rc;
        }
    }
}


const wh_node_t *
wh_exec_pending(const wh_exec_t *ex)
{
    return ex->pending;
}


void
wh_exec_resume_logs(wh_exec_t *ex, wh_val_t logs)
{
    ex->pending_logs = logs;
}


void
wh_exec_resume(wh_exec_t *ex, int status, wh_val_t result,
    const char *error)
{
    ssize_t           i;
    wh_val_t          logs;
    const char       *job_err, *err;
    const wh_node_t  *node;

    node = ex->pending;
    if (node == NULL) {
        return;
    }

    ex->pending = NULL;
    logs = ex->pending_logs;
    ex->pending_logs = wh_val_missing();
    job_err = NULL;
    err = NULL;

    if (error != NULL) {
        job_err = wh_memdup(ex->mem, error, strlen(error));
        err = wh_exec_node_msg(ex, node, error);
    }

    i = wh_exec_job_add(ex, node, status, result, job_err,
                        ex->pending_started);
    if (i < 0) {
        wh_exec_nomem(ex);
        return;
    }

    ex->root->jobs[i].logs = logs;

    if (status < 0 && !ex->done
        && !json_is_true(json_object_get(node->config, "ignoreFail")))
    {
        wh_exec_finish(ex, status, err);
    }
}


void
wh_exec_abort(wh_exec_t *ex, int status, const char *error)
{
    if (!ex->done) {
        wh_exec_finish(ex, status,
                       error ? wh_memdup(ex->mem, error, strlen(error))
                             : NULL);
    }
}


int
wh_exec_status(const wh_exec_t *ex)
{
    return ex->status;
}


const char *
wh_exec_error(const wh_exec_t *ex)
{
    return ex->error;
}


const wh_response_t *
wh_exec_response(const wh_exec_t *ex)
{
    return ex->root->response;
}


int
wh_exec_output(const wh_exec_t *ex, wh_val_t *v)
{
    if (!ex->root->has_output) {
        return 0;
    }

    *v = ex->root->output;

    return 1;
}


size_t
wh_exec_njobs(const wh_exec_t *ex)
{
    return ex->root->njobs;
}


const wh_job_t *
wh_exec_job(const wh_exec_t *ex, size_t i)
{
    return i < ex->root->njobs ? &ex->root->jobs[i] : NULL;
}
