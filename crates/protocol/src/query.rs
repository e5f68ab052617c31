//! The `query` protocol and its `ec2` variant: form parameters in, XML out.
//!
//! Requests name every value by a dotted path (`Attribute.1.Name`, `Filter.1.Value.2`);
//! decoding walks the input shape and looks the paths up. `query` wraps lists in
//! `.member.N` (unless flattened) and maps in `.entry.N`; `ec2` always writes `.N` and takes
//! names from `queryName` or the capitalised `locationName`.

use crate::xml::Writer;
use crate::{malformed, scalar, Codec, Protocol, Request, Response};
use bytes::Bytes;
use indexmap::IndexMap;
use nubo_core::AwsError;
use nubo_model::{Member, Operation, ServiceModel, Shape, ShapeType, TimestampFormat, Value};
use std::collections::BTreeMap;
use std::ops::Bound;

/// The parameters of a query request: the URL's and the form body's, merged.
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn parse(req: &Request) -> Params {
        let mut map: BTreeMap<String, String> =
            form_urlencoded::parse(req.query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if is_form(req) {
            map.extend(form_urlencoded::parse(req.body).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        Params(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether any parameter is `prefix` itself or starts with `prefix.`.
    fn has_prefix(&self, prefix: &str) -> bool {
        if self.0.contains_key(prefix) {
            return true;
        }
        let start = format!("{prefix}.");
        self.0.range::<String, _>((Bound::Included(&start), Bound::Unbounded)).next().is_some_and(|(k, _)| k.starts_with(&start))
    }
}

/// A body is form-encoded when it says so; old clients omit the content type on POST.
pub fn is_form(req: &Request) -> bool {
    match req.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(ct) => ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"),
        None => req.method == "POST",
    }
}

pub fn decode(codec: &Codec, op: &Operation, req: &Request) -> Result<Value, AwsError> {
    let params = Params::parse(req);
    let Some(input) = &op.input else { return Ok(Value::empty_structure()) };
    let shape = &codec.model.shapes[&input.shape];
    let d = Decoder { model: codec.model, params: &params, ec2: codec.protocol == Protocol::Ec2 };
    d.structure(shape, "").map_err(|m| malformed(codec.protocol, m))
}

struct Decoder<'a> {
    model: &'a ServiceModel,
    params: &'a Params,
    ec2: bool,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

impl Decoder<'_> {
    fn name(&self, member_name: &str, member: &Member) -> String {
        if self.ec2 {
            member.query_name.clone().unwrap_or_else(|| capitalize(member.location_name.as_deref().unwrap_or(member_name)))
        } else {
            member.location_name.clone().unwrap_or_else(|| member_name.to_string())
        }
    }

    /// Items `base.1`, `base.2`, … up to the first gap.
    fn items(&self, item: &Member, base: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        for i in 1.. {
            match self.value(item, &format!("{base}.{i}"))? {
                Some(v) => items.push(v),
                None => break,
            }
        }
        Ok(items)
    }

    fn structure(&self, shape: &Shape, prefix: &str) -> Result<Value, String> {
        let mut out = IndexMap::new();
        for (name, member) in &shape.members {
            let path = join(prefix, &self.name(name, member));
            if let Some(v) = self.value(member, &path)? {
                out.insert(name.clone(), v);
            }
        }
        Ok(Value::Structure(out))
    }

    fn value(&self, member: &Member, path: &str) -> Result<Option<Value>, String> {
        let shape = &self.model.shapes[&member.shape];
        let flattened = member.flattened || shape.flattened;
        match shape.kind {
            ShapeType::Structure => {
                if !self.params.has_prefix(path) {
                    return Ok(None);
                }
                self.structure(shape, path).map(Some)
            }
            ShapeType::List => {
                if self.params.get(path) == Some("") {
                    return Ok(Some(Value::List(Vec::new())));
                }
                let item = shape.member.as_deref().unwrap();
                // Flattened lists repeat the member's own name; the list member's name is not used.
                let base = if self.ec2 || flattened {
                    path.to_string()
                } else {
                    format!("{path}.{}", item.location_name.as_deref().unwrap_or("member"))
                };
                let items = self.items(item, &base)?;
                if items.is_empty() && flattened && !self.ec2 {
                    // botocore names flattened items after the list's member instead.
                    if let Some(n) = &item.location_name {
                        let alt = match path.rsplit_once('.') {
                            Some((parent, _)) => format!("{parent}.{n}"),
                            None => n.clone(),
                        };
                        let items = self.items(item, &alt)?;
                        return Ok((!items.is_empty()).then_some(Value::List(items)));
                    }
                }
                Ok((!items.is_empty()).then_some(Value::List(items)))
            }
            ShapeType::Map => {
                if self.params.get(path) == Some("") {
                    return Ok(Some(Value::Map(IndexMap::new())));
                }
                let base = if flattened || self.ec2 { path.to_string() } else { format!("{path}.entry") };
                let (k, v) = (shape.key.as_deref().unwrap(), shape.value.as_deref().unwrap());
                let kname = k.location_name.as_deref().unwrap_or("key");
                let vname = v.location_name.as_deref().unwrap_or("value");
                let mut m = IndexMap::new();
                for i in 1.. {
                    let Some(key) = self.params.get(&format!("{base}.{i}.{kname}")) else { break };
                    if let Some(val) = self.value(v, &format!("{base}.{i}.{vname}"))? {
                        m.insert(key.to_string(), val);
                    }
                }
                Ok((!m.is_empty()).then_some(Value::Map(m)))
            }
            _ => match self.params.get(path) {
                None => Ok(None),
                Some(text) => scalar::parse(shape, Some(member), text, TimestampFormat::Iso8601)
                    .map(Some)
                    .ok_or_else(|| format!("Value ({text}) for parameter {path} is invalid.")),
            },
        }
    }
}

fn xml_response(body: String) -> Response {
    Response {
        status: 200,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: Bytes::from(body),
        stream: None,
    }
}

/// `<OpResponse xmlns=…><OpResult>…</OpResult><ResponseMetadata>…</ResponseMetadata></OpResponse>`
pub fn encode(codec: &Codec, op: &Operation, output: Value, request_id: &str) -> Response {
    let model = codec.model;
    let mut w = Writer::default();
    let root = format!("{}Response", op.name);
    let ns: Vec<(String, String)> = model.metadata.xml_namespace.iter().map(|u| ("xmlns".to_string(), u.clone())).collect();
    w.open(&root, &ns);
    if let Some(out) = &op.output {
        let shape = &model.shapes[&out.shape];
        let wrapper = out.result_wrapper.clone().unwrap_or_else(|| format!("{}Result", op.name));
        w.open(&wrapper, &[]);
        w.structure_members(model, shape, &output);
        w.close(&wrapper);
    }
    w.open("ResponseMetadata", &[]);
    w.text_element("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&root);
    xml_response(w.out)
}

/// `<OpResponse xmlns=…><requestId>…</requestId>…members…</OpResponse>`
pub fn encode_ec2(codec: &Codec, op: &Operation, output: Value, request_id: &str) -> Response {
    let model = codec.model;
    let mut w = Writer { out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into() };
    let root = format!("{}Response", op.name);
    let ns = format!("http://ec2.amazonaws.com/doc/{}/", model.metadata.api_version);
    w.open(&root, &[("xmlns".into(), ns)]);
    w.text_element("requestId", request_id);
    if let Some(out) = &op.output {
        w.structure_members(model, &model.shapes[&out.shape], &output);
    }
    w.close(&root);
    xml_response(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn model() -> ServiceModel {
        serde_json::from_value(serde_json::json!({
            "metadata": {"protocol": "query", "apiVersion": "2020-01-01"},
            "operations": {"Op": {"name": "Op", "input": {"shape": "In"}}},
            "shapes": {
                "In": {"type": "structure", "members": {
                    "Names": {"shape": "NameList", "flattened": true, "locationName": "Name"},
                    "Count": {"shape": "Int"}
                }},
                "NameList": {"type": "list", "member": {"shape": "Str", "locationName": "Item"}},
                "Str": {"type": "string"},
                "Int": {"type": "integer"}
            }
        }))
        .unwrap()
    }

    fn decode_body(body: &'static str) -> Result<Value, AwsError> {
        let model = model();
        let headers = HeaderMap::new();
        let body = Bytes::from_static(body.as_bytes());
        let req = Request { method: "POST", path: "/", query: "", headers: &headers, body: &body, stream: None };
        let codec = Codec::new(Protocol::Query, &model);
        decode(&codec, &model.operations["Op"], &req)
    }

    #[test]
    fn flattened_lists_read_under_either_name() {
        for body in ["Action=Op&Name.1=a&Name.2=b", "Action=Op&Item.1=a&Item.2=b"] {
            let v = decode_body(body).unwrap();
            assert_eq!(v.get("Names"), Some(&Value::List(vec![Value::String("a".into()), Value::String("b".into())])), "{body}");
        }
    }

    #[test]
    fn a_non_numeric_integer_is_an_invalid_parameter() {
        let e = decode_body("Action=Op&Count=many").unwrap_err();
        assert_eq!((e.code.as_ref(), e.status), ("InvalidParameterValue", 400));
    }
}
