//! `[[notifications.channels]]` and `[notifications.heartbeat]` in caretaker.toml. Secrets are
//! not here: they live in the keychain (see `channels::secret`).

use crate::alerts::config::QuietHours;
use crate::alerts::Severity;
use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

crate::sql_enum! {
    pub enum ChannelKind {
        Email = "email",
        Ntfy = "ntfy",
        Pushover = "pushover",
        Telegram = "telegram",
        Webhook = "webhook",
        /// This machine's own notifications (Notification Center, the desktop's notification
        /// server): built in, switched with `notifications.enabled`, never listed in the file.
        Desktop = "desktop",
    }
}

crate::sql_enum! {
    pub enum EmailSecurity {
        /// Plain connection upgraded with STARTTLS (port 587).
        Starttls = "starttls",
        /// TLS from the first byte (port 465).
        Tls = "tls",
        /// No encryption: only for a relay on this machine or a trusted network.
        Plain = "plain",
    }
}

crate::sql_enum! {
    pub enum WebhookPreset {
        Generic = "generic",
        Slack = "slack",
        Discord = "discord",
        Matrix = "matrix",
    }
}

/// One place alerts are delivered to. Fields that belong to another kind must stay unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The least severe alert sent here.
    #[serde(default = "warning")]
    pub min_severity: Severity,
    /// Whether "recovered" messages are sent here.
    #[serde(default = "yes")]
    pub recoveries: bool,
    /// Warnings are not sent here in this window (critical alerts still are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// A daily digest at this local time (HH:MM): open alerts, last backups, last maintenance,
    /// disk space, so that silence means "all good". None: no digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_at: Option<String>,
    // ---- email ----
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Default: 587 with STARTTLS, 465 with TLS, 25 plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<EmailSecurity>,
    /// SMTP login; its password is a secret. No username: no AUTH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// A PEM file of a certificate authority trusted for this server besides the system's (a
    /// home server with its own CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    // ---- ntfy ----
    /// Default https://ntfy.sh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    // ---- telegram ----
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    // ---- webhook ----
    /// The webhook's URL; leave it out when it embeds a token and store it as the `url` secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<WebhookPreset>,
    /// Pushover's or Telegram's API base, for a proxy or a test server; the real one by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

fn yes() -> bool {
    true
}
fn warning() -> Severity {
    Severity::Warning
}

pub const NTFY_SERVER: &str = "https://ntfy.sh";
pub const PUSHOVER_API: &str = "https://api.pushover.net";
pub const TELEGRAM_API: &str = "https://api.telegram.org";
/// The name of the built-in channel for this machine's own notifications.
pub const DESKTOP: &str = "This computer";

impl ChannelConfig {
    /// A channel of `kind` with every optional field unset.
    pub fn new(name: &str, kind: ChannelKind) -> Self {
        ChannelConfig {
            name: name.into(),
            kind,
            enabled: true,
            min_severity: Severity::Warning,
            recoveries: true,
            quiet_hours: None,
            digest_at: None,
            host: None,
            port: None,
            security: None,
            username: None,
            from: None,
            to: Vec::new(),
            ca_file: None,
            server: None,
            topic: None,
            chat_id: None,
            url: None,
            preset: None,
            api_url: None,
        }
    }

    /// The built-in channel of native notifications: every severity and recovery (quiet hours,
    /// pauses and acknowledgements are applied before a notice reaches any channel).
    pub fn desktop(enabled: bool) -> Self {
        ChannelConfig { enabled, ..ChannelConfig::new(DESKTOP, ChannelKind::Desktop) }
    }

    pub fn security(&self) -> EmailSecurity {
        self.security.unwrap_or(EmailSecurity::Starttls)
    }

    pub fn smtp_port(&self) -> u16 {
        self.port.unwrap_or(match self.security() {
            EmailSecurity::Starttls => 587,
            EmailSecurity::Tls => 465,
            EmailSecurity::Plain => 25,
        })
    }

    pub fn preset(&self) -> WebhookPreset {
        self.preset.unwrap_or(WebhookPreset::Generic)
    }

    /// The secrets this channel may use, and whether each is required.
    pub fn secret_keys(&self) -> &'static [(&'static str, bool)] {
        match self.kind {
            ChannelKind::Email if self.username.is_some() => &[("password", true)],
            ChannelKind::Email => &[],
            ChannelKind::Ntfy => &[("token", false)],
            ChannelKind::Pushover => &[("user_key", true), ("app_token", true)],
            ChannelKind::Telegram => &[("bot_token", true)],
            ChannelKind::Webhook if self.url.is_none() => &[("url", true)],
            ChannelKind::Webhook => &[("url", false)],
            ChannelKind::Desktop => &[],
        }
    }

    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| out.push(ConfigIssue { path: format!("{at}.{field}"), message, location: None });
        if self.name.trim().is_empty() || self.name.len() > 64 || self.name.contains(['/', '\n']) {
            bad("name", "must be 1 to 64 characters, without / or line breaks".into());
        }
        if self.digest_at.as_deref().is_some_and(|t| crate::clock::parse_time_of_day(t).is_none()) {
            bad("digest_at", "must be a time of day as HH:MM".into());
        }
        if let Some(q) = &self.quiet_hours {
            if let Err(field) = q.minutes() {
                bad(&format!("quiet_hours.{field}"), "must be a time of day as HH:MM".into());
            }
        }
        let k = self.kind;
        let email = k == ChannelKind::Email;
        let fields: [(&str, bool, bool); 12] = [
            ("host", self.host.is_some(), email),
            ("port", self.port.is_some(), email),
            ("security", self.security.is_some(), email),
            ("username", self.username.is_some(), email),
            ("from", self.from.is_some(), email),
            ("to", !self.to.is_empty(), email),
            ("ca_file", self.ca_file.is_some(), email),
            ("server", self.server.is_some(), k == ChannelKind::Ntfy),
            ("topic", self.topic.is_some(), k == ChannelKind::Ntfy),
            ("chat_id", self.chat_id.is_some(), k == ChannelKind::Telegram),
            ("url", self.url.is_some() || self.preset.is_some(), k == ChannelKind::Webhook),
            ("api_url", self.api_url.is_some(), matches!(k, ChannelKind::Pushover | ChannelKind::Telegram)),
        ];
        for (field, set, belongs) in fields {
            if set && !belongs {
                bad(field, format!("is not used by a {} channel", k.as_str()));
            }
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        match k {
            ChannelKind::Email => {
                if blank(&self.host) {
                    bad("host", "must name the SMTP server".into());
                }
                if self.port == Some(0) {
                    bad("port", "must be between 1 and 65535".into());
                }
                if !self.from.as_deref().is_some_and(looks_like_address) {
                    bad("from", "must be an email address".into());
                }
                if self.to.is_empty() {
                    bad("to", "must list at least one address".into());
                }
                for (i, a) in self.to.iter().enumerate() {
                    if !looks_like_address(a) {
                        bad(&format!("to[{i}]"), format!("{a:?} is not an email address"));
                    }
                }
            }
            ChannelKind::Ntfy => {
                if let Some(s) = &self.server {
                    http_url(s, "server", &mut bad);
                }
                let topic = self.topic.as_deref().unwrap_or("");
                if topic.is_empty() || !topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    bad("topic", "must be letters, digits, _ or - (the topic ntfy subscribers follow)".into());
                }
            }
            ChannelKind::Telegram => {
                if blank(&self.chat_id) {
                    bad("chat_id", "must be the chat's id (a number, or @channelname)".into());
                }
            }
            ChannelKind::Webhook => {
                if let Some(u) = &self.url {
                    http_url(u, "url", &mut bad);
                }
            }
            ChannelKind::Pushover => {}
            ChannelKind::Desktop => {
                bad("kind", "this machine's own notifications are built in: switch them with notifications.enabled".into())
            }
        }
        if let Some(u) = &self.api_url {
            http_url(u, "api_url", &mut bad);
        }
    }
}

fn looks_like_address(a: &str) -> bool {
    let a = a.trim();
    let bare = a.rsplit_once('<').map_or(a, |(_, r)| r.trim_end_matches('>'));
    bare.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') || d == "localhost")
}

fn http_url(u: &str, field: &str, bad: &mut impl FnMut(&str, String)) {
    match reqwest::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => {}
        _ => bad(field, "must be an http:// or https:// URL with a host".into()),
    }
}

/// The dead man's switch: a ping to a service that alerts when the pings stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// The ping URL (Healthchecks.io, an Uptime Kuma push monitor, ...); empty turns it off.
    #[serde(default)]
    pub url: String,
    #[serde(default = "five")]
    pub interval_minutes: u64,
}

fn five() -> u64 {
    5
}

impl HeartbeatConfig {
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| out.push(ConfigIssue { path: format!("{at}.{field}"), message, location: None });
        if self.enabled() {
            http_url(&self.url, "url", &mut bad);
        }
        if !(1..=1440).contains(&self.interval_minutes) {
            bad("interval_minutes", format!("must be between 1 and 1440 (got {})", self.interval_minutes));
        }
    }
}

/// Every channel on its own; names unique regardless of case.
pub(crate) fn validate_channels(list: &[ChannelConfig], at: &str, out: &mut Vec<ConfigIssue>) {
    let mut names = std::collections::HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = format!("{at}[{i}]");
        c.validate(&p, out);
        if c.name.trim().eq_ignore_ascii_case(DESKTOP) {
            out.push(ConfigIssue {
                path: format!("{p}.name"),
                message: format!("{DESKTOP:?} is the name of this machine's own notifications"),
                location: None,
            });
        } else if !names.insert(c.name.trim().to_lowercase()) {
            out.push(ConfigIssue {
                path: format!("{p}.name"),
                message: format!("{:?} is used by another channel", c.name),
                location: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(c: &ChannelConfig) -> Vec<String> {
        let mut out = Vec::new();
        validate_channels(std::slice::from_ref(c), "notifications.channels", &mut out);
        out.iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn the_built_in_channel_is_not_written_in_the_file() {
        let d = ChannelConfig::desktop(true);
        assert_eq!(
            issues(&d),
            vec![
                "notifications.channels[0].kind: this machine's own notifications are built in: switch them with notifications.enabled",
                "notifications.channels[0].name: \"This computer\" is the name of this machine's own notifications",
            ]
        );
        let mut n = ChannelConfig::new("this computer", ChannelKind::Ntfy);
        n.topic = Some("t".into());
        assert_eq!(issues(&n), vec!["notifications.channels[0].name: \"This computer\" is the name of this machine's own notifications"]);
    }

    #[test]
    fn errors_name_the_field() {
        let mut c = ChannelConfig::new("mail", ChannelKind::Email);
        c.host = Some("smtp.example.com".into());
        c.from = Some("caretaker@example.com".into());
        assert_eq!(issues(&c), vec!["notifications.channels[0].to: must list at least one address"]);
        c.to = vec!["me@example.com".into(), "nobody".into()];
        c.topic = Some("x".into());
        assert_eq!(
            issues(&c),
            vec![
                "notifications.channels[0].topic: is not used by a email channel",
                "notifications.channels[0].to[1]: \"nobody\" is not an email address",
            ]
        );
        let mut n = ChannelConfig::new("phone", ChannelKind::Ntfy);
        n.server = Some("ftp://x".into());
        n.topic = Some("has space".into());
        assert_eq!(
            issues(&n),
            vec![
                "notifications.channels[0].server: must be an http:// or https:// URL with a host",
                "notifications.channels[0].topic: must be letters, digits, _ or - (the topic ntfy subscribers follow)",
            ]
        );
        let mut h = HeartbeatConfig { url: "nope".into(), interval_minutes: 0 };
        let mut out = Vec::new();
        h.validate("notifications.heartbeat", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].path, "notifications.heartbeat.url");
        h.url.clear();
        h.interval_minutes = 5;
        out.clear();
        h.validate("notifications.heartbeat", &mut out);
        assert!(out.is_empty() && !h.enabled());
    }

    #[test]
    fn names_are_unique_and_defaults_follow_security() {
        let mut t = ChannelConfig::new("A", ChannelKind::Telegram);
        t.chat_id = Some("42".into());
        let mut u = t.clone();
        u.name = "a".into();
        let mut out = Vec::new();
        validate_channels(&[t, u], "c", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "c[1].name");
        let mut e = ChannelConfig::new("m", ChannelKind::Email);
        assert_eq!(e.smtp_port(), 587);
        e.security = Some(EmailSecurity::Tls);
        assert_eq!(e.smtp_port(), 465);
    }
}
