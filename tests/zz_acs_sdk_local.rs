// TEMPORARY local test target for src/acs work; deleted before hand-off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "api/acs_sdk.rs"]
mod acs_sdk;
#[tokio::test]
async fn zz_trace_paths() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("acs_auth=debug")
        .with_test_writer()
        .try_init();
    acs_auth::acs::install_crypto_provider();
    let l = "127.0.0.1:0".parse().unwrap();
    let emu = acs_auth::acs::RunningEmulator::start(
        acs_auth::acs::EmulatorConfig::with_random_key(),
        l,
        Some(l),
    )
    .await
    .unwrap();
    let out = tokio::process::Command::new(".venv/bin/python")
        .arg("tests/acs_sdk/python_sdk_check.py")
        .env(
            "ACS_CONNECTION_STRING",
            emu.https_connection_string().unwrap(),
        )
        .env("ACS_CERT_PATH", emu.cert_path.clone().unwrap())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
