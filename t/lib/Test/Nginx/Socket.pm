# SPDX-License-Identifier: BSD-2-Clause
package Test::Nginx::Socket;

# A small stand-in for openresty's Test::Nginx::Socket (not packaged in
# Debian): same sections, semantics, test names and exports for the subset
# this project uses.  `make test` puts t/lib on @INC only when the real
# module is missing.  See Test::Nginx::Util for the server side.
#
# Sections: config, http_config, main_config, post_main_config, user_files,
# request, request_eval, more_headers, raw_request, raw_request_middle_delay,
# pipelined_requests, error_code, error_code_like, response_headers,
# response_headers_like, raw_response_headers_like/_unlike, response_body,
# response_body_eval, response_body_like/_unlike, error_log, no_error_log,
# grep_error_log, grep_error_log_out, access_log, no_access_log, timeout,
# abort, wait, shutdown, ignore_response, must_die, suppress_stderr,
# log_level, server_name, error_log_file, init, skip_eval, skip_nginx, todo,
# server_addr_for_client; ONLY, SKIP and LAST come from Test::Base.
# As in the real module, $TEST_NGINX_* is expanded in config, http_config,
# main_config, post_main_config, user_files, pipelined_requests,
# response_body and grep_error_log_out, not in request or more_headers;
# with several requests (pipelined or an array) every check section that is
# given must be an array with one entry per response.

use v5.10.1;
use strict;
use warnings;

use Test::Base -base;

our $VERSION = '0.33';

use Errno qw(EAGAIN EWOULDBLOCK EINPROGRESS);
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

use Test::Nginx::Util;

our @EXPORT = qw(env_to_nginx is_str plan run_tests run_test
    repeat_each config_preamble worker_connections master_process_enabled
    no_long_string workers master_on master_off log_level no_shuffle
    no_root_location server_name server_addr server_root html_dir
    server_port server_port_for_client timeout check_accum_error_log
    add_block_preprocessor bail_out add_test_cleanup_handler
    add_cleanup_handler add_response_body_check);

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

$RunTestHelper = \&run_test_helper;
$CheckErrorLog = \&check_error_log;

sub run_test { Test::Nginx::Util::run_test(@_) }

sub add_response_body_check { push @ResponseBodyChecks, shift }

sub _fail_no_ending {
    Test::More->builder->no_ending(1);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    Test::More::fail($_[0]);
}

# --- Building requests ---------------------------------------------------

# --- more_headers: "Name: value" per line, "#" lines ignored.
sub parse_more_headers {
    my $in = shift;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $in) {
        next if $line =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $line, 2;
        $v //= '';
        $chunked = 1 if lc($k) eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# "METHOD [URI [VERSION]]" on the first line, the body after it.  Adds Host,
# Connection and Content-Length (over the whitespace-trimmed body) as the
# real module does.
sub build_request {
    my ($name, $more_headers, $chunked, $conn, $text) = @_;

    bail_out("$name - Request line should be non-empty")
        if !defined $text || $text eq '';
    my ($first, $content) = split /\n/, $text, 2;
    $first .= "\n" if defined $content;
    $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid. Should be 'meth "
                    . "[url [version]]' but got \"$first\".");
    my ($meth, $url, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');
    $content //= '';

    my $len = '';
    if (!$chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len = 'Content-Length: ' . length($content) . "\r\n";
    }
    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    $headers .= "Host: $ServerName\r\n"
        if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;

    return "$meth $url $ver\r\n$headers$more_headers$len\r\n$content";
}

sub _headers_for {
    my ($more_headers, $i) = @_;
    if (ref $more_headers eq 'ARRAY') {
        my $h = $more_headers->[$i];
        bail_out("--- more_headers lacks data for the request $i")
            unless defined $h;
        return parse_more_headers($h);
    }
    return parse_more_headers($more_headers);
}

# Returns a list of requests, each a list of packets to send.
sub get_req_from_block {
    my $block = shift;
    my $name = $block->name;
    my @reqs;

    if (defined(my $raw = $block->raw_request)) {
        push @reqs, ref $raw eq 'ARRAY' ? [@$raw] : [$raw];
        return \@reqs;
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval "
                         . "instead.");
        $request = eval scalar($block->request_eval);
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
        }
    }
    my $more_headers = $block->more_headers || '';

    if (my $pipelined = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            if ref $pipelined ne 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$pipelined) {
            my $r = expand_env_in_text($pipelined->[$i], $name,
                                       $Test::Nginx::Util::RandPorts);
            my ($hdr, $chunked) = _headers_for($more_headers, $i);
            $all .= build_request($name, $hdr, $chunked,
                                  $i == $#$pipelined ? 'close' : 'keep-alive',
                                  $r);
        }
        push @reqs, [$all];

    } elsif (!ref $request) {
        my ($hdr, $chunked) = _headers_for($more_headers, 0);
        push @reqs, [build_request($name, $hdr, $chunked, 'close', $request)];

    } elsif (ref $request eq 'ARRAY') {
        for my $i (0 .. $#$request) {
            my ($hdr, $chunked) = _headers_for($more_headers, $i);
            bail_out("$name - request packets (arrays in --- request) are "
                     . "not supported by this runner") if ref $request->[$i];
            push @reqs, [build_request($name, $hdr, $chunked, 'close',
                                       $request->[$i])];
        }

    } else {
        bail_out("$name - invalid ---request : MUST be string or array of "
                 . "requests");
    }
    return \@reqs;
}

# --- Talking to nginx ----------------------------------------------------

sub _connect {
    my ($block, $name) = @_;
    my $addr = $block->server_addr_for_client // $ServerAddr;
    my $total = $TotalConnectingTimeouts ? 20 : 50;
    for my $try (1 .. $total + 1) {
        my $sock = IO::Socket::INET->new(PeerAddr => $addr,
                                         PeerPort => $ServerPortForClient,
                                         Proto => 'tcp', Timeout => timeout());
        if ($sock) {
            $sock->blocking(0);
            return $sock;
        }
        my $err = $!;
        last if $try > $total;
        if (defined $Test::Nginx::Util::ChildPid
            && waitpid($Test::Nginx::Util::ChildPid, WNOHANG) != 0)
        {
            warn "WARNING: Child process $Test::Nginx::Util::ChildPid is "
                 . "already gone.\n";
            _fail_no_ending("$name - Can't connect to $addr:"
                            . "$ServerPortForClient: $err (aborted)\n");
            return undef;
        }
        my $wait = (sleep_time() + sleep_time() * $try) * $try / 2;
        $wait = 1 if $wait > 1;
        warn "$name - Can't connect to $addr:$ServerPortForClient: $err\n"
            if $wait >= 0.6;
        sleep $wait;
    }
    my $msg = "$name - Can't connect to $addr:$ServerPortForClient: $! "
              . "(aborted)\n";
    if (++$TotalConnectingTimeouts < 3) {
        _fail_no_ending($msg);
    } else {
        bail_out($msg);
    }
    return undef;
}

# Sends the packets and reads until nginx closes the connection or nothing
# happens for $timeout seconds.
sub send_request {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my $head_req = (join '', @$packets) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $sock = _connect($block, $name) or return (undef, $head_req);
    my @todo = @$packets;
    my $buf = shift @todo;
    my $off = 0;
    my $resp = '';
    my $writing = 1;

    while (1) {
        my $rsel = IO::Select->new($sock);
        my $wsel = IO::Select->new($writing ? ($sock) : ());
        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $timeout);
        if (!$r && !$w) {
            close $sock;
            if (!defined $block->abort) {
                _fail_no_ending("ERROR: client socket timed out - $name\n");
            } else {
                sleep 0.005;
            }
            last;
        }

        if ($w && @$w) {
            while (1) {
                if ($off >= length $buf) {
                    if (!@todo) {
                        $writing = 0;
                        my $how = $block->shutdown;
                        if (defined $how) {
                            $how = 1 if $how =~ /^$/s;
                            shutdown($sock, $how);
                        }
                        last;
                    }
                    $buf = shift @todo;
                    $off = 0;
                    sleep $middle_delay if $middle_delay;
                    next;
                }
                my $n = syswrite($sock, $buf, length($buf) - $off, $off);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    warn "write failed: $!\n";
                    $resp = "write failed: $!" if $resp eq '';
                    $writing = 0;
                    last;
                }
                $off += $n;
            }
        }

        if ($r && @$r) {
            my $closed;
            while (1) {
                my $n = sysread($sock, my $chunk, 1024);
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    warn "WARNING: $name - HTTP response read failure: $!";
                    $closed = 1;
                    last;
                }
                if ($n == 0) {
                    $closed = 1;
                    last;
                }
                $resp .= $chunk;
            }
            if ($closed) {
                close $sock;
                last;
            }
        }
    }
    return ($resp, $head_req);
}

# --- Parsing responses ---------------------------------------------------

package Test::Nginx::Socket::Response;

sub new {
    my ($class, %a) = @_;
    return bless { code => undef, message => '', headers => [],
                   content => '', %a }, $class;
}

sub code {
    my $self = shift;
    $self->{code} = shift if @_;
    return $self->{code};
}

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

# All values of a header (case-insensitive); joined by ", " in scalar
# context, as HTTP::Headers does.
sub header {
    my ($self, $key) = @_;
    my @v;
    my $h = $self->{headers};
    for (my $i = 0; $i < @$h; $i += 2) {
        push @v, $h->[$i + 1] if lc $h->[$i] eq lc $key;
    }
    return @v if wantarray;
    return @v ? join(', ', @v) : undef;
}

# Status line, then header lines up to an empty line, then the content.
sub parse {
    my ($class, $str) = @_;
    my $res = $class->new;
    my $status = $str =~ s/^(.*)\n// ? $1 : $str =~ s/^(.*)\z//s ? $1 : '';
    $status =~ s/\r\z//;
    my ($proto, $code, $msg) = $status =~ /^\d{3} /
        ? (undef, split(' ', $status, 2))
        : split(' ', $status, 3);
    $res->{code} = $code;
    $res->{message} = $msg // '';
    my $h = $res->{headers};
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @$h, $1, $2;
            $h->[-1] =~ s/\r\z//;
        } elsif (@$h && $str =~ s/^([ \t].*)\n?//) {
            my $more = $1;
            $more =~ s/\r\z//;
            $h->[-1] .= "\n$more";
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
    }
    $res->{content} = $str;
    return $res;
}

package Test::Nginx::Socket;

# Returns (response, raw headers, bytes left after this response).
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    my ($left, $raw_headers) = (undef, '');
    $raw_headers = $1 if $raw =~ /(.*?\r\n)\r\n/s;

    my $res = Test::Nginx::Socket::Response->parse($raw);
    my $code = $res->code;
    if (defined $code && $code !~ /^\d+$/) {
        undef $code;
        $res->code(undef);
    }
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my @trailers = $res->header('Trailer');

    if (defined $enc && $enc eq 'chunked') {
        my $body = $res->content // '';
        my $decoded = '';
        while (1) {
            if (!@trailers && $body =~ /\G0[ \t]*\r\n\r\n/gc) {
                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }
            if (@trailers && $body =~ /\G0[ \t]*\r\n/gc) {
                for my $t (@trailers) {
                    if ($body !~ /\G(\Q$t\E: [^\n]*\r\n)/gcs) {
                        _fail_no_ending("$name - invalid trailer data "
                                        . "received (expected $t).");
                        return;
                    }
                }
                if ($body !~ /\G\r\n/gc) {
                    _fail_no_ending("$name - invalid chunked data received "
                                    . "(expected CRLF).");
                    return;
                }
                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }
            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                my $size = hex $1;
                my $pos = pos $body;
                if (length($body) - $pos < $size) {
                    _fail_no_ending("$name - invalid chunked data received "
                                    . "(not enought octets for the data "
                                    . "section)");
                    return;
                }
                $decoded .= substr $body, $pos, $size;
                pos($body) = $pos + $size;
                if ($body !~ /\G\r\n/gc) {
                    _fail_no_ending("$name - invalid chunked data received "
                                    . "(expected CRLF).");
                    return;
                }
            } elsif ($body =~ /\G(.+)/gcs) {
                _fail_no_ending("$name - invalid chunked body received: $1");
                return;
            } else {
                _fail_no_ending("$name - no last chunk found - $body");
                return;
            }
        }
        $res->content($decoded);

    } elsif (defined $len && $len ne '' && $len >= 0) {
        my $body = $res->content;
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got ", length $body, "\n" unless $head_req;
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

# --- Checks ----------------------------------------------------------------

sub get_indexed_value {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.")
            if $idx != 0;
        return $value->[0];
    }
    return $value;
}

sub check_error_code {
    my ($block, $res, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    SKIP: {
        skip "$name - tests skipped due to $dry_run", 1 if $dry_run;
        if (defined $block->error_code_like) {
            my $pat = get_indexed_value($name,
                                        scalar($block->error_code_like),
                                        $idx, $need_array);
            like($got, qr/$pat/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            is($got, get_indexed_value($name, scalar($block->error_code),
                                       $idx, $need_array),
               "$name - status code ok");
        } else {
            is($got, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;
    for my $kind (qw(like unlike)) {
        my $meth = "raw_response_headers_$kind";
        next unless defined $block->$meth;
        SKIP: {
            skip "$name - $meth - tests skipped due to $dry_run", 1
                if $dry_run;
            my $pat = get_indexed_value($name, scalar($block->$meth), $idx,
                                        $need_array);
            if ($kind eq 'like') {
                like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
            } else {
                unlike($raw_headers, qr/$pat/s,
                       "$name - raw resp headers unlike");
            }
        }
    }
}

sub check_response_headers {
    my ($block, $res, $raw_headers, $dry_run, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my ($h, $order) = parse_headers(get_indexed_value($name,
                                        scalar($block->response_headers), $idx,
                                        $need_array));
        for my $key (@$order) {
            my $val = $h->{$key};
            SKIP: {
                skip "$name - response_headers - tests skipped due to "
                     . "$dry_run", 1 if $dry_run;
                if (!defined $val) {
                    unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                           "$name - header $key not present in the raw "
                           . "headers");
                    next;
                }
                $val =~ s/\$ServerPort\b/$ServerPort/g;
                $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
                my $got = $res ? $res->header($key) : undef;
                is($got // '', $val, "$name - header $key ok");
            }
        }

    } elsif (defined $block->response_headers_like) {
        my ($h, $order) = parse_headers(get_indexed_value($name,
                                        scalar($block->response_headers_like),
                                        $idx, $need_array));
        for my $key (@$order) {
            my $val = $h->{$key} // '';
            my $got = $res ? $res->header($key) : undef;
            SKIP: {
                skip "$name - response_headers_like - tests skipped due to "
                     . "$dry_run", 1 if $dry_run;
                like($got // '', qr/^$val$/, "$name - header $key like ok");
            }
        }
    }
}

sub check_response_body {
    my ($block, $res, $dry_run, $idx, $repeated, $need_array) = @_;
    my $name = $block->name;

    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
        $content =~ s/^Connection: TE, close\r\n//gms;
    }

    if (defined $block->response_body
        || defined $block->response_body_eval)
    {
        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use "
                             . "response_body eval instead.");
            my $code = get_indexed_value($name,
                                         scalar($block->response_body_eval),
                                         $idx, $need_array);
            $expected = eval $code;
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name,
                                          scalar($block->response_body),
                                          $idx, $need_array);
        }
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name,
                                           $Test::Nginx::Util::RandPorts);
        }
        SKIP: {
            skip "$name - response_body - tests skipped due to $dry_run", 1
                if $dry_run;
            if (ref $expected) {
                like($content, $expected, "$name - response_body - like "
                     . "(repeated req $repeated, req $idx)");
            } else {
                Test::Nginx::Util::is_long_str($content, $expected,
                    "$name - response_body - response is expected "
                    . "(repeated req $repeated, req $idx)");
            }
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like'
                                                      : 'unlike';
        my $meth = "response_body_$type";
        my $pat = get_indexed_value($name, scalar($block->$meth), $idx,
                                    $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content) // '';
        SKIP: {
            skip "$name - response_body_$type - tests skipped due to "
                 . "$dry_run", 1 if $dry_run;
            my $desc = "$name - response_body_$type - response is expected "
                       . "($summary)";
            if ($type eq 'like') {
                like($content, qr/$pat/s, $desc);
            } else {
                unlike($content, qr/$pat/s, $desc);
            }
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $idx, $repeated,
                 $dry_run);
    }
}

sub fmt_str {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub value_contains {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for (@$val) {
            return 1 if value_contains($_, $pat);
        }
    }
    return undef;
}

# A scalar is one plain substring per line; eval gives a qr// or an array of
# strings and qr//s.
sub _patterns {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _line_matches {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

sub check_access_log {
    my ($block, $dry_run, $repeated) = @_;
    my $name = $block->name;
    my $lines;

    if (defined $block->access_log) {
        my $pats = _patterns(scalar($block->access_log));
        $lines ||= access_log_data();
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat && _line_matches($line, $pat);
                SKIP: {
                    skip "$name - access_log - tests skipped due to "
                         . "$dry_run", 1 if $dry_run;
                    pass("$name - pattern \"$pat\" matches a line in "
                         . "access.log (req $repeated)");
                }
                undef $pat;
            }
        }
        for my $pat (grep { defined } @$pats) {
            SKIP: {
                skip "$name - access_log - tests skipped due to $dry_run", 1
                    if $dry_run;
                fail("$name - pattern \"$pat\" should match a line in "
                     . "access.log (req $repeated)");
            }
        }
    }

    if (defined $block->no_access_log) {
        my $pats = _patterns(scalar($block->no_access_log));
        my %found;
        $lines ||= access_log_data();
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat && _line_matches($line, $pat);
                Test::More->builder->no_ending(1) if $found{$pat}++;
                SKIP: {
                    skip "$name - no_access_log - tests skipped due to "
                         . "$dry_run", 1 if $dry_run;
                    fail("$name - pattern \"" . fmt_str($pat) . "\" should "
                         . "not match any line in access.log but matches "
                         . "line \"" . fmt_str($line) . "\" (req "
                         . "$repeated)");
                }
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat || $found{$pat};
            SKIP: {
                skip "$name - no_access_log - tests skipped due to $dry_run",
                     1 if $dry_run;
                pass("$name - pattern \"" . fmt_str($pat) . "\" does not "
                     . "match a line in access.log (req $repeated)");
            }
        }
    }
}

sub check_error_log {
    my ($block, $res, $dry_run, $repeated, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_on = (alert => 1, crit => 1, emerg => 1);

    my $grep_pat = $block->grep_error_log;
    $grep_pat = $grep_pat->[$repeated]
        if ref $grep_pat && ref $grep_pat eq 'ARRAY';
    if (!defined $grep_pat && defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }
    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") unless defined $expected;
        $expected = $expected->[$repeated] if ref $expected eq 'ARRAY';
        $expected = expand_env_in_text($expected, $name,
                                       $Test::Nginx::Util::RandPorts)
            unless ref $expected;
        SKIP: {
            skip "$name - error_log - tests skipped due to $dry_run", 1
                if $dry_run;
            $lines ||= error_log_data();
            my $matched = '';
            for my $line (@$lines) {
                if ((ref $grep_pat && $line =~ /$grep_pat/)
                    || $line =~ /\Q$grep_pat\E/)
                {
                    $matched .= "$&\n" if $& !~ /\n/;
                }
            }
            my $desc = "$name - grep_error_log_out (req $repeated)";
            if (ref $expected eq 'Regexp') {
                like($matched, $expected, $desc);
            } else {
                Test::Nginx::Util::is_long_str($matched, $expected, $desc);
            }
        }
    }

    if (defined $block->error_log) {
        my $pats = _patterns(scalar($block->error_log));
        for my $lvl (keys %warn_on) {
            delete $warn_on{$lvl}
                if value_contains(scalar($block->error_log), "[$lvl");
        }
        $lines ||= error_log_data();
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat && _line_matches($line, $pat);
                SKIP: {
                    skip "$name - error_log - tests skipped due to $dry_run",
                         1 if $dry_run;
                    pass("$name - pattern \"$pat\" matches a line in "
                         . "error.log (req $repeated)");
                }
                undef $pat;
            }
        }
        for my $pat (grep { defined } @$pats) {
            SKIP: {
                skip "$name - error_log - tests skipped due to $dry_run", 1
                    if $dry_run;
                fail("$name - pattern \"$pat\" should match a line in "
                     . "error.log (req $repeated)");
            }
        }
    }

    if (defined $block->no_error_log) {
        my $pats = _patterns(scalar($block->no_error_log));
        for my $lvl (keys %warn_on) {
            delete $warn_on{$lvl}
                if value_contains(scalar($block->no_error_log), "[$lvl");
        }
        my %found;
        $lines ||= error_log_data();
        for my $i (0 .. $#$lines) {
            my $line = $lines->[$i];
            for my $pat (@$pats) {
                next unless defined $pat && _line_matches($line, $pat);
                Test::More->builder->no_ending(1) if $found{$pat}++;
                SKIP: {
                    skip "$name - no_error_log - tests skipped due to "
                         . "$dry_run ($line)", 1 if $dry_run;
                    my @more = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
                    fail("$name - pattern \"" . fmt_str($pat) . "\" should "
                         . "not match any line in error.log but matches "
                         . "line \"" . fmt_str($line) . "\" (req "
                         . "$repeated)\n" . join('', @more));
                }
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat || $found{$pat};
            SKIP: {
                skip "$name - no_error_log - tests skipped due to $dry_run",
                     1 if $dry_run;
                pass("$name - pattern \"" . fmt_str($pat) . "\" does not "
                     . "match a line in error.log (req $repeated)");
            }
        }
    }

    if (!$dry_run && %warn_on) {
        $lines ||= error_log_data();
        for my $line (@$lines) {
            for my $lvl (sort keys %warn_on) {
                warn "WARNING: $name - " . fmt_str($line) . "\n"
                    if $line =~ /\[$lvl\]/;
            }
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            my $l = $line;
            chomp $l;
            _fail_no_ending("$name - $l\n");
        }
    }
}

sub run_test_helper {
    my ($block, $dry_run, $repeated) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time(scalar($block->timeout)) // timeout();
    my ($res, $n, $need_array);
    my $idx = 0;

    for my $packets (@$reqs) {
        my ($raw, $head_req) = $dry_run
            ? ("200 OK HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 0)
            : send_request($packets, scalar($block->raw_request_middle_delay),
                           $timeout, $block);

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

        while (1) {
            $raw //= '';
            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                ($res, $raw_headers, $left) = parse_response($name, $raw,
                                                             $head_req);
            }
            if (!$n) {
                if (defined $left && $left ne '') {
                    (my $l = $left) =~ s/([\0-\037\200-\377])/
                                         sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                         . "chunk in response: \"$l\"\n";
                }
            } else {
                $raw = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run,
                                           $idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run,
                                       $idx, $need_array);
                check_response_body($block, $res, $dry_run, $idx, $repeated,
                                    $need_array);
            }

            if ($n || $idx < @$reqs - 1) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated,
                                $need_array);
                check_access_log($block, $dry_run, $repeated)
                    unless defined $block->ignore_response;
            }
            $idx++;
            last unless $n;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $res, $dry_run, $repeated, $need_array);
    check_access_log($block, $dry_run, $repeated)
        unless defined $block->ignore_response;
}

1;
