#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The wait node and webhook_resume (SPEC §11) end to end: nginx queues a
# job, a worker stops it in a wait node, the execution holds no worker
# slot and no stream entry while it waits, every worker is killed -9, a
# POST to the resume URL (HMAC token) queues it again, and a new worker
# finishes it with the body as the node's result.  Also: 403/404/409,
# $execution.resumeUrl(s), a timeout with and without "default".  Real
# redis-server, nginx and two webhook-worker processes on loopback.  TAP.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli curl openssl
require_build
scratch flowwait
top=$PWD
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$top/build/nginx/ngx_http_webhook_module.so
PIDS=()
SECRET=s3cret-of-resumes

cleanup_more() {
    local p
    for p in "${PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    "$nginx" -p "$TMP/" -c "$TMP/nginx.conf" -s stop 2>/dev/null
}

[ -f "$module" ] || { echo "Bail out! $module missing"; exit 1; }

start_redis
HTTP=$(free_port)
BASE="http://127.0.0.1:$HTTP/resume/"
printf '%s\n' "$SECRET" >"$TMP/secret"

cat >"$TMP/approval.json" <<'EOF'
{ "key": "approval", "nodes": [
  { "key": "link", "type": "set",
    "config": { "values": { "url": "{{ $execution.resumeUrl }}",
                            "late": "{{ $execution.resumeUrls.late }}" } } },
  { "key": "approve", "type": "wait", "config": {} },
  { "key": "after", "type": "set",
    "config": { "values": { "ok": "{{ $nodes.approve.ok }}", "by": "{{ $nodes.approve.by }}",
                            "next": "{{ $execution.resumeUrl }}" } } },
  { "key": "late", "type": "wait", "config": { "timeout": 300, "default": { "d": 1 } } },
  { "key": "out", "type": "output", "config": { "value": "{{ $nodes.late }}" } } ] }
EOF

cat >"$TMP/strict.json" <<'EOF'
{ "key": "strict", "nodes": [
  { "key": "w", "type": "wait", "config": { "timeout": 200 } } ] }
EOF

cat >"$TMP/early.json" <<'EOF'
{ "key": "early", "nodes": [
  { "key": "d", "type": "delay", "config": { "duration": 3000 } },
  { "key": "w", "type": "wait", "config": {} },
  { "key": "out", "type": "output", "config": { "value": "{{ $nodes.w }}" } } ] }
EOF

cat >"$TMP/quick.json" <<'EOF'
{ "key": "quick", "nodes": [
  { "key": "s", "type": "set", "config": { "values": { "n": "{{ $context.data.n }}" } } },
  { "key": "d", "type": "delay", "config": { "duration": 1 } } ] }
EOF

mkdir -p "$TMP/logs"
cat >"$TMP/nginx.conf" <<EOF
load_module $module;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    webhook_redis $ADDR;
    server {
        listen 127.0.0.1:$HTTP;
        location = /approval { webhook approval.json; }
        location = /strict { webhook strict.json; }
        location = /quick { webhook quick.json; }
        location = /early { webhook early.json; }
        location /resume/ { webhook_resume $SECRET; }
    }
}
EOF

"$nginx" -p "$TMP/" -c "$TMP/nginx.conf" 2>"$TMP/nginx.start"
ok $? "nginx starts with webhook_resume"
wait_port "$HTTP"

workers() {     # N: --concurrency 1 each, so a held slot would show
    local i
    for i in $(seq 1 "$1"); do
        "$WORKER" --redis "$ADDR" "${ALLOW_NET[@]}" "${WORKER_OPTS[@]}" --consumer "w$i-$RANDOM" \
            --concurrency 1 --claim-after 2s \
            --resume-url "${RESUME_BASE:-$BASE}" --resume-secret-file "$TMP/secret" \
            2>>"$TMP/worker.log" &
        PIDS+=($!)
    done
}

kill_workers() {
    local p
    for p in "${PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    PIDS=()
} 2>/dev/null

post() {        # PATH BODY: the answer's body, then its status on a line
    curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
        -d "$2" "http://127.0.0.1:$HTTP$1"
}

queue_http() {  # PATH BODY: the execution id
    post "$1" "$2" | head -1 | sed -n 's/.*"executionId":"\([^"]*\)".*/\1/p'
}

token() {       # ID NODE
    printf '%s' "$1/$2" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1
}

waits_in() {    # ID NODE
    [ "$(RAW HGET "webhook:execution:$1" waiting)" == "$2" ]
}

job() { show "$1" | json "$2"; }

workers 2

# ---- three executions wait; the slots stay free

ids=()
for i in 1 2 3; do
    ids+=("$(queue_http /approval "{\"n\":$i}")")
done
like "${ids[0]}" '^[0-9a-f-]{36}$' "nginx queued an approval ($((${#ids[@]})) of them)"

for id in "${ids[@]}"; do
    wait_for 60 waits_in "$id" approve || echo "# $id does not wait" >&2
done
waiting=0
for id in "${ids[@]}"; do
    waits_in "$id" approve && waiting=$((waiting + 1))
done
is "$waiting" 3 "the 3 executions wait in node approve"
is "$(status_of "${ids[0]}")" 0 "a waiting execution's status is 0 (started)"
is "$(R XPENDING webhook:jobs webhook-workers | head -1)" 0 \
    "no stream entry is pending for them"
list=$("$CTL" --redis "$ADDR" executions --workflow approval)
is "$(grep -c ' waiting ' <<<"$list")" 3 "webhookctl executions lists them as waiting"
list=$("$CTL" --redis "$ADDR" executions --status waiting)
is "$(wc -l <<<"$list")" 3 "executions --status waiting lists those 3 only"
is "$(job "${ids[0]}" 'd["waiting"]')" approve "webhookctl show has waiting: approve"

qid=$(queue_http /quick '{"n":7}')
wait_for 60 final "$qid"
is "$(status_of "$qid")" 1 \
    "two --concurrency 1 workers still run other work: waits hold no slot"

# ---- every worker killed -9; the waits are in Redis only

kill_workers
workers 2

id=${ids[0]}
tok=$(token "$id" approve)

out=$(post "/resume/$id/approve?token=$(token "$id" other)" '{}')
is "$(tail -1 <<<"$out")" 403 "a token of another node: 403"
# the last digit changed (a fixed "0" would be the token itself 1 in 16)
bad=${tok:0:63}$([ "${tok:63}" = 0 ] && echo 1 || echo 0)
out=$(post "/resume/$id/approve?token=$bad" '{}')
is "$(tail -1 <<<"$out")" 403 "a wrong token: 403"
out=$(post "/resume/$id/late?token=$(token "$id" late)" '{}')
is "$(tail -1 <<<"$out")" 409 "a node it does not wait in: 409"
nid=01900000-0000-7000-8000-0000000000ff
out=$(post "/resume/$nid/approve?token=$(token "$nid" approve)" '{}')
is "$(tail -1 <<<"$out")" 404 "no such execution: 404"
out=$(post "/resume/$id/approve?token=$tok" '{"ok": tru')
is "$(tail -1 <<<"$out")" 400 "a body that is not JSON: 400"
waits_in "$id" approve
ok $? "none of these resumed it"

out=$(post "/resume/$id/approve?token=$tok" '{"ok":true,"by":"ann"}')
is "$out" "{\"executionId\":\"$id\",\"status\":\"resumed\"}
200" "the right token: 200 resumed"
out=$(post "/resume/$id/approve?token=$tok" '{"ok":false}')
is "$(tail -1 <<<"$out")" 409 "a second POST: 409, it resumes once"

wait_for 60 final "$id"
is "$(status_of "$id")" 1 "after a kill -9 of every worker, the resumed execution resolves"
rec=$(show "$id")
is "$(json '[j["result"] for j in d["jobs"] if j["nodeKey"] == "approve"][0]' <<<"$rec")" \
    '{"by":"ann","ok":true}' "the POSTed body is the wait node's result"
is "$(json '[j["result"] for j in d["jobs"] if j["nodeKey"] == "after"][0]' <<<"$rec")" \
    "{\"by\":\"ann\",\"next\":\"${BASE}$id/late?token=$(token "$id" late)\",\"ok\":true}" \
    "later nodes see it; \$execution.resumeUrl is the next wait's URL"
is "$(json '[j["result"] for j in d["jobs"] if j["nodeKey"] == "link"][0]' <<<"$rec")" \
    "{\"late\":\"${BASE}$id/late?token=$(token "$id" late)\",\"url\":\"${BASE}$id/approve?token=$tok\"}" \
    "\$execution.resumeUrl and resumeUrls.<key>: <base><id>/<node>?token=<hex HMAC>"
is "$(json 'd["output"]' <<<"$rec")" '{"d":1}' \
    "the second wait timed out and resolved with its default"
is "$(json '"waiting" in d' <<<"$rec")" false "the record no longer waits"

# ---- resumed while no worker runs at all

kill_workers
id2=${ids[1]}
out=$(post "/resume/$id2/approve?token=$(token "$id2" approve)" '{"ok":false,"by":"bob"}')
is "$(tail -1 <<<"$out")" 200 "resumed while no worker runs"
workers 1
wait_for 60 final "$id2"
is "$(status_of "$id2")" 1 "a worker started later finishes it"
is "$(job "$id2" '[j["result"] for j in d["jobs"] if j["nodeKey"] == "after"][0]["by"]')" bob \
    "with its body"

# ---- a timeout without default fails

sid=$(queue_http /strict '{}')
wait_for 60 final "$sid"
is "$(status_of "$sid")" -1 "a wait that times out without default fails"
like "$(job "$sid" 'd["error"]')" 'timed out' "saying it timed out"

# ---- a callback that comes before the wait node is reached

eid=$(queue_http /early '{}')
started() { [ "$(status_of "$1")" == 0 ]; }
wait_for 60 started "$eid"
out=$(post "/resume/$eid/w?token=$(token "$eid" w)" '{"early":true}')
is "$(tail -1 <<<"$out")" 200 "a callback during the delay before the wait: 200"
wait_for 60 final "$eid"
is "$(status_of "$eid")" 1 "the execution resolves"
is "$(job "$eid" 'd["output"]')" '{"early":true}' "the wait took the early body"
! grep -q "$eid: waits in" "$TMP/worker.log"
ok $? "without waiting at all"

# ---- a --resume-url without its final slash names the same location

kill_workers
RESUME_BASE=${BASE%/}
workers 1
RESUME_BASE=
nid=$(queue_http /approval '{"n":4}')
wait_for 15 waits_in "$nid" approve
out=$(post "/resume/$nid/approve?token=$(token "$nid" approve)" '{}')
is "$(tail -1 <<<"$out")" 200 "--resume-url ${BASE%/} (no final slash): resumed"
wait_for 20 final "$nid"
is "$(job "$nid" '[j["result"] for j in d["jobs"] if j["nodeKey"] == "link"][0]["url"]')" \
    "${BASE}$nid/approve?token=$(token "$nid" approve)" \
    "and its URLs were those of ${BASE}"
timeout 10 "$WORKER" --redis "$ADDR" --resume-url "${BASE}?x=1" --resume-secret-file "$TMP/secret" \
    2>"$TMP/badurl.err"
is $? 2 "a --resume-url with a query is refused"

# the third one still waits, untouched
waits_in "${ids[2]}" approve
ok $? "the execution nobody resumed still waits"

! grep -q '\[alert\]' "$TMP/logs/error.log"
ok $? "no alert in nginx's error log"

done_testing
