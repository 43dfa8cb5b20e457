//! Numbers and times in words people read: byte sizes (`2.0 GB`) and times relative to now
//! (`3 days ago`, `4 minutes from now`), worded the way the `ollama` command words them.

use time::OffsetDateTime;

/// A size in bytes with a decimal unit (1 KB = 1000 bytes), as `ollama list` shows it: one
/// decimal below 10 units unless the value is whole (`2.0 GB`, `5.2 GB`, `3 GB`), none from
/// 10 up (`274 MB`), and plain bytes below 1 KB (`96 B`).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000, "TB"),
        (1_000_000_000, "GB"),
        (1_000_000, "MB"),
        (1_000, "KB"),
    ];
    let Some(&(scale, unit)) = UNITS.iter().find(|(scale, _)| n >= *scale) else {
        return format!("{n} B");
    };
    #[allow(
        clippy::cast_precision_loss,
        reason = "precision loss above 2^53 bytes (9 PB) does not matter for one decimal"
    )]
    let value = n as f64 / scale as f64;
    if value >= 10.0 || value.fract() == 0.0 {
        format!("{} {unit}", value.trunc())
    } else {
        // Rounded to one decimal, 9.96 would read "10.0": keep Go's "%.1f" behaviour.
        format!("{value:.1} {unit}")
    }
}

/// `then` relative to `now`: `3 days ago`, `About an hour from now`; `Forever` for more than
/// 20 years ahead (a model kept loaded for good expires centuries from now).
pub(crate) fn relative_time(then: OffsetDateTime, now: OffsetDateTime) -> String {
    let delta = now - then;
    let seconds = delta.as_seconds_f64();
    if seconds < -20.0 * YEAR {
        "Forever".to_owned()
    } else if seconds < 0.0 {
        format!("{} from now", duration_words(-seconds))
    } else {
        format!("{} ago", duration_words(seconds))
    }
}

const MINUTE: f64 = 60.0;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;
const YEAR: f64 = 365.0 * DAY;

/// A non-negative number of seconds in words, with Ollama's (Docker's) thresholds:
/// seconds up to a minute, minutes up to an hour, hours up to two days, days up to two
/// weeks, weeks up to two months, months up to two years, then years.
fn duration_words(seconds: f64) -> String {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "truncation is what Go's int(d.Seconds()) does; `as` saturates, never panics"
    )]
    let whole = |unit: f64| (seconds / unit) as i64;
    let secs = whole(1.0);
    if secs < 1 {
        return "Less than a second".to_owned();
    }
    if secs == 1 {
        return "1 second".to_owned();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = whole(MINUTE);
    if minutes == 1 {
        return "About a minute".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Hours are rounded, not truncated (Go's math.Round(d.Hours())).
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a rounded f64 of hours; `as` saturates, never panics"
    )]
    let hours = (seconds / HOUR).round() as i64;
    if hours == 1 {
        "About an hour".to_owned()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", whole(YEAR))
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    #[test]
    fn bytes_use_decimal_units_like_ollama() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(96), "96 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_000), "1 KB");
        assert_eq!(bytes(1_429), "1.4 KB");
        assert_eq!(bytes(274_302_450), "274 MB");
        assert_eq!(bytes(2_019_393_189), "2.0 GB");
        assert_eq!(bytes(5_225_387_923), "5.2 GB");
        assert_eq!(bytes(3_000_000_000), "3 GB");
        assert_eq!(bytes(9_990_000_000), "10.0 GB");
        assert_eq!(bytes(12_700_000_000), "12 GB");
        assert_eq!(bytes(1_500_000_000_000), "1.5 TB");
        assert_eq!(bytes(u64::MAX), "18446744 TB");
    }

    fn ago(d: Duration) -> String {
        let now = OffsetDateTime::from_unix_timestamp(1_787_150_043).unwrap();
        relative_time(now - d, now)
    }

    #[test]
    fn past_times_read_as_ago() {
        assert_eq!(ago(Duration::ZERO), "Less than a second ago");
        assert_eq!(ago(Duration::milliseconds(999)), "Less than a second ago");
        assert_eq!(ago(Duration::seconds(1)), "1 second ago");
        assert_eq!(ago(Duration::seconds(59)), "59 seconds ago");
        assert_eq!(ago(Duration::seconds(60)), "About a minute ago");
        assert_eq!(ago(Duration::seconds(119)), "About a minute ago");
        assert_eq!(ago(Duration::minutes(2)), "2 minutes ago");
        assert_eq!(ago(Duration::minutes(59)), "59 minutes ago");
        assert_eq!(ago(Duration::minutes(60)), "About an hour ago");
        assert_eq!(ago(Duration::minutes(89)), "About an hour ago");
        assert_eq!(ago(Duration::minutes(90)), "2 hours ago");
        assert_eq!(ago(Duration::hours(47)), "47 hours ago");
        assert_eq!(ago(Duration::hours(48)), "2 days ago");
        assert_eq!(ago(Duration::days(3)), "3 days ago");
        assert_eq!(ago(Duration::days(13)), "13 days ago");
        assert_eq!(ago(Duration::days(14)), "2 weeks ago");
        assert_eq!(ago(Duration::days(59)), "8 weeks ago");
        assert_eq!(ago(Duration::days(60)), "2 months ago");
        assert_eq!(ago(Duration::days(729)), "24 months ago");
        assert_eq!(ago(Duration::days(730)), "2 years ago");
    }

    #[test]
    fn future_times_read_as_from_now_and_far_ones_as_forever() {
        assert_eq!(ago(-Duration::minutes(4)), "4 minutes from now");
        assert_eq!(ago(-Duration::seconds(30)), "30 seconds from now");
        assert_eq!(ago(-Duration::days(365 * 19)), "19 years from now");
        assert_eq!(ago(-Duration::days(365 * 292)), "Forever");
    }

    #[test]
    fn the_offset_of_a_timestamp_does_not_change_the_distance() {
        use time::UtcOffset;
        let now = OffsetDateTime::from_unix_timestamp(1_787_150_043).unwrap();
        let then = (now - Duration::days(3)).to_offset(UtcOffset::from_hms(-7, 0, 0).unwrap());
        assert_eq!(relative_time(then, now), "3 days ago");
    }
}
