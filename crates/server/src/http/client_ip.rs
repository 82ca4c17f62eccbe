//! The client's address, the key of its request budgets: the peer address,
//! or, behind reverse proxies, the address they forwarded.
//!
//! A forwarding header is a list every proxy appends to, so only its right
//! end can be trusted: everything left of what our own proxies wrote is
//! whatever the client sent. Three settings say how far to believe it:
//!
//! - `client_ip_header`: which header (`x-forwarded-for`, or `forwarded`
//!   for RFC 7239's `for=` parameters). Unset: the peer address, always.
//! - `trusted_proxies`: networks. The header counts only when the peer is
//!   inside one (a client that reaches the server directly could otherwise
//!   write it), and each step left in the list needs the address just
//!   stepped to to be inside one too (a request that skipped an outer
//!   proxy stops at the address the inner one saw).
//! - `trusted_proxy_hops`: at most this many steps, counting the peer's
//!   own entry as the first. With one proxy, the last entry; with a CDN in
//!   front of it (and the CDN's networks trusted), the one before.
//!
//! Every header line is read, in order, as one comma-separated list (RFC
//! 9110, 5.3): HAProxy's `option forwardfor` adds a line of its own rather
//! than extending the client's. An entry may be `IP`, `IP:port`, `[v6]` or
//! `[v6]:port` (RFC 7239's forms; nginx and HAProxy write bare addresses).
//! An entry the walk needs that is none of these makes the request count
//! against the peer's budget; the value is never logged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::error::ApiError;
use super::AppState;
use crate::config::{Config, IpNetwork};
use crate::domain::ClientKey;

/// The client's address, as the key of its request budgets.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub ClientKey);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| ApiError::internal(&"no peer address on the request"))?;
        let Some(rules) = Forwarding::of(&state.ctx.config) else {
            return Ok(ClientIp::budget_key(peer));
        };
        let ip = match rules.client(&parts.headers, peer) {
            Ok(ip) => ip,
            Err(fallback) => {
                fallback.log(rules.header, &state.ip_warnings);
                peer
            }
        };
        Ok(ClientIp::budget_key(ip))
    }
}

impl ClientIp {
    /// One budget per IPv4 address, and per IPv6 /64: one subscriber
    /// usually holds a whole /64.
    fn budget_key(ip: IpAddr) -> ClientIp {
        let ip = match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let mut octets = v6.octets();
                for b in octets.iter_mut().skip(8) {
                    *b = 0;
                }
                IpAddr::from(octets)
            }
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ClientIp(ClientKey(ip))
    }
}

/// How a forwarding header is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    /// `X-Forwarded-For` and its kin: addresses separated by commas.
    AddressList,
    /// RFC 7239 `Forwarded`: elements separated by commas, the address in
    /// each element's `for=` parameter.
    Forwarded,
}

/// The configured way to find the client behind the proxies.
#[derive(Clone, Copy, Debug)]
struct Forwarding<'a> {
    header: &'a str,
    syntax: Syntax,
    trusted: &'a [IpNetwork],
    hops: u32,
}

/// Why the peer address is used although a header was configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fallback {
    /// The header came from a peer outside `trusted_proxies`.
    UntrustedPeer,
    /// An entry the walk needed is no address (or the header is not text).
    Unreadable,
}

/// Each kind of fallback is worth telling the operator about once per
/// app instance: it usually means `trusted_proxies` or the proxy's own
/// configuration is wrong. After that, debug only, since a client can cause
/// it at will. Kept in the app's state, not in a global.
#[derive(Debug, Default)]
pub struct FallbackWarnings {
    untrusted: AtomicBool,
    unreadable: AtomicBool,
}

impl Fallback {
    /// Neither the header's value nor any address: both are the client's.
    fn log(self, header: &str, warned: &FallbackWarnings) {
        let (flag, text) = match self {
            Fallback::UntrustedPeer => (
                &warned.untrusted,
                "a request carried the client_ip_header but its peer is outside \
                 trusted_proxies; the peer's address is its budget key (if your proxy is that \
                 peer, add its network to trusted_proxies)",
            ),
            Fallback::Unreadable => (
                &warned.unreadable,
                "the client_ip_header has an entry that is no address where the client's \
                 address should be; the peer's address is its budget key",
            ),
        };
        if flag.swap(true, Ordering::Relaxed) {
            tracing::debug!(header, "{text}");
        } else {
            tracing::warn!(
                header,
                "{text} (said once; later cases are logged at debug)"
            );
        }
    }
}

impl<'a> Forwarding<'a> {
    /// The rules, or `None` when no header is configured.
    fn of(config: &'a Config) -> Option<Forwarding<'a>> {
        let header = config.client_ip_header.as_deref()?;
        let syntax = if header.eq_ignore_ascii_case("forwarded") {
            Syntax::Forwarded
        } else {
            Syntax::AddressList
        };
        Some(Forwarding {
            header,
            syntax,
            trusted: &config.trusted_proxies,
            hops: config.trusted_proxy_hops,
        })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|network| network.contains(ip))
    }

    /// The client's address; `Err` when the peer's must be used instead.
    fn client(&self, headers: &HeaderMap, peer: IpAddr) -> Result<IpAddr, Fallback> {
        let lines = headers.get_all(self.header);
        if lines.iter().next().is_none() {
            // A health check from the proxy itself, or a direct request.
            return Ok(peer);
        }
        if !self.is_trusted(peer) {
            return Err(Fallback::UntrustedPeer);
        }
        let mut text = Vec::new();
        for line in lines {
            text.push(line.to_str().map_err(|_| Fallback::Unreadable)?);
        }
        // Empty elements are allowed and carry nothing (RFC 9110, 5.6.1).
        // Commas are never taken as quoted: a quote the client left open
        // must not swallow the entries our proxies added after it.
        let mut entries = text
            .iter()
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .rev();
        let mut client = peer;
        for _ in 0..self.hops {
            // Fewer entries than hops: the leftmost was still written by a
            // trusted proxy (the one to its right), so it is the client.
            let Some(entry) = entries.next() else { break };
            let address = match self.syntax {
                Syntax::AddressList => node(entry),
                Syntax::Forwarded => forwarded_for(entry).and_then(node),
            };
            client = address.ok_or(Fallback::Unreadable)?.to_canonical();
            if !self.is_trusted(client) {
                break;
            }
        }
        Ok(client)
    }
}

/// The `for=` value of one `Forwarded` element (`for=192.0.2.60;proto=http`),
/// without its quotes.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        Some(
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value),
        )
    })
}

/// An address as proxies write it: `IP`, `IP:port`, `[v6]` or `[v6]:port`.
/// A bare IPv6 address takes no port (its colons make one ambiguous).
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !after.is_empty() && !is_port(after.strip_prefix(':')?) {
            return None;
        }
        return inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    let (host, port) = text.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn networks(list: &[&str]) -> Vec<IpNetwork> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    /// The header lines in the order the proxies left them.
    fn headers(name: &str, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        for line in lines {
            map.append(name.clone(), HeaderValue::from_str(line).unwrap());
        }
        map
    }

    fn rules<'a>(header: &'a str, trusted: &'a [IpNetwork], hops: u32) -> Forwarding<'a> {
        Forwarding {
            header,
            syntax: if header == "forwarded" {
                Syntax::Forwarded
            } else {
                Syntax::AddressList
            },
            trusted,
            hops,
        }
    }

    const PROXY: &str = "10.0.0.2";

    /// One proxy in front, the default trust (loopback and private ranges).
    fn one_hop(lines: &[&str]) -> Result<IpAddr, Fallback> {
        let trusted = IpNetwork::private_ranges();
        rules("x-forwarded-for", &trusted, 1).client(&headers("x-forwarded-for", lines), ip(PROXY))
    }

    #[test]
    fn nginx_appends_the_client_to_what_the_client_sent() {
        // proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        assert_eq!(one_hop(&["203.0.113.7"]), Ok(ip("203.0.113.7")));
        assert_eq!(
            one_hop(&["198.51.100.1, 203.0.113.7"]),
            Ok(ip("203.0.113.7"))
        );
        assert_eq!(
            one_hop(&["1.1.1.1, 2.2.2.2 ,, 203.0.113.7"]),
            Ok(ip("203.0.113.7"))
        );
    }

    #[test]
    fn haproxy_adds_a_line_of_its_own_after_the_clients() {
        // option forwardfor: the client's line stays first.
        assert_eq!(
            one_hop(&["198.51.100.1", "203.0.113.7"]),
            Ok(ip("203.0.113.7"))
        );
        assert_eq!(
            one_hop(&["9.9.9.9, 8.8.8.8", "203.0.113.7"]),
            Ok(ip("203.0.113.7"))
        );
    }

    #[test]
    fn spoofed_entries_on_the_left_change_nothing() {
        for spoof in [
            "127.0.0.1",
            "10.0.0.1",
            "garbage",
            "\"unclosed, quote",
            "2001:db8::1",
            "",
        ] {
            assert_eq!(
                one_hop(&[&format!("{spoof}, 203.0.113.7")]),
                Ok(ip("203.0.113.7")),
                "{spoof}"
            );
            assert_eq!(
                one_hop(&[spoof, "203.0.113.7"]),
                Ok(ip("203.0.113.7")),
                "{spoof}"
            );
        }
    }

    #[test]
    fn ports_and_brackets_are_understood() {
        assert_eq!(one_hop(&["203.0.113.7:51234"]), Ok(ip("203.0.113.7")));
        assert_eq!(
            one_hop(&["[2001:db8:1:2::7]:443"]),
            Ok(ip("2001:db8:1:2::7"))
        );
        assert_eq!(one_hop(&["[2001:db8::7]"]), Ok(ip("2001:db8::7")));
        assert_eq!(one_hop(&["2001:db8::7"]), Ok(ip("2001:db8::7")));
        assert_eq!(one_hop(&["::ffff:203.0.113.7"]), Ok(ip("203.0.113.7")));
        // The same client behind either form shares one budget.
        let key = |lines: &[&str]| ClientIp::budget_key(one_hop(lines).unwrap()).0;
        assert_eq!(key(&["203.0.113.7:1"]), key(&["203.0.113.7"]));
        assert_eq!(key(&["[2001:db8:1:2::7]:9"]), key(&["2001:db8:1:2::8"]));
    }

    #[test]
    fn garbage_where_the_client_should_be_falls_back_to_the_peer() {
        for garbage in [
            "unknown",
            "203.0.113.7:",
            "203.0.113.7:99999",
            "203.0.113.7:+80",
            "[2001:db8::7",
            "[2001:db8::7]x",
            "[203.0.113.7]",
            "2001:db8::7:80:1:2:3:4",
            "_hidden",
            "example.org",
            "203.0.113.7 198.51.100.1",
        ] {
            assert_eq!(one_hop(&[garbage]), Err(Fallback::Unreadable), "{garbage}");
        }
        let mut map = HeaderMap::new();
        map.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"203.0.113.\xff").unwrap(),
        );
        let trusted = IpNetwork::private_ranges();
        assert_eq!(
            rules("x-forwarded-for", &trusted, 1).client(&map, ip(PROXY)),
            Err(Fallback::Unreadable)
        );
    }

    #[test]
    fn a_peer_outside_the_trusted_networks_is_not_believed() {
        let trusted = networks(&["10.0.0.0/8"]);
        let forwarding = rules("x-forwarded-for", &trusted, 1);
        let spoofed = headers("x-forwarded-for", &["198.51.100.1"]);
        assert_eq!(
            forwarding.client(&spoofed, ip("203.0.113.7")),
            Err(Fallback::UntrustedPeer)
        );
        // An IPv4 peer on a dual-stack socket is still its IPv4 self.
        assert_eq!(
            forwarding.client(&spoofed, ip("::ffff:10.0.0.2")),
            Ok(ip("198.51.100.1"))
        );
        // No header at all: the peer, trusted or not, with nothing to say.
        let none = HeaderMap::new();
        assert_eq!(
            forwarding.client(&none, ip("203.0.113.7")),
            Ok(ip("203.0.113.7"))
        );
        assert_eq!(forwarding.client(&none, ip(PROXY)), Ok(ip(PROXY)));
        // Another header is not the configured one.
        let other = headers("x-real-ip", &["198.51.100.1"]);
        assert_eq!(forwarding.client(&other, ip(PROXY)), Ok(ip(PROXY)));
    }

    #[test]
    fn two_hops_walk_through_trusted_proxies_only() {
        // A CDN (its network trusted) in front of nginx in front of us.
        let trusted = networks(&["10.0.0.0/8", "192.0.2.0/24"]);
        let forwarding = rules("x-forwarded-for", &trusted, 2);
        let client =
            |lines: &[&str]| forwarding.client(&headers("x-forwarded-for", lines), ip(PROXY));
        // client → CDN 192.0.2.5 → nginx: "spoof, client, cdn".
        assert_eq!(
            client(&["6.6.6.6, 203.0.113.7, 192.0.2.5"]),
            Ok(ip("203.0.113.7"))
        );
        // A client that skipped the CDN and reached nginx directly: nginx
        // wrote the client's own address, which is no proxy: stop there.
        assert_eq!(client(&["6.6.6.6, 203.0.113.7"]), Ok(ip("203.0.113.7")));
        // The CDN's entry is trusted, and beyond the hops nothing is.
        assert_eq!(
            client(&["6.6.6.6, 10.9.9.9, 192.0.2.5"]),
            Ok(ip("10.9.9.9"))
        );
        // Fewer entries than hops: the leftmost was written by a proxy.
        assert_eq!(client(&["192.0.2.5"]), Ok(ip("192.0.2.5")));
        // One hop with the same header takes the CDN for the client.
        let forwarding = rules("x-forwarded-for", &trusted, 1);
        assert_eq!(
            forwarding.client(
                &headers("x-forwarded-for", &["203.0.113.7, 192.0.2.5"]),
                ip(PROXY)
            ),
            Ok(ip("192.0.2.5"))
        );
    }

    #[test]
    fn rfc_7239_forwarded_names_the_client_in_for() {
        let trusted = IpNetwork::private_ranges();
        let forwarding = rules("forwarded", &trusted, 1);
        let client = |lines: &[&str]| forwarding.client(&headers("forwarded", lines), ip(PROXY));
        assert_eq!(
            client(&["for=192.0.2.43, for=203.0.113.7;proto=https;by=10.0.0.2"]),
            Ok(ip("203.0.113.7"))
        );
        assert_eq!(
            client(&[
                "for=1.2.3.4",
                "proto=https;For=\"[2001:db8:cafe::17]:4711\""
            ]),
            Ok(ip("2001:db8:cafe::17"))
        );
        assert_eq!(client(&["for=\"203.0.113.7:8080\""]), Ok(ip("203.0.113.7")));
        assert_eq!(client(&["for=unknown"]), Err(Fallback::Unreadable));
        assert_eq!(client(&["for=_hidden"]), Err(Fallback::Unreadable));
        assert_eq!(client(&["proto=https"]), Err(Fallback::Unreadable));
        assert_eq!(
            client(&["for=\"_x, for=203.0.113.7"]),
            Ok(ip("203.0.113.7"))
        );
    }

    #[test]
    fn the_configured_name_is_matched_whatever_its_case() {
        let config = |header: &str| Config {
            client_ip_header: Some(header.to_owned()),
            ..Config::default()
        };
        let proxied = headers("x-forwarded-for", &["198.51.100.1, 203.0.113.7"]);
        let config_xff = config("X-Forwarded-For");
        let xff = Forwarding::of(&config_xff).unwrap();
        assert_eq!(xff.client(&proxied, ip("127.0.0.1")), Ok(ip("203.0.113.7")));
        let config_fwd = config("Forwarded");
        let fwd = Forwarding::of(&config_fwd).unwrap();
        assert_eq!(fwd.syntax, Syntax::Forwarded);
        let standard = headers("forwarded", &["for=203.0.113.7"]);
        assert_eq!(fwd.client(&standard, ip("::1")), Ok(ip("203.0.113.7")));
        assert!(Forwarding::of(&Config::default()).is_none());
    }

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        let key = |text: &str| ClientIp::budget_key(text.parse().unwrap()).0 .0;
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7").to_string(), "192.0.2.7");
    }
}
