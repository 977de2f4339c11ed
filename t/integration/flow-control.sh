#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Flow control of SPEC §11 across several webhook-worker processes
# sharing one real redis-server, TAP: options.concurrency is never
# exceeded, options.orderKey keeps each key's order with no overlap,
# and a paused workflow's jobs are accepted and parked, untouched by the
# workers, until webhookctl resume.  The peer of the request nodes
# (upstream.py) logs when each request arrived and was answered; the
# figures (executions, maximum overlap, order violations) are printed as
# TAP comments.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli
require_build
scratch flowctl
UP_PID=
PIDS=()

cleanup_more() {
    local p
    for p in "${PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null
}

start_redis
is "$(R ping)" PONG "redis-server runs on port $PORT"

serve UP "$TMP/upstream.log" "$PY" t/integration/upstream.py || {
    echo "Bail out! upstream.py did not start"
    exit 1
}
UP_PID=$SERVE_PID

# WORKERS: three processes, each free to run many executions at once
workers() {     # N
    local i
    for i in $(seq 1 "$1"); do
        "$WORKER" --redis "$ADDR" "${ALLOW_NET[@]}" "${WORKER_OPTS[@]}" --consumer "w$i" \
            --concurrency 16 --claim-after 3s \
            2>>"$TMP/worker.log" &
        PIDS+=($!)
    done
}

declare -A REVS
pub() {     # NAME: $TMP/NAME.json
    REVS[$1]=$("$CTL" --redis "$ADDR" publish "$TMP/$1.json")
}

queue() {   # WORKFLOW DATA_JSON: the id
    local id
    id=$(uuid7)
    R XADD webhook:jobs '*' execution "$id" workflow "$1" \
        revision "${REVS[$1]}" context "{\"id\":\"$id\",\"data\":$2}" \
        >/dev/null
    echo "$id"
}

job() { show "$1" | json "$2"; }     # ID EXPRESSION over the record (d)

JSON_DEFS='
from datetime import datetime, timezone
def ms(s):
    t = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return round(t.timestamp() * 1000)'


all_final() {   # ID...: every one has a final status
    local id
    for id in "$@"; do
        final "$id" || return 1
    done
}

# log_stat PATH_PREFIX EXPR: over the upstream's log entries under the
# prefix (e), in arrival order; overlap(e) is the most in flight at once
log_stat() {
    curl -s "http://127.0.0.1:$UP/log" | "$PY" -c '
import json, sys
from urllib.parse import parse_qs
e = [x for x in json.load(sys.stdin) if x["path"].startswith(sys.argv[1])]
def overlap(e):
    ev = sorted([(x["start"], 1) for x in e] + [(x.get("end", 1e99), -1) for x in e],
                key=lambda t: (t[0], t[1]))
    m = c = 0
    for _, d in ev:
        c += d
        m = max(m, c)
    return m
def seq(x):
    return int(parse_qs(x["query"])["seq"][0])
def violations(e):
    # per path (one order key each): later arrivals with a lower seq
    v = 0
    last = {}
    for x in e:
        s = seq(x)
        if s < last.get(x["path"], -1):
            v += 1
        last[x["path"]] = max(s, last.get(x["path"], -1))
    return v
print(eval(sys.argv[2]))
' "$1" "$2"
}

cat >"$TMP/conc.json" <<EOF
{ "key": "conc", "options": { "concurrency": 3 }, "nodes": [
  { "key": "call", "type": "request",
    "config": { "method": "GET",
                "url": "http://127.0.0.1:$UP/conc?ms=250&seq={{ \$context.data.seq }}" } } ] }
EOF

cat >"$TMP/ord.json" <<EOF
{ "key": "ord", "options": { "orderKey": "{{ \$context.data.customer }}" },
  "nodes": [
  { "key": "call", "type": "request",
    "config": { "method": "GET",
                "url": "http://127.0.0.1:$UP/ord/{{ \$context.data.customer }}?ms=80&seq={{ \$context.data.seq }}" } } ] }
EOF

cat >"$TMP/pz.json" <<EOF
{ "key": "pz", "nodes": [
  { "key": "call", "type": "request",
    "config": { "method": "GET",
                "url": "http://127.0.0.1:$UP/pz?ms=10&seq={{ \$context.data.seq }}" } } ] }
EOF

cat >"$TMP/bad.json" <<'EOF'
{ "key": "bad", "options": { "concurrency": 0 }, "nodes": [] }
EOF

for w in conc ord pz; do pub $w; done

out=$("$CTL" --redis "$ADDR" publish "$TMP/bad.json" 2>&1)
like "$out" 'options.concurrency' "concurrency 0 is refused when the workflow is loaded"

workers 3

# ---- concurrency: 30 jobs of 250 ms, at most 3 at once across 3 workers

ids=()
for i in $(seq 1 30); do
    ids+=("$(queue conc "{\"seq\":$i}")")
done

wait_for 60 all_final "${ids[@]}"
ok $? "the 30 executions of a concurrency-3 workflow end"

resolved=0
attempts=0
for id in "${ids[@]}"; do
    [ "$(status_of "$id")" == 1 ] && resolved=$((resolved + 1))
    attempts=$((attempts + $(RAW HGET "webhook:execution:$id" attempts)))
done
is "$resolved" 30 "all resolved: none failed for waiting"
is "$attempts" 30 "one attempt each: none was retried for waiting"

max=$(log_stat /conc 'overlap(e)')
n_conc=$(log_stat /conc 'len(e)')
echo "# concurrency: $n_conc executions, maximum overlap seen $max (limit 3)"
is "$n_conc" 30 "the upstream saw 30 requests"
is "$max" 3 "never more than 3 in flight at once, and 3 were"
is "$(R ZCARD webhook:running:conc)" 0 "every lease is given back"

# ---- order: 4 keys × 10 jobs, queued interleaved, 3 workers

ids=()
for i in $(seq 1 10); do
    for c in a b c d; do
        ids+=("$(queue ord "{\"customer\":\"$c\",\"seq\":$i}")")
    done
done

wait_for 90 all_final "${ids[@]}"
ok $? "the 40 executions of an orderKey workflow end"

resolved=0
for id in "${ids[@]}"; do
    [ "$(status_of "$id")" == 1 ] && resolved=$((resolved + 1))
done
is "$resolved" 40 "all resolved"

n_ord=$(log_stat /ord/ 'len(e)')
viol=$(log_stat /ord/ 'violations(e)')
per_key=$(log_stat /ord/ 'max(overlap([x for x in e if x["path"] == p]) for p in ("/ord/a", "/ord/b", "/ord/c", "/ord/d"))')
across=$(log_stat /ord/ 'overlap(e)')
echo "# order: $n_ord executions, order violations $viol, maximum overlap within a key $per_key, across keys $across"
is "$n_ord" 40 "the upstream saw 40 requests"
is "$viol" 0 "no order violation within a key"
is "$per_key" 1 "one at a time within a key"
ok $(( across > 1 ? 0 : 1 )) "different keys ran at the same time ($across)"
is "$(RAW KEYS 'webhook:order:ord:*' | wc -w)" 0 "the order queues are empty again"

# ---- a worker killed -9 in the middle frees its slot (the lease expires)

cat >"$TMP/one.json" <<'EOF2'
{ "key": "one", "options": { "concurrency": 1, "orderKey": "k" }, "nodes": [
  { "key": "d", "type": "delay", "config": { "duration": 1500 } } ] }
EOF2
pub one

for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done 2>/dev/null
PIDS=()
workers 1
a=$(queue one '{}')
started() { [ "$(status_of "$1")" == 0 ]; }
wait_for 60 started "$a"
ok $? "the first execution of a concurrency-1 workflow starts"
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done 2>/dev/null
PIDS=()
b=$(queue one '{}')
workers 2
wait_for 60 all_final "$a" "$b"
ok $? "after its worker was killed -9, both executions end"
is "$(status_of "$a")$(status_of "$b")" 11 "both resolved"
is "$(RAW HGET "webhook:execution:$a" attempts)" 2 \
    "the killed one was reclaimed and ran again"
ok $(( $(job "$b" 'ms(d["startedAt"])') >= $(job "$a" 'ms(d["finishedAt"])') ? 0 : 1 )) \
    "the second started after the first ended: order and slot kept across the kill"
is "$(R ZCARD webhook:running:one)" 0 "no lease is left"

for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done 2>/dev/null
PIDS=()
workers 3

# ---- pause and resume

"$CTL" --redis "$ADDR" pause pz >/dev/null
is "$(RAW SMEMBERS webhook:paused)" pz "webhookctl pause KEY: webhook:paused holds KEY"

ids=()
for i in 1 2 3 4; do
    ids+=("$(queue pz "{\"seq\":$i}")")
done

parked() { [ "$(R LLEN webhook:parked:pz)" -eq 4 ]; }
wait_for 60 parked
ok $? "the 4 jobs of the paused workflow are parked"
sleep 1
is "$(log_stat /pz 'len(e)')" 0 "no execution of a paused workflow started"
is "$(R XPENDING webhook:jobs webhook-workers | head -1)" 0 \
    "parked jobs are not pending: no reclaim spins on them"
is "$(status_of "${ids[0]}")" "" "a parked execution has no status"
is "$(RAW HGET "webhook:execution:${ids[0]}" parked)" paused \
    "its record says parked: paused"
is "$(job "${ids[0]}" 'd["parked"]')" paused "webhookctl show says parked: paused"
list=$("$CTL" --redis "$ADDR" executions --workflow pz)
is "$(grep -c ' paused ' <<<"$list")" 4 "webhookctl executions lists the 4 as paused"
list=$("$CTL" --redis "$ADDR" executions --status paused)
is "$(wc -l <<<"$list")" 4 "executions --status paused lists those 4 only"

out=$("$CTL" --redis "$ADDR" resume pz)
is "$out" "resumed pz: 4 queued again" "webhookctl resume KEY queues them again"
is "$(R SCARD webhook:paused)" 0 "the workflow is no longer paused"

wait_for 60 all_final "${ids[@]}"
ok $? "the resumed executions end"
resolved=0
for id in "${ids[@]}"; do
    [ "$(status_of "$id")" == 1 ] && resolved=$((resolved + 1))
done
is "$resolved" 4 "all resolved, once"
is "$(log_stat /pz 'len(e)')" 4 "the upstream saw each once"
is "$(RAW HGET "webhook:execution:${ids[0]}" parked)" "" \
    "the record no longer says parked"

# ---- subflow and output

cat >"$TMP/child.json" <<'EOF2'
{ "key": "child", "nodes": [
  { "key": "sum", "type": "calculation",
    "config": { "engine": "math", "expression": "{{ $context.data.n }} * 2" } },
  { "key": "out", "type": "output",
    "config": { "value": { "doubled": "{{ $nodes.sum }}",
                           "parent": "{{ $context.parent }}" } } } ] }
EOF2

cat >"$TMP/parent.json" <<'EOF2'
{ "key": "parent", "nodes": [
  { "key": "sub", "type": "subflow",
    "config": { "workflow": "child", "context": { "n": "{{ $context.data.x }}" } } },
  { "key": "after", "type": "set",
    "config": { "values": { "d": "{{ $nodes.sub.output.doubled }}" } } },
  { "key": "out", "type": "output", "config": { "value": "{{ $nodes.after.d }}" } } ] }
EOF2

cat >"$TMP/fire.json" <<'EOF2'
{ "key": "fire", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "child", "wait": false } } ] }
EOF2

cat >"$TMP/sad.json" <<'EOF2'
{ "key": "sad", "nodes": [ { "key": "no", "type": "end", "config": { "endStatus": -1 } } ] }
EOF2

cat >"$TMP/callsad.json" <<'EOF2'
{ "key": "callsad", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "sad" } } ] }
EOF2

cat >"$TMP/nowhere.json" <<'EOF2'
{ "key": "nowhere", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "never-published" } } ] }
EOF2

cat >"$TMP/ping.json" <<'EOF2'
{ "key": "ping", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "pong" } } ] }
EOF2

cat >"$TMP/pong.json" <<'EOF2'
{ "key": "pong", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "ping" } } ] }
EOF2

cat >"$TMP/self.json" <<'EOF2'
{ "key": "self", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "self" } } ] }
EOF2

for w in child parent fire sad callsad nowhere ping pong; do pub $w; done
is "$(RAW GET webhook:workflow:key:child)" "${REVS[child]}" \
    "publish stores webhook:workflow:key:<key> -> revision"

out=$("$CTL" --redis "$ADDR" publish "$TMP/self.json" 2>&1)
like "$out" 'a subflow cycle' "a subflow calling its own workflow is refused at load"

pid=$(queue parent '{"x":21}')
wait_for 60 final "$pid"
is "$(status_of "$pid")" 1 "the parent resolves"
res=$(show "$pid")
child=$(json 'd["jobs"][0]["result"]["executionId"]' <<<"$res")
is "$(json 'd["jobs"][0]["result"]' <<<"$res")" \
    "{\"executionId\":\"$child\",\"output\":{\"doubled\":42,\"parent\":\"$pid\"},\"status\":1}" \
    "the subflow node's result: the child's executionId, status and output"
is "$(json 'd["output"]' <<<"$res")" 42 "the parent's own output node is recorded"
is "$(RAW HGET "webhook:execution:$pid" output)" 42 "as JSON, in the record's output field"
is "$(RAW HGET "webhook:execution:$pid" "subflow:sub:0")" "$child" \
    "the parent's record names its child"
is "$(json 'd["children"]' <<<"$res")" "[\"$child\"]" \
    "webhookctl show lists the children"
cres=$(show "$child")
is "$(json 'd["parent"]' <<<"$cres")" "$pid" "the child's record has parent"
is "$(json 'd["workflow"]' <<<"$cres")" child "and runs workflow child"
is "$(json '[d["context"]["data"], d["context"]["parent"], d["context"]["id"]]' <<<"$cres")" \
    "[{\"n\":21},\"$pid\",\"$child\"]" \
    "its \$context: data from the node's context, parent, its own id"

fid=$(queue fire '{"n":5}')
wait_for 60 final "$fid"
is "$(status_of "$fid")" 1 "wait false: the parent resolves"
fchild=$(job "$fid" 'd["jobs"][0]["result"]["executionId"]')
wait_for 60 final "$fchild"
is "$(job "$fchild" 'd["output"]["doubled"]')" 10 \
    "the fire-and-forget child ran with the caller's \$context.data"
is "$(job "$fid" 'sorted(d["jobs"][0]["result"].keys())')" '["executionId"]' \
    "its result is only the child's executionId"

sid=$(queue callsad '{}')
wait_for 60 final "$sid"
is "$(status_of "$sid")" -1 "a child that fails fails the subflow node"
like "$(job "$sid" 'd["error"]')" 'ended with status -1' "with a message"

nid=$(queue nowhere '{}')
wait_for 60 final "$nid"
is "$(status_of "$nid")" -1 "a subflow of an unknown workflow fails"
like "$(job "$nid" 'd["error"]')" 'no workflow "never-published"' "and says so"

cid=$(queue ping '{}')
wait_for 60 final "$cid"
is "$(status_of "$cid")" -1 "a cycle across files (ping -> pong -> ping) ends, failed"
like "$(job "$cid" 'd["error"]')" 'ended with status -1' "its innermost subflow hit the depth limit"
is "$(R ZCARD webhook:executions:ping)" 5 "ping ran 5 times (depth 0, 2, 4, 6, 8), no more"

# ---- SIGTERM while a parent waits for its child: the worker stops, the
# next one picks both up and the parent gets the same child

cat >"$TMP/slowchild.json" <<'EOF2'
{ "key": "slowchild", "nodes": [
  { "key": "d", "type": "delay", "config": { "duration": 1500 } },
  { "key": "o", "type": "output", "config": { "value": "slow" } } ] }
EOF2
cat >"$TMP/slowparent.json" <<'EOF2'
{ "key": "slowparent", "nodes": [
  { "key": "sub", "type": "subflow", "config": { "workflow": "slowchild" } } ] }
EOF2
pub slowchild
pub slowparent

spid=$(queue slowparent '{}')
has_child() { [ -n "$(RAW HGET "webhook:execution:$1" subflow:sub:0)" ]; }
wait_for 60 has_child "$spid"
ok $? "the parent queued its child"
schild=$(RAW HGET "webhook:execution:$spid" subflow:sub:0)
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
gone() { local p; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
wait_for 60 gone
ok $? "SIGTERM: the workers stop though a parent waits for a child"
rcs=0
for p in "${PIDS[@]}"; do wait "$p" || rcs=$((rcs + 1)); done
is "$rcs" 0 "and exit 0"
PIDS=()
workers 2
wait_for 60 all_final "$spid" "$schild"
is "$(status_of "$spid")$(status_of "$schild")" 11 "the next workers finish both"
is "$(job "$spid" 'd["jobs"][-1]["result"]["executionId"]')" "$schild" \
    "the parent waited for the same child"
is "$(R ZCARD webhook:executions:slowchild)" 1 "and no second child was made"

done_testing
