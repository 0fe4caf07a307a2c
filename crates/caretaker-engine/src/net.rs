//! Outbound HTTP: every client the engine builds (probes, channels and the heartbeat, the local
//! LLM, the Alertmanager forwarder) starts here, with rustls over the ring provider and the
//! platform's certificate verifier (the OS trust store). No OpenSSL in the resident process.

/// A client builder with TLS ready. Installing the process-wide provider a second time is a no-op.
pub fn http_client() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
