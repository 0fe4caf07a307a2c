//! Table-driven: recorded series, each with what the detector must conclude.

use super::*;
use crate::alerts::Severity;

const MIN: i64 = 60_000;
const NOW: i64 = 1_000 * MIN;

/// One reading every `step` ms, ending at NOW, from `values` (oldest first).
fn series(step: i64, values: &[f64]) -> Vec<Point> {
    let n = values.len() as i64;
    values.iter().enumerate().map(|(i, v)| Point { ts: NOW - (n - 1 - i as i64) * step, value: *v }).collect()
}

fn repeat(v: f64, n: usize) -> Vec<f64> {
    vec![v; n]
}

fn cat(parts: &[Vec<f64>]) -> Vec<f64> {
    parts.concat()
}

struct Case {
    name: &'static str,
    points: Vec<Point>,
    firing: bool,
}

fn run(rule: Rule<'_>, cases: Vec<Case>) {
    for c in cases {
        let v = evaluate(rule, &c.points, NOW);
        assert_eq!(v.firing, c.firing, "{} / {}: {} {}", rule.kind(), c.name, v.summary, v.evidence);
    }
}

#[test]
fn stalled() {
    let rule = StalledRule { for_minutes: 5, min_samples: 3 };
    run(
        Rule::Stalled(&rule),
        vec![
            Case {
                name: "queue depth stuck at 42 for 10 min",
                points: series(MIN, &cat(&[vec![40.0, 41.0], repeat(42.0, 11)])),
                firing: true,
            },
            Case { name: "stuck for exactly 5 min", points: series(MIN, &cat(&[vec![7.0], repeat(42.0, 6)])), firing: true },
            Case { name: "unchanged for only 4 min", points: series(MIN, &cat(&[repeat(40.0, 5), repeat(42.0, 5)])), firing: false },
            Case { name: "flat zero (an empty queue)", points: series(MIN, &repeat(0.0, 20)), firing: false },
            Case { name: "moving", points: series(MIN, &(0..20).map(|i| (i % 5) as f64 + 1.0).collect::<Vec<_>>()), firing: false },
            Case {
                name: "a single spike then unchanged after",
                points: series(MIN, &cat(&[repeat(3.0, 4), vec![90.0], repeat(3.0, 2)])),
                firing: false,
            },
            Case { name: "too few samples (two readings 10 min apart)", points: series(10 * MIN, &[42.0, 42.0]), firing: false },
            Case { name: "no readings", points: vec![], firing: false },
        ],
    );
}

#[test]
fn error_rate() {
    let rule = ErrorRateRule { window_minutes: 15, above_percent: 15.0, min_samples: 10 };
    // 1 = failed run, 0 = healthy run; one run per minute.
    run(
        Rule::ErrorRate(&rule),
        vec![
            Case { name: "4 of 15 failed (27 %)", points: series(MIN, &cat(&[repeat(0.0, 11), repeat(1.0, 4)])), firing: true },
            Case { name: "2 of 15 failed (13 %)", points: series(MIN, &cat(&[repeat(0.0, 13), repeat(1.0, 2)])), firing: false },
            Case { name: "flat zero", points: series(MIN, &repeat(0.0, 30)), firing: false },
            Case { name: "a single failure", points: series(MIN, &cat(&[repeat(0.0, 14), vec![1.0]])), firing: false },
            Case { name: "too few samples, all failed", points: series(MIN, &repeat(1.0, 5)), firing: false },
            Case {
                name: "failures outside the window do not count",
                points: series(MIN, &cat(&[repeat(1.0, 20), repeat(0.0, 14)])),
                firing: false,
            },
        ],
    );
}

#[test]
fn above_normal() {
    let rule = AboveNormalRule { factor: 3.0, baseline_minutes: 60, floor: 5.0, min_samples: 10, sustain: 3 };
    let slow_climb: Vec<f64> = (0..60).map(|i| 10.0 + i as f64 / 6.0).collect();
    run(
        Rule::AboveNormal(&rule),
        vec![
            Case {
                name: "latency jumps from 20 to 100 and stays",
                points: series(MIN, &cat(&[repeat(20.0, 50), repeat(100.0, 3)])),
                firing: true,
            },
            Case { name: "a single spike", points: series(MIN, &cat(&[repeat(20.0, 50), vec![100.0], repeat(20.0, 2)])), firing: false },
            Case { name: "a slow climb from 10 to 20 over an hour", points: series(MIN, &slow_climb), firing: false },
            Case { name: "flat zero", points: series(MIN, &repeat(0.0, 60)), firing: false },
            Case {
                name: "tiny values under the floor (0.1 -> 1.0)",
                points: series(MIN, &cat(&[repeat(0.1, 50), repeat(1.0, 3)])),
                firing: false,
            },
            Case { name: "too few samples for a baseline", points: series(MIN, &cat(&[repeat(20.0, 5), repeat(100.0, 3)])), firing: false },
            Case { name: "only 2.5 x", points: series(MIN, &cat(&[repeat(20.0, 50), repeat(50.0, 3)])), firing: false },
            Case {
                name: "old high values are outside the baseline window",
                points: series(MIN, &cat(&[repeat(500.0, 30), repeat(20.0, 58), repeat(100.0, 3)])),
                firing: true,
            },
        ],
    );
}

#[test]
fn below_normal_catches_a_job_finishing_abnormally_fast() {
    let rule = BelowNormalRule { factor: 3.0, baseline_minutes: 7 * 24 * 60, floor: 1.0, min_samples: 5, sustain: 1 };
    let day = 24 * 60 * MIN;
    run(
        Rule::BelowNormal(&rule),
        vec![
            // Durations in minutes, one per nightly run.
            Case { name: "usually 50 min, tonight 5", points: series(day, &[50.0, 52.0, 48.0, 51.0, 49.0, 5.0]), firing: true },
            Case { name: "usually 50 min, tonight 40", points: series(day, &[50.0, 52.0, 48.0, 51.0, 49.0, 40.0]), firing: false },
            Case { name: "too few runs to know", points: series(day, &[50.0, 52.0, 5.0]), firing: false },
            Case { name: "always near zero: under the floor", points: series(day, &[0.2, 0.3, 0.2, 0.25, 0.2, 0.01]), firing: false },
            Case { name: "flat zero", points: series(day, &repeat(0.0, 7)), firing: false },
        ],
    );
}

#[test]
fn stuck() {
    let rule = StuckRule { older_than_minutes: 30 };
    run(
        Rule::Stuck(&rule),
        vec![
            Case {
                name: "a job in progress for 40 min (progress moving)",
                points: series(MIN, &cat(&[repeat(0.0, 5), (1..=41).map(f64::from).collect()])),
                firing: true,
            },
            Case { name: "in progress for 20 min", points: series(MIN, &cat(&[repeat(0.0, 30), repeat(1.0, 21)])), firing: false },
            Case { name: "flat zero: nothing in progress", points: series(MIN, &repeat(0.0, 60)), firing: false },
            Case {
                name: "jobs that finish between readings",
                points: series(MIN, &(0..60).map(|i| (i % 2) as f64).collect::<Vec<_>>()),
                firing: false,
            },
            Case { name: "finished just now", points: series(MIN, &cat(&[repeat(1.0, 59), vec![0.0]])), firing: false },
        ],
    );
}

#[test]
fn the_evidence_names_values_baseline_and_window() {
    let rule = AboveNormalRule { factor: 3.0, baseline_minutes: 60, floor: 5.0, min_samples: 10, sustain: 3 };
    let v = evaluate(Rule::AboveNormal(&rule), &series(MIN, &cat(&[repeat(20.0, 50), repeat(100.0, 3)])), NOW);
    assert_eq!(v.evidence["baseline_average"], 20.0);
    assert_eq!(v.evidence["baseline_samples"], 50);
    assert_eq!(v.evidence["current"], 100.0);
    assert_eq!(v.evidence["baseline_minutes"], 60);
    assert_eq!(v.evidence["ratio"], 5.0);
    assert_eq!(v.summary, "100 is 5.0 x its normal of 20 (alerts above 3 x)");

    let rule = StalledRule { for_minutes: 5, min_samples: 3 };
    let v = evaluate(Rule::Stalled(&rule), &series(MIN, &cat(&[vec![1.0], repeat(42.0, 8)])), NOW);
    assert_eq!(v.evidence["unchanged_since"], NOW - 7 * MIN);
    assert_eq!(v.evidence["unchanged_minutes"], 7);
    assert_eq!(v.summary, "stuck at 42 for 7 min (should move within 5 min)");

    let rule = BelowNormalRule { factor: 3.0, baseline_minutes: 7 * 24 * 60, floor: 1.0, min_samples: 5, sustain: 1 };
    let v = evaluate(Rule::BelowNormal(&rule), &series(24 * 60 * MIN, &[50.0, 50.0, 50.0, 50.0, 50.0, 5.0]), NOW);
    assert_eq!(v.summary, "5 is 10 x below its normal of 50");
    assert_eq!(v.evidence["ratio"], 0.1);
}

fn parse(toml: &str) -> Vec<String> {
    match crate::Config::from_toml_str(toml) {
        Ok(_) => Vec::new(),
        Err(issues) => issues.iter().map(|i| i.to_string()).collect(),
    }
}

#[test]
fn config_is_validated_with_the_field_named() {
    let check =
        "[[checks.list]]\nname = \"Queue\"\njson_value = { url = \"http://127.0.0.1:1/\", pointer = \"/depth\", warning_above = 100 }\n";
    let ok = format!("{check}[[detectors]]\nname = \"Queue stalled\"\ncheck = {{ name = \"Queue\" }}\nstalled = {{}}\n");
    assert_eq!(parse(&ok), Vec::<String>::new());
    let cfg = crate::Config::from_toml_str(&ok).unwrap();
    assert_eq!(cfg.detectors[0].stalled, Some(StalledRule { for_minutes: 5, min_samples: 3 }), "defaults");
    assert_eq!(cfg.detectors[0].check.as_ref().map(|c| c.field), Some(CheckField::Value));

    let cases = [
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"cpu_usage_percent\" }\n", "detectors[0]: needs exactly one rule"),
        ("[[detectors]]\nname = \"x\"\nstuck = {}\n", "detectors[0]: needs exactly one source"),
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"cpu_usage_percent\" }\nstuck = {}\nstalled = {}\n", "detectors[0]: needs exactly one rule"),
        ("[[detectors]]\nname = \"x\"\ncheck = { name = \"Nope\" }\nstuck = {}\n", "detectors[0].check.name: there is no check named \"Nope\""),
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"m\" }\nabove_normal = { factor = 0.5 }\n", "detectors[0].above_normal.factor: must be above 1"),
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"m\" }\nabove_normal = { facter = 3 }\n", "detectors[0].above_normal.facter: unknown field `facter`"),
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"m\" }\nstalled = { for_minutes = 0 }\n", "detectors[0].stalled.for_minutes: must be between 1 and"),
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"m\" }\nerror_rate = {}\n", "detectors[0].error_rate: counts failed runs of a check"),
        ("[[detectors]]\nname = \"x\"\nmetric = { name = \"m\" }\nstuck = {}\n[[detectors]]\nname = \"X\"\nlogs = {}\nabove_normal = {}\n", "detectors[1].name: \"X\" is used by another detector"),
        ("[[detectors]]\nname = \"x\"\nlogs = { min_level = \"loud\" }\nstuck = {}\n", "detectors[0].logs.min_level: unknown variant `loud`"),
        ("[metrics]\nraw_retention_hours = 1\n[[detectors]]\nname = \"x\"\nmetric = { name = \"m\" }\nabove_normal = { baseline_minutes = 120 }\n", "detectors[0].above_normal: looks back 120 min, but raw metric samples are kept 60 min"),
    ];
    for (toml, want) in cases {
        let got = parse(toml);
        assert!(got.iter().any(|t| t.starts_with(want)), "{toml:?}: wanted {want:?}, got {got:?}");
    }
}

#[test]
fn every_kind_of_series_is_read_back_from_its_table() {
    use crate::metrics::{store::write_points, store::SeriesCache, SeriesPoint};
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open_and_migrate(&dir.path().join("t.db")).unwrap();
    let cfg = |toml: &str| -> DetectorConfig { toml::from_str(&format!("name = \"d\"\n{toml}\nstuck = {{}}\n")).unwrap() };

    // A host metric, by name and labels.
    let mut cache = SeriesCache::default();
    for (i, v) in [10.0, 11.0, 12.0].iter().enumerate() {
        let p = |labels: &str, value: f64| SeriesPoint {
            metric: "disk_used_percent".into(),
            labels: labels.into(),
            unit: "percent".into(),
            value,
        };
        write_points(&conn, &mut cache, NOW - (2 - i as i64) * MIN, &[p("mount=/", *v), p("mount=/data", 99.0)]).unwrap();
    }
    let got = read_series(&conn, &cfg("metric = { name = \"disk_used_percent\", labels = \"mount=/\" }"), NOW - 10 * MIN, NOW).unwrap();
    assert_eq!(got.iter().map(|p| p.value).collect::<Vec<_>>(), vec![10.0, 11.0, 12.0]);
    assert_eq!(got[0].ts, NOW - 2 * MIN);

    // A check: the value it read (runs without one are skipped), its latency, whether it failed.
    for (i, (status, value)) in [("healthy", Some(5.0)), ("down", None), ("degraded", Some(7.0))].iter().enumerate() {
        let details = value.map_or(serde_json::json!({}), |v| serde_json::json!({ "value": v }));
        conn.execute(
            "INSERT INTO service_health_checks (service_name, status, latency_ms, checked_at, probe_details, created_at) VALUES ('Q', ?1, ?2, ?3, ?4, ?3)",
            rusqlite::params![status, 10.0 * (i + 1) as f64, NOW - (2 - i as i64) * MIN, details.to_string()],
        )
        .unwrap();
    }
    let values = |field: &str| -> Vec<f64> {
        read_series(&conn, &cfg(&format!("check = {{ name = \"Q\", field = \"{field}\" }}")), NOW - 10 * MIN, NOW)
            .unwrap()
            .iter()
            .map(|p| p.value)
            .collect()
    };
    assert_eq!(values("value"), vec![5.0, 7.0]);
    assert_eq!(values("latency_ms"), vec![10.0, 20.0, 30.0]);
    assert_eq!(values("failed"), vec![0.0, 1.0, 1.0]);

    // Log lines at or above a level, per whole minute, quiet minutes as zeros.
    let line = |ts_ms: i64, level| crate::logs::LogLine {
        id: 0,
        ts_ms,
        level,
        target: "t".into(),
        message: "m".into(),
        fields: serde_json::json!({}),
    };
    let mut lines = vec![
        line(NOW - 3 * MIN + 1, crate::logs::LogLevel::Error),
        line(NOW - 3 * MIN + 2, crate::logs::LogLevel::Error),
        line(NOW - 3 * MIN + 3, crate::logs::LogLevel::Info),
        line(NOW - MIN + 5, crate::logs::LogLevel::Error),
        line(NOW + 1, crate::logs::LogLevel::Error),
    ];
    crate::logs::insert_batch(&conn, &mut lines).unwrap();
    let got = read_series(&conn, &cfg("logs = { min_level = \"error\" }"), NOW - 4 * MIN, NOW).unwrap();
    assert_eq!(got.iter().map(|p| p.value).collect::<Vec<_>>(), vec![0.0, 2.0, 0.0, 1.0], "{got:?}");
}

#[test]
fn the_readme_example_is_a_valid_detector() {
    let readme = include_str!("../../../../README.md");
    let section = &readme[readme.find("**Detectors**").expect("README section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let check = "[[checks.list]]\nname = \"Queue depth\"\njson_value = { url = \"http://127.0.0.1:8080/stats\", pointer = \"/depth\", warning_above = 100 }\n";
    let cfg = crate::Config::from_toml_str(&format!("{check}{block}")).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(cfg.detectors[0].name, "Queue not moving");
    assert_eq!(cfg.detectors[0].severity, Severity::Critical);
    assert_eq!(cfg.detectors[0].rule().map(|r| r.kind()), Some("stalled"));
}
