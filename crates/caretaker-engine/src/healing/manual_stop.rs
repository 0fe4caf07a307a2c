//! Whether a service was stopped on purpose, asked of launchd or systemd with a time limit: a
//! hung `launchctl`/`systemctl` must not hold up healing, and never the database writer.

use crate::config::ActionConfig;
use std::time::Duration;

/// How long the service manager gets to answer.
pub(crate) const LIMIT: Duration = Duration::from_secs(5);

/// True when the service was stopped by hand. No answer within `limit` counts as stopped: when
/// Caretaker cannot tell, it leaves the service alone rather than restart one the person stopped.
pub(crate) async fn manually_stopped(a: &ActionConfig, limit: Duration) -> bool {
    let Some(r) = &a.restart_service else { return false };
    let argv: Vec<String> = if cfg!(target_os = "macos") {
        let domain = if r.system { "system".to_string() } else { format!("gui/{}", uid()) };
        vec!["launchctl".into(), "print".into(), format!("{domain}/{}", r.name)]
    } else {
        let mut v = vec!["systemctl".to_string()];
        if !r.system {
            v.push("--user".into());
        }
        v.extend(["show", "-p", "ActiveState", "-p", "Result"].map(String::from));
        v.push(r.name.clone());
        v
    };
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]).stdin(std::process::Stdio::null()).kill_on_drop(true);
    match tokio::time::timeout(limit, cmd.output()).await {
        Err(_) => {
            tracing::warn!(service = %r.name, "{} did not answer within {} s; not restarting the service", argv[0], limit.as_secs());
            true
        }
        Ok(Err(_)) => false,
        // A service the person booted out is not loaded at all.
        Ok(Ok(o)) if cfg!(target_os = "macos") => !o.status.success(),
        Ok(Ok(o)) => {
            let text = String::from_utf8_lossy(&o.stdout);
            // Stopped cleanly (by `systemctl stop`), not crashed.
            o.status.success() && text.contains("ActiveState=inactive") && text.contains("Result=success")
        }
    }
}

fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
