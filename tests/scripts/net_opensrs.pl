#!/usr/bin/perl
# Drives passlink's XCP endpoint with Debian's Net::OpenSRS (libnet-opensrs-perl), the way a
# reseller's scripts would: send_password, set cookie (get_cookie), change password, all
# through make_request. Prints one line per step for the Rust test to check:
#   STEP is_success response_code response_text
# Usage: net_opensrs.pl URL KEY USERNAME PASSWORD DOMAIN NEW_PASSWORD
use strict;
use warnings;
use Net::OpenSRS;

my ($url, $key, $user, $pass, $domain, $new_pass) = @ARGV;
die "usage: $0 URL KEY USERNAME PASSWORD DOMAIN NEW_PASSWORD\n" unless defined $new_pass;

my $srs = Net::OpenSRS->new();
$srs->environment('test');
$srs->set_key($key);
# The module has no setter for the host; the notes (§6) poke the hash field.
$srs->{config}{test}{host} = $url;
# Net::OpenSRS sends the manage username as X-Username, so the reseller and the profile share
# the name in this test.
$srs->set_manage_auth($user, $pass);

sub report {
    my ($step, $rv) = @_;
    if (!$rv) {
        print "$step undef\n";
        return;
    }
    my $text = $rv->{response_text} // '';
    $text =~ s/\s+/ /g;
    print "$step $rv->{is_success} $rv->{response_code} $text\n";
}

report('send_password', $srs->make_request({
    action     => 'send_password',
    object     => 'domain',
    attributes => { domain_name => $domain, send_to => 'owner', sub_user => 0 },
}));

my $cookie = $srs->get_cookie($domain);
print 'cookie ', ($cookie ? length($cookie) : 'undef'), "\n";
report('set_cookie', $srs->last_response(1));

report('change_password', $srs->make_request({
    action     => 'change',
    object     => 'password',
    cookie     => $cookie,
    attributes => { reg_password => $new_pass },
}));

# The old password is gone, and so is the cookie.
$srs->set_manage_auth($user, $pass);
my $stale = $srs->get_cookie($domain);
report('old_password', $srs->last_response(1));
$srs->set_manage_auth($user, $new_pass);
my $fresh = $srs->get_cookie($domain);
report('new_password', $srs->last_response(1));
