# SPDX-License-Identifier: BSD-2-Clause
# Credentials at rest (SPEC §7): the headers of webhook_redact_header
# (default authorization proxy-authorization cookie x-api-key) and those
# that carry a gitlab, basic or token secret are "[redacted]" in
# $context.headers, from the workflow on; after sync and async requests
# (with the worker's records) no key or value anywhere in Redis holds a
# secret, and no key is named by a raw dedup value.  Against a real redis-server and build/webhook-worker.
use Test::Nginx::Socket 'no_plan';

use FindBin;
use Time::HiRes ();
use lib "$FindBin::Bin/common";
use WebhookRedis;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');

redis_start();
worker_start();

our @Secrets = qw(s3cr3t-bearer s3cr3t-cookie s3cr3t-apikey s3cr3t-proxy
                  s3cr3t-gitlab s3cr3t-token s3cr3t-basic s3cr3t-custom
                  dXNlcjpzM2NyM3QtYmFzaWM);

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_') unless $block->user_files;
>>> echo.json
{"key": "echo", "nodes": [{"key": "r", "type": "response",
  "config": {"body": "{{ $context.headers }}"}}]}
>>> worker.json
{"key": "worker", "nodes": [
  {"key": "up", "type": "request", "config": {"method": "GET",
   "url": "http://127.0.0.1:@PORT@/up"}},
  {"key": "r", "type": "response", "config": {"body": "{{ $context.headers }}"}}]}
>>> queued.json
{"key": "queued", "nodes": [{"key": "s", "type": "set",
  "config": {"values": {"h": "{{ $context.headers }}"}}}]}
_EOC_

    my $files = $block->user_files;
    my $port = Test::Nginx::Util::server_port();
    $files =~ s/\@PORT\@/$port/g;
    $block->set_value("user_files", $files);

    $block->set_value("config", <<'_EOC_') unless $block->config;
    location = /up { default_type application/json; return 200 '{}'; }
    location = /default {
        webhook_mode sync;
        webhook ../html/echo.json;
    }
    location = /gitlab {
        webhook_mode sync;
        webhook_redact_header x-custom;
        webhook_signature gitlab s3cr3t-gitlab;
        webhook ../html/echo.json;
    }
    location = /off {
        webhook_mode sync;
        webhook_redact_header off;
        webhook_signature token s3cr3t-token header=X-Token;
        webhook ../html/echo.json;
    }
    location = /sync-worker {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_signature basic user:s3cr3t-basic;
        webhook ../html/worker.json;
    }
    location = /async {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_signature token s3cr3t-token header=X-Token;
        webhook_dedup $http_x_delivery;
        webhook ../html/queued.json;
    }
_EOC_
});

run_tests();

# Every key of the Redis, by type, with its whole content.
sub redis_everything {
    my $all = '';
    for my $key (split /\n/, redis_cli('--raw', '--scan')) {
        my $type = redis_cli('TYPE', $key);
        my @cmd = $type eq 'string' ? ('GET', $key)
                : $type eq 'hash'   ? ('HGETALL', $key)
                : $type eq 'list'   ? ('LRANGE', $key, 0, -1)
                : $type eq 'set'    ? ('SMEMBERS', $key)
                : $type eq 'zset'   ? ('ZRANGE', $key, 0, -1)
                : $type eq 'stream' ? ('XRANGE', $key, '-', '+')
                :                     ();
        $all .= "$key\n" . (@cmd ? redis_cli('--raw', @cmd) : '') . "\n";
    }
    return $all;
}

# the worker records the queued executions: until none is left running
for (1 .. 100) {
    my $n = redis_cli('XLEN', 'webhook:jobs');
    last if $n eq '0';
    Time::HiRes::sleep(0.05);
}
Time::HiRes::sleep(0.3);

my $all = redis_everything();
like($all, qr/webhook:execution:/, 'Redis holds execution records');
like($all, qr/\[redacted\]/, '... with redacted headers');
for my $s (@Secrets) {
    unlike($all, qr/\Q$s\E/, "no key or value in Redis holds $s");
}

# dedup keys are hashed: the value never names a key (§7)
my $keys = redis_cli('--raw', '--scan');
unlike($keys, qr/delivery-d1/, 'no key name holds the dedup value');
like($keys, qr/^webhook:dedup:queued:[0-9a-f]{64}$/m,
     '... its key is the hex SHA-256 of it');

__DATA__

=== TEST 1: the default list
--- request
POST /default
{}
--- more_headers
Authorization: Bearer s3cr3t-bearer
Proxy-Authorization: Basic s3cr3t-proxy
Cookie: sid=s3cr3t-cookie
X-Api-Key: s3cr3t-apikey
X-Other: visible
--- error_code: 200
--- response_body_like chomp
^(?!.*s3cr3t)(?=.*"authorization":"\[redacted\]")(?=.*"proxy-authorization":"\[redacted\]")(?=.*"cookie":"\[redacted\]")(?=.*"x-api-key":"\[redacted\]")(?=.*"x-other":"visible").*$



=== TEST 2: a list replaces the default; a scheme's own header stays redacted
--- request
POST /gitlab
{}
--- more_headers
X-Gitlab-Token: s3cr3t-gitlab
X-Custom: s3cr3t-custom
Authorization: Bearer shown-now
--- error_code: 200
--- response_body_like chomp
^(?!.*s3cr3t)(?=.*"x-gitlab-token":"\[redacted\]")(?=.*"x-custom":"\[redacted\]")(?=.*"authorization":"Bearer shown-now").*$



=== TEST 3: off: only the scheme's secret
--- request
POST /off
{}
--- more_headers
X-Token: s3cr3t-token
Cookie: sid=shown-too
--- error_code: 200
--- response_body_like chomp
^(?!.*s3cr3t)(?=.*"x-token":"\[redacted\]")(?=.*"cookie":"sid=shown-too").*$



=== TEST 4: a sync run through the worker: basic's Authorization redacted
--- request
POST /sync-worker
{}
--- more_headers
Authorization: Basic dXNlcjpzM2NyM3QtYmFzaWM=
Cookie: sid=s3cr3t-cookie
--- error_code: 200
--- response_body_like chomp
^(?!.*s3cr3t)(?!.*dXNlcjpzM2NyM3QtYmFzaWM)(?=.*"authorization":"\[redacted\]").*$



=== TEST 5: async jobs, also a duplicate
--- request eval
["POST /async\n{}", "POST /async\n{}"]
--- more_headers
X-Token: s3cr3t-token
X-Delivery: delivery-d1
Authorization: Bearer s3cr3t-bearer
X-Api-Key: s3cr3t-apikey
--- error_code eval
[202, 200]



=== TEST 6: webhook_redact_header: names are checked
--- config
    location = /x {
        webhook_redact_header "x bad";
        webhook ../html/echo.json;
    }
--- must_die
--- error_log
invalid header name "x bad"
