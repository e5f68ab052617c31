//! The shape model: AWS's service description format (as botocore ships it), reduced to
//! what the wire needs. The codecs interpret it at run time, so one codec serves every
//! service and every shape, including the ad-hoc shapes of AWS's protocol test vectors.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceModel {
    pub metadata: Metadata,
    #[serde(default)]
    pub operations: IndexMap<String, Operation>,
    pub shapes: IndexMap<String, Shape>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_version: Option<String>,
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml_namespace: Option<String>,
    /// Present (as an empty object) on JSON services that still answer their old query clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_query_compatible: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_endpoint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub http: Http,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<OperationRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OperationRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ShapeRef>,
    /// Clients may gzip this operation's request body (`Content-Encoding: gzip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requestcompression: Option<RequestCompression>,
    /// Superseded by another operation (which may share its HTTP route).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestCompression {
    #[serde(default)]
    pub encodings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    #[serde(default = "post")]
    pub method: String,
    #[serde(default = "slash")]
    pub request_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
}

fn post() -> String {
    "POST".into()
}
fn slash() -> String {
    "/".into()
}

impl Default for Http {
    fn default() -> Self {
        Http { method: post(), request_uri: slash(), response_code: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRef {
    pub shape: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_wrapper: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml_namespace: Option<XmlNamespace>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ShapeType {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Short,
    Byte,
    Float,
    Double,
    #[serde(alias = "bigdecimal")]
    BigDecimal,
    #[serde(alias = "biginteger")]
    BigInteger,
    Boolean,
    Timestamp,
    Blob,
    Character,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: ShapeType,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub members: IndexMap<String, Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Box<Member>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Box<Member>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Box<Member>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub flattened: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml_namespace: Option<XmlNamespace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<TimestampFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub exception: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorTrait>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub streaming: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub eventstream: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub union: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub document: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub fault: bool,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub shape: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub flattened: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub xml_attribute: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml_namespace: Option<XmlNamespace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<TimestampFormat>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub jsonvalue: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub idempotency_token: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub host_label: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub streaming: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub eventpayload: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Location {
    Header,
    Headers,
    Querystring,
    Uri,
    StatusCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TimestampFormat {
    Iso8601,
    Rfc822,
    UnixTimestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum XmlNamespace {
    Uri(String),
    Full {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
        uri: String,
    },
}

impl XmlNamespace {
    /// The attribute that declares this namespace: `xmlns` or `xmlns:prefix`, and the uri.
    pub fn attribute(&self) -> (String, &str) {
        match self {
            XmlNamespace::Uri(u) => ("xmlns".into(), u),
            XmlNamespace::Full { prefix: Some(p), uri } => (format!("xmlns:{p}"), uri),
            XmlNamespace::Full { prefix: None, uri } => ("xmlns".into(), uri),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTrait {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sender_fault: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ServiceModel {
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// The legacy query error code of an error shape (`AWS.SimpleQueueService.NonExistentQueue`
    /// for SQS's `QueueDoesNotExist`), where the model declares one.
    pub fn query_error_code(&self, shape_name: &str) -> Option<&str> {
        self.shapes.get(shape_name)?.error.as_ref()?.code.as_deref()
    }
}
