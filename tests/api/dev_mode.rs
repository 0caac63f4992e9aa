//! `acs-auth dev` and `dev-token`, run as the README runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn dev_mode_serves_the_readme_walkthrough() {
    let bin = env!("CARGO_BIN_EXE_acs-auth");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(bin)
            .args(["dev", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The banner names the API's address; keep draining stdout afterwards so the child never
    // writes into a closed pipe.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let banner = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let printed = std::sync::Arc::clone(&banner);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            printed.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.trim().strip_prefix("API") {
                let _ = tx.send(rest.trim().to_owned());
            }
        }
    });
    let base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("dev mode prints the API address");

    let out = Command::new(bin)
        .args(["dev-token", "alice", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    // The banner speaks to people who run the binary, and says how to turn the admin API on.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !banner.lock().unwrap().contains("Try it") {
        assert!(std::time::Instant::now() < deadline, "no full banner");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = banner.lock().unwrap().clone();
    assert!(!text.contains("cargo"), "{text}");
    assert!(text.contains("dev-token alice"), "{text}");
    assert!(text.contains("--admin-key-hash"), "{text}");

    let client = acs_auth_providers::http_client();
    // A browser app on another local origin may call it (a CORS preflight is answered).
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/tenants/dev/getToken"),
        )
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:5173")
    );
    let foreign = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/tenants/dev/getToken"),
        )
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let resp = client
        .post(format!("{base}/tenants/dev/getToken"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["user"]["communicationUserId"]
            .as_str()
            .unwrap()
            .starts_with("8:acs:")
    );

    // `--count` mints one token a line for SUBJECT-0 … SUBJECT-(N-1) (the load test's users).
    let out = Command::new(bin)
        .args(["dev-token", "load", "--count", "3", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let tokens: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(tokens.len(), 3);
    let mut users = std::collections::HashSet::new();
    for token in &tokens {
        let resp = client
            .post(format!("{base}/tenants/dev/getToken"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201, "each line is another user");
        let body: Value = resp.json().await.unwrap();
        users.insert(
            body["user"]["communicationUserId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(users.len(), 3);

    // The dev issuer's token endpoint works too, and the seed's bare path finds the dev tenant.
    let minted: Value = client
        .post(format!("{base}/dev/idp/token"))
        .form(&[("sub", "bob")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = client
        .post(format!("{base}/getToken"))
        .bearer_auth(minted["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let resp = client
        .delete(format!("{base}/tenants/dev/deleteUser"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let ui = client.get(format!("{base}/docs")).send().await.unwrap();
    assert_eq!(ui.status().as_u16(), 200);
}

#[test]
fn serve_refuses_an_invalid_config_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nbind = \"not an address\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.bind"), "{err}");
}

#[test]
fn serve_without_an_acs_resource_says_which_key_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n",
            dir.path().join("x.db").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env_remove("ACS_AUTH_ACS__CONNECTION_STRING")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acs.connection_string"), "{err}");
}
