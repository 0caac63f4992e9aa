//! What became of the calls of one ACS client, per operation: counted as they end, read by the
//! metrics (`acs_auth_acs_calls_total`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::acs::{AcsError, Operation};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// A success status.
    Ok,
    /// ACS answered `429`, or the client's pacing held the call back.
    Throttled,
    /// ACS answered another error status.
    Refused,
    /// The call timed out.
    Timeout,
    /// Connecting, sending or receiving failed, or the answer could not be understood.
    Transport,
    /// The circuit breaker was open: nothing was sent.
    CircuitOpen,
    /// The Entra ID credential could not get a token: nothing was sent.
    Credential,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 7] = [
        CallOutcome::Ok,
        CallOutcome::Throttled,
        CallOutcome::Refused,
        CallOutcome::Timeout,
        CallOutcome::Transport,
        CallOutcome::CircuitOpen,
        CallOutcome::Credential,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Throttled => "throttled",
            CallOutcome::Refused => "refused",
            CallOutcome::Timeout => "timeout",
            CallOutcome::Transport => "transport",
            CallOutcome::CircuitOpen => "circuit_open",
            CallOutcome::Credential => "credential",
        }
    }

    /// The outcome of a call that ended with `result`.
    pub fn of<T>(result: &Result<T, AcsError>) -> Self {
        match result {
            Ok(_) => CallOutcome::Ok,
            Err(AcsError::Api { status: 429, .. } | AcsError::Throttled { .. }) => {
                CallOutcome::Throttled
            }
            Err(AcsError::Api { .. }) => CallOutcome::Refused,
            Err(AcsError::Timeout) => CallOutcome::Timeout,
            Err(AcsError::CircuitOpen { .. }) => CallOutcome::CircuitOpen,
            Err(AcsError::Credential { .. }) => CallOutcome::Credential,
            Err(
                AcsError::Transport(_)
                | AcsError::InvalidResponse(_)
                | AcsError::InvalidConnectionString(_),
            ) => CallOutcome::Transport,
        }
    }

    fn index(self) -> usize {
        match self {
            CallOutcome::Ok => 0,
            CallOutcome::Throttled => 1,
            CallOutcome::Refused => 2,
            CallOutcome::Timeout => 3,
            CallOutcome::Transport => 4,
            CallOutcome::CircuitOpen => 5,
            CallOutcome::Credential => 6,
        }
    }
}

/// Calls by operation and outcome.
#[derive(Debug, Default)]
pub struct CallCounts {
    counts: [[AtomicU64; CallOutcome::ALL.len()]; Operation::ALL.len()],
}

impl CallCounts {
    pub fn record(&self, operation: Operation, outcome: CallOutcome) {
        self.counts[operation.index()][outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Every (operation, outcome) with at least one call.
    pub fn snapshot(&self) -> Vec<(Operation, CallOutcome, u64)> {
        let mut out = Vec::new();
        for operation in Operation::ALL {
            for outcome in CallOutcome::ALL {
                let n = self.counts[operation.index()][outcome.index()].load(Ordering::Relaxed);
                if n > 0 {
                    out.push((operation, outcome, n));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_per_operation() {
        let counts = CallCounts::default();
        counts.record(Operation::Create, CallOutcome::Ok);
        counts.record(Operation::Create, CallOutcome::Ok);
        counts.record(
            Operation::Issue,
            CallOutcome::of::<()>(&Err(AcsError::Timeout)),
        );
        assert_eq!(
            counts.snapshot(),
            vec![
                (Operation::Create, CallOutcome::Ok, 2),
                (Operation::Issue, CallOutcome::Timeout, 1),
            ]
        );
        let throttled: Result<(), AcsError> = Err(AcsError::Api {
            status: 429,
            code: "TooManyRequests".into(),
            message: String::new(),
            retry_after: None,
        });
        assert_eq!(CallOutcome::of(&throttled), CallOutcome::Throttled);
    }
}
