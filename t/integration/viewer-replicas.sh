#!/usr/bin/env bash
# webhook_viewer actions under webhook_redis replicas=N (SPEC §8): a retry
# written to a primary without replicas is not acknowledged with a 2xx;
# it answers 503 once wait= passed without WAIT's confirmation.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash
require_build
require redis-server curl
scratch viewer-replicas

nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$ROOT/build/nginx/ngx_http_webhook_module.so

cleanup_more() {
    "$nginx" -p "$TMP/" -c "$TMP/nginx.conf" -s stop 2>/dev/null
    sleep 0.2
}

start_redis
id=01900000-0000-7000-8000-0000000000bb
rev=$(printf 'f%.0s' $(seq 64))
R SET "webhook:workflow:$rev" '{"key":"w","nodes":[]}' >/dev/null
R HSET "webhook:execution:$id" workflow w revision "$rev" \
    context "{\"id\":\"$id\"}" queue test:q status -1 >/dev/null
hport=$(free_port)
mkdir -p "$TMP/logs"
cat > "$TMP/nginx.conf" <<EOC
load_module $module;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log;
worker_processes 1;
events {}
http {
    access_log off;
    client_body_temp_path $TMP;
    server {
        listen 127.0.0.1:$hport;
        location = /viewer {
            webhook_redis 127.0.0.1:$PORT replicas=1 wait=200ms;
            webhook_viewer;
        }
    }
}
EOC
"$nginx" -p "$TMP/" -c "$TMP/nginx.conf" -e "$TMP/logs/error.log"
wait_port "$hport"
V=http://127.0.0.1:$hport/viewer
token=$(curl -s -H 'Accept: text/html' "$V" | grep -o '[0-9a-f]\{32\}' | head -1)
got=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
      -H "X-Webhook-Token: $token" "$V?action=retry&execution=$id")
is "$got" 503 "retry without a replica: 503, not a 2xx"
done_testing
