#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile clients that Test::Nginx cannot play, TAP.  Starts its own nginx
# (a prefix under /tmp, a free loopback port, the module loaded, one worker
# process, sync workflows) and then, from python3: a client that sends half
# its body and closes, 200 pipelined requests on one keep-alive connection,
# slow bodies and headers against 1s timeouts, a 100000-deep JSON body of
# 200 KB, and 20000 mixed hostile requests while the worker's resident
# memory (VmRSS) must grow by less than 2 MB.  After each step nginx must
# have the same worker (no crash), answer, and have logged no [alert],
# [crit] or [emerg].  Stops nginx on exit.
#
# TEST_NGINX_BINARY (/usr/sbin/nginx) and TEST_NGINX_LOAD_MODULES (the
# build's module) are honoured as in the Test::Nginx suites.
# HOSTILE_REQUESTS (20000) and HOSTILE_RSS_KB (2048) tune the memory check.
set -u

cd "$(dirname "$0")/../.." || exit 2

nginx=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
modules=${TEST_NGINX_LOAD_MODULES:-$PWD/build/nginx/ngx_http_webhook_module.so}

skip() { echo "1..0 # SKIP $1"; exit 0; }

[ -x "$nginx" ] || skip "$nginx is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
for m in $modules; do
    [ -f "$m" ] || skip "$m is not built (make module)"
done

prefix=$(mktemp -d /tmp/wh-hostile.XXXXXX)
chmod 755 "$prefix"       # workers run as another user when we are root

cleanup() {
    local pid

    if [ -f "$prefix/logs/nginx.pid" ]; then
        pid=$(cat "$prefix/logs/nginx.pid")
        kill -QUIT "$pid" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null
    fi

    if [ -n "${WH_TEST_KEEP:-}" ]; then
        echo "# kept $prefix"
    else
        rm -rf "$prefix"
    fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp"

cat >"$prefix/conf/echo.json" <<'EOF'
{"key": "echo", "nodes": [
  {"key": "r", "type": "response", "config": {"body": "{{ $context.data }}"}}]}
EOF

cat >"$prefix/conf/quiet.json" <<'EOF'
{"key": "quiet", "nodes": [
  {"key": "v", "type": "set", "config": {"values": {"n": "{{ $context.data.n }}"}}},
  {"key": "c", "type": "condition", "config": {"calculation": {
     "calculator": "matches", "operands": ["{{ $context.query.q }}", "^(a+)+$"]}},
   "branches": {"true": [{"key": "t", "type": "end", "config": {"endStatus": 1}}],
                "false": [{"key": "f", "type": "end", "config": {"endStatus": 1}}]}}]}
EOF

{
    for m in $modules; do
        echo "load_module $m;"
    done

    cat <<EOF
worker_processes 1;
daemon on;
master_process on;
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log info;

events {
    worker_connections 512;
}

http {
    access_log off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;

    client_body_timeout 1s;
    client_header_timeout 1s;
    keepalive_requests 100000;

    server {
        listen 127.0.0.1:$port;

        location = /echo {
            webhook_mode sync;
            webhook echo.json;
        }

        location = /quiet {
            webhook_mode sync;
            webhook quiet.json;
        }

        location = /small {
            client_body_buffer_size 1k;
            webhook_mode sync;
            webhook echo.json;
        }
    }
}
EOF
} >"$prefix/conf/nginx.conf"

if ! "$nginx" -p "$prefix/" -c conf/nginx.conf -e "$prefix/logs/error.log" \
        2>"$prefix/logs/start.err"
then
    echo "1..1"
    echo "not ok 1 - nginx starts with the module"
    sed 's/^/# /' "$prefix/logs/start.err" "$prefix/logs/error.log" 2>/dev/null
    exit 1
fi

PREFIX=$prefix PORT=$port python3 - <<'PYEOF'
import os, re, socket, sys, time

PREFIX = os.environ["PREFIX"]
PORT = int(os.environ["PORT"])
NREQ = int(os.environ.get("HOSTILE_REQUESTS", "20000"))
RSS_KB = int(os.environ.get("HOSTILE_RSS_KB", "2048"))
T0 = time.time()

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s" % (n, name))
        if diag:
            for line in str(diag).splitlines()[:20]:
                print("#   " + line)
    sys.stdout.flush()


def master_pid():
    with open(os.path.join(PREFIX, "logs/nginx.pid")) as f:
        return int(f.read().strip())


def worker_pids():
    m = master_pid()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # the command may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == m:
            pids.append(int(d))
    return sorted(pids)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


ERRLOG = os.path.join(PREFIX, "logs/error.log")
BAD_LOG = re.compile(rb"\[(alert|crit|emerg)\]|exited on signal|"
                     rb"AddressSanitizer|runtime error")


def bad_log_lines():
    with open(ERRLOG, "rb") as f:
        return [l.decode("latin-1").rstrip() for l in f if BAD_LOG.search(l)]


def connect(timeout=10):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(path, body=b"", ctype="application/json", method="POST",
            keepalive=False, extra=b""):
    head = ("%s %s HTTP/1.1\r\nHost: hostile\r\n" % (method, path)).encode()
    if ctype:
        head += b"Content-Type: " + ctype.encode() + b"\r\n"
    head += b"Content-Length: %d\r\n" % len(body)
    head += extra
    head += b"Connection: keep-alive\r\n" if keepalive else \
        b"Connection: close\r\n"
    return head + b"\r\n" + body


class Reader:
    """Reads HTTP/1.1 responses one after another from a socket."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def _fill(self):
        d = self.s.recv(262144)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, v = l.split(b":", 1)
            headers[k.strip().lower()] = v.strip()
        if b"content-length" in headers:
            ln = int(headers[b"content-length"])
            while len(self.buf) < ln:
                self._fill()
            body, self.buf = self.buf[:ln], self.buf[ln:]
        else:
            # no length: the body runs to the end of the connection
            try:
                while True:
                    self._fill()
            except EOFError:
                pass
            body, self.buf = self.buf, b""
        return status, headers, body


def one(path, body=b"", **kw):
    s = connect()
    try:
        s.sendall(request(path, body, **kw))
        return Reader(s).response()
    finally:
        s.close()


def still_fine(what, worker):
    try:
        st, _, body = one("/echo", b'{"still":"here"}')
        answered = st == 200 and body == b'{"still":"here"}'
    except Exception as e:
        answered, st, body = False, "-", repr(e)
    ok(answered, "%s: the next request is answered" % what,
       "got %s %r" % (st, body[:200]))
    ok(worker_pids() == [worker], "%s: the worker is still %d" % (what, worker),
       "workers now: %s" % worker_pids())
    bad = bad_log_lines()
    ok(not bad, "%s: no [alert], [crit] or [emerg] logged" % what,
       "\n".join(bad[:10]))


# 1. it runs -----------------------------------------------------------------

workers = worker_pids()
ok(len(workers) == 1, "nginx runs one worker", "workers: %s" % workers)
if len(workers) != 1:
    print("1..%d" % n)
    sys.exit(1)
WORKER = workers[0]

st, hdrs, body = one("/echo", b'{"a":[1,2]}')
ok(st == 200 and body == b'{"a":[1,2]}', "a plain request is echoed",
   "%s %r" % (st, body))

# 2. half a body, then the client goes away ---------------------------------

for size, path in ((1000, "/echo"), (100000, "/small")):
    s = connect()
    body = b'{"x":"' + b"y" * (size - 8) + b'"}'
    s.sendall(request(path, body)[:-(size // 2)])
    time.sleep(0.1)
    s.close()
time.sleep(0.3)
still_fine("half a body then close", WORKER)

# the same, closing right after the headers, and mid-header
for raw in (request("/echo", b"x" * 5000)[:-5000],
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Le"):
    s = connect()
    s.sendall(raw)
    s.close()
time.sleep(0.3)
still_fine("close after or within the headers", WORKER)

# 3. 200 pipelined requests on one connection --------------------------------

s = connect()
reqs = b"".join(request("/echo", b'{"i":%d}' % i, keepalive=(i < 199))
                for i in range(200))
s.sendall(reqs)
r = Reader(s)
got = []
try:
    for i in range(200):
        st, _, body = r.response()
        got.append((st, body))
except Exception as e:
    got.append(("error", repr(e)))
s.close()
want = [(200, b'{"i":%d}' % i) for i in range(200)]
first_bad = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w),
                 None)
ok(got == want, "200 pipelined requests answered in order",
   "%d answers; first difference at %s: %r" %
   (len(got), first_bad, got[first_bad] if first_bad is not None
    and first_bad < len(got) else None))

# pipelined hostile ones on one connection: each error is its own answer
hostile = [
    (b'[' * 300, 400, b"nesting too deep"),
    (b'{"a":"\xff"}', 400, b"invalid UTF-8"),
    (b'{"ok":1}', 200, b'{"ok":1}'),
    (b'{"a":', 400, b"unexpected end of input"),
    (b'{"b":2}', 200, b'{"b":2}'),
]
s = connect()
s.sendall(b"".join(request("/echo", b, keepalive=(i < len(hostile) - 1))
                   for i, (b, _, _) in enumerate(hostile)))
r = Reader(s)
res = []
try:
    for _ in hostile:
        st, _, body = r.response()
        res.append((st, body))
except Exception as e:
    res.append(("error", repr(e)))
s.close()
ok(len(res) == len(hostile)
   and all(g[0] == w[1] and w[2] in g[1] for g, w in zip(res, hostile)),
   "pipelined errors and successes keep their order", repr(res))
still_fine("pipelining", WORKER)

# 4. slow clients against 1s timeouts ----------------------------------------


def slow(raw, wait):
    """Sends raw, then nothing; returns (status or None, seconds to close)."""
    s = connect(timeout=wait + 5)
    t = time.time()
    s.sendall(raw)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        return "timeout", time.time() - t
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.1 (\d+)", data)
    return (int(m.group(1)) if m else None), time.time() - t


st, took = slow(request("/echo", b'{"a":' + b"1" * 95)[:-90], 3)
ok(st in (408, None) and took < 3,
   "a body that stops coming: 408 or close after client_body_timeout",
   "status %s after %.1fs" % (st, took))

st, took = slow(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Len", 3)
ok(st in (408, None) and took < 3,
   "headers that stop coming: 408 or close after client_header_timeout",
   "status %s after %.1fs" % (st, took))

# a trickle: one byte every 0.4s keeps each read under the timeout, and the
# request is still answered correctly once complete
s = connect(timeout=10)
body = b'{"slow":true}'
raw = request("/echo", body)
s.sendall(raw[:-len(body)])
for i in range(len(body)):
    time.sleep(0.05 if i < len(body) - 3 else 0.4)
    s.sendall(body[i:i + 1])
try:
    st, _, got = Reader(s).response()
except Exception as e:
    st, got = None, repr(e)
s.close()
ok(st == 200 and got == body, "a trickled body is answered once complete",
   "%s %r" % (st, got))
still_fine("slow clients", WORKER)

# 5. 100000-deep nesting, 200 KB ---------------------------------------------

deep = b"[" * 100000 + b"]" * 100000
st, _, got = one("/echo", deep)
ok(st == 400 and got == b'{"error":{"code":"invalid_body","message":'
   b'"invalid JSON: nesting too deep at line 1, column 256"}}',
   "a 100000-deep body of 200 KB is 400 nesting too deep",
   "%s %r" % (st, got[:300]))
st, _, got = one("/small", deep)
ok(st == 400 and b"nesting too deep" in got,
   "the same body through a temp file", "%s %r" % (st, got[:300]))
still_fine("deep nesting", WORKER)

# 6. memory: 20000 mixed hostile requests ------------------------------------

MP = "multipart/form-data; boundary=B"
FORM = "application/x-www-form-urlencoded"


def mp_body(nparts):
    return b"".join(b'--B\r\nContent-Disposition: form-data; name="p%d"\r\n'
                    b'\r\nv%d\r\n' % (i, i) for i in range(nparts)) + b"--B--"


# (path, body, content type, expected status)
MIX = [
    ("/echo", b'{"a":[1,2,{"b":"c"}],"n":1.5e3}', "application/json", 200),
    ("/echo", b"[" * 2000, "application/json", 400),
    ("/echo", b'{"a":"\xc0\x80"}', "application/json", 400),
    ("/echo", b'{"a":"x\x00"}', "application/json", 400),
    ("/echo", b'{"n":' + b"7" * 3000 + b"}", "application/json", 200),
    ("/echo", b'{"a":1,"a":2,"a":3}', "application/json", 200),
    ("/echo", b"&".join(b"f%d=%d" % (i, i) for i in range(300)), FORM, 200),
    ("/echo", b"a=%zz", FORM, 400),
    ("/echo", mp_body(20), MP, 200),
    ("/echo", mp_body(3)[:-5], MP, 400),
    ("/echo", b"<x/>", "application/xml", 415),
    ("/echo?q=%zz", b"{}", "application/json", 400),
    # a catastrophic-backtracking pattern runs in PCRE2's DFA matcher, one
    # pass: an answer (no match, the false branch), not a node error
    ("/quiet?q=" + "a" * 40 + "!", b'{"n":1}', "application/json", 200),
    ("/quiet?q=aaaa", b'{"n":1}', "application/json", 200),
    ("/small", b'{"big":"' + b"z" * 3000 + b'"}', "application/json", 200),
    ("/small", b"&".join(b"k=%d" % i for i in range(500)), FORM, 200),
    ("/echo", b"", "text/plain", 200),
    ("/echo", b"caf\xc3\xa9 \xff", "text/plain; charset=utf-8", 200),
]


def run_mix(count, batch=100):
    """Sends count requests of MIX, pipelined in batches on keep-alive
    connections; returns the number of unexpected answers."""
    global unexpected
    wrong = 0
    sent = 0
    s = connect()
    r = Reader(s)
    while sent < count:
        k = min(batch, count - sent)
        items = [MIX[(sent + i) % len(MIX)] for i in range(k)]
        s.sendall(b"".join(request(p, b, ctype=c, keepalive=True)
                           for p, b, c, _ in items))
        for i, (p, b, c, want) in enumerate(items):
            try:
                st, _, _ = r.response()
            except (EOFError, OSError):
                # the rest of the batch is lost: count it, go on afresh
                wrong += k - i
                s.close()
                s = connect()
                r = Reader(s)
                break
            if st != want:
                wrong += 1
                key = "MIX[%d] %s: %s" % ((sent + i) % len(MIX), p, st)
                unexpected[key] = unexpected.get(key, 0) + 1
        sent += k
    s.close()
    return wrong


unexpected = {}
t = time.time()
warm = run_mix(2000)
time.sleep(0.2)
before = rss_kb(WORKER)
wrong = run_mix(NREQ)
time.sleep(0.2)
after = rss_kb(WORKER)
took = time.time() - t
ok(warm == 0 and wrong == 0,
   "%d mixed hostile requests get their expected statuses" % NREQ,
   "%d unexpected in the warm-up, %d after: %s" % (warm, wrong, unexpected))
print("# worker VmRSS %d kB before, %d kB after %d requests (%+d kB), %.1fs"
      % (before, after, NREQ, after - before, took))
ok(before > 0 and after - before < RSS_KB,
   "the worker's VmRSS grows by less than %d kB" % RSS_KB,
   "%d kB -> %d kB" % (before, after))
still_fine("mixed hostile requests", WORKER)

print("1..%d" % n)
print("# %.1fs" % (time.time() - T0))
sys.exit(1 if failed else 0)
PYEOF
