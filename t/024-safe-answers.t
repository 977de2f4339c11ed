# SPDX-License-Identifier: BSD-2-Clause
# Answers (SPEC §7): "X-Content-Type-Options: nosniff" on every answer the
# module makes (errors, sync responses, acknowledgements, duplicates,
# status); a Content-Type rendered from request data must be a media
# type, else the response node fails; a failed sync run's body names the
# node and the kind of failure, never a URL, host, address or port.
# Against a real redis-server and build/webhook-worker (make worker).
use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use WebhookRedis;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
$ENV{TEST_NGINX_REFUSED_PORT} = free_port();    # nobody listens there

redis_start();
worker_start();

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_');
>>> typed.json
{"key": "typed", "nodes": [{"key": "r", "type": "response", "config": {
  "headers": [{"name": "Content-Type", "value": "{{ $context.data.t }}"},
              {"name": "X-Content-Type-Options", "value": "sniff"}],
  "body": "{{ $context.data.b }}"}}]}
>>> fail.json
{"key": "fail", "nodes": [{"key": "no", "type": "end", "config": {"endStatus": -1}}]}
>>> ack.json
{"key": "ack", "nodes": [{"key": "s", "type": "set", "config": {"values": {"a": 1}}}]}
>>> refused.json
{"key": "refused", "nodes": [
  {"key": "req", "type": "request", "config": {"method": "GET",
   "url": "http://127.0.0.1:$TEST_NGINX_REFUSED_PORT/internal-admin"}},
  {"key": "r", "type": "response", "config": {"body": "unreachable"}}]}
>>> notfound.json
{"key": "notfound", "nodes": [
  {"key": "req", "type": "request", "config": {"method": "GET",
   "url": "http://127.0.0.1:$TEST_NGINX_SERVER_PORT/missing-page"}},
  {"key": "r", "type": "response", "config": {"body": "unreachable"}}]}
_EOC_

    my $files = $block->user_files;
    $files =~ s/\$TEST_NGINX_REFUSED_PORT/$ENV{TEST_NGINX_REFUSED_PORT}/g;
    my $port = Test::Nginx::Util::server_port();
    $files =~ s/\$TEST_NGINX_SERVER_PORT/$port/g;
    $block->set_value("user_files", $files);

    $block->set_value("config", <<'_EOC_');
    location = /typed { webhook_mode sync; webhook ../html/typed.json; }
    location = /fail { webhook_mode sync; webhook ../html/fail.json; }
    location = /signed {
        webhook_mode sync;
        webhook_signature gitlab tok;
        webhook ../html/fail.json;
    }
    location = /ack {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        webhook ../html/ack.json;
    }
    location = /refused {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/refused.json;
    }
    location = /notfound {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/notfound.json;
    }
    location = /status { webhook_status; }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a sync response: nosniff, the workflow's own value dropped
--- request
POST /typed
{"t": "application/json; charset=utf-8", "b": "{\"a\":1}"}
--- error_code: 200
--- raw_response_headers_like chomp
(?is)^(?!.*: sniff\r\n).*X-Content-Type-Options: nosniff\r\n
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"a":1}
--- no_error_log
[alert]



=== TEST 2: a Content-Type from request data that is no media type: the node fails
--- request
POST /typed
{"t": "text/html<script>alert(1)</script>", "b": "<script>alert(1)</script>"}
--- error_code: 500
--- response_headers
Content-Type: application/json
X-Content-Type-Options: nosniff
--- response_body chomp
{"error":{"code":"workflow_failed","message":"node \"r\": \"Content-Type\" is not a media type"}}
--- no_error_log
[alert]



=== TEST 3: a list of types is no media type either
--- request
POST /typed
{"t": "text/plain, text/html", "b": "x"}
--- error_code: 500
--- response_body_like chomp
"code":"workflow_failed"



=== TEST 4: errors: 405
--- request
GET /fail
--- error_code: 405
--- response_headers
X-Content-Type-Options: nosniff



=== TEST 5: errors: 400 invalid_body
--- request
POST /fail
{"a":
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
X-Content-Type-Options: nosniff



=== TEST 6: errors: 401 missing_signature
--- request
POST /signed
{}
--- error_code: 401
--- response_headers
X-Content-Type-Options: nosniff



=== TEST 7: a failed sync run: 500 workflow_failed with nosniff
--- request
POST /fail
{}
--- error_code: 500
--- response_headers
X-Content-Type-Options: nosniff



=== TEST 8: the async acknowledgement and the duplicate
--- request eval
["POST /ack\n{}", "POST /ack\n{}"]
--- more_headers
X-Delivery: d-1
--- error_code eval
[202, 200]
--- response_headers eval
["X-Content-Type-Options: nosniff", "X-Content-Type-Options: nosniff"]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"duplicate"/]



=== TEST 9: status, JSON and Prometheus
--- request eval
["GET /status", "GET /status?format=prometheus"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Content-Type-Options: nosniff", "X-Content-Type-Options: nosniff"]



=== TEST 10: a worker node's connection error: the node and the kind, no address, port or path
--- request
POST /refused
{}
--- error_code: 500
--- response_headers
X-Content-Type-Options: nosniff
--- response_body chomp
{"error":{"code":"workflow_failed","message":"node \"req\": request failed"}}
--- no_error_log
[alert]



=== TEST 11: an HTTP error status of a request node is a kind, the URL is not shown
--- request
POST /notfound
{}
--- error_code: 500
--- response_body chomp
{"error":{"code":"workflow_failed","message":"node \"req\": request failed: HTTP status 404"}}
