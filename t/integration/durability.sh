#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Nothing acknowledged is lost: async requests under load while Redis (AOF)
# is restarted, and while nginx reloads.  Every executionId answered with a
# 2xx must be in the stream; a reload must fail no request.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash
top=$PWD
nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$top/build/nginx/ngx_http_webhook_module.so
py=/usr/bin/python3

dir=$(mktemp -d)
rport=$(free_port)
port=$(free_port)
R() { redis-cli -p "$rport" "$@"; }
cleanup() {
    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -s stop 2>/dev/null
    R shutdown nosave >/dev/null 2>&1
    sleep 0.3
    rm -rf "$dir"
}
trap cleanup EXIT

start_redis() {
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir" \
        --appendonly yes --appendfsync everysec --save '' \
        --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
    for _ in $(seq 50); do R ping >/dev/null 2>&1 && return; sleep 0.1; done
}

mkdir -p "$dir/logs"
echo '{"key":"durable","nodes":[]}' > "$dir/wf.json"
cat > "$dir/nginx.conf" <<EOC
load_module $module;
worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port;
        location = /hook {
            webhook_redis 127.0.0.1:$rport;
            webhook_queue test:durable;
            webhook wf.json;
        }
    }
}
EOC

start_redis
"$nginx" -p "$dir/" -c "$dir/nginx.conf"
sleep 0.5

# stream ids of every job in Redis, one executionId a line
in_stream() {
    R --raw XRANGE test:durable - + \
        | awk 'prev == "execution" { print } { prev = $0 }' | sort -u
}
check() {   # RESULT-JSON WHAT
    local acked missing
    acked=$(printf %s "$1" | $py -c 'import json,sys; print("\n".join(sorted(set(json.load(sys.stdin)["acked"]))))')
    missing=$(comm -23 <(printf '%s\n' "$acked") <(in_stream) | grep -c . )
    echo "# $2: $(printf %s "$1" | $py -c 'import json,sys; d=json.load(sys.stdin); print("sent", d["sent"], "status", d["status"], "acknowledged", len(d["acked"]))'), lost $missing"
    [ "$missing" = 0 ]
}

# 1. Redis restarted under load (SHUTDOWN writes the AOF; it comes back
# from it): answers in between are 503, never a 2xx without its job.
# (enough requests that the load outlasts the outage on a fast machine;
# Redis goes down once a thousand jobs are in)
$py t/integration/load.py 127.0.0.1 "$port" /hook 20000 8 >"$dir/load1.json" &
load=$!
for _ in $(seq 1 100); do
    [ "$(R XLEN test:durable 2>/dev/null || echo 0)" -ge 1000 ] && break
    sleep 0.1
done
R shutdown >/dev/null 2>&1
sleep 1
start_redis
wait $load
res=$(cat "$dir/load1.json")
check "$res" "Redis restart"; ok $? "Redis restarted under load: no acknowledged job lost"
printf %s "$res" | $py -c 'import json,sys; d=json.load(sys.stdin); s=d["status"]; sys.exit(0 if s.get("503",0) > 0 and s.get("202",0) > 0 and set(s) <= {"202","503"} else 1)'
ok $? "... answers were 202 or 503 queue_unavailable, and both happened"

# 2. nginx reloads under load: no failed request (a connection a request)
R del test:durable >/dev/null
$py t/integration/load.py 127.0.0.1 "$port" /hook 5000 8 close >"$dir/load2.json" &
load=$!
for _ in 1 2 3; do
    sleep 0.4
    "$nginx" -p "$dir/" -c "$dir/nginx.conf" -s reload
done
wait $load
res=$(cat "$dir/load2.json")
check "$res" "nginx reload"; ok $? "nginx reloaded 3 times under load: no acknowledged job lost"
printf %s "$res" | $py -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["status"] == {"202": d["sent"]} else 1)'
ok $? "... and every request was answered 202"

! grep -qE '\[(alert|crit|emerg)\]' "$dir/logs/error.log"
ok $? "no alert in nginx's error log"
done_testing
