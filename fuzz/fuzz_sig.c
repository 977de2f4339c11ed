/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the signature schemes: the input is split at '\n'
 * into header values (an empty field is an absent header), an option value,
 * a secret and the body; every scheme then verifies it.  Each field is
 * copied to its own exact-size heap buffer, as nginx's header values are not
 * NUL-terminated, so that ASan sees any over-read.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *       -o build/fuzz_sig fuzz/fuzz_sig.c src/core/wh_sig.c -lcrypto
 *   build/fuzz_sig -max_total_time=120
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wh_sig.h"


static const char  *names[] = {
    "X-Hub-Signature-256", "X-Gitlab-Token", "Stripe-Signature",
    "X-Slack-Signature", "X-Slack-Request-Timestamp",
    "X-Shopify-Hmac-Sha256", "webhook-id", "webhook-timestamp",
    "webhook-signature", "timestamp", "sign", "Authorization", "X-Sig",
    "x-zm-signature", "x-zm-request-timestamp",
    "x-twitter-webhooks-signature", "X-Dropbox-Signature",
    "Paddle-Signature", "Linear-Signature", "X-Twilio-Signature",
    "Content-Type"
};

#define NHDRS  (sizeof(names) / sizeof(names[0]))
#define NFIELDS  (NHDRS + 2)          /* + option value, secret */


typedef struct {
    char    *v[NFIELDS];
    size_t   len[NFIELDS];
} fields_t;


static int
get_header(void *data, const char *name, const char **v, size_t *vlen)
{
    size_t     i;
    fields_t  *f = data;

    for (i = 0; i < NHDRS; i++) {
        if (strcasecmp(names[i], name) == 0) {
            if (f->v[i] == NULL) {
                return 0;
            }

            *v = f->v[i];
            *vlen = f->len[i];
            return 1;
        }
    }

    return 0;
}


static void
run(const char *scheme, const char *o1, const char *v1, const char *o2,
    const char *v2, const fields_t *f, wh_sig_input_t *in)
{
    char            err[128];
    size_t          i;
    wh_sig_opts_t   o;
    const int64_t   nows[] = { 1700000000, INT64_MAX, INT64_MIN, 0 };

    static const char  *secrets[] = {
        "It's a Secret to Everybody",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=",
        "alice:s3cr3t"
    };

    if (wh_sig_init(&o, scheme, strlen(scheme)) != 0) {
        abort();
    }

    if ((o1 && wh_sig_option(&o, o1, strlen(o1), v1, strlen(v1), err,
                             sizeof(err)) != 0)
        || (o2 && wh_sig_option(&o, o2, strlen(o2), v2, strlen(v2), err,
                                sizeof(err)) != 0)
        || wh_sig_check(&o, err, sizeof(err)) != 0)
    {
        abort();
    }

    /* the fuzzed option value, where the scheme takes one */
    if (f->v[NHDRS] != NULL) {
        (void) wh_sig_option(&o, "tolerance", 9, f->v[NHDRS],
                             f->len[NHDRS], err, sizeof(err));
    }

    for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        in->now = nows[i];

        if (wh_sig_verify(&o, secrets[i], strlen(secrets[i]), in)
            > WH_SIG_EXPIRED)
        {
            abort();
        }
    }

    if (f->v[NHDRS + 1] != NULL) {
        (void) wh_sig_verify(&o, f->v[NHDRS + 1], f->len[NHDRS + 1], in);
    }

    wh_sig_free(&o);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[128];
    size_t          i, n;
    fields_t        f;
    wh_sig_opts_t   o;
    wh_sig_input_t  in;
    const uint8_t  *p, *end, *nl;
    char           *body;

    memset(&f, 0, sizeof(f));
    p = data;
    end = data + size;

    for (i = 0; i < NFIELDS && p < end; i++) {
        nl = memchr(p, '\n', end - p);
        n = (nl ? nl : end) - p;

        if (n) {
            f.v[i] = malloc(n);
            memcpy(f.v[i], p, n);
            f.len[i] = n;
        }

        p += n + (nl != NULL);
    }

    n = end - p;
    body = malloc(n ? n : 1);
    memcpy(body, p, n);

    in.header = get_header;
    in.data = &f;
    in.body = body;
    in.body_len = n;
    in.url = "https://example.com/hook?bodySHA256=00&x=1";
    in.url_len = strlen(in.url);

    run("github", NULL, NULL, NULL, NULL, &f, &in);
    run("gitlab", NULL, NULL, NULL, NULL, &f, &in);
    run("stripe", NULL, NULL, NULL, NULL, &f, &in);
    run("slack", "tolerance", "1h", NULL, NULL, &f, &in);
    run("shopify", NULL, NULL, NULL, NULL, &f, &in);
    run("standard", NULL, NULL, NULL, NULL, &f, &in);
    run("dingtalk", "tolerance", "0", NULL, NULL, &f, &in);
    run("dingtalk", NULL, NULL, NULL, NULL, &f, &in);
    run("basic", NULL, NULL, NULL, NULL, &f, &in);
    run("token", "header", "X-Sig", NULL, NULL, &f, &in);
    run("hmac", "header", "X-Sig", "prefix", "sha1=", &f, &in);
    run("hmac", "header", "X-Sig", "encoding", "base64", &f, &in);
    run("hmac", "header", "Authorization", "algorithm", "sha512", &f, &in);
    run("zoom", NULL, NULL, NULL, NULL, &f, &in);
    run("twitter", NULL, NULL, NULL, NULL, &f, &in);
    run("dropbox", NULL, NULL, NULL, NULL, &f, &in);
    run("meta", NULL, NULL, NULL, NULL, &f, &in);
    run("paddle", NULL, NULL, NULL, NULL, &f, &in);
    run("linear", NULL, NULL, NULL, NULL, &f, &in);
    run("twilio", NULL, NULL, NULL, NULL, &f, &in);
    in.url_len = 0;
    run("twilio", NULL, NULL, NULL, NULL, &f, &in);
    in.url_len = strlen(in.url);

    /* option parsing with every fuzzed field as a value */
    for (i = 0; i < NFIELDS; i++) {
        if (f.v[i] == NULL) {
            continue;
        }

        wh_sig_init(&o, "hmac", 4);
        (void) wh_sig_option(&o, "header", 6, f.v[i], f.len[i], err,
                             sizeof(err));
        (void) wh_sig_option(&o, "prefix", 6, f.v[i], f.len[i], err,
                             sizeof(err));
        (void) wh_sig_option(&o, f.v[i], f.len[i], "x", 1, err, sizeof(err));
        (void) wh_sig_check(&o, err, sizeof(err));
        wh_sig_free(&o);

        (void) wh_sig_init(&o, f.v[i], f.len[i]);
        wh_sig_free(&o);
    }

    for (i = 0; i < NFIELDS; i++) {
        free(f.v[i]);
    }

    free(body);

    return 0;
}
