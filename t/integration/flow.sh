#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The flow nodes of webhook-worker, parallel and delay, against a real
# redis-server, TAP.  Timings prove that branches run together (two 1 s
# delays in parallel take 1 s) and that a delay survives a worker killed
# -9 in the middle of it without starting over.  Assertions read
# `webhookctl show ID`: statuses, results, errors and times of the jobs.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli
require_build
scratch flow
PEER_PID=

cleanup_more() {
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null
}

start_redis

is "$(R ping)" PONG "redis-server runs on port $PORT"

WAIT_STEP=0.02
FINAL='1|-1|-2'

# json() expressions may use ms(ISO) and took(show JSON)
JSON_DEFS='
from datetime import datetime, timezone
def ms(s):
    t = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return round(t.timestamp() * 1000)
def took(d):
    return ms(d["finishedAt"]) - ms(d["createdAt"])'

declare -A REVS

publish() {     # NAME: $TMP/NAME.json
    REVS[$1]=$("$CTL" --redis "$ADDR" publish "$TMP/$1.json")
}

# queue WORKFLOW DATA_JSON: queues a job, prints its id (a UUIDv7 of now:
# the record's createdAt is the moment it was queued)
queue() {
    local id
    id=$(uuid7)
    R XADD webhook:jobs '*' execution "$id" workflow "$1" \
        revision "${REVS[$1]}" context "{\"id\":\"$id\",\"data\":$2}" \
        >/dev/null
    echo "$id"
}

# run WORKFLOW DATA_JSON: queues a job, waits for its end, prints its id
run() {
    local id
    id=$(queue "$@")
    wait_for 15 final "$id" || echo "# $id did not end" >&2
    echo "$id"
}

# job ID EXPRESSION: the expression over the show JSON (d)
job() { show "$1" | json "$2"; }


# took ID: ms from queueing to the record's finishedAt
took() { show "$1" | json 'took(d)'; }

# within GOT LOW HIGH NAME: LOW <= GOT < HIGH
within() {
    ok $(( $1 >= $2 && $1 < $3 ? 0 : 1 )) "$4 ($1 ms)"
}


# ---- workflows

# two branches: a delay, a condition that fails the branch when asked
# to, a set node
par() {     # MODE
    cat <<EOF
{ "key": "par-$1", "nodes": [
  { "key": "p", "type": "parallel", "config": { "mode": "$1" },
    "branches": { "list": [
      [ { "key": "a1", "type": "delay", "config": { "duration": "{{ \$context.data.da }}" } },
        { "key": "ca", "type": "condition",
          "config": { "calculation": { "calculator": "notEqual",
                                       "operands": ["{{ \$context.data.fail }}", "a"] } } },
        { "key": "a2", "type": "set", "config": { "values": { "branch": "a" } } } ],
      [ { "key": "b1", "type": "delay", "config": { "duration": "{{ \$context.data.db }}" } },
        { "key": "cb", "type": "condition",
          "config": { "calculation": { "calculator": "notEqual",
                                       "operands": ["{{ \$context.data.fail }}", "b"] } } },
        { "key": "b2", "type": "set", "config": { "values": { "branch": "b" } } } ] ] } },
  { "key": "after", "type": "set", "config": { "values": { "p": "{{ \$nodes.p }}" } } } ] }
EOF
}
for m in all any race; do par $m >"$TMP/par-$m.json"; done

cat >"$TMP/inline.json" <<'EOF'
{ "key": "inline", "nodes": [
  { "key": "p", "type": "parallel",
    "branches": { "list": [
      [ { "key": "x", "type": "set", "config": { "values": { "x": "{{ $context.data.n }}" } } } ],
      [ { "key": "y", "type": "calculation",
          "config": { "engine": "math", "expression": "{{ $context.data.n }} * 2" } } ],
      [] ] } },
  { "key": "after", "type": "set",
    "config": { "values": { "x": "{{ $nodes.x.x }}", "y": "{{ $nodes.y }}" } } } ] }
EOF

cat >"$TMP/empty.json" <<'EOF'
{ "key": "empty", "nodes": [
  { "key": "p", "type": "parallel", "config": { "mode": "race" },
    "branches": { "list": [] } } ] }
EOF

cat >"$TMP/nested.json" <<'EOF'
{ "key": "nested", "nodes": [
  { "key": "p", "type": "parallel",
    "branches": { "list": [
      [ { "key": "q", "type": "parallel",
          "branches": { "list": [
            [ { "key": "q1", "type": "delay", "config": { "duration": 600 } } ],
            [ { "key": "q2", "type": "delay", "config": { "duration": 600 } } ] ] } },
        { "key": "n1", "type": "set", "config": { "values": { "q": "{{ $nodes.q }}" } } } ],
      [ { "key": "r1", "type": "delay", "config": { "duration": 600 } } ] ] } } ] }
EOF

cat >"$TMP/ended.json" <<'EOF'
{ "key": "ended", "nodes": [
  { "key": "p", "type": "parallel",
    "branches": { "list": [
      [ { "key": "e1", "type": "delay", "config": { "duration": 200 } },
        { "key": "stop", "type": "end", "config": { "endStatus": 1 } } ],
      [ { "key": "slow", "type": "delay", "config": { "duration": 3000 } },
        { "key": "late", "type": "set", "config": { "values": { "late": true } } } ] ] } },
  { "key": "after", "type": "set", "config": { "values": { "after": true } } } ] }
EOF

cat >"$TMP/loop.json" <<'EOF'
{ "key": "loop", "nodes": [
  { "key": "l", "type": "loop", "config": { "target": 3 },
    "branches": { "body": [
      { "key": "p", "type": "parallel",
        "branches": { "list": [
          [ { "key": "d1", "type": "delay", "config": { "duration": 200 } } ],
          [ { "key": "d2", "type": "delay", "config": { "duration": 200 } } ] ] } } ] } } ] }
EOF

cat >"$TMP/wait.json" <<'EOF'
{ "key": "wait", "nodes": [
  { "key": "w", "type": "delay", "config": { "duration": "{{ $context.data.d }}" } },
  { "key": "done", "type": "set", "config": { "values": { "waited": "{{ $nodes.w.duration }}" } } } ] }
EOF

# a peer that answers after ?ms=N milliseconds, many requests at once
serve SPORT "$TMP/slow.log" "$PY" t/integration/upstream.py
PEER_PID=$SERVE_PID

http() {    # MODE
    cat <<EOF
{ "key": "http-$1", "nodes": [
  { "key": "p", "type": "parallel", "config": { "mode": "$1" },
    "branches": { "list": [
      [ { "key": "r1", "type": "request",
          "config": { "method": "GET", "onlyData": true,
                      "url": "http://127.0.0.1:$SPORT/?ms={{ \$context.data.ms1 }}" } } ],
      [ { "key": "r2", "type": "request",
          "config": { "method": "GET", "onlyData": true,
                      "url": "http://127.0.0.1:$SPORT/?ms={{ \$context.data.ms2 }}" } } ],
      [ { "key": "d3", "type": "delay",
          "config": { "duration": "{{ \$context.data.d3 }}" } } ] ] } } ] }
EOF
}
http all >"$TMP/http-all.json"
http race >"$TMP/http-race.json"

for w in par-all par-any par-race inline empty nested ended loop wait \
         http-all http-race
do
    publish $w
done

WORKER_OPTS=(--claim-after 500ms)
start_worker


# ---- parallel

I=$(run par-all '{"da":1000,"db":1000}')
is "$(job "$I" 'd["status"]')" 1 "all: two branches of a 1 s delay each resolve"
within "$(took "$I")" 1000 1500 "... in about 1 s, not 2: the delays ran together"
is "$(job "$I" 'sorted([j["nodeKey"], j["status"]] for j in d["jobs"])')" \
   '[["a1",1],["a2",1],["after",1],["b1",1],["b2",1],["ca",1],["cb",1],["p",1]]' \
   "... every job resolved, once"
is "$(job "$I" '[j["nodeKey"] for j in d["jobs"]][-2:]')" '["p","after"]' \
   "... the parallel node's job after its branches'"
is "$(job "$I" 'd["jobs"][-2]["result"]')" '[{"branch":"a"},{"branch":"b"}]' \
   "... its result: the last result of each branch"
is "$(job "$I" 'd["jobs"][-1]["result"]')" '{"p":[{"branch":"a"},{"branch":"b"}]}' \
   "... which the next node reads as \$nodes.p"
is "$(job "$I" '[j["result"] for j in d["jobs"] if j["nodeKey"] == "a1"][0]["duration"]')" \
   1000 "a delay's result: its duration"

I=$(run par-all '{"da":300,"db":1500,"fail":"a"}')
is "$(job "$I" '[d["status"], d["error"]]')" '[-1,"node \"p\": branch 1 failed"]' \
   "all: a failed branch fails the node"
within "$(took "$I")" 300 900 "... at once, not when the other branch ends"
is "$(job "$I" '[[j["nodeKey"], j["status"], j.get("error")] for j in d["jobs"]]')" \
   '[["a1",1,null],["ca",-1,null],["b1",-3,"cancelled: parallel node \"p\" decided without this branch"],["p",-1,"branch 1 failed"]]' \
   "... the other branch's delay is cancelled, recorded aborted (-3)"

I=$(run par-any '{"da":300,"db":1500}')
is "$(job "$I" 'd["status"]')" 1 "any: resolves with the first branch that resolves"
within "$(took "$I")" 300 900 "... after the shorter delay"
is "$(job "$I" '[d["jobs"][-2]["result"], [j["status"] for j in d["jobs"] if j["nodeKey"] == "b1"]]')" \
   '[[{"branch":"a"},null],[-3]]' "... result [a's, null]; b's delay aborted"

I=$(run par-any '{"da":200,"db":600,"fail":"a"}')
is "$(job "$I" 'd["status"]')" 1 "any: a failed branch does not fail the node"
within "$(took "$I")" 600 1100 "... which waits for the other one"
is "$(job "$I" 'd["jobs"][-2]["result"]')" '[null,{"branch":"b"}]' \
   "... result [null, b's]"

I=$(run par-any '{"da":200,"db":"x","fail":"a"}')
is "$(job "$I" '[d["status"], d["error"]]')" \
   '[-1,"node \"p\": every branch failed; branch 1 failed"]' \
   "any: fails when every branch failed"
I2=$(run par-any '{"da":"x","db":"y"}')
is "$(job "$I2" 'd["error"]')" \
   'node "p": every branch failed; branch 2: node "b1": "duration" must be a number of milliseconds from 0 to 366 days' \
   "... with the last failure's error"

I=$(run par-race '{"da":1500,"db":300}')
is "$(job "$I" '[d["status"], d["jobs"][-2]["result"]]')" '[1,[null,{"branch":"b"}]]' \
   "race: the first branch to end decides"
within "$(took "$I")" 300 900 "... after the shorter delay"

I=$(run par-race '{"da":1500,"db":300,"fail":"b"}')
is "$(job "$I" '[d["status"], d["error"]]')" '[-1,"node \"p\": branch 2 failed"]' \
   "race: a first branch that fails fails the node"
within "$(took "$I")" 300 900 "... at once"

I=$(run http-all '{"ms1":1000,"ms2":1000,"d3":1000}')
is "$(job "$I" '[d["status"], [r.get("slept", r.get("duration")) for r in d["jobs"][-1]["result"]]]')" \
   '[1,[1000,1000,1000]]' "two requests and a delay of 1 s in three branches"
within "$(took "$I")" 1000 1600 "... in flight together: 1 s, not 3"

I=$(run http-race '{"ms1":3000,"ms2":3000,"d3":300}')
is "$(job "$I" '[d["status"], sorted([j["nodeKey"], j["status"]] for j in d["jobs"])]')" \
   '[1,[["d3",1],["p",1],["r1",-3],["r2",-3]]]' \
   "race: the delay ends first, both requests in flight are cancelled"
within "$(took "$I")" 300 900 "... without waiting for them"

I=$(run inline '{"n":21}')
is "$(job "$I" '[d["status"], [j["nodeKey"] for j in d["jobs"]]]')" \
   '[1,["x","y","p","after"]]' "inline nodes only: every branch runs"
is "$(job "$I" '[d["jobs"][2]["result"], d["jobs"][3]["result"]]')" \
   '[[{"x":21},42,null],{"x":21,"y":42}]' \
   "... result per branch (an empty list: null); \$nodes of branches visible after"

I=$(run empty '{}')
is "$(job "$I" '[d["status"], d["jobs"][0]["result"]]')" '[1,[]]' \
   "no branches: resolves with []"

I=$(run nested '{}')
is "$(job "$I" '[d["status"], [j["nodeKey"] for j in d["jobs"]][-3:]]')" \
   '[1,["q","n1","p"]]' "a parallel node in a branch of another"
within "$(took "$I")" 600 1100 "... three 600 ms delays in two levels take 600 ms"
is "$(job "$I" 'd["jobs"][-1]["result"]')" \
   '[{"q":[{"delayedUntil":"'"$(job "$I" '[j["result"]["delayedUntil"] for j in d["jobs"] if j["nodeKey"] == "q1"][0]')"'","duration":600},{"delayedUntil":"'"$(job "$I" '[j["result"]["delayedUntil"] for j in d["jobs"] if j["nodeKey"] == "q2"][0]')"'","duration":600}]},{"delayedUntil":"'"$(job "$I" '[j["result"]["delayedUntil"] for j in d["jobs"] if j["nodeKey"] == "r1"][0]')"'","duration":600}]' \
   "... results nest"

I=$(run ended '{}')
is "$(job "$I" 'd["status"]')" 1 "an end node in a branch ends the execution"
within "$(took "$I")" 200 800 "... at once"
is "$(job "$I" '[[j["nodeKey"], j["status"]] for j in d["jobs"]]')" \
   '[["e1",1],["stop",1],["slow",-3],["p",1]]' \
   "... the other branch is cancelled, nothing after the parallel node runs"

I=$(run loop '{}')
is "$(job "$I" '[d["status"], [j["nodeKey"] for j in d["jobs"]].count("d1"), [j["nodeKey"] for j in d["jobs"]].count("p")]')" \
   '[1,3,3]' "a parallel node in a loop runs each time"
within "$(took "$I")" 600 1100 "... 3 x 200 ms"


# ---- delay

I=$(run wait '{"d":2000}')
is "$(job "$I" '[d["status"], d["jobs"][1]["result"]]')" '[1,{"waited":2000}]' \
   "delay 2000: resolves, then the next node"
within "$(took "$I")" 2000 2400 "... after 2 s"
is "$(job "$I" 'ms(d["jobs"][0]["result"]["delayedUntil"]) - ms(d["createdAt"]) in range(2000, 2200)')" \
   true "... its result's delayedUntil is 2 s after the start"
is "$(job "$I" 'sorted(k for k in d if k.startswith("delay:"))')" '[]' \
   "... the due time is no longer in the record"
is "$(R ZSCORE webhook:delayed "$I")" "" "... nor in webhook:delayed"

I=$(run wait '{"d":"300"}')
is "$(job "$I" '[d["status"], d["jobs"][0]["result"]["duration"]]')" '[1,300]' \
   "a duration as a numeric string"

I=$(run wait '{"d":0}')
is "$(job "$I" 'd["status"]')" 1 "a duration of 0"

I=$(run wait '{"d":-1}')
is "$(job "$I" '[d["status"], d["error"]]')" \
   '[-1,"node \"w\": \"duration\" must be a number of milliseconds from 0 to 366 days"]' \
   "a negative duration fails"

I=$(uuid7)
R XADD webhook:jobs '*' execution "$I" workflow wait revision "${REVS[wait]}" \
    context '{"data":{"d":100}}' reply "webhook:test:reply:$I" >/dev/null
wait_for 10 final "$I"
is "$(job "$I" '[d["status"], d["error"]]')" \
   '[-1,"node \"w\": a delay node runs only in asynchronous workflows"]' \
   "in a sync job (one with a reply channel) a delay fails"

: >"$TMP/five"
for _ in 1 2 3 4 5; do queue wait '{"d":1000}' >>"$TMP/five"; done
five_done() { while read -r id; do final "$id" || return 1; done <"$TMP/five"; }
wait_for 10 five_done
MAX=$(while read -r id; do took "$id"; done <"$TMP/five" | sort -n | tail -1)
within "$MAX" 1000 1500 "five executions in delays at once all end after 1 s"


# ---- a delay survives its worker

I=$(queue wait '{"d":2000}')
sleep 1
DUE=$(RAW HGET "webhook:execution:$I" "delay:w:0")
is "$(( DUE - $(R ZSCORE webhook:delayed "$I") ))" 0 \
   "while it waits: the due time in the record (delay:w:0) and webhook:delayed"
CREATED=$((16#$(echo "${I//-/}" | cut -c1-12)))
within "$((DUE - CREATED))" 2000 2100 "... 2 s after the start"
{ kill -9 "$WORKER_PID"; wait "$WORKER_PID"; } 2>/dev/null
is "$(status_of "$I")" 0 "killed -9 after 1 s: the execution is left started"
start_worker
wait_for 10 final "$I"
is "$(job "$I" '[d["status"], d["attempts"], [j["nodeKey"] for j in d["jobs"]]]')" \
   '[1,2,["w","done"]]' "a new worker resumes it (attempt 2): not lost"
within "$(took "$I")" 2000 2600 "... it ends 2 s after the start, not 3"
is "$(job "$I" 'ms(d["jobs"][0]["result"]["delayedUntil"])')" "$DUE" \
   "... at the due time the first worker recorded"
is "$(R ZSCORE webhook:delayed "$I")" "" "... then the due time is dropped"

I=$(queue par-all '{"da":2000,"db":2000}')
sleep 1
{ kill -9 "$WORKER_PID"; wait "$WORKER_PID"; } 2>/dev/null
start_worker
wait_for 10 final "$I"
is "$(job "$I" '[d["status"], d["attempts"], sorted(j["nodeKey"] for j in d["jobs"])]')" \
   '[1,2,["a1","a2","after","b1","b2","ca","cb","p"]]' \
   "two delays in parallel, the worker killed -9 after 1 s: resumed, once each"
within "$(took "$I")" 2000 2600 "... both end 2 s after the start"

I=$(queue wait '{"d":2500}')
sleep 0.5
T0=$(date +%s%3N)
stop_worker
RC=$?
T1=$(date +%s%3N)
is "$RC" 0 "SIGTERM during a delay: the worker exits 0"
within "$((T1 - T0))" 0 1200 "... at once, not after the delay"
like "$(cat "$TMP/worker.log")" "$I: given up in delay \"w\", due [0-9]+ms later" \
     "... saying it gave the run up"
is "$(status_of "$I")" 0 "... the execution stays started (its entry pending)"
start_worker
wait_for 10 final "$I"
is "$(job "$I" '[d["status"], d["attempts"]]')" '[1,2]' \
   "the next worker resumes it"
within "$(took "$I")" 2500 3100 "... ending 2.5 s after the start"

stop_worker
is $? 0 "the worker stops with 0"

done_testing
