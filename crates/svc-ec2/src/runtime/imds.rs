//! The instance metadata service, as an instance sees it at `169.254.169.254`: IMDSv1
//! and IMDSv2 (a session token from `PUT /latest/api/token`), the usual `meta-data`
//! paths, `user-data`, the identity document, and the instance profile's role
//! credentials, fresh from STS, under `iam/security-credentials/<role>`.
//!
//! One server per instance, listening inside its network namespace (or, under the
//! process driver, on a loopback port named by `AWS_EC2_METADATA_SERVICE_ENDPOINT`), so
//! the instance it answers about is the one that asks.

use super::{InstanceCredentials, View};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use nubo_core::Clock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a metadata server knows: the instance (kept current by the runtime), its tokens.
pub struct Metadata {
    pub view: Mutex<View>,
    tokens: Mutex<HashMap<String, Instant>>,
    credentials: Option<Arc<dyn InstanceCredentials>>,
    cached: Mutex<Option<super::RoleCredentials>>,
    clock: Clock,
}

impl Metadata {
    pub fn new(view: View, credentials: Option<Arc<dyn InstanceCredentials>>, clock: Clock) -> Arc<Metadata> {
        Arc::new(Metadata { view: Mutex::new(view), tokens: Default::default(), credentials, cached: Default::default(), clock })
    }

    /// Serves connections from `listener` until the task is aborted.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let me = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let me = me.clone();
                    async move { Ok::<_, std::convert::Infallible>(me.answer(req)) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    }

    fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        if path == "/latest/api/token" {
            if req.method() != hyper::Method::PUT {
                return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "");
            }
            // AWS answers 400 when the TTL is missing or outside 1..=21600 seconds.
            let Some(ttl) = header("x-aws-ec2-metadata-token-ttl-seconds").and_then(|t| t.parse::<u64>().ok()).filter(|t| (1..=21600).contains(t)) else {
                return reply(StatusCode::BAD_REQUEST, "text/plain", "");
            };
            let token = format!("AQAEA{}==", nubo_core::ids::random_string(nubo_core::ids::ALNUM, 51));
            let mut tokens = self.tokens.lock().unwrap();
            let now = Instant::now();
            tokens.retain(|_, until| *until > now);
            tokens.insert(token.clone(), now + Duration::from_secs(ttl));
            return reply(StatusCode::OK, "text/plain", &token);
        }
        if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
            return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "");
        }
        // IMDSv1 is allowed (HttpTokens "optional", EC2's default); a token given must be valid.
        if let Some(token) = header("x-aws-ec2-metadata-token") {
            let valid = self.tokens.lock().unwrap().get(&token).is_some_and(|until| *until > Instant::now());
            if !valid {
                return reply(StatusCode::UNAUTHORIZED, "text/plain", "");
            }
        }
        match self.lookup(&path) {
            Some((kind, body)) => reply(StatusCode::OK, kind, &body),
            None => reply(
                StatusCode::NOT_FOUND,
                "text/html",
                "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n <head>\n  <title>404 - Not Found</title>\n </head>\n <body>\n  <h1>404 - Not Found</h1>\n </body>\n</html>\n",
            ),
        }
    }

    fn lookup(&self, path: &str) -> Option<(&'static str, String)> {
        let v = self.view.lock().unwrap().clone();
        let text = |s: &str| Some(("text/plain", s.to_string()));
        let path = path.trim_end_matches('/');
        let listing = |items: &[&str]| Some(("text/plain", items.join("\n")));
        let meta = path.strip_prefix("/latest/meta-data").filter(|m| m.is_empty() || m.starts_with('/')).map(|m| m.trim_start_matches('/'));
        if path.is_empty() || path == "/" {
            return listing(&["latest"]);
        }
        if path == "/latest" {
            return listing(&["dynamic", "meta-data", "user-data"]);
        }
        if path == "/latest/user-data" {
            return v.user_data.as_ref().map(|d| ("application/octet-stream", String::from_utf8_lossy(d).into_owned()));
        }
        if path == "/latest/dynamic" {
            return listing(&["instance-identity/"]);
        }
        if path == "/latest/dynamic/instance-identity" {
            return listing(&["document", "pkcs7", "signature"]);
        }
        if path == "/latest/dynamic/instance-identity/document" {
            let doc = serde_json::json!({
                "accountId": v.scope.account,
                "architecture": v.architecture,
                "availabilityZone": v.availability_zone,
                "billingProducts": null,
                "devpayProductCodes": null,
                "marketplaceProductCodes": null,
                "imageId": v.image_id,
                "instanceId": v.instance_id,
                "instanceType": v.instance_type,
                "kernelId": null,
                "pendingTime": v.launch_time,
                "privateIp": v.private_ip,
                "ramdiskId": null,
                "region": v.scope.region,
                "version": "2017-09-30",
            });
            return Some(("text/plain", serde_json::to_string_pretty(&doc).ok()?));
        }
        let meta = meta?;
        let mac = v.mac.clone();
        let has_role = v.instance_profile.is_some();
        match meta {
            "" => {
                let mut items = vec![
                    "ami-id", "ami-launch-index", "ami-manifest-path", "block-device-mapping/", "events/", "hostname", "identity-credentials/", "instance-action", "instance-id",
                    "instance-life-cycle", "instance-type", "local-hostname", "local-ipv4", "mac", "metrics/", "network/", "placement/", "profile", "public-hostname", "public-ipv4",
                    "reservation-id", "security-groups", "services/",
                ];
                if has_role {
                    items.insert(7, "iam/");
                }
                if v.public_ip.is_none() {
                    items.retain(|i| *i != "public-hostname" && *i != "public-ipv4");
                }
                listing(&items)
            }
            "ami-id" => text(&v.image_id),
            "ami-launch-index" => text(&v.launch_index.to_string()),
            "ami-manifest-path" => text("(unknown)"),
            "block-device-mapping" => listing(&["ami", "root"]),
            "block-device-mapping/ami" | "block-device-mapping/root" => text(&v.root_device),
            "hostname" | "local-hostname" => text(&v.hostname),
            "instance-action" => text("none"),
            "instance-id" => text(&v.instance_id),
            "instance-life-cycle" => text("on-demand"),
            "instance-type" => text(&v.instance_type),
            "local-ipv4" => text(&v.private_ip),
            "mac" => text(&mac),
            "profile" => text("default-hvm"),
            "public-ipv4" => v.public_ip.as_deref().and_then(text),
            "public-hostname" => v.public_hostname.as_deref().and_then(text),
            "reservation-id" => text(&v.reservation_id),
            "security-groups" => text(&v.security_groups.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join("\n")),
            "placement" => listing(&["availability-zone", "availability-zone-id", "region"]),
            "placement/availability-zone" => text(&v.availability_zone),
            "placement/availability-zone-id" => v.availability_zone_id.as_deref().and_then(text),
            "placement/region" => text(&v.scope.region),
            "services" => listing(&["domain", "partition"]),
            "services/domain" => text("amazonaws.com"),
            "services/partition" => text("aws"),
            "network" => listing(&["interfaces/"]),
            "network/interfaces" => listing(&["macs/"]),
            "network/interfaces/macs" => listing(&[&format!("{mac}/")]),
            m if m.starts_with("network/interfaces/macs/") => {
                let rest = m.trim_start_matches("network/interfaces/macs/").strip_prefix(&mac)?;
                match rest.trim_start_matches('/') {
                    "" => listing(&["device-number", "interface-id", "local-hostname", "local-ipv4s", "mac", "owner-id", "security-group-ids", "security-groups", "subnet-id", "vpc-id"]),
                    "device-number" => text("0"),
                    "interface-id" => text(&v.eni_id),
                    "local-hostname" => text(&v.hostname),
                    "local-ipv4s" => text(&v.private_ip),
                    "mac" => text(&mac),
                    "owner-id" => text(&v.scope.account),
                    "security-group-ids" => text(&v.security_groups.iter().map(|(g, _)| g.as_str()).collect::<Vec<_>>().join("\n")),
                    "security-groups" => text(&v.security_groups.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join("\n")),
                    "subnet-id" => text(&v.subnet_id),
                    "vpc-id" => text(&v.vpc_id),
                    _ => None,
                }
            }
            "iam" if has_role => listing(&["info", "security-credentials/"]),
            "iam/info" if has_role => {
                let c = self.credentials(&v)?;
                let doc = serde_json::json!({"Code": "Success", "LastUpdated": c.issued.to_iso8601_seconds(), "InstanceProfileArn": c.profile_arn, "InstanceProfileId": c.profile_id});
                Some(("text/plain", serde_json::to_string_pretty(&doc).ok()?))
            }
            "iam/security-credentials" if has_role => {
                let c = self.credentials(&v)?;
                text(&c.role_name)
            }
            m if has_role && m.starts_with("iam/security-credentials/") => {
                let c = self.credentials(&v)?;
                if m.trim_start_matches("iam/security-credentials/") != c.role_name {
                    return None;
                }
                let doc = serde_json::json!({
                    "Code": "Success",
                    "LastUpdated": c.issued.to_iso8601_seconds(),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": c.access_key_id,
                    "SecretAccessKey": c.secret_access_key,
                    "Token": c.session_token,
                    "Expiration": c.expiration.to_iso8601_seconds(),
                });
                Some(("text/plain", serde_json::to_string_pretty(&doc).ok()?))
            }
            _ => None,
        }
    }

    /// The role's credentials, renewed when less than five minutes are left (as EC2 rotates them).
    fn credentials(&self, v: &View) -> Option<super::RoleCredentials> {
        let provider = self.credentials.as_ref()?;
        let profile = v.instance_profile.as_deref()?;
        let now = self.clock.now().as_millis();
        let mut cached = self.cached.lock().unwrap();
        if let Some(c) = cached.as_ref().filter(|c| c.expiration.as_millis() - now > 300_000) {
            return Some(c.clone());
        }
        let fresh = provider.credentials(&v.scope.account, profile, &v.instance_id)?;
        *cached = Some(fresh.clone());
        Some(fresh)
    }
}

fn reply(status: StatusCode, kind: &str, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", kind)
        .header("server", "EC2ws")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}
