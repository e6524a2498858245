//! Network addresses in the configuration: the networks of `trusted_proxies` and the header
//! those proxies write. A leaf module: the configuration reads these types and the web layer
//! (`web::proxy`) uses them, neither importing the other.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network written `address/prefix` (`10.0.0.0/8`, `fd00::/8`), or one address (`127.0.0.1`,
/// `::1`), parsed by hand with `std::net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen through an IPv6 socket arrives as `::ffff:a.b.c.d`.
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & v4_mask(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & v6_mask(self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let hint = "write an address (10.0.0.1, ::1) or a network (10.0.0.0/8, fd00::/8)";
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address or network: {hint}"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(text) => match text.parse::<u8>() {
                Ok(p) if p <= max && p.to_string() == text => p,
                _ => return Err(format!("{s:?}: the prefix length must be a number from 0 to {max}")),
            },
        };
        let masked = match network {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & v4_mask(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & v6_mask(prefix))),
        };
        if masked != network {
            // `10.0.0.1/8` is most likely a typo: say what it would mean instead of guessing.
            return Err(format!("{s:?} has bits set beyond its prefix: did you mean \"{masked}/{prefix}\"?"));
        }
        Ok(Self { network, prefix })
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Which header the trusted proxies write the client's address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, Caddy, Traefik, most load balancers).
    #[default]
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    #[serde(rename = "forwarded")]
    Forwarded,
}

impl ProxyHeader {
    pub fn name(self) -> &'static str {
        match self {
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::Forwarded => "forwarded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let n: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.255.1.2")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")), "an IPv4 peer on an IPv6 socket");
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12:3456::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        assert!("::1".parse::<Cidr>().unwrap().contains(ip("::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("2001:db8::1")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
        assert!("192.168.1.128/25".parse::<Cidr>().unwrap().contains(ip("192.168.1.200")));
    }

    #[test]
    fn bad_networks_are_refused_with_a_reason() {
        for (bad, says) in [
            ("localhost", "not an IP address"),
            ("10.0.0.0/33", "from 0 to 32"),
            ("fd00::/129", "from 0 to 128"),
            ("10.0.0.0/", "prefix length"),
            ("10.0.0.0/+8", "prefix length"),
            ("10.0.0.0/8/8", "prefix length"),
            ("10.0.0.1/8", "did you mean \"10.0.0.0/8\""),
            ("", "not an IP address"),
            ("300.1.1.1/8", "not an IP address"),
        ] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn any_ip() -> impl Strategy<Value = IpAddr> {
            prop_oneof![
                any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
                any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))
            ]
        }

        proptest! {
            /// `trusted_proxies` from a configuration file: no panic on any text, and what is
            /// accepted prints back as itself and contains exactly its addresses.
            #[test]
            fn networks_read_back_and_contain_their_addresses(ip in any_ip(), prefix in 0u8..=128, probe in any_ip()) {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let prefix = prefix % (max + 1);
                let network = match ip {
                    IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & v4_mask(prefix))),
                    IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & v6_mask(prefix))),
                };
                let cidr: Cidr = format!("{network}/{prefix}").parse().unwrap();
                prop_assert_eq!(cidr.to_string().parse::<Cidr>(), Ok(cidr));
                prop_assert!(cidr.contains(ip));
                let same_family = probe.is_ipv4() == ip.is_ipv4();
                let inside = match (network, probe) {
                    (IpAddr::V4(n), IpAddr::V4(p)) => u32::from(p) & v4_mask(prefix) == u32::from(n),
                    (IpAddr::V6(n), IpAddr::V6(p)) => u128::from(p) & v6_mask(prefix) == u128::from(n),
                    _ => false,
                };
                // (An IPv4-mapped IPv6 probe counts as IPv4: skip that rare case.)
                if same_family && probe.to_canonical() == probe {
                    prop_assert_eq!(cidr.contains(probe), inside);
                }
            }

            #[test]
            fn any_configured_text_parses_or_says_why(raw in "\\PC{0,40}|[0-9a-f:./]{0,45}") {
                match raw.parse::<Cidr>() {
                    Ok(c) => prop_assert_eq!(c.to_string().parse::<Cidr>(), Ok(c)),
                    Err(e) => prop_assert!(!e.is_empty()),
                }
            }
        }
    }
}
