#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The "mail" node of webhook-worker against a real SMTP server on
# loopback (Debian's python3-aiosmtpd), TAP: what the server received
# (envelope, headers, bodies decoded), AUTH from the --smtp URL, refused
# recipients, a server that is not there, a worker without --smtp.
set -u

cd "$(dirname "$0")/../.." || exit 2
. t/integration/lib.bash
# Debian's python, which python3-aiosmtpd installs for
PY=${WH_TEST_PYTHON:-/usr/bin/python3}

require redis-server redis-cli "$PY"

if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
    echo "1..0 # SKIP python3-aiosmtpd is not installed"
    exit 0
fi

require_build
scratch mail
SMTP_PID=

cleanup_more() {
    [ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null
}

start_redis
is "$(R ping)" PONG "redis-server runs on port $PORT"


# ---- the SMTP server: each message to a JSON file, with its envelope

mkdir "$TMP/mail"
cat >"$TMP/smtpd.py" <<'EOF'
import json, os, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out = sys.argv[1]
count = 0

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.endswith("@reject.test"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        login = session.auth_data.login.decode() if session.auth_data else None
        with open(os.path.join(out, "%04d.tmp" % count), "w") as f:
            json.dump({"from": envelope.mail_from, "rcpt": envelope.rcpt_tos,
                       "login": login,
                       "data": envelope.content.decode("utf-8", "replace")}, f)
        os.rename(os.path.join(out, "%04d.tmp" % count),
                  os.path.join(out, "%04d.json" % count))
        return "250 OK queued"

def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

c = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[2]),
               authenticator=auth, auth_require_tls=False)
c.start()
while True:
    time.sleep(3600)
EOF

serve SPORT "$TMP/smtpd.log" "$PY" "$TMP/smtpd.py" "$TMP/mail"
ok $? "aiosmtpd runs on port $SPORT"
SMTP_PID=$SERVE_PID
DEAD_PORT=$(free_port)


# ---- helpers

# mailpart FILE EXPRESSION: a value of the received message, parsed with
# python's email package as m (env: its envelope)
mailpart() {
    "$PY" -c '
import email, email.policy, json, sys
env = json.load(open(sys.argv[1]))
m = email.message_from_string(env["data"].replace("\r\n", "\n"),
                              policy=email.policy.default)
v = eval(sys.argv[2])
print(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if not isinstance(v, str) else v)
' "$1" "$2"
}

wf() {      # KEY CONFIG: one mail node "mail"
    publish "$1" "{\"key\":\"$1\",\"nodes\":[
      {\"key\":\"mail\",\"type\":\"mail\",\"config\":$2}]}"
}

nmail() { ls "$TMP/mail" | grep -c '\.json$'; }
last_mail() { ls "$TMP"/mail/*.json | tail -1; }

WORKER_OPTS=(--max-attempts 1)
start_worker --smtp "smtp://127.0.0.1:$SPORT"

CTX='{"data":{"who":"octocat","n":3,"email":"dev@example.com","ref":"refs/heads/main"}}'
J='d["jobs"][0]'


# ---- a text mail

REV=$(wf text '{"to":"{{ $context.data.email }}",
  "subject":"Push to {{ $context.data.ref }} by {{ $context.data.who }}",
  "text":"{{ $context.data.n }} commits.\nSee you."}')
ID=$(run text "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[d[\"status\"], $J[\"type\"], $J[\"status\"], $J[\"result\"]]")" \
   '[1,"mail",1,{"accepted":["dev@example.com"]}]' \
   "a mail resolves with {accepted: [recipients]}"
is "$(nmail)" 1 "the server received one message"
M=$(last_mail)
is "$(json '[d["from"], d["rcpt"], d["login"]]' <"$M")" \
   '["webhook-worker@localhost",["dev@example.com"],null]' \
   "envelope: from webhook-worker@localhost (the default), to the recipient"
is "$(mailpart "$M" '[m["From"], m["To"], m["Subject"], m.get("Cc")]')" \
   '["webhook-worker@localhost","dev@example.com","Push to refs/heads/main by octocat",null]' \
   "headers From, To, Subject rendered"
is "$(mailpart "$M" '[m.get_content_type(), m.get_content_charset(), m.get_content()]')" \
   '["text/plain","utf-8","3 commits.\nSee you.\n"]' "the body: the text, rendered"
like "$(mailpart "$M" '[m["Date"], m["Message-ID"], m["MIME-Version"]]')" \
     '^\["[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} [0-9:]{8} \+0000","<[0-9a-f-]{36}@webhook-worker>","1.0"\]$' \
     "Date, Message-ID and MIME-Version"


# ---- text and html, lists, cc, bcc, from

REV=$(wf alt '{"from":"Deploy Bot <bot@example.org>",
  "to":["a@example.com","Jane Doe <jane@example.com>, \"Doe, John\" <john@example.com>"],
  "cc":"c@example.com","bcc":["hidden@example.com"],
  "subject":"Grüße ✓ {{ $context.data.who }}",
  "text":"Plain: {{ $context.data.n }} commits. Ünïcode ✓\n.a line starting with a dot\nA long line: 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 end",
  "html":"<p>HTML: <b>{{ $context.data.n }}</b> commits = ok</p>"}')
ID=$(run alt "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "$J[\"result\"]")" \
   '{"accepted":["a@example.com","jane@example.com","john@example.com","c@example.com","hidden@example.com"]}' \
   "to (string lists and arrays), cc and bcc are all accepted"
M=$(last_mail)
is "$(json '[d["from"], d["rcpt"]]' <"$M")" \
   '["bot@example.org",["a@example.com","jane@example.com","john@example.com","c@example.com","hidden@example.com"]]' \
   "envelope: from's address, every recipient"
is "$(mailpart "$M" '[m["From"], m["To"], m["Cc"], m.get("Bcc"), m["Subject"]]')" \
   '["Deploy Bot <bot@example.org>","a@example.com, Jane Doe <jane@example.com>, \"Doe, John\" <john@example.com>","c@example.com",null,"Grüße ✓ octocat"]' \
   "headers: From, To, Cc as written, no Bcc, a UTF-8 subject"
is "$(mailpart "$M" '[m.get_content_type()] + [(p.get_content_type(), p.get_content()) for p in m.iter_parts()]')" \
   '["multipart/alternative",["text/plain","Plain: 3 commits. Ünïcode ✓\n.a line starting with a dot\nA long line: 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 end"],["text/html","<p>HTML: <b>3</b> commits = ok</p>"]]' \
   "multipart/alternative: the text, then the html, exactly"
ok "$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))["data"]
print(0 if all(len(l) <= 78 for l in d.split("\r\n")) else 1)' "$M")" \
   "no line of the message is longer than 78"

REV=$(wf inject '{"to":"x@example.com","subject":"hi\r\nBcc: evil@example.net","html":"<i>only html</i>"}')
ID=$(run inject "$REV" "$CTX")
M=$(last_mail)
is "$(json 'd["rcpt"]' <"$M")" '["x@example.com"]' "a line break in the subject adds no recipient"
is "$(mailpart "$M" '[m["Subject"], m.get("Bcc"), m.get_content_type(), m.get_content()]')" \
   '["hi  Bcc: evil@example.net",null,"text/html","<i>only html</i>\n"]' \
   "... nor a header; html alone is a text/html message"


# ---- failures

COUNT=$(nmail)

REV=$(wf reject '{"to":["ok@example.com","nobody@reject.test"],"text":"x"}')
ID=$(run reject "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[d[\"status\"], $J[\"status\"], $J[\"result\"]]")" '[-2,-2,null]' \
   "a recipient the server refuses: an error"
is "$(echo "$S" | json "$J[\"error\"]")" "mail failed: RCPT failed: 550" "... saying so"
is "$(echo "$S" | json 'd["error"]')" 'node "mail": mail failed: RCPT failed: 550' \
   "... the execution too"

REV=$(wf badaddr '{"to":"someone <oops","text":"x"}')
ID=$(run badaddr "$REV" "$CTX")
is "$(show "$ID" | json "$J[\"error\"]")" \
   'mail failed: invalid address "someone <oops" in "to"' "an invalid address"

REV=$(wf norcpt '{"to":"{{ $context.data.nobody }}","text":"x"}')
ID=$(run norcpt "$REV" "$CTX")
is "$(show "$ID" | json "$J[\"error\"]")" \
   'mail failed: no recipient ("to", "cc" or "bcc")' "no recipient"

REV=$(wf ignore '{"to":"nobody@reject.test","text":"x","ignoreFail":true}')
ID=$(run ignore "$REV" "$CTX")
is "$(show "$ID" | json "[d[\"status\"], $J[\"status\"], $J[\"error\"]]")" \
   '[1,1,"mail failed: RCPT failed: 550"]' "ignoreFail: resolved, the error kept"
is "$(nmail)" "$COUNT" "none of these reached the mailbox"

stop_worker


# ---- the --smtp URL

start_worker --smtp "smtp://deploy:s3cret@127.0.0.1:$SPORT"
REV=$(wf auth '{"to":"a@example.com","subject":"authenticated","text":"x"}')
ID=$(run auth "$REV" "$CTX")
is "$(status_of "$ID")" 1 "user:password in the --smtp URL: AUTH"
is "$(json '[d["login"], d["rcpt"]]' <"$(last_mail)")" '["deploy",["a@example.com"]]' \
   "... the server saw the login"
stop_worker

start_worker --smtp "smtp://deploy:wrong@127.0.0.1:$SPORT"
ID=$(run auth "$REV" "$CTX")
like "$(show "$ID" | json "[d[\"status\"], $J[\"error\"]]")" \
     '^\[-2,"mail failed: .*(535|[Aa]uthentication|[Ll]ogin).*"\]$' \
     "a wrong password: an error"
stop_worker

start_worker --smtp "smtp://127.0.0.1:$SPORT?starttls"
ID=$(run auth "$REV" "$CTX")
is "$(show "$ID" | json "[d[\"status\"], $J[\"error\"]]")" \
   '[-2,"mail failed: STARTTLS not supported."]' \
   "?starttls: a server without STARTTLS is refused, nothing in clear"
stop_worker

start_worker --smtp "smtp://127.0.0.1:$DEAD_PORT"
ID=$(run auth "$REV" "$CTX")
S=$(show "$ID")
is "$(echo "$S" | json "[d[\"status\"], $J[\"status\"]]")" '[-2,-2]' \
   "an SMTP server that is not there: an error"
like "$(echo "$S" | json "$J[\"error\"]")" \
     "^mail failed: Failed to connect to 127.0.0.1 port $DEAD_PORT .*Couldn't connect to server$" \
     "... saying so"
stop_worker

start_worker
ID=$(run auth "$REV" "$CTX")
is "$(show "$ID" | json "[d[\"status\"], $J[\"error\"]]")" \
   '[-2,"mail failed: no mail server: the worker runs without --smtp"]' \
   "a worker without --smtp"
stop_worker

done_testing
