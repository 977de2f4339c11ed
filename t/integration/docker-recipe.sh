#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Docker image's build recipe without Docker, TAP: docker/build.sh runs
# in a scratch copy of the tree and installs under a DESTDIR in /tmp (nothing
# over the system), then nginx runs with the module it built and the
# image's docker/webhook.conf (its port and Redis address rewritten), and
# answers a sync webhook.  Also checks that compose.yaml, webhook.conf and
# the worker agree on Redis's fixed IP and that the image's runtime packages
# cover what the binaries link.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

skip() { echo "1..0 # SKIP $1"; exit 0; }

[ -f /usr/share/nginx/src/conf_flags ] || skip "nginx-dev is not installed"
[ -x /usr/sbin/nginx ] || skip "nginx is not installed"
for c in cc make curl objdump; do
    command -v $c >/dev/null || skip "$c is not installed"
done
# the worker's V8 is Debian's libnode108 (tools/setup's build/libnode is
# not part of the scratch copy, nor of the image)
ls /usr/lib/*/libnode.so.108 >/dev/null 2>&1 \
    || skip "Debian's libnode-dev is not installed"
for h in jansson.h openssl/hmac.h pcre2.h hiredis/hiredis.h curl/curl.h
do
    [ -f "/usr/include/$h" ] || [ -n "$(find /usr/include -path "*/$h" \
        -print -quit 2>/dev/null)" ] || skip "the header $h is missing"
done

TMP=$(mktemp -d /tmp/wh-docker.XXXXXX)
SRC=$TMP/src
DEST=$TMP/root
NGINX_PID=

cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    wait 2>/dev/null
    [ -n "${WH_TEST_KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

comment() { sed 's/^/# /'; }

# ---- the recipe, in a scratch copy

mkdir -p "$SRC"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar -c --null -T - -f - | tar -x -C "$SRC" -f -
else
    tar -c --exclude=./build --exclude=./.git --exclude='./t/servroot*' \
        -f - . | tar -x -C "$SRC" -f -
fi

start=$SECONDS
DESTDIR=$DEST "$SRC/docker/build.sh" >"$TMP/build.log" 2>&1
rc=$?
ok $rc "DESTDIR=/tmp/… docker/build.sh builds and installs ($((SECONDS - start))s)"
if [ $rc -ne 0 ]; then
    tail -30 "$TMP/build.log" | comment
    echo "1..$n"
    exit 1
fi

is "$(cd "$DEST" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')" \
"./etc/nginx/modules-enabled/50-mod-http-webhook.conf \
./usr/bin/webhook-worker ./usr/bin/webhookctl \
./usr/lib/nginx/modules/ngx_http_webhook_module.so \
./usr/share/nginx/modules-available/mod-http-webhook.conf " \
    "it installs the module, its snippet and link, the worker and webhookctl"
is "$(readlink "$DEST/etc/nginx/modules-enabled/50-mod-http-webhook.conf")" \
    /usr/share/nginx/modules-available/mod-http-webhook.conf \
    "modules-enabled links to the snippet, as the Debian package does"
is "$(cat "$DEST/usr/share/nginx/modules-available/mod-http-webhook.conf")" \
    "load_module modules/ngx_http_webhook_module.so;" "the snippet loads the module"

"$DEST/usr/bin/webhook-worker" --help >/dev/null 2>&1
ok $? "the installed webhook-worker runs"
"$DEST/usr/bin/webhookctl" --help >/dev/null 2>&1
ok $? "the installed webhookctl runs"

# Every library the binaries link (directly: their packages bring the rest)
# comes from a package the image installs.
runtime=$(sed -n 's/^ARG RUNTIME_PKGS="\(.*\)"$/\1/p' docker/Dockerfile)
need=$(for f in "$DEST/usr/lib/nginx/modules/ngx_http_webhook_module.so" \
            "$DEST/usr/bin/webhook-worker" "$DEST/usr/bin/webhookctl"; do
           ldd "$f" | awk -v needed="$(objdump -p "$f" \
                   | awk '$1 == "NEEDED" {printf " %s ", $2}')" \
               '/=> \// && index(needed, " " $1 " ") {print $3}'
       done | sort -u | while read -r l; do
           dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l"
       done | cut -d: -f1 | sort -u | grep -vx libc6)
missing=
for p in $need; do
    case " $runtime " in *" $p "*) ;; *) missing="$missing $p" ;; esac
done
is "${missing# }" "" "the Dockerfile's RUNTIME_PKGS cover the libraries (${need//$'\n'/ })"


# ---- compose.yaml, webhook.conf and the worker agree on Redis

REDIS_IP=$(sed -n 's/^ *webhook_redis \([0-9.]*\):6379;$/\1/p' docker/webhook.conf)
if python3 -c 'import yaml' 2>/dev/null; then
    out=$(python3 - "$REDIS_IP" <<'EOF'
import ipaddress, sys, yaml
ip = sys.argv[1]
c = yaml.safe_load(open("docker/compose.yaml"))
s = c["services"]
print(sorted(s))
print(s["redis"]["networks"]["webhook"]["ipv4_address"] == ip)
subnet = c["networks"]["webhook"]["ipam"]["config"][0]["subnet"]
print(ipaddress.ip_address(ip) in ipaddress.ip_network(subnet))
cmd = s["worker"]["command"]
print(cmd[cmd.index("--redis") + 1] == ip + ":6379")
r = " ".join(s["redis"]["command"])
print("--appendonly yes" in r and "--appendfsync everysec" in r)
print(s["nginx"]["ports"], s["worker"].get("user"))
EOF
)
    is "$out" "['nginx', 'redis', 'worker']
True
True
True
True
['8080:8080'] webhook" \
        "compose: 3 services, redis at $REDIS_IP in the subnet, worker --redis, AOF"
else
    echo "ok $((n += 1)) # SKIP python3-yaml is not installed"
fi


# ---- nginx with the built module and the image's webhook.conf

# webhook.conf listening on 127.0.0.1:$PORT; Redis at a port where nothing
# listens: only sync locations are used.
make_conf() {
    sed -e "s/^\( *\)listen 8080;/\1listen 127.0.0.1:$PORT;/" \
        -e "s/webhook_redis $REDIS_IP:6379;/webhook_redis 127.0.0.1:$RPORT;/" \
        docker/webhook.conf >"$TMP/conf/webhook.conf"
}

PORT=$(free_port)
RPORT=$(free_port)
mkdir -p "$TMP/conf/webhook/workflows" "$TMP/logs" "$TMP/tmp"
cp conf/workflows/*.json docker/workflows/*.json "$TMP/conf/webhook/workflows/"
make_conf
cat >"$TMP/conf/nginx.conf" <<EOF
load_module $DEST/usr/lib/nginx/modules/ngx_http_webhook_module.so;
daemon off;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log notice;
events { worker_connections 64; }
http {
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include webhook.conf;
}
EOF

NGX=(/usr/sbin/nginx -p "$TMP/" -e "$TMP/logs/error.log" -c "$TMP/conf/nginx.conf")
"${NGX[@]}" -t >"$TMP/t.out" 2>&1
rc=$?
ok $rc "nginx -t: docker/webhook.conf and every workflow of the image load"
[ $rc -ne 0 ] && comment <"$TMP/t.out"

# Other tests pick random ports too: on "Address already in use", another.
for _ in 1 2 3 4 5; do
    "${NGX[@]}" >"$TMP/logs/stdout" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$NGINX_PID" 2>/dev/null && break
    wait "$NGINX_PID"
    NGINX_PID=
    grep -q 'Address already in use' "$TMP/logs/error.log" || break
    PORT=$(free_port)
    make_conf
    : >"$TMP/logs/error.log"
done
[ -n "$NGINX_PID" ]
rc=$?
ok $rc "nginx serves webhook.conf on 127.0.0.1:$PORT"
[ $rc -ne 0 ] && tail -20 "$TMP/logs/error.log" | comment

resp=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' \
    -d '{"item":"widget","price":12.5,"quantity":10}' \
    "http://127.0.0.1:$PORT/hooks/orders/acme")
is "$resp" \
    '{"shop":"acme","subtotal":125,"total":112.5,"summary":"10 x widget = 112.5"} 200' \
    "a sync webhook answers from the module built by the recipe"
is "$(curl -s "http://127.0.0.1:$PORT/healthz")" ok "/healthz"
grep -q 'workflow=order-total ' "$TMP/logs/stdout"
ok $? "the audit log_format records the workflow"

kill "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
is $? 0 "nginx exits with status 0 on SIGTERM"
NGINX_PID=

done_testing
