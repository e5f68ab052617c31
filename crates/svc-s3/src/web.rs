//! What S3 answers outside its API: CORS (preflight `OPTIONS` requests and the headers of
//! cross-origin responses, from the bucket's CORS rules) and static website hosting on the
//! website endpoint (`<bucket>.s3-website.localhost`), with index and error documents.

use crate::data;
use crate::records::ObjectRecord;
use crate::S3;
use bytes::Bytes;
use nubo_core::addressing::{virtual_host_bucket, website_bucket};
use nubo_model::generated::s3::{CORSConfiguration, CORSRule, WebsiteConfiguration};
use nubo_model::handler::{HttpRequest, HttpResponse};
use nubo_model::ByteStream;
use percent_encoding::percent_decode_str;

const CORS_DENIED: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

/// `*` matches any run of characters (S3 allows one per pattern).
fn wildcard(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    let (p, v) = if case_insensitive { (pattern.to_ascii_lowercase(), value.to_ascii_lowercase()) } else { (pattern.to_string(), value.to_string()) };
    match p.split_once('*') {
        None => p == v,
        Some((a, b)) => v.len() >= a.len() + b.len() && v.starts_with(a) && v.ends_with(b),
    }
}

fn rule_for<'a>(config: &'a CORSConfiguration, origin: &str, method: &str, headers: &[String]) -> Option<&'a CORSRule> {
    config.cors_rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| wildcard(o, origin, false))
            && r.allowed_methods.iter().any(|m| m == method)
            && headers.iter().all(|h| r.allowed_headers.iter().flatten().any(|a| wildcard(a, h, true)))
    })
}

fn cors_headers(rule: &CORSRule, origin: &str, requested: &[String]) -> Vec<(String, String)> {
    let any = rule.allowed_origins.iter().any(|o| o == "*");
    let mut h = vec![
        ("Access-Control-Allow-Origin".to_string(), if any { "*".to_string() } else { origin.to_string() }),
        ("Access-Control-Allow-Methods".to_string(), rule.allowed_methods.join(", ")),
        ("Vary".to_string(), "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".to_string()),
    ];
    if !any {
        h.push(("Access-Control-Allow-Credentials".into(), "true".into()));
    }
    if !requested.is_empty() {
        h.push(("Access-Control-Allow-Headers".into(), requested.join(", ")));
    }
    if let Some(expose) = rule.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        h.push(("Access-Control-Expose-Headers".into(), expose.join(", ")));
    }
    if let Some(age) = rule.max_age_seconds {
        h.push(("Access-Control-Max-Age".into(), age.to_string()));
    }
    h
}

fn header<'a>(req: &'a HttpRequest<'_>, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The bucket an API request addresses (virtual host, else the first path segment).
fn request_bucket(req: &HttpRequest<'_>) -> Option<String> {
    virtual_host_bucket(req.host).or_else(|| {
        let first = req.path.trim_start_matches('/').split('/').next()?;
        (!first.is_empty()).then(|| percent_decode_str(first).decode_utf8_lossy().into_owned())
    })
}

fn respond(status: u16, headers: Vec<(String, String)>, body: impl Into<Bytes>) -> HttpResponse {
    let body = body.into();
    let mut headers = headers;
    headers.push(("Content-Length".into(), body.len().to_string()));
    HttpResponse { status, headers, body: ByteStream::from_bytes(body) }
}

fn xml_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    body.push_str(code);
    body.push_str("</Code><Message>");
    body.push_str(&message.replace('&', "&amp;").replace('<', "&lt;"));
    body.push_str("</Message></Error>");
    respond(status, vec![("Content-Type".into(), "application/xml".into())], body)
}

fn html_error(status: u16, title: &str, items: &[(&str, &str)]) -> HttpResponse {
    let mut body = format!("<html>\n<head><title>{status} {title}</title></head>\n<body>\n<h1>{status} {title}</h1>\n<ul>\n");
    for (k, v) in items {
        body.push_str(&format!("<li>{k}: {}</li>\n", v.replace('&', "&amp;").replace('<', "&lt;")));
    }
    body.push_str("</ul>\n<hr/>\n</body>\n</html>\n");
    respond(status, vec![("Content-Type".into(), "text/html; charset=utf-8".into())], body)
}

/// The website endpoint's page for a read the bucket policy does not allow.
pub(crate) fn website_refusal(e: &nubo_core::AwsError) -> HttpResponse {
    html_error(403, "Forbidden", &[("Code", &e.code), ("Message", &e.message)])
}

impl S3 {
    pub(crate) fn http_request<'a>(&'a self, req: &'a HttpRequest<'a>) -> Option<nubo_model::handler::HttpFuture<'a>> {
        if let Some(bucket) = website_bucket(req.host) {
            return Some(Box::pin(async move { self.website(req, &bucket).await }));
        }
        if req.method == "OPTIONS" && !nubo_core::addressing::names_another_service(req.host) {
            return Some(Box::pin(async move { self.preflight(req) }));
        }
        None
    }

    fn cors_config(&self, bucket: &str) -> Option<CORSConfiguration> {
        let b = self.bucket(bucket).ok()?;
        self.config::<CORSConfiguration>(&b, "cors").ok().flatten()
    }

    fn preflight(&self, req: &HttpRequest<'_>) -> HttpResponse {
        let Some(origin) = header(req, "origin") else {
            return xml_error(400, "BadRequest", "Insufficient information. Origin request header needed.");
        };
        let Some(method) = header(req, "access-control-request-method") else {
            return xml_error(400, "BadRequest", "Invalid Access-Control-Request-Method: null");
        };
        let requested: Vec<String> = header(req, "access-control-request-headers")
            .map(|h| h.split(',').map(|x| x.trim().to_ascii_lowercase()).filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        let Some(bucket) = request_bucket(req) else { return xml_error(403, "AccessForbidden", CORS_DENIED) };
        if self.bucket(&bucket).is_err() {
            return xml_error(404, "NoSuchBucket", "The specified bucket does not exist");
        }
        let Some(config) = self.cors_config(&bucket) else {
            return xml_error(403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.");
        };
        match rule_for(&config, origin, method, &requested) {
            Some(rule) => respond(200, cors_headers(rule, origin, &requested), Bytes::new()),
            None => xml_error(403, "AccessForbidden", CORS_DENIED),
        }
    }

    /// CORS headers for a cross-origin API request that a rule allows.
    pub(crate) fn cors_response_headers(&self, req: &HttpRequest<'_>) -> Vec<(String, String)> {
        let Some(origin) = header(req, "origin") else { return Vec::new() };
        let Some(config) = request_bucket(req).and_then(|b| self.cors_config(&b)) else { return Vec::new() };
        let method = if req.method == "HEAD" { "HEAD" } else { req.method };
        rule_for(&config, origin, method, &[]).map(|r| cors_headers(r, origin, &[])).unwrap_or_default()
    }

    async fn serve_object(&self, rec: &ObjectRecord, status: u16, head: bool) -> HttpResponse {
        let mut headers = vec![
            ("Content-Type".to_string(), rec.headers.content_type.clone().unwrap_or_else(|| "binary/octet-stream".into())),
            ("ETag".to_string(), rec.etag.clone()),
            ("Last-Modified".to_string(), nubo_core::Timestamp::from_millis(rec.last_modified_ms).to_http_date()),
            ("Content-Length".to_string(), rec.size.to_string()),
        ];
        let h = &rec.headers;
        for (name, value) in [
            ("Cache-Control", &h.cache_control),
            ("Content-Encoding", &h.content_encoding),
            ("Content-Disposition", &h.content_disposition),
            ("Content-Language", &h.content_language),
        ] {
            if let Some(v) = value {
                headers.push((name.to_string(), v.clone()));
            }
        }
        let body = if head {
            ByteStream::from_bytes(Bytes::new())
        } else {
            match data::serve(self.store.blobs(), &rec.segments, 0, rec.size).await {
                Ok(b) => b,
                Err(_) => return html_error(500, "Internal Server Error", &[("Code", "InternalError"), ("Message", "The object's data could not be read")]),
            }
        };
        HttpResponse { status, headers, body }
    }

    async fn website(&self, req: &HttpRequest<'_>, bucket: &str) -> HttpResponse {
        if req.method != "GET" && req.method != "HEAD" {
            return html_error(405, "Method Not Allowed", &[("Code", "MethodNotAllowed"), ("Message", "The specified method is not allowed against this resource.")]);
        }
        let head = req.method == "HEAD";
        let Ok(b) = self.bucket(bucket) else {
            return html_error(404, "Not Found", &[("Code", "NoSuchBucket"), ("Message", "The specified bucket does not exist"), ("BucketName", bucket)]);
        };
        let Some(site) = self.config::<WebsiteConfiguration>(&b, "website").ok().flatten() else {
            return html_error(
                404,
                "Not Found",
                &[("Code", "NoSuchWebsiteConfiguration"), ("Message", "The specified bucket does not have a website configuration"), ("BucketName", bucket)],
            );
        };
        if let Some(r) = &site.redirect_all_requests_to {
            let scheme = r.protocol.as_deref().unwrap_or("http");
            let query = if req.query.is_empty() { String::new() } else { format!("?{}", req.query) };
            let location = format!("{scheme}://{}{}{query}", r.host_name, req.path);
            return respond(301, vec![("Location".into(), location)], Bytes::new());
        }
        let index = site.index_document.as_ref().map(|i| i.suffix.clone()).unwrap_or_else(|| "index.html".into());
        let key = percent_decode_str(req.path.trim_start_matches('/')).decode_utf8_lossy().into_owned();
        let wanted = if key.is_empty() || key.ends_with('/') { format!("{key}{index}") } else { key.clone() };
        if let Ok(rec) = self.object(bucket, &wanted) {
            if let Some(to) = &rec.headers.website_redirect_location {
                return respond(301, vec![("Location".into(), to.clone())], Bytes::new());
            }
            return self.serve_object(&rec, 200, head).await;
        }
        // A "directory" without its slash is redirected to it, as S3 does.
        if !key.is_empty() && !key.ends_with('/') && self.object(bucket, &format!("{key}/{index}")).is_ok() {
            return respond(302, vec![("Location".into(), format!("{}/", req.path))], Bytes::new());
        }
        if let Some(err) = &site.error_document {
            if let Ok(rec) = self.object(bucket, &err.key) {
                return self.serve_object(&rec, 404, head).await;
            }
        }
        html_error(404, "Not Found", &[("Code", "NoSuchKey"), ("Message", "The specified key does not exist."), ("Key", &wanted)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_s3() {
        assert!(wildcard("*", "https://a.example", false));
        assert!(wildcard("https://*.example.com", "https://app.example.com", false));
        assert!(!wildcard("https://*.example.com", "https://example.org", false));
        assert!(wildcard("x-amz-*", "X-Amz-Date", true));
        assert!(!wildcard("https://a.com", "https://A.com", false));
    }
}
