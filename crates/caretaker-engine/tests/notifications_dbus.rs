//! A real notification over a real D-Bus session bus: a fake `org.freedesktop.Notifications`
//! server records every Notify call. Run under `dbus-run-session` (`cargo xtask test` does).
#![allow(clippy::type_complexity)]
#![cfg(all(unix, not(target_os = "macos")))]

use caretaker_engine::alerts::notify::{DesktopSink, Sink};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct FakeServer {
    calls: Arc<Mutex<Vec<(String, String, String, u8)>>>,
    /// The actions each notification offered, by its id.
    actions: Arc<Mutex<Vec<(u32, Vec<String>)>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeServer {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok()).unwrap_or(255);
        let mut calls = self.calls.lock().unwrap();
        calls.push((app_name, summary, body, urgency));
        let id = calls.len() as u32;
        self.actions.lock().unwrap().push((id, actions));
        id
    }

    #[zbus(signal)]
    async fn action_invoked(emitter: &zbus::object_server::SignalEmitter<'_>, id: u32, action_key: &str) -> zbus::Result<()>;

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("fake".into(), "caretaker-tests".into(), "1.0".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

const PATH: &str = "/org/freedesktop/Notifications";

/// The fake server on the session bus. One test at a time owns the well-known name.
async fn serve(server: &FakeServer) -> zbus::Connection {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session bus: run this test under `dbus-run-session --` (cargo xtask test does)"
    );
    zbus::connection::Builder::session().name("org.freedesktop.Notifications").serve_at(PATH, server.clone()).build().await.unwrap()
}

static BUS_NAME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_notification_reaches_the_session_bus() {
    let _name = BUS_NAME.lock().await;
    let server = FakeServer::default();
    let _conn = serve(&server).await;

    let shown =
        tokio::task::spawn_blocking(|| DesktopSink.show("Web is down on mini", "Web is down: connection refused", true)).await.unwrap();
    assert_eq!(shown, Ok(()));
    let calls = server.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, "Caretaker");
    assert_eq!(calls[0].1, "Web is down on mini");
    assert_eq!(calls[0].2, "Web is down: connection refused");
    assert_eq!(calls[0].3, 2, "critical urgency");
}

/// An alert shown by the engine offers a default action; clicking it (the server's
/// `ActionInvoked` signal) makes the engine say which alert to open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_an_alert_notification_asks_the_app_to_open_that_alert() {
    use caretaker_engine::{Engine, EngineOptions, Event};
    let _name = BUS_NAME.lock().await;
    let server = FakeServer::default();
    let conn = serve(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        dir.path().join("caretaker.toml"),
        format!(
            "[metrics]\ninterval_secs = 60\n[alerts]\ncheck_failures_before_alert = 1\n[[checks.list]]\nname = \"Closed\"\n\
             interval_secs = 3600\ntimeout_secs = 2\ntcp = {{ port = {closed} }}\n"
        ),
    )
    .unwrap();
    let mut o = EngineOptions::new(dir.path());
    o.notifier = Arc::new(DesktopSink);
    o.notification_window = std::time::Duration::from_millis(100);
    let engine = Engine::start(o).await.unwrap();
    let mut rx = engine.subscribe();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let shown = loop {
        let calls = server.calls.lock().unwrap().clone();
        if let Some(i) = calls.iter().position(|c| c.1.starts_with("Closed is down")) {
            break server.actions.lock().unwrap()[i].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no notification within 20 s: {:?}", server.calls.lock().unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(shown.1, vec!["default".to_string(), "Open".to_string()], "a default action to click");
    let alert = engine.open_alerts().into_iter().find(|a| a.subject == "Closed").expect("the alert is open");
    let iface = conn.object_server().interface::<_, FakeServer>(PATH).await.unwrap();
    FakeServer::action_invoked(iface.signal_emitter(), shown.0, "default").await.unwrap();
    let clicked = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Ok(Event::NotificationClicked { alert_id }) => return alert_id,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .expect("no click event within 10 s");
    assert_eq!(clicked, Some(alert.id));
    let status = engine.channels_status().await.unwrap();
    let desktop = status.iter().find(|s| s.name == "This computer").expect("the built-in channel is listed");
    assert!(desktop.last_success_at.is_some() && desktop.pending == 0, "{desktop:?}");
    engine.shutdown().await;
}
