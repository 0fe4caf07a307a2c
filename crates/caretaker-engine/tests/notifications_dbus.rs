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
        _actions: Vec<String>,
        hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok()).unwrap_or(255);
        let mut calls = self.calls.lock().unwrap();
        calls.push((app_name, summary, body, urgency));
        calls.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("fake".into(), "caretaker-tests".into(), "1.0".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_notification_reaches_the_session_bus() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session bus: run this test under `dbus-run-session --` (cargo xtask test does)"
    );
    let server = FakeServer::default();
    let _conn = zbus::connection::Builder::session()
        .name("org.freedesktop.Notifications")
        .serve_at("/org/freedesktop/Notifications", server.clone())
        .build()
        .await
        .unwrap();

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
