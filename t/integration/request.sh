#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The "request" node of webhook-worker against real upstreams, TAP:
# nginx itself (JSON, an echo of what arrived, 500, redirects, set-cookie,
# a body over the 10 MB cap), a small Python server that answers after a
# delay, a port nobody listens on.  Ends with 200 requests in flight at
# once against an upstream that takes 1 s each.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash
NGINX=${WH_TEST_NGINX:-/usr/sbin/nginx}

require redis-server redis-cli python3 "$NGINX"
require_build
scratch request
NGINX_PID=
SLOW_PID=

cleanup_more() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    [ -n "$SLOW_PID" ] && kill "$SLOW_PID" 2>/dev/null
}


# ---- redis-server

start_redis
is "$(R ping)" PONG "redis-server runs on port $PORT"


# ---- the upstreams

mkdir -p "$TMP/ngx/logs" "$TMP/ngx/html"
head -c $((11 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$TMP/ngx/html/big.txt"

# (another test may take the port meanwhile: then the next one)
for _ in $(seq 1 5); do
    NPORT=$(free_port)
    cat >"$TMP/ngx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/logs/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $TMP/ngx/body;
    proxy_temp_path $TMP/ngx/proxy;
    fastcgi_temp_path $TMP/ngx/fastcgi;
    uwsgi_temp_path $TMP/ngx/uwsgi;
    scgi_temp_path $TMP/ngx/scgi;
    access_log $TMP/ngx/logs/access.log;
    server {
        listen 127.0.0.1:$NPORT;
        root $TMP/ngx/html;
        client_body_buffer_size 1m;
        client_body_in_single_buffer on;

        location = /ok { default_type application/json; return 200 '{"ok":true}'; }
        location = /fail { default_type application/json; return 500 '{"error":"boom"}'; }
        location = /notfound { default_type text/plain; return 404 'no such thing'; }
        location = /redir { return 302 /ok; }
        location = /loop { return 302 /loop; }
        location = /big.txt { default_type text/plain; }
        location = /cookies {
            default_type text/plain;
            add_header Set-Cookie a=1;
            add_header Set-Cookie b=2;
            add_header X-Multi one;
            add_header X-Multi two;
            return 200 'plain text';
        }

        # What arrived, echoed: the proxy reads the body into
        # \$request_body, its 500 is intercepted, and the named location
        # answers with the body and, in headers, the rest.
        location = /echo {
            proxy_pass http://127.0.0.1:$NPORT/fail;
            proxy_intercept_errors on;
            error_page 500 = @echo;
        }
        location @echo {
            default_type text/plain;
            add_header X-Got-Method \$request_method always;
            add_header X-Got-Args \$args always;
            add_header X-Got-Type \$content_type always;
            add_header X-Got-Test \$http_x_test always;
            add_header X-Got-Agent \$http_user_agent always;
            return 200 \$request_body;
        }
    }
}
EOF
    "$NGINX" -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" 2>"$TMP/ngx/stderr" &
    NGINX_PID=$!
    wait_port "$NPORT" "$NGINX_PID" && break
    kill "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
done
(exec 3<>"/dev/tcp/127.0.0.1/$NPORT") 2>/dev/null
ok $? "nginx runs on port $NPORT" || sed 's/^/# /' "$TMP/ngx/stderr"

# t/integration/upstream.py: answers after ?ms= milliseconds (1000 by
# default), many at a time
serve SPORT "$TMP/slow.log" "$PY" t/integration/upstream.py
ok $? "the slow upstream runs on port $SPORT"
SLOW_PID=$SERVE_PID

DEAD_PORT=$(free_port)

BASE=http://127.0.0.1:$NPORT
SLOW=http://127.0.0.1:$SPORT


# ---- helpers

# One request node "call" with CONFIG, then a set node "after".
wf() {      # KEY CONFIG
    publish "$1" "{\"key\":\"$1\",\"nodes\":[
      {\"key\":\"call\",\"type\":\"request\",\"config\":$2},
      {\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":{
         \"status\":\"{{ \$nodes.call.status }}\"}}}]}"
}

# the upstreams' addresses come from $env: request data cannot set a
# url's host or port (SPEC §7)
export WH_BASE=$BASE WH_SLOW=$SLOW
WORKER_OPTS=(--max-attempts 1 --env WH_BASE,WH_SLOW)
start_worker --concurrency 256

CTX="{\"data\":{\"base\":\"$BASE\",\"slow\":\"$SLOW\",\"n\":7,\"ref\":\"refs/heads/main\",\"commits\":[{\"id\":\"a1\"},{\"id\":\"b2\"}]}}"


# ---- a JSON answer

REV=$(wf ok '{"url":"{{ $env.WH_BASE }}/ok"}')
ID=$(run ok "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json 'd["status"]')" 1 "a POST to a JSON upstream resolves"
is "$(echo "$S" | json '[(j["nodeKey"], j["type"], j["status"]) for j in d["jobs"]]')" \
   '[["call","request",1],["after","set",1]]' "... the request job, then the next node"
is "$(echo "$S" | json '[d["jobs"][0]["result"][k] for k in ("status", "data")]')" \
   '[200,{"ok":true}]' "... result status 200 and the body parsed as JSON"
is "$(echo "$S" | json 'd["jobs"][0]["result"]["headers"]["content-type"]')" \
   application/json "... headers by lower-cased name"
is "$(echo "$S" | json 'sorted(d["jobs"][0]["result"])')" '["data","headers","status"]' \
   "... the result is {status, headers, data}"
is "$(echo "$S" | json 'd["jobs"][1]["result"]')" '{"status":200}' \
   "... and \$nodes.call.status reaches the next node"

REV=$(wf only '{"url":"{{ $env.WH_BASE }}/ok","method":"GET","onlyData":true}')
ID=$(run only "$REV" "$CTX")
is "$(show "$ID" | json 'd["jobs"][0]["result"]')" '{"ok":true}' "onlyData: the result is the data"


# ---- what reaches the upstream

REV=$(wf echo '{"method":"PUT","url":"{{ $env.WH_BASE }}/echo?pre=1",
  "params":[{"name":"q","value":"a b&c=d"},{"name":"n","value":"{{ $context.data.n }}"},
            {"name":"ünï","value":"é/?#"}],
  "headers":[{"name":"X-Test","value":"hello {{ $context.data.n }}"}],
  "data":{"commits":"{{ $context.data.commits }}","n":"{{ $context.data.n }}","s":"x\"y"}}')
ID=$(run echo "$REV" "$CTX")
S=$(show "$ID")
R0='d["jobs"][0]["result"]'
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-method\"]")" PUT "the method"
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-args\"]")" \
   'pre=1&q=a%20b%26c%3Dd&n=7&%C3%BCn%C3%AF=%C3%A9%2F%3F%23' \
   "params appended to the URL's query, escaped"
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-test\"]")" "hello 7" "a header, rendered"
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-type\"]")" application/json \
   "contentType json (the default): application/json"
is "$(echo "$S" | json "$R0[\"data\"]")" \
   '{"commits":[{"id":"a1"},{"id":"b2"}],"n":7,"s":"x\"y"}' \
   "... the body is the data as JSON, templates keeping their types"
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-agent\"]")" webhook-worker \
   "User-Agent: webhook-worker"

REV=$(wf jsontext '{"url":"{{ $env.WH_BASE }}/echo","data":"{\"n\": {{ $context.data.n }}}"}')
ID=$(run jsontext "$REV" "$CTX")
is "$(show "$ID" | json "$R0[\"data\"]")" '{"n":7}' \
   "json: a string data that is JSON text is sent as it is"
REV=$(wf jsonstr '{"url":"{{ $env.WH_BASE }}/echo","data":"plain {{ $context.data.n }}"}')
ID=$(run jsonstr "$REV" "$CTX")
is "$(show "$ID" | json "[$R0[\"data\"], $R0[\"headers\"][\"content-length\"]]")" \
   '["plain 7","9"]' "... other strings as JSON strings"

REV=$(wf form '{"url":"{{ $env.WH_BASE }}/echo","contentType":"form",
  "data":{"a":"x y&z","b":[1,"two"],"c":{"d":1},"n":"{{ $context.data.n }}"}}')
ID=$(run form "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-type\"]")" \
   application/x-www-form-urlencoded "contentType form"
is "$(echo "$S" | json "$R0[\"data\"]")" \
   'a=x%20y%26z&b=1&b=two&c=%7B%22d%22%3A1%7D&n=7' \
   "... the object urlencoded, arrays as repeated names; a text answer stays text"

REV=$(wf text '{"url":"{{ $env.WH_BASE }}/echo","contentType":"text",
  "data":"branch {{ $context.data.ref }} has {{ $context.data.commits }}"}')
ID=$(run text "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "$R0[\"headers\"][\"x-got-type\"]")" \
   "text/plain; charset=utf-8" "contentType text"
is "$(echo "$S" | json "$R0[\"data\"]")" \
   'branch refs/heads/main has [{"id":"a1"},{"id":"b2"}]' "... the data as text"

REV=$(wf ctype '{"url":"{{ $env.WH_BASE }}/echo","data":[1,2],
  "headers":[{"name":"Content-Type","value":"application/vnd.test+json"}]}')
ID=$(run ctype "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[$R0[\"headers\"][\"x-got-type\"], $R0[\"data\"]]")" \
   '["application/vnd.test+json",[1,2]]' "a Content-Type header overrides contentType's"

REV=$(wf get '{"url":"{{ $env.WH_BASE }}/echo","method":"GET","data":{"a":1}}')
ID=$(run get "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[$R0[\"headers\"][\"x-got-method\"], $R0[\"data\"]]")" \
   '["GET",""]' "GET sends no body; an empty answer is \"\""

REV=$(wf cookies '{"url":"{{ $env.WH_BASE }}/cookies","method":"GET"}')
ID=$(run cookies "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[$R0[\"headers\"][\"set-cookie\"], $R0[\"headers\"][\"x-multi\"], $R0[\"data\"]]")" \
   '[["a=1","b=2"],"one, two","plain text"]' \
   "repeated headers joined, set-cookie an array; a text body is a string"

REV=$(wf redir '{"url":"{{ $env.WH_BASE }}/redir","method":"GET"}')
ID=$(run redir "$REV" "$CTX")
is "$(show "$ID" | json "[$R0[\"status\"], $R0[\"data\"]]")" '[200,{"ok":true}]' \
   "a redirect is followed"


# ---- failures

REV=$(wf fail '{"url":"{{ $env.WH_BASE }}/fail"}')
ID=$(run fail "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json 'd["status"]')" -2 "a 500 ends the execution with status error"
is "$(echo "$S" | json 'd["error"]')" 'node "call": request failed: HTTP status 500' \
   "... its error names the node and the status"
is "$(echo "$S" | json '[(j["nodeKey"], j["status"], j.get("error")) for j in d["jobs"]]')" \
   '[["call",-2,"request failed: HTTP status 500"]]' \
   "... the job is an error, the next node did not run"
is "$(echo "$S" | json "[$R0[\"status\"], $R0[\"data\"]]")" '[500,{"error":"boom"}]' \
   "... the job keeps the response"

REV=$(wf ignore '{"url":"{{ $env.WH_BASE }}/notfound","ignoreFail":true}')
ID=$(run ignore "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], d.get("error")]')" '[1,null]' \
   "ignoreFail: a 404 does not stop the execution"
is "$(echo "$S" | json '[(j["nodeKey"], j["status"], j.get("error")) for j in d["jobs"]]')" \
   '[["call",1,"request failed: HTTP status 404"],["after",1,null]]' \
   "... the node resolves, the error kept on its job, the run goes on"
is "$(echo "$S" | json "[$R0[\"status\"], $R0[\"data\"], $R0[\"headers\"][\"content-type\"], d[\"jobs\"][1][\"result\"]]")" \
   '[404,"no such thing","text/plain",{"status":404}]' \
   "... with the response as its result"

REV=$(wf refused "{\"url\":\"http://127.0.0.1:$DEAD_PORT/x\"}")
ID=$(run refused "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], d["jobs"][0]["status"], d["jobs"][0]["result"]]')" \
   '[-2,-2,null]' "connection refused: an error, no result"
like "$(echo "$S" | json 'd["jobs"][0]["error"]')" \
     "^request failed: Failed to connect to 127.0.0.1 port $DEAD_PORT .*Couldn't connect to server$" \
     "... saying so"

REV=$(wf timeout '{"url":"{{ $env.WH_SLOW }}/x?ms=3000","timeout":300}')
T0=$(date +%s%3N)
ID=$(run timeout "$REV" "$CTX")
T1=$(date +%s%3N)
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], d["jobs"][0]["status"]]')" '[-2,-2]' \
   "timeout 300 against a 3 s upstream: an error"
like "$(echo "$S" | json 'd["jobs"][0]["error"]')" \
     '^request failed: Operation timed out after 3[0-9]{2} milliseconds' "... timed out"
ok $(( T1 - T0 < 2500 ? 0 : 1 )) "... after 300 ms, not 3 s ($((T1 - T0)) ms queued to recorded)"

REV=$(wf loop '{"url":"{{ $env.WH_BASE }}/loop","method":"GET"}')
ID=$(run loop "$REV" "$CTX")
is "$(show "$ID" | json 'd["jobs"][0]["error"]')" \
   "request failed: Maximum (5) redirects followed" "redirects: 5 at most"

REV=$(wf big '{"url":"{{ $env.WH_BASE }}/big.txt","method":"GET"}')
ID=$(run big "$REV" "$CTX")
is "$(show "$ID" | json '[d["status"], d["jobs"][0]["error"]]')" \
   '[-2,"request failed: the response is larger than 10485760 bytes"]' \
   "a response over 10 MB is an error"

REV=$(wf scheme '{"url":"file:///etc/passwd"}')
ID=$(run scheme "$REV" "$CTX")
is "$(show "$ID" | json 'd["jobs"][0]["error"]')" \
   'request failed: invalid url "file:///etc/passwd": only http and https are allowed' \
   "only http and https"

REV=$(wf badurl '{"url":"{{ $env.WH_NOTHING }}"}')
ID=$(run badurl "$REV" "$CTX")
is "$(show "$ID" | json 'd["jobs"][0]["error"]')" "request failed: no url" \
   "a url that renders empty"

REV=$(wf badhdr '{"url":"{{ $env.WH_BASE }}/ok","headers":[{"name":"X-A","value":"a\r\nX-Injected: 1"}]}')
ID=$(run badhdr "$REV" "$CTX")
is "$(show "$ID" | json 'd["jobs"][0]["error"]')" 'request failed: invalid header "X-A"' \
   "a header value with a line break is refused"

REV=$(wf dns '{"url":"http://no-such-host.invalid/x","method":"GET"}')
ID=$(run dns "$REV" "$CTX")
like "$(show "$ID" | json 'd["jobs"][0]["error"]')" \
     "^request failed: (Could not resolve host: no-such-host.invalid|Resolving timed out)" \
     "a name that does not resolve"

is "$(R XLEN webhook:dead)" 9 "each failed execution is a dead letter (--max-attempts 1)"


# ---- 200 requests in flight at once

REV=$(wf slow '{"url":"{{ $env.WH_SLOW }}/slow?ms=1000&i={{ $context.data.i }}","method":"GET"}')
: >"$TMP/ids"
for i in $(seq 1 200); do
    id=$(uuid7)
    echo "$id" >>"$TMP/ids"
    echo "XADD webhook:jobs * execution $id workflow slow revision $REV context '{\"data\":{\"slow\":\"$SLOW\",\"i\":$i}}'"
done >"$TMP/cmds"
T0=$(date +%s%3N)
R <"$TMP/cmds" >/dev/null
all_done() {
    [ "$(sed 's/^/HGET webhook:execution:/; s/$/ status/' "$TMP/ids" \
         | redis-cli -p "$PORT" --raw | grep -c '^1$')" -eq 200 ]
}
wait_for 30 all_done
ok $? "200 requests to a 1 s upstream all resolve"
T1=$(date +%s%3N)
SPAN=$(sed 's/^/HGET webhook:execution:/; s/$/ jobs/' "$TMP/ids" \
       | redis-cli -p "$PORT" --raw | python3 -c '
import sys, json, datetime
def ms(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
starts, ends = [], []
for line in sys.stdin:
    j = json.loads(line)[0]
    starts.append(ms(j["startedAt"])); ends.append(ms(j["finishedAt"]))
print(int(max(ends) - min(starts)), int(min(e - s for s, e in zip(starts, ends))))')
echo "# 200 requests of 1 s: ${SPAN% *} ms from the first start to the last end," \
     "$((T1 - T0)) ms queued to all recorded"
ok $(( ${SPAN% *} < 2500 ? 0 : 1 )) "... in flight together: all 200 within 2.5 s (${SPAN% *} ms)"
ok $(( ${SPAN#* } >= 990 ? 0 : 1 )) "... each took the upstream's 1 s (${SPAN#* } ms at least)"


# ---- SIGTERM lets the requests in flight end

: >"$TMP/ids"
for i in 1 2 3; do
    id=$(uuid7)
    echo "$id" >>"$TMP/ids"
    R XADD webhook:jobs '*' execution "$id" workflow slow revision "$REV" \
        context "{\"data\":{\"slow\":\"$SLOW\",\"i\":$i}}" >/dev/null
done
wait_for 5 eval '[ "$(status_of "$(tail -1 "$TMP/ids")")" == 0 ]'
sleep 0.2
stop_worker
is $? 0 "SIGTERM while 3 requests are in flight: the worker exits 0"
is "$(for id in $(cat "$TMP/ids"); do status_of "$id"; done | tr '\n' ' ')" "1 1 1 " \
   "... after they ended and were recorded"


# ---- Redis lost while requests are in flight: they are dropped (the
# entries stay pending), the worker lives on and reconnects

start_worker
REV=$(wf slow2 '{"url":"{{ $env.WH_SLOW }}/slow?ms=1500","method":"GET"}')
: >"$TMP/ids"
for i in 1 2 3; do
    id=$(uuid7)
    echo "$id" >>"$TMP/ids"
    R XADD webhook:jobs '*' execution "$id" workflow slow2 revision "$REV" \
        context "{\"data\":{\"slow\":\"$SLOW\"}}" >/dev/null
done
wait_for 5 eval '[ "$(status_of "$(tail -1 "$TMP/ids")")" == 0 ]'
R SHUTDOWN NOSAVE >/dev/null 2>&1
wait "$REDIS_PID" 2>/dev/null
(cd "$TMP" && exec redis-server --port "$PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --daemonize no >>"$TMP/redis.log" 2>&1) &
REDIS_PID=$!
wait_for 5 eval '[ "$(R ping 2>/dev/null)" == PONG ]'
sleep 2     # past the moment the dropped requests would have ended
kill -0 "$WORKER_PID"
ok $? "Redis lost with 3 requests in flight: the worker survives"
REV=$(wf ok2 '{"url":"{{ $env.WH_BASE }}/ok"}')
ID=$(run ok2 "$REV" "$CTX")
is "$(status_of "$ID")" 1 "... reconnects and runs new jobs"
stop_worker
is $? 0 "... and exits 0 on SIGTERM"

done_testing
