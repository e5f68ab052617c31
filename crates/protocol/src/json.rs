//! JSON bodies, read and written by shape: the whole of the `json` protocol (1.0 and 1.1,
//! operation named by `X-Amz-Target`) and the bodies of `rest-json`.
//!
//! Timestamps are epoch seconds unless the model says otherwise, blobs are base64,
//! `null` means absent, and unknown members are ignored as AWS's services ignore them.

use crate::{scalar, Codec, Protocol, Response};
use bytes::Bytes;
use indexmap::IndexMap;
use nubo_core::{AwsError, Timestamp};
use nubo_model::{Member, Operation, ServiceModel, Shape, ShapeType, TimestampFormat, Value};
use serde_json::Value as Json;

pub fn content_type(model: &ServiceModel) -> String {
    format!("application/x-amz-json-{}", model.metadata.json_version.as_deref().unwrap_or("1.0"))
}

/// Decodes the body of a `json` protocol request (an empty body is an empty input).
pub fn decode_rpc(model: &ServiceModel, op: &Operation, body: &[u8]) -> Result<Value, AwsError> {
    let Some(input) = &op.input else { return Ok(Value::empty_structure()) };
    let shape = &model.shapes[&input.shape];
    decode_body(model, shape, body)
}

/// Parses a JSON object body into a structure of `shape` (members bound to HTTP locations skipped).
pub fn decode_body(model: &ServiceModel, shape: &Shape, body: &[u8]) -> Result<Value, AwsError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::empty_structure());
    }
    let json: Json = serde_json::from_slice(body)
        .map_err(|e| AwsError::new("SerializationException", 400, format!("Malformed JSON body: {e}")))?;
    if !json.is_object() {
        return Err(AwsError::new("SerializationException", 400, "Start of structure or map found where not expected."));
    }
    decode_structure(model, shape, &json).map_err(|m| AwsError::new("SerializationException", 400, m))
}

pub fn decode_structure(model: &ServiceModel, shape: &Shape, json: &Json) -> Result<Value, String> {
    let Json::Object(obj) = json else { return Err("Start of structure or map found where not expected.".into()) };
    let mut out = IndexMap::new();
    for (name, member) in &shape.members {
        if member.location.is_some() {
            continue;
        }
        let key = member.location_name.as_deref().unwrap_or(name);
        match obj.get(key) {
            None | Some(Json::Null) => {}
            Some(j) => {
                out.insert(name.clone(), decode(model, member, j)?);
            }
        }
    }
    Ok(Value::Structure(out))
}

fn expected(what: &str, found: &Json) -> String {
    let kind = match found {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    };
    format!("Expected {what} but found {kind}")
}

pub fn decode(model: &ServiceModel, member: &Member, json: &Json) -> Result<Value, String> {
    let shape = &model.shapes[&member.shape];
    Ok(match shape.kind {
        ShapeType::Structure if shape.document => Value::Document(json.clone()),
        ShapeType::Structure => decode_structure(model, shape, json)?,
        ShapeType::List => {
            let Json::Array(items) = json else { return Err(expected("list", json)) };
            let item = shape.member.as_deref().unwrap();
            Value::List(items.iter().filter(|j| !j.is_null()).map(|j| decode(model, item, j)).collect::<Result<_, _>>()?)
        }
        ShapeType::Map => {
            let Json::Object(obj) = json else { return Err(expected("map", json)) };
            let v = shape.value.as_deref().unwrap();
            let mut m = IndexMap::new();
            for (k, j) in obj {
                if !j.is_null() {
                    m.insert(k.clone(), decode(model, v, j)?);
                }
            }
            Value::Map(m)
        }
        ShapeType::String | ShapeType::Character => match json {
            Json::String(s) => Value::String(s.clone()),
            j => return Err(expected("string", j)),
        },
        ShapeType::Boolean => match json {
            Json::Bool(b) => Value::Bool(*b),
            j => return Err(expected("boolean", j)),
        },
        ShapeType::Integer | ShapeType::Long | ShapeType::Short | ShapeType::Byte | ShapeType::BigInteger => {
            match json.as_i64() {
                Some(i) => Value::Integer(i),
                None => return Err(expected("integer", json)),
            }
        }
        ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal => match json {
            Json::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::Float(scalar::parse_float(s).ok_or_else(|| expected("number", json))?),
            j => return Err(expected("number", j)),
        },
        ShapeType::Timestamp => match json {
            Json::Number(n) => Value::Timestamp(Timestamp::from_secs_f64(n.as_f64().unwrap_or(0.0))),
            Json::String(s) => Value::Timestamp(scalar::parse_timestamp(s).ok_or_else(|| expected("timestamp", json))?),
            j => return Err(expected("timestamp", j)),
        },
        ShapeType::Blob => match json {
            Json::String(s) => Value::Blob(Bytes::from(scalar::b64decode(s).ok_or("Invalid base64 in blob")?)),
            j => return Err(expected("blob", j)),
        },
    })
}

/// Writes a structure's body members as a JSON object.
pub fn encode_structure(model: &ServiceModel, shape: &Shape, v: &Value) -> Json {
    let mut obj = serde_json::Map::new();
    if let Value::Structure(fields) = v {
        for (name, member) in &shape.members {
            if crate::xml::is_http_bound_in_response(member) {
                continue;
            }
            if let Some(fv) = fields.get(name) {
                obj.insert(member.location_name.clone().unwrap_or_else(|| name.clone()), encode(model, member, fv));
            }
        }
    }
    Json::Object(obj)
}

pub fn encode(model: &ServiceModel, member: &Member, v: &Value) -> Json {
    let shape = &model.shapes[&member.shape];
    match v {
        Value::Structure(_) => encode_structure(model, shape, v),
        Value::List(items) => {
            let item = shape.member.as_deref().unwrap_or(member);
            Json::Array(items.iter().map(|x| encode(model, item, x)).collect())
        }
        Value::Map(m) => {
            let val = shape.value.as_deref().unwrap_or(member);
            Json::Object(m.iter().map(|(k, x)| (k.clone(), encode(model, val, x))).collect())
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(f) => {
            if f.is_finite() {
                serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null)
            } else {
                Json::String(scalar::format_float(*f))
            }
        }
        Value::Timestamp(t) => match scalar::timestamp_format(Some(member), shape, TimestampFormat::UnixTimestamp) {
            TimestampFormat::UnixTimestamp => {
                if t.as_millis() % 1000 == 0 {
                    Json::from(t.as_secs())
                } else {
                    serde_json::Number::from_f64(t.as_secs_f64()).map(Json::Number).unwrap_or(Json::Null)
                }
            }
            f => Json::String(scalar::format_timestamp(*t, f)),
        },
        Value::Blob(b) => Json::String(scalar::b64encode(b)),
        Value::Document(d) => d.clone(),
        Value::Stream(_) => Json::Null,
    }
}

pub fn encode_rpc(codec: &Codec, op: &Operation, output: Value) -> Response {
    debug_assert_eq!(codec.protocol, Protocol::Json);
    let model = codec.model;
    let body = match &op.output {
        Some(out) => encode_structure(model, &model.shapes[&out.shape], &output),
        None => Json::Object(Default::default()),
    };
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), content_type(model))],
        body: Bytes::from(serde_json::to_vec(&body).expect("JSON values serialize")),
        stream: None,
    }
}
