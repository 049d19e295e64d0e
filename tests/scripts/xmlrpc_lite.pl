#!/usr/bin/perl
# Drives passlink's xmlStorageSystem over XML-RPC with Debian's XMLRPC::Lite
# (libxmlrpc-lite-perl), as a Perl user would write it: proxy and call, no explicit types.
# Prints one line per step for the Rust test to check:
#   registerUser FLERROR USERNUM MESSAGE
#   getServerCapabilities FLERROR MESSAGE
# and exits non-zero on a fault or a transport error.
# Usage: xmlrpc_lite.pl URL EMAIL NAME PASSWORD_MD5
#
# XMLRPC::Lite's default typing sends any string with a byte outside printable ASCII as
# <base64>, which is why this test exists: the NAME with an accent goes as base64 of its bytes.
# @ARGV holds bytes (no -CA), so a UTF-8 name goes as base64 of its UTF-8 bytes. (A decoded
# character string would go as base64 of Latin-1, and one with a character above U+00FF dies
# with "Wide character"; a Perl user encodes to UTF-8 at the boundary, as here.)
use strict;
use warnings;
use XMLRPC::Lite;

my ($url, $email, $name, $md5) = @ARGV;
# The answers are parsed XML, so character strings: print them as UTF-8.
binmode STDOUT, ":encoding(UTF-8)";
die "usage: $0 URL EMAIL NAME PASSWORD_MD5\n" unless defined $md5;

my $rpc = XMLRPC::Lite->proxy($url);

sub call {
    my ($method, @params) = @_;
    my $som = $rpc->call("xmlStorageSystem.$method", @params);
    die "$method: fault: " . $som->faultstring . "\n" if $som->fault;
    my $r = $som->result;
    die "$method: no struct in the answer\n" unless ref $r eq 'HASH';
    return $r;
}

my $reg = call('registerUser', $email, $name, $md5, 5335, 'xmlrpc_lite.pl');
# What the library put on the wire for the name (the second parameter), so the test sees that
# the default typing really sent base64.
my $sent = $rpc->transport->http_response->request->content;
my @values = $sent =~ m{<param><value>(.*?)</value></param>}g;
print "registerUser sent name as $values[1]\n";
print "registerUser $reg->{flError} $reg->{usernum} $reg->{message}\n";
exit 1 if $reg->{flError};

my $caps = call('getServerCapabilities', $reg->{usernum}, $md5);
print "getServerCapabilities $caps->{flError} $caps->{message}\n";
exit 1 if $caps->{flError};
