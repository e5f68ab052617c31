//! AWS's protocol test vectors, run in reverse as golden tests of nubo's codecs.
//!
//! botocore ships, per protocol, the requests a client must send for given parameters
//! (`input/`) and the responses it must parse into given results (`output/`). A server
//! must decode the first back into the same parameters: that is what this test checks,
//! for every protocol. (The output side is checked by the end-to-end suite, which feeds
//! nubo's encodings to botocore's own parsers.)

use base64::Engine;
use bytes::Bytes;
use nubo_model::{Operation, ServiceModel, ShapeType, Value};
use nubo_protocol::{rest, Codec, Protocol, Request};
use serde_json::Value as Json;

/// Cases whose input a server cannot or need not recover, with the reason.
const SKIP: &[(&str, &str)] = &[
    ("Ec2QueryEndpointTraitWithHostLabel", "the label travels in the host name, which the client's endpoint resolution builds"),
    ("RestJsonHostWithPath", "the path prefix belongs to the client's configured endpoint, not to the operation"),
    ("RestJsonHttpPrefixHeadersAreNotPresent", "an empty prefix-header map leaves nothing on the wire"),
    ("HttpPrefixHeadersAreNotPresent", "an empty prefix-header map leaves nothing on the wire"),
    ("RestJsonOmitsEmptyListQueryValues", "empty query lists leave nothing on the wire"),
    ("RestJsonQueryPrecedence", "the client drops the map's entry that a named parameter shadows"),
    ("RestXmlQueryPrecedence", "the client drops the map's entry that a named parameter shadows"),
    ("Ec2EmptyQueryLists", "an empty list leaves nothing on the ec2 wire"),
    ("QueryEmptyQueryMaps", "an empty map leaves nothing on the query wire"),
    ("SDKApplied", "these vectors give the headers of a compressed request, not its body (see body.rs tests)"),
    ("SDKAppend", "these vectors give the headers of a compressed request, not its body (see body.rs tests)"),
    // The params set a query map that repeats named parameters; a server keeps bound
    // parameters out of the map, as the rest-xml twins of these cases expect.
    ("RestJsonAllQueryStringTypes", "query map repeats named parameters"),
    ("RestJsonQueryStringEscaping", "query map repeats named parameters"),
    ("RestJsonSupportsNaNFloatQueryValues", "query map repeats named parameters"),
    ("RestJsonSupportsInfinityFloatQueryValues", "query map repeats named parameters"),
    ("RestJsonSupportsNegativeInfinityFloatQueryValues", "query map repeats named parameters"),
    ("RestJsonZeroAndFalseQueryValues", "query map repeats named parameters"),
];

fn load(dir: &str) -> Vec<(String, Json)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .map(|f| (f.file_name().unwrap().to_string_lossy().into_owned(), serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap()))
        .collect()
}

fn model_for(suite: &Json, given: &Json) -> (ServiceModel, Operation) {
    let op: Operation = serde_json::from_value(given.clone()).unwrap();
    let model = ServiceModel {
        metadata: serde_json::from_value(suite["metadata"].clone()).unwrap(),
        operations: [(op.name.clone(), op.clone())].into_iter().collect(),
        shapes: serde_json::from_value(suite["shapes"].clone()).unwrap(),
    };
    (model, op)
}

/// Our decoded value in the vectors' notation: timestamps as epoch seconds, blobs as text.
fn to_params(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(f) if f.is_nan() => Json::String("NaN".into()),
        Value::Float(f) if f.is_infinite() => Json::String(if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap(),
        Value::String(s) => Json::String(s.clone()),
        Value::Timestamp(t) => serde_json::Number::from_f64(t.as_secs_f64()).map(Json::Number).unwrap(),
        Value::Blob(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(items) => Json::Array(items.iter().map(to_params).collect()),
        Value::Map(m) | Value::Structure(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_params(v))).collect()),
        Value::Document(d) => d.clone(),
        Value::Stream(_) => Json::String("<stream>".into()),
    }
}

/// `null` in the vectors' params means "not set": nothing of it reaches the wire.
fn drop_nulls(j: &Json) -> Json {
    match j {
        Json::Object(o) => Json::Object(o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), drop_nulls(v))).collect()),
        Json::Array(a) => Json::Array(a.iter().map(drop_nulls).collect()),
        j => j.clone(),
    }
}

fn same(expected: &Json, actual: &Json) -> bool {
    match (expected, actual) {
        (Json::Number(a), Json::Number(b)) => (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6,
        (Json::Array(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Json::Object(a), Json::Object(b)) => a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| same(x, y))),
        (a, b) => a == b,
    }
}

/// Members the client fills in by itself (idempotency tokens) are not in the vectors' params.
fn drop_generated(model: &ServiceModel, shape: &str, expected: &Json, actual: &mut Json) {
    let (Some(s), Json::Object(exp), Json::Object(act)) = (model.shapes.get(shape), expected, actual) else { return };
    if s.kind != ShapeType::Structure {
        return;
    }
    for (name, m) in &s.members {
        if m.idempotency_token && !exp.contains_key(name) {
            act.remove(name);
        }
    }
}

fn decode_case(suite: &Json, case: &Json) -> Result<(), String> {
    let (model, op) = model_for(suite, &case["given"]);
    let protocol = Protocol::from_model_name(&model.metadata.protocol).ok_or("unknown protocol")?;
    let ser = &case["serialized"];
    let uri = ser["uri"].as_str().unwrap();
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut headers = http::HeaderMap::new();
    if let Some(h) = ser["headers"].as_object() {
        for (k, v) in h {
            headers.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.as_str().unwrap().parse().unwrap());
        }
    }
    let body = ser["body"].as_str().unwrap_or("");
    let mut body = if protocol == Protocol::RpcV2Cbor {
        Bytes::from(base64::engine::general_purpose::STANDARD.decode(body).unwrap())
    } else {
        Bytes::from(body.to_string())
    };
    if op.requestcompression.is_some() && nubo_protocol::body::is_gzipped(&headers) {
        // The vectors hold the body before compression; put on the wire what a client sends.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &body).unwrap();
        body = Bytes::from(gz.finish().unwrap());
        body = nubo_protocol::body::decompress(&mut headers, &body, 1 << 20).map_err(|e| e.to_string())?;
    }
    let method = ser["method"].as_str().unwrap_or("POST");
    let req = Request { method, path, query, headers: &headers, body: &body, stream: None };
    let labels = match protocol {
        Protocol::RestJson | Protocol::RestXml => {
            let router = rest::Router::new(&model);
            let (name, labels) = router.find(method, path, query, &headers).ok_or_else(|| format!("no route for {method} {uri}"))?;
            if name != op.name {
                return Err(format!("routed to {name}"));
            }
            labels
        }
        _ => Vec::new(),
    };
    let value = Codec::new(protocol, &model).decode(&op, &req, &labels).map_err(|e| e.to_string())?;
    let mut actual = to_params(&value);
    let expected = &drop_nulls(&case["params"]);
    if let Some(input) = &op.input {
        drop_generated(&model, &input.shape, expected, &mut actual);
    }
    if same(expected, &actual) {
        Ok(())
    } else {
        Err(format!("\n  expected {expected}\n  decoded  {actual}"))
    }
}

#[test]
fn server_decodes_what_botocore_encodes() {
    let mut failures = Vec::new();
    let mut passed = 0;
    for (file, suites) in load("input") {
        for suite in suites.as_array().unwrap() {
            for case in suite["cases"].as_array().unwrap() {
                let id = format!("{file}:{}", case["id"].as_str().unwrap_or("?"));
                if SKIP.iter().any(|(s, _)| id.contains(s)) {
                    continue;
                }
                match std::panic::catch_unwind(|| decode_case(suite, case)) {
                    Ok(Ok(())) => passed += 1,
                    Ok(Err(e)) => failures.push(format!("{id}: {e}")),
                    Err(_) => failures.push(format!("{id}: panicked")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} passed, {} failed:\n{}", passed, failures.len(), failures.join("\n"));
    assert!(passed > 300, "only {passed} cases ran");
}
