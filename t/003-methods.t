# SPDX-License-Identifier: BSD-2-Clause
# webhook_methods: 405 with Allow for anything else.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: POST only by default
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "m", "nodes": [{"key": "r", "type": "response", "config": {"body": "{{ $context.method }}"}}]}
--- request
GET /hook
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body chomp
{"error":{"code":"method_not_allowed","message":"method GET is not allowed here"}}



=== TEST 2: webhook_methods lists the allowed methods
--- config
    location = /hook {
        webhook_mode sync;
        webhook_methods GET PUT;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "m", "nodes": [{"key": "r", "type": "response", "config": {"body": "{{ $context.method }}"}}]}
--- request
PUT /hook
{}
--- response_body chomp
PUT



=== TEST 3: the Allow header lists them
--- config
    location = /hook {
        webhook_mode sync;
        webhook_methods GET PUT;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "m", "nodes": [{"key": "r", "type": "response", "config": {"body": "{{ $context.method }}"}}]}
--- request
POST /hook
{}
--- error_code: 405
--- response_headers
Allow: GET, PUT



=== TEST 4: methods are inherited from the server level
--- config
    webhook_methods PATCH DELETE;
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "m", "nodes": [{"key": "r", "type": "response", "config": {"body": "{{ $context.method }}"}}]}
--- request
DELETE /hook
--- response_body chomp
DELETE



=== TEST 5: GET with a query string
--- config
    location = /hook {
        webhook_mode sync;
        webhook_methods GET;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "m", "nodes": [{"key": "r", "type": "response", "config": {"body": {"q": "{{ $context.query.q }}", "d": "{{ $context.data }}"}}}]}
--- request
GET /hook?q=a%20b
--- response_body chomp
{"q":"a b","d":null}



=== TEST 6: an unknown method name is a configuration error
--- config
    location = /hook {
        webhook_methods POST TRACE;
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "m", "nodes": []}
--- request
GET /
--- must_die
--- error_log
invalid value "TRACE"
