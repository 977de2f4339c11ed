# SPDX-License-Identifier: BSD-2-Clause
# Sync workflows run inside nginx: inline nodes and the answers of SPEC §4/§5.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a response node answers with status, headers and typed body
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "echo", "nodes": [
  {"key": "r", "type": "response", "config": {
     "statusCode": 201,
     "headers": [{"name": "X-Ref", "value": "{{ $context.data.ref }}"}],
     "body": {"ref": "{{ $context.data.ref }}", "n": "{{ $context.data.n }}",
              "text": "n={{ $context.data.n }}", "obj": "{{ $context.data.o }}",
              "workflow": "{{ $context.workflow }}"}}}]}
--- request
POST /hook
{"ref": "refs/heads/main", "n": 42, "o": {"a": [1, 2]}}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_headers
X-Ref: refs/heads/main
Content-Type: application/json
--- response_body chomp
{"ref":"refs/heads/main","n":42,"text":"n=42","obj":{"a":[1,2]},"workflow":"echo"}
--- no_error_log
[alert]
[error]



=== TEST 2: condition with branches picks the true branch
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "github-push", "nodes": [
  {"key": "branch", "type": "calculation",
   "config": {"engine": "string", "expression": "{{ $context.data.ref }}"}},
  {"key": "is_main", "type": "condition",
   "config": {"calculation": {"group": {"type": "and", "calculations": [
       {"calculator": "equal", "operands": ["{{ $nodes.branch }}", "refs/heads/main"]}]}}},
   "branches": {
     "true": [{"key": "yes", "type": "response", "config": {"statusCode": 200, "body": {"deploy": true, "branch": "{{ $nodes.branch }}"}}}],
     "false": [{"key": "no", "type": "response", "config": {"statusCode": 200, "body": {"deploy": false}}}]}}]}
--- request
POST /hook
{"ref": "refs/heads/main"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"deploy":true,"branch":"refs/heads/main"}



=== TEST 3: condition with branches picks the false branch
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "github-push", "nodes": [
  {"key": "is_main", "type": "condition",
   "config": {"calculation": {"calculator": "equal", "operands": ["{{ $context.data.ref }}", "refs/heads/main"]}},
   "branches": {
     "true": [{"key": "yes", "type": "response", "config": {"body": {"deploy": true}}}],
     "false": [{"key": "no", "type": "response", "config": {"statusCode": 202, "body": {"deploy": false}}}]}}]}
--- request
POST /hook
{"ref": "refs/heads/dev"}
--- error_code: 202
--- response_body chomp
{"deploy":false}



=== TEST 4: without a response node a resolved run answers 200 resolved
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
        add_header X-Id $webhook_execution_id always;
    }
--- user_files
>>> wf.json
{"key": "quiet", "nodes": [
  {"key": "v", "type": "set", "config": {"values": {"a": "{{ $context.data.a }}"}}}]}
--- request
POST /hook
{"a": 1}
--- error_code: 200
--- response_headers_like
X-Id: [0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}
Content-Type: application/json
--- response_body_like chomp
^\{"executionId":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","status":"resolved"\}$



=== TEST 5: rejectOnFalse ends the run failed: 500 workflow_failed
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "gate", "nodes": [
  {"key": "c", "type": "condition",
   "config": {"calculation": {"calculator": "gt", "operands": ["{{ $context.data.amount }}", 100]}}},
  {"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
--- request
POST /hook
{"amount": 99}
--- error_code: 500
--- response_headers
Content-Type: application/json
X-Status: failed
--- response_body_like chomp
^\{"error":\{"code":"workflow_failed","message":".*"\}\}$



=== TEST 6: rejectOnFalse passes when true
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "gate", "nodes": [
  {"key": "c", "type": "condition",
   "config": {"calculation": {"calculator": "gt", "operands": ["{{ $context.data.amount }}", 100]}}},
  {"key": "r", "type": "response", "config": {"body": {"ok": "{{ $nodes.c }}"}}}]}
--- request
POST /hook
{"amount": "150"}
--- error_code: 200
--- response_body chomp
{"ok":true}



=== TEST 7: rejectOnFalse false continues
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "gate", "nodes": [
  {"key": "c", "type": "condition", "config": {"rejectOnFalse": false,
   "calculation": {"calculator": "gt", "operands": ["{{ $context.data.amount }}", 100]}}},
  {"key": "r", "type": "response", "config": {"body": {"passed": "{{ $nodes.c }}"}}}]}
--- request
POST /hook
{"amount": 5}
--- error_code: 200
--- response_body chomp
{"passed":false}



=== TEST 8: end node with endStatus -1 fails the run
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "stop", "nodes": [
  {"key": "e", "type": "end", "config": {"endStatus": -1}},
  {"key": "r", "type": "response", "config": {"body": {"unreachable": true}}}]}
--- request
POST /hook
{}
--- error_code: 500
--- response_body_like chomp
"code":"workflow_failed"



=== TEST 9: end node with endStatus 1 resolves the run
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "stop", "nodes": [
  {"key": "e", "type": "end", "config": {"endStatus": 1}},
  {"key": "r", "type": "response", "config": {"body": {"unreachable": true}}}]}
--- request
POST /hook
{}
--- error_code: 200
--- response_body_like chomp
"status":"resolved"



=== TEST 10: math calculation, string calculation and set
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "calc", "nodes": [
  {"key": "total", "type": "calculation",
   "config": {"engine": "math", "expression": "{{ $context.data.price }} * {{ $context.data.qty }} + 1"}},
  {"key": "name", "type": "calculation",
   "config": {"engine": "math", "expression": "upper({{ $context.data.name }}) + '!'"}},
  {"key": "greet", "type": "calculation",
   "config": {"engine": "string", "expression": "Hello {{ $context.data.name }}, {{ $nodes.total }}"}},
  {"key": "s", "type": "set", "config": {"values": {"t": "{{ $nodes.total }}", "g": "{{ $nodes.greet }}"}}},
  {"key": "r", "type": "response", "config": {"body": {"total": "{{ $nodes.total }}", "name": "{{ $nodes.name }}", "set": "{{ $nodes.s }}"}}}]}
--- request
POST /hook
{"price": 2.5, "qty": 4, "name": "ann"}
--- error_code: 200
--- response_body chomp
{"total":11,"name":"ANN!","set":{"t":11,"g":"Hello ann, 11"}}



=== TEST 11: a string body is sent as text
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "text", "nodes": [
  {"key": "r", "type": "response", "config": {"statusCode": 200, "body": "hello {{ $context.data.who }}"}}]}
--- request
POST /hook
{"who": "world"}
--- response_headers
Content-Type: text/plain; charset=utf-8
--- response_body chomp
hello world



=== TEST 12: a response header may set Content-Type
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "xml", "nodes": [
  {"key": "r", "type": "response", "config": {"statusCode": 200,
    "headers": [{"name": "Content-Type", "value": "application/xml"}],
    "body": "<ok/>"}}]}
--- request
POST /hook
{}
--- response_headers
Content-Type: application/xml
--- response_body chomp
<ok/>



=== TEST 13: nested groups with or/and
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "groups", "nodes": [
  {"key": "c", "type": "condition", "config": {"calculation": {"group": {"type": "or", "calculations": [
      {"calculator": "equal", "operands": ["{{ $context.data.a }}", "x"]},
      {"group": {"type": "and", "calculations": [
          {"calculator": "startsWith", "operands": ["{{ $context.data.b }}", "pre"]},
          {"calculator": "in", "operands": ["{{ $context.data.c }}", [1, 2, 3]]}]}}]}}},
   "branches": {"true": [{"key": "t", "type": "response", "config": {"body": "T"}}],
                "false": [{"key": "f", "type": "response", "config": {"body": "F"}}]}}]}
--- request
POST /hook
{"a": "y", "b": "prefix", "c": 2}
--- response_body chomp
T



=== TEST 14: nested groups evaluate to false
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "groups", "nodes": [
  {"key": "c", "type": "condition", "config": {"calculation": {"group": {"type": "or", "calculations": [
      {"calculator": "equal", "operands": ["{{ $context.data.a }}", "x"]},
      {"group": {"type": "and", "calculations": [
          {"calculator": "startsWith", "operands": ["{{ $context.data.b }}", "pre"]},
          {"calculator": "in", "operands": ["{{ $context.data.c }}", [1, 2, 3]]}]}}]}}},
   "branches": {"true": [{"key": "t", "type": "response", "config": {"body": "T"}}],
                "false": [{"key": "f", "type": "response", "config": {"body": "F"}}]}}]}
--- request
POST /hook
{"a": "y", "b": "prefix", "c": 7}
--- response_body chomp
F



=== TEST 15: a disabled workflow answers 503 workflow_disabled
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "off", "enabled": false, "nodes": []}
--- request
POST /hook
{}
--- error_code: 503
--- response_body chomp
{"error":{"code":"workflow_disabled","message":"workflow \"off\" is disabled"}}



=== TEST 16: $webhook_* variables in the access log
--- http_config
    log_format hooks 'wh $webhook_workflow $webhook_status $webhook_execution_id';
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
        access_log logs/hooks.log hooks;
    }
    location = /log {
        alias logs/hooks.log;
    }
--- user_files
>>> wf.json
{"key": "logged", "nodes": [{"key": "r", "type": "response", "config": {"body": {}}}]}
--- request eval
["POST /hook\n{}", "GET /log"]
--- response_body_like eval
[qr/^\{\}$/, qr/^wh logged resolved [0-9a-f-]{36}\n$/]



=== TEST 17: a node error answers workflow_failed with the node named
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "div", "nodes": [
  {"key": "q", "type": "calculation", "config": {"engine": "math", "expression": "1 / {{ $context.data.d }}"}}]}
--- request
POST /hook
{"d": 0}
--- error_code: 500
--- response_body_like chomp
^\{"error":\{"code":"workflow_failed","message":"node \\"q\\": [^"]+"\}\}$
--- no_error_log
[alert]
