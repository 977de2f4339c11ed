# SPDX-License-Identifier: BSD-2-Clause
# Real redis-servers, and build/webhook-worker, for the Test::Nginx suites
# that need them.  A suite loads it after Test::Nginx::Socket, so that it
# runs under the real Test::Nginx as under the stand-in in t/lib:
#
#     use FindBin;
#     use lib "$FindBin::Bin/common";
#     use WebhookRedis;
#
# Each server has a name ('main' when none is given), a free loopback port
# and a temporary directory; whatever is started here is stopped in END.
package WebhookRedis;

use strict;
use warnings;

use Exporter 'import';
use File::Spec ();
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our @EXPORT = qw(free_port redis_new redis_start redis_stop redis_pause
    redis_resume redis_start_later redis_stop_later wait_later redis_cli
    redis_json worker_start worker_stop);

our %Redis;         # name => { port, dir, args, save }
our @Children;      # of redis_start_later and redis_stop_later
our $Worker = File::Spec->rel2abs($ENV{WH_TEST_WORKER}
                                  // 'build/webhook-worker');
our $WorkerPid;

my $Parent = $$;

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# redis_new(NAME, [{ save => 1 },] ARGS...): a server, not started yet;
# ARGS go to redis-server.  With save, redis_stop saves the data and the
# next start has it back.  Returns the port.
sub redis_new {
    my $name = shift;
    my $opts = ref $_[0] eq 'HASH' ? shift : {};
    $Redis{$name} = {
        port => free_port(),
        dir  => tempdir('webhook-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1),
        args => [@_],
        save => $opts->{save},
    };
    return $Redis{$name}{port};
}

# redis-cli against a server (main by default); its stdout, chomped.
sub redis_cli {
    my $name = @_ && exists $Redis{ $_[0] } ? shift : 'main';
    my @cmd = ('redis-cli', '-p', $Redis{$name}{port}, @_);
    open my $fh, '-|', @cmd or die "redis-cli: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    $out //= '';
    $out =~ s/\n\z//;
    return $out;
}

# One command, its reply decoded from redis-cli --json.
sub redis_json {
    my $name = @_ && exists $Redis{ $_[0] } ? shift : 'main';
    return JSON::PP->new->allow_nonref->decode(redis_cli($name, '--json',
                                                         @_));
}

sub redis_up {
    my $r = $Redis{ shift // 'main' };
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $r->{port}, Proto => 'tcp');
    return 0 unless $s;
    print $s "PING\r\n";
    my $line = <$s>;
    close $s;
    return defined $line && $line =~ /^(\+PONG|-NOAUTH)/;
}

# redis_start(NAME...): the servers named (main by default), up.
sub redis_start {
    for my $name (@_ ? @_ : 'main') {
        my $r = $Redis{$name};
        # "-::1": also IPv6 loopback where the machine has it
        system('redis-server', '--port', $r->{port},
               '--bind', '127.0.0.1', '-::1',
               '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
               '--dir', $r->{dir}, '--pidfile', "$r->{dir}/redis.pid",
               '--logfile', "$r->{dir}/redis.log", @{ $r->{args} }) == 0
            or die "cannot start redis-server";
        for (1 .. 101) {
            last if redis_up($name);
            die "redis-server did not come up on port $r->{port}"
                if $_ == 101;
            Time::HiRes::sleep(0.05);
        }
    }
}

# A daemon's zombie may wait long for a reaper (PID 1 in a container).
sub alive {
    my $pid = shift;
    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh> // '';
    return $stat !~ /^\d+ \(.*\) Z/;
}

sub redis_pid {
    my $r = $Redis{ shift // 'main' };
    open my $fh, '<', "$r->{dir}/redis.pid" or return undef;
    my $pid = <$fh>;
    close $fh;
    chomp $pid if defined $pid;
    return $pid;
}

# redis_stop(NAME, KEEP): without --save points, SIGTERM loses the data:
# the server comes back empty.  With KEEP (the server's save by default),
# the data is saved and reloaded by the next start.
sub redis_stop {
    my ($name, $keep) = @_;
    $name //= 'main';
    $keep //= $Redis{$name}{save};
    my $pid = redis_pid($name) or return;
    kill 'CONT', $pid;
    if ($keep) {
        redis_cli($name, 'SHUTDOWN', 'SAVE');
    } else {
        kill 'TERM', $pid;
    }
    for (1 .. 100) {
        last unless alive($pid);
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', $pid if alive($pid);
    unlink "$Redis{$name}{dir}/redis.pid";
}

# Pauses the server: connections stay open and nothing answers.
sub redis_pause  { kill 'STOP', redis_pid(@_) }
sub redis_resume { kill 'CONT', redis_pid(@_) }

# CODE after DELAY seconds in a child, without holding up the test.
sub later {
    my ($delay, $code) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        Time::HiRes::sleep($delay);
        eval { $code->() };
        POSIX::_exit($@ ? 1 : 0);
    }
    push @Children, $pid;
}

# redis_start_later([NAME,] DELAY), redis_stop_later([NAME,] DELAY)
sub redis_start_later {
    my $name = @_ > 1 ? shift : 'main';
    later(shift, sub { redis_start($name) });
}

sub redis_stop_later {
    my $name = @_ > 1 ? shift : 'main';
    later(shift, sub { redis_stop($name) });
}

# Until the children of the *_later calls have done.
sub wait_later {
    waitpid($_, 0) for @Children;
    @Children = ();
}

# build/webhook-worker (or WH_TEST_WORKER) against the main server, its
# output in the server's directory (worker.log).
sub worker_start {
    die "$Worker is missing: make worker\n" unless -x $Worker;
    my $r = $Redis{main};
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$r->{dir}/worker.log";
        open STDERR, '>>', "$r->{dir}/worker.log";
        # loopback peers of the tests (the SSRF policy refuses them)
        exec($Worker, '--redis', "127.0.0.1:$r->{port}",
             '--allow-net', '127.0.0.0/8,::1/128')
            or POSIX::_exit(127);
    }
    $WorkerPid = $pid;
    # it reads from the start of the stream: waiting is for the timings
    for (1 .. 100) {
        last if redis_cli('XINFO', 'GROUPS', 'webhook:jobs')
                =~ /webhook-workers/;
        Time::HiRes::sleep(0.05);
    }
}

sub worker_stop {
    return unless $WorkerPid;
    kill 'TERM', $WorkerPid;
    for (1 .. 100) {
        last if waitpid($WorkerPid, POSIX::WNOHANG()) != 0;
        Time::HiRes::sleep(0.05);
    }
    if (waitpid($WorkerPid, POSIX::WNOHANG()) == 0) {
        kill 'KILL', $WorkerPid;
        waitpid($WorkerPid, 0);
    }
    undef $WorkerPid;
}

# Not in a child that leaves through exit: the servers are the parent's.
END {
    if ($$ == $Parent) {
        local $?;
        wait_later();
        worker_stop();
        redis_stop($_) for keys %Redis;
    }
}

1;
