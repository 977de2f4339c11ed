#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Debian packages, installed for real, TAP.  Builds build/deb/*.deb with
# tools/deb unless they are newer than the sources, installs both with apt,
# checks what went where, runs nginx with the installed module (loaded the
# Debian way, through /etc/nginx/modules-enabled) on a free loopback port,
# verifies the systemd unit, and purges the packages again if it installed
# them.  This changes the machine, so it runs only with WEBHOOK_TEST_DEB=1.
# WEBHOOK_TEST_DEB_KEEP=1 leaves the packages installed.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

if [ "${WEBHOOK_TEST_DEB:-}" != 1 ]; then
    echo "1..0 # SKIP set WEBHOOK_TEST_DEB=1"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP installing packages needs root"
    exit 0
fi
# the worker depends on Debian's libnode108, which nodesource's nodejs
# blocks (README: The script node)
if ! dpkg-query -W -f='${Status}\n' libnode108 2>/dev/null \
        | grep -q '^install ok installed' \
    && ! apt-get install -s -qq libnode108 >/dev/null 2>&1; then
    echo "1..0 # SKIP libnode108 cannot be installed here (nodesource's nodejs?)"
    exit 0
fi
for c in apt-get dpkg curl /usr/sbin/nginx; do
    if ! command -v "$c" >/dev/null; then
        echo "1..0 # SKIP $c is not installed"
        exit 0
    fi
done

TMP=$(mktemp -d /tmp/wh-deb-test.XXXXXX)
NGINX_PID=
OWN_POLICY=
POLICY=/usr/sbin/policy-rc.d
INSTALLED_BEFORE=
MOD=libnginx-mod-http-webhook
WK=webhook-worker

cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    wait 2>/dev/null
    [ -n "$OWN_POLICY" ] && rm -f "$POLICY"
    rm -rf "$TMP"
}
trap cleanup EXIT

comment() { sed 's/^/# /'; }

installed() {   # PACKAGE: dpkg lists it as installed
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null \
        | grep -q '^install ok installed'
}


# ---- build or reuse the packages

deb_of() { ls -t build/deb/"$1"_*.deb 2>/dev/null | head -1; }

MOD_DEB=$(deb_of $MOD)
WK_DEB=$(deb_of $WK)
stale=
if [ -z "$MOD_DEB" ] || [ -z "$WK_DEB" ]; then
    stale=missing
else
    newer=$(find debian src config ngx_http_webhook_module.c Makefile \
                 -newer "$MOD_DEB" -type f 2>/dev/null | head -1)
    [ -n "$newer" ] && stale="$newer changed"
fi
if [ -n "$stale" ]; then
    echo "# building the packages ($stale): tools/deb"
    tools/deb 2>&1 | comment
    MOD_DEB=$(deb_of $MOD)
    WK_DEB=$(deb_of $WK)
fi
if [ -z "$MOD_DEB" ] || [ -z "$WK_DEB" ]; then
    echo "Bail out! tools/deb made no packages (build/deb/build.log)"
    exit 1
fi
echo "# $MOD_DEB, $WK_DEB"


# ---- install

installed $MOD && installed $WK && INSTALLED_BEFORE=1

if [ ! -e "$POLICY" ]; then     # nginx must not be (re)started on port 80
    printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod +x "$POLICY"
    OWN_POLICY=1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    --reinstall "./$MOD_DEB" "./$WK_DEB" >"$TMP/apt.log" 2>&1
rc=$?
ok $rc "apt-get install ./$MOD_DEB ./$WK_DEB"
[ $rc -ne 0 ] && tail -20 "$TMP/apt.log" | comment

installed $MOD
ok $? "$MOD is installed"
installed $WK
ok $? "$WK is installed"


# ---- the module and its load_module snippet

SO=/usr/lib/nginx/modules/ngx_http_webhook_module.so
AVAIL=/usr/share/nginx/modules-available/mod-http-webhook.conf
ENABLED=/etc/nginx/modules-enabled/50-mod-http-webhook.conf

is "$(dpkg -S $SO 2>/dev/null | cut -d: -f1)" $MOD "$SO belongs to $MOD"
is "$(cat $AVAIL 2>&1)" "load_module modules/ngx_http_webhook_module.so;" \
    "$AVAIL loads the module"
is "$(readlink $ENABLED)" $AVAIL "$ENABLED links to it"

/usr/sbin/nginx -t -q -e "$TMP/t.log" >"$TMP/t.out" 2>&1
rc=$?
ok $rc "nginx -t with Debian's /etc/nginx/nginx.conf and the module enabled"
[ $rc -ne 0 ] && comment <"$TMP/t.out"


# ---- nginx with the installed module answers a sync webhook

PORT=$(free_port)

mkdir -p "$TMP/conf/workflows" "$TMP/tmp"
chmod 755 "$TMP"
cat >"$TMP/conf/workflows/sum.json" <<'EOF'
{ "key": "deb-sum",
  "nodes": [
    { "key": "sum", "type": "calculation",
      "config": { "engine": "math",
                  "expression": "{{ $context.data.a }} + {{ $context.data.b }}" } },
    { "key": "reply", "type": "response",
      "config": { "statusCode": 200,
                  "headers": [{ "name": "X-Workflow", "value": "{{ $context.workflow }}" }],
                  "body": { "sum": "{{ $nodes.sum }}", "who": "{{ $context.data.who }}" } } } ] }
EOF
# No -p: the prefix stays /usr/share/nginx, so the snippet's relative
# "modules/..." path resolves as it does for the system's nginx.
make_conf() {
cat >"$TMP/conf/nginx.conf" <<EOF
include $ENABLED;
daemon off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log notice;
events { worker_connections 64; }
http {
    access_log $TMP/access.log;
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path $TMP/tmp/proxy;
    fastcgi_temp_path $TMP/tmp/fastcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi;
    scgi_temp_path $TMP/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
        location = /hooks/sum {
            webhook_mode sync;
            webhook workflows/sum.json;
        }
    }
}
EOF
}
make_conf

# Other tests pick random ports too: on "Address already in use", another.
for _ in 1 2 3 4 5; do
    /usr/sbin/nginx -e "$TMP/error.log" -c "$TMP/conf/nginx.conf" \
        >"$TMP/nginx.out" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$NGINX_PID" 2>/dev/null && break
    wait "$NGINX_PID"
    NGINX_PID=
    grep -q 'Address already in use' "$TMP/error.log" || break
    PORT=$(free_port)
    make_conf
    : >"$TMP/error.log"
done
[ -n "$NGINX_PID" ]
rc=$?
ok $rc "nginx runs with the installed module on 127.0.0.1:$PORT"
[ $rc -ne 0 ] && cat "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null | comment

resp=$(curl -s -D "$TMP/headers" -H 'Content-Type: application/json' \
    -d '{"a": 2, "b": 3, "who": "deb"}' "http://127.0.0.1:$PORT/hooks/sum")
is "$resp" '{"sum":5,"who":"deb"}' "the sync workflow answers"
is "$(sed -n 's/^X-Workflow: //Ip' "$TMP/headers" | tr -d '\r')" deb-sum \
    "with the workflow's header"
is "$(curl -s -o /dev/null -w '%{http_code}' -X GET \
    "http://127.0.0.1:$PORT/hooks/sum")" 405 "GET is 405"

kill "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
is $? 0 "nginx exits with status 0 on SIGTERM"
NGINX_PID=


# ---- the worker package

for b in /usr/bin/webhook-worker /usr/bin/webhookctl; do
    "$b" --help >/dev/null 2>&1
    ok $? "$b --help"
done

pw=$(getent passwd webhook)
ok $? "the system user webhook exists"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[ -n "$uid" ] && [ "$uid" -lt 1000 ]
ok $? "webhook is a system user (uid $uid)"
is "$(getent group "$gid" | cut -d: -f1)" webhook "its group is webhook"
is "$shell" /usr/sbin/nologin "it has no login shell"
is "$home" /nonexistent "and no home"

UNIT=/lib/systemd/system/webhook-worker.service
ok "$([ -f $UNIT ]; echo $?)" "$UNIT is installed"
is "$(dpkg-query -W -f='${Conffiles}' $WK | awk '{print $1}' | tr -d '\n')" \
    /etc/default/webhook-worker "/etc/default/webhook-worker is a conffile"
for want in 'User=webhook' 'Restart=on-failure' \
    'EnvironmentFile=-/etc/default/webhook-worker' \
    'ExecStart=/usr/bin/webhook-worker $WEBHOOK_WORKER_OPTS' \
    'After=network.target redis-server.service' \
    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes'
do
    grep -qxF "$want" $UNIT
    ok $? "the unit has $want"
done

if command -v systemd-analyze >/dev/null; then
    # It exits 0 on unknown keys and bad values, so its silence is the test.
    systemd-analyze verify --man=no $UNIT >"$TMP/verify" 2>&1
    rc=$?
    [ -s "$TMP/verify" ] && rc=1
    ok $rc "systemd-analyze verify $UNIT: no complaints"
    comment <"$TMP/verify"
else
    echo "ok $((n += 1)) # SKIP systemd-analyze is not installed"
fi

# The worker's options come from the EnvironmentFile, as systemd reads it.
opts=$(set -a; . /etc/default/webhook-worker; echo "$WEBHOOK_WORKER_OPTS")
is "$opts" "--redis 127.0.0.1:6379 --redis-password-file /etc/webhook-worker/redis-password" \
    "the default options point at local Redis, the password from its file"
is "$(stat -c '%a %U %G %s' /etc/webhook-worker/redis-password 2>&1)" \
    "640 root webhook 0" \
    "the Redis password file: empty (no password), readable by webhook only"


# ---- purge what this test installed

if [ -z "$INSTALLED_BEFORE" ] && [ "${WEBHOOK_TEST_DEB_KEEP:-}" != 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $MOD $WK \
        >"$TMP/purge.log" 2>&1
    ok $? "apt-get purge $MOD $WK"
    ok "$([ ! -e $ENABLED ] && [ ! -L $ENABLED ]; echo $?)" \
        "the modules-enabled link is gone"
    ok "$([ ! -e $SO ] && [ ! -e $UNIT ]; echo $?)" \
        "the module and the unit are gone"
fi

done_testing
