//! UTC calendar parts for MINUTE, HOUR, DAY, DATE, MONTH, YEAR and EPOCH, done by hand
//! because the module may only use std.

const DAY_MS: i64 = 86_400_000;

/// The value the named function gives for a timestamp (ms since epoch, UTC).
/// DAY is the ISO weekday, Monday = 1 … Sunday = 7, as the AWS blog on these functions states.
pub(crate) fn part(func: &str, ts: i64) -> f64 {
    let days = ts.div_euclid(DAY_MS);
    let ms = ts.rem_euclid(DAY_MS);
    let (y, m, d) = civil(days);
    match func {
        "MINUTE" => ((ms / 60_000) % 60) as f64,
        "HOUR" => (ms / 3_600_000) as f64,
        "DAY" => ((days + 3).rem_euclid(7) + 1) as f64,
        "DATE" => d as f64,
        "MONTH" => m as f64,
        "YEAR" => y as f64,
        _ => ts.div_euclid(1000) as f64, // EPOCH: seconds
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
