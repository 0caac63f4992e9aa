//! `acs-auth serve` as a child process, for the tests that need a real process (signals, the
//! global log subscriber): one tenant of a test IdP, the emulator as its ACS resource.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acs_auth::acs::RunningEmulator;
use acs_auth_providers::testing::TestIssuer;

use crate::helpers::TENANT;

/// A running `acs-auth serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Everything the server wrote to stderr (its log).
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `acs-auth serve` with one tenant of `idp`, the TOML `head` (whole sections, e.g. `[server]`
/// with its keys) before the rest, and the fail points `failpoints`; ready when it returns.
pub async fn serve(
    idp: &TestIssuer,
    emulator: &RunningEmulator,
    head: &str,
    failpoints: &str,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "{head}\n[database]\nurl = \"sqlite://{}?mode=rwc\"\n[acs]\nconnection_string = \"{}\"\n\
             [[tenants]]\nid = \"{TENANT}\"\n[tenants.provider]\nkind = \"oidc\"\nissuer = \"{}\"\n\
             audiences = [\"{}\"]\nallow_http = true\nallow_private_network = true\n",
            dir.path().join("db.sqlite").display(),
            emulator.connection_string(),
            idp.issuer(),
            idp.audience()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("server.log");
    let child = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .env("FAILPOINTS", failpoints)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    };
    let client = acs_auth_providers::http_client();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

pub fn sigterm(server: &Server) {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Waits (at most `within`) for the process to exit; its status and when it exited.
pub async fn exited(server: &mut Server, within: Duration) -> (std::process::ExitStatus, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return (status, started.elapsed());
        }
        assert!(started.elapsed() < within, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
