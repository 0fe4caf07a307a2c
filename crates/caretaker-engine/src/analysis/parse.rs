//! Understanding the model's answer: strict JSON first, then the usual ways models wrap it (a
//! code fence, an object around the list, text before or after). The model reads log lines that
//! anyone may have written, so what it says is bounded: how many findings, how long each text.

use super::{Classification, FindingSeverity};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SuggestedAction {
    /// A configured action's id (or name).
    #[serde(default)]
    pub id: String,
    /// Or a kind of action (`clear_folder`, `kill_process`, ...) with a concrete target.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub confidence: f64,
}

impl SuggestedAction {
    pub fn as_suggested(&self) -> crate::healing::suggest::Suggested<'_> {
        crate::healing::suggest::Suggested { id: &self.id, kind: self.kind.as_deref(), target: self.target.as_deref() }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RawFinding {
    pub title: String,
    pub classification: Classification,
    pub severity: FindingSeverity,
    #[serde(default)]
    pub evidence_log_ids: Vec<i64>,
    #[serde(default, alias = "suggested_next_step")]
    pub next_step: String,
    #[serde(default)]
    pub suggested_action: Option<SuggestedAction>,
}

/// Findings kept from one answer, the most severe first.
pub const MAX_FINDINGS: usize = 20;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_TEXT_CHARS: usize = 2000;
const MAX_EVIDENCE_IDS: usize = 50;
const MAX_ACTION_ID_CHARS: usize = 100;
const MAX_TARGET_CHARS: usize = 500;

/// `s` on one line, at most `max` characters (an ellipsis says it was cut).
pub(crate) fn clip(s: &str, max: usize, one_line: bool) -> String {
    let s: String = s.chars().map(|c| if c.is_control() && (one_line || c != '\n') { ' ' } else { c }).collect();
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn bounded(mut list: Vec<RawFinding>) -> Vec<RawFinding> {
    // Stable: among equals the model's own order stays.
    list.sort_by_key(|f| std::cmp::Reverse(f.severity));
    list.truncate(MAX_FINDINGS);
    for f in &mut list {
        f.title = clip(&f.title, MAX_TITLE_CHARS, true);
        f.next_step = clip(&f.next_step, MAX_TEXT_CHARS, false);
        f.evidence_log_ids.truncate(MAX_EVIDENCE_IDS);
        if let Some(a) = &mut f.suggested_action {
            a.id = clip(&a.id, MAX_ACTION_ID_CHARS, true);
            a.kind = a.kind.as_deref().map(|k| clip(k, MAX_ACTION_ID_CHARS, true));
            a.target = a.target.as_deref().map(|t| clip(t, MAX_TARGET_CHARS, true));
        }
        if f.suggested_action.as_ref().is_some_and(|a| a.as_suggested().is_empty()) {
            f.suggested_action = None;
        }
    }
    list
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Answer {
    List(Vec<RawFinding>),
    Wrapped { findings: Vec<RawFinding> },
}

fn strict(text: &str) -> Option<Vec<RawFinding>> {
    match serde_json::from_str::<Answer>(text.trim()).ok()? {
        Answer::List(l) => Some(l),
        Answer::Wrapped { findings } => Some(findings),
    }
}

/// The findings in an answer, at most [`MAX_FINDINGS`] with every text cut to its limit, or why
/// it could not be read.
pub fn findings(answer: &str) -> Result<Vec<RawFinding>, String> {
    unbounded(answer).map(bounded)
}

fn unbounded(answer: &str) -> Result<Vec<RawFinding>, String> {
    if let Some(f) = strict(answer) {
        return Ok(f);
    }
    // ```json … ``` anywhere in the text.
    if let Some(start) = answer.find("```") {
        let rest = &answer[start + 3..];
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        if let Some(end) = rest.find("```") {
            if let Some(f) = strict(&rest[..end]) {
                return Ok(f);
            }
        }
    }
    // The outermost JSON value with text around it.
    for (open, close) in [('[', ']'), ('{', '}')] {
        if let (Some(a), Some(b)) = (answer.find(open), answer.rfind(close)) {
            if a < b {
                if let Some(f) = strict(&answer[a..=b]) {
                    return Ok(f);
                }
            }
        }
    }
    let preview: String = answer.chars().take(120).collect();
    Err(format!("the model's answer is not the JSON list of findings asked for (starts with {preview:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"[{"title":"Ollama keeps timing out","classification":"resource","severity":"high","evidence_log_ids":[4,9],"next_step":"Give it more memory"}]"#;

    #[test]
    fn strict_fenced_wrapped_and_chatty_answers() {
        assert_eq!(findings(ONE).unwrap()[0].title, "Ollama keeps timing out");
        assert_eq!(findings(&format!("Sure! Here you go:\n```json\n{ONE}\n```\nHope it helps.")).unwrap().len(), 1);
        assert_eq!(findings(&format!("{{\"findings\": {ONE}}}")).unwrap().len(), 1);
        assert_eq!(findings(&format!("Findings: {ONE} (that is all)")).unwrap()[0].evidence_log_ids, vec![4, 9]);
        assert!(findings("[]").unwrap().is_empty());
    }

    #[test]
    fn garbage_and_wrong_shapes_are_refused_with_a_reason() {
        let e = findings("I could not find anything, sorry.").unwrap_err();
        assert!(e.starts_with("the model's answer is not the JSON list"), "{e}");
        assert!(findings(r#"[{"title":"x","classification":"catastrophe","severity":"high"}]"#).is_err(), "unknown classification");
    }

    #[test]
    fn many_and_long_findings_are_cut_keeping_the_most_severe() {
        let one = |sev: &str, title: &str| {
            format!(r#"{{"title":"{title}","classification":"bug","severity":"{sev}","next_step":"{}"}}"#, "n".repeat(5000))
        };
        let mut items: Vec<String> = (0..30).map(|i| one("low", &format!("low {i}"))).collect();
        items.push(one("high", &format!("{}\\nsecond line", "T".repeat(500))));
        let f = findings(&format!("[{}]", items.join(","))).unwrap();
        assert_eq!(f.len(), MAX_FINDINGS);
        assert_eq!(f[0].severity, FindingSeverity::High, "the high finding is kept though it came last");
        assert_eq!(f[0].title.chars().count(), MAX_TITLE_CHARS);
        assert!(!f[0].title.contains('\n'));
        assert_eq!(f[1].title, "low 0");
        assert!(f.iter().all(|x| x.next_step.chars().count() <= MAX_TEXT_CHARS));
    }
}
