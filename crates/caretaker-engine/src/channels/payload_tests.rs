use super::*;
use crate::alerts::Severity;
use crate::channels::config::ChannelKind;
use crate::channels::message::{fold, Transition};
use serde_json::Value;

fn msg(transition: Transition, severity: Severity) -> Message {
    Message {
        transition,
        alert_id: 7,
        rule: "check".into(),
        subject: "Web".into(),
        severity,
        status: if transition == Transition::Resolved { "resolved" } else { "active" }.into(),
        title: "Web is down on mini".into(),
        body: "Web is down: refused".into(),
        started: 1_700_000_000_000,
        resolved: (transition == Transition::Resolved).then_some(1_700_000_600_000),
        host: "mini".into(),
    }
}

fn out(t: Transition, s: Severity) -> Outgoing {
    fold(vec![msg(t, s)]).unwrap()
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

fn json_body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn ntfy_maps_severity_to_priority_and_tags() {
    let mut c = ChannelConfig::new("phone", ChannelKind::Ntfy);
    c.topic = Some("mini-alerts".into());
    let r = ntfy(&c, &out(Transition::Opened, Severity::Critical), Some("tk_abc"));
    assert_eq!(r.url, "https://ntfy.sh/mini-alerts");
    assert_eq!(header(&r, "Title"), Some("Web is down on mini"));
    assert_eq!(header(&r, "Priority"), Some("5"));
    assert_eq!(header(&r, "Tags"), Some("rotating_light,caretaker"));
    assert_eq!(header(&r, "Authorization"), Some("Bearer tk_abc"));
    assert_eq!(r.body, b"Web is down: refused");
    c.server = Some("http://127.0.0.1:8080/".into());
    let w = ntfy(&c, &out(Transition::Opened, Severity::Warning), None);
    assert_eq!(
        (w.url.as_str(), header(&w, "Priority"), header(&w, "Tags")),
        ("http://127.0.0.1:8080/mini-alerts", Some("4"), Some("warning,caretaker"))
    );
    assert_eq!(header(&w, "Authorization"), None);
    let ok = ntfy(&c, &out(Transition::Resolved, Severity::Critical), None);
    assert_eq!((header(&ok, "Priority"), header(&ok, "Tags")), (Some("3"), Some("white_check_mark,caretaker")));
    let mut m = msg(Transition::Opened, Severity::Warning);
    m.title = "Disk é".into();
    let enc = ntfy(&c, &fold(vec![m]).unwrap(), None);
    assert_eq!(header(&enc, "Title"), Some("=?UTF-8?B?RGlzayDDqQ==?="));
}

#[test]
fn pushover_is_a_form_with_the_documented_fields() {
    let c = ChannelConfig::new("po", ChannelKind::Pushover);
    let r = pushover(&c, &out(Transition::Opened, Severity::Critical), "u123", "a456");
    assert_eq!(r.url, "https://api.pushover.net/1/messages.json");
    assert_eq!(r.content_type, "application/x-www-form-urlencoded");
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        "token=a456&user=u123&title=Web+is+down+on+mini&message=Web+is+down%3A+refused&priority=1"
    );
    let w = pushover(&c, &out(Transition::Opened, Severity::Warning), "u", "a");
    assert!(String::from_utf8(w.body).unwrap().ends_with("&priority=0"));
}

#[test]
fn telegram_sends_chat_id_and_plain_text() {
    let mut c = ChannelConfig::new("tg", ChannelKind::Telegram);
    c.chat_id = Some("-100123".into());
    let r = telegram(&c, &out(Transition::Opened, Severity::Critical), "123:ABC");
    assert_eq!(r.url, "https://api.telegram.org/bot123:ABC/sendMessage");
    let b = json_body(&r);
    assert_eq!(b["chat_id"], "-100123");
    assert_eq!(b["text"], "Web is down on mini\nWeb is down: refused");
    assert!(b.get("parse_mode").is_none());
}

#[test]
fn webhook_presets_follow_each_service() {
    let mut c = ChannelConfig::new("hook", ChannelKind::Webhook);
    let o = out(Transition::Opened, Severity::Critical);
    for (preset, key) in [(WebhookPreset::Slack, "text"), (WebhookPreset::Discord, "content"), (WebhookPreset::Matrix, "body")] {
        c.preset = Some(preset);
        let b = json_body(&webhook(&c, "http://h/x", &o));
        assert_eq!(b[key], "Web is down on mini\nWeb is down: refused", "{preset:?}");
    }
    assert_eq!(json_body(&webhook(&c, "http://h/x", &o))["msgtype"], "m.text");
    c.preset = None;
    assert!(batches_per_message(&c));
    let r = webhook(&c, "http://h/x", &out(Transition::Resolved, Severity::Critical));
    let b = json_body(&r);
    assert_eq!(b["id"], 7);
    assert_eq!(b["rule"], "check");
    assert_eq!(b["subject"], "Web");
    assert_eq!(b["severity"], "critical");
    assert_eq!(b["status"], "resolved");
    assert_eq!(b["transition"], "resolved");
    assert_eq!(b["title"], "Web is down on mini");
    assert_eq!(b["message"], "Web is down: refused");
    assert_eq!(b["started"], "2023-11-14T22:13:20Z");
    assert_eq!(b["resolved"], "2023-11-14T22:23:20Z");
    assert_eq!(b["host"], "mini");
}

#[test]
fn the_email_text_carries_severity_host_status_and_times() {
    let t = email_text(&out(Transition::Resolved, Severity::Critical));
    for want in ["Severity: critical", "Host: mini", "Status: resolved", "Started: 2023-11-14 22:13 UTC", "Resolved: 2023-11-14 22:23 UTC"]
    {
        assert!(t.contains(want), "{want} missing in {t}");
    }
    assert!(!t.contains("http"));
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"Man"), "TWFu");
}
