# SPDX-License-Identifier: BSD-2-Clause
# webhook_viewer: the HTML page for a browser, JSON reads by ?format=,
# and nothing of it on a webhook_status location.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_') unless $block->user_files;
>>> a.json
{"key": "alpha", "nodes": [{"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
_EOC_

    $block->set_value("config", <<'_EOC_') unless $block->config;
    location = /a {
        webhook_mode sync;
        webhook ../html/a.json;
    }
    location = /viewer {
        webhook_viewer;
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a browser gets the page
--- request
GET /viewer
--- more_headers
Accept: text/html,application/xhtml+xml
--- error_code: 200
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body_like: <title>[^<]*Webhook



=== TEST 2: executions need webhook_redis
--- request
GET /viewer?format=executions
--- error_code: 404
--- response_body_like: "code":"not_found"



=== TEST 3: an unknown format is a 400
--- request
GET /viewer?format=nope
--- error_code: 400
--- response_body_like: "code":"bad_request"



=== TEST 4: workflows without Redis: counters, minutes, the definition
--- pipelined_requests eval
["POST /a\n{}", "GET /viewer?format=workflows"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/ok/, qr/^\[\{"key":"alpha","title":null,"enabled":true,"mode":"sync","revision":"[0-9a-f]{64}","queue":"webhook:jobs","queueDepth":null,"paused":null,"received":1,"outcomes":\{"queued":0,"resolved":1,.*\},"minutes":\[(\{"minute":\d+,"count":0,"p50":null,"p99":null\},){14}\{"minute":\d+,"count":1,"p50":\d+,"p99":\d+\}\],"definition":\{"key":"alpha","nodes":\[\{"key":"r","type":"response",.*\}\]$/]



=== TEST 5: actions are POSTs with the page's token
--- request
POST /viewer?action=replay&request=1
--- error_code: 403
--- response_body_like: "code":"forbidden","message":"missing or wrong X-Webhook-Token



=== TEST 6: an action from another origin is refused
--- request
POST /viewer?action=retry&execution=x
--- more_headers
Origin: http://evil.example
X-Webhook-Token: 00000000000000000000000000000000
--- error_code: 403
--- response_body_like: "the Origin is not the viewer's own"



=== TEST 7: the page carries its token, no framing, no cache
--- request
GET /viewer
--- response_body_like: <meta name="webhook-token" content="[0-9a-f]{32}">
--- response_headers_like
Content-Security-Policy: default-src 'self'.*frame-ancestors 'none'
Cache-Control: no-store



=== TEST 8: workflows while Redis is down: what shared memory knows
--- config
    webhook_redis 127.0.0.1:1;
    location = /a {
        webhook_mode sync;
        webhook ../html/a.json;
    }
    location = /viewer {
        webhook_viewer;
    }
--- request
GET /viewer?format=workflows
--- error_code: 200
--- response_body_like: ^\[\{"key":"alpha",.*"queueDepth":null,"paused":null,"received":0,



=== TEST 9: Origin null (a sandboxed frame) is refused too
--- request
POST /viewer?action=replay&request=1
--- more_headers
Origin: null
--- error_code: 403
--- response_body_like: "the Origin is not the viewer's own"



=== TEST 10: executions while Redis is down: 503 with Retry-After (§5)
--- config
    webhook_redis 127.0.0.1:1;
    location = /viewer {
        webhook_viewer;
    }
--- request
GET /viewer?format=executions
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body_like: ^\{"error":\{"code":"queue_unavailable","message":
