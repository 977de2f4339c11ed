#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# webhook_viewer and webhook_ledger end to end, with redis-server,
# webhook-worker and nginx on loopback: a refused request is in the
# ledger and replayed (as a new execution with $context.replayOf), an
# execution is retried from a node (the nodes before it keep their
# results), dead letters and workflows are read, actions are refused
# cross-site; then the page in headless Chromium (t/integration/viewer.js,
# playwright-core) with screenshots under build/.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash
require_build
require redis-server curl
scratch viewer

nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$ROOT/build/nginx/ngx_http_webhook_module.so

cleanup_more() {
    "$nginx" -p "$TMP/" -c "$TMP/nginx.conf" -s stop 2>/dev/null
    sleep 0.2
}

start_redis
start_worker
hport=$(free_port)
eport=$(free_port)

# orders: math inline, a record written by the worker, a label from both
cat > "$TMP/orders.json" <<'EOC'
{"key": "orders", "title": "Order totals", "nodes": [
  {"key": "total", "type": "calculation",
   "config": {"engine": "math", "expression": "{{ $context.data.price }} * {{ $context.data.qty }}"}},
  {"key": "big", "type": "condition",
   "config": {"calculation": {"calculator": "gt", "operands": ["{{ $nodes.total }}", 5]}},
   "branches": {
     "true": [{"key": "save", "type": "create",
               "config": {"collection": "orders", "values": {"sku": "{{ $context.data.sku }}"}}}],
     "false": [{"key": "small", "type": "end", "config": {"endStatus": 1}}]}},
  {"key": "label", "type": "set",
   "config": {"values": {"sku": "{{ $context.data.sku }}", "record": "{{ $nodes.save }}"}}}]}
EOC
cat > "$TMP/signed.json" <<'EOC'
{"key": "signed", "nodes": [
  {"key": "echo", "type": "set", "config": {"values": {"got": "{{ $context.data.n }}", "replayOf": "{{ $context.replayOf }}"}}}]}
EOC
cat > "$TMP/answer.json" <<'EOC'
{"key": "answer", "nodes": [
  {"key": "double", "type": "calculation", "config": {"engine": "math", "expression": "{{ $context.data.n }} * 2"}},
  {"key": "where", "type": "set", "config": {"values": {"shop": "{{ $context.params.shop }}"}}},
  {"key": "reply", "type": "response", "config": {"statusCode": 200, "body": {"double": "{{ $nodes.double }}"}}}]}
EOC
cat > "$TMP/fanout.json" <<'EOC'
{"key": "fanout", "title": "Fan-out with a loop", "nodes": [
  {"key": "each", "type": "loop", "config": {"target": "{{ $context.data.items }}"},
   "branches": {"body": [{"key": "double", "type": "calculation",
                          "config": {"engine": "math", "expression": "{{ $scopes.each.item }} * 2"}}]}},
  {"key": "both", "type": "parallel", "config": {"mode": "all"},
   "branches": {"list": [[{"key": "left", "type": "set", "config": {"values": {"a": 1}}}],
                         [{"key": "right", "type": "set", "config": {"values": {"b": 2}}},
                          {"key": "after", "type": "set", "config": {"values": {"c": 3}}}]]}},
  {"key": "strict", "type": "condition",
   "config": {"calculation": {"calculator": "notEqual", "operands": ["{{ $context.data.strict }}", true]}}},
  {"key": "done", "type": "set", "config": {"values": {"ok": true}}}]}
EOC
mkdir -p "$TMP/logs" "$TMP/evil"
# another site's page: a form posted to the viewer (no preflight)
cat > "$TMP/evil/index.html" <<EOC
<!doctype html><title>elsewhere</title>
<form id="f" method="post"
      action="http://127.0.0.1:$hport/viewer?action=replay&amp;request=1"></form>
<script>document.getElementById("f").submit();</script>
EOC
chmod 755 "$TMP" "$TMP/evil"        # nginx's workers serve it
chmod 644 "$TMP/evil/index.html"
cat > "$TMP/nginx.conf" <<EOC
load_module $module;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    webhook_redis $ADDR;
    webhook_ledger 1m;
    server {
        listen 127.0.0.1:$hport;
        location = /orders { webhook orders.json; }
        location = /signed {
            webhook_signature gitlab right-secret;
            webhook signed.json;
        }
        location ~ ^/answer/(?<shop>[a-z]+)\$ {
            webhook_mode sync;
            webhook_signature github right-secret;
            webhook answer.json;
        }
        location = /fanout { webhook fanout.json; }
        location = /small {
            webhook_ledger_body 4;
            webhook signed.json;
        }
        location = /viewer { webhook_viewer; }
    }
    server {
        listen 127.0.0.1:$eport;
        location / { root evil; }
    }
}
EOC
"$nginx" -p "$TMP/" -c "$TMP/nginx.conf"
wait_port "$hport"
V=http://127.0.0.1:$hport/viewer

post() { curl -s -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$hport$1" "${@:3}"; }
token=$(curl -s "$V" | sed -n 's/.*name="webhook-token" content="\([0-9a-f]*\)".*/\1/p')
is "${#token}" 32 "the page embeds a token"

# an order: queued, resolved by the worker
id=$(post /orders '{"sku":"W-42","price":2.5,"qty":4}' | json 'd["executionId"]')
wait_for 10 final "$id"
is "$(status_of "$id")" 1 "the order was resolved"
like "$(curl -s "$V?format=executions&workflow=orders&status=resolved")" \
    "\"id\":\"$id\"" "executions filtered by a status name"
is "$(curl -s "$V?format=executions&workflow=orders&status=failed")" '[]' \
    "... and none failed"
rec=$(curl -s "$V?execution=$id")
like "$rec" '"definition":\{"key":"orders"' "an execution comes with its workflow's definition"
save=$(printf %s "$rec" | json '[j["result"] for j in d["jobs"] if j["nodeKey"]=="save"][0]')

# a loop and a parallel node, and a run that fails in a condition
fid=$(post /fanout '{"items":[1,2,3]}' | json 'd["executionId"]')
wait_for 10 final "$fid"
is "$(status_of "$fid")" 1 "the fan-out resolved"
xid=$(post /fanout '{"items":[],"strict":true}' | json 'd["executionId"]')
wait_for 10 final "$xid"

# a request with the wrong secret: 401, kept in the ledger
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Gitlab-Token: wrong-secret' \
       -H 'Content-Type: application/json' -d '{"n":7}' "http://127.0.0.1:$hport/signed")
is "$code" 401 "a wrong secret is refused"
reqs=$(curl -s "$V?format=requests&outcome=invalid_signature")
like "$reqs" '^\[\{"id":[0-9]+,.*"workflow":"signed".*"status":401,"outcome":"invalid_signature","message":"[^"]+","executionId":null' \
    "the ledger has the 401 with its outcome and message"
rid=$(printf %s "$reqs" | json 'd[0]["id"]')
one=$(curl -s "$V?request=$rid")
like "$one" '"x-gitlab-token":"\[redacted\]"' "the scheme's secret header is redacted"
! grep -q wrong-secret <<<"$one"; ok $? "the secret sent is nowhere in the entry"
like "$one" '"body":"\{\\"n\\":7\}","bodyTruncated":false' "the body is kept"

# actions: POST only, same site only, with the page's token
a() { curl -s -o /dev/null -w '%{http_code}' -X POST "$@"; }
is "$(a "$V?action=replay&request=$rid")" 403 "replay without the token: 403"
is "$(a -H "X-Webhook-Token: $token" -H 'Origin: http://evil.example' \
       "$V?action=replay&request=$rid")" 403 "replay from another origin: 403"
is "$(a -H 'X-Webhook-Token: 0123456789abcdef0123456789abcdef' \
       "$V?action=replay&request=$rid")" 403 "replay with a wrong token: 403"
is "$(curl -s -o /dev/null -w '%{http_code}' "$V?action=replay&request=$rid")" \
    405 "an action by GET: 405"

# replay: the recorded request runs again without the signature check
rep=$(curl -s -X POST -H "X-Webhook-Token: $token" \
      -H "Origin: http://127.0.0.1:$hport" "$V?action=replay&request=$rid")
like "$rep" "^\{\"executionId\":\"[0-9a-f-]{36}\",\"status\":\"queued\",\"replayOf\":$rid\}$" \
    "replay answers the new execution's id"
nid=$(printf %s "$rep" | json 'd["executionId"]')
wait_for 10 final "$nid"
is "$(status_of "$nid")" 1 "the replay ran"
ctx=$(RAW HGET "webhook:execution:$nid" context)
is "$(printf %s "$ctx" | json 'd["replayOf"]')" "$rid" '$context.replayOf is the ledger id'
is "$(printf %s "$ctx" | json 'd["data"]["n"]')" 7 "the replay has the recorded body"
is "$(printf %s "$ctx" | json 'd["headers"]["x-gitlab-token"]')" "[redacted]" \
    "the replay has the redacted headers"

# retry from "label": "save" (the worker's create) is not run again
ret=$(curl -s -X POST -H "X-Webhook-Token: $token" \
      "$V?action=retry&execution=$id&from=label")
like "$ret" "^\{\"executionId\":\"[0-9a-f-]{36}\",\"status\":\"queued\",\"retryOf\":\"$id\"\}$" \
    "retry answers the new execution's id"
tid=$(printf %s "$ret" | json 'd["executionId"]')
wait_for 10 final "$tid"
is "$(status_of "$tid")" 1 "the retry ran"
again=$(curl -s "$V?execution=$tid" | json '[j["result"] for j in d["jobs"] if j["nodeKey"]=="save"][0]')
is "$again" "$save" "the retry from label reused save's result"
is "$(RAW HLEN webhook:collection:orders)" 1 "no second record was created"
ret=$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=retry&execution=$id")
tid2=$(printf %s "$ret" | json 'd["executionId"]')
wait_for 10 final "$tid2"
is "$(RAW HLEN webhook:collection:orders)" 2 "a whole retry runs save again"
like "$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=retry&execution=$id&from=nope")" \
    '"code":"not_found"' "retry from a node that did not run: 404"
like "$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=retry&execution=nope")" \
    '"code":"not_found"' "retry of an unknown execution: 404"

# a sync workflow (inline, with a response node) replays through the worker
curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"n":21}' \
    "http://127.0.0.1:$hport/answer/acme"
sid=$(curl -s "$V?format=requests&workflow=answer&outcome=missing_signature" | json 'd[0]["id"]')
sx=$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=replay&request=$sid" \
     | json 'd["executionId"]')
wait_for 10 final "$sx"
is "$(status_of "$sx")" 1 "an unsigned sync request replays, and resolves"
is "$(curl -s "$V?execution=$sx" | json '[j["result"] for j in d["jobs"] if j["nodeKey"]=="double"][0]')" \
   42 "... with the recorded body"
is "$(curl -s "$V?execution=$sx" | json '[j["result"] for j in d["jobs"] if j["nodeKey"]=="where"][0]["shop"]')" \
   acme "... and the location's regex captures"

# what cannot be replayed says why
curl -s -o /dev/null -H 'Content-Type: image/png' -d 'xx' "http://127.0.0.1:$hport/signed"
curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"n":12345}' \
    "http://127.0.0.1:$hport/small"
u=$(curl -s "$V?format=requests&outcome=unsupported_media_type" | json 'd[0]["id"]')
c=$(curl -s "$V?format=requests&workflow=signed&limit=1" | json 'd[0]["id"]')
like "$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=replay&request=$u")" \
    '"code":"conflict","message":"the body.s type is not one a workflow takes' \
    "replay of a 415: 409 conflict"
like "$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=replay&request=$c")" \
    '"code":"conflict","message":"the ledger kept only part of the body' \
    "replay of a cut body: 409 conflict"
like "$(curl -s -X POST -H "X-Webhook-Token: $token" "$V?action=replay&request=99999")" \
    '"code":"not_found"' "replay of an unknown request: 404"

# webhookctl retry --from does the same
if "$CTL" --redis "$ADDR" retry "$id" --from label >"$TMP/ctl.out" 2>&1; then
    cid=$(cat "$TMP/ctl.out")
    wait_for 10 final "$cid"
    is "$(RAW HLEN webhook:collection:orders)" 2 "webhookctl retry --from label reuses save"
else
    ok 1 "webhookctl retry --from: $(cat "$TMP/ctl.out")"
fi

# dead letters: a job whose revision Redis does not have
R XADD webhook:jobs '*' execution "$(uuid7)" workflow ghost revision \
    "$(printf '%064d' 0)" context '{}' >/dev/null
wait_for 10 bash -c "[ \"\$(redis-cli -p $PORT XLEN webhook:dead)\" -ge 1 ]"
dead=$(curl -s "$V?format=dead")
like "$dead" '^\[\{.*"id":"[0-9]+-[0-9]+"' "dead letters are listed, with their stream ids"
like "$dead" '"workflow":"ghost"' "... the job's fields"
like "$dead" '"error":"workflow revision 0+ is not in Redis"' "... and the error"

wfs=$(curl -s "$V?format=workflows")
like "$wfs" '^\[\{"key":"orders","title":"Order totals","enabled":true,"mode":"async","revision":"[0-9a-f]{64}","queue":"webhook:jobs","queueDepth":[0-9]+,"paused":false,"received":[0-9]+,' \
    "workflows: state, queue depth, counters"
like "$wfs" '"minutes":\[(\{"minute":[0-9]+,"count":[0-9]+,"p50":[0-9a-z]+,"p99":[0-9a-z]+\},?){15}\]' \
    "workflows: the last 15 minutes"
like "$wfs" '"definition":\{"key":"signed"' "workflows: each definition"
R SADD webhook:paused signed >/dev/null
like "$(curl -s "$V?format=workflows")" '"key":"signed",.*"paused":true' \
    "a workflow in webhook:paused shows paused"
R DEL webhook:paused >/dev/null

# the page in Chromium
if [ -x /usr/bin/chromium ] && [ -d build/pw/node_modules/playwright-core ]; then
    mkdir -p build/viewer
    NODE_PATH=$ROOT/build/pw/node_modules timeout 120 node t/integration/viewer.js \
        "$V" "http://127.0.0.1:$eport/" "$id" "$rid" "$ROOT/build/viewer" "$TMP/chromium" \
        "$fid" "$xid"
    r=$?
    ok $r "the page in headless Chromium (build/viewer/*.png)"
else
    echo "# skipped: chromium or playwright-core (tools/setup) missing"
fi

! grep -qE '\[(alert|crit|emerg)\]|signal 11' "$TMP/logs/error.log"
ok $? "no alert or crash in nginx's error log"
done_testing
