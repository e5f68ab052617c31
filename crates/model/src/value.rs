//! The protocol-neutral value tree between the codecs and the typed shapes.
//!
//! A codec decodes wire bytes into a [`Value`] guided by the shape model, and encodes a
//! [`Value`] back. Generated shapes convert to and from it ([`FromValue`], [`IntoValue`]),
//! so services see typed structs and never a wire format. Structure members are keyed by
//! their model name, never by their wire name.

use bytes::Bytes;
use indexmap::IndexMap;
use nubo_core::Timestamp;
use std::collections::BTreeMap;

/// Serializable (externally tagged), so a service can keep a decoded shape as it came,
/// e.g. a bucket's CORS configuration. Streams are not data and are not serialized.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Bool(bool),
    Integer(i64),
    Float(f64),
    String(String),
    Timestamp(Timestamp),
    Blob(Bytes),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
    Structure(IndexMap<String, Value>),
    /// A Smithy document: free-form JSON carried as is.
    Document(serde_json::Value),
    /// A streaming payload (S3 object data), never buffered.
    #[serde(skip)]
    Stream(crate::ByteStream),
}

impl Value {
    pub fn empty_structure() -> Value {
        Value::Structure(IndexMap::new())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, member: &str) -> Option<&Value> {
        match self {
            Value::Structure(m) | Value::Map(m) => m.get(member),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Integer(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Timestamp(_) => "timestamp",
            Value::Blob(_) => "blob",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Structure(_) => "structure",
            Value::Document(_) => "document",
            Value::Stream(_) => "stream",
        }
    }
}

/// Why a decoded value does not fit its typed shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A required member is absent: `MissingParameter` / `ValidationException` on the wire.
    MissingRequired { member: String },
    /// A value of the wrong type for its member.
    WrongType { member: String, expected: &'static str, found: &'static str },
}

impl ShapeError {
    fn at(self, parent: &str) -> ShapeError {
        match self {
            ShapeError::MissingRequired { member } => ShapeError::MissingRequired { member: join(parent, &member) },
            ShapeError::WrongType { member, expected, found } => {
                ShapeError::WrongType { member: join(parent, &member), expected, found }
            }
        }
    }
}

fn join(parent: &str, member: &str) -> String {
    if member.is_empty() {
        parent.to_string()
    } else {
        format!("{parent}.{member}")
    }
}

pub trait FromValue: Sized {
    fn from_value(v: Value) -> Result<Self, ShapeError>;
}

pub trait IntoValue {
    fn into_value(self) -> Value;
}

fn wrong(expected: &'static str, v: &Value) -> ShapeError {
    ShapeError::WrongType { member: String::new(), expected, found: v.kind() }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::String(s) => Ok(s),
            v => Err(wrong("string", &v)),
        }
    }
}
impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::String(self)
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self, ShapeError> {
                match v {
                    Value::Integer(i) => <$t>::try_from(i).map_err(|_| wrong(stringify!($t), &Value::Integer(i))),
                    v => Err(wrong("integer", &v)),
                }
            }
        }
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Integer(self as i64)
            }
        }
    )*};
}
integer!(i8, i16, i32, i64);

impl FromValue for f64 {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Float(f) => Ok(f),
            Value::Integer(i) => Ok(i as f64),
            v => Err(wrong("number", &v)),
        }
    }
}
impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}
impl FromValue for f32 {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        f64::from_value(v).map(|f| f as f32)
    }
}
impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(self as f64)
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Bool(b) => Ok(b),
            v => Err(wrong("boolean", &v)),
        }
    }
}
impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl FromValue for Timestamp {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Timestamp(t) => Ok(t),
            v => Err(wrong("timestamp", &v)),
        }
    }
}
impl IntoValue for Timestamp {
    fn into_value(self) -> Value {
        Value::Timestamp(self)
    }
}

impl FromValue for Bytes {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Blob(b) => Ok(b),
            v => Err(wrong("blob", &v)),
        }
    }
}
impl IntoValue for Bytes {
    fn into_value(self) -> Value {
        Value::Blob(self)
    }
}

impl FromValue for crate::ByteStream {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Stream(s) => Ok(s),
            Value::Blob(b) => Ok(crate::ByteStream::from_bytes(b)),
            v => Err(wrong("stream", &v)),
        }
    }
}
impl IntoValue for crate::ByteStream {
    fn into_value(self) -> Value {
        Value::Stream(self)
    }
}

impl FromValue for serde_json::Value {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Document(d) => Ok(d),
            v => Err(wrong("document", &v)),
        }
    }
}
impl IntoValue for serde_json::Value {
    fn into_value(self) -> Value {
        Value::Document(self)
    }
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        Ok(v)
    }
}
impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

/// Operations without input or output exchange the empty structure.
impl FromValue for () {
    fn from_value(_: Value) -> Result<Self, ShapeError> {
        Ok(())
    }
}
impl IntoValue for () {
    fn into_value(self) -> Value {
        Value::empty_structure()
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, x)| T::from_value(x).map_err(|e| e.at(&format!("{}", i + 1))))
                .collect(),
            v => Err(wrong("list", &v)),
        }
    }
}
impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for BTreeMap<String, T> {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        match v {
            Value::Map(m) => m.into_iter().map(|(k, x)| T::from_value(x).map(|x| (k, x)).map_err(|e| e.at("value"))).collect(),
            v => Err(wrong("map", &v)),
        }
    }
}
impl<T: IntoValue> IntoValue for BTreeMap<String, T> {
    fn into_value(self) -> Value {
        Value::Map(self.into_iter().map(|(k, v)| (k, v.into_value())).collect())
    }
}

impl<T: FromValue> FromValue for Box<T> {
    fn from_value(v: Value) -> Result<Self, ShapeError> {
        T::from_value(v).map(Box::new)
    }
}
impl<T: IntoValue> IntoValue for Box<T> {
    fn into_value(self) -> Value {
        (*self).into_value()
    }
}

/// Reads the members of a decoded structure; used by the generated `FromValue` impls.
pub struct StructReader {
    members: IndexMap<String, Value>,
}

impl StructReader {
    pub fn new(v: Value) -> Result<StructReader, ShapeError> {
        match v {
            Value::Structure(members) => Ok(StructReader { members }),
            v => Err(wrong("structure", &v)),
        }
    }

    pub fn optional<T: FromValue>(&mut self, name: &str) -> Result<Option<T>, ShapeError> {
        match self.members.shift_remove(name) {
            None => Ok(None),
            Some(v) => T::from_value(v).map(Some).map_err(|e| e.at(name)),
        }
    }

    pub fn required<T: FromValue>(&mut self, name: &str) -> Result<T, ShapeError> {
        self.optional(name)?.ok_or_else(|| ShapeError::MissingRequired { member: name.to_string() })
    }
}

/// Builds an encoded structure; used by the generated `IntoValue` impls.
#[derive(Default)]
pub struct StructWriter {
    members: IndexMap<String, Value>,
}

impl StructWriter {
    pub fn new() -> StructWriter {
        StructWriter::default()
    }

    pub fn member<T: IntoValue>(&mut self, name: &str, v: T) {
        self.members.insert(name.to_string(), v.into_value());
    }

    pub fn optional<T: IntoValue>(&mut self, name: &str, v: Option<T>) {
        if let Some(v) = v {
            self.member(name, v)
        }
    }

    pub fn finish(self) -> Value {
        Value::Structure(self.members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_member_names_its_path() {
        let mut outer = IndexMap::new();
        outer.insert("Inner".to_string(), Value::empty_structure());
        let mut r = StructReader::new(Value::Structure(outer)).unwrap();
        let inner: Value = r.required("Inner").unwrap();
        let err = StructReader::new(inner).unwrap().required::<String>("Name").unwrap_err();
        assert_eq!(err, ShapeError::MissingRequired { member: "Name".into() });
    }

    #[test]
    fn integer_out_of_range_is_a_type_error() {
        assert!(matches!(i32::from_value(Value::Integer(1 << 40)), Err(ShapeError::WrongType { .. })));
    }
}
