# SPDX-License-Identifier: BSD-2-Clause
# Sync workflows with worker nodes (SPEC §1, §2 webhook_sync_timeout, §4,
# §5): nginx queues the job with a "reply" channel and answers with what
# the worker publishes there.  Against a real redis-server and a real
# build/webhook-worker (make worker), both started here and stopped in END.
# The workflows' request nodes call nginx itself (location /upstream).
use Test::Nginx::Socket 'no_plan';

use FindBin;
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes ();
use Time::Local ();
use lib "$FindBin::Bin/common";
use WebhookRedis;
use Digest::SHA ();

# webhook:dedup:<workflow>:<hex SHA-256 of the value> (SPEC §7)
sub dedup_key { "webhook:dedup:$_[0]:" . Digest::SHA::sha256_hex($_[1]) }

our (%Bodies, %T, @Burst);

my $uuid = qr/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/;

# A workflow file; @PORT@ is nginx's port (for the request nodes).
sub wf {
    my $port = Test::Nginx::Util::server_port();
    my $text = '';
    while (my ($name, $json) = splice @_, 0, 2) {
        $json =~ s/\@PORT\@/$port/g;
        $text .= ">>> $name\n$json\n";
    }
    return $text;
}

# n requests at once on their own connections: [status, body] each.
sub burst {
    my ($path, $n) = @_;
    my $port = Test::Nginx::Util::server_port();
    my @socks;
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        my $body = "{\"n\": $i}";
        print $s "POST $path HTTP/1.1\r\nHost: localhost\r\n"
                 . "Connection: close\r\nContent-Type: application/json\r\n"
                 . "Content-Length: " . length($body) . "\r\n\r\n$body";
        push @socks, $s;
    }
    my @out;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        close $s;
        my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
        my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
        push @out, [$status // 0, $body // ''];
    }
    return @out;
}

# saved when stopped: the next start has the data back
$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main', { save => 1 });
$ENV{TEST_NGINX_REDIS_DOWN_PORT} = free_port();    # nobody listens there
$ENV{TEST_NGINX_REFUSED_PORT} = free_port();

redis_start();
worker_start();

add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my ($n) = $block->name =~ /\bTEST (\d+):/;
    $Bodies{$n}[$idx] = $body;
    $T{$n}{end}[$idx] = Time::HiRes::time();
});

worker_connections(1024);
no_shuffle();
run_tests();

my $json = JSON::PP->new;

sub answer { my ($n, $i) = @_; eval { $json->decode($Bodies{$n}[$i // 0]) } // {} }

sub record {
    my $id = shift;
    my %h = split /\n/, redis_cli('--raw', 'HGETALL', "webhook:execution:$id");
    return \%h;
}

# until the record of id has a final status, for at most secs
sub final_record {
    my ($id, $secs) = @_;
    my $rec = {};
    for (1 .. $secs * 20) {
        $rec = record($id);
        return $rec if defined $rec->{status} && $rec->{status} =~ /^-?[1-9]/
                       && $rec->{status} != -6;
        Time::HiRes::sleep(0.05);
    }
    return $rec;
}

# The executions of a workflow, from the records' index: a job's stream
# entry is deleted once its record is final.
sub jobs_of {
    my $wf = shift;
    my @ids;
    for my $id (split /\n/, redis_cli('ZRANGE', "webhook:executions:$wf",
                                       0, -1)) {
        push @ids, { execution => $id } if $id ne '';
    }
    return @ids;
}

wait_later();
redis_start();                      # stopped by the last test

# TEST 1: the job had a reply channel; the record is the run's.
{
    my $id = answer(1)->{id} // 'none';
    my ($job) = jobs_of('swreq');
    is($job->{execution}, $id, 'the job is the answered execution');
    my $rec = final_record($id, 2);
    is($rec->{status}, 1, 'the record says resolved');
    like($rec->{jobs} // '', qr/"nodeKey":"req"/, 'the record has the request node');
}

# TEST 5: a failed run is recorded failed.
{
    my ($job) = jobs_of('swfail');
    is(final_record($job->{execution}, 2)->{status}, -1,
       'failed: the record says failed');
}

# TEST 6: 504 after about 1s; the run went on and was recorded.
{
    my $elapsed = $T{6}{end}[0] - $T{6}{start};
    ok($elapsed > 0.9 && $elapsed < 2, "timeout: answered after ${elapsed}s");
    my ($id) = (answer(6)->{error}{message} // '') =~ /execution ($uuid)/;
    ok(defined $id, 'timeout: the message names the execution');
    my $rec = final_record($id // 'none', 5);
    is($rec->{status}, 1, 'timeout: the run finished anyway, resolved');
    ok($rec->{finishedAt}, 'timeout: with its finishedAt');
    is(redis_cli('EXISTS', main::dedup_key('swslow', 'slow-1')), '0',
       'timeout: the dedup key is given up, a retry runs');
}

# TEST 8: dedup: one job, the answer stored and replayed.
{
    my @jobs = jobs_of('swdedup');
    is(scalar @jobs, 1, 'dedup: one job for two requests');
    is($Bodies{8}[1], $Bodies{8}[0], 'dedup: the replay is the first answer');
    is(redis_cli('GET', main::dedup_key('swdedup', 'd-1') . ':response'),
       "201\napplication/json\n$Bodies{8}[0]", 'dedup: the stored answer');
}

# TEST 9: 30 at once, each its own answer.
{
    is(scalar(grep { $_->[0] == 201 } @Burst), 30, 'burst: 30 answers 201')
        or diag(join ' ', map { "$_->[0]: $_->[1]" }
                          grep { $_->[0] != 201 } @Burst);
    my %seen;
    my $mixed = 0;
    for my $i (0 .. $#Burst) {
        my $a = eval { $json->decode($Burst[$i][1]) } // {};
        $mixed++ if ($a->{n} // -1) != $i + 1 || ($a->{v} // 0) != 42;
        $seen{ $a->{id} // '' }++;
    }
    is($mixed, 0, 'burst: every answer is its own request\'s');
    is(scalar(grep { /$uuid/ } keys %seen), 30, 'burst: 30 executions');
}

# TEST 10: a disabled workflow queues nothing.
is(scalar(jobs_of('swoff')), 0, 'disabled: no job');

# TEST 12: the job waited for a worker; the one started by TEST 14 ran it.
{
    my ($id) = (answer(12)->{error}{message} // '') =~ /execution ($uuid)/;
    ok(defined $id, 'no worker: the message names the execution');
    my $rec = final_record($id // 'none', 5);
    is($rec->{status}, 1, 'no worker: a worker started later ran it');
    my ($h, $m, $s) = ($rec->{startedAt} // '') =~ /T(\d\d):(\d\d):([\d.]+)Z$/;
    my $started = defined $h ? Time::Local::timegm(0, 0, 0,
                      (gmtime $T{12}{end}[0])[3, 4, 5]) + $h * 3600 + $m * 60 + $s
                  : 0;
    ok($started > $T{12}{end}[0], 'no worker: it started after the 504');
}

# TEST 15: the lost subscription ended the wait at once.
{
    my $elapsed = $T{15}{end}[0] - $T{15}{start};
    ok($elapsed < 1.5, "lost: answered after ${elapsed}s, not the timeout");
}

__DATA__

=== TEST 1: a request node, then the response node: its status, headers and body
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swreq", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "r", "type": "response", "config": {
     "statusCode": 201,
     "headers": [{"name": "X-V", "value": "{{ $nodes.req.data.v }}"}],
     "body": {"id": "{{ $context.id }}", "n": "{{ $context.data.n }}",
              "v": "{{ $nodes.req.data.v }}"}}}]}
EOF
--- request
POST /hook
{"n": 7}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_headers
X-V: 42
X-Status: resolved
Content-Type: application/json
--- response_body_like chomp
^\{"id":"[0-9a-f-]{36}","n":7,"v":42\}$
--- no_error_log
[alert]
[error]



=== TEST 2: a text body is text/plain, a Content-Type header wins, no header splitting
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /text {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/text.json;
    }
    location = /typed {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/typed.json;
    }
--- user_files eval
main::wf('text.json' => <<'EOF', 'typed.json' => <<'EOF2');
{"key": "swtext", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "r", "type": "response",
   "config": {"statusCode": 202, "body": "v={{ $nodes.req.data.v }}"}}]}
EOF
{"key": "swtyped", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "r", "type": "response", "config": {
     "headers": [{"name": "Content-Type", "value": "application/xml"},
                 {"name": "X-Bad", "value": "a\r\nSet-Cookie: x=1"}],
     "body": "<v>{{ $nodes.req.data.v }}</v>"}}]}
EOF2
--- request eval
["POST /text\n{}", "POST /typed\n{}"]
--- error_code eval
[202, 200]
--- response_headers eval
["Content-Type: text/plain; charset=utf-8",
 "Content-Type: application/xml\nX-Bad: a  Set-Cookie: x=1\n!Set-Cookie"]
--- response_body eval
["v=42", "<v>42</v>"]
--- no_error_log
[alert]
[error]



=== TEST 3: a script node between the request and the response
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swscript", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "calc", "type": "script", "config": {
     "content": "return {sum: nodes.req.data.v + n, who: context.data.who};",
     "arguments": [{"name": "n", "value": "{{ $context.data.n }}"}]}},
  {"key": "r", "type": "response", "config": {"body": "{{ $nodes.calc }}"}}]}
EOF
--- request
POST /hook
{"n": 8, "who": "me"}
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"sum":50,"who":"me"}
--- no_error_log
[alert]
[error]



=== TEST 4: no response node: 200 resolved with the execution id
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
        add_header X-Id $webhook_execution_id always;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swnoresp", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}}]}
EOF
--- request
POST /hook
{}
--- error_code: 200
--- response_headers_like
X-Status: resolved
X-Id: [0-9a-f-]{36}
Content-Type: application/json
--- response_body_like chomp
^\{"executionId":"[0-9a-f-]{36}","status":"resolved"\}$
--- no_error_log
[alert]
[error]



=== TEST 5: a run that fails: 500 workflow_failed with the run's error
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swfail", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "big", "type": "condition", "config": {"calculation":
     {"calculator": "gt", "operands": ["{{ $nodes.req.data.v }}", 100]}}},
  {"key": "r", "type": "response", "config": {"body": "unreachable"}}]}
EOF
--- request
POST /hook
{}
--- error_code: 500
--- response_headers
X-Status: failed
Content-Type: application/json
--- response_body_like chomp
^\{"error":\{"code":"workflow_failed","message":"[^"]+"\}\}$
--- no_error_log
[alert]
[error]



=== TEST 6: slower than webhook_sync_timeout: 504 workflow_timeout after it
--- init
$main::T{6}{start} = Time::HiRes::time();
--- config
    location = /hook {
        webhook_mode sync;
        webhook_sync_timeout 1s;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "swslow", "nodes": [
  {"key": "busy", "type": "script", "config": {
     "content": "var t = Date.now(); while (Date.now() - t < 1800) {} return 1;"}},
  {"key": "r", "type": "response", "config": {"body": "late"}}]}
--- request
POST /hook
{}
--- more_headers
X-Delivery: slow-1
--- timeout: 4
--- error_code: 504
--- response_headers
X-Status: workflow_timeout
Content-Type: application/json
--- response_body_like chomp
^\{"error":\{"code":"workflow_timeout","message":"execution [0-9a-f-]{36} did not finish within 1000 ms; it goes on in the worker"\}\}$
--- no_error_log
[alert]
[error]



=== TEST 7: a client that goes away while waiting; the late reply finds nobody
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "swgone", "nodes": [
  {"key": "busy", "type": "script", "config": {
     "content": "var t = Date.now(); while (Date.now() - t < 800) {} return 1;"}},
  {"key": "r", "type": "response", "config": {"body": "nobody reads this"}}]}
--- request
POST /hook
{}
--- timeout: 0.3
--- abort
--- ignore_response
--- wait: 2
--- error_log eval
[qr/the client closed the connection while the worker ran execution [0-9a-f-]{36}/,
 qr/nobody waits for execution [0-9a-f-]{36} any more/]
--- no_error_log
[alert]
[error]



=== TEST 8: dedup: a repeat replays the answer of the worker's run
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery 60s;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swdedup", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "r", "type": "response", "config": {"statusCode": 201,
     "body": {"id": "{{ $context.id }}", "n": "{{ $context.data.n }}"}}}]}
EOF
--- request eval
["POST /hook\n{\"n\": 1}", "POST /hook\n{\"n\": 2}"]
--- more_headers
X-Delivery: d-1
--- error_code eval
[201, 201]
--- response_headers eval
["X-Status: resolved", "X-Status: duplicate"]
--- response_body_like eval
[qr/^\{"id":"[0-9a-f-]{36}","n":1\}$/, qr/^\{"id":"[0-9a-f-]{36}","n":1\}$/]
--- no_error_log
[alert]
[error]



=== TEST 9: 30 requests at once on one nginx worker process: each gets its own answer
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swburst", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "r", "type": "response", "config": {"statusCode": 201,
     "body": {"id": "{{ $context.id }}", "n": "{{ $context.data.n }}",
              "v": "{{ $nodes.req.data.v }}"}}}]}
EOF
--- init
@main::Burst = main::burst('/hook', 30);
--- request
POST /hook
{"n": 0}
--- error_code: 201
--- response_body_like chomp
"n":0,"v":42
--- no_error_log
[alert]
[error]



=== TEST 10: a disabled workflow with worker nodes: 503 workflow_disabled
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "swoff", "enabled": false, "nodes": [
  {"key": "req", "type": "request", "config": {"url": "http://127.0.0.1:9/"}}]}
--- request
POST /hook
{}
--- error_code: 503
--- response_body chomp
{"error":{"code":"workflow_disabled","message":"workflow \"swoff\" is disabled"}}
--- no_error_log
[alert]
[error]



=== TEST 11: Redis down from the start: 503 queue_unavailable with Retry-After, at once
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "swdown", "nodes": [
  {"key": "req", "type": "request", "config": {"url": "http://127.0.0.1:9/"}}]}
--- request eval
["POST /hook\n{}", "POST /hook\n{}"]
--- timeout: 1.5
--- error_code eval
[503, 503]
--- response_headers eval
["Retry-After: 5\nX-Status: queue_unavailable",
 "Retry-After: 5\nX-Status: queue_unavailable"]
--- response_body_like eval
[qr/^\{"error":\{"code":"queue_unavailable","message":"the job queue is unavailable: .+"\}\}$/,
 qr/^\{"error":\{"code":"queue_unavailable","message":"the job queue is unavailable: .+"\}\}$/]
--- no_error_log
[alert]



=== TEST 12: no worker running: 504 after webhook_sync_timeout
--- init
main::worker_stop();
--- config
    location = /hook {
        webhook_mode sync;
        webhook_sync_timeout 1s;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "swidle", "nodes": [
  {"key": "s", "type": "set", "config": {"values": {"a": "b"}}},
  {"key": "calc", "type": "script", "config": {"content": "return 1;"}}]}
--- request
POST /hook
{}
--- timeout: 3
--- error_code: 504
--- response_body_like chomp
"code":"workflow_timeout"
--- no_error_log
[alert]
[error]



=== TEST 13: Redis stopped: 503 queue_unavailable with Retry-After
--- init
main::redis_stop();
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "swstopped", "nodes": [
  {"key": "calc", "type": "script", "config": {"content": "return 1;"}}]}
--- request eval
["POST /hook\n{}", "POST /hook\n{}"]
--- timeout: 2
--- error_code eval
[503, 503]
--- response_headers eval
["Retry-After: 5", "Retry-After: 5"]
--- response_body_like eval
[qr/"code":"queue_unavailable"/, qr/"code":"queue_unavailable"/]
--- no_error_log
[alert]



=== TEST 14: Redis back: the subscriber connection comes back, sync runs work again
--- init
main::redis_start();
main::worker_start();
--- config
    location = /upstream {
        default_type application/json;
        return 200 '{"v":42}';
    }
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
    }
--- user_files eval
main::wf('wf.json' => <<'EOF');
{"key": "swback", "nodes": [
  {"key": "req", "type": "request",
   "config": {"method": "GET", "url": "http://127.0.0.1:@PORT@/upstream"}},
  {"key": "r", "type": "response", "config": {"body": "v={{ $nodes.req.data.v }}"}}]}
EOF
--- request eval
["POST /hook\n{}", "POST /hook\n{}"]
--- timeout: 3
--- error_code eval
[200, 200]
--- response_body eval
["v=42", "v=42"]
--- no_error_log
[alert]



=== TEST 15: Redis lost while a run is waited for: 503 at once, not 504 later
--- init
$main::T{15}{start} = Time::HiRes::time();
main::redis_stop_later(0.3);
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "swlost", "nodes": [
  {"key": "busy", "type": "script", "config": {
     "content": "var t = Date.now(); while (Date.now() - t < 3000) {} return 1;"}}]}
--- request
POST /hook
{}
--- timeout: 5
--- error_code: 503
--- response_headers
Retry-After: 5
X-Status: queue_unavailable
--- response_body_like chomp
^\{"error":\{"code":"queue_unavailable","message":"the job queue is unavailable: .+"\}\}$
--- no_error_log
[alert]
