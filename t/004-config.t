# SPDX-License-Identifier: BSD-2-Clause
# Workflow files are validated at configuration time: nginx refuses to
# start and says which file, where and why.
use Test::Nginx::Socket 'no_plan';

use File::Temp ();

no_shuffle();
run_tests();

# webhook_redis forms, each through "nginx -t" with the module loaded: the
# IPv6 ones as hiredis takes them, the malformed ones refused by name.
# No default log paths: a source build's would be under its prefix.
my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $modules = join '', map { "load_module $_;\n" }
    split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
my %redis = ('127.0.0.1:6379' => 1, '[::1]:6379' => 1,
             'unix:/run/redis.sock' => 1, '[::1]' => 0, '[::1]:0' => 0,
             '[::1]6379' => 0, '[::g1]:6379' => 0, '::1:6379' => 0,
             '[]:6379' => 0, '[127.0.0.1]:6379' => 0);
for my $addr (sort keys %redis) {
    my $dir = File::Temp->newdir;
    open my $wf, '>', "$dir/wf.json" or die;
    print $wf '{"key": "ok", "nodes": []}';
    close $wf;
    open my $cf, '>', "$dir/nginx.conf" or die;
    print $cf "${modules}error_log $dir/error.log;\npid $dir/nginx.pid;\n",
        "events {}\nhttp { access_log off;\n",
        "server { location = /hook {\n",
        "    webhook_redis $addr;\n    webhook $dir/wf.json;\n} } }\n";
    close $cf;
    my $out = `'$bin' -t -q -p '$dir' -c '$dir/nginx.conf' -e '$dir/e' 2>&1`;
    my $ok = $? == 0;
    if ($redis{$addr}) {
        ok($ok, "webhook_redis $addr is taken") or diag($out);
    } else {
        my $re = qr/invalid Redis address "\Q$addr\E": expected IP:PORT,/
            . qr/ \[IPv6\]:PORT or unix:PATH/;
        ok(!$ok && $out =~ $re, "webhook_redis $addr is refused")
            or diag($out);
    }
}

__DATA__

=== TEST 1: malformed JSON names the file, line and column
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/bad.json;
    }
--- user_files
>>> bad.json
{"key": "x",
 "nodes": [}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*webhook: "[^"]*bad\.json": line 2, column \d+: /



=== TEST 2: a missing key
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/bad.json;
    }
--- user_files
>>> bad.json
{"nodes": []}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*"[^"]*bad\.json": "key" is required/



=== TEST 3: an unknown node type names the node
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/bad.json;
    }
--- user_files
>>> bad.json
{"key": "x", "nodes": [{"key": "n1", "type": "teleport", "config": {}}]}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*node "n1": unknown type "teleport"/



=== TEST 4: an unknown calculator names the node
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/bad.json;
    }
--- user_files
>>> bad.json
{"key": "x", "nodes": [{"key": "c1", "type": "condition", "config": {
  "calculation": {"calculator": "eq", "operands": [1, 1]}}}]}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*node "c1": unknown calculator "eq"/



=== TEST 5: a missing file
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/nope.json;
    }
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*nope\.json/



=== TEST 6: async mode needs webhook_redis
--- config
    location = /hook {
        webhook ../html/ok.json;
    }
--- user_files
>>> ok.json
{"key": "ok", "nodes": []}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*"webhook_mode async" needs "webhook_redis"/



=== TEST 7: a response node is refused in async mode
--- config
    location = /hook {
        webhook_redis 127.0.0.1:6379;
        webhook ../html/r.json;
    }
--- user_files
>>> r.json
{"key": "r", "nodes": [{"key": "resp", "type": "response", "config": {"body": {}}}]}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*node "resp": a "response" node needs webhook_mode sync/



=== TEST 8: a bad math expression names the node
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/bad.json;
    }
--- user_files
>>> bad.json
{"key": "x", "nodes": [{"key": "m1", "type": "calculation", "config": {
  "engine": "math", "expression": "1 + * 2"}}]}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*node "m1": /



=== TEST 9: duplicate node keys
--- config
    location = /hook {
        webhook_mode sync;
        webhook ../html/bad.json;
    }
--- user_files
>>> bad.json
{"key": "x", "nodes": [{"key": "a", "type": "end", "config": {}},
                       {"key": "a", "type": "end", "config": {}}]}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*duplicate node key "a"/



=== TEST 10: a redis host name is refused (hiredis would resolve it blocking)
--- config
    location = /hook {
        webhook_redis localhost:6379;
        webhook ../html/ok.json;
    }
--- user_files
>>> ok.json
{"key": "ok", "nodes": []}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid Redis address "localhost:6379"/



=== TEST 11: webhook_mode takes sync or async
--- config
    location = /hook {
        webhook_mode later;
        webhook ../html/ok.json;
    }
--- user_files
>>> ok.json
{"key": "ok", "nodes": []}
--- request
GET /
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "later"/
