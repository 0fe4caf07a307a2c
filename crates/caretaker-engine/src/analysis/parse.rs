//! Understanding the model's answer: strict JSON first, then the usual ways models wrap it (a
//! code fence, an object around the list, text before or after).

use super::{Classification, FindingSeverity};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SuggestedAction {
    pub id: String,
    #[serde(default)]
    pub confidence: f64,
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

/// The findings in an answer, or why it could not be read.
pub fn findings(answer: &str) -> Result<Vec<RawFinding>, String> {
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
}
