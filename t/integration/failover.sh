#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# High availability and scale-out (SPEC §8), all on loopback:
#
#   1. two queues on two Redis primaries, each with its own worker;
#   2. a primary, two replicas (after the failover one must be left for
#      replicas=1 to be met), three Sentinels (redis-server --sentinel), two
#      nginx (webhook_redis sentinel=… master=… replicas=1) and three
#      workers (--sentinel --master --replicas 1) on one queue: with the
#      replicas paused (SIGSTOP) replicas=1 answers 503, not 202; then a
#      sender that retries what was not acknowledged, and SIGKILL of the
#      primary under load.  Every acknowledged delivery ends with exactly
#      one final record on the new primary, nothing stays pending, no
#      process restarted.
#
# The figures (sent, acknowledged, 503s, failover time, lost) are printed
# as TAP comments.  TAP.
set -u
cd "$(dirname "$0")/../.."
. t/integration/lib.bash

require redis-server redis-cli curl
require_build
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
MODULE=$ROOT/build/nginx/ngx_http_webhook_module.so
[ -x "$NGINX" ] && [ -f "$MODULE" ] || { echo "1..0 # SKIP no nginx or module"; exit 0; }

scratch failover
PIDS=()             # everything started here, killed at exit
NGINX_DIRS=()
DELIVERIES=${FAILOVER_DELIVERIES:-1500}

cleanup_more() {
    local d p
    for d in "${NGINX_DIRS[@]}"; do
        [ -f "$d/logs/nginx.pid" ] && kill "$(cat "$d/logs/nginx.pid")" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        kill -CONT "$p" 2>/dev/null
        kill -9 "$p" 2>/dev/null
    done
}

# redis_at DIR PORT ARGS...: a redis-server in DIR (no persistence), up
redis_at() {
    local dir=$1 port=$2 _
    shift 2
    mkdir -p "$dir"
    (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 \
        --save '' --appendonly no --daemonize no "$@" >"$dir/log" 2>&1) &
    PIDS+=($!)
    LAST_PID=$!
    for _ in $(seq 1 200); do
        [ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ] && return 0
        sleep 0.05
    done
    return 1
}

# nginx_at NAME REDIS_LINE: an nginx serving /hook (async, dedup by
# X-Delivery) and /paused (wait=300ms) with that webhook_redis line; its
# port in NGINX_PORT
nginx_at() {
    local dir=$TMP/$1 line=$2 _
    mkdir -p "$dir/logs"
    NGINX_DIRS+=("$dir")
    printf '%s' "$WF" >"$dir/wf.json"
    printf '%s' "$SYNCWF" >"$dir/sync.json"
    for _ in 1 2 3 4 5; do
        NGINX_PORT=$(free_port)
        cat >"$dir/nginx.conf" <<EOC
load_module $MODULE;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path /tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /hook {
            $line wait=2s;
            webhook_dedup \$http_x_delivery 1h;
            webhook wf.json;
        }
        location = /paused {
            $line wait=300ms;
            webhook_queue webhook:paused;
            webhook wf.json;
        }
        location = /sync {
            $line;
            webhook_mode sync;
            webhook_sync_timeout 10s;
            webhook sync.json;
        }
        location = /a {
            webhook_redis 127.0.0.1:${QA_PORT:-1};
            webhook_queue webhook:a;
            webhook wf.json;
        }
        location = /b {
            webhook_redis 127.0.0.1:${QB_PORT:-1};
            webhook_queue webhook:b;
            webhook wf.json;
        }
    }
}
EOC
        "$NGINX" -p "$dir/" -c "$dir/nginx.conf" 2>>"$TMP/nginx.err" &&
            wait_port "$NGINX_PORT" && return 0
    done
    sed 's/^/# /' "$TMP/nginx.err"
    return 1
}

nginx_workers() {   # DIR: the pids of its worker processes, sorted
    pgrep -P "$(cat "$1/logs/nginx.pid")" | sort | tr '\n' ' '
}

SYNCWF='{"key":"hasync","nodes":[{"key":"s","type":"script","config":{"content":"return 6 * 7;"}},{"key":"r","type":"response","config":{"body":{"v":"{{ $nodes.s }}"}}}]}'
WF='{"key":"ha","nodes":[{"key":"v","type":"set","config":{"values":{"n":"{{ $context.data.n }}"}}}]}'


# ---- 1. two queues on two primaries, each with its own worker

QA_PORT=$(free_port)
redis_at "$TMP/qa" "$QA_PORT"
QB_PORT=$(free_port)
while [ "$QB_PORT" = "$QA_PORT" ]; do QB_PORT=$(free_port); done
redis_at "$TMP/qb" "$QB_PORT"

"$WORKER" --redis "127.0.0.1:$QA_PORT" --queue webhook:a --claim-after 2s \
    2>"$TMP/wa.log" &
PIDS+=($!)
"$WORKER" --redis "127.0.0.1:$QB_PORT" --queue webhook:b --claim-after 2s \
    2>"$TMP/wb.log" &
PIDS+=($!)

# the Sentinel setup comes later: this nginx only serves /a and /b now
nginx_at two "webhook_redis 127.0.0.1:$QA_PORT"
ok $? "nginx with a queue on each of two primaries"
TWO_PORT=$NGINX_PORT
ida=() idb=()
for i in $(seq 1 20); do
    ida+=("$(curl -s -d "{\"n\":$i}" -H 'Content-Type: application/json' \
        "http://127.0.0.1:$TWO_PORT/a" | sed 's/.*"executionId":"\([^"]*\)".*/\1/')")
    idb+=("$(curl -s -d "{\"n\":$i}" -H 'Content-Type: application/json' \
        "http://127.0.0.1:$TWO_PORT/b" | sed 's/.*"executionId":"\([^"]*\)".*/\1/')")
done

all_final() {   # PORT IDS...: every id resolved on that Redis
    local port=$1 id
    shift
    for id in "$@"; do
        printf 'HGET webhook:execution:%s status\n' "$id"
    done | redis-cli -p "$port" | grep -cx 1 | grep -qx "$#"
}
wait_for 20 all_final "$QA_PORT" "${ida[@]}"
ok $? "queue a: 20 jobs resolved by its worker on its primary"
wait_for 20 all_final "$QB_PORT" "${idb[@]}"
ok $? "queue b: 20 jobs resolved by its worker on its primary"
is "$(redis-cli -p "$QA_PORT" --scan --pattern 'webhook:execution:*' | wc -l)" 20 \
    "primary a holds only queue a's records"
is "$(redis-cli -p "$QB_PORT" --scan --pattern 'webhook:execution:*' | wc -l)" 20 \
    "primary b holds only queue b's records"


# ---- 2. primary, replica, three Sentinels

P_PORT=$(free_port)
redis_at "$TMP/primary" "$P_PORT"
PRIMARY_PID=$LAST_PID
# two replicas: after the failover one is left, and replicas=1 can be met
R_PORT=$(free_port)
redis_at "$TMP/replica" "$R_PORT" --replicaof 127.0.0.1 "$P_PORT"
REPLICA_PID=$LAST_PID
R2_PORT=$(free_port)
redis_at "$TMP/replica2" "$R2_PORT" --replicaof 127.0.0.1 "$P_PORT" \
    --replica-priority 200
REPLICA2_PID=$LAST_PID

S_PORTS=()
SENTINEL_PIDS=()
for i in 1 2 3; do
    p=$(free_port)
    mkdir -p "$TMP/s$i"
    cat >"$TMP/s$i/sentinel.conf" <<EOC
port $p
bind 127.0.0.1
daemonize no
dir $TMP/s$i
sentinel monitor ha 127.0.0.1 $P_PORT 2
sentinel down-after-milliseconds ha 1000
sentinel failover-timeout ha 4000
sentinel parallel-syncs ha 1
EOC
    (cd "$TMP/s$i" && exec redis-server "$TMP/s$i/sentinel.conf" --sentinel \
        >"$TMP/s$i/log" 2>&1) &
    PIDS+=($!)
    SENTINEL_PIDS+=($!)
    S_PORTS+=("$p")
done
SENTINELS=127.0.0.1:${S_PORTS[0]},127.0.0.1:${S_PORTS[1]},127.0.0.1:${S_PORTS[2]}

master_port() {
    redis-cli -p "${S_PORTS[0]}" SENTINEL get-master-addr-by-name ha 2>/dev/null | sed -n 2p
}
synced() {
    [ "$(redis-cli -p "$P_PORT" INFO replication | grep -c "^slave[01]:.*state=online")" = 2 ] &&
    [ "$(redis-cli -p "${S_PORTS[0]}" SENTINEL replicas ha 2>/dev/null | grep -c "^$R_PORT$")" -ge 1 ] &&
    [ "$(redis-cli -p "${S_PORTS[2]}" SENTINEL sentinels ha 2>/dev/null | grep -c '^ip$')" -ge 2 ]
}
wait_for 20 synced
ok $? "the replica is in sync and the Sentinels know each other"

LINE="webhook_redis sentinel=$SENTINELS master=ha replicas=1"
nginx_at n1 "$LINE"
ok $? "nginx 1 with sentinel=… master=ha replicas=1"
N1=$NGINX_PORT
nginx_at n2 "$LINE"
ok $? "nginx 2"
N2=$NGINX_PORT

WPIDS=()
for i in 1 2 3; do
    "$WORKER" --sentinel "$SENTINELS" --master ha --replicas 1 \
        --consumer "w$i" --claim-after 2s --concurrency 32 \
        2>"$TMP/w$i.log" &
    PIDS+=($!)
    WPIDS+=($!)
done

out=$(curl -s -w ' %{http_code}' -d '{"n":0}' -H 'X-Delivery: d0' \
    -H 'Content-Type: application/json' "http://127.0.0.1:$N1/hook")
like "$out" ' 202$' "a job through the primary the Sentinels named: 202"

out=$(curl -s -w ' %{http_code}' -d '{}' -H 'Content-Type: application/json' \
    "http://127.0.0.1:$N2/sync")
like "$out" '^\{"v":42\} 200$' "sync through a worker, Sentinel and replicas=1: 200"

# -- the replicas paused: replicas=1 cannot be met, so no 202
kill -STOP "$REPLICA_PID" "$REPLICA2_PID"
codes=
for i in 1 2 3; do
    codes+=$(curl -s -o "$TMP/paused.body" -w '%{http_code} ' -d "{\"n\":$i}" \
        -H 'Content-Type: application/json' "http://127.0.0.1:$N2/paused")
done
kill -CONT "$REPLICA_PID" "$REPLICA2_PID"
is "$codes" "503 503 503 " "replicas paused: replicas=1 answers 503, not 202"
like "$(cat "$TMP/paused.body")" '"code":"queue_unavailable"' \
    "the 503 is queue_unavailable"
wait_for 10 synced
out=$(curl -s -o /dev/null -w '%{http_code}' -d '{"n":9}' \
    -H 'Content-Type: application/json' "http://127.0.0.1:$N2/paused")
is "$out" 202 "the replicas resumed: 202 again"

NG1=$(nginx_workers "$TMP/n1")
NG2=$(nginx_workers "$TMP/n2")

# -- the sender: each delivery is retried until acknowledged
cat >"$TMP/send.py" <<'EOP'
import http.client, json, sys, threading, time
ports, total, out = [int(p) for p in sys.argv[1].split(",")], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
st = {"next": 1, "acked": {}, "tries": 0, "s503": 0, "errors": 0,
      "first_fail": None, "last_fail": None, "sent": 0}
def work(k):
    while True:
        with lock:
            if st["next"] > total:
                return
            n = st["next"]; st["next"] += 1
        while True:
            port = ports[(n + st["tries"]) % len(ports)]
            with lock:
                st["tries"] += 1
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("POST", "/hook", json.dumps({"n": n}),
                          {"Content-Type": "application/json", "X-Delivery": "d%d" % n})
                r = c.getresponse(); body = r.read(); c.close()
                code = r.status
            except Exception:
                code = 0
            now = time.time()
            if code in (200, 202):
                with lock:
                    st["acked"][n] = json.loads(body)["executionId"]
                break
            with lock:
                if code == 503: st["s503"] += 1
                else: st["errors"] += 1
                if st["first_fail"] is None: st["first_fail"] = now
                st["last_fail"] = now
            time.sleep(0.05)
ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
st["sent"] = st["tries"]
json.dump(st, open(out, "w"))
EOP

"$PY" "$TMP/send.py" "$N1,$N2" "$DELIVERIES" "$TMP/sent.json" &
SENDER=$!

# SIGKILL of the primary once a third of the deliveries went through
wait_for 30 bash -c "[ \$(redis-cli -p $P_PORT --scan --pattern 'webhook:execution:*' 2>/dev/null | wc -l) -ge $((DELIVERIES / 3)) ]"
KILLED_AT=$(date +%s.%N)
kill -9 "$PRIMARY_PID"
wait_for 30 bash -c "[ \"\$(redis-cli -p ${S_PORTS[0]} SENTINEL get-master-addr-by-name ha 2>/dev/null | sed -n 2p)\" = $R_PORT ]"
ok $? "the Sentinels promoted the replica"
SWITCHED_AT=$(date +%s.%N)

wait "$SENDER"
ok $? "the sender got every delivery acknowledged"

# every acknowledged execution id, resolved on the new primary, once
"$PY" -c '
import json, sys
st = json.load(open(sys.argv[1]))
for n, i in sorted(st["acked"].items(), key=lambda x: int(x[0])):
    print(i)
' "$TMP/sent.json" >"$TMP/acked"
ACKED=$(wc -l <"$TMP/acked")
is "$ACKED" "$DELIVERIES" "every delivery acknowledged once"
drained() {
    [ "$(redis-cli -p "$R_PORT" XPENDING webhook:jobs webhook-workers | head -1)" = 0 ] &&
    while read -r id; do printf 'HGET webhook:execution:%s status\n' "$id"; done \
        <"$TMP/acked" | redis-cli -p "$R_PORT" | grep -cvx 1 | grep -qx 0
}
wait_for 40 drained
ok $? "every acknowledged execution is resolved on the new primary, nothing pending"
LOST=$(while read -r id; do printf 'EXISTS webhook:execution:%s\n' "$id"; done \
    <"$TMP/acked" | redis-cli -p "$R_PORT" | grep -cx 0)
is "$LOST" 0 "lost: 0"

# exactly one final record per delivery: one execution per X-Delivery
# (dedup), all of them final
redis-cli -p "$R_PORT" --scan --pattern 'webhook:execution:*' >"$TMP/keys"
while read -r k; do printf 'HMGET %s status context\n' "$k"; done <"$TMP/keys" |
    redis-cli -p "$R_PORT" >"$TMP/records"
read -r DISTINCT DUPS NOTFINAL < <("$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n")
seen, notfinal = {}, 0
for status, ctx in zip(lines[0::2], lines[1::2]):
    c = json.loads(ctx)
    if c["workflow"] != "ha":
        continue
    n = c["data"]["n"]
    seen[n] = seen.get(n, 0) + 1
    if status not in ("1", "-1", "-2"):
        notfinal += 1
print(len(seen), sum(1 for v in seen.values() if v > 1), notfinal)
' "$TMP/records")
ok "$([ "$DISTINCT" -ge "$DELIVERIES" ]; echo $?)" \
    "records for all $DELIVERIES deliveries ($DISTINCT distinct)"
is "$DUPS" 0 "no delivery has two executions"
is "$NOTFINAL" 0 "every record is final"

out=$("$CTL" --sentinel "$SENTINELS" --master ha show "$(tail -1 "$TMP/acked")" 2>&1)
like "$out" '"status": ?1' "webhookctl --sentinel --master reads the new primary"

alive=0
for p in "${WPIDS[@]}" "$REPLICA_PID" "$REPLICA2_PID" "${SENTINEL_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || alive=1
done
ok $alive "no worker, Sentinel or replica died"
is "$(nginx_workers "$TMP/n1") $(nginx_workers "$TMP/n2")" "$NG1 $NG2" \
    "the nginx worker processes are the same ones (no restart, no reload)"
! grep -qE '\[(alert|crit|emerg)\]|signal 11' "$TMP"/n1/logs/error.log "$TMP"/n2/logs/error.log
ok $? "no alert or crash in nginx's logs"

"$PY" - "$TMP/sent.json" "$KILLED_AT" "$SWITCHED_AT" <<'EOP'
import json, sys
st = json.load(open(sys.argv[1]))
killed, switched = float(sys.argv[2]), float(sys.argv[3])
ff, lf = st["first_fail"], st["last_fail"]
print("# deliveries %d, requests sent %d, acknowledged %d, 503s %d, "
      "transport errors %d" % (len(st["acked"]), st["sent"], len(st["acked"]),
                               st["s503"], st["errors"]))
print("# failover: Sentinel switch %.1f s after the SIGKILL; requests "
      "failing for %.1f s" % (switched - killed, (lf - ff) if ff else 0))
EOP
echo "# lost: $LOST"

done_testing
