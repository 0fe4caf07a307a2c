//! Install, status and uninstall end to end under a temp HOME with a recording service manager,
//! and the generated files checked by the tools that read them (plistlib, systemd-analyze).

use super::*;
use std::cell::RefCell;
use std::process::Command;

/// Records every command and answers from a script keyed by the command's verb.
#[derive(Default)]
struct Recorder {
    calls: RefCell<Vec<String>>,
    answers: Vec<(&'static str, (bool, &'static str))>,
}

impl ServiceManager for Recorder {
    fn run(&self, argv: &[String]) -> Result<(bool, String, String)> {
        let line = argv.join(" ");
        self.calls.borrow_mut().push(line.clone());
        let answer = self.answers.iter().find(|(verb, _)| argv.iter().any(|a| a == verb)).map(|(_, a)| *a);
        let (ok, out) = answer.unwrap_or((true, ""));
        Ok((ok, out.to_string(), if ok { String::new() } else { "it failed".into() }))
    }
}

fn ctx(home: &Path, platform: Platform, system_user: Option<&str>) -> Context {
    Context {
        platform,
        home: home.to_path_buf(),
        config_home: home.join(".config"),
        system_root: home.join("root"),
        uid: 501,
        exe: std::env::current_exe().unwrap(),
        data_dir: home.join("data dir"),
        data_dir_chosen: system_user.is_some(),
        system_user: system_user.map(String::from),
    }
}

#[test]
fn the_label_is_the_apps_bundle_identifier() {
    let conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tauri.conf.json")).unwrap();
    let conf: serde_json::Value = serde_json::from_str(&conf).unwrap();
    assert_eq!(conf["identifier"], LABEL);
}

#[test]
fn systemd_user_unit_installs_reports_and_uninstalls() {
    let home = tempfile::tempdir().unwrap();
    let c = ctx(home.path(), Platform::Systemd, None);
    let m = Recorder { answers: vec![("is-active", (false, "inactive\n"))], ..Default::default() };
    assert!(status(&c, &m).unwrap().contains("not installed"));

    let said = install(&c, &m).unwrap();
    let file = home.path().join(".config/systemd/user/caretaker.service");
    assert!(said.contains(&file.display().to_string()), "{said}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("ExecStart=\"{}\" run\n", c.exe.display())), "{text}");
    assert!(!text.contains("Environment="), "no data folder was chosen: {text}");
    assert!(home.path().join("data dir/logs").is_dir());
    let calls = m.calls.borrow().clone();
    assert_eq!(
        calls[1..],
        ["systemctl --user daemon-reload", "systemctl --user enable --now caretaker.service"],
        "argv, user scope: {calls:?}"
    );

    let m2 = Recorder { answers: vec![("is-active", (true, "active\n"))], ..Default::default() };
    let st = status(&c, &m2).unwrap();
    assert!(st.contains("Service:  installed (systemd user unit)") && st.contains("Running:  yes"), "{st}");
    assert_eq!(m2.calls.borrow()[..], ["systemctl --user is-active caretaker.service"]);

    let m3 = Recorder::default();
    uninstall(&c, &m3).unwrap();
    assert!(!file.exists());
    assert_eq!(m3.calls.borrow()[..], ["systemctl --user disable --now caretaker.service", "systemctl --user daemon-reload"]);
    assert!(uninstall(&c, &m3).unwrap().contains("No systemd user unit installed"));
}

#[test]
fn launch_agent_installs_reports_and_uninstalls() {
    let home = tempfile::tempdir().unwrap();
    let c = ctx(home.path(), Platform::Launchd, None);
    let m = Recorder::default();
    install(&c, &m).unwrap();
    let file = home.path().join("Library/LaunchAgents/app.caretaker.desktop.plist");
    assert!(file.exists());
    assert_eq!(m.calls.borrow()[..], [format!("launchctl bootstrap gui/501 {}", file.display())]);

    // Installing again replaces the loaded job.
    let again = Recorder::default();
    install(&c, &again).unwrap();
    assert_eq!(again.calls.borrow()[0], format!("launchctl bootout gui/501 {}", file.display()));

    let running = "app = {\n\tstate = running\n\tpid = 77\n}\n";
    let m2 = Recorder { answers: vec![("print", (true, running))], ..Default::default() };
    let st = status(&c, &m2).unwrap();
    assert!(st.contains("installed (per-user LaunchAgent)") && st.contains("Running:  yes (pid 77)"), "{st}");
    assert_eq!(m2.calls.borrow()[..], ["launchctl print gui/501/app.caretaker.desktop"]);

    let m3 = Recorder { answers: vec![("bootout", (false, ""))], ..Default::default() };
    uninstall(&c, &m3).unwrap();
    assert!(!file.exists(), "a job that was not loaded still loses its file");
}

#[test]
fn a_failing_service_manager_is_reported_with_its_command() {
    let home = tempfile::tempdir().unwrap();
    let c = ctx(home.path(), Platform::Systemd, None);
    let m = Recorder { answers: vec![("enable", (false, ""))], ..Default::default() };
    let err = install(&c, &m).unwrap_err().to_string();
    assert!(err.contains("`systemctl --user enable --now caretaker.service` failed: it failed"), "{err}");
}

#[test]
fn system_variants_name_the_user_and_say_their_limits() {
    let home = tempfile::tempdir().unwrap();
    let c = ctx(home.path(), Platform::Systemd, Some("ann"));
    let m = Recorder::default();
    let said = install(&c, &m).unwrap();
    assert!(said.contains("keychain") && said.contains("notifications"), "{said}");
    let text = std::fs::read_to_string(home.path().join("root/etc/systemd/system/caretaker.service")).unwrap();
    assert!(text.contains("User=\"ann\"\n") && text.contains("CARETAKER_DATA_DIR="), "{text}");
    assert_eq!(m.calls.borrow()[..], ["systemctl daemon-reload", "systemctl enable --now caretaker.service"]);

    let c = ctx(home.path(), Platform::Launchd, Some("ann"));
    let m = Recorder::default();
    install(&c, &m).unwrap();
    let file = home.path().join("root/Library/LaunchDaemons/app.caretaker.desktop.plist");
    assert_eq!(m.calls.borrow()[..], [format!("launchctl bootstrap system {}", file.display())]);

    assert!(check_system_install("ann", 1000, true).unwrap_err().to_string().contains("sudo"));
    assert!(check_system_install("-x", 0, true).unwrap_err().to_string().contains("not a user name"));
    assert!(check_system_install("ann", 0, false).unwrap_err().to_string().contains("--data-dir"));
    check_system_install("ann", 0, true).unwrap();
}

fn plist_keys(file: &Path) -> serde_json::Value {
    let script = "import plistlib,sys,json; d=plistlib.load(open(sys.argv[1],'rb')); print(json.dumps(d))";
    let out = Command::new("python3").args(["-c", script]).arg(file).output().expect("python3 is installed");
    assert!(out.status.success(), "plistlib refused the file: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_plist_parses_with_plistlib_and_has_the_keys_launchd_needs() {
    let home = tempfile::tempdir().unwrap();
    let mut c = ctx(home.path(), Platform::Launchd, None);
    c.exe = PathBuf::from("/Applications/Caretaker & <Co>.app/Contents/MacOS/caretaker");
    c.data_dir_chosen = true;
    install(&c, &Recorder::default()).unwrap();
    let d = plist_keys(&c.file());
    assert_eq!(d["Label"], "app.caretaker.desktop");
    assert_eq!(d["ProgramArguments"], serde_json::json!(["/Applications/Caretaker & <Co>.app/Contents/MacOS/caretaker", "run"]));
    assert_eq!(d["RunAtLoad"], true);
    assert_eq!(d["KeepAlive"], serde_json::json!({ "SuccessfulExit": false }));
    assert_eq!(d["ThrottleInterval"], 10);
    let logs = home.path().join("data dir/logs");
    assert_eq!(d["StandardOutPath"], logs.join("service.out.log").display().to_string());
    assert_eq!(d["StandardErrorPath"], logs.join("service.err.log").display().to_string());
    assert_eq!(d["EnvironmentVariables"]["CARETAKER_DATA_DIR"], home.path().join("data dir").display().to_string());
    assert!(d.get("UserName").is_none());

    let c = ctx(home.path(), Platform::Launchd, Some("ann"));
    install(&c, &Recorder::default()).unwrap();
    assert_eq!(plist_keys(&c.file())["UserName"], "ann");
}

fn systemd_verify(file: &Path) {
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(file).output().expect("systemd-analyze is installed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("caretaker.service:"), "systemd-analyze verify: {err}");
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    let home = tempfile::tempdir().unwrap();
    let mut c = ctx(home.path(), Platform::Systemd, None);
    c.data_dir = home.path().join("100% $HOME \"quoted\"");
    c.data_dir_chosen = true;
    install(&c, &Recorder::default()).unwrap();
    systemd_verify(&c.file());
    let c = ctx(home.path(), Platform::Systemd, Some("root"));
    install(&c, &Recorder::default()).unwrap();
    systemd_verify(&c.file());
}

#[test]
fn state_tells_a_missing_user_manager_from_a_stopped_service() {
    let home = tempfile::tempdir().unwrap();
    let c = ctx(home.path(), Platform::Systemd, None);
    // What `systemctl --user` says in a container or a session without a user manager.
    struct NoBus;
    impl ServiceManager for NoBus {
        fn run(&self, _: &[String]) -> Result<(bool, String, String)> {
            Ok((false, String::new(), "Failed to connect to bus: No medium found\n".into()))
        }
    }
    let s = state(&c, &NoBus);
    assert!(!s.installed && !s.running);
    assert_eq!(s.unavailable.as_deref(), Some("systemd's user service manager does not answer: Failed to connect to bus: No medium found"));
    assert!(status(&c, &NoBus).unwrap().contains("Note:     systemd's user service manager does not answer"));

    let stopped = Recorder { answers: vec![("is-active", (false, "inactive\n"))], ..Default::default() };
    let s = state(&c, &stopped);
    assert_eq!((s.running, s.unavailable, s.detail.as_str()), (false, None, "inactive"));
    let running = Recorder { answers: vec![("is-active", (true, "active\n"))], ..Default::default() };
    let s = state(&c, &running);
    assert!(s.running && s.unavailable.is_none(), "{s:?}");
    // The JSON the app reads is the engine's type, field for field.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["kind"], "systemd user unit");
    assert_eq!(json["file"], home.path().join(".config/systemd/user/caretaker.service").display().to_string());
}
