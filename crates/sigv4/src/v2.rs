//! S3's legacy Signature Version 2, which botocore still uses for S3 presigned URLs
//! (`?AWSAccessKeyId=…&Signature=…&Expires=…`) and old tools put in `Authorization: AWS
//! key:signature`: Base64(HMAC-SHA1(secret, string to sign)) over the method, content
//! headers, date, `x-amz-*` headers and the bucket-and-key resource with its
//! subresources.

use crate::verify::SigError;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;

/// The query parameters that are part of the signed resource.
const SUBRESOURCES: &[&str] = &[
    "accelerate", "acl", "cors", "delete", "encryption", "lifecycle", "location", "logging", "notification",
    "object-lock", "ownershipControls", "partNumber", "policy", "publicAccessBlock", "replication", "requestPayment",
    "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId",
    "versioning", "versions", "website",
];

pub struct V2Request<'a> {
    pub method: &'a str,
    /// As sent (percent-encoded), path style.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// The bucket named by a virtual-host style `Host`, if any.
    pub virtual_bucket: Option<&'a str>,
}

/// A SigV2 signature as the request states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Signature {
    pub access_key: String,
    pub signature: String,
    /// From the query string (`Expires` then stands where the date does).
    pub presigned: bool,
    /// `x-amz-security-token`, from the header or the query.
    pub session_token: Option<String>,
}

/// The signature a SigV2 request carries: from the header, or the query (presigned).
pub fn signature(headers: &HeaderMap, query: &str) -> Option<V2Signature> {
    let token_header = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let rest = auth.strip_prefix("AWS ")?;
        let (key, sig) = rest.split_once(':')?;
        return Some(V2Signature { access_key: key.to_string(), signature: sig.to_string(), presigned: false, session_token: token_header });
    }
    let (mut key, mut sig, mut token) = (None, None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "AWSAccessKeyId" => key = Some(v.into_owned()),
            "Signature" => sig = Some(v.into_owned()),
            "x-amz-security-token" | "X-Amz-Security-Token" => token = Some(v.into_owned()),
            _ => {}
        }
    }
    Some(V2Signature { access_key: key?, signature: sig?, presigned: true, session_token: token.or(token_header) })
}

pub fn string_to_sign(req: &V2Request<'_>, presigned: bool) -> String {
    let header = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_string();
    let params: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes()).into_owned().collect();
    let date = if presigned {
        params.iter().find(|(k, _)| k == "Expires").map(|(_, v)| v.clone()).unwrap_or_default()
    } else if req.headers.contains_key("x-amz-date") {
        String::new()
    } else {
        header("date")
    };
    let mut amz: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-amz-"))
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).trim().to_string()))
        .collect();
    amz.sort();
    let mut merged: Vec<(String, String)> = Vec::new();
    for (n, v) in amz {
        match merged.last_mut() {
            Some((last, values)) if *last == n => {
                values.push(',');
                values.push_str(&v);
            }
            _ => merged.push((n, v)),
        }
    }
    let mut resource = String::new();
    if let Some(b) = req.virtual_bucket {
        resource.push('/');
        resource.push_str(b);
    }
    resource.push_str(if req.path.is_empty() { "/" } else { req.path });
    let mut subs: Vec<&(String, String)> = params.iter().filter(|(k, _)| SUBRESOURCES.contains(&k.as_str())).collect();
    subs.sort();
    for (i, (k, v)) in subs.iter().enumerate() {
        resource.push(if i == 0 { '?' } else { '&' });
        resource.push_str(k);
        if !v.is_empty() {
            resource.push('=');
            resource.push_str(v);
        }
    }
    let mut s = format!("{}\n{}\n{}\n{date}\n", req.method, header("content-md5"), header("content-type"));
    for (n, v) in merged {
        s.push_str(&format!("{n}:{v}\n"));
    }
    s.push_str(&resource);
    s
}

/// Checks the signature; a presigned URL must carry `Expires` (its expiry is checked by
/// the gateway, as for SigV4), a header signature must be dated within 15 minutes of
/// `now` (Unix seconds).
pub fn verify(req: &V2Request<'_>, sig: &V2Signature, secret: &str, now: i64) -> Result<(), SigError> {
    if sig.presigned {
        if !form_urlencoded::parse(req.query.as_bytes()).any(|(k, _)| k == "Expires") {
            return Err(SigError::Malformed("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters".into()));
        }
    } else {
        let date = req
            .headers
            .get("x-amz-date")
            .or_else(|| req.headers.get(http::header::DATE))
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SigError::Malformed("AWS authentication requires a valid Date or x-amz-date header".into()))?;
        let when = nubo_core::Timestamp::parse_http_date(date).map(|t| t.as_secs()).ok_or_else(|| SigError::Malformed(format!("Invalid date: {date}")))?;
        if (when - now).abs() > crate::verify::MAX_SKEW_SECS {
            return Err(SigError::Skewed { request_time: date.to_string(), server_time: crate::verify::amz_date(now) });
        }
    }
    let sts = string_to_sign(req, sig.presigned);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(sts.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if crate::verify::constant_time_eq(expected.as_bytes(), sig.signature.as_bytes()) {
        Ok(())
    } else {
        Err(SigError::Mismatch { canonical_request: String::new(), string_to_sign: sts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from S3's SigV2 documentation ("Object GET").
    #[test]
    fn verifies_the_documented_object_get() {
        let mut h = HeaderMap::new();
        h.insert("host", "awsexamplebucket1.us-west-1.s3.amazonaws.com".parse().unwrap());
        h.insert("date", "Tue, 27 Mar 2007 19:36:42 +0000".parse().unwrap());
        let req = V2Request { method: "GET", path: "/photos/puppy.jpg", query: "", headers: &h, virtual_bucket: Some("awsexamplebucket1") };
        assert_eq!(string_to_sign(&req, false), "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg");
        let sig = V2Signature { access_key: "AKIAIOSFODNN7EXAMPLE".into(), signature: "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=".into(), presigned: false, session_token: None };
        let then = nubo_core::Timestamp::parse_http_date("Tue, 27 Mar 2007 19:36:42 +0000").unwrap().as_secs();
        verify(&req, &sig, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", then).unwrap();
        assert!(matches!(verify(&req, &sig, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", then + 3600), Err(SigError::Skewed { .. })));
    }

    #[test]
    fn presigned_urls_sign_their_expiry_and_subresources() {
        let h = HeaderMap::new();
        let req = V2Request { method: "GET", path: "/b/k", query: "AWSAccessKeyId=k&Expires=100&Signature=x&versionId=3", headers: &h, virtual_bucket: None };
        assert_eq!(string_to_sign(&req, true), "GET\n\n\n100\n/b/k?versionId=3");
    }
}
