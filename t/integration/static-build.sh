#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A static build (--add-module, tools/nginx-matrix) replays a dedup'ed sync
# answer with its body.  nginx lists a static addon before its write
# filter, whose init does not chain: a body filter of the module's would
# be dropped there, and the repeat came back with headers and no body.
# The answer is now noted where the module sends it.  TAP; skipped when
# the static build is absent (no ../shared/nginx).
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash
NGINX=${WH_STATIC_NGINX:-$ROOT/build/ngx/1.29.8-static/nginx}

if [ ! -x "$NGINX" ]; then
    echo "1..0 # SKIP no static build at $NGINX (tools/nginx-matrix)"
    exit 0
fi
require redis-server redis-cli curl
scratch static
NGINX_UP=

cleanup_more() {
    [ -n "$NGINX_UP" ] && "$NGINX" -p "$TMP/" -c "$TMP/nginx.conf" -s stop \
        2>/dev/null
    sleep 0.2
}

like "$("$NGINX" -V 2>&1)" "--add-module=[^ ]*" \
     "the binary has the module built in"

start_redis
mkdir -p "$TMP/logs"
cat >"$TMP/wf.json" <<'EOF'
{"key": "st", "nodes": [
  {"key": "r", "type": "response", "config": {
     "statusCode": 201,
     "body": {"got": "{{ $context.data.n }}"}}}]}
EOF

start_nginx() {     # PORT
    cat >"$TMP/nginx.conf" <<EOF
daemon on;
master_process off;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $TMP/body;
    proxy_temp_path $TMP/proxy;
    server {
        listen 127.0.0.1:$1;
        location = /hook {
            webhook_mode sync;
            webhook_redis $ADDR;
            webhook_dedup \$http_x_delivery 60s;
            webhook wf.json;
        }
    }
}
EOF
    "$NGINX" -p "$TMP/" -c "$TMP/nginx.conf" 2>"$TMP/start.log" \
        && wait_port "$1"
}

for _ in 1 2 3 4 5; do
    HTTP_PORT=$(free_port)
    if start_nginx "$HTTP_PORT"; then
        NGINX_UP=1
        break
    fi
done
ok "$([ -n "$NGINX_UP" ]; echo $?)" "the static nginx starts" \
    || sed 's/^/# /' "$TMP/start.log"

post() {    # N: status and body of a POST with the same delivery id
    curl -s -o "$TMP/answer" -w '%{http_code}' -H 'X-Delivery: d1' \
        -H 'Content-Type: application/json' -d "{\"n\": $1}" \
        "http://127.0.0.1:$HTTP_PORT/hook"
    printf ' %s' "$(cat "$TMP/answer")"
}

is "$(post 1)" '201 {"got":1}' "the first request runs the workflow"
is "$(post 2)" '201 {"got":1}' "the repeat replays the first answer, body too"
# webhook:dedup:<workflow>:<hex SHA-256 of the value>:response
hash=$(printf d1 | sha256sum | cut -d' ' -f1)
is "$(R --raw GET "webhook:dedup:st:$hash:response")" \
   "$(printf '201\napplication/json\n{"got":1}')" "the answer stored"
! grep -qE '\[(alert|crit|emerg)\]|signal' "$TMP/logs/error.log"
ok $? "no alert or crash in the error log"

done_testing
