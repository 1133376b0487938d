//! The one native helper given to the peers that have no IP type (CEL,
//! evalexpr, Rhai): `cidr_match(ip, cidr)`, generic (any address, any CIDR
//! written in the rule), parsing both strings on every call — the shape of
//! Kubernetes CEL's `cidr(c).containsIP(ip)`. An unparseable address or
//! CIDR is "no match". An IPv4-mapped IPv6 address is matched as IPv4, as
//! riskgate does. Cedar uses its own `ip` extension instead.

use std::net::IpAddr;

/// True when `ip` lies in `cidr` (`a.b.c.d/n` or `v6::/n`).
pub fn cidr_match(ip: &str, cidr: &str) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else { return false };
    let Some((net, len)) = cidr.split_once('/') else { return false };
    let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u32>()) else { return false };
    match (ip.to_canonical(), net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if len <= 32 => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if len <= 128 => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::cidr_match;

    #[test]
    fn v4_v6_and_mapped() {
        assert!(cidr_match("10.1.2.3", "10.0.0.0/8"));
        assert!(!cidr_match("11.1.2.3", "10.0.0.0/8"));
        assert!(cidr_match("2001:db8:ffff::1", "2001:db8::/32"));
        assert!(!cidr_match("2001:db9::1", "2001:db8::/32"));
        assert!(cidr_match("::ffff:10.0.0.1", "10.0.0.0/8"));
        assert!(!cidr_match("10.0.0.1", "2001:db8::/32"));
        assert!(!cidr_match("", "10.0.0.0/8"));
    }
}
