/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Request bodies and query strings to JSON text, written straight into a
 * buffer (the request context is built as one JSON document).
 */

#ifndef WH_BODY_H
#define WH_BODY_H

#include "wh_mem.h"


typedef enum {
    WH_MEDIA_NONE,           /* no Content-Type */
    WH_MEDIA_JSON,           /* application/json, application/x+json, … */
    WH_MEDIA_FORM,           /* application/x-www-form-urlencoded */
    WH_MEDIA_MULTIPART,      /* multipart/form-data */
    WH_MEDIA_TEXT,           /* text/... */
    WH_MEDIA_UNSUPPORTED
} wh_media_t;

/*
 * Classifies a Content-Type value (case-insensitive, parameters allowed).
 * For multipart, *boundary and *blen are set to the boundary parameter
 * (quotes removed), or to NULL and 0 when it is missing or not valid
 * (1-70 characters, RFC 2046): the caller answers 400 then.
 */
wh_media_t wh_media_type(const char *ct, size_t len, const char **boundary,
    size_t *blen);

/*
 * 1 when s is a media type as RFC 9110 writes one: type "/" subtype, then
 * ";" parameters (token "=" token or quoted-string), optional whitespace
 * around; else 0.  A response node's Content-Type must be one (§7).
 */
int wh_media_type_valid(const char *s, size_t len);

/*
 * application/x-www-form-urlencoded (also query strings) to a JSON object:
 * '+' is a space, %XX decoded, repeated names become arrays in order, a
 * name without '=' has the value "".  Empty input gives {}.  Broken
 * percent-encoding (a '%' not followed by two hex digits) is an error;
 * decoded bytes that are not UTF-8 become U+FFFD.  Returns 0 or -1 with a
 * message in err.
 */
int wh_form_to_json(wh_buf_t *out, const char *s, size_t len,
    char *err, size_t errlen);

/*
 * multipart/form-data to a JSON object: fields as strings (repeated names
 * as arrays), file parts (a filename parameter) as
 * {"filename","contentType","size","content"(base64)}.  Errors: no
 * opening or closing boundary, a part without Content-Disposition name,
 * malformed part headers, more than max_parts parts.
 */
int wh_multipart_to_json(wh_buf_t *out, const char *boundary, size_t blen,
    const char *body, size_t len, size_t max_parts, char *err,
    size_t errlen);

#endif /* WH_BODY_H */
