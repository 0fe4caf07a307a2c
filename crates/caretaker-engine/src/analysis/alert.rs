//! The one alert log analysis may hold open. The model reads log lines that anyone able to make
//! Caretaker log something (a file name, a server's error body) partly wrote, so its findings
//! never open one alert each: a completed scan with high-severity findings keeps a single
//! `analysis` alert open, listing the first few, and a completed scan without any resolves it.
//!
//! The alert is a warning, not critical: its text comes from a model that can be steered by what
//! it reads, so it should not page anyone at night; real outages are raised as critical by the
//! checks and thresholds that measure them.

use super::{Finding, FindingSeverity};
use crate::alerts::Severity;
use serde_json::{json, Value};

pub(crate) const RULE: &str = "analysis";
pub(crate) const SUBJECT: &str = "analysis";
pub(crate) const ALERT_TYPE: &str = "analysis_finding";
pub(crate) const SEVERITY: Severity = Severity::Warning;
/// Findings named in the alert's message; the rest are on the Insights page.
const LISTED: usize = 3;
const LISTED_TITLE_CHARS: usize = 100;

/// What one completed scan means for the alert: `level` None resolves it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScanAlert {
    pub level: Option<Severity>,
    pub title: String,
    pub message: String,
    pub details: Value,
}

pub(crate) fn for_scan(scan_id: i64, found: &[Finding]) -> ScanAlert {
    let high: Vec<&Finding> = found.iter().filter(|f| f.severity == FindingSeverity::High).collect();
    if high.is_empty() {
        return ScanAlert { level: None, title: String::new(), message: String::new(), details: Value::Null };
    }
    let n = high.len();
    let mut message = format!("Log analysis found {n} high-severity finding{}:", if n == 1 { "" } else { "s" });
    for f in high.iter().take(LISTED) {
        message.push_str("\n- ");
        message.push_str(&super::parse::clip(&f.title, LISTED_TITLE_CHARS, true));
    }
    if n > LISTED {
        message.push_str(&format!("\n… and {} more on the Insights page", n - LISTED));
    }
    ScanAlert {
        level: Some(SEVERITY),
        // Fixed wording: the model's text never reaches a notification's or Alertmanager's title.
        title: "Log analysis found problems to look at".into(),
        message,
        details: json!({ "scan_id": scan_id, "high_findings": n, "finding_ids": high.iter().map(|f| f.id).collect::<Vec<_>>() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Classification;

    fn finding(id: i64, severity: FindingSeverity, title: &str) -> Finding {
        Finding {
            id,
            scan_id: 1,
            classification: Classification::Bug,
            severity,
            title: title.into(),
            body: String::new(),
            source_log_ids: vec![],
            suggested_action: None,
            suggested_confidence: None,
            created_at: 0,
            dismissed_at: None,
            suggestion: None,
            suggestion_note: None,
            healing: vec![],
        }
    }

    #[test]
    fn high_findings_make_one_warning_and_none_resolve_it() {
        let many: Vec<Finding> = (0..5).map(|i| finding(i, FindingSeverity::High, &format!("problem {i}"))).collect();
        let a = for_scan(7, &many);
        assert_eq!(a.level, Some(Severity::Warning));
        assert_eq!(
            a.message,
            "Log analysis found 5 high-severity findings:\n- problem 0\n- problem 1\n- problem 2\n… and 2 more on the Insights page"
        );
        assert_eq!(a.details["finding_ids"], json!([0, 1, 2, 3, 4]));
        assert!(!a.title.contains("problem 0"), "the model's words never make the title");
        assert_eq!(for_scan(8, &[finding(1, FindingSeverity::Medium, "meh")]).level, None);
        assert_eq!(for_scan(9, &[]).level, None);
    }
}
