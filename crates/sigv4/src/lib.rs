//! AWS Signature Version 4: the credential scope (`AKID/20240101/us-east-1/sqs/aws4_request`)
//! names the access key, the region and the service a client signed for, from the
//! `Authorization` header or a presigned URL's `X-Amz-Credential` (routing and identity
//! need it); [`verify`] checks signatures when IAM is enforced; [`chunked`] unwraps the
//! aws-chunked framing of streaming uploads.

pub mod chunked;
pub mod v2;
pub mod verify;

use http::HeaderMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

fn parse_scope(s: &str) -> Option<Credential> {
    let mut p = s.split('/');
    let c = Credential {
        access_key: p.next()?.to_string(),
        date: p.next()?.to_string(),
        region: p.next()?.to_string(),
        service: p.next()?.to_string(),
    };
    (p.next()? == "aws4_request").then_some(c)
}

/// The credential scope of a signed request, from its header or its query string.
pub fn credential(headers: &HeaderMap, query: &str) -> Option<Credential> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256") {
            return rest
                .split(',')
                .find_map(|part| part.trim().strip_prefix("Credential="))
                .and_then(parse_scope);
        }
    }
    if query.contains("X-Amz-Credential") {
        return form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .and_then(|(_, v)| parse_scope(&v));
    }
    None
}

/// The access key of a request signed with the legacy SigV2 forms (`AWS AKID:sig`, `AWSAccessKeyId=`).
pub fn legacy_access_key(headers: &HeaderMap, query: &str) -> Option<String> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(rest) = auth.strip_prefix("AWS ") {
            return rest.split(':').next().map(str::to_string);
        }
    }
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "AWSAccessKeyId").map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scope_from_authorization_header() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .unwrap(),
        );
        let c = credential(&h, "").unwrap();
        assert_eq!((c.access_key.as_str(), c.region.as_str(), c.service.as_str()), ("test", "eu-west-1", "sqs"));
    }

    #[test]
    fn reads_scope_from_presigned_query() {
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request";
        assert_eq!(credential(&HeaderMap::new(), q).unwrap().service, "s3");
    }

    #[test]
    fn malformed_scope_is_no_credential() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "AWS4-HMAC-SHA256 Credential=garbage".parse().unwrap());
        assert_eq!(credential(&h, ""), None);
    }
}

/// When a presigned URL stops being valid, in Unix seconds: `X-Amz-Date` + `X-Amz-Expires`
/// (SigV4), or `Expires` (SigV2). `None` for requests that are not presigned.
pub fn presigned_expiry(query: &str) -> Option<i64> {
    let mut date = None;
    let mut expires = None;
    let mut v2 = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "X-Amz-Date" => date = parse_amz_date(&v),
            "X-Amz-Expires" => expires = v.parse::<i64>().ok(),
            "Expires" => v2 = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    match (date, expires) {
        (Some(d), Some(e)) => Some(d + e),
        _ => v2,
    }
}

/// `20240101T120000Z` in Unix seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    nubo_core::Timestamp::parse_amz_date(s).map(|t| t.as_secs())
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn presigned_expiry_adds_the_lifetime_to_the_signing_time() {
        assert_eq!(presigned_expiry("X-Amz-Date=19700101T000100Z&X-Amz-Expires=60"), Some(120));
        assert_eq!(presigned_expiry("X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600"), Some(1_704_067_200 + 3600));
        assert_eq!(presigned_expiry("AWSAccessKeyId=x&Expires=1700000000"), Some(1_700_000_000));
        assert_eq!(presigned_expiry("list-type=2"), None);
    }
}
