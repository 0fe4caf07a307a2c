//! What the endpoint may show of checks and alerts. A scraper, or a web page that reached the
//! endpoint, learns whether things are up, never the credentials in a check's URL, a command's
//! arguments or what a command printed.

use crate::alerts::Alert;
use crate::checks::CheckResult;
use crate::config::CheckConfig;
use serde_json::Value;

const HIDDEN: &str = "redacted";

/// `url` without its user, password, query and fragment; a marker says something was removed.
pub(crate) fn url(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(mut u) if u.has_host() => {
            let had_query = u.query().is_some();
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            let mut s = u.to_string();
            if had_query {
                s.push('?');
                s.push_str(HIDDEN);
            }
            s
        }
        // Not something we can take apart safely: show only that there was a URL.
        _ => format!("<{HIDDEN} URL>"),
    }
}

/// `text` with every http(s) URL in it passed through [`url`].
pub(crate) fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["http://", "https://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')')).unwrap_or(tail.len());
        out.push_str(&url(tail[..end].trim_end_matches([',', '.', ';', ':'])));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The program's name alone: arguments often carry hosts, tokens or passwords.
fn program(argv: &[String]) -> String {
    argv.first().map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).unwrap_or_default()
}

/// What a check looks at, as the endpoint may show it.
pub(crate) fn target(c: &CheckConfig) -> String {
    if let Some(h) = &c.http {
        format!("{} {}", h.method, url(&h.url))
    } else if let Some(j) = &c.json_value {
        format!("{} {}", url(&j.url), j.pointer)
    } else if let Some(cmd) = &c.command {
        program(&cmd.argv)
    } else {
        c.kind_and_target().1
    }
}

/// Probe details without output and arguments; true when they came from a command probe.
fn probe(details: &mut Value) -> bool {
    let Some(map) = details.as_object_mut() else { return false };
    let mut command = false;
    for key in ["stdout", "stderr"] {
        command |= map.remove(key).is_some();
    }
    if let Some(argv) = map.get_mut("argv") {
        command = true;
        let argv: Vec<String> =
            argv.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default();
        map.insert("argv".into(), Value::from(vec![program(&argv)]));
    }
    if let Some(Value::String(u)) = map.get_mut("url") {
        *u = url(u);
    }
    command
}

/// A command probe's error quotes what the command printed; only the fact of failure is shown.
const COMMAND_FAILED: &str = "the command failed; its output is shown in the app";

pub(crate) fn check_result(r: &CheckResult, command: bool) -> CheckResult {
    let mut r = r.clone();
    let command = probe(&mut r.probe_details) || command;
    r.error_message = r.error_message.map(|e| if command { COMMAND_FAILED.to_string() } else { text(&e) });
    r
}

/// `command_checks` names the checks whose alerts may quote a command's output.
pub(crate) fn alert(a: &Alert, command_checks: &[&str]) -> Alert {
    let mut a = a.clone();
    let mut command = a.rule == "check" && command_checks.contains(&a.subject.as_str());
    if let Some(p) = a.details.get_mut("probe") {
        command |= probe(p);
    }
    if let Some(e) = a.details.get_mut("error") {
        if let Some(s) = e.as_str() {
            *e = Value::from(if command { COMMAND_FAILED.to_string() } else { text(s) });
        }
    }
    a.title = text(&a.title);
    a.message = if command {
        // Check alerts read "<name> is down: <reason>"; the reason is what the command printed.
        match a.message.split_once(": ") {
            Some((head, _)) => format!("{head}: {COMMAND_FAILED}"),
            None => a.message.clone(),
        }
    } else {
        text(&a.message)
    };
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(url("https://user:pw@example.com:8443/a/b?token=s3cret#x"), "https://example.com:8443/a/b?redacted");
        assert_eq!(url("http://example.com/health"), "http://example.com/health");
        assert_eq!(url("not a url"), "<redacted URL>");
        assert_eq!(
            text("error sending request for url (https://u:p@h.example/x?k=v): timed out"),
            "error sending request for url (https://h.example/x?redacted): timed out"
        );
    }

    #[test]
    fn command_output_and_arguments_are_dropped() {
        let mut d = serde_json::json!({ "argv": ["/usr/bin/mysql", "-psecret"], "stdout": "rows", "stderr": "denied", "exit_code": 1 });
        assert!(probe(&mut d));
        assert_eq!(d, serde_json::json!({ "argv": ["mysql"], "exit_code": 1 }));
    }
}
