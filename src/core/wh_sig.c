/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Webhook signature schemes (SPEC §3).
 *
 * Header values are attacker-controlled and parsed without allocation into
 * fixed stack buffers; the only heap use is OpenSSL's own, a key or a
 * credential longer than WH_SIG_SCRATCH, the contiguous message that
 * ed25519 needs, and Twilio's decoded, sorted form parameters (O(n log n)
 * in the body).  Secret material (the secret, derived keys, computed MACs)
 * is compared with CRYPTO_memcmp over equal lengths only (tokens: their
 * SHA-256, so that the secret's length does not show), cleansed from the
 * stack afterwards and never printed.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* the one-shot SHA functions are deprecated in OpenSSL 3, not removed */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "wh_codec.h"
#include "wh_mem.h"
#include "wh_sig.h"


#define WH_SIG_MAX_MAC      64          /* SHA-512 */
#define WH_SIG_SCRATCH      512

/*
 * Each ed25519 check hashes the whole body again: a header stuffed with
 * signatures must not buy unbounded work.  Key rotation needs two or three.
 */
#define WH_SIG_MAX_ED25519  8

/* 100 years in ms: keeps tolerance * 1000 and now * 1000 far from overflow */
#define WH_SIG_MAX_TOL_MS   3153600000000LL


typedef struct {
    const char    *data;
    size_t         len;
} wh_sig_str_t;


static const char  *wh_sig_names[] = {
    "github", "gitlab", "stripe", "slack", "shopify", "standard",
    "dingtalk", "basic", "token", "hmac", "zoom", "twitter", "dropbox",
    "meta", "paddle", "linear", "twilio"
};


static int
wh_sig_timestamped(wh_sig_scheme_t s)
{
    return s == WH_SIG_STRIPE || s == WH_SIG_SLACK || s == WH_SIG_STANDARD
           || s == WH_SIG_DINGTALK || s == WH_SIG_ZOOM || s == WH_SIG_PADDLE;
}


int
wh_sig_init(wh_sig_opts_t *o, const char *scheme, size_t len)
{
    size_t  i;

    memset(o, 0, sizeof(wh_sig_opts_t));
    o->algorithm = WH_SIG_SHA256;
    o->encoding = WH_SIG_HEX;

    for (i = 0; i < sizeof(wh_sig_names) / sizeof(wh_sig_names[0]); i++) {
        if (strlen(wh_sig_names[i]) == len
            && strncasecmp(wh_sig_names[i], scheme, len) == 0)
        {
            o->scheme = (wh_sig_scheme_t) i;

            if (o->scheme == WH_SIG_DINGTALK) {
                o->tolerance = 3600;

            } else if (wh_sig_timestamped(o->scheme)) {
                o->tolerance = 300;
            }

            return 0;
        }
    }

    return -1;
}


/*
 * nginx time syntax ("300", "5m", "1h 30m", "500ms"), units in decreasing
 * order.  Returns seconds, rounded up so that a non-zero value never turns
 * the check off, or -1.
 */
static int64_t
wh_sig_parse_time(const char *p, size_t len)
{
    int64_t      total, value, scale;
    int          step, last;
    const char  *end;

    static const int64_t  unit_ms[] = {
        365LL * 86400000, 30LL * 86400000, 7LL * 86400000, 86400000,
        3600000, 60000, 1000, 1
    };

    end = p + len;
    total = 0;
    last = -1;

    if (p == end) {
        return -1;
    }

    while (p < end) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        value = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (value > (WH_SIG_MAX_TOL_MS - (*p - '0')) / 10) {
                return -1;
            }

            value = value * 10 + (*p++ - '0');
        }

        if (p == end) {
            step = 6;                           /* a bare number: seconds */

        } else {
            switch (*p++) {
            case 'y': step = 0; break;
            case 'M': step = 1; break;
            case 'w': step = 2; break;
            case 'd': step = 3; break;
            case 'h': step = 4; break;
            case 's': step = 6; break;
            case 'm':
                if (p < end && *p == 's') {
                    p++;
                    step = 7;

                } else {
                    step = 5;
                }
                break;
            default:
                return -1;
            }
        }

        if (step <= last) {
            return -1;
        }

        last = step;
        scale = unit_ms[step];

        if (value > (WH_SIG_MAX_TOL_MS - total) / scale) {
            return -1;
        }

        total += value * scale;

        while (p < end && *p == ' ') {
            p++;
        }
    }

    return (total + 999) / 1000;
}


static int
wh_sig_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}


static int
wh_sig_header_name(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':') {
            return 0;
        }
    }

    return 1;
}


static char *
wh_sig_strdup(const char *s, size_t len)
{
    char  *p;

    p = malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


int
wh_sig_option(wh_sig_opts_t *o, const char *name, size_t nlen,
    const char *value, size_t vlen, char *err, size_t errlen)
{
    int64_t    t;
    char      *p, **field;
    int        hmac;

    if ((unsigned) o->scheme > WH_SIG_LAST) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "unknown scheme");
        }

        return -1;
    }

    hmac = (o->scheme == WH_SIG_HMAC);

    if (wh_sig_is(name, nlen, "tolerance") && wh_sig_timestamped(o->scheme)) {
        t = wh_sig_parse_time(value, vlen);
        if (t < 0) {
            goto invalid;
        }

        o->tolerance = t;
        return 0;
    }

    if (wh_sig_is(name, nlen, "algorithm") && hmac) {
        if (wh_sig_is(value, vlen, "sha1")) {
            o->algorithm = WH_SIG_SHA1;

        } else if (wh_sig_is(value, vlen, "sha256")) {
            o->algorithm = WH_SIG_SHA256;

        } else if (wh_sig_is(value, vlen, "sha512")) {
            o->algorithm = WH_SIG_SHA512;

        } else {
            goto invalid;
        }

        return 0;
    }

    if (wh_sig_is(name, nlen, "encoding") && hmac) {
        if (wh_sig_is(value, vlen, "hex")) {
            o->encoding = WH_SIG_HEX;

        } else if (wh_sig_is(value, vlen, "base64")) {
            o->encoding = WH_SIG_BASE64;

        } else {
            goto invalid;
        }

        return 0;
    }

    if (wh_sig_is(name, nlen, "header")
        && (hmac || o->scheme == WH_SIG_TOKEN))
    {
        if (!wh_sig_header_name(value, vlen)) {
            goto invalid;
        }

        field = &o->header;

    } else if (wh_sig_is(name, nlen, "prefix") && hmac) {
        field = &o->prefix;

        if (vlen == 0) {
            free(*field);
            *field = NULL;
            return 0;
        }

    } else {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "unknown option \"%.*s\" for scheme \"%s\"",
                     (int) nlen, name, wh_sig_names[o->scheme]);
        }

        return -1;
    }

    p = wh_sig_strdup(value, vlen);
    if (p == NULL) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "out of memory");
        }

        return -1;
    }

    free(*field);
    *field = p;

    return 0;

invalid:

    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "invalid %.*s \"%.*s\"",
                 (int) nlen, name, (int) vlen, value);
    }

    return -1;
}


int
wh_sig_check(const wh_sig_opts_t *o, char *err, size_t errlen)
{
    if ((o->scheme == WH_SIG_TOKEN || o->scheme == WH_SIG_HMAC)
        && o->header == NULL)
    {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "scheme \"%s\" requires header=NAME",
                     wh_sig_names[o->scheme]);
        }

        return -1;
    }

    return 0;
}


void
wh_sig_free(wh_sig_opts_t *o)
{
    free(o->header);
    free(o->prefix);
    o->header = NULL;
    o->prefix = NULL;
}


wh_sig_rc_t
wh_sig_combine(wh_sig_rc_t a, wh_sig_rc_t b)
{
    static const int  rank[] = {
        3,      /* WH_SIG_OK */
        0,      /* WH_SIG_MISSING */
        1,      /* WH_SIG_INVALID */
        2       /* WH_SIG_EXPIRED */
    };

    if ((unsigned) a > WH_SIG_EXPIRED) {
        return b;
    }

    if ((unsigned) b > WH_SIG_EXPIRED) {
        return a;
    }

    return rank[a] >= rank[b] ? a : b;
}


/* Parsing of attacker-supplied values. */

static int
wh_sig_header(const wh_sig_input_t *in, const char *name, wh_sig_str_t *s)
{
    const char  *v;
    size_t       len;

    v = NULL;
    len = 0;

    if (in->header == NULL || !in->header(in->data, name, &v, &len)
        || v == NULL)
    {
        return 0;
    }

    while (len && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }

    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }

    s->data = v;
    s->len = len;

    return len != 0;
}


/* Digits only, no sign, no overflow; -1 otherwise. */
static int64_t
wh_sig_timestamp(const wh_sig_str_t *s)
{
    int64_t  v;
    size_t   i;

    if (s->len == 0 || s->len > 19) {
        return -1;
    }

    v = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return -1;
        }

        if (v > (INT64_MAX - (s->data[i] - '0')) / 10) {
            return -1;
        }

        v = v * 10 + (s->data[i] - '0');
    }

    return v;
}


static int
wh_sig_expired(int64_t now, int64_t ts, int64_t tol)
{
    uint64_t  d;

    if (tol <= 0) {
        return 0;
    }

    /* unsigned wrap-around gives the exact distance for any two int64 */
    d = (ts >= now) ? (uint64_t) ts - (uint64_t) now
                    : (uint64_t) now - (uint64_t) ts;

    return d > (uint64_t) tol;
}


/* Exactly n bytes of hex, either case. */
static int
wh_sig_unhex(const char *s, size_t len, unsigned char *out, size_t n)
{
    size_t          i;
    unsigned        hi, lo, bad;
    const uint8_t  *p;

    /* 16 for a byte that is not a hex digit */
    static const uint8_t  val[256] = {
#define X16  16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16
        X16, X16, X16,
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 16, 16, 16, 16, 16,
        16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
        X16,
        16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
        X16, X16, X16, X16, X16, X16, X16, X16, X16
#undef X16
    };

    if (len != 2 * n) {
        return -1;
    }

    p = (const uint8_t *) s;
    bad = 0;

    for (i = 0; i < n; i++) {
        hi = val[p[2 * i]];
        lo = val[p[2 * i + 1]];
        bad |= hi | lo;
        out[i] = (unsigned char) (hi << 4 | lo);
    }

    return (bad & 16) ? -1 : 0;
}


/*
 * A token against its secret (gitlab, token, basic) without revealing the
 * secret's length or content (§7): the SHA-256 of each side, compared in
 * constant time.  No early return on a length difference.
 */
static int
wh_sig_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    int            eq;
    unsigned char  ha[SHA256_DIGEST_LENGTH], hb[SHA256_DIGEST_LENGTH];

    SHA256(a, alen, ha);
    SHA256(b, blen, hb);

    eq = (CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0) & (alen == blen);

    OPENSSL_cleanse(ha, sizeof(ha));
    OPENSSL_cleanse(hb, sizeof(hb));

    return eq;
}


static size_t
wh_sig_maclen(wh_sig_alg_t alg)
{
    return alg == WH_SIG_SHA1 ? 20 : alg == WH_SIG_SHA512 ? 64 : 32;
}


/*
 * HMAC (RFC 2104) over the concatenation of parts, on the one-shot SHA
 * functions: EVP_MAC's fetch and context allocation cost more than
 * hashing a typical webhook body.  The block functions are the same
 * CPU-dispatched assembly.  Returns the MAC length.
 */

typedef union {
    SHA_CTX        sha1;
    SHA256_CTX     sha256;
    SHA512_CTX     sha512;
} wh_sig_sha_t;


static void
wh_sig_sha_init(wh_sig_alg_t alg, wh_sig_sha_t *c)
{
    switch (alg) {
    case WH_SIG_SHA1:   SHA1_Init(&c->sha1); break;
    case WH_SIG_SHA512: SHA512_Init(&c->sha512); break;
    default:            SHA256_Init(&c->sha256); break;
    }
}


static void
wh_sig_sha_update(wh_sig_alg_t alg, wh_sig_sha_t *c, const void *p,
    size_t n)
{
    switch (alg) {
    case WH_SIG_SHA1:   SHA1_Update(&c->sha1, p, n); break;
    case WH_SIG_SHA512: SHA512_Update(&c->sha512, p, n); break;
    default:            SHA256_Update(&c->sha256, p, n); break;
    }
}


static void
wh_sig_sha_final(wh_sig_alg_t alg, wh_sig_sha_t *c, unsigned char *out)
{
    switch (alg) {
    case WH_SIG_SHA1:   SHA1_Final(out, &c->sha1); break;
    case WH_SIG_SHA512: SHA512_Final(out, &c->sha512); break;
    default:            SHA256_Final(out, &c->sha256); break;
    }
}


static size_t
wh_sig_hmac(wh_sig_alg_t alg, const void *key, size_t klen,
    const wh_sig_str_t *part, size_t nparts, unsigned char *out)
{
    size_t          i, bs, len;
    wh_sig_sha_t    c;
    unsigned char   k[128], pad[128], inner[WH_SIG_MAX_MAC];

    bs = (alg == WH_SIG_SHA512) ? 128 : 64;
    len = wh_sig_maclen(alg);

    memset(k, 0, bs);

    if (klen > bs) {
        wh_sig_sha_init(alg, &c);
        wh_sig_sha_update(alg, &c, key, klen);
        wh_sig_sha_final(alg, &c, k);

    } else if (klen) {
        memcpy(k, key, klen);
    }

    for (i = 0; i < bs; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    wh_sig_sha_init(alg, &c);
    wh_sig_sha_update(alg, &c, pad, bs);

    for (i = 0; i < nparts; i++) {
        if (part[i].len) {
            wh_sig_sha_update(alg, &c, part[i].data, part[i].len);
        }
    }

    wh_sig_sha_final(alg, &c, inner);

    for (i = 0; i < bs; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    wh_sig_sha_init(alg, &c);
    wh_sig_sha_update(alg, &c, pad, bs);
    wh_sig_sha_update(alg, &c, inner, len);
    wh_sig_sha_final(alg, &c, out);

    /* only what this algorithm used: cleansing is a byte loop */
    OPENSSL_cleanse(k, bs);
    OPENSSL_cleanse(pad, bs);
    OPENSSL_cleanse(inner, len);
    OPENSSL_cleanse(&c, alg == WH_SIG_SHA512 ? sizeof(c.sha512)
                        : alg == WH_SIG_SHA1 ? sizeof(c.sha1)
                        : sizeof(c.sha256));

    return len;
}


/* Scratch space: on the stack when small enough. */

typedef struct {
    unsigned char  *p;
    size_t          size;
    unsigned char   stack[WH_SIG_SCRATCH];
} wh_sig_scratch_t;


static unsigned char *
wh_sig_scratch(wh_sig_scratch_t *s, size_t size)
{
    s->size = size;
    s->p = (size <= WH_SIG_SCRATCH) ? s->stack : malloc(size ? size : 1);

    return s->p;
}


static void
wh_sig_scratch_free(wh_sig_scratch_t *s)
{
    if (s->p == NULL) {
        return;
    }

    OPENSSL_cleanse(s->p, s->size);

    if (s->p != s->stack) {
        free(s->p);
    }

    s->p = NULL;
}


/* Schemes. */

static wh_sig_rc_t
wh_sig_equal_header(const char *name, const char *secret, size_t secret_len,
    const wh_sig_input_t *in)
{
    wh_sig_str_t  v;

    if (!wh_sig_header(in, name, &v)) {
        return WH_SIG_MISSING;
    }

    if (secret_len == 0) {
        return WH_SIG_INVALID;
    }

    return wh_sig_eq(v.data, v.len, secret, secret_len) ? WH_SIG_OK
                                                        : WH_SIG_INVALID;
}


/* A MAC in hex or base64 after an optional prefix, over the raw body. */
static wh_sig_rc_t
wh_sig_body_mac(const char *name, const char *prefix, wh_sig_alg_t alg,
    wh_sig_enc_t enc, const char *secret, size_t secret_len,
    const wh_sig_input_t *in)
{
    size_t         n, plen;
    wh_sig_rc_t    rc;
    wh_sig_str_t   v, body;
    unsigned char  sig[WH_SIG_MAX_MAC], mac[WH_SIG_MAX_MAC];

    if (!wh_sig_header(in, name, &v)) {
        return WH_SIG_MISSING;
    }

    if (secret_len == 0) {
        return WH_SIG_INVALID;
    }

    plen = prefix ? strlen(prefix) : 0;

    if (v.len < plen || (plen && memcmp(v.data, prefix, plen) != 0)) {
        return WH_SIG_INVALID;
    }

    v.data += plen;
    v.len -= plen;
    n = wh_sig_maclen(alg);

    if (enc == WH_SIG_HEX) {
        if (wh_sig_unhex(v.data, v.len, sig, n) != 0) {
            return WH_SIG_INVALID;
        }

    } else if (wh_b64_decode(v.data, v.len, sig, sizeof(sig)) != n) {
        return WH_SIG_INVALID;
    }

    body.data = in->body;
    body.len = in->body_len;

    rc = WH_SIG_INVALID;

    if (wh_sig_hmac(alg, secret, secret_len, &body, 1, mac) == n
        && CRYPTO_memcmp(sig, mac, n) == 0)
    {
        rc = WH_SIG_OK;
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    return rc;
}


/* Next item of a comma-separated Stripe-Signature, trimmed. */
static int
wh_sig_next_item(const wh_sig_str_t *h, size_t *pos, wh_sig_str_t *item)
{
    size_t  i;

    i = *pos;

    if (i > h->len) {
        return 0;
    }

    item->data = h->data + i;

    while (i < h->len && h->data[i] != ',') {
        i++;
    }

    item->len = h->data + i - item->data;
    *pos = i + 1;

    while (item->len && item->data[0] == ' ') {
        item->data++;
        item->len--;
    }

    while (item->len && item->data[item->len - 1] == ' ') {
        item->len--;
    }

    return 1;
}


static wh_sig_rc_t
wh_sig_stripe(const wh_sig_opts_t *o, const char *secret, size_t secret_len,
    const wh_sig_input_t *in)
{
    int            matched, seen;
    size_t         pos;
    int64_t        ts;
    wh_sig_str_t   h, item, t, part[3];
    unsigned char  sig[32], mac[WH_SIG_MAX_MAC];

    if (!wh_sig_header(in, "Stripe-Signature", &h)) {
        return WH_SIG_MISSING;
    }

    if (secret_len == 0) {
        return WH_SIG_INVALID;
    }

    /* two passes: t= may come after the signatures */

    t.data = NULL;
    t.len = 0;
    seen = 0;
    pos = 0;

    while (wh_sig_next_item(&h, &pos, &item)) {
        if (item.len >= 2 && memcmp(item.data, "t=", 2) == 0
            && t.data == NULL)
        {
            t.data = item.data + 2;
            t.len = item.len - 2;

        } else if (item.len >= 3 && memcmp(item.data, "v1=", 3) == 0) {
            seen = 1;
        }
    }

    ts = (t.data != NULL) ? wh_sig_timestamp(&t) : -1;

    if (ts < 0 || !seen) {
        return WH_SIG_INVALID;
    }

    part[0] = t;
    part[1].data = ".";
    part[1].len = 1;
    part[2].data = in->body;
    part[2].len = in->body_len;

    if (wh_sig_hmac(WH_SIG_SHA256, secret, secret_len, part, 3, mac) != 32) {
        return WH_SIG_INVALID;
    }

    matched = 0;
    pos = 0;

    while (!matched && wh_sig_next_item(&h, &pos, &item)) {
        if (item.len >= 3 && memcmp(item.data, "v1=", 3) == 0
            && wh_sig_unhex(item.data + 3, item.len - 3, sig, 32) == 0
            && CRYPTO_memcmp(sig, mac, 32) == 0)
        {
            matched = 1;
        }
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    if (!matched) {
        return WH_SIG_INVALID;
    }

    return wh_sig_expired(in->now, ts, o->tolerance) ? WH_SIG_EXPIRED
                                                     : WH_SIG_OK;
}


/*
 * Slack and Zoom: "v0=" hex HMAC-SHA256 of "v0:" timestamp ":" body, the
 * signature and the timestamp (seconds) in headers of their own.
 */
static wh_sig_rc_t
wh_sig_v0(const wh_sig_opts_t *o, const char *sname, const char *tname,
    const char *secret, size_t secret_len, const wh_sig_input_t *in)
{
    int            ok;
    int64_t        ts;
    wh_sig_str_t   s, t, part[4];
    unsigned char  sig[32], mac[WH_SIG_MAX_MAC];

    if (!wh_sig_header(in, sname, &s) || !wh_sig_header(in, tname, &t)) {
        return WH_SIG_MISSING;
    }

    ts = wh_sig_timestamp(&t);

    if (ts < 0 || secret_len == 0 || s.len < 3
        || memcmp(s.data, "v0=", 3) != 0
        || wh_sig_unhex(s.data + 3, s.len - 3, sig, 32) != 0)
    {
        return WH_SIG_INVALID;
    }

    part[0].data = "v0:";
    part[0].len = 3;
    part[1] = t;
    part[2].data = ":";
    part[2].len = 1;
    part[3].data = in->body;
    part[3].len = in->body_len;

    ok = wh_sig_hmac(WH_SIG_SHA256, secret, secret_len, part, 4, mac) == 32
         && CRYPTO_memcmp(sig, mac, 32) == 0;

    OPENSSL_cleanse(mac, sizeof(mac));

    if (!ok) {
        return WH_SIG_INVALID;
    }

    return wh_sig_expired(in->now, ts, o->tolerance) ? WH_SIG_EXPIRED
                                                     : WH_SIG_OK;
}


/* Next space-separated entry of a webhook-signature list. */
static int
wh_sig_next_entry(const wh_sig_str_t *list, size_t *pos, wh_sig_str_t *e)
{
    size_t  i;

    i = *pos;

    while (i < list->len && list->data[i] == ' ') {
        i++;
    }

    if (i == list->len) {
        return 0;
    }

    e->data = list->data + i;

    while (i < list->len && list->data[i] != ' ') {
        i++;
    }

    e->len = list->data + i - e->data;
    *pos = i;

    return 1;
}


static int
wh_sig_standard_ed25519(const wh_sig_str_t *key, const wh_sig_str_t *list,
    const wh_sig_str_t *id, const wh_sig_str_t *t, const wh_sig_input_t *in)
{
    int            matched, tries;
    size_t         pos, len;
    EVP_PKEY      *pkey;
    EVP_MD_CTX    *md;
    wh_sig_str_t   e;
    unsigned char  pk[32], sig[64], *msg, *p;

    if (wh_b64_decode(key->data, key->len, pk, sizeof(pk)) != 32) {
        return 0;
    }

    len = id->len + t->len + 2;

    if (in->body_len > (size_t) -1 - len) {
        return 0;
    }

    len += in->body_len;

    /* ed25519 signs the whole message at once: it must be contiguous */
    msg = malloc(len);
    if (msg == NULL) {
        return 0;
    }

    p = msg;
    memcpy(p, id->data, id->len);
    p += id->len;
    *p++ = '.';
    memcpy(p, t->data, t->len);
    p += t->len;
    *p++ = '.';

    if (in->body_len) {
        memcpy(p, in->body, in->body_len);
    }

    matched = 0;
    md = NULL;

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
    if (pkey == NULL) {
        goto done;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        goto done;
    }

    pos = 0;
    tries = 0;

    while (!matched && tries < WH_SIG_MAX_ED25519
           && wh_sig_next_entry(list, &pos, &e))
    {
        if (e.len < 4 || memcmp(e.data, "v1a,", 4) != 0
            || wh_b64_decode(e.data + 4, e.len - 4, sig, sizeof(sig))
               != 64)
        {
            continue;
        }

        tries++;

        if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1
            && EVP_DigestVerify(md, sig, 64, msg, len) == 1)
        {
            matched = 1;
        }

        EVP_MD_CTX_reset(md);
    }

done:

    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    free(msg);

    return matched;
}


static int
wh_sig_standard_hmac(const wh_sig_str_t *secret, const wh_sig_str_t *list,
    const wh_sig_str_t *id, const wh_sig_str_t *t, const wh_sig_input_t *in)
{
    int               matched;
    size_t            pos, klen;
    wh_sig_str_t      e, part[5];
    unsigned char     sig[32], mac[WH_SIG_MAX_MAC], *key;
    wh_sig_scratch_t  s;

    klen = wh_b64_len(secret->data, secret->len);

    if (klen == WH_B64_BAD || klen == 0) {
        return 0;
    }

    key = wh_sig_scratch(&s, klen);
    if (key == NULL) {
        return 0;
    }

    matched = 0;

    if (wh_b64_decode(secret->data, secret->len, key, klen) != klen) {
        goto done;
    }

    part[0] = *id;
    part[1].data = ".";
    part[1].len = 1;
    part[2] = *t;
    part[3] = part[1];
    part[4].data = in->body;
    part[4].len = in->body_len;

    if (wh_sig_hmac(WH_SIG_SHA256, key, klen, part, 5, mac) != 32) {
        goto done;
    }

    pos = 0;

    while (!matched && wh_sig_next_entry(list, &pos, &e)) {
        if (e.len > 3 && memcmp(e.data, "v1,", 3) == 0
            && wh_b64_decode(e.data + 3, e.len - 3, sig, sizeof(sig))
               == 32
            && CRYPTO_memcmp(sig, mac, 32) == 0)
        {
            matched = 1;
        }
    }

    OPENSSL_cleanse(mac, sizeof(mac));

done:

    wh_sig_scratch_free(&s);

    return matched;
}


static wh_sig_rc_t
wh_sig_standard(const wh_sig_opts_t *o, const char *secret,
    size_t secret_len, const wh_sig_input_t *in)
{
    int           ok;
    int64_t       ts;
    wh_sig_str_t  id, t, list, key;

    /* Svix, which the Standard is taken from, still sends svix-* names */
    if ((!wh_sig_header(in, "webhook-id", &id)
         || !wh_sig_header(in, "webhook-timestamp", &t)
         || !wh_sig_header(in, "webhook-signature", &list))
        && (!wh_sig_header(in, "svix-id", &id)
            || !wh_sig_header(in, "svix-timestamp", &t)
            || !wh_sig_header(in, "svix-signature", &list)))
    {
        return WH_SIG_MISSING;
    }

    ts = wh_sig_timestamp(&t);
    if (ts < 0) {
        return WH_SIG_INVALID;
    }

    key.data = secret;
    key.len = secret_len;

    if (secret_len >= 5 && memcmp(secret, "whpk_", 5) == 0) {
        key.data += 5;
        key.len -= 5;
        ok = wh_sig_standard_ed25519(&key, &list, &id, &t, in);

    } else {
        if (secret_len >= 6 && memcmp(secret, "whsec_", 6) == 0) {
            key.data += 6;
            key.len -= 6;
        }

        ok = wh_sig_standard_hmac(&key, &list, &id, &t, in);
    }

    if (!ok) {
        return WH_SIG_INVALID;
    }

    return wh_sig_expired(in->now, ts, o->tolerance) ? WH_SIG_EXPIRED
                                                     : WH_SIG_OK;
}


static wh_sig_rc_t
wh_sig_dingtalk(const wh_sig_opts_t *o, const char *secret,
    size_t secret_len, const wh_sig_input_t *in)
{
    int            ok, hi, lo;
    char           b64[64];
    size_t         i, n;
    int64_t        ts, now, tol;
    wh_sig_str_t   t, s, part[3];
    unsigned char  sig[32], mac[WH_SIG_MAX_MAC];

    if (!wh_sig_header(in, "timestamp", &t)
        || !wh_sig_header(in, "sign", &s))
    {
        return WH_SIG_MISSING;
    }

    ts = wh_sig_timestamp(&t);
    if (ts < 0 || secret_len == 0) {
        return WH_SIG_INVALID;
    }

    /*
     * DingTalk passes sign URL-encoded in query strings; a '+' that went
     * through form decoding arrives as a space.
     */

    n = 0;

    for (i = 0; i < s.len; i++) {
        if (n == sizeof(b64)) {
            return WH_SIG_INVALID;
        }

        if (s.data[i] == '%') {
            if (s.len - i < 3) {
                return WH_SIG_INVALID;
            }

            hi = wh_hexval(s.data[i + 1]);
            lo = wh_hexval(s.data[i + 2]);

            if (hi < 0 || lo < 0) {
                return WH_SIG_INVALID;
            }

            b64[n++] = (char) (hi << 4 | lo);
            i += 2;

        } else {
            b64[n++] = (s.data[i] == ' ') ? '+' : s.data[i];
        }
    }

    if (wh_b64_decode(b64, n, sig, sizeof(sig)) != 32) {
        return WH_SIG_INVALID;
    }

    part[0] = t;
    part[1].data = "\n";
    part[1].len = 1;
    part[2].data = secret;
    part[2].len = secret_len;

    ok = wh_sig_hmac(WH_SIG_SHA256, secret, secret_len, part, 3, mac) == 32
         && CRYPTO_memcmp(sig, mac, 32) == 0;

    OPENSSL_cleanse(mac, sizeof(mac));

    if (!ok) {
        return WH_SIG_INVALID;
    }

    /* milliseconds; both bounded well away from overflow */
    now = in->now;
    now = now > INT64_MAX / 1000 ? INT64_MAX / 1000
        : now < INT64_MIN / 1000 ? INT64_MIN / 1000 : now;
    tol = o->tolerance > WH_SIG_MAX_TOL_MS / 1000 ? WH_SIG_MAX_TOL_MS / 1000
                                                   : o->tolerance;

    return wh_sig_expired(now * 1000, ts, tol * 1000) ? WH_SIG_EXPIRED
                                                      : WH_SIG_OK;
}


static wh_sig_rc_t
wh_sig_basic(const char *secret, size_t secret_len, const wh_sig_input_t *in)
{
    int               ok;
    size_t            n;
    unsigned char    *cred;
    wh_sig_str_t      a;
    wh_sig_scratch_t  s;

    if (!wh_sig_header(in, "Authorization", &a)) {
        return WH_SIG_MISSING;
    }

    /* the auth-scheme is case-insensitive (RFC 7617) */
    if (a.len < 6 || strncasecmp(a.data, "basic ", 6) != 0
        || secret_len == 0)
    {
        return WH_SIG_INVALID;
    }

    a.data += 6;
    a.len -= 6;

    while (a.len && a.data[0] == ' ') {
        a.data++;
        a.len--;
    }

    n = wh_b64_len(a.data, a.len);

    if (n == WH_B64_BAD) {
        return WH_SIG_INVALID;
    }

    /* n is the sender's length; the secret's is never compared to it */
    cred = wh_sig_scratch(&s, n ? n : 1);
    if (cred == NULL) {
        return WH_SIG_INVALID;
    }

    ok = wh_b64_decode(a.data, a.len, cred, n) == n
         && wh_sig_eq(cred, n, secret, secret_len);

    wh_sig_scratch_free(&s);

    return ok ? WH_SIG_OK : WH_SIG_INVALID;
}


/*
 * Paddle Billing: "Paddle-Signature: ts=TS;h1=HEX[;h1=HEX…]", HMAC-SHA256
 * of "TS:" body; several h1 while a secret rotates.
 */
static wh_sig_rc_t
wh_sig_paddle(const wh_sig_opts_t *o, const char *secret, size_t secret_len,
    const wh_sig_input_t *in)
{
    int            matched, seen;
    size_t         i, pos;
    int64_t        ts;
    wh_sig_str_t   h, item, t, part[3];
    unsigned char  sig[32], mac[WH_SIG_MAX_MAC];

    if (!wh_sig_header(in, "Paddle-Signature", &h)) {
        return WH_SIG_MISSING;
    }

    if (secret_len == 0) {
        return WH_SIG_INVALID;
    }

    t.data = NULL;
    t.len = 0;
    seen = 0;

    for (pos = 0; pos <= h.len; pos = i + 1) {
        for (i = pos; i < h.len && h.data[i] != ';'; i++) {
            /* void */
        }

        item.data = h.data + pos;
        item.len = i - pos;

        if (item.len >= 3 && memcmp(item.data, "ts=", 3) == 0
            && t.data == NULL)
        {
            t.data = item.data + 3;
            t.len = item.len - 3;

        } else if (item.len >= 3 && memcmp(item.data, "h1=", 3) == 0) {
            seen = 1;
        }
    }

    ts = (t.data != NULL) ? wh_sig_timestamp(&t) : -1;

    if (ts < 0 || !seen) {
        return WH_SIG_INVALID;
    }

    part[0] = t;
    part[1].data = ":";
    part[1].len = 1;
    part[2].data = in->body;
    part[2].len = in->body_len;

    if (wh_sig_hmac(WH_SIG_SHA256, secret, secret_len, part, 3, mac) != 32) {
        return WH_SIG_INVALID;
    }

    matched = 0;

    for (pos = 0; !matched && pos <= h.len; pos = i + 1) {
        for (i = pos; i < h.len && h.data[i] != ';'; i++) {
            /* void */
        }

        item.data = h.data + pos;
        item.len = i - pos;

        if (item.len >= 3 && memcmp(item.data, "h1=", 3) == 0
            && wh_sig_unhex(item.data + 3, item.len - 3, sig, 32) == 0
            && CRYPTO_memcmp(sig, mac, 32) == 0)
        {
            matched = 1;
        }
    }

    OPENSSL_cleanse(mac, sizeof(mac));

    if (!matched) {
        return WH_SIG_INVALID;
    }

    return wh_sig_expired(in->now, ts, o->tolerance) ? WH_SIG_EXPIRED
                                                     : WH_SIG_OK;
}


/* Twilio's form parameters, decoded, sorted by name and then value. */

typedef struct {
    const char  *name;
    size_t       nlen;
    const char  *value;
    size_t       vlen;
} wh_sig_param_t;


static int
wh_sig_param_cmp(const void *x, const void *y)
{
    int                    r;
    const wh_sig_param_t  *a = x, *b = y;

    r = memcmp(a->name, b->name, a->nlen < b->nlen ? a->nlen : b->nlen);
    if (r == 0 && a->nlen != b->nlen) {
        return a->nlen < b->nlen ? -1 : 1;
    }

    if (r != 0) {
        return r;
    }

    r = memcmp(a->value, b->value, a->vlen < b->vlen ? a->vlen : b->vlen);
    if (r == 0 && a->vlen != b->vlen) {
        return a->vlen < b->vlen ? -1 : 1;
    }

    return r;
}


/* Form-decodes s[0..len) into out (never longer): the length. */
static size_t
wh_sig_form_decode(const char *s, size_t len, char *out)
{
    int     hi, lo;
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n++] = ' ';

        } else if (s[i] == '%' && len - i > 2
                   && (hi = wh_hexval((unsigned char) s[i + 1])) >= 0
                   && (lo = wh_hexval((unsigned char) s[i + 2])) >= 0)
        {
            out[n++] = (char) (hi << 4 | lo);
            i += 2;

        } else {
            out[n++] = s[i];
        }
    }

    return n;
}


static int
wh_sig_is_form(const wh_sig_input_t *in)
{
    wh_sig_str_t  ct;

    static const char  form[] = "application/x-www-form-urlencoded";

    return wh_sig_header(in, "Content-Type", &ct)
           && ct.len >= sizeof(form) - 1
           && strncasecmp(ct.data, form, sizeof(form) - 1) == 0
           && (ct.len == sizeof(form) - 1
               || ct.data[sizeof(form) - 1] == ';'
               || ct.data[sizeof(form) - 1] == ' ');
}


/* The value of query parameter name in url, not decoded. */
static int
wh_sig_query_param(const wh_sig_input_t *in, const char *name,
    wh_sig_str_t *v)
{
    size_t       n, i, pos;
    const char  *q, *end;

    q = memchr(in->url, '?', in->url_len);
    if (q == NULL) {
        return 0;
    }

    q++;
    end = in->url + in->url_len;
    n = strlen(name);

    for (pos = 0; q + pos <= end; pos = i + 1) {
        for (i = pos; q + i < end && q[i] != '&'; i++) {
            /* void */
        }

        if (i - pos > n && memcmp(q + pos, name, n) == 0 && q[pos + n] == '=')
        {
            v->data = q + pos + n + 1;
            v->len = i - pos - n - 1;
            return 1;
        }
    }

    return 0;
}


/*
 * Twilio: base64 HMAC-SHA1 of the URL followed by each form parameter's
 * name and value, sorted.  A body that is not a form (JSON) is signed
 * through the URL only, whose bodySHA256 query parameter must then be the
 * hex SHA-256 of the body.
 */
static wh_sig_rc_t
wh_sig_twilio(const char *secret, size_t secret_len,
    const wh_sig_input_t *in)
{
    int                ok;
    char              *msg, *text, *o, *w;
    size_t             i, len, pos, np;
    const char        *p, *eq;
    wh_sig_str_t       h, part, bsha;
    wh_sig_param_t    *ps;
    unsigned char      sig[20], mac[WH_SIG_MAX_MAC], dig[32];

    if (!wh_sig_header(in, "X-Twilio-Signature", &h)) {
        return WH_SIG_MISSING;
    }

    if (secret_len == 0 || in->url == NULL
        || wh_b64_decode(h.data, h.len, sig, sizeof(sig)) != 20)
    {
        return WH_SIG_INVALID;
    }

    msg = NULL;
    text = NULL;
    ps = NULL;

    if (wh_sig_is_form(in) && in->body_len > 0) {
        /* one more parameter than '&'s; decoding never makes text longer */
        for (i = 0, np = 1; i < in->body_len; i++) {
            np += (in->body[i] == '&');
        }

        ps = malloc(np * sizeof(wh_sig_param_t));
        text = malloc(in->body_len);
        msg = malloc(in->url_len + in->body_len);

        if (ps == NULL || text == NULL || msg == NULL) {
            ok = 0;
            goto done;
        }

        o = text;
        np = 0;

        for (pos = 0; pos <= in->body_len; pos = i + 1) {
            for (i = pos; i < in->body_len && in->body[i] != '&'; i++) {
                /* void */
            }

            p = in->body + pos;
            len = i - pos;

            if (len == 0) {
                continue;
            }

            eq = memchr(p, '=', len);

            ps[np].name = o;
            ps[np].nlen = wh_sig_form_decode(p, eq ? (size_t) (eq - p) : len,
                                             o);
            o += ps[np].nlen;
            ps[np].value = o;
            ps[np].vlen = eq ? wh_sig_form_decode(eq + 1, p + len - eq - 1, o)
                             : 0;
            o += ps[np].vlen;
            np++;
        }

        qsort(ps, np, sizeof(wh_sig_param_t), wh_sig_param_cmp);

        memcpy(msg, in->url, in->url_len);
        w = msg + in->url_len;

        for (i = 0; i < np; i++) {
            memcpy(w, ps[i].name, ps[i].nlen);
            w += ps[i].nlen;
            memcpy(w, ps[i].value, ps[i].vlen);
            w += ps[i].vlen;
        }

        part.data = msg;
        part.len = w - msg;

    } else {
        part.data = in->url;
        part.len = in->url_len;

        if (wh_sig_query_param(in, "bodySHA256", &bsha)) {
            SHA256((const unsigned char *) in->body, in->body_len, dig);

            if (wh_sig_unhex(bsha.data, bsha.len, mac, 32) != 0
                || CRYPTO_memcmp(mac, dig, 32) != 0)
            {
                return WH_SIG_INVALID;
            }

        } else if (in->body_len > 0) {
            /* a body nothing signs */
            return WH_SIG_INVALID;
        }
    }

    ok = wh_sig_hmac(WH_SIG_SHA1, secret, secret_len, &part, 1, mac) == 20
         && CRYPTO_memcmp(sig, mac, 20) == 0;

    OPENSSL_cleanse(mac, sizeof(mac));

done:

    free(ps);
    free(text);
    free(msg);

    return ok ? WH_SIG_OK : WH_SIG_INVALID;
}


wh_sig_rc_t
wh_sig_verify(const wh_sig_opts_t *o, const char *secret, size_t secret_len,
    const wh_sig_input_t *in)
{
    switch (o->scheme) {

    case WH_SIG_GITHUB:
        return wh_sig_body_mac("X-Hub-Signature-256", "sha256=",
                               WH_SIG_SHA256, WH_SIG_HEX, secret,
                               secret_len, in);

    case WH_SIG_GITLAB:
        return wh_sig_equal_header("X-Gitlab-Token", secret, secret_len, in);

    case WH_SIG_STRIPE:
        return wh_sig_stripe(o, secret, secret_len, in);

    case WH_SIG_SLACK:
        return wh_sig_v0(o, "X-Slack-Signature", "X-Slack-Request-Timestamp",
                         secret, secret_len, in);

    case WH_SIG_ZOOM:
        return wh_sig_v0(o, "x-zm-signature", "x-zm-request-timestamp",
                         secret, secret_len, in);

    case WH_SIG_TWITTER:
        return wh_sig_body_mac("x-twitter-webhooks-signature", "sha256=",
                               WH_SIG_SHA256, WH_SIG_BASE64, secret,
                               secret_len, in);

    case WH_SIG_DROPBOX:
        return wh_sig_body_mac("X-Dropbox-Signature", NULL, WH_SIG_SHA256,
                               WH_SIG_HEX, secret, secret_len, in);

    case WH_SIG_META:
        return wh_sig_body_mac("X-Hub-Signature-256", "sha256=",
                               WH_SIG_SHA256, WH_SIG_HEX, secret,
                               secret_len, in);

    case WH_SIG_PADDLE:
        return wh_sig_paddle(o, secret, secret_len, in);

    case WH_SIG_LINEAR:
        return wh_sig_body_mac("Linear-Signature", NULL, WH_SIG_SHA256,
                               WH_SIG_HEX, secret, secret_len, in);

    case WH_SIG_TWILIO:
        return wh_sig_twilio(secret, secret_len, in);

    case WH_SIG_SHOPIFY:
        return wh_sig_body_mac("X-Shopify-Hmac-Sha256", NULL, WH_SIG_SHA256,
                               WH_SIG_BASE64, secret, secret_len, in);

    case WH_SIG_STANDARD:
        return wh_sig_standard(o, secret, secret_len, in);

    case WH_SIG_DINGTALK:
        return wh_sig_dingtalk(o, secret, secret_len, in);

    case WH_SIG_BASIC:
        return wh_sig_basic(secret, secret_len, in);

    case WH_SIG_TOKEN:
        if (o->header == NULL) {
            return WH_SIG_INVALID;
        }

        return wh_sig_equal_header(o->header, secret, secret_len, in);

    case WH_SIG_HMAC:
        if (o->header == NULL || o->algorithm > WH_SIG_SHA512
            || o->encoding > WH_SIG_BASE64)
        {
            return WH_SIG_INVALID;
        }

        return wh_sig_body_mac(o->header, o->prefix, o->algorithm,
                               o->encoding, secret, secret_len, in);
    }

    return WH_SIG_INVALID;
}
