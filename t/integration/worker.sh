#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# webhook-worker and webhookctl against a real redis-server (SPEC §6), TAP.
# Jobs are queued by hand, as the nginx module queues them: the definition
# at webhook:workflow:<revision>, then XADD to webhook:jobs.  Ends with the
# at-least-once test: 1000 jobs, the worker killed -9 twice while it runs
# them, and every job resolved exactly once.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli
require_build
scratch worker
start_redis --unixsocket "$TMP/redis.sock"

is "$(R ping)" PONG "redis-server runs on port $PORT"

WORKER_OPTS=(--claim-after 1s)
UUID7_GAP=0.002     # ids of one test: distinct milliseconds, ordered

# The ISO-8601 time of a UUIDv7's millisecond prefix.
uuid7_iso() {
    local h ms
    h=${1//-/}
    ms=$((16#${h:0:12}))
    echo "$(date -u -d "@$((ms / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf '%03d' $((ms % 1000)))Z"
}

pending() { R XPENDING webhook:jobs webhook-workers | head -1; }


# ---- the command lines

"$WORKER" --help >"$TMP/help" 2>&1
ok $? "webhook-worker --help exits 0"
like "$(cat "$TMP/help")" "--claim-after TIME" "--help prints the options"

"$WORKER" --concurrency 0 2>/dev/null
is $? 2 "an invalid option value exits 2"

"$CTL" --help >/dev/null
ok $? "webhookctl --help exits 0"


# ---- a workflow and its revision

cat >"$TMP/calc.json" <<'EOF'
{
  "key": "calc",
  "nodes": [
    { "key": "double", "type": "calculation",
      "config": { "engine": "math", "expression": "{{ $context.data.n }} * 2" } },
    { "key": "big", "type": "condition",
      "config": { "calculation": { "calculator": "gt",
                                   "operands": ["{{ $nodes.double }}", 10] } },
      "branches": {
        "true": [ { "key": "yes", "type": "set",
                    "config": { "values": { "v": "{{ $nodes.double }}",
                                            "who": "{{ $env.WH_TEST_WHO }}",
                                            "secret": "{{ $env.WH_TEST_SECRET }}" } } } ],
        "false": [ { "key": "no", "type": "end", "config": { "endStatus": -1 } } ] } }
  ]
}
EOF

cat >"$TMP/remote.json" <<'EOF'
{ "key": "remote", "nodes": [
    { "key": "pre", "type": "set", "config": { "values": { "a": 1 } } },
    { "key": "call", "type": "request",
      "config": { "method": "POST", "url": "http://127.0.0.1:9/x" } },
    { "key": "post", "type": "set",
      "config": { "values": { "b": "{{ $nodes.call.data }}" } } } ] }
EOF

cat >"$TMP/broken.json" <<'EOF'
{ "key": "broken", "nodes": [
    { "key": "pre", "type": "set", "config": { "values": { "a": 1 } } },
    { "key": "call", "type": "script",
      "config": { "content": "throw new Error('boom')" } } ] }
EOF

REV=$("$CTL" --redis "$ADDR" publish "$TMP/calc.json")
like "$REV" '^[0-9a-f]{64}$' "webhookctl publish prints the revision"
is "$("$CTL" revision "$TMP/calc.json")" "$REV" \
   "webhookctl revision agrees without Redis"
is "$(RAW GET "webhook:workflow:$REV" | head -c 40)" \
   '{"key":"calc","nodes":[{"key":"double","' "the stored JSON is compact in the file's order"
REV2=$("$CTL" --redis "$ADDR" publish "$TMP/remote.json")
REV3=$("$CTL" --redis "$ADDR" publish "$TMP/broken.json")

# (not lib.bash's enqueue: the id is given, and more fields)
enqueue() {     # ID WORKFLOW REVISION CONTEXT [FIELD VALUE...]
    local id=$1 wf=$2 rev=$3 ctx=$4
    shift 4
    R XADD webhook:jobs '*' execution "$id" workflow "$wf" revision "$rev" \
        context "$ctx" "$@" >/dev/null
}


# ---- one of each outcome

A=$(uuid7); B=$(uuid7); C=$(uuid7); D=$(uuid7); E=$(uuid7)
enqueue "$A" calc "$REV" "{\"id\":\"$A\",\"data\":{\"n\":7}}"
enqueue "$B" calc "$REV" '{"data":{"n":2}}'
enqueue "$C" calc "$(printf '%064d' 0)" '{"data":{"n":1}}'
enqueue "$D" broken "$REV3" '{"data":null}'
enqueue "$E" calc "$REV" '{"data":{"n":'
R XADD webhook:jobs '*' workflow calc revision "$REV" context '{}' >/dev/null

export WH_TEST_WHO=tester WH_TEST_SECRET=hidden
WORKER_LOG=$TMP/worker1.log
start_worker --env WH_TEST_WHO,HOME
unset WH_TEST_WHO WH_TEST_SECRET

all_final() {
    local id s
    for id in "$A" "$B" "$C" "$D" "$E"; do
        s=$(status_of "$id")
        case "$s" in 1|-1|-2) ;; *) return 1 ;; esac
    done
    [ "$(pending)" == 0 ]
}
wait_for 10 all_final
ok $? "every job ends with a final status, none pending"

wait_for 2 eval '[ "$(R XLEN webhook:jobs)" == 0 ]'
ok $? "final jobs leave the stream (trimmed once acknowledged)"
is "$(status_of "$A")" 1 "A is resolved"
is "$(RAW HGET "webhook:execution:$A" workflow)" calc "A's record names the workflow"
is "$(RAW HGET "webhook:execution:$A" revision)" "$REV" "... and the revision"
is "$(RAW HGET "webhook:execution:$A" attempts)" 1 "... one attempt"
is "$(RAW HGET "webhook:execution:$A" context)" "{\"id\":\"$A\",\"data\":{\"n\":7}}" \
   "... the context as queued"
is "$(RAW HGET "webhook:execution:$A" createdAt)" "$(uuid7_iso "$A")" \
   "createdAt is the UUIDv7's time"
like "$(RAW HGET "webhook:execution:$A" startedAt)" \
     '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
     "startedAt is ISO-8601 with milliseconds"
like "$(RAW HGET "webhook:execution:$A" finishedAt)" '^20.*Z$' "finishedAt too"
is "$(RAW HEXISTS "webhook:execution:$A" error)" 0 "no error field"

JOBS=$(RAW HGET "webhook:execution:$A" jobs)
is "$(echo "$JOBS" | json '[j["nodeKey"] for j in d]')" '["double","big","yes"]' \
   "jobs in order"
is "$(echo "$JOBS" | json '[(j["type"], j["status"]) for j in d]')" \
   '[["calculation",1],["condition",1],["set",1]]' "their types and statuses"
is "$(echo "$JOBS" | json '[j["result"] for j in d]')" \
   '[14,true,{"v":14,"who":"tester"}]' \
   "their results; \$env reads only the names --env allows"
is "$(echo "$JOBS" | json 'sorted(set(k for j in d for k in j))')" \
   '["finishedAt","nodeKey","result","startedAt","status","type"]' \
   "each job has nodeKey, type, status, result, startedAt, finishedAt"

TTL=$(R TTL "webhook:execution:$A")
ok $(( TTL > 7 * 86400 - 60 && TTL <= 7 * 86400 ? 0 : 1 )) \
   "the record expires after the default retention, 7d ($TTL s)"
is "$(R ZSCORE webhook:executions "$A")" "$((16#$(echo "${A//-/}" | cut -c1-12)))" \
   "the index scores by createdAt in ms"
is "$(R ZSCORE webhook:executions:calc "$A")" "$(R ZSCORE webhook:executions "$A")" \
   "the per-workflow index too"

is "$(status_of "$B")" -1 "B failed by its own end node"
is "$(RAW HGET "webhook:execution:$B" jobs | json '[j["nodeKey"] for j in d]')" \
   '["double","big","no"]' "B ran the false branch"

is "$(status_of "$C")" -2 "C, a revision Redis does not have, is an error"
like "$(RAW HGET "webhook:execution:$C" error)" "is not in Redis" "... saying so"
is "$(RAW HGET "webhook:execution:$C" attempts)" 1 "... after one attempt"

is "$(status_of "$D")" -2 "D, a script that throws, is an error without retries"
is "$(RAW HGET "webhook:execution:$D" error)" \
   'node "call": script error: Error: boom (line 1)' "... saying which"
is "$(RAW HGET "webhook:execution:$D" jobs | json '[(j["nodeKey"], j["status"]) for j in d]')" \
   '[["pre",1],["call",-2]]' "... its jobs end with the node"

is "$(status_of "$E")" -2 "E, an invalid context, is an error"
like "$(RAW HGET "webhook:execution:$E" error)" "^invalid context" "... saying so"

DEAD=$(R XLEN webhook:dead)
is "$DEAD" 4 "C, D, E and the entry without an id are dead letters"
LAST=$(RAW XRANGE webhook:dead - + | tr '\n' ' ')
like "$LAST" "execution $C workflow calc revision 0{64} context \{\"data\":\{\"n\":1\}\} error workflow revision 0{64} is not in Redis attempts 1" \
     "a dead letter is the job's fields plus error and attempts"

OUT=$("$CTL" --redis "$ADDR" dead)
is "$(echo "$OUT" | wc -l)" 4 "webhookctl dead lists them"
like "$(echo "$OUT" | grep "$D")" \
     "^[0-9]+-[0-9]+	$D	broken	node \"call\": script error: Error: boom \(line 1\)	1$" \
     "... stream id, execution, workflow, error, attempts"

OUT=$("$CTL" --redis "$ADDR" executions)
is "$(echo "$OUT" | wc -l)" 5 "webhookctl executions lists the five"
is "$(echo "$OUT" | awk '{print $1}' | tr '\n' ' ')" "$E $D $C $B $A " \
   "... newest first"
like "$(echo "$OUT" | grep "^$A")" "^$A +calc +resolved +$(uuid7_iso "$A") +[0-9]+ms$" \
     "... id, workflow, status, createdAt, duration"
is "$("$CTL" --redis "$ADDR" executions --status failed | awk '{print $1}')" "$B" \
   "--status failed"
is "$("$CTL" --redis "$ADDR" executions --status -2 --limit 2 | awk '{print $1}' | tr '\n' ' ')" \
   "$E $D " "--status -2 --limit 2"
is "$("$CTL" --redis "$ADDR" executions --workflow broken | awk '{print $1}')" "$D" \
   "--workflow broken"
is "$("$CTL" --redis "unix:$TMP/redis.sock" executions --status resolved | awk '{print $1}')" \
   "$A" "a unix socket address"

SHOW=$("$CTL" --redis "$ADDR" show "$A")
ok $? "webhookctl show"
is "$(echo "$SHOW" | json '[d["id"], d["status"], d["attempts"], d["context"]["data"]["n"], d["jobs"][0]["result"]]')" \
   "[\"$A\",1,1,7,14]" "... prints the record as JSON, context and jobs parsed"
"$CTL" --redis "$ADDR" show 01234567-0000-7000-8000-000000000000 >/dev/null 2>&1
is $? 1 "show of an unknown id exits 1"

NEW=$("$CTL" --redis "$ADDR" retry "$A")
like "$NEW" '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
     "webhookctl retry prints a new UUIDv7"
wait_for 5 eval '[ "$(status_of "$NEW")" == 1 ]'
ok $? "the retried job runs under the new id"
is "$(RAW HGET "webhook:execution:$NEW" context)" "$(RAW HGET "webhook:execution:$A" context)" \
   "... with the same context"
"$CTL" --redis "$ADDR" retry 01234567-0000-7000-8000-000000000000 2>/dev/null
is $? 1 "retry of an unknown id exits 1"


# ---- deliveries of entries whose record says more

# already final: a duplicate delivery is acknowledged, not run again
F=$(uuid7)
R HSET "webhook:execution:$F" status 1 workflow calc >/dev/null
enqueue "$F" calc "$REV" '{"data":{"n":9}}'

# too many deliveries already (say, it killed the workers): dead letter
G=$(uuid7)
R HSET "webhook:execution:$G" status 0 attempts 5 >/dev/null
enqueue "$G" calc "$REV" '{"data":{"n":9}}'

# retry_needed, due in 1.5s: waits for it, then runs
H=$(uuid7)
DUE=$(date -u -d "@$(( $(date +%s) + 2 ))" +%Y-%m-%dT%H:%M:%S.000Z)
R HSET "webhook:execution:$H" status -6 attempts 1 nextAttemptAt "$DUE" >/dev/null
enqueue "$H" calc "$REV" '{"data":{"n":9}}'

# a sync job: the answer is published on its reply channel
I=$(uuid7)
: >"$TMP/sub"
(timeout 5 redis-cli -p "$PORT" --raw SUBSCRIBE "webhook:test:reply:$I" >"$TMP/sub" 2>&1 &)
wait_for 3 eval 'grep -q subscribe "$TMP/sub"'
enqueue "$I" calc "$REV" '{"data":{"n":9}}' reply "webhook:test:reply:$I"

# reclaimed after its request node was recorded: the run resumes with the
# recorded result instead of performing the node again
J=$(uuid7)
R HSET "webhook:execution:$J" status 0 attempts 1 jobs '[{"nodeKey":"pre","type":"set","status":1,"result":{"a":1},"startedAt":"2024-01-01T00:00:00.000Z","finishedAt":"2024-01-01T00:00:00.000Z"},{"nodeKey":"call","type":"request","status":1,"result":{"status":200,"headers":{},"data":"pong"},"startedAt":"2024-01-01T00:00:00.000Z","finishedAt":"2024-01-01T00:00:01.000Z"}]' >/dev/null
enqueue "$J" remote "$REV2" '{"data":null}'

wait_for 3 eval '[ "$(status_of "$G")" == -2 ] && [ "$(status_of "$I")" == 1 ] && [ "$(status_of "$J")" == 1 ]'
is "$(status_of "$F"),$(RAW HEXISTS "webhook:execution:$F" jobs)" "1,0" \
   "a delivery of a finished execution does not run it again"
is "$(RAW HGET "webhook:execution:$G" error)" "gave up after 5 attempts" \
   "an entry delivered --max-attempts times is given up"
is "$(RAW XRANGE webhook:dead - + | tail -1)" 5 "... to the dead letters"
is "$(status_of "$J"),$(RAW HGET "webhook:execution:$J" attempts)" "1,2" \
   "a reclaimed run whose worker node is recorded resolves"
is "$(RAW HGET "webhook:execution:$J" jobs | json '[(j["nodeKey"], j["status"], j["result"]) for j in d]')" \
   '[["pre",1,{"a":1}],["call",1,{"data":"pong","headers":{},"status":200}],["post",1,{"b":"pong"}]]' \
   "... with the recorded result, not running the node again"
is "$(RAW HGET "webhook:execution:$H" status),$(RAW HGET "webhook:execution:$H" attempts)" "-6,1" \
   "a retry waits for nextAttemptAt"
wait_for 5 eval '[ "$(status_of "$H")" == 1 ]'
ok $? "... and then runs"
is "$(RAW HGET "webhook:execution:$H" attempts)" 2 "... as attempt 2"
is "$(RAW HEXISTS "webhook:execution:$H" nextAttemptAt)" 0 \
   "... and drops nextAttemptAt"

wait_for 3 eval '[ "$(wc -l <"$TMP/sub")" -ge 6 ]'
is "$(sed -n 6p "$TMP/sub")" "{\"execution\":\"$I\",\"status\":1,\"error\":null,\"response\":null}" \
   "a job with a reply channel gets its answer published"

wait_for 3 eval '[ "$(pending)" == 0 ]'
ok $? "nothing is left pending"

stop_worker
is $? 0 "SIGTERM: the worker exits 0"
like "$(cat "$TMP/worker1.log")" "$A calc resolved [0-9]+ms" \
     "one log line per execution: time, id, workflow, status, duration"
! grep -q hidden "$TMP/worker1.log"
ok $? "variables --env does not allow do not reach the log"


# ---- at-least-once: 1000 jobs, two kill -9 while they run

cat >"$TMP/heavy.json" <<'EOF'
{ "key": "heavy", "nodes": [
  { "key": "spin", "type": "loop", "config": { "target": 300 },
    "branches": { "body": [
      { "key": "sq", "type": "calculation",
        "config": { "engine": "math",
                    "expression": "{{ $scopes.spin.index }} * {{ $context.data.n }}" } } ] } },
  { "key": "out", "type": "set",
    "config": { "values": { "n": "{{ $context.data.n }}", "last": "{{ $nodes.sq }}" } } } ] }
EOF
HREV=$("$CTL" --redis "$ADDR" publish "$TMP/heavy.json")

SENT=1000
LEN0=$(R XLEN webhook:jobs)
H0=$(printf '%012x' "$(date +%s%3N)")
: >"$TMP/ids"
for i in $(seq 1 $SENT); do
    id=$(printf '%s-%s-7000-8000-%012d' "${H0:0:8}" "${H0:8:4}" "$i")
    echo "$id" >>"$TMP/ids"
    echo "XADD webhook:jobs * execution $id workflow heavy revision $HREV context '{\"data\":{\"n\":$i}}'"
done >"$TMP/jobs"
R <"$TMP/jobs" >/dev/null
is "$(R XLEN webhook:jobs)" $((LEN0 + SENT)) "$SENT jobs queued"

started() { R ZCARD webhook:executions:heavy; }

WORKER_LOG=$TMP/kill1.log
start_worker
wait_for 20 eval '[ "$(started)" -ge 150 ]'
kill -9 "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null; WORKER_PID=
K1=$(started)

WORKER_LOG=$TMP/kill2.log
start_worker
wait_for 20 eval '[ "$(started)" -ge $((K1 + 150)) ]'
kill -9 "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null; WORKER_PID=
K2=$(started)
ok $(( K1 < SENT && K2 < SENT ? 0 : 1 )) \
   "killed -9 twice while running (after $K1 and $K2 started)"

WORKER_LOG=$TMP/kill3.log
start_worker

done_all() {
    [ "$(pending)" == 0 ] && [ "$(started)" -ge $SENT ] \
        && [ "$(count_status | grep -c '^1$')" -ge $SENT ]
}
count_status() {
    sed 's/^/HGET webhook:execution:/; s/$/ status/' "$TMP/ids" \
        | redis-cli -p "$PORT" --raw
}
wait_for 40 done_all

STATUSES=$(count_status)
RESOLVED=$(echo "$STATUSES" | grep -c '^1$')
LOGGED=$(cat "$TMP"/kill*.log | awk '$4 == "resolved" { print $2 }' | sort -u | wc -l)
DUPS=$(cat "$TMP"/kill*.log | awk '$4 == "resolved" { print $2 }' | sort | uniq -d | wc -l)
REDELIVERED=$(sed 's/^/HGET webhook:execution:/; s/$/ attempts/' "$TMP/ids" \
              | redis-cli -p "$PORT" --raw | grep -vc '^1$')
# a kill between the EXEC and its log line leaves a job recorded, unlogged
echo "# sent $SENT, executed $RESOLVED, lost $((SENT - RESOLVED))," \
     "redelivered $REDELIVERED, logged $LOGGED"

is "$RESOLVED" $SENT "every job's record is resolved"
is "$(pending)" 0 "none is pending"
is "$(echo "$STATUSES" | grep -vc '^1$')" 0 "no record is left started or in error"
is "$DUPS" 0 "no job was resolved twice"
like "$(cat "$TMP/kill2.log" "$TMP/kill3.log")" "reclaimed [0-9]+ entries" \
     "a restarted worker reclaims the dead one's entries"
is "$(RAW HGET "webhook:execution:$(sed -n 500p "$TMP/ids")" jobs \
      | json '[len(d), d[-1]["result"]]')" \
   '[302,{"last":149500,"n":500}]' "a job's record holds every node run"

stop_worker
is $? 0 "the last worker stops with 0"

done_testing
