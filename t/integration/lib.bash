# SPDX-License-Identifier: BSD-2-Clause
# The set-up the integration scripts share, sourced from the top of the
# tree after `cd "$(dirname "$0")/../.."`.  Not a test itself: t/run-tests
# runs t/integration/*.sh, which this name does not match.
#
#   TAP           ok, is, like, done_testing (counts in n and fails)
#   requirements  require CMD... (skips the script), require_build
#   processes     scratch NAME: $TMP, removed at exit after the worker,
#                 cleanup_more (if the script defines it) and redis-server
#                 are stopped
#   ports         port_open, free_port, wait_port, serve VAR LOG CMD...
#                 (a server on a free port: VAR, SERVE_PID)
#   redis         start_redis [ARGS...]: PORT, ADDR, REDIS_PID; R, RAW
#   the worker    start_worker [ARGS...], stop_worker (WORKER_OPTS first,
#                 stderr to WORKER_LOG); ALLOW_NET: the --allow-net of
#                 every worker a test starts (loopback peers, SPEC §7)
#   jobs          wait_for, uuid7, json, status_of, final, show, publish,
#                 enqueue, run (a script whose jobs take another shape
#                 defines its own publish, enqueue or run after this)

ROOT=$PWD
WORKER=${WH_TEST_WORKER:-$ROOT/build/webhook-worker}
CTL=${WH_TEST_CTL:-$ROOT/build/webhookctl}

# python without a version manager's shim in front: it runs many times
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

n=0
fails=0
TMP=
REDIS_PID=
WORKER_PID=
PORT=
ADDR=
WORKER_OPTS=()
ALLOW_NET=(--allow-net 127.0.0.0/8,::1/128)
WORKER_LOG=
WAIT_STEP=0.05      # wait_for's polling interval
UUID7_GAP=          # a pause after each uuid7, for ids in distinct ms
FINAL='1|-1|-2|-6'  # the statuses final() takes as the end of a run
JSON_DEFS=          # python definitions json() expressions may use


# ---- TAP

ok() {      # STATUS NAME: passes when STATUS is 0
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        fails=$((fails + 1))
        return 1
    fi
}

is() {      # GOT EXPECTED NAME
    n=$((n + 1))
    if [ "$1" == "$2" ]; then
        echo "ok $n - $3"
    else
        echo "not ok $n - $3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
        fails=$((fails + 1))
    fi
}

like() {    # GOT PATTERN NAME (grep -E)
    n=$((n + 1))
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        echo "ok $n - $3"
    else
        echo "not ok $n - $3"
        echo "#   got:      '$1'"
        echo "#   expected: /$2/"
        fails=$((fails + 1))
    fi
}

done_testing() {    # the plan; fails when an assertion failed
    echo "1..$n"
    [ "$fails" -eq 0 ]
}


# ---- requirements

require() {     # CMD...: skips the script unless each is installed
    local cmd
    for cmd in "$@"; do
        if ! command -v "$cmd" >/dev/null; then
            echo "1..0 # SKIP $cmd is not installed"
            exit 0
        fi
    done
}

require_build() {
    if [ ! -x "$WORKER" ] || [ ! -x "$CTL" ]; then
        echo "Bail out! build/webhook-worker or build/webhookctl missing"
        exit 1
    fi
}


# ---- processes

scratch() {     # NAME: $TMP, a directory /tmp/wh-NAME.*, cleaned up at exit
    TMP=$(mktemp -d "/tmp/wh-$1.XXXXXX")
    trap cleanup EXIT
}

cleanup() {
    [ -n "$WORKER_PID" ] && kill -9 "$WORKER_PID" 2>/dev/null
    declare -F cleanup_more >/dev/null && cleanup_more
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
    wait 2>/dev/null
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}


# ---- ports

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {   # a loopback port nobody answers on
    # below the kernel's ephemeral range (32768 up): no outgoing
    # connection of another test holds it
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        port_open "$p" || { echo "$p"; return; }
    done
}

wait_port() {   # PORT [PID]: until something accepts there (10 s at most,
                # less if PID exits first)
    local _
    for _ in $(seq 1 200); do
        port_open "$1" && return 0
        [ -n "${2-}" ] && ! kill -0 "$2" 2>/dev/null && return 1
        sleep 0.05
    done
    return 1
}

# serve VAR LOG CMD...: runs CMD PORT in the background, stderr to LOG, on
# a free port, trying another one if it does not come up (a port taken
# meanwhile); sets VAR to the port and SERVE_PID.  Fails, showing LOG,
# after 5 tries.
serve() {
    local var=$1 log=$2 p _
    shift 2
    for _ in 1 2 3 4 5; do
        p=$(free_port)
        "$@" "$p" 2>"$log" &
        SERVE_PID=$!
        if wait_port "$p" "$SERVE_PID"; then
            printf -v "$var" %s "$p"
            return 0
        fi
        kill "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    done
    SERVE_PID=
    sed 's/^/# /' "$log"
    return 1
}


# ---- redis-server

R() { redis-cli -p "$PORT" "$@"; }
RAW() { redis-cli -p "$PORT" --raw "$@"; }

# start_redis [ARGS...]: a redis-server of its own in $TMP, without
# persistence, on a free loopback port (another test may take the port
# meanwhile: then the next one).  ARGS go to redis-server.
# shellcheck disable=SC2120
start_redis() {
    local _
    PORT=
    for _ in $(seq 1 10); do
        PORT=$(free_port)
        (cd "$TMP" && exec redis-server --port "$PORT" --bind 127.0.0.1 \
            "$@" --save '' --appendonly no --daemonize no \
            >"$TMP/redis.log" 2>&1) &
        REDIS_PID=$!

        for _ in $(seq 1 200); do
            [ "$(R ping 2>/dev/null)" == PONG ] && break 2
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.05
        done

        kill "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
        REDIS_PID=
    done
    ADDR=127.0.0.1:$PORT
}


# ---- the worker

# shellcheck disable=SC2120
start_worker() {    # ARGS...: after WORKER_OPTS
    "$WORKER" --redis "$ADDR" "${ALLOW_NET[@]}" "${WORKER_OPTS[@]}" "$@" \
        2>>"${WORKER_LOG:-$TMP/worker.log}" &
    WORKER_PID=$!
}

stop_worker() {     # SIGTERM; the worker's exit status
    local rc
    kill -TERM "$WORKER_PID"
    wait "$WORKER_PID"
    rc=$?
    WORKER_PID=
    return $rc
}


# ---- jobs

wait_for() {    # SECONDS COMMAND...: until COMMAND succeeds
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep "$WAIT_STEP"
    done
}

uuid7() {       # a UUIDv7 of now, as the module makes them
    local h r
    h=$(printf '%012x' "$(date +%s%3N)")
    r=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
    echo "${h:0:8}-${h:8:4}-7${r:0:3}-8${r:3:3}-${r:6:12}"
    [ -z "$UUID7_GAP" ] || sleep "$UUID7_GAP"
}

json() {    # EXPRESSION: a value of the JSON on stdin (d), in python
    "$PY" -c '
import json, sys
'"$JSON_DEFS"'
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if not isinstance(v, str) else v)
' "$1"
}

status_of() { RAW HGET "webhook:execution:$1" status; }

final() { [[ $(status_of "$1") =~ ^($FINAL)$ ]]; }

show() { "$CTL" --redis "$ADDR" show "$1"; }

publish() {     # NAME JSON: the revision
    printf '%s' "$2" >"$TMP/$1.json"
    "$CTL" --redis "$ADDR" publish "$TMP/$1.json"
}

enqueue() {     # KEY REVISION CONTEXT: the id
    local id
    id=$(uuid7)
    R XADD webhook:jobs '*' execution "$id" workflow "$1" revision "$2" \
        context "$3" >/dev/null
    echo "$id"
}

run() {         # KEY REVISION CONTEXT: queues, waits, prints the id
    local id
    id=$(enqueue "$@")
    wait_for 15 final "$id"
    echo "$id"
}
