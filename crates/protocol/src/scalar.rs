//! Scalars as text: how a number, boolean, timestamp or blob is written in a header, a
//! query string, a form parameter or an XML element, and read back.

use base64::Engine;
use bytes::Bytes;
use nubo_core::Timestamp;
use nubo_model::{Member, Shape, ShapeType, TimestampFormat, Value};

pub fn b64encode(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn b64decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// The timestamp format that applies: the member's, else the shape's, else the location's default.
pub fn timestamp_format(member: Option<&Member>, shape: &Shape, default: TimestampFormat) -> TimestampFormat {
    member.and_then(|m| m.timestamp_format).or(shape.timestamp_format).unwrap_or(default)
}

pub fn format_timestamp(t: Timestamp, format: TimestampFormat) -> String {
    match format {
        TimestampFormat::Iso8601 => t.to_iso8601_seconds_or_millis(),
        TimestampFormat::Rfc822 => t.to_http_date(),
        TimestampFormat::UnixTimestamp => format_epoch(t),
    }
}

/// Epoch seconds, with a fraction only when there is one (`1398796238`, `1398796238.123`).
pub fn format_epoch(t: Timestamp) -> String {
    if t.as_millis() % 1000 == 0 {
        t.as_secs().to_string()
    } else {
        format!("{:.3}", t.as_secs_f64()).trim_end_matches('0').to_string()
    }
}

/// Reads a timestamp in any of AWS's text forms, whatever the declared format: clients
/// differ, and being liberal here costs nothing.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(f) = s.parse::<f64>() {
        return f.is_finite().then(|| Timestamp::from_secs_f64(f));
    }
    Timestamp::parse_iso8601(s).or_else(|| Timestamp::parse_http_date(s))
}

trait IsoExt {
    fn to_iso8601_seconds_or_millis(self) -> String;
}

impl IsoExt for Timestamp {
    /// AWS writes milliseconds only when they are there.
    fn to_iso8601_seconds_or_millis(self) -> String {
        if self.as_millis() % 1000 == 0 {
            self.to_iso8601_seconds()
        } else {
            self.to_iso8601()
        }
    }
}

/// Parses the text of a scalar shape. `None` when the text does not fit the type.
pub fn parse(shape: &Shape, member: Option<&Member>, text: &str, ts_default: TimestampFormat) -> Option<Value> {
    let _ = ts_default;
    Some(match shape.kind {
        ShapeType::String | ShapeType::Character => Value::String(text.to_string()),
        ShapeType::Integer | ShapeType::Long | ShapeType::Short | ShapeType::Byte | ShapeType::BigInteger => {
            Value::Integer(text.trim().parse().ok()?)
        }
        ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal => Value::Float(parse_float(text)?),
        ShapeType::Boolean => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return None,
        },
        ShapeType::Timestamp => Value::Timestamp(parse_timestamp(text)?),
        ShapeType::Blob => Value::Blob(Bytes::from(b64decode(text)?)),
        ShapeType::Structure | ShapeType::List | ShapeType::Map => {
            let _ = member;
            return None;
        }
    })
}

pub fn parse_float(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else {
        f.to_string()
    }
}

/// Writes a scalar value as text. Structures, lists and maps have no text form (`None`).
pub fn format(v: &Value, shape: &Shape, member: Option<&Member>, ts_default: TimestampFormat) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Timestamp(t) => format_timestamp(*t, timestamp_format(member, shape, ts_default)),
        Value::Blob(b) => b64encode(b),
        Value::Document(d) => d.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_drop_a_zero_fraction() {
        assert_eq!(format_epoch(Timestamp::from_secs(1398796238)), "1398796238");
        assert_eq!(format_epoch(Timestamp::from_millis(1398796238123)), "1398796238.123");
        assert_eq!(format_epoch(Timestamp::from_millis(1398796238100)), "1398796238.1");
    }

    #[test]
    fn timestamps_parse_in_every_form() {
        let t = Timestamp::from_secs(1398796238);
        for s in ["1398796238", "2014-04-29T18:30:38Z", "2014-04-29T18:30:38.000Z", "Tue, 29 Apr 2014 18:30:38 GMT"] {
            assert_eq!(parse_timestamp(s), Some(t), "{s}");
        }
    }
}
