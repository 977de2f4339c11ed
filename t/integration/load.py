#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A small load client for the durability tests: THREADS connections POST
to HOST:PORT PATH until COUNT requests were sent in all.  With "close" each
request has a connection of its own, as webhook senders mostly do (a
keep-alive connection that a reloading nginx closes while idle races with
the client's next request).  Prints one JSON object: the count of each
status, the executionIds acknowledged with a 2xx, and the transport
errors."""
import http.client
import json
import sys
import threading

url_host, url_port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count, threads = int(sys.argv[4]), int(sys.argv[5])
close = len(sys.argv) > 6 and sys.argv[6] == "close"
lock = threading.Lock()
state = {"sent": 0, "status": {}, "acked": [], "errors": 0}


def worker():
    conn = None
    while True:
        with lock:
            if state["sent"] >= count:
                break
            state["sent"] += 1
            n = state["sent"]
        body = json.dumps({"n": n, "ref": "refs/heads/main"})
        try:
            if conn is None:
                conn = http.client.HTTPConnection(url_host, url_port, timeout=10)
            headers = {"Content-Type": "application/json"}
            if close:
                headers["Connection"] = "close"
            conn.request("POST", path, body, headers)
            r = conn.getresponse()
            data = r.read()
            code = r.status
            if close or r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception:
            code = "error"
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            key = str(code)
            state["status"][key] = state["status"].get(key, 0) + 1
            if code == "error":
                state["errors"] += 1
            elif 200 <= code < 300:
                state["acked"].append(json.loads(data)["executionId"])


ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(state))
