#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The record nodes (create, update, destroy, query) of webhook-worker
# against a real redis-server, TAP.  Jobs are queued by hand as the nginx
# module queues them; assertions read `webhookctl show ID` and the
# collection's hash (webhook:collection:<name>, SPEC §6 / wh_redis_keys.h).
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli
require_build
scratch records
MORE_PIDS=

cleanup_more() {
    # shellcheck disable=SC2086
    [ -n "$MORE_PIDS" ] && kill -9 $MORE_PIDS 2>/dev/null
}

start_redis

is "$(R ping)" PONG "redis-server runs on port $PORT"

WAIT_STEP=0.02
FINAL='1|-1|-2'

statuses() {    # FILE: the status of each execution id in FILE
    sed 's/^/HGET webhook:execution:/; s/$/ status/' "$1" \
        | redis-cli -p "$PORT" --raw
}

all_final() { ! statuses "$1" | grep -qvE '^(1|-1|-2)$'; }

declare -A REVS

publish() {     # NAME: $TMP/NAME.json
    REVS[$1]=$("$CTL" --redis "$ADDR" publish "$TMP/$1.json")
}

# run WORKFLOW DATA_JSON: queues a job, waits for its end, prints its id
run() {
    local id
    id=$(uuid7)
    R XADD webhook:jobs '*' execution "$id" workflow "$1" \
        revision "${REVS[$1]}" context "{\"id\":\"$id\",\"data\":$2}" \
        >/dev/null
    wait_for 10 final "$id" || echo "# $id did not end" >&2
    echo "$id"
}

# job ID EXPRESSION: the expression over the show JSON (d)
job() { show "$1" | json "$2"; }


# ---- workflows

cat >"$TMP/add.json" <<'EOF'
{ "key": "add", "nodes": [
    { "key": "c", "type": "create",
      "config": { "collection": "{{ $context.data.c }}",
                  "values": "{{ $context.data.values }}" } },
    { "key": "q", "type": "query",
      "config": { "collection": "{{ $context.data.c }}",
                  "filter": { "id": "{{ $nodes.c.id }}" } } } ] }
EOF

cat >"$TMP/find.json" <<'EOF'
{ "key": "find", "nodes": [
    { "key": "q", "type": "query",
      "config": { "collection": "{{ $context.data.c }}",
                  "filter": "{{ $context.data.filter }}",
                  "id": "{{ $context.data.id }}",
                  "sort": "{{ $context.data.sort }}",
                  "pageSize": "{{ $context.data.pageSize }}",
                  "limit": "{{ $context.data.limit }}",
                  "page": "{{ $context.data.page }}",
                  "multiple": "{{ $context.data.multiple }}",
                  "failOnEmpty": "{{ $context.data.failOnEmpty }}" } } ] }
EOF

cat >"$TMP/upd.json" <<'EOF'
{ "key": "upd", "nodes": [
    { "key": "u", "type": "update",
      "config": { "collection": "people",
                  "filter": "{{ $context.data.filter }}",
                  "id": "{{ $context.data.id }}",
                  "values": "{{ $context.data.values }}" } } ] }
EOF

cat >"$TMP/del.json" <<'EOF'
{ "key": "del", "nodes": [
    { "key": "d", "type": "destroy",
      "config": { "collection": "people",
                  "filter": "{{ $context.data.filter }}",
                  "id": "{{ $context.data.id }}" } } ] }
EOF

# NocoBase writes the options inside "params"
cat >"$TMP/nb.json" <<'EOF'
{ "key": "nb", "nodes": [
    { "key": "q", "type": "query",
      "config": { "collection": "people", "multiple": true,
                  "params": { "filter": { "age": { "$lt": 20 } },
                              "sort": ["-id"], "pageSize": 5 } } } ] }
EOF

for w in add find upd del nb; do publish $w; done

WORKER_OPTS=(--claim-after 1s)
start_worker


# ---- create, and the record's shape

A=$(run add '{"c":"people","values":{"name":"ann","age":30,"tags":["a","b"],"address":{"city":"Oslo"},"id":999,"createdAt":"never"}}')
is "$(status_of "$A")" 1 "create, then query by the new id: resolved"
is "$(job "$A" '[j["nodeKey"] for j in d["jobs"]]')" '["c","q"]' "... both jobs"
is "$(job "$A" '[j["type"] for j in d["jobs"]]')" '["create","query"]' \
   "... typed create and query"
REC=$(job "$A" 'd["jobs"][0]["result"]')
is "$(RAW HGET webhook:collection:people 1 | json 'list(d)')" \
   '["id","name","age","tags","address","createdAt","updatedAt"]' \
   "the record: id first, the values in order, createdAt, updatedAt"
is "$(echo "$REC" | json '[d["id"], d["name"], d["age"], d["tags"], d["address"]]')" \
   '[1,"ann",30,["a","b"],{"city":"Oslo"}]' \
   "... id from the counter (the values' id and createdAt are ignored)"
like "$(echo "$REC" | json 'd["createdAt"]')" \
     '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
     "... createdAt is ISO-8601 UTC with milliseconds"
is "$(echo "$REC" | json 'd["createdAt"] == d["updatedAt"]')" true \
   "... and updatedAt the same at creation"
is "$(job "$A" 'd["jobs"][1]["result"]')" "$REC" \
   "query by {\"id\": …} finds the same record"
is "$(RAW HGET webhook:collection:people 1 | json 'd')" "$REC" \
   "the hash webhook:collection:people holds it under its id"
is "$(RAW GET webhook:collection:people:seq)" 1 "the counter is at 1"

B=$(run add '{"c":"people","values":{"name":"bob","age":17,"tags":[]}}')
C=$(run add '{"c":"people","values":{"name":"cy","age":"45","tags":["b"]}}')
D=$(run add '{"c":"people","values":{"name":"dee","age":30,"tags":["c"],"address":{"city":"Rome"}}}')
is "$(for i in "$B" "$C" "$D"; do job "$i" 'd["jobs"][0]["result"]["id"]'; done | tr '\n' ' ')" \
   "2 3 4 " "ids 2, 3, 4 follow"

E=$(run add '{"c":"empty"}')
is "$(job "$E" '[d["status"], sorted(d["jobs"][0]["result"])]')" \
   '[1,["createdAt","id","updatedAt"]]' "create without values: id and times"


# ---- query

q() { run find "$1"; }      # DATA: a query's execution id
names() { job "$1" '[r["name"] for r in d["jobs"][0]["result"]]'; }

I=$(q '{"c":"people","multiple":true}')
is "$(names "$I")" '["ann","bob","cy","dee"]' \
   "query, multiple, no filter: every record by id"

I=$(q '{"c":"people"}')
is "$(job "$I" 'd["jobs"][0]["result"]["name"]')" ann \
   "not multiple: the first record itself"

I=$(q '{"c":"people","filter":{"name":"zed"}}')
is "$(job "$I" '[d["status"], d["jobs"][0]["result"]]')" '[1,null]' \
   "not multiple, nothing matched: null"

I=$(q '{"c":"people","filter":{"name":"zed"},"multiple":true}')
is "$(job "$I" 'd["jobs"][0]["result"]')" '[]' "multiple, nothing matched: []"

I=$(q '{"c":"people","filter":{"age":{"$gte":30}},"sort":["-age","name"],"multiple":true}')
is "$(names "$I")" '["cy","ann","dee"]' \
   "\$gte (a numeric string too), sort [\"-age\", \"name\"]"

I=$(q '{"c":"people","filter":{"age":30},"sort":"-name","multiple":true}')
is "$(names "$I")" '["dee","ann"]' "a plain value is \$eq; sort as one string"

I=$(q '{"c":"people","filter":{"$or":[{"name":"bob"},{"tags":{"$includes":"c"}}]},"multiple":true}')
is "$(names "$I")" '["bob","dee"]' "\$or with \$includes on an array"

I=$(q '{"c":"people","filter":{"$and":[{"age":{"$in":[17,45]}},{"tags":{"$includes":"b"}}]},"multiple":true}')
is "$(names "$I")" '["cy"]' "\$and with \$in"

I=$(q '{"c":"people","filter":{"name":{"$ne":"ann"},"age":{"$lt":40}},"multiple":true}')
is "$(names "$I")" '["bob","dee"]' "several fields: and (\$ne, \$lt)"

I=$(q '{"c":"people","filter":{"address.city":"Rome"},"multiple":true}')
is "$(names "$I")" '["dee"]' "a dotted path into a nested object"

I=$(q '{"c":"people","filter":{"name":{"$gt":"b"}},"sort":["-id"],"multiple":true}')
is "$(names "$I")" '["dee","cy","bob"]' "\$gt on text; sort [\"-id\"]"

I=$(q '{"c":"people","multiple":true,"pageSize":3,"page":2}')
is "$(names "$I")" '["dee"]' "pageSize 3, page 2"

I=$(q '{"c":"people","multiple":true,"limit":2}')
is "$(names "$I")" '["ann","bob"]' "limit 2"

I=$(q '{"c":"people","id":3,"multiple":true}')
is "$(names "$I")" '["cy"]' "by id"

I=$(q '{"c":"people","id":"2","filter":{"name":"ann"},"multiple":true}')
is "$(names "$I")" '[]' "id and filter: both must match"

I=$(q '{"c":"nothing-here","multiple":true}')
is "$(job "$I" 'd["jobs"][0]["result"]')" '[]' "a collection never written is empty"

I=$(run nb '{}')
is "$(names "$I")" '["bob"]' "NocoBase's params: {filter, sort, pageSize}"

I=$(q '{"c":"people","filter":{"name":"zed"},"failOnEmpty":true}')
is "$(job "$I" '[d["status"], d["jobs"][0]["status"], d["error"]]')" \
   '[-1,-1,"node \"q\": no record matched"]' "failOnEmpty fails the node"

I=$(q '{"c":"people","filter":{"name":{"$like":"a%"}}}')
is "$(job "$I" '[d["status"], d["jobs"][0]["status"]]')" '[-1,-1]' \
   "an invalid filter fails the node"
is "$(job "$I" 'd["error"]')" \
   'node "q": filter: unknown operator "$like" for field "name" (known: $eq, $ne, $gt, $gte, $lt, $lte, $in, $notIn, $includes, $notIncludes, $empty, $notEmpty)' \
   "... saying why"

I=$(q '{"c":"people","filter":{"name":{"$in":"ann"}}}')
is "$(job "$I" 'd["error"]')" \
   'node "q": filter: "$in" of field "name" must be an array' "\$in needs an array"

I=$(q '{"c":"a:b"}')
is "$(job "$I" '[d["status"], d["error"]]')" \
   '[-1,"node \"q\": \"collection\" must match [A-Za-z0-9_-]+"]' \
   "a collection name outside [A-Za-z0-9_-] fails"

R SET webhook:collection:str x >/dev/null
I=$(q '{"c":"str"}')
like "$(job "$I" '[d["status"], d["error"]]')" \
     '^\[-1,"node \\"q\\": redis: reading the collection: webhook:collection:str is not a collection: WRONGTYPE' \
     "a collection key that is not a hash fails the node (no retry)"

I=$(q '{"c":"people","sort":[1]}')
like "$(job "$I" 'd["error"]')" '"sort" must be a field name' "an invalid sort fails"

I=$(q '{"c":"people","multiple":true,"pageSize":0}')
is "$(job "$I" 'd["error"]')" 'node "q": "pageSize" must be a positive integer' \
   "pageSize 0 fails"


# ---- update

U=$(run upd '{"filter":{"age":30},"values":{"age":31,"vip":true,"id":77,"createdAt":"x"}}')
is "$(job "$U" '[d["status"], d["jobs"][0]["result"]["count"]]')" '[1,2]' \
   "update by filter: {count: 2}"
is "$(job "$U" '[[r["id"], r["name"], r["age"], r["vip"]] for r in d["jobs"][0]["result"]["records"]]')" \
   '[[1,"ann",31,true],[4,"dee",31,true]]' \
   "... and the updated records (values merged, id kept)"
UPD=$(RAW HGET webhook:collection:people 1)
is "$(echo "$UPD" | json 'list(d)')" \
   '["id","name","age","tags","address","createdAt","updatedAt","vip"]' \
   "the stored record keeps its keys in place, new ones at the end"
is "$(echo "$UPD" | json 'd["createdAt"]')" "$(echo "$REC" | json 'd["createdAt"]')" \
   "... createdAt unchanged"
is "$(echo "$UPD" | json 'd["updatedAt"] > d["createdAt"]')" true \
   "... updatedAt later"
is "$(job "$U" 'd["jobs"][0]["result"]["records"][0]')" "$(echo "$UPD" | json 'd')" \
   "... as the result showed it"

I=$(q '{"c":"people","filter":{"vip":true},"multiple":true}')
is "$(names "$I")" '["ann","dee"]' "a query finds the updated records"

U=$(run upd '{"id":2,"values":{"name":"Bob"}}')
is "$(job "$U" '[d["jobs"][0]["result"]["count"], d["jobs"][0]["result"]["records"][0]["name"]]')" \
   '[1,"Bob"]' "update by id"

U=$(run upd '{"filter":{"name":"zed"},"values":{"x":1}}')
is "$(job "$U" 'd["jobs"][0]["result"]')" '{"count":0,"records":[]}' \
   "update of nothing: count 0"

U=$(run upd '{"values":{"x":1}}')
is "$(job "$U" '[d["status"], d["error"]]')" \
   '[-1,"node \"u\": \"filter\" or \"id\" is required (the filter {} means every record)"]' \
   "update without filter or id fails"

U=$(run upd '{"filter":{"id":1},"values":[1]}')
is "$(job "$U" 'd["error"]')" 'node "u": "values" must be an object' \
   "update with values not an object fails"

is "$(RAW HGET webhook:collection:people 1)" "$UPD" "failed updates changed nothing"


# ---- destroy

X=$(run del '{"filter":{"name":"Bob"}}')
is "$(job "$X" '[d["status"], d["jobs"][0]["result"]]')" '[1,{"count":1}]' \
   "destroy by filter: {count: 1}"
is "$(R HEXISTS webhook:collection:people 2)" 0 "... the record is gone"

X=$(run del '{"id":99}')
is "$(job "$X" 'd["jobs"][0]["result"]')" '{"count":0}' "destroy of a missing id: 0"

X=$(run del '{}')
is "$(job "$X" 'd["status"]')" -1 "destroy without filter or id fails"
is "$(R HLEN webhook:collection:people)" 3 "... and destroys nothing"

X=$(run del '{"filter":{"$or":[{"id":1},{"tags":{"$includes":"b"}}]}}')
is "$(job "$X" 'd["jobs"][0]["result"]')" '{"count":2}' "destroy by \$or"
I=$(q '{"c":"people","multiple":true}')
is "$(names "$I")" '["dee"]' "a query sees what is left"

X=$(run del '{"filter":{}}')
is "$(job "$X" 'd["jobs"][0]["result"]')" '{"count":1}' "the filter {} destroys every record"
is "$(R HLEN webhook:collection:people),$(RAW GET webhook:collection:people:seq)" \
   "0,4" "... the counter stays: ids are not reused"

A=$(run add '{"c":"people","values":{"name":"eve"}}')
is "$(job "$A" 'd["jobs"][0]["result"]["id"]')" 5 "the next id is 5"

# ---- updates from several workers at once lose nothing (WATCH/MULTI)

for _ in 1 2 3; do
    "$WORKER" --redis "$ADDR" "${ALLOW_NET[@]}" --concurrency 4 2>>"$TMP/workers.log" &
    MORE_PIDS="$MORE_PIDS $!"
done
: >"$TMP/upds"
for i in $(seq 1 200); do
    id=$(uuid7)
    echo "$id" >>"$TMP/upds"
    echo "XADD webhook:jobs * execution $id workflow upd revision ${REVS[upd]} context '{\"data\":{\"filter\":{\"name\":\"eve\"},\"values\":{\"f$i\":$i}}}'"
done >"$TMP/upds.redis"
redis-cli -p "$PORT" <"$TMP/upds.redis" >/dev/null

wait_for 30 all_final "$TMP/upds"
is "$(RAW HGET webhook:collection:people 5 | json '[sum(1 for k in d if k[0] == "f"), sum(v for k, v in d.items() if k[0] == "f")]')" \
   '[200,20100]' "200 updates of one record by four workers at once: none is lost"
is "$(statuses "$TMP/upds" | sort -u)" 1 \
   "... all resolved"
# shellcheck disable=SC2086
kill -TERM $MORE_PIDS
wait $MORE_PIDS
MORE_PIDS=


# ---- creates in flight together get distinct ids

: >"$TMP/many"
for i in $(seq 1 40); do
    id=$(uuid7)
    echo "$id" >>"$TMP/many"
    echo "XADD webhook:jobs * execution $id workflow add revision ${REVS[add]} context '{\"data\":{\"c\":\"many\",\"values\":{\"i\":$i}}}'"
done | redis-cli -p "$PORT" >/dev/null

wait_for 20 all_final "$TMP/many"
IDS=$(sed 's/^/HGET webhook:execution:/; s/$/ jobs/' "$TMP/many" \
      | redis-cli -p "$PORT" --raw \
      | "$PY" -c 'import json, sys; print(" ".join(sorted((str(json.loads(l)[0]["result"]["id"]) for l in sys.stdin), key=int)))')
is "$IDS" "$(seq 1 40 | tr '\n' ' ' | sed 's/ $//')" "40 concurrent creates: ids 1 to 40, each once"
is "$(R HLEN webhook:collection:many)" 40 "... 40 records"

stop_worker
is $? 0 "the worker stops with 0"

done_testing
