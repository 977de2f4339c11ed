#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# webhook_status and webhook_ledger with a master process: counters and
# ledger entries survive a reload, and
# the master stays up through reload and quit (the zone lives in nginx's
# slab pool).  TAP.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$top/build/nginx/ngx_http_webhook_module.so
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
n=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
trap '"$nginx" -p "$dir/" -c "$dir/nginx.conf" -s stop 2>/dev/null; sleep 0.3; rm -rf "$dir"' EXIT

mkdir -p "$dir/logs"
echo '{"key":"alpha","nodes":[{"key":"r","type":"response","config":{"body":{"ok":true}}}]}' > "$dir/a.json"
cat > "$dir/nginx.conf" <<EOC
load_module $module;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    webhook_ledger 1m;
    server {
        listen 127.0.0.1:$port;
        location = /a { webhook_mode sync; webhook a.json; }
        location = /status { webhook_status; }
        location = /viewer { webhook_viewer; }
    }
}
EOC

"$nginx" -p "$dir/" -c "$dir/nginx.conf"
sleep 0.5
for i in 1 2 3; do curl -s -d '{}' "http://127.0.0.1:$port/a" >/dev/null; done
out=$(curl -s "http://127.0.0.1:$port/status")
[[ $out == *'"alpha":{"received":3,'* ]]; ok $? "three requests counted ($out)"

"$nginx" -p "$dir/" -c "$dir/nginx.conf" -s reload
sleep 1
curl -s -d '{}' "http://127.0.0.1:$port/a" >/dev/null
out=$(curl -s "http://127.0.0.1:$port/status")
[[ $out == *'"alpha":{"received":4,'* ]]; ok $? "counters survive a reload"
out=$(curl -s "http://127.0.0.1:$port/viewer?format=requests")
[[ $out == '[{"id":4,'*'{"id":1,'* ]]; ok $? "ledger entries survive a reload"

"$nginx" -p "$dir/" -c "$dir/nginx.conf" -s quit
sleep 1
! grep -qE '\[(alert|crit|emerg)\]|signal 11' "$dir/logs/error.log"
ok $? "no alert or crash through reload and quit"
echo "1..$n"
