# SPDX-License-Identifier: BSD-2-Clause
# webhook_queue NAME max=N (SPEC §2, §5, §7 "Backpressure"): while the
# stream holds N entries or more, async requests (with or without dedup)
# and sync runs with worker nodes answer 503 queue_full with Retry-After
# and add nothing; no worker runs here, so nothing leaves the stream.
# Redis contents are checked after run_tests().
use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use WebhookRedis;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
redis_start('main');

no_shuffle();
run_tests();

is(redis_cli('XLEN', 'test:full'), 3, 'full: three jobs, no more');
is(redis_cli('XLEN', 'test:dedup'), 2, 'dedup: two jobs, no more');
is(redis_cli('EXISTS', 'webhook:dedup:fulldedup:k3'), 0,
   'dedup: no key claimed for the refused job');
is(redis_cli('XLEN', 'test:sync'), 1, 'sync: the one entry put there');
is(redis_cli('XLEN', 'test:default'), 1, 'default max: the job was added');
is(redis_cli('XLEN', 'test:mixed'), 20, 'mixed: exactly max jobs');

__DATA__

=== TEST 1: max=3: three jobs, then 503 queue_full with Retry-After
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:full max=3;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "full", "nodes": []}
--- pipelined_requests eval
[map { "POST /hook\n{\"n\": $_}" } 1 .. 5]
--- more_headers
Content-Type: application/json
--- error_code eval
[202, 202, 202, 503, 503]
--- response_headers eval
["X-Status: queued\n!Retry-After", "X-Status: queued", "X-Status: queued",
 "X-Status: queue_full\nRetry-After: 5",
 "X-Status: queue_full\nRetry-After: 5"]
--- response_body_like eval
[(qr/"status":"queued"/) x 3,
 (qr/^\{"error":\{"code":"queue_full","message":"[^"]+"\}\}$/) x 2]
--- no_error_log
[alert]
[crit]



=== TEST 2: with dedup: a repeat is still answered as one, a new key is refused
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:dedup max=2;
        webhook_dedup $http_x_id;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "fulldedup", "nodes": []}
--- pipelined_requests eval
["POST /hook\n{}", "POST /hook\n{}", "POST /hook\n{}", "POST /hook\n{}"]
--- more_headers eval
["X-Id: k1", "X-Id: k2", "X-Id: k1", "X-Id: k3"]
--- error_code eval
[202, 202, 200, 503]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"queued"/, qr/"status":"duplicate"/,
 qr/"code":"queue_full"/]
--- no_error_log
[alert]
[crit]



=== TEST 3: a sync run with worker nodes on a full queue: 503 queue_full, at once
--- init
main::redis_cli('XADD', 'test:sync', '*', 'execution', 'x');
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:sync max=1;
        webhook_mode sync;
        webhook_sync_timeout 30s;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "fullsync", "nodes": [{"key": "s", "type": "script", "config": {"content": "return 1;"}}]}
--- request
POST /hook
{}
--- timeout: 5
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body_like chomp
"code":"queue_full"
--- no_error_log
[alert]
[crit]



=== TEST 4: the default max (100000) lets a job in
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:default;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "default", "nodes": []}
--- request
POST /hook
{}
--- error_code: 202
--- no_error_log
[alert]
[error]



=== TEST 5: max= must be a positive number
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:bad max=0;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "bad", "nodes": []}
--- must_die
--- error_log
invalid parameter "max=0"



=== TEST 6: max=20 and 30 jobs: the plain XADD far below max, the script near it, exactly 20 in
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:mixed max=20;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "mixed", "nodes": []}
--- pipelined_requests eval
[map { "POST /hook\n{\"n\": $_}" } 1 .. 30]
--- more_headers
Content-Type: application/json
--- error_code eval
[(202) x 20, (503) x 10]
--- no_error_log
[alert]
[crit]
