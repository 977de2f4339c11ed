-- SPDX-License-Identifier: BSD-2-Clause
-- wrk script: the same signed GitHub push event for every request.
-- Environment: BENCH_BODY_FILE (the body), BENCH_SIGNATURE
-- ("sha256=<hex>").  done() prints one machine-readable line for
-- bench/run.

local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-GitHub-Delivery"] = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
wrk.headers["X-GitHub-Hook-ID"] = "292430182"
wrk.headers["X-Hub-Signature-256"] = os.getenv("BENCH_SIGNATURE")

-- wrk fills in the Host header after loading the script: format the
-- request once per thread in init().
local req

init = function(args)
    req = wrk.format()
end

request = function()
    return req
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d "
        .. "p99_us=%d status_errors=%d socket_errors=%d\n",
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout))
end
