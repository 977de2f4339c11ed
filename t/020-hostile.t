# SPDX-License-Identifier: BSD-2-Clause
# Hostile request bodies, query strings and headers against sync workflows.
# Every block checks the exact answer and that nginx logged no [alert],
# [crit] or [emerg]; the block after it proves the server still answers.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<'_EOC_');
>>> data.json
{"key": "data", "nodes": [
  {"key": "r", "type": "response", "config": {"body": "{{ $context.data }}"}}]}
>>> quiet.json
{"key": "quiet", "nodes": [
  {"key": "v", "type": "set", "config": {"values": {"x": "ignored"}}},
  {"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
>>> len.json
{"key": "len", "nodes": [
  {"key": "len", "type": "calculation",
   "config": {"engine": "math", "expression": "len({{ $context.data.s }})"}},
  {"key": "r", "type": "response", "config": {"body": {
     "a": "{{ $context.data.a }}", "s": "{{ $context.data.s }}",
     "len": "{{ $nodes.len }}"}}}]}
>>> pick.json
{"key": "pick", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {
     "a": "{{ $context.data.a }}", "n": "{{ $context.data.n }}",
     "last": "{{ $context.data.f19999 }}",
     "q": "{{ $context.query.q }}",
     "h": "{{ $context.headers.x-h-989 }}",
     "r": "{{ $context.headers.x-r }}"}}}]}
_EOC_
    }

    if (!defined $block->config) {
        $block->set_value("config", <<'_EOC_');
    location = /data {
        webhook_mode sync;
        webhook ../html/data.json;
    }
    location = /quiet {
        webhook_mode sync;
        webhook ../html/quiet.json;
    }
    location = /pick {
        webhook_mode sync;
        webhook ../html/pick.json;
    }
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n[emerg]");
    }
});

# Builders shared by the blocks' eval sections.
our $MP_CT = "Content-Type: multipart/form-data; boundary=XyZ";

sub mp_parts {
    my ($n, $name) = @_;
    return CORE::join('', map {
        "--XyZ\r\nContent-Disposition: form-data; name=\""
        . ($name // "p$_") . "\"\r\n\r\n$_\r\n"
    } 0 .. $n - 1) . "--XyZ--\r\n";
}

sub many_fields { join '&', map { "f$_=$_" } 0 .. $_[0] - 1 }

sub many_fields_json {
    '{' . CORE::join(',', map { "\"f$_\":\"$_\"" } 0 .. $_[0] - 1) . '}';
}

run_tests();

__DATA__

=== TEST 1: JSON nested 100000 deep is 400, even when the workflow ignores data
--- request eval
"POST /quiet\n" . ("[" x 100000)
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":{"code":"invalid_body","message":"invalid JSON: nesting too deep at line 1, column 256"}}



=== TEST 2: objects nested 100000 deep are 400 too
--- request eval
"POST /data\n" . ('{"a":' x 100000)
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":{"code":"invalid_body","message":"invalid JSON: nesting too deep at line 1, column 1276"}}



=== TEST 3: nesting 255 deep is accepted and echoed
--- request eval
"POST /data\n" . ("[" x 255) . ("]" x 255)
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body eval
("[" x 255) . ("]" x 255)



=== TEST 4: a number with 10000 digits is accepted and echoed exactly
--- request eval
"POST /pick\n{\"n\": -" . ("9" x 10000) . ".5e-99999}"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body eval
"{\"n\":-" . ("9" x 10000) . ".5e-99999}"



=== TEST 5: invalid UTF-8 inside strings is 400 (each kind)
--- request eval
[
"POST /data\n\"\xff\"",
"POST /data\n\"\xc0\x80\"",
"POST /data\n\"\xed\xa0\x80\"",
"POST /data\n\"ab\xe2\x82\"",
"POST /data\n\"\xf4\x90\x80\x80\"",
"POST /data\n{\"k\xfe\":1}",
]
--- more_headers eval
[("Content-Type: application/json") x 6]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body eval
[
'{"error":{"code":"invalid_body","message":"invalid JSON: invalid UTF-8 at line 1, column 2"}}',
'{"error":{"code":"invalid_body","message":"invalid JSON: invalid UTF-8 at line 1, column 2"}}',
'{"error":{"code":"invalid_body","message":"invalid JSON: invalid UTF-8 at line 1, column 2"}}',
'{"error":{"code":"invalid_body","message":"invalid JSON: invalid UTF-8 at line 1, column 4"}}',
'{"error":{"code":"invalid_body","message":"invalid JSON: invalid UTF-8 at line 1, column 2"}}',
'{"error":{"code":"invalid_body","message":"invalid JSON: invalid UTF-8 at line 1, column 4"}}',
]



=== TEST 6: a raw NUL byte inside a string is 400
--- request eval
"POST /data\n{\"a\":\"x\0y\"}"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":{"code":"invalid_body","message":"invalid JSON: control character in string at line 1, column 8"}}



=== TEST 7: a \u0000 escape is accepted and kept
--- request
POST /data
{"a": "x\u0000y"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"a":"x\u0000y"}



=== TEST 8: duplicate keys are accepted, the last one wins
--- request
POST /pick
{"a": 1, "a": {"b": 2}, "a": "last"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"a":"last"}



=== TEST 9: a 1 MB string of 2-byte characters: echoed, length in characters
--- config
    location = /len {
        client_max_body_size 2m;
        webhook_mode sync;
        webhook ../html/len.json;
    }
--- request eval
"POST /len\n{\"s\": \"" . ("\xc3\xa9" x 524288) . "\", \"a\": 1}"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- timeout: 20
--- response_body eval
"{\"a\":1,\"s\":\"" . ("\xc3\xa9" x 524288) . "\",\"len\":524288}"



=== TEST 10: a 1 MB JSON string: echoed, length computed by the workflow
--- config
    location = /len {
        client_max_body_size 2m;
        webhook_mode sync;
        webhook ../html/len.json;
    }
--- request eval
"POST /len\n{\"s\": \"" . ("x" x 1048576) . "\", \"a\": 2}"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- timeout: 20
--- response_body eval
"{\"a\":2,\"s\":\"" . ("x" x 1048576) . "\",\"len\":1048576}"



=== TEST 11: broken percent-encoding in a form is 400 (each kind)
--- request eval
["POST /data\na=%", "POST /data\na=%4", "POST /data\na=%G0",
 "POST /data\n%=1", "POST /data\nok=1&a=%%41"]
--- more_headers eval
[("Content-Type: application/x-www-form-urlencoded") x 5]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[('{"error":{"code":"invalid_body","message":"invalid form body: invalid percent-encoding"}}') x 5]



=== TEST 12: broken percent-encoding in the query string is 400
--- request eval
["POST /quiet?a=%\n{}", "POST /quiet?q=%zz\n{}", "POST /quiet?ok=1&q=%4\n{}"]
--- more_headers eval
[("Content-Type: application/json") x 3]
--- error_code eval
[400, 400, 400]
--- response_body eval
[('{"error":{"code":"invalid_body","message":"invalid query string: invalid percent-encoding"}}') x 3]



=== TEST 13: a percent-encoded NUL and bytes that are not UTF-8 are values
--- request
POST /data?x=1
a=%00&b=%e9&c=%C3%A9
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body chomp
{"a":"\u0000","b":"\ufffd","c":"é"}



=== TEST 14: multipart without a closing boundary is 400
--- request eval
["POST /data\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n",
 "POST /data\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ",
 "POST /data\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx"]
--- more_headers eval
[$::MP_CT, $::MP_CT, $::MP_CT]
--- error_code eval
[400, 400, 400]
--- response_body eval
[('{"error":{"code":"invalid_body","message":"multipart: no closing boundary"}}') x 3]



=== TEST 15: multipart with a 4 KB boundary parameter is 400
--- request eval
"POST /data\n--" . ("b" x 4096) . "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--" . ("b" x 4096) . "--\r\n"
--- more_headers eval
"Content-Type: multipart/form-data; boundary=" . ("b" x 4096)
--- error_code: 400
--- response_body chomp
{"error":{"code":"invalid_body","message":"multipart: missing or invalid boundary parameter"}}



=== TEST 16: multipart with 2000 parts is 400, 1000 parts are fine
--- request eval
["POST /data\n" . ::mp_parts(2000), "POST /data\n" . ::mp_parts(1000),
 "POST /data\n" . ::mp_parts(1001, "same")]
--- more_headers eval
[$::MP_CT, $::MP_CT, $::MP_CT]
--- error_code eval
[400, 200, 400]
--- response_body eval
['{"error":{"code":"invalid_body","message":"multipart: too many parts"}}',
 '{' . CORE::join(',', map { "\"p$_\":\"$_\"" } 0 .. 999) . '}',
 '{"error":{"code":"invalid_body","message":"multipart: too many parts"}}']



=== TEST 17: 20000 form fields: 200 and every field in order
--- request eval
"POST /data\n" . ::many_fields(20000)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body eval
::many_fields_json(20000)



=== TEST 18: 20000 values of one name become one array
--- request eval
"POST /data\n" . CORE::join('&', map { "a=$_" } 0 .. 19999)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body eval
'{"a":[' . CORE::join(',', map { "\"$_\"" } 0 .. 19999) . ']}'



=== TEST 19: 20000 query parameters and 20000 form fields in one request
--- config
    large_client_header_buffers 4 256k;
    location = /pick {
        webhook_mode sync;
        webhook ../html/pick.json;
    }
--- request eval
"POST /pick?" . CORE::join('&', map { "q=$_" } 0 .. 19999) . "\n" . ::many_fields(20000)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body eval
'{"last":"19999","q":[' . CORE::join(',', map { "\"$_\"" } 0 .. 19999) . ']}'



=== TEST 20: bodies larger than client_body_buffer_size go through a temp file
--- config
    location = /data {
        client_body_buffer_size 1k;
        webhook_mode sync;
        webhook ../html/data.json;
    }
--- request eval
["POST /data\n" . ::many_fields(5000),
 "POST /data\n" . ::mp_parts(1000),
 "POST /data\n{\"big\":[" . CORE::join(',', 1 .. 5000) . "]}",
 "POST /data\n" . ("[" x 3000)]
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded", $::MP_CT,
 "Content-Type: application/json", "Content-Type: application/json"]
--- error_code eval
[200, 200, 200, 400]
--- response_body eval
[::many_fields_json(5000),
 '{' . CORE::join(',', map { "\"p$_\":\"$_\"" } 0 .. 999) . '}',
 "{\"big\":[" . CORE::join(',', 1 .. 5000) . "]}",
 '{"error":{"code":"invalid_body","message":"invalid JSON: nesting too deep at line 1, column 256"}}']



=== TEST 21: client_body_in_file_only: the body is read back from its file
--- config
    location = /data {
        client_body_in_file_only clean;
        webhook_mode sync;
        webhook ../html/data.json;
    }
--- request eval
["POST /data\n{\"a\": [1, 2, 3]}", "POST /data\na=1&b=2&a=3"]
--- more_headers eval
["Content-Type: application/json",
 "Content-Type: application/x-www-form-urlencoded"]
--- error_code eval
[200, 200]
--- response_body eval
['{"a":[1,2,3]}', '{"a":["1","3"],"b":"2"}']



=== TEST 22: a chunked body in 1-byte chunks, larger than the buffer
--- config
    location = /data {
        client_body_buffer_size 1k;
        webhook_mode sync;
        webhook ../html/data.json;
    }
--- raw_request eval
my $body = '{"k":"' . ("v" x 3000) . '"}';
"POST /data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
. CORE::join('', map { "1\r\n$_\r\n" } split //, $body) . "0\r\n\r\n"
--- error_code: 200
--- response_body eval
'{"k":"' . ("v" x 3000) . '"}'



=== TEST 23: malformed chunked bodies get nginx's own 400
--- raw_request eval
["POST /data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
 . "zz\r\n{}\r\n0\r\n\r\n",
 "POST /data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
 . "ffffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
 "POST /data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
 . "2\r\n{}XX\r\n0\r\n\r\n"]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
["<center><h1>400 Bad Request</h1></center>",
 "<center><h1>400 Bad Request</h1></center>",
 "<center><h1>400 Bad Request</h1></center>"]



=== TEST 24: a chunked body above client_max_body_size is nginx's 413
--- config
    location = /data {
        client_max_body_size 100;
        webhook_mode sync;
        webhook ../html/data.json;
    }
--- raw_request eval
"POST /data HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
. CORE::join('', map { "40\r\n" . ("x" x 64) . "\r\n" } 1 .. 4) . "0\r\n\r\n"
--- error_code: 413
--- response_body_like chomp
<title>413 Request Entity Too Large



=== TEST 25: 990 request headers, and 990 repeats of one header joined
--- request eval
["POST /pick\n{}", "POST /pick\n{}"]
--- more_headers eval
[CORE::join("\n", map { "X-H-$_: v$_" } 0 .. 989),
 CORE::join("\n", map { "X-R: $_" } 0 .. 989)]
--- error_code eval
[200, 200]
--- response_body eval
['{"h":"v989"}', '{"r":"' . CORE::join(', ', 0 .. 989) . '"}']



=== TEST 25a: repeated names interleaved with others keep their order, few or many
--- user_files
>>> hdr.json
{"key": "hdr", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {
     "a": "{{ $context.headers.x-a }}", "b": "{{ $context.headers.x-b }}",
     "c": "{{ $context.headers.x-c }}"}}}]}
--- config
    location = /hdr {
        webhook_mode sync;
        webhook ../html/hdr.json;
    }
--- request eval
["POST /hdr\n{}", "POST /hdr\n{}"]
--- more_headers eval
["X-A: 1\nX-B: 2\nX-A: 3\nX-C: 4\nX-B: 5\nX-A: 6",
 CORE::join("\n", map { ("X-A: a$_", "X-B: b$_", "X-Z-$_: z") } 0 .. 299)
 . "\nX-C: last"]
--- error_code eval
[200, 200]
--- response_body eval
['{"a":"1, 3, 6","b":"2, 5","c":"4"}',
 '{"a":"' . CORE::join(', ', map { "a$_" } 0 .. 299)
 . '","b":"' . CORE::join(', ', map { "b$_" } 0 .. 299) . '","c":"last"}']



=== TEST 26: more header bytes than large_client_header_buffers: nginx's 400
--- request
POST /pick
{}
--- more_headers eval
CORE::join("\n", map { "X-Header-Number-$_: value-$_" } 0 .. 1999)
--- error_code: 400
--- response_body_like chomp
<title>400 Request Header Or Cookie Too Large



=== TEST 27: an empty body with each content type is null data
--- request eval
["POST /data\n", "POST /data\n", "POST /data\n", "POST /data\n",
 "POST /data\n", "POST /data\n", "POST /data\n"]
--- more_headers eval
["Content-Length: 0\nContent-Type: application/json",
 "Content-Length: 0\nContent-Type: application/x-www-form-urlencoded",
 "Content-Length: 0\n$::MP_CT",
 "Content-Length: 0\nContent-Type: multipart/form-data",
 "Content-Length: 0\nContent-Type: text/plain",
 "Content-Length: 0",
 "Content-Length: 0\nContent-Type: application/xml"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_body eval
["null", "null", "null", "null", "null", "null", "null"]



=== TEST 28: the server still answers after all of the above
--- request
POST /data
{"still": "here"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"still":"here"}
