//! Access logs: when a load balancer's `access_logs.s3.enabled` is true, each request
//! becomes a line in AWS's format, and every five minutes of nubo's clock the lines are
//! delivered, gzipped, to the bucket under AWS's key layout
//! (`<prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/<account>_elasticloadbalancing_<region>_app.<name>.<id>_<end>_<ip>_<random>.log.gz`).

use super::Plane;
use nubo_core::{Scope, Timestamp};
use std::io::Write;
use std::net::SocketAddr;

/// Minutes between deliveries, as on AWS.
pub const INTERVAL_MINUTES: i64 = 5;

/// What a request's line says.
pub struct Entry<'a> {
    /// `http`, `https` or `h2`.
    pub kind: &'static str,
    pub time: Timestamp,
    pub created: Timestamp,
    pub client: SocketAddr,
    pub target: Option<&'a str>,
    pub target_seconds: Option<f64>,
    pub elb_status: u16,
    pub target_status: Option<u16>,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    pub request: &'a str,
    pub user_agent: &'a str,
    pub target_group: Option<&'a str>,
    pub trace_id: &'a str,
    pub domain: &'a str,
    pub rule_priority: &'a str,
    pub action: &'a str,
    pub redirect_url: Option<&'a str>,
}

/// `2018-07-02T22:23:00.186641Z`: microseconds, as ALB writes them.
fn micros(t: Timestamp) -> String {
    let iso = t.to_iso8601();
    match iso.strip_suffix('Z').and_then(|s| s.rsplit_once('.')) {
        Some((whole, ms)) => format!("{whole}.{ms:0<6}Z"),
        None => iso,
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

/// One line in ALB's access log format (the fields of AWS's documentation, in order).
pub fn line(lb_dimension: &str, e: &Entry<'_>) -> String {
    let dash = || "-".to_string();
    let target = e.target.map_or_else(dash, str::to_string);
    let target_seconds = e.target_seconds.map_or("-1".to_string(), |s| format!("{s:.3}"));
    let target_status = e.target_status.map_or_else(dash, |s| s.to_string());
    [
        e.kind.to_string(),
        micros(e.time),
        lb_dimension.to_string(),
        e.client.to_string(),
        target.clone(),
        "0.000".into(),
        target_seconds,
        "0.000".into(),
        e.elb_status.to_string(),
        target_status.clone(),
        e.received_bytes.to_string(),
        e.sent_bytes.to_string(),
        quoted(e.request),
        quoted(e.user_agent),
        dash(),
        dash(),
        e.target_group.map_or_else(dash, str::to_string),
        quoted(e.trace_id),
        quoted(e.domain),
        quoted("-"),
        e.rule_priority.to_string(),
        micros(e.created),
        quoted(e.action),
        quoted(e.redirect_url.unwrap_or("-")),
        quoted("-"),
        quoted(&target),
        quoted(&target_status),
        quoted("-"),
        quoted("-"),
        dash(),
    ]
    .join(" ")
}

/// One log file for S3.
pub struct Delivery {
    pub scope: Scope,
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
}

fn prefixed(prefix: &str, rest: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        rest.to_string()
    } else {
        format!("{prefix}/{rest}")
    }
}

/// Where AWS's test file goes when access logs are turned on.
pub fn test_file_key(prefix: &str, account: &str) -> String {
    prefixed(prefix, &format!("AWSLogs/{account}/ELBAccessLogTestFile"))
}

impl Plane {
    /// The lines since the last delivery, as files ending at `end`.
    pub fn take_access_logs(&self, end: Timestamp) -> Vec<Delivery> {
        let view = self.view();
        let mut out = Vec::new();
        for (arn, buffer) in &view.access_logs {
            let lines = std::mem::take(&mut *buffer.lock().unwrap());
            let Some((scope, lb)) = view.load_balancers.get(arn) else { continue };
            if lines.is_empty() {
                continue;
            }
            let bucket = lb.attributes.get("access_logs.s3.bucket").cloned().unwrap_or_default();
            let prefix = lb.attributes.get("access_logs.s3.prefix").cloned().unwrap_or_default();
            let iso = end.to_iso8601();
            let (date, time) = iso.split_once('T').unwrap_or((&iso, ""));
            let day = date.replace('-', "/");
            let stamp = format!("{}T{}Z", date.replace('-', ""), time.get(..5).unwrap_or("0000").replace(':', ""));
            // `app.<name>.<id>` from `loadbalancer/app/<name>/<id>`.
            let id = arn.split_once("loadbalancer/").map_or(String::new(), |(_, rest)| rest.replace('/', "."));
            let random = nubo_core::ids::random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 8);
            let (account, region) = (&scope.account, &scope.region);
            let key = prefixed(&prefix, &format!("AWSLogs/{account}/elasticloadbalancing/{region}/{day}/{account}_elasticloadbalancing_{region}_{id}_{stamp}_{}_{random}.log.gz", lb.address));
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            for l in &lines {
                let _ = writeln!(gz, "{l}");
            }
            match gz.finish() {
                Ok(body) => out.push(Delivery { scope: scope.clone(), bucket, key, body }),
                Err(e) => tracing::warn!("access log of {arn} lost: {e}"),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_albs_fields_in_order() {
        let t = Timestamp::parse_iso8601("2018-07-02T22:23:00.186Z").unwrap();
        let e = Entry {
            kind: "http",
            time: t,
            created: t,
            client: "192.168.131.39:2817".parse().unwrap(),
            target: Some("10.0.0.1:80"),
            target_seconds: Some(0.001),
            elb_status: 200,
            target_status: Some(200),
            received_bytes: 34,
            sent_bytes: 366,
            request: "GET http://www.example.com:80/ HTTP/1.1",
            user_agent: "curl/7.46.0",
            target_group: Some("arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"),
            trace_id: "Root=1-58337262-36d228ad5d99923122bbe354",
            domain: "-",
            rule_priority: "0",
            action: "forward",
            redirect_url: None,
        };
        let l = line("app/my-loadbalancer/50dc6c495c0c9188", &e);
        assert!(l.starts_with("http 2018-07-02T22:23:00.186000Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - arn:"), "{l}");
        assert!(l.ends_with("\"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\" -"), "{l}");
        assert_eq!(l.split(' ').filter(|f| !f.is_empty()).count(), 32);
    }

    #[test]
    fn keys_follow_awss_layout() {
        assert_eq!(test_file_key("", "123456789012"), "AWSLogs/123456789012/ELBAccessLogTestFile");
        assert_eq!(test_file_key("/alb/", "123456789012"), "alb/AWSLogs/123456789012/ELBAccessLogTestFile");
    }
}
