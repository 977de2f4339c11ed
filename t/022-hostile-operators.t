# SPDX-License-Identifier: BSD-2-Clause
# SPEC §7 "No request can stall nginx": about a megabyte of request data
# through every calculator, the string and byte functions of the math
# engine, and templates, inside the nginx worker (sync workflows).  Each
# block asserts the exact answer and that no worker process died; the
# times are in the README ("Linear-time guarantees"), not asserted here.
# The inputs are the worst cases of the naive algorithms: a needle that
# almost matches everywhere, objects with their keys in opposite orders,
# a probe compared with every item of a long array, a pattern that a
# backtracking matcher retries from every position.
use Test::Nginx::Socket 'no_plan';
use Digest::SHA qw(sha256_hex hmac_sha256_base64);

our $s = 'a' x 1_000_000;
our $n = ('a' x 300_000) . 'b';
our $e = 'a' x 300_000;
our $keys = 10_000;
our $o1 = '{' . join(',', map { qq{"k$_":[$_,{"x":$_}]} } 0 .. $keys - 1) . '}';
our $o2 = '{' . join(',', map { qq{"k$_":[$_,{"x":$_}]} }
                         reverse 0 .. $keys - 1) . '}';
(our $o3 = $o2) =~ s/"k0":\[0,\{"x":0\}\]/"k0":[0,{"x":1}]/;
our $arr = '[' . join(',', map { qq{"x$_"} } 0 .. 49_999) . ']';
our $body = qq({"s":"$s","n":"$n","e":"$e","o1":$o1,"o2":$o2,"o3":$o3,)
            . qq("arr":$arr,"last":"x49999"});

# hmac_sha256_base64 leaves out the padding
our $hmac = hmac_sha256_base64($s, 'k');
$hmac .= '=' x ((4 - length($hmac) % 4) % 4);

our %expect = (SHA => '"' . sha256_hex($s) . '"', HMAC => qq("$hmac"));

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_');
>>> includes.json
{"key": "includes", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "includes", "operands": ["{{ $context.data.s }}", "{{ $context.data.n }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> notIncludes.json
{"key": "notIncludes", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "notIncludes", "operands": ["{{ $context.data.s }}", "{{ $context.data.n }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> startsWith.json
{"key": "startsWith", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "startsWith", "operands": ["{{ $context.data.s }}", "{{ $context.data.e }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> notStartsWith.json
{"key": "notStartsWith", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "notStartsWith", "operands": ["{{ $context.data.s }}", "{{ $context.data.n }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> endsWith.json
{"key": "endsWith", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "endsWith", "operands": ["{{ $context.data.s }}", "{{ $context.data.n }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> notEndsWith.json
{"key": "notEndsWith", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "notEndsWith", "operands": ["{{ $context.data.s }}", "{{ $context.data.e }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> equal.json
{"key": "equal", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "equal", "operands": ["{{ $context.data.o1 }}", "{{ $context.data.o2 }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> notEqual.json
{"key": "notEqual", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "notEqual", "operands": ["{{ $context.data.o1 }}", "{{ $context.data.o3 }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> equal_strings.json
{"key": "equal_strings", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "equal", "operands": ["{{ $context.data.s }}", "{{ $context.data.s }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> gt.json
{"key": "gt", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "gt", "operands": ["{{ $context.data.s }}", "{{ $context.data.e }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> in.json
{"key": "in", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "in", "operands": ["{{ $context.data.last }}", "{{ $context.data.arr }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> notIn.json
{"key": "notIn", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "notIn", "operands": ["{{ $context.data.s }}", "{{ $context.data.arr }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> includes_array.json
{"key": "includes_array", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "includes", "operands": ["{{ $context.data.arr }}", "{{ $context.data.s }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> matches.json
{"key": "matches", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "matches", "operands": ["{{ $context.data.s }}", "a*b|c"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> notEmpty.json
{"key": "notEmpty", "nodes": [{"key": "c", "type": "condition", "config": {"calculation": {"calculator": "notEmpty", "operands": ["{{ $context.data.s }}"]}}, "branches": {"true": [{"key": "t", "type": "response", "config": {"body": {"r": true}}}], "false": [{"key": "f", "type": "response", "config": {"body": {"r": false}}}]}}]}
>>> replace.json
{"key": "replace", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(replace({{ $context.data.s }}, {{ $context.data.n }}, 'x'))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> replace_all.json
{"key": "replace_all", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(replace({{ $context.data.s }}, 'a', 'bb'))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> split.json
{"key": "split", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(split({{ $context.data.s }}, {{ $context.data.n }}))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> split_chars.json
{"key": "split_chars", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(split({{ $context.data.s }}, ''))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> join.json
{"key": "join", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(join(split({{ $context.data.s }}, ''), '-'))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> case_trim_substr.json
{"key": "case_trim_substr", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(upper(trim(substr(lower({{ $context.data.s }}), 1))))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> sha256.json
{"key": "sha256", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "sha256({{ $context.data.s }})"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> hmac.json
{"key": "hmac", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "hmac('sha256', 'k', {{ $context.data.s }}, 'base64')"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> base64.json
{"key": "base64", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(unbase64(base64({{ $context.data.s }})))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> hex.json
{"key": "hex", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(hex({{ $context.data.s }}))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> urlencode.json
{"key": "urlencode", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(urldecode(urlencode({{ $context.data.n }})))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> json_parse.json
{"key": "json_parse", "nodes": [{"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len(parse(json({{ $context.data.o1 }})))"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
>>> template.json
{"key": "template", "nodes": [{"key": "t", "type": "calculation", "config": {"engine": "string", "expression": "{{ $context.data.s }}-{{ $context.data.n }}"}}, {"key": "c", "type": "calculation", "config": {"engine": "math", "expression": "len({{ $nodes.t }})"}}, {"key": "r", "type": "response", "config": {"body": {"r": "{{ $nodes.c }}"}}}]}
_EOC_

    $block->set_value("config", <<'_EOC_');
    client_body_buffer_size 8m;
    location = /includes {
        webhook_mode sync;
        webhook ../html/includes.json;
    }
    location = /notIncludes {
        webhook_mode sync;
        webhook ../html/notIncludes.json;
    }
    location = /startsWith {
        webhook_mode sync;
        webhook ../html/startsWith.json;
    }
    location = /notStartsWith {
        webhook_mode sync;
        webhook ../html/notStartsWith.json;
    }
    location = /endsWith {
        webhook_mode sync;
        webhook ../html/endsWith.json;
    }
    location = /notEndsWith {
        webhook_mode sync;
        webhook ../html/notEndsWith.json;
    }
    location = /equal {
        webhook_mode sync;
        webhook ../html/equal.json;
    }
    location = /notEqual {
        webhook_mode sync;
        webhook ../html/notEqual.json;
    }
    location = /equal_strings {
        webhook_mode sync;
        webhook ../html/equal_strings.json;
    }
    location = /gt {
        webhook_mode sync;
        webhook ../html/gt.json;
    }
    location = /in {
        webhook_mode sync;
        webhook ../html/in.json;
    }
    location = /notIn {
        webhook_mode sync;
        webhook ../html/notIn.json;
    }
    location = /includes_array {
        webhook_mode sync;
        webhook ../html/includes_array.json;
    }
    location = /matches {
        webhook_mode sync;
        webhook ../html/matches.json;
    }
    location = /notEmpty {
        webhook_mode sync;
        webhook ../html/notEmpty.json;
    }
    location = /replace {
        webhook_mode sync;
        webhook ../html/replace.json;
    }
    location = /replace_all {
        webhook_mode sync;
        webhook ../html/replace_all.json;
    }
    location = /split {
        webhook_mode sync;
        webhook ../html/split.json;
    }
    location = /split_chars {
        webhook_mode sync;
        webhook ../html/split_chars.json;
    }
    location = /join {
        webhook_mode sync;
        webhook ../html/join.json;
    }
    location = /case_trim_substr {
        webhook_mode sync;
        webhook ../html/case_trim_substr.json;
    }
    location = /sha256 {
        webhook_mode sync;
        webhook ../html/sha256.json;
    }
    location = /hmac {
        webhook_mode sync;
        webhook ../html/hmac.json;
    }
    location = /base64 {
        webhook_mode sync;
        webhook ../html/base64.json;
    }
    location = /hex {
        webhook_mode sync;
        webhook ../html/hex.json;
    }
    location = /urlencode {
        webhook_mode sync;
        webhook ../html/urlencode.json;
    }
    location = /json_parse {
        webhook_mode sync;
        webhook ../html/json_parse.json;
    }
    location = /template {
        webhook_mode sync;
        webhook ../html/template.json;
    }
_EOC_

    if (!defined $block->more_headers) {
        $block->set_value("more_headers", "Content-Type: application/json");
    }

    $block->set_value("no_error_log", "[alert]\n[crit]\n[emerg]");
});

run_tests();

__DATA__

=== TEST 1: includes: includes
--- request eval
"POST /includes\n$::body"
--- response_body chomp
{"r":false}



=== TEST 2: notIncludes: notIncludes
--- request eval
"POST /notIncludes\n$::body"
--- response_body chomp
{"r":true}



=== TEST 3: startsWith: startsWith
--- request eval
"POST /startsWith\n$::body"
--- response_body chomp
{"r":true}



=== TEST 4: notStartsWith: notStartsWith
--- request eval
"POST /notStartsWith\n$::body"
--- response_body chomp
{"r":true}



=== TEST 5: endsWith: endsWith
--- request eval
"POST /endsWith\n$::body"
--- response_body chomp
{"r":false}



=== TEST 6: notEndsWith: notEndsWith
--- request eval
"POST /notEndsWith\n$::body"
--- response_body chomp
{"r":false}



=== TEST 7: equal: equal
--- request eval
"POST /equal\n$::body"
--- response_body chomp
{"r":true}



=== TEST 8: notEqual: notEqual
--- request eval
"POST /notEqual\n$::body"
--- response_body chomp
{"r":true}



=== TEST 9: equal_strings: equal
--- request eval
"POST /equal_strings\n$::body"
--- response_body chomp
{"r":true}



=== TEST 10: gt: gt
--- request eval
"POST /gt\n$::body"
--- response_body chomp
{"r":true}



=== TEST 11: in: in
--- request eval
"POST /in\n$::body"
--- response_body chomp
{"r":true}



=== TEST 12: notIn: notIn
--- request eval
"POST /notIn\n$::body"
--- response_body chomp
{"r":true}



=== TEST 13: includes_array: includes
--- request eval
"POST /includes_array\n$::body"
--- response_body chomp
{"r":false}



=== TEST 14: matches: matches
--- request eval
"POST /matches\n$::body"
--- response_body chomp
{"r":false}



=== TEST 15: notEmpty: notEmpty
--- request eval
"POST /notEmpty\n$::body"
--- response_body chomp
{"r":true}



=== TEST 16: replace: len(replace(s, n, 'x'))
--- request eval
"POST /replace\n$::body"
--- response_body chomp
{"r":1000000}



=== TEST 17: replace_all: len(replace(s, 'a', 'bb'))
--- request eval
"POST /replace_all\n$::body"
--- response_body chomp
{"r":2000000}



=== TEST 18: split: len(split(s, n))
--- request eval
"POST /split\n$::body"
--- response_body chomp
{"r":1}



=== TEST 19: split_chars: len(split(s, ''))
--- request eval
"POST /split_chars\n$::body"
--- response_body chomp
{"r":1000000}



=== TEST 20: join: len(join(split(s, ''), '-'))
--- request eval
"POST /join\n$::body"
--- response_body chomp
{"r":1999999}



=== TEST 21: case_trim_substr: len(upper(trim(substr(lower(s), 1))))
--- request eval
"POST /case_trim_substr\n$::body"
--- response_body chomp
{"r":999999}



=== TEST 22: sha256: sha256(s)
--- request eval
"POST /sha256\n$::body"
--- response_body eval
"{\"r\":" . $::expect{SHA} . "}"



=== TEST 23: hmac: hmac('sha256', 'k', s, 'base64')
--- request eval
"POST /hmac\n$::body"
--- response_body eval
"{\"r\":" . $::expect{HMAC} . "}"



=== TEST 24: base64: len(unbase64(base64(s)))
--- request eval
"POST /base64\n$::body"
--- response_body chomp
{"r":1000000}



=== TEST 25: hex: len(hex(s))
--- request eval
"POST /hex\n$::body"
--- response_body chomp
{"r":2000000}



=== TEST 26: urlencode: len(urldecode(urlencode(n)))
--- request eval
"POST /urlencode\n$::body"
--- response_body chomp
{"r":300001}



=== TEST 27: json_parse: len(parse(json(o1)))
--- request eval
"POST /json_parse\n$::body"
--- response_body chomp
{"r":10000}



=== TEST 28: template: s-n
--- request eval
"POST /template\n$::body"
--- response_body chomp
{"r":1300002}


