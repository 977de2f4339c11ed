/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Filters of the record nodes: every operator, plain values, several
 * fields and operators, $and/$or, dotted paths, and the message of every
 * kind of invalid filter.
 */

#include "wh_test.h"
#include "wh_filter.h"


static wh_mem_t   mem;
static char       err[512];

/* the records every filter is matched against, by id */
static const char  *records[] = {
    "{\"id\":1,\"name\":\"ann\",\"age\":30,\"tags\":[\"a\",\"b\"],"
    "\"user\":{\"city\":\"Oslo\",\"zip\":\"0150\"},\"bio\":\"likes tea\","
    "\"n\":\"10\"}",

    "{\"id\":2,\"name\":\"bob\",\"age\":17,\"tags\":[],"
    "\"user\":{\"city\":\"Rome\"},\"bio\":null}",

    "{\"id\":3,\"name\":\"Cy\",\"age\":\"45\",\"tags\":[\"b\"],"
    "\"items\":[{\"x\":1},{\"x\":2}]}"
};

#define NRECORDS  (sizeof(records) / sizeof(records[0]))


static wh_val_t
parse(const char *json)
{
    wh_val_t       v;
    wh_json_err_t  jerr;

    if (json == NULL) {
        return wh_val_missing();
    }

    if (wh_val_parse(&mem, json, strlen(json), 1, &v, &jerr) != 0) {
        printf("# bad test JSON %s: %s\n", json, jerr.msg);
        exit(2);
    }

    return v;
}


/*
 * The ids of the records that match, "1,3"; "error: MSG" when the filter
 * does not compile.
 */

static const char *
ids(const char *filter)
{
    int            r;
    size_t         i;
    wh_filter_t   *f;
    static char    out[600];

    err[0] = '\0';
    f = wh_filter_compile(&mem, parse(filter), err, sizeof(err));

    if (f == NULL) {
        snprintf(out, sizeof(out), "error: %s", err);
        return out;
    }

    out[0] = '\0';

    for (i = 0; i < NRECORDS; i++) {
        r = wh_filter_match(f, parse(records[i]), &mem);

        if (r < 0) {
            return "match failed";
        }

        if (r) {
            snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%zu",
                     out[0] ? "," : "", i + 1);
        }
    }

    return out;
}


typedef struct {
    const char  *filter;
    const char  *ids;
} t_case_t;

static const t_case_t  cases[] = {
    { "{}", "1,2,3" },
    { "null", "1,2,3" },
    { NULL, "1,2,3" },
    { "{\"name\":\"ann\"}", "1" },
    { "{\"name\":{\"$eq\":\"bob\"}}", "2" },
    { "{\"name\":{\"$ne\":\"bob\"}}", "1,3" },
    { "{\"name\":\"ANN\"}", "" },

    /* numbers and numeric strings compare as numbers */
    { "{\"age\":{\"$gt\":17}}", "1,3" },
    { "{\"age\":{\"$gte\":17,\"$lt\":45}}", "1,2" },
    { "{\"age\":{\"$lte\":30}}", "1,2" },
    { "{\"age\":{\"$lt\":\"30\"}}", "2" },
    { "{\"age\":45}", "3" },
    { "{\"n\":10}", "1" },
    { "{\"id\":{\"$in\":[1,\"3\"]}}", "1,3" },

    /* other text by bytes */
    { "{\"name\":{\"$gt\":\"b\"}}", "2" },
    { "{\"name\":{\"$lt\":\"a\"}}", "3" },

    /* several fields: and */
    { "{\"age\":30,\"name\":\"ann\"}", "1" },
    { "{\"age\":30,\"name\":\"bob\"}", "" },

    { "{\"name\":{\"$in\":[\"ann\",\"Cy\"]}}", "1,3" },
    { "{\"name\":{\"$in\":[]}}", "" },
    { "{\"name\":{\"$notIn\":[\"ann\"]}}", "2,3" },
    { "{\"tags\":{\"$includes\":\"b\"}}", "1,3" },
    { "{\"bio\":{\"$includes\":\"tea\"}}", "1" },
    { "{\"bio\":{\"$includes\":\"coffee\"}}", "" },
    { "{\"tags\":{\"$notIncludes\":\"a\"}}", "2,3" },
    { "{\"tags\":{\"$empty\":true}}", "2" },
    { "{\"tags\":{\"$notEmpty\":true}}", "1,3" },
    { "{\"bio\":{\"$empty\":true}}", "2,3" },

    /* null equals a missing field */
    { "{\"bio\":null}", "2,3" },
    { "{\"bio\":{\"$ne\":null}}", "1" },
    { "{\"missing\":{\"$gt\":0}}", "" },
    { "{\"missing\":{\"$lt\":0}}", "" },

    /* paths */
    { "{\"user.city\":\"Rome\"}", "2" },
    { "{\"user.zip\":{\"$eq\":\"0150\"}}", "1" },
    { "{\"items.1.x\":2}", "3" },
    { "{\"items.1.x\":1}", "" },
    { "{\"items.x\":1}", "" },
    { "{\"tags.0\":\"a\"}", "1" },
    { "{\"name.first\":\"ann\"}", "" },

    /* a plain object compares as JSON */
    { "{\"user\":{\"city\":\"Rome\"}}", "2" },
    { "{\"tags\":[\"a\",\"b\"]}", "1" },
    { "{\"tags\":[]}", "2" },

    /* groups */
    { "{\"$or\":[{\"name\":\"ann\"},{\"age\":{\"$lt\":18}}]}", "1,2" },
    { "{\"$and\":[{\"age\":{\"$gt\":10}},"
      "{\"$or\":[{\"name\":\"bob\"},{\"name\":\"Cy\"}]}]}", "2,3" },
    { "{\"$or\":[{\"name\":\"ann\"}],\"age\":17}", "" },
    { "{\"$or\":[{\"name\":\"ann\"},{\"name\":\"bob\"}],\"age\":17}", "2" },
    { "{\"$or\":[]}", "" },
    { "{\"$and\":[]}", "1,2,3" },
    { "{\"$and\":[{}]}", "1,2,3" },

    /* escaped keys are read unescaped */
    { "{\"age\":{\"\\u0024gt\":20}}", "1,3" },
    { "{\"na\\u006de\":\"Cy\"}", "3" },

    /* invalid filters */
    { "[1]", "error: a filter must be an object" },
    { "\"name\"", "error: a filter must be an object" },
    { "{\"age\":{\"$like\":\"x\"}}",
      "error: unknown operator \"$like\" for field \"age\" (known: $eq, "
      "$ne, $gt, $gte, $lt, $lte, $in, $notIn, $includes, $notIncludes, "
      "$empty, $notEmpty)" },
    { "{\"name\":{\"$in\":\"ann\"}}",
      "error: \"$in\" of field \"name\" must be an array" },
    { "{\"name\":{\"$notIn\":null}}",
      "error: \"$notIn\" of field \"name\" must be an array" },
    { "{\"$or\":{\"a\":1}}", "error: \"$or\" must be an array of filters" },
    { "{\"$and\":[{\"a\":1},2]}",
      "error: \"$and\" item 2 must be a filter object" },
    { "{\"$nor\":[]}",
      "error: unknown key \"$nor\" (a filter's keys are field names, "
      "\"$and\" and \"$or\")" },
    { "{\"$eq\":1}",
      "error: unknown key \"$eq\" (a filter's keys are field names, "
      "\"$and\" and \"$or\")" },
    { "{\"a\":{\"$eq\":1,\"b\":2}}",
      "error: field \"a\" mixes operators and plain keys" },
    { "{\"a..b\":1}", "error: field \"a..b\" has an empty path segment" },
    { "{\"a.\":1}", "error: field \"a.\" has an empty path segment" },
    { "{\"\":1}", "error: a field name must not be empty" },
    { "{\"$or\":[{\"a\":{\"$in\":1}}]}",
      "error: \"$in\" of field \"a\" must be an array" },
};


/* {"$and":[ … n levels … ]} */

static const char *
nested(int n)
{
    int          i;
    static char  buf[4096];

    buf[0] = '\0';

    for (i = 0; i < n - 1; i++) {
        strcat(buf, "{\"$and\":[");
    }

    strcat(buf, "{\"id\":2}");

    for (i = 0; i < n - 1; i++) {
        strcat(buf, "]}");
    }

    return buf;
}


int
main(void)
{
    size_t        i;
    wh_arena_t   *arena;

    arena = wh_arena_create(0);
    wh_arena_mem(arena, &mem);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        is_str(ids(cases[i].filter), cases[i].ids, "%s",
               cases[i].filter ? cases[i].filter : "(missing)");
    }

    is_str(ids(nested(WH_FILTER_MAX_DEPTH)), "2", "%d levels of $and",
           WH_FILTER_MAX_DEPTH);
    is_str(ids(nested(WH_FILTER_MAX_DEPTH + 1)),
           "error: filters nest deeper than 32 levels", "%d levels of $and",
           WH_FILTER_MAX_DEPTH + 1);

    /* a filter outlives nothing but its document: match it many times */
    {
        int           n;
        wh_val_t      rec;
        wh_filter_t  *f;

        f = wh_filter_compile(&mem, parse("{\"age\":{\"$gte\":\"18\"}}"),
                              err, sizeof(err));
        rec = parse(records[0]);
        n = 0;

        for (i = 0; i < 1000; i++) {
            n += wh_filter_match(f, rec, &mem);
        }

        is_int(n, 1000, "one compiled filter matched 1000 times");
    }

    wh_arena_destroy(arena);

    return done_testing();
}
