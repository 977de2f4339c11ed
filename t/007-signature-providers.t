# SPDX-License-Identifier: BSD-2-Clause
# webhook_signature: the schemes of SPEC §10 (zoom, twitter, dropbox, meta,
# paddle, linear, twilio) through nginx.  Twilio's vector is the one its
# documentation publishes; the others are computed here with Digest::SHA
# from each provider's documented construction (t/unit/test_sig.c has the
# same values computed by openssl).
use Test::Nginx::Socket 'no_plan';
use Digest::SHA qw(hmac_sha256_hex hmac_sha256 hmac_sha1);
use MIME::Base64 qw(encode_base64);

our $now = time;
our $body = '{"ref":"refs/heads/main"}';
our $old = $now - 3600;
our $form = 'To=%2B18005551212&From=%2B12349013030&Digits=1234'
    . '&Caller=%2B12349013030&CallSid=CA1234567890ABCDE';

sub b64 { my $s = encode_base64($_[0], ''); $s }

# Twilio: the URL, then each parameter's name and value sorted by name.
sub twilio {
    my ($url, $token, %p) = @_;
    my $s = $url . join('', map { $_ . $p{$_} } sort keys %p);
    return b64(Digest::SHA::hmac_sha1($s, $token));
}

our %params = (To => '+18005551212', From => '+12349013030',
               Digits => '1234', Caller => '+12349013030',
               CallSid => 'CA1234567890ABCDE');

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

=== TEST 1: zoom, fresh timestamp
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature zoom zoomsecret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nx-zm-request-timestamp: $::now\n"
. "x-zm-signature: v0=" . Digest::SHA::hmac_sha256_hex("v0:$::now:$::body", "zoomsecret")
--- response_body chomp
{"ok":true}



=== TEST 2: zoom, an hour old: expired with the default tolerance
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature zoom zoomsecret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nx-zm-request-timestamp: $::old\n"
. "x-zm-signature: v0=" . Digest::SHA::hmac_sha256_hex("v0:$::old:$::body", "zoomsecret")
--- error_code: 401
--- response_body chomp
{"error":{"code":"expired_timestamp","message":"the signature timestamp is outside the allowed tolerance"}}



=== TEST 3: zoom, tolerance=0 turns the time check off
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature zoom zoomsecret tolerance=0;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nx-zm-request-timestamp: $::old\n"
. "x-zm-signature: v0=" . Digest::SHA::hmac_sha256_hex("v0:$::old:$::body", "zoomsecret")
--- response_body chomp
{"ok":true}



=== TEST 4: twitter, sha256= and base64
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twitter consumer-secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nx-twitter-webhooks-signature: sha256="
. ::b64(Digest::SHA::hmac_sha256($::body, "consumer-secret"))
--- response_body chomp
{"ok":true}



=== TEST 5: twitter, signed with another secret
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twitter consumer-secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nx-twitter-webhooks-signature: sha256="
. ::b64(Digest::SHA::hmac_sha256($::body, "other-secret"))
--- error_code: 401
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}



=== TEST 6: dropbox, hex
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature dropbox app-secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nX-Dropbox-Signature: "
. Digest::SHA::hmac_sha256_hex($::body, "app-secret")
--- response_body chomp
{"ok":true}



=== TEST 7: meta, as github
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature meta app-secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nX-Hub-Signature-256: sha256="
. Digest::SHA::hmac_sha256_hex($::body, "app-secret")
--- response_body chomp
{"ok":true}



=== TEST 8: paddle, fresh
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature paddle pdl_ntfset_secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nPaddle-Signature: ts=$::now;h1="
. Digest::SHA::hmac_sha256_hex("$::now:$::body", "pdl_ntfset_secret")
--- response_body chomp
{"ok":true}



=== TEST 9: paddle, an hour old
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature paddle pdl_ntfset_secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nPaddle-Signature: ts=$::old;h1="
. Digest::SHA::hmac_sha256_hex("$::old:$::body", "pdl_ntfset_secret")
--- error_code: 401
--- response_body chomp
{"error":{"code":"expired_timestamp","message":"the signature timestamp is outside the allowed tolerance"}}



=== TEST 10: linear, hex
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature linear lin-secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Content-Type: application/json\nLinear-Signature: "
. Digest::SHA::hmac_sha256_hex($::body, "lin-secret")
--- response_body chomp
{"ok":true}



=== TEST 11: linear, header missing
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature linear lin-secret;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"error":{"code":"missing_signature","message":"the request is not signed"}}



=== TEST 12: twilio, a form: the URL with its query, then sorted parameters
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t?foo=1&bar=2\n$::form"
--- more_headers eval
"Host: example.com:8443\n"
. "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: "
. ::twilio("http://example.com:8443/t?foo=1&bar=2", "12345", %::params)
--- response_body chomp
{"ok":true}



=== TEST 13: twilio, a parameter changed
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
my $f = $::form; $f =~ s/Digits=1234/Digits=1235/; "POST /t?foo=1&bar=2\n$f"
--- more_headers eval
"Host: example.com:8443\n"
. "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: "
. ::twilio("http://example.com:8443/t?foo=1&bar=2", "12345", %::params)
--- error_code: 401
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}



=== TEST 14: twilio, signed for another URL (the query is part of it)
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t?foo=1&bar=3\n$::form"
--- more_headers eval
"Host: example.com:8443\n"
. "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: "
. ::twilio("http://example.com:8443/t?foo=1&bar=2", "12345", %::params)
--- error_code: 401
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}



=== TEST 15: twilio, a JSON body signed through bodySHA256 in the URL
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t?bodySHA256=" . Digest::SHA::sha256_hex($::body) . "\n$::body"
--- more_headers eval
"Host: example.com:8443\nContent-Type: application/json\n"
. "X-Twilio-Signature: "
. ::b64(Digest::SHA::hmac_sha1("http://example.com:8443/t?bodySHA256="
                  . Digest::SHA::sha256_hex($::body), "12345"))
--- response_body chomp
{"ok":true}



=== TEST 16: twilio, a JSON body without bodySHA256 is not signed
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::body"
--- more_headers eval
"Host: example.com:8443\nContent-Type: application/json\n"
. "X-Twilio-Signature: "
. ::b64(Digest::SHA::hmac_sha1("http://example.com:8443/t", "12345"))
--- error_code: 401
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}



=== TEST 17: twilio, a Host without a port: signed for the URL without one
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t?foo=1\n$::form"
--- more_headers eval
"Host: example.com\n"
. "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: "
. ::twilio("http://example.com/t?foo=1", "12345", %::params)
--- response_body chomp
{"ok":true}



=== TEST 18: twilio, behind a TLS-terminating proxy: https and port 443
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::form"
--- more_headers eval
"Host: example.com\nX-Forwarded-Proto: https\n"
. "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: "
. ::twilio("https://example.com:443/t", "12345", %::params)
--- response_body chomp
{"ok":true}



=== TEST 19: twilio, signed for https but no proxy says so
--- config
    location = /t {
        webhook_mode sync;
        webhook_signature twilio 12345;
        webhook ../html/ok.json;
    }
--- request eval
"POST /t\n$::form"
--- more_headers eval
"Host: example.com\n"
. "Content-Type: application/x-www-form-urlencoded\nX-Twilio-Signature: "
. ::twilio("https://example.com/t", "12345", %::params)
--- error_code: 401
--- response_body chomp
{"error":{"code":"invalid_signature","message":"the signature does not match"}}
