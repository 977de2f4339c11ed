# SPDX-License-Identifier: BSD-2-Clause
# webhook_dedup (SPEC §2, §6): a repeated key within its TTL does not run
# the workflow again.  Async answers 200 duplicate with the first id, sync
# replays the first answer.  Against a real redis-server; Redis contents
# are checked after run_tests().
use Test::Nginx::Socket 'no_plan';

use FindBin;
use JSON::PP ();
use Time::HiRes ();
use lib "$FindBin::Bin/common";
use WebhookRedis;
use Digest::SHA ();

# webhook:dedup:<workflow>:<hex SHA-256 of the value> (SPEC §7)
sub dedup_key { "webhook:dedup:$_[0]:" . Digest::SHA::sha256_hex($_[1]) }

our %Bodies;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
redis_start();

add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my ($n) = $block->name =~ /\bTEST (\d+):/;
    $Bodies{$n}[$idx] = $body;
});

no_shuffle();
run_tests();

my $json = JSON::PP->new;

sub answer { my ($n, $i) = @_; eval { $json->decode($Bodies{$n}[$i]) } // {} }

sub jobs {
    my $e = redis_json('XRANGE', shift, '-', '+');
    return map { { @{ $_->[1] } } } @$e;
}

# TEST 1 and 2: one job per key, the duplicate names the first.
{
    my $first = answer(1, 0)->{executionId} // 'none';
    is(answer(1, 1)->{executionId}, $first, 'async: the duplicate names the first');
    isnt(answer(2, 0)->{executionId}, $first, 'async: another key, another id');
    isnt(answer(2, 0)->{executionId}, answer(2, 1)->{executionId},
         'async: a third key, a third id');

    my @jobs = jobs('test:dedup');
    is(scalar @jobs, 3, 'async: three keys, three jobs');
    is($jobs[0]{execution}, $first, 'async: the job is the first request');
    is(redis_cli('GET', main::dedup_key('dedup', 'k1')), $first,
       'async: the key holds the first id');
    is(redis_cli('GET', main::dedup_key('dedup', 'k2')), $jobs[1]{execution},
       'async: every key holds its job');
    my $ttl = redis_cli('TTL', main::dedup_key('dedup', 'k1'));
    ok($ttl > 86000 && $ttl <= 86400, "async: default TTL 24h ($ttl)");
}

# TEST 3: no key, no dedup.
{
    my @jobs = jobs('test:nokey');
    is(scalar @jobs, 2, 'no key: two jobs');
    isnt(answer(3, 0)->{executionId}, answer(3, 1)->{executionId},
         'no key: two executions');
    is(redis_cli('KEYS', 'webhook:dedup:nokey:*'), '', 'no key: no dedup key');
}

# TEST 4 and 5: after the TTL the key runs again.
{
    my @jobs = jobs('test:ttl');
    is(scalar @jobs, 2, 'ttl: a job before and one after the TTL');
    is(answer(4, 1)->{executionId}, answer(4, 0)->{executionId},
       'ttl: a duplicate within the TTL');
    isnt(answer(5, 0)->{executionId}, answer(4, 0)->{executionId},
         'ttl: a new execution after it');
    is($jobs[1]{execution}, answer(5, 0)->{executionId},
       'ttl: the second job is the later request');
}

# TEST 6: sync replays the first answer byte for byte.
{
    is($Bodies{6}[1], $Bodies{6}[0], 'sync: the replay is the first answer');
    like(answer(6, 0)->{id} // '', qr/^[0-9a-f-]{36}$/, 'sync: answered the run');
    my $stored = redis_cli('GET', main::dedup_key('syncd', 's1') . ':response');
    is($stored, "201\napplication/json\n$Bodies{6}[0]",
       'sync: the stored answer');
    is(redis_cli('GET', main::dedup_key('syncd', 's1')), answer(6, 0)->{id},
       'sync: the key holds the execution id');
    my $ttl = redis_cli('TTL', main::dedup_key('syncd', 's1') . ':response');
    ok($ttl > 0 && $ttl <= 60, "sync: the answer has the key's TTL ($ttl)");
}

# TEST 7: a failed run is an answer too.
is($Bodies{7}[1], $Bodies{7}[0], 'sync: the failure is replayed');

# TEST 11: 640 KB stored and read back.
is(length(redis_cli('GET', main::dedup_key('big', 'b1') . ':response')),
   length("200\napplication/json\n") + 640_000 + 10,
   'large: the whole answer is stored');

# TEST 9: a disabled workflow claims no key.
is(redis_cli('EXISTS', main::dedup_key('offwf', 'new')), '0',
   'disabled: no key for a request that did not run');
is(redis_cli('EXISTS', 'test:off'), '0', 'disabled: no job');

__DATA__

=== TEST 1: async: the first request is queued, a repeat is a duplicate
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:dedup;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "dedup", "nodes": []}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 2}"]
--- more_headers
X-Delivery: k1
--- error_code eval
[202, 200]
--- response_headers eval
["X-Status: queued\nContent-Type: application/json",
 "X-Status: duplicate\nContent-Type: application/json"]
--- response_body_like eval
[qr/^\{"executionId":"[0-9a-f-]{36}","status":"queued"\}$/,
 qr/^\{"executionId":"[0-9a-f-]{36}","status":"duplicate"\}$/]
--- no_error_log
[alert]
[error]



=== TEST 2: async: other keys run
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:dedup;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "dedup", "nodes": []}
--- request eval
["POST /hook\n{\"n\": 3}", "POST /hook\n{\"n\": 4}"]
--- more_headers eval
["X-Delivery: k2", "X-Delivery: k3"]
--- error_code eval
[202, 202]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"queued"/]
--- no_error_log
[alert]
[error]



=== TEST 3: async: without the header there is no dedup
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:nokey;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "nokey", "nodes": []}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 1}"]
--- error_code eval
[202, 202]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"queued"/]
--- no_error_log
[alert]
[error]



=== TEST 4: a 1s TTL: a duplicate within it
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:ttl;
        webhook_dedup $http_x_delivery 1s;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "ttl", "nodes": []}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 2}"]
--- more_headers
X-Delivery: t1
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"duplicate"/]
--- no_error_log
[alert]
[error]



=== TEST 5: a 1s TTL: 1.5s later the same key runs again
--- init
Time::HiRes::sleep(1.5);
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:ttl;
        webhook_dedup $http_x_delivery 1s;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "ttl", "nodes": []}
--- request
POST /hook
{"n": 3}
--- more_headers
X-Delivery: t1
--- error_code: 202
--- response_body_like chomp
"status":"queued"
--- no_error_log
[alert]
[error]



=== TEST 6: sync: a repeat replays the first answer
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery 60s;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "syncd", "nodes": [
  {"key": "r", "type": "response", "config": {
     "statusCode": 201,
     "body": {"id": "{{ $context.id }}", "n": "{{ $context.data.n }}"}}}]}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 2}"]
--- more_headers
X-Delivery: s1
--- error_code eval
[201, 201]
--- response_headers eval
["X-Status: resolved\nContent-Type: application/json",
 "X-Status: duplicate\nContent-Type: application/json"]
--- response_body_like eval
[qr/^\{"id":"[0-9a-f-]{36}","n":1\}$/, qr/^\{"id":"[0-9a-f-]{36}","n":1\}$/]
--- no_error_log
[alert]
[error]



=== TEST 7: sync: a failed first run is replayed as it answered
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "syncf", "nodes": [
  {"key": "c", "type": "condition",
   "config": {"calculation": {"calculator": "gt", "operands": ["{{ $context.data.n }}", 5]}}}]}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 9}"]
--- more_headers
X-Delivery: f1
--- error_code eval
[500, 500]
--- response_body_like eval
[qr/"code":"workflow_failed"/, qr/"code":"workflow_failed"/]
--- no_error_log
[alert]
[error]



=== TEST 8: sync: 409 while the first request has not answered
--- init
main::redis_cli('SET', main::dedup_key('syncr', 'r1'),
                '0190a9c2-0000-7000-8000-000000000000', 'EX', '60');
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "syncr", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {"ran": true}}}]}
--- request
POST /hook
{"n": 1}
--- more_headers
X-Delivery: r1
--- error_code: 409
--- response_headers
X-Status: duplicate
--- response_body chomp
{"error":{"code":"duplicate","message":"the first request with this key is still running"}}
--- no_error_log
[alert]
[error]



=== TEST 9: a disabled workflow: a known key is a duplicate, a new one 503
--- init
main::redis_cli('SET', main::dedup_key('offwf', 'seen'),
                '0190a9c2-0000-7000-8000-000000000001', 'EX', '60');
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:off;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "offwf", "enabled": false, "nodes": []}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 2}"]
--- more_headers eval
["X-Delivery: seen", "X-Delivery: new"]
--- error_code eval
[200, 503]
--- response_body eval
["{\"executionId\":\"0190a9c2-0000-7000-8000-000000000001\",\"status\":\"duplicate\"}",
 "{\"error\":{\"code\":\"workflow_disabled\",\"message\":\"workflow \\\"offwf\\\" is disabled\"}}"]
--- no_error_log
[alert]
[error]



=== TEST 10: sync: without a key the workflow simply runs
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "syncn", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {"n": "{{ $context.data.n }}"}}}]}
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 2}"]
--- error_code eval
[200, 200]
--- response_body eval
["{\"n\":1}", "{\"n\":2}"]
--- no_error_log
[alert]
[error]



=== TEST 11: sync: a large answer (hiredis reads 16 KB at a time) is replayed whole
--- config
    location = /hook {
        webhook_mode sync;
        client_max_body_size 2m;
        client_body_buffer_size 2m;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "big", "nodes": [
  {"key": "r", "type": "response", "config": {"body": "{{ $context.data }}"}}]}
--- request eval
my $big = '{"pad":"' . ('0123456789abcdef' x 40000) . '"}';
["POST /hook\n$big", "POST /hook\n$big"]
--- more_headers
X-Delivery: b1
--- error_code eval
[200, 200]
--- response_body eval
my $big = '{"pad":"' . ('0123456789abcdef' x 40000) . '"}';
[$big, $big]
--- no_error_log
[alert]
[error]
