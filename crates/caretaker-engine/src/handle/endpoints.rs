//! The HTTP endpoint and the Alertmanager forwarder: started from the configuration, and started
//! again when their section changes (from the app or a hand edit), so no change needs a restart.

use super::EngineHandle;
use crate::forward;
use crate::Result;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Running = Option<(CancellationToken, JoinHandle<()>)>;

#[derive(Default)]
pub(crate) struct Endpoints {
    /// Async: a restart waits for the old listener to close before binding the new one.
    http: tokio::sync::Mutex<Running>,
    alertmanager: Mutex<Running>,
}

impl Endpoints {
    /// The running tasks, for the shutdown to wait for.
    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        let mut out = Vec::new();
        if let Ok(mut h) = self.http.try_lock() {
            out.extend(h.take().map(|(_, t)| t));
        }
        out.extend(self.alertmanager.lock().unwrap_or_else(|p| p.into_inner()).take().map(|(_, t)| t));
        out
    }
}

impl EngineHandle {
    /// Stops the HTTP endpoint if it runs and starts it from `[http]` if enabled. A port that
    /// cannot be bound is said in the engine status; nothing else stops.
    pub(crate) async fn restart_http(&self) {
        let s = self.services();
        let mut slot = s.endpoints.http.lock().await;
        if let Some((stop, task)) = slot.take() {
            stop.cancel();
            let _ = task.await;
        }
        let cfg = s.core.config().http;
        if !cfg.enabled {
            return;
        }
        match tokio::net::TcpListener::bind(&cfg.bind).await {
            Ok(l) => {
                tracing::info!(bind = %cfg.bind, "http endpoint listening");
                let stop = s.core.cancel.child_token();
                *slot = Some((stop.clone(), tokio::spawn(crate::http::serve(self.clone(), l, cfg, stop))));
            }
            Err(e) => {
                tracing::error!("the HTTP endpoint could not listen on {}: {e}", cfg.bind);
                s.core.set_error(Some(format!("the HTTP endpoint could not listen on {}: {e}", cfg.bind)));
            }
        }
    }

    /// What the optional maintenance tasks in `m` would do tonight (read-only).
    pub async fn preview_maintenance(
        &self,
        m: crate::maintenance::config::MaintenanceConfig,
    ) -> Result<crate::maintenance::preview::MaintenancePreview> {
        let dir = self.services().core.data_dir.clone();
        tokio::task::spawn_blocking(move || crate::maintenance::preview::preview(&m, &dir))
            .await
            .map_err(|e| crate::EngineError::Internal(format!("the preview stopped: {e}")))
    }

    /// Sends one test alert to the Alertmanager in `am` (the settings being edited, saved or not).
    pub async fn test_alertmanager(&self, am: forward::AlertmanagerConfig) -> Result<String> {
        let core = &self.services().core;
        let instance = if am.instance.trim().is_empty() { core.hostname.clone() } else { am.instance.clone() };
        forward::test_alert::send(&am, &instance, core.now()).await
    }

    /// Stops the Alertmanager forwarder if it runs and starts it from `[alertmanager]` if
    /// enabled; open alerts are sent again at once by the new one.
    pub(crate) fn restart_alertmanager(&self) {
        let s = self.services();
        let core = &s.core;
        let mut slot = s.endpoints.alertmanager.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((stop, _)) = slot.take() {
            stop.cancel();
        }
        let am = core.config().alertmanager;
        if !am.enabled {
            return;
        }
        let instance = if am.instance.trim().is_empty() { core.hostname.clone() } else { am.instance.clone() };
        let stop = core.cancel.child_token();
        let c = core.clone();
        let source = forward::Source {
            events: core.subscribe(),
            open: Arc::new(move || c.alerts.open()),
            clock: core.clock.clone(),
            cancel: stop.clone(),
        };
        *slot = Some((stop, tokio::spawn(forward::run(am, instance, source))));
    }
}
