//! Timestamps and the three text forms AWS puts on the wire.
//!
//! AWS uses ISO 8601 (`2019-12-16T22:48:18.000Z`), RFC 7231 HTTP dates
//! (`Mon, 16 Dec 2019 23:48:18 GMT`) and epoch seconds. Writing them here (rather than
//! pulling a date crate) keeps one precise, allocation-light implementation that the
//! codecs and the services share.

use std::fmt;

/// A point in time with millisecond precision, as AWS timestamps carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp {
    millis: i64,
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp { millis }
    }
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp { millis: (secs * 1000.0).round() as i64 }
    }
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp { millis: secs * 1000 }
    }
    pub const fn as_millis(self) -> i64 {
        self.millis
    }
    pub const fn as_secs(self) -> i64 {
        self.millis.div_euclid(1000)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }
    pub const fn add_millis(self, ms: i64) -> Self {
        Timestamp { millis: self.millis + ms }
    }

    fn civil(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let secs = self.as_secs();
        let ms = self.millis.rem_euclid(1000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, sod / 60 % 60, sod % 60, ms)
    }

    /// `2019-12-16T22:48:18.123Z`: the form AWS's XML protocols and query strings use.
    pub fn to_iso8601(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// `2019-12-16T22:48:18Z`, for places where AWS omits fractional seconds.
    pub fn to_iso8601_seconds(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// `20191216T224818Z`: SigV4's `X-Amz-Date` form.
    pub fn to_amz_date(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.civil();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }

    /// Parses `20191216T224818Z`.
    pub fn parse_amz_date(s: &str) -> Option<Self> {
        if s.len() != 16 || !s.ends_with('Z') || s.as_bytes()[8] != b'T' {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
        let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
        let (h, mi, sec) = (n(9..11)?, n(11..13)?, n(13..15)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
            return None;
        }
        Some(Timestamp::from_secs(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec))
    }

    /// `Mon, 16 Dec 2019 23:48:18 GMT`: the HTTP header form.
    pub fn to_http_date(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.civil();
        let wd = DAYS[self.as_secs().div_euclid(86_400).rem_euclid(7) as usize];
        format!("{wd}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT", MONTHS[mo as usize - 1])
    }

    /// Parses ISO 8601 with optional fraction and `Z` or `±hh:mm` offset.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut ms = 0i64;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            let frac = &s[start..i.min(start + 3)];
            ms = frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
        }
        let offset = match &s[i..] {
            "Z" | "z" => 0,
            "" => 0,
            rest if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && rest.as_bytes()[3] == b':' => {
                let oh: i64 = rest[1..3].parse().ok()?;
                let om: i64 = rest[4..6].parse().ok()?;
                let o = oh * 3600 + om * 60;
                if rest.starts_with('-') { -o } else { o }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
        Some(Timestamp { millis: secs * 1000 + ms })
    }

    /// Parses `Mon, 16 Dec 2019 23:48:18 GMT` (and the `+0000` zone old S3 tools send).
    pub fn parse_http_date(s: &str) -> Option<Self> {
        let rest = s.split_once(", ")?.1;
        let mut it = rest.split(' ');
        let d: u32 = it.next()?.parse().ok()?;
        let mon = it.next()?;
        let mo = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
        let y: i64 = it.next()?.parse().ok()?;
        let hms = it.next()?;
        if !matches!(it.next()?, "GMT" | "+0000" | "UTC") {
            return None;
        }
        let mut p = hms.split(':').map(|x| x.parse::<i64>().ok());
        let (h, mi, sec) = (p.next()??, p.next()??, p.next()??);
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
        Some(Timestamp::from_secs(secs))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

/// Howard Hinnant's days-from-civil: days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day counted from 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_round_trips_with_millis() {
        let t = Timestamp::parse_iso8601("2019-12-16T22:48:18.123Z").unwrap();
        assert_eq!(t.as_millis(), 1_576_536_498_123);
        assert_eq!(t.to_iso8601(), "2019-12-16T22:48:18.123Z");
    }

    #[test]
    fn iso8601_offsets_are_applied() {
        let a = Timestamp::parse_iso8601("2019-12-16T22:48:18-01:00").unwrap();
        let b = Timestamp::parse_iso8601("2019-12-17T00:48:18+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_secs(), 1_576_540_098);
    }

    #[test]
    fn iso8601_rejects_garbage() {
        for s in ["", "2019-13-01T00:00:00Z", "yesterday", "2019-12-16 22:48:18Z", "2019-12-16T22:48:18.Z"] {
            assert!(Timestamp::parse_iso8601(s).is_none(), "{s}");
        }
    }

    #[test]
    fn http_date_round_trips() {
        let t = Timestamp::from_secs(1_576_540_098);
        assert_eq!(t.to_http_date(), "Mon, 16 Dec 2019 23:48:18 GMT");
        assert_eq!(Timestamp::parse_http_date(&t.to_http_date()), Some(t));
    }

    #[test]
    fn dates_before_epoch_format() {
        assert_eq!(Timestamp::from_millis(-1).to_iso8601(), "1969-12-31T23:59:59.999Z");
    }
}
