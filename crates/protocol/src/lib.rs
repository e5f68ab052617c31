//! The AWS wire protocols, interpreted from the service models.
//!
//! A [`Codec`] pairs a protocol with a service model. The gateway asks it to decode a
//! request into a [`Value`] for an operation, and to encode the operation's output (or an
//! [`AwsError`]) as the response that protocol's clients expect. Nothing above this crate
//! sees XML, JSON, CBOR or query strings; nothing in this crate knows what a service does.
//!
//! One module per protocol family:
//! * [`query`]: `query` and its `ec2` variant (form parameters in, XML out);
//! * [`json`]: `json` 1.0/1.1 (`X-Amz-Target`), and the JSON bodies of `rest-json`;
//! * [`cbor`]: Smithy RPC v2 CBOR;
//! * [`rest`]: the HTTP bindings of `rest-json` and `rest-xml` (labels, query, headers,
//!   payload) and the matching of a method and path to an operation;
//! * [`xml`]: XML bodies for `query`, `ec2` and `rest-xml`;
//! * [`scalar`]: how one scalar reads and writes as text (headers, query strings, XML).

pub mod body;
pub mod cbor;
pub mod errors;
pub mod json;
pub mod query;
pub mod rest;
pub mod scalar;
pub mod xml;

use bytes::Bytes;
use http::HeaderMap;
use nubo_core::AwsError;
use nubo_model::{ByteStream, Operation, ServiceModel, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Query,
    Ec2,
    Json,
    RestJson,
    RestXml,
    RpcV2Cbor,
}

impl Protocol {
    /// The protocol of a model's `metadata.protocol` name.
    pub fn from_model_name(name: &str) -> Option<Protocol> {
        Some(match name {
            "query" => Protocol::Query,
            "ec2" => Protocol::Ec2,
            "json" => Protocol::Json,
            "rest-json" => Protocol::RestJson,
            "rest-xml" => Protocol::RestXml,
            "smithy-rpc-v2-cbor" => Protocol::RpcV2Cbor,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Query => "query",
            Protocol::Ec2 => "ec2",
            Protocol::Json => "json",
            Protocol::RestJson => "rest-json",
            Protocol::RestXml => "rest-xml",
            Protocol::RpcV2Cbor => "smithy-rpc-v2-cbor",
        }
    }
}

/// The parts of an HTTP request a codec reads.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded), without the query string.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    /// The unread body, for operations whose payload streams (then `body` is empty).
    pub stream: Option<ByteStream>,
}

/// A response ready to be written to the socket.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// A streaming body, sent instead of `body` when present.
    pub stream: Option<ByteStream>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A protocol bound to a service model.
#[derive(Clone, Copy)]
pub struct Codec<'m> {
    pub protocol: Protocol,
    pub model: &'m ServiceModel,
}

impl<'m> Codec<'m> {
    pub fn new(protocol: Protocol, model: &'m ServiceModel) -> Codec<'m> {
        Codec { protocol, model }
    }

    /// Decodes the input of `op`. `labels` are the URI labels the REST router captured.
    pub fn decode(&self, op: &Operation, req: &Request, labels: &[(String, String)]) -> Result<Value, AwsError> {
        match self.protocol {
            Protocol::Query | Protocol::Ec2 => query::decode(self, op, req),
            Protocol::Json => json::decode_rpc(self.model, op, req.body),
            Protocol::RpcV2Cbor => cbor::decode(self.model, op, req.body),
            Protocol::RestJson | Protocol::RestXml => rest::decode(self, op, req, labels),
        }
    }

    /// Encodes the output of `op` as a successful response.
    pub fn encode(&self, op: &Operation, output: Value, request_id: &str) -> Response {
        let mut resp = match self.protocol {
            Protocol::Query => query::encode(self, op, output, request_id),
            Protocol::Ec2 => query::encode_ec2(self, op, output, request_id),
            Protocol::Json => json::encode_rpc(self, op, output),
            Protocol::RpcV2Cbor => cbor::encode(self.model, op, output),
            Protocol::RestJson | Protocol::RestXml => rest::encode(self, op, output),
        };
        errors::add_request_id(self.protocol, &mut resp, request_id);
        resp
    }

    /// Encodes an error as this protocol's error response.
    pub fn encode_error(&self, err: &AwsError, request_id: &str) -> Response {
        errors::encode(self.protocol, Some(self.model), err, request_id)
    }
}

/// The generic shape of malformed input, per protocol family.
pub(crate) fn malformed(protocol: Protocol, message: impl Into<String>) -> AwsError {
    match protocol {
        Protocol::Json | Protocol::RestJson | Protocol::RpcV2Cbor => AwsError::new("SerializationException", 400, message),
        Protocol::RestXml => AwsError::new("MalformedXML", 400, message),
        Protocol::Query | Protocol::Ec2 => AwsError::new("InvalidParameterValue", 400, message),
    }
}
