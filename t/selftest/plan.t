# SPDX-License-Identifier: BSD-2-Clause
# An explicit plan with repeat_each(), a block preprocessor, SKIP, and the
# expansion of $ServerPort and $TEST_NGINX_* in expected bodies.
use Test::Nginx::Socket;

repeat_each(2);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(request => "GET /t\n") unless defined $block->request;
});

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the preprocessor supplies the request; $ServerPort in the body
--- config
    location = /t { return 200 "port=$server_port\n"; }
--- response_body
port=$ServerPort



=== TEST 2: a SKIP block is not counted by blocks()
--- SKIP
--- config
    this would not even start;
--- response_body
never



=== TEST 3: $TEST_NGINX_SERVER_PORT expands in response_body
--- config
    location = /t { return 200 "p=$server_port\n"; }
--- response_body
p=$TEST_NGINX_SERVER_PORT



=== TEST 4: user_files are rewritten for the repeated run
--- config
--- user_files
>>> t
served
--- response_body
served
