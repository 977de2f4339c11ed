# webhook_dedup VALUE with $context templates (SPEC §2), alone and mixed
# with nginx variables, in async and sync workflow locations: the key is
# rendered from the parsed body (Stripe's event id), a repeat is a
# duplicate whatever else the body says, a body without the field is not
# deduplicated.  Redis keys are checked after run_tests().
use Test::Nginx::Socket 'no_plan';

use FindBin;
use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use lib "$FindBin::Bin/common";
use WebhookRedis;

our %Bodies;

$ENV{TEST_NGINX_REDIS_PORT} = redis_new('main');
redis_start();

add_response_body_check(sub {
    my ($block, $body, $idx) = @_;
    my ($n) = $block->name =~ /\bTEST (\d+):/;
    $Bodies{$n}[$idx] = $body;
});

add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<'_EOC_');
>>> wf.json
{"key": "tpl", "nodes": []}
>>> sync.json
{"key": "tplsync", "nodes": [
  {"key": "r", "type": "response",
   "config": {"statusCode": 201, "body": {"n": "{{ $context.data.n }}"}}}]}
_EOC_
    }

    if (!defined $block->no_error_log) {
        $block->set_value("no_error_log", "[alert]\n[crit]\n[error]");
    }
});

no_shuffle();
run_tests();

my $json = JSON::PP->new;
sub answer { my ($n, $i) = @_; eval { $json->decode($Bodies{$n}[$i]) } // {} }

# the Redis name of a key: its value hashed (SPEC §7)
sub key { "webhook:dedup:$_[0]:" . sha256_hex($_[1]) }

is(answer(1, 1)->{executionId}, answer(1, 0)->{executionId},
   'async: the repeat names the first execution');
is(redis_cli('XLEN', 'test:tpl'), '1', 'async: one job for one event id');
is(redis_cli('GET', key('tpl', 'evt_1')), answer(1, 0)->{executionId},
   'async: the key is the rendered event id');
is(redis_cli('XLEN', 'test:mixed'), '2', 'mixed: one job per shop');
is(redis_cli('EXISTS', key('tpl', 'shop-a/42')), '1',
   'mixed: variable and template in one key');
is(redis_cli('XLEN', 'test:nofield'), '2', 'no field: no dedup');
is($Bodies{5}[1], $Bodies{5}[0], 'sync: the repeat replays the first answer');
is(redis_cli('EXISTS', key('tplsync', 'ord_9')), '1', 'sync: the key');
is(redis_cli('XLEN', 'test:form'), '1', 'form: one job for one field value');

__DATA__

=== TEST 1: async: the event id in the body is the key
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:tpl;
        webhook_dedup "{{ $context.data.id }}";
        webhook ../html/wf.json;
        add_header X-Key $webhook_dedup_key always;
    }
--- request eval
["POST /hook\n{\"id\":\"evt_1\",\"attempt\":1}",
 "POST /hook\n{\"attempt\":2,\"id\":\"evt_1\"}"]
--- error_code eval
[202, 200]
--- response_headers eval
["X-Key: evt_1", "X-Key: evt_1"]
--- response_body_like eval
[qr/"status":"queued"/, qr/"status":"duplicate"/]



=== TEST 2: mixed with a variable; a number renders as its JSON text
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:mixed;
        webhook_dedup "$http_x_shop/{{ $context.data.order.id }}";
        webhook ../html/wf.json;
    }
--- request eval
["POST /hook\n{\"order\":{\"id\":42}}", "POST /hook\n{\"order\":{\"id\":42}}"]
--- more_headers eval
["X-Shop: shop-a", "X-Shop: shop-b"]
--- error_code eval
[202, 202]



=== TEST 3: mixed: the same shop and id again is a duplicate
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:mixed;
        webhook_dedup "$http_x_shop/{{ $context.data.order.id }}";
        webhook ../html/wf.json;
    }
--- request
POST /hook
{"order": {"id": 42, "retry": true}}
--- more_headers
X-Shop: shop-a
--- error_code: 200
--- response_body_like: "status":"duplicate"



=== TEST 4: a body without the field: an empty key, no dedup
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:nofield;
        webhook_dedup "{{ $context.data.id }}";
        webhook ../html/wf.json;
    }
--- request eval
["POST /hook\n{\"other\":1}", "POST /hook\n{\"other\":1}"]
--- error_code eval
[202, 202]



=== TEST 5: sync: the repeat replays the first answer
--- config
    location = /hook {
        webhook_mode sync;
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup "{{ $context.data.id }}";
        webhook ../html/sync.json;
    }
--- request eval
["POST /hook\n{\"id\":\"ord_9\",\"n\":1}", "POST /hook\n{\"id\":\"ord_9\",\"n\":2}"]
--- error_code eval
[201, 201]
--- response_body eval
['{"n":1}', '{"n":1}']



=== TEST 6: a form body: its field is the key
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:form;
        webhook_dedup "{{ $context.data.MessageSid }}";
        webhook ../html/wf.json;
    }
--- request eval
["POST /hook\nMessageSid=SM1&Body=hi", "POST /hook\nBody=hi&MessageSid=SM1"]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[202, 200]



=== TEST 7: an invalid body is still a 400, with a template key
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_queue test:bad;
        webhook_dedup "{{ $context.data.id }}";
        webhook ../html/wf.json;
    }
--- request
POST /hook
{"id": "x",
--- error_code: 400
--- response_body_like: "code":"invalid_body"



=== TEST 8: an unclosed template is refused at nginx -t
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup "{{ $context.data.id";
        webhook ../html/wf.json;
    }
--- must_die
--- error_log
webhook_dedup "{{ $context.data.id"



=== TEST 9: a node path is refused at nginx -t (no node has run yet)
--- config
    location = /hook {
        webhook_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
        webhook_dedup "{{ $nodes.x.id }}";
        webhook ../html/wf.json;
    }
--- must_die
--- error_log
webhook_dedup "{{ $nodes.x.id }}"
