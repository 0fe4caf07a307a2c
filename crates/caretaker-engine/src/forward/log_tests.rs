//! The forwarder's log lines never carry the Alertmanager's credentials.

use super::*;

/// Collects what the log says, as text.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_alertmanager_credentials_never_reach_the_log() {
    let captured = Captured::default();
    let out = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || out.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // A port nothing listens on: delivery fails and the failure is logged.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = AlertmanagerConfig {
        enabled: true,
        url: format!("http://admin:s3cret-pw@127.0.0.1:{port}/am?token=t0ken"),
        ..AlertmanagerConfig::default()
    };
    let (tx, events) = broadcast::channel(4);
    let alert = Alert {
        id: 1,
        rule: "cpu".into(),
        subject: "cpu".into(),
        alert_type: "threshold_cpu".into(),
        severity: crate::alerts::Severity::Critical,
        status: AlertStatus::Active,
        title: "CPU".into(),
        message: "hot".into(),
        details: serde_json::json!({}),
        created_at: 0,
        acknowledged_at: None,
        resolved_at: None,
        snoozed_until: None,
        last_notified_at: None,
        flap_count: 0,
    };
    let open = vec![alert];
    let cancel = CancellationToken::new();
    let src = Source { events, open: Arc::new(move || open.clone()), clock: Arc::new(crate::SystemClock), cancel: cancel.clone() };
    let task = tokio::spawn(run(cfg, "mini".into(), src));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        if text.contains("could not deliver") {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "no delivery failure logged: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    cancel.cancel();
    let _ = task.await;
    drop(tx);
    assert!(text.contains("forwarding alerts to Alertmanager"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}/am")), "the endpoint is still named: {text}");
    for secret in ["admin", "s3cret-pw", "t0ken"] {
        assert!(!text.contains(secret), "{secret} in the log: {text}");
    }
}
