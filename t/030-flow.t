# SPDX-License-Identifier: BSD-2-Clause
# Flow control in nginx (SPEC §11).  webhook_resume: the token is checked
# before Redis is asked (403), then one script decides: 404 without a
# record, 409 when the execution does not wait in that node (or no
# longer), else the body is stored, "waiting" cleared and a job queued
# (200).  Also: nginx publishes each workflow it loads by key, subflow
# cycles across files fail nginx -t, an output node runs inline.  Records
# are seeded before run_tests() and checked after.
use Test::Nginx::Socket 'no_plan';

use Digest::SHA qw(hmac_sha256_hex);
use FindBin;
use JSON::PP ();
use lib "$FindBin::Bin/common";
use WebhookRedis;

our %Bodies;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
$ENV{TEST_NGINX_REDIS_DOWN_PORT} = free_port();    # nobody listens there
redis_start(qw(main));

my $secret = 'r3sume-s3cret';
my %id = (
    a => '01900000-0000-7000-8000-00000000000a',    # waits in "approve"
    b => '01900000-0000-7000-8000-00000000000b',    # waits in "other"
    c => '01900000-0000-7000-8000-00000000000c',    # no record
    d => '01900000-0000-7000-8000-00000000000d',    # done
    e => '01900000-0000-7000-8000-00000000000e',    # running, no wait yet
);

for my $x (qw(a b d e)) {
    redis_cli('HSET', "webhook:execution:$id{$x}", 'workflow', 'w',
              'revision', 'f' x 64, 'context', "{\"id\":\"$id{$x}\"}",
              'queue', 'test:resume', 'status', $x eq 'd' ? 1 : 0,
              $x eq 'd' || $x eq 'e' ? ()
              : ('waiting', $x eq 'a' ? 'approve' : 'other'),
              $x eq 'a' ? ('parent', 'p-1', 'depth', 1) : ());
}
redis_cli('ZADD', 'webhook:waiting', 1e15, $id{a});

for my $x (qw(a b c d e)) {
    $ENV{"TEST_NGINX_ID_\U$x"} = $id{$x};
    $ENV{"TEST_NGINX_TOKEN_\U$x"} = hmac_sha256_hex("$id{$x}/approve",
                                                    $secret);
}
# a token of another node, and of another secret
$ENV{TEST_NGINX_TOKEN_A_OTHER} = hmac_sha256_hex("$id{a}/other", $secret);
$ENV{TEST_NGINX_TOKEN_A_WRONG} = hmac_sha256_hex("$id{a}/approve", 'nope');

add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my ($n) = $block->name =~ /\bTEST (\d+):/;
    $Bodies{$n}[$idx] = $body;
});

no_shuffle();
run_tests();

my $json = JSON::PP->new;

# TEST 5: the job of the resumed execution, the record's state.
{
    my $entries = redis_json('XRANGE', 'test:resume', '-', '+');
    is(scalar @$entries, 1, 'one job queued: the first resume only');
    my %f = @{ $entries->[0][1] // [] };
    is($f{execution}, $id{a}, 'the job is the execution\'s');
    is($f{workflow}, 'w', 'with its workflow');
    is($f{revision}, 'f' x 64, 'its revision');
    is($f{context}, "{\"id\":\"$id{a}\"}", 'its context');
    is($f{parent}, 'p-1', 'its parent');
    is($f{depth}, '1', 'and its depth');
    my $rec = "webhook:execution:$id{a}";
    is(redis_cli('HGET', $rec, 'resume:approve'), '{"ok": true, "n": 1}',
       'the body is stored for the wait node, as sent');
    is(redis_cli('HEXISTS', $rec, 'waiting'), '0', 'waiting is cleared');
    is(redis_cli('ZSCORE', 'webhook:waiting', $id{a}), '',
       'the timeout is forgotten');
    is(redis_cli('HGET', "webhook:execution:$id{b}", 'waiting'), 'other',
       'the execution waiting elsewhere is untouched');
    is(redis_cli('EXISTS', "webhook:execution:$id{c}"), '0',
       'no record is made for an unknown id');
}

# TEST 15: an early callback is kept for the wait node, no job queued.
{
    my $rec = "webhook:execution:$id{e}";
    is(redis_cli('HGET', $rec, 'resume:approve'), '{"early": 1}',
       'early: the body waits for the wait node');
    is(redis_cli('HEXISTS', $rec, 'waiting'), '0', 'early: nothing waits');
    is(redis_cli('XLEN', 'test:early'), '0', 'early: no job is queued');
}

# TEST 12: nginx publishes the workflow by key.
{
    my $rev = redis_cli('GET', 'webhook:workflow:key:pub');
    like($rev, qr/^[0-9a-f]{64}$/, 'webhook:workflow:key:<key> holds a revision');
    isnt(redis_cli('GET', "webhook:workflow:$rev"), '',
         'and that revision is stored');
    my $inl = redis_cli('GET', 'webhook:workflow:key:pubinline');
    like($inl, qr/^[0-9a-f]{64}$/,
         'a workflow of a location without webhook_redis is published too');
    isnt(redis_cli('GET', "webhook:workflow:$inl"), '',
         'with its revision');
}

__DATA__

=== TEST 1: a wrong token: 403, Redis not asked
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A_WRONG}\n{\"ok\": true}"
--- error_code: 403
--- response_body_like chomp
"code":"invalid_token"
--- no_error_log
[alert]



=== TEST 2: no token, a token of another node: 403
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
["POST /resume/$ENV{TEST_NGINX_ID_A}/approve\n{}",
 "POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A_OTHER}\n{}",
 "POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=" . uc($ENV{TEST_NGINX_TOKEN_A}) . "\n{}"]
--- error_code eval
[403, 403, 403]
--- no_error_log
[alert]



=== TEST 3: a body that is not JSON: 400, nothing resumed
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A}\n{\"ok\": tru"
--- error_code: 400
--- response_body_like chomp
"code":"invalid_body"
--- no_error_log
[alert]



=== TEST 4: GET: 405 with Allow
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"GET /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A}"
--- error_code: 405
--- response_headers
Allow: POST
--- no_error_log
[alert]



=== TEST 5: the right token: 200 resumed, then 409 (a wait resumes once)
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:resume;
        webhook_resume r3sume-s3cret;
    }
--- request eval
["POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A}\n{\"ok\": true, \"n\": 1}",
 "POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A}\n{\"ok\": false}"]
--- error_code eval
[200, 409]
--- response_body_like eval
["^\\{\"executionId\":\"$ENV{TEST_NGINX_ID_A}\",\"status\":\"resumed\"\\}\$",
 "\"code\":\"not_waiting\""]
--- no_error_log
[alert]
[error]



=== TEST 6: an execution waiting in another node: 409
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_B}/approve?token=$ENV{TEST_NGINX_TOKEN_B}\n{}"
--- error_code: 409
--- response_body_like chomp
"code":"not_waiting"
--- no_error_log
[alert]
[error]



=== TEST 7: no such execution: 404
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_C}/approve?token=$ENV{TEST_NGINX_TOKEN_C}\n{}"
--- error_code: 404
--- response_body_like chomp
"code":"not_found"
--- no_error_log
[alert]
[error]



=== TEST 8: an execution that is done: 409
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_D}/approve?token=$ENV{TEST_NGINX_TOKEN_D}\n{}"
--- error_code: 409
--- no_error_log
[alert]
[error]



=== TEST 9: a path that cannot name an execution and a node: 404
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
["POST /resume/?token=x\n{}",
 "POST /resume/a.b/approve?token=x\n{}",
 "POST /resume/" . ("x" x 65) . "/approve?token=x\n{}"]
--- error_code eval
[404, 404, 404]
--- no_error_log
[alert]



=== TEST 10: webhook_resume needs webhook_redis
--- config
    location /resume/ {
        webhook_resume r3sume-s3cret;
    }
--- must_die
--- error_log
"webhook_resume" needs "webhook_redis"



=== TEST 11: a hostile body size does not matter: client_max_body_size
--- config
    location /resume/ {
        client_max_body_size 16;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_B}/other?token=" . Digest::SHA::hmac_sha256_hex("$ENV{TEST_NGINX_ID_B}/other", "r3sume-s3cret") . "\n" . ('[' x 100)
--- error_code: 413
--- no_error_log
[alert]



=== TEST 12: nginx publishes the workflows it loads by key, all of them
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:pub;
        webhook ../html/wf.json;
    }
    location = /inline {
        webhook_mode sync;
        webhook ../html/inline.json;
    }
--- user_files
>>> wf.json
{"key": "pub", "nodes": [{"key": "o", "type": "output", "config": {"value": 1}}]}
>>> inline.json
{"key": "pubinline", "nodes": [{"key": "o", "type": "output", "config": {"value": 2}}]}
--- request eval
"POST /hook\n{}"
--- error_code: 202
--- no_error_log
[alert]
[error]



=== TEST 13: a subflow cycle across two files is refused at nginx -t
--- config
    location = /ping {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/ping.json;
    }
    location = /pong {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/pong.json;
    }
--- user_files
>>> ping.json
{"key": "ping", "nodes": [{"key": "s", "type": "subflow", "config": {"workflow": "pong"}}]}
>>> pong.json
{"key": "pong", "nodes": [{"key": "s", "type": "subflow", "config": {"workflow": "ping"}}]}
--- must_die
--- error_log
a subflow cycle



=== TEST 14: an output node runs inline in a sync workflow
--- config
    location = /out {
        webhook_mode sync;
        webhook ../html/out.json;
    }
--- user_files
>>> out.json
{"key": "out", "nodes": [
  {"key": "o", "type": "output", "config": {"value": {"n": "{{ $context.data.n }}"}}},
  {"key": "r", "type": "response", "config": {"statusCode": 200, "body": "{{ $nodes.o }}"}}]}
--- request eval
"POST /out\n{\"n\": 5}"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"n":5}
--- no_error_log
[alert]
[error]



=== TEST 15: a callback before the wait is reached: kept (200), once
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:early;
        webhook_resume r3sume-s3cret;
    }
--- request eval
["POST /resume/$ENV{TEST_NGINX_ID_E}/approve?token=$ENV{TEST_NGINX_TOKEN_E}\n{\"early\": 1}",
 "POST /resume/$ENV{TEST_NGINX_ID_E}/approve?token=$ENV{TEST_NGINX_TOKEN_E}\n{\"early\": 2}"]
--- error_code eval
[200, 409]
--- no_error_log
[alert]
[error]



=== TEST 16: Redis unreachable: 503 queue_unavailable with Retry-After
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
        webhook_resume r3sume-s3cret;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_ID_A}/approve?token=$ENV{TEST_NGINX_TOKEN_A}\n{}"
--- error_code: 503
--- response_headers
Retry-After: 5
Content-Type: application/json
--- response_body_like eval
qr/^\{"error":\{"code":"queue_unavailable","message":"[^"]+"\}\}$/
--- no_error_log
[alert]



=== TEST 17: webhook and webhook_resume in one location fail nginx -t
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_resume r3sume-s3cret;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "both", "nodes": []}
--- must_die
--- error_log
cannot be combined with "webhook_resume"



=== TEST 18: webhook_resume after webhook, likewise
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
        webhook_resume r3sume-s3cret;
    }
--- user_files
>>> wf.json
{"key": "both", "nodes": []}
--- must_die
--- error_log
cannot be combined with "webhook"
