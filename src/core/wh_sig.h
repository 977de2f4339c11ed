/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Webhook signature schemes (SPEC §3).  All comparisons are constant time
 * (CRYPTO_memcmp).  Nothing here logs or copies a secret.
 */

#ifndef WH_SIG_H
#define WH_SIG_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    WH_SIG_GITHUB, WH_SIG_GITLAB, WH_SIG_STRIPE, WH_SIG_SLACK,
    WH_SIG_SHOPIFY, WH_SIG_STANDARD, WH_SIG_DINGTALK, WH_SIG_BASIC,
    WH_SIG_TOKEN, WH_SIG_HMAC, WH_SIG_ZOOM, WH_SIG_TWITTER, WH_SIG_DROPBOX,
    WH_SIG_META, WH_SIG_PADDLE, WH_SIG_LINEAR, WH_SIG_TWILIO
} wh_sig_scheme_t;

#define WH_SIG_LAST  WH_SIG_TWILIO

typedef enum {
    WH_SIG_OK = 0,
    WH_SIG_MISSING,          /* a header the scheme needs is absent */
    WH_SIG_INVALID,          /* present but does not verify, or malformed */
    WH_SIG_EXPIRED           /* verifies, timestamp outside tolerance */
} wh_sig_rc_t;

typedef enum { WH_SIG_SHA1, WH_SIG_SHA256, WH_SIG_SHA512 } wh_sig_alg_t;
typedef enum { WH_SIG_HEX, WH_SIG_BASE64 } wh_sig_enc_t;

typedef struct {
    wh_sig_scheme_t   scheme;
    char             *header;       /* token, hmac: header=NAME (malloc) */
    wh_sig_alg_t      algorithm;    /* hmac */
    wh_sig_enc_t      encoding;     /* hmac */
    char             *prefix;       /* hmac: prefix=STR, NULL for none */
    int64_t           tolerance;    /* seconds; 0 = no check */
} wh_sig_opts_t;

/* Sets defaults for the scheme; -1 for an unknown name. */
int wh_sig_init(wh_sig_opts_t *o, const char *scheme, size_t len);

/* One name=value option; -1 with a message in err. */
int wh_sig_option(wh_sig_opts_t *o, const char *name, size_t nlen,
    const char *value, size_t vlen, char *err, size_t errlen);

/* After all options: required ones present?  -1 with a message. */
int wh_sig_check(const wh_sig_opts_t *o, char *err, size_t errlen);

void wh_sig_free(wh_sig_opts_t *o);


typedef struct {
    /* Returns 1 and sets *v, *vlen when the header (case-insensitive) is
     * present, 0 otherwise. */
    int          (*header)(void *data, const char *name, const char **v,
                           size_t *vlen);
    void          *data;
    const char    *body;
    size_t         body_len;
    int64_t        now;           /* Unix seconds */
    /* twilio: the URL the sender requested (scheme://host[:port]/uri?q) */
    const char    *url;
    size_t         url_len;
} wh_sig_input_t;

wh_sig_rc_t wh_sig_verify(const wh_sig_opts_t *o, const char *secret,
    size_t secret_len, const wh_sig_input_t *in);

/* Combines the results of several lines: OK wins, then EXPIRED, then
 * INVALID, then MISSING. */
wh_sig_rc_t wh_sig_combine(wh_sig_rc_t a, wh_sig_rc_t b);

#endif /* WH_SIG_H */
