# webhook_viewer: the HTML page for a browser, JSON reads by ?format=,
# and nothing of it on a webhook_status location.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value("user_files", <<'_EOC_') unless $block->user_files;
>>> a.json
{"key": "alpha", "nodes": [{"key": "r", "type": "response", "config": {"body": {"ok": true}}}]}
_EOC_

    $block->set_value("config", <<'_EOC_') unless $block->config;
    location = /a {
        webhook_mode sync;
        webhook ../html/a.json;
    }
    location = /viewer {
        webhook_viewer;
    }
_EOC_
});

run_tests();

__DATA__

=== TEST 1: a browser gets the page
--- request
GET /viewer
--- more_headers
Accept: text/html,application/xhtml+xml
--- error_code: 200
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body_like: <title>[^<]*Webhook



=== TEST 2: executions need webhook_redis
--- request
GET /viewer?format=executions
--- error_code: 404
--- response_body_like: "code":"not_found"



=== TEST 3: an unknown format is a 400
--- request
GET /viewer?format=nope
--- error_code: 400
--- response_body_like: "code":"bad_request"
