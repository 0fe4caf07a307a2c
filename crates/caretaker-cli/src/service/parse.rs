//! What the service managers say about a running service, read from their output. Pure.

/// Whether the service is running, as the service manager reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    Yes {
        pid: Option<u32>,
    },
    /// Loaded but not running; the manager's word for its state.
    No(String),
    /// The manager does not know the service (not loaded).
    NotLoaded,
}

/// `systemctl is-active <unit>` prints one word (and exits non-zero for anything but active).
pub fn systemctl_is_active(stdout: &str) -> Running {
    match stdout.lines().next().map(str::trim).unwrap_or("") {
        "active" | "reloading" => Running::Yes { pid: None },
        "" | "unknown" => Running::NotLoaded,
        other => Running::No(other.to_string()),
    }
}

/// `launchctl print <domain>/<label>`: the service's top-level `state = running` and `pid = N`
/// lines (nested blocks, one tab deeper, say other things); a failed print means not loaded.
pub fn launchctl_print(succeeded: bool, stdout: &str) -> Running {
    if !succeeded {
        return Running::NotLoaded;
    }
    let top = |key: &str| {
        stdout.lines().find_map(|l| {
            let depth = l.len() - l.trim_start_matches('\t').len();
            let (k, v) = l.trim().split_once(" = ")?;
            (depth == 1 && k == key).then(|| v.trim().to_string())
        })
    };
    match top("state").as_deref() {
        Some("running") => Running::Yes { pid: top("pid").and_then(|p| p.parse().ok()) },
        Some(other) => Running::No(other.to_string()),
        None => Running::No("unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from `launchctl print gui/501/app.caretaker.desktop` on macOS 14 (trimmed).
    const LAUNCHCTL_RUNNING: &str = "gui/501/app.caretaker.desktop = {
\tactive count = 1
\tpath = /Users/ann/Library/LaunchAgents/app.caretaker.desktop.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /Applications/Caretaker.app/Contents/MacOS/caretaker
\targuments = {
\t\t/Applications/Caretaker.app/Contents/MacOS/caretaker
\t\trun
\t}

\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tdomain = gui/501 [100005]
\truns = 3
\tpid = 4242
\timmediate reason = semaphore
\tforks = 0
\texecs = 1
\tlast exit code = (never exited)

\tspawn type = daemon (3)
\tendpoints = {
\t}
}
";

    const LAUNCHCTL_WAITING: &str = "gui/501/app.caretaker.desktop = {
\tactive count = 0
\tpath = /Users/ann/Library/LaunchAgents/app.caretaker.desktop.plist
\ttype = LaunchAgent
\tstate = not running

\tprogram = /Applications/Caretaker.app/Contents/MacOS/caretaker
\truns = 7
\tlast exit code = 1
\tjob state = exited
}
";

    #[test]
    fn reads_launchctl_print() {
        assert_eq!(launchctl_print(true, LAUNCHCTL_RUNNING), Running::Yes { pid: Some(4242) });
        assert_eq!(launchctl_print(true, LAUNCHCTL_WAITING), Running::No("not running".into()));
        let missing = "Bad request.\nCould not find service \"app.caretaker.desktop\" in domain for user gui: 501\n";
        assert_eq!(launchctl_print(false, missing), Running::NotLoaded);
    }

    #[test]
    fn reads_systemctl_is_active() {
        assert_eq!(systemctl_is_active("active\n"), Running::Yes { pid: None });
        assert_eq!(systemctl_is_active("inactive\n"), Running::No("inactive".into()));
        assert_eq!(systemctl_is_active("failed\n"), Running::No("failed".into()));
        assert_eq!(systemctl_is_active("activating\n"), Running::No("activating".into()));
        assert_eq!(systemctl_is_active(""), Running::NotLoaded);
    }
}
