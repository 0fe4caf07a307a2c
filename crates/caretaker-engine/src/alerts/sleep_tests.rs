//! A machine that sleeps: the first alert tick after the wake must not find the sampler stale.

use super::{AlertManager, Effects};
use crate::clock::{late_tick, Clock, TestClock};
use crate::config::AlertsConfig;
use crate::metrics::HostSample;
use crate::store::Db;

const T0: i64 = 1_780_000_000_000;

/// One alert-ticker round at the clock's time, as the alert service runs it.
fn tick(m: &mut AlertManager, db: &Db, last_tick: &mut Option<i64>, clock: &TestClock) -> Effects {
    let now = clock.now_ms();
    // The alert service's ticker period.
    if late_tick(last_tick, now, 5_000) {
        m.resumed(now);
    }
    db.write(|c| m.on_tick(c, now)).expect("tick")
}

fn sample(m: &mut AlertManager, db: &Db, clock: &TestClock) -> Effects {
    let s = HostSample { ts_ms: clock.now_ms(), ..Default::default() };
    db.write(|c| m.on_host_sample(c, &s, clock.now_ms())).expect("sample")
}

fn stale(fx: &Effects) -> bool {
    fx.changed.iter().any(|a| a.rule == "stale")
}

#[test]
fn the_first_tick_after_a_sleep_gives_the_sampler_its_intervals_before_judging_it_stale() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("caretaker.db")).expect("db");
    let clock = TestClock::new(T0);
    // Sampler every 5 s, stale after 3 intervals (the defaults).
    let mut m = db.write(|c| AlertManager::load(c, AlertsConfig::default(), 5, "mini".into(), T0)).expect("manager");
    let mut last_tick = None;
    for _ in 0..3 {
        clock.advance(5_000);
        sample(&mut m, &db, &clock);
        assert!(!stale(&tick(&mut m, &db, &mut last_tick, &clock)));
    }
    // An hour asleep; the alert ticker fires first on waking, the sampler a moment later.
    clock.advance(3_600_000);
    assert!(!stale(&tick(&mut m, &db, &mut last_tick, &clock)), "stale right after waking");
    clock.advance(2_000);
    let fx = sample(&mut m, &db, &clock);
    assert!(fx.notices.is_empty() && fx.changed.is_empty(), "no recovery notice: {fx:?}");

    // A sampler that really stopped is still noticed once its allowance has passed.
    for _ in 0..4 {
        clock.advance(5_000);
        tick(&mut m, &db, &mut last_tick, &clock);
    }
    assert!(m.open_alerts().iter().any(|a| a.rule == "stale"), "a silent sampler goes stale");
}
