//! [`RunningEmulator`]: the emulator served over HTTP (and HTTPS) on real sockets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use poem::Server;
use poem::listener::{AcceptorExt as _, RustlsCertificate, RustlsConfig, TcpAcceptor};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Emulator, EmulatorConfig, EmulatorError, tls};

/// How long shutdown waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// An emulator serving on sockets. Shuts down when dropped.
pub struct RunningEmulator {
    pub http_addr: SocketAddr,
    pub https_addr: Option<SocketAddr>,
    /// The self-signed certificate (PEM) clients must trust for HTTPS.
    pub cert_path: Option<PathBuf>,
    emulator: Arc<Emulator>,
    shutdown: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
    /// A temporary TLS directory we created (removed on drop).
    temp_dir: Option<PathBuf>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("http_addr", &self.http_addr)
            .field("https_addr", &self.https_addr)
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

/// The address clients should dial for a bound address (loopback for "any").
fn dial_addr(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

fn spawn_server<A>(
    acceptor: A,
    emulator: &Emulator,
    name: &'static str,
) -> (oneshot::Sender<()>, JoinHandle<()>)
where
    A: poem::listener::Acceptor + 'static,
{
    let (tx, rx) = oneshot::channel::<()>();
    let endpoint = emulator.endpoint();
    let task = tokio::spawn(async move {
        let signal = async {
            let _ = rx.await;
        };
        if let Err(e) = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(endpoint, signal, Some(SHUTDOWN_GRACE))
            .await
        {
            tracing::error!(error = %e, listener = name, "ACS emulator server stopped");
        }
    });
    (tx, task)
}

impl RunningEmulator {
    /// Start serving on `http_bind` (port 0 picks a free port) and, when given, HTTPS on
    /// `https_bind` with a freshly generated self-signed certificate written to
    /// `config.tls_dir` (or a temporary directory).
    pub async fn start(
        config: EmulatorConfig,
        http_bind: SocketAddr,
        https_bind: Option<SocketAddr>,
    ) -> Result<Self, EmulatorError> {
        let tls_dir = config.tls_dir.clone();
        let emulator = Arc::new(Emulator::new(config)?);

        let http_listener = tokio::net::TcpListener::bind(http_bind).await?;
        let http_addr = dial_addr(http_listener.local_addr()?);
        let mut shutdown = Vec::new();
        let mut tasks = Vec::new();
        let (tx, task) = spawn_server(TcpAcceptor::from_tokio(http_listener)?, &emulator, "http");
        shutdown.push(tx);
        tasks.push(task);

        let mut running = Self {
            http_addr,
            https_addr: None,
            cert_path: None,
            emulator,
            shutdown,
            tasks,
            temp_dir: None,
        };

        if let Some(https_bind) = https_bind {
            super::super::install_crypto_provider();
            let cert = tls::generate(Some(https_bind.ip()))?;
            let dir = match tls_dir {
                Some(dir) => dir,
                None => {
                    let dir = std::env::temp_dir()
                        .join(format!("acs-auth-emulator-{}", uuid::Uuid::new_v4()));
                    running.temp_dir = Some(dir.clone());
                    dir
                }
            };
            running.cert_path = Some(tls::write(&dir, &cert)?);
            let config = RustlsConfig::new().fallback(
                RustlsCertificate::new()
                    .cert(cert.cert_pem.into_bytes())
                    .key(cert.key_pem.into_bytes()),
            );
            let listener = tokio::net::TcpListener::bind(https_bind).await?;
            running.https_addr = Some(dial_addr(listener.local_addr()?));
            let acceptor =
                TcpAcceptor::from_tokio(listener)?.rustls(futures::stream::iter(vec![config]));
            let (tx, task) = spawn_server(acceptor, &running.emulator, "https");
            running.shutdown.push(tx);
            running.tasks.push(task);
        }
        tracing::info!(
            http = %running.http_addr,
            https = ?running.https_addr,
            resource_id = running.emulator.resource_id(),
            "ACS emulator listening"
        );
        Ok(running)
    }

    /// The HTTP endpoint URL, e.g. `http://127.0.0.1:1234/`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}/", self.http_addr)
    }

    /// The HTTPS endpoint URL, e.g. `https://127.0.0.1:1235/` (the certificate covers
    /// `localhost`, `127.0.0.1` and `::1`).
    pub fn https_endpoint(&self) -> Option<String> {
        self.https_addr.map(|a| format!("https://{a}/"))
    }

    /// `endpoint=http://127.0.0.1:PORT/;accesskey=…` — contains the key; never log it.
    pub fn connection_string(&self) -> String {
        self.emulator.connection_string_for(&self.http_endpoint())
    }

    /// The HTTPS connection string (what the Python and JS SDKs need), if serving HTTPS.
    pub fn https_connection_string(&self) -> Option<String> {
        self.https_endpoint()
            .map(|e| self.emulator.connection_string_for(&e))
    }

    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    /// Stop accepting, let open requests finish (briefly), and wait for the servers.
    pub async fn shutdown(mut self) {
        for tx in self.shutdown.drain(..) {
            let _ = tx.send(());
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        for tx in self.shutdown.drain(..) {
            let _ = tx.send(());
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
