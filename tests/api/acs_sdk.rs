//! The ACS emulator works with the official Azure SDKs (Python sync + async, JS), using the
//! HTTPS connection string and the certificate it writes.
//!
//! Needs `tests/acs_sdk/setup.sh` run once (a venv at `<repo>/.venv`, node_modules in
//! `tests/acs_sdk`); without them these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use acs_auth::acs::emulator::{EmulatorConfig, RunningEmulator};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sdk_dir() -> PathBuf {
    repo_root().join("tests/acs_sdk")
}

fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing ({}): run tests/acs_sdk/setup.sh first",
        path.display()
    );
}

async fn start_emulator() -> RunningEmulator {
    acs_auth::acs::install_crypto_provider();
    let loopback = "127.0.0.1:0".parse().unwrap();
    RunningEmulator::start(EmulatorConfig::with_random_key(), loopback, Some(loopback))
        .await
        .expect("start the ACS emulator")
}

/// Run a check script against the emulator and assert it passes; returns its stdout.
async fn run_check(program: &Path, script: &Path, emu: &RunningEmulator) -> String {
    let conn = emu.https_connection_string().expect("https is on");
    let cert = emu.cert_path.clone().expect("cert written");
    let child = tokio::process::Command::new(program)
        .arg(script)
        .current_dir(sdk_dir())
        .env("ACS_CONNECTION_STRING", &conn)
        .env("ACS_HTTP_CONNECTION_STRING", emu.connection_string())
        .env("ACS_CERT_PATH", &cert)
        .env("REQUESTS_CA_BUNDLE", &cert)
        .env("SSL_CERT_FILE", &cert)
        .env("NODE_EXTRA_CA_CERTS", &cert)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} timed out", script.display()))
        .expect("wait for the script");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        script.display(),
        output.status
    );
    stdout
}

#[tokio::test]
async fn official_python_sdk_works_against_emulator() {
    let python = repo_root().join(".venv/bin/python");
    require(&python, "the Python venv");
    let script = sdk_dir().join("python_sdk_check.py");
    let emu = start_emulator().await;
    let out = run_check(&python, &script, &emu).await;
    assert!(out.contains("python SDK: all checks passed"), "{out}");
    // The scripts delete every user they create.
    assert_eq!(emu.emulator().live_identity_count(), 0, "{out}");
}

#[tokio::test]
async fn official_js_sdk_works_against_emulator() {
    require(
        &sdk_dir().join("node_modules/@azure/communication-identity/package.json"),
        "the JS SDK (tests/acs_sdk/node_modules)",
    );
    let script = sdk_dir().join("js_sdk_check.mjs");
    let emu = start_emulator().await;
    let out = run_check(Path::new("node"), &script, &emu).await;
    assert!(out.contains("JS SDK: all checks passed"), "{out}");
    assert_eq!(emu.emulator().live_identity_count(), 0, "{out}");
}
