//! Reads Caretaker's own log with a local language model (any OpenAI-compatible endpoint) and
//! stores classified findings. Owns `analysis_scans` and `analysis_findings`, and the prompt's
//! lifecycle (seeded from `prompts/log_analysis.md`, upgraded unless the person edited it).

pub mod config;
pub mod parse;
pub(crate) mod service;

use crate::alerts::Alert;
use crate::config::AnalysisConfig;
use crate::error::{EngineError, Result};
use crate::logs::LogLine;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use ts_rs::TS;

/// The default prompt as shipped (front matter + body).
pub const DEFAULT_PROMPT_FILE: &str = include_str!("../../../../prompts/log_analysis.md");

/// The prompt's (version, body) from its front matter.
pub fn parse_prompt_file(text: &str) -> (u32, String) {
    let mut version = 0;
    let body = match text.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")) {
        Some((front, body)) => {
            for line in front.lines() {
                if let Some(v) = line.strip_prefix("version:") {
                    version = v.trim().parse().unwrap_or(0);
                }
            }
            body
        }
        None => text,
    };
    (version, body.trim().to_string())
}

pub fn default_prompt() -> (u32, String) {
    parse_prompt_file(DEFAULT_PROMPT_FILE)
}

/// What the Insights page shows about the prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PromptState {
    pub template: String,
    pub user_modified: bool,
    pub default_template: String,
    pub default_version: u32,
    /// The default version the current template came from (0: never seeded).
    pub seeded_version: u32,
    /// The person edited the prompt and a newer default has shipped since.
    pub newer_default_available: bool,
}

/// Seeds an empty template, and upgrades an unedited one to a newer default. Returns the
/// config to save (None when nothing changes) and the version now in use.
pub fn reconcile_prompt(cfg: &AnalysisConfig, seeded_version: u32, default: &(u32, String)) -> (Option<AnalysisConfig>, u32) {
    let (version, body) = default;
    if cfg.prompt_template.trim().is_empty() || (!cfg.prompt_user_modified && seeded_version < *version) {
        let mut next = cfg.clone();
        next.prompt_template = body.clone();
        next.prompt_user_modified = false;
        return (Some(next), *version);
    }
    (None, seeded_version)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Bug,
    Misconfiguration,
    Resource,
    External,
    Transient,
    Noise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FindingSeverity {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Finding {
    pub id: i64,
    pub scan_id: i64,
    pub classification: Classification,
    pub severity: FindingSeverity,
    pub title: String,
    /// The suggested next step, and the model's words.
    pub body: String,
    pub source_log_ids: Vec<i64>,
    /// One of the configured healing actions, never anything else.
    pub suggested_action: Option<String>,
    pub suggested_confidence: Option<f64>,
    pub created_at: i64,
    pub dismissed_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    Running,
    Completed,
    Failed,
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Scan {
    pub scan_id: i64,
    pub started_at: i64,
    pub completed_at: Option<i64>,
    pub status: ScanStatus,
    /// Lines read: id > log_id_start and id <= log_id_end.
    pub log_id_start: i64,
    pub log_id_end: i64,
    pub findings_created: u32,
    pub error_message: Option<String>,
    pub raw_answer: Option<String>,
    pub trigger: String,
}

fn scan_from_row(r: &Row<'_>) -> rusqlite::Result<Scan> {
    Ok(Scan {
        scan_id: r.get(0)?,
        started_at: r.get(1)?,
        completed_at: r.get(2)?,
        status: match r.get::<_, String>(3)?.as_str() {
            "running" => ScanStatus::Running,
            "completed" => ScanStatus::Completed,
            "interrupted" => ScanStatus::Interrupted,
            _ => ScanStatus::Failed,
        },
        log_id_start: r.get(4)?,
        log_id_end: r.get(5)?,
        findings_created: r.get::<_, i64>(6)? as u32,
        error_message: r.get(7)?,
        raw_answer: r.get(8)?,
        trigger: r.get(9)?,
    })
}

const SCAN_COLS: &str =
    "scan_id, started_at, completed_at, status, log_id_start, log_id_end, findings_created, error_message, raw_answer, trigger";

pub fn scans(conn: &Connection, limit: u32) -> Result<Vec<Scan>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {SCAN_COLS} FROM analysis_scans ORDER BY scan_id DESC LIMIT ?1"))?;
    let rows = stmt.query_map([limit.clamp(1, 1000)], scan_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn finding_from_row(r: &Row<'_>) -> rusqlite::Result<Finding> {
    let ids: String = r.get(6)?;
    let c: String = r.get(2)?;
    let s: String = r.get(3)?;
    Ok(Finding {
        id: r.get(0)?,
        scan_id: r.get(1)?,
        classification: serde_json::from_value(json!(c)).unwrap_or(Classification::Noise),
        severity: serde_json::from_value(json!(s)).unwrap_or(FindingSeverity::Low),
        title: r.get(4)?,
        body: r.get(5)?,
        source_log_ids: serde_json::from_str(&ids).unwrap_or_default(),
        suggested_action: r.get(7)?,
        suggested_confidence: r.get(8)?,
        created_at: r.get(9)?,
        dismissed_at: r.get(10)?,
    })
}

pub fn findings(conn: &Connection, include_dismissed: bool, limit: u32) -> Result<Vec<Finding>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, scan_id, classification, severity, title, body, source_log_ids, suggested_action, suggested_confidence, created_at, dismissed_at
         FROM analysis_findings WHERE (?1 OR dismissed_at IS NULL) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![include_dismissed, limit.clamp(1, 10_000)], finding_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn dismiss(conn: &Connection, id: i64, now: i64) -> Result<()> {
    let n = conn.execute("UPDATE analysis_findings SET dismissed_at = ?2 WHERE id = ?1 AND dismissed_at IS NULL", params![id, now])?;
    if n == 0 {
        return Err(EngineError::InvalidInput(format!("finding {id} does not exist or is already dismissed")));
    }
    Ok(())
}

/// Ready-to-file issue text for a finding.
pub fn issue_text(f: &Finding, lines: &[LogLine]) -> String {
    let mut t = format!("## {}\n\n**Classification:** {:?} · **Severity:** {:?}\n\n{}\n", f.title, f.classification, f.severity, f.body);
    if !lines.is_empty() {
        t.push_str("\n### Evidence (Caretaker log)\n```\n");
        for l in lines {
            let ts = chrono::DateTime::from_timestamp_millis(l.ts_ms).map(|d| d.to_rfc3339()).unwrap_or_default();
            t.push_str(&format!("#{} {ts} {:?} {} {}\n", l.id, l.level, l.target, l.message));
        }
        t.push_str("```\n");
    }
    t
}

/// Scans cut off by a stop are recorded as interrupted.
pub fn mark_interrupted(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute("UPDATE analysis_scans SET status = 'interrupted', completed_at = ?1, error_message = 'Caretaker stopped during the scan' WHERE status = 'running'", [now])?)
}

/// Where the next scan starts: after the last completed scan, so a failed scan's lines are read again.
pub fn next_start(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(log_id_end), 0) FROM analysis_scans WHERE status = 'completed'", [], |r| r.get(0))?)
}

/// Replaces what varies (numbers, hex, quoted values) so repeated lines group into one pattern.
pub fn template_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(|n| n.is_ascii_hexdigit() || *n == '.' || *n == ':' || *n == '-') {
                chars.next();
            }
            out.push('#');
        } else if c == '"' {
            for n in chars.by_ref() {
                if n == '"' {
                    break;
                }
            }
            out.push_str("\"…\"");
        } else {
            out.push(c);
        }
    }
    out
}

/// One pattern of log lines, as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogGroup {
    pub template: String,
    pub level: String,
    pub target: String,
    pub count: usize,
    pub first_ts_ms: i64,
    pub last_ts_ms: i64,
    /// A few ids the model can cite.
    pub example_ids: Vec<i64>,
    pub example: String,
}

pub fn group(lines: &[LogLine]) -> Vec<LogGroup> {
    let mut groups: Vec<LogGroup> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for l in lines {
        let key = (l.target.clone(), template_of(&l.message));
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(LogGroup {
                template: key.1.clone(),
                level: format!("{:?}", l.level).to_lowercase(),
                target: l.target.clone(),
                count: 0,
                first_ts_ms: l.ts_ms,
                last_ts_ms: l.ts_ms,
                example_ids: vec![],
                example: l.message.clone(),
            });
            groups.len() - 1
        });
        let g = &mut groups[i];
        g.count += 1;
        g.last_ts_ms = l.ts_ms;
        if g.example_ids.len() < 3 {
            g.example_ids.push(l.id);
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

/// The user message: grouped log patterns, recent alerts and the actions the model may suggest,
/// cut to a token budget (about 4 characters a token).
pub fn build_input(groups: &[LogGroup], alerts: &[Alert], action_ids: &[String], budget_tokens: usize) -> (String, usize) {
    let budget = budget_tokens * 4;
    let mut included = 0;
    let mut patterns = Vec::new();
    let mut used = 0;
    for g in groups {
        let item = json!({ "pattern": g.template, "level": g.level, "component": g.target, "count": g.count, "log_ids": g.example_ids, "example": g.example });
        let size = item.to_string().len();
        if used + size > budget && included > 0 {
            break;
        }
        used += size;
        included += 1;
        patterns.push(item);
    }
    let alerts: Vec<_> = alerts
        .iter()
        .take(50)
        .map(|a| json!({ "title": a.title, "severity": a.severity, "status": a.status, "message": a.message }))
        .collect();
    let text = json!({ "log_patterns": patterns, "patterns_left_out": groups.len() - included, "alerts_since_last_scan": alerts, "allowed_action_ids": action_ids }).to_string();
    (text, included)
}

/// A minimal OpenAI-compatible client.
#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
}

impl LlmClient {
    pub fn new() -> Result<LlmClient> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| EngineError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(LlmClient { http })
    }

    fn url(endpoint: &str, path: &str) -> String {
        format!("{}/{}", endpoint.trim_end_matches('/'), path)
    }

    /// The model ids the endpoint offers (GET /models).
    pub async fn models(&self, endpoint: &str, timeout: Duration) -> Result<Vec<String>> {
        let no_server =
            |e: String| EngineError::InvalidInput(format!("no model server at {endpoint} ({e}) - start Ollama or set analysis.endpoint"));
        let resp = tokio::time::timeout(timeout, self.http.get(Self::url(endpoint, "models")).send())
            .await
            .map_err(|_| no_server(format!("no answer within {} s", timeout.as_secs())))?
            .map_err(|e| no_server(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(no_server(format!("HTTP {}", resp.status().as_u16())));
        }
        let body: serde_json::Value = resp.json().await.map_err(|e| no_server(format!("not an OpenAI-compatible models list: {e}")))?;
        Ok(body["data"].as_array().map(|a| a.iter().filter_map(|m| m["id"].as_str().map(str::to_string)).collect()).unwrap_or_default())
    }

    /// One chat completion; returns the answer's text.
    pub async fn chat(&self, cfg: &AnalysisConfig, system: &str, user: &str) -> Result<String> {
        let body = json!({
            "model": cfg.model,
            "temperature": 0,
            "messages": [ { "role": "system", "content": system }, { "role": "user", "content": user } ],
        });
        let timeout = Duration::from_secs(cfg.request_timeout_secs);
        let resp = tokio::time::timeout(timeout, self.http.post(Self::url(&cfg.endpoint, "chat/completions")).json(&body).send())
            .await
            .map_err(|_| EngineError::InvalidInput(format!("the model did not answer within {} s", cfg.request_timeout_secs)))?
            .map_err(|e| EngineError::InvalidInput(format!("cannot reach the model server at {}: {}", cfg.endpoint, e.without_url())))?;
        let status = resp.status();
        let text = tokio::time::timeout(timeout, resp.text())
            .await
            .map_err(|_| EngineError::InvalidInput(format!("the model did not finish its answer within {} s", cfg.request_timeout_secs)))?
            .map_err(|e| EngineError::InvalidInput(format!("the answer broke off: {e}")))?;
        if !status.is_success() {
            return Err(EngineError::InvalidInput(format!(
                "the model server answered HTTP {}: {}",
                status.as_u16(),
                text.chars().take(200).collect::<String>()
            )));
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| EngineError::InvalidInput(format!("not an OpenAI-compatible answer: {e}")))?;
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| EngineError::InvalidInput("the answer has no choices[0].message.content".into()))
    }
}

pub(crate) fn begin_scan(conn: &Connection, start: i64, end: i64, trigger: &str, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO analysis_scans (started_at, status, log_id_start, log_id_end, trigger) VALUES (?1, 'running', ?2, ?3, ?4)",
        params![now, start, end, trigger],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn fail_scan(conn: &Connection, id: i64, error: &str, raw: Option<&str>, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE analysis_scans SET status = 'failed', completed_at = ?2, error_message = ?3, raw_answer = ?4 WHERE scan_id = ?1",
        params![id, now, error, raw],
    )?;
    Ok(())
}

pub(crate) fn complete_scan(conn: &Connection, id: i64, found: &[parse::RawFinding], actions: &[String], now: i64) -> Result<Vec<Finding>> {
    let tx = conn.unchecked_transaction()?;
    let mut out = Vec::new();
    for f in found {
        // The model may only point at actions the person configured.
        let action = f.suggested_action.as_ref().filter(|a| actions.contains(&a.id));
        tx.execute(
            "INSERT INTO analysis_findings (scan_id, classification, severity, title, body, source_log_ids, suggested_action, suggested_confidence, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                json!(f.classification).as_str(),
                json!(f.severity).as_str(),
                f.title,
                f.next_step,
                serde_json::to_string(&f.evidence_log_ids).unwrap_or_default(),
                action.map(|a| a.id.clone()),
                action.map(|a| a.confidence),
                now
            ],
        )?;
        let fid = tx.last_insert_rowid();
        out.push(Finding {
            id: fid,
            scan_id: id,
            classification: f.classification,
            severity: f.severity,
            title: f.title.clone(),
            body: f.next_step.clone(),
            source_log_ids: f.evidence_log_ids.clone(),
            suggested_action: action.map(|a| a.id.clone()),
            suggested_confidence: action.map(|a| a.confidence),
            created_at: now,
            dismissed_at: None,
        });
    }
    tx.execute(
        "UPDATE analysis_scans SET status = 'completed', completed_at = ?2, findings_created = ?3 WHERE scan_id = ?1",
        params![id, now, out.len() as i64],
    )?;
    tx.commit()?;
    Ok(out)
}

pub(crate) fn last_completed_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row("SELECT MAX(completed_at) FROM analysis_scans WHERE status = 'completed'", [], |r| r.get(0)).optional()?.flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_gives_the_version_and_body() {
        let (v, body) = default_prompt();
        assert!(v >= 1);
        assert!(body.starts_with("You are the log analyst"));
        assert_eq!(parse_prompt_file("no front matter"), (0, "no front matter".into()));
    }

    #[test]
    fn prompt_is_seeded_upgraded_or_kept() {
        let v1 = (1, "default one".to_string());
        let v2 = (2, "default two".to_string());
        let empty = AnalysisConfig::default();
        let (seeded, ver) = reconcile_prompt(&empty, 0, &v1);
        let seeded = seeded.unwrap();
        assert_eq!((seeded.prompt_template.as_str(), ver), ("default one", 1));
        // A newer default replaces an unedited template...
        let (up, ver) = reconcile_prompt(&seeded, 1, &v2);
        assert_eq!((up.unwrap().prompt_template.as_str(), ver), ("default two", 2));
        // ...but never the person's own.
        let mut mine = seeded.clone();
        mine.prompt_template = "my prompt".into();
        mine.prompt_user_modified = true;
        assert_eq!(reconcile_prompt(&mine, 1, &v2), (None, 1));
        // Same version: nothing to do.
        assert_eq!(reconcile_prompt(&seeded, 1, &v1), (None, 1));
    }

    #[test]
    fn repeated_lines_group_into_patterns() {
        let l = |id, m: &str| LogLine {
            id,
            ts_ms: id * 10,
            level: crate::logs::LogLevel::Warn,
            target: "caretaker_engine::checks".into(),
            message: m.into(),
            fields: json!({}),
        };
        let lines = vec![
            l(1, "check \"NAS\" failed after 3012 ms"),
            l(2, "check \"Web\" failed after 12 ms"),
            l(3, "disk /dev/disk3s1 at 91 %"),
            l(4, "check \"NAS\" failed after 5000 ms"),
        ];
        let g = group(&lines);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].template, "check \"…\" failed after # ms");
        assert_eq!(g[0].count, 3);
        assert_eq!(g[0].example_ids, vec![1, 2, 4]);
        let (text, included) = build_input(&g, &[], &["restart-web".into()], 10);
        assert_eq!(included, 1, "the budget keeps the biggest pattern at least");
        assert!(text.contains("\"patterns_left_out\":1"));
        assert!(text.contains("restart-web"));
    }
}
