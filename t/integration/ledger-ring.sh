#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# webhook_ledger's ring under load: two nginx worker processes write
# entries of random sizes (headers and bodies) concurrently into a small
# zone for many laps; the entries read back are consecutive, newest
# first, each whole (valid JSON), and the ones that left are gone.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash
require_build
require curl
scratch ledger

nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$ROOT/build/nginx/ngx_http_webhook_module.so
cleanup_more() {
    "$nginx" -p "$TMP/" -c "$TMP/nginx.conf" -s stop 2>/dev/null
    sleep 0.2
}

hport=$(free_port)
mkdir -p "$TMP/logs"
echo '{"key":"ring","nodes":[{"key":"e","type":"end","config":{"endStatus":1}}]}' \
    > "$TMP/ring.json"
cat > "$TMP/nginx.conf" <<EOC
load_module $module;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    webhook_ledger 64k;
    webhook_ledger_body 3k;
    server {
        listen 127.0.0.1:$hport;
        location = /ring { webhook_mode sync; webhook ring.json; }
        location = /viewer { webhook_viewer; }
    }
}
EOC
"$nginx" -p "$TMP/" -c "$TMP/nginx.conf"
wait_port "$hport"

# 4 clients x 100 requests, bodies of 0-4000 bytes, 0-20 extra headers
"$PY" - "$hport" <<'EOP' &
import http.client, random, sys, threading
port = int(sys.argv[1])
def client(seed):
    rnd = random.Random(seed)
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(100):
        body = '{"p":"' + "x" * rnd.randint(0, 4000) + '"}'
        h = {"Content-Type": "application/json"}
        for k in range(rnd.randint(0, 20)):
            h["X-Extra-%d" % k] = "v" * rnd.randint(1, 300)
        c.request("POST", "/ring?i=%d" % i, body, h)
        c.getresponse().read()
ts = [threading.Thread(target=client, args=(s,)) for s in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
EOP
wait $!

list=$(curl -s "http://127.0.0.1:$hport/viewer?format=requests&limit=1000")
ids=$(printf %s "$list" | json '[e["id"] for e in d]')
kept=$(printf %s "$list" | json "len(d)")
is "$(printf %s "$list" | json 'd[0]["id"]')" 400 "the newest entry is the 400th"
is "$(printf %s "$list" | json 'all(a["id"] == b["id"] + 1 for a, b in zip(d, d[1:]))')" \
   true "the entries kept are consecutive, newest first ($kept of 400)"
ok "$([ "$kept" -gt 5 ] && [ "$kept" -lt 400 ]; echo $?)" "the ring went round: $kept kept"
oldest=$(printf %s "$list" | json 'd[-1]["id"]')
whole=0
for id in $(printf %s "$list" | json '" ".join(str(e["id"]) for e in d)'); do
    curl -s "http://127.0.0.1:$hport/viewer?request=$id" | json 'd["body"][:6]' \
        | grep -q '^{"p":"' || whole=$((whole + 1))
done
is "$whole" 0 "each entry kept opens whole, with its body"
is "$(curl -s -o /dev/null -w '%{http_code}' \
       "http://127.0.0.1:$hport/viewer?request=$((oldest - 1))")" 404 \
   "the entry before the oldest has left"
! grep -qE '\[(alert|crit|emerg)\]|signal 11' "$TMP/logs/error.log"
ok $? "no alert or crash in nginx's error log"
done_testing
