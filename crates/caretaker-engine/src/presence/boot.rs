//! When the machine booted, so an absence can be blamed on a restart only when there was one.
//! Linux says it in `/proc/stat` (`btime`), macOS in `sysctl -n kern.boottime`; both parsers are
//! compiled everywhere so they are tested on any machine.

use std::process::{Command, Stdio};

/// The boot time in ms since the epoch, or None when the OS does not say.
pub fn boot_time_ms() -> Option<i64> {
    if cfg!(target_os = "macos") {
        let out = Command::new("/usr/sbin/sysctl").args(["-n", "kern.boottime"]).stdin(Stdio::null()).output().ok()?;
        out.status.success().then(|| parse_kern_boottime(&String::from_utf8_lossy(&out.stdout))).flatten()
    } else {
        parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
    }
}

/// The `btime <seconds>` line of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Option<i64> {
    let secs: i64 = text.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    Some(secs * 1000)
}

/// `{ sec = 1764590000, usec = 123456 } Mon Dec  1 10:00:00 2026`.
pub fn parse_kern_boottime(text: &str) -> Option<i64> {
    let inner = text.split_once('{')?.1.split_once('}')?.0;
    let field = |name: &str| -> Option<i64> {
        inner.split(',').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.trim() == name).then(|| v.trim().parse().ok()).flatten()
        })
    };
    Some(field("sec")? * 1000 + field("usec").unwrap_or(0) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_btime_from_proc_stat() {
        let text = "cpu  10 0 20 300 0 0 0 0 0 0\ncpu0 10 0 20 300 0 0 0 0 0 0\nintr 123 0\nctxt 456\nbtime 1764590000\nprocesses 789\n";
        assert_eq!(parse_proc_stat(text), Some(1_764_590_000_000));
        assert_eq!(parse_proc_stat("cpu 1 2 3\n"), None);
        assert_eq!(parse_proc_stat("btime soon\n"), None);
    }

    #[test]
    fn reads_kern_boottime_as_sysctl_prints_it() {
        let text = "{ sec = 1764590000, usec = 250000 } Mon Dec  1 10:00:00 2026\n";
        assert_eq!(parse_kern_boottime(text), Some(1_764_590_000_250));
        assert_eq!(parse_kern_boottime("sysctl: unknown oid 'kern.boottime'\n"), None);
        assert_eq!(parse_kern_boottime("{ usec = 5 }"), None);
    }

    #[test]
    fn this_machine_has_booted_in_the_past() {
        let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
        let boot = boot_time_ms().expect("this OS says when it booted");
        assert!(boot > 0 && boot <= now, "boot {boot}, now {now}");
    }
}
