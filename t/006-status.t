# SPDX-License-Identifier: BSD-2-Clause
# webhook_status: counters shared by the worker processes, JSON and
# Prometheus text.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_');
>>> a.json
{"key": "alpha", "nodes": [{"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
>>> b.json
{"key": "beta", "nodes": [{"key": "e", "type": "end", "config": {"endStatus": -1}}]}
_EOC_

    $block->set_value("config", <<'_EOC_');
    location = /a {
        webhook_mode sync;
        webhook_signature gitlab tok;
        webhook ../html/a.json;
    }
    location = /b {
        webhook_mode sync;
        webhook ../html/b.json;
    }
    location = /status {
        webhook_status;
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: JSON counters by outcome
--- request eval
["POST /a\n{}", "POST /b\n{}", "GET /a", "POST /status"]
--- more_headers
X-Gitlab-Token: tok
--- error_code eval
[200, 500, 405, 405]



=== TEST 2: received and outcomes per workflow
--- pipelined_requests eval
["POST /a\n{}", "POST /a\n{}", "POST /b\n{}", "GET /a", "GET /status"]
--- more_headers
X-Gitlab-Token: tok
--- error_code eval
[200, 200, 500, 405, 200]
--- response_body_like eval
[qr/ok/, qr/ok/, qr/workflow_failed/, qr/method_not_allowed/,
 qr/^\{"workflows":\{"alpha":\{"received":3,"outcomes":\{"queued":0,"resolved":2,"failed":0,"duplicate":0,"method_not_allowed":1,.*"latency":\{"buckets":\{"0.001":\d+,.*"\+Inf":3\},"sum":[\d.]+,"count":3\}\},"beta":\{"received":1,"outcomes":\{"queued":0,"resolved":0,"failed":1,/]



=== TEST 3: an invalid signature counts as such
--- pipelined_requests eval
["POST /a\n{}", "GET /status"]
--- more_headers
X-Gitlab-Token: nope
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/invalid_signature/, qr/"alpha":\{"received":1,.*"invalid_signature":1,/]



=== TEST 4: Prometheus text when asked with ?format=prometheus
--- pipelined_requests eval
["POST /a\n{}", "GET /status?format=prometheus"]
--- more_headers
X-Gitlab-Token: tok
--- response_body_like eval
[qr/ok/, qr/^# HELP webhook_received_total .*\n# TYPE webhook_received_total counter\nwebhook_received_total\{workflow="alpha"\} 1\nwebhook_received_total\{workflow="beta"\} 0\n.*webhook_requests_total\{workflow="alpha",outcome="resolved"\} 1\n.*# TYPE webhook_request_duration_seconds histogram\n.*webhook_request_duration_seconds_bucket\{workflow="alpha",le="\+Inf"\} 1\nwebhook_request_duration_seconds_sum\{workflow="alpha"\} [\d.]+\nwebhook_request_duration_seconds_count\{workflow="alpha"\} 1\n/s]



=== TEST 5: Prometheus text for a scraper's Accept header
--- request
GET /status
--- more_headers
Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like chomp
^# HELP webhook_received_total



=== TEST 5: counters only: no viewer page, no executions
--- pipelined_requests eval
["GET /status?format=executions", "GET /status?execution=x", "GET /status"]
--- more_headers
Accept: text/html
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"workflows":\{"alpha"/, qr/^\{"workflows":\{"alpha"/,
 qr/^\{"workflows":\{"alpha"/]
