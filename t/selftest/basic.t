# SPDX-License-Identifier: BSD-2-Clause
# Self-test of t/lib/Test/Nginx (the stand-in for openresty's test-nginx),
# run against stock nginx with no extra modules.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: more_headers reach nginx
--- config
    location = /t {
        return 200 "foo=$http_x_foo bar=$http_x_bar\n";
    }
--- request
GET /t
--- more_headers
X-Foo: one
X-Bar: two
--- response_body
foo=one bar=two
--- no_error_log
[error]



=== TEST 2: error_code and response_body_like
--- config
--- request
GET /nowhere
--- error_code: 404
--- response_body_like: <title>404 Not Found</title>.*nginx
--- error_log
open() "
No such file or directory



=== TEST 3: response_headers, absent headers and _like
--- config
    location = /t {
        add_header X-A "a 1";
        add_header X-B b;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
X-A: a 1
X-B: b
Content-Type: text/plain
Content-Length: 3
!X-Missing
!Location
--- response_body
ok



=== TEST 4: response_headers_like
--- config
    location = /t {
        add_header X-Num 12345;
        return 204;
    }
--- request
GET /t
--- error_code: 204
--- response_headers_like
X-Num: \d+
Server: nginx.*
--- response_body



=== TEST 5: error_log at info level via eval (array of qr and string)
--- config
    location = /t {
        error_log logs/error.log info;
        return 200;
    }
--- raw_request eval
"FOO\@ / HTTP/1.1\r\nHost: localhost\r\n\r\n"
--- error_code: 400
--- response_body_like: 400 Bad Request
--- error_log eval
[qr/\[info\] .*client sent invalid method/,
 "while reading client request line"]
--- no_error_log eval
qr/\[(?:error|crit|alert|emerg)\]/



=== TEST 6: user_files served from html/
--- config
--- user_files
>>> hello.txt
Hello, world.
>>> sub/dir/page.html
<p>page</p>
--- request
GET /sub/dir/page.html
--- response_headers
Content-Type: text/html
--- response_body
<p>page</p>



=== TEST 7: user_files with a modification date
--- config
--- user_files
>>> dated.txt 201501020304.05
dated
--- request
GET /dated.txt
--- response_headers
Last-Modified: Fri, 02 Jan 2015 03:04:05 GMT
--- response_body
dated



=== TEST 8: pipelined requests, one response per request
--- config
    location = /a { return 200 "A\n"; }
    location = /b { return 201 "B\n"; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["A\n", "B\n"]



=== TEST 9: must_die with a bad directive
--- config
    no_such_directive_here on;
--- must_die
--- suppress_stderr
--- error_log
unknown directive "no_such_directive_here"
[emerg]



=== TEST 10: raw_request is sent byte for byte
--- config
    location = /t {
        return 200 "$server_protocol $http_host $request_method\n";
    }
--- raw_request eval
"GET /t HTTP/1.0\r\nHost: raw.example\r\n\r\n"
--- response_body
HTTP/1.0 raw.example GET



=== TEST 11: POST body gets a Content-Length over the trimmed body
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length $request_method\n";
    }
--- request
POST /t
hello world
--- response_body
len=11 POST



=== TEST 12: chunked request body from a pre-chunked raw body
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length te=$http_transfer_encoding\n";
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /t\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
--- response_body
len=11 te=



=== TEST 13: raw_request with a chunked body
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length\n";
    }
--- raw_request eval
"POST /t HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: chunked\r
\r
3\r
abc\r
0\r
\r
"
--- response_body
len=3



=== TEST 14: http_config, main_config and config eval
--- main_config
worker_rlimit_nofile 1024;
--- http_config
    map $uri $selftest_mapped {
        default "mapped";
    }
--- config eval
"location = /t { return 200 \"\$selftest_mapped\\n\"; }"
--- request
GET /t
--- response_body
mapped



=== TEST 15: chunked response (SSI drops Content-Length); eval regex body
--- config
    location /ssi/ {
        ssi on;
    }
--- user_files
>>> ssi/page.html
a<!--# echo var="uri" -->b
--- request
GET /ssi/page.html
--- raw_response_headers_like: Transfer-Encoding: chunked\r\n
--- response_body eval
qr{\Aa/ssi/page\.htmlb\n\z}



=== TEST 16: request with an explicit HTTP version, HEAD
--- config
    location = /t {
        return 200 "never sent for HEAD\n";
    }
--- request
HEAD /t HTTP/1.0
--- response_headers
Content-Length: 20
--- response_body



=== TEST 17: abort and timeout: nginx waits for a body that never comes
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo { return 200; }
--- raw_request eval
"POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nab"
--- timeout: 200ms
--- abort
--- ignore_response
--- wait: 0.05
--- no_error_log
[error]



=== TEST 18: multiple requests in one block
--- config
    location = /a { return 200 "A\n"; }
    location = /b { return 403; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 403]
--- response_body_like eval
["^A\$", "403 Forbidden"]



=== TEST 19: request_eval and response_body_eval (deprecated forms)
--- config
    location = /t { return 200 "ok $arg_a\n"; }
--- request_eval
"GET /t?a=" . (40 + 2)
--- response_body_eval
"ok " . 42 . "\n"



=== TEST 20: more_headers eval: one set of headers per request
--- config
    location = /t { return 200 "h=$http_x_h\n"; }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-H: first", "X-H: second"]
--- response_body eval
["h=first\n", "h=second\n"]



=== TEST 21: a block without config runs against the previous nginx
--- request
GET /t
--- response_body
h=
