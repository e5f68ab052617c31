//! Cron recurrences of scheduled actions (`minute hour day-of-month month day-of-week`,
//! on the wall clock of the action's time zone, UTC by default): `*`, numbers, lists,
//! ranges and steps, as the Unix cron format AWS takes.

use nubo_core::tz::Zone;
use nubo_core::Timestamp;

fn field(spec: &str, lo: u32, hi: u32) -> Option<Vec<bool>> {
    let mut set = vec![false; (hi + 1) as usize];
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().ok()?, b.parse().ok()?)
        } else {
            let v: u32 = range.parse().ok()?;
            (v, if part.contains('/') { hi } else { v })
        };
        if a < lo || b > hi || a > b {
            return None;
        }
        let mut v = a;
        while v <= b {
            set[v as usize] = true;
            v += step;
        }
    }
    Some(set)
}

pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    any_day: bool,
    any_weekday: bool,
}

impl Cron {
    pub fn parse(s: &str) -> Option<Cron> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        let [m, h, d, mo, w] = parts.as_slice() else { return None };
        let mut weekdays = field(&w.replace('7', "0"), 0, 6)?;
        weekdays.truncate(7);
        Some(Cron { minutes: field(m, 0, 59)?, hours: field(h, 0, 23)?, days: field(d, 1, 31)?, months: field(mo, 1, 12)?, weekdays, any_day: *d == "*", any_weekday: *w == "*" })
    }

    /// Whether a local wall-clock time (as if it were UTC) matches.
    fn matches(&self, local: Timestamp) -> bool {
        let (_, month, day, hour, minute, weekday) = civil(local);
        let day_ok = match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (false, true) => self.days[day as usize],
            (true, false) => self.weekdays[weekday as usize],
            // Both restricted: either matches, as cron does.
            (false, false) => self.days[day as usize] || self.weekdays[weekday as usize],
        };
        self.minutes[minute as usize] && self.hours[hour as usize] && self.months[month as usize] && day_ok
    }

    /// The first minute strictly after `after` whose wall-clock time in `zone` matches
    /// (within five years).
    pub fn next(&self, after: Timestamp, zone: &Zone) -> Option<Timestamp> {
        let mut t = after.as_millis() - after.as_millis().rem_euclid(60_000) + 60_000;
        for _ in 0..(5 * 366 * 24 * 60) {
            let local = t + zone.offset(Timestamp::from_millis(t)) * 1000;
            if self.matches(Timestamp::from_millis(local)) {
                return Some(Timestamp::from_millis(t));
            }
            // Skip whole hours and days that cannot match.
            let (_, month, day, hour, _, weekday) = civil(Timestamp::from_millis(local));
            let day_ok = self.months[month as usize] && (self.any_day && self.any_weekday || self.days[day as usize] && !self.any_day || self.weekdays[weekday as usize] && !self.any_weekday);
            t += if !day_ok { 86_400_000 - local.rem_euclid(86_400_000) } else if !self.hours[hour as usize] { 3_600_000 - local.rem_euclid(3_600_000) } else { 60_000 };
        }
        None
    }
}

/// (year, month, day, hour, minute, weekday with Sunday = 0) of a UTC time.
fn civil(t: Timestamp) -> (i64, u32, u32, u32, u32, u32) {
    let secs = t.as_secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = nubo_core::time::civil_from_days(days);
    let weekday = (days + 4).rem_euclid(7) as u32;
    (year, month, day, (rem / 3600) as u32, ((rem % 3600) / 60) as u32, weekday)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Cron {
        fn next_utc(&self, after: Timestamp) -> Option<Timestamp> {
            self.next(after, &Zone::load("UTC").unwrap())
        }
    }

    #[test]
    fn times_are_wall_clock_times_of_the_zone() {
        let Some(ny) = Zone::load("America/New_York") else {
            eprintln!("no tz database on this machine: skipped");
            return;
        };
        let nine = Cron::parse("0 9 * * *").unwrap();
        // 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
        assert_eq!(nine.next(at("2026-01-15T00:00:00Z"), &ny), Some(at("2026-01-15T14:00:00Z")));
        assert_eq!(nine.next(at("2026-07-15T00:00:00Z"), &ny), Some(at("2026-07-15T13:00:00Z")));
    }

    fn at(iso: &str) -> Timestamp {
        Timestamp::parse_iso8601(iso).unwrap()
    }

    #[test]
    fn next_runs_follow_the_fields() {
        let every_day_at_nine = Cron::parse("0 9 * * *").unwrap();
        assert_eq!(every_day_at_nine.next_utc(at("2026-11-23T08:59:00Z")), Some(at("2026-11-23T09:00:00Z")));
        assert_eq!(every_day_at_nine.next_utc(at("2026-11-23T09:00:00Z")), Some(at("2026-11-24T09:00:00Z")));
        let weekdays = Cron::parse("30 18 * * 1-5").unwrap();
        // 2026-11-28 is a Saturday: the next weekday evening is Monday the 30th.
        assert_eq!(weekdays.next_utc(at("2026-11-27T19:00:00Z")), Some(at("2026-11-30T18:30:00Z")));
        let quarter = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(quarter.next_utc(at("2026-11-23T10:01:00Z")), Some(at("2026-11-23T10:15:00Z")));
        assert!(Cron::parse("61 * * * *").is_none());
        assert!(Cron::parse("* * *").is_none());
    }
}
