//! Delivery to HTTP endpoints: the `SubscriptionConfirmation` handshake and
//! `Notification` POSTs with SNS's headers, retried on nubo's clock.
//!
//! nubo connects only to loopback addresses (`127.0.0.0/8`, `::1`, `localhost`,
//! `*.localhost`): a subscription to any other endpoint is kept pending and its messages go
//! to the outbox instead. HTTPS endpoints are not reached yet (no TLS client).

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

/// Whether nubo may connect to this endpoint: plain HTTP to a loopback host.
pub(crate) fn reachable(endpoint: &str) -> bool {
    let Ok(uri) = endpoint.parse::<http::Uri>() else { return false };
    if uri.scheme_str() != Some("http") {
        return false;
    }
    let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The delivery policy SNS applies by default: three retries, twenty seconds apart.
const RETRIES: u32 = 3;
const RETRY_DELAY: Duration = Duration::from_secs(20);

impl Sns {
    /// POSTs a message of `message_type` to an HTTP endpoint, in the background, retrying
    /// on failure; or keeps it in the outbox when the endpoint is not reachable from nubo.
    pub(crate) fn post(&self, endpoint: &str, topic_arn: &str, subscription_arn: Option<&str>, message_type: &'static str, message_id: &str, body: String) {
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
            for attempt in 0..=RETRIES {
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
                match sns.http.request(req).await {
                    Ok(resp) if resp.status().is_success() => return,
                    Ok(resp) => tracing::debug!("SNS {message_type} to {endpoint}: HTTP {}", resp.status()),
                    Err(e) => tracing::debug!("SNS {message_type} to {endpoint}: {e}"),
                }
                if attempt < RETRIES {
                    sns.clock.sleep(RETRY_DELAY).await;
                }
            }
            tracing::warn!("SNS gave up delivering {message_type} {message_id} to {endpoint}");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::reachable;

    #[test]
    fn only_loopback_http_endpoints_are_reachable() {
        for ok in ["http://127.0.0.1:8080/hook", "http://localhost/x", "http://app.localhost:9000/", "http://[::1]:80/", "http://127.5.6.7/"] {
            assert!(reachable(ok), "{ok}");
        }
        for no in ["http://10.0.0.1/", "http://example.com/", "https://127.0.0.1/", "http://169.254.169.254/", "http://192.168.1.2:80/", "not a url"] {
            assert!(!reachable(no), "{no}");
        }
    }
}
