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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use crate::net::{Cidr, ProxyHeader};

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

        /// An address outside 10.0.0.0/8 (the trusted proxies below).
        fn outside() -> impl Strategy<Value = IpAddr> {
            any::<u32>().prop_filter("not 10/8", |a| a >> 24 != 10).prop_map(|a| IpAddr::V4(Ipv4Addr::from(a)))
        }

        proptest! {
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
