//! RFC 3339 timestamps in UTC, formatted the way Go's `time` package does, for state files and logs.

use std::time::{SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: u32 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A point in time broken down into UTC calendar fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

/// Splits a `SystemTime` into whole seconds since the epoch (floored, so
/// negative for times before 1970) plus a non-negative nanosecond part.
fn unix_parts(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (saturating_secs(d.as_secs()), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let secs = -saturating_secs(d.as_secs());
            // Flooring keeps the fraction positive, which is what the
            // calendar maths and the printed fraction both expect.
            match d.subsec_nanos() {
                0 => (secs, 0),
                n => (secs - 1, NANOS_PER_SEC - n),
            }
        }
    }
}

fn saturating_secs(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Converts a day count relative to 1970-01-01 into (year, month, day) in the
/// proleptic Gregorian calendar.
///
/// This is Howard Hinnant's `civil_from_days`: shifting the year to start on
/// March 1st puts the leap day at the very end, so month lengths follow a
/// simple linear pattern and no per-month table is needed.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097); // 400-year cycles
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based month
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both values are bounded by the ranges above, so the casts are lossless.
    (year, month as u32, day as u32)
}

fn to_civil(t: SystemTime) -> Civil {
    let (secs, nanos) = unix_parts(t);
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY) as u32; // < 86400
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: sod / 3_600,
        minute: sod / 60 % 60,
        second: sod % 60,
        nanos,
    }
}

fn date_time(c: &Civil) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Formats `t` like Go's `time.RFC3339Nano` in UTC:
/// `2026-11-27T02:22:12.123456789Z`. Trailing zeros of the fraction are
/// trimmed and a zero fraction is omitted entirely, which is what consumers
/// of runc's `state` output are used to.
pub fn rfc3339_nano(t: SystemTime) -> String {
    let c = to_civil(t);
    let mut out = date_time(&c);
    if c.nanos != 0 {
        let frac = format!("{:09}", c.nanos);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Formats `t` like Go's `time.RFC3339` in UTC: `2026-11-27T02:22:12Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let mut out = date_time(&to_civil(t));
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn epoch() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn known_dates() {
        // Values cross-checked with `date -u -d @N`.
        assert_eq!(rfc3339(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(951_868_799, 0)), "2000-02-29T23:59:59Z");
        assert_eq!(rfc3339(at(951_868_800, 0)), "2000-03-01T00:00:00Z");
        assert_eq!(rfc3339(at(1_795_746_132, 0)), "2026-11-27T02:22:12Z");
        assert_eq!(rfc3339(at(1_709_164_800, 0)), "2024-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(1_735_689_599, 0)), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(1_735_689_600, 0)), "2025-01-01T00:00:00Z");
        // 2100 is not a leap year: Feb 28 is followed by Mar 1.
        assert_eq!(rfc3339(at(4_107_456_000, 0)), "2100-02-28T00:00:00Z");
        assert_eq!(rfc3339(at(4_107_542_400, 0)), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(at(2_147_483_647, 0)), "2038-01-19T03:14:07Z");
        assert_eq!(rfc3339(at(253_402_300_799, 0)), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn nano_fraction_is_trimmed() {
        let base = 1_795_746_132;
        assert_eq!(
            rfc3339_nano(at(base, 123_456_789)),
            "2026-11-27T02:22:12.123456789Z"
        );
        assert_eq!(
            rfc3339_nano(at(base, 120_000_000)),
            "2026-11-27T02:22:12.12Z"
        );
        assert_eq!(rfc3339_nano(at(base, 1)), "2026-11-27T02:22:12.000000001Z");
        assert_eq!(
            rfc3339_nano(at(base, 500_000_000)),
            "2026-11-27T02:22:12.5Z"
        );
        assert_eq!(rfc3339_nano(at(base, 0)), "2026-11-27T02:22:12Z");
    }

    #[test]
    fn seconds_precision_truncates() {
        assert_eq!(
            rfc3339(at(1_795_746_132, 999_999_999)),
            "2026-11-27T02:22:12Z"
        );
    }

    #[test]
    fn before_epoch() {
        let t = UNIX_EPOCH - Duration::new(1, 0);
        assert_eq!(rfc3339(t), "1969-12-31T23:59:59Z");
        let t = UNIX_EPOCH - Duration::new(0, 250_000_000);
        assert_eq!(rfc3339_nano(t), "1969-12-31T23:59:59.75Z");
        // 1900 is not a leap year either.
        let t = UNIX_EPOCH - Duration::new(2_203_891_200, 0);
        assert_eq!(rfc3339(t), "1900-03-01T00:00:00Z");
    }

    #[test]
    fn civil_round_trip_every_day() {
        // Walk day by day across several 400-year cycles and check that the
        // date always advances by exactly one calendar day.
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mut prev = civil_from_days(-800_000);
        for d in -799_999..800_000 {
            let cur = civil_from_days(d);
            let (py, pm, pd) = prev;
            let month_len = match pm {
                2 if leap(py) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if pd < month_len {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!(cur, expected, "day {d}");
            prev = cur;
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
