#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# webhookctl test: a workflow file run outside nginx.  Inline nodes run in
# webhookctl; mocked worker nodes give the mock; a worker node without a
# mock runs in a real webhook-worker through Redis.  Exit 0 resolved,
# 1 failed, 2 error.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash
require_build
require redis-server
scratch ctltest

cat > "$TMP/order.json" <<'EOC'
{"key": "order", "nodes": [
  {"key": "total", "type": "calculation",
   "config": {"engine": "math", "expression": "{{ $context.data.price }} * {{ $context.data.qty }}"}},
  {"key": "check", "type": "condition",
   "config": {"calculation": {"calculator": "gt", "operands": ["{{ $nodes.total }}", 0]}}},
  {"key": "answer", "type": "response",
   "config": {"statusCode": 201, "headers": [{"name": "X-Total", "value": "{{ $nodes.total }}"}],
              "body": {"total": "{{ $nodes.total }}", "src": "{{ $context.query.src }}",
                       "sig": "{{ $context.headers.x-sig }}"}}}]}
EOC
cat > "$TMP/notify.json" <<'EOC'
{"key": "notify", "nodes": [
  {"key": "post", "type": "request",
   "config": {"method": "POST", "url": "http://127.0.0.1:9/never", "data": {"x": 1}}},
  {"key": "save", "type": "create",
   "config": {"collection": "notes", "values": {"status": "{{ $nodes.post.status }}"}}},
  {"key": "out", "type": "set", "config": {"values": {"status": "{{ $nodes.post.status }}", "id": "{{ $nodes.save.id }}"}}}]}
EOC
printf '%s' '{"price": 2, "qty": 3}' > "$TMP/body.json"

t() { "$CTL" --redis "${ADDR:-127.0.0.1:1}" test "$@"; }

out=$(t "$TMP/order.json" --data @"$TMP/body.json" --query 'src=ci' \
      --header 'X-Sig: abc'); rc=$?
is "$rc" 0 "an inline workflow resolves: exit 0"
is "$(printf %s "$out" | json 'd["response"]')" \
   '{"body":{"sig":"abc","src":"ci","total":6},"headers":[{"name":"X-Total","value":"6"}],"statusCode":201}' \
   "the response node's answer, with query and headers in the context"
is "$(printf %s "$out" | json '[(n["nodeKey"], n["result"]) for n in d["nodes"]]')" \
   '[["total",6],["check",true],["answer",null]]' "each node's result"

out=$(t "$TMP/order.json" --data '{"price": 2, "qty": 0}'); rc=$?
is "$rc" 1 "a condition that rejects: failed, exit 1"
is "$(printf %s "$out" | json 'd["response"]["statusCode"]')" 500 "... answered 500 as nginx would"

t "$TMP/order.json" --data '{"price": 2,' >/dev/null 2>"$TMP/err"; rc=$?
is "$rc" 2 "invalid --data: exit 2"
like "$(cat "$TMP/err")" 'invalid JSON.*line 1' "... with the position"
t "$TMP/nope.json" --data '{}' >/dev/null 2>&1
is "$?" 2 "a missing file: exit 2"
t "$TMP/order.json" --data '{}' --mock nope=1 >/dev/null 2>"$TMP/err"
is "$?" 2 "a mock of an unknown node: exit 2"

out=$(t "$TMP/order.json" --header 'Content-Type: application/x-www-form-urlencoded' \
      --data 'price=4&qty=2'); rc=$?
is "$(printf %s "$out" | json 'd["response"]["body"]["total"]')" 8 "a form body"

echo '{"key":"echo","nodes":[{"key":"ctx","type":"set","config":{"values":{"h":"{{ $context.headers }}","m":"{{ $context.method }}","p":"{{ $context.path }}","d":"{{ $context.data }}"}}}]}' \
    > "$TMP/echo.json"
out=$(t "$TMP/echo.json" --header 'X-A: 1' --header 'x-a:  2' --header 'Content-Type: text/plain' \
      --method PUT --path /hooks/x --data 'hello')
is "$(printf %s "$out" | json 'd["nodes"][0]["result"]')" \
   '{"d":"hello","h":{"content-type":"text/plain","x-a":"1, 2"},"m":"PUT","p":"/hooks/x"}' \
   "headers lower-cased and joined, method, path, a text body"

# worker nodes mocked: no Redis needed
out=$(ADDR=127.0.0.1:1 t "$TMP/notify.json" --data '{}' \
      --mock 'post={"status":202,"data":{}}' --mock 'save={"id":41}'); rc=$?
is "$rc" 0 "mocked worker nodes: exit 0 without Redis"
is "$(printf %s "$out" | json '[n for n in d["nodes"] if n["nodeKey"]=="out"][0]["result"]')" \
   '{"id":41,"status":202}' "the mocks' results flow into later nodes"

ADDR=127.0.0.1:1 t "$TMP/notify.json" --data '{}' --mock 'post={"status":202}' \
    >/dev/null 2>"$TMP/err"
is "$?" 2 "a worker node without a mock and no Redis: exit 2"

# ... and with Redis and a worker, "save" runs for real
start_redis
start_worker
out=$(t "$TMP/notify.json" --data '{}' --mock 'post={"status":202,"data":{}}'); rc=$?
is "$rc" 0 "an unmocked worker node runs in webhook-worker: exit 0"
is "$(printf %s "$out" | json '[n for n in d["nodes"] if n["nodeKey"]=="out"][0]["result"]')" \
   '{"id":1,"status":202}' "the record was created for real, the request mocked"
is "$(RAW HLEN webhook:collection:notes)" 1 "one record in Redis"
out=$(t "$TMP/notify.json" --data '{}'); rc=$?
is "$rc" 2 "a request node that cannot connect: error, exit 2"
done_testing
