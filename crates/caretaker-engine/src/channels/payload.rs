//! Each provider's request, built without I/O so every field can be tested against the
//! provider's documented format: ntfy (publish by POST with headers), Pushover (messages.json),
//! Telegram (sendMessage), webhooks (Slack, Discord, Matrix-style, generic JSON), and the plain
//! text of an email.

use super::config::{ChannelConfig, WebhookPreset, NTFY_SERVER, PUSHOVER_API, TELEGRAM_API};
use super::message::{rfc3339, utc, Message, Outgoing};
use serde_json::json;

/// An HTTP POST to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

fn base(url: Option<&str>, default: &str) -> String {
    url.unwrap_or(default).trim_end_matches('/').to_string()
}

/// Title and body as one text, for providers without a title field.
fn text(o: &Outgoing) -> String {
    format!("{}\n{}", o.title, o.body)
}

fn header_value(s: &str) -> String {
    // Header values are ASCII; ntfy decodes RFC 2047 encoded words for the rest.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64(s.as_bytes()))
    }
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// ntfy: `POST {server}/{topic}`, the body as the message, Title/Priority/Tags headers.
/// Priorities: critical 5 (urgent), warning 4 (high), recovered 3 (default).
pub fn ntfy(c: &ChannelConfig, o: &Outgoing, token: Option<&str>) -> Request {
    let (priority, tag) = match (o.recovery, o.critical) {
        (true, _) => ("3", "white_check_mark"),
        (false, true) => ("5", "rotating_light"),
        (false, false) => ("4", "warning"),
    };
    let mut headers = vec![("Title", header_value(&o.title)), ("Priority", priority.into()), ("Tags", format!("{tag},caretaker"))];
    if let Some(t) = token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    Request {
        url: format!("{}/{}", base(c.server.as_deref(), NTFY_SERVER), c.topic.as_deref().unwrap_or("")),
        headers,
        content_type: "text/plain; charset=utf-8",
        body: o.body.clone().into_bytes(),
    }
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&").into_bytes()
}

/// Pushover: `POST {api}/1/messages.json`, form fields token, user, title, message, priority
/// (critical 1 = high, bypasses the user's quiet hours; warning 0; recovered -1 = quiet).
pub fn pushover(c: &ChannelConfig, o: &Outgoing, user: &str, app_token: &str) -> Request {
    let priority = match (o.recovery, o.critical) {
        (true, _) => "-1",
        (false, true) => "1",
        (false, false) => "0",
    };
    Request {
        url: format!("{}/1/messages.json", base(c.api_url.as_deref(), PUSHOVER_API)),
        headers: Vec::new(),
        content_type: "application/x-www-form-urlencoded",
        body: form(&[("token", app_token), ("user", user), ("title", &o.title), ("message", &o.body), ("priority", priority)]),
    }
}

/// Telegram: `POST {api}/bot{token}/sendMessage` with JSON chat_id and text (plain text: no
/// parse_mode, so nothing in an alert can break the markup).
pub fn telegram(c: &ChannelConfig, o: &Outgoing, bot_token: &str) -> Request {
    let body = json!({ "chat_id": c.chat_id.as_deref().unwrap_or(""), "text": text(o) });
    Request {
        url: format!("{}/bot{bot_token}/sendMessage", base(c.api_url.as_deref(), TELEGRAM_API)),
        headers: Vec::new(),
        content_type: "application/json",
        body: body.to_string().into_bytes(),
    }
}

/// The generic webhook's JSON for one transition.
pub fn generic(m: &Message) -> serde_json::Value {
    json!({
        "id": m.alert_id,
        "rule": m.rule,
        "subject": m.subject,
        "severity": m.severity.as_str(),
        "status": m.status,
        "transition": m.transition.as_str(),
        "title": m.title,
        "message": m.body,
        "started": rfc3339(m.started),
        "resolved": m.resolved.map(rfc3339),
        "host": m.host,
    })
}

/// A webhook with its preset's body: Slack `{"text"}`, Discord `{"content"}` (at most 2000
/// characters), Matrix-style `{"msgtype":"m.text","body"}`; the generic preset sends one
/// request per transition (see `batches_per_message`).
pub fn webhook(c: &ChannelConfig, url: &str, o: &Outgoing) -> Request {
    let body = match c.preset() {
        WebhookPreset::Slack => json!({ "text": text(o) }),
        WebhookPreset::Discord => json!({ "content": text(o).chars().take(2000).collect::<String>() }),
        WebhookPreset::Matrix => json!({ "msgtype": "m.text", "body": text(o) }),
        WebhookPreset::Generic => match o.parts.as_slice() {
            [one] => generic(one),
            many => json!({ "alerts": many.iter().map(generic).collect::<Vec<_>>() }),
        },
    };
    Request { url: url.to_string(), headers: Vec::new(), content_type: "application/json", body: body.to_string().into_bytes() }
}

/// Whether a channel's deliveries carry one transition each instead of a folded burst.
pub fn batches_per_message(c: &ChannelConfig) -> bool {
    c.kind == super::config::ChannelKind::Webhook && c.preset() == WebhookPreset::Generic
}

/// The plain-text mail: the folded text, then each transition's severity, host, status and times.
/// No links and no HTML, so no mail client turns it into something to click.
pub fn email_text(o: &Outgoing) -> String {
    let mut out = format!("{}\n\n{}\n", o.title, o.body);
    for m in &o.parts {
        out.push_str(&format!(
            "\n{}\n  Severity: {}\n  Host: {}\n  Status: {}\n  Started: {}\n",
            m.title,
            m.severity.as_str(),
            m.host,
            m.status,
            utc(m.started)
        ));
        if let Some(r) = m.resolved {
            out.push_str(&format!("  Resolved: {}\n", utc(r)));
        }
    }
    out.push_str("\n-- \nSent by Caretaker.\n");
    out
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
