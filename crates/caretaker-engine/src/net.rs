//! Outbound HTTP: every client the engine builds (probes, channels and the heartbeat, the local
//! LLM, the Alertmanager forwarder) starts here, with rustls over the ring provider and the
//! platform's certificate verifier (the OS trust store). No OpenSSL in the resident process.

/// A client builder with TLS ready. Installing the process-wide provider a second time is a no-op.
pub fn http_client() -> reqwest::ClientBuilder {
    install_tls_provider();
    reqwest::Client::builder()
}

/// Makes ring rustls's process-wide provider. A process that also links a second provider (the
/// backup worker: rustic's REST backend brings aws-lc-rs) must call this before any client is
/// built, or rustls cannot tell which to use. A second call changes nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
