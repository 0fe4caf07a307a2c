//! The analysis service: owns the model client and the one-scan-at-a-time guard; runs scans on
//! the configured cadence or on request, keeps the prompt's lifecycle, and keeps the one analysis
//! alert in step with the latest completed scan (`alert`).

use super::{
    begin_scan, build_input, complete_scan, default_prompt, dismiss, fail_scan, findings, group, issue_text, last_completed_at, next_start,
    parse, reconcile_prompt, scans,
};
use super::{Finding, LlmClient, PromptState, Scan};
use crate::alerts::{list_alerts, Alert, AlertQuery};
use crate::config::{AnalysisConfig, HealingMode};
use crate::core::{Core, Piece, Wake};
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::logs::{self, LogQuery};
use crate::store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PROMPT_VERSION_KEY: &str = "analysis.prompt_version";

pub(crate) struct Service {
    core: Arc<Core>,
    llm: LlmClient,
    /// One scan at a time: set by compare-and-swap, refused (not queued) when taken.
    scan_running: AtomicBool,
}

impl Service {
    pub fn new(core: Arc<Core>) -> Result<Arc<Self>> {
        Ok(Arc::new(Service { core, llm: LlmClient::new()?, scan_running: AtomicBool::new(false) }))
    }

    /// Scans the log every `analysis.cadence_minutes` while analysis is enabled.
    pub async fn run(self: Arc<Self>) {
        let mut changes = self.core.config_changes();
        let mut since = tokio::time::Instant::now();
        loop {
            let cfg = self.core.config().analysis;
            // Switched off: wait for the configuration to change. A new cadence counts from the
            // last scan, so frequent edits do not postpone scans.
            let wait = cfg.enabled.then(|| Duration::from_secs(cfg.cadence_minutes * 60).saturating_sub(since.elapsed()));
            match self.core.sleep_or_reconfigured(wait, &mut changes).await {
                Wake::Stopped => return,
                Wake::Reconfigured => continue,
                Wake::Elapsed => since = tokio::time::Instant::now(),
            }
            if self.core.config().analysis.enabled {
                match self.run_scan("schedule") {
                    Ok(id) => tracing::info!(scan_id = id, "scheduled log analysis started"),
                    Err(e) => tracing::warn!("scheduled log analysis did not start: {e}"),
                }
            }
        }
    }

    async fn prompt_version(&self) -> Result<u32> {
        Ok(self.core.db.read_async(|c| store::kv_get(c, PROMPT_VERSION_KEY)).await?.and_then(|(v, _)| v.parse().ok()).unwrap_or(0))
    }

    async fn set_prompt_version(&self, version: u32) -> Result<()> {
        let now = self.core.now();
        self.core.db.write_async(move |c| store::kv_put(c, PROMPT_VERSION_KEY, &version.to_string(), now)).await
    }

    /// Seeds an empty prompt, or upgrades an unedited one to a newer shipped default.
    pub async fn reconcile_prompt(&self) -> Result<()> {
        let _guard = self.core.edit_lock().await;
        let seeded = self.prompt_version().await?;
        let (next, version) = reconcile_prompt(&self.core.config().analysis, seeded, &default_prompt());
        if let Some(next) = next {
            let mut config = self.core.config();
            config.analysis = next;
            self.core.commit_config(Piece::Section("analysis"), config)?;
            self.set_prompt_version(version).await?;
            tracing::info!(version, "analysis prompt set to the shipped default");
        }
        Ok(())
    }

    pub async fn prompt(&self) -> Result<PromptState> {
        let cfg = self.core.config().analysis;
        let (default_version, default_template) = default_prompt();
        let seeded_version = self.prompt_version().await?;
        Ok(PromptState {
            newer_default_available: cfg.prompt_user_modified && seeded_version < default_version,
            template: cfg.prompt_template,
            user_modified: cfg.prompt_user_modified,
            default_template,
            default_version,
            seeded_version,
        })
    }

    /// The models an endpoint offers.
    pub async fn models(&self, endpoint: String) -> Result<Vec<String>> {
        self.llm.models(&endpoint, Duration::from_secs(10)).await
    }

    /// Changes the analysis settings. Enabling checks first that the endpoint answers and has
    /// the model; when it does not, nothing is saved and analysis stays off.
    pub async fn set(&self, enabled: bool, endpoint: String, model: String, cadence_minutes: u64) -> Result<AnalysisConfig> {
        let mut next = self.core.config().analysis;
        next.endpoint = endpoint.trim().to_string();
        next.model = model.trim().to_string();
        next.cadence_minutes = cadence_minutes;
        next.enabled = enabled;
        if enabled {
            let models = self.llm.models(&next.endpoint, Duration::from_secs(10)).await?;
            if !models.iter().any(|m| *m == next.model || m.split(':').next() == Some(next.model.as_str())) {
                return Err(EngineError::InvalidInput(format!(
                    "the server at {} has no model {:?} (it has: {}); pull it first or pick another",
                    next.endpoint,
                    next.model,
                    if models.is_empty() { "none".to_string() } else { models.join(", ") }
                )));
            }
        }
        self.core
            .edit_config(Piece::Section("analysis"), |c| {
                c.analysis = next;
                Ok(())
            })
            .await?;
        if enabled {
            self.reconcile_prompt().await?;
        }
        Ok(self.core.config().analysis)
    }

    /// How much of the log a scan reads and how long an answer may take (the rest of
    /// `[analysis]` stays; the server and model go through [`Self::set`], which checks them).
    pub async fn set_reading(
        &self,
        max_log_lines: u32,
        min_level: crate::logs::LogLevel,
        request_timeout_secs: u64,
    ) -> Result<AnalysisConfig> {
        let (_, next) = self
            .core
            .edit_config(Piece::Section("analysis"), |c| {
                c.analysis.max_log_lines = max_log_lines;
                c.analysis.min_level = min_level;
                c.analysis.request_timeout_secs = request_timeout_secs;
                Ok(())
            })
            .await?;
        Ok(next.analysis)
    }

    /// The person's own prompt; from now on upgrades keep it.
    pub async fn set_prompt(&self, template: String) -> Result<()> {
        if template.trim().is_empty() {
            return Err(EngineError::InvalidInput("the prompt must not be empty; use \"Reset to default\" instead".into()));
        }
        self.core
            .edit_config(Piece::Section("analysis"), |c| {
                c.analysis.prompt_template = template;
                c.analysis.prompt_user_modified = true;
                Ok(())
            })
            .await
            .map(|_| ())
    }

    pub async fn reset_prompt(&self) -> Result<()> {
        let (version, body) = default_prompt();
        self.core
            .edit_config(Piece::Section("analysis"), |c| {
                c.analysis.prompt_template = body;
                c.analysis.prompt_user_modified = false;
                Ok(())
            })
            .await?;
        self.set_prompt_version(version).await
    }

    pub async fn scans(&self, limit: u32) -> Result<Vec<Scan>> {
        self.core.db.read_async(move |c| scans(c, limit)).await
    }

    pub async fn findings(&self, include_dismissed: bool) -> Result<Vec<Finding>> {
        self.core.db.read_async(move |c| findings(c, include_dismissed, 500)).await
    }

    pub async fn dismiss_finding(&self, id: i64) -> Result<()> {
        let now = self.core.now();
        self.core.db.write_async(move |c| dismiss(c, id, now)).await
    }

    /// A finding as a ready-to-file issue text, with its evidence lines.
    pub async fn issue_text(&self, id: i64) -> Result<String> {
        self.core
            .db
            .read_async(move |c| {
                let f = findings(c, true, 10_000)?
                    .into_iter()
                    .find(|f| f.id == id)
                    .ok_or_else(|| EngineError::NotFound(format!("no finding {id}")))?;
                let mut lines = Vec::new();
                for lid in f.source_log_ids.iter().take(20) {
                    lines.extend(
                        logs::search(c, &LogQuery { before_id: Some(lid + 1), limit: 1, ..Default::default() })?
                            .into_iter()
                            .filter(|l| l.id == *lid),
                    );
                }
                Ok(issue_text(&f, &lines))
            })
            .await
    }

    /// Starts a scan now; a second one while one runs is refused, not queued.
    pub fn run_scan(self: &Arc<Self>, trigger: &str) -> Result<i64> {
        if self.scan_running.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return Err(EngineError::Busy("a log analysis scan is already running".into()));
        }
        let now = self.core.now();
        let trigger = trigger.to_string();
        let begun = self.core.db.write(|c| {
            let start = next_start(c)?;
            let end = logs::max_id(c)?.max(start);
            let id = begin_scan(c, start, end, &trigger, now)?;
            Ok((id, start, end))
        });
        let (id, start, end) = match begun {
            Ok(v) => v,
            Err(e) => {
                self.scan_running.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let me = self.clone();
        self.core.runtime.spawn(async move {
            let scan = me.scan(id, start, end).await;
            // Free the guard before announcing the end, so a reaction to the event can start the next scan.
            me.scan_running.store(false, Ordering::SeqCst);
            if let Some(scan) = scan {
                me.core.emit(Event::AnalysisScan { scan });
            }
        });
        Ok(id)
    }

    async fn scan(&self, id: i64, start: i64, end: i64) -> Option<Scan> {
        let core = &self.core;
        let cfg = core.config().analysis;
        let healing_cfg = core.config().healing;
        let actions: Vec<String> = healing_cfg.actions.iter().filter(|a| a.mode != HealingMode::Off).map(|a| a.id.clone()).collect();
        let (level, cap) = (cfg.min_level, cfg.max_log_lines);
        let read = core
            .db
            .read_async(move |c| {
                let lines = logs::range(c, start, end, level, cap)?;
                let since = last_completed_at(c)?.unwrap_or(0);
                let alerts: Vec<Alert> = list_alerts(c, &AlertQuery { include_resolved: true, limit: 200, subject: None })?
                    .into_iter()
                    .filter(|a| a.created_at > since)
                    .collect();
                Ok((lines, alerts))
            })
            .await;
        let outcome: std::result::Result<Vec<parse::RawFinding>, (String, Option<String>)> = match read {
            Err(e) => Err((e.to_string(), None)),
            Ok((lines, alerts)) if lines.is_empty() && alerts.is_empty() => Ok(Vec::new()),
            Ok((lines, alerts)) => {
                let groups = group(&lines);
                let (input, _) = build_input(&groups, &alerts, &actions, 6000);
                let system = if cfg.prompt_template.trim().is_empty() { default_prompt().1 } else { cfg.prompt_template.clone() };
                match self.llm.chat(&cfg, &system, &input).await {
                    Err(e) => Err((e.to_string(), None)),
                    Ok(answer) => parse::findings(&answer).map_err(|e| (e, Some(answer))),
                }
            }
        };
        let t = core.now();
        let failed = outcome.is_err();
        let stored = match outcome {
            Ok(found) => {
                let data_dir = core.data_dir.clone();
                let done = core.db.write_async(move |c| complete_scan(c, id, &found, &healing_cfg, &data_dir, t)).await;
                done.map(|(findings, records)| {
                    // Suggestions that became escalations show wherever escalations show.
                    for record in records {
                        core.emit(Event::Healing { record });
                    }
                    findings
                })
            }
            Err((error, raw)) => {
                tracing::warn!(scan_id = id, "log analysis failed: {error}");
                let e2 = error.clone();
                core.db.write_async(move |c| fail_scan(c, id, &e2, raw.as_deref(), t)).await.map(|_| Vec::new())
            }
        };
        match stored {
            // A failed scan says nothing about the log: the alert stays as it was.
            Ok(_) if failed => {}
            Ok(found) => {
                let a = super::alert::for_scan(id, &found);
                core.with_alerts(move |m, c, now| {
                    m.settle(
                        c,
                        super::alert::RULE,
                        super::alert::SUBJECT.into(),
                        super::alert::ALERT_TYPE,
                        a.level,
                        a.title,
                        a.message,
                        a.details,
                        now,
                    )
                })
                .await;
            }
            Err(e) => tracing::warn!(scan_id = id, "could not record the scan: {e}"),
        }
        core.db.read_async(move |c| Ok(scans(c, 50)?.into_iter().find(|s| s.scan_id == id))).await.ok().flatten()
    }
}
