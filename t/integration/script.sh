#!/usr/bin/env bash
# The "script" node of webhook-worker against a real redis-server, TAP:
# NocoBase's examples, arguments, $nodes, errors, and a script stuck in
# `while (true) {}` that times out while other jobs go on meanwhile.
set -u

cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
WORKER=${WH_TEST_WORKER:-$ROOT/build/webhook-worker}
CTL=${WH_TEST_CTL:-$ROOT/build/webhookctl}

for cmd in redis-server redis-cli python3; do
    if ! command -v "$cmd" >/dev/null; then
        echo "1..0 # SKIP $cmd is not installed"
        exit 0
    fi
done

if [ ! -x "$WORKER" ] || [ ! -x "$CTL" ]; then
    echo "Bail out! build/webhook-worker or build/webhookctl missing"
    exit 1
fi

TMP=$(mktemp -d /tmp/wh-script.XXXXXX)
REDIS_PID=
WORKER_PID=

cleanup() {
    [ -n "$WORKER_PID" ] && kill -9 "$WORKER_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

n=0
fails=0

ok() {      # STATUS NAME: passes when STATUS is 0
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        fails=$((fails + 1))
    fi
}

is() {      # GOT EXPECTED NAME
    n=$((n + 1))
    if [ "$1" == "$2" ]; then
        echo "ok $n - $3"
    else
        echo "not ok $n - $3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
        fails=$((fails + 1))
    fi
}

free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

R() { redis-cli -p "$PORT" "$@"; }
RAW() { redis-cli -p "$PORT" --raw "$@"; }

PORT=
for _ in $(seq 1 10); do
    PORT=$(free_port)
    (cd "$TMP" && exec redis-server --port "$PORT" --bind 127.0.0.1 \
        --save '' --appendonly no --daemonize no >"$TMP/redis.log" 2>&1) &
    REDIS_PID=$!

    for _ in $(seq 1 200); do
        [ "$(R ping 2>/dev/null)" == PONG ] && break 2
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.05
    done

    kill "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
done
ADDR=127.0.0.1:$PORT
is "$(R ping)" PONG "redis-server runs on port $PORT"

uuid7() {
    local h r
    h=$(printf '%012x' "$(date +%s%3N)")
    r=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
    echo "${h:0:8}-${h:8:4}-7${r:0:3}-8${r:3:3}-${r:6:12}"
}

json() {    # EXPRESSION: a value of the JSON on stdin, in python
    python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v, sort_keys=True, separators=(",", ":")) if not isinstance(v, str) else v)
' "$1"
}

wait_for() {    # SECONDS COMMAND...
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

status_of() { RAW HGET "webhook:execution:$1" status; }
final() { case "$(status_of "$1")" in 1|-1|-2|-6) return 0 ;; esac; return 1; }

publish() {     # NAME JSON: the revision
    printf '%s' "$2" >"$TMP/$1.json"
    "$CTL" --redis "$ADDR" publish "$TMP/$1.json"
}

enqueue() {     # KEY REVISION CONTEXT: the id
    local id
    id=$(uuid7)
    R XADD webhook:jobs '*' execution "$id" workflow "$1" revision "$2" \
        context "$3" >/dev/null
    echo "$id"
}

run() {         # KEY REVISION CONTEXT: queues, waits, prints the id
    local id
    id=$(enqueue "$@")
    wait_for 15 final "$id"
    echo "$id"
}

show() { "$CTL" --redis "$ADDR" show "$1"; }

# A set node "pre", the script node "js" with CONFIG, a set node "after".
wf() {      # KEY CONFIG
    publish "$1" "{\"key\":\"$1\",\"nodes\":[
      {\"key\":\"pre\",\"type\":\"set\",\"config\":{\"values\":{\"a\":41}}},
      {\"key\":\"js\",\"type\":\"script\",\"config\":$2},
      {\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":{
         \"got\":\"{{ \$nodes.js }}\"}}}]}"
}

"$WORKER" --redis "$ADDR" --max-attempts 1 2>>"$TMP/worker.log" &
WORKER_PID=$!

CTX='{"data":{"ref":"refs/heads/main","n":7,"commits":[{"id":"a1"},{"id":"b2"},{"id":"c3"}]}}'
JS='d["jobs"][1]'


# ---- NocoBase's examples

REV=$(wf count '{"content":"return context.data.commits.length"}')
ID=$(run count "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["type"], j["status"]) for j in d["jobs"]]]')" \
   '[1,[["pre","set",1],["js","script",1],["after","set",1]]]' \
   "return context.data.commits.length: resolved"
is "$(echo "$S" | json "[$JS[\"result\"], d[\"jobs\"][2][\"result\"]]")" '[3,{"got":3}]' \
   "... the result is 3, and \$nodes.js is 3 for the next node"

REV=$(wf branch "{\"content\":\"return context.data.ref.replace('refs/heads/', '')\"}")
ID=$(run branch "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" main \
   "return context.data.ref.replace('refs/heads/', ''): \"main\""


# ---- arguments, nodes, values

REV=$(wf args '{"content":"return {sum: n * 2 + nodes.pre.a, who: who, list: [1, \"x\"], nothing: null}",
  "arguments":[{"name":"n","value":"{{ $context.data.n }}"},
               {"name":"who","value":"ref {{ $context.data.ref }}"}]}')
ID=$(run args "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" \
   '{"list":[1,"x"],"nothing":null,"sum":55,"who":"ref refs/heads/main"}' \
   "arguments rendered (types kept), nodes by key, an object returned"

REV=$(wf undef '{"content":"var x = 1;"}')
ID=$(run undef "$REV" "$CTX")
is "$(show "$ID" | json "[$JS[\"status\"], $JS[\"result\"]]")" '[1,null]' \
   "no return value: null"

REV=$(wf sandbox '{"content":"return [typeof require, typeof print, typeof XMLHttpRequest]"}')
ID=$(run sandbox "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" '["undefined","undefined","undefined"]' \
   "no require, print or network objects"


# ---- errors

REV=$(wf throw "{\"content\":\"throw new Error('boom')\"}")
ID=$(run throw "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["status"]) for j in d["jobs"]]]')" \
   '[-2,[["pre",1],["js",-2]]]' "a thrown error ends the execution with status error"
is "$(echo "$S" | json "$JS[\"error\"]")" "script error: Error: boom (line 1)" \
   "... the job says why"
is "$(echo "$S" | json 'd["error"]')" 'node "js": script error: Error: boom (line 1)' \
   "... and so does the execution"

REV=$(wf syntax '{"content":"return (1"}')
ID=$(run syntax "$REV" "$CTX")
like_err=$(show "$ID" | json "$JS[\"error\"]")
case "$like_err" in
    "script error: SyntaxError: "*) ok 0 "a syntax error is recorded ($like_err)" ;;
    *) ok 1 "a syntax error is recorded ($like_err)" ;;
esac

REV=$(wf ignore "{\"content\":\"throw new Error('boom')\",\"ignoreFail\":true}")
ID=$(run ignore "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["status"], j.get("error")) for j in d["jobs"]]]')" \
   '[1,[["pre",1,null],["js",1,"script error: Error: boom (line 1)"],["after",1,null]]]' \
   "ignoreFail: the run goes on, the error kept on the job"


# ---- a script that never ends does not hold the worker

REV=$(wf spin '{"content":"while (true) {}","timeout":1500}')
REV2=$(wf quick '{"content":"return context.data.n + 1"}')
T0=$(date +%s%3N)
SPIN=$(enqueue spin "$REV" "$CTX")
sleep 0.3
Q1=$(enqueue quick "$REV2" "$CTX")
Q2=$(enqueue quick "$REV2" "$CTX")
wait_for 5 final "$Q2"
T1=$(date +%s%3N)
is "$(status_of "$Q1"),$(status_of "$Q2"),$(status_of "$SPIN")" "1,1,0" \
   "two jobs queued after a spinning script resolve while it still runs"
ok $(( T1 - T0 < 1200 ? 0 : 1 )) "... within $((T1 - T0)) ms of its start"
wait_for 10 final "$SPIN"
T2=$(date +%s%3N)
S=$(show "$SPIN")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["status"], j.get("error")) for j in d["jobs"]]]')" \
   '[-2,[["pre",1,null],["js",-2,"script timed out after 1500 ms"]]]' \
   "the spinning script times out after its 1500 ms"
ok $(( T2 - T0 >= 1500 && T2 - T0 < 4000 ? 0 : 1 )) "... ended $((T2 - T0)) ms after it was queued"
is "$(show "$Q1" | json "$JS[\"result\"]")" 8 "the quick ones' results are right"

# 20 scripts at once, each sleeping 600 ms in a busy loop
REV=$(wf busy '{"content":"var t = Date.now(); while (Date.now() - t < 600) {} return 1"}')
: >"$TMP/ids"
T0=$(date +%s%3N)
for i in $(seq 1 20); do enqueue busy "$REV" "$CTX" >>"$TMP/ids"; done
all_done() {
    local id
    for id in $(cat "$TMP/ids"); do
        [ "$(status_of "$id")" == 1 ] || return 1
    done
}
wait_for 20 all_done
ok $? "20 busy scripts of 600 ms each resolve"
T1=$(date +%s%3N)
ok $(( T1 - T0 < 8000 ? 0 : 1 )) \
   "... side by side: $((T1 - T0)) ms for 12 s of scripts (--concurrency 16, $(nproc) CPUs)"

kill -TERM "$WORKER_PID"
wait "$WORKER_PID"
is $? 0 "SIGTERM: the worker exits 0"
WORKER_PID=

echo "1..$n"
[ $fails -eq 0 ]
