# SPDX-License-Identifier: BSD-2-Clause
# An HTTP peer for the worker's request nodes: answers any path but /stats
# after ?ms=N milliseconds (1000 by default) with ?status=N (200),
# thousands at a time.
# /stats: per path, the requests in flight, the most it had in flight at
# once and how many it answered.  /log: every request but these two, in
# order of arrival, as {"path", "query", "start", "end"} (ms since the
# epoch, "end" once answered).  Usage: upstream.py PORT
import asyncio, json, resource, sys, time, urllib.parse

# many sockets at once: the soft limit up to the hard one, if allowed
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
except (ValueError, OSError):
    pass

stats = {}
log = []


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        length = 0
        for h in head.split(b"\r\n")[1:]:
            if h.lower().startswith(b"content-length:"):
                length = int(h.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        url = urllib.parse.urlparse(line.split()[1])
        query = urllib.parse.parse_qs(url.query)
        status = int(query.get("status", ["200"])[0] or 200)
        if url.path == "/stats":
            body = json.dumps(stats).encode()
        elif url.path == "/log":
            body = json.dumps(log).encode()
        else:
            entry = {"path": url.path, "query": url.query,
                     "start": time.time() * 1000}
            log.append(entry)
            ms = int(query.get("ms", ["1000"])[0])
            p = stats.setdefault(url.path,
                                 {"inflight": 0, "max": 0, "done": 0})
            p["inflight"] += 1
            p["max"] = max(p["max"], p["inflight"])
            try:
                await asyncio.sleep(ms / 1000)
            finally:
                p["inflight"] -= 1
            p["done"] += 1
            entry["end"] = time.time() * 1000
            body = json.dumps({"slept": ms}).encode()
        writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: %d\r\n\r\n"
                     % (status, len(body)) + body)
        await writer.drain()
    except Exception:
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]),
                                        backlog=4096)
    async with server:
        await server.serve_forever()

asyncio.run(main())
