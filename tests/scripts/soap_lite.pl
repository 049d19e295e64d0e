#!/usr/bin/perl
# Drives passlink's xmlStorageSystem over SOAP 1.1 with Debian's SOAP::Lite
# (libsoap-lite-perl), as a Perl user would write it: uri and proxy, methods called by name,
# no explicit types. Prints one line per step for the Rust test to check:
#   registerUser FLERROR USERNUM MESSAGE
#   getServerCapabilities FLERROR MESSAGE
# and exits non-zero on a fault or a transport error.
# Usage: soap_lite.pl URL EMAIL NAME PASSWORD_MD5
#
# SOAP::Lite's defaults, all of which passlink has to take: a string with a byte outside
# printable ASCII goes as xsi:type="xsd:base64Binary" (the accented NAME); parameters are named
# c-gensymN, so passlink binds them by position; the method element is in the uri's namespace;
# and SOAPAction is "URI#method", not the "/xmlStorageSystem" that SOAPpy sent.
use strict;
use warnings;
use SOAP::Lite;

my ($url, $email, $name, $md5) = @ARGV;
# The answers are parsed XML, so character strings: print them as UTF-8.
binmode STDOUT, ":encoding(UTF-8)";
die "usage: $0 URL EMAIL NAME PASSWORD_MD5\n" unless defined $md5;

# on_fault's default dies only on transport errors; a SOAP fault comes back in the SOM.
my $soap = SOAP::Lite->uri('http://www.soapware.org/xmlStorageSystem')->proxy($url);

sub call {
    my ($method, @params) = @_;
    my $som = $soap->call($method, @params);
    die "$method: fault: " . $som->faultstring . "\n" if $som->fault;
    my $r = $som->result;
    die "$method: no struct in the answer\n" unless ref $r eq 'HASH';
    return $r;
}

my $reg = call('registerUser', $email, $name, $md5, 5335, 'soap_lite.pl');
# What the library put on the wire for the name (the second parameter), so the test sees that
# the default typing really sent base64.
my $sent = $soap->transport->http_response->request->content;
my ($inner) = $sent =~ m{<registerUser\b[^>]*>(.*)</registerUser>}s;
$inner //= '';
my @elements;
push @elements, $1 while $inner =~ m{(<([\w-]+)[^>]*>[^<]*</\2>)}g;
print "registerUser sent name as $elements[1]\n";
print "registerUser $reg->{flError} $reg->{usernum} $reg->{message}\n";
exit 1 if $reg->{flError};

# Named as SOAPpy named them, and out of order: passlink matches names case-insensitively.
my $caps = call(
    'getServerCapabilities',
    SOAP::Data->name(password => $md5),
    SOAP::Data->name(email    => $email),
);
print "getServerCapabilities $caps->{flError} $caps->{message}\n";
exit 1 if $caps->{flError};
