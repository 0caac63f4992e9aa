//! W3C Trace Context (`traceparent`): the trace a request belongs to, accepted from the caller
//! (or started here), in scope for everything the request does ([`TraceContext::scope`]), and
//! sent on each ACS call as a child span ([`TraceContext::child_header`]), so the ACS calls of
//! one user request join the caller's trace.
//!
//! Parsing follows the W3C recommendation: `{version}-{trace-id}-{parent-id}-{flags}` in
//! lower-case hex; version `ff` and all-zero ids are invalid; a later version is read by its
//! first four fields. An invalid header is ignored and a new trace started, never refused.

use std::fmt::Write as _;

use rand::RngCore;

/// The trace of one request and the span that called us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
    /// Whether it came from the caller's `traceparent` (rather than started here).
    pub from_caller: bool,
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl TraceContext {
    /// The context of a `traceparent` header value, when it is valid.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        let version: [u8; 1] = hex(version)?;
        if version[0] == 0xff || (version[0] == 0 && parts.next().is_some()) {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?;
        let parent_id: [u8; 8] = hex(parent)?;
        let [flags] = hex::<1>(flags.get(..2)?)?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            flags,
            from_caller: true,
        })
    }

    /// A new trace (sampled), for a request that brought none.
    pub fn start() -> Self {
        let mut rng = rand::thread_rng();
        let mut trace_id = [0u8; 16];
        let mut parent_id = [0u8; 8];
        rng.fill_bytes(&mut trace_id);
        rng.fill_bytes(&mut parent_id);
        trace_id[0] |= 1; // never all zero
        parent_id[0] |= 1;
        Self {
            trace_id,
            parent_id,
            flags: 0x01,
            from_caller: false,
        }
    }

    /// The caller's context from its `traceparent`, or a new one.
    pub fn from_header(header: Option<&str>) -> Self {
        header.and_then(Self::parse).unwrap_or_else(Self::start)
    }

    /// The trace id, the caller's span id and the flags.
    pub fn parts(&self) -> ([u8; 16], [u8; 8], u8) {
        (self.trace_id, self.parent_id, self.flags)
    }

    /// The trace id, as 32 hex digits (what log lines carry).
    pub fn trace_id(&self) -> String {
        to_hex(&self.trace_id)
    }

    /// A `traceparent` for a call made on behalf of this request: the same trace, a new span.
    pub fn child_header(&self) -> String {
        let mut span = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut span);
        span[0] |= 1;
        format!(
            "00-{}-{}-{:02x}",
            to_hex(&self.trace_id),
            to_hex(&span),
            self.flags
        )
    }

    /// Runs `future` with this context current (see [`TraceContext::current`]).
    pub async fn scope<F: std::future::Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The context of the request being served, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|c| *c).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_continued() {
        let ctx = TraceContext::parse(VALID).unwrap();
        assert_eq!(ctx.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(ctx.from_caller);
        let child = ctx.child_header();
        assert!(
            child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{child}"
        );
        assert!(child.ends_with("-01"));
        assert_ne!(&child[36..52], "00f067aa0ba902b7", "a new span id");
        assert!(TraceContext::parse(&child).is_some());
        // A later version is read by its first four fields.
        assert!(TraceContext::parse(&format!("01{}-extra", &VALID[2..])).is_some());
    }

    #[test]
    fn invalid_traceparents_are_ignored() {
        for bad in [
            "",
            "00",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad:?}");
        }
        let started = TraceContext::from_header(Some("garbage"));
        assert!(!started.from_caller);
        assert_ne!(started.trace_id(), "0".repeat(32));
    }

    #[tokio::test]
    async fn the_context_is_current_inside_its_scope_only() {
        let ctx = TraceContext::parse(VALID).unwrap();
        assert_eq!(TraceContext::current(), None);
        let inside = ctx.scope(async { TraceContext::current() }).await;
        assert_eq!(inside, Some(ctx));
    }
}
