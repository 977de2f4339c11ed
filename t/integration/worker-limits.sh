#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Limits of webhook-worker against a real redis-server, TAP:
#   1. options.timeout (SPEC §4): a run still going after it is aborted
#      (-3) with its nodes in flight cancelled (a request, a script, a
#      parallel node with a request and a delay), final at once: no
#      retry, no dead letter; a sync caller gets the -3 published, and
#      through nginx (when the module is built) a 500 workflow_failed.
#   2. The job stream does not grow: an entry is deleted in the
#      transaction that makes its record final, and only then (a running
#      job and a job awaiting its retry keep theirs).
#   3. 1000 request nodes in flight in one worker process (--concurrency
#      1000, an upstream answering after 1 s), started with a soft limit
#      of 256 descriptors that the worker raises to the hard limit.
# Self-contained: its own redis-server, worker, Python upstream and nginx.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

NGINX=${WH_TEST_NGINX:-/usr/sbin/nginx}
MODULE=${WH_TEST_MODULE:-$ROOT/build/nginx/ngx_http_webhook_module.so}
UP_PID=
NGINX_PID=

require redis-server redis-cli python3
require_build
scratch limits

cleanup_more() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null
}

field() { RAW HGET "webhook:execution:$1" "$2"; }
pending() { R XPENDING "$1" webhook-workers | head -1; }

# ms between the record's startedAt and finishedAt
duration() {
    { field "$1" startedAt; field "$1" finishedAt; } | $PY -c '
import sys, datetime
try:
    t = [datetime.datetime.strptime(l.strip(), "%Y-%m-%dT%H:%M:%S.%fZ")
         for l in sys.stdin]
    print(int((t[1] - t[0]).total_seconds() * 1000))
except Exception:
    print(-1)'
}

start_worker() {    # LOG ARGS...
    local log=$1
    shift
    "$WORKER" --redis "$ADDR" "${ALLOW_NET[@]}" --claim-after 5s "$@" 2>>"$log" &
    WORKER_PID=$!
}

enqueue() {     # QUEUE ID WORKFLOW REVISION CONTEXT [FIELD VALUE...]
    local q=$1 id=$2 wf=$3 rev=$4 ctx=$5
    shift 5
    R XADD "$q" '*' execution "$id" workflow "$wf" revision "$rev" \
        context "$ctx" "$@" >/dev/null
}


# ---- redis-server

start_redis
is "$(R ping)" PONG "redis-server runs on port $PORT"


# ---- the upstream (t/integration/upstream.py): answers after ?ms=N ms,
# /stats says how many it had in flight at once

serve UPORT "$TMP/up.log" "$PY" t/integration/upstream.py
ok $? "the upstream runs on port $UPORT"
UP_PID=$SERVE_PID
UP=http://127.0.0.1:$UPORT
DEAD_PORT=$(free_port)


# ---- 1. options.timeout

cat >"$TMP/t-req.json" <<EOF
{ "key": "t-req", "options": { "timeout": 500 }, "nodes": [
    { "key": "pre", "type": "set", "config": { "values": { "a": 1 } } },
    { "key": "call", "type": "request",
      "config": { "method": "GET", "url": "$UP/slow?ms=3000", "timeout": 10000 } },
    { "key": "post", "type": "set", "config": { "values": { "b": 2 } } } ] }
EOF

cat >"$TMP/t-script.json" <<'EOF'
{ "key": "t-script", "options": { "timeout": 500 }, "nodes": [
    { "key": "spin", "type": "script",
      "config": { "content": "while (true) {}", "timeout": 10000 } } ] }
EOF

cat >"$TMP/t-par.json" <<EOF
{ "key": "t-par", "options": { "timeout": 700 }, "nodes": [
    { "key": "both", "type": "parallel", "config": { "mode": "all" },
      "branches": { "list": [
        [ { "key": "call", "type": "request",
            "config": { "url": "$UP/slow?ms=3000", "timeout": 10000 } } ],
        [ { "key": "quick", "type": "set", "config": { "values": { "q": 1 } } },
          { "key": "wait", "type": "delay", "config": { "duration": 5000 } } ]
      ] } },
    { "key": "after", "type": "set", "config": { "values": { "x": 1 } } } ] }
EOF

cat >"$TMP/t-fast.json" <<EOF
{ "key": "t-fast", "options": { "timeout": 1500 }, "nodes": [
    { "key": "call", "type": "request", "config": { "url": "$UP/slow?ms=100" } } ] }
EOF

cat >"$TMP/t-none.json" <<EOF
{ "key": "t-none", "options": { "timeout": 0 }, "nodes": [
    { "key": "call", "type": "request", "config": { "url": "$UP/slow?ms=1200" } } ] }
EOF

for f in t-req t-script t-par t-fast t-none; do
    eval "REV_${f#t-}=\$(\"\$CTL\" --redis \"\$ADDR\" publish \"\$TMP/$f.json\")"
done
like "$REV_req $REV_script $REV_par $REV_fast $REV_none" \
     '^[0-9a-f]{64}( [0-9a-f]{64}){4}$' "five workflows published"

Q=webhook:jobs
A=$(uuid7); B=$(uuid7); C=$(uuid7); D=$(uuid7); E=$(uuid7); S=$(uuid7)

: >"$TMP/sub"
(timeout 10 redis-cli -p "$PORT" --raw SUBSCRIBE "webhook:test:reply:$S" \
    >"$TMP/sub" 2>&1 &)
wait_for 3 eval 'grep -q subscribe "$TMP/sub"'

enqueue $Q "$A" t-req "$REV_req" '{"data":null}'
enqueue $Q "$B" t-script "$REV_script" '{"data":null}'
enqueue $Q "$C" t-par "$REV_par" '{"data":null}'
enqueue $Q "$D" t-fast "$REV_fast" '{"data":null}'
enqueue $Q "$E" t-none "$REV_none" '{"data":null}'
enqueue $Q "$S" t-req "$REV_req" '{"data":null}' reply "webhook:test:reply:$S"

start_worker "$TMP/worker1.log" --max-attempts 3

final() { case "$(status_of "$1")" in 1|-1|-2|-3) return 0 ;; esac; return 1; }
all_final() { local id; for id in "$@"; do final "$id" || return 1; done; }

wait_for 10 all_final "$A" "$B" "$C" "$S"
ok $? "the timed-out runs end"
ERR='the execution exceeded options.timeout (500 ms)'

is "$(status_of "$A"),$(field "$A" error)" "-3,$ERR" \
   "a request slower than options.timeout: aborted (-3), saying why"
T=$(duration "$A")
ok $(( T >= 480 && T < 2000 ? 0 : 1 )) \
   "... after about 500 ms ($T ms from startedAt to finishedAt)"
is "$(field "$A" jobs | json '[(j["nodeKey"], j["status"], j.get("error")) for j in d]')" \
   "[[\"pre\",1,null],[\"call\",-3,\"$ERR\"]]" \
   "... the request in flight is recorded aborted, nothing after it ran"
is "$(field "$A" attempts),$(RAW HEXISTS "webhook:execution:$A" nextAttemptAt)" \
   "1,0" "... one attempt, no retry planned"

is "$(status_of "$B"),$(field "$B" error)" "-3,$ERR" \
   "a script that spins: aborted at options.timeout"
T=$(duration "$B")
ok $(( T >= 480 && T < 2000 ? 0 : 1 )) "... after about 500 ms ($T ms)"
is "$(field "$B" jobs | json '[(j["nodeKey"], j["status"]) for j in d]')" \
   '[["spin",-3]]' "... its job aborted"
sleep 0.2
# script processes are children of the worker's one child, the helper
HELPER=$(pgrep -P "$WORKER_PID")
is "$(for p in $HELPER; do pgrep -P "$p"; done | wc -l)" 0 \
   "... and its process is gone"

PERR='the execution exceeded options.timeout (700 ms)'
is "$(status_of "$C"),$(field "$C" error)" "-3,$PERR" \
   "a parallel node with a request and a delay: aborted"
T=$(duration "$C")
ok $(( T >= 680 && T < 2200 ? 0 : 1 )) "... after about 700 ms ($T ms)"
is "$(field "$C" jobs | json 'sorted((j["nodeKey"], j["status"], j.get("error")) for j in d)')" \
   "[[\"both\",-3,\"$PERR\"],[\"call\",-3,\"$PERR\"],[\"quick\",1,null],[\"wait\",-3,\"$PERR\"]]" \
   "... both branches' nodes in flight and the parallel node recorded aborted"
is "$(R ZSCORE webhook:delayed "$C")$(RAW HKEYS "webhook:execution:$C" | grep -c '^delay:')" \
   "0" "... the delay's due time is forgotten"

wait_for 5 eval 'grep -q "\"status\":-3" "$TMP/sub"'
is "$(grep '^{' "$TMP/sub")" \
   "{\"execution\":\"$S\",\"status\":-3,\"error\":\"$ERR\",\"response\":null}" \
   "a sync job: the caller gets status -3 and the reason published"

wait_for 10 all_final "$D" "$E"
is "$(status_of "$D")" 1 "a run that ends within options.timeout resolves"
is "$(status_of "$E"),$(field "$E" jobs | json 'd[0]["result"]["data"]')" \
   '1,{"slept":1200}' "options.timeout 0: no limit"

is "$(R XLEN webhook:dead)" 0 "an aborted run is no dead letter"
is "$(pending $Q)" 0 "... and is acknowledged"
sleep 1.5       # a retry would come 1 s after the first attempt
is "$(field "$A" attempts),$(status_of "$A"),$(field "$S" attempts)" "1,-3,1" \
   "... and never retried"
kill -0 "$WORKER_PID" 2>/dev/null
ok $? "the worker lives on past the deadlines of the runs that ended early"
like "$(cat "$TMP/worker1.log")" \
     "$A t-req aborted [0-9]+ms the execution exceeded options\.timeout \(500 ms\)" \
     "the log line says aborted and why"


# ---- 2. the stream keeps only what is not final

# final entries leave the stream at once when the worker is idle, within
# 50 ms when it is busy (one trim for many, not an XDEL each)
wait_for 2 eval '[ "$(R XLEN $Q)" == 0 ]'
ok $? "every final job's entry is gone from the stream"

cat >"$TMP/t-mix.json" <<EOF
{ "key": "t-mix", "nodes": [
    { "key": "call", "type": "request",
      "config": { "url": "$UP/slow?ms={{ \$context.data.ms }}&status={{ \$context.data.st }}",
                  "timeout": 3000 } },
    { "key": "check", "type": "condition",
      "config": { "calculation": { "calculator": "equal",
                                   "operands": ["{{ \$context.data.ok }}", true] } } } ] }
EOF
REV_mix=$("$CTL" --redis "$ADDR" publish "$TMP/t-mix.json")

F=$(uuid7); G=$(uuid7); H=$(uuid7); I=$(uuid7); J=$(uuid7)
enqueue $Q "$F" t-mix "$REV_mix" "{\"data\":{\"ms\":1500,\"ok\":true}}"
enqueue $Q "$G" t-mix "$REV_mix" "{\"data\":{\"ms\":10,\"ok\":false}}"
enqueue $Q "$H" t-mix "$REV_mix" "{\"data\":{\"ms\":0,\"st\":503,\"ok\":true}}"
enqueue $Q "$I" t-mix "$(printf '%064d' 0)" '{"data":null}'
# a delivery of an execution that is final already
R HSET "webhook:execution:$J" status 1 workflow t-mix >/dev/null
enqueue $Q "$J" t-mix "$REV_mix" '{"data":null}'

wait_for 5 eval '[ "$(status_of "$H")" == -6 ] && final "$G" && final "$I"'
ok $? "running: F in its request, G failed, H awaits its retry, I dead"
wait_for 2 eval '[ "$(R XLEN $Q)" == 2 ]'
ok $? "the running job and the one awaiting its retry keep their entries (50 ms and more later)"
is "$(R XRANGE $Q - + | grep -Ec "^($F|$H)\$")" 2 "... they are F and H"
is "$(pending $Q)" 2 "... both pending"

wait_for 8 all_final "$F" "$H"
is "$(status_of "$F"),$(status_of "$G"),$(status_of "$H"),$(status_of "$I"),$(status_of "$J")" \
   "1,-1,-2,-2,1" "F resolved, G failed, H and I errors (dead letters), J untouched"
wait_for 2 eval '[ "$(R XLEN $Q),$(pending $Q)" == "0,0" ]'
ok $? "all final: the stream is empty, nothing pending"
is "$(RAW XRANGE webhook:dead - + | grep -Ec "^($H|$I)\$")" 2 \
   "the dead letters keep their copies in webhook:dead"
is "$(field "$H" attempts)" 3 "H was retried up to --max-attempts first"

stop_worker
is $? 0 "SIGTERM: the worker exits 0"


# ---- 1b. through nginx: a sync request whose run is aborted

if [ -x "$NGINX" ] && [ -f "$MODULE" ]; then
    mkdir -p "$TMP/ngx/logs" "$TMP/ngx/conf"
    cat >"$TMP/ngx/conf/sync.json" <<EOF
{ "key": "t-sync", "options": { "timeout": 400 }, "nodes": [
    { "key": "call", "type": "request", "config": { "url": "$UP/slow?ms=3000" } },
    { "key": "r", "type": "response", "config": { "body": "unreachable" } } ] }
EOF
    for _ in $(seq 1 5); do
        NPORT=$(free_port)
        cat >"$TMP/ngx/conf/nginx.conf" <<EOF
load_module $MODULE;
daemon off;
master_process off;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path $TMP/ngx/body;
    proxy_temp_path $TMP/ngx/proxy;
    fastcgi_temp_path $TMP/ngx/fastcgi;
    uwsgi_temp_path $TMP/ngx/uwsgi;
    scgi_temp_path $TMP/ngx/scgi;
    access_log off;
    server {
        listen 127.0.0.1:$NPORT;
        location = /hook {
            webhook_mode sync;
            webhook_redis $ADDR;
            webhook_sync_timeout 5s;
            webhook sync.json;
        }
    }
}
EOF
        "$NGINX" -p "$TMP/ngx" -c "$TMP/ngx/conf/nginx.conf" \
            2>"$TMP/ngx/stderr" &
        NGINX_PID=$!
        wait_port "$NPORT" "$NGINX_PID" && break
        kill "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
        NGINX_PID=
    done

    start_worker "$TMP/worker2.log"
    OUT=$(curl -s -o "$TMP/body" -w '%{http_code}|%{content_type}|%{time_total}' \
          -X POST -H 'Content-Type: application/json' -d '{}' \
          "http://127.0.0.1:$NPORT/hook")
    IFS='|' read -r CODE TYPE SECS <<<"$OUT"
    is "$CODE $TYPE" "500 application/json" \
       "nginx answers a sync run aborted by options.timeout with a 500 JSON error"
    like "$(cat "$TMP/body")" \
         '^\{"error":\{"code":"workflow_failed","message":"the execution exceeded options.timeout \(400 ms\)"\}\}$' \
         "... workflow_failed, saying why"
    ok "$($PY -c "import sys; sys.exit(0 if float('$SECS') < 2.5 else 1)" \
          2>/dev/null; echo $?)" \
       "... at the timeout, not at the upstream's 3 s ($SECS s)"
    stop_worker
    kill "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
else
    echo "# nginx or the module is missing: the sync check through nginx is skipped"
fi


# ---- 3. 1000 request nodes in flight in one worker process

N=1000
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt $((N + 200)) ]; then
    echo "# the hard limit of descriptors is $HARD: the 1000-request check is skipped"
else
    cat >"$TMP/t-many.json" <<EOF
{ "key": "t-many", "nodes": [
    { "key": "call", "type": "request",
      "config": { "url": "$UP/many?ms=1000&n={{ \$context.data.n }}", "timeout": 20000 } } ] }
EOF
    REV_many=$("$CTL" --redis "$ADDR" publish "$TMP/t-many.json")
    QM=limits:many
    H0=$(printf '%012x' "$(date +%s%3N)")
    for i in $(seq 1 $N); do
        printf 'XADD %s * execution %s-%s-7000-8000-%012d workflow t-many revision %s context \x27{"data":{"n":%d}}\x27\n' \
               "$QM" "${H0:0:8}" "${H0:8:4}" "$i" "$REV_many" "$i"
    done | R >/dev/null
    is "$(R XLEN $QM)" $N "$N jobs queued"
    DEAD0=$(R XLEN webhook:dead)

    # the soft limit a shell often has, far below what 1000 sockets need
    T0=$(date +%s%3N)
    (ulimit -Sn 256 && exec "$WORKER" --redis "$ADDR" "${ALLOW_NET[@]}" --queue $QM \
        --concurrency $N 2>>"$TMP/worker3.log") &
    WORKER_PID=$!
    wait_for 30 eval '[ "$(R XLEN $QM)" == 0 ]'
    T1=$(date +%s%3N)
    ELAPSED=$((T1 - T0))

    STATS=$(curl -s "$UP/stats")
    MAX=$(echo "$STATS" | json 'd["/many"]["max"]')
    RESOLVED=$(R --scan --pattern 'webhook:execution:*' | grep -- '-7000-8000-' \
               | sed 's/^/HGET /; s/$/ status/' | R --raw | grep -c '^1$')
    FDS=$(grep -o 'Max open files *[0-9]*' "/proc/$WORKER_PID/limits" \
          | awk '{print $4}')
    echo "# $N request nodes against a 1 s upstream: all done in $ELAPSED ms," \
         "at most $MAX in flight at once, $RESOLVED resolved;" \
         "the worker's soft limit of descriptors: 256 raised to $FDS"

    is "$RESOLVED" $N "every one of the $N executions resolved"
    is "$MAX" $N "the upstream had all $N requests in flight at once"
    ok $(( ELAPSED < 10000 ? 0 : 1 )) "... all done in well under 10 s ($ELAPSED ms)"
    is "$FDS" "$HARD" "the worker raised its soft limit of descriptors to the hard limit"
    is "$(pending $QM),$(R XLEN webhook:dead)" "0,$DEAD0" \
       "nothing pending, no dead letter"
    ! grep -Eq 'Too many open files|error' "$TMP/worker3.log"
    ok $? "no descriptor ran out, no error logged"

    stop_worker
    is $? 0 "the worker stops with 0"
fi

done_testing
