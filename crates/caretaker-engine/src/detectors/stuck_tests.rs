//! `stuck` over the age of the oldest item in progress, against a recorded day of a job queue:
//! one that is always busy but keeps moving, and one whose worker hangs on a job.

use super::*;

const MIN: i64 = 60_000;
const NOW: i64 = 1_000 * MIN;
/// Minutes recorded, one reading a minute.
const SPAN: i64 = 150;

/// How long the job that arrives at minute `a` takes: 2 to 9 minutes, or forever for the hung one.
fn duration(a: i64, hung: Option<i64>) -> i64 {
    if Some(a) == hung {
        i64::MAX / 4
    } else {
        (a * 7) % 8 + 2
    }
}

/// One job arrives every minute; each reading holds the jobs in progress and the oldest one's
/// age in seconds (0 when none), as a json_value check with an `oldest_pointer` records them.
fn record(hung: Option<i64>) -> Vec<(i64, f64, f64)> {
    (0..=SPAN)
        .map(|t| {
            let running: Vec<i64> = (0..=t).filter(|a| t < a + duration(*a, hung)).collect();
            let oldest = running.first().map_or(0.0, |a| ((t - a) * 60) as f64);
            (NOW - (SPAN - t) * MIN, running.len() as f64, oldest)
        })
        .collect()
}

/// The detector's verdict at every minute, over what had been recorded by then.
fn verdicts(rule: Rule<'_>, points: &[Point]) -> Vec<Verdict> {
    (0..points.len()).map(|i| evaluate(rule, &points[..=i], points[i].ts)).collect()
}

fn detector(field: &str) -> DetectorConfig {
    toml::from_str(&format!("name = \"Jobs\"\ncheck = {{ name = \"Jobs\", field = \"{field}\" }}\nstuck = {{ older_than_minutes = 30 }}\n"))
        .unwrap()
}

fn stored(conn: &rusqlite::Connection, rows: &[(i64, f64, f64)]) {
    conn.execute("DELETE FROM service_health_checks", []).unwrap();
    for (ts, depth, age) in rows {
        let details = serde_json::json!({ "value": depth, "oldest_age_secs": age });
        conn.execute(
            "INSERT INTO service_health_checks (service_name, status, latency_ms, checked_at, probe_details, created_at) VALUES ('Jobs', 'healthy', 5.0, ?1, ?2, ?1)",
            rusqlite::params![ts, details.to_string()],
        )
        .unwrap();
    }
}

#[test]
fn a_busy_queue_that_moves_is_not_stuck_and_a_hung_job_is() {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open_and_migrate(&dir.path().join("t.db")).unwrap();
    let by_age = detector("oldest_age_secs");
    let by_depth = detector("value");
    assert!(matches!(by_age.rule(), Some(Rule::StuckOldest(_))));
    assert_eq!(by_age.rule().map(|r| r.kind()), Some("stuck"));
    let read = |d: &DetectorConfig| read_series(&conn, d, NOW - SPAN * MIN - 1, NOW).unwrap();

    // Always busy, always moving: never an empty minute in 150, no job older than 9 minutes.
    let moving = record(None);
    assert!(moving.iter().skip(1).all(|(_, depth, _)| *depth > 0.0));
    stored(&conn, &moving);
    let by_value = verdicts(by_depth.rule().unwrap(), &read(&by_depth));
    assert!(by_value.last().unwrap().firing, "the old form cries wolf: {}", by_value.last().unwrap().summary);
    let ages = verdicts(by_age.rule().unwrap(), &read(&by_age));
    assert_eq!(ages.len(), moving.len());
    assert!(ages.iter().all(|v| !v.firing), "{:?}", ages.iter().find(|v| v.firing));
    assert!(ages.last().unwrap().summary.starts_with("the oldest item in progress is"), "{}", ages.last().unwrap().summary);

    // The job that arrives at minute 60 hangs; the others keep finishing around it.
    let hung = record(Some(60));
    stored(&conn, &hung);
    let ages = verdicts(by_age.rule().unwrap(), &read(&by_age));
    let first = ages.iter().position(|v| v.firing).expect("the hung job alerts");
    assert_eq!(first, 90, "30 min after the job started, not before");
    assert!(ages[first..].iter().all(|v| v.firing));
    let last = ages.last().unwrap();
    assert_eq!(last.summary, "the oldest item in progress is 90 min old (limit 30 min)");
    assert_eq!(last.evidence["oldest_age_secs"], 5400.0);
}

#[test]
fn nothing_in_progress_is_quiet_and_the_check_must_report_the_oldest_item() {
    let rule = StuckRule { older_than_minutes: 30 };
    let v = evaluate(Rule::StuckOldest(&rule), &[Point { ts: NOW, value: 0.0 }], NOW);
    assert_eq!((v.firing, v.summary.as_str()), (false, "nothing in progress"));
    assert_eq!(evaluate(Rule::StuckOldest(&rule), &[], NOW).summary, "no readings yet");

    let check = |oldest: &str| {
        format!("[[checks.list]]\nname = \"Jobs\"\njson_value = {{ url = \"http://127.0.0.1:1/\", pointer = \"/depth\"{oldest} }}\n")
    };
    let detector = "[[detectors]]\nname = \"Jobs stuck\"\ncheck = { name = \"Jobs\", field = \"oldest_age_secs\" }\nstuck = {}\n";
    let issues = crate::Config::from_toml_str(&format!("{}{detector}", check(", warning_above = 100"))).unwrap_err();
    let texts: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(texts, ["detectors[0].check.field: check \"Jobs\" reports no oldest item: give its json_value an oldest_pointer"]);
    // An oldest_pointer alone is enough for the check.
    let cfg = crate::Config::from_toml_str(&format!("{}{detector}", check(", oldest_pointer = \"/oldest/started_at\""))).unwrap();
    assert!(matches!(cfg.detectors[0].rule(), Some(Rule::StuckOldest(_))));
    let bad = crate::Config::from_toml_str(&check(", oldest_pointer = \"oldest\"")).unwrap_err();
    assert!(bad.iter().any(|i| i.to_string().starts_with("checks.list[0].json_value.oldest_pointer: must start with /")), "{bad:?}");
}
