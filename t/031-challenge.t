# webhook_challenge (SPEC §10): each provider's URL-verification handshake
# is answered by nginx itself, before the workflow, and never queued (the
# Redis queue of these locations is checked empty after run_tests()).
# GET handshakes pass although webhook_methods says POST; a wrong Meta
# verify token is a 403; a Zoom handshake needs a valid signature when the
# location checks signatures (its answer is an HMAC under that secret).
use Test::Nginx::Socket 'no_plan';

use FindBin;
use Digest::SHA qw(hmac_sha256_hex hmac_sha256);
use MIME::Base64 qw(encode_base64);
use lib "$FindBin::Bin/common";
use WebhookRedis;

our $now = time;
our $zoom_body = '{"event":"endpoint.url_validation","payload":'
               . '{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1}';
our $slack_body = '{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9'
                . 'CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
redis_start();

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<'_EOC_');
>>> wf.json
{"key": "challenged", "nodes": []}
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n[error]");
    }
});

no_shuffle();
run_tests();

is(redis_cli('XLEN', 'test:challenge'), '0',
   'no handshake reached the queue');
is(redis_cli('KEYS', 'webhook:execution:*'), '', 'no execution record');
is(redis_cli('XLEN', 'test:events'), '1', 'an ordinary event is queued');

__DATA__

=== TEST 1: slack: url_verification answers the challenge as JSON
--- config
    location = /slack {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge slack;
        webhook ../html/wf.json;
        add_header X-Status $webhook_status always;
    }
--- request eval
"POST /slack\n$::slack_body"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_headers
Content-Type: application/json
X-Status: challenge
--- response_body chomp
{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}



=== TEST 2: slack: an ordinary event goes to the workflow (queued)
--- config
    location = /slack {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:events;
        webhook_challenge slack;
        webhook ../html/wf.json;
    }
--- request
POST /slack
{"type":"event_callback","event":{"type":"url_verification"}}
--- error_code: 202
--- response_body_like: "status":"queued"



=== TEST 3: slack: signed handshake answered when signatures are checked
--- config
    location = /slack {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_signature slack s3cr3t;
        webhook_challenge slack;
        webhook ../html/wf.json;
    }
--- request eval
"POST /slack\n$::slack_body"
--- more_headers eval
"X-Slack-Request-Timestamp: $::now\n"
. "X-Slack-Signature: v0="
. Digest::SHA::hmac_sha256_hex("v0:$::now:$::slack_body", 's3cr3t')
--- error_code: 200
--- response_body_like: ^\{"challenge":"3eZbrw



=== TEST 4: slack: an unsigned handshake is refused like any request
--- config
    location = /slack {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_signature slack s3cr3t;
        webhook_challenge slack;
        webhook ../html/wf.json;
    }
--- request eval
"POST /slack\n$::slack_body"
--- error_code: 401
--- response_body_like: "code":"missing_signature"



=== TEST 5: meta: GET subscribe with the right token echoes hub.challenge
--- config
    location = /meta {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge meta "my verify token";
        webhook ../html/wf.json;
    }
--- request
GET /meta?hub.mode=subscribe&hub.verify_token=my+verify%20token&hub.challenge=1158201444
--- error_code: 200
--- response_headers
Content-Type: text/plain; charset=utf-8
--- response_body chomp
1158201444



=== TEST 6: meta: a wrong token is a 403 and the secret is not echoed
--- config
    location = /meta {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge meta "my verify token";
        webhook ../html/wf.json;
    }
--- request
GET /meta?hub.mode=subscribe&hub.verify_token=my+verify+tokeN&hub.challenge=1158201444
--- error_code: 403
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"error":\{"code":"invalid_verify_token","message":"[^"]+"\}\}$
--- response_body_unlike: (1158201444|my verify)



=== TEST 7: meta: a token missing is a 403 too
--- config
    location = /meta {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge meta "my verify token";
        webhook ../html/wf.json;
    }
--- request
GET /meta?hub.mode=subscribe&hub.challenge=1158201444
--- error_code: 403



=== TEST 8: meta: a GET that is no handshake still meets webhook_methods
--- config
    location = /meta {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge meta "my verify token";
        webhook ../html/wf.json;
    }
--- request
GET /meta?hub.challenge=1
--- error_code: 405
--- response_headers
Allow: POST
--- response_body_like: "code":"method_not_allowed"



=== TEST 9: zoom: endpoint.url_validation, the HMAC of the plain token
--- config
    location = /zoom {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge zoom zoom-secret;
        webhook ../html/wf.json;
    }
--- request eval
"POST /zoom\n$::zoom_body"
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
'{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"'
. Digest::SHA::hmac_sha256_hex('qgg8vlvZRS6UYooatFL8Aw', 'zoom-secret')
. '"}'



=== TEST 10: zoom: with the zoom scheme, an unsigned handshake gets no HMAC
--- config
    location = /zoom {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_signature zoom zoom-secret;
        webhook_challenge zoom zoom-secret;
        webhook ../html/wf.json;
    }
--- request eval
"POST /zoom\n$::zoom_body"
--- error_code: 401
--- response_body_unlike: encryptedToken



=== TEST 11: zoom: a handshake signed with the zoom scheme is answered
--- config
    location = /zoom {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_signature zoom zoom-secret;
        webhook_challenge zoom zoom-secret;
        webhook ../html/wf.json;
    }
--- request eval
"POST /zoom\n$::zoom_body"
--- more_headers eval
"x-zm-request-timestamp: $::now\n"
. "x-zm-signature: v0="
. Digest::SHA::hmac_sha256_hex("v0:$::now:$::zoom_body", 'zoom-secret')
--- error_code: 200
--- response_body eval
'{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"'
. Digest::SHA::hmac_sha256_hex('qgg8vlvZRS6UYooatFL8Aw', 'zoom-secret')
. '"}'



=== TEST 12: twitter: GET crc_token, the base64 HMAC as response_token
--- config
    location = /x {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge twitter consumer-secret;
        webhook ../html/wf.json;
    }
--- request
GET /x?crc_token=NzEz%2BMjMw%2FMTM%3D
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
'{"response_token":"sha256='
. MIME::Base64::encode_base64(Digest::SHA::hmac_sha256('NzEz+MjMw/MTM=',
                                                       'consumer-secret'), '')
. '"}'



=== TEST 13: twitter: a crc_token that could be a body is not signed
--- config
    location = /x {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge twitter consumer-secret;
        webhook ../html/wf.json;
    }
--- request
GET /x?crc_token=%7B%22event%22%3A1%7D
--- error_code: 405
--- response_body_unlike: response_token



=== TEST 14: msgraph: validationToken echoed as text, decoded, on POST
--- config
    location = /graph {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge msgraph;
        webhook ../html/wf.json;
    }
--- request
POST /graph?validationToken=Validation%3A+Testing+client+application+reachability
--- more_headers
Content-Type: text/plain
--- error_code: 200
--- response_headers
Content-Type: text/plain; charset=utf-8
--- response_body chomp
Validation: Testing client application reachability



=== TEST 15: dropbox: GET challenge echoed as text
--- config
    location = /dropbox {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook_challenge dropbox;
        webhook ../html/wf.json;
    }
--- request
GET /dropbox?challenge=hD8T3zW4
--- error_code: 200
--- response_headers
Content-Type: text/plain; charset=utf-8
--- response_body chomp
hD8T3zW4



=== TEST 16: inherited from server level, off in a location
--- config
    webhook_challenge dropbox;
    location = /off {
        webhook_challenge off;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:challenge;
        webhook ../html/wf.json;
    }
--- request
GET /off?challenge=hD8T3zW4
--- error_code: 405



=== TEST 17: meta needs its SECRET
--- config
    location = /meta {
        webhook_challenge meta;
        return 204;
    }
--- must_die
--- error_log
challenge provider "meta" needs a SECRET



=== TEST 18: an unknown provider is refused
--- config
    location = /x {
        webhook_challenge github;
        return 204;
    }
--- must_die
--- error_log
unknown challenge provider "github"
