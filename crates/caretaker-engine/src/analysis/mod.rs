//! Reads Caretaker's own log with a local language model (any OpenAI-compatible endpoint) and
//! stores classified findings. Owns `analysis_scans` and `analysis_findings`, and the prompt's
//! lifecycle (seeded from `prompts/log_analysis.md`, upgraded unless the person edited it).

mod alert;
pub mod config;
mod llm;
pub mod parse;
pub(crate) mod service;
pub(crate) mod store;

pub use llm::LlmClient;
pub(crate) use store::{begin_scan, complete_scan, fail_scan, last_completed_at};
pub use store::{dismiss, findings, mark_interrupted, next_start, scans};

use crate::alerts::Alert;
use crate::config::AnalysisConfig;
use crate::logs::LogLine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
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
    /// What the model suggested, in its words (an action, or a kind of action and its target).
    pub suggestion: Option<String>,
    /// Why the suggestion can only be read: an unknown action, a target outside its scope.
    pub suggestion_note: Option<String>,
    /// The healing decisions about the suggestion, the newest first: the escalation waiting for
    /// the person, a refusal by the guard rails, the run after approval.
    pub healing: Vec<crate::healing::HealingRecord>,
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
