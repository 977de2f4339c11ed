#!/usr/bin/env bash
# The execution viewer of a webhook_status location, in headless Chromium:
# the page lists a run this test created and opens it with each node's
# result.  Real redis-server, webhook-worker and nginx on loopback.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash
top=$PWD
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$top/build/nginx/ngx_http_webhook_module.so
chromium=$(command -v chromium || true)

if [ -z "$chromium" ]; then
    echo "1..0 # SKIP chromium is not installed"
    exit 0
fi

dir=$(mktemp -d)
rport=$(free_port)
port=$(free_port)
wpid=
cleanup() {
    [ -n "$wpid" ] && kill "$wpid" 2>/dev/null
    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -s stop 2>/dev/null
    redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1
    sleep 0.3
    rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/logs"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" >/dev/null
cat > "$dir/orders.json" <<'EOC'
{"key": "orders", "nodes": [
  {"key": "total", "type": "calculation",
   "config": {"engine": "math", "expression": "{{ $context.data.price }} * {{ $context.data.qty }}"}},
  {"key": "label", "type": "set", "config": {"values": {"sku": "{{ $context.data.sku }}", "total": "{{ $nodes.total }}"}}}]}
EOC
cat > "$dir/nginx.conf" <<EOC
load_module $module;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    webhook_redis 127.0.0.1:$rport;
    server {
        listen 127.0.0.1:$port;
        location = /orders { webhook orders.json; }
        location = /webhooks/status { webhook_status; }
    }
}
EOC
sleep 0.3
"$nginx" -p "$dir/" -c "$dir/nginx.conf"
"$top/build/webhook-worker" --redis "127.0.0.1:$rport" \
    --allow-net 127.0.0.0/8,::1/128 2>"$dir/worker.log" &
wpid=$!
sleep 0.5

ack=$(curl -s -H 'Content-Type: application/json' \
      -d '{"sku":"W-42","price":2.5,"qty":4}' "http://127.0.0.1:$port/orders")
id=$(printf %s "$ack" | sed -n 's/.*"executionId":"\([^"]*\)".*/\1/p')
[ -n "$id" ]; ok $? "the webhook was queued ($ack)"

for i in $(seq 1 50); do
    st=$(curl -s "http://127.0.0.1:$port/webhooks/status?execution=$id")
    [[ $st == *'"status":1'* ]] && break
    sleep 0.1
done
[[ $st == *'"status":1'* ]]; ok $? "the worker resolved it"

list=$(curl -s "http://127.0.0.1:$port/webhooks/status?format=executions&workflow=orders")
[[ $list == *"\"id\":\"$id\""* ]]; ok $? "the JSON list has it"

page=$(curl -s -H 'Accept: text/html' "http://127.0.0.1:$port/webhooks/status")
[[ $page == *'<title>Webhook executions</title>'* ]]; ok $? "a browser gets the viewer page"

browse() {
    timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$dir/chromium" --virtual-time-budget=5000 "$@" \
        2>>"$dir/chromium.log"
}

dom=$(browse --dump-dom "http://127.0.0.1:$port/webhooks/status")
[[ $dom == *"$id"* && $dom == *'>orders<'* && $dom == *'>resolved<'* ]]
ok $? "the page lists the run with its workflow and status"

dom=$(browse --dump-dom "http://127.0.0.1:$port/webhooks/status?open=$id")
[[ $dom == *'total (calculation): resolved'* && $dom == *'W-42'* \
   && $dom == *'"total": 10'* ]]
ok $? "opening the run shows its context and each node's result"

mkdir -p build
browse --screenshot="$top/build/viewer.png" --window-size=1280,800 \
    "http://127.0.0.1:$port/webhooks/status?open=$id" >/dev/null
[ -s "$top/build/viewer.png" ]; ok $? "a screenshot is taken (build/viewer.png)"

! grep -qE '\[(alert|crit|emerg)\]' "$dir/logs/error.log"
ok $? "no alert in nginx's error log"
done_testing
