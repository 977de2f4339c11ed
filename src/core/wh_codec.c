/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Byte functions of the math engine.  Digests and HMAC are OpenSSL's
 * one-shot functions; the encoders are table-free loops over the input.
 * Every function is one pass: O(n) in its input.
 */

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "wh_codec.h"


static const char  *wh_codec_algs[] = { "md5", "sha1", "sha256", "sha512" };

static const char   wh_codec_hexdig[] = "0123456789abcdef";


static const EVP_MD *
wh_codec_md(int alg)
{
    switch (alg) {
    case 0:
        return EVP_md5();
    case 1:
        return EVP_sha1();
    case 2:
        return EVP_sha256();
    default:
        return EVP_sha512();
    }
}


int
wh_codec_digest_alg(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(wh_codec_algs) / sizeof(char *); i++) {
        if (strlen(wh_codec_algs[i]) == len
            && memcmp(wh_codec_algs[i], name, len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


int
wh_codec_digest(wh_buf_t *b, int alg, const char *s, size_t len)
{
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (EVP_Digest(s, len, md, &n, wh_codec_md(alg), NULL) != 1) {
        return -1;
    }

    wh_codec_hex(b, md, n);

    return b->failed ? -1 : 0;
}


int
wh_codec_hmac(wh_buf_t *b, int alg, const char *key, size_t klen,
    const char *msg, size_t mlen, int base64)
{
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (HMAC(wh_codec_md(alg), key, (int) klen, (const unsigned char *) msg,
             mlen, md, &n)
        == NULL)
    {
        return -1;
    }

    if (base64) {
        wh_codec_base64(b, md, n);

    } else {
        wh_codec_hex(b, md, n);
    }

    OPENSSL_cleanse(md, sizeof(md));

    return b->failed ? -1 : 0;
}


void
wh_codec_base64(wh_buf_t *b, const void *p, size_t len)
{
    size_t  n;

    /* EVP_EncodeBlock takes an int: encode in pieces of whole triples */

    while (len > 0) {
        n = len > 3 * 1024 * 1024 ? 3 * 1024 * 1024 : len;

        if (wh_buf_reserve(b, (n + 2) / 3 * 4) != 0) {
            return;
        }

        b->len += EVP_EncodeBlock((unsigned char *) b->data + b->len, p,
                                  (int) n);
        b->data[b->len] = '\0';
        p = (const char *) p + n;
        len -= n;
    }
}


/* Both alphabets: a sender using base64url loses nothing by it. */
static int
wh_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+' || c == '-') {
        return 62;
    }

    if (c == '/' || c == '_') {
        return 63;
    }

    return -1;
}


/*
 * Number of data characters of base64 text, or WH_B64_BAD.  Padding is
 * optional but, when present, must complete the last quantum.
 */
static size_t
wh_b64_chars(const char *s, size_t len)
{
    size_t  n, pad;

    n = len;
    pad = 0;

    while (n && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }

    if (n % 4 == 1 || (pad && len % 4 != 0)) {
        return WH_B64_BAD;
    }

    return n;
}


/* Decoded length of base64 text, or WH_B64_BAD. */
size_t
wh_b64_len(const char *s, size_t len)
{
    size_t  n;

    n = wh_b64_chars(s, len);
    if (n == WH_B64_BAD) {
        return WH_B64_BAD;
    }

    return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}


/*
 * Decodes into out[0..cap).  Unused trailing bits must be zero, so every
 * value has one encoding.  Returns the length or WH_B64_BAD.
 */
size_t
wh_b64_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
    size_t    n, i, o;
    uint32_t  acc;
    int       v, bits;

    n = wh_b64_chars(s, len);
    if (n == WH_B64_BAD) {
        return WH_B64_BAD;
    }

    if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap) {
        return WH_B64_BAD;
    }

    acc = 0;
    bits = 0;
    o = 0;

    for (i = 0; i < n; i++) {
        v = wh_b64val((unsigned char) s[i]);
        if (v < 0) {
            return WH_B64_BAD;
        }

        acc = acc << 6 | (uint32_t) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    return acc == 0 ? o : WH_B64_BAD;
}


static int
wh_codec_b64space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/*
 * unbase64() is as lenient as atob() and Buffer.from(), unlike the
 * signature schemes' wh_b64_decode(): either alphabet, padding optional,
 * the spaces and line breaks of MIME text skipped, and the unused low
 * bits of the last character ignored.  Only a character outside the
 * alphabets or a length no encoder makes is an error.
 */

int
wh_codec_unbase64(wh_buf_t *b, const char *s, size_t len)
{
    int       v, bits;
    size_t    i, n, pad;
    uint32_t  acc;

    while (len > 0 && wh_codec_b64space(s[len - 1])) {
        len--;
    }

    /* trailing padding: up to two '=' after a length that needs them */
    pad = 0;

    while (len > 0 && s[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }

    for (i = 0, n = 0; i < len; i++) {
        n += !wh_codec_b64space(s[i]);
    }

    if ((pad && (n + pad) % 4 != 0) || n % 4 == 1) {
        return -1;
    }

    if (wh_buf_reserve(b, n / 4 * 3 + 3) != 0) {
        return -1;
    }

    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        if (wh_codec_b64space(s[i])) {
            continue;
        }

        v = wh_b64val((unsigned char) s[i]);
        if (v < 0) {
            return -1;
        }

        acc = acc << 6 | (uint32_t) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            b->data[b->len++] = (char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    b->data[b->len] = '\0';

    return 0;
}


void
wh_codec_hex(wh_buf_t *b, const void *p, size_t len)
{
    size_t          i;
    const uint8_t  *u = p;

    if (wh_buf_reserve(b, 2 * len) != 0) {
        return;
    }

    for (i = 0; i < len; i++) {
        b->data[b->len++] = wh_codec_hexdig[u[i] >> 4];
        b->data[b->len++] = wh_codec_hexdig[u[i] & 0xf];
    }

    b->data[b->len] = '\0';
}


void
wh_codec_urlencode(wh_buf_t *b, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    static const char  upper[] = "0123456789ABCDEF";

    if (wh_buf_reserve(b, 3 * len) != 0) {
        return;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            b->data[b->len++] = (char) c;
            continue;
        }

        b->data[b->len++] = '%';
        b->data[b->len++] = upper[c >> 4];
        b->data[b->len++] = upper[c & 0xf];
    }

    b->data[b->len] = '\0';
}


void
wh_codec_urldecode(wh_buf_t *b, const char *s, size_t len)
{
    int     hi, lo;
    size_t  i;

    if (wh_buf_reserve(b, len) != 0) {
        return;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            b->data[b->len++] = ' ';
            continue;
        }

        if (s[i] == '%' && len - i > 2
            && (hi = wh_hexval((unsigned char) s[i + 1])) >= 0
            && (lo = wh_hexval((unsigned char) s[i + 2])) >= 0)
        {
            b->data[b->len++] = (char) (hi << 4 | lo);
            i += 2;
            continue;
        }

        b->data[b->len++] = s[i];
    }

    b->data[b->len] = '\0';
}
