//! The config's parse, validation and writer tests.

use super::*;

#[test]
fn default_template_parses_to_defaults() {
    assert_eq!(Config::from_toml_str(DEFAULT_CONFIG_TOML), Ok(Config::first_run()));
}

#[test]
fn empty_file_means_defaults() {
    assert_eq!(Config::from_toml_str(""), Ok(Config::default()));
}

#[test]
fn out_of_range_names_the_field() {
    let issues = Config::from_toml_str("[metrics]\ninterval_secs = 0\ntop_processes = 99\n").unwrap_err();
    let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        text,
        vec!["metrics.interval_secs: must be between 1 and 3600 (got 0)", "metrics.top_processes: must be between 0 and 50 (got 99)",]
    );
}

#[test]
fn unknown_key_names_the_field_and_line() {
    let issues = Config::from_toml_str("[metrics]\ninterval_secs = 5\nintervall = 3\n").unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].path, "metrics.intervall");
    assert!(issues[0].message.contains("unknown field `intervall`"), "{}", issues[0].message);
    assert_eq!(issues[0].location.map(|l| l.0), Some(3));
}

#[test]
fn unknown_section_is_rejected() {
    let issues = Config::from_toml_str("[metircs]\n").unwrap_err();
    assert_eq!(issues[0].path, "metircs");
}

#[test]
fn wrong_type_names_the_field() {
    let issues = Config::from_toml_str("[metrics]\ninterval_secs = \"fast\"\n").unwrap_err();
    assert_eq!(issues[0].path, "metrics.interval_secs");
    assert!(issues[0].message.contains("invalid type"), "{}", issues[0].message);
}

#[test]
fn broken_toml_gives_a_location() {
    let issues = Config::from_toml_str("[metrics\n").unwrap_err();
    assert_eq!(issues[0].location.map(|l| l.0), Some(1));
}

#[test]
fn bad_checks_are_refused_with_the_field_named() {
    let cases = [
        ("[[checks.list]]\nname = \"a\"\nhttp = { url = \"not a url\" }\n", "checks.list[0].http.url: not a valid URL"),
        (
            "[[checks.list]]\nname = \"a\"\ninterval_secs = -5\ntcp = { port = 1 }\n",
            "checks.list[0].interval_secs: invalid value: integer `-5`",
        ),
        (
            "[[checks.list]]\nname = \"a\"\ninterval_secs = 2\ntcp = { port = 1 }\n",
            "checks.list[0].interval_secs: must be between 5 and 86400 (got 2)",
        ),
        ("[[checks.list]]\nname = \"a\"\nftp = { host = \"x\" }\n", "checks.list[0].ftp: unknown field `ftp`"),
        ("[[checks.list]]\nname = \"a\"\n", "checks.list[0]: needs exactly one probe"),
        (
            "[[checks.list]]\nname = \"a\"\ntcp = { port = 1 }\n[[checks.list]]\nname = \"A\"\ntcp = { port = 2 }\n",
            "checks.list[1].name: \"A\" is used by another check",
        ),
        ("[[checks.list]]\nname = \"a\"\ncommand = { argv = [] }\n", "checks.list[0].command.argv: needs at least the program"),
        (
            "[[checks.list]]\nname = \"a\"\njson_value = { url = \"http://x/\", pointer = \"/a\" }\n",
            "checks.list[0].json_value: needs at least one of",
        ),
        ("[alerts]\ncpu = { warning = 95, critical = 90 }\n", "alerts.cpu: needs 0 <= warning <= critical <= 100"),
        ("[alerts]\nquiet_hours = { start = \"25:00\", end = \"06:00\" }\n", "alerts.quiet_hours.start: must be a time of day"),
    ];
    for (toml, want) in cases {
        let issues = Config::from_toml_str(toml).unwrap_err();
        let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert!(text.iter().any(|t| t.starts_with(want)), "{toml:?}: wanted {want:?}, got {text:?}");
    }
}

#[test]
fn quiet_hours_cross_midnight() {
    let q = QuietHours { start: "23:00".into(), end: "06:30".into() };
    assert!(q.contains(23 * 60) && q.contains(0) && q.contains(6 * 60 + 29));
    assert!(!q.contains(6 * 60 + 30) && !q.contains(12 * 60));
    let day = QuietHours { start: "01:00".into(), end: "05:00".into() };
    assert!(day.contains(60) && !day.contains(5 * 60) && !day.contains(0));
}

#[test]
fn write_checks_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caretaker.toml");
    std::fs::write(&path, DEFAULT_CONFIG_TOML).unwrap();
    let mut c = Config::first_run();
    c.checks.list.push(CheckConfig {
        name: "Web".into(),
        interval_secs: 30,
        timeout_secs: 5,
        degraded_latency_ms: None,
        enabled: true,
        http: None,
        tcp: Some(TcpProbe { host: "127.0.0.1".into(), port: 8080 }),
        process: None,
        command: None,
        json_value: None,
        max_severity: None,
    });
    write_checks(&path, &c.checks.list).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# How often the host is sampled"), "comments kept");
    assert_eq!(Config::load(&path).unwrap(), c);
    write_checks(&path, &[]).unwrap();
    assert!(Config::load(&path).unwrap().checks.list.is_empty());
}

#[test]
fn write_detectors_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caretaker.toml");
    std::fs::write(&path, DEFAULT_CONFIG_TOML).unwrap();
    let mut c = Config::first_run();
    let d: crate::detectors::DetectorConfig =
        toml::from_str("name = \"Ollama slow\"\ncheck = { name = \"Ollama\", field = \"latency_ms\" }\nabove_normal = { factor = 4 }\n")
            .unwrap();
    c.detectors.push(d);
    write_detectors(&path, &c.detectors).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# How often the host is sampled"), "comments kept");
    assert!(text.contains("# Detectors watch a series"), "comments kept");
    assert_eq!(Config::load(&path).unwrap(), c);
    write_detectors(&path, &[]).unwrap();
    assert!(Config::load(&path).unwrap().detectors.is_empty());
    assert!(std::fs::read_to_string(&path).unwrap().contains("[[checks.list]]"), "checks kept");
}

#[test]
fn save_round_trips_and_refuses_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let mut c = Config::default();
    c.metrics.interval_secs = 10;
    c.save(&path).unwrap();
    assert_eq!(Config::load(&path).unwrap(), c);
    c.metrics.interval_secs = 0;
    assert!(matches!(c.save(&path), Err(EngineError::Config(_))));
    assert_eq!(Config::load(&path).unwrap().metrics.interval_secs, 10, "invalid save must not touch the file");
}

#[cfg(unix)]
#[test]
fn saved_config_is_private_even_over_a_readable_file() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.toml");
    Config::default().save(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o600, "a new config file");
    let path = dir.path().join("caretaker.toml");
    std::fs::write(&path, DEFAULT_CONFIG_TOML).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = Config::first_run();
    c.metrics.interval_secs = 9;
    write_section(&path, "metrics", &c.metrics).unwrap();
    assert_eq!(mode(&path), 0o600, "saved over a 0644 file");
    assert_eq!(Config::load(&path).unwrap().metrics.interval_secs, 9);
}

#[test]
fn an_unreadable_config_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::first_run();
    // A folder where the file should be: it cannot be read at all.
    let folder = dir.path().join("caretaker.toml");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("keep"), "x").unwrap();
    let err = write_section(&folder, "metrics", &c.metrics).expect_err("a folder is not a config");
    assert!(err.to_string().contains(&folder.display().to_string()), "{err}");
    let err = write_checks(&folder, &c.checks.list).expect_err("a folder is not a config");
    assert!(err.to_string().contains(&folder.display().to_string()), "{err}");
    assert!(folder.join("keep").exists(), "the folder is untouched");
    // A file that is there but does not read back as text: every setting in it must survive.
    let garbled = dir.path().join("garbled.toml");
    let bytes = b"[http]\ntoken = \"\xff\xfe\"\n".to_vec();
    std::fs::write(&garbled, &bytes).unwrap();
    let err = write_section(&garbled, "metrics", &c.metrics).expect_err("unreadable text");
    assert!(err.to_string().contains(&garbled.display().to_string()), "{err}");
    let err = write_checks(&garbled, &c.checks.list).expect_err("unreadable text");
    assert!(err.to_string().contains("nothing was saved"), "{err}");
    assert_eq!(std::fs::read(&garbled).unwrap(), bytes, "the file is untouched");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary file left behind: {names:?}");
    // A missing file is still an empty one.
    let missing = dir.path().join("new.toml");
    write_section(&missing, "metrics", &c.metrics).unwrap();
    assert!(Config::load(&missing).is_ok());
}

#[test]
fn a_check_without_a_timeout_gets_one_that_fits_its_interval() {
    let check = |rest: &str| format!("[[checks.list]]\nname = \"Web\"\n{rest}tcp = {{ port = 80 }}\n");
    // Written by hand with a short interval and no timeout: valid, the timeout follows.
    let c = Config::from_toml_str(&check("interval_secs = 5\n")).expect("a short interval alone is valid");
    assert_eq!((c.checks.list[0].interval_secs, c.checks.list[0].timeout_secs), (5, 5));
    let c = Config::from_toml_str(&check("")).unwrap();
    assert_eq!(c.checks.list[0].timeout_secs, 10, "the usual default with the usual interval");
    let c = Config::from_toml_str(&check("interval_secs = 30\ntimeout_secs = 3\n")).unwrap();
    assert_eq!(c.checks.list[0].timeout_secs, 3, "a timeout given is kept");
    // A timeout given that does not fit is still a mistake, named.
    let issues = Config::from_toml_str(&check("interval_secs = 5\ntimeout_secs = 8\n")).unwrap_err();
    assert!(issues.iter().any(|i| i.path == "checks.list[0].timeout_secs"), "{issues:?}");
    // Saved back, the filled-in value is what the file gets.
    let text = toml::to_string(&c).unwrap();
    assert!(Config::from_toml_str(&text).is_ok());
}
