//! Rule conditions, as an ALB evaluates them: values of one condition are alternatives
//! (any matches), conditions of a rule all must match. Host, header and query values
//! match case-insensitively, paths and methods case-sensitively; `*` and `?` are
//! wildcards everywhere but in methods and source IPs.

use crate::records::ConditionRecord;
use std::net::IpAddr;

/// What a rule can look at in a request.
pub struct RequestFacts<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub method: &'a str,
    /// Decoded (key, value) pairs of the query string.
    pub query: &'a [(String, String)],
    pub header: &'a dyn Fn(&str) -> Vec<String>,
    pub source: IpAddr,
}

/// `*` any run of characters, `?` one character.
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    nubo_core::wildcard::matches(pattern, text, ignore_case)
}

fn in_cidr(cidr: &str, ip: IpAddr) -> bool {
    let (base, bits) = cidr.split_once('/').unwrap_or((cidr, ""));
    let Ok(base) = base.parse::<IpAddr>() else { return false };
    match (base, ip) {
        (IpAddr::V4(b), IpAddr::V4(i)) => {
            let bits: u32 = bits.parse().unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(b) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(b), IpAddr::V6(i)) => {
            let bits: u32 = bits.parse().unwrap_or(128).min(128);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(b) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

pub fn matches(c: &ConditionRecord, r: &RequestFacts) -> bool {
    let host = r.host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(r.host, |(h, _)| h);
    match c.field.as_str() {
        "host-header" => c.values.iter().any(|v| wildcard(v, host, true)),
        "path-pattern" => c.values.iter().any(|v| wildcard(v, r.path, false)),
        "http-request-method" => c.values.iter().any(|v| v == r.method),
        "source-ip" => c.values.iter().any(|v| in_cidr(v, r.source)),
        "http-header" => {
            let values = (r.header)(c.header_name.as_deref().unwrap_or_default());
            values.iter().any(|h| c.values.iter().any(|v| wildcard(v, h, true)))
        }
        "query-string" => c.query.iter().any(|(key, value)| {
            r.query.iter().any(|(k, v)| key.as_ref().is_none_or(|key| wildcard(key, k, true)) && wildcard(value, v, true))
        }),
        _ => false,
    }
}

pub fn all_match(conditions: &[ConditionRecord], r: &RequestFacts) -> bool {
    conditions.iter().all(|c| matches(c, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(field: &str, values: &[&str]) -> ConditionRecord {
        ConditionRecord { field: field.into(), values: values.iter().map(|v| v.to_string()).collect(), header_name: None, query: Vec::new() }
    }

    fn facts<'a>(host: &'a str, path: &'a str, query: &'a [(String, String)], header: &'a dyn Fn(&str) -> Vec<String>) -> RequestFacts<'a> {
        RequestFacts { host, path, method: "GET", query, header, source: "10.1.2.3".parse().unwrap() }
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(wildcard("/api/*", "/api/users/1", false));
        assert!(wildcard("*.example.com", "www.example.com", true));
        assert!(wildcard("/img/?.png", "/img/a.png", false));
        assert!(!wildcard("/img/?.png", "/img/ab.png", false));
        assert!(!wildcard("/API/*", "/api/x", false));
        assert!(wildcard("*", "", false));
    }

    #[test]
    fn conditions_read_the_request_as_an_alb_does() {
        let none = |_: &str| Vec::new();
        let agent = |name: &str| if name.eq_ignore_ascii_case("user-agent") { vec!["Mozilla/5.0 (iPhone)".to_string()] } else { Vec::new() };
        let q = vec![("version".to_string(), "v2".to_string())];
        assert!(matches(&cond("host-header", &["API.example.com"]), &facts("api.example.com:8080", "/", &[], &none)));
        assert!(!matches(&cond("host-header", &["api.example.com"]), &facts("www.example.com", "/", &[], &none)));
        assert!(matches(&cond("path-pattern", &["/a/*", "/b/*"]), &facts("h", "/b/c", &[], &none)));
        let mut header = cond("http-header", &["*iPhone*"]);
        header.header_name = Some("User-Agent".into());
        assert!(matches(&header, &facts("h", "/", &[], &agent)));
        let query = ConditionRecord { field: "query-string".into(), values: Vec::new(), header_name: None, query: vec![(Some("version".into()), "V2".into())] };
        assert!(matches(&query, &facts("h", "/", &q, &none)));
        assert!(matches(&cond("source-ip", &["10.0.0.0/8"]), &facts("h", "/", &[], &none)));
        assert!(!matches(&cond("source-ip", &["192.168.0.0/16"]), &facts("h", "/", &[], &none)));
    }
}
