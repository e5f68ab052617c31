//! Typed condition values: numbers, dates, IP ranges and base64 binaries.
//!
//! Policy values are parsed once, when the document is; request values when a condition
//! reads them. A value that does not parse simply never matches (except invalid dates in a
//! policy, which IAM rejects, see `condition.rs`).

use std::net::IpAddr;

use nubo_core::Timestamp;

/// An integer or decimal number (`Numeric*` operators).
pub(crate) fn number(text: &str) -> Option<f64> {
    let v: f64 = text.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// A date for the `Date*` operators, as milliseconds since the epoch: one of the W3C forms
/// of ISO 8601 (`2020-01-01`, `2020-01-01T10:00Z`, `2020-01-01T10:00:00.5+02:00`…) or
/// epoch seconds (`1577836800`). Like IAM, anything holding a `T` or a `-` is read as ISO.
pub(crate) fn date_millis(text: &str) -> Option<i64> {
    let s = text.trim();
    if !s.contains(['T', 't', '-']) {
        let secs: f64 = s.parse().ok()?;
        if !secs.is_finite() || secs.abs() > 1e15 {
            return None;
        }
        return Some((secs * 1000.0).round() as i64);
    }
    if !s.is_ascii() {
        return None;
    }
    let mut iso = match s.len() {
        7 => format!("{s}-01T00:00:00Z"),
        10 => format!("{s}T00:00:00Z"),
        _ => s.to_string(),
    };
    // `hh:mm` without seconds: nubo_core's parser wants `hh:mm:ss`.
    let b = iso.as_bytes();
    if b.len() >= 16 && (b[10] == b'T' || b[10] == b't') && b.get(16) != Some(&b':') {
        iso.insert_str(16, ":00");
    }
    Timestamp::parse_iso8601(&iso).map(Timestamp::as_millis)
}

/// An IPv4 or IPv6 range in CIDR notation; a bare address is `/32` or `/128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let s = text.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|n| *n <= max)?,
            None => max,
        };
        Some(Cidr { net, prefix })
    }

    /// Whether `ip` lies in the range. An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`)
    /// counts as its IPv4 address.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A request's IP address (`aws:SourceIp`).
pub(crate) fn address(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// Standard base64 (padding optional), for `BinaryEquals`.
pub(crate) fn base64(text: &str) -> Option<Vec<u8>> {
    let s = text.trim();
    let body = s
        .strip_suffix("==")
        .or_else(|| s.strip_suffix('='))
        .unwrap_or(s);
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in body.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_integers_or_decimals() {
        assert_eq!(number("10"), Some(10.0));
        assert_eq!(number(" -2.5 "), Some(-2.5));
        assert_eq!(number("1e3"), Some(1000.0));
        assert_eq!(number("ten"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(number("inf"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn dates_accept_iso_forms_and_epoch_seconds() {
        let full = date_millis("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(full, 1_577_836_800_000);
        assert_eq!(date_millis("1577836800"), Some(full));
        assert_eq!(date_millis("2020-01-01"), Some(full));
        assert_eq!(date_millis("2020-01"), Some(full));
        assert_eq!(date_millis("2020-01-01T00:00Z"), Some(full));
        assert_eq!(date_millis("2020-01-01T01:00:00+01:00"), Some(full));
        assert_eq!(date_millis("2020-01-01T00:00:00.250Z"), Some(full + 250));
        assert_eq!(date_millis("1577836800.5"), Some(full + 500));
    }

    #[test]
    fn bad_dates_are_rejected() {
        for bad in [
            "",
            "yesterday",
            "2020-13-01",
            "2020-01-01T25:00:00Z",
            "2020-01-01Tžž:00",
            "1e300",
            "-",
        ] {
            assert_eq!(date_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidr_ranges_contain_their_addresses() {
        let r = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(r.contains(address("203.0.113.7").unwrap()));
        assert!(!r.contains(address("203.0.114.7").unwrap()));
        assert!(r.contains(address("::ffff:203.0.113.9").unwrap()));
        let host = Cidr::parse("10.1.2.3").unwrap();
        assert!(host.contains(address("10.1.2.3").unwrap()));
        assert!(!host.contains(address("10.1.2.4").unwrap()));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(address("8.8.8.8").unwrap()));
        assert!(!all.contains(address("2001:db8::1").unwrap()));
    }

    #[test]
    fn ipv6_ranges_work_and_families_do_not_mix() {
        let r = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(r.contains(address("2001:db8:1234:5678::abcd").unwrap()));
        assert!(!r.contains(address("2001:db8:1234:5679::1").unwrap()));
        assert!(!r.contains(address("10.0.0.1").unwrap()));
        let host = Cidr::parse("2001:db8::1").unwrap();
        assert!(host.contains(address("2001:db8::1").unwrap()));
        assert!(!host.contains(address("2001:db8::2").unwrap()));
        assert!(Cidr::parse("::/0")
            .unwrap()
            .contains(address("::1").unwrap()));
    }

    #[test]
    fn malformed_ranges_do_not_parse() {
        for bad in [
            "",
            "300.0.0.1",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "host",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
        assert_eq!(address("10.0.0.0/8"), None);
    }

    #[test]
    fn base64_decodes_with_or_without_padding() {
        assert_eq!(
            base64("QmluYXJ5VmFsdWVJbkJhc2U2NA==").unwrap(),
            b"BinaryValueInBase64"
        );
        assert_eq!(
            base64("QmluYXJ5VmFsdWVJbkJhc2U2NA").unwrap(),
            b"BinaryValueInBase64"
        );
        assert_eq!(base64("").unwrap(), b"");
        assert_eq!(base64("YQ==").unwrap(), b"a");
        assert_eq!(base64("YWI=").unwrap(), b"ab");
        assert_eq!(base64("/+8=").unwrap(), [0xff, 0xef]);
        assert_eq!(base64("Y"), None);
        assert_eq!(base64("a b="), None);
        assert_eq!(base64("YQ=="), base64("YQ"));
    }
}
