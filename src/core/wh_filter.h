/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Filters of the record nodes (SPEC §4: create, update, destroy, query):
 * a JSON object that a record matches, in the spirit of NocoBase's
 * filters.
 *
 *     {"status": "open"}                     plain value: $eq
 *     {"age": {"$gte": 18, "$lt": 65}}       several operators: and
 *     {"a": 1, "b": {"$ne": 2}}              several fields: and
 *     {"$or": [{"a": 1}, {"b": 2}]}          $and / $or: arrays of filters
 *     {"user.name": {"$eq": "ann"}}          dotted paths into nested
 *                                            objects; a numeric segment
 *                                            indexes an array
 *
 * Operators, as the calculators of wh_calc.h compare (numbers when both
 * sides are numbers or numeric strings, else text; objects and arrays as
 * JSON; null equals a missing field):
 *
 *     $eq $ne $gt $gte $lt $lte
 *     $in $notIn              the record's value is (not) in the array v
 *     $includes $notIncludes  the record's value (a string or an array)
 *                             does (not) include v
 *     $empty $notEmpty        the record's value is (not) empty: null,
 *                             missing, "", [] or {} (v is ignored)
 *
 * {} matches every record; an empty "$and" matches every record, an
 * empty "$or" none.  A plain value that is an object without operator
 * keys is compared as JSON; an object that mixes operator and other keys
 * is an error.
 */

#ifndef WH_FILTER_H
#define WH_FILTER_H

#include "wh_calc.h"


#define WH_FILTER_MAX_DEPTH   32        /* nested $and / $or */

typedef struct wh_filter_s  wh_filter_t;


/*
 * Compiles filter (an object; null and missing too, matching every
 * record) into mem.  The filter refers to filter's document, which must
 * outlive it.  NULL with a message in err: "\"$in\" of field \"tags\"
 * must be an array", "unknown operator \"$like\" for field \"name\"", …
 * (or "out of memory").
 */
wh_filter_t *wh_filter_compile(wh_mem_t *mem, wh_val_t filter, char *err,
    size_t errlen);

/*
 * 1 when record matches, 0 when not, -1 on OOM.  mem holds the text
 * conversions of comparisons; nothing of it is kept.
 */
int wh_filter_match(const wh_filter_t *f, wh_val_t record, wh_mem_t *mem);

#endif /* WH_FILTER_H */
