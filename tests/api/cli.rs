//! The tenant commands of the CLI work on the servers' database.

use std::process::Command;

use crate::helpers::{sha256_hex, start_emulator};

fn acs_auth(args: &[&str], config: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Multi-threaded: the fake IdP must keep serving while the test waits on the CLI process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_add_list_disable_and_enable_work_on_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start_emulator().await;
    let idp = acs_auth_providers::testing::TestIssuer::start().await;
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n[acs]\nconnection_string = \"{}\"\n",
            dir.path().join("db.sqlite").display(),
            emulator.connection_string()
        ),
    )
    .unwrap();
    let tenant = dir.path().join("globex.toml");
    std::fs::write(
        &tenant,
        format!(
            "id = \"globex\"\n[provider]\nkind = \"oidc\"\nissuer = \"{}\"\naudiences = [\"{}\"]\nallow_http = true\n",
            idp.issuer(),
            idp.audience()
        ),
    )
    .unwrap();

    let (ok, out, err) = acs_auth(
        &["tenants", "add", "--file", tenant.to_str().unwrap()],
        &config,
    );
    assert!(ok, "{out}{err}");
    let (ok, out, _) = acs_auth(&["tenants", "list"], &config);
    assert!(ok);
    let line = out
        .lines()
        .find(|l| l.starts_with("globex"))
        .expect("listed");
    assert!(line.contains("database") && line.contains("true"), "{line}");

    let (ok, _, err) = acs_auth(
        &["tenants", "add", "--file", tenant.to_str().unwrap()],
        &config,
    );
    assert!(!ok && err.contains("already exists"), "{err}");

    assert!(acs_auth(&["tenants", "disable", "globex"], &config).0);
    let (_, out, _) = acs_auth(&["tenants", "list"], &config);
    assert!(
        out.lines()
            .any(|l| l.starts_with("globex") && l.contains("false")),
        "{out}"
    );
    assert!(acs_auth(&["tenants", "enable", "globex"], &config).0);

    let (ok, out, _) = acs_auth(&["tenants", "check", "globex"], &config);
    assert!(ok, "{out}");
    assert!(out.contains("[ok  ] keys usable"), "{out}");
}

#[test]
fn admin_key_prints_a_key_and_its_sha256() {
    let out = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .arg("admin-key")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("admin key:"))
        .unwrap()
        .trim();
    let hash = text
        .lines()
        .find_map(|l| l.strip_prefix("key hash:"))
        .unwrap()
        .trim();
    assert!(key.len() >= 40);
    assert_eq!(hash, sha256_hex(key));
}
