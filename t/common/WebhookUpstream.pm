# A real HTTP upstream for Test::Nginx suites: t/common/hashecho.py on a
# free loopback port, stopped in END.  It answers with the SHA-256 of the
# body it received, so a suite can check that nginx passed it unchanged.
#
#     use lib "$FindBin::Bin/common";
#     use WebhookUpstream;
#     $ENV{TEST_NGINX_UPSTREAM_PORT} = upstream_start();
#     ... upstream_count('/path') after run_tests()
package WebhookUpstream;

use strict;
use warnings;

use Exporter 'import';
use FindBin ();
use IO::Socket::INET ();
use Time::HiRes ();
use WebhookRedis qw(free_port);

our @EXPORT = qw(upstream_start upstream_count);

my ($Pid, $Port);
my $Parent = $$;

sub upstream_start {
    $Port = free_port();
    $Pid = fork // die "fork: $!";
    if ($Pid == 0) {
        exec 'python3', "$FindBin::Bin/common/hashecho.py", $Port;
        die "python3: $!";
    }
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $Port, Proto => 'tcp');
        if ($s) { close $s; return $Port }
        Time::HiRes::sleep(0.05);
    }
    die "hashecho.py did not come up on port $Port";
}

# How many requests the upstream received on PATH.
sub upstream_count {
    my $path = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $Port,
                                  Proto => 'tcp') or die "upstream: $!";
    print $s "GET /count?path=$path HTTP/1.0\r\n\r\n";
    local $/;
    my $out = <$s> // '';
    return $out =~ /"count": (\d+)/ ? $1 : -1;
}

END {
    local $?;    # the exit status stays the tests'
    if ($Pid && $$ == $Parent) {
        kill 'TERM', $Pid;
        waitpid $Pid, 0;
    }
}

1;
