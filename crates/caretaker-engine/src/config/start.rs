//! Start-up never stops over configuration. A valid `caretaker.toml` is kept beside it as
//! `caretaker.last-good.toml`; an invalid or unreadable one means running with that copy (or the
//! defaults when there is none) and telling the person, with each bad field and the file's path.

use super::{write_atomic, Config, DEFAULT_CONFIG_TOML};
use crate::error::{ConfigIssue, Result};
use crate::paths::CONFIG_FILE;
use std::path::{Path, PathBuf};

/// The copy of the last configuration that loaded cleanly.
pub const LAST_GOOD_FILE: &str = "caretaker.last-good.toml";

/// What the engine runs with, and what was wrong with the file when it is not the file itself.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub problem: Option<ConfigProblem>,
}

/// What the engine runs with while the file cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The copy of the last file that loaded (at start).
    LastGood,
    /// The defaults (at start, with no good copy).
    Defaults,
    /// The settings it ran with before the file was changed (a hand edit while running).
    Unchanged,
}

/// `caretaker.toml` could not be used as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    pub path: PathBuf,
    pub issues: Vec<ConfigIssue>,
    pub fallback: Fallback,
}

impl ConfigProblem {
    /// One line for the alert's title.
    pub fn title(&self) -> String {
        let with = match self.fallback {
            Fallback::LastGood => "the last good settings",
            Fallback::Defaults => "the default settings",
            Fallback::Unchanged => "the settings it had before this change",
        };
        format!("{CONFIG_FILE} has mistakes; Caretaker keeps running with {with}")
    }

    /// Every bad field, then where the file is.
    pub fn message(&self) -> String {
        let list: Vec<String> = self.issues.iter().map(|i| i.to_string()).collect();
        format!(
            "{}. Fix the file at {} (or change the setting from the app); this clears when it loads.",
            list.join("; "),
            self.path.display()
        )
    }
}

/// Where a local Ollama listens.
const OLLAMA_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 11434);
/// The line of the bundled Ollama check that a first run rewrites.
const OLLAMA_OFF: &str = "enabled = false # on when Ollama answers at first start";

/// The commented defaults for a first run. The bundled Ollama check is turned on only when
/// something answers on Ollama's port now: on a machine without it, a check that is down from
/// the first minute teaches the person to ignore alerts.
pub(crate) fn first_run_text() -> String {
    let (ip, port) = OLLAMA_ADDR;
    with_ollama(answers(std::net::SocketAddr::from((ip, port)), std::time::Duration::from_millis(300)))
}

fn with_ollama(found: bool) -> String {
    let line = if found { "enabled = true # found running at first start" } else { "enabled = false # nothing answered at first start" };
    DEFAULT_CONFIG_TOML.replacen(OLLAMA_OFF, line, 1)
}

/// True when a TCP connection to `addr` opens within `timeout`.
fn answers(addr: std::net::SocketAddr, timeout: std::time::Duration) -> bool {
    std::net::TcpStream::connect_timeout(&addr, timeout).is_ok()
}

/// Loads the config for a start: writes the commented defaults on first run, keeps the last good
/// copy current, and falls back instead of failing. The only error left is a data folder where
/// not even the first-run file can be written.
pub fn load_for_start(data_dir: &Path) -> Result<Loaded> {
    let path = data_dir.join(CONFIG_FILE);
    if !path.exists() {
        write_atomic(&path, first_run_text().as_bytes())?;
        tracing::info!(path = %path.display(), "wrote default config");
    }
    let last_good = data_dir.join(LAST_GOOD_FILE);
    let issues = match check_file(data_dir) {
        Ok(config) => return Ok(Loaded { config, problem: None }),
        Err(issues) => issues,
    };
    let fallback = std::fs::read_to_string(&last_good).ok().and_then(|t| Config::from_toml_str(&t).ok());
    let used = if fallback.is_some() { Fallback::LastGood } else { Fallback::Defaults };
    let problem = ConfigProblem { path: path.clone(), issues, fallback: used };
    tracing::warn!(path = %path.display(), problem = %problem.message(), "config has mistakes; running with a fallback");
    Ok(Loaded { config: fallback.unwrap_or_default(), problem: Some(problem) })
}

/// Reads and checks `caretaker.toml` (ownership, syntax, every field); a good one is kept as
/// the last good copy. Blocking.
pub fn check_file(data_dir: &Path) -> std::result::Result<Config, Vec<ConfigIssue>> {
    let path = data_dir.join(CONFIG_FILE);
    match std::fs::read_to_string(&path).map(|text| (untrusted(&path), text)) {
        Ok((Some(why), _)) => Err(vec![ConfigIssue { path: CONFIG_FILE.into(), message: why, location: None }]),
        Ok((None, text)) => {
            let config = Config::from_toml_str(&text)?;
            keep_last_good(&data_dir.join(LAST_GOOD_FILE), &text);
            Ok(config)
        }
        Err(e) => Err(vec![ConfigIssue { path: CONFIG_FILE.into(), message: format!("cannot be read ({e})"), location: None }]),
    }
}

/// Why the file cannot be trusted, if it cannot: it can name commands Caretaker runs (checks,
/// healing, maintenance), so a file another user can change is code run as this user.
#[cfg(unix)]
fn untrusted(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    let me = rustix::process::geteuid().as_raw();
    let mode = m.mode() & 0o777;
    if m.uid() != me {
        Some(format!(
            "belongs to another user (uid {}); it is not used until it is yours (chown it, or delete it to start from the defaults)",
            m.uid()
        ))
    } else if mode & 0o002 != 0 {
        // World-writable only: a group-writable file is normal where each user has a group of
        // their own (umask 002).
        Some(format!(
            "can be changed by every user of this machine (mode {mode:o}); it is not used until only you can change it (chmod 600)"
        ))
    } else {
        None
    }
}

#[cfg(not(unix))]
fn untrusted(_: &Path) -> Option<String> {
    None
}

fn keep_last_good(last_good: &Path, text: &str) {
    if std::fs::read_to_string(last_good).is_ok_and(|old| old == text) {
        return;
    }
    if let Err(e) = write_atomic(last_good, text.as_bytes()) {
        // The copy is a convenience: failing to refresh it must not stop anything.
        tracing::warn!(path = %last_good.display(), error = %e, "could not keep a copy of the last good config");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_runs_the_last_good_copy_then_the_defaults_and_names_each_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, "[metrics]\ninterval_secs = 7\n").expect("write");
        let first = load_for_start(dir.path()).expect("start");
        assert_eq!((first.config.metrics.interval_secs, first.problem), (7, None));
        assert!(dir.path().join(LAST_GOOD_FILE).exists(), "a clean load keeps a copy");

        std::fs::write(&path, "[metrics]\ninterval_secs = 0\n[alerts]\nbogus = 1\n").expect("write");
        let bad = load_for_start(dir.path()).expect("a bad file never stops the start");
        assert_eq!(bad.config.metrics.interval_secs, 7, "the last good settings");
        let p = bad.problem.expect("the problem is reported");
        assert!(p.fallback == Fallback::LastGood && p.title().contains("last good"), "{p:?}");
        assert!(p.message().contains(&path.display().to_string()), "{}", p.message());
        assert!(p.issues.iter().any(|i| i.path.contains("alerts") || i.message.contains("bogus")), "{p:?}");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "[metrics]\ninterval_secs = 0\n[alerts]\nbogus = 1\n",
            "the file is left as written"
        );

        std::fs::remove_file(dir.path().join(LAST_GOOD_FILE)).expect("rm");
        let none = load_for_start(dir.path()).expect("start");
        assert_eq!(none.config, Config::default());
        assert_eq!(none.problem.expect("problem").fallback, Fallback::Defaults);
    }

    #[test]
    fn a_file_other_users_can_change_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, "[metrics]\ninterval_secs = 7\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let loaded = load_for_start(dir.path()).expect("start");
        assert_eq!(loaded.config.metrics.interval_secs, Config::default().metrics.interval_secs, "not used");
        let p = loaded.problem.expect("said");
        assert!(p.message().contains("can be changed by every user") && p.message().contains("666"), "{}", p.message());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(load_for_start(dir.path()).expect("start").config.metrics.interval_secs, 7, "readable by others is fine");
    }

    #[test]
    fn the_bundled_ollama_check_is_on_only_when_something_answers_and_is_never_critical() {
        assert!(DEFAULT_CONFIG_TOML.contains(OLLAMA_OFF), "the template marks the line a first run rewrites");
        for found in [false, true] {
            let c = Config::from_toml_str(&with_ollama(found)).expect("parses");
            let ollama = c.checks.list.iter().find(|c| c.name == "Ollama").expect("the example is there");
            assert_eq!(ollama.enabled, found);
            assert_eq!(ollama.max_severity, Some(crate::alerts::Severity::Warning));
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let open = listener.local_addr().expect("addr");
        assert!(answers(open, std::time::Duration::from_millis(500)));
        drop(listener);
        assert!(!answers(open, std::time::Duration::from_millis(500)), "a closed port does not answer");
    }

    #[test]
    fn a_validation_mistake_names_the_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(CONFIG_FILE), "[metrics]\ninterval_secs = 0\n").expect("write");
        let p = load_for_start(dir.path()).expect("start").problem.expect("problem");
        assert!(p.message().contains("metrics.interval_secs"), "{}", p.message());
    }
}
