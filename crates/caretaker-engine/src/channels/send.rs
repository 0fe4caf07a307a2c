//! Delivery: one folded message to one channel, over HTTP (reqwest) or SMTP (lettre). Answers
//! with the server's reply on failure, short and with every secret of the channel blanked out.

use super::config::{ChannelConfig, ChannelKind, EmailSecurity};
use super::message::Outgoing;
use super::payload::{self, Request};
use std::collections::HashMap;
use std::time::Duration;

/// How long one delivery may take before it counts as failed.
pub const TIMEOUT: Duration = Duration::from_secs(20);

pub type Secrets = HashMap<&'static str, String>;

/// Replaces each secret in `text` and keeps it short (an error page can be large).
pub fn redact(text: &str, secrets: &Secrets) -> String {
    let mut t = text.to_string();
    for s in secrets.values().filter(|s| s.len() >= 4) {
        t = t.replace(s.as_str(), "[redacted]");
    }
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 200 {
        format!("{}…", t.chars().take(200).collect::<String>())
    } else {
        t
    }
}

fn need<'a>(secrets: &'a Secrets, key: &str) -> Result<&'a str, String> {
    secrets.get(key).map(String::as_str).ok_or_else(|| format!("the secret {key:?} of this channel is not set: enter it in the app"))
}

/// The HTTP request of a channel, or why it cannot be made.
pub fn request(c: &ChannelConfig, o: &Outgoing, secrets: &Secrets) -> Result<Request, String> {
    Ok(match c.kind {
        ChannelKind::Ntfy => payload::ntfy(c, o, secrets.get("token").map(String::as_str)),
        ChannelKind::Pushover => payload::pushover(c, o, need(secrets, "user_key")?, need(secrets, "app_token")?),
        ChannelKind::Telegram => payload::telegram(c, o, need(secrets, "bot_token")?),
        ChannelKind::Webhook => {
            let url = secrets.get("url").or(c.url.as_ref()).ok_or("the webhook has no URL: set url or its url secret")?;
            payload::webhook(c, url, o)
        }
        ChannelKind::Email | ChannelKind::Desktop => return Err(format!("a {} channel does not use HTTP", c.kind.as_str())),
    })
}

pub async fn deliver(client: &reqwest::Client, c: &ChannelConfig, o: &Outgoing, secrets: &Secrets) -> Result<(), String> {
    let attempt = async {
        if c.kind == ChannelKind::Email {
            return email(c, o, secrets).await;
        }
        let r = request(c, o, secrets)?;
        let mut b = client.post(&r.url).header(reqwest::header::CONTENT_TYPE, r.content_type).body(r.body);
        for (k, v) in &r.headers {
            b = b.header(*k, v);
        }
        // reqwest's errors carry the URL, which may hold a token (Telegram's, a webhook's).
        let resp = b.send().await.map_err(|e| e.without_url().to_string())?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.text().await.unwrap_or_default();
        Err(format!("HTTP {status}: {body}"))
    };
    match tokio::time::timeout(TIMEOUT, attempt).await {
        Ok(r) => r.map_err(|e| redact(&e, secrets)),
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

async fn email(c: &ChannelConfig, o: &Outgoing, secrets: &Secrets) -> Result<(), String> {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

    let host = c.host.as_deref().unwrap_or("");
    let tls = || -> Result<TlsParameters, String> {
        let mut p = TlsParameters::builder(host.to_string());
        if let Some(ca) = &c.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("cannot read ca_file {ca}: {e}"))?;
            p = p.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| format!("ca_file {ca} is not a PEM certificate: {e}"))?);
        }
        p.build().map_err(|e| format!("TLS set-up failed: {e}"))
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(c.smtp_port()).timeout(Some(TIMEOUT));
    b = match c.security() {
        EmailSecurity::Starttls => b.tls(Tls::Required(tls()?)),
        EmailSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
        EmailSecurity::Plain => b.tls(Tls::None),
    };
    if let Some(user) = &c.username {
        b = b.credentials(Credentials::new(user.clone(), need(secrets, "password")?.to_string()));
    }
    let parse = |a: &str| a.parse::<Mailbox>().map_err(|e| format!("{a:?} is not an address: {e}"));
    let mut m = lettre::Message::builder().from(parse(c.from.as_deref().unwrap_or(""))?).subject(&o.title).header(ContentType::TEXT_PLAIN);
    for to in &c.to {
        m = m.to(parse(to)?);
    }
    let mail = m.body(payload::email_text(o)).map_err(|e| format!("cannot build the mail: {e}"))?;
    b.build().send(mail).await.map(|_| ()).map_err(|e| format!("the mail server said: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_short_and_never_carry_a_secret() {
        let s = Secrets::from([("bot_token", "123:SECRET".to_string())]);
        assert_eq!(redact("bad token 123:SECRET\n here", &s), "bad token [redacted] here");
        assert_eq!(redact(&"x".repeat(500), &s).chars().count(), 201);
        let c = ChannelConfig::new("tg", ChannelKind::Telegram);
        let o = super::super::message::fold(vec![super::super::message::Message::test("tg", "mini", 0)]).unwrap();
        assert_eq!(
            request(&c, &o, &Secrets::new()),
            Err("the secret \"bot_token\" of this channel is not set: enter it in the app".into())
        );
    }
}
