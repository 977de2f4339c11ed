#!/usr/bin/env bash
# The "At the edge" examples of conf/edge.conf, as `make run` serves them
# (conf/ copied, its fixed ports moved to free ones), with the requests
# the README and tools/run show: verify-then-proxy in front of the stand-in
# app and its dedup, the Meta, Slack and Zoom handshakes, Stripe's dedup on
# the event id; then webhook-worker runs the queued jobs to the end.  TAP.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash
NGINX=${WH_TEST_NGINX:-/usr/sbin/nginx}

require redis-server redis-cli python3 curl openssl "$NGINX"
require_build
scratch edge
NGINX_PID=

cleanup_more() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
}

start_redis

HPORT=$(free_port)
mkdir -p "$TMP/run/tmp/body" "$TMP/run/logs"
cp -r conf "$TMP/conf"
sed -i -e "s|127.0.0.1:8080|127.0.0.1:$HPORT|g" \
       -e "s|127.0.0.1:6390|127.0.0.1:$PORT|g" \
       -e "s|^load_module .*|load_module $ROOT/build/nginx/ngx_http_webhook_module.so;|" \
       -e "s|^error_log .*|error_log $TMP/run/logs/error.log info;|" \
       -e "s|access_log /dev/stdout|access_log $TMP/run/logs/access.log|" \
       "$TMP/conf/nginx.conf" "$TMP/conf/edge.conf"
"$NGINX" -p "$TMP/run/" -c "$TMP/conf/nginx.conf" &
NGINX_PID=$!
wait_port "$HPORT" "$NGINX_PID"
ok $? "nginx serves conf/ on port $HPORT"

base=http://127.0.0.1:$HPORT
hmac() { printf %s "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/.* //'; }
post() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }


# ---- verify GitHub signatures in front of my app

body='{"ref":"refs/heads/main","after":"4f2a","repository":{"full_name":"acme/app"},"commits":[{"id":"4f2a"}],"pusher":{"name":"ann"}}'
sig=$(hmac "It's a Secret to Everybody" "$body")
gh=(-H "X-Hub-Signature-256: sha256=$sig" -H "X-GitHub-Delivery: a-1"
    -H 'Content-Type: application/json' -d "$body" "$base/app/github")

is "$(post "${gh[@]}")" 200 "verify: a signed push is passed to the app"
is "$(cat "$TMP/body")" '{"app":"received","verified":"github"}' \
   "verify: the app is told the scheme that verified"
is "$(post "${gh[@]}")" 200 "verify: the same delivery again"
is "$(cat "$TMP/body")" '{"status":"duplicate"}' \
   "verify: answered duplicate by nginx"
is "$(post -H 'Content-Type: application/json' -d "$body" \
      "$base/app/github")" 401 "verify: unsigned is 401"
like "$(cat "$TMP/body")" '"code":"missing_signature"' \
     "verify: the JSON error of the contract"


# ---- handshakes

is "$(post "$base/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=42")" \
   200 "meta: the verify-token handshake"
is "$(cat "$TMP/body")" 42 "meta: answered with hub.challenge"
is "$(post "$base/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=42")" \
   403 "meta: a wrong token is 403"

wa='{"entry":[{"changes":[{"value":{"messages":[{"from":"15551234567","text":{"body":"hi"}}]}}]}]}'
is "$(post -H "X-Hub-Signature-256: sha256=$(hmac meta-app-secret "$wa")" \
      -H 'Content-Type: application/json' -d "$wa" "$base/hooks/whatsapp")" \
   202 "meta: a signed message is queued"
RAW DEL webhook:jobs >/dev/null

ts=$(date +%s)
sl='{"token":"x","challenge":"c-123","type":"url_verification"}'
is "$(post -H "X-Slack-Request-Timestamp: $ts" \
      -H "X-Slack-Signature: v0=$(hmac slack-signing-secret "v0:$ts:$sl")" \
      -H 'Content-Type: application/json' -d "$sl" "$base/hooks/slack")" \
   200 "slack: the signed url_verification"
is "$(cat "$TMP/body")" '{"challenge":"c-123"}' "slack: the challenge back"

zv='{"event":"endpoint.url_validation","payload":{"plainToken":"tok"}}'
is "$(post -H 'Content-Type: application/json' -d "$zv" "$base/hooks/zoom")" \
   401 "zoom: an unsigned handshake gets no HMAC"
is "$(post -H "x-zm-request-timestamp: $ts" \
      -H "x-zm-signature: v0=$(hmac zoom-secret-token "v0:$ts:$zv")" \
      -H 'Content-Type: application/json' -d "$zv" "$base/hooks/zoom")" \
   200 "zoom: the signed endpoint.url_validation"
is "$(cat "$TMP/body")" \
   "{\"plainToken\":\"tok\",\"encryptedToken\":\"$(hmac zoom-secret-token tok)\"}" \
   "zoom: the HMAC of the plain token"
is "$(RAW XLEN webhook:jobs)" 0 "no handshake was queued"


# ---- Stripe: dedup on the event id

ev='{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1","amount_total":500,"customer_details":{"email":"a@example.org"}}}}'
st=(-H "Stripe-Signature: t=$ts,v1=$(hmac whsec_example "$ts.$ev")"
    -H 'Content-Type: application/json' -d "$ev" "$base/hooks/stripe")
is "$(post "${st[@]}")" 202 "stripe: the event is queued"
first=$(json 'd["executionId"]' <"$TMP/body")
is "$(post "${st[@]}")" 200 "stripe: Stripe's retry of the event"
is "$(json 'd["status"] + " " + d["executionId"]' <"$TMP/body")" \
   "duplicate $first" "stripe: a duplicate of the first execution"
is "$(RAW XLEN webhook:jobs)" 1 "stripe: one job"


# ---- the worker runs it

start_worker
wait_for 10 final "$first"
ok $? "stripe: the execution ended"
is "$(status_of "$first")" 1 "stripe: resolved"
like "$(show "$first")" '"email": *"a@example.org"' \
     "stripe: the set node saw the order"

done_testing
