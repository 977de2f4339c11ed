# webhook_verify (SPEC §10): verify-then-proxy in front of a real upstream
# (t/common/hashecho.py), which answers with the SHA-256 of the body it
# received: the bytes must be the sender's, whether nginx kept the body in
# memory or in a temp file, whether it came chunked.  Failures get the
# JSON answers of §5 and never reach the upstream; a dedup repeat is
# answered 200 {"status":"duplicate"} by nginx.  The upstream's request
# counts and the Redis keys are checked after run_tests().
use Test::Nginx::Socket 'no_plan';

use FindBin;
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use lib "$FindBin::Bin/common";
use WebhookRedis;
use WebhookUpstream;

our $secret = 's3cret';
our $small = '{"action":"opened","number":1}';
# every byte value, 96 KB: a temp file with client_body_buffer_size 1k
our $big = join '', map { chr($_ % 256) } 0 .. 96 * 1024 - 1;

our $small_hash = sha256_hex($small);
our $evt_hash = sha256_hex('{"id":"evt_1","n":1}');

sub sig { 'X-Hub-Signature-256: sha256=' . hmac_sha256_hex($_[0], $secret) }

sub chunked {
    my ($path, $body, @headers) = @_;
    my $raw = "POST $path HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\nTransfer-Encoding: chunked\r\n"
            . join('', map { "$_\r\n" } @headers) . "\r\n";
    for (my $i = 0; $i < length $body; $i += 1000) {
        my $c = substr $body, $i, 1000;
        $raw .= sprintf("%x\r\n", length $c) . "$c\r\n";
    }
    return $raw . "0\r\n\r\n";
}

sub echoed {
    my ($body, $verified) = @_;
    my $v = defined $verified ? qr/"verified": "\Q$verified\E"/ : qr//;
    return qr/"length": ${\ length $body}, .*"sha256": "${\ sha256_hex($body)}".*$v/s;
}

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
$ENV{TEST_NGINX_DEAD_PORT} = free_port();
redis_start();
$ENV{TEST_NGINX_UPSTREAM_PORT} = upstream_start();

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->http_config) {
        $block->set_value("http_config", <<'_EOC_');
    upstream app {
        server 127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n$::secret");
    }
});

no_shuffle();
run_tests();

is(upstream_count('/bad'), 0, 'invalid signatures never reached the app');
is(upstream_count('/denied'), 0, 'deny: never reached the app');
is(upstream_count('/dup'), 1, 'dedup: the repeat never reached the app');
is(upstream_count('/fail'), 2, 'dedup: a failed delivery is retried');
is(upstream_count('/mirrored'), 1, 'mirror: the verified request is mirrored');
is(upstream_count('/unverified'), 0, 'mirror: an unverified one is not');
is(upstream_count('/plain'), 1, 'mirror: the main request is served');
is(upstream_count('/tpl'), 1, 'dedup template: one delivery per body id');
is(upstream_count('/junk'), 0, 'dedup template: an invalid body stops');

my $key = 'webhook:dedup:@verify:' . sha256_hex('d-1');
is(redis_cli('EXISTS', $key), '1', 'the claim is stored under the digest');
my $ttl = redis_cli('TTL', $key);
ok($ttl > 3500 && $ttl <= 3600, "the claim has the TTL ($ttl)");
is(redis_cli('KEYS', '*d-1*'), '', 'the key itself is not a Redis name');
is(redis_cli('EXISTS', 'webhook:dedup:@verify:' . sha256_hex('f-1')), '0',
   'a failed delivery gives its claim back');

__DATA__

=== TEST 1: a valid signature: the app gets the exact body and the scheme
--- config
    location = /gh {
        webhook_verify;
        webhook_signature github s3cret;
        proxy_set_header X-Verified $webhook_verified;
        proxy_pass http://app;
    }
--- request eval
"POST /gh\n$::small"
--- more_headers eval
::sig($::small) . "\nContent-Type: application/json"
--- error_code: 200
--- response_body_like eval
::echoed($::small, 'github')



=== TEST 2: a wrong signature: 401 JSON, the app is not asked
--- config
    location = /bad {
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- request eval
"POST /bad\n$::small"
--- more_headers eval
::sig($::small . ' ')
--- error_code: 401
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}



=== TEST 3: no signature: 401 missing_signature
--- config
    location = /bad {
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- request eval
"POST /bad\n$::small"
--- error_code: 401
--- response_body_like: "code":"missing_signature"



=== TEST 4: a method webhook_methods does not list: 405 with Allow
--- config
    location = /bad {
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- request
DELETE /bad
--- error_code: 405
--- response_headers
Allow: POST
--- response_body_like: "code":"method_not_allowed"



=== TEST 5: a body in a temp file reaches the app byte for byte
--- config
    location = /gh {
        client_body_buffer_size 1k;
        client_max_body_size 1m;
        webhook_verify;
        webhook_signature github s3cret;
        proxy_set_header X-Verified $webhook_verified;
        proxy_pass http://app;
    }
--- request eval
"POST /gh\n$::big"
--- more_headers eval
::sig($::big) . "\nContent-Type: application/octet-stream"
--- error_code: 200
--- response_body_like eval
::echoed($::big, 'github')
--- error_log
a client request body is buffered to a temporary file



=== TEST 6: a chunked upload, verified and passed whole
--- config
    location = /gh {
        webhook_verify;
        webhook_signature github s3cret;
        proxy_set_header X-Verified $webhook_verified;
        proxy_pass http://app;
    }
--- raw_request eval
::chunked('/gh', $::big, ::sig($::big))
--- error_code: 200
--- response_body_like eval
::echoed($::big, 'github')



=== TEST 7: a chunked upload in a temp file, a wrong signature: 401
--- config
    location = /bad {
        client_body_buffer_size 1k;
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- raw_request eval
::chunked('/bad', $::big, ::sig('x'))
--- error_code: 401
--- response_body_like: "code":"invalid_signature"



=== TEST 8: deny decides first (403), whatever the signature
--- config
    location = /denied {
        deny all;
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- request eval
"POST /denied\n$::small"
--- more_headers eval
::sig($::small)
--- error_code: 403



=== TEST 9: satisfy any with allow does not skip the signature check
--- config
    location = /bad {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        auth_basic "app";
        auth_basic_user_file /dev/null;
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- request eval
"POST /bad\n$::small"
--- error_code: 401
--- response_body_like: "code":"missing_signature"



=== TEST 10: dedup: the repeat is answered by nginx, not the app
--- config
    location = /dup {
        webhook_verify;
        webhook_signature github s3cret;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_github_delivery 1h;
        proxy_set_header X-Dedup-Key $webhook_dedup_key;
        proxy_pass http://app;
        add_header X-Status $webhook_status always;
    }
--- request eval
["POST /dup\n$::small", "POST /dup\n$::small"]
--- more_headers eval
::sig($::small) . "\nX-GitHub-Delivery: d-1"
--- error_code eval
[200, 200]
--- response_headers eval
["X-Status: ", "X-Status: duplicate\nContent-Type: application/json"]
--- response_body_like eval
[qr/"dedupKey": "d-1"/, qr/^\{"status":"duplicate"\}$/]



=== TEST 11: dedup: a delivery the app failed (500) is not a duplicate
--- config
    location = /fail {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        proxy_pass http://app/fail?status=500;
    }
--- request eval
["POST /fail\n$::small", "POST /fail\n$::small"]
--- more_headers
X-Delivery: f-1
--- error_code eval
[500, 500]



=== TEST 12: dedup on a body field: same id, another body, a duplicate
--- config
    location = /tpl {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup "stripe:{{ $context.data.id }}";
        proxy_set_header X-Dedup-Key $webhook_dedup_key;
        proxy_pass http://app;
    }
--- request eval
["POST /tpl\n{\"id\":\"evt_1\",\"n\":1}", "POST /tpl\n{\"n\":2,\"id\":\"evt_1\"}"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"dedupKey": "stripe:evt_1", .*"sha256": "$::evt_hash"/,
 qr/^\{"status":"duplicate"\}$/]



=== TEST 13: dedup on a body field: an invalid body is a 400, not proxied
--- config
    location = /junk {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup "{{ $context.data.id }}";
        proxy_pass http://app;
    }
--- request
POST /junk
{"id": "evt_2",
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like: "code":"invalid_body"



=== TEST 14: Redis down with a dedup key: 503 with Retry-After, not proxied
--- config
    location = /dup {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
        webhook_dedup $http_x_delivery;
        proxy_pass http://app;
    }
--- request eval
"POST /dup\n$::small"
--- more_headers
X-Delivery: down-1
--- error_code: 503
--- response_headers
Retry-After: 5
--- response_body_like: "code":"queue_unavailable"
--- no_error_log
[alert]
[crit]



=== TEST 15: no dedup key in the request: no dedup, proxied
--- config
    location = /nokey {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        proxy_pass http://app;
    }
--- request eval
["POST /nokey\n$::small", "POST /nokey\n$::small"]
--- error_code eval
[200, 200]



=== TEST 16: in front of static files (GET, a token)
--- config
    location /files/ {
        alias html/;
        webhook_verify;
        webhook_methods GET;
        webhook_signature token tok3n header=X-Token;
    }
--- user_files
>>> hello.txt
hello
--- request
GET /files/hello.txt
--- more_headers
X-Token: tok3n
--- error_code: 200
--- response_body
hello



=== TEST 17: in front of static files, a wrong token: 401
--- config
    location /files/ {
        alias html/;
        webhook_verify;
        webhook_methods GET;
        webhook_signature token tok3n header=X-Token;
    }
--- user_files
>>> hello.txt
hello
--- request
GET /files/hello.txt
--- more_headers
X-Token: tok3N
--- error_code: 401
--- response_body_unlike: hello



=== TEST 18: a handshake in front of the app is answered by nginx
--- config
    location = /dropbox {
        webhook_verify;
        webhook_signature hmac s3cret header=X-Dropbox-Signature;
        webhook_challenge dropbox;
        proxy_pass http://app;
    }
--- request
GET /dropbox?challenge=abc123
--- error_code: 200
--- response_body chomp
abc123



=== TEST 19: a passed request redirected by try_files is not checked again
--- config
    location = /redir {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        try_files /nonexistent @app;
    }
    location @app {
        webhook_verify;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup $http_x_delivery;
        proxy_set_header X-Dedup-Key $webhook_dedup_key;
        proxy_pass http://app;
    }
--- request eval
["POST /redir\n$::small", "POST /redir\n$::small"]
--- more_headers
X-Delivery: r-1
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"dedupKey": "r-1".*"sha256": "$::small_hash"/s,
 qr/^\{"status":"duplicate"\}$/]



=== TEST 20: a mirror subrequest of a verified request passes
--- config
    location = /gh {
        webhook_verify;
        webhook_signature github s3cret;
        mirror /mirror;
        proxy_pass http://app;
    }
    location = /mirror {
        internal;
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app/mirrored;
    }
--- request eval
"POST /gh\n$::small"
--- more_headers eval
::sig($::small)
--- error_code: 200
--- response_body_like eval
::echoed($::small)



=== TEST 21: a subrequest into webhook_verify from an unverified request: 403
--- config
    location = /plain {
        mirror /mirror;
        proxy_pass http://app/plain;
    }
    location = /mirror {
        internal;
        webhook_verify;
        proxy_pass http://app/unverified;
    }
--- request eval
"POST /plain\n$::small"
--- error_code: 200
--- error_log
webhook_verify: a subrequest of a request that was not verified



=== TEST 22: a body over client_max_body_size: 413, not proxied
--- config
    location = /bad {
        client_max_body_size 1k;
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- request eval
"POST /bad\n" . ('x' x 4096)
--- more_headers eval
::sig('x' x 4096)
--- error_code: 413



=== TEST 23: the client gone while the body comes: nothing proxied
--- config
    location = /bad {
        webhook_verify;
        webhook_signature github s3cret;
        proxy_pass http://app;
    }
--- raw_request eval
"POST /bad HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n"
. ::sig('y') . "\r\n\r\n" . ('y' x 1000)
--- abort
--- timeout: 0.5
--- ignore_response
--- error_log
client prematurely closed connection



=== TEST 24: $webhook_verified in a workflow location, for the audit log
--- config
    location = /wf {
        webhook_mode sync;
        webhook_signature token other-token header=X-Token;
        webhook_signature github s3cret;
        webhook ../html/wf.json;
        add_header X-Verified "[$webhook_verified]" always;
    }
--- user_files
>>> wf.json
{"key": "wf", "nodes": []}
--- request eval
["POST /wf\n$::small", "POST /wf\n$::small"]
--- more_headers eval
[::sig($::small), ""]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Verified: [github]", "X-Verified: []"]



=== TEST 25: webhook_verify and webhook in one location are refused
--- config
    location = /x {
        webhook_verify;
        webhook ../html/wf.json;
    }
--- user_files
>>> wf.json
{"key": "x", "nodes": []}
--- must_die
--- error_log
cannot be used with "webhook_verify" in one location



=== TEST 26: dedup without webhook_redis is refused
--- config
    location = /x {
        webhook_verify;
        webhook_dedup $http_x_delivery;
        proxy_pass http://app;
    }
--- must_die
--- error_log
"webhook_verify" with "webhook_dedup" needs "webhook_redis"
