# SPDX-License-Identifier: BSD-2-Clause
# Bodies, media types and the request context ($context of SPEC §4).
use Test::Nginx::Socket 'no_plan';

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<'_EOC_');
>>> data.json
{"key": "data", "nodes": [
  {"key": "r", "type": "response", "config": {"body": "{{ $context.data }}"}}]}
>>> ctx.json
{"key": "ctx", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {
     "method": "{{ $context.method }}", "path": "{{ $context.path }}",
     "query": "{{ $context.query }}", "ip": "{{ $context.ip }}",
     "ua": "{{ $context.headers.user-agent }}",
     "x": "{{ $context.headers.x-multi }}",
     "params": "{{ $context.params }}",
     "workflow": "{{ $context.workflow }}",
     "raw": "{{ $context.rawBody }}"}}}]}
_EOC_
    }

    if (!defined $block->config) {
        $block->set_value("config", <<'_EOC_');
    location = /data {
        webhook_mode sync;
        webhook ../html/data.json;
    }
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n[emerg]");
    }
});

run_tests();

__DATA__

=== TEST 1: JSON body
--- request
POST /data
{"a": [1, 2.5, "x", true, null], "b": {"c": "\u00e9"}}
--- more_headers
Content-Type: application/json
--- response_body chomp
{"a":[1,2.5,"x",true,null],"b":{"c":"\u00e9"}}



=== TEST 2: +json media type with a charset parameter
--- request
POST /data
[1,2,3]
--- more_headers
Content-Type: application/vnd.github+json; charset=UTF-8
--- response_body chomp
[1,2,3]



=== TEST 3: malformed JSON answers 400 with line and column
--- request eval
"POST /data\n{\n  \"a\": 1,\n  \"b\" 2\n}"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":{"code":"invalid_body","message":"invalid JSON: unexpected character '2' at line 3, column 7"}}



=== TEST 4: truncated JSON
--- request
POST /data
{"a": [1, 2
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
^\{"error":\{"code":"invalid_body","message":"invalid JSON: unexpected end of input at line 1, column \d+"\}\}$



=== TEST 5: a body cannot escape its "data" member
--- request
POST /data
null,"ip":"6.6.6.6"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
"code":"invalid_body"



=== TEST 6: form body, repeated names become arrays
--- request
POST /data
a=1&b=hello+world&a=2&c=%C3%A9%2B&d
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body chomp
{"a":["1","2"],"b":"hello world","c":"é+","d":""}



=== TEST 7: broken percent-encoding in a form is 400
--- request
POST /data
a=%zz
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body_like chomp
^\{"error":\{"code":"invalid_body","message":"invalid form body: [^"]+"\}\}$



=== TEST 8: multipart fields and a file
--- request eval
"POST /data\n" .
"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nann\r\n" .
"--XyZ\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\na\r\n" .
"--XyZ\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\nb\r\n" .
"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"hi.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n" .
"--XyZ--\r\n"
--- more_headers
Content-Type: multipart/form-data; boundary=XyZ
--- response_body chomp
{"name":"ann","tag":["a","b"],"f":{"filename":"hi.txt","contentType":"text/plain","size":5,"content":"aGVsbG8="}}



=== TEST 9: multipart without a closing boundary is 400
--- request eval
"POST /data\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n"
--- more_headers
Content-Type: multipart/form-data; boundary=XyZ
--- error_code: 400
--- response_body_like chomp
"code":"invalid_body"



=== TEST 10: multipart without a boundary parameter is 400
--- request
POST /data
x
--- more_headers
Content-Type: multipart/form-data
--- error_code: 400
--- response_body_like chomp
"code":"invalid_body"



=== TEST 11: text body is a string
--- request
POST /data
line one
--- more_headers
Content-Type: text/plain; charset=utf-8
--- response_body chomp
line one



=== TEST 12: an unsupported media type is 415
--- request
POST /data
<a/>
--- more_headers
Content-Type: application/xml
--- error_code: 415
--- response_body_like chomp
^\{"error":\{"code":"unsupported_media_type","message":".*application/xml.*"\}\}$



=== TEST 13: no body gives null data
--- request
POST /data
--- response_body chomp
null



=== TEST 14: a chunked body
--- raw_request eval
"POST /data HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
5\r
{\"a\":\r
3\r
 42\r
1\r
}\r
0\r
\r
"
--- response_body chomp
{"a":42}



=== TEST 15: a body larger than client_body_buffer_size goes through a temp file
--- config
    location = /data {
        client_body_buffer_size 1k;
        webhook_mode sync;
        webhook ../html/data.json;
    }
--- request eval
"POST /data\n{\"big\":\"" . ("x" x 20000) . "\"}"
--- more_headers
Content-Type: application/json
--- response_body eval
"{\"big\":\"" . ("x" x 20000) . "\"}"



=== TEST 16: client_max_body_size still applies (413)
--- config
    location = /data {
        client_max_body_size 10;
        webhook_mode sync;
        webhook ../html/data.json;
    }
--- request
POST /data
{"a": "more than ten bytes"}
--- error_code: 413



=== TEST 17: the request context
--- config
    location ~ ^/ctx/(?<tenant>[a-z]+)$ {
        webhook_mode sync;
        webhook_raw_body on;
        webhook ../html/ctx.json;
    }
--- request
POST /ctx/acme?x=1&y=2&x=3
{"k": 1}
--- more_headers
User-Agent: GitHub-Hookshot/abc
X-Multi: one
X-Multi: two
--- response_body chomp
{"method":"POST","path":"/ctx/acme","query":{"x":["1","3"],"y":"2"},"ip":"127.0.0.1","ua":"GitHub-Hookshot/abc","x":"one, two","params":{"tenant":"acme"},"workflow":"ctx","raw":"{\"k\": 1}"}



=== TEST 18: rawBody is absent unless webhook_raw_body is on
--- config
    location = /ctx {
        webhook_mode sync;
        webhook ../html/ctx.json;
    }
--- request
POST /ctx
{"k": 1}
--- response_body_like chomp
"params":\{\},"workflow":"ctx"\}$



=== TEST 19: receivedAt and id have their formats
--- config
    location = /t {
        webhook_mode sync;
        webhook ../html/t.json;
    }
--- user_files
>>> t.json
{"key": "t", "nodes": [{"key": "r", "type": "response", "config": {"body": {"at": "{{ $context.receivedAt }}", "id": "{{ $context.id }}"}}}]}
--- request
POST /t
{}
--- response_body_like chomp
^\{"at":"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ","id":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$



=== TEST 20: invalid UTF-8 in a JSON string is 400
--- request eval
"POST /data\n{\"a\":\"\xff\xfe\"}"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
"code":"invalid_body"



=== TEST 21: JSON without a Content-Type is taken as JSON
--- request
POST /data
{"a": 1}
--- response_body chomp
{"a":1}
