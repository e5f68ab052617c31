//! Who a request acts as, and whether it may: authentication and authorization.
//!
//! Without enforcement (the default) any access key is accepted: keys IAM issued stand for
//! their user or role session, any other key for the root user of its account (a 12-digit
//! key names the account, others the default one). With `--enforce-iam` the SigV4
//! signature is verified against the key's secret, temporary keys must carry their
//! session token and be unexpired (on nubo's clock), and every call is authorized by IAM
//! ([`Guard`]) before the service sees it. The error each failure gets, per service, is
//! decided here, in [`AuthError::into_aws`], and nowhere else.

use nubo_core::scope::{account_for_access_key, DEFAULT_REGION};
use nubo_core::{AwsError, Principal, RequestContext, Scope};
use nubo_model::access::Access;
use nubo_model::guard::{Credentials, Guard, Question, Session, Verdict};
use nubo_model::{Handler, Value};
use nubo_sigv4::verify::{self, SigError, SignedRequest};

/// The caller of a request, as authentication resolved it.
#[derive(Debug)]
pub struct Caller {
    pub scope: Scope,
    pub principal: Principal,
    pub access_key: Option<String>,
    pub session: Session,
    /// For signed streaming uploads under enforcement: checks the chunk signatures.
    pub chunk_signer: Option<nubo_sigv4::chunked::ChunkSigner>,
}

#[derive(Debug)]
pub enum AuthError {
    /// No signature, where the service takes no anonymous requests.
    MissingAuthenticationToken,
    /// A signature whose parts do not parse.
    IncompleteSignature(String),
    /// A key nubo never issued, or one made inactive.
    InvalidClientTokenId { access_key: String },
    /// A temporary key without its session token, or with another one.
    InvalidToken,
    ExpiredToken,
    SignatureDoesNotMatch { access_key: String, canonical_request: String, string_to_sign: String },
    RequestTimeTooSkewed { request_time: String, server_time: String },
    /// `x-amz-content-sha256` does not name the body sent.
    ContentSha256Mismatch { claimed: String, computed: String },
    AccessDenied { reason: String },
}

impl AuthError {
    /// The error AWS's `service` answers with: the codes and statuses differ by service
    /// (S3 speaks of access key ids, DynamoDB answers 400s, EC2 says "UnauthorizedOperation").
    pub fn into_aws(self, service: &str) -> AwsError {
        use AuthError::*;
        let dynamo = service == "dynamodb" || service == "dynamodbstreams";
        match self {
            MissingAuthenticationToken if dynamo => AwsError::new("MissingAuthenticationTokenException", 400, "Request is missing Authentication Token"),
            MissingAuthenticationToken => AwsError::new("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
            IncompleteSignature(m) if service == "s3" => AwsError::new("AuthorizationHeaderMalformed", 400, m),
            IncompleteSignature(m) => AwsError::new("IncompleteSignature", 400, m),
            InvalidClientTokenId { access_key } if service == "s3" => {
                AwsError::new("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.").with_field("AWSAccessKeyId", access_key)
            }
            InvalidClientTokenId { .. } if dynamo => AwsError::new("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
            InvalidClientTokenId { .. } => AwsError::new("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
            InvalidToken if service == "s3" => AwsError::new("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
            InvalidToken if dynamo => AwsError::new("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
            InvalidToken => AwsError::new("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
            ExpiredToken if service == "s3" => AwsError::new("ExpiredToken", 400, "The provided token has expired."),
            ExpiredToken if dynamo => AwsError::new("ExpiredTokenException", 400, "The security token included in the request is expired"),
            ExpiredToken => AwsError::new("ExpiredToken", 400, "The security token included in the request is expired"),
            SignatureDoesNotMatch { access_key, canonical_request, string_to_sign } => {
                const MSG: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
                if service == "s3" {
                    AwsError::new("SignatureDoesNotMatch", 403, MSG)
                        .with_field("AWSAccessKeyId", access_key)
                        .with_field("StringToSign", string_to_sign)
                        .with_field("CanonicalRequest", canonical_request)
                } else if dynamo {
                    AwsError::new("InvalidSignatureException", 400, MSG)
                } else {
                    AwsError::new("SignatureDoesNotMatch", 403, MSG)
                }
            }
            RequestTimeTooSkewed { request_time, server_time } => {
                if service == "s3" {
                    AwsError::new("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
                        .with_field("RequestTime", request_time)
                        .with_field("ServerTime", server_time)
                } else {
                    let msg = format!("Signature expired: {request_time} is now earlier than {server_time} (15 min. skew allowed)");
                    let code = if dynamo { "InvalidSignatureException" } else { "SignatureDoesNotMatch" };
                    AwsError::new(code, if dynamo { 400 } else { 403 }, msg)
                }
            }
            ContentSha256Mismatch { claimed, computed } if service == "s3" => {
                AwsError::new("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
                    .with_field("ClientComputedContentSHA256", claimed)
                    .with_field("S3ComputedContentSHA256", computed)
            }
            ContentSha256Mismatch { .. } => AuthError::SignatureDoesNotMatch { access_key: String::new(), canonical_request: String::new(), string_to_sign: String::new() }.into_aws(service),
            AccessDenied { reason } => match service {
                "s3" => AwsError::new("AccessDenied", 403, reason),
                "ec2" => AwsError::new("UnauthorizedOperation", 403, format!("You are not authorized to perform this operation. {reason}")),
                "sns" => AwsError::new("AuthorizationError", 403, reason),
                "dynamodb" | "dynamodbstreams" | "logs" => AwsError::new("AccessDeniedException", 400, reason),
                "lambda" => AwsError::new("AccessDeniedException", 403, reason),
                _ => AwsError::new("AccessDenied", 403, reason),
            },
        }
    }
}

/// The request as authentication needs it.
pub struct Incoming<'a> {
    pub service: &'static str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub host: &'a str,
    pub headers: &'a http::HeaderMap,
    /// Hex SHA-256 of the body as received (only computed under enforcement).
    pub body_sha256: Option<&'a str>,
}

/// Resolves the caller; under enforcement, proves it.
pub fn authenticate(guard: Option<&dyn Guard>, enforce: bool, now: nubo_core::Timestamp, req: &Incoming<'_>) -> Result<Caller, AuthError> {
    let parsed = nubo_sigv4::verify::signature(req.headers, req.query);
    let region_of = |r: &str| if r.is_empty() { DEFAULT_REGION.to_string() } else { r.to_string() };
    if !enforce {
        let cred = nubo_sigv4::credential(req.headers, req.query);
        let access_key = cred.as_ref().map(|c| c.access_key.clone()).or_else(|| nubo_sigv4::legacy_access_key(req.headers, req.query));
        let region = cred.map(|c| region_of(&c.region)).unwrap_or_else(|| DEFAULT_REGION.into());
        let known = access_key.as_deref().filter(|k| issued_by_iam(k)).and_then(|k| guard?.credentials(k));
        let principal = match known {
            Some(c) => c.principal,
            None => Principal::Root { account: access_key.as_deref().map(account_for_access_key).unwrap_or_else(|| nubo_core::scope::DEFAULT_ACCOUNT.into()) },
        };
        return Ok(Caller { scope: Scope::new(principal.account().to_string(), region), principal, access_key, session: Session::default(), chunk_signer: None });
    }

    let sig = match parsed {
        Err(SigError::Malformed(m)) => return Err(AuthError::IncompleteSignature(m)),
        Err(_) => return Err(AuthError::IncompleteSignature("The request signature is malformed.".into())),
        Ok(None) => {
            // S3's legacy SigV2 (botocore's presigned S3 URLs, old tools): S3 only, as
            // everywhere else it would sign too little of the request.
            if let Some(v2) = nubo_sigv4::v2::signature(req.headers, req.query) {
                if req.service != "s3" {
                    return Err(AuthError::IncompleteSignature("Signature Version 2 is accepted only by S3; sign with Signature Version 4.".into()));
                }
                return authenticate_v2(guard, now, req, v2);
            }
            if req.service == "s3" {
                return Ok(Caller { scope: Scope::default(), principal: Principal::Anonymous, access_key: None, session: Session::default(), chunk_signer: None });
            }
            return Err(AuthError::MissingAuthenticationToken);
        }
        Ok(Some(sig)) => sig,
    };
    let creds = lookup(guard, &sig.access_key, now)?;
    if creds.session_token.is_some() && creds.session_token != sig.session_token {
        return Err(AuthError::InvalidToken);
    }
    let signed = SignedRequest { method: req.method, path: req.path, query: req.query, headers: req.headers, host: req.host, body_sha256: req.body_sha256 };
    match verify::verify(&sig, &signed, &creds.secret, nubo_core::clock::wall_clock_now().as_secs()) {
        Ok(()) => {}
        Err(SigError::Mismatch { canonical_request, string_to_sign }) => {
            return Err(AuthError::SignatureDoesNotMatch { access_key: sig.access_key, canonical_request, string_to_sign })
        }
        Err(SigError::Skewed { request_time, server_time }) => return Err(AuthError::RequestTimeTooSkewed { request_time, server_time }),
        Err(SigError::Malformed(m)) => return Err(AuthError::IncompleteSignature(m)),
        Err(SigError::PayloadMismatch { claimed, computed }) => return Err(AuthError::ContentSha256Mismatch { claimed, computed }),
    }
    if let Some(g) = guard {
        g.record_use(&sig.access_key, &creds.principal, req.service, &sig.region);
    }
    let streaming_signed = req.headers.get("x-amz-content-sha256").is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"));
    let chunk_signer = (streaming_signed && !sig.presigned).then(|| {
        let key = verify::signing_key(&creds.secret, &sig.date, &sig.region, &sig.service);
        let scope = format!("{}/{}/{}/aws4_request", sig.date, sig.region, sig.service);
        nubo_sigv4::chunked::ChunkSigner::new(key, &sig.amz_date, &scope, &sig.signature)
    });
    Ok(Caller {
        scope: Scope::new(creds.principal.account().to_string(), region_of(&sig.region)),
        principal: creds.principal,
        access_key: Some(sig.access_key),
        session: creds.session,
        chunk_signer,
    })
}

fn authenticate_v2(guard: Option<&dyn Guard>, now: nubo_core::Timestamp, req: &Incoming<'_>, v2: nubo_sigv4::v2::V2Signature) -> Result<Caller, AuthError> {
    let creds = lookup(guard, &v2.access_key, now)?;
    if creds.session_token.is_some() && creds.session_token != v2.session_token {
        return Err(AuthError::InvalidToken);
    }
    let bucket = nubo_core::addressing::virtual_host_bucket(req.host);
    let signed = nubo_sigv4::v2::V2Request { method: req.method, path: req.path, query: req.query, headers: req.headers, virtual_bucket: bucket.as_deref() };
    match nubo_sigv4::v2::verify(&signed, &v2, &creds.secret, nubo_core::clock::wall_clock_now().as_secs()) {
        Ok(()) => {}
        Err(SigError::Mismatch { string_to_sign, .. }) => {
            return Err(AuthError::SignatureDoesNotMatch { access_key: v2.access_key, canonical_request: String::new(), string_to_sign })
        }
        Err(SigError::Skewed { request_time, server_time }) => return Err(AuthError::RequestTimeTooSkewed { request_time, server_time }),
        Err(SigError::Malformed(m)) => return Err(AuthError::IncompleteSignature(m)),
        Err(SigError::PayloadMismatch { claimed, computed }) => return Err(AuthError::ContentSha256Mismatch { claimed, computed }),
    }
    if let Some(g) = guard {
        g.record_use(&v2.access_key, &creds.principal, req.service, DEFAULT_REGION);
    }
    Ok(Caller {
        scope: Scope::new(creds.principal.account().to_string(), DEFAULT_REGION),
        principal: creds.principal,
        access_key: Some(v2.access_key),
        session: creds.session,
        chunk_signer: None,
    })
}

/// Keys IAM and STS hand out (`AKIA…` long-term, `ASIA…` temporary); any other key is a
/// root key by convention.
fn issued_by_iam(key: &str) -> bool {
    key.starts_with("AKIA") || key.starts_with("ASIA")
}

fn lookup(guard: Option<&dyn Guard>, key: &str, now: nubo_core::Timestamp) -> Result<Credentials, AuthError> {
    let creds = match guard {
        Some(g) => g.credentials(key),
        // Without IAM, the root convention alone: the `test` secret.
        None => (!issued_by_iam(key)).then(|| Credentials {
            secret: "test".into(),
            session_token: None,
            principal: Principal::Root { account: account_for_access_key(key) },
            expiration: None,
            active: true,
            session: Session::default(),
        }),
    };
    let creds = creds.filter(|c| c.active).ok_or_else(|| AuthError::InvalidClientTokenId { access_key: key.to_string() })?;
    if creds.expiration.is_some_and(|e| now.as_secs_f64() >= e.as_secs_f64()) {
        return Err(AuthError::ExpiredToken);
    }
    Ok(creds)
}

/// Asks IAM whether the caller may make every access this call makes. The root user may
/// do anything, as on AWS.
pub fn authorize(
    guard: Option<&dyn Guard>,
    handler: Option<&dyn Handler>,
    ctx: &RequestContext,
    input: &Value,
    session_policies: &[String],
) -> Result<(), AuthError> {
    if ctx.principal.is_root() {
        return Ok(());
    }
    let Some(guard) = guard else { return Ok(()) };
    // Services nubo does not implement yet are authorized too, with the derived accesses.
    let accesses = match handler {
        Some(h) => h.access(ctx, input),
        None => nubo_model::access::derive(ctx, input),
    };
    for access in accesses {
        authorize_access(guard, handler, ctx, &access, session_policies)?;
    }
    Ok(())
}

/// Asks IAM whether the caller may make one access, with the resource's own policy.
pub fn authorize_access(guard: &dyn Guard, handler: Option<&dyn Handler>, ctx: &RequestContext, access: &Access, session_policies: &[String]) -> Result<(), AuthError> {
    let policy = handler.and_then(|h| resource_policy(h, ctx, access));
    let q = Question { ctx, access, resource_policy: policy.as_deref(), session_policies };
    match guard.authorize(&q) {
        Verdict::Deny { reason } => Err(AuthError::AccessDenied { reason }),
        Verdict::Allow => Ok(()),
    }
}

fn resource_policy(handler: &dyn Handler, ctx: &RequestContext, access: &Access) -> Option<String> {
    (access.resource != "*").then(|| handler.resource_policy(ctx, &access.resource)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap())).collect()
    }

    fn incoming<'a>(service: &'static str, h: &'a http::HeaderMap) -> Incoming<'a> {
        Incoming { service, method: "GET", path: "/", query: "", host: "localhost", headers: h, body_sha256: None }
    }

    #[test]
    fn without_enforcement_any_key_is_the_root_of_its_account() {
        let h = headers(&[("authorization", "AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=00")]);
        let c = authenticate(None, false, nubo_core::Timestamp::from_secs(0), &incoming("sqs", &h)).unwrap();
        assert_eq!(c.principal, Principal::Root { account: "123456789012".into() });
        assert_eq!(c.scope, Scope::new("123456789012", "eu-west-1"));
    }

    #[test]
    fn with_enforcement_unsigned_requests_are_refused_except_by_s3() {
        let h = http::HeaderMap::new();
        let now = nubo_core::Timestamp::from_secs(0);
        assert!(matches!(authenticate(None, true, now, &incoming("sqs", &h)), Err(AuthError::MissingAuthenticationToken)));
        assert_eq!(authenticate(None, true, now, &incoming("s3", &h)).unwrap().principal, Principal::Anonymous);
    }

    #[test]
    fn with_enforcement_a_wrong_signature_is_refused() {
        let h = headers(&[
            ("authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
            ("x-amz-date", &verify::amz_date(nubo_core::clock::wall_clock_now().as_secs())),
            ("host", "localhost"),
        ]);
        let err = authenticate(None, true, nubo_core::Timestamp::from_secs(0), &incoming("sqs", &h)).unwrap_err();
        assert!(matches!(err, AuthError::SignatureDoesNotMatch { .. }), "{err:?}");
        assert_eq!(err.into_aws("dynamodb").code, "InvalidSignatureException");
    }

    #[test]
    fn denials_take_each_services_error_code() {
        let deny = || AuthError::AccessDenied { reason: "no".into() };
        assert_eq!(deny().into_aws("ec2").code, "UnauthorizedOperation");
        assert_eq!(deny().into_aws("sns").code, "AuthorizationError");
        assert_eq!(deny().into_aws("s3").status, 403);
        assert_eq!(deny().into_aws("dynamodb").status, 400);
    }
}
