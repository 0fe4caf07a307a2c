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
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: false, bind: "127.0.0.1:9464".into(), token: String::new() }
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
    }
}
