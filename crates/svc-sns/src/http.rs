//! Delivery to HTTP endpoints: the `SubscriptionConfirmation` handshake and
//! `Notification` POSTs with SNS's headers, retried on nubo's clock.
//!
//! nubo connects only to loopback addresses (`127.0.0.0/8`, `::1`, `localhost`,
//! `*.localhost`): a subscription to any other endpoint is kept pending and its messages go
//! to the outbox instead. HTTPS endpoints are reached with rustls; their certificates are
//! not verified (unlike SNS, which wants a public CA's): an endpoint is a process on this
//! machine, usually with a self-signed certificate.

use crate::records::OutboxEntry;
use crate::Sns;
use bytes::Bytes;
use http_body_util::Full;
use std::net::IpAddr;
use std::time::Duration;

pub(crate) type Client = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Whether nubo may connect to this endpoint: HTTP or HTTPS to a loopback host.
pub(crate) fn reachable(endpoint: &str) -> bool {
    let Ok(uri) = endpoint.parse::<http::Uri>() else { return false };
    if uri.scheme_str() != Some("http") && uri.scheme_str() != Some("https") {
        return false;
    }
    let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How often and how far apart failed HTTP deliveries are retried: SNS's default (three
/// retries, twenty seconds apart) or the `numRetries` and `minDelayTarget` of a
/// `DeliveryPolicy` (the subscription's, else the topic's `http` one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub retries: u32,
    pub delay: Duration,
}

impl RetryPolicy {
    pub(crate) fn of(policy: Option<&String>) -> RetryPolicy {
        let default = RetryPolicy { retries: 3, delay: Duration::from_secs(20) };
        let Some(doc) = policy.and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok()) else { return default };
        let p = doc.pointer("/healthyRetryPolicy").or_else(|| doc.pointer("/http/defaultHealthyRetryPolicy"));
        let Some(p) = p else { return default };
        RetryPolicy {
            retries: p.get("numRetries").and_then(|v| v.as_u64()).map_or(default.retries, |n| n.min(100) as u32),
            delay: p.get("minDelayTarget").and_then(|v| v.as_u64()).map_or(default.delay, |s| Duration::from_secs(s.min(3600))),
        }
    }
}

impl Sns {
    /// POSTs a message of `message_type` to an HTTP endpoint, in the background, retrying
    /// on failure; or keeps it in the outbox when the endpoint is not reachable from nubo.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn post(&self, endpoint: &str, topic_arn: &str, subscription_arn: Option<&str>, message_type: &'static str, message_id: &str, body: String, policy: RetryPolicy) {
        if !reachable(endpoint) {
            let _ = self.to_outbox(OutboxEntry {
                timestamp: self.clock.now().to_iso8601(),
                protocol: "http".into(),
                endpoint: endpoint.to_string(),
                topic_arn: topic_arn.to_string(),
                subject: Some(format!("not sent ({message_type}): nubo only connects to loopback http endpoints")),
                message: body,
            });
            return;
        }
        let sns = self.clone();
        let (endpoint, topic_arn, message_id) = (endpoint.to_string(), topic_arn.to_string(), message_id.to_string());
        let subscription_arn = subscription_arn.map(str::to_string);
        tokio::spawn(async move {
            for attempt in 0..=policy.retries {
                let mut req = http::Request::post(&endpoint)
                    .header("Content-Type", "text/plain; charset=UTF-8")
                    .header("x-amz-sns-message-type", message_type)
                    .header("x-amz-sns-message-id", &message_id)
                    .header("x-amz-sns-topic-arn", &topic_arn)
                    .header("User-Agent", "Amazon Simple Notification Service Agent");
                if let Some(s) = &subscription_arn {
                    req = req.header("x-amz-sns-subscription-arn", s);
                }
                let Ok(req) = req.body(Full::new(Bytes::from(body.clone()))) else { return };
                let sent = if req.uri().scheme_str() == Some("https") { https_request(req).await } else { sns.http.request(req).await.map_err(|e| e.to_string()) };
                match sent {
                    Ok(resp) if resp.status().is_success() => return,
                    Ok(resp) => tracing::debug!("SNS {message_type} to {endpoint}: HTTP {}", resp.status()),
                    Err(e) => tracing::debug!("SNS {message_type} to {endpoint}: {e}"),
                }
                if attempt < policy.retries {
                    sns.clock.sleep(policy.delay).await;
                }
            }
            tracing::warn!("SNS gave up delivering {message_type} {message_id} to {endpoint}");
        });
    }
}

/// Accepts the endpoint's certificate, whatever it is (see the module's note).
#[derive(Debug)]
struct AnyCertificate(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, message: &[u8], cert: &rustls::pki_types::CertificateDer<'_>, dss: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(&self, message: &[u8], cert: &rustls::pki_types::CertificateDer<'_>, dss: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One POST over TLS (a connection per delivery: deliveries to one endpoint are few).
async fn https_request(req: http::Request<Full<Bytes>>) -> Result<http::Response<hyper::body::Incoming>, String> {
    let host = req.uri().host().unwrap_or("localhost").trim_start_matches('[').trim_end_matches(']').to_string();
    let port = req.uri().port_u16().unwrap_or(443);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let connect_to = if host == "localhost" || host.ends_with(".localhost") { "127.0.0.1".to_string() } else { host.clone() };
    let tcp = tokio::net::TcpStream::connect((connect_to.as_str(), port)).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let (mut parts, body) = req.into_parts();
    let authority = parts.uri.authority().map(|a| a.to_string()).unwrap_or_default();
    parts.headers.insert(http::header::HOST, http::HeaderValue::from_str(&authority).unwrap_or(http::HeaderValue::from_static("localhost")));
    parts.uri = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").parse().unwrap_or_default();
    sender.send_request(http::Request::from_parts(parts, body)).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{reachable, RetryPolicy};
    use std::time::Duration;

    #[test]
    fn delivery_policies_set_retries_and_delay() {
        let d = RetryPolicy::of(None);
        assert_eq!((d.retries, d.delay), (3, Duration::from_secs(20)));
        let sub = r#"{"healthyRetryPolicy":{"numRetries":5,"minDelayTarget":2}}"#.to_string();
        let p = RetryPolicy::of(Some(&sub));
        assert_eq!((p.retries, p.delay), (5, Duration::from_secs(2)));
        let topic = r#"{"http":{"defaultHealthyRetryPolicy":{"numRetries":0}}}"#.to_string();
        assert_eq!(RetryPolicy::of(Some(&topic)).retries, 0);
    }

    #[test]
    fn only_loopback_http_endpoints_are_reachable() {
        for ok in ["http://127.0.0.1:8080/hook", "https://127.0.0.1/", "http://localhost/x", "http://app.localhost:9000/", "http://[::1]:80/", "http://127.5.6.7/"] {
            assert!(reachable(ok), "{ok}");
        }
        for no in ["http://10.0.0.1/", "http://example.com/", "http://169.254.169.254/", "http://192.168.1.2:80/", "not a url"] {
            assert!(!reachable(no), "{no}");
        }
    }
}
