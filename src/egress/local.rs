//! Which addresses are "local": on this computer, on a private network, or otherwise not the
//! public internet. A wrapped server reaching them is the localhost-CSRF analogue (a database on
//! 127.0.0.1, a router's admin page, the cloud metadata service), so the egress proxy refuses
//! them unless they are named exactly (see [`super::decide`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of local address `ip` is, in words for the person; `None` for a public address.
pub fn kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => kind_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return kind_v4(v4);
            }
            let s = v6.segments();
            if v6.is_unspecified() {
                Some("the unspecified address (this computer)")
            } else if v6.is_loopback() {
                Some("this computer (loopback)")
            } else if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Some("the cloud metadata service")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("a private network (unique local address)")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("a multicast address")
            } else if s[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible (deprecated) addresses such as ::127.0.0.1.
                kind_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
                    .or(Some("an IPv4-compatible IPv6 address"))
            } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                // NAT64: the embedded IPv4 address is where it goes.
                kind_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
            } else {
                None
            }
        }
    }
}

fn kind_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        Some("the cloud metadata service")
    } else if a == 127 {
        Some("this computer (loopback)")
    } else if a == 0 {
        Some("the unspecified address (this computer)")
    } else if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        Some("a private network")
    } else if a == 169 && b == 254 {
        Some("a link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT network")
    } else if a >= 224 {
        Some("a multicast, broadcast or reserved address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_recognised_in_every_spelling() {
        for local in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "64:ff9b::7f00:1",
        ] {
            let ip: IpAddr = local.parse().unwrap();
            assert!(kind(ip).is_some(), "{local} is local");
        }
        for public in ["1.1.1.1", "172.32.0.1", "192.0.2.2", "8.8.8.8", "2606:4700::1111"] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(kind(ip), None, "{public} is public");
        }
        assert_eq!(kind("169.254.169.254".parse().unwrap()), Some("the cloud metadata service"));
    }
}
