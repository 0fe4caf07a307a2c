//! The worker links two rustls crypto providers: ring (the engine's) and aws-lc-rs (brought by
//! rustic's REST backend through reqwest). rustls then cannot pick one by itself, so the worker
//! installs ring as the process default before anything builds a TLS client. Its own process,
//! so nothing else installed a provider first.

#[test]
fn with_two_providers_linked_the_worker_installs_ring() {
    let ambiguous = std::panic::catch_unwind(rustls::ClientConfig::builder);
    assert!(ambiguous.is_err(), "both providers are compiled in, so rustls has no default of its own");
    caretaker_engine::net::install_tls_provider();
    let config = std::panic::catch_unwind(rustls::ClientConfig::builder);
    assert!(config.is_ok(), "a TLS client can be configured once the provider is installed");
    let installed = rustls::crypto::CryptoProvider::get_default().expect("a process default");
    let ring = rustls::crypto::ring::default_provider();
    assert_eq!(format!("{:?}", installed.kx_groups), format!("{:?}", ring.kx_groups), "ring, not aws-lc-rs");
    assert_ne!(
        format!("{:?}", installed.kx_groups),
        format!("{:?}", rustls::crypto::aws_lc_rs::default_provider().kx_groups),
        "the two providers are told apart"
    );
}
