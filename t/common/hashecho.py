# An upstream for the verify-then-proxy tests: answers every request with
# what it received, as JSON: method, URI, body length and SHA-256, and the
# X-Verified, X-Dedup-Key and Transfer-Encoding headers.  ?status=N answers
# with that status.  GET /count?path=P: how many requests P received.
# Loopback only.  Usage: hashecho.py PORT
import hashlib, http.server, json, sys, threading, urllib.parse

counts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        data = self.body()
        if url.path == "/count":
            with lock:
                out = {"count": counts.get(query["path"][0], 0)}
            status = 200
        else:
            with lock:
                counts[url.path] = counts.get(url.path, 0) + 1
            out = {"method": self.command, "uri": self.path,
                   "length": len(data),
                   "sha256": hashlib.sha256(data).hexdigest(),
                   "verified": self.headers.get("X-Verified"),
                   "dedupKey": self.headers.get("X-Dedup-Key"),
                   "te": self.headers.get("Transfer-Encoding")}
            status = int(query.get("status", ["200"])[0])
        text = json.dumps(out, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
                                         Handler)
server.daemon_threads = True
server.serve_forever()
