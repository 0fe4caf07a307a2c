use super::*;
use crate::healing::{list, pending, HealingQuery};

fn cfg(extra: &str) -> HealingConfig {
    let text = format!(
        "max_actions_per_hour = 5\n\
         [[actions]]\nid = \"restart-web\"\nname = \"Restart web\"\non_checks = [\"Web\"]\nmax_per_hour = 1\ncooldown_secs = 0\n\
         restart_service = {{ name = \"web.service\" }}\n\
         [[actions]]\nid = \"tidy\"\nname = \"Tidy\"\non_alerts = [\"disk\"]\ncommand = {{ argv = [\"/bin/true\"] }}\n{extra}"
    );
    toml::from_str(&text).unwrap()
}

fn said<'a>(id: &'a str, kind: Option<&'a str>, target: Option<&'a str>) -> Suggested<'a> {
    Suggested { id, kind, target }
}

#[test]
fn a_suggestion_resolves_to_a_configured_action_by_id_name_or_kind_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg("");
    let d = dir.path();
    assert_eq!(resolve(&c, &said("restart-web", None, None), d).unwrap().id, "restart-web");
    assert_eq!(resolve(&c, &said("restart web", None, None), d).unwrap().id, "restart-web", "by name, any case");
    assert_eq!(resolve(&c, &said("", Some("restart_service"), Some("web.service")), d).unwrap().id, "restart-web");
    assert_eq!(resolve(&c, &said("restart-web", None, Some("web.service")), d).unwrap().id, "restart-web");

    let e = resolve(&c, &said("rm-rf-everything", None, None), d).unwrap_err();
    assert!(e.starts_with("no configured action is called \"rm-rf-everything\""), "{e}");
    let e = resolve(&c, &said("restart-web", None, Some("db.service")), d).unwrap_err();
    assert_eq!(e, "\"db.service\" is outside what Restart web may act on (the service web.service)");
    let e = resolve(&c, &said("", Some("restart_service"), Some("db.service")), d).unwrap_err();
    assert!(e.starts_with("\"db.service\" is outside what the configured restart_service actions may act on"), "{e}");
    let e = resolve(&c, &said("", Some("kill_process"), Some("node")), d).unwrap_err();
    assert_eq!(e, "no kill_process action is configured; set one up under Healing to allow it");
    let e = resolve(&c, &said("", Some("command"), Some("/bin/rm")), d).unwrap_err();
    assert!(e.starts_with("\"command\" is not something a suggestion can run"), "{e}");
    let e = resolve(&c, &said("", Some("restart_service"), None), d).unwrap_err();
    assert_eq!(e, "a restart_service suggestion needs a concrete target");
    let e = resolve(&c, &said("tidy", Some("kill_process"), None), d).unwrap_err();
    assert_eq!(e, "Tidy is a command action, not kill_process");

    let mut off = cfg("");
    off.actions[0].mode = HealingMode::Off;
    assert_eq!(resolve(&off, &said("restart-web", None, None), d).unwrap_err(), "Restart web is switched off");
}

#[test]
fn a_folder_suggestion_matches_only_the_configured_folder_itself() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("sub")).unwrap();
    let c = cfg(&format!(
        "[[actions]]\nid = \"clear-cache\"\nname = \"Clear cache\"\non_alerts = [\"disk\"]\nclear_folder = {{ path = {:?} }}\n",
        cache.display().to_string()
    ));
    let data = dir.path().join("data");
    let with_slash = format!("{}/", cache.display());
    assert_eq!(resolve(&c, &said("", Some("clear_folder"), Some(&with_slash)), &data).unwrap().id, "clear-cache");
    let sub = cache.join("sub").display().to_string();
    let e = resolve(&c, &said("", Some("clear_folder"), Some(&sub)), &data).unwrap_err();
    assert!(e.contains("is outside what the configured clear_folder actions may act on (the folder"), "{e}");
    let parent = dir.path().display().to_string();
    assert!(resolve(&c, &said("clear-cache", None, Some(&parent)), &data).is_err(), "a parent folder is outside the scope");
}

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open_and_migrate(&dir.path().join("caretaker.db")).unwrap();
    (dir, conn)
}

fn finding(conn: &Connection) -> i64 {
    conn.execute("INSERT INTO analysis_scans (started_at, status, log_id_start, log_id_end) VALUES (0, 'completed', 0, 0)", []).unwrap();
    let scan = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO analysis_findings (scan_id, classification, severity, title, body, created_at) VALUES (?1, 'bug', 'high', 't', 'b', 0)",
        [scan],
    )
    .unwrap();
    conn.last_insert_rowid()
}

fn runs(conn: &Connection) -> Vec<HealingRecord> {
    let all = list(conn, &HealingQuery { limit: 100, ..Default::default() }).unwrap();
    all.into_iter().filter(|r| r.decision.runs()).collect()
}

#[test]
fn a_proposal_waits_for_the_person_and_approving_it_runs_it_once() {
    let (_dir, conn) = db();
    // Even an action allowed to run on its own only waits when the model suggests it.
    let mut c = cfg("");
    c.actions[0].mode = HealingMode::Auto;
    let a = &c.actions[0];
    let f = finding(&conn);
    let esc = propose(&conn, &c, a, f, "finding #1: web down", 1_000).unwrap().unwrap();
    assert_eq!((esc.decision, esc.finding_id, esc.alert_id), (Decision::Escalated, Some(f), None));
    assert_eq!(pending(&conn, &[]).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [esc.id], "shown with the other escalations");
    assert!(runs(&conn).is_empty(), "nothing runs before the person says so");

    // The same action again from a later finding is not proposed twice.
    let f2 = finding(&conn);
    let again = propose(&conn, &c, a, f2, "finding #2", 2_000).unwrap().unwrap_err();
    assert!(again.contains("already waits for you under an earlier finding"), "{again}");

    let ran = approve(&conn, &c, &esc, a, 3_000).unwrap().unwrap();
    assert_eq!((ran.decision, ran.finding_id, ran.started_at), (Decision::ApprovedByUser, Some(f), Some(3_000)));
    assert_eq!(get(&conn, esc.id).unwrap().unwrap().outcome.as_deref(), Some("approved"));
    assert!(approve(&conn, &c, &esc, a, 3_500).is_err(), "a second click does not run it again");
    assert_eq!(runs(&conn).len(), 1);
    assert!(pending(&conn, &[]).unwrap().is_empty());
    assert_eq!(
        of_finding(&conn, f).unwrap().iter().map(|r| r.decision).collect::<Vec<_>>(),
        [Decision::ApprovedByUser, Decision::Escalated]
    );
}

#[test]
fn the_guard_rails_refuse_a_proposal_and_an_approval_over_the_limit() {
    let (_dir, conn) = db();
    let c = cfg("");
    let a = &c.actions[0];
    let (f1, f2) = (finding(&conn), finding(&conn));
    let esc = propose(&conn, &c, a, f1, "one", 1_000).unwrap().unwrap();
    approve(&conn, &c, &esc, a, 2_000).unwrap().unwrap();
    // Its limit is one run an hour: a new proposal is refused and says why.
    let refused = propose(&conn, &c, a, f2, "two", 3_000).unwrap().unwrap();
    assert_eq!(refused.decision, Decision::RefusedRateLimit);
    assert_eq!(refused.outcome.as_deref(), Some("Restart web already ran 1 times in the last hour (limit 1)"));
    assert!(pending(&conn, &[]).unwrap().is_empty());

    // Proposed while allowed, approved once the limit is reached: refused, left waiting.
    let f3 = finding(&conn);
    let esc3 = propose(&conn, &c, a, f3, "three", 3_700_000).unwrap().unwrap();
    assert_eq!(esc3.decision, Decision::Escalated);
    insert_row(&conn, &Origin { alert_id: None, finding_id: None, subject: "other" }, a, Decision::Ran, &[], None, 3_700_001).unwrap();
    let no = approve(&conn, &c, &esc3, a, 3_700_002).unwrap().unwrap_err();
    assert_eq!(no.decision, Decision::RefusedRateLimit);
    assert_eq!(runs(&conn).len(), 2, "only the first approval and the other run");
    assert_eq!(pending(&conn, &[]).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [esc3.id]);
}

#[test]
fn dismissing_runs_nothing() {
    let (_dir, conn) = db();
    let c = cfg("");
    let a = &c.actions[0];
    let f = finding(&conn);
    let esc = propose(&conn, &c, a, f, "one", 1_000).unwrap().unwrap();
    dismiss_with_finding(&conn, f).unwrap();
    assert_eq!(get(&conn, esc.id).unwrap().unwrap().outcome.as_deref(), Some("dismissed with its finding"));
    assert!(approve(&conn, &c, &esc, a, 2_000).is_err());
    assert!(runs(&conn).is_empty());
}
