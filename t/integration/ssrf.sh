#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The request node's SSRF guard (SPEC §7), TAP.  All traffic stays on
# loopback: one peer listens on 127.0.0.1, 127.0.0.2 and [::1] (same
# port) and echoes what arrived; the worker admits 127.0.0.1/32 only, so
# 127.0.0.2, 0.0.0.0, [::1] and a redirect to 127.0.0.2 are refused, then
# runs with no --allow-net and refuses 127.0.0.1 and ::ffff:127.0.0.1.
# Request data in a url: "@", "/", "..", "?" and "#" arrive as data, and a
# template in the authority is refused.  Private, link-local and metadata
# ranges are t/unit/test_net.c's, never connected.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash

require redis-server redis-cli python3
require_build
scratch ssrf
PEER_PID=

cleanup_more() {
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null
}


start_redis
is "$(R ping)" PONG "redis-server runs on port $PORT"


# ---- the peer: GET /redir?to=URL answers 302 there; anything else 200
# {"target": the request target as sent, "host": Host, "local": the
# address it arrived on}; every target is logged to peer.log

cat >"$TMP/peer.py" <<'EOF'
import json, socket, sys, threading, urllib.parse
port = int(sys.argv[2])
log = open(sys.argv[1], "a", buffering=1)

def serve(s, local):
    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c, local), daemon=True).start()

def answer(c, local):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                return
            head += d
        lines = head.split(b"\r\n")
        target = lines[0].split()[1].decode()
        host = ""
        for h in lines[1:]:
            if h.lower().startswith(b"host:"):
                host = h[5:].strip().decode()
        log.write(local + " " + target + "\n")
        u = urllib.parse.urlsplit(target)
        if u.path == "/redir":
            to = urllib.parse.parse_qs(u.query)["to"][0]
            c.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + to.encode()
                      + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            body = json.dumps({"target": target, "host": host,
                               "local": local}).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Connection: close\r\nContent-Length: %d\r\n\r\n"
                      % len(body) + body)
    finally:
        c.close()

socks = []
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "127.0.0.2"),
                  (socket.AF_INET6, "::1")):
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(64)
        socks.append((s, addr))
    except OSError:
        if addr == "127.0.0.1":
            raise
for s, addr in socks[1:]:
    threading.Thread(target=serve, args=(s, addr), daemon=True).start()
serve(*socks[0])
EOF
: >"$TMP/peer.log"
serve PP "$TMP/peer.err" "$PY" "$TMP/peer.py" "$TMP/peer.log"
ok $? "the peer runs on port $PP"
PEER_PID=$SERVE_PID
sleep 0.2
HAVE6=0
grep -q . <("$PY" -c "import socket; s=socket.socket(socket.AF_INET6); s.connect(('::1', $PP)); print(1)" 2>/dev/null) && HAVE6=1

# the peer saw TARGET (grep -F) on ADDRESS
seen() { grep -qF -- "$1 $2" "$TMP/peer.log"; }
unseen() { ! grep -qF -- "$1" "$TMP/peer.log"; }     # TARGET, anywhere

# One request node "call" with CONFIG.
wf() {      # KEY CONFIG
    publish "$1" "{\"key\":\"$1\",\"nodes\":[
      {\"key\":\"call\",\"type\":\"request\",\"config\":$2}]}"
}

# STATUS|ATTEMPTS|ERROR of the execution ID
outcome() {
    show "$1" | json '"%s|%s|%s" % (d["status"], d["attempts"], d["jobs"][0].get("error"))'
}

export WH_UP=http://127.0.0.1:$PP
ALLOW_NET=(--allow-net 127.0.0.1/32)
WORKER_OPTS=(--max-attempts 3 --env WH_UP)
start_worker


# ---- 1. --allow-net 127.0.0.1/32: the one address admitted, no other

REV=$(wf direct "{\"url\":\"http://127.0.0.1:$PP/direct\",\"method\":\"GET\"}")
ID=$(run direct "$REV" '{"data":null}')
is "$(show "$ID" | json '[d["status"], d["jobs"][0]["result"]["data"]["local"]]')" \
   '[1,"127.0.0.1"]' "127.0.0.1, listed in --allow-net: connected"

refused() {     # NAME URL ADDRESS-IN-MESSAGE
    local rev id
    rev=$(wf "$1" "{\"url\":\"$2\",\"method\":\"GET\"}")
    id=$(run "$1" "$rev" '{"data":null}')
    is "$(outcome "$id")" \
       "-2|1|request failed: the address $3 is not allowed (webhook-worker --allow-net)" \
       "$2: status -2 at the first attempt (not retried), \"not allowed\""
}

refused other "http://127.0.0.2:$PP/other" 127.0.0.2
unseen /other; ok $? "... the peer never saw it"
refused zero "http://0.0.0.0:$PP/zero" 0.0.0.0
unseen /zero; ok $? "... the peer never saw it"
if [ "$HAVE6" == 1 ]; then
    refused six "http://[::1]:$PP/six" '[::1]'
    unseen /six; ok $? "... the peer never saw it"
else
    ok 0 "# SKIP no IPv6 loopback"
    ok 0 "# SKIP no IPv6 loopback"
fi

REV=$(wf mapped "{\"url\":\"http://[::ffff:127.0.0.1]:$PP/mapped\",\"method\":\"GET\"}")
ID=$(run mapped "$REV" '{"data":null}')
is "$(show "$ID" | json 'd["status"]')" 1 \
   "::ffff:127.0.0.1 is 127.0.0.1: admitted by the same CIDR"

# a name: the check is on the addresses it resolves to (localhost may be
# ::1 first, refused, then 127.0.0.1)
REV=$(wf name "{\"url\":\"http://localhost:$PP/by-name\",\"method\":\"GET\"}")
ID=$(run name "$REV" '{"data":null}')
is "$(show "$ID" | json '[d["status"], d["jobs"][0]["result"]["data"]["local"]]')" \
   '[1,"127.0.0.1"]' "localhost: connected to its admitted address 127.0.0.1"

# a redirect from the admitted peer to a refused address
REV=$(wf redir "{\"url\":\"http://127.0.0.1:$PP/redir?to=http://127.0.0.2:$PP/after-redirect\",\"method\":\"GET\"}")
ID=$(run redir "$REV" '{"data":null}')
is "$(outcome "$ID")" \
   "-2|1|request failed: the address 127.0.0.2 is not allowed (webhook-worker --allow-net)" \
   "a 302 to 127.0.0.2: refused at the redirect"
seen 127.0.0.1 /redir; ok $? "... the first hop was made"
! seen 127.0.0.2 /after-redirect; ok $? "... the second never"

REV=$(wf ignored "{\"url\":\"http://127.0.0.2:$PP/ignored\",\"ignoreFail\":true}")
ID=$(run ignored "$REV" '{"data":null}')
is "$(show "$ID" | json 'd["status"]')" -2 "ignoreFail does not turn a refusal into success"


# ---- 2. request data in a url

# after the authority: every value is data of its component
REV=$(wf tricks '{"url":"{{ $env.WH_UP }}/api/{{ $context.data.p }}/x?q={{ $context.data.q }}&r=1#{{ $context.data.p }}","method":"GET"}')
ID=$(run tricks "$REV" \
     '{"data":{"p":"@127.0.0.2:1/../..?a=b#c","q":"a&r=2#frag /%"}}')
is "$(show "$ID" | json 'd["jobs"][0]["result"]["data"]')" \
   '{"host":"127.0.0.1:'"$PP"'","local":"127.0.0.1","target":"/api/%40127%2E0%2E0%2E2%3A1%2F%2E%2E%2F%2E%2E%3Fa%3Db%23c/x?q=a%26r%3D2%23frag%20%2F%25&r=1"}' \
   "\"@\", \"/\", \"..\", \"?\", \"#\" in a path or query value: percent-encoded, same host"

REV=$(wf dots '{"url":"{{ $env.WH_UP }}/api/{{ $context.data.p }}/secret","method":"GET"}')
ID=$(run dots "$REV" '{"data":{"p":".."}}')
is "$(show "$ID" | json 'd["jobs"][0]["result"]["data"]["target"]')" \
   '/api/%2E%2E/secret' "a value \"..\" is no dot segment: /api/../secret is not /secret"

# in the authority: refused, whatever the value
authority() {     # NAME URL DATA
    local rev id
    rev=$(wf "$1" "{\"url\":\"$2\",\"method\":\"GET\"}")
    id=$(run "$1" "$rev" "{\"data\":$3}")
    is "$(outcome "$id")" \
       "-2|1|request failed: the url's scheme, host or port is a template: only \$env values may set them" \
       "$2: refused, final"
}

authority at 'http://api.example{{ $context.data.p }}/x' "{\"p\":\"@127.0.0.1:$PP/internal\"}"
unseen /internal; ok $? "... the peer never saw /internal"
authority whole '{{ $context.data.url }}' "{\"url\":\"http://127.0.0.1:$PP/whole\"}"
authority port "http://127.0.0.1:{{ \$context.data.port }}/port" "{\"port\":$PP}"
authority scheme '{{ $context.data.s }}://127.0.0.1/' '{"s":"http"}'
unseen /whole && unseen /port; ok $? "... none of them reached the peer"

REV=$(wf envbase '{"url":"{{ $env.WH_UP }}/env?x={{ $context.data.x }}","method":"GET"}')
ID=$(run envbase "$REV" '{"data":{"x":1}}')
is "$(show "$ID" | json '[d["status"], d["jobs"][0]["result"]["data"]["target"]]')" \
   '[1,"/env?x=1"]' "an \$env value sets scheme, host and port (the operator's)"

stop_worker


# ---- 3. no --allow-net: loopback refused, in its IPv4-mapped form too

ALLOW_NET=()
start_worker

refused dflt "http://127.0.0.1:$PP/default" 127.0.0.1
refused dfltmapped "http://[::ffff:127.0.0.1]:$PP/default-mapped" '[::ffff:127.0.0.1]'
REV=$(wf dfltname "{\"url\":\"http://localhost:$PP/default-name\",\"method\":\"GET\"}")
ID=$(run dfltname "$REV" '{"data":null}')
like "$(outcome "$ID")" '^-2\|1\|request failed: the address .* is not allowed' \
     "localhost: every address it resolves to is refused"
unseen /default; ok $? "... the peer saw neither"

stop_worker
is $? 0 "the worker exits 0"

"$WORKER" --allow-net 127.0.0.1/40 --help >/dev/null 2>"$TMP/bad.err"
is "$?,$(cat "$TMP/bad.err")" \
   '2,webhook-worker: invalid allow-net "127.0.0.1/40" (CIDR: 10.0.0.0/8, ::1/128, 127.0.0.1)' \
   "--allow-net 127.0.0.1/40: refused at start"

done_testing
