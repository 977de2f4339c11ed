/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webhookctl test FILE --data JSON|@FILE [--header NAME:VALUE]...
 *     [--query Q] [--method M] [--path P] [--mock NODE=JSON]...
 *
 * Runs a workflow file on a request built from the options, outside
 * nginx (SPEC §9), and prints one JSON object: the execution's status,
 * the HTTP response an endpoint in sync mode would answer, and each
 * node's job.  The context is built as the module builds it (the body
 * parsed by its Content-Type with the core's parsers, lower-cased
 * headers, the query as an object).
 *
 * Inline nodes run here with the core engine, as in nginx.  A worker node
 * named by --mock gives the mock's value as its result (resolved).  When
 * the run reaches a worker node without a mock, the whole run goes to
 * webhook-worker through Redis instead (--redis): the definition is
 * stored, the mocks are written as the execution's recorded jobs (which
 * the worker takes instead of running those nodes, as for a retry), and
 * the job carries a reply channel that this command listens on.
 *
 * Exit status: 0 resolved, 1 failed, 2 error (the execution's, or a usage,
 * file or connection error).
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <stdarg.h>
#include <unistd.h>

#include "wk.h"
#include "wk_test.h"
#include "wh_body.h"
#include "wh_time.h"


#define WK_TEST_MAX_MOCKS    64
#define WK_TEST_MAX_HEADERS  64
#define WK_TEST_TIMEOUT      60        /* s, a run through the worker */


typedef struct {
    const char          *node;
    size_t               node_len;
    const char          *json;
    wh_val_t             val;
} wk_mock_t;


typedef struct {
    const char          *file;
    const char          *data;
    size_t               data_len;
    const char          *method;
    const char          *path;
    const char          *query;
    const char          *headers[WK_TEST_MAX_HEADERS];
    size_t               nheaders;
    wk_mock_t            mocks[WK_TEST_MAX_MOCKS];
    size_t               nmocks;
} wk_test_opts_t;


static int
wk_test_fail(const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "webhookctl test: ");
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\n");

    return 2;
}


/* The whole of a file, NUL-terminated; NULL with errno. */

static char *
wk_test_slurp(const char *path, size_t *len)
{
    char    *buf, *p;
    size_t   cap, n;
    FILE    *f;

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    cap = 65536;
    *len = 0;
    buf = malloc(cap);

    while (buf != NULL) {
        n = fread(buf + *len, 1, cap - *len - 1, f);
        *len += n;

        if (n == 0) {
            break;
        }

        if (*len + 1 == cap) {
            cap *= 2;
            p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }

    if (f != stdin) {
        fclose(f);
    }

    if (buf != NULL) {
        buf[*len] = '\0';
    }

    return buf;
}


static const char *
wk_test_header(wk_test_opts_t *o, const char *name)
{
    size_t       i, n;
    const char  *h;

    n = strlen(name);

    for (i = 0; i < o->nheaders; i++) {
        h = o->headers[i];

        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            h += n + 1;
            while (*h == ' ' || *h == '\t') {
                h++;
            }
            return h;
        }
    }

    return NULL;
}


/* $context as nginx builds it; 0, or 2 with a message (a 4xx there). */

static int
wk_test_context(wk_test_opts_t *o, const wh_workflow_t *wf, const char *id,
    wh_buf_t *b)
{
    char           err[128], ts[WH_ISO_LEN], *p;
    size_t         i, j, blen, nlen;
    wh_buf_t       joined;
    const char    *ct, *bnd, *h, *v;
    wh_media_t     media;
    wh_json_err_t  jerr;

    wh_buf_adds(b, "{\"id\":\"");
    wh_buf_adds(b, id);
    wh_buf_adds(b, "\",\"workflow\":\"");
    wh_buf_adds(b, wf->key);
    wh_buf_adds(b, "\",\"method\":");
    wh_json_escape(b, o->method, strlen(o->method));
    wh_buf_adds(b, ",\"path\":");
    wh_json_escape(b, o->path, strlen(o->path));
    wh_buf_adds(b, ",\"data\":");

    ct = wk_test_header(o, "content-type");
    media = ct ? wh_media_type(ct, strlen(ct), &bnd, &blen)
               : WH_MEDIA_JSON;

    if (o->data_len == 0) {
        wh_buf_adds(b, "null");

    } else {
        switch (media) {

        case WH_MEDIA_NONE:
        case WH_MEDIA_JSON:
            if (wh_json_validate(o->data, o->data_len, &jerr) != 0) {
                wh_json_err_position(o->data, o->data_len, &jerr);
                return wk_test_fail("--data: invalid JSON: %s at line %d, "
                                    "column %d", jerr.msg, (int) jerr.line,
                                    (int) jerr.column);
            }
            wh_buf_add(b, o->data, o->data_len);
            break;

        case WH_MEDIA_FORM:
            if (wh_form_to_json(b, o->data, o->data_len, err, sizeof(err))
                != 0)
            {
                return wk_test_fail("--data: invalid form: %s", err);
            }
            break;

        case WH_MEDIA_MULTIPART:
            if (bnd == NULL
                || wh_multipart_to_json(b, bnd, blen, o->data, o->data_len,
                                        1000, err, sizeof(err))
                   != 0)
            {
                return wk_test_fail("--data: invalid multipart: %s",
                                    bnd ? err : "no boundary");
            }
            break;

        case WH_MEDIA_TEXT:
            wh_json_escape(b, o->data, o->data_len);
            break;

        default:
            return wk_test_fail("Content-Type \"%s\": nginx answers 415",
                                ct);
        }
    }

    /* lower-cased names, repeated ones joined with ", " */
    wh_buf_adds(b, ",\"headers\":{");

    for (i = 0; i < o->nheaders; i++) {
        h = o->headers[i];
        nlen = strchr(h, ':') - h;

        for (j = 0; j < i; j++) {
            if (strncasecmp(o->headers[j], h, nlen) == 0
                && o->headers[j][nlen] == ':')
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        p = strndup(h, nlen);
        if (p == NULL) {
            return wk_test_fail("out of memory");
        }

        for (j = 0; j < nlen; j++) {
            p[j] = (char) tolower((unsigned char) p[j]);
        }

        if (b->len && b->data[b->len - 1] != '{') {
            wh_buf_addc(b, ',');
        }

        wh_json_escape(b, p, nlen);
        free(p);
        wh_buf_addc(b, ':');

        /* the values of this name, joined, as one string */
        wh_buf_init(&joined, b->mem, 256);

        for (j = i; j < o->nheaders; j++) {
            if (strncasecmp(o->headers[j], h, nlen) != 0
                || o->headers[j][nlen] != ':')
            {
                continue;
            }

            v = o->headers[j] + nlen + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }

            if (joined.len) {
                wh_buf_adds(&joined, ", ");
            }

            wh_buf_adds(&joined, v);
        }

        wh_json_escape(b, joined.data ? joined.data : "", joined.len);
    }

    wh_buf_adds(b, "},\"query\":");

    if (wh_form_to_json(b, o->query, strlen(o->query), err, sizeof(err))
        != 0)
    {
        return wk_test_fail("--query: %s", err);
    }

    wh_iso_time(wk_now_ms(), ts);

    wh_buf_adds(b, ",\"params\":{},\"ip\":\"127.0.0.1\",\"receivedAt\":\"");
    wh_buf_adds(b, ts);
    wh_buf_adds(b, "\"}");

    return b->failed ? wk_test_fail("out of memory") : 0;
}


static wk_mock_t *
wk_test_mock(wk_test_opts_t *o, const char *key)
{
    size_t  i;

    for (i = 0; i < o->nmocks; i++) {
        if (strlen(key) == o->mocks[i].node_len
            && strncmp(key, o->mocks[i].node, o->mocks[i].node_len) == 0)
        {
            return &o->mocks[i];
        }
    }

    return NULL;
}


static const char *
wk_test_status_name(int status)
{
    switch (status) {
    case WH_STATUS_RESOLVED:
        return "resolved";
    case WH_STATUS_FAILED:
        return "failed";
    case WH_STATUS_STARTED:
        return "started";
    case WH_STATUS_ABORTED:
        return "aborted";
    default:
        return "error";
    }
}


static int
wk_test_exit(int status)
{
    return status == WH_STATUS_RESOLVED ? 0
           : status == WH_STATUS_FAILED ? 1 : 2;
}


/* The answer of a sync endpoint, as JSON. */

static void
wk_test_response(wh_buf_t *b, const wh_response_t *resp, const char *id,
    int status)
{
    size_t  i;

    wh_buf_adds(b, ",\"response\":");

    if (resp == NULL) {
        if (status == WH_STATUS_RESOLVED) {
            wh_buf_printf(b, "{\"statusCode\":200,\"headers\":[],\"body\":"
                          "{\"executionId\":\"%s\",\"status\":\"resolved\"}}",
                          id);
        } else {
            wh_buf_adds(b, "{\"statusCode\":500,\"headers\":[],\"body\":"
                           "{\"error\":{\"code\":\"workflow_failed\","
                           "\"message\":\"the workflow ended with status ");
            wh_buf_adds(b, wk_test_status_name(status));
            wh_buf_adds(b, "\"}}}");
        }
        return;
    }

    wh_buf_printf(b, "{\"statusCode\":%d,\"headers\":[", resp->status);

    for (i = 0; i < resp->nheaders; i++) {
        wh_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
        wh_json_escape(b, resp->headers[i].name, resp->headers[i].name_len);
        wh_buf_adds(b, ",\"value\":");
        wh_json_escape(b, resp->headers[i].value,
                       resp->headers[i].value_len);
        wh_buf_addc(b, '}');
    }

    wh_buf_adds(b, "],\"body\":");

    if (resp->body == NULL) {
        wh_buf_adds(b, "null");

    } else if (resp->body_json) {
        wh_buf_add(b, resp->body, resp->body_len);

    } else {
        wh_json_escape(b, resp->body, resp->body_len);
    }

    wh_buf_addc(b, '}');
}


/*
 * The run inside this process.  Returns the exit status, or -1 when a
 * worker node without a mock was reached (*node names it).
 */

static int
wk_test_local(wk_test_opts_t *o, const wh_workflow_t *wf, wh_mem_t *mem,
    const char *id, wh_buf_t *ctx, const wh_node_t **node)
{
    int               status;
    size_t            i;
    wh_buf_t          out;
    wh_val_t          context;
    wh_exec_t        *ex;
    wk_mock_t        *m;
    wh_exec_rc_t      rc;
    wh_json_err_t     jerr;
    const wh_job_t   *job;

    if (wh_val_parse(mem, ctx->data, ctx->len, 0, &context, &jerr) != 0) {
        return wk_test_fail("the context is not JSON: %s", jerr.msg);
    }

    ex = wh_exec_create(wf, mem, context, wk_now_ms());
    if (ex == NULL) {
        return wk_test_fail("out of memory");
    }

    for ( ;; ) {
        rc = wh_exec_run(ex);

        if (rc == WH_EXEC_NOMEM) {
            return wk_test_fail("out of memory");
        }

        if (rc == WH_EXEC_DONE) {
            break;
        }

        *node = wh_exec_pending(ex);
        m = wk_test_mock(o, (*node)->key);

        if (m == NULL) {
            return -1;
        }

        wh_exec_resume(ex, WH_STATUS_RESOLVED, m->val, NULL);
    }

    status = wh_exec_status(ex);

    wh_buf_init(&out, mem, 4096);
    wh_buf_printf(&out, "{\"executionId\":\"%s\",\"status\":\"%s\"", id,
                  wk_test_status_name(status));

    if (wh_exec_error(ex)) {
        wh_buf_adds(&out, ",\"error\":");
        wh_json_escape(&out, wh_exec_error(ex), strlen(wh_exec_error(ex)));
    }

    wk_test_response(&out, wh_exec_response(ex), id, status);

    wh_buf_adds(&out, ",\"nodes\":[");

    for (i = 0; i < wh_exec_njobs(ex); i++) {
        job = wh_exec_job(ex, i);

        wh_buf_adds(&out, i ? ",{\"nodeKey\":\"" : "{\"nodeKey\":\"");
        wh_buf_adds(&out, job->node->key);
        wh_buf_adds(&out, "\",\"type\":\"");
        wh_buf_adds(&out, wh_node_type_name(job->node->type));
        wh_buf_printf(&out, "\",\"status\":%d,\"mocked\":%s,\"result\":",
                      job->status,
                      wk_test_mock(o, job->node->key) ? "true" : "false");

        if (wh_val_type(job->result) == WH_JSON_MISSING) {
            wh_buf_adds(&out, "null");

        } else {
            wh_val_write_json(&out, job->result);
        }

        if (job->error) {
            wh_buf_adds(&out, ",\"error\":");
            wh_json_escape(&out, job->error, strlen(job->error));
        }

        wh_buf_addc(&out, '}');
    }

    wh_buf_adds(&out, "]}");

    if (out.failed) {
        return wk_test_fail("out of memory");
    }

    printf("%s\n", out.data);

    return wk_test_exit(status);
}


int
wk_test_main(int argc, char **argv, wk_test_remote_pt remote, void *data)
{
    int                 i, rc;
    char                id[40], err[1024], *text, *eq;
    size_t              len;
    wh_buf_t            ctx;
    wh_mem_t            mem;
    wh_arena_t         *arena;
    wh_json_err_t       jerr;
    wh_workflow_t      *wf;
    wk_test_opts_t      o;
    const wh_node_t    *node;

    memset(&o, 0, sizeof(o));
    o.method = "POST";
    o.path = "/";
    o.query = "";

    if (argc < 1) {
        return wk_test_fail("usage: webhookctl test FILE --data JSON|@FILE "
                            "[--header NAME:VALUE]... [--query Q] "
                            "[--method M] [--mock NODE=JSON]...");
    }

    o.file = argv[0];

    arena = wh_arena_create(65536);
    if (arena == NULL) {
        return wk_test_fail("out of memory");
    }

    wh_arena_mem(arena, &mem);

    for (i = 1; i < argc; i++) {
        if (i + 1 == argc) {
            return wk_test_fail("%s needs a value", argv[i]);
        }

        if (strcmp(argv[i], "--data") == 0) {
            i++;

            if (argv[i][0] == '@') {
                o.data = wk_test_slurp(argv[i] + 1, &o.data_len);
                if (o.data == NULL) {
                    return wk_test_fail("%s: %s", argv[i] + 1,
                                        strerror(errno));
                }

            } else {
                o.data = argv[i];
                o.data_len = strlen(argv[i]);
            }

        } else if (strcmp(argv[i], "--header") == 0) {
            i++;
            if (strchr(argv[i], ':') == NULL || argv[i][0] == ':'
                || o.nheaders == WK_TEST_MAX_HEADERS)
            {
                return wk_test_fail("--header \"%s\": NAME:VALUE", argv[i]);
            }
            o.headers[o.nheaders++] = argv[i];

        } else if (strcmp(argv[i], "--query") == 0) {
            o.query = argv[++i];
            if (o.query[0] == '?') {
                o.query++;
            }

        } else if (strcmp(argv[i], "--method") == 0) {
            o.method = argv[++i];

        } else if (strcmp(argv[i], "--path") == 0) {
            o.path = argv[++i];

        } else if (strcmp(argv[i], "--mock") == 0) {
            i++;
            eq = strchr(argv[i], '=');

            if (eq == NULL || eq == argv[i] || o.nmocks == WK_TEST_MAX_MOCKS) {
                return wk_test_fail("--mock \"%s\": NODE=JSON", argv[i]);
            }

            o.mocks[o.nmocks].node = argv[i];
            o.mocks[o.nmocks].node_len = eq - argv[i];
            o.mocks[o.nmocks].json = eq + 1;

            if (wh_val_parse(&mem, eq + 1, strlen(eq + 1), 1,
                             &o.mocks[o.nmocks].val, &jerr)
                != 0)
            {
                return wk_test_fail("--mock %.*s: invalid JSON: %s",
                                    (int) (eq - argv[i]), argv[i], jerr.msg);
            }

            o.nmocks++;

        } else {
            return wk_test_fail("unknown option \"%s\"", argv[i]);
        }
    }

    if (o.data == NULL) {
        o.data = "";
    }

    wf = wh_workflow_load_file(o.file, err, sizeof(err));
    if (wf == NULL) {
        return wk_test_fail("%s", err);
    }

    for (i = 0; (size_t) i < o.nmocks; i++) {
        text = strndup(o.mocks[i].node, o.mocks[i].node_len);
        node = NULL;

        for (len = 0; text && len < wf->nnodes; len++) {
            if (strcmp(wf->all[len]->key, text) == 0) {
                node = wf->all[len];
            }
        }

        if (node == NULL) {
            rc = wk_test_fail("--mock %s: no such node in %s", text, o.file);
            free(text);
            return rc;
        }

        free(text);
    }

    if (wk_uuid7(id) != 0) {
        return wk_test_fail("no random numbers: %s", strerror(errno));
    }

    wh_buf_init(&ctx, &mem, 4096 + 2 * o.data_len);

    rc = wk_test_context(&o, wf, id, &ctx);
    if (rc != 0) {
        return rc;
    }

    node = NULL;
    rc = wk_test_local(&o, wf, &mem, id, &ctx, &node);

    if (rc == -1) {
        if (remote == NULL) {
            return wk_test_fail("node \"%s\" (%s) runs in webhook-worker: "
                                "mock it (--mock %s=JSON)", node->key,
                                wh_node_type_name(node->type), node->key);
        }

        {
            const char  *names[WK_TEST_MAX_MOCKS], *values[WK_TEST_MAX_MOCKS];
            size_t       lens[WK_TEST_MAX_MOCKS], k;

            for (k = 0; k < o.nmocks; k++) {
                names[k] = o.mocks[k].node;
                lens[k] = o.mocks[k].node_len;
                values[k] = o.mocks[k].json;
            }

            rc = remote(data, wf, id, ctx.data, ctx.len, names, lens, values,
                        o.nmocks);
        }
    }

    wh_workflow_free(wf);
    wh_arena_destroy(arena);

    return rc;
}
