//! The client's address behind reverse proxies.
//!
//! Per-IP rate limits need the address of the person's machine. Without a proxy it is the TCP
//! peer. Behind a reverse proxy the peer is the proxy, and the person's address is in a header
//! the proxy adds (`X-Forwarded-For`, or `Forwarded` from RFC 7239). Anyone can send those
//! headers, so they are read **only** when the peer is one of the configured `trusted_proxies`,
//! and then only as far as the chain of trusted proxies goes: walking the hops from the right
//! (the closest), the first address that is not a trusted proxy is the client. A client that
//! writes its own header gets it appended to by its proxy, so what it wrote sits to the left of
//! the address its proxy saw, and is never reached.
//!
//! The scheme (`X-Forwarded-Proto`, `Forwarded: proto=`) is not read at all: the `Secure` flag of
//! cookies and the links in emails come from the configuration (`security.cookie_secure`,
//! `base_url`), never from a request.

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

/// The proxies whose forwarding header is believed. Empty (the default): none, the TCP peer is
/// the client.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies<'a> {
    pub networks: &'a [Cidr],
    pub header: ProxyHeader,
}

impl TrustedProxies<'_> {
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// The client's address, given the TCP peer and every value of the configured header (in the
    /// order received; several header lines are one list, RFC 9110 5.3).
    ///
    /// The peer unless it is a trusted proxy; then the rightmost hop that is not a trusted proxy.
    /// A hop that is not an address (garbage, `unknown`, an obfuscated RFC 7239 name) stops the
    /// walk at the last trusted proxy: whoever sent it shares that proxy's limit and cannot pick a
    /// fresh address per request. When every hop is a trusted proxy, the leftmost one is the client.
    pub fn client(&self, peer: IpAddr, header_values: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<&str> = header_values.iter().flat_map(|v| v.split(',')).collect();
        let mut current = peer;
        for hop in hops.iter().rev() {
            let parsed = match self.header {
                ProxyHeader::XForwardedFor => parse_node(hop.trim()),
                ProxyHeader::Forwarded => forwarded_for(hop),
            };
            let Some(ip) = parsed else { return current };
            current = ip.to_canonical();
            if !self.is_trusted(current) {
                return current;
            }
        }
        current
    }
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`, possibly quoted.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())) {
            return None;
        }
        return addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let (addr, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The `for=` parameter of one RFC 7239 forwarded-element (`for=192.0.2.60;proto=http;by=…`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    parse_node(value)
}

/// The proxies the settings trust.
fn configured(settings: &crate::config::Settings) -> TrustedProxies<'_> {
    TrustedProxies { networks: &settings.security.trusted_proxies, header: settings.security.proxy_header }
}

/// The client's address for rate limits (see the module's documentation), as text; "unknown" when
/// the connection has no peer address (never over TCP).
pub fn client_ip(req: &actix_web::HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else { return "unknown".into() };
    let Some(app) = req.app_data::<actix_web::web::Data<crate::app::App>>() else { return peer.to_string() };
    let proxies = configured(&app.settings);
    if !proxies.is_trusted(peer) {
        // The common case, and the one that must not read any header.
        return peer.to_canonical().to_string();
    }
    let values: Vec<&str> = req.headers().get_all(proxies.header.name()).filter_map(|v| v.to_str().ok()).collect();
    proxies.client(peer, &values).to_string()
}

/// The host the browser addressed: `X-Forwarded-Host` (or RFC 7239 `host=`) from a trusted proxy,
/// otherwise the `Host` header. Used to check `Origin` on form posts.
pub fn request_host(req: &actix_web::HttpRequest) -> Option<String> {
    let trusted = req.peer_addr().is_some_and(|peer| {
        req.app_data::<actix_web::web::Data<crate::app::App>>()
            .is_some_and(|app| configured(&app.settings).is_trusted(peer.ip()))
    });
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if trusted {
        // The proxy closest to Dossier writes the last value.
        if let Some(host) = header("x-forwarded-host").and_then(|v| v.rsplit(',').next()) {
            return Some(host.trim().to_owned());
        }
        let forwarded = req.headers().get_all("forwarded").filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        let host = forwarded.iter().flat_map(|v| v.split(',')).rev().find_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("host").then(|| value.trim().trim_matches('"').to_owned())
            })
        });
        if host.is_some() {
            return host;
        }
    }
    header("host").map(str::to_owned).or_else(|| req.uri().authority().map(|a| a.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
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

    #[test]
    fn nothing_trusted_means_the_peer_whatever_the_headers_say() {
        let proxies = TrustedProxies::default();
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.1"]), ip("127.0.0.1"));
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let n = nets(&["10.0.0.0/8"]);
        let proxies = TrustedProxies { networks: &n, header: ProxyHeader::XForwardedFor };
        assert_eq!(proxies.client(ip("203.0.113.5"), &["198.51.100.1"]), ip("203.0.113.5"));
        let forwarded = TrustedProxies { networks: &n, header: ProxyHeader::Forwarded };
        assert_eq!(forwarded.client(ip("203.0.113.5"), &["for=198.51.100.1"]), ip("203.0.113.5"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let n = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let proxies = TrustedProxies { networks: &n, header: ProxyHeader::XForwardedFor };
        // One proxy.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.1"]), ip("198.51.100.1"));
        // A chain: client → edge proxy (10.1.1.1) → local proxy (127.0.0.1) → Dossier.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.1, 10.1.1.1"]), ip("198.51.100.1"));
        // The client wrote its own header: its proxy appended what it saw; the forgery is never reached.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["1.2.3.4, 198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["10.9.9.9, 198.51.100.1, 10.1.1.1"]), ip("198.51.100.1"));
        // Several header lines are one list.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["1.2.3.4", "198.51.100.1, 10.1.1.1"]), ip("198.51.100.1"));
        // Ports are allowed.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.1:5555"]), ip("198.51.100.1"));
        // Every hop trusted (a proxy's own health check): the leftmost.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["10.2.2.2, 10.1.1.1"]), ip("10.2.2.2"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(proxies.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
    }

    #[test]
    fn ipv6_clients_and_proxies() {
        let n = nets(&["::1", "fd00::/8"]);
        let proxies = TrustedProxies { networks: &n, header: ProxyHeader::XForwardedFor };
        assert_eq!(proxies.client(ip("::1"), &["2001:db8::7"]), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("::1"), &["[2001:db8::7]:443, fd00::2"]), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("::1"), &["198.51.100.1"]), ip("198.51.100.1"));
        // An IPv4 peer on a dual-stack socket is still compared as IPv4.
        let v4 = nets(&["127.0.0.1"]);
        let proxies = TrustedProxies { networks: &v4, header: ProxyHeader::XForwardedFor };
        assert_eq!(proxies.client(ip("::ffff:127.0.0.1"), &["2001:db8::7"]), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("::ffff:203.0.113.5"), &["2001:db8::7"]), ip("203.0.113.5"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_proxy() {
        let n = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let proxies = TrustedProxies { networks: &n, header: ProxyHeader::XForwardedFor };
        for garbage in ["not-an-ip", "", "unknown", "198.51.100.1:99999", "[2001:db8::1", "1.2.3.4.5", "<script>"] {
            assert_eq!(proxies.client(ip("127.0.0.1"), &[garbage]), ip("127.0.0.1"), "{garbage:?}");
            assert_eq!(proxies.client(ip("127.0.0.1"), &[&format!("{garbage}, 10.1.1.1")]), ip("10.1.1.1"));
        }
        // Garbage to the left of the real client is never reached.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["junk, 198.51.100.1"]), ip("198.51.100.1"));
    }

    #[test]
    fn forwarded_rfc_7239() {
        let n = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let proxies = TrustedProxies { networks: &n, header: ProxyHeader::Forwarded };
        assert_eq!(proxies.client(ip("127.0.0.1"), &["for=198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["for=1.2.3.4, for=198.51.100.1;proto=https;by=10.0.0.1, For=10.1.1.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(proxies.client(ip("127.0.0.1"), &["for=\"[2001:db8:cafe::17]:4711\""]), ip("2001:db8:cafe::17"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["for=unknown"]), ip("127.0.0.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["for=_hidden, for=10.1.1.1"]), ip("10.1.1.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["proto=https"]), ip("127.0.0.1"), "no for=");
        // The other header is not read.
        let xff = TrustedProxies { networks: &n, header: ProxyHeader::XForwardedFor };
        assert_eq!(xff.client(ip("127.0.0.1"), &["for=198.51.100.1"]), ip("127.0.0.1"));
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

        /// An address outside 10.0.0.0/8 (the trusted proxies below).
        fn outside() -> impl Strategy<Value = IpAddr> {
            any::<u32>().prop_filter("not 10/8", |a| a >> 24 != 10).prop_map(|a| IpAddr::V4(Ipv4Addr::from(a)))
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

            /// Whatever a client writes in the header, behind a trusted proxy that appends the
            /// address it saw, the client is that address: a forged prefix is never believed.
            #[test]
            fn a_forged_header_never_picks_the_client(forged in "\\PC{0,60}", seen in outside(), header in prop_oneof![Just(ProxyHeader::XForwardedFor), Just(ProxyHeader::Forwarded)]) {
                let n = nets(&["10.0.0.0/8"]);
                let proxies = TrustedProxies { networks: &n, header };
                let appended = match header {
                    ProxyHeader::XForwardedFor => seen.to_string(),
                    ProxyHeader::Forwarded => format!("for=\"{seen}\""),
                };
                let value = format!("{forged}, {appended}");
                prop_assert_eq!(proxies.client(ip("10.0.0.1"), &[value.as_str()]), seen);
                // From an untrusted peer the header is not read at all.
                prop_assert_eq!(proxies.client(seen, &[value.as_str()]), seen);
            }

            /// Any header at all: no panic, and the answer is the peer or an address written in it.
            #[test]
            fn any_header_gives_the_peer_or_a_written_address(values in proptest::collection::vec("\\PC{0,40}|[0-9.:, \\[\\]for=;\"]{0,40}", 0..3)) {
                let n = nets(&["10.0.0.0/8", "fd00::/8"]);
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                for header in [ProxyHeader::XForwardedFor, ProxyHeader::Forwarded] {
                    let proxies = TrustedProxies { networks: &n, header };
                    let client = proxies.client(ip("10.0.0.1"), &refs);
                    let hops: Vec<&str> = refs.iter().flat_map(|v| v.split(',')).collect();
                    let written = hops.iter().any(|h| {
                        [parse_node(h.trim()), forwarded_for(h)].into_iter().flatten().any(|a| a.to_canonical() == client)
                    });
                    prop_assert!(client == ip("10.0.0.1") || written, "{} from {:?}", client, refs);
                }
            }
        }
    }
}
