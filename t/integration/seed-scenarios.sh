#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The seed's two scenarios, as a user runs them: `tools/run` (what `make run`
# starts) and the curl lines it prints.  A GitHub push to main is deployed
# and announced; a form submission becomes a customer with an owner and a
# confirmation mail.  Uses make run's ports (8080, 6390, 8025).  TAP.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
n=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in 8080 6390 8025; do
    if busy "$p"; then
        echo "1..0 # SKIP port $p is in use (is make run running?)"
        exit 0
    fi
done

rm -rf build/run/redis
setsid tools/run >build/seed-run.log 2>&1 &
runner=$!
trap 'kill -TERM -- -$runner 2>/dev/null; sleep 2' EXIT

for _ in $(seq 100); do busy 8080 && break; sleep 0.1; done
sleep 0.5
ctl() { build/webhookctl --redis 127.0.0.1:6390 "$@"; }
status_of() { ctl show "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
wait_final() {
    local s
    for _ in $(seq 100); do
        s=$(status_of "$1")
        case "$s" in 1|-1|-2) return 0 ;; esac
        sleep 0.1
    done
    return 1
}

# 1. GitHub push to main: deploy, then the chat notification
body='{"ref":"refs/heads/main","after":"4f2a","repository":{"full_name":"acme/app"},"commits":[{"id":"4f2a"}],"pusher":{"name":"ann"}}'
sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "It's a Secret to Everybody" | sed 's/.* //')
ack=$(curl -s -H "X-Hub-Signature-256: sha256=$sig" -H "X-GitHub-Delivery: seed-1" \
      -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:8080/hooks/github-deploy)
id=$(printf %s "$ack" | sed -n 's/.*"executionId":"\([^"]*\)".*/\1/p')
[[ $ack == *'"status":"queued"'* ]]; ok $? "push to main is queued ($ack)"
wait_final "$id"
rec=$(ctl show "$id")
jobs=$(printf %s "$rec" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], [(j["nodeKey"], j["status"]) for j in d["jobs"]], d["jobs"][2]["result"]["data"]["state"])')
[ "$jobs" = "1 [('branch', 1), ('is_main', 1), ('deploy', 1), ('notify', 1)] started" ]
ok $? "deployed and announced: $jobs"

dup=$(curl -s -H "X-Hub-Signature-256: sha256=$sig" -H "X-GitHub-Delivery: seed-1" \
      -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:8080/hooks/github-deploy)
[ "$dup" = "{\"executionId\":\"$id\",\"status\":\"duplicate\"}" ]
ok $? "the same delivery again is a duplicate"

dev=${body/refs\/heads\/main/refs\/heads\/dev}
sig2=$(printf %s "$dev" | openssl dgst -sha256 -hmac "It's a Secret to Everybody" | sed 's/.* //')
id2=$(curl -s -H "X-Hub-Signature-256: sha256=$sig2" -H 'Content-Type: application/json' \
      -d "$dev" http://127.0.0.1:8080/hooks/github-deploy | sed -n 's/.*"executionId":"\([^"]*\)".*/\1/p')
wait_final "$id2"
jobs=$(ctl show "$id2" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], [j["nodeKey"] for j in d["jobs"]])')
[ "$jobs" = "1 ['branch', 'is_main', 'skip']" ]; ok $? "a push to dev deploys nothing: $jobs"

code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
       -d "$body" http://127.0.0.1:8080/hooks/github-deploy)
[ "$code" = 401 ]; ok $? "an unsigned push is refused (401)"

# 2. A form submission: customer record, owner, confirmation mail
ack=$(curl -s -d 'name=Ann&email=ann@example.org&region=emea' http://127.0.0.1:8080/hooks/customer)
id=$(printf %s "$ack" | sed -n 's/.*"executionId":"\([^"]*\)".*/\1/p')
wait_final "$id"
out=$(ctl show "$id" | /usr/bin/python3 -c '
import json,sys
d=json.load(sys.stdin); j={x["nodeKey"]: x for x in d["jobs"]}
c=j["assign"]["result"]["records"][0]
print(d["status"], c["name"], c["email"], c["owner"], j["confirm"]["result"]["accepted"])')
[ "$out" = "1 Ann ann@example.org ann@example.com ['ann@example.org', 'ann@example.com']" ]
ok $? "the customer has an owner and was mailed: $out"
for _ in $(seq 30); do grep -q 'Subject: Welcome, Ann' build/run/logs/mail.log && break; sleep 0.1; done
grep -q 'Subject: Welcome, Ann' build/run/logs/mail.log \
    && grep -q 'ann@example.com will contact you' build/run/logs/mail.log
ok $? "the SMTP server received the confirmation"

# 3. What an operator sees
# counted in the log phase, just after each answer went out
counted() {
    st=$(curl -s http://127.0.0.1:8080/webhooks/status \
         | grep -o '"github-deploy":{"received":[0-9]*,"outcomes":{[^}]*}')
    [[ $st == *'"received":4,'*'"queued":2,'*'"duplicate":1,'*'"missing_signature":1,'* ]]
}
for _ in $(seq 20); do counted && break; sleep 0.1; done
counted; ok $? "webhook_status counts the pushes ($st)"
list=$(ctl executions)
[ "$(printf '%s\n' "$list" | wc -l)" = 3 ]; ok $? "webhookctl lists the three executions"

! grep -qE '\[(alert|crit|emerg)\]' build/seed-run.log; ok $? "no alert from nginx"
echo "1..$n"
