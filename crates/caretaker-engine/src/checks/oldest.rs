//! The age of the oldest item in progress, as a json_value check reports it: the input of a
//! `stuck` detector that asks "how long has the oldest job waited" instead of "has the queue
//! been non-empty for a while" (a queue that is always busy but moving is not stuck).

use serde_json::Value;

/// Below this a number is an age in seconds (about 31 years); from it on, a Unix time.
const UNIX_SECONDS_FROM: f64 = 1e9;
/// From here on a Unix time is in milliseconds (the year 2001 in ms; 33 000 years in seconds).
const UNIX_MILLIS_FROM: f64 = 1e12;

/// Seconds since the oldest item in progress started, at `now_ms`, from what a response holds at
/// the pointer: an RFC 3339 time, a Unix time in seconds or milliseconds, or an age in seconds.
/// Null means nothing is in progress (0). Missing or anything else: why it cannot be read.
pub(crate) fn age_secs(found: Option<&Value>, now_ms: i64) -> Result<f64, String> {
    let since = |started_ms: f64| ((now_ms as f64 - started_ms) / 1000.0).max(0.0);
    match found {
        None => Err("the response has nothing there".into()),
        Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v >= UNIX_MILLIS_FROM => Ok(since(v)),
            Some(v) if v.is_finite() && v >= UNIX_SECONDS_FROM => Ok(since(v * 1000.0)),
            Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(format!("{n} is neither a time nor an age in seconds")),
        },
        Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => Ok(since(t.timestamp_millis() as f64)),
            Err(_) => match s.trim().parse::<f64>() {
                Ok(v) => age_secs(Some(&serde_json::json!(v)), now_ms),
                Err(_) => Err(format!("{s:?} is neither an RFC 3339 time nor a number")),
            },
        },
        Some(other) => Err(format!("expected a time or an age in seconds, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn times_ages_and_nothing_in_progress_are_read() {
        assert_eq!(age_secs(Some(&json!("2025-12-31T23:15:00Z")), NOW), Ok(2700.0));
        assert_eq!(age_secs(Some(&json!("2026-01-01T00:15:00+00:30")), NOW), Ok(900.0));
        assert_eq!(age_secs(Some(&json!(1_767_225_000)), NOW), Ok(600.0), "Unix seconds");
        assert_eq!(age_secs(Some(&json!(1_767_225_540_000_i64)), NOW), Ok(60.0), "Unix milliseconds");
        assert_eq!(age_secs(Some(&json!(125.5)), NOW), Ok(125.5), "an age in seconds");
        assert_eq!(age_secs(Some(&json!("42")), NOW), Ok(42.0));
        assert_eq!(age_secs(Some(&Value::Null), NOW), Ok(0.0), "null: nothing in progress");
        assert_eq!(age_secs(Some(&json!("2026-01-01T00:05:00Z")), NOW), Ok(0.0), "a clock ahead is not a negative age");
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        assert_eq!(age_secs(None, NOW), Err("the response has nothing there".into()));
        assert_eq!(age_secs(Some(&json!(-5)), NOW), Err("-5 is neither a time nor an age in seconds".into()));
        assert_eq!(age_secs(Some(&json!("yesterday")), NOW), Err("\"yesterday\" is neither an RFC 3339 time nor a number".into()));
        assert!(age_secs(Some(&json!([1])), NOW).unwrap_err().starts_with("expected a time or an age"));
    }
}
