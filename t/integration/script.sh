#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The "script" node of webhook-worker against a real redis-server, TAP:
# NocoBase's examples and their modern forms, arguments, $nodes, errors,
# logs, limits, allowEval, a script stuck in `while (true) {}` that times
# out while other jobs go on meanwhile, and the sandbox's helper holding
# none of the worker's secrets (environment, --smtp credentials).
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli python3
require_build
scratch script
start_redis
is "$(R ping)" PONG "redis-server runs on port $PORT"

# A set node "pre", the script node "js" with CONFIG, a set node "after".
wf() {      # KEY CONFIG
    publish "$1" "{\"key\":\"$1\",\"nodes\":[
      {\"key\":\"pre\",\"type\":\"set\",\"config\":{\"values\":{\"a\":41}}},
      {\"key\":\"js\",\"type\":\"script\",\"config\":$2},
      {\"key\":\"after\",\"type\":\"set\",\"config\":{\"values\":{
         \"got\":\"{{ \$nodes.js }}\"}}}]}"
}

WORKER_OPTS=(--max-attempts 1)
# secrets the helper must not hold: one in the environment, one in argv
WEBHOOK_TEST_SECRET=s3cr3t-env start_worker \
    --smtp "smtp://user:s3cr3t-smtp@127.0.0.1:$(free_port)"

CTX='{"data":{"ref":"refs/heads/main","n":7,"commits":[{"id":"a1"},{"id":"b2"},{"id":"c3"}]}}'
JS='d["jobs"][1]'


# ---- NocoBase's examples

REV=$(wf count '{"content":"return context.data.commits.length"}')
ID=$(run count "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["type"], j["status"]) for j in d["jobs"]]]')" \
   '[1,[["pre","set",1],["js","script",1],["after","set",1]]]' \
   "return context.data.commits.length: resolved"
is "$(echo "$S" | json "[$JS[\"result\"], d[\"jobs\"][2][\"result\"]]")" '[3,{"got":3}]' \
   "... the result is 3, and \$nodes.js is 3 for the next node"

REV=$(wf branch "{\"content\":\"return context.data.ref.replace('refs/heads/', '')\"}")
ID=$(run branch "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" main \
   "return context.data.ref.replace('refs/heads/', ''): \"main\""


# ---- arguments, nodes, values

REV=$(wf args '{"content":"return {sum: n * 2 + nodes.pre.a, who: who, list: [1, \"x\"], nothing: null}",
  "arguments":[{"name":"n","value":"{{ $context.data.n }}"},
               {"name":"who","value":"ref {{ $context.data.ref }}"}]}')
ID=$(run args "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" \
   '{"list":[1,"x"],"nothing":null,"sum":55,"who":"ref refs/heads/main"}' \
   "arguments rendered (types kept), nodes by key, an object returned"

REV=$(wf undef '{"content":"var x = 1;"}')
ID=$(run undef "$REV" "$CTX")
is "$(show "$ID" | json "[$JS[\"status\"], $JS[\"result\"]]")" '[1,null]' \
   "no return value: null"

REV=$(wf sandbox '{"content":"return [typeof require, typeof print, typeof XMLHttpRequest]"}')
ID=$(run sandbox "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" '["undefined","undefined","undefined"]' \
   "no require, print or network objects"


# ---- errors

REV=$(wf throw "{\"content\":\"throw new Error('boom')\"}")
ID=$(run throw "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["status"]) for j in d["jobs"]]]')" \
   '[-2,[["pre",1],["js",-2]]]' "a thrown error ends the execution with status error"
is "$(echo "$S" | json "$JS[\"error\"]")" "script error: Error: boom (line 1)" \
   "... the job says why"
is "$(echo "$S" | json 'd["error"]')" 'node "js": script error: Error: boom (line 1)' \
   "... and so does the execution"

REV=$(wf syntax '{"content":"return (1"}')
ID=$(run syntax "$REV" "$CTX")
like_err=$(show "$ID" | json "$JS[\"error\"]")
case "$like_err" in
    "script error: SyntaxError: "*) ok 0 "a syntax error is recorded ($like_err)" ;;
    *) ok 1 "a syntax error is recorded ($like_err)" ;;
esac

REV=$(wf ignore "{\"content\":\"throw new Error('boom')\",\"ignoreFail\":true}")
ID=$(run ignore "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["status"], j.get("error")) for j in d["jobs"]]]')" \
   '[1,[["pre",1,null],["js",1,"script error: Error: boom (line 1)"],["after",1,null]]]' \
   "ignoreFail: the run goes on, the error kept on the job"


# ---- a script that never ends does not hold the worker

REV=$(wf spin '{"content":"while (true) {}","timeout":1500}')
REV2=$(wf quick '{"content":"return context.data.n + 1"}')
T0=$(date +%s%3N)
SPIN=$(enqueue spin "$REV" "$CTX")
sleep 0.3
Q1=$(enqueue quick "$REV2" "$CTX")
Q2=$(enqueue quick "$REV2" "$CTX")
wait_for 5 final "$Q2"
T1=$(date +%s%3N)
is "$(status_of "$Q1"),$(status_of "$Q2"),$(status_of "$SPIN")" "1,1,0" \
   "two jobs queued after a spinning script resolve while it still runs"
ok $(( T1 - T0 < 1200 ? 0 : 1 )) "... within $((T1 - T0)) ms of its start"
wait_for 10 final "$SPIN"
T2=$(date +%s%3N)
S=$(show "$SPIN")
is "$(echo "$S" | json '[d["status"], [(j["nodeKey"], j["status"], j.get("error")) for j in d["jobs"]]]')" \
   '[-2,[["pre",1,null],["js",-2,"script timed out after 1500 ms"]]]' \
   "the spinning script times out after its 1500 ms"
ok $(( T2 - T0 >= 1500 && T2 - T0 < 4000 ? 0 : 1 )) "... ended $((T2 - T0)) ms after it was queued"
is "$(show "$Q1" | json "$JS[\"result\"]")" 8 "the quick ones' results are right"

# 20 scripts at once, each sleeping 600 ms in a busy loop
REV=$(wf busy '{"content":"var t = Date.now(); while (Date.now() - t < 600) {} return 1"}')
: >"$TMP/ids"
T0=$(date +%s%3N)
for i in $(seq 1 20); do enqueue busy "$REV" "$CTX" >>"$TMP/ids"; done
all_done() {
    local id
    for id in $(cat "$TMP/ids"); do
        [ "$(status_of "$id")" == 1 ] || return 1
    done
}
wait_for 20 all_done
ok $? "20 busy scripts of 600 ms each resolve"
T1=$(date +%s%3N)
ok $(( T1 - T0 < 8000 ? 0 : 1 )) \
   "... side by side: $((T1 - T0)) ms for 12 s of scripts (--concurrency 128, $(nproc) CPUs)"

# ---- modern JavaScript: the examples in ES2022, logs
REV=$(wf modern '{"content":"const {ref, commits} = context.data;\nconst ids = commits.map(({id}) => id);\nconsole.log(`ref ${ref}`, {n: ids.length});\nconsole.warn(\"second\");\nconst branch = await (async () => ref.replace(\"refs/heads/\", \"\"))();\nreturn {branch, ids: [...ids], first: ids?.[0] ?? null, big: String(2n ** 70n)}"}')
ID=$(run modern "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[$JS[\"status\"], $JS[\"result\"][\"branch\"], $JS[\"result\"][\"ids\"], $JS[\"result\"][\"first\"], $JS[\"result\"][\"big\"]]")" \
   '[1,"main",["a1","b2","c3"],"a1","1180591620717411303424"]' \
   "destructuring, arrows, templates, async/await, ?., ??, spread, BigInt"
is "$(echo "$S" | json "$JS[\"logs\"]")" '["ref refs/heads/main {\"n\":3}","second"]' \
   "console lines are the job's logs"
is "$(echo "$S" | json "'logs' in d['jobs'][0]")" false \
   "... other jobs have none"

REV=$(wf mem '{"content":"const a = []; while (true) a.push(new Array(1e6).fill(1))","memory":16,"timeout":20000}')
ID=$(run mem "$REV" "$CTX")
is "$(show "$ID" | json "[$JS[\"status\"], $JS[\"error\"]]")" \
   '[-2,"script exceeded the memory limit"]' "memory: 16 MB cuts a runaway allocation"
REV=$(wf membytes '{"content":"const a = []; while (true) a.push(new Array(1e6).fill(1))","memory":16777216,"timeout":20000}')
ID=$(run membytes "$REV" "$CTX")
is "$(show "$ID" | json "[$JS[\"status\"], $JS[\"error\"]]")" \
   '[-2,"script exceeded the memory limit"]' "... and so does memory: 16777216 (bytes)"
REV=$(wf never '{"content":"return new Promise(() => {})"}')
ID=$(run never "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"error\"]")" \
   "script timed out: the returned promise never settles (nothing is left that could settle it)" \
   "a promise that never settles fails the node"
REV=$(wf noeval '{"content":"return eval(\"1 + 1\")"}')
ID=$(run noeval "$REV" "$CTX")
like "$(show "$ID" | json "$JS[\"error\"]")" '^script error: EvalError: ' \
   "eval of code is refused"
REV=$(wf yeseval '{"content":"return eval(\"1 + 1\")","allowEval":true}')
ID=$(run yeseval "$REV" "$CTX")
is "$(show "$ID" | json "$JS[\"result\"]")" 2 "... unless allowEval: true"

# ---- the sandbox's helper: the worker's one child, none of its secrets
HELPER=$(pgrep -P "$WORKER_PID")
is "$(echo "$HELPER" | wc -w)" 1 "the worker has one child, the script helper"
has() { tr '\0' '\n' <"$1" | grep -c "$2"; }
is "$(has "/proc/$WORKER_PID/environ" s3cr3t-env),$(has "/proc/$WORKER_PID/cmdline" s3cr3t-smtp)" \
   "1,1" "the worker holds the secrets (the check can see them)"
is "$(has "/proc/$HELPER/environ" s3cr3t),$(has "/proc/$HELPER/cmdline" s3cr3t)" \
   "0,0" "its helper's environment and arguments hold none of them"
is "$(ls "/proc/$HELPER/fd" | wc -l)" 1 "the helper keeps one descriptor"
REV=$(wf spin2 '{"content":"while (true) {}","timeout":3000}')
SPIN=$(enqueue spin2 "$REV" "$CTX")
P=
for _ in $(seq 1 100); do
    P=$(pgrep -P "$HELPER" | head -1)
    [ -n "$P" ] && break
    sleep 0.02
done
is "$(ls "/proc/$P/fd" 2>/dev/null | tr '\n' ' ')" "3 " \
   "a script process holds its socket (fd 3) and nothing else"
is "$(grep -hE '^(Seccomp|NoNewPrivs):' /proc/"$P"/task/*/status | sort -u \
     | tr -s '\t\n' '  ')" \
   "NoNewPrivs: 1 Seccomp: 2 " "... under a seccomp filter, every thread of it"
is "$(has "/proc/$P/environ" s3cr3t),$(has "/proc/$P/cmdline" s3cr3t)" "0,0" \
   "... and none of the secrets either"
wait_for 10 final "$SPIN"

stop_worker
is $? 0 "SIGTERM: the worker exits 0"

done_testing
