//! IP networks in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or a single
//! address), as `trusted_proxies` lists them: the reverse proxies whose
//! forwarding headers the server believes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// One network: an address whose bits after `prefix` are zero.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    base: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` lies inside. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
    /// what a dual-stack socket reports for an IPv4 peer) counts as its IPv4
    /// address, so that `127.0.0.0/8` covers a proxy on either stack.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip.to_canonical()) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                u32::from(ip) & v4_mask(self.prefix) == u32::from(base)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                u128::from(ip) & v6_mask(self.prefix) == u128::from(base)
            }
            _ => false,
        }
    }

    /// Loopback and the private ranges (RFC 1918, RFC 4193): where a reverse
    /// proxy in front of the server usually connects from, on the same
    /// machine, in a container network or in a private cloud network.
    pub fn private_ranges() -> Vec<IpNetwork> {
        [
            (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
            (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8),
            (IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 12),
            (IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16),
            (IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
            (IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7),
        ]
        .into_iter()
        .map(|(base, prefix)| IpNetwork { base, prefix })
        .collect()
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for IpNetwork {
    type Err = String;

    /// The error names the text and what to write instead; the caller adds
    /// the setting's name.
    fn from_str(text: &str) -> Result<IpNetwork, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = address.parse().map_err(|_| {
            format!(
                "`{text}` is not a network: write an address with an optional prefix length, \
                 e.g. 10.0.0.0/8, fd00::/8 or 192.0.2.10"
            )
        })?;
        let most: u8 = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {most}"))?,
        };
        let masked = match base {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & v4_mask(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & v6_mask(prefix))),
        };
        // `10.1.2.3/8` is more likely a typo for a /32 than a wish for all of
        // 10/8; trusting millions of addresses by accident is not harmless.
        if masked != base {
            return Err(format!(
                "`{text}` has address bits set past its prefix length: write {masked}/{prefix} \
                 for the network, or the address alone for one host"
            ));
        }
        Ok(IpNetwork { base, prefix })
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl fmt::Debug for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A list of networks: a TOML array of strings, or one string with the
/// networks separated by commas or spaces (how an environment variable
/// carries a list). An empty string is an empty list.
pub(super) fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNetwork>, D::Error> {
    struct Networks;

    impl<'de> Visitor<'de> for Networks {
        type Value = Vec<IpNetwork>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of networks such as [\"10.0.0.0/8\", \"fd00::/8\"]")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<IpNetwork>, E> {
            text.split([',', ' ', '\t', '\n'])
                .filter(|item| !item.trim().is_empty())
                .map(|item| item.parse().map_err(E::custom))
                .collect()
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<IpNetwork>, A::Error> {
            let mut networks = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                networks.push(item.parse().map_err(de::Error::custom)?);
            }
            Ok(networks)
        }
    }

    deserializer.deserialize_any(Networks)
}

#[cfg(test)]
mod tests {
    use super::IpNetwork;

    fn net(text: &str) -> IpNetwork {
        text.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_and_no_others() {
        let ten = net("10.0.0.0/8");
        assert!(ten.contains("10.255.0.1".parse().unwrap()));
        assert!(!ten.contains("11.0.0.1".parse().unwrap()));
        assert!(ten.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!ten.contains("::a00:1".parse().unwrap()));
        let ula = net("fd00::/8");
        assert!(ula.contains("fd12:3456::1".parse().unwrap()));
        assert!(!ula.contains("fe80::1".parse().unwrap()));
        let host = net("192.0.2.10");
        assert_eq!(host.to_string(), "192.0.2.10/32");
        assert!(host.contains("192.0.2.10".parse().unwrap()));
        assert!(!host.contains("192.0.2.11".parse().unwrap()));
        let everything = net("0.0.0.0/0");
        assert!(everything.contains("203.0.113.9".parse().unwrap()));
        assert!(!everything.contains("2001:db8::1".parse().unwrap()));
        assert!(net("::/0").contains("2001:db8::1".parse().unwrap()));
        assert_eq!(net(" ::1 ").to_string(), "::1/128");
    }

    #[test]
    fn typos_are_refused_with_what_to_write() {
        let err = "10.0.0.0/33".parse::<IpNetwork>().unwrap_err();
        assert!(err.contains("0 to 32"), "{err}");
        let err = "10.1.2.3/8".parse::<IpNetwork>().unwrap_err();
        assert!(err.contains("10.0.0.0/8"), "{err}");
        let err = "10.0.0/8".parse::<IpNetwork>().unwrap_err();
        assert!(err.contains("not a network"), "{err}");
        let err = "fd00::/129".parse::<IpNetwork>().unwrap_err();
        assert!(err.contains("0 to 128"), "{err}");
        assert!("10.0.0.0/-1".parse::<IpNetwork>().is_err());
        assert!("".parse::<IpNetwork>().is_err());
    }

    #[test]
    fn the_private_ranges_cover_loopback_and_container_networks() {
        let ranges = IpNetwork::private_ranges();
        for inside in ["127.0.0.1", "::1", "172.17.0.2", "192.168.1.1", "fd00::2"] {
            let ip = inside.parse().unwrap();
            assert!(ranges.iter().any(|n| n.contains(ip)), "{inside}");
        }
        for outside in ["203.0.113.7", "2001:db8::1", "172.32.0.1", "100.64.0.1"] {
            let ip = outside.parse().unwrap();
            assert!(!ranges.iter().any(|n| n.contains(ip)), "{outside}");
        }
    }
}
