//! The model client: an OpenAI-compatible `/models` and `/chat/completions`, answers read up to
//! a size limit so a misbehaving or hostile server cannot fill memory.

use crate::config::AnalysisConfig;
use crate::error::{EngineError, Result};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The most of an answer that is read. A real answer of at most `parse::MAX_FINDINGS` findings
/// is a few KiB; more means a broken or hostile server, and is refused rather than read.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The body of `resp`, or why it was not read in full.
async fn body_capped(mut resp: reqwest::Response) -> std::result::Result<String, String> {
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("the answer broke off: {}", e.without_url()))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn too_large() -> String {
    format!("the model server's answer is larger than {} KiB; it was cut off and not used", MAX_ANSWER_BYTES / 1024)
}

/// A minimal OpenAI-compatible client. Its HTTP client is built on the first request: building
/// one loads the system's root certificates, and analysis is off unless a person turns it on.
#[derive(Clone, Default)]
pub struct LlmClient {
    http: Arc<OnceLock<reqwest::Client>>,
}

impl LlmClient {
    pub fn new() -> Result<LlmClient> {
        Ok(LlmClient::default())
    }

    fn http(&self) -> Result<&reqwest::Client> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let built = crate::net::http_client()
            .no_proxy()
            .build()
            .map_err(|e| EngineError::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| built))
    }

    fn url(endpoint: &str, path: &str) -> String {
        format!("{}/{}", endpoint.trim_end_matches('/'), path)
    }

    /// The model ids the endpoint offers (GET /models).
    pub async fn models(&self, endpoint: &str, timeout: Duration) -> Result<Vec<String>> {
        let no_server =
            |e: String| EngineError::InvalidInput(format!("no model server at {endpoint} ({e}) - start Ollama or set analysis.endpoint"));
        let resp = tokio::time::timeout(timeout, self.http()?.get(Self::url(endpoint, "models")).send())
            .await
            .map_err(|_| no_server(format!("no answer within {} s", timeout.as_secs())))?
            .map_err(|e| no_server(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(no_server(format!("HTTP {}", resp.status().as_u16())));
        }
        let text = tokio::time::timeout(timeout, body_capped(resp))
            .await
            .map_err(|_| no_server(format!("no answer within {} s", timeout.as_secs())))?
            .map_err(no_server)?;
        let body: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| no_server(format!("not an OpenAI-compatible models list: {e}")))?;
        Ok(body["data"].as_array().map(|a| a.iter().filter_map(|m| m["id"].as_str().map(str::to_string)).collect()).unwrap_or_default())
    }

    /// One chat completion; returns the answer's text.
    pub async fn chat(&self, cfg: &AnalysisConfig, system: &str, user: &str) -> Result<String> {
        let body = json!({
            "model": cfg.model,
            "temperature": 0,
            "messages": [ { "role": "system", "content": system }, { "role": "user", "content": user } ],
        });
        let timeout = Duration::from_secs(cfg.request_timeout_secs);
        let resp = tokio::time::timeout(timeout, self.http()?.post(Self::url(&cfg.endpoint, "chat/completions")).json(&body).send())
            .await
            .map_err(|_| EngineError::InvalidInput(format!("the model did not answer within {} s", cfg.request_timeout_secs)))?
            .map_err(|e| EngineError::InvalidInput(format!("cannot reach the model server at {}: {}", cfg.endpoint, e.without_url())))?;
        let status = resp.status();
        let text = tokio::time::timeout(timeout, body_capped(resp))
            .await
            .map_err(|_| EngineError::InvalidInput(format!("the model did not finish its answer within {} s", cfg.request_timeout_secs)))?
            .map_err(EngineError::InvalidInput)?;
        if !status.is_success() {
            return Err(EngineError::InvalidInput(format!(
                "the model server answered HTTP {}: {}",
                status.as_u16(),
                text.chars().take(200).collect::<String>()
            )));
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| EngineError::InvalidInput(format!("not an OpenAI-compatible answer: {e}")))?;
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| EngineError::InvalidInput("the answer has no choices[0].message.content".into()))
    }
}
