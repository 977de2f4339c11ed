#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Independent expected values for t/unit/test_sig.c, computed with the
# openssl command line only.  Each line is "NAME VALUE"; the test pastes the
# values, so anyone can recompute and compare them:  sh t/unit/sig-vectors.sh
set -eu

hmac_hex() {    # ALG KEY: hex HMAC of stdin
    openssl dgst "-$1" -hmac "$2" | sed 's/^.*= //'
}

hmac_b64() {    # ALG KEY: base64 HMAC of stdin
    openssl dgst "-$1" -hmac "$2" -binary | openssl base64 -A
}

hmac_hexkey_b64() {    # ALG HEXKEY: base64 HMAC of stdin, binary key
    openssl dgst "-$1" -mac HMAC -macopt "hexkey:$2" -binary \
        | openssl base64 -A
}

# The official vectors, recomputed (GitHub, Slack, Standard Webhooks).
printf '%s' 'Hello, World!' \
    | echo "github sha256=$(hmac_hex sha256 "It's a Secret to Everybody")"

SLACK_BODY='token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J'
SLACK_BODY="$SLACK_BODY&team_domain=testteamnow&channel_id=G8PSS9T3V"
SLACK_BODY="$SLACK_BODY&channel_name=foobar&user_id=U2CERLKJA"
SLACK_BODY="$SLACK_BODY&user_name=roadrunner&command=%2Fwebhook-collect&text="
SLACK_BODY="$SLACK_BODY&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
SLACK_BODY="$SLACK_BODY%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
SLACK_BODY="$SLACK_BODY&trigger_id=398738663015.47445629121"
SLACK_BODY="$SLACK_BODY.803a0bc887a14d10d2c447fce8b6703c"
printf 'v0:1531420618:%s' "$SLACK_BODY" \
    | echo "slack v0=$(hmac_hex sha256 8f742231b10e8888abcd99yyyzzz85a5)"

KEY=$(printf '%s' MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | openssl base64 -d -A \
      | od -An -v -tx1 | tr -d ' \n')
printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' \
    | echo "standard v1,$(hmac_hexkey_b64 sha256 "$KEY")"

# Stripe: the key is the whole whsec_ string, the content "TS.body".
printf '%s' '1700000000.{"id":"evt_1","object":"event"}' \
    | echo "stripe $(hmac_hex sha256 whsec_test_7Qp2mZ9xLk)"

# Shopify: base64 over the body.
printf '%s' '{"id":820982911946154508,"email":"jon@example.com"}' \
    | echo "shopify $(hmac_b64 sha256 shpss_5f1e0c2a)"

# DingTalk: base64 HMAC(secret, timestamp_ms "\n" secret), also URL-encoded
# (a timestamp whose signature holds both '+' and '/').
SECRET=SEC0a1b2c3d4e5f60718293a4b5c6d7e8f9
SIGN=$(printf '1700000000144\n%s' "$SECRET" | hmac_b64 sha256 "$SECRET")
echo "dingtalk $SIGN"
echo "dingtalk-url $(echo "$SIGN" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')"

# Generic hmac over the body "payload=1&x=2".
printf '%s' 'payload=1&x=2' \
    | echo "hmac-sha1 sha1=$(hmac_hex sha1 generic-secret)"
printf '%s' 'payload=1&x=2' \
    | echo "hmac-sha512 $(hmac_hex sha512 generic-secret)"
printf '%s' 'payload=1&x=2' \
    | echo "hmac-sha256-base64 $(hmac_b64 sha256 generic-secret)"

# Basic: base64 of user:password.
printf '%s' 'alice:s3cr3t:with:colons' | echo "basic Basic $(openssl base64 -A)"

# SPEC §10 schemes.  None of these providers publishes a worked example
# with secret, body and signature except Twilio (its docs' auth token 12345
# example, recomputed below); the others are made here with openssl from
# each provider's documented construction.
printf 'v0:1700000000:%s' '{"event":"meeting.started"}' \
    | echo "zoom v0=$(hmac_hex sha256 zoom_secret_token)"
printf '%s' '{"for_user_id":"2244994945"}' \
    | echo "twitter sha256=$(hmac_b64 sha256 tw_consumer_secret)"
printf '%s' '{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb"]}}' \
    | echo "dropbox $(hmac_hex sha256 dropbox_app_secret)"
printf '%s' '{"object":"page","entry":[]}' \
    | echo "meta sha256=$(hmac_hex sha256 meta_app_secret)"
printf '1671552777:%s' '{"event_id":"evt_01h","event_type":"x"}' \
    | echo "paddle ts=1671552777;h1=$(hmac_hex sha256 pdl_ntfset_secret)"
printf '%s' '{"action":"create","type":"Issue"}' \
    | echo "linear $(hmac_hex sha256 lin_wh_secret)"
printf '%s' 'https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212' \
    | echo "twilio $(hmac_b64 sha1 12345)"
BODYSHA=$(printf '%s' '{"a":1}' | openssl dgst -sha256 | sed 's/^.*= //')
echo "twilio-json-sha $BODYSHA"
printf '%s' "https://example.com/hook?bodySHA256=$BODYSHA" \
    | echo "twilio-json $(hmac_b64 sha1 12345)"
