//! Memory alerts on recorded series with an injected clock: pressure where the system reports it
//! (Linux PSI, macOS's level), used % where it does not, and swap judged on growth, not level.
#![allow(clippy::field_reassign_with_default)] // configs read best as "default, then the one setting under test"

use caretaker_engine::alerts::{Alert, AlertManager, Severity};
use caretaker_engine::config::AlertsConfig;
use caretaker_engine::metrics::{HostSample, MemoryPressure, MemorySample, PressureLevel, PsiLine};
use caretaker_engine::store::Db;

const SEC: i64 = 1_000;
const MIN: i64 = 60_000;
const GIB: u64 = 1 << 30;

/// A busy 16 GiB Mac mini or Linux box: 97 % "used", most of it cache.
fn memory(pressure: Option<MemoryPressure>, swap_used: u64) -> MemorySample {
    MemorySample {
        total_bytes: 16 * GIB,
        used_bytes: 97 * 16 * GIB / 100,
        available_bytes: 16 * GIB / 2,
        swap_total_bytes: 8 * GIB,
        swap_used_bytes: swap_used,
        pressure,
    }
}

fn psi(avg60: f64) -> Option<MemoryPressure> {
    let some = PsiLine { avg10: avg60, avg60, avg300: avg60 / 2.0, total_us: 1 };
    Some(MemoryPressure::Psi { some, full: Some(PsiLine { avg10: 0.0, avg60: avg60 / 3.0, avg300: 0.0, total_us: 1 }) })
}

fn macos(level: PressureLevel) -> Option<MemoryPressure> {
    Some(MemoryPressure::Macos { level })
}

struct Feed {
    _dir: tempfile::TempDir,
    db: std::sync::Arc<Db>,
    m: AlertManager,
    at: i64,
    /// Every notice title so far.
    titles: Vec<String>,
}

impl Feed {
    fn new(cfg: AlertsConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        // Sampled every 5 s: the default hold is two intervals, so a level fires on its third sample.
        let m = db.write(|c| AlertManager::load(c, cfg, 5, "mini".into(), 0)).unwrap();
        Feed { _dir: dir, db, m, at: 0, titles: Vec::new() }
    }

    /// `n` samples of this memory, 5 s apart.
    fn samples(&mut self, mem: MemorySample, n: usize) {
        self.every(mem, n, 5 * SEC);
    }

    fn every(&mut self, mem: MemorySample, n: usize, step: i64) {
        for _ in 0..n {
            self.at += step;
            let s = HostSample { ts_ms: self.at, memory: mem.clone(), ..Default::default() };
            let (m, at) = (&mut self.m, self.at);
            let fx = self.db.write(|c| m.on_host_sample(c, &s, at)).unwrap();
            self.titles.extend(fx.notices.into_iter().map(|n| n.title));
        }
    }

    fn open(&self, subject: &str) -> Option<Alert> {
        self.m.open_alerts().into_iter().find(|a| a.rule == "memory" && a.subject == subject)
    }
}

#[test]
fn psi_pressure_warns_escalates_and_clears_below_the_margin_while_used_percent_is_ignored() {
    let mut f = Feed::new(AlertsConfig::default());
    // 97 % used for ten minutes with nothing waiting for memory: a healthy cache, no alert.
    f.samples(memory(psi(0.4), 0), 120);
    assert!(f.open("memory").is_none() && f.titles.is_empty(), "{:?}", f.titles);

    // Some avg60 at 12 %: a warning once it held for two intervals.
    f.samples(memory(psi(12.0), 0), 2);
    assert!(f.open("memory").is_none(), "not before the hold");
    f.samples(memory(psi(12.0), 0), 1);
    assert_eq!(f.open("memory").map(|a| a.severity), Some(Severity::Warning));

    // 34 %: critical, and the message says what was measured.
    f.samples(memory(psi(34.0), 0), 1);
    let a = f.open("memory").expect("open");
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.title, "Memory pressure 34 % (PSI some avg60) on mini");
    assert!(
        a.message.starts_with("Memory pressure 34 % (PSI some avg60): some task waited for memory 34 % of the last minute"),
        "{}",
        a.message
    );
    assert!(a.message.contains("The critical line is 30 %; it clears below 5 %."), "{}", a.message);
    assert!(a.message.contains("Memory used 97 % of 16.0 GiB"), "{}", a.message);
    assert_eq!(a.details["measured"], "psi_some_avg60");
    assert_eq!(f.titles, ["Memory pressure 12 % (PSI some avg60) on mini", "Memory pressure 34 % (PSI some avg60) on mini"]);

    // Down to 8 %: a step down to warning; it clears only below 10 - 5 = 5 %.
    f.samples(memory(psi(8.0), 0), 3);
    assert_eq!(f.open("memory").map(|a| a.severity), Some(Severity::Warning));
    f.samples(memory(psi(6.0), 0), 3);
    assert!(f.open("memory").is_some(), "6 % is within the clear margin");
    f.samples(memory(psi(4.0), 0), 1);
    assert!(f.open("memory").is_none());
    assert_eq!(f.titles.last().map(String::as_str), Some("Recovered: Memory is back to normal"));
}

#[test]
fn psi_lines_and_the_hold_come_from_the_config() {
    let mut cfg = AlertsConfig::default();
    cfg.memory_pressure.warning = 20.0;
    cfg.memory_pressure.for_secs = Some(60);
    let mut f = Feed::new(cfg);
    f.samples(memory(psi(15.0), 0), 40);
    assert!(f.open("memory").is_none(), "under the tuned warning line");
    f.samples(memory(psi(25.0), 0), 12);
    assert!(f.open("memory").is_none(), "55 s of a 60 s hold");
    f.samples(memory(psi(25.0), 0), 1);
    assert_eq!(f.open("memory").map(|a| a.severity), Some(Severity::Warning));
}

#[test]
fn macos_levels_are_warning_and_critical_and_normal_clears() {
    let mut f = Feed::new(AlertsConfig::default());
    f.samples(memory(macos(PressureLevel::Normal), 0), 60);
    assert!(f.open("memory").is_none(), "97 % used at normal pressure is no alert");
    f.samples(memory(macos(PressureLevel::Warning), 0), 3);
    assert_eq!(f.open("memory").map(|a| a.severity), Some(Severity::Warning));
    f.samples(memory(macos(PressureLevel::Critical), 0), 1);
    let a = f.open("memory").expect("open");
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.title, "Memory pressure critical (macOS) on mini");
    assert!(a.message.starts_with("macOS reports memory pressure critical (kern.memorystatus_vm_pressure_level 4)"), "{}", a.message);
    f.samples(memory(macos(PressureLevel::Normal), 0), 1);
    assert!(f.open("memory").is_none());
}

#[test]
fn without_a_pressure_reading_used_percent_is_judged_and_the_message_says_so() {
    let mut f = Feed::new(AlertsConfig::default());
    f.samples(memory(None, 0), 3);
    let a = f.open("memory").expect("97 % used, no pressure reading: the used % rule");
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.title, "Memory used at 97 % on mini");
    assert!(a.message.contains("This system reports no memory pressure, so used memory is judged."), "{}", a.message);

    // With pressure judging turned off, used % is judged even where pressure is reported.
    let mut cfg = AlertsConfig::default();
    cfg.memory_pressure.enabled = false;
    let mut f = Feed::new(cfg);
    f.samples(memory(psi(0.0), 0), 3);
    assert_eq!(f.open("memory").map(|a| a.severity), Some(Severity::Critical));
}

#[test]
fn memory_enabled_false_silences_the_pressure_alert_but_not_swap_growth() {
    let mut cfg = AlertsConfig::default();
    cfg.memory.enabled = false;
    let mut f = Feed::new(cfg);
    f.samples(memory(psi(80.0), 0), 10);
    f.samples(memory(macos(PressureLevel::Critical), 0), 10);
    assert!(f.open("memory").is_none() && f.titles.is_empty(), "{:?}", f.titles);
    // Swap growth has a switch of its own.
    f.samples(memory(macos(PressureLevel::Critical), 3 * GIB), 3);
    assert_eq!(f.titles, ["Swap grew 3.0 GiB in 1 min on mini"]);
}

#[test]
fn a_steady_swap_is_fine_and_swap_growing_a_gib_in_half_an_hour_warns() {
    let mut f = Feed::new(AlertsConfig::default());
    // Six GiB swapped out for two hours at normal pressure: a level, not news.
    f.samples(memory(psi(0.5), 6 * GIB), 2 * 720);
    assert!(f.open("swap").is_none() && f.titles.is_empty(), "{:?}", f.titles);

    // Then it climbs 1.4 GiB over 20 minutes (70 MiB a minute), sampled every 5 s.
    let start = 6 * GIB;
    for i in 1..=240u64 {
        f.samples(memory(psi(0.5), start + i * (1_400 * GIB / 1_000) / 240), 1);
    }
    let a = f.open("swap").expect("swap growth warning");
    assert_eq!((a.severity, a.alert_type.as_str()), (Severity::Warning, "swap_growth"));
    assert_eq!(a.title, "Swap grew 1.4 GiB in 20 min on mini");
    assert!(
        a.message.starts_with("Swap grew 1.4 GiB in 20 min, from 6.0 GiB to 7.4 GiB (the line is 1.0 GiB within 30 min"),
        "{}",
        a.message
    );
    assert_eq!(f.titles.len(), 1, "one warning: {:?}", f.titles);
    assert!(f.open("memory").is_none(), "pressure is still normal");

    // It stops growing: the alert stays while the climb is within the window, then clears.
    f.samples(memory(psi(0.5), start + 1_400 * GIB / 1_000), 12 * 10);
    assert!(f.open("swap").is_some(), "ten minutes after, the climb is still within the window");
    f.samples(memory(psi(0.5), start + 1_400 * GIB / 1_000), 12 * 30);
    assert!(f.open("swap").is_none());
    assert_eq!(f.titles.last().map(String::as_str), Some("Recovered: Swap has stopped growing"));
}

#[test]
fn swap_growth_follows_its_config_and_a_sleep_is_not_growth() {
    let mut cfg = AlertsConfig::default();
    cfg.swap_growth.growth_mib = 512;
    cfg.swap_growth.window_minutes = 10;
    let mut f = Feed::new(cfg.clone());
    // 600 MiB over 20 minutes: 300 MiB per 10-minute window, under the line.
    for i in 1..=20u64 {
        f.every(memory(None, GIB + i * 30 * (1 << 20)), 1, MIN);
    }
    assert!(f.open("swap").is_none());
    // 600 MiB in 5 minutes: over 512 within 10.
    for i in 1..=5u64 {
        f.every(memory(None, GIB + 600 * (1 << 20) + i * 120 * (1 << 20)), 1, MIN);
    }
    assert!(f.open("swap").is_some());

    // A machine that slept two hours and woke with more swap: nothing in the window to grow from.
    let mut f = Feed::new(cfg.clone());
    f.samples(memory(None, GIB), 10);
    f.every(memory(None, 3 * GIB), 1, 2 * 60 * MIN);
    f.samples(memory(None, 3 * GIB), 3);
    assert!(f.open("swap").is_none());

    cfg.swap_growth.enabled = false;
    let mut f = Feed::new(cfg);
    f.samples(memory(None, GIB), 3);
    f.samples(memory(None, 5 * GIB), 10);
    assert!(f.open("swap").is_none(), "turned off");
}
