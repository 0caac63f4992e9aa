//! The one crypto provider of acs-auth: aws-lc-rs, for rustls (every TLS connection) and
//! jsonwebtoken (every signature check) alike.
//!
//! reqwest is built without a TLS provider of its own (`rustls-tls-*-no-provider`): it takes
//! rustls' process default, and a client built before one is installed panics ("No provider
//! set"). So install it first — [`install_crypto_provider`] — or build clients with
//! [`http_client`] / [`http_client_builder`], which do.

/// Install rustls' aws-lc-rs provider as the process default. Idempotent; a default someone
/// else installed first stays.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// `reqwest::Client::new()`, with the process crypto provider installed first.
pub fn http_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::new()
}

/// `reqwest::Client::builder()`, with the process crypto provider installed first.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_default_is_aws_lc_rs() {
        super::install_crypto_provider();
        let default = rustls::crypto::CryptoProvider::get_default();
        let aws = rustls::crypto::aws_lc_rs::default_provider();
        assert!(default.is_some_and(|p| {
            p.cipher_suites.len() == aws.cipher_suites.len()
                && p.kx_groups.len() == aws.kx_groups.len()
                && p.kx_groups
                    .iter()
                    .zip(&aws.kx_groups)
                    .all(|(a, b)| a.name() == b.name())
        }));
        drop(super::http_client());
    }
}
