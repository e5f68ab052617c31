//! Smithy RPC v2 CBOR: `POST /service/<Service>/operation/<Op>`, CBOR maps in and out.
//!
//! Current Rust and Go SDKs (and Terraform) speak it to CloudWatch. Timestamps are CBOR
//! tag 1 (epoch seconds), blobs are byte strings.

use crate::Response;
use bytes::Bytes;
use ciborium::value::Value as Cbor;
use indexmap::IndexMap;
use nubo_core::{AwsError, Timestamp};
use nubo_model::{Member, Operation, ServiceModel, Shape, ShapeType, Value};

pub const CONTENT_TYPE: &str = "application/cbor";

fn bad(m: impl Into<String>) -> AwsError {
    AwsError::new("SerializationException", 400, m)
}

pub fn decode(model: &ServiceModel, op: &Operation, body: &[u8]) -> Result<Value, AwsError> {
    let Some(input) = &op.input else { return Ok(Value::empty_structure()) };
    if body.is_empty() {
        return Ok(Value::empty_structure());
    }
    let cbor: Cbor = ciborium::de::from_reader(body).map_err(|e| bad(format!("Malformed CBOR body: {e}")))?;
    decode_structure(model, &model.shapes[&input.shape], &cbor).map_err(bad)
}

fn decode_structure(model: &ServiceModel, shape: &Shape, c: &Cbor) -> Result<Value, String> {
    let Cbor::Map(entries) = c else { return Err("expected a map for a structure".into()) };
    let mut out = IndexMap::new();
    for (k, v) in entries {
        let Cbor::Text(k) = k else { continue };
        if let Some(member) = shape.members.get(k.as_str()) {
            if !v.is_null() {
                out.insert(k.clone(), decode_value(model, member, v)?);
            }
        }
    }
    Ok(Value::Structure(out))
}

fn decode_value(model: &ServiceModel, member: &Member, c: &Cbor) -> Result<Value, String> {
    let shape = &model.shapes[&member.shape];
    let c = match c {
        Cbor::Tag(1, inner) if shape.kind == ShapeType::Timestamp => inner.as_ref(),
        c => c,
    };
    Ok(match (shape.kind, c) {
        (ShapeType::Structure, c) => decode_structure(model, shape, c)?,
        (ShapeType::List, Cbor::Array(items)) => {
            let item = shape.member.as_deref().unwrap();
            Value::List(items.iter().filter(|c| !c.is_null()).map(|c| decode_value(model, item, c)).collect::<Result<_, _>>()?)
        }
        (ShapeType::Map, Cbor::Map(entries)) => {
            let val = shape.value.as_deref().unwrap();
            let mut m = IndexMap::new();
            for (k, v) in entries {
                if let (Cbor::Text(k), false) = (k, v.is_null()) {
                    m.insert(k.clone(), decode_value(model, val, v)?);
                }
            }
            Value::Map(m)
        }
        (ShapeType::String | ShapeType::Character, Cbor::Text(s)) => Value::String(s.clone()),
        (ShapeType::Boolean, Cbor::Bool(b)) => Value::Bool(*b),
        (ShapeType::Integer | ShapeType::Long | ShapeType::Short | ShapeType::Byte | ShapeType::BigInteger, Cbor::Integer(i)) => {
            Value::Integer(i64::try_from(i128::from(*i)).map_err(|_| "integer out of range")?)
        }
        (ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal, Cbor::Float(f)) => Value::Float(*f),
        (ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal, Cbor::Integer(i)) => Value::Float(i128::from(*i) as f64),
        (ShapeType::Timestamp, Cbor::Float(f)) => Value::Timestamp(Timestamp::from_secs_f64(*f)),
        (ShapeType::Timestamp, Cbor::Integer(i)) => Value::Timestamp(Timestamp::from_secs(i128::from(*i) as i64)),
        (ShapeType::Blob, Cbor::Bytes(b)) => Value::Blob(Bytes::from(b.clone())),
        (kind, _) => return Err(format!("unexpected CBOR type for a {kind:?}")),
    })
}

pub fn encode_value(model: &ServiceModel, member: Option<&Member>, v: &Value) -> Cbor {
    let shape = member.and_then(|m| model.shapes.get(&m.shape));
    match v {
        Value::Structure(fields) => Cbor::Map(
            fields
                .iter()
                .map(|(k, x)| (Cbor::Text(k.clone()), encode_value(model, shape.and_then(|s| s.members.get(k)), x)))
                .collect(),
        ),
        Value::List(items) => {
            let item = shape.and_then(|s| s.member.as_deref());
            Cbor::Array(items.iter().map(|x| encode_value(model, item, x)).collect())
        }
        Value::Map(m) => {
            let val = shape.and_then(|s| s.value.as_deref());
            Cbor::Map(m.iter().map(|(k, x)| (Cbor::Text(k.clone()), encode_value(model, val, x))).collect())
        }
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Integer(i) => Cbor::Integer((*i).into()),
        Value::Float(f) => Cbor::Float(*f),
        Value::Timestamp(t) => Cbor::Tag(1, Box::new(Cbor::Float(t.as_secs_f64()))),
        Value::Blob(b) => Cbor::Bytes(b.to_vec()),
        Value::Document(d) => json_to_cbor(d),
        Value::Stream(_) => Cbor::Null,
    }
}

fn json_to_cbor(j: &serde_json::Value) -> Cbor {
    use serde_json::Value as J;
    match j {
        J::Null => Cbor::Null,
        J::Bool(b) => Cbor::Bool(*b),
        J::Number(n) => n.as_i64().map(|i| Cbor::Integer(i.into())).unwrap_or(Cbor::Float(n.as_f64().unwrap_or(0.0))),
        J::String(s) => Cbor::Text(s.clone()),
        J::Array(a) => Cbor::Array(a.iter().map(json_to_cbor).collect()),
        J::Object(o) => Cbor::Map(o.iter().map(|(k, v)| (Cbor::Text(k.clone()), json_to_cbor(v))).collect()),
    }
}

pub fn to_bytes(c: &Cbor) -> Bytes {
    let mut out = Vec::new();
    ciborium::ser::into_writer(c, &mut out).expect("writing CBOR to memory cannot fail");
    Bytes::from(out)
}

pub fn encode(model: &ServiceModel, op: &Operation, output: Value) -> Response {
    let member = op.output.as_ref().map(|o| Member { shape: o.shape.clone(), ..Default::default() });
    let body = encode_value(model, member.as_ref(), &output);
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), CONTENT_TYPE.into()), ("smithy-protocol".into(), "rpc-v2-cbor".into())],
        body: to_bytes(&body),
        stream: None,
    }
}
