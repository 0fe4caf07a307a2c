//! "Send a test alert" from Settings: one alert posted to the Alertmanager the person is setting
//! up (before or after saving it), so they see it arrive and route there. It is labelled as a
//! test, is informational, and ends by itself after five minutes.

use super::{redact_url, rfc3339, AlertmanagerConfig, Postable};
use crate::error::{EngineError, Result};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the test alert stays active in the Alertmanager.
const LASTS_MS: i64 = 5 * 60 * 1000;

/// The test alert as Alertmanager takes it.
pub fn test_postable(instance: &str, now_ms: i64) -> Postable {
    let labels = BTreeMap::from([
        ("alertname".to_string(), "CaretakerTest".to_string()),
        ("severity".to_string(), "info".to_string()),
        ("instance".to_string(), instance.to_string()),
        ("source".to_string(), "caretaker".to_string()),
    ]);
    let annotations = BTreeMap::from([
        ("summary".to_string(), "Test alert from Caretaker".to_string()),
        ("description".to_string(), "Sent from Caretaker's settings to check the connection; it ends by itself in 5 minutes.".to_string()),
    ]);
    Postable {
        labels,
        annotations,
        starts_at: rfc3339(now_ms),
        ends_at: rfc3339(now_ms + LASTS_MS),
        generator_url: format!("caretaker://{instance}/settings"),
    }
}

/// Posts the test alert to `cfg`'s Alertmanager (enabled or not) and says what happened, the URL
/// shown without credentials.
pub async fn send(cfg: &AlertmanagerConfig, instance: &str, now_ms: i64) -> Result<String> {
    let mut issues = Vec::new();
    cfg.validate("alertmanager", &mut issues);
    if !issues.is_empty() {
        return Err(EngineError::Config(issues));
    }
    let url = cfg.endpoint();
    let shown = redact_url(&cfg.url);
    let client = crate::net::http_client()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| EngineError::Internal(format!("cannot build an HTTP client: {e}")))?;
    let body = [test_postable(instance, now_ms)];
    // reqwest's errors carry the URL, credentials included: shown without it.
    let sent = client.post(&url).json(&body).send().await.map_err(|e| refused(&shown, &e.without_url().to_string()))?;
    let status = sent.status();
    if !status.is_success() {
        return Err(refused(&shown, &format!("it answered HTTP {status}")));
    }
    Ok(format!("The Alertmanager at {shown} accepted a test alert (CaretakerTest, severity info); it ends by itself in 5 minutes."))
}

fn refused(shown: &str, why: &str) -> EngineError {
    EngineError::InvalidInput(format!("the Alertmanager at {shown} did not take the test alert: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_alert_is_labelled_as_one_and_ends_by_itself() {
        let p = test_postable("mini", 0);
        assert_eq!(p.labels["alertname"], "CaretakerTest");
        assert_eq!(p.labels["severity"], "info");
        assert_eq!(p.starts_at, "1970-01-01T00:00:00.000Z");
        assert_eq!(p.ends_at, "1970-01-01T00:05:00.000Z");
    }

    #[tokio::test]
    async fn a_refusal_names_the_alertmanager_without_its_password() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let cfg = AlertmanagerConfig { url: format!("http://ann:s3cret@127.0.0.1:{port}"), ..Default::default() };
        let err = send(&cfg, "mini", 0).await.unwrap_err().to_string();
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let bad = AlertmanagerConfig { url: "ftp://x".into(), ..Default::default() };
        assert!(matches!(send(&bad, "mini", 0).await, Err(EngineError::Config(_))));
    }
}
