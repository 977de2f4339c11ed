# SPDX-License-Identifier: BSD-2-Clause
package Test::Nginx::Util;

# A small stand-in for openresty's Test::Nginx::Util, which Debian does not
# package.  It keeps the real module's section names, environment variables,
# defaults and generated nginx.conf layout so that t/*.t files run unchanged
# under either.  Only the subset of features this project's suites use is
# implemented; anything else is simply not there (no HUP, stap, HTTP/2,
# check-leak or benchmark modes, no embedded TCP/UDP servers).

use strict;
use warnings;

our $VERSION = '0.33';

use base 'Exporter';

use Carp qw(croak);
use Config ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(SIGQUIT SIGKILL SIGTERM WNOHANG);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep);

our $HaveLongString = eval { require Test::LongString; 1 };

our $NoLongString;
our $PrevConfig;
our $RepeatEach = 1;
our $InSubprocess;
our $Verbose        = $ENV{TEST_NGINX_VERBOSE};
our $LoadModules    = $ENV{TEST_NGINX_LOAD_MODULES};
our $NoShuffle      = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $UseValgrind    = $ENV{TEST_NGINX_USE_VALGRIND};
our $EventType      = $ENV{TEST_NGINX_EVENT_TYPE};
our $Timeout        = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $WorkerUser     = $ENV{TEST_NGINX_WORKER_USER};
our $ServerAddr     = '127.0.0.1';
our $ServerName     = 'localhost';

our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled        = 'on';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT}
                            || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NoRootLocation       = 0;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;

our (@CleanupHandlers, @TestCleanupHandlers, @BlockPreprocessors);
our @EnvToNginx;
our ($ChildPid, $PrevBlock, $ErrLogFilePos, $RandPorts);
our ($NginxVersion, $NginxRawVersion);
our ($RunTestHelper, $CheckErrorLog, $CheckShutdownErrorLog);
our $FilterHttpConfig;
our $ConfigPreamble = '';
our $LatestNginxVersion = 0.008039;

# Under valgrind nginx must stay in the foreground, as our child.
$DaemonEnabled = 'off' if $UseValgrind;

# TEST_NGINX_RANDOMIZE: a free random port and t/servroot_PORT, so that
# several runs can share a machine.
our $Randomize = $ENV{TEST_NGINX_RANDOMIZE};
if ($Randomize) {
    $ServerPort = gen_rand_port(1000)
        // bail_out("Cannot find an available listening port number after "
                    . "1000 attempts.\n");
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize ? File::Spec->rel2abs("t/servroot_$ServerPort")
              : $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
our $CacheDir   = File::Spec->catfile($ServRoot, 'cache');

our @EXPORT = qw(
    expand_env_in_text env_to_nginx is_str check_accum_error_log
    is_running $NoLongString no_long_string $ServerAddr server_addr
    $ServerName server_name parse_time verbose sleep_time bail_out
    add_cleanup_handler add_test_cleanup_handler access_log_data
    error_log_data setup_server_root write_config_file get_canon_version
    get_nginx_version trim show_all_chars parse_headers run_tests
    get_pid_from_pidfile $ServerPortForClient $ServerPort $NginxVersion
    $PidFile $ServRoot $ConfFile $RunTestHelper $CheckErrorLog
    $CheckShutdownErrorLog $FilterHttpConfig $RepeatEach
    add_block_preprocessor timeout worker_connections workers master_on
    master_off config_preamble repeat_each master_process_enabled
    log_level no_shuffle no_root_location html_dir server_root
    server_port server_port_for_client is_tcp_port_used
);

sub env_to_nginx {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub _accessor {
    my $ref = shift;
    return $$ref unless @_;
    $$ref = shift;
}

sub server_port            { _accessor(\$ServerPort, @_) }
sub server_port_for_client { _accessor(\$ServerPortForClient, @_) }
sub server_addr            { _accessor(\$ServerAddr, @_) }
sub server_name            { _accessor(\$ServerName, @_) }
sub worker_connections     { _accessor(\$WorkerConnections, @_) }
sub workers                { _accessor(\$Workers, @_) }
sub log_level              { _accessor(\$LogLevel, @_) }
sub timeout                { _accessor(\$Timeout, @_) }

sub repeat_each {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub master_on  { $MasterProcessEnabled = 'on' }
sub master_off { $MasterProcessEnabled = 'off' }

sub master_process_enabled {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}

sub no_long_string        { $NoLongString = 1 }
sub no_shuffle            { $NoShuffle = 1 }
sub no_root_location      { $NoRootLocation = 1 }
sub check_accum_error_log { $CheckAccumErrLog = 1 }
sub config_preamble       { $ConfigPreamble = shift }
sub sleep_time            { $TestNginxSleep }
sub verbose               { $Verbose }
sub html_dir              { $HtmlDir }
sub server_root           { $ServRoot }

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler        { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler   { unshift @TestCleanupHandlers, shift }

# A zombie counts as gone: a daemonized nginx is reaped by init, which in
# containers may take seconds, while its sockets are closed already.
sub is_running {
    my $pid = shift;
    return 0 unless $pid && kill(0, $pid);
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        return 0 if $stat =~ /\)\s+Z\s/;
    }
    return 1;
}

sub is_tcp_port_used {
    my $port = shift;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $in, '<', $f or next;
        while (<$in>) {
            return 1 if /^\s*\d+: [0-9A-F]+:([0-9A-F]+) / && hex($1) == $port;
        }
    }
    return 0;
}

sub is_str {
    my ($got, $expected, $desc) = @_;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return is_long_str($got, $expected, $desc);
}

# Test::LongString when Debian has it, otherwise Test::Base's diffing is().
sub is_long_str {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 2;
    if (!$NoLongString && $HaveLongString) {
        return Test::LongString::is_string($got, $expected, $desc);
    }
    if (defined &Test::Base::is) {
        return Test::Base::is($got, $expected, $desc);
    }
    return Test::More::is($got, $expected, $desc);
}

sub parse_time {
    my $tm = shift;
    return $tm unless defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
        $tm /= 1000;
    } else {
        $tm =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $tm;
}

sub trim {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

# "Name: value" per line; "!Name" means the header must be absent (undef).
sub parse_headers {
    my $text = shift;
    my %h;
    my @order;
    for my $line (split /\n/, $text) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            $h{$line} = undef;
            push @order, $line;
            next;
        }
        my ($k, $v) = split /\s*:\s*/, $line, 2;
        $h{$k} = $v;
        push @order, $k;
    }
    my %seen;
    @order = grep { !$seen{$_}++ } @order;
    return wantarray ? (\%h, \@order) : \%h;
}

sub gen_rand_port {
    my ($tries, $used) = @_;
    $tries ||= 1000;
    $used ||= {};
    for (1 .. $tries) {
        my $port = 1988 + int rand 63547;
        next if $used->{$port};
        my $s = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 5, Reuse => 1);
        if ($s) {
            close $s;
            return $port;
        }
    }
    return undef;
}

# Replaces $TEST_NGINX_FOO by the environment variable (bailing out when it
# is not set) and $TEST_NGINX_RAND_PORT_N by a free port, stable per block.
sub expand_env_in_text {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $rand_ports ||= {};
    my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my $p = gen_rand_port(1000, \%used);
                bail_out("$name - Cannot find an available listening port "
                         . "number for $var.\n") unless defined $p;
                $rand_ports->{$var} = $p;
                $used{$p} = 1;
            }
            $val = $rand_ports->{$var};
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;
    return $text;
}

sub bail_out {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub get_pid_from_pidfile {
    my $name = shift;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for "
                    . "reading: $!");
    my $pid = do { local $/; <$in> };
    close $in;
    chomp $pid if defined $pid;
    return $pid;
}

# QUIT, then wait up to timeout() for the exit, then KILL.
sub kill_process {
    my ($pid, $wait, $name) = @_;
    return unless $pid;

    if ($wait) {
        kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid);
        my $left = timeout();
        while ($left > 0 && is_running($pid)) {
            waitpid($pid, WNOHANG);
            last unless is_running($pid);
            sleep 0.01;
            $left -= 0.01;
        }
        if (is_running($pid)) {
            warn "$name - timeout when waiting for the process $pid to exit";
            kill(SIGKILL, $pid);
            waitpid($pid, 0);
        }
    }

    my $step = $TestNginxSleep;
    for (1 .. 20) {
        waitpid($pid, WNOHANG);
        return unless is_running($pid);
        kill(SIGTERM, $pid);
        $step *= 1.2;
        $step = 0.5 if $step > 0.5;
        sleep $step;
    }
    warn "$name - WARNING: killing the child process $pid with force...";
    kill(SIGKILL, $pid);
    waitpid($pid, 0);
}

sub cleanup_test {
    my $block = shift;
    $_->($block) for @TestCleanupHandlers;
}

sub cleanup {
    $_->() for @CleanupHandlers;
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, 'cleanup');
        undef $ChildPid;
    }
}

sub _read_log {
    my ($file, $use_pos) = @_;
    open my $in, '<', $file or return undef;
    seek $in, $ErrLogFilePos, 0
        if $use_pos && !$CheckAccumErrLog && $ErrLogFilePos;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in if $use_pos && !$CheckAccumErrLog;
    close $in;
    return \@lines;
}

# The lines logged since the previous call within the current block.
sub error_log_data {
    # leave time for logging done after the response (log phase)
    sleep $TestNginxSleep * 3;
    return _read_log($ErrLogFile, 1);
}

sub access_log_data {
    sleep $TestNginxSleep * 3;
    my $lines = _read_log($AccLogFile, 0);
    die "open $AccLogFile failed: $!" unless $lines;
    return $lines;
}

sub get_canon_version {
    return sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub can_run {
    my $cmd = shift;
    if ($cmd =~ m{/}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }
    for my $dir ((split /$Config::Config{path_sep}/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub get_nginx_version {
    # Debian keeps nginx in /usr/sbin, which a user's PATH may lack.
    if (!can_run($NginxBinary) && $NginxBinary eq 'nginx'
        && -x '/usr/sbin/nginx')
    {
        $NginxBinary = '/usr/sbin/nginx';
    }
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the Nginx in PATH: "
                 . ($out // ''));
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

sub run_tests {
    srand($$ ^ int(Time::HiRes::time() * 1000000));
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', $0 . ' ' . scalar($block->name));
        run_test($block);
        cleanup_test($block);
        $PrevBlock = $block;
    }
    cleanup();
}

sub setup_server_root {
    if (-d $ServRoot) {
        # Remove only what we create, in case TEST_NGINX_SERVROOT points
        # somewhere it should not.
        remove_tree($ConfDir, $CacheDir, $HtmlDir, $LogDir,
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        mkdir $d or bail_out("Failed to do mkdir $d\n");
    }
    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index
        or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

# --- user_files: ">>> path [touch -t date]" lines start files; the lines up
# to the next such line are the contents.  Relative paths are under html/.
sub write_user_files {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        $body //= '';
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("Failed to touch $path with date $date\n");
        }
    }
}

sub write_config_file {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text(scalar($block->http_config), $name,
                                         $rand_ports) // '';
    $config //= '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;

    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @mods = map { "load_module $_;" } grep { $_ } split /\s+/,
                   $LoadModules;
        $main_config = join ' ', @mods, $main_config if @mods;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);
    my $post_main_config = expand_env_in_text(scalar($block->post_main_config),
                                              $name, $rand_ports) // '';
    my $err_log_file = expand_env_in_text(scalar($block->error_log_file)
                                          || $ErrLogFile, $name,
                                          $rand_ports);
    my $server_name = $block->server_name // $ServerName;

    my $nginx_V = `$NginxBinary -V 2>&1` // '';
    my %temp;
    for my $m (qw(fastcgi scgi uwsgi proxy client_body)) {
        $temp{$m} = "${m}_temp_path $ServRoot/${m}_temp;";
        $temp{$m} = '' if $nginx_V =~ /--without-http_${m}_module/;
    }
    $temp{proxy} = '' if $http_config =~ /\bproxy_temp_path\b/;
    $temp{client_body} = '' if $http_config =~ /\bclient_body_temp_path\b/;

    my $temp_paths = join ' ', @temp{qw(client_body proxy fastcgi scgi
                                        uwsgi)};
    my $envs = '';
    for my $v (@EnvToNginx) {
        $envs .= 'env ' . ($v =~ /\s/ ? "'$v'" : $v) . ";\n";
    }

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $http3_config = '';    # the real module's HTTP/3 mode is not here
    my $use = $EventType ? "    use $EventType;\n" : '';
    my $user = defined $WorkerUser ? "user $WorkerUser;\n"
             : $> == 0 ? "user root;\n" : '';

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<"_EOC_";
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
${envs}#env LUA_PATH;
#env LUA_CPATH;

$main_config

http {
    access_log $AccLogFile; $temp_paths
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        #placeholder
        server_name     '$server_name';
        $http3_config
        client_max_body_size 30M;
        #client_body_buffer_size 4k;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

#timer_resolution 100ms;

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
$use}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
_EOC_
    print $out $user;
    close $out;
}

# Stops the nginx of the previous block, if any is still running.
sub stop_nginx {
    my $name = shift;
    if (defined $ChildPid) {
        kill_process($ChildPid, 1, $name);
        undef $ChildPid;
    }
    return unless -f $PidFile;
    my $pid = get_pid_from_pidfile($name);
    if ($pid && is_running($pid)) {
        kill_process($pid, 1, $name);
    }
    unlink $PidFile;
}

sub _parse_skip {
    my ($block, $name) = @_;
    my ($n, $skip, $reason);
    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            $n = $1;
            $skip = eval $2;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$2\": $@") if $@;
            $reason = 'skip_eval';
        }
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        $n = $1;
        $reason = $6 || "nginx version $2 $3.$4.$5";
        my $ver = get_canon_version($3, $4, $5);
        $skip = 1 if eval "$NginxVersion $2 $ver";
    }
    return ($n, $skip, $reason // 'various reasons');
}

sub _nginx_command {
    my $cmd = "$NginxBinary -p $ServRoot/ -c $ConfFile";
    # -e exists since nginx 1.19.5: it keeps early messages out of the
    # compiled-in error log path.
    $cmd = "$NginxBinary -e $ErrLogFile -p $ServRoot/ -c $ConfFile"
        if $NginxVersion >= 1.019005;
    return "$cmd > /dev/null";
}

sub _valgrind_prefix {
    my $opts = $UseValgrind;
    if ($opts =~ /^\d+$/) {
        $opts = '--num-callers=100 -q --tool=memcheck --leak-check=full '
              . '--keep-debuginfo=yes --show-possibly-lost=no '
              . '--gen-suppressions=all';
        $opts .= ' --suppressions=valgrind.suppress' if -f 'valgrind.suppress';
    } else {
        $opts = "-q $opts";
    }
    return "valgrind $opts ";
}

sub run_test {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    my $rand_ports = {};
    $RandPorts = $rand_ports;
    my $config = expand_env_in_text(scalar($block->config), $name,
                                    $rand_ports);

    local $LogLevel = $block->log_level || $LogLevel;
    my $must_die = $block->must_die;
    local $UseValgrind = defined $must_die ? undef : $UseValgrind;
    local $DaemonEnabled = $UseValgrind ? 'off' : 'on';

    my ($tests_to_skip, $should_skip, $skip_reason) = _parse_skip($block,
                                                                  $name);
    my ($should_todo, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        $todo =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- todo spec: $todo");
        ($should_todo, $tests_to_skip, $todo_reason) = (1, $1, $2);
    }

    # A block without --- config runs against the previous block's nginx.
    my $restart = 1;
    if (!defined $config) {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one.") unless defined $PrevConfig;
        $restart = 0;
    }

    if (!$should_skip && $restart) {
        $PrevConfig = $config;
        stop_nginx($name);
        setup_server_root();
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);

        bail_out("$name - Cannot find the nginx executable in the PATH "
                 . "environment") unless can_run($NginxBinary);

        my $cmd = _nginx_command();
        $cmd = "$cmd 2> /dev/null" if defined $block->suppress_stderr;
        $ErrLogFilePos = 0;

        if ($UseValgrind) {
            $cmd = _valgrind_prefix() . $cmd;
            warn "$name\n";
            my $pid = fork;
            bail_out("$name - fork() failed: $!") unless defined $pid;
            if ($pid == 0) {
                setpgrp;
                $InSubprocess = 1;
                Test::More->builder->no_ending(1);
                exec "exec $cmd";
                exit 1;
            }
            $ChildPid = $pid;
            sleep $TestNginxSleep;

        } else {
            my ($i, $waited) = (0, 0);
            while (1) {
                system($cmd);
                my $status = $?;
                my $exec_failed = $status == -1;
                my $exit_code = $status >> 8;
                my $coredump = $status & 128;

                if (defined $must_die) {
                    if ($exec_failed) {
                        Test::More::fail("$name - failed to execute the nginx "
                                         . "command line");
                    } elsif ($coredump) {
                        Test::More::fail("$name - nginx core dumped");
                    } elsif (looks_like_number($must_die)) {
                        Test::More::is($must_die, $exit_code,
                                "$name - die with the expected exit code");
                    } else {
                        Test::More::isnt($status, 0,
                                         "$name - die as expected");
                    }
                    $CheckErrorLog->($block, undef, 0, $i, 0);
                    if ($status == 0) {
                        warn "WARNING: $name - nginx must die but it does ",
                             "not; killing it (req $i)";
                        for (1 .. 15) {
                            last if -f $PidFile;
                            sleep $TestNginxSleep;
                        }
                        stop_nginx($name);
                    }
                    next if ++$i < $RepeatEach;
                    return;
                }

                last if $status == 0;

                # The port may still be held by the previous nginx; any
                # other failure will not go away by waiting.
                my $log = _read_log($ErrLogFile, 0) || [];
                my $busy = grep { /Address already in use/ } @$log;
                $i++;
                my $delay = 0.1 * $i;
                $delay = 1 if $delay > 1;
                if ($busy && $waited < 30) {
                    sleep $delay;
                    $waited += $delay;
                    next;
                }
                bail_out("$name - Cannot start nginx using command \"$cmd\" "
                         . "(status code $status).");
            }
        }
        sleep $TestNginxSleep;
    }

    if ($block->init) {
        eval scalar($block->init);
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1 && !$should_skip;

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
            }
        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason",
                                      $tests_to_skip);
            }
        } else {
            $RunTestHelper->($block, 0, $i - 1);
        }
    }

    if (my $total = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile) {
            open my $out, '>>', $total
                or bail_out("Failed to append to $total: $!\n");
            print $out "\n=== $0 $name\n";
            open my $in, '<', $ErrLogFile;
            print $out $_ while <$in>;
            close $in;
            close $out;
        }
    }

    # Under valgrind, stop nginx now so that its leak report belongs to
    # this block.
    if ($UseValgrind && defined $ChildPid) {
        kill(SIGQUIT, $ChildPid);
        my $left = 20;
        while ($left-- > 0 && waitpid($ChildPid, WNOHANG) == 0) {
            sleep 0.1 + $TestNginxSleep;
        }
        if (is_running($ChildPid)) {
            kill(SIGKILL, -$ChildPid);
            waitpid($ChildPid, 0);
        }
        undef $ChildPid;
        unlink $PidFile;
    }
}

END {
    return if $InSubprocess;
    cleanup();
    if (!$ENV{TEST_NGINX_NO_CLEAN} || $UseValgrind) {
        local $?;
        if (defined $PidFile && -f $PidFile) {
            my $pid = get_pid_from_pidfile('END');
            if (is_running($pid)) {
                kill_process($pid, 1, 'END');
            } else {
                unlink $PidFile;
            }
        }
    }
    if ($Randomize && defined $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
        remove_tree($ServRoot);
    }
}

1;
