//! The HTTP server: hyper, serving the poem application, with the edge's own limits (issue 11).
//!
//! - **Header read**: a request's header block must arrive within `header_read_timeout`,
//!   counted from when the connection starts waiting for it — so it also bounds how long an
//!   idle keep-alive connection stays open (hyper's HTTP/1 header timer).
//! - **Inactivity**: a connection on which nothing is read or written for `idle_timeout` is
//!   closed (a body that stalls, a client that stopped reading).
//! - **Whole request**: a request not answered within `request_timeout` (its body read
//!   included) gets `408 request_timeout` and its connection is closed.
//! - **Connections**: at most `max_connections` at once; past the cap a new connection waits in
//!   the listen backlog until one ends (stalled ones end within the header timeout).
//!
//! Shutdown (run by [`crate::startup::Application::run_until`]): readiness turns false at once
//! while requests are still accepted for the shutdown delay; then stop accepting and let
//! in-flight requests finish for at most the grace period.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::Endpoint;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

/// The edge's limits.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// After the shutdown signal, how long new requests are still accepted (readiness already
    /// reports the shutdown), so load balancers stop sending before connections are refused.
    pub shutdown_delay: Duration,
    /// Then how long in-flight requests may take to finish.
    pub shutdown_grace: Duration,
}

/// How many connections may wait to be accepted (the kernel caps it at `net.core.somaxconn`):
/// a burst of new clients, or the ones waiting for a slot past `max_connections`.
const BACKLOG: u32 = 4096;

/// A listener on `addr` with a deep accept backlog (tokio's `bind` keeps 1024).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    app: BoxEndpoint<'static>,
    limits: EdgeLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let app: Arc<BoxEndpoint<'static>> = Arc::new(app);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A free slot first: at the cap, new connections wait in the listen backlog (served
        // as soon as a connection ends — stalled ones end within the header timeout) instead
        // of being accepted and dropped.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, do not spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let stop = stop_rx.clone();
                tokio::spawn(async move {
                    connection(stream, local, peer, app, limits, stop).await;
                    drop(slot);
                });
            }
        }
    }
    // New connections are refused from now on.
    drop(listener);
    let _ = stop_tx.send(true);
    // In-flight connections finish within the grace period (each slot comes back when its
    // connection ends).
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all)).await;
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    app: Arc<BoxEndpoint<'static>>,
    limits: EdgeLimits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Idle::new(stream, limits.idle_timeout));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = Arc::clone(&app);
        async move {
            let req = poem::Request::from((
                req,
                LocalAddr(local.into()),
                RemoteAddr(peer.into()),
                Scheme::HTTP,
            ));
            let resp = match tokio::time::timeout(limits.request_timeout, app.call(req)).await {
                Ok(Ok(resp)) => resp,
                Ok(Err(e)) => e.into_response(),
                Err(_) => super::error::request_timeout(),
            };
            Ok::<_, Infallible>(hyper::Response::from(resp))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

fn idle_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "connection idle for server.idle_timeout_secs",
    )
}

/// A stream that fails with `TimedOut` once nothing was read or written for `timeout` while
/// a read or a write was waiting.
struct Idle<S> {
    inner: S,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
}

impl<S> Idle<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn active(&mut self) {
        self.timer.as_mut().reset(Instant::now() + self.timeout);
    }

    /// After a write: activity when bytes went out; a write that cannot go on (a client that
    /// stopped reading its answer) fails once the timer has run out.
    fn written(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(written) => {
                if matches!(written, Ok(n) if n > 0) {
                    self.active();
                }
                Poll::Ready(written)
            }
            Poll::Pending => {
                ready!(self.timer.as_mut().poll(cx));
                Poll::Ready(Err(idle_error()))
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                ready!(self.timer.as_mut().poll(cx));
                Poll::Ready(Err(idle_error()))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        self.written(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
