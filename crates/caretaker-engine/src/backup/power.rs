//! Whether a scheduled backup should wait: on battery power, or on a metered connection (a phone's
//! hotspot), where the operating system reports it. A backup the person starts runs regardless.
//!
//! - Battery, Linux: `/sys/class/power_supply` (a mains supply exists and none is online, and a
//!   battery exists). macOS: `pmset -g batt` ("Now drawing from 'Battery Power'"), run as argv.
//! - Metered, Linux: NetworkManager's `Metered` property over the system D-Bus (yes, or guessed
//!   yes). macOS reports it only to apps through the Network framework, which a command cannot
//!   read: there the switch has no effect, and the app says so.
//!
//! Unknown counts as "not on battery, not metered": a Mac mini has no battery, and a machine
//! whose state cannot be read must keep backing up.

use super::config::PlanConfig;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conditions {
    pub on_battery: bool,
    pub metered: bool,
}

/// Why a scheduled backup of `plan` waits now, if it does.
pub fn why_paused(plan: &PlanConfig, now: Conditions) -> Option<&'static str> {
    if plan.pause_on_battery && now.on_battery {
        Some("waiting: this Mac runs on battery (it backs up once it is plugged in)")
    } else if plan.pause_on_metered && now.metered && super::location::Location::is_remote(&plan.repository) {
        Some("waiting: the network connection is metered (it backs up on an unmetered one)")
    } else {
        None
    }
}

/// Linux: the supplies under `/sys/class/power_supply` as (type, online) pairs.
pub fn on_battery_from_supplies(supplies: &[(String, String)]) -> bool {
    let mains: Vec<&str> = supplies.iter().filter(|(t, _)| t.trim() == "Mains").map(|(_, o)| o.trim()).collect();
    let battery = supplies.iter().any(|(t, _)| t.trim() == "Battery");
    battery && !mains.is_empty() && mains.iter().all(|o| *o == "0")
}

/// macOS: `pmset -g batt`'s first line names the source.
pub fn on_battery_from_pmset(out: &str) -> Option<bool> {
    let line = out.lines().find(|l| l.contains("Now drawing from"))?;
    Some(line.contains("'Battery Power'"))
}

/// NetworkManager's `NMMetered`: 1 yes, 3 guessed yes; 0 unknown, 2 no, 4 guessed no.
pub fn metered_from_nm(value: u32) -> bool {
    matches!(value, 1 | 3)
}

fn supplies(root: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(root.join("class/power_supply")) else { return Vec::new() };
    entries
        .flatten()
        .map(|e| {
            let read = |f: &str| std::fs::read_to_string(e.path().join(f)).unwrap_or_default();
            (read("type"), read("online"))
        })
        .collect()
}

#[cfg(target_os = "linux")]
async fn metered_linux() -> bool {
    let ask = async {
        let conn = zbus::Connection::system().await.ok()?;
        let proxy =
            zbus::Proxy::new(&conn, "org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager", "org.freedesktop.NetworkManager")
                .await
                .ok()?;
        proxy.get_property::<u32>("Metered").await.ok()
    };
    tokio::time::timeout(Duration::from_secs(2), ask).await.ok().flatten().is_some_and(metered_from_nm)
}

async fn on_battery_macos() -> bool {
    let out = tokio::process::Command::new("pmset").args(["-g", "batt"]).output();
    match tokio::time::timeout(Duration::from_secs(5), out).await {
        Ok(Ok(o)) if o.status.success() => on_battery_from_pmset(&String::from_utf8_lossy(&o.stdout)).unwrap_or(false),
        _ => false,
    }
}

#[cfg(not(target_os = "linux"))]
async fn metered_linux() -> bool {
    false
}

/// This machine's conditions now.
pub async fn read() -> Conditions {
    if cfg!(target_os = "macos") {
        Conditions { on_battery: on_battery_macos().await, metered: false }
    } else {
        Conditions { on_battery: on_battery_from_supplies(&supplies(Path::new("/sys"))), metered: metered_linux().await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(t: &str, o: &str) -> (String, String) {
        (format!("{t}\n"), format!("{o}\n"))
    }

    #[test]
    fn battery_is_read_from_the_supplies_and_from_pmset() {
        assert!(on_battery_from_supplies(&[pair("Mains", "0"), pair("Battery", "")]));
        assert!(!on_battery_from_supplies(&[pair("Mains", "1"), pair("Battery", "")]));
        // A desktop (no battery) and a machine that reports nothing are on mains.
        assert!(!on_battery_from_supplies(&[pair("Mains", "0")]));
        assert!(!on_battery_from_supplies(&[]));
        // Recorded on a MacBook: unplugged, then plugged in; a Mac mini prints no battery at all.
        let unplugged =
            "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t87%; discharging; 6:12 remaining present: true\n";
        let plugged = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t88%; charging; 0:41 remaining present: true\n";
        assert_eq!(on_battery_from_pmset(unplugged), Some(true));
        assert_eq!(on_battery_from_pmset(plugged), Some(false));
        assert_eq!(on_battery_from_pmset("Now drawing from 'AC Power'\n"), Some(false));
        assert_eq!(on_battery_from_pmset(""), None);
    }

    #[test]
    fn the_supplies_are_read_from_sysfs() {
        let root = tempfile::tempdir().expect("tempdir");
        let put = |name: &str, t: &str, online: Option<&str>| {
            let d = root.path().join("class/power_supply").join(name);
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(d.join("type"), format!("{t}\n")).expect("type");
            if let Some(o) = online {
                std::fs::write(d.join("online"), format!("{o}\n")).expect("online");
            }
        };
        put("AC", "Mains", Some("0"));
        put("BAT0", "Battery", None);
        assert!(on_battery_from_supplies(&supplies(root.path())));
        put("AC", "Mains", Some("1"));
        assert!(!on_battery_from_supplies(&supplies(root.path())));
        assert!(supplies(&root.path().join("nothing")).is_empty());
    }

    #[test]
    fn a_scheduled_backup_waits_for_mains_and_an_unmetered_link_when_asked() {
        assert!((0..5).map(metered_from_nm).eq([false, true, false, true, false]));
        let mut plan = crate::backup::config::PlanConfig {
            repository: "s3:https://K@s3.eu-central-003.backblazeb2.com/b".into(),
            ..crate::backup::config::PlanConfig::sample()
        };
        let battery = Conditions { on_battery: true, metered: false };
        let metered = Conditions { on_battery: false, metered: true };
        assert!(why_paused(&plan, battery).is_some_and(|w| w.contains("battery")));
        assert!(why_paused(&plan, metered).is_some_and(|w| w.contains("metered")));
        assert_eq!(why_paused(&plan, Conditions::default()), None);
        // A disk on this Mac costs no data plan.
        plan.repository = "/Volumes/B/repo".into();
        assert_eq!(why_paused(&plan, metered), None);
        plan.pause_on_battery = false;
        assert_eq!(why_paused(&plan, battery), None);
    }
}
