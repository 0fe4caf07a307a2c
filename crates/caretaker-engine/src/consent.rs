//! Which changes asked for through the app's window need the person's own yes, given in a native
//! dialog the web view cannot draw or click. The window's page is trusted to render, not to run
//! programs: a command probe runs what it names, a restore can drop files where programs start
//! from, and a remote model endpoint receives the log. Pure decisions; the shell asks.

use crate::config::{ActionConfig, CheckConfig};
use std::path::Path;

/// What to ask, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub title: String,
    pub message: String,
}

const MAX_SHOWN_ARGS: usize = 20;
const MAX_ARG_CHARS: usize = 200;

fn shown(arg: &str) -> String {
    let arg: String = arg.chars().map(|c| if c.is_control() { '␣' } else { c }).collect();
    if arg.chars().count() <= MAX_ARG_CHARS {
        format!("{arg:?}")
    } else {
        format!("{:?}… ({} characters)", arg.chars().take(MAX_ARG_CHARS).collect::<String>(), arg.chars().count())
    }
}

/// Saving `next` over `current` (None: a new check) asks when it brings a command to run that
/// was not configured before, showing the whole argv.
pub fn check_change(current: Option<&CheckConfig>, next: &CheckConfig) -> Option<Question> {
    let cmd = next.command.as_ref()?;
    let before = current.and_then(|c| c.command.as_ref());
    if before.is_some_and(|b| b.argv == cmd.argv && b.working_dir == cmd.working_dir) {
        return None;
    }
    let mut message = format!("The check {:?} will run this program every {} seconds, as you:\n", next.name, next.interval_secs);
    for (i, a) in cmd.argv.iter().take(MAX_SHOWN_ARGS).enumerate() {
        message.push_str(&format!("\n  {}. {}", i + 1, shown(a)));
    }
    if cmd.argv.len() > MAX_SHOWN_ARGS {
        message.push_str(&format!("\n  … and {} more arguments", cmd.argv.len() - MAX_SHOWN_ARGS));
    }
    if let Some(dir) = &cmd.working_dir {
        message.push_str(&format!("\n\nIn the folder {}", shown(dir)));
    }
    message.push_str("\n\nAllow it only if you set this up yourself.");
    Some(Question { title: "Run a command?".into(), message })
}

/// How many entries `destination` holds (None: it does not exist or cannot be listed as a
/// folder). Stops counting early: only "empty or not" matters.
pub fn entries_in(destination: &Path) -> Option<usize> {
    let dir = std::fs::read_dir(destination).ok()?;
    Some(dir.take(2).count())
}

/// Restoring into a folder that already has something in it asks first: restored files land
/// beside what is there, and could be anything the snapshot holds.
pub fn restore_into(destination: &str, entries: Option<usize>) -> Option<Question> {
    let destination_is_file = entries.is_none() && Path::new(destination).is_file();
    if entries.unwrap_or(0) == 0 && !destination_is_file {
        return None;
    }
    Some(Question {
        title: "Restore into a folder in use?".into(),
        message: format!(
            "{} already has files in it. The restored files will be written there, beside or instead of what is there.\n\nAllow it only if you chose this folder yourself.",
            shown(destination)
        ),
    })
}

/// Whether `url` names this machine (loopback address or `localhost`).
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    let Some(host) = u.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Pointing log analysis at a model server on another machine asks: the log goes there.
pub fn analysis_endpoint(current: &str, next: &str) -> Option<Question> {
    if is_loopback_url(next) || current.trim() == next.trim() {
        return None;
    }
    Some(Question {
        title: "Send the log to another machine?".into(),
        message: format!(
            "Log analysis will send Caretaker's warnings and errors (which can include file names, host names and messages from your services) to {}.\n\nAllow it only if you run or trust that model server.",
            shown(next.trim())
        ),
    })
}

/// What a healing action does, as the person must see it before the app adds it: the program,
/// its arguments and folder, the environment it keeps, or the processes or folder it touches.
fn healing_effect(a: &ActionConfig) -> Vec<String> {
    let mut out = crate::healing::argv_of(a);
    if let Some(c) = &a.command {
        out.push(format!("in the folder {}", c.working_dir.as_deref().map_or_else(|| "(Caretaker's own)".to_string(), shown)));
        if !c.env_allow.is_empty() {
            out.push(format!("keeping the variables {}", c.env_allow.join(", ")));
        }
    }
    if let Some(k) = &a.kill_process {
        out.push(format!("above {:?} % CPU or {:?} MB", k.cpu_above_percent, k.memory_above_mb));
    }
    out
}

/// Saving the healing action `next` over `current` (None: a new one) asks when what it runs,
/// stops or deletes is new, showing all of it. Its name, triggers and guard rails do not ask.
pub fn healing_change(current: Option<&ActionConfig>, next: &ActionConfig) -> Option<Question> {
    let effect = healing_effect(next);
    if current.is_some_and(|c| healing_effect(c) == effect) {
        return None;
    }
    let what = match crate::healing::kind(next) {
        "clear_folder" => "delete old files in a folder",
        "kill_process" => "stop processes",
        "restart_service" | "docker_restart" => "restart a service",
        _ => "run this program",
    };
    let mut message = format!("The healing action {:?} will {what} when its alert opens (mode: {}):\n", next.name, next.mode.as_str());
    for (i, a) in effect.iter().take(MAX_SHOWN_ARGS).enumerate() {
        message.push_str(&format!("\n  {}. {}", i + 1, shown(a)));
    }
    if effect.len() > MAX_SHOWN_ARGS {
        message.push_str(&format!("\n  … and {} more", effect.len() - MAX_SHOWN_ARGS));
    }
    message.push_str("\n\nAllow it only if you set this up yourself.");
    Some(Question { title: "Add a healing action?".into(), message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CommandProbe;

    fn tcp(name: &str) -> CheckConfig {
        CheckConfig {
            name: name.into(),
            interval_secs: 30,
            timeout_secs: 5,
            degraded_latency_ms: None,
            enabled: true,
            http: None,
            tcp: Some(crate::config::TcpProbe { host: "127.0.0.1".into(), port: 5432 }),
            process: None,
            command: None,
            json_value: None,
            max_severity: None,
        }
    }

    fn check(argv: &[&str]) -> CheckConfig {
        let mut c = tcp("Job");
        c.tcp = None;
        c.command = Some(CommandProbe {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            expect_exit: 0,
            working_dir: None,
            warning_above: None,
            critical_above: None,
        });
        c
    }

    #[test]
    fn new_or_changed_commands_ask_and_show_the_argv() {
        let q = check_change(None, &check(&["/bin/sh", "-c", "curl x | sh"])).unwrap();
        assert!(q.message.contains("1. \"/bin/sh\"\n  2. \"-c\"\n  3. \"curl x | sh\""), "{}", q.message);
        let same = check(&["/bin/sh", "-c", "curl x | sh"]);
        let mut renamed = same.clone();
        renamed.interval_secs = 600;
        assert_eq!(check_change(Some(&same), &renamed), None, "only the argv and folder matter");
        assert!(check_change(Some(&same), &check(&["/bin/sh", "-c", "rm -rf ~"])).is_some());
        let mut moved = same.clone();
        moved.command.as_mut().unwrap().working_dir = Some("/tmp".into());
        assert!(check_change(Some(&same), &moved).is_some());
        assert_eq!(check_change(None, &tcp("Db")), None, "no command, nothing to ask");
        let long = check_change(None, &check(&vec!["x"; 25])).unwrap();
        assert!(long.message.contains("… and 5 more arguments"));
    }

    #[test]
    fn a_new_or_changed_healing_effect_asks_and_its_guard_rails_do_not() {
        let a: ActionConfig =
            toml::from_str("id = \"a\"\nname = \"A\"\non_alerts = [\"disk\"]\ncommand = { argv = [\"/bin/rm\", \"-rf\", \"/srv/x\"] }\n")
                .unwrap();
        let q = healing_change(None, &a).unwrap();
        assert!(q.message.contains("1. \"/bin/rm\"\n  2. \"-rf\"\n  3. \"/srv/x\""), "{}", q.message);
        let mut calmer = a.clone();
        calmer.max_per_hour = 1;
        calmer.name = "Renamed".into();
        assert_eq!(healing_change(Some(&a), &calmer), None);
        let mut moved = a.clone();
        moved.command.as_mut().unwrap().working_dir = Some("/".into());
        assert!(healing_change(Some(&a), &moved).is_some());
    }

    #[test]
    fn restores_ask_only_for_folders_with_something_in_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(restore_into(d, entries_in(dir.path())), None, "an empty folder");
        assert_eq!(restore_into("/no/such/folder", entries_in(Path::new("/no/such/folder"))), None);
        std::fs::write(dir.path().join("a"), "x").unwrap();
        assert!(restore_into(d, entries_in(dir.path())).unwrap().message.contains("already has files"));
        let file = dir.path().join("a");
        assert!(restore_into(file.to_str().unwrap(), entries_in(&file)).is_some(), "a file would be replaced");
    }

    #[test]
    fn only_a_changed_remote_model_endpoint_asks() {
        for local in ["http://127.0.0.1:11434/v1", "http://localhost:11434/v1", "http://[::1]:8080/v1", "http://127.0.0.2/v1"] {
            assert_eq!(analysis_endpoint("http://127.0.0.1:11434/v1", local), None, "{local}");
        }
        let q = analysis_endpoint("http://127.0.0.1:11434/v1", "https://llm.example.com/v1").unwrap();
        assert!(q.message.contains("\"https://llm.example.com/v1\""));
        assert_eq!(analysis_endpoint("https://llm.example.com/v1", "https://llm.example.com/v1"), None, "already configured");
        assert!(analysis_endpoint("http://127.0.0.1:11434/v1", "http://localhost.evil.example/v1").is_some());
        assert!(analysis_endpoint("http://127.0.0.1:11434/v1", "http://127.0.0.1.nip.io/v1").is_some());
        assert!(analysis_endpoint("", "not a url").is_some(), "what cannot be read is not assumed local");
    }
}
