//! The detectors service: evaluates every enabled detector on its own tick from the stored
//! series (a detector keeps no state of its own), raises or resolves their alerts, keeps what
//! each last found for the UI, and edits the `[[detectors]]` part of the config.

use super::{alert_text, evaluate, read_series, DetectorConfig, DetectorState, Verdict, RULE};
use crate::alerts::Effects;
use crate::core::{Core, Piece};
use crate::error::{EngineError, Result};
use crate::events::Event;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub(crate) struct Service {
    core: Arc<Core>,
    /// What each detector's last evaluation found.
    states: RwLock<Vec<DetectorState>>,
    /// One evaluation at a time (the tick and an explicit call).
    eval: tokio::sync::Mutex<()>,
}

impl Service {
    pub fn new(core: Arc<Core>) -> Arc<Self> {
        let states = core.config().detectors.into_iter().map(DetectorState::new).collect();
        Arc::new(Service { core, states: RwLock::new(states), eval: tokio::sync::Mutex::new(()) })
    }

    pub async fn run(self: Arc<Self>) {
        let me = self.clone();
        self.core
            .every(Duration::from_secs(5), || async {
                if let Err(e) = me.evaluate().await {
                    tracing::warn!("detectors could not be evaluated: {e}");
                }
            })
            .await;
    }

    pub fn states(&self) -> Vec<DetectorState> {
        self.states.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Evaluates every enabled detector now, raises or resolves their alerts, and publishes.
    pub async fn evaluate(&self) -> Result<Vec<DetectorState>> {
        let _one = self.eval.lock().await;
        let core = &self.core;
        let list = core.config().detectors;
        let now = core.now();
        let host = core.hostname.clone();
        type Found = Option<std::result::Result<Verdict, String>>;
        let evaluated: Vec<(DetectorConfig, Found)> = core
            .db
            .read_async(move |c| {
                Ok(list
                    .into_iter()
                    .map(|d| {
                        let found = d.enabled.then(|| d.rule()).flatten().map(|r| {
                            read_series(c, &d, now - r.lookback_ms(), now)
                                .map(|points| evaluate(r, &points, now))
                                .map_err(|e| e.to_string())
                        });
                        (d, found)
                    })
                    .collect())
            })
            .await?;
        let (states, fx) = core
            .in_alerts(move |m, c, _| {
                let mut fx = Effects::default();
                let keep: Vec<String> = evaluated.iter().filter(|(d, _)| d.enabled).map(|(d, _)| d.name.clone()).collect();
                fx.changed.extend(m.forget_subjects_except(c, RULE, &keep, now)?);
                let mut states = Vec::with_capacity(evaluated.len());
                for (d, found) in evaluated {
                    let mut st = DetectorState::new(d.clone());
                    match found {
                        None => {}
                        // An unreadable series changes nothing: an open alert stays open.
                        Some(Err(e)) => st.error = Some(e),
                        Some(Ok(v)) => {
                            let step = if v.firing {
                                let (title, message, details) = alert_text(&d, &v, &host, now);
                                m.raise(c, RULE, d.name.clone(), "detector", d.severity, title, message, details, now)?
                            } else {
                                m.clear(c, RULE, d.name.clone(), now)?
                            };
                            fx.merge(step);
                            st.firing = v.firing;
                            st.summary = v.summary;
                            st.evidence = v.evidence;
                            st.evaluated_at = Some(now);
                        }
                    }
                    st.alert_id = m.open_alert(RULE, &d.name).map(|a| a.id);
                    states.push(st);
                }
                Ok((states, fx))
            })
            .await?;
        core.publish(fx);
        let was_empty = match self.states.write() {
            Ok(mut s) => std::mem::replace(&mut *s, states.clone()).is_empty(),
            Err(_) => false,
        };
        // Nothing configured and nothing was: no event every tick.
        if !(was_empty && states.is_empty()) {
            core.emit(Event::Detectors { detectors: states.clone() });
        }
        Ok(states)
    }

    /// Adds a detector, or replaces the one named `original`.
    pub async fn save(&self, original: Option<String>, detector: DetectorConfig) -> Result<Vec<DetectorState>> {
        self.edit(move |list| {
            match original.as_deref() {
                Some(name) => {
                    let slot = list.iter_mut().find(|d| d.name == name).ok_or_else(|| no_detector(name))?;
                    *slot = detector;
                }
                None => list.push(detector),
            }
            Ok(())
        })
        .await
    }

    pub async fn delete(&self, name: String) -> Result<Vec<DetectorState>> {
        self.edit(move |list| {
            let before = list.len();
            list.retain(|d| d.name != name);
            if list.len() == before {
                return Err(no_detector(&name));
            }
            Ok(())
        })
        .await
    }

    /// Validated with the whole config and written to caretaker.toml atomically (the rest of
    /// the file, comments included, is kept); then evaluated at once.
    async fn edit(&self, f: impl FnOnce(&mut Vec<DetectorConfig>) -> Result<()>) -> Result<Vec<DetectorState>> {
        self.core.edit_config(Piece::Detectors, |c| f(&mut c.detectors)).await?;
        self.evaluate().await
    }
}

fn no_detector(name: &str) -> EngineError {
    EngineError::NotFound(format!("there is no detector named {name:?}"))
}
