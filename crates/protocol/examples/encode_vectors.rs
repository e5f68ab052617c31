//! Encodes every output case of AWS's protocol test vectors with nubo's codecs and prints
//! one JSON line per case: `{"file", "id", "status", "headers", "body"}` (body base64).
//!
//! The end-to-end suite (`tests/e2e/test_protocol_vectors.py`) feeds these responses to
//! botocore's own parsers and checks that the client reads back the expected result: the
//! client, not nubo, judges the encoding.

use base64::Engine;
use bytes::Bytes;
use indexmap::IndexMap;
use nubo_core::{AwsError, Timestamp};
use nubo_model::{Member, Operation, ServiceModel, ShapeType, Value};
use nubo_protocol::{Codec, Protocol};
use serde_json::{json, Value as Json};

/// The vectors' notation (timestamps as epoch seconds, blobs as text) to a [`Value`].
fn from_params(model: &ServiceModel, member: &Member, j: &Json) -> Option<Value> {
    let shape = model.shapes.get(&member.shape)?;
    Some(match (shape.kind, j) {
        (_, Json::Null) => return None,
        (ShapeType::Structure, _) if shape.document => Value::Document(j.clone()),
        (ShapeType::Structure, Json::Object(o)) => Value::Structure(
            o.iter()
                .filter_map(|(k, v)| shape.members.get(k).and_then(|m| from_params(model, m, v)).map(|v| (k.clone(), v)))
                .collect(),
        ),
        (ShapeType::List, Json::Array(a)) => {
            let item = shape.member.as_deref()?;
            Value::List(a.iter().filter_map(|x| from_params(model, item, x)).collect())
        }
        (ShapeType::Map, Json::Object(o)) => {
            let v = shape.value.as_deref()?;
            Value::Map(o.iter().filter_map(|(k, x)| from_params(model, v, x).map(|x| (k.clone(), x))).collect::<IndexMap<_, _>>())
        }
        (ShapeType::Timestamp, Json::Number(n)) => Value::Timestamp(Timestamp::from_secs_f64(n.as_f64()?)),
        (ShapeType::Blob, Json::String(s)) => Value::Blob(Bytes::from(s.clone().into_bytes())),
        (ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal, Json::String(s)) => {
            Value::Float(nubo_protocol::scalar::parse_float(s)?)
        }
        (ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal, Json::Number(n)) => Value::Float(n.as_f64()?),
        (_, Json::Number(n)) => Value::Integer(n.as_i64()?),
        (_, Json::String(s)) => Value::String(s.clone()),
        (_, Json::Bool(b)) => Value::Bool(*b),
        _ => return None,
    })
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/output");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let file = f.file_name().unwrap().to_string_lossy().into_owned();
        let suites: Json = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for suite in suites.as_array().into_iter().flatten() {
            for case in suite["cases"].as_array().unwrap() {
                let mut op: Operation = serde_json::from_value(case["given"].clone()).unwrap();
                let model = ServiceModel {
                    metadata: serde_json::from_value(suite["metadata"].clone()).unwrap(),
                    operations: Default::default(),
                    shapes: serde_json::from_value(suite["shapes"].clone()).unwrap(),
                };
                let Some(protocol) = Protocol::from_model_name(&model.metadata.protocol) else { continue };
                if let Some(out) = op.output.as_mut() {
                    out.result_wrapper.get_or_insert_with(|| format!("{}Result", op.name));
                }
                let codec = Codec::new(protocol, &model);
                let resp = if let Some(code) = case["errorCode"].as_str() {
                    let message = case["errorMessage"].as_str().or(case["error"]["Message"].as_str()).unwrap_or("");
                    let status = case["response"]["status_code"].as_u64().unwrap_or(400) as u16;
                    let mut err = AwsError::new(code.to_string(), status, message);
                    for (k, v) in case["error"].as_object().into_iter().flatten() {
                        if let (false, Some(s)) = (k == "Message" || k == "message", v.as_str()) {
                            err = err.with_field(k.clone(), s);
                        }
                    }
                    codec.encode_error(&err, "nubo-request-id")
                } else {
                    let output = match &op.output {
                        Some(o) => from_params(&model, &Member { shape: o.shape.clone(), ..Default::default() }, &case["result"])
                            .unwrap_or_else(Value::empty_structure),
                        None => Value::empty_structure(),
                    };
                    codec.encode(&op, output, "nubo-request-id")
                };
                let headers: serde_json::Map<String, Json> = resp.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                let line = json!({
                    "file": file,
                    "id": case["id"],
                    "status": resp.status,
                    "headers": headers,
                    "body": base64::engine::general_purpose::STANDARD.encode(&resp.body),
                });
                println!("{line}");
            }
        }
    }
}
