//! Notification channels end to end: a real engine, a real SQLite outbox and loopback receivers
//! that record what each provider was sent.

mod channels_support;
mod common;

use caretaker_engine::channels::secret;
use channels_support::{heal, set_secret, start, write_config, Receiver};
use common::{free_addr, free_port, until};

fn channel(name: &str, kind: &str, rest: &str) -> String {
    format!("[[notifications.channels]]\nname = \"{name}\"\nkind = \"{kind}\"\n{rest}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_provider_gets_its_documented_payload_and_a_recovery_follows() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(200).await;
    let closed = free_port();
    let extra = [
        channel("phone", "ntfy", &format!("server = \"{}\"\ntopic = \"mini-alerts\"", r.url(""))),
        channel("slack", "webhook", &format!("url = \"{}\"\npreset = \"slack\"", r.url("/slack"))),
        channel("discord", "webhook", &format!("url = \"{}\"\npreset = \"discord\"", r.url("/discord"))),
        channel("matrix", "webhook", &format!("url = \"{}\"\npreset = \"matrix\"", r.url("/matrix"))),
        channel("hook", "webhook", &format!("url = \"{}\"", r.url("/generic"))),
        channel("po", "pushover", &format!("api_url = \"{}\"", r.url(""))),
        channel("tg", "telegram", &format!("api_url = \"{}\"\nchat_id = \"-10042\"", r.url(""))),
    ]
    .concat();
    write_config(dir.path(), closed, &extra);
    std::env::set_var(caretaker_engine::secrets::KEYCHAIN_ENV, "off");
    secret::store(dir.path(), "phone", "token", "tk_phone_secret").unwrap();
    secret::store(dir.path(), "po", "user_key", "u-key-123").unwrap();
    secret::store(dir.path(), "po", "app_token", "a-token-456").unwrap();
    secret::store(dir.path(), "tg", "bot_token", "123:BOTSECRET").unwrap();
    let engine = start(dir.path()).await;
    let alert = until("the alert opens", 20, async || engine.open_alerts().into_iter().find(|a| a.subject == "Closed")).await;
    let title = alert.title.clone();
    let paths = ["/mini-alerts", "/slack", "/discord", "/matrix", "/generic", "/1/messages.json", "/bot123:BOTSECRET/sendMessage"];
    until("every provider is called", 20, async || paths.iter().all(|p| !r.at(p).is_empty()).then_some(())).await;

    let ntfy = &r.at("/mini-alerts")[0];
    assert_eq!(ntfy.headers["title"], title);
    assert_eq!(ntfy.headers["priority"], if alert.severity.as_str() == "critical" { "5" } else { "4" });
    assert!(ntfy.headers["tags"].ends_with(",caretaker"));
    assert_eq!(ntfy.headers["authorization"], "Bearer tk_phone_secret");
    assert_eq!(ntfy.body, alert.message);
    let text = format!("{title}\n{}", alert.message);
    assert_eq!(r.at("/slack")[0].json(), serde_json::json!({ "text": text }));
    assert_eq!(r.at("/discord")[0].json(), serde_json::json!({ "content": text }));
    assert_eq!(r.at("/matrix")[0].json(), serde_json::json!({ "msgtype": "m.text", "body": text }));
    let g = r.at("/generic")[0].json();
    assert_eq!(g["id"], alert.id);
    assert_eq!((g["rule"].as_str(), g["subject"].as_str(), g["status"].as_str()), (Some("check"), Some("Closed"), Some("active")));
    assert_eq!((g["severity"].as_str(), g["title"].as_str()), (Some(alert.severity.as_str()), Some(title.as_str())));
    assert_eq!(g["message"], alert.message);
    assert!(g["started"].as_str().is_some_and(|s| s.ends_with('Z')), "{g}");
    assert!(g["resolved"].is_null() && g["host"].as_str().is_some_and(|h| !h.is_empty()));
    let po = &r.at("/1/messages.json")[0];
    assert_eq!(po.headers["content-type"], "application/x-www-form-urlencoded");
    assert!(po.body.starts_with("token=a-token-456&user=u-key-123&title="), "{}", po.body);
    let tg = r.at("/bot123:BOTSECRET/sendMessage")[0].json();
    assert_eq!(tg, serde_json::json!({ "chat_id": "-10042", "text": text }));

    let _open = heal(&engine, closed).await;
    let resolved = until("the recovery reaches the generic webhook", 20, async || r.at("/generic").get(1).map(|q| q.json())).await;
    assert_eq!((resolved["status"].as_str(), resolved["transition"].as_str()), (Some("resolved"), Some("resolved")));
    assert!(resolved["resolved"].is_string());
    until("the recovery reaches ntfy", 20, async || (r.at("/mini-alerts").len() == 2).then_some(())).await;
    assert_eq!(r.at("/mini-alerts")[1].headers["priority"], "3");
    let status = until("every channel delivered everything", 20, async || {
        let s = configured(engine.channels_status().await.ok()?);
        s.iter().all(|s| s.pending == 0).then_some(s)
    })
    .await;
    assert!(
        status.iter().all(|s| s.last_success_at.is_some() && s.last_failure_at.is_none() && s.missing_secrets.is_empty()),
        "{status:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_delays_but_loses_nothing_and_keeps_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let closed = free_port();
    write_config(dir.path(), closed, &channel("hook", "webhook", &format!("url = \"http://{addr}/generic\"")));
    let engine = start(dir.path()).await;
    until("the alert opens", 20, async || engine.open_alerts().into_iter().find(|a| a.subject == "Closed")).await;
    let _open = heal(&engine, closed).await;
    until("both wait, the receiver being down", 20, async || {
        let s = engine.channels_status().await.ok()?.pop()?;
        (s.pending == 2 && s.last_failure_at.is_some()).then_some(())
    })
    .await;
    let r = Receiver::on(addr, 200).await;
    until("both arrive", 30, async || (r.at("/generic").len() >= 2).then_some(())).await;
    until("nothing waits", 10, async || (engine.channels_status().await.ok()?.last()?.pending == 0).then_some(())).await;
    let got: Vec<String> = r.at("/generic").iter().map(|q| q.json()["transition"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(got, vec!["opened", "resolved"], "once each, in order");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_left_at_a_stop_are_delivered_after_the_restart_once() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    write_config(dir.path(), free_port(), &channel("hook", "webhook", &format!("url = \"http://{addr}/generic\"")));
    let engine = start(dir.path()).await;
    until("the alert waits for delivery", 20, async || {
        let s = engine.channels_status().await.ok()?.pop()?;
        (s.pending == 1 && s.last_failure_at.is_some()).then_some(())
    })
    .await;
    engine.shutdown().await;

    let r = Receiver::on(addr, 200).await;
    let engine = start(dir.path()).await;
    until("delivered after the restart", 20, async || (!r.at("/generic").is_empty()).then_some(())).await;
    until("nothing waits", 10, async || (engine.channels_status().await.ok()?.last()?.pending == 0).then_some(())).await;
    engine.shutdown().await;
    let engine = start(dir.path()).await;
    let test = engine.channel_test("hook").await.unwrap();
    assert!(test.delivered, "{test:?}");
    let got: Vec<String> = r.at("/generic").iter().map(|q| q.json()["transition"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(got, vec!["opened", "test"], "the alert was not sent again after delivery");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_delay_another_channel() {
    let dir = tempfile::tempdir().unwrap();
    let hang = Receiver::start(0).await;
    let fast = Receiver::start(200).await;
    let extra = [
        channel("slow", "webhook", &format!("url = \"{}\"", hang.url("/slow"))),
        channel("fast", "webhook", &format!("url = \"{}\"\npreset = \"slack\"", fast.url("/fast"))),
    ]
    .concat();
    write_config(dir.path(), free_port(), &extra);
    let engine = start(dir.path()).await;
    // Far below the 20 s a delivery may take before it counts as failed.
    until("the fast channel delivers", 5, async || (!fast.at("/fast").is_empty()).then_some(())).await;
    let slow = engine.channels_status().await.unwrap().into_iter().find(|s| s.name == "slow").unwrap();
    assert_eq!(slow.pending, 1, "{slow:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_a_test_answers_with_the_server_reply_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let ok = Receiver::start(200).await;
    let bad = Receiver::start(403).await;
    let extra = [
        channel("good", "ntfy", &format!("server = \"{}\"\ntopic = \"t1\"\nmin_severity = \"critical\"", ok.url(""))),
        channel("bad", "ntfy", &format!("server = \"{}\"\ntopic = \"t2\"", bad.url(""))),
    ]
    .concat();
    // No check: nothing but the tests is sent.
    std::fs::write(dir.path().join("caretaker.toml"), format!("[notifications]\nenabled = false\n{extra}")).unwrap();
    let engine = start(dir.path()).await;
    set_secret(&engine, "bad", "token", "tk_do_not_leak").await.unwrap();
    let good = engine.channel_test("good").await.unwrap();
    assert!(good.delivered && good.error.is_none(), "{good:?}");
    assert!(ok.at("/t1")[0].headers["title"].starts_with("Test message from Caretaker on "));
    let failed = engine.channel_test("bad").await.unwrap();
    assert!(!failed.delivered);
    let error = failed.error.unwrap();
    assert!(error.starts_with("HTTP 403 Forbidden: "), "{error}");
    assert!(error.contains("authorization=Bearer [redacted]") && !error.contains("tk_do_not_leak"), "{error}");
    let status = engine.channels_status().await.unwrap();
    let bad_status = status.iter().find(|s| s.name == "bad").unwrap();
    assert_eq!(bad_status.pending, 0, "a failed test is not retried");
    assert!(bad_status.last_error.as_deref().is_some_and(|e| e.contains("403")));
    assert!(engine.channel_test("nope").await.is_err());
    assert!(set_secret(&engine, "good", "password", "x").await.is_err(), "ntfy has no password");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_pings_at_its_period_and_stops_with_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(200).await;
    std::fs::write(
        dir.path().join("caretaker.toml"),
        format!("[notifications]\nenabled = false\n[notifications.heartbeat]\nurl = \"{}\"\n", r.url("/ping/abc")),
    )
    .unwrap();
    let mut o = channels_support::options(dir.path());
    o.heartbeat_period = Some(std::time::Duration::from_millis(300));
    let engine = caretaker_engine::Engine::start(o).await.unwrap();
    let t = std::time::Instant::now();
    until("three pings", 10, async || (r.at("/ping/abc").len() >= 3).then_some(())).await;
    // Three pings take two periods; far fewer than three in that time would mean no period.
    assert!(t.elapsed() >= std::time::Duration::from_millis(550), "{:?}", t.elapsed());
    assert!(r.at("/ping/abc").iter().all(|q| q.body == "ok"));
    engine.shutdown().await;
    let after = r.at("/ping/abc").len();
    // The task has been joined by shutdown; a few periods more show no stray ping.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(r.at("/ping/abc").len(), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_saved_renamed_and_deleted_with_their_secrets_outside_the_file() {
    use caretaker_engine::channels::{ChannelConfig, ChannelKind, ChannelSecret};
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(200).await;
    let path = dir.path().join("caretaker.toml");
    std::fs::write(&path, "# my own note\n[notifications]\nenabled = false # no screen here\n").unwrap();
    let engine = start(dir.path()).await;
    let mut c = ChannelConfig::new("tg", ChannelKind::Telegram);
    c.chat_id = Some("42".into());
    c.api_url = Some(r.url(""));
    let token = ChannelSecret { key: "bot_token".into(), value: "777:TOKEN".into() };
    let status = engine.save_channel(None, c.clone(), vec![token.clone()]).await.unwrap();
    assert_eq!((status[0].name.as_str(), status[0].enabled), ("This computer", false), "the built-in channel, first: {status:?}");
    let status = configured(status);
    assert_eq!((status.len(), status[0].missing_secrets.len()), (1, 0), "{status:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my own note") && text.contains("# no screen here"), "{text}");
    assert!(text.contains("[[notifications.channels]]") && text.contains("chat_id = \"42\""), "{text}");
    assert!(!text.contains("777:TOKEN"), "a secret in the file: {text}");
    assert!(engine.channel_test("tg").await.unwrap().delivered);
    assert_eq!(r.at("/bot777:TOKEN/sendMessage").len(), 1);

    let wrong = ChannelSecret { key: "password".into(), value: "x".into() };
    assert!(engine.save_channel(None, ChannelConfig::new("other", ChannelKind::Pushover), vec![wrong]).await.is_err());
    let mut dup = c.clone();
    dup.name = "TG".into();
    let err = engine.save_channel(None, dup, Vec::new()).await.unwrap_err().to_string();
    assert!(err.contains("notifications.channels[1].name"), "{err}");

    let mut renamed = c.clone();
    renamed.name = "telegram".into();
    let status = configured(engine.save_channel(Some("tg".into()), renamed, Vec::new()).await.unwrap());
    assert_eq!((status[0].name.as_str(), status[0].missing_secrets.len()), ("telegram", 0), "the token moved along: {status:?}");
    assert!(engine.channel_test("telegram").await.unwrap().delivered);

    assert!(configured(engine.delete_channel("telegram").await.unwrap()).is_empty());
    assert!(!std::fs::read_to_string(&path).unwrap().contains("notifications.channels"));
    engine.save_channel(None, ChannelConfig { name: "telegram".into(), ..c }, Vec::new()).await.unwrap();
    let status = configured(engine.channels_status().await.unwrap());
    assert_eq!(status[0].missing_secrets, vec!["bot_token"], "deleting forgot the token");
    assert!(engine.delete_channel("This computer").await.is_err(), "the built-in channel is switched, not deleted");

    // This screen's notifications, switched from the app: in the file (its comment kept) and at once.
    let status = engine.set_native_notifications(true).await.unwrap();
    assert!(status[0].enabled, "{status:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("enabled = true # no screen here"), "{text}");
    engine.shutdown().await;
}

/// The configured channels, without the built-in one of this machine's own notifications.
fn configured(all: Vec<caretaker_engine::channels::ChannelStatus>) -> Vec<caretaker_engine::channels::ChannelStatus> {
    all.into_iter().filter(|s| s.kind != caretaker_engine::channels::ChannelKind::Desktop).collect()
}

#[test]
fn the_readme_examples_are_valid_config() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let start = readme.find("## Getting alerts on your phone").expect("the README section");
    let section = &readme[start..start + readme[start..].find("\n## More than one machine").unwrap()];
    let blocks: Vec<&str> = section.split("```toml\n").skip(1).map(|b| &b[..b.find("```").unwrap()]).collect();
    assert_eq!(blocks.len(), 3);
    let config = caretaker_engine::Config::from_toml_str(&blocks.concat()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(config.notifications.channels.len(), 2);
    assert!(config.notifications.heartbeat.is_some_and(|h| h.enabled() && h.interval_minutes == 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_set_from_the_app_pings_at_once_and_a_removed_one_stops() {
    use caretaker_engine::channels::config::HeartbeatConfig;
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(200).await;
    let path = dir.path().join("caretaker.toml");
    std::fs::write(&path, "# my own note\n[notifications]\nenabled = false # no screen here\n").unwrap();
    let mut o = channels_support::options(dir.path());
    o.heartbeat_period = Some(std::time::Duration::from_millis(200));
    let engine = caretaker_engine::Engine::start(o).await.unwrap();
    assert!(engine.notifications_settings().heartbeat.is_none());

    let set = engine.save_heartbeat(Some(HeartbeatConfig { url: r.url("/hc/1"), interval_minutes: 2 })).await.unwrap();
    assert_eq!(set.heartbeat.as_ref().map(|h| h.interval_minutes), Some(2));
    until("pings to the new URL without a restart", 10, async || (r.at("/hc/1").len() >= 2).then_some(())).await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my own note") && text.contains("# no screen here"), "comments kept: {text}");
    assert!(text.contains("[notifications.heartbeat]") && text.contains("interval_minutes = 2"), "{text}");

    // A new URL replaces the old one: the old stops getting pings.
    engine.save_heartbeat(Some(HeartbeatConfig { url: r.url("/hc/2"), interval_minutes: 5 })).await.unwrap();
    until("pings to the second URL", 10, async || (!r.at("/hc/2").is_empty()).then_some(())).await;
    let old = r.at("/hc/1").len();
    until("a few more pings to the second URL", 10, async || (r.at("/hc/2").len() >= 4).then_some(())).await;
    assert_eq!(r.at("/hc/1").len(), old, "the replaced heartbeat stopped");

    // A bad URL is refused with its field named, and nothing changes.
    let err = engine.save_heartbeat(Some(HeartbeatConfig { url: "not a url".into(), interval_minutes: 5 })).await.unwrap_err();
    assert!(err.to_string().contains("notifications.heartbeat.url"), "{err}");
    assert!(std::fs::read_to_string(&path).unwrap().contains(&r.url("/hc/2")));

    engine.save_heartbeat(None).await.unwrap();
    assert!(!std::fs::read_to_string(&path).unwrap().contains("heartbeat"));
    let stopped = r.at("/hc/2").len();
    // Stopping cannot be polled for: a few periods with no ping show it.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(r.at("/hc/2").len() <= stopped + 1, "at most the ping already under way");
    engine.shutdown().await;
}
