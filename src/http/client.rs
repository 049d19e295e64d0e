//! Who the client is. A request's client address is decided here and nowhere else: the request
//! log, the per-address connection cap, the token buckets, the XCP IP allowlist and the address
//! written into reset mails all read [`super::Request::client`], which [`client_of`] sets.
//!
//! The peer of the connection is the client, unless that peer is a trusted reverse proxy
//! (`server.trusted_proxies`, or any unix-socket listener). Then the address comes from
//! `Forwarded` (RFC 7239), else `X-Forwarded-For`, read from the right and skipping trusted
//! hops: the rightmost untrusted address is the first one that no trusted proxy vouches for.
//! Entries further left were written by the client itself and prove nothing.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
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

/// The one answer to "who is the client" for a request with these headers.
pub fn client_of<'h>(hop: &Hop<'_>, headers: impl Iterator<Item = (&'h str, &'h str)>) -> Client {
    let direct = Client {
        ip: canonical(hop.peer),
        https: hop.tls,
    };
    if !hop.peer_is_trusted() {
        return direct;
    }
    let mut forwarded: Vec<&str> = Vec::new();
    let mut x_forwarded_for: Vec<&str> = Vec::new();
    let mut x_forwarded_proto: Option<&str> = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("forwarded") {
            forwarded.push(value);
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            x_forwarded_for.push(value);
        } else if name.eq_ignore_ascii_case("x-forwarded-proto") {
            x_forwarded_proto = Some(value);
        }
    }
    // Each element is one hop, oldest first; repeated headers continue the list (RFC 7239 §4).
    let from_forwarded: Vec<(Option<IpAddr>, Option<&str>)> = forwarded
        .iter()
        .flat_map(|v| v.split(','))
        .map(parse_forwarded_element)
        .collect();
    let hops: Vec<(Option<IpAddr>, Option<&str>)> = if !from_forwarded.is_empty() {
        from_forwarded
    } else {
        x_forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(|entry| (parse_node(entry.trim()), None))
            .collect()
    };
    let mut client = direct;
    for (ip, proto) in hops.iter().rev() {
        let Some(ip) = ip.map(canonical) else {
            // An address we cannot read ("unknown", an obfuscated node): nothing further left
            // can be trusted, so the last trusted hop is the best answer.
            break;
        };
        client.ip = ip;
        if let Some(proto) = proto {
            client.https = proto.eq_ignore_ascii_case("https");
        }
        if !hop.is_trusted(ip) {
            break;
        }
    }
    // X-Forwarded-Proto, when Forwarded said nothing of the protocol: the rightmost value is
    // the one our nearest (trusted) proxy wrote.
    if let Some(proto) = x_forwarded_proto
        && hops.iter().all(|(_, p)| p.is_none())
    {
        client.https = proto
            .rsplit(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    }
    client
}

/// One `Forwarded` element: `for=…;proto=…;by=…` in any order and case.
fn parse_forwarded_element(element: &str) -> (Option<IpAddr>, Option<&str>) {
    let mut ip = None;
    let mut proto = None;
    for pair in element.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "for" => ip = parse_node(value),
            "proto" => proto = Some(value),
            _ => {}
        }
    }
    (ip, proto)
}

/// A node: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`, or a bare
/// IPv6 address as some proxies write it in `X-Forwarded-For`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (addr, port) = node.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) {
        addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn client(peer: &str, trusted: &[&str], headers: &[(&str, &str)]) -> Client {
        let trusted = cidrs(trusted);
        let hop = Hop {
            peer: peer.parse().unwrap(),
            unix: false,
            tls: false,
            trusted: &trusted,
        };
        client_of(&hop, headers.iter().map(|(n, v)| (*n, *v)))
    }

    #[test]
    fn cidr_blocks() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.200.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "nope", "::/129", "1.2.3.4/+8"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let c = client(
            "198.51.100.7",
            &[],
            &[
                ("X-Forwarded-For", "127.0.0.5"),
                ("Forwarded", "for=1.2.3.4;proto=https"),
            ],
        );
        assert_eq!(c.ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(!c.https);
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let c = client(
            "127.0.0.1",
            &["127.0.0.1/32"],
            &[
                ("X-Forwarded-For", "127.0.0.5"),
                ("X-Forwarded-Proto", "https"),
            ],
        );
        assert_eq!(c.ip, "127.0.0.5".parse::<IpAddr>().unwrap());
        assert!(c.https);
    }

    #[test]
    fn spoofed_entries_left_of_the_first_untrusted_hop_are_ignored() {
        // The client wrote "6.6.6.6" itself; our proxy appended what it saw, 203.0.113.9.
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            &[("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.3")],
        );
        assert_eq!(c.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            &[
                ("X-Forwarded-For", "6.6.6.6"),
                ("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"),
                ("forwarded", "For=\"[2001:db8:cafe::17]:4711\""),
            ],
        );
        assert_eq!(c.ip, "2001:db8:cafe::17".parse::<IpAddr>().unwrap());
        assert!(!c.https);
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            &[("Forwarded", "for=192.0.2.60;proto=https")],
        );
        assert_eq!(c.ip, "192.0.2.60".parse::<IpAddr>().unwrap());
        assert!(c.https);
    }

    #[test]
    fn unreadable_hops_stop_the_walk() {
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            &[("X-Forwarded-For", "203.0.113.9, unknown")],
        );
        assert_eq!(c.ip, "10.0.0.2".parse::<IpAddr>().unwrap());
        let c = client(
            "10.0.0.2",
            &["10.0.0.0/8"],
            &[("X-Forwarded-For", "192.0.2.1:8080")],
        );
        assert_eq!(c.ip, "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_connection_cap_skips_trusted_proxies() {
        let trusted = cidrs(&["127.0.0.1"]);
        let mut hop = Hop {
            peer: "127.0.0.1".parse().unwrap(),
            unix: false,
            tls: false,
            trusted: &trusted,
        };
        assert_eq!(cap_key(&hop), None);
        hop.peer = "127.0.0.2".parse().unwrap();
        assert_eq!(cap_key(&hop), Some("127.0.0.2".parse().unwrap()));
    }
}
