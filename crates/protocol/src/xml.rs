//! XML bodies for `query`, `ec2` and `rest-xml`, read and written by shape.
//!
//! Reading builds a small element tree first (bodies are small; S3 object data never
//! passes through here), then walks it with the shape, the way AWS's own parsers do:
//! members by wire name, lists wrapped (`<member>`, `<item>`) or flattened, maps as
//! `entry`/`key`/`value`, attributes where the model says `xmlAttribute`.

use crate::scalar;
use indexmap::IndexMap;
use nubo_model::{Location, Member, ServiceModel, Shape, ShapeType, TimestampFormat, Value, XmlNamespace};
use quick_xml::events::Event;
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Element {
    /// Local name, without a namespace prefix.
    pub name: String,
    /// Attributes by qualified name (`xmlns:xsi`, `xsi:type`).
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => s.into_owned(),
    }
}

fn resolve_entity(name: &str) -> Option<String> {
    Some(match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        n if n.starts_with("#x") || n.starts_with("#X") => char::from_u32(u32::from_str_radix(&n[2..], 16).ok()?)?.into(),
        n if n.starts_with('#') => char::from_u32(n[1..].parse().ok()?)?.into(),
        _ => return None,
    })
}

/// Parses a document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let open = |e: &quick_xml::events::BytesStart| -> Result<Element, String> {
        let mut el = Element { name: local(e.name().as_ref()), ..Default::default() };
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let v = a.unescape_value().map_err(|e| e.to_string())?;
            el.attrs.push((String::from_utf8_lossy(a.key.as_ref()).into_owned(), v.into_owned()));
        }
        Ok(el)
    };
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err("more than one root element".into()),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err("more than one root element".into()),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                } else if !t.iter().all(|b| b.is_ascii_whitespace()) {
                    return Err("text outside the root element".into());
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                let text = resolve_entity(&name).ok_or_else(|| format!("unknown entity &{name};"))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None => return Err("reference outside the root element".into()),
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// The name under which a member appears in its parent structure: its `locationName`, else
/// its name. (A shape's own `locationName` names it only as a document root.)
pub fn member_name(name: &str, member: &Member) -> String {
    member.location_name.clone().unwrap_or_else(|| name.to_string())
}

/// botocore names the items of a flattened list after the list's member where that has a
/// name; Smithy-based clients after the structure member. Writers use botocore's rule (our
/// primary clients), readers accept both.
fn flattened_item_name(model: &ServiceModel, name: &str, member: &Member) -> Option<String> {
    let shape = &model.shapes[&member.shape];
    if shape.kind == ShapeType::List && (member.flattened || shape.flattened) {
        return shape.member.as_ref().and_then(|m| m.location_name.clone());
    }
    let _ = name;
    None
}

/// Members a response carries outside its body.
pub fn is_http_bound_in_response(member: &Member) -> bool {
    matches!(member.location, Some(Location::Header | Location::Headers | Location::StatusCode))
}

fn is_flattened(member: Option<&Member>, shape: &Shape) -> bool {
    member.is_some_and(|m| m.flattened) || shape.flattened
}

/// Reads a structure's members from an element (members bound to HTTP locations are skipped).
pub fn decode_structure(model: &ServiceModel, shape: &Shape, el: &Element) -> Result<Value, String> {
    let mut by_name: HashMap<&str, Vec<&Element>> = HashMap::new();
    for c in &el.children {
        by_name.entry(c.name.as_str()).or_default().push(c);
    }
    let mut out = IndexMap::new();
    for (name, member) in &shape.members {
        if member.location.is_some() {
            continue;
        }
        let mshape = &model.shapes[&member.shape];
        let key = member_name(name, member);
        if member.xml_attribute {
            if let Some((_, v)) = el.attrs.iter().find(|(k, _)| *k == key) {
                if let Some(v) = scalar::parse(mshape, Some(member), v, TimestampFormat::Iso8601) {
                    out.insert(name.clone(), v);
                }
            }
            continue;
        }
        let nodes = by_name.get(key.as_str()).or_else(|| {
            let alt = flattened_item_name(model, name, member)?;
            by_name.get(alt.as_str())
        });
        let Some(nodes) = nodes else { continue };
        let value = if is_flattened(Some(member), mshape) && mshape.kind == ShapeType::List {
            let item = mshape.member.as_deref().unwrap();
            Value::List(nodes.iter().map(|n| decode(model, Some(item), n)).collect::<Result<_, _>>()?)
        } else if is_flattened(Some(member), mshape) && mshape.kind == ShapeType::Map {
            let mut m = IndexMap::new();
            for n in nodes {
                decode_entry(model, mshape, n, &mut m)?;
            }
            Value::Map(m)
        } else {
            decode(model, Some(member), nodes[0])?
        };
        out.insert(name.clone(), value);
    }
    Ok(Value::Structure(out))
}

fn decode_entry(model: &ServiceModel, map: &Shape, entry: &Element, out: &mut IndexMap<String, Value>) -> Result<(), String> {
    let (k, v) = (map.key.as_deref().unwrap(), map.value.as_deref().unwrap());
    let kname = k.location_name.as_deref().unwrap_or("key");
    let vname = v.location_name.as_deref().unwrap_or("value");
    let key = entry.child(kname).map(|e| e.text.clone()).ok_or("map entry without a key")?;
    if let Some(ve) = entry.child(vname) {
        out.insert(key, decode(model, Some(v), ve)?);
    }
    Ok(())
}

/// Reads one value of the member's shape from its element.
pub fn decode(model: &ServiceModel, member: Option<&Member>, el: &Element) -> Result<Value, String> {
    let shape_name = member.map(|m| m.shape.as_str()).ok_or("no shape")?;
    let shape = model.shapes.get(shape_name).ok_or_else(|| format!("unknown shape {shape_name}"))?;
    match shape.kind {
        ShapeType::Structure => decode_structure(model, shape, el),
        ShapeType::List => {
            let item = shape.member.as_deref().unwrap();
            Ok(Value::List(el.children.iter().map(|c| decode(model, Some(item), c)).collect::<Result<_, _>>()?))
        }
        ShapeType::Map => {
            let mut m = IndexMap::new();
            if is_flattened(member, shape) {
                decode_entry(model, shape, el, &mut m)?;
            } else {
                for entry in &el.children {
                    decode_entry(model, shape, entry, &mut m)?;
                }
            }
            Ok(Value::Map(m))
        }
        _ => scalar::parse(shape, member, &el.text, TimestampFormat::Iso8601)
            .ok_or_else(|| format!("'{}' is not a valid {:?}", el.text, shape.kind)),
    }
}

/// Appends XML text to a `String`, escaping as AWS does.
#[derive(Default)]
pub struct Writer {
    pub out: String,
}

pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\u{85}' => out.push_str("&#x85;"),
            '\u{2028}' => out.push_str("&#x2028;"),
            c => out.push(c),
        }
    }
}

impl Writer {
    pub fn open(&mut self, name: &str, attrs: &[(String, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
        self.out.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    pub fn text_element(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    /// The attributes a structure value puts on its own element (`xmlAttribute` members).
    pub fn attributes(model: &ServiceModel, shape: &Shape, v: &Value) -> Vec<(String, String)> {
        let Value::Structure(fields) = v else { return Vec::new() };
        shape
            .members
            .iter()
            .filter(|(_, m)| m.xml_attribute)
            .filter_map(|(name, m)| {
                let text = scalar::format(fields.get(name)?, &model.shapes[&m.shape], Some(m), TimestampFormat::Iso8601)?;
                Some((m.location_name.clone().unwrap_or_else(|| name.clone()), text))
            })
            .collect()
    }

    /// Writes the members of a structure value (not its enclosing element). Members bound
    /// to headers or the status code are not body members; in a response, members bound to
    /// the URI or query string are (they have nowhere else to go).
    pub fn structure_members(&mut self, model: &ServiceModel, shape: &Shape, v: &Value) {
        let Value::Structure(fields) = v else { return };
        for (name, member) in &shape.members {
            let Some(fv) = fields.get(name) else { continue };
            if is_http_bound_in_response(member) || member.xml_attribute {
                continue;
            }
            let mshape = &model.shapes[&member.shape];
            let elname = member_name(name, member);
            if is_flattened(Some(member), mshape) && mshape.kind == ShapeType::List {
                let item = mshape.member.as_deref().unwrap();
                let elname = flattened_item_name(model, name, member).unwrap_or(elname);
                if let Value::List(items) = fv {
                    for it in items {
                        self.value(model, &elname, Some(item), it, None);
                    }
                }
            } else {
                self.value(model, &elname, Some(member), fv, None);
            }
        }
    }

    /// Writes `<name>value</name>` for a value of the member's shape.
    pub fn value(&mut self, model: &ServiceModel, name: &str, member: Option<&Member>, v: &Value, ns: Option<&XmlNamespace>) {
        let Some(member) = member else { return };
        let shape = &model.shapes[&member.shape];
        let mut attrs = Vec::new();
        if let Some(ns) = ns.or(member.xml_namespace.as_ref()).or(shape.xml_namespace.as_ref()) {
            let (k, u) = ns.attribute();
            attrs.push((k, u.to_string()));
        }
        match (shape.kind, v) {
            (ShapeType::Structure, Value::Structure(_)) => {
                attrs.extend(Self::attributes(model, shape, v));
                self.open(name, &attrs);
                self.structure_members(model, shape, v);
                self.close(name);
            }
            (ShapeType::List, Value::List(items)) => {
                let item = shape.member.as_deref().unwrap();
                if is_flattened(Some(member), shape) {
                    for it in items {
                        self.value(model, name, Some(item), it, None);
                    }
                } else {
                    self.open(name, &attrs);
                    let iname = item.location_name.as_deref().unwrap_or("member");
                    for it in items {
                        self.value(model, iname, Some(item), it, None);
                    }
                    self.close(name);
                }
            }
            (ShapeType::Map, Value::Map(entries)) => {
                let (k, val) = (shape.key.as_deref().unwrap(), shape.value.as_deref().unwrap());
                let kname = k.location_name.as_deref().unwrap_or("key");
                let vname = val.location_name.as_deref().unwrap_or("value");
                let flat = is_flattened(Some(member), shape);
                if !flat {
                    self.open(name, &attrs);
                }
                for (key, value) in entries {
                    self.open(if flat { name } else { "entry" }, &[]);
                    self.text_element(kname, key);
                    self.value(model, vname, Some(val), value, None);
                    self.close(if flat { name } else { "entry" });
                }
                if !flat {
                    self.close(name);
                }
            }
            (_, v) => {
                if let Some(text) = scalar::format(v, shape, Some(member), TimestampFormat::Iso8601) {
                    self.open(name, &attrs);
                    escape_into(&mut self.out, &text);
                    self.close(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entities_namespaces_and_nesting() {
        let el = parse(br#"<?xml version="1.0"?><a:Root xmlns:a="urn:x"><B k="v">x &amp; &#x41;</B><C/></a:Root>"#).unwrap();
        assert_eq!(el.name, "Root");
        assert_eq!(el.children[0].text, "x & A");
        assert_eq!(el.children[0].attrs, vec![("k".to_string(), "v".to_string())]);
        assert_eq!(el.children[1].name, "C");
    }

    #[test]
    fn rejects_malformed_documents() {
        for doc in ["", "<a>", "<a></b>", "<a/><b/>", "text", "<a>&bogus;</a>"] {
            assert!(parse(doc.as_bytes()).is_err(), "{doc}");
        }
    }
}
