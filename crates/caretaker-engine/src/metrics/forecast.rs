//! "Disk full in N days": a robust trend of each disk's used bytes over the hour rollups of the
//! last week. Theil–Sen (the median of the slopes between every pair of hours) shrugs off a big
//! download deleted the next day, which a least-squares line would follow; a forecast is only
//! made when most pairs agree the disk is filling, so a flat or noisy disk never forecasts.

use crate::error::Result;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How far back the trend looks.
pub const WINDOW_MS: i64 = 7 * 86_400_000;
/// The least history a forecast is made from: a day, in at least this many hours.
const MIN_SPAN_MS: i64 = 86_400_000;
const MIN_HOURS: usize = 12;
/// The share of pairs of hours that must see growth for the trend to count.
const AGREEMENT: f64 = 0.6;
const DAY_MS: f64 = 86_400_000.0;

/// One disk's trend, as the Overview shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DiskForecast {
    pub mount_point: String,
    pub used_bytes: u64,
    pub total_bytes: u64,
    /// Bytes a day the trend adds (negative: the disk empties); None before a day of history.
    pub growth_bytes_per_day: Option<f64>,
    /// Days until full at that pace; None when it is not filling (or not clearly).
    pub days_to_full: Option<f64>,
    /// Hours of history the trend was made from.
    pub hours: u32,
}

/// The Theil–Sen slope of `points` (x, y) and the share of pairs that rise. None for fewer than
/// two distinct x.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let mut slopes = Vec::with_capacity(points.len() * points.len() / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dx = b.0 - a.0;
            if dx != 0.0 {
                slopes.push((b.1 - a.1) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    let rising = slopes.iter().filter(|s| **s > 0.0).count() as f64 / slopes.len() as f64;
    slopes.sort_by(|a, b| a.total_cmp(b));
    let mid = slopes.len() / 2;
    let median = if slopes.len() % 2 == 0 { (slopes[mid - 1] + slopes[mid]) / 2.0 } else { slopes[mid] };
    Some((median, rising))
}

/// The forecast for one disk from its hourly means `(hour start ms, used bytes)`.
pub fn forecast(mount_point: &str, used_bytes: u64, total_bytes: u64, hourly: &[(i64, f64)]) -> DiskForecast {
    let mut f = DiskForecast {
        mount_point: mount_point.to_string(),
        used_bytes,
        total_bytes,
        growth_bytes_per_day: None,
        days_to_full: None,
        hours: hourly.len() as u32,
    };
    let span = match (hourly.first(), hourly.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => 0,
    };
    if hourly.len() < MIN_HOURS || span < MIN_SPAN_MS {
        return f;
    }
    let points: Vec<(f64, f64)> = hourly.iter().map(|(t, v)| (*t as f64 / DAY_MS, *v)).collect();
    let Some((per_day, rising)) = theil_sen(&points) else { return f };
    f.growth_bytes_per_day = Some(per_day);
    if per_day > 0.0 && rising >= AGREEMENT {
        f.days_to_full = Some(total_bytes.saturating_sub(used_bytes) as f64 / per_day);
    }
    f
}

/// The hourly means of `disk_used_bytes` for `mount_point` since `since_ms`, oldest first.
pub fn read_hourly(c: &Connection, mount_point: &str, since_ms: i64) -> Result<Vec<(i64, f64)>> {
    let mut st = c.prepare_cached(
        "SELECT r.ts, r.sum / r.count FROM rollup_hour r JOIN series s ON s.id = r.series_id
         WHERE s.metric = 'disk_used_bytes' AND s.labels = ?1 AND r.ts >= ?2 AND r.count > 0 ORDER BY r.ts",
    )?;
    let rows = st.query_map(params![format!("mount={mount_point}"), since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// "in about 9 days", "in about 5 hours".
pub fn in_words(days: f64) -> String {
    if days < 1.0 {
        format!("in about {} hours", (days * 24.0).round().max(1.0))
    } else {
        format!("in about {} days", days.round())
    }
}

/// Bytes as "3.2 GiB", the units the app shows.
pub fn bytes(b: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b.abs();
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{}{:.1} {}", if b < 0.0 { "-" } else { "" }, v, units[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: f64 = 1e9;
    const H: i64 = 3_600_000;

    fn hours(n: i64, f: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..n).map(|i| (i * H, f(i))).collect()
    }

    #[test]
    fn a_steady_fill_forecasts_when_it_is_full() {
        // 2 GB a day, 100 GB free.
        let h = hours(72, |i| 400.0 * GB + 2.0 * GB * i as f64 / 24.0);
        let f = forecast("/", 400_000_000_000, 500_000_000_000, &h);
        assert!((f.growth_bytes_per_day.unwrap() - 2.0 * GB).abs() < 1e6, "{f:?}");
        assert!((f.days_to_full.unwrap() - 50.0).abs() < 0.01, "{f:?}");
        assert_eq!(in_words(f.days_to_full.unwrap()), "in about 50 days");
    }

    #[test]
    fn one_big_download_deleted_the_next_day_does_not_move_the_trend() {
        // Flat at 300 GB, with 80 GB for 10 hours on the second day.
        let h = hours(96, |i| if (30..40).contains(&i) { 380.0 * GB } else { 300.0 * GB });
        let f = forecast("/", 300_000_000_000, 500_000_000_000, &h);
        assert_eq!(f.growth_bytes_per_day, Some(0.0));
        assert_eq!(f.days_to_full, None, "a least-squares line would have said otherwise");
    }

    #[test]
    fn no_forecast_from_too_little_history_or_an_emptying_disk() {
        let short = hours(20, |i| GB * i as f64);
        assert_eq!(forecast("/", 0, 1, &short).growth_bytes_per_day, None, "less than a day");
        let emptying = hours(48, |i| 400.0 * GB - GB * i as f64);
        let f = forecast("/", 352_000_000_000, 500_000_000_000, &emptying);
        assert!(f.growth_bytes_per_day.unwrap() < 0.0 && f.days_to_full.is_none(), "{f:?}");
        // Noise around a flat line: as many pairs fall as rise.
        let noisy = hours(48, |i| 300.0 * GB + if i % 2 == 0 { GB } else { -GB });
        assert_eq!(forecast("/", 300_000_000_000, 500_000_000_000, &noisy).days_to_full, None);
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0 * 1024.0), "3.5 GiB");
        assert_eq!(in_words(0.2), "in about 5 hours");
    }
}
