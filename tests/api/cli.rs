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

/// A configuration file: a SQLite database in `dir` and the emulator as the default resource.
fn config_file(
    dir: &std::path::Path,
    emulator: &acs_auth::acs::RunningEmulator,
) -> std::path::PathBuf {
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n[acs]\nconnection_string = \"{}\"\n",
            dir.join("db.sqlite").display(),
            emulator.connection_string()
        ),
    )
    .unwrap();
    config
}

/// A tenant file for `acs-auth tenants add`: an OIDC tenant of `idp`, then `extra` TOML.
fn tenant_file(
    dir: &std::path::Path,
    id: &str,
    idp: &acs_auth_providers::testing::TestIssuer,
    extra: &str,
) -> std::path::PathBuf {
    let tenant = dir.join(format!("{id}.toml"));
    std::fs::write(
        &tenant,
        format!(
            "id = \"{id}\"\n[provider]\nkind = \"oidc\"\nissuer = \"{}\"\naudiences = [\"{}\"]\nallow_http = true\nallow_private_network = true\n{extra}",
            idp.issuer(),
            idp.audience()
        ),
    )
    .unwrap();
    tenant
}

// Multi-threaded: the fake IdP must keep serving while the test waits on the CLI process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_add_list_disable_and_enable_work_on_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start_emulator().await;
    let idp = acs_auth_providers::testing::TestIssuer::start().await;
    let config = config_file(dir.path(), &emulator);
    let tenant = tenant_file(dir.path(), "globex", &idp, "");

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

/// A resource reached with an Entra ID credential instead of an access key, as the
/// configuration file and `tenants add` take it.
const ENTRA_ACS: &str = "[acs]\nendpoint = \"https://contoso.communication.azure.com/\"\n[acs.entra]\ncredential = \"client_secret\"\ntenant_id = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nclient_id = \"3fa85f64-5717-4562-b3fc-2c963f66afa6\"\nclient_secret = \"s3cr3t-value\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_add_takes_an_acs_resource_with_an_entra_credential() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start_emulator().await;
    let idp = acs_auth_providers::testing::TestIssuer::start().await;
    let config = config_file(dir.path(), &emulator);
    let tenant = tenant_file(dir.path(), "initech", &idp, ENTRA_ACS);
    let (ok, out, err) = acs_auth(
        &["tenants", "add", "--file", tenant.to_str().unwrap()],
        &config,
    );
    assert!(ok, "{out}{err}");
    let (ok, out, _) = acs_auth(&["tenants", "list"], &config);
    assert!(ok && out.lines().any(|l| l.starts_with("initech")), "{out}");
}

#[test]
fn serve_starts_with_an_acs_endpoint_and_an_entra_credential_and_mounts_no_dev_issuer_or_emulator()
{
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}?mode=rwc\"\n[log]\nformat = \"json\"\n{ENTRA_ACS}",
            dir.path().join("db.sqlite").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // The server logs (on stderr) its address once it listens; read lines until then, keeping
    // the rest for the failure message.
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let kept = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("acs-auth listening") {
                let _ = tx.send(line.clone());
            }
            kept.lock().unwrap().push_str(&line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    let addr = line.as_ref().ok().and_then(|line| {
        let log: serde_json::Value = serde_json::from_str(line).ok()?;
        Some(log["addr"].as_str()?.to_owned())
    });
    let request = |request_line: &str| -> Option<String> {
        let addr = addr.as_ref()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        stream
            .set_read_timeout(Some(deadline - Instant::now()))
            .ok()?;
        use std::io::{Read, Write};
        let raw = format!(
            "{request_line} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(raw.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    };
    let healthz = request("GET /healthz");
    // `serve` mounts neither the development issuer nor the ACS emulator.
    let dev_paths = [
        "POST /dev/idp/token",
        "GET /dev/idp/.well-known/openid-configuration",
        "GET /dev/idp/jwks",
        "POST /identities?api-version=2023-10-01",
        "GET /_emulator/calls",
    ]
    .map(|path| (path, request(path).unwrap_or_default()));
    let _ = child.kill();
    let _ = child.wait();
    let stderr = log.lock().unwrap().clone();
    assert!(line.is_ok(), "serve did not start: {stderr}");
    let healthz = healthz.unwrap_or_default();
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz} {stderr}");
    for (path, response) in dev_paths {
        assert!(response.starts_with("HTTP/1.1 404"), "{path}: {response}");
    }
}

/// Runs the binary in `dir` (as its working directory) with `args` and no configuration.
fn acs_auth_in(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(args)
        .current_dir(dir)
        .env_remove("ACS_AUTH_CONFIG")
        .env_remove("ACS_AUTH_DATABASE__URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_check_of_an_unknown_tenant_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start_emulator().await;
    let config = config_file(dir.path(), &emulator);
    let (ok, out, err) = acs_auth(&["tenants", "check", "nope"], &config);
    assert!(!ok, "exit 0: {out}");
    assert!(err.contains("no tenant `nope`"), "{err}");
}

#[test]
fn tenant_commands_without_a_database_say_so_and_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = acs_auth_in(dir.path(), &["tenants", "list"]);
    assert!(!ok);
    assert!(
        err.contains("no database") && err.contains("--config"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing is created in the working directory"
    );
}

#[test]
fn serve_checks_the_configuration_before_it_touches_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let config = dir.path().join("c.toml");
    // No ACS resource: a configuration error, and no database file created or migrated.
    std::fs::write(
        &config,
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}?mode=rwc\"\n",
            db.display()
        ),
    )
    .unwrap();
    let (ok, _, err) = acs_auth_in(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("acs.connection_string"), "{err}");
    assert!(!db.exists(), "the database was created before the check");
}

#[test]
fn help_texts_say_what_the_tenant_commands_do() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = acs_auth_in(dir.path(), &["tenants", "--help"]);
    assert!(ok);
    assert!(out.contains("Manage the tenants"), "{out}");
    for command in ["disable", "enable", "check"] {
        let (ok, out, _) = acs_auth_in(dir.path(), &["tenants", command, "--help"]);
        assert!(ok);
        assert!(
            out.contains("The tenant's id") || out.contains("its id"),
            "{command}: {out}"
        );
    }
}

#[test]
fn dev_token_refuses_a_lifetime_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for minutes in ["0", "1441"] {
        let (ok, _, err) = acs_auth_in(dir.path(), &["dev-token", "alice", "--minutes", minutes]);
        assert!(!ok, "--minutes {minutes} was accepted");
        assert!(err.contains("--minutes"), "{err}");
    }
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[database]\nurl = \"sqlite::memory:\"\n").unwrap();
    // `migrate` logs through the configured subscriber; stderr is a pipe here.
    let out = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["migrate", "--config"])
        .arg(&config)
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.is_empty(), "nothing was logged");
    assert!(!stderr.contains('\u{1b}'), "ANSI escape in {stderr:?}");
}

/// `acs-auth tenants verify-token TENANT` with the token on stdin.
fn verify_token(config: &std::path::Path, tenant: &str, token: &str) -> (bool, String, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["tenants", "verify-token", tenant, "--config"])
        .arg(config)
        // Every log line, so the token's absence from them means something.
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_verify_token_reports_every_check_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start_emulator().await;
    let idp = acs_auth_providers::testing::TestIssuer::start().await;
    let config = config_file(dir.path(), &emulator);
    let tenant = tenant_file(dir.path(), "globex", &idp, "");
    let (ok, out, err) = acs_auth(
        &["tenants", "add", "--file", tenant.to_str().unwrap()],
        &config,
    );
    assert!(ok, "{out}{err}");

    let token = idp.token("alice");
    let (ok, out, err) = verify_token(&config, "globex", &token);
    assert!(ok, "{out}{err}");
    assert!(out.contains("[ok  ] signature:"), "{out}");
    assert!(out.contains("[ok  ] required_roles:"), "{out}");
    assert!(out.contains("valid: the token names `alice`"), "{out}");
    assert!(
        err.contains("TRACE") || err.contains("DEBUG"),
        "logs at trace: {err}"
    );
    let signature = token.rsplit('.').next().unwrap();
    for text in [&out, &err] {
        assert!(
            !text.contains(signature),
            "the token is never printed or logged"
        );
    }

    let other = acs_auth_providers::testing::TestIssuer::start().await;
    let (ok, out, err) = verify_token(&config, "globex", &other.token("alice"));
    assert!(!ok, "{out}");
    assert!(
        out.contains("[FAIL] signature:") && out.contains("[skip] issuer:"),
        "{out}"
    );
    assert!(err.contains("the token would be refused"), "{err}");

    let (ok, _, err) = verify_token(&config, "nope", &token);
    assert!(!ok && err.contains("no tenant `nope`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_links_are_made_listed_revoked_and_activated_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = start_emulator().await;
    let config = config_file(dir.path(), &emulator);
    let (ok, out, err) = acs_auth(&["migrate"], &config);
    assert!(ok, "{out}{err}");

    let (ok, out, err) = acs_auth(&["setup-links", "create", "initech"], &config);
    assert!(!ok, "no address for the link");
    assert!(err.contains("setup.public_url"), "{out}{err}");

    let (ok, url, err) = acs_auth(
        &[
            "setup-links",
            "create",
            "initech",
            "--public-url",
            "https://auth.example.com",
            "--expires-in-hours",
            "2",
        ],
        &config,
    );
    assert!(ok, "{url}{err}");
    let url = url.trim();
    assert!(
        url.starts_with("https://auth.example.com/setup?link="),
        "{url}"
    );
    let secret = url.rsplit('=').next().unwrap();

    let (ok, out, err) = acs_auth(&["setup-links", "list", "initech"], &config);
    assert!(ok, "{out}{err}");
    let line = out.lines().nth(1).unwrap();
    assert!(line.contains(" open "), "{out}");
    assert!(!out.contains(secret), "the secret is shown once only");
    let id = line.split_whitespace().next().unwrap().to_owned();

    let (ok, out, err) = acs_auth(&["setup-links", "activate", "initech", &id], &config);
    assert!(!ok, "nothing was submitted");
    assert!(err.contains("nothing was submitted"), "{out}{err}");

    let (ok, out, err) = acs_auth(&["setup-links", "revoke", "initech", &id], &config);
    assert!(ok, "{out}{err}");
    let (_, out, _) = acs_auth(&["setup-links", "list", "initech"], &config);
    assert!(out.contains(" revoked "), "{out}");
    let (ok, _, err) = acs_auth(&["setup-links", "revoke", "initech", &id], &config);
    assert!(!ok && err.contains("revoked"), "{err}");
    let (ok, _, err) = acs_auth(&["setup-links", "revoke", "other", &id], &config);
    assert!(!ok && err.contains("no such setup link"), "{err}");
}
