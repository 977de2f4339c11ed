# SPDX-License-Identifier: BSD-2-Clause
# The runner must report failures: runs a spec of deliberately failing blocks
# in a child perl (same @INC, so the same Test::Nginx) and checks the exact
# TAP it prints.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

my $dir = tempdir(CLEANUP => 1);
my $spec = "$dir/child.t";
open my $out, '>', $spec or die "$spec: $!";
print $out <DATA>;
close $out;

local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
local $ENV{PERL5LIB} = join ':', grep { !ref } @INC;
my $tap = `'$^X' '$spec' 2>'$dir/stderr'`;
my @lines = grep { /^(?:not )?ok \d+/ } split /\n/, $tap;
for (@lines) {
    s/^((?:not )?ok) \d+ - /$1 /;
    s/^((?:not )?ok) \Q$spec\E /$1 /;
}

my @expected = (
    'ok TEST 1: wrong body - status code ok',
    'not ok TEST 1: wrong body - response_body - response is expected '
        . '(repeated req 0, req 0)',
    'not ok TEST 2: wrong status, body_like mismatch - status code ok',
    'not ok TEST 2: wrong status, body_like mismatch - response_body_like - '
        . 'response is expected (actual)',
    'ok TEST 3: header mismatch - status code ok',
    'not ok TEST 3: header mismatch - header X-A ok',
    'ok TEST 4: header present - status code ok',
    'not ok TEST 4: header present - header Content-Type not present in '
        . 'the raw headers',
    'ok TEST 5: error_log missing, no_error_log matched - status code ok',
    'not ok TEST 5: error_log missing, no_error_log matched - pattern "this '
        . 'text is never logged" should match a line in error.log (req 0)',
    'not ok TEST 6: must_die but starts - die as expected',
    'not ok ERROR: client socket timed out - '
        . "$spec TEST 7: timeout without abort",
    'ok TEST 7: timeout without abort - status code ok',
    'ok TEST 8: pipelined second body wrong - status code ok',
    'ok TEST 8: pipelined second body wrong - response_body - response is '
        . 'expected (repeated req 0, req 0)',
    'ok TEST 8: pipelined second body wrong - status code ok',
    'not ok TEST 8: pipelined second body wrong - response_body - response '
        . 'is expected (repeated req 0, req 1)',
    'ok TEST 9: abort hides the timeout - pattern "[error]" does not match '
        . 'a line in error.log (req 0)',
);

# The no_error_log failure names the matching log line: check it apart.
my @noerr = grep { /should not match any line/ } @lines;
@lines = grep { !/should not match any line/ } @lines;
is(scalar @noerr, 1, 'one no_error_log failure');
my $uri = qr/http uri: \\\\"\/t\\\\"/;
like($noerr[0] // '',
     qr/^not\ ok\ TEST\ 5:\ .*\ pattern\ "$uri"\ should\ not\ match\ any
        \ line\ in\ error\.log\ but\ matches\ line\ ".*\[debug\]\ .*$uri"
        \ \(req\ 0\)$/x,
     'no_error_log failure names the line');
is_deeply(\@lines, \@expected, 'exact TAP of the failing spec')
    or diag $tap;

my $stderr = do { local (@ARGV, $/) = "$dir/stderr"; <> };
like($stderr, qr/must_die but starts - nginx must die but it does not/,
     'must_die warns when nginx starts');

done_testing();

__DATA__
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
__DATA__

=== TEST 1: wrong body
--- config
    location = /t { return 200 "actual\n"; }
--- request
GET /t
--- response_body
expected

=== TEST 2: wrong status, body_like mismatch
--- config
    location = /t { return 201 "actual\n"; }
--- request
GET /t
--- response_body_like: ^nope$

=== TEST 3: header mismatch
--- config
    location = /t { add_header X-A got; return 200; }
--- request
GET /t
--- response_headers
X-A: want

=== TEST 4: header present
--- config
    location = /t { return 200; }
--- request
GET /t
--- response_headers
!Content-Type

=== TEST 5: error_log missing, no_error_log matched
--- config
    location = /t { return 200; }
--- request
GET /t
--- error_log
this text is never logged
--- no_error_log
http uri: "/t"

=== TEST 6: must_die but starts
--- config
    location = /t { return 200; }
--- must_die

=== TEST 7: timeout without abort
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/e;
    }
    location = /e { return 200; }
--- raw_request eval
"POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nab"
--- timeout: 0.2
--- error_code:

=== TEST 8: pipelined second body wrong
--- config
    location = /a { return 200 "A\n"; }
--- pipelined_requests eval
["GET /a", "GET /a"]
--- response_body eval
["A\n", "B\n"]

=== TEST 9: abort hides the timeout
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/e;
    }
    location = /e { return 200; }
--- raw_request eval
"POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nab"
--- timeout: 0.2
--- abort
--- ignore_response
--- no_error_log
[error]
