#!/usr/bin/perl
# Drives passlink's XCP endpoint with Debian's Net::OpenSRS (libnet-opensrs-perl), the way a
# reseller's scripts would: send_password, set cookie (get_cookie), change password, all
# through make_request. Prints one line per step for the Rust test to check:
#   STEP is_success response_code response_text
# Usage: net_opensrs.pl URL KEY USERNAME PASSWORD DOMAIN NEW_PASSWORD
#        net_opensrs.pl --send-password-only URL KEY USERNAME PASSWORD DOMAIN
#
# Net::OpenSRS posts every request to $srs->{config}{ENVIRONMENT}{host}, a whole URL used as it
# is (its own defaults are https://horizon.opensrs.net:55443 and https://rr-n1-tor...:55443).
# So an https:// URL goes through LWP::Protocol::https (liblwp-protocol-https-perl), which
# verifies the server's certificate against PERL_LWP_SSL_CA_FILE (and the host name, an IP
# address included, against its subjectAltName). --send-password-only stops after the first
# step, for the TLS test. LWP's own status line (a certificate that does not verify, say) goes
# to stderr, through the module's debug output.
use strict;
use warnings;
use Net::OpenSRS;

my $only_send_password = @ARGV && $ARGV[0] eq '--send-password-only';
shift @ARGV if $only_send_password;
my ($url, $key, $user, $pass, $domain, $new_pass) = @ARGV;
die "usage: $0 [--send-password-only] URL KEY USERNAME PASSWORD DOMAIN NEW_PASSWORD\n"
    unless defined $domain && ($only_send_password || defined $new_pass);

my $srs = Net::OpenSRS->new();
$srs->environment('test');
$srs->set_key($key);
# Level 1: the environment, host and HTTP status line, on stderr.
$srs->debug_level(1);
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
exit 0 if $only_send_password;

# In list context Net::OpenSRS also returns the domain's expiry date, from expiredate.
my ($cookie, $expires) = $srs->get_cookie($domain);
print 'cookie ', ($cookie ? length($cookie) : 'undef'), ' expires ',
    (defined $expires && $expires ne '' ? $expires : 'none'), "\n";
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
