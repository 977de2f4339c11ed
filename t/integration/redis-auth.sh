#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Redis with requirepass and ACL users (SPEC §7 "Redis access"): nginx
# (async, and sync through the worker, whose reply channel is a second,
# SUBSCRIBE connection), webhook-worker and webhookctl log in and select
# their database, on reconnects too; a wrong password is 503
# queue_unavailable, never a 2xx; no password on a command line.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash

require redis-server redis-cli curl
require_build
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
MODULE=$ROOT/build/nginx/ngx_http_webhook_module.so
[ -x "$NGINX" ] && [ -f "$MODULE" ] || { echo "1..0 # SKIP no nginx or module"; exit 0; }

scratch auth
NGINX_DIR=$TMP/nginx
NGINX_PORT=

cleanup_more() {
    [ -f "$NGINX_DIR/logs/nginx.pid" ] &&
        kill "$(cat "$NGINX_DIR/logs/nginx.pid")" 2>/dev/null
    [ -n "${WORKER2_PID:-}" ] && kill -9 "$WORKER2_PID" 2>/dev/null
}

PASS='s3cret pass"word'          # a space and a quote, on purpose
ACLPASS='hook-7e1c2b'
export REDISCLI_AUTH=$PASS        # for R and RAW (and start_redis' PING)
start_redis --requirepass "$PASS"
R ACL SETUSER hook on ">$ACLPASS" '~webhook:*' '&webhook:*' '+@all' \
    '-@admin' >/dev/null
R ACL SETUSER reader on '>other' '~*' '+get' >/dev/null
printf '%s\n' "$PASS" >"$TMP/pass"
printf '%s\n' "$ACLPASS" >"$TMP/aclpass"
printf 'wrong\n' >"$TMP/wrong"
chmod 600 "$TMP"/pass "$TMP"/aclpass "$TMP"/wrong

# ---- webhookctl and the worker's options

"$CTL" --redis "$ADDR" --redis-password "$PASS" executions >"$TMP/o" 2>&1
rc=$?
ok "$([ $rc -ne 0 ] && grep -q 'redis-password-file' "$TMP/o"; echo $?)" \
    "webhookctl refuses --redis-password and names the file option"
"$WORKER" --redis "$ADDR" --redis-password "$PASS" >"$TMP/o" 2>&1
ok "$([ $? -eq 2 ] && grep -q 'refused' "$TMP/o"; echo $?)" \
    "webhook-worker refuses --redis-password"

"$CTL" --redis "$ADDR" executions >"$TMP/o" 2>&1
ok "$([ $? -ne 0 ] && grep -q NOAUTH "$TMP/o"; echo $?)" \
    "webhookctl without a password: NOAUTH"
"$CTL" --redis "$ADDR" --redis-password-file "$TMP/wrong" executions \
    >"$TMP/o" 2>&1
ok "$([ $? -ne 0 ] && grep -q AUTH "$TMP/o" && ! grep -q wrong "$TMP/o"; echo $?)" \
    "webhookctl with a wrong password fails, without printing it"

WF='{"key":"authwf","nodes":[{"key":"c","type":"calculation","config":{"engine":"string","expression":"{{ $context.data.n }}"}}]}'
printf '%s' "$WF" >"$TMP/authwf.json"
"$CTL" --redis "$ADDR" --redis-password-file "$TMP/pass" --redis-db 3 \
    publish "$TMP/authwf.json" >"$TMP/rev" 2>"$TMP/o"
ok $? "webhookctl publish with the password file and db 3"
is "$(R -n 3 --raw EXISTS "webhook:workflow:$(cat "$TMP/rev")")" 1 \
    "the definition is in db 3"
is "$(R -n 0 --raw DBSIZE)" 0 "and not in db 0"

WEBHOOK_REDIS_PASSWORD=$ACLPASS "$CTL" --redis "$ADDR" --redis-user hook \
    --redis-db 3 executions >"$TMP/o" 2>&1
ok $? "webhookctl as ACL user hook, password from the environment"
"$CTL" --redis "$ADDR" --redis-user hook --redis-password-file "$TMP/pass" \
    executions >"$TMP/o" 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "the ACL user with another user's password fails"

# ---- nginx

mkdir -p "$NGINX_DIR/logs"
SYNCWF='{"key":"authsync","nodes":[{"key":"s","type":"script","config":{"content":"return 6 * 7;"}}]}'
printf '%s' "$SYNCWF" >"$NGINX_DIR/authsync.json"
cp "$TMP/authwf.json" "$NGINX_DIR/"

start_nginx() {     # the port in NGINX_PORT
    local _
    for _ in 1 2 3 4 5; do
        NGINX_PORT=$(free_port)
        cat >"$NGINX_DIR/nginx.conf" <<EOC
load_module $MODULE;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path /tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /acl {
            webhook_redis $ADDR db=3 user=hook password=$ACLPASS;
            webhook authwf.json;
        }
        location = /pass {
            webhook_redis $ADDR db=3 'password=$PASS';
            webhook authwf.json;
        }
        location = /sync {
            webhook_redis $ADDR db=3 user=hook password=$ACLPASS;
            webhook_mode sync;
            webhook_sync_timeout 5s;
            webhook authsync.json;
        }
        location = /wrong {
            webhook_redis $ADDR db=3 password=wrong;
            webhook authwf.json;
        }
        location = /wronguser {
            webhook_redis $ADDR db=3 user=reader password=other;
            webhook authwf.json;
        }
        location = /none {
            webhook_redis $ADDR db=3;
            webhook authwf.json;
        }
    }
}
EOC
        "$NGINX" -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" 2>>"$TMP/nginx.err" &&
            wait_port "$NGINX_PORT" && return 0
    done
    return 1
}

start_nginx
ok $? "nginx starts with user= and password= on webhook_redis" ||
    sed 's/^/# /' "$TMP/nginx.err"

post() {    # PATH BODY: "STATUS BODY"
    curl -s -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "$2" "http://127.0.0.1:$NGINX_PORT$1"
    printf ' %s' "$(cat "$TMP/body")"
}

out=$(post /acl '{"n":1}')
like "$out" '^202 .*"status":"queued"' "async as ACL user hook: 202"
id1=$(printf '%s' "$out" | sed 's/.*"executionId":"\([^"]*\)".*/\1/')
out=$(post /pass '{"n":2}')
like "$out" '^202 ' "async with requirepass: 202"
id2=$(printf '%s' "$out" | sed 's/.*"executionId":"\([^"]*\)".*/\1/')
is "$(R -n 3 --raw XLEN webhook:jobs)" 2 "both jobs are in db 3"

for p in /wrong /wronguser /none; do
    out=$(post $p '{"n":3}')
    like "$out" '^503 .*"code":"queue_unavailable"' "$p: 503 queue_unavailable"
done
is "$(R -n 3 --raw XLEN webhook:jobs)" 2 "nothing was added by those"
ok "$(grep -q "$PASS\|$ACLPASS" "$NGINX_DIR/logs/error.log"; [ $? -ne 0 ]; echo $?)" \
    "no password in nginx's error log"

# ---- the worker, as the ACL user, password from its file

WORKER_OPTS=(--redis-db 3 --redis-user hook --redis-password-file "$TMP/aclpass"
             --claim-after 1s)
start_worker
wait_for 10 bash -c "[ \"\$(REDISCLI_AUTH='$PASS' redis-cli -p $PORT -n 3 --raw HGET webhook:execution:$id1 status)\" = 1 ]"
ok $? "the worker ran the first job (as user hook, db 3)"
wait_for 10 bash -c "[ \"\$(REDISCLI_AUTH='$PASS' redis-cli -p $PORT -n 3 --raw HGET webhook:execution:$id2 status)\" = 1 ]"
ok $? "and the second"
ok "$(ps -o args= -p "$WORKER_PID" | grep -qF "$ACLPASS"; [ $? -ne 0 ]; echo $?)" \
    "the password is not on the worker's command line"
ok "$(tr '\0' '\n' </proc/"$WORKER_PID"/environ | grep -q WEBHOOK_REDIS; [ $? -ne 0 ]; echo $?)" \
    "nor in its environment"

out=$("$CTL" --redis "$ADDR" --redis-db 3 --redis-user hook \
      --redis-password-file "$TMP/aclpass" show "$id1")
like "$out" '"status": ?1' "webhookctl show as user hook"

# sync through the worker: the SUBSCRIBE connection logs in too
out=$(post /sync '{}')
like "$out" '^200 ' "sync with a worker node through the ACL user: 200"

# ---- reconnects: every client is dropped, each logs in again
R CLIENT KILL TYPE normal >/dev/null
R CLIENT KILL TYPE pubsub >/dev/null
sleep 1.5
out=$(post /acl '{"n":4}')
like "$out" '^202 ' "async after nginx's connection was killed: 202"
id4=$(printf '%s' "$out" | sed 's/.*"executionId":"\([^"]*\)".*/\1/')
wait_for 15 bash -c "[ \"\$(REDISCLI_AUTH='$PASS' redis-cli -p $PORT -n 3 --raw HGET webhook:execution:$id4 status)\" = 1 ]"
ok $? "the worker reconnected, logged in and ran it"
out=$(post /sync '{}')
like "$out" '^200 ' "sync after the reconnect: 200"

# the enqueue script flushed from Redis' cache: a reconnect loads it again
R SCRIPT FLUSH >/dev/null
post /acl '{"n":7}' >/dev/null
out=$(post /acl '{"n":8}')
like "$out" '^202 ' "after SCRIPT FLUSH the next request is queued again"

# a password changed under a running worker: it keeps retrying, never
# runs as anyone else, and picks up again when the password is back
R ACL SETUSER hook resetpass '>changed' >/dev/null
R CLIENT KILL USER hook >/dev/null
out=$(post /acl '{"n":5}')
like "$out" '^503 .*queue_unavailable' "nginx after the ACL password changed: 503"
sleep 1.5
grep -q 'WRONGPASS\|AUTH' "$TMP/worker.log"
ok $? "the worker logs the refused login"
R ACL SETUSER hook resetpass ">$ACLPASS" >/dev/null
wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -d '{\"n\":6}' -H 'Content-Type: application/json' http://127.0.0.1:$NGINX_PORT/acl)\" = 202 ]"
ok $? "nginx answers 202 again once the password is back"
ok "$(kill -0 "$WORKER_PID"; echo $?)" "the worker is still running"

stop_worker
ok $? "the worker stops cleanly"

! grep -qE '\[(alert|crit|emerg)\]|signal 11' "$NGINX_DIR/logs/error.log"
ok $? "no alert or crash in nginx's log"

done_testing
