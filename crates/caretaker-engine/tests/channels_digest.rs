//! The daily digest on a loopback receiver, on the test clock: sent once when its local time
//! comes, not again that day, again the next day.

mod channels_support;
mod common;

use channels_support::Receiver;
use chrono::{Local, TimeZone};
use common::{until, TestClock};
use std::sync::Arc;
use std::time::Duration;

/// The digests the receiver got (the test's clock jumps also raise an absence alert).
fn digests(r: &Receiver) -> Vec<String> {
    r.at("/slack").iter().map(|q| q.body.clone()).filter(|b| b.starts_with("{\"text\":\"Caretaker on ")).collect()
}

fn local(days_ago: u64, h: u32, m: u32) -> i64 {
    let day = Local::now().date_naive() - chrono::Days::new(days_ago);
    let t = day.and_hms_opt(h, m, 0).expect("a valid time");
    Local.from_local_datetime(&t).earliest().expect("a local time that exists").timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_comes_once_a_day_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(200).await;
    std::fs::write(
        dir.path().join("caretaker.toml"),
        format!(
            "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[[notifications.channels]]\nname = \"team\"\nkind = \"webhook\"\nurl = \"{}\"\npreset = \"slack\"\ndigest_at = \"08:00\"\n",
            r.url("/slack")
        ),
    )
    .unwrap();
    let clock = Arc::new(TestClock::at(local(3, 7, 58)));
    let mut o = channels_support::options(dir.path());
    o.clock = clock.clone();
    o.digest_tick = Duration::from_millis(50);
    let engine = caretaker_engine::Engine::start(o).await.unwrap();
    // Ticks pass before the time: nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(digests(&r).is_empty());

    clock.set(local(3, 8, 0) + 20_000);
    let first = until("the digest", 10, async || r.at("/slack").into_iter().find(|q| q.body.contains("Caretaker on "))).await;
    let text = first.json()["text"].as_str().unwrap_or_default().to_string();
    assert!(text.contains("all good"), "{text}");
    assert!(text.contains("No open alerts.") && text.contains("Maintenance: not run yet."), "{text}");

    // Later the same day, after a restart: the outbox remembers the day, so no second one.
    engine.shutdown().await;
    clock.set(local(3, 9, 30));
    let mut o = channels_support::options(dir.path());
    o.clock = clock.clone();
    o.digest_tick = Duration::from_millis(50);
    let engine = caretaker_engine::Engine::start(o).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(digests(&r).len(), 1, "{:#?}", digests(&r));

    // The next morning: one more.
    clock.set(local(2, 8, 5));
    until("the second digest", 10, async || (digests(&r).len() == 2).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(digests(&r).len(), 2, "{:#?}", digests(&r));
    engine.shutdown().await;
}
