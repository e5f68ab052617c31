//! Which service, protocol and operation a request addresses.
//!
//! AWS clients address services in several ways on one endpoint. The order that resolves
//! every case: the SigV4 credential scope's service name narrows the candidates; then
//! `X-Amz-Target` (json), the Smithy RPC v2 path `/service/<S>/operation/<Op>` (cbor), the
//! `Action` parameter (query, ec2), the REST method and path of the REST services; S3 takes
//! what is left, since it is addressed by bucket (path style or virtual host).

use nubo_core::AwsError;
use nubo_model::{Handler, Operation, ServiceMeta, ServiceModel};
use std::sync::OnceLock;
use nubo_protocol::{query, rest, Protocol, Request};

/// A service the gateway knows: its metadata always, its model once a request needs it,
/// its handler once implemented.
pub struct ServiceEntry {
    pub name: &'static str,
    pub meta: &'static ServiceMeta,
    pub handler: Option<Box<dyn Handler>>,
    /// The protocols its clients may speak.
    pub protocols: Vec<Protocol>,
    is_rest: bool,
    rest: OnceLock<rest::Router>,
}

impl ServiceEntry {
    fn speaks(&self, p: Protocol) -> bool {
        self.protocols.contains(&p)
    }

    /// The service's model, parsed on first use.
    pub fn model(&self) -> &'static ServiceModel {
        nubo_model::model(self.name).expect("every ServiceMeta has an embedded model")
    }

    fn rest_router(&self) -> Option<&rest::Router> {
        self.is_rest.then(|| self.rest.get_or_init(|| rest::Router::new(self.model())))
    }
}

pub struct Router {
    pub services: Vec<ServiceEntry>,
}

/// Where a request goes.
pub enum Resolution<'a> {
    Operation {
        service: &'a ServiceEntry,
        protocol: Protocol,
        operation: &'a Operation,
        labels: Vec<(String, String)>,
    },
    /// The request addresses no operation nubo knows; answered in `protocol`'s error format.
    Error { service: Option<&'a ServiceEntry>, protocol: Protocol, error: AwsError },
}

impl Router {
    pub fn new(handlers: Vec<Box<dyn Handler>>) -> Router {
        let mut handlers: Vec<Option<Box<dyn Handler>>> = handlers.into_iter().map(Some).collect();
        let services = nubo_model::services()
            .iter()
            .map(|meta| {
                let name = meta.name;
                let handler = handlers.iter_mut().find(|h| h.as_ref().is_some_and(|h| h.service() == name)).and_then(Option::take);
                let mut protocols: Vec<Protocol> = meta.protocols.iter().filter_map(|p| Protocol::from_model_name(p)).collect();
                // Query-compatible JSON services still answer their old query clients.
                if meta.query_compatible && !protocols.contains(&Protocol::Query) {
                    protocols.push(Protocol::Query);
                }
                let is_rest = protocols.iter().any(|p| matches!(p, Protocol::RestJson | Protocol::RestXml));
                ServiceEntry { name, meta, handler, protocols, is_rest, rest: OnceLock::new() }
            })
            .collect();
        Router { services }
    }

    pub fn service(&self, name: &str) -> Option<&ServiceEntry> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn resolve<'a>(&'a self, req: &Request, host: &str) -> Resolution<'a> {
        let signed = nubo_sigv4::credential(req.headers, req.query).map(|c| c.service);
        let candidates: Vec<&ServiceEntry> = match &signed {
            Some(s) => self.services.iter().filter(|e| e.meta.signing_name == s.as_str()).collect(),
            None => Vec::new(),
        };
        if let Some(target) = req.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
            return self.by_target(req, target);
        }
        if let Some(rest) = req.path.strip_prefix("/service/") {
            if let Some((svc, op)) = rest.split_once("/operation/") {
                return self.by_rpc_v2(req, svc, op);
            }
        }
        let params = (query::is_form(req) || req.query.contains("Action=")).then(|| query::Params::parse(req));
        if let Some(action) = params.as_ref().and_then(|p| p.get("Action")) {
            return self.by_action(&candidates, action, params.as_ref().and_then(|p| p.get("Version")));
        }
        // A form POST without `Action` is a query request that forgot it (no REST API takes forms).
        if req.method == "POST" && query::is_form(req) && req.headers.contains_key(http::header::CONTENT_TYPE) && candidates.iter().all(|c| !c.is_rest) {
            return Resolution::Error {
                service: candidates.first().copied(),
                protocol: candidates.first().map(|c| c.protocols[0]).filter(|p| *p == Protocol::Ec2).unwrap_or(Protocol::Query),
                error: AwsError::new("MissingAction", 400, "The request must contain the parameter Action."),
            };
        }
        if let Some(&svc) = candidates.first() {
            if !svc.is_rest {
                let protocol = svc.protocols[0];
                let error = if matches!(protocol, Protocol::Query | Protocol::Ec2) {
                    AwsError::new("MissingAction", 400, "The request must contain the parameter Action.")
                } else {
                    AwsError::new("UnknownOperationException", 400, "The request names no operation (no X-Amz-Target).")
                };
                return Resolution::Error { service: Some(svc), protocol, error };
            }
        }
        self.by_rest(req, host, &candidates, signed.as_deref())
    }

    fn by_target(&self, req: &Request, target: &str) -> Resolution<'_> {
        let (prefix, op) = target.rsplit_once('.').unwrap_or((target, ""));
        let Some(svc) = self.services.iter().find(|e| e.meta.target_prefix == Some(prefix)) else {
            return Resolution::Error {
                service: None,
                protocol: Protocol::Json,
                error: AwsError::new("UnknownOperationException", 400, format!("Unknown target: {target}")),
            };
        };
        let err = |error| Resolution::Error { service: Some(svc), protocol: Protocol::Json, error };
        if !svc.speaks(Protocol::Json) {
            return err(AwsError::new("UnknownOperationException", 400, format!("{} does not speak the json protocol", svc.name)));
        }
        if req.method != "POST" {
            return err(method_not_allowed(req.method));
        }
        match svc.model().operation(op) {
            Some(operation) => Resolution::Operation { service: svc, protocol: Protocol::Json, operation, labels: Vec::new() },
            None => err(AwsError::new("UnknownOperationException", 400, format!("Unknown operation {target}"))),
        }
    }

    fn by_rpc_v2(&self, req: &Request, svc_name: &str, op: &str) -> Resolution<'_> {
        let svc = self.services.iter().find(|e| e.meta.target_prefix == Some(svc_name) && e.speaks(Protocol::RpcV2Cbor));
        let Some(svc) = svc else {
            return Resolution::Error {
                service: None,
                protocol: Protocol::RpcV2Cbor,
                error: AwsError::new("UnknownOperationException", 404, format!("Unknown service {svc_name}")),
            };
        };
        let err = |error| Resolution::Error { service: Some(svc), protocol: Protocol::RpcV2Cbor, error };
        if req.method != "POST" {
            return err(method_not_allowed(req.method));
        }
        match svc.model().operation(op) {
            Some(operation) => Resolution::Operation { service: svc, protocol: Protocol::RpcV2Cbor, operation, labels: Vec::new() },
            None => err(AwsError::new("UnknownOperationException", 404, format!("Unknown operation {op}"))),
        }
    }

    fn by_action<'a>(&'a self, candidates: &[&'a ServiceEntry], action: &str, version: Option<&str>) -> Resolution<'a> {
        let speaks_query = |e: &&ServiceEntry| e.speaks(Protocol::Query) || e.speaks(Protocol::Ec2);
        let version_ok = |e: &&ServiceEntry| version.is_none_or(|v| e.meta.api_version == v);
        let svc = candidates
            .iter()
            .copied()
            .filter(speaks_query)
            .find(version_ok)
            .or_else(|| candidates.iter().copied().find(speaks_query))
            .or_else(|| version.and_then(|_| self.services.iter().filter(speaks_query).find(version_ok)));
        let Some(svc) = svc else {
            return Resolution::Error {
                service: None,
                protocol: Protocol::Query,
                error: AwsError::new("InvalidAction", 400, format!("The action {action} is not valid for this web service.")),
            };
        };
        let protocol = if svc.speaks(Protocol::Ec2) { Protocol::Ec2 } else { Protocol::Query };
        match svc.model().operation(action) {
            Some(operation) => Resolution::Operation { service: svc, protocol, operation, labels: Vec::new() },
            None => Resolution::Error {
                service: Some(svc),
                protocol,
                error: AwsError::new("InvalidAction", 400, format!("The action {action} is not valid for this web service.")),
            },
        }
    }

    fn by_rest<'a>(&'a self, req: &Request, host: &str, candidates: &[&'a ServiceEntry], signed: Option<&str>) -> Resolution<'a> {
        let rest_services = || self.services.iter().filter(|e| e.is_rest && e.name != "s3");
        let pool: Vec<&ServiceEntry> =
            if candidates.is_empty() { rest_services().collect() } else { candidates.iter().copied().filter(|e| e.is_rest).collect() };
        for svc in pool.iter().filter(|e| e.name != "s3") {
            if let Some((op, labels)) = svc.rest_router().unwrap().find(req.method, req.path, req.query, req.headers) {
                let protocol = if svc.speaks(Protocol::RestJson) { Protocol::RestJson } else { Protocol::RestXml };
                return Resolution::Operation { service: svc, protocol, operation: &svc.model().operations[op], labels };
            }
        }
        if let Some(svc) = pool.iter().find(|e| e.name != "s3") {
            if signed.is_some() {
                let protocol = if svc.speaks(Protocol::RestJson) { Protocol::RestJson } else { Protocol::RestXml };
                return Resolution::Error {
                    service: Some(svc),
                    protocol,
                    error: AwsError::new("UnknownOperationException", 404, format!("No operation of {} at {} {}", svc.name, req.method, req.path)),
                };
            }
        }
        self.s3(req, host)
    }

    /// S3 is addressed by bucket: `bucket.<host>` (virtual host) is rewritten to `/bucket/…`.
    fn s3<'a>(&'a self, req: &Request, host: &str) -> Resolution<'a> {
        let svc = self.service("s3").expect("the S3 model is embedded");
        let path = match nubo_core::addressing::virtual_host_bucket(host) {
            Some(bucket) => format!("/{bucket}{}", req.path),
            None => req.path.to_string(),
        };
        let router = svc.rest_router().unwrap();
        match router.find(req.method, &path, req.query, req.headers) {
            Some((op, labels)) => Resolution::Operation { service: svc, protocol: Protocol::RestXml, operation: &svc.model().operations[op], labels },
            None => Resolution::Error {
                service: Some(svc),
                protocol: Protocol::RestXml,
                error: AwsError::new("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
                    .with_field("Method", req.method)
                    .with_field("ResourceType", if path.trim_matches('/').contains('/') { "OBJECT" } else { "BUCKET" }),
            },
        }
    }
}

fn method_not_allowed(method: &str) -> AwsError {
    AwsError::new("MethodNotAllowed", 405, format!("The HTTP method {method} is not allowed: this protocol takes POST"))
}

#[cfg(test)]
mod routing_tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn route(method: &str, uri: &str, headers: &[(&str, &str)], body: &str, host: &str) -> (String, String, Protocol) {
        let router = Router::new(Vec::new());
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let body = Bytes::from(body.to_string());
        let req = Request { method, path, query, headers: &h, body: &body, stream: None };
        match router.resolve(&req, host) {
            Resolution::Operation { service, protocol, operation, .. } => (service.name.to_string(), operation.name.clone(), protocol),
            Resolution::Error { service, protocol, error } => {
                (service.map(|s| s.name).unwrap_or("-").to_string(), format!("error:{}", error.code), protocol)
            }
        }
    }

    fn signed(service: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    #[test]
    fn target_header_selects_a_json_service() {
        let r = route("POST", "/", &[("x-amz-target", "DynamoDB_20120810.ListTables")], "{}", "localhost");
        assert_eq!(r, ("dynamodb".into(), "ListTables".into(), Protocol::Json));
        let r = route("POST", "/", &[("x-amz-target", "DynamoDBStreams_20120810.ListStreams")], "{}", "localhost");
        assert_eq!(r.0, "dynamodbstreams", "streams share dynamodb's signing name but not its target prefix");
    }

    #[test]
    fn rpc_v2_path_selects_cbor() {
        let r = route("POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", &[], "", "localhost");
        assert_eq!(r, ("cloudwatch".into(), "ListMetrics".into(), Protocol::RpcV2Cbor));
    }

    #[test]
    fn action_selects_by_signature_then_version() {
        let auth = signed("sqs");
        let r = route("POST", "/", &[FORM, ("authorization", &auth)], "Action=ListQueues", "localhost");
        assert_eq!(r, ("sqs".into(), "ListQueues".into(), Protocol::Query));
        let r = route("POST", "/", &[FORM], "Action=DescribeInstances&Version=2016-11-15", "localhost");
        assert_eq!(r, ("ec2".into(), "DescribeInstances".into(), Protocol::Ec2));
        let r = route("GET", "/?Action=GetCallerIdentity&Version=2011-06-15", &[], "", "localhost");
        assert_eq!(r.1, "GetCallerIdentity");
    }

    #[test]
    fn elb_versions_share_a_signing_name() {
        let auth = signed("elasticloadbalancing");
        let r = route("POST", "/", &[FORM, ("authorization", &auth)], "Action=DescribeLoadBalancers&Version=2015-12-01", "localhost");
        assert_eq!((r.0.as_str(), r.1.as_str()), ("elbv2", "DescribeLoadBalancers"));
    }

    #[test]
    fn rest_json_paths_find_lambda_before_s3() {
        let r = route("GET", "/2015-03-31/functions/", &[], "", "localhost");
        assert_eq!(r, ("lambda".into(), "ListFunctions".into(), Protocol::RestJson));
    }

    #[test]
    fn s3_takes_path_style_and_virtual_host_requests() {
        assert_eq!(route("GET", "/", &[], "", "localhost:4566").1, "ListBuckets");
        assert_eq!(route("GET", "/bucket", &[], "", "localhost:4566").1, "ListObjects");
        assert_eq!(route("GET", "/", &[], "", "bucket.localhost:4566").1, "ListObjects");
        assert_eq!(route("GET", "/key.txt", &[], "", "bucket.s3.localhost.localstack.cloud:4566").1, "GetObject");
        assert_eq!(route("PUT", "/bucket?versioning", &[], "", "localhost").1, "PutBucketVersioning");
    }

    #[test]
    fn requests_naming_nothing_known_get_protocol_errors() {
        let r = route("POST", "/", &[("x-amz-target", "Nope.Op")], "{}", "localhost");
        assert_eq!((r.1.as_str(), r.2), ("error:UnknownOperationException", Protocol::Json));
        let r = route("POST", "/", &[FORM], "Version=2011-06-15", "localhost");
        assert_eq!((r.1.as_str(), r.2), ("error:MissingAction", Protocol::Query));
        let r = route("POST", "/", &[FORM], "Action=Bogus&Version=2011-06-15", "localhost");
        assert_eq!((r.1.as_str(), r.2), ("error:InvalidAction", Protocol::Query));
        let r = route("PATCH", "/bucket", &[], "", "localhost");
        assert_eq!((r.1.as_str(), r.2), ("error:MethodNotAllowed", Protocol::RestXml));
        let r = route("GET", "/", &[("x-amz-target", "AmazonSQS.ListQueues")], "", "localhost");
        assert_eq!(r.1, "error:MethodNotAllowed");
    }
}
