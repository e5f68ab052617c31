//! The HTTP bindings of `rest-json` and `rest-xml`.
//!
//! An operation's input lives in several places at once: URI labels (`/{Bucket}/{Key+}`),
//! query parameters, headers, header-prefix maps (`x-amz-meta-*`), and the body (the
//! `payload` member, or every unbound member). [`Router`] finds the operation of a
//! method and path; [`decode`] and [`encode`] move members between those places and a
//! [`Value`].

use crate::xml::{self, Writer};
use crate::{json, malformed, scalar, Codec, Protocol, Request, Response};
use bytes::Bytes;
use indexmap::IndexMap;
use nubo_core::AwsError;
use nubo_model::{ByteStream, Location, Member, Operation, ServiceModel, Shape, ShapeType, TimestampFormat, Value};
use percent_encoding::percent_decode_str;

#[derive(Debug)]
enum Segment {
    Literal(String),
    Label(String),
    Greedy(String),
}

#[derive(Debug)]
struct Route {
    operation: String,
    method: String,
    segments: Vec<Segment>,
    /// Query keys (and values, where given) the request URI template requires.
    query: Vec<(String, Option<String>)>,
    /// Query parameters and headers bound to required input members: S3 tells
    /// `UploadPart` from `PutObject` (same method and path) by them.
    required_query: Vec<String>,
    required_headers: Vec<String>,
    deprecated: bool,
}

/// Finds the operation of a REST request from its method, path and query string.
#[derive(Debug)]
pub struct Router {
    routes: Vec<Route>,
}

fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

impl Router {
    pub fn new(model: &ServiceModel) -> Router {
        let routes = model
            .operations
            .values()
            .map(|op| {
                let (path, query) = op.http.request_uri.split_once('?').unwrap_or((&op.http.request_uri, ""));
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(l) if l.ends_with('+') => Segment::Greedy(l.trim_end_matches('+').to_string()),
                        Some(l) => Segment::Label(l.to_string()),
                        None => Segment::Literal(s.to_string()),
                    })
                    .collect();
                let query = query
                    .split('&')
                    .filter(|s| !s.is_empty())
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (kv.to_string(), None),
                    })
                    .collect();
                let input = op.input.as_ref().and_then(|i| model.shapes.get(&i.shape));
                let bound = |loc: Location| -> Vec<String> {
                    input
                        .map(|s| {
                            s.members
                                .iter()
                                .filter(|(n, m)| m.location == Some(loc) && s.required.contains(n))
                                .map(|(n, m)| m.location_name.clone().unwrap_or_else(|| n.clone()).to_ascii_lowercase())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                Route {
                    operation: op.name.clone(),
                    method: op.http.method.clone(),
                    segments,
                    query,
                    required_query: bound(Location::Querystring),
                    required_headers: bound(Location::Header),
                    deprecated: op.deprecated,
                }
            })
            .collect();
        Router { routes }
    }

    /// The best-matching operation and its URI labels. A route matches when its method,
    /// path and literal query keys match and every required member it binds to a query
    /// parameter or header is present; the most literal query keys win (`?versioning` beats
    /// plain `/{Bucket}`), then the most such bound members (`UploadPartCopy` beats
    /// `CopyObject` beats `PutObject`), then the most literal path segments; a current
    /// operation beats a deprecated one on the same route (`PutBucketLifecycleConfiguration`
    /// over `PutBucketLifecycle`).
    pub fn find(&self, method: &str, path: &str, query: &str, headers: &http::HeaderMap) -> Option<(&str, Vec<(String, String)>)> {
        let params: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let mut best: Option<((usize, usize, usize, bool), &Route, Vec<(String, String)>)> = None;
        for r in self.routes.iter().filter(|r| r.method.eq_ignore_ascii_case(method)) {
            let query_ok = r.query.iter().all(|(k, v)| params.iter().any(|(pk, pv)| pk == k && v.as_ref().is_none_or(|v| v == pv)));
            let bound_ok = r.required_query.iter().all(|q| params.iter().any(|(k, _)| k.eq_ignore_ascii_case(q)))
                && r.required_headers.iter().all(|h| headers.contains_key(h.as_str()));
            if !query_ok || !bound_ok {
                continue;
            }
            let Some(labels) = match_path(&r.segments, path) else { continue };
            let literals = r.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
            let score = (r.query.len(), r.required_query.len() + r.required_headers.len(), literals, !r.deprecated);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, r, labels));
            }
        }
        best.map(|(_, r, labels)| (r.operation.as_str(), labels))
    }
}

fn match_path(segments: &[Segment], path: &str) -> Option<Vec<(String, String)>> {
    let mut rest = path.strip_prefix('/').unwrap_or(path);
    let mut labels = Vec::new();
    for seg in segments {
        match seg {
            Segment::Greedy(name) => {
                if rest.is_empty() {
                    return None;
                }
                labels.push((name.clone(), decode_component(rest)));
                rest = "";
            }
            _ => {
                let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
                if head.is_empty() {
                    return None;
                }
                match seg {
                    Segment::Literal(l) if decode_component(head) == *l => {}
                    Segment::Label(name) => labels.push((name.clone(), decode_component(head))),
                    _ => return None,
                }
                rest = tail;
            }
        }
    }
    rest.is_empty().then_some(labels)
}

fn header_ts_default() -> TimestampFormat {
    TimestampFormat::Rfc822
}

pub fn decode(codec: &Codec, op: &Operation, req: &Request, labels: &[(String, String)]) -> Result<Value, AwsError> {
    let model = codec.model;
    let Some(input) = &op.input else { return Ok(Value::empty_structure()) };
    let shape = &model.shapes[&input.shape];
    let bad = |m: String| malformed(codec.protocol, m);
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();

    // The body first: bound members then overwrite nothing it set.
    let mut fields = match &shape.payload {
        Some(p) => {
            let mut m = IndexMap::new();
            let member = &shape.members[p];
            let pshape = &model.shapes[&member.shape];
            if pshape.kind == ShapeType::Blob && (pshape.streaming || member.streaming) {
                let stream = req.stream.clone().unwrap_or_else(|| ByteStream::from_bytes(req.body.clone()));
                m.insert(p.clone(), Value::Stream(stream));
            } else if !req.body.is_empty() {
                let v = match pshape.kind {
                    ShapeType::Blob => Value::Blob(req.body.clone()),
                    ShapeType::String => Value::String(String::from_utf8_lossy(req.body).into_owned()),
                    ShapeType::Structure if pshape.document => Value::Document(
                        serde_json::from_slice(req.body).map_err(|e| malformed(codec.protocol, format!("Malformed JSON document: {e}")))?,
                    ),
                    _ => decode_body(codec, pshape, req.body)?,
                };
                // An empty structure on the wire is what clients send for an absent payload.
                if !matches!(&v, Value::Structure(m) if m.is_empty()) {
                    m.insert(p.clone(), v);
                }
            }
            m
        }
        None => match decode_body(codec, shape, req.body)? {
            Value::Structure(m) => m,
            _ => IndexMap::new(),
        },
    };

    // Query parameters bound to named members stay out of a query-parameter map.
    let bound: Vec<&str> = shape
        .members
        .values()
        .filter(|m| m.location == Some(Location::Querystring))
        .filter_map(|m| m.location_name.as_deref())
        .collect();
    for (name, member) in &shape.members {
        let mshape = &model.shapes[&member.shape];
        let wire = member.location_name.as_deref().unwrap_or(name);
        let value = match member.location {
            None | Some(Location::StatusCode) => continue,
            Some(Location::Uri) => match labels.iter().find(|(l, _)| l == wire) {
                Some((_, text)) => Some(parse_scalar(mshape, member, text, TimestampFormat::Iso8601).map_err(bad)?),
                None => None,
            },
            Some(Location::Querystring) => match mshape.kind {
                ShapeType::List => {
                    let item = mshape.member.as_deref().unwrap();
                    let ishape = &model.shapes[&item.shape];
                    let vals: Vec<Value> = query
                        .iter()
                        .filter(|(k, _)| k == wire)
                        .map(|(_, v)| parse_scalar(ishape, item, v, TimestampFormat::Iso8601))
                        .collect::<Result<_, _>>()
                        .map_err(bad)?;
                    (!vals.is_empty()).then_some(Value::List(vals))
                }
                ShapeType::Map => {
                    let of_lists = model.shapes[&mshape.value.as_deref().unwrap().shape].kind == ShapeType::List;
                    let mut m: IndexMap<String, Value> = IndexMap::new();
                    for (k, v) in query.iter().filter(|(k, _)| !bound.contains(&k.as_str())) {
                        if of_lists {
                            match m.entry(k.clone()).or_insert_with(|| Value::List(Vec::new())) {
                                Value::List(items) => items.push(Value::String(v.clone())),
                                _ => unreachable!(),
                            }
                        } else {
                            m.entry(k.clone()).or_insert_with(|| Value::String(v.clone()));
                        }
                    }
                    (!m.is_empty()).then_some(Value::Map(m))
                }
                _ => match query.iter().find(|(k, _)| k == wire) {
                    Some((_, v)) => Some(parse_scalar(mshape, member, v, TimestampFormat::Iso8601).map_err(bad)?),
                    None => None,
                },
            },
            Some(Location::Header) => match req.headers.get(wire).and_then(|v| v.to_str().ok()) {
                None => None,
                Some(text) => Some(match mshape.kind {
                    ShapeType::List => {
                        let item = mshape.member.as_deref().unwrap();
                        let ishape = &model.shapes[&item.shape];
                        let items = if ishape.kind == ShapeType::Timestamp
                            && scalar::timestamp_format(Some(item), ishape, header_ts_default()) == TimestampFormat::Rfc822
                        {
                            // HTTP dates contain a comma themselves: items are every two pieces.
                            split_header_list(text).chunks(2).map(|c| c.join(", ")).collect()
                        } else {
                            split_header_list(text)
                        };
                        Value::List(
                            items
                                .iter()
                                .map(|t| parse_scalar(ishape, item, t, header_ts_default()))
                                .collect::<Result<_, _>>()
                                .map_err(bad)?,
                        )
                    }
                    _ if member.jsonvalue => {
                        let raw = scalar::b64decode(text).ok_or_else(|| bad(format!("header {wire} is not base64")))?;
                        Value::String(String::from_utf8_lossy(&raw).into_owned())
                    }
                    _ => parse_scalar(mshape, member, text.trim(), header_ts_default()).map_err(bad)?,
                }),
            },
            Some(Location::Headers) => {
                let prefix = wire.to_ascii_lowercase();
                let mut m = IndexMap::new();
                for (k, v) in req.headers {
                    if let (Some(rest), Ok(v)) = (k.as_str().strip_prefix(&prefix), v.to_str()) {
                        m.insert(rest.to_string(), Value::String(v.to_string()));
                    }
                }
                (!m.is_empty()).then_some(Value::Map(m))
            }
        };
        if let Some(v) = value {
            fields.insert(name.clone(), v);
        }
    }
    Ok(Value::Structure(fields))
}

fn parse_scalar(shape: &Shape, member: &Member, text: &str, ts: TimestampFormat) -> Result<Value, String> {
    scalar::parse(shape, Some(member), text, ts).ok_or_else(|| format!("'{text}' is not a valid value"))
}

/// Splits a header list value on commas, honouring double-quoted items with `\"` escapes.
fn split_header_list(text: &str) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => cur.extend(chars.next()),
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

fn decode_body(codec: &Codec, shape: &Shape, body: &Bytes) -> Result<Value, AwsError> {
    match codec.protocol {
        Protocol::RestXml => {
            if body.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(Value::empty_structure());
            }
            let root = xml::parse(body).map_err(|_| {
                AwsError::new(
                    "MalformedXML",
                    400,
                    "The XML you provided was not well-formed or did not validate against our published schema",
                )
            })?;
            xml::decode_structure(codec.model, shape, &root).map_err(|m| malformed(codec.protocol, m))
        }
        _ => json::decode_body(codec.model, shape, body),
    }
}

/// The root element of a `rest-xml` body: the shape's `locationName` where the model has
/// one, else the name AWS uses on the wire (S3's names are missing from botocore's models).
fn xml_root(op: &Operation, shape_name: &str, shape: &Shape) -> String {
    if let Some(n) = &shape.location_name {
        return n.clone();
    }
    let s3 = match op.name.as_str() {
        "ListBuckets" => "ListAllMyBucketsResult",
        "ListObjects" | "ListObjectsV2" => "ListBucketResult",
        "ListObjectVersions" => "ListVersionsResult",
        "GetBucketLocation" => "LocationConstraint",
        "CreateMultipartUpload" => "InitiateMultipartUploadResult",
        "CompleteMultipartUpload" => "CompleteMultipartUploadResult",
        "ListMultipartUploads" => "ListMultipartUploadsResult",
        "ListParts" => "ListPartsResult",
        "DeleteObjects" => "DeleteResult",
        "GetBucketVersioning" => "VersioningConfiguration",
        "GetBucketTagging" | "GetObjectTagging" => "Tagging",
        "GetBucketCors" => "CORSConfiguration",
        "GetBucketAcl" | "GetObjectAcl" => "AccessControlPolicy",
        "GetBucketLifecycleConfiguration" => "LifecycleConfiguration",
        "GetBucketWebsite" => "WebsiteConfiguration",
        "GetBucketNotificationConfiguration" => "NotificationConfiguration",
        _ => "",
    };
    if !s3.is_empty() {
        s3.into()
    } else {
        shape_name.trim_end_matches("Output").to_string() + if shape_name.ends_with("Output") { "Result" } else { "" }
    }
}

pub fn encode(codec: &Codec, op: &Operation, output: Value) -> Response {
    let model = codec.model;
    let mut resp = Response { status: op.http.response_code.unwrap_or(200), headers: Vec::new(), body: Bytes::new(), stream: None };
    let content_type = if codec.protocol == Protocol::RestXml { "application/xml" } else { "application/json" };
    let Some(out) = &op.output else {
        if codec.protocol == Protocol::RestJson {
            resp.headers.push(("Content-Type".into(), content_type.into()));
            resp.body = Bytes::from_static(b"{}");
        }
        return resp;
    };
    let shape = &model.shapes[&out.shape];
    let Value::Structure(fields) = &output else { return resp };

    for (name, member) in &shape.members {
        let Some(v) = fields.get(name) else { continue };
        let mshape = &model.shapes[&member.shape];
        let wire = member.location_name.as_deref().unwrap_or(name);
        match member.location {
            Some(Location::StatusCode) => {
                if let Value::Integer(s) = v {
                    resp.status = *s as u16;
                }
            }
            Some(Location::Header) => {
                let text = match (v, mshape.kind) {
                    (Value::List(items), _) => {
                        let item = mshape.member.as_deref().unwrap();
                        let ishape = &model.shapes[&item.shape];
                        items.iter().filter_map(|x| scalar::format(x, ishape, Some(item), header_ts_default())).collect::<Vec<_>>().join(", ")
                    }
                    (Value::String(s), _) if member.jsonvalue => scalar::b64encode(s.as_bytes()),
                    _ => scalar::format(v, mshape, Some(member), header_ts_default()).unwrap_or_default(),
                };
                resp.headers.push((wire.to_string(), text));
            }
            Some(Location::Headers) => {
                if let Value::Map(m) = v {
                    for (k, x) in m {
                        if let Value::String(s) = x {
                            resp.headers.push((format!("{wire}{k}"), s.clone()));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // A ranged read is partial content: AWS models no status member for it.
    if resp.status == 200 && resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-range")) {
        resp.status = 206;
    }
    let has_ct = resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    match &shape.payload {
        Some(p) => {
            let member = &shape.members[p];
            let pshape = &model.shapes[&member.shape];
            match (fields.get(p), pshape.kind) {
                (Some(Value::Stream(s)), _) => {
                    resp.stream = Some(s.clone());
                    if !has_ct {
                        resp.headers.push(("Content-Type".into(), "application/octet-stream".into()));
                    }
                }
                (Some(Value::Blob(b)), _) => {
                    resp.body = b.clone();
                    if !has_ct {
                        resp.headers.push(("Content-Type".into(), "application/octet-stream".into()));
                    }
                }
                (Some(Value::String(s)), _) => {
                    resp.body = Bytes::from(s.clone());
                    if !has_ct {
                        resp.headers.push(("Content-Type".into(), "text/plain".into()));
                    }
                }
                (Some(v), ShapeType::Structure) => {
                    resp.body = match codec.protocol {
                        Protocol::RestXml => {
                            let name = member.location_name.clone().or_else(|| pshape.location_name.clone()).unwrap_or_else(|| p.clone());
                            let mut w = Writer { out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into() };
                            w.value(model, &name, Some(member), v, None);
                            Bytes::from(w.out)
                        }
                        _ => Bytes::from(serde_json::to_vec(&json::encode(model, member, v)).unwrap()),
                    };
                    resp.headers.push(("Content-Type".into(), content_type.into()));
                }
                _ => {}
            }
        }
        None => {
            let body_members = shape.members.values().any(|m| !xml::is_http_bound_in_response(m));
            if body_members {
                resp.body = match codec.protocol {
                    Protocol::RestXml => {
                        let root = xml_root(op, &out.shape, shape);
                        let ns = shape
                            .xml_namespace
                            .as_ref()
                            .map(|n| n.attribute())
                            .map(|(k, u)| (k, u.to_string()))
                            .or_else(|| model.metadata.xml_namespace.clone().map(|u| ("xmlns".into(), u)))
                            .or_else(|| (model.metadata.endpoint_prefix.as_deref() == Some("s3")).then(|| ("xmlns".into(), "http://s3.amazonaws.com/doc/2006-03-01/".into())));
                        let mut w = Writer { out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".into() };
                        let mut attrs: Vec<(String, String)> = ns.into_iter().collect();
                        attrs.extend(Writer::attributes(model, shape, &output));
                        w.open(&root, &attrs);
                        // A lone member named like the root is the root's text
                        // (`<LocationConstraint>eu-west-1</LocationConstraint>`).
                        let body: Vec<_> = shape.members.iter().filter(|(_, m)| !xml::is_http_bound_in_response(m)).collect();
                        match (body.as_slice(), fields.get(root.as_str())) {
                            ([(name, m)], Some(v)) if **name == root => {
                                if let Some(text) = scalar::format(v, &model.shapes[&m.shape], Some(m), TimestampFormat::Iso8601) {
                                    xml::escape_into(&mut w.out, &text);
                                }
                            }
                            _ => w.structure_members(model, shape, &output),
                        }
                        w.close(&root);
                        Bytes::from(w.out)
                    }
                    _ => Bytes::from(serde_json::to_vec(&json::encode_structure(model, shape, &output)).unwrap()),
                };
                resp.headers.push(("Content-Type".into(), content_type.into()));
            } else if codec.protocol == Protocol::RestJson {
                resp.headers.push(("Content-Type".into(), content_type.into()));
                resp.body = Bytes::from_static(b"{}");
            }
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> Router {
        Router::new(nubo_model::model("s3").unwrap())
    }

    #[test]
    fn s3_routes_by_method_path_and_query() {
        let r = s3();
        let h = http::HeaderMap::new();
        assert_eq!(r.find("GET", "/", "", &h).unwrap().0, "ListBuckets");
        assert_eq!(r.find("GET", "/b", "versioning", &h).unwrap().0, "GetBucketVersioning");
        assert_eq!(r.find("GET", "/b", "list-type=2", &h).unwrap().0, "ListObjectsV2");
        assert_eq!(r.find("GET", "/b", "", &h).unwrap().0, "ListObjects");
        let (op, labels) = r.find("GET", "/b/dir/key%20x.txt", "", &h).unwrap();
        assert_eq!(op, "GetObject");
        assert_eq!(labels, vec![("Bucket".into(), "b".into()), ("Key".into(), "dir/key x.txt".into())]);
    }

    #[test]
    fn s3_tells_overloaded_routes_apart_by_required_bindings() {
        let r = s3();
        let none = http::HeaderMap::new();
        let mut copy = http::HeaderMap::new();
        copy.insert("x-amz-copy-source", "src/key".parse().unwrap());
        assert_eq!(r.find("PUT", "/b/k", "", &none).unwrap().0, "PutObject");
        assert_eq!(r.find("PUT", "/b/k", "", &copy).unwrap().0, "CopyObject");
        assert_eq!(r.find("PUT", "/b/k", "partNumber=1&uploadId=u", &none).unwrap().0, "UploadPart");
        assert_eq!(r.find("PUT", "/b/k", "partNumber=1&uploadId=u", &copy).unwrap().0, "UploadPartCopy");
        assert_eq!(r.find("DELETE", "/b/k", "", &none).unwrap().0, "DeleteObject");
        assert_eq!(r.find("DELETE", "/b/k", "uploadId=u", &none).unwrap().0, "AbortMultipartUpload");
        assert_eq!(r.find("GET", "/b/k", "uploadId=u", &none).unwrap().0, "ListParts");
        assert_eq!(r.find("POST", "/b/k", "uploads", &none).unwrap().0, "CreateMultipartUpload");
        assert_eq!(r.find("POST", "/b/k", "uploadId=u", &none).unwrap().0, "CompleteMultipartUpload");
        assert_eq!(r.find("PUT", "/b", "lifecycle", &none).unwrap().0, "PutBucketLifecycleConfiguration");
        assert_eq!(r.find("GET", "/b", "notification", &none).unwrap().0, "GetBucketNotificationConfiguration");
    }

    #[test]
    fn lambda_routes_with_and_without_trailing_slash() {
        let h = http::HeaderMap::new();
        let r = Router::new(nubo_model::model("lambda").unwrap());
        assert_eq!(r.find("GET", "/2015-03-31/functions/", "", &h).unwrap().0, "ListFunctions");
        assert_eq!(r.find("GET", "/2015-03-31/functions", "", &h).unwrap().0, "ListFunctions");
        let (op, labels) = r.find("GET", "/2015-03-31/functions/my-fn", "", &h).unwrap();
        assert_eq!(op, "GetFunction");
        assert_eq!(labels[0].1, "my-fn");
    }

    #[test]
    fn header_lists_split_on_unquoted_commas() {
        assert_eq!(split_header_list(r#"a, "b,c", d"#), vec!["a", "b,c", "d"]);
        assert_eq!(split_header_list(r#""\"def\"", a"#), vec!["\"def\"", "a"]);
        assert!(split_header_list("").is_empty());
    }
}
