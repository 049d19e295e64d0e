//! Who the client is. A request's client address is decided here and nowhere else: the request
//! log, the per-address connection cap, the token buckets, the XCP IP allowlist and the address
//! written into reset mails all read [`super::Request::client`], which [`client_of`] sets.
//!
//! The peer of the connection is the client, unless that peer is a trusted reverse proxy
//! (`server.trusted_proxies`, or any unix-socket listener). Then the address comes from the one
//! header the operator named (`server.client_ip_header`), read from the right and skipping
//! trusted hops: the rightmost untrusted address is the first one that no trusted proxy vouches
//! for. Entries further left were written by the client itself and prove nothing.
//!
//! Only that one header is read, never a fallback to another: nginx and Caddy replace or append
//! to the header they are configured to set and pass every other one through from the client
//! untouched, so any header but the chosen one says whatever the client wants.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An address block such as `10.0.0.0/8`, `::1/128` or a bare address (one host): the
/// entries of `server.trusted_proxies` and of the XCP resellers' IP allowlists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (a dual-stack socket's view of an IPv4 peer) as IPv4, so that
/// `127.0.0.1/32` matches them.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an address block; expected such as \"10.0.0.0/8\", \"::1/128\" or \"127.0.0.1\"",
            self.0
        )
    }
}

impl std::error::Error for CidrError {}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let error = || CidrError(text.chars().take(64).collect());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.trim(), Some(prefix.trim())),
            None => (text.trim(), None),
        };
        let network = canonical(addr.parse::<IpAddr>().map_err(|_| error())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(error)?,
            Some(_) => return Err(error()),
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The one header that carries the client address from a trusted proxy
/// (`server.client_ip_header`). Each also says where the scheme comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    /// `X-Forwarded-For`, a list the proxy appends to (nginx's `$proxy_add_x_forwarded_for`)
    /// or replaces (Caddy); the scheme from `X-Forwarded-Proto`.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239), its `for=` and `proto=`.
    Forwarded,
    /// `X-Real-IP`, one address per header line; the scheme from `X-Forwarded-Proto`.
    XRealIp,
}

impl ClientIpHeader {
    /// The header's name as proxies write it.
    pub fn header_name(self) -> &'static str {
        match self {
            ClientIpHeader::XForwardedFor => "X-Forwarded-For",
            ClientIpHeader::Forwarded => "Forwarded",
            ClientIpHeader::XRealIp => "X-Real-IP",
        }
    }

    /// Where the scheme (http or https) comes from, in words.
    pub fn scheme_source(self) -> &'static str {
        match self {
            ClientIpHeader::Forwarded => "its proto=",
            ClientIpHeader::XForwardedFor | ClientIpHeader::XRealIp => "X-Forwarded-Proto",
        }
    }

    /// The separate header that says the scheme, if any (`Forwarded` carries its own).
    fn scheme_header(self) -> Option<&'static str> {
        match self {
            ClientIpHeader::Forwarded => None,
            ClientIpHeader::XForwardedFor | ClientIpHeader::XRealIp => Some("X-Forwarded-Proto"),
        }
    }

    /// The hops one line of this header reports, oldest first.
    fn nodes(self, value: &str) -> Vec<Node<'_>> {
        match self {
            // Repeated headers continue the list (RFC 7239 §4, RFC 9110 §5.3).
            ClientIpHeader::Forwarded => value.split(',').map(parse_forwarded_element).collect(),
            ClientIpHeader::XForwardedFor => value.split(',').map(Node::address).collect(),
            // One address per line: a comma makes the line unreadable rather than a list, since
            // no proxy writes one that way.
            ClientIpHeader::XRealIp => vec![Node::address(value)],
        }
    }
}

impl fmt::Display for ClientIpHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_name())
    }
}

/// How the connection reached us, for [`client_of`].
#[derive(Debug, Clone, Copy)]
pub struct Hop<'a> {
    /// The connection's peer; for a unix socket, the unspecified address.
    pub peer: IpAddr,
    /// The connection came over a unix-socket listener: only a local proxy can reach it.
    pub unix: bool,
    /// The connection is TLS-encrypted to us.
    pub tls: bool,
    pub trusted: &'a [Cidr],
}

impl Hop<'_> {
    fn peer_is_trusted(&self) -> bool {
        self.unix || self.trusted.iter().any(|c| c.contains(self.peer))
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(ip))
    }
}

/// Who the client is, and whether it used https, as far as we can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub https: bool,
}

/// The per-address connection cap applies to this address, or to none when the peer is a
/// trusted proxy: a proxy's connections carry many clients, whose addresses are not known
/// until their requests are read.
pub fn cap_key(hop: &Hop<'_>) -> Option<IpAddr> {
    if hop.peer_is_trusted() {
        None
    } else {
        Some(canonical(hop.peer))
    }
}

/// The one answer to "who is the client" for a request with these headers, when a trusted
/// proxy names the client in `header`.
pub fn client_of<'h>(
    hop: &Hop<'_>,
    header: ClientIpHeader,
    headers: impl Iterator<Item = (&'h str, &'h str)>,
) -> Client {
    let direct = Client {
        ip: canonical(hop.peer),
        https: hop.tls,
    };
    if !hop.peer_is_trusted() {
        return direct;
    }
    let reported = Reported::read(header, headers);
    let mut client = walk(hop, direct, &reported.hops);
    if let Some(proto) = reported.scheme {
        client.https = rightmost_is_https(proto);
    }
    // Why a request counts as coming from where it does: the first thing to look at when
    // rate limits or fail2ban hit the proxy instead of the clients.
    log::debug!(
        "proxy: peer {} is trusted; {} lists {} hop(s); client {} ({})",
        hop.peer,
        header.header_name(),
        reported.hops.len(),
        client.ip,
        if client.https { "https" } else { "http" }
    );
    client
}

/// One hop as a forwarding header reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node<'h> {
    /// `None` when unreadable (`unknown`, an obfuscated name, garbage).
    ip: Option<IpAddr>,
    /// The scheme this hop was reached by, where the header says it (`Forwarded: proto=`).
    proto: Option<&'h str>,
}

impl Node<'_> {
    fn address(text: &str) -> Node<'_> {
        Node {
            ip: parse_node(text.trim()),
            proto: None,
        }
    }
}

/// What the chosen header, and the scheme header that goes with it, say.
struct Reported<'h> {
    /// Every hop the chosen header lists, oldest first.
    hops: Vec<Node<'h>>,
    /// The last `X-Forwarded-Proto` line, where the choice takes the scheme from it.
    scheme: Option<&'h str>,
}

impl<'h> Reported<'h> {
    /// Reads the chosen header and its scheme header; every other header is ignored.
    fn read(header: ClientIpHeader, headers: impl Iterator<Item = (&'h str, &'h str)>) -> Self {
        let mut reported = Reported {
            hops: Vec::new(),
            scheme: None,
        };
        for (name, value) in headers {
            if name.eq_ignore_ascii_case(header.header_name()) {
                reported.hops.extend(header.nodes(value));
            } else if header
                .scheme_header()
                .is_some_and(|s| name.eq_ignore_ascii_case(s))
            {
                reported.scheme = Some(value);
            }
        }
        reported
    }
}

/// From the right, past every hop a trusted proxy vouches for, to the first one none does. An
/// unreadable hop stops the walk: nothing further left can be trusted, so the last trusted hop
/// is the best answer.
fn walk(hop: &Hop<'_>, direct: Client, hops: &[Node<'_>]) -> Client {
    let mut client = direct;
    for node in hops.iter().rev() {
        let Some(ip) = node.ip.map(canonical) else {
            break;
        };
        client.ip = ip;
        if let Some(proto) = node.proto {
            client.https = proto.eq_ignore_ascii_case("https");
        }
        if !hop.is_trusted(ip) {
            break;
        }
    }
    client
}

/// `X-Forwarded-Proto`: the rightmost value is the one our nearest (trusted) proxy wrote.
fn rightmost_is_https(value: &str) -> bool {
    value
        .rsplit(',')
        .next()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// One `Forwarded` element: `for=…;proto=…;by=…` in any order and case.
fn parse_forwarded_element(element: &str) -> Node<'_> {
    let mut node = Node {
        ip: None,
        proto: None,
    };
    for pair in element.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "for" => node.ip = parse_rfc7239_node(value),
            "proto" => node.proto = Some(value),
            _ => {}
        }
    }
    node
}

/// A node in `X-Forwarded-For` or `X-Real-IP`: as in `Forwarded`, or a bare IPv6 address, as
/// proxies write it there.
fn parse_node(node: &str) -> Option<IpAddr> {
    match node.parse::<Ipv6Addr>() {
        Ok(v6) => Some(IpAddr::V6(v6)),
        Err(_) => parse_rfc7239_node(node),
    }
}

/// A node as RFC 7239 writes it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]` or
/// `[2001:db8::1]:4711`. A bare IPv6 address is not one: followed by a port it would read as
/// another address, so it is unreadable rather than guessed at.
fn parse_rfc7239_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let ip = addr.parse::<Ipv6Addr>().ok()?;
        return (after.is_empty() || after.strip_prefix(':').is_some_and(is_port))
            .then_some(IpAddr::V6(ip));
    }
    let (addr, port) = node.split_once(':').unwrap_or((node, "0"));
    let ip = addr.parse::<Ipv4Addr>().ok()?;
    is_port(port).then_some(IpAddr::V4(ip))
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClientIpHeader::{Forwarded, XForwardedFor, XRealIp};

    const ALL: [ClientIpHeader; 3] = [XForwardedFor, Forwarded, XRealIp];

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn client(
        peer: &str,
        trusted: &[&str],
        header: ClientIpHeader,
        headers: &[(&str, &str)],
    ) -> Client {
        let trusted = cidrs(trusted);
        let hop = Hop {
            peer: peer.parse().unwrap(),
            unix: false,
            tls: false,
            trusted: &trusted,
        };
        client_of(&hop, header, headers.iter().map(|(n, v)| (*n, *v)))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Every forwarding header at once, each naming someone else, and https.
    const FORGED: [(&str, &str); 4] = [
        ("X-Forwarded-For", "192.0.2.1"),
        ("Forwarded", "for=192.0.2.2;proto=https"),
        ("X-Real-IP", "192.0.2.3"),
        ("X-Forwarded-Proto", "https"),
    ];

    #[test]
    fn cidr_blocks() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.200.1.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("::ffff:127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("10.0.0.1")));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "nope", "::/129", "1.2.3.4/+8"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        for choice in ALL {
            let c = client("198.51.100.7", &["10.0.0.0/8"], choice, &FORGED);
            assert_eq!(c.ip, ip("198.51.100.7"), "{choice}");
            assert!(!c.https, "{choice}");
        }
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let c = client(
            "127.0.0.1",
            &["127.0.0.1/32"],
            XForwardedFor,
            &[
                ("X-Forwarded-For", "127.0.0.5"),
                ("X-Forwarded-Proto", "https"),
            ],
        );
        assert_eq!(c.ip, ip("127.0.0.5"));
        assert!(c.https);
    }

    #[test]
    fn x_forwarded_for_alone_is_read_and_the_others_ignored() {
        // nginx appended 203.0.113.9 to what the client sent; the client's Forwarded and
        // X-Real-IP came through untouched.
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            XForwardedFor,
            &[
                ("Forwarded", "for=192.0.2.2;proto=https"),
                ("X-Real-IP", "192.0.2.3"),
                ("X-Forwarded-For", "192.0.2.1, 203.0.113.9"),
                ("X-Forwarded-Proto", "http"),
            ],
        );
        assert_eq!(
            c,
            Client {
                ip: ip("203.0.113.9"),
                https: false
            }
        );
    }

    #[test]
    fn forwarded_alone_is_read_and_the_others_ignored() {
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            Forwarded,
            &[
                ("X-Forwarded-For", "192.0.2.1"),
                ("X-Real-IP", "192.0.2.3"),
                ("X-Forwarded-Proto", "https"),
                ("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"),
                ("forwarded", "For=\"[2001:db8:cafe::17]:4711\";proto=http"),
            ],
        );
        assert_eq!(
            c,
            Client {
                ip: ip("2001:db8:cafe::17"),
                https: false
            }
        );
        // The scheme is the proto= of the element the walk ends on, not X-Forwarded-Proto.
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            Forwarded,
            &[
                ("X-Forwarded-Proto", "http"),
                (
                    "Forwarded",
                    "for=192.0.2.60;proto=https, for=10.0.0.3;proto=http",
                ),
            ],
        );
        assert_eq!(
            c,
            Client {
                ip: ip("192.0.2.60"),
                https: true
            }
        );
    }

    #[test]
    fn x_real_ip_alone_is_read_and_the_others_ignored() {
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            XRealIp,
            &[
                ("X-Forwarded-For", "192.0.2.1"),
                ("Forwarded", "for=192.0.2.2;proto=http"),
                ("X-Real-IP", "203.0.113.9"),
                ("X-Forwarded-Proto", "https"),
            ],
        );
        assert_eq!(
            c,
            Client {
                ip: ip("203.0.113.9"),
                https: true
            }
        );
    }

    #[test]
    fn repeated_x_real_ip_lines_are_a_list_walked_from_the_right() {
        let lines = |values: &[&'static str]| -> Vec<(&'static str, &'static str)> {
            values.iter().map(|v| ("X-Real-IP", *v)).collect()
        };
        let trusted = ["10.0.0.0/8"];
        let c = client(
            "10.0.0.2",
            &trusted,
            XRealIp,
            &lines(&["192.0.2.1", "203.0.113.9"]),
        );
        assert_eq!(c.ip, ip("203.0.113.9"));
        let c = client(
            "10.0.0.2",
            &trusted,
            XRealIp,
            &lines(&["203.0.113.9", "10.0.0.3"]),
        );
        assert_eq!(c.ip, ip("203.0.113.9"));
        // One line holds one address: a list in it is unreadable, and so stops the walk.
        let c = client(
            "10.0.0.2",
            &trusted,
            XRealIp,
            &lines(&["192.0.2.1, 203.0.113.9"]),
        );
        assert_eq!(c.ip, ip("10.0.0.2"));
    }

    #[test]
    fn without_the_chosen_header_the_proxy_is_the_client() {
        for choice in ALL {
            let others: Vec<(&str, &str)> = FORGED
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case(choice.header_name()))
                .copied()
                .collect();
            let c = client("10.0.0.2", &["10.0.0.0/8"], choice, &others);
            assert_eq!(c.ip, ip("10.0.0.2"), "{choice}");
        }
    }

    #[test]
    fn spoofed_entries_left_of_the_first_untrusted_hop_are_ignored() {
        // The client wrote 192.0.2.1 itself; our proxies appended what they saw.
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            XForwardedFor,
            &[("X-Forwarded-For", "192.0.2.1, 203.0.113.9, 10.0.0.3")],
        );
        assert_eq!(c.ip, ip("203.0.113.9"));
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            Forwarded,
            &[
                ("Forwarded", "for=192.0.2.1"),
                ("Forwarded", "for=203.0.113.9, for=10.0.0.3"),
            ],
        );
        assert_eq!(c.ip, ip("203.0.113.9"));
    }

    #[test]
    fn ipv6_clients_as_each_proxy_writes_them() {
        let trusted = ["127.0.0.1"];
        for (choice, value) in [
            (XForwardedFor, "2001:db8::17"),
            (XRealIp, "2001:db8::17"),
            (XRealIp, "[2001:db8::17]"),
            // nginx with the README's map; Caddy's {remote} carries the port.
            (Forwarded, "for=\"[2001:db8::17]\";proto=http"),
            (Forwarded, "for=\"[2001:db8::17]:4711\";proto=http"),
        ] {
            let c = client(
                "127.0.0.1",
                &trusted,
                choice,
                &[(choice.header_name(), value)],
            );
            assert_eq!(c.ip, ip("2001:db8::17"), "{choice}: {value}");
        }
        // Unbracketed, RFC 7239 cannot tell address from port (this one reads as the address
        // 2001:db8::17:4711): unreadable, so the proxy is the client.
        for bare in ["for=2001:db8::17:4711", "for=\"2001:db8::17\""] {
            let c = client("127.0.0.1", &trusted, Forwarded, &[("Forwarded", bare)]);
            assert_eq!(c.ip, ip("127.0.0.1"), "{bare}");
        }
    }

    #[test]
    fn unreadable_hops_stop_the_walk() {
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            XForwardedFor,
            &[("X-Forwarded-For", "203.0.113.9, unknown")],
        );
        assert_eq!(c.ip, ip("10.0.0.2"));
        for element in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=\"[127.0.0.5]\"",
            "for=\"[::1]x\"",
            "for=127.0.0.5:",
        ] {
            let c = client(
                "10.0.0.2",
                &["10.0.0.0/8"],
                Forwarded,
                &[("Forwarded", &format!("for=203.0.113.9, {element}"))],
            );
            assert_eq!(c.ip, ip("10.0.0.2"), "{element}");
        }
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            XForwardedFor,
            &[("X-Forwarded-For", "192.0.2.1:8080")],
        );
        assert_eq!(c.ip, ip("192.0.2.1"));
    }

    #[test]
    fn the_connection_cap_skips_trusted_proxies() {
        let trusted = cidrs(&["127.0.0.1"]);
        let mut hop = Hop {
            peer: ip("127.0.0.1"),
            unix: false,
            tls: false,
            trusted: &trusted,
        };
        assert_eq!(cap_key(&hop), None);
        hop.peer = ip("127.0.0.2");
        assert_eq!(cap_key(&hop), Some(ip("127.0.0.2")));
    }

    #[test]
    fn a_unix_socket_counts_as_a_trusted_proxy() {
        let hop = Hop {
            peer: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            unix: true,
            tls: false,
            trusted: &[],
        };
        for choice in ALL {
            let c = client_of(&hop, choice, FORGED.iter().copied());
            let expected = match choice {
                XForwardedFor => Client {
                    ip: ip("192.0.2.1"),
                    https: true,
                },
                Forwarded => Client {
                    ip: ip("192.0.2.2"),
                    https: true,
                },
                XRealIp => Client {
                    ip: ip("192.0.2.3"),
                    https: true,
                },
            };
            assert_eq!(c, expected, "{choice}");
        }
    }
}
