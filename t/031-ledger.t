# SPDX-License-Identifier: BSD-2-Clause
# webhook_ledger: every request to a webhook location, whatever its
# outcome, in shared memory; redacted headers; the body cut at
# webhook_ledger_body; read through webhook_viewer.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_') unless $block->user_files;
>>> a.json
{"key": "alpha", "nodes": [{"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
>>> b.json
{"key": "beta", "nodes": [{"key": "e", "type": "end", "config": {"endStatus": 1}}]}
_EOC_

    $block->set_value("http_config", "webhook_ledger 1m;")
        unless defined $block->http_config;

    $block->set_value("config", <<'_EOC_') unless $block->config;
    location = /a {
        webhook_mode sync;
        webhook_signature gitlab tok;
        webhook ../html/a.json;
    }
    location = /b {
        webhook_mode sync;
        webhook_ledger_body 4;
        webhook ../html/b.json;
    }
    location = /denied {
        deny all;
        webhook_mode sync;
        webhook ../html/b.json;
    }
    location = /viewer {
        webhook_viewer;
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a refused signature is kept with its outcome and message
--- pipelined_requests eval
["POST /a\n{\"x\":1}", "GET /viewer?format=requests"]
--- more_headers
X-Gitlab-Token: wrong
Content-Type: application/json
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/invalid_signature/,
 qr/^\[\{"id":1,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","workflow":"alpha","method":"POST","uri":"\/a","client":"127\.0\.0\.1","status":401,"outcome":"invalid_signature","message":"[^"]+","executionId":null,"bodySize":7\}\]$/]



=== TEST 2: a request opened whole: headers redacted, the body as text
--- pipelined_requests eval
["POST /a?q=1\n{\"x\":1}", "GET /viewer?request=1"]
--- more_headers
X-Gitlab-Token: tok
Authorization: Bearer s3cr3t
Cookie: c=s3cr3t
X-Other: visible
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/ok/,
 qr/^\{"id":1,.*"uri":"\/a\?q=1",.*"status":200,"outcome":"resolved","message":null,"executionId":"[0-9a-f-]{36}","bodySize":7,"headers":\{.*"x-gitlab-token":"\[redacted\]".*\},"params":\{\},"body":"\{\\"x\\":1\}","bodyTruncated":false\}$/]
--- response_body_unlike eval
[qr/s3cr3t|"tok"/, qr/s3cr3t|"tok"/]



=== TEST 3: no secret of the request in the entry
--- pipelined_requests eval
["POST /a\n{}", "GET /viewer?request=1"]
--- more_headers
X-Gitlab-Token: tok
Authorization: Bearer s3cr3t
Cookie: c=s3cr3t
X-Api-Key: s3cr3t
X-Other: visible
--- response_body_like eval
[qr/ok/, qr/"authorization":"\[redacted\]".*"cookie":"\[redacted\]".*"x-api-key":"\[redacted\]".*"x-other":"visible"/]



=== TEST 4: webhook_ledger_body cuts the body; a 415 is kept too
--- pipelined_requests eval
["POST /b\nhello world", "GET /viewer?format=requests&workflow=beta"]
--- more_headers
Content-Type: application/octet-stream
--- error_code eval
[415, 200]
--- response_body_like eval
[qr/unsupported_media_type/,
 qr/^\[\{"id":1,.*"status":415,"outcome":"unsupported_media_type","message":"unsupported Content-Type .*","executionId":null,"bodySize":11\}\]$/]



=== TEST 5: the cut body, and a binary one as base64
--- pipelined_requests eval
["POST /b\nhello world", "POST /b\n\xff\xfe\x00\x01\x02", "GET /viewer?request=1", "GET /viewer?request=2"]
--- more_headers
Content-Type: application/octet-stream
--- error_code eval
[415, 415, 200, 200]
--- response_body_like eval
[qr/unsupported/, qr/unsupported/,
 qr/"body":"hell","bodyTruncated":true\}$/,
 qr/"body":null,"bodyBase64":"\/\/4AAQ==","bodyTruncated":true\}$/]



=== TEST 6: answers nginx made (deny) are kept as http_403
--- pipelined_requests eval
["POST /denied\n{}", "GET /viewer?format=requests"]
--- error_code eval
[403, 200]
--- response_body_like eval
[qr/403/, qr/^\[\{"id":1,.*"workflow":"beta",.*"status":403,"outcome":"http_403","message":null,/]



=== TEST 7: newest first; filters by workflow and outcome; limit
--- pipelined_requests eval
["POST /a\n{}", "POST /b\n", "POST /a\n{}", "GET /a",
 "GET /viewer?format=requests&workflow=alpha&limit=2",
 "GET /viewer?format=requests&outcome=method_not_allowed",
 "GET /viewer?format=requests&outcome=resolved&workflow=beta",
 "GET /viewer?format=requests&workflow=gamma"]
--- more_headers
X-Gitlab-Token: tok
--- error_code eval
[200, 200, 200, 405, 200, 200, 200, 200]
--- response_body_like eval
[qr/ok/, qr/resolved/, qr/ok/, qr/method_not_allowed/,
 qr/^\[\{"id":4,[^\]]*"method":"GET".*\},\{"id":3,[^\]]*\}\]$/,
 qr/^\[\{"id":4,[^\]]*\}\]$/,
 qr/^\[\{"id":2,"time":"[^"]+","workflow":"beta",[^\]]*\}\]$/,
 qr/^\[\]$/]



=== TEST 8: an unknown id is a 404
--- request
GET /viewer?request=99
--- error_code: 404
--- response_body_like: "code":"not_found","message":"no such request"



=== TEST 9: without webhook_ledger the viewer says so
--- http_config
--- request
GET /viewer?format=requests
--- error_code: 404
--- response_body_like: webhook_ledger is off



=== TEST 10: oldest leave first when the ring is full
--- http_config
webhook_ledger 32k;
--- config
    location = /b {
        webhook_mode sync;
        webhook ../html/b.json;
    }
    location = /viewer {
        webhook_viewer;
    }
--- pipelined_requests eval
[(map { "POST /b\n" . ("x" x 1000) } 1..60), "GET /viewer?format=requests&limit=1000"]
--- error_code eval
[(map { 400 } 1..60), 200]
--- response_body_like eval
[(map { qr/invalid_body/ } 1..60),
 qr/^\[\{"id":60,.*\{"id":(\d+),[^\]]*\}\]$(??{ $1 > 1 ? "" : "(*FAIL)" })/s]



=== TEST 11: a zone below 32k is refused
--- http_config
webhook_ledger 1k;
--- must_die
--- error_log
invalid ledger size "1k"



=== TEST 12: hostile reads answer 404/400 and the worker survives
--- pipelined_requests eval
["GET /viewer?request=-1", "GET /viewer?request=99999999999999999999999",
 "GET /viewer?request=abc", "GET /viewer?format=requests&limit=99999999",
 "GET /viewer?format=requests&workflow=%ZZ%00&outcome=%FF",
 "POST /viewer?action=nope", "GET /viewer?action=replay&request=1",
 "GET /viewer?format=requests"]
--- error_code eval
[404, 404, 404, 200, 200, 403, 405, 200]
--- response_body_like eval
[qr/not_found/, qr/not_found/, qr/not_found/, qr/^\[\]$/, qr/^\[\]$/,
 qr/forbidden/, qr/method_not_allowed/, qr/^\[\]$/]
--- no_error_log
[alert]
[crit]



=== TEST 13: a body cut inside a UTF-8 character keeps the whole ones
--- config
    location = /b {
        webhook_mode sync;
        webhook_ledger_body 2;
        webhook ../html/b.json;
    }
    location = /viewer {
        webhook_viewer;
    }
--- pipelined_requests eval
["POST /b\nh\xc3\xa9llo", "GET /viewer?request=1"]
--- more_headers
Content-Type: text/plain
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/resolved/, qr/"bodySize":6,.*"body":"h","bodyTruncated":true\}$/]



=== TEST 14: many headers and a large body stay within the ring
--- http_config
webhook_ledger 32k;
--- config
    location = /b {
        webhook_mode sync;
        webhook ../html/b.json;
    }
    location = /viewer {
        webhook_viewer;
    }
--- more_headers eval
CORE::join "", map { "X-H$_: " . ("v" x 100) . "\n" } 1..80
--- pipelined_requests eval
["POST /b\n" . ("y" x 30000), "GET /viewer?request=1"]
--- error_code eval
[400, 200]
--- response_body_like eval
[qr/invalid_body/, qr/"bodySize":30000,"headers":null,"params":\{\},"body":null,"bodyTruncated":true\}$/]



=== TEST 15: a long URI is kept in part, in a small ring too
--- http_config
webhook_ledger 32k;
--- config
    large_client_header_buffers 4 16k;
    location /b {
        webhook_mode sync;
        webhook ../html/b.json;
    }
    location = /viewer {
        webhook_viewer;
    }
--- pipelined_requests eval
["POST /b?" . ("%01" x 4000) . "\n{}", "POST /b?x\n{}", "GET /viewer?format=requests"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/resolved/, qr/resolved/,
 qr/^\[\{"id":2,"time":"[^"]+","workflow":"beta","method":"POST","uri":"\/b\?x",.*\},\{"id":1,.*"uri":"\/b\?(%01){681}%0",/]
--- no_error_log
[alert]



=== TEST 16: repeated headers are joined in order; hundreds of headers
--- http_config
webhook_ledger 1m;
large_client_header_buffers 32 16k;
--- config
    location = /b {
        webhook_mode sync;
        webhook ../html/b.json;
    }
    location = /viewer {
        webhook_viewer;
    }
--- more_headers eval
"X-Dup: one\nX-Other: o\nx-dup: two\nX-DUP: three\n"
. CORE::join("", map { "H$_: v\n" } 1..400)
--- pipelined_requests eval
["POST /b\n{}", "GET /viewer?request=1"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/resolved/, qr/"headers":\{"host":"localhost",.*"x-dup":"one, two, three","x-other":"o","h1":"v",.*"h400":"v"/]
--- no_error_log
[alert]
