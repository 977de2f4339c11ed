# SPDX-License-Identifier: BSD-2-Clause
# Async webhooks (SPEC §1, §5, §6): the job is in a real Redis before the
# 202, Redis down or slow is a 503 queue_unavailable with Retry-After, and
# the connection comes back on its own.  Redis contents are checked after
# run_tests().
use Test::Nginx::Socket 'no_plan';

use Digest::SHA qw(sha256_hex);
use FindBin;
use IO::Socket::IP ();
use JSON::PP ();
use lib "$FindBin::Bin/common";
use WebhookRedis;

our %Bodies;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
$ENV{TEST_NGINX_REDIS_DOWN_PORT} = redis_new('down');
$ENV{TEST_NGINX_REDIS_LOST_PORT} = redis_new('lost');
$ENV{TEST_NGINX_REDIS_AUTH_PORT} = redis_new('auth', '--requirepass',
                                             's3cret');
redis_start(qw(main down lost auth));

# TEST 16 needs an IPv6 loopback, which some containers lack.
$ENV{TEST_NGINX_HAVE_IPV6} = IO::Socket::IP->new(LocalHost => '::1',
                                                 Listen => 1) ? 1 : 0;

add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my ($n) = $block->name =~ /\bTEST (\d+):/;
    $Bodies{$n}[$idx] = $body;
});

no_shuffle();
run_tests();

my $uuid7 = qr/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
my $json = JSON::PP->new;

# TEST 1: the job entry and the workflow definition.
{
    my $id = eval { $json->decode($Bodies{1}[0])->{executionId} } // '';
    my $entries = redis_json('XRANGE', 'test:basic', '-', '+');
    is(scalar @$entries, 1, 'basic: one job in the stream');
    my %f = @{ $entries->[0][1] // [] };
    is(join(',', map { $entries->[0][1][2 * $_] } 0 .. 3),
       'execution,workflow,revision,context', 'basic: the 4 fields in order');
    is(scalar @{ $entries->[0][1] // [] }, 8, 'basic: no other field');
    like($f{execution} // '', $uuid7, 'basic: execution is a UUIDv7');
    is($f{execution}, $id, 'basic: execution is the answered executionId');
    is($f{workflow}, 'basic', 'basic: workflow key');
    like($f{revision} // '', qr/^[0-9a-f]{64}$/, 'basic: revision is hex');

    my $ctx = eval { $json->decode($f{context}) } // {};
    is_deeply($ctx->{data}, { ref => 'refs/heads/main', n => 1,
                              list => [1, 'two', { three => JSON::PP::true }] },
              'basic: context.data is the body');
    is($ctx->{id}, $id, 'basic: context.id');
    is($ctx->{workflow}, 'basic', 'basic: context.workflow');
    is($ctx->{method}, 'POST', 'basic: context.method');
    is($ctx->{headers}{'x-delivery'}, 'd-1', 'basic: context.headers');
    is_deeply($ctx->{query}, { a => '1' }, 'basic: context.query');
    index($f{context} // '', '"data":{"ref": "refs/heads/main", "n": 1,') > 0
        or diag("context: $f{context}");
    ok(index($f{context} // '', '"data":{"ref": "refs/heads/main", "n": 1,')
       > 0, 'basic: the JSON body is verbatim in the context');

    # the revision hashes the canonical JSON (sorted keys); the stored
    # definition keeps the file's key order
    my $def = redis_cli('GET', "webhook:workflow:$f{revision}");
    my $canon = JSON::PP->new->canonical->encode($json->decode($def));
    is(sha256_hex($canon), $f{revision},
       'basic: the definition is stored under its revision');
    is(eval { $json->decode($def)->{key} }, 'basic',
       'basic: the definition is the workflow');
}

# TEST 2: the custom acknowledgement refers to the queued execution.
{
    my $body = eval { $json->decode($Bodies{2}[0]) } // {};
    my $entries = redis_json('XRANGE', 'test:ack', '-', '+');
    is(scalar @$entries, 1, 'ack: one job');
    my %f = @{ $entries->[0][1] // [] };
    is($body->{id}, $f{execution}, 'ack: the answer names the job');
}

# TEST 3: nothing queued (sync runs with worker nodes: t/012-sync-worker.t).
is(redis_cli('EXISTS', 'test:disabled'), '0', 'disabled: nothing queued');

# TEST 5: the burst.
{
    my $entries = redis_json('XRANGE', 'test:burst', '-', '+');
    is(scalar @$entries, 100, 'burst: 100 jobs');
    my %ids = map { my %f = @{ $_->[1] }; ($f{execution} => 1) } @$entries;
    is(scalar keys %ids, 100, 'burst: 100 distinct executions');
    my %answered = map {
        (eval { $json->decode($_)->{executionId} } // '') => 1
    } @{ $Bodies{5} // [] };
    is_deeply(\%answered, \%ids, 'burst: every answer is a job');
    my @n = map { my %f = @{ $_->[1] };
                  eval { $json->decode($f{context})->{data}{n} } // -1 }
            @$entries;
    is("@n", join(' ', 1 .. 100), 'burst: jobs in the order of the requests');
}

# TEST 9 is not checked: the XADD that timed out runs when Redis wakes up.
# A 503 says the job may be missing, not that it is: a retry may queue it
# twice (at-least-once), never a 2xx without it.

# TEST 7 and 8: after the outages the jobs are there, and the definition
# is sent again to a Redis that came back empty.
is(redis_cli('down', 'XLEN', 'test:back'), '1', 'restarted: the job is queued');
{
    my $e = redis_json('lost', 'XRANGE', 'test:lost', '-', '+');
    is(scalar @$e, 1, 'reconnected: one job queued');
    my %f = @{ $e->[0][1] // [] };
    is(eval { $json->decode($f{context})->{data}{a} }, 2,
       'reconnected: the job of the second request');
    ok($f{revision} && redis_cli('lost', 'EXISTS',
                                 "webhook:workflow:$f{revision}") eq '1',
       'reconnected: the definition is back in the emptied Redis');
}

# TEST 14: 2 MB in one job.
{
    my $e = redis_json('XRANGE', 'test:big', '-', '+');
    my %f = @{ $e->[0][1] // [] };
    my $ctx = eval { $json->decode($f{context} // '') } // {};
    is(length($ctx->{data}{pad} // ''), 16 * 131072, 'large: the whole body');
}

# TEST 15: an async body is checked as a sync one is, same messages.
{
    is(redis_cli('XLEN', 'test:invalid'), '1',
       'invalid: only the valid body is queued');
    for my $i (0 .. 2) {
        my ($a, $s) = ($Bodies{15}[$i] // 'none', $Bodies{15}[$i + 4] // '');
        is($a, $s, "invalid: async and sync say the same of body $i");
    }
}

# TEST 11: db=.
is(redis_cli('-n', '3', 'XLEN', 'test:db'), '1', 'db=3: the job is in db 3');
{
    my $e = redis_json('-n', '3', 'XRANGE', 'test:db', '-', '+');
    my %f = @{ $e->[0][1] // [] };
    ok($f{revision} && redis_cli('-n', '3', 'EXISTS',
                                 "webhook:workflow:$f{revision}") eq '1',
       'db=3: the definition is in db 3');
}

# TEST 16: [::1]:port.
SKIP: {
    skip 'no IPv6 loopback', 1 unless $ENV{TEST_NGINX_HAVE_IPV6};
    is(redis_cli('XLEN', 'test:ipv6'), '1', 'IPv6: the job is queued');
}

# TEST 12: password=.
is(redis_cli('auth', '-a', 's3cret', '--no-auth-warning', 'XLEN',
             'test:auth'),
   '1', 'password: the job is queued');

__DATA__

=== TEST 1: 202 once the job is in the stream, with the default body
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:basic;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
        add_header X-Id $webhook_execution_id always;
    }
--- user_files
>>> wf.json
{"key": "basic", "nodes": [
  {"key": "deploy", "type": "request",
   "config": {"method": "POST", "url": "http://127.0.0.1:9/deploy"}}]}
--- request
POST /hook?a=1
{"ref": "refs/heads/main", "n": 1, "list": [1, "two", {"three": true}]}
--- more_headers
Content-Type: application/json
X-Delivery: d-1
--- error_code: 202
--- response_headers_like
Content-Type: application/json
X-Status: queued
X-Id: [0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}
--- response_body_like chomp
^\{"executionId":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","status":"queued"\}$
--- no_error_log
[alert]
[error]



=== TEST 2: the workflow's "response" is the acknowledgement
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:ack;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "ack",
 "response": {"statusCode": "{{ $context.data.code }}",
              "headers": [{"name": "X-Queued", "value": "ref={{ $context.data.ref }}"}],
              "body": {"id": "{{ $context.id }}", "ref": "{{ $context.data.ref }}", "queued": true}},
 "nodes": [{"key": "v", "type": "set", "config": {"values": {"a": 1}}}]}
--- request
POST /hook
{"ref": "refs/heads/dev", "code": 201}
--- error_code: 201
--- response_headers
X-Queued: ref=refs/heads/dev
Content-Type: application/json
--- response_body_like chomp
^\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","ref":"refs/heads/dev","queued":true\}$
--- no_error_log
[alert]
[error]



=== TEST 3: a disabled workflow answers 503 workflow_disabled
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:disabled;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "off", "enabled": false, "nodes": []}
--- request
POST /hook
{"a": 1}
--- error_code: 503
--- response_headers
X-Status: workflow_disabled
!Retry-After
--- response_body_like chomp
^\{"error":\{"code":"workflow_disabled","message":".*"\}\}$
--- no_error_log
[alert]
[error]



=== TEST 5: a burst of 100 requests: 100 answers 202, 100 jobs
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:burst;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "burst", "nodes": []}
--- pipelined_requests eval
[map { "POST /hook\n{\"n\": $_}" } 1 .. 100]
--- more_headers
Content-Type: application/json
--- error_code eval
[(202) x 100]
--- response_body_like eval
[(qr/^\{"executionId":"[0-9a-f-]{36}","status":"queued"\}$/) x 100]
--- no_error_log
[alert]
[error]



=== TEST 6: Redis stopped: 503 queue_unavailable with Retry-After, at once
--- init
main::redis_stop('down');
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
        webhook_queue test:down;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "down", "nodes": []}
--- request eval
["POST /hook\n{\"a\": 1}", "POST /hook\n{\"a\": 2}"]
--- timeout: 3
--- error_code eval
[503, 503]
--- response_headers eval
["Retry-After: 5\nX-Status: queue_unavailable",
 "Retry-After: 5\nX-Status: queue_unavailable"]
--- response_body_like eval
[qr/^\{"error":\{"code":"queue_unavailable","message":"the job queue is unavailable: .*"\}\}$/,
 qr/^\{"error":\{"code":"queue_unavailable","message":"the job queue is unavailable: .*"\}\}$/]
--- no_error_log
[alert]



=== TEST 7: Redis back: the worker process reconnects and queues again
--- init
main::redis_start('down');
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
        webhook_queue test:back;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "back", "nodes": []}
--- request
POST /hook
{"a": 1}
--- timeout: 3
--- error_code: 202
--- response_body_like chomp
"status":"queued"
--- no_error_log
[alert]



=== TEST 8: a lost connection: 503 while Redis is away, then 202 again
--- init
main::redis_stop('lost');
main::redis_start_later('lost', 0.5);
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_LOST_PORT;
        webhook_queue test:lost;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "lost", "nodes": []}
--- request eval
["POST /hook\n{\"a\": 1}", "POST /hook\n{\"a\": 2}"]
--- wait: 1.5
--- timeout: 3
--- error_code eval
[503, 202]
--- response_headers eval
["Retry-After: 5", "!Retry-After"]
--- no_error_log
[alert]



=== TEST 9: Redis not answering: 503 within the command timeout
--- init
main::redis_pause('down');
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
        webhook_queue test:slow;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "slow", "nodes": []}
--- request
POST /hook
{"a": 1}
--- timeout: 3
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body_like chomp
^\{"error":\{"code":"queue_unavailable","message":"the job queue is unavailable: timed out"\}\}$
--- error_log
did not answer in 2000 ms
--- no_error_log
[alert]



=== TEST 10: a queue that is not a stream: 503, and the reason in the log
--- init
main::redis_resume('down');
main::redis_cli('SET', 'test:notastream', 'x');
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:notastream;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "wrongtype", "nodes": []}
--- request
POST /hook
{"a": 1}
--- error_code: 503
--- response_body_like chomp
"code":"queue_unavailable"
--- error_log
WRONGTYPE
--- no_error_log
[alert]



=== TEST 11: db= selects the database of the jobs and definitions
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT db=3;
        webhook_queue test:db;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "db", "nodes": []}
--- request
POST /hook
{"a": 1}
--- error_code: 202
--- no_error_log
[alert]
[error]



=== TEST 12: password= authenticates the connection
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_AUTH_PORT password=s3cret;
        webhook_queue test:auth;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "auth", "nodes": []}
--- request
POST /hook
{"a": 1}
--- error_code: 202
--- no_error_log
[alert]
[error]



=== TEST 13: a wrong password: 503 and the refusal in the log
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_AUTH_PORT password=wrong;
        webhook_queue test:auth;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "auth", "nodes": []}
--- request
POST /hook
{"a": 1}
--- timeout: 3
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log
refused the connection setup
--- no_error_log
[alert]



=== TEST 14: a large body: a job of more than the socket buffer holds
--- config
    location = /hook {
        client_max_body_size 4m;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:big;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "big", "nodes": []}
--- request eval
"POST /hook\n" . '{"pad":"' . ('0123456789abcdef' x 131072) . '"}'
--- error_code: 202
--- response_body_like chomp
"status":"queued"
--- no_error_log
[alert]
[error]



=== TEST 15: an invalid JSON body is 400, as in sync mode, and not queued
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:invalid;
        webhook ../html/wf.json;
    }
    location = /sync {
        webhook_mode sync;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "invalid", "nodes": []}
--- pipelined_requests eval
["POST /hook\n{\n  \"a\": 1,\n  \"b\" 2\n}",
 "POST /hook\n{\"a\": [1, 2",
 "POST /hook\nnull,\"ip\":\"6.6.6.6\"",
 "POST /hook\n \n {\"ok\": true} \n",
 "POST /sync\n{\n  \"a\": 1,\n  \"b\" 2\n}",
 "POST /sync\n{\"a\": [1, 2",
 "POST /sync\nnull,\"ip\":\"6.6.6.6\""]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 202, 400, 400, 400]
--- response_body_like eval
['invalid JSON: unexpected character \'2\' at line 3, column 7',
 'invalid JSON: unexpected end of input at line 1, column \d+',
 '"code":"invalid_body"',
 '"status":"queued"',
 'invalid JSON: unexpected character \'2\' at line 3, column 7',
 'invalid JSON: unexpected end of input at line 1, column \d+',
 '"code":"invalid_body"']
--- no_error_log
[alert]



=== TEST 16: an IPv6 address in brackets
--- skip_eval: 3: !$ENV{TEST_NGINX_HAVE_IPV6}
--- config
    location = /hook {
        webhook_redis [::1]:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:ipv6;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "ipv6", "nodes": []}
--- request
POST /hook
{"a": 1}
--- error_code: 202
--- response_body_like chomp
"status":"queued"
--- no_error_log
[error]
