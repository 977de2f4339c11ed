# SPDX-License-Identifier: BSD-2-Clause
# webhook_signature: every scheme of SPEC §3 against nginx, with the
# official vectors where the senders publish them.
use Test::Nginx::Socket 'no_plan';
use Digest::SHA qw(hmac_sha256_hex hmac_sha256 hmac_sha1_hex hmac_sha512_hex);
use MIME::Base64 qw(encode_base64 decode_base64);

our $now = time;
our $body = '{"ref":"refs/heads/main"}';

sub b64 { my $s = encode_base64($_[0], ''); $s }

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<'_EOC_');
>>> ok.json
{"key": "signed", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]");
    }
});

run_tests();

__DATA__

=== TEST 1: github, the documented vector
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature github "It's a Secret to Everybody";
        webhook ../html/ok.json;
    }
--- request
POST /t
Hello, World!
--- more_headers
Content-Type: text/plain
X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
--- response_body chomp
{"ok":true}
--- no_error_log
It's a Secret



=== TEST 2: github, one flipped bit
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature github "It's a Secret to Everybody";
        webhook ../html/ok.json;
    }
--- request
POST /t
Hello, World!
--- more_headers
Content-Type: text/plain
X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e16
--- error_code: 401
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}
--- no_error_log
It's a Secret



=== TEST 3: github, missing header
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature github "It's a Secret to Everybody";
        webhook ../html/ok.json;
    }
--- request
POST /t
Hello, World!
--- more_headers
Content-Type: text/plain
--- error_code: 401
--- response_body chomp
{"error":{"code":"missing_signature","message":"the request is not signed"}}



=== TEST 4: secret rotation: any line verifies
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature github old-secret;
        webhook_signature github "It's a Secret to Everybody";
        webhook ../html/ok.json;
    }
--- request
POST /t
Hello, World!
--- more_headers
Content-Type: text/plain
X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
--- response_body chomp
{"ok":true}



=== TEST 5: the secret from a variable
--- config
    set $hook_secret "It's a Secret to Everybody";
    location = /t {
        webhook_mode sync;
        webhook_signature github $hook_secret;
        webhook ../html/ok.json;
    }
--- request
POST /t
Hello, World!
--- more_headers
Content-Type: text/plain
X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
--- response_body chomp
{"ok":true}



=== TEST 6: gitlab token
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature gitlab s3cr3t;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"X-Gitlab-Token: s3cr3t"
--- error_code: 200
--- response_body_like chomp
"ok":true



=== TEST 7: gitlab token, wrong case
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature gitlab s3cr3t;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"X-Gitlab-Token: s3cr3T"
--- error_code: 401
--- response_body_like chomp
"invalid_signature"



=== TEST 8: slack, the documented vector (tolerance=0: it is from 2018)
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature slack 8f742231b10e8888abcd99yyyzzz85a5 tolerance=0;
        webhook ../html/ok.json;
    }
--- request
POST /t
token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c
--- more_headers
Content-Type: application/x-www-form-urlencoded
X-Slack-Request-Timestamp: 1531420618
X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503
--- response_body chomp
{"ok":true}



=== TEST 9: slack, the same vector is expired with the default tolerance
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature slack 8f742231b10e8888abcd99yyyzzz85a5;
        webhook ../html/ok.json;
    }
--- request
POST /t
token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c
--- more_headers
Content-Type: application/x-www-form-urlencoded
X-Slack-Request-Timestamp: 1531420618
X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503
--- error_code: 401
--- response_body chomp
{"error":{"code":"expired_timestamp","message":"the signature timestamp is outside the allowed tolerance"}}



=== TEST 10: slack, fresh timestamp
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature slack slacksecret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"X-Slack-Request-Timestamp: $::now\nX-Slack-Signature: v0="
. Digest::SHA::hmac_sha256_hex("v0:$::now:$::body", "slacksecret")
--- response_body chomp
{"ok":true}



=== TEST 11: standard webhooks, the library vector
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature standard whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw tolerance=0;
        webhook ../html/ok.json;
    }
--- request
POST /t
{"test": 2432232314}
--- more_headers
webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
webhook-timestamp: 1614265330
webhook-signature: v1,bm9ldHZhbGlk v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
--- response_body chomp
{"ok":true}



=== TEST 12: standard webhooks, ed25519 (v1a) library vector
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature standard whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g= tolerance=0;
        webhook ../html/ok.json;
    }
--- request
POST /t
{"test": 2432232314}
--- more_headers
webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
webhook-timestamp: 1614265330
webhook-signature: v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==
--- response_body chomp
{"ok":true}



=== TEST 13: standard webhooks, ed25519 with a changed body
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature standard whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g= tolerance=0;
        webhook ../html/ok.json;
    }
--- request
POST /t
{"test": 2432232315}
--- more_headers
webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
webhook-timestamp: 1614265330
webhook-signature: v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==
--- error_code: 401
--- response_body_like chomp
"invalid_signature"



=== TEST 14: stripe: the key is the whole whsec_ string, any v1 matches
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature stripe whsec_test123;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Stripe-Signature: t=$::now,v1=" . ("0" x 64) . ",v1="
. Digest::SHA::hmac_sha256_hex("$::now.$::body", "whsec_test123") . ",v0=abc"
--- response_body chomp
{"ok":true}



=== TEST 15: stripe: an old timestamp is expired
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature stripe whsec_test123;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
my $t = $::now - 1000;
"Stripe-Signature: t=$t,v1=" . Digest::SHA::hmac_sha256_hex("$t.$::body", "whsec_test123")
--- error_code: 401
--- response_body_like chomp
"expired_timestamp"



=== TEST 16: stripe: tolerance is configurable
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature stripe whsec_test123 tolerance=1h;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
my $t = $::now - 1000;
"Stripe-Signature: t=$t,v1=" . Digest::SHA::hmac_sha256_hex("$t.$::body", "whsec_test123")
--- response_body chomp
{"ok":true}



=== TEST 17: shopify, base64
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature shopify shpss_abc;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"X-Shopify-Hmac-Sha256: " . main::b64(Digest::SHA::hmac_sha256($::body, "shpss_abc"))
--- response_body chomp
{"ok":true}



=== TEST 18: dingtalk: timestamp in ms, sign over timestamp + "\n" + secret
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature dingtalk SECdingtalk;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
my $ts = $::now * 1000;
"timestamp: $ts\nsign: " . main::b64(Digest::SHA::hmac_sha256("$ts\nSECdingtalk", "SECdingtalk"))
--- response_body chomp
{"ok":true}



=== TEST 19: dingtalk: two hours old is expired (tolerance 1h)
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature dingtalk SECdingtalk;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
my $ts = ($::now - 7200) * 1000;
"timestamp: $ts\nsign: " . main::b64(Digest::SHA::hmac_sha256("$ts\nSECdingtalk", "SECdingtalk"))
--- error_code: 401
--- response_body_like chomp
"expired_timestamp"



=== TEST 20: basic
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature basic hook:pa55;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"Authorization: Basic " . main::b64("hook:pa55")
--- error_code: 200
--- response_body_like chomp
"ok":true



=== TEST 21: basic, wrong password
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature basic hook:pa55;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"Authorization: Basic " . main::b64("hook:pa56")
--- error_code: 401
--- response_body_like chomp
"invalid_signature"



=== TEST 22: basic, no Authorization
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature basic hook:pa55;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"X-Other: 1"
--- error_code: 401
--- response_body_like chomp
"missing_signature"



=== TEST 23: token in a named header
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature token tok123 header=X-Api-Key;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"X-Api-Key: tok123"
--- error_code: 200
--- response_body_like chomp
"ok":true



=== TEST 24: token, longer value
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature token tok123 header=X-Api-Key;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers eval
"X-Api-Key: tok1234"
--- error_code: 401
--- response_body_like chomp
"invalid_signature"



=== TEST 25: generic hmac: sha1, hex, prefix
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature hmac k1 header=X-Sig algorithm=sha1 prefix=sha1=;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"X-Sig: sha1=" . Digest::SHA::hmac_sha1_hex($::body, "k1")
--- response_body chomp
{"ok":true}



=== TEST 26: generic hmac: sha512, base64
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature hmac k2 header=X-Sig algorithm=sha512 encoding=base64;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"X-Sig: " . main::b64(Digest::SHA::hmac_sha512($::body, "k2"))
--- response_body chomp
{"ok":true}



=== TEST 27: the signature is checked over the raw body, not the parsed one
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature github key;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n{ \"a\" :  1 }"
--- more_headers eval
"X-Hub-Signature-256: sha256=" . Digest::SHA::hmac_sha256_hex("{ \"a\" :  1 }", "key")
--- response_body chomp
{"ok":true}



=== TEST 28: an unknown scheme is a configuration error
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature telepathy x;
        webhook ../html/ok.json;
    }
--- request
GET /
--- must_die
--- error_log
unknown signature scheme "telepathy"



=== TEST 29: hmac without header= is a configuration error
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature hmac x;
        webhook ../html/ok.json;
    }
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*header/



=== TEST 30: signature lines are inherited from the server level
--- config
    webhook_signature gitlab srv-token;
    location = /t {
        webhook_mode sync;
        webhook ../html/ok.json;
    }
--- request
POST /t
{}
--- more_headers
X-Gitlab-Token: srv-token
--- response_body chomp
{"ok":true}



=== TEST 31: headers that carry the secret are redacted from $context
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature gitlab s3cr3t;
        webhook_signature token tok123 header=X-Api-Key;
        webhook ../html/h.json;
    }
--- user_files
>>> h.json
{"key": "h", "nodes": [{"key": "r", "type": "response", "config": {"body": {
  "gitlab": "{{ $context.headers.x-gitlab-token }}",
  "key": "{{ $context.headers.x-api-key }}",
  "other": "{{ $context.headers.x-other }}"}}}]}
--- request
POST /t
{}
--- more_headers
X-Gitlab-Token: s3cr3t
X-Api-Key: wrong
X-Other: visible
--- response_body chomp
{"gitlab":"[redacted]","key":"[redacted]","other":"visible"}
