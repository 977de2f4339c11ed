# SPDX-License-Identifier: BSD-2-Clause
# webhook_redis replicas=N wait=TIME and sentinel=… master=NAME (SPEC §2,
# §8): no 2xx before WAIT confirmed the job on N replicas (a primary
# without replicas answers 503 queue_unavailable after wait=, and the job
# may exist), a primary with a replica answers 202; the Sentinel form
# connects to the primary a Sentinel names (a fake Sentinel here, a real
# one in t/integration/failover.sh); malformed forms fail at nginx -t.
use Test::Nginx::Socket 'no_plan';

use Digest::SHA ();
use FindBin;
use IO::Socket::INET ();
use POSIX ();
use lib "$FindBin::Bin/common";
use WebhookRedis;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
$ENV{TEST_NGINX_REDIS_REPLICA_PORT} = redis_new('replica', '--replicaof',
                                                '127.0.0.1',
                                                $ENV{TEST_NGINX_REDIS_PORT});
$ENV{TEST_NGINX_REDIS_ALONE_PORT} = redis_new('alone');
redis_start(qw(main replica alone));

# the replica in sync before the tests
for (1 .. 100) {
    last if redis_cli('INFO', 'replication') =~ /slave0:.*state=online/;
    Time::HiRes::sleep(0.1);
}

# A Sentinel stand-in: answers SENTINEL get-master-addr-by-name with the
# main Redis's address, anything else with an error.  It runs in a child
# process for the whole file.
my $sentinel = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Proto => 'tcp',
                                     ReuseAddr => 1)
    or die "sentinel: $!";
$ENV{TEST_NGINX_SENTINEL_PORT} = $sentinel->sockport;
$ENV{TEST_NGINX_DEAD_PORT} = WebhookRedis::free_port();
my $sentinel_pid = fork // die "fork: $!";

if ($sentinel_pid == 0) {
    $SIG{CHLD} = 'IGNORE';
    while (my $c = $sentinel->accept) {
        next if fork;
        my $buf = '';
        while (sysread($c, $buf, 4096, length $buf)) {
            while ($buf =~ s/^\*(\d+)\r\n((?:\$\d+\r\n[^\r]*\r\n)*)//) {
                my @a = $2 =~ /\$\d+\r\n([^\r]*)\r\n/g;
                if (lc($a[0] // '') eq 'sentinel' && @a == 3
                    && $a[2] eq 'mymaster')
                {
                    my $p = $ENV{TEST_NGINX_REDIS_PORT};
                    print $c "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($p)
                             . "\r\n$p\r\n";
                } elsif (lc($a[0] // '') eq 'sentinel' && @a == 3
                         && $a[2] eq 'named')
                {
                    print $c "*2\r\n\$12\r\nevil.example\r\n\$4\r\n6379\r\n";
                } elsif (lc($a[0] // '') eq 'sentinel') {
                    print $c "*-1\r\n";
                } else {
                    print $c "-ERR unknown command\r\n";
                }
            }
        }
        POSIX::_exit(0);        # not Test::Nginx's END blocks
    }
    POSIX::_exit(0);
}

# An execution waiting in a wait node, on each primary (webhook_resume).
my $wid = '01900000-0000-7000-8000-0000000000aa';
for my $name (qw(main alone)) {
    redis_cli($name, 'HSET', "webhook:execution:$wid", 'workflow', 'w',
              'revision', 'f' x 64, 'context', "{\"id\":\"$wid\"}",
              'queue', 'test:resumed', 'status', 0, 'waiting', 'approve');
}
$ENV{TEST_NGINX_WAIT_ID} = $wid;
$ENV{TEST_NGINX_WAIT_TOKEN} = Digest::SHA::hmac_sha256_hex("$wid/approve",
                                                           'r3sume');

no_shuffle();
run_tests();

kill 'KILL', $sentinel_pid;

is(redis_cli('alone', 'XLEN', 'test:alone'), 1,
   'no replica: the job may exist all the same (at-least-once)');
is(redis_cli('XLEN', 'test:sentinel'), 1,
   'the job went to the primary the Sentinel named');
is(redis_cli('XLEN', 'test:resumed'), 1,
   'resume with a replica: the job of the resumed execution');

__DATA__

=== TEST 1: replicas=1 with a replica in sync: 202
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT replicas=1;
        webhook_queue test:replicated;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "rep", "nodes": []}
--- pipelined_requests eval
[map { "POST /hook\n{\"n\": $_}" } 1 .. 20]
--- more_headers
Content-Type: application/json
--- error_code eval
[(202) x 20]
--- no_error_log
[alert]
[error]



=== TEST 2: replicas=1 without a replica: 503 queue_unavailable after wait=
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_ALONE_PORT replicas=1 wait=200ms;
        webhook_queue test:alone;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- user_files
>>> wf.json
{"key": "alone", "nodes": []}
--- request
POST /hook
{"n": 1}
--- timeout: 5
--- error_code: 503
--- response_headers
Retry-After: 5
X-Status: queue_unavailable
--- response_body_like chomp
"code":"queue_unavailable".*replicas
--- error_log
0 of 1 replicas confirmed within 200 ms
--- no_error_log
[alert]



=== TEST 3: replicas=1 with dedup: the claim is confirmed too, a repeat is a duplicate
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT replicas=1;
        webhook_queue test:repdedup;
        webhook_dedup $http_x_id;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "repdedup", "nodes": []}
--- pipelined_requests eval
["POST /hook\n{}", "POST /hook\n{}"]
--- more_headers
X-Id: same
--- error_code eval
[202, 200]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"duplicate"/]
--- no_error_log
[alert]
[error]



=== TEST 4: sentinel=… master=…: the job goes to the primary it names
--- config
    location = /hook {
        webhook_redis sentinel=127.0.0.1:$TEST_NGINX_DEAD_PORT,127.0.0.1:$TEST_NGINX_SENTINEL_PORT master=mymaster;
        webhook_queue test:sentinel;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "sent", "nodes": []}
--- request
POST /hook
{"n": 1}
--- timeout: 5
--- error_code: 202
--- no_error_log
[alert]



=== TEST 5: a master no Sentinel knows: 503 queue_unavailable, at once
--- config
    location = /hook {
        webhook_redis sentinel=127.0.0.1:$TEST_NGINX_SENTINEL_PORT master=other;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "nomaster", "nodes": []}
--- request
POST /hook
{"n": 1}
--- timeout: 3
--- error_code: 503
--- response_body_like chomp
"code":"queue_unavailable"
--- error_log
knows no primary "other"
--- no_error_log
[alert]



=== TEST 6: malformed forms are refused by nginx -t
--- config
    location = /hook {
        webhook_redis sentinel=127.0.0.1:1 replicas=1;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "bad", "nodes": []}
--- must_die
--- error_log
"sentinel=" and "master=" go together



=== TEST 7: a Sentinel named by host name is refused (no DNS)
--- config
    location = /hook {
        webhook_redis sentinel=localhost:26379 master=m;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "bad", "nodes": []}
--- must_die
--- error_log
invalid Sentinel address "localhost:26379"



=== TEST 8: master= without sentinel=
--- config
    location = /hook {
        webhook_redis 127.0.0.1:6379 master=m;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "bad", "nodes": []}
--- must_die
--- error_log
"master=" needs "sentinel="



=== TEST 9: wait= must be a time
--- config
    location = /hook {
        webhook_redis 127.0.0.1:6379 replicas=1 wait=soon;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "bad", "nodes": []}
--- must_die
--- error_log
invalid parameter "wait=soon"



=== TEST 10: a Sentinel naming a host name is not followed (no DNS): 503
--- config
    location = /hook {
        webhook_redis sentinel=127.0.0.1:$TEST_NGINX_SENTINEL_PORT master=named;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "named", "nodes": []}
--- request
POST /hook
{"n": 1}
--- timeout: 3
--- error_code: 503
--- response_body_like chomp
"code":"queue_unavailable"
--- error_log
names the primary "evil.example:6379", not an IP address and port
--- no_error_log
[alert]
[crit]



=== TEST 11: webhook_resume, replicas=1 with a replica in sync: 200
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT replicas=1;
        webhook_resume r3sume;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_WAIT_ID}/approve?token=$ENV{TEST_NGINX_WAIT_TOKEN}\n{}"
--- error_code: 200
--- no_error_log
[alert]
[error]



=== TEST 12: webhook_resume, replicas=1 without a replica: no 200 but 503
--- config
    location /resume/ {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_ALONE_PORT replicas=1 wait=200ms;
        webhook_resume r3sume;
    }
--- request eval
"POST /resume/$ENV{TEST_NGINX_WAIT_ID}/approve?token=$ENV{TEST_NGINX_WAIT_TOKEN}\n{}"
--- timeout: 5
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body_like chomp
"code":"queue_unavailable"
--- error_log
0 of 1 replicas confirmed within 200 ms
--- no_error_log
[alert]
