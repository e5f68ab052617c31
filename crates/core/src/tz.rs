//! IANA time zones (`America/New_York`) for schedules that run on local wall-clock time.
//!
//! The rules come from the host's tz database (TZif files under `$TZDIR` or
//! `/usr/share/zoneinfo`), read once per use: they change a few times a year and every
//! system keeps them current, so nubo carries none of its own. Beyond the last listed
//! transition, the file's POSIX rule (`EST5EDT,M3.2.0,M11.1.0`) continues the pattern.

use crate::time::{civil_from_days, days_from_civil};
use crate::Timestamp;

/// A time zone: its UTC offset at any moment.
#[derive(Debug, Clone)]
pub struct Zone {
    /// (UTC second the offset starts, offset in seconds east of UTC), ascending.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
    rule: Option<Rule>,
}

/// A POSIX TZ rule: standard offset and, with daylight saving, when it starts and ends.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    std: i32,
    dst: Option<(i32, Change, Change)>,
}

/// `Mm.w.d/time`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`, at `time`
/// seconds past local midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Change {
    month: u32,
    week: u32,
    weekday: u32,
    time: i64,
}

impl Zone {
    /// The zone of that name, `None` when the tz database has no such zone.
    pub fn load(name: &str) -> Option<Zone> {
        if matches!(name, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Z") {
            return Some(Zone { transitions: Vec::new(), initial: 0, rule: None });
        }
        let safe = !name.is_empty() && !name.starts_with('/') && name.split('/').all(|p| !p.is_empty() && p != "." && p != "..") && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if !safe {
            return None;
        }
        let dir = std::env::var_os("TZDIR").unwrap_or_else(|| "/usr/share/zoneinfo".into());
        parse_tzif(&std::fs::read(std::path::Path::new(&dir).join(name)).ok()?)
    }

    /// Seconds east of UTC at `t`.
    pub fn offset(&self, t: Timestamp) -> i64 {
        let s = t.as_secs();
        let i = self.transitions.partition_point(|(at, _)| *at <= s);
        match (i, &self.rule) {
            (i, Some(rule)) if i == self.transitions.len() => rule.offset(s),
            (0, _) => self.initial.into(),
            (i, _) => self.transitions[i - 1].1.into(),
        }
    }
}

impl Rule {
    fn offset(&self, utc: i64) -> i64 {
        let Some((dst, start, end)) = self.dst else { return self.std.into() };
        let (year, _, _) = civil_from_days((utc + i64::from(self.std)).div_euclid(86_400));
        // Start is given in standard time, end in daylight time.
        let begins = start.at(year) - i64::from(self.std);
        let ends = end.at(year) - i64::from(dst);
        let in_dst = if begins < ends { begins <= utc && utc < ends } else { !(ends <= utc && utc < begins) };
        if in_dst { dst } else { self.std }.into()
    }
}

impl Change {
    /// Local seconds since the epoch when it happens in `year`.
    fn at(self, year: i64) -> i64 {
        let first = days_from_civil(year, self.month, 1);
        let first_weekday = (first + 4).rem_euclid(7) as u32;
        let mut day = 1 + (self.weekday + 7 - first_weekday) % 7 + (self.week - 1) * 7;
        let (ny, nm) = if self.month == 12 { (year + 1, 1) } else { (year, self.month + 1) };
        let month_days = (days_from_civil(ny, nm, 1) - first) as u32;
        while day > month_days {
            day -= 7;
        }
        (first + i64::from(day) - 1) * 86_400 + self.time
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A TZif file (RFC 8536): the 64-bit data block of version 2+ files, else the 32-bit one.
fn parse_tzif(b: &[u8]) -> Option<Zone> {
    if b.get(..4)? != b"TZif" {
        return None;
    }
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = be32(b, at + 20 + i * 4)? as usize;
        }
        Some(c)
    };
    let block_len = |c: [usize; 6], time_size: usize| c[3] * time_size + c[3] + c[4] * 6 + c[5] + c[2] * (time_size + 4) + c[1] + c[0];
    let first = counts(0)?;
    let (start, c, time_size) = if b[4] >= b'2' {
        let second = 44 + block_len(first, 4);
        (second + 44, counts(second)?, 8)
    } else {
        (44, first, 4)
    };
    let [_, _, _, timecnt, typecnt, _] = c;
    let time = |i: usize| -> Option<i64> {
        let at = start + i * time_size;
        Some(if time_size == 8 { i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?) } else { i64::from(be32(b, at)? as i32) })
    };
    let types_at = start + timecnt * time_size + timecnt;
    let utoff = |t: usize| -> Option<i32> { (t < typecnt).then_some(())?; Some(be32(b, types_at + t * 6)? as i32) };
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let kind = *b.get(start + timecnt * time_size + i)? as usize;
        transitions.push((time(i)?, utoff(kind)?));
    }
    let rule = if time_size == 8 {
        let footer = b.get(start + block_len(c, 8)..)?;
        std::str::from_utf8(footer).ok().and_then(|f| f.trim_matches('\n').lines().next().map(str::to_string)).and_then(|f| parse_rule(&f))
    } else {
        None
    };
    Some(Zone { transitions, initial: utoff(0).unwrap_or(0), rule })
}

/// A POSIX TZ string: `std offset [dst [offset] ,start[/time],end[/time]]`.
fn parse_rule(s: &str) -> Option<Rule> {
    let mut rest = s;
    let name = |rest: &mut &str| -> Option<()> {
        if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>')?;
            *rest = &r[end + 1..];
        } else {
            let end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
            (end >= 3).then_some(())?;
            *rest = &rest[end..];
        }
        Some(())
    };
    name(&mut rest)?;
    let (std, r) = hms(rest)?;
    rest = r;
    // POSIX offsets are west of UTC; TZif's are east.
    let std = -(std as i32);
    if rest.is_empty() {
        return Some(Rule { std, dst: None });
    }
    name(&mut rest)?;
    let dst = if rest.starts_with(',') {
        std + 3600
    } else {
        let (o, r) = hms(rest)?;
        rest = r;
        -(o as i32)
    };
    let mut changes = rest.strip_prefix(',')?.split(',');
    let change = |s: &str| -> Option<Change> {
        let (date, time) = match s.split_once('/') {
            Some((d, t)) => (d, hms(t).filter(|(_, r)| r.is_empty())?.0),
            None => (s, 7200),
        };
        let mut parts = date.strip_prefix('M')?.split('.');
        let mut next = || parts.next()?.parse::<u32>().ok();
        let c = Change { month: next()?, week: next()?, weekday: next()?, time };
        ((1..=12).contains(&c.month) && (1..=5).contains(&c.week) && c.weekday <= 6).then_some(c)
    };
    let (start, end) = (change(changes.next()?)?, change(changes.next()?)?);
    Some(Rule { std, dst: Some((dst, start, end)) })
}

/// `[+-]hh[:mm[:ss]]` in seconds, and what follows it.
fn hms(s: &str) -> Option<(i64, &str)> {
    let (sign, s) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let end = s.find(|c: char| !c.is_ascii_digit() && c != ':').unwrap_or(s.len());
    let mut total = 0i64;
    for (i, part) in s[..end].split(':').enumerate() {
        (i < 3).then_some(())?;
        total += part.parse::<i64>().ok()? * [3600, 60, 1][i];
    }
    Some((sign * total, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso: &str) -> Timestamp {
        Timestamp::parse_iso8601(iso).unwrap()
    }

    #[test]
    fn posix_rules_switch_on_the_right_days() {
        let ny = Zone { transitions: Vec::new(), initial: 0, rule: parse_rule("EST5EDT,M3.2.0,M11.1.0") };
        assert_eq!(ny.offset(at("2026-01-15T12:00:00Z")), -5 * 3600);
        assert_eq!(ny.offset(at("2026-07-01T12:00:00Z")), -4 * 3600);
        // 2026-03-08 02:00 EST is 07:00 UTC; 2026-11-01 02:00 EDT is 06:00 UTC.
        assert_eq!(ny.offset(at("2026-03-08T06:59:59Z")), -5 * 3600);
        assert_eq!(ny.offset(at("2026-03-08T07:00:00Z")), -4 * 3600);
        assert_eq!(ny.offset(at("2026-11-01T05:59:59Z")), -4 * 3600);
        assert_eq!(ny.offset(at("2026-11-01T06:00:00Z")), -5 * 3600);
        // Southern hemisphere: daylight time spans the new year.
        let sydney = Zone { transitions: Vec::new(), initial: 0, rule: parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3") };
        assert_eq!(sydney.offset(at("2026-01-10T00:00:00Z")), 11 * 3600);
        assert_eq!(sydney.offset(at("2026-06-10T00:00:00Z")), 10 * 3600);
        let kolkata = parse_rule("IST-5:30").unwrap();
        assert_eq!(kolkata, Rule { std: 5 * 3600 + 1800, dst: None });
        assert_eq!(parse_rule("<+0330>-3:30").unwrap().std, 3 * 3600 + 1800);
    }

    #[test]
    fn names_never_leave_the_zone_directory() {
        assert!(Zone::load("../../etc/passwd").is_none());
        assert!(Zone::load("/etc/localtime").is_none());
        assert!(Zone::load("Not/AZone").is_none());
        assert_eq!(Zone::load("UTC").unwrap().offset(at("2026-07-01T00:00:00Z")), 0);
    }

    #[test]
    fn the_system_database_is_read_when_present() {
        let Some(ny) = Zone::load("America/New_York") else {
            eprintln!("no tz database on this machine: skipped");
            return;
        };
        assert_eq!(ny.offset(at("2026-01-15T12:00:00Z")), -5 * 3600);
        assert_eq!(ny.offset(at("2026-07-01T12:00:00Z")), -4 * 3600);
        assert_eq!(ny.offset(at("2040-07-01T12:00:00Z")), -4 * 3600, "past the listed transitions, the rule goes on");
        assert_eq!(ny.offset(at("1960-07-01T12:00:00Z")), -4 * 3600);
    }
}
