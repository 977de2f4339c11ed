/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Workflow files: parsed with jansson (duplicate object keys rejected, so
 * a file never means something other than it shows), validated and
 * compiled in two passes.  The first pass builds the node tree and
 * collects every node key in document order, depth first; the second
 * compiles the configurations with all keys known, so a template may
 * name any node of the file.
 *
 * Every message starts with the quoted file name, then a JSON position
 * or a node key: it is what "nginx -t" prints.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <openssl/evp.h>
#include "wh_body.h"
#include "wh_cond.h"


#define WH_KEY_RULE  "[A-Za-z0-9_-]{1,64}"
#define WH_METHODS   "GET POST PUT PATCH DELETE HEAD OPTIONS"

typedef struct {
    const char       *name;
    char             *err;
    size_t            errlen;
    wh_workflow_t    *wf;
    size_t            cap;
} wh_wf_ctx_t;


static const char  *wh_methods[] = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", NULL
};

static const char  *wh_node_type_names[] = {
    "condition", "calculation", "set", "response", "end", "output",
    "request", "script", "create", "update", "destroy", "query", "mail",
    "loop", "parallel", "delay", "subflow", "wait"
};

#define WH_NODE_NTYPES \
    (sizeof(wh_node_type_names) / sizeof(wh_node_type_names[0]))


const char *
wh_node_type_name(wh_node_type_t t)
{
    if ((size_t) t >= WH_NODE_NTYPES) {
        return "unknown";
    }

    return wh_node_type_names[t];
}


static int
wh_wf_fail(wh_wf_ctx_t *ctx, const wh_node_t *node, const char *fmt, ...)
{
    int      n;
    va_list  args;

    if (node != NULL) {
        n = snprintf(ctx->err, ctx->errlen, "\"%s\": node \"%s\": ",
                     ctx->name, node->key);

    } else {
        n = snprintf(ctx->err, ctx->errlen, "\"%s\": ", ctx->name);
    }

    if (n >= 0 && (size_t) n < ctx->errlen) {
        va_start(args, fmt);
        vsnprintf(ctx->err + n, ctx->errlen - n, fmt, args);
        va_end(args);
    }

    return -1;
}


static int
wh_wf_key_valid(const json_t *v)
{
    size_t       i, len;
    const char  *s;

    if (!json_is_string(v)) {
        return 0;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len == 0 || len > 64) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* RFC 9110 token */

static int
wh_wf_token_valid(const json_t *v)
{
    size_t       i, len;
    const char  *s;

    if (!json_is_string(v)) {
        return 0;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
            || (s[i] >= '0' && s[i] <= '9')
            || strchr("!#$%&'*+-.^_`|~", s[i]) != NULL)
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* An absent member and JSON null are the same: not given. */

static json_t *
wh_wf_get(const json_t *obj, const char *name)
{
    json_t  *v;

    v = json_object_get(obj, name);

    return json_is_null(v) ? NULL : v;
}


static int
wh_wf_bool(wh_wf_ctx_t *ctx, const wh_node_t *node, const json_t *obj,
    const char *name, int def, int *out)
{
    json_t  *v;

    v = wh_wf_get(obj, name);

    if (v == NULL) {
        *out = def;
        return 0;
    }

    if (!json_is_boolean(v)) {
        return wh_wf_fail(ctx, node, "\"%s\" must be true or false", name);
    }

    *out = json_is_true(v);

    return 0;
}


static int
wh_wf_string(wh_wf_ctx_t *ctx, const wh_node_t *node, const json_t *obj,
    const char *name, int required, const char **out)
{
    json_t  *v;

    v = wh_wf_get(obj, name);
    *out = NULL;

    if (v == NULL) {
        if (required) {
            return wh_wf_fail(ctx, node, "\"%s\" is required", name);
        }
        return 0;
    }

    if (!json_is_string(v)) {
        return wh_wf_fail(ctx, node, "\"%s\" must be a string", name);
    }

    *out = json_string_value(v);

    return 0;
}


static char *
wh_wf_strdup(wh_wf_ctx_t *ctx, const char *s)
{
    char  *p;

    p = strdup(s);
    if (p == NULL) {
        wh_wf_fail(ctx, NULL, "out of memory");
    }

    return p;
}


static wh_tpl_t *
wh_wf_tpl(wh_wf_ctx_t *ctx, const wh_node_t *node, const json_t *v,
    const char *what)
{
    char       msg[256];
    wh_tpl_t  *t;

    t = wh_tpl_compile(v, &ctx->wf->keys, msg, sizeof(msg));
    if (t == NULL) {
        wh_wf_fail(ctx, node, "%s%s%s", what ? what : "",
                   what ? ": " : "", msg);
    }

    return t;
}


/* pass one: the node tree */

static int wh_wf_list(wh_wf_ctx_t *ctx, const json_t *arr, wh_list_t *list,
    const wh_node_t *parent, const char *where);


static int
wh_wf_branch(wh_wf_ctx_t *ctx, wh_node_t *node, const json_t *arr,
    wh_list_t *list, const char *name)
{
    char  where[96];

    if (!json_is_array(arr)) {
        return wh_wf_fail(ctx, node, "branch \"%s\" must be an array of "
                          "nodes", name);
    }

    snprintf(where, sizeof(where), "branch \"%s\"", name);

    return wh_wf_list(ctx, arr, list, node, where);
}


static int
wh_wf_branches(wh_wf_ctx_t *ctx, wh_node_t *node, const json_t *obj)
{
    size_t       i, n;
    json_t      *branches, *v, *list;
    const char  *name;
    char         where[96];

    branches = wh_wf_get(obj, "branches");

    if (branches == NULL) {
        return 0;
    }

    if (node->type != WH_NODE_CONDITION && node->type != WH_NODE_LOOP
        && node->type != WH_NODE_PARALLEL)
    {
        return wh_wf_fail(ctx, node, "a \"%s\" node has no \"branches\"",
                          wh_node_type_name(node->type));
    }

    if (!json_is_object(branches)) {
        return wh_wf_fail(ctx, node, "\"branches\" must be an object");
    }

    if (node->type == WH_NODE_CONDITION) {
        node->u.condition.has_branches = 1;
    }

    json_object_foreach(branches, name, v) {

        if (node->type == WH_NODE_CONDITION && strcmp(name, "true") == 0) {
            if (wh_wf_branch(ctx, node, v, &node->when_true, name) != 0) {
                return -1;
            }
            continue;
        }

        if (node->type == WH_NODE_CONDITION && strcmp(name, "false") == 0) {
            if (wh_wf_branch(ctx, node, v, &node->when_false, name) != 0) {
                return -1;
            }
            continue;
        }

        if (node->type == WH_NODE_LOOP && strcmp(name, "body") == 0) {
            if (wh_wf_branch(ctx, node, v, &node->body, name) != 0) {
                return -1;
            }
            continue;
        }

        if (node->type == WH_NODE_PARALLEL && strcmp(name, "list") == 0) {
            if (!json_is_array(v)) {
                return wh_wf_fail(ctx, node, "branch \"list\" must be an "
                                  "array of node lists");
            }

            n = json_array_size(v);
            if (n == 0) {
                continue;
            }

            node->lists = calloc(n, sizeof(wh_list_t));
            if (node->lists == NULL) {
                return wh_wf_fail(ctx, NULL, "out of memory");
            }

            for (i = 0; i < n; i++) {
                list = json_array_get(v, i);
                if (!json_is_array(list)) {
                    return wh_wf_fail(ctx, node, "branch \"list\" item %zu "
                                      "must be an array of nodes", i + 1);
                }

                node->nlists++;
                snprintf(where, sizeof(where), "branch \"list\" item %zu",
                         i + 1);

                if (wh_wf_list(ctx, list, &node->lists[i], node, where) != 0)
                {
                    return -1;
                }
            }
            continue;
        }

        return wh_wf_fail(ctx, node, "unknown branch \"%.64s\" (expected "
                          "%s)", name, node->type == WH_NODE_CONDITION
                          ? "\"true\" or \"false\""
                          : node->type == WH_NODE_LOOP ? "\"body\""
                                                       : "\"list\"");
    }

    return 0;
}


static int
wh_wf_add(wh_wf_ctx_t *ctx, wh_node_t *node)
{
    size_t          cap;
    wh_node_t     **all;
    wh_workflow_t  *wf;

    wf = ctx->wf;

    if (wf->nnodes == ctx->cap) {
        cap = ctx->cap ? ctx->cap * 2 : 16;
        all = realloc(wf->all, cap * sizeof(wh_node_t *));
        if (all == NULL) {
            return -1;
        }
        wf->all = all;
        ctx->cap = cap;
    }

    node->index = (int) wf->nnodes;
    wf->all[wf->nnodes++] = node;

    return 0;
}


static int
wh_wf_node(wh_wf_ctx_t *ctx, json_t *obj, wh_node_t **out,
    const wh_node_t *parent, const char *where, size_t n)
{
    size_t       t;
    json_t      *key, *type, *title, *config;
    wh_node_t   *node;
    const char  *s;

    if (!json_is_object(obj)) {
        return wh_wf_fail(ctx, parent, "%s item %zu must be an object",
                          where, n);
    }

    key = json_object_get(obj, "key");

    if (key == NULL) {
        return wh_wf_fail(ctx, parent, "%s item %zu: \"key\" is required",
                          where, n);
    }

    if (!wh_wf_key_valid(key)) {
        return wh_wf_fail(ctx, parent, "%s item %zu: \"key\" must match "
                          WH_KEY_RULE, where, n);
    }

    node = calloc(1, sizeof(wh_node_t));
    if (node == NULL) {
        return wh_wf_fail(ctx, NULL, "out of memory");
    }

    node->key = strdup(json_string_value(key));

    if (node->key == NULL || wh_wf_add(ctx, node) != 0) {
        free(node->key);
        free(node);
        return wh_wf_fail(ctx, NULL, "out of memory");
    }

    *out = node;

    type = json_object_get(obj, "type");

    if (type == NULL) {
        return wh_wf_fail(ctx, node, "\"type\" is required");
    }

    if (!json_is_string(type)) {
        return wh_wf_fail(ctx, node, "\"type\" must be a string");
    }

    s = json_string_value(type);

    for (t = 0; t < WH_NODE_NTYPES; t++) {
        if (strcmp(s, wh_node_type_names[t]) == 0) {
            break;
        }
    }

    if (t == WH_NODE_NTYPES) {
        return wh_wf_fail(ctx, node, "unknown type \"%.64s\"", s);
    }

    node->type = (wh_node_type_t) t;

    title = wh_wf_get(obj, "title");
    if (title != NULL) {
        if (!json_is_string(title)) {
            return wh_wf_fail(ctx, node, "\"title\" must be a string");
        }

        node->title = wh_wf_strdup(ctx, json_string_value(title));
        if (node->title == NULL) {
            return -1;
        }
    }

    config = wh_wf_get(obj, "config");
    if (config == NULL) {
        /* the revision is taken already: the tree may gain a default */
        config = json_object();
        if (config == NULL || json_object_set_new(obj, "config", config) != 0)
        {
            return wh_wf_fail(ctx, NULL, "out of memory");
        }

    } else if (!json_is_object(config)) {
        return wh_wf_fail(ctx, node, "\"config\" must be an object");
    }

    node->config = config;

    return wh_wf_branches(ctx, node, obj);
}


static int
wh_wf_list(wh_wf_ctx_t *ctx, const json_t *arr, wh_list_t *list,
    const wh_node_t *parent, const char *where)
{
    size_t  i, n;

    n = json_array_size(arr);
    if (n == 0) {
        return 0;
    }

    list->items = calloc(n, sizeof(wh_node_t *));
    if (list->items == NULL) {
        return wh_wf_fail(ctx, NULL, "out of memory");
    }

    for (i = 0; i < n; i++) {
        /* nodes are owned by wf->all, even when this fails half-way */
        if (wh_wf_node(ctx, json_array_get(arr, i), &list->items[i], parent,
                       where, i + 1)
            != 0)
        {
            return -1;
        }

        list->n = i + 1;
    }

    return 0;
}


static int
wh_wf_key_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static int
wh_wf_keys(wh_wf_ctx_t *ctx)
{
    size_t          i;
    const char    **sorted;
    wh_workflow_t  *wf;

    wf = ctx->wf;

    wf->keys.keys = malloc((wf->nnodes + 1) * sizeof(char *));
    sorted = malloc((wf->nnodes + 1) * sizeof(char *));

    if (wf->keys.keys == NULL || sorted == NULL) {
        free(sorted);
        return wh_wf_fail(ctx, NULL, "out of memory");
    }

    for (i = 0; i < wf->nnodes; i++) {
        wf->keys.keys[i] = wf->all[i]->key;
        sorted[i] = wf->all[i]->key;
    }

    wf->keys.n = wf->nnodes;

    qsort(sorted, wf->nnodes, sizeof(char *), wh_wf_key_cmp);

    for (i = 1; i < wf->nnodes; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            wh_wf_fail(ctx, NULL, "duplicate node key \"%s\"", sorted[i]);
            free(sorted);
            return -1;
        }
    }

    free(sorted);

    return 0;
}


/* pass two: configurations */

static int
wh_wf_status(wh_wf_ctx_t *ctx, const wh_node_t *node, const char *prefix,
    const json_t *v, int def, wh_tpl_t **out)
{
    int          ok;
    char        *end;
    json_t      *num;
    double       d;
    json_int_t   n;
    wh_tpl_t    *t;

    if (v == NULL) {
        num = json_integer(def);
        if (num == NULL) {
            return wh_wf_fail(ctx, NULL, "out of memory");
        }

        *out = wh_wf_tpl(ctx, node, num, prefix);
        json_decref(num);

        return *out ? 0 : -1;
    }

    if (json_is_integer(v)) {
        n = json_integer_value(v);
        ok = (n >= 200 && n <= 599);

    } else if (json_is_string(v)) {
        t = wh_wf_tpl(ctx, node, v, prefix);
        if (t == NULL) {
            return -1;
        }

        *out = t;

        if (!wh_tpl_is_constant(t)) {
            return 0;
        }

        /* a constant string must be a status code as well */
        d = strtod(json_string_value(v), &end);
        ok = (end != json_string_value(v) && *end == '\0'
              && d >= 200 && d <= 599 && d == (int) d);

    } else {
        ok = 0;
    }

    if (!ok) {
        return wh_wf_fail(ctx, node, "%s%s\"statusCode\" must be an integer "
                          "from 200 to 599", prefix ? prefix : "",
                          prefix ? ": " : "");
    }

    if (*out == NULL) {
        *out = wh_wf_tpl(ctx, node, v, prefix);
    }

    return *out ? 0 : -1;
}


static int
wh_wf_response(wh_wf_ctx_t *ctx, const wh_node_t *node, const json_t *obj,
    wh_resp_tpl_t *rt, int def_status, const char *prefix)
{
    size_t       i, n;
    json_t      *headers, *h, *name, *value, *body;
    const char  *p, *sep;

    p = prefix ? prefix : "";
    sep = prefix ? ": " : "";

    if (wh_wf_status(ctx, node, prefix, wh_wf_get(obj, "statusCode"),
                     def_status, &rt->status)
        != 0)
    {
        return -1;
    }

    headers = wh_wf_get(obj, "headers");

    if (headers != NULL && !json_is_array(headers)) {
        return wh_wf_fail(ctx, node, "%s%s\"headers\" must be an array of "
                          "{\"name\", \"value\"} objects", p, sep);
    }

    n = json_array_size(headers);

    if (n) {
        rt->headers = calloc(n, sizeof(wh_header_tpl_t));
        if (rt->headers == NULL) {
            return wh_wf_fail(ctx, NULL, "out of memory");
        }
    }

    for (i = 0; i < n; i++) {
        h = json_array_get(headers, i);

        if (!json_is_object(h)) {
            return wh_wf_fail(ctx, node, "%s%s\"headers\" item %zu must be "
                              "an object with \"name\" and \"value\"",
                              p, sep, i + 1);
        }

        name = json_object_get(h, "name");
        value = json_object_get(h, "value");

        if (!wh_wf_token_valid(name)) {
            return wh_wf_fail(ctx, node, "%s%s\"headers\" item %zu: "
                              "\"name\" must be an HTTP header name (a "
                              "token)", p, sep, i + 1);
        }

        if (value == NULL) {
            return wh_wf_fail(ctx, node, "%s%s\"headers\" item %zu: "
                              "\"value\" is required", p, sep, i + 1);
        }

        /* a constant type is checked now; a templated one when rendered */
        if (strcasecmp(json_string_value(name), "Content-Type") == 0
            && json_is_string(value)
            && strstr(json_string_value(value), "{{") == NULL
            && !wh_media_type_valid(json_string_value(value),
                                    json_string_length(value)))
        {
            return wh_wf_fail(ctx, node, "%s%s\"headers\" item %zu: "
                              "\"Content-Type\" is not a media type", p,
                              sep, i + 1);
        }

        rt->headers[i].name = wh_wf_strdup(ctx, json_string_value(name));
        if (rt->headers[i].name == NULL) {
            return -1;
        }

        rt->nheaders++;

        rt->headers[i].value = wh_wf_tpl(ctx, node, value, prefix);
        if (rt->headers[i].value == NULL) {
            return -1;
        }
    }

    body = wh_wf_get(obj, "body");

    if (body != NULL) {
        rt->body = wh_wf_tpl(ctx, node, body, prefix);
        if (rt->body == NULL) {
            return -1;
        }
    }

    return 0;
}


static int
wh_wf_calculation(wh_wf_ctx_t *ctx, wh_node_t *node)
{
    char         msg[256];
    json_t      *expr;
    const char  *engine;

    if (wh_wf_string(ctx, node, node->config, "engine", 0, &engine) != 0) {
        return -1;
    }

    if (engine != NULL && strcmp(engine, "math") != 0
        && strcmp(engine, "string") != 0)
    {
        return wh_wf_fail(ctx, node, "\"engine\" must be \"math\" or "
                          "\"string\"");
    }

    node->u.calculation.math = (engine == NULL
                                || strcmp(engine, "math") == 0);

    expr = wh_wf_get(node->config, "expression");

    if (expr == NULL) {
        return wh_wf_fail(ctx, node, "\"expression\" is required");
    }

    if (!json_is_string(expr)) {
        return wh_wf_fail(ctx, node, "\"expression\" must be a string");
    }

    if (!node->u.calculation.math) {
        node->u.calculation.expr = wh_wf_tpl(ctx, node, expr, NULL);
        return node->u.calculation.expr ? 0 : -1;
    }

    node->u.calculation.m = wh_math_compile(json_string_value(expr),
                                            json_string_length(expr),
                                            &ctx->wf->keys, msg,
                                            sizeof(msg));
    if (node->u.calculation.m == NULL) {
        return wh_wf_fail(ctx, node, "math: %s", msg);
    }

    return 0;
}


static int
wh_wf_compile_node(wh_wf_ctx_t *ctx, wh_node_t *node)
{
    char          msg[256];
    json_t       *config, *v;
    json_int_t    n;
    const char   *s;

    config = node->config;
    s = NULL;

    node->config_tpl = wh_wf_tpl(ctx, node, config, NULL);
    if (node->config_tpl == NULL) {
        return -1;
    }

    switch (node->type) {

    case WH_NODE_CONDITION:
        v = wh_wf_get(config, "calculation");
        if (v == NULL) {
            return wh_wf_fail(ctx, node, "\"calculation\" is required");
        }

        node->u.condition.calc = wh_cond_compile(v, &ctx->wf->keys, msg,
                                                 sizeof(msg));
        if (node->u.condition.calc == NULL) {
            return wh_wf_fail(ctx, node, "%s", msg);
        }

        return wh_wf_bool(ctx, node, config, "rejectOnFalse", 1,
                          &node->u.condition.reject_on_false);

    case WH_NODE_CALCULATION:
        return wh_wf_calculation(ctx, node);

    case WH_NODE_SET:
        v = wh_wf_get(config, "values");
        if (v == NULL) {
            return wh_wf_fail(ctx, node, "\"values\" is required");
        }

        if (!json_is_object(v)) {
            return wh_wf_fail(ctx, node, "\"values\" must be an object");
        }

        node->u.set_values = wh_wf_tpl(ctx, node, v, NULL);
        return node->u.set_values ? 0 : -1;

    case WH_NODE_RESPONSE:
        ctx->wf->has_response_node = 1;
        return wh_wf_response(ctx, node, config, &node->u.response, 200,
                              NULL);

    case WH_NODE_END:
        v = wh_wf_get(config, "endStatus");
        n = json_is_integer(v) ? json_integer_value(v) : 0;

        if (v == NULL) {
            n = 1;

        } else if (n != 1 && n != -1) {
            return wh_wf_fail(ctx, node, "\"endStatus\" must be 1 or -1");
        }

        node->u.end_status = (int) n;
        return 0;

    case WH_NODE_OUTPUT:
        v = wh_wf_get(config, "value");
        if (v == NULL) {
            v = json_null();
        }

        node->u.output_value = wh_wf_tpl(ctx, node, v, NULL);
        return node->u.output_value ? 0 : -1;

    case WH_NODE_REQUEST:
        if (wh_wf_string(ctx, node, config, "url", 1, &s) != 0
            || wh_wf_string(ctx, node, config, "method", 0, &s) != 0)
        {
            return -1;
        }

        for (n = 0; s != NULL && wh_methods[n] != NULL; n++) {
            if (strcmp(s, wh_methods[n]) == 0) {
                break;
            }
        }

        if (s != NULL && wh_methods[n] == NULL) {
            return wh_wf_fail(ctx, node, "\"method\" must be one of "
                              WH_METHODS);
        }

        break;

    case WH_NODE_SCRIPT:
        if (wh_wf_string(ctx, node, config, "content", 1, &s) != 0) {
            return -1;
        }
        break;

    case WH_NODE_CREATE:
    case WH_NODE_UPDATE:
    case WH_NODE_DESTROY:
    case WH_NODE_QUERY:
        if (wh_wf_string(ctx, node, config, "collection", 1, &s) != 0) {
            return -1;
        }
        break;

    case WH_NODE_MAIL:
        if (wh_wf_get(config, "to") == NULL) {
            return wh_wf_fail(ctx, node, "\"to\" is required");
        }
        break;

    case WH_NODE_LOOP:
        v = wh_wf_get(config, "target");
        if (v == NULL) {
            return wh_wf_fail(ctx, node, "\"target\" is required");
        }

        node->u.loop_target = wh_wf_tpl(ctx, node, v, NULL);
        if (node->u.loop_target == NULL) {
            return -1;
        }
        break;

    case WH_NODE_PARALLEL:
        if (wh_wf_string(ctx, node, config, "mode", 0, &s) != 0) {
            return -1;
        }

        if (s != NULL && strcmp(s, "all") != 0 && strcmp(s, "any") != 0
            && strcmp(s, "race") != 0)
        {
            return wh_wf_fail(ctx, node, "\"mode\" must be \"all\", "
                              "\"any\" or \"race\"");
        }
        break;

    case WH_NODE_DELAY:
        if (wh_wf_get(config, "duration") == NULL) {
            return wh_wf_fail(ctx, node, "\"duration\" is required");
        }
        break;

    case WH_NODE_SUBFLOW:
        v = wh_wf_get(config, "workflow");
        if (v == NULL) {
            return wh_wf_fail(ctx, node, "\"workflow\" is required");
        }

        if (!wh_wf_key_valid(v)) {
            return wh_wf_fail(ctx, node, "\"workflow\" must be a workflow "
                              "key, " WH_KEY_RULE);
        }

        /* the cycle that one file shows; others are bounded at run time */
        if (strcmp(json_string_value(v), ctx->wf->key) == 0) {
            return wh_wf_fail(ctx, node, "\"workflow\" is this workflow "
                              "itself: a subflow cycle");
        }

        node->u.subflow.workflow = wh_wf_strdup(ctx, json_string_value(v));
        if (node->u.subflow.workflow == NULL) {
            return -1;
        }

        if (wh_wf_bool(ctx, node, config, "wait", 1, &node->u.subflow.wait)
            != 0)
        {
            return -1;
        }
        break;

    case WH_NODE_WAIT:
        ctx->wf->has_wait = 1;
        break;
    }

    /*
     * A loop runs in wh_exec like the inline nodes, but its length comes
     * from the request: it is left to the worker as SPEC §4 says.
     */
    ctx->wf->needs_worker = 1;

    return 0;
}


static int
wh_wf_top(wh_wf_ctx_t *ctx, json_t *root)
{
    int             enabled;
    char            msg[256];
    json_t         *v, *options, *timeout, *body, *order;
    wh_workflow_t  *wf;

    wf = ctx->wf;
    enabled = 1;
    order = NULL;

    if (!json_is_object(root)) {
        return wh_wf_fail(ctx, NULL, "a workflow must be a JSON object");
    }

    v = json_object_get(root, "key");

    if (v == NULL) {
        return wh_wf_fail(ctx, NULL, "\"key\" is required");
    }

    if (!wh_wf_key_valid(v)) {
        return wh_wf_fail(ctx, NULL, "\"key\" must match " WH_KEY_RULE);
    }

    wf->key = wh_wf_strdup(ctx, json_string_value(v));
    if (wf->key == NULL) {
        return -1;
    }

    v = wh_wf_get(root, "title");
    if (v != NULL) {
        if (!json_is_string(v)) {
            return wh_wf_fail(ctx, NULL, "\"title\" must be a string");
        }

        wf->title = wh_wf_strdup(ctx, json_string_value(v));
        if (wf->title == NULL) {
            return -1;
        }
    }

    if (wh_wf_bool(ctx, NULL, root, "enabled", 1, &enabled) != 0) {
        return -1;
    }

    wf->enabled = enabled;

    options = wh_wf_get(root, "options");
    if (options != NULL) {
        if (!json_is_object(options)) {
            return wh_wf_fail(ctx, NULL, "\"options\" must be an object");
        }

        timeout = wh_wf_get(options, "timeout");
        if (timeout != NULL) {
            if (!json_is_integer(timeout) || json_integer_value(timeout) < 0)
            {
                return wh_wf_fail(ctx, NULL, "\"options.timeout\" must be a "
                                  "non-negative integer (milliseconds)");
            }

            wf->timeout_ms = json_integer_value(timeout);
        }

        v = wh_wf_get(options, "concurrency");
        if (v != NULL) {
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > 1000000)
            {
                return wh_wf_fail(ctx, NULL, "\"options.concurrency\" must "
                                  "be an integer from 1 to 1000000");
            }

            wf->concurrency = (int) json_integer_value(v);
        }

        order = wh_wf_get(options, "orderKey");
        if (order != NULL && !json_is_string(order)) {
            return wh_wf_fail(ctx, NULL, "\"options.orderKey\" must be a "
                              "string (a template)");
        }
    }

    v = json_object_get(root, "nodes");

    if (v == NULL) {
        return wh_wf_fail(ctx, NULL, "\"nodes\" is required");
    }

    if (!json_is_array(v)) {
        return wh_wf_fail(ctx, NULL, "\"nodes\" must be an array");
    }

    if (wh_wf_list(ctx, v, &wf->nodes, NULL, "\"nodes\"") != 0
        || wh_wf_keys(ctx) != 0)
    {
        return -1;
    }

    /* $nodes cannot be known before the start: $context only, in effect */
    if (order != NULL) {
        wf->order_key = wh_tpl_compile(order, &wf->keys, msg, sizeof(msg));
        if (wf->order_key == NULL) {
            return wh_wf_fail(ctx, NULL, "\"options.orderKey\": %s", msg);
        }
    }

    v = wh_wf_get(root, "response");

    if (v != NULL && !json_is_object(v)) {
        return wh_wf_fail(ctx, NULL, "\"response\" must be an object");
    }

    wf->has_response = (v != NULL);

    if (wh_wf_response(ctx, NULL, v, &wf->response, 202, "\"response\"")
        != 0)
    {
        return -1;
    }

    /* "body": null means no body */
    if (json_object_get(v, "body") == NULL) {
        body = json_pack("{s:s,s:s}", "executionId", "{{ $context.id }}",
                         "status", "queued");
        if (body == NULL) {
            return wh_wf_fail(ctx, NULL, "out of memory");
        }

        wf->response.body = wh_tpl_compile(body, &wf->keys, msg,
                                           sizeof(msg));
        json_decref(body);

        if (wf->response.body == NULL) {
            return wh_wf_fail(ctx, NULL, "\"response\": %s", msg);
        }
    }

    return 0;
}


static int
wh_wf_revision(wh_wf_ctx_t *ctx, json_t *root)
{
    size_t          i;
    unsigned int    mdlen;
    unsigned char   md[EVP_MAX_MD_SIZE];
    wh_workflow_t  *wf;

    wf = ctx->wf;

    wf->canonical = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS
                                     | JSON_ENCODE_ANY);
    if (wf->canonical == NULL) {
        return wh_wf_fail(ctx, NULL, "out of memory");
    }

    wf->canonical_len = strlen(wf->canonical);

    /* what Redis stores keeps the file's key order: objects a worker
     * renders come out as nginx renders them */
    wf->definition = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
    if (wf->definition == NULL) {
        return wh_wf_fail(ctx, NULL, "out of memory");
    }

    wf->definition_len = strlen(wf->definition);

    if (EVP_Digest(wf->canonical, wf->canonical_len, md, &mdlen,
                   EVP_sha256(), NULL)
        != 1)
    {
        return wh_wf_fail(ctx, NULL, "SHA-256 failed");
    }

    for (i = 0; i < mdlen && i < 32; i++) {
        snprintf(&wf->revision[2 * i], 3, "%02x", md[i]);
    }

    return 0;
}


wh_workflow_t *
wh_workflow_load(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
    size_t          i;
    json_t         *root;
    wh_wf_ctx_t     ctx;
    json_error_t    jerr;
    wh_workflow_t  *wf;

    memset(&ctx, 0, sizeof(wh_wf_ctx_t));
    ctx.name = name ? name : "workflow";
    ctx.err = err;
    ctx.errlen = errlen;

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        if (jerr.line > 0) {
            wh_wf_fail(&ctx, NULL, "line %d, column %d: %s", jerr.line,
                       jerr.column, jerr.text);

        } else {
            wh_wf_fail(&ctx, NULL, "%s", jerr.text);
        }

        return NULL;
    }

    wf = calloc(1, sizeof(wh_workflow_t));
    if (wf == NULL) {
        json_decref(root);
        wh_wf_fail(&ctx, NULL, "out of memory");
        return NULL;
    }

    wf->root = root;
    ctx.wf = wf;

    wf->name = wh_wf_strdup(&ctx, ctx.name);
    if (wf->name == NULL) {
        goto failed;
    }

    /* the revision is of the file as written, before defaults are added */
    if (wh_wf_revision(&ctx, root) != 0 || wh_wf_top(&ctx, root) != 0) {
        goto failed;
    }

    for (i = 0; i < wf->nnodes; i++) {
        if (wh_wf_compile_node(&ctx, wf->all[i]) != 0) {
            goto failed;
        }
    }

    return wf;

failed:

    wh_workflow_free(wf);
    return NULL;
}


wh_workflow_t *
wh_workflow_load_file(const char *path, char *err, size_t errlen)
{
    FILE           *f;
    char           *text, *p;
    size_t          len, cap, n;
    wh_workflow_t  *wf;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "\"%s\": cannot open: %s", path,
                 strerror(errno));
        return NULL;
    }

    text = NULL;
    len = 0;
    cap = 0;

    for ( ;; ) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16384;
            p = realloc(text, cap);
            if (p == NULL) {
                free(text);
                fclose(f);
                snprintf(err, errlen, "\"%s\": out of memory", path);
                return NULL;
            }
            text = p;
        }

        n = fread(text + len, 1, cap - len, f);
        len += n;

        if (n == 0) {
            break;
        }
    }

    if (ferror(f)) {
        snprintf(err, errlen, "\"%s\": cannot read: %s", path,
                 strerror(errno));
        free(text);
        fclose(f);
        return NULL;
    }

    fclose(f);

    wf = wh_workflow_load(text, len, path, err, errlen);
    free(text);

    return wf;
}


static void
wh_wf_free_resp(wh_resp_tpl_t *rt)
{
    size_t  i;

    wh_tpl_free(rt->status);

    for (i = 0; i < rt->nheaders; i++) {
        free(rt->headers[i].name);
        wh_tpl_free(rt->headers[i].value);
    }

    free(rt->headers);
    wh_tpl_free(rt->body);
}


void
wh_workflow_free(wh_workflow_t *wf)
{
    size_t      i, j;
    wh_node_t  *node;

    if (wf == NULL) {
        return;
    }

    for (i = 0; i < wf->nnodes; i++) {
        node = wf->all[i];

        switch (node->type) {

        case WH_NODE_CONDITION:
            wh_cond_free(node->u.condition.calc);
            break;

        case WH_NODE_CALCULATION:
            wh_tpl_free(node->u.calculation.expr);
            if (node->u.calculation.m != NULL) {
                wh_math_free(node->u.calculation.m);
            }
            break;

        case WH_NODE_SET:
            wh_tpl_free(node->u.set_values);
            break;

        case WH_NODE_RESPONSE:
            wh_wf_free_resp(&node->u.response);
            break;

        case WH_NODE_LOOP:
            wh_tpl_free(node->u.loop_target);
            break;

        case WH_NODE_OUTPUT:
            wh_tpl_free(node->u.output_value);
            break;

        case WH_NODE_SUBFLOW:
            free(node->u.subflow.workflow);
            break;

        default:
            break;
        }

        wh_tpl_free(node->config_tpl);
        free(node->when_true.items);
        free(node->when_false.items);
        free(node->body.items);

        for (j = 0; j < node->nlists; j++) {
            free(node->lists[j].items);
        }

        free(node->lists);
        free(node->title);
        free(node->key);
        free(node);
    }

    wh_wf_free_resp(&wf->response);
    wh_tpl_free(wf->order_key);
    free(wf->nodes.items);
    free(wf->all);
    free(wf->keys.keys);
    free(wf->key);
    free(wf->title);
    free(wf->name);
    free(wf->canonical);
    free(wf->definition);
    json_decref(wf->root);
    free(wf);
}


static ssize_t
wh_wf_find_key(wh_workflow_t *const *wfs, size_t n, const char *key)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(wfs[i]->key, key) == 0) {
            return (ssize_t) i;
        }
    }

    return -1;
}


/*
 * Depth-first, iterative: state 0 unseen, 1 on the path, 2 done.  A key
 * loaded in two revisions is one vertex: the first one's subflows.
 */

int
wh_workflow_check_cycles(wh_workflow_t *const *wfs, size_t n, char *err,
    size_t errlen)
{
    int         rc;
    size_t      i, top, *node, *stack;
    ssize_t     to;
    uint8_t    *state;
    wh_node_t  *nd;

    if (n == 0) {
        return 0;
    }

    rc = 0;
    state = calloc(n, 1);
    stack = malloc(n * sizeof(size_t));
    node = calloc(n, sizeof(size_t));

    if (state == NULL || stack == NULL || node == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }

    for (i = 0; i < n && rc == 0; i++) {
        if (state[i] != 0
            || wh_wf_find_key(wfs, n, wfs[i]->key) != (ssize_t) i)
        {
            continue;
        }

        top = 0;
        stack[top++] = i;
        state[i] = 1;
        node[i] = 0;

        while (top > 0 && rc == 0) {
            size_t  v = stack[top - 1];

            /* the next subflow node of v, any revision of its key */
            to = -1;

            while (node[v] < wfs[v]->nnodes) {
                nd = wfs[v]->all[node[v]++];

                if (nd->type == WH_NODE_SUBFLOW) {
                    to = wh_wf_find_key(wfs, n, nd->u.subflow.workflow);
                    if (to >= 0) {
                        break;
                    }
                }
            }

            if (to < 0) {
                state[v] = 2;
                top--;
                continue;
            }

            if (state[to] == 1) {
                snprintf(err, errlen, "\"%s\": node \"%s\": workflow "
                         "\"%s\" is already on the calling path: a subflow "
                         "cycle", wfs[v]->name, nd->key,
                         nd->u.subflow.workflow);
                rc = -1;
                break;
            }

            if (state[to] == 0) {
                state[to] = 1;
                node[to] = 0;
                stack[top++] = (size_t) to;
            }
        }
    }

done:

    free(state);
    free(stack);
    free(node);

    return rc;
}


int
wh_workflow_check_async(const wh_workflow_t *wf, char *err, size_t errlen)
{
    size_t  i;

    for (i = 0; i < wf->nnodes; i++) {
        if (wf->all[i]->type == WH_NODE_RESPONSE) {
            snprintf(err, errlen, "\"%s\": node \"%s\": a \"response\" node "
                     "needs webhook_mode sync", wf->name, wf->all[i]->key);
            return -1;
        }
    }

    return 0;
}
