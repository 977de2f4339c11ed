# SPDX-License-Identifier: BSD-2-Clause
# What nginx already does for a webhook endpoint, tested together with the
# module (SPEC §2): IP allow-lists behind a trusted proxy (allow/deny and
# realip), HTTPS, limit_req and client_max_body_size.
#
# HTTPS: a self-signed certificate for "hooks.test" is made here with
# openssl.  The test server's TLS server block is reached through a plain
# location that proxies to it with proxy_ssl_verify on, so the requests are
# ordinary Test::Nginx requests and nginx checks the certificate chain and
# name as any TLS client would.
use Test::Nginx::Socket 'no_plan';

use Digest::SHA qw(hmac_sha256_hex);
use File::Temp qw(tempdir);

my $certs = tempdir("webhook-tls-XXXXXX", TMPDIR => 1, CLEANUP => 1);

system("openssl req -x509 -newkey rsa:2048 -nodes -days 2"
       . " -subj /CN=hooks.test -addext subjectAltName=DNS:hooks.test"
       . " -keyout $certs/key.pem -out $certs/cert.pem 2>/dev/null") == 0
    or die "openssl req failed: $?";

$ENV{TEST_NGINX_CERT_DIR} = $certs;

our $BODY = '{"ref":"refs/heads/main"}';
our $SIG = "X-Hub-Signature-256: sha256=" . hmac_sha256_hex($BODY, "s3cret");

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<'_EOC_');
>>> ip.json
{"key": "ip", "nodes": [
  {"key": "r", "type": "response", "config": {"body": {
     "ip": "{{ $context.ip }}", "ref": "{{ $context.data.ref }}"}}}]}
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n[emerg]");
    }
});

run_tests();

__DATA__

=== TEST 1: allow-list behind a trusted proxy: an allowed client address
--- config
    location = /hook {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        allow 127.0.0.2;
        deny all;
        webhook_mode sync;
        webhook ../html/ip.json;
    }
--- request eval
["POST /hook\n{}", "POST /hook\n{}"]
--- more_headers eval
["X-Forwarded-For: 127.0.0.2", "X-Forwarded-For: 10.9.9.9, 127.0.0.2"]
--- error_code eval
[200, 200]
--- response_body eval
['{"ip":"127.0.0.2"}', '{"ip":"127.0.0.2"}']



=== TEST 2: allow-list: any other address is nginx's 403, the workflow never runs
--- config
    location = /hook {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        allow 127.0.0.2;
        deny all;
        webhook_mode sync;
        webhook ../html/ip.json;
        add_header X-Status "[$webhook_status]" always;
    }
--- request eval
["POST /hook\n{}", "POST /hook\n{}", "POST /hook\n{}"]
--- more_headers eval
["X-Forwarded-For: 10.1.2.3", "", "X-Forwarded-For: 127.0.0.2, 10.1.2.3"]
--- error_code eval
[403, 403, 403]
--- response_headers eval
["X-Status: []", "X-Status: []", "X-Status: []"]
--- response_body_like eval
["<title>403 Forbidden</title>", "<title>403 Forbidden</title>",
 "<title>403 Forbidden</title>"]
--- error_log
access forbidden by rule



=== TEST 3: X-Forwarded-For from an untrusted peer is ignored
--- config
    location = /hook {
        set_real_ip_from 192.0.2.1;
        real_ip_header X-Forwarded-For;
        webhook_mode sync;
        webhook ../html/ip.json;
    }
--- request
POST /hook
{}
--- more_headers
X-Forwarded-For: 127.0.0.2
--- error_code: 200
--- response_body chomp
{"ip":"127.0.0.1"}



=== TEST 4: HTTPS with a generated certificate, signed request
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        server_name hooks.test;
        ssl_certificate $TEST_NGINX_CERT_DIR/cert.pem;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/key.pem;

        location = /hook {
            webhook_mode sync;
            webhook_signature github s3cret;
            webhook ../html/ip.json;
            add_header X-Scheme $scheme always;
            add_header X-TLS $ssl_protocol always;
        }
    }
--- config
    location = /tls {
        proxy_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/hook;
        proxy_ssl_server_name on;
        proxy_ssl_name hooks.test;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $TEST_NGINX_CERT_DIR/cert.pem;
    }
--- request eval
["POST /tls\n$::BODY", "POST /tls\n$::BODY", "POST /tls\n$::BODY"]
--- more_headers eval
["Content-Type: application/json\n$::SIG",
 "Content-Type: application/json\nX-Hub-Signature-256: sha256=" . ("0" x 64),
 "Content-Type: application/json"]
--- error_code eval
[200, 401, 401]
--- response_headers eval
["X-Scheme: https\nContent-Type: application/json",
 "X-Scheme: https\nContent-Type: application/json",
 "X-Scheme: https\nContent-Type: application/json"]
--- response_headers_like eval
["X-TLS: TLSv1\\.[23]", "X-TLS: TLSv1\\.[23]", "X-TLS: TLSv1\\.[23]"]
--- response_body eval
['{"ip":"127.0.0.1","ref":"refs/heads/main"}',
 '{"error":{"code":"invalid_signature","message":"the signature does not match"}}',
 '{"error":{"code":"missing_signature","message":"the request is not signed"}}']



=== TEST 5: plain HTTP sent to the HTTPS port is refused by nginx
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        server_name hooks.test;
        ssl_certificate $TEST_NGINX_CERT_DIR/cert.pem;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/key.pem;

        location = /hook {
            webhook_mode sync;
            webhook ../html/ip.json;
        }
    }
--- config
    location = /plain {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/hook;
    }
--- request eval
"POST /plain\n$::BODY"
--- error_code: 400
--- response_body_like chomp
The plain HTTP request was sent to HTTPS port



=== TEST 6: limit_req, burst 0, 1r/m: the second request is nginx's 503
--- http_config
    limit_req_zone $binary_remote_addr zone=hooks6:1m rate=1r/m;
--- config
    location = /hook {
        limit_req zone=hooks6;
        webhook_mode sync;
        webhook ../html/ip.json;
    }
--- request eval
["POST /hook\n$::BODY", "POST /hook\n$::BODY"]
--- error_code eval
[200, 503]
--- response_body_like eval
['^\{"ip":"127\.0\.0\.1","ref":"refs/heads/main"\}$',
 "<title>503 Service Temporarily Unavailable</title>"]



=== TEST 7: limit_req_status 429 with a JSON answer and Retry-After
--- http_config
    limit_req_zone $binary_remote_addr zone=hooks7:1m rate=1r/m;
--- config
    location = /hook {
        limit_req zone=hooks7;
        limit_req_status 429;
        error_page 429 = @rate_limited;
        webhook_mode sync;
        webhook ../html/ip.json;
    }
    location @rate_limited {
        default_type application/json;
        add_header Retry-After 60 always;
        return 429 '{"error":{"code":"rate_limited","message":"too many requests"}}';
    }
--- request eval
["POST /hook\n$::BODY", "POST /hook\n$::BODY"]
--- error_code eval
[200, 429]
--- response_headers eval
["Content-Type: application/json\n!Retry-After",
 "Content-Type: application/json\nRetry-After: 60"]
--- response_body eval
['{"ip":"127.0.0.1","ref":"refs/heads/main"}',
 '{"error":{"code":"rate_limited","message":"too many requests"}}']



=== TEST 8: client_max_body_size: a larger body is nginx's 413
--- config
    location = /hook {
        client_max_body_size 18;
        webhook_mode sync;
        webhook ../html/ip.json;
    }
--- request eval
["POST /hook\n{\"ref\":\"12345678\"}", "POST /hook\n{\"ref\":\"123456789\"}"]
--- error_code eval
[200, 413]
--- response_body_like eval
['^\{"ip":"127\.0\.0\.1","ref":"12345678"\}$',
 "<title>413 Request Entity Too Large</title>"]



=== TEST 9: client_max_body_size: a large Content-Length is refused before the body
--- config
    lingering_timeout 200ms;
    location = /hook {
        client_max_body_size 1k;
        webhook_mode sync;
        webhook ../html/ip.json;
        error_page 413 = @too_large;
    }
    location @too_large {
        default_type application/json;
        return 413 '{"error":{"code":"body_too_large","message":"at most 1k"}}';
    }
--- request
POST /hook
{}
--- more_headers
Content-Length: 104857600
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":{"code":"body_too_large","message":"at most 1k"}}
--- error_log
client intended to send too large body: 104857600 bytes



=== TEST 10: all of it together in front of a signed webhook
--- http_config
    limit_req_zone $binary_remote_addr zone=hooks10:1m rate=60r/m;
--- config
    location = /hook {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        allow 127.0.0.2;
        deny all;
        client_max_body_size 64;
        limit_req zone=hooks10 burst=10 nodelay;
        webhook_mode sync;
        webhook_signature github s3cret;
        webhook ../html/ip.json;
    }
--- request eval
["POST /hook\n$::BODY", "POST /hook\n$::BODY",
 "POST /hook\n" . ("x" x 100), "POST /hook\n$::BODY"]
--- more_headers eval
["X-Forwarded-For: 127.0.0.2\n$::SIG", "X-Forwarded-For: 127.0.0.3\n$::SIG",
 "X-Forwarded-For: 127.0.0.2\n$::SIG", "X-Forwarded-For: 127.0.0.2"]
--- error_code eval
[200, 403, 413, 401]
--- response_body_like eval
['^\{"ip":"127\.0\.0\.2","ref":"refs/heads/main"\}$',
 "<title>403 Forbidden</title>",
 "<title>413 Request Entity Too Large</title>",
 '^\{"error":\{"code":"missing_signature","message":"the request is not signed"\}\}$']
