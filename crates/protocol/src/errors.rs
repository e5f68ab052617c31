//! Error responses, one body format per protocol, and the request-id headers.

use crate::{cbor, json, xml::Writer, Protocol, Response};
use bytes::Bytes;
use ciborium::value::Value as Cbor;
use nubo_core::{AwsError, Fault};
use nubo_model::ServiceModel;

fn fault(f: Fault) -> &'static str {
    match f {
        Fault::Sender => "Sender",
        Fault::Receiver => "Receiver",
    }
}

/// The code query clients know: the error's own legacy code, the model's, or the code itself.
fn query_code<'a>(model: Option<&'a ServiceModel>, err: &'a AwsError) -> &'a str {
    err.query_code.as_deref().or_else(|| model.and_then(|m| m.query_error_code(&err.code))).unwrap_or(&err.code)
}

/// The message member of a JSON or CBOR error body: named as in the error's shape where
/// the model has it (`Message` or `message`), else `message` as most AWS services write.
fn message_key(model: Option<&ServiceModel>, err: &AwsError) -> &'static str {
    let shape = model.and_then(|m| m.shapes.get(err.code.as_ref()));
    match shape {
        Some(s) if s.members.contains_key("Message") => "Message",
        _ => "message",
    }
}

pub fn encode(protocol: Protocol, model: Option<&ServiceModel>, err: &AwsError, request_id: &str) -> Response {
    let mut resp = Response { status: err.status, headers: Vec::new(), body: Bytes::new(), stream: None };
    match protocol {
        Protocol::Query => {
            let mut w = Writer::default();
            let ns: Vec<(String, String)> =
                model.and_then(|m| m.metadata.xml_namespace.clone()).map(|u| ("xmlns".to_string(), u)).into_iter().collect();
            w.open("ErrorResponse", &ns);
            w.open("Error", &[]);
            w.text_element("Type", fault(err.fault));
            w.text_element("Code", query_code(model, err));
            w.text_element("Message", &err.message);
            for (k, v) in &err.fields {
                w.text_element(k, v);
            }
            w.close("Error");
            w.text_element("RequestId", request_id);
            w.close("ErrorResponse");
            resp.headers.push(("Content-Type".into(), "text/xml".into()));
            resp.body = Bytes::from(w.out);
        }
        Protocol::Ec2 => {
            let mut w = Writer { out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into() };
            w.open("Response", &[]);
            w.open("Errors", &[]);
            w.open("Error", &[]);
            w.text_element("Code", &err.code);
            w.text_element("Message", &err.message);
            w.close("Error");
            w.close("Errors");
            w.text_element("RequestID", request_id);
            w.close("Response");
            resp.headers.push(("Content-Type".into(), "text/xml".into()));
            resp.body = Bytes::from(w.out);
        }
        Protocol::RestXml => {
            let mut w = Writer { out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into() };
            w.open("Error", &[]);
            w.text_element("Code", &err.code);
            w.text_element("Message", &err.message);
            for (k, v) in &err.fields {
                w.text_element(k, v);
            }
            w.text_element("RequestId", request_id);
            w.close("Error");
            resp.headers.push(("Content-Type".into(), "application/xml".into()));
            resp.body = Bytes::from(w.out);
        }
        Protocol::Json | Protocol::RestJson => {
            let mut body = serde_json::Map::new();
            body.insert("__type".into(), err.code.as_ref().into());
            body.insert(message_key(model, err).into(), err.message.clone().into());
            for (k, v) in &err.fields {
                body.insert(k.to_string(), v.clone().into());
            }
            for (k, v) in &err.json_fields {
                body.insert(k.to_string(), serde_json::from_str(v).unwrap_or_else(|_| v.clone().into()));
            }
            let ct = match (protocol, model) {
                (Protocol::Json, Some(m)) => json::content_type(m),
                (Protocol::Json, None) => "application/x-amz-json-1.0".into(),
                _ => "application/json".into(),
            };
            resp.headers.push(("Content-Type".into(), ct));
            resp.headers.push(("x-amzn-ErrorType".into(), err.code.to_string()));
            resp.body = Bytes::from(serde_json::to_vec(&body).unwrap());
        }
        Protocol::RpcV2Cbor => {
            let mut entries = vec![
                (Cbor::Text("__type".into()), Cbor::Text(err.code.to_string())),
                (Cbor::Text(message_key(model, err).into()), Cbor::Text(err.message.clone())),
            ];
            for (k, v) in &err.fields {
                entries.push((Cbor::Text(k.to_string()), Cbor::Text(v.clone())));
            }
            for (k, v) in &err.json_fields {
                let value = serde_json::from_str::<serde_json::Value>(v).ok().and_then(|j| Cbor::serialized(&j).ok()).unwrap_or_else(|| Cbor::Text(v.clone()));
                entries.push((Cbor::Text(k.to_string()), value));
            }
            resp.headers.push(("Content-Type".into(), cbor::CONTENT_TYPE.into()));
            resp.headers.push(("smithy-protocol".into(), "rpc-v2-cbor".into()));
            resp.body = cbor::to_bytes(&Cbor::Map(entries));
        }
    }
    if matches!(protocol, Protocol::Json | Protocol::RpcV2Cbor) && model.is_some_and(|m| m.metadata.aws_query_compatible.is_some()) {
        resp.headers.push(("x-amzn-query-error".into(), format!("{};{}", query_code(model, err), fault(err.fault))));
    }
    add_request_id(protocol, &mut resp, request_id);
    resp
}

/// Every response carries its request id in the header its protocol's clients read.
pub fn add_request_id(protocol: Protocol, resp: &mut Response, request_id: &str) {
    if protocol == Protocol::RestXml {
        resp.headers.push(("x-amz-request-id".into(), request_id.into()));
        resp.headers.push(("x-amz-id-2".into(), request_id.into()));
    } else {
        resp.headers.push(("x-amzn-RequestId".into(), request_id.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_compatible_json_error_carries_the_legacy_code() {
        let sqs = nubo_model::model("sqs").unwrap();
        let err = AwsError::new("QueueDoesNotExist", 400, "The specified queue does not exist.")
            .with_query_code("AWS.SimpleQueueService.NonExistentQueue");
        let resp = encode(Protocol::Json, Some(sqs), &err, "rid");
        assert_eq!(resp.header("x-amzn-query-error"), Some("AWS.SimpleQueueService.NonExistentQueue;Sender"));
        let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["__type"], "QueueDoesNotExist");
        // ... and a query client of the same service reads the legacy code in the body.
        let resp = encode(Protocol::Query, Some(sqs), &err, "rid");
        assert!(std::str::from_utf8(&resp.body).unwrap().contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"));
    }

    #[test]
    fn every_error_carries_its_request_id() {
        let err = AwsError::new("NoSuchKey", 404, "The specified key does not exist.");
        let resp = encode(Protocol::RestXml, None, &err, "rid-1");
        assert_eq!(resp.header("x-amz-request-id"), Some("rid-1"));
        assert!(std::str::from_utf8(&resp.body).unwrap().contains("<RequestId>rid-1</RequestId>"));
        let resp = encode(Protocol::Json, None, &err, "rid-2");
        assert_eq!(resp.header("x-amzn-RequestId"), Some("rid-2"));
    }
}
