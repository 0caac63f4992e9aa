//! JWT verification per algorithm (RS256, PS256, ES256), through the path the server takes.
//!
//! - `oidc_verify/{alg}`: [`OidcProvider::verify`], all of it: size and shape, header, the
//!   strict payload parse, discovery and key lookup (both already cached: no request is made
//!   in the measured loop, which is asserted), signature and claim checks, identity built.
//! - `verify_token/{alg}`: [`validate::verify_token`] alone, with the key the JWKS cache holds
//!   and the provider's claim rules: the signature and the claim checks.
//!
//! The issuer is the in-process [`TestIssuer`]; its JWKS holds its RSA-2048 key twice (as
//! `RS256` and, under another `kid`, as `PS256`: a key is bound to one algorithm) and an EC P-256
//! key generated here with aws-lc-rs. Run with `cargo bench -p acs-auth-providers --bench verify`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use acs_auth_providers::testing::{TestIssuer, b64url, oidc_config_for};
use acs_auth_providers::validate::{self, ClaimRules, DEFAULT_LEEWAY_SECS};
use acs_auth_providers::{FetchPolicy, IdentityProvider, JwksCache, JwksCacheConfig, OidcProvider};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use url::Url;

/// The bench's IdP is on loopback, over http.
const LOOPBACK: FetchPolicy = FetchPolicy {
    allow_http: true,
    allow_private_network: true,
};

const PS256_KID: &str = "ps256-key";
const ES256_KID: &str = "es256-key";

/// An EC P-256 key: its public JWK (`ES256`, `kid`) and its signing key.
fn ec_key(kid: &str) -> (serde_json::Value, EncodingKey) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    // Uncompressed SEC1 point: 0x04 ‖ x ‖ y.
    let point = pair.public_key().as_ref();
    assert_eq!(point.len(), 65);
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": b64url(&point[1..33]), "y": b64url(&point[33..]),
    });
    (jwk, EncodingKey::from_ec_der(pkcs8.as_ref()))
}

struct Setup {
    idp: TestIssuer,
    provider: OidcProvider,
    jwks: Arc<JwksCache>,
    jwks_uri: Url,
    /// (algorithm, a valid token for it).
    tokens: Vec<(&'static str, String)>,
}

async fn setup() -> Setup {
    let idp = TestIssuer::start().await;
    let jwks = Arc::new(JwksCache::new(
        acs_auth_providers::testing::idp_http(),
        JwksCacheConfig::default(),
    ));
    let provider = OidcProvider::new(oidc_config_for(&idp), Arc::clone(&jwks)).unwrap();

    // The issuer's RSA key once more, bound to PS256 under its own kid.
    let mut ps256 = idp.public_jwk();
    ps256["kid"] = json!(PS256_KID);
    ps256["alg"] = json!("PS256");
    idp.publish_jwk(ps256);
    let (es256, ec_signer) = ec_key(ES256_KID);
    idp.publish_jwk(es256);

    let claims = idp.claims("bench-user");
    let rs256 = idp.token_with(claims.clone());
    let ps256 = idp.token_with_header(
        json!({ "alg": "PS256", "typ": "JWT", "kid": PS256_KID }),
        claims.clone(),
    );
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(ES256_KID.to_owned());
    let es256 = jsonwebtoken::encode(&header, &claims, &ec_signer).unwrap();
    let tokens = vec![("RS256", rs256), ("PS256", ps256), ("ES256", es256)];

    // Discovery and the JWKS are fetched here, once, before anything is measured.
    for (alg, token) in &tokens {
        let who = provider.verify(token).await.unwrap();
        assert_eq!(who.subject, "bench-user", "{alg}");
    }
    let jwks_uri = provider.jwks_uri().await.unwrap();
    Setup {
        idp,
        provider,
        jwks,
        jwks_uri,
        tokens,
    }
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let setup = runtime.block_on(setup());
    let fetches = (
        setup.idp.discovery_fetch_count(),
        setup.idp.jwks_fetch_count(),
    );

    let mut group = c.benchmark_group("oidc_verify");
    for (alg, token) in &setup.tokens {
        group.bench_function(*alg, |b| {
            b.to_async(&runtime)
                .iter(|| async { setup.provider.verify(black_box(token)).await.unwrap() });
        });
    }
    group.finish();

    let rules = ClaimRules {
        issuer: setup.idp.issuer(),
        audiences: vec![setup.idp.audience()],
        leeway_secs: DEFAULT_LEEWAY_SECS,
    };
    let mut group = c.benchmark_group("verify_token");
    for (alg, token) in &setup.tokens {
        let header = validate::parse_header(token).unwrap();
        let key = runtime
            .block_on(
                setup
                    .jwks
                    .key_for(&setup.jwks_uri, header.kid.as_deref(), LOOPBACK),
            )
            .unwrap();
        group.bench_function(*alg, |b| {
            b.iter(|| {
                // The payload parse is the one the provider makes before choosing the key.
                let claims = validate::peek_claims_unverified(black_box(token)).unwrap();
                validate::verify_token(token, &header, claims, &key, &rules).unwrap()
            });
        });
    }
    group.finish();

    assert_eq!(
        (
            setup.idp.discovery_fetch_count(),
            setup.idp.jwks_fetch_count()
        ),
        fetches,
        "the measured loops fetched discovery or keys"
    );
}

criterion_group!(benches, verify);
criterion_main!(benches);
