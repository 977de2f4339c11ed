/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Byte functions of the math engine (SPEC §10): digests, HMAC, base64,
 * hex and URL encoding.  Each appends to a wh_buf_t in one pass over its
 * input (linear time), and none keeps a copy of a key.
 */

#ifndef WH_CODEC_H
#define WH_CODEC_H

#include "wh_mem.h"


/* "md5", "sha1", "sha256", "sha512"; -1 for other names. */
int wh_codec_digest_alg(const char *name, size_t len);

/* Hex digest of s. */
int wh_codec_digest(wh_buf_t *b, int alg, const char *s, size_t len);

/* HMAC(alg, key, msg) in hex (base64 when base64 is set); not md5. */
int wh_codec_hmac(wh_buf_t *b, int alg, const char *key, size_t klen,
    const char *msg, size_t mlen, int base64);

void wh_codec_base64(wh_buf_t *b, const void *p, size_t len);

/* Standard or URL-safe alphabet, padding optional; -1 if invalid. */
int wh_codec_unbase64(wh_buf_t *b, const char *s, size_t len);

/*
 * Base64 of either alphabet, padding optional but complete when present,
 * unused trailing bits zero (one encoding per value): the decoded length,
 * or WH_B64_BAD.  The signature schemes decode with these too.
 */
#define WH_B64_BAD  ((size_t) -1)

size_t wh_b64_len(const char *s, size_t len);
size_t wh_b64_decode(const char *s, size_t len, unsigned char *out,
    size_t cap);

void wh_codec_hex(wh_buf_t *b, const void *p, size_t len);

/* RFC 3986: all but A-Z a-z 0-9 - . _ ~ as %XX (upper case). */
void wh_codec_urlencode(wh_buf_t *b, const char *s, size_t len);

/* %XX of either case and + as a space; a '%' without two hex digits stays. */
void wh_codec_urldecode(wh_buf_t *b, const char *s, size_t len);

#endif /* WH_CODEC_H */
