# SPDX-License-Identifier: BSD-2-Clause
# The generated nginx.conf: load_module lines from TEST_NGINX_LOAD_MODULES,
# env_to_nginx, log_level, the listen port and the root location.
BEGIN {
    $ENV{TEST_NGINX_LOAD_MODULES} = '/nonexistent/ngx_selftest_a.so '
                                    . '/nonexistent/ngx_selftest_b.so';
}

use Test::Nginx::Socket 'no_plan';

env_to_nginx('WH_SELFTEST_VAR');
log_level('info');
no_shuffle();
run_tests();

my $file = server_root() . '/conf/nginx.conf';
open my $in, '<', $file or die "$file: $!";
my $conf = do { local $/; <$in> };
close $in;

my $port = server_port();
my $html = html_dir();
my $mods = "load_module /nonexistent/ngx_selftest_a.so; "
           . "load_module /nonexistent/ngx_selftest_b.so;";
like($conf, qr/^\Q$mods\E *$/m, 'load_module lines');
like($conf, qr/^env WH_SELFTEST_VAR;$/m, 'env_to_nginx');
like($conf, qr/^error_log \S+\/logs\/error\.log info;$/m, 'log_level');
like($conf, qr/^daemon on;\nmaster_process off;$/m, 'daemon, no master');
like($conf, qr/^\s+listen\s+$port;$/m, 'listen port');
like($conf, qr/location \/ \{\s+root \Q$html\E;\s+index index\.html/,
     'root location');
like($conf, qr/^events \{\s+accept_mutex off;\s+worker_connections\s+64;/m,
     'events');
like($conf, qr{^    location = /t \{ return 200; \}$}m, 'block config');

__DATA__

=== TEST 1: modules that do not exist make nginx die
--- config
    location = /t { return 200; }
--- must_die
--- suppress_stderr
--- error_log
dlopen() "/nonexistent/ngx_selftest_a.so" failed
