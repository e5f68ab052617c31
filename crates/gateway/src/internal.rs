//! nubo's own endpoints under `/_nubo/`: health, reset, and the clock.
//!
//! * `GET /_nubo/health`: version, uptime, each service's state, and what the binary
//!   reports beside them (nubo's DNS address, the load balancers' front doors).
//! * `POST /_nubo/reset`: drops all state.
//! * `GET /_nubo/clock`: the clock's now and scale.
//! * `POST /_nubo/clock` with `{"advance": "5m"}` (or `"300s"`, `"2h"`, `"1d"`, or a number of
//!   seconds): jumps the clock forward.

use crate::dispatch::{json_response, HttpResponse};
use crate::Gateway;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;
use std::time::Duration;

pub async fn handle(gw: &Gateway, req: hyper::Request<Incoming>) -> HttpResponse {
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_string();
    match (method.as_str(), path.as_str()) {
        ("GET", "/_nubo/health") => health(gw),
        ("POST", "/_nubo/reset") => match gw.store.clear().await {
            Ok(()) => json_response(200, json!({ "reset": true })),
            Err(e) => json_response(500, json!({ "error": e.to_string() })),
        },
        ("GET", "/_nubo/clock") => clock(gw),
        ("POST", "/_nubo/clock") => {
            let body = match http_body_util::Limited::new(req.into_body(), 64 << 10).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return json_response(400, json!({ "error": "body too large" })),
            };
            let advance = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| v.get("advance").cloned());
            match advance.as_ref().and_then(parse_duration) {
                Some(d) => {
                    gw.clock.advance(d);
                    clock(gw)
                }
                None => json_response(
                    400,
                    json!({ "error": "expected a JSON body like {\"advance\": \"5m\"} (units s, m, h, d) or {\"advance\": 300}" }),
                ),
            }
        }
        _ => json_response(404, json!({ "error": format!("no nubo endpoint {method} {path}") })),
    }
}

fn health(gw: &Gateway) -> HttpResponse {
    let services: serde_json::Map<String, serde_json::Value> = gw
        .router
        .services
        .iter()
        .map(|s| (s.name.to_string(), json!(if s.handler.is_some() { "running" } else { "not_implemented" })))
        .collect();
    let mut body = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": gw.started.elapsed().as_secs_f64(),
        "services": services,
    });
    for (name, report) in gw.reports.lock().unwrap().iter() {
        body[name.as_str()] = report();
    }
    json_response(200, body)
}

fn clock(gw: &Gateway) -> HttpResponse {
    let now = gw.clock.now();
    json_response(200, json!({ "now": now.to_iso8601(), "epoch_millis": now.as_millis(), "scale": gw.clock.scale() }))
}

/// `300`, `"300"`, `"300s"`, `"5m"`, `"2h"`, `"1d"`, `"1.5h"`.
pub fn parse_duration(v: &serde_json::Value) -> Option<Duration> {
    let secs = match v {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => {
            let s = s.trim();
            let (num, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map(|i| s.split_at(i)).unwrap_or((s, "s"));
            let n: f64 = num.trim().parse().ok()?;
            n * match unit {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                _ => return None,
            }
        }
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration(&json!("5m")), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration(&json!(90)), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration(&json!("1.5h")), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration(&json!("-5m")), None);
        assert_eq!(parse_duration(&json!("5 parsecs")), None);
    }
}
