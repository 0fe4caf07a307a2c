//! `[http]` in caretaker.toml: the opt-in read-only endpoint, where it listens and its token.

use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub enabled: bool,
    pub bind: String,
    /// Required when `bind` is not a loopback address.
    pub token: String,
    /// Host names, besides `localhost` and IP addresses, that clients may use to reach the
    /// endpoint (e.g. `macmini.local`). Requests naming any other host are refused, so a web page
    /// cannot read the endpoint by pointing its own domain at this machine.
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: false, bind: "127.0.0.1:9464".into(), token: String::new(), allowed_hosts: Vec::new() }
    }
}

impl HttpConfig {
    /// Problems with this section, each named by its path under `at` (`http`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        match self.bind.parse::<std::net::SocketAddr>() {
            Err(_) => out.push(ConfigIssue { path: format!("{at}.bind"), message: format!("must be an address and port such as 127.0.0.1:9464 (got {:?})", self.bind), location: None }),
            Ok(addr) if self.enabled && !addr.ip().is_loopback() && self.token.trim().len() < 16 => out.push(ConfigIssue {
                path: format!("{at}.token"),
                message: format!("listening on {addr} (not loopback) needs a bearer token of at least 16 characters; refusing to expose the endpoint without one"),
                location: None,
            }),
            Ok(_) => {}
        }
        for (i, h) in self.allowed_hosts.iter().enumerate() {
            let ok = !h.is_empty() && h.len() <= 253 && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok {
                out.push(ConfigIssue {
                    path: format!("{at}.allowed_hosts[{i}]"),
                    message: format!("must be a bare host name such as macmini.local, without scheme, port or path (got {h:?})"),
                    location: None,
                });
            }
        }
    }
}

/// Whether a request's `Host` header names this endpoint. DNS rebinding needs a domain the
/// attacker controls, so IP literals (what a browser sends only for a URL that already names this
/// machine by address) and `localhost` are always accepted; other names only when listed.
/// A request without a Host header cannot come from a browser and is accepted.
pub(crate) fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else { return true };
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[::1]` or `[::1]:9464`
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => return ip.parse::<std::net::Ipv6Addr>().is_ok(),
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() {
        return false;
    }
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name == "localhost"
        || allowed.iter().any(|a| a.strip_suffix('.').unwrap_or(a).eq_ignore_ascii_case(&name))
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_localhost_and_listed_names_pass() {
        let listed = vec!["MacMini.local".to_string()];
        for ok in [
            None,
            Some("127.0.0.1"),
            Some("127.0.0.1:9464"),
            Some("localhost"),
            Some("LOCALHOST:9464"),
            Some("[::1]"),
            Some("[::1]:9464"),
            Some("192.168.1.5:9464"),
            Some("macmini.local:9464"),
            Some("localhost."),
        ] {
            assert!(host_allowed(ok, &listed), "{ok:?} should pass");
        }
        for bad in [
            Some("evil.example"),
            Some("evil.example:9464"),
            Some(""),
            Some("localhost.evil.example"),
            Some("[::1"),
            Some("[evil]:1"),
            Some("127.0.0.1:x"),
            Some("127.0.0.1.nip.io"),
        ] {
            assert!(!host_allowed(bad, &listed), "{bad:?} should be refused");
        }
    }
}
