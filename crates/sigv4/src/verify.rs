//! SigV4 signature verification: recompute the signature a client with the secret would
//! have sent, and compare.
//!
//! Both forms are read: the `Authorization` header and the presigned query string
//! (`X-Amz-Signature`). The canonical request follows AWS's rules: the path is
//! URI-encoded once more for every service but S3 (which signs the path as sent), query
//! parameters are re-encoded and sorted, signed headers are lowercased, trimmed and
//! joined. The payload hash is `x-amz-content-sha256` where the client sent it (S3,
//! streaming uploads), else the SHA-256 of the body the gateway read.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How far a request's signing time may be from the server's clock, as on AWS.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// A request's signature, as the client stated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    /// `20240101T120000Z`.
    pub amz_date: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    pub presigned: bool,
    /// `X-Amz-Security-Token`, from the header or the query.
    pub session_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// The request claims SigV4 but its parts do not parse.
    Malformed(String),
    /// The signing time is more than 15 minutes from now.
    Skewed { request_time: String, server_time: String },
    /// The signature differs from the one the secret gives.
    Mismatch { canonical_request: String, string_to_sign: String },
    /// `x-amz-content-sha256` names another body than the one sent.
    PayloadMismatch { claimed: String, computed: String },
}

/// The SigV4 signature of a request, if it carries one (header or presigned query).
pub fn signature(headers: &HeaderMap, query: &str) -> Result<Option<Signature>, SigError> {
    let token_header = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256") else { return Ok(None) };
        let (mut cred, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                cred = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                sig = Some(v);
            }
        }
        let malformed = |what: &str| SigError::Malformed(format!("Authorization header requires '{what}' parameter."));
        let cred = crate::parse_scope(cred.ok_or_else(|| malformed("Credential"))?)
            .ok_or_else(|| SigError::Malformed("Credential should be scoped to a valid region, service and aws4_request.".into()))?;
        let signed = signed.ok_or_else(|| malformed("SignedHeaders"))?;
        let sig = sig.ok_or_else(|| malformed("Signature"))?;
        let amz_date = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| headers.get(http::header::DATE).and_then(|v| v.to_str().ok()).and_then(http_date_to_amz))
            .ok_or_else(|| SigError::Malformed("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into()))?;
        return Ok(Some(Signature {
            access_key: cred.access_key,
            date: cred.date,
            region: cred.region,
            service: cred.service,
            amz_date,
            signed_headers: signed.split(';').map(|h| h.to_ascii_lowercase()).collect(),
            signature: sig.to_string(),
            presigned: false,
            session_token: token_header,
        }));
    }
    if !query.contains("X-Amz-Signature") {
        return Ok(None);
    }
    let (mut cred, mut signed, mut sig, mut date, mut token, mut expires) = (None, None, None, None, None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "X-Amz-Expires" => expires = v.parse::<i64>().ok(),
            "X-Amz-Credential" => cred = crate::parse_scope(&v),
            "X-Amz-SignedHeaders" => signed = Some(v.into_owned()),
            "X-Amz-Signature" => sig = Some(v.into_owned()),
            "X-Amz-Date" => date = Some(v.into_owned()),
            "X-Amz-Security-Token" => token = Some(v.into_owned()),
            _ => {}
        }
    }
    let missing = || SigError::Malformed("Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.".into());
    let cred = cred.ok_or_else(missing)?;
    match expires {
        None => return Err(missing()),
        Some(e) if !(1..=604_800).contains(&e) => {
            return Err(SigError::Malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800".into()))
        }
        Some(_) => {}
    }
    Ok(Some(Signature {
        access_key: cred.access_key,
        date: cred.date,
        region: cred.region,
        service: cred.service,
        amz_date: date.ok_or_else(missing)?,
        signed_headers: signed.ok_or_else(missing)?.split(';').map(|h| h.to_ascii_lowercase()).collect(),
        signature: sig.ok_or_else(missing)?,
        presigned: true,
        session_token: token.or(token_header),
    }))
}

/// The parts of the request the signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// As sent (percent-encoded).
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// The authority for HTTP/2 requests that carry no `Host` header.
    pub host: &'a str,
    /// Hex SHA-256 of the body, when the client did not state it in `x-amz-content-sha256`.
    pub body_sha256: Option<&'a str>,
}

/// Checks `sig` against the request with `secret`; `now` is the server's Unix time.
pub fn verify(sig: &Signature, req: &SignedRequest<'_>, secret: &str, now: i64) -> Result<(), SigError> {
    let signed_at = crate::parse_amz_date(&sig.amz_date).ok_or_else(|| SigError::Malformed(format!("Invalid X-Amz-Date: {}", sig.amz_date)))?;
    if !sig.signed_headers.iter().any(|h| h == "host") {
        return Err(SigError::Malformed("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()));
    }
    // The hash the client states must be the body's, where the gateway read the body.
    if let (Some(claimed), Some(computed)) = (req.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()), req.body_sha256) {
        let is_hash = claimed.len() == 64 && claimed.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hash && !claimed.eq_ignore_ascii_case(computed) {
            return Err(SigError::PayloadMismatch { claimed: claimed.to_string(), computed: computed.to_string() });
        }
    }
    // Presigned URLs carry their own expiry (checked by the gateway); a header signature
    // must be recent.
    if !sig.presigned && (signed_at - now).abs() > MAX_SKEW_SECS {
        return Err(SigError::Skewed { request_time: sig.amz_date.clone(), server_time: amz_date(now) });
    }
    let canonical_request = canonical_request(sig, req);
    let scope = format!("{}/{}/{}/aws4_request", sig.date, sig.region, sig.service);
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{}\n{scope}\n{}", sig.amz_date, hex(&Sha256::digest(canonical_request.as_bytes())));
    let key = signing_key(secret, &sig.date, &sig.region, &sig.service);
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if constant_time_eq(expected.as_bytes(), sig.signature.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(SigError::Mismatch { canonical_request, string_to_sign })
    }
}

/// The key that signs a day's requests to one service in one region.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

pub fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn canonical_request(sig: &Signature, req: &SignedRequest<'_>) -> String {
    let s3 = sig.service == "s3";
    let path = if req.path.is_empty() { "/" } else { req.path };
    // S3 signs the path as the client encoded it; other services encode it once more.
    let uri = if s3 { normalize_encoding(path) } else { encode(&normalize_encoding(path), false) };

    let mut params: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k), true), encode(&decode(v), true))
        })
        .filter(|(k, _)| !(sig.presigned && k == "X-Amz-Signature"))
        .collect();
    params.sort();
    let query = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");

    let mut headers = String::new();
    for name in &sig.signed_headers {
        let values: Vec<String> = req.headers.get_all(name.as_str()).iter().map(|v| collapse(&String::from_utf8_lossy(v.as_bytes()))).collect();
        let value = if values.is_empty() && name == "host" { req.host.to_string() } else { values.join(",") };
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value);
        headers.push('\n');
    }
    let payload = if sig.presigned && s3 {
        "UNSIGNED-PAYLOAD".to_string()
    } else if let Some(h) = req.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
        h.to_string()
    } else {
        req.body_sha256.map(str::to_string).unwrap_or_else(|| sha256_hex(b""))
    };
    format!("{}\n{uri}\n{query}\n{headers}\n{}\n{payload}", req.method, sig.signed_headers.join(";"))
}

/// Trims a header value and collapses runs of spaces, as canonical headers require.
fn collapse(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Re-encodes a path that is already percent-encoded so that each byte is encoded the way
/// AWS's canonical form wants (upper-case hex, unreserved characters left alone), segment
/// by segment: an encoded `/` inside a segment stays encoded.
fn normalize_encoding(path: &str) -> String {
    path.split('/').map(|segment| encode(&decode(segment), true)).collect::<Vec<_>>().join("/")
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// AWS's URI encoding: everything but `A-Za-z0-9-_.~` is `%XX`; `/` too when `slash`.
fn encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn http_date_to_amz(s: &str) -> Option<String> {
    // Only the SigV4 date form is needed from `Date` in practice; accept it if a client sent it there.
    (s.len() == 16 && s.ends_with('Z')).then(|| s.to_string())
}

/// Unix seconds as `20240101T120000Z`.
pub fn amz_date(secs: i64) -> String {
    nubo_core::Timestamp::from_secs(secs).to_amz_date()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's own example from the SigV4 documentation ("GET /?Action=ListUsers" to IAM).
    #[test]
    fn verifies_the_iam_list_users_example_from_the_docs() {
        let mut h = HeaderMap::new();
        h.insert("host", "iam.amazonaws.com".parse().unwrap());
        h.insert("content-type", "application/x-www-form-urlencoded; charset=utf-8".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let sig = signature(&h, "Action=ListUsers&Version=2010-05-08").unwrap().unwrap();
        let req = SignedRequest { method: "GET", path: "/", query: "Action=ListUsers&Version=2010-05-08", headers: &h, host: "", body_sha256: None };
        let now = crate::parse_amz_date("20150830T123600Z").unwrap();
        verify(&sig, &req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now).unwrap();
        assert!(matches!(verify(&sig, &req, "wrong", now), Err(SigError::Mismatch { .. })));
        assert!(matches!(verify(&sig, &req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now + 3600), Err(SigError::Skewed { .. })));
    }

    #[test]
    fn signing_key_matches_the_documented_derivation() {
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
        assert_eq!(hex(&key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    }

    #[test]
    fn amz_date_round_trips() {
        let t = crate::parse_amz_date("20240229T235959Z").unwrap();
        assert_eq!(amz_date(t), "20240229T235959Z");
    }

    #[test]
    fn canonical_query_is_sorted_and_reencoded() {
        let h = HeaderMap::new();
        let sig = Signature {
            access_key: "k".into(),
            date: "20240101".into(),
            region: "us-east-1".into(),
            service: "s3".into(),
            amz_date: "20240101T000000Z".into(),
            signed_headers: vec![],
            signature: String::new(),
            presigned: false,
            session_token: None,
        };
        let req = SignedRequest { method: "GET", path: "/b/a%20b", query: "prefix=a b&list-type=2&uploads", headers: &h, host: "", body_sha256: None };
        let c = canonical_request(&sig, &req);
        assert!(c.starts_with("GET\n/b/a%20b\nlist-type=2&prefix=a%20b&uploads=\n"), "{c}");
        let req = SignedRequest { method: "GET", path: "/b/a%2fb", query: "", headers: &h, host: "", body_sha256: None };
        assert!(canonical_request(&sig, &req).starts_with("GET\n/b/a%2Fb\n"));
    }
}
