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

/// The signature a SigV2 request carries: from the query (presigned) or the header.
pub fn signature(headers: &HeaderMap, query: &str) -> Option<(String, String, bool)> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let rest = auth.strip_prefix("AWS ")?;
        let (key, sig) = rest.split_once(':')?;
        return Some((key.to_string(), sig.to_string(), false));
    }
    let (mut key, mut sig) = (None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "AWSAccessKeyId" => key = Some(v.into_owned()),
            "Signature" => sig = Some(v.into_owned()),
            _ => {}
        }
    }
    Some((key?, sig?, true))
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

pub fn verify(req: &V2Request<'_>, signature: &str, presigned: bool, secret: &str) -> Result<(), SigError> {
    let sts = string_to_sign(req, presigned);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(sts.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if expected == signature {
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
        verify(&req, "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", false, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").unwrap();
    }

    #[test]
    fn presigned_urls_sign_their_expiry_and_subresources() {
        let h = HeaderMap::new();
        let req = V2Request { method: "GET", path: "/b/k", query: "AWSAccessKeyId=k&Expires=100&Signature=x&versionId=3", headers: &h, virtual_bucket: None };
        assert_eq!(string_to_sign(&req, true), "GET\n\n\n100\n/b/k?versionId=3");
    }
}
