//! Fault injection: make the emulator slow, failing or throttling, per operation, so that the
//! client's timeouts, retries, circuit breaker and pacing can be tested over real HTTP.
//!
//! Set from Rust ([`Emulator::inject`](super::Emulator::inject),
//! [`Emulator::set_faults`](super::Emulator::set_faults),
//! [`Emulator::clear_faults`](super::Emulator::clear_faults)) or over HTTP (`PUT`, `GET`,
//! `DELETE /_emulator/faults`, signed like every other request; see the module docs of
//! [`super`]). A rule applies to authenticated requests of its operation, after routing and
//! before the request is processed.
//!
//! For one request, all latency rules of its operation add up; then the first `Status` rule
//! answers (the request is **not** processed, as the real service rejects before processing
//! when it throttles or is unavailable); else the first `DropAfterProcessing` rule lets the
//! request be processed and then answers its status after its delay (the answer is lost: the
//! identity exists, the token was issued). Each rule that applied uses up one of its `times`
//! and is removed when none is left; rules without `times` stay until cleared. Several `Status`
//! rules thus play in sequence (e.g. `503` twice, then `429` once).
//!
//! JSON of a plan (`PUT /_emulator/faults`):
//! ```json
//! {"faults": [
//!   {"operation": "issue",  "kind": "status", "status": 429, "retry_after": 2, "times": 3},
//!   {"operation": "create", "kind": "latency", "ms": 1500},
//!   {"operation": "revoke", "kind": "latency", "ms": 800, "times": 1},
//!   {"operation": "create", "kind": "drop_after_processing", "status": 500, "delay_ms": 0, "times": 1}
//! ]}
//! ```
//! `operation` is one of `create`, `issue`, `revoke`, `delete`, `exchange`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::acs::wire::Operation;

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` (400–599) with a `CommunicationErrorResponse` and, when given,
    /// `Retry-After: <retry_after>` (seconds), without processing the request; for the next
    /// `times` requests (`None`: until cleared).
    Status {
        status: u16,
        retry_after: Option<u64>,
        times: Option<u32>,
    },
    /// Delay every request by this much before handling it, until cleared.
    Latency(Duration),
    /// Delay the next `times` requests by `delay` before handling them.
    LatencyFor { delay: Duration, times: u32 },
    /// Process the request, then wait `delay` and answer `status` (usually `500`) instead of
    /// the result: "processed, but the answer was lost". With a `delay` past the client's
    /// timeout the client sees a timeout instead. For the next `times` requests (`None`:
    /// until cleared).
    DropAfterProcessing {
        status: u16,
        delay: Duration,
        times: Option<u32>,
    },
}

impl Fault {
    /// `status` (without `Retry-After`) for the next `times` requests.
    pub fn status(status: u16, times: u32) -> Self {
        Fault::Status {
            status,
            retry_after: None,
            times: Some(times),
        }
    }

    /// `429` with `Retry-After: retry_after` (seconds) for the next `times` requests.
    pub fn throttled(retry_after: u64, times: u32) -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after),
            times: Some(times),
        }
    }

    fn times(&self) -> Option<u32> {
        match *self {
            Fault::Status { times, .. } | Fault::DropAfterProcessing { times, .. } => times,
            Fault::Latency(_) => None,
            Fault::LatencyFor { times, .. } => Some(times),
        }
    }

    fn use_once(&mut self) {
        match self {
            Fault::Status { times, .. } | Fault::DropAfterProcessing { times, .. } => {
                if let Some(n) = times {
                    *n = n.saturating_sub(1);
                }
            }
            Fault::Latency(_) => {}
            Fault::LatencyFor { times, .. } => *times = times.saturating_sub(1),
        }
    }

    fn validate(&self) -> Result<(), String> {
        let check_status = |status: u16| {
            if (400..=599).contains(&status) {
                Ok(())
            } else {
                Err(format!("status must be within 400–599, got {status}"))
            }
        };
        match *self {
            Fault::Status { status, .. } | Fault::DropAfterProcessing { status, .. } => {
                check_status(status)?
            }
            Fault::Latency(_) | Fault::LatencyFor { .. } => {}
        }
        if self.times() == Some(0) {
            return Err("times must be at least 1 (leave it out for \"until cleared\")".into());
        }
        Ok(())
    }
}

/// A fault for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleWire", into = "RuleWire")]
pub struct FaultRule {
    pub operation: Operation,
    pub fault: Fault,
}

/// The faults in force, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    pub faults: Vec<FaultRule>,
}

impl FaultPlan {
    /// This plan and `fault` for `operation`.
    pub fn with(mut self, operation: Operation, fault: Fault) -> Self {
        self.faults.push(FaultRule { operation, fault });
        self
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Status,
    Latency,
    DropAfterProcessing,
}

/// The JSON shape of a [`FaultRule`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleWire {
    operation: Operation,
    kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// `Retry-After`, seconds (`status` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// Delay of `latency`, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ms: Option<u64>,
    /// Delay of `drop_after_processing` before it answers, milliseconds (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<FaultRule> for RuleWire {
    fn from(rule: FaultRule) -> Self {
        let mut wire = RuleWire {
            operation: rule.operation,
            kind: Kind::Status,
            status: None,
            retry_after: None,
            ms: None,
            delay_ms: None,
            times: None,
        };
        match rule.fault {
            Fault::Status {
                status,
                retry_after,
                times,
            } => {
                wire.status = Some(status);
                wire.retry_after = retry_after;
                wire.times = times;
            }
            Fault::Latency(delay) => {
                wire.kind = Kind::Latency;
                wire.ms = Some(millis(delay));
            }
            Fault::LatencyFor { delay, times } => {
                wire.kind = Kind::Latency;
                wire.ms = Some(millis(delay));
                wire.times = Some(times);
            }
            Fault::DropAfterProcessing {
                status,
                delay,
                times,
            } => {
                wire.kind = Kind::DropAfterProcessing;
                wire.status = Some(status);
                wire.delay_ms = Some(millis(delay));
                wire.times = times;
            }
        }
        wire
    }
}

impl TryFrom<RuleWire> for FaultRule {
    type Error = String;

    fn try_from(w: RuleWire) -> Result<Self, String> {
        let unexpected = |field: &str, present: bool| {
            if present {
                Err(format!(
                    "`{field}` does not apply to this kind of fault ({})",
                    w.operation
                ))
            } else {
                Ok(())
            }
        };
        let fault = match w.kind {
            Kind::Status => {
                unexpected("ms", w.ms.is_some())?;
                unexpected("delay_ms", w.delay_ms.is_some())?;
                Fault::Status {
                    status: w.status.ok_or("a `status` fault needs `status`")?,
                    retry_after: w.retry_after,
                    times: w.times,
                }
            }
            Kind::Latency => {
                unexpected("status", w.status.is_some())?;
                unexpected("retry_after", w.retry_after.is_some())?;
                unexpected("delay_ms", w.delay_ms.is_some())?;
                let delay = Duration::from_millis(w.ms.ok_or("a `latency` fault needs `ms`")?);
                match w.times {
                    Some(times) => Fault::LatencyFor { delay, times },
                    None => Fault::Latency(delay),
                }
            }
            Kind::DropAfterProcessing => {
                unexpected("ms", w.ms.is_some())?;
                unexpected("retry_after", w.retry_after.is_some())?;
                Fault::DropAfterProcessing {
                    status: w.status.unwrap_or(500),
                    delay: Duration::from_millis(w.delay_ms.unwrap_or(0)),
                    times: w.times,
                }
            }
        };
        fault.validate()?;
        Ok(FaultRule {
            operation: w.operation,
            fault,
        })
    }
}

/// What the faults do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Applied {
    pub latency: Duration,
    pub action: Option<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Answer this, do not process.
    Fail {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Process, wait, then answer this.
    DropAfter { status: u16, delay: Duration },
}

/// The faults in force and the request counts.
#[derive(Debug, Default)]
pub(super) struct Faults {
    rules: Vec<FaultRule>,
    calls: [u64; 5],
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) -> Result<(), String> {
        rule.fault.validate()?;
        self.rules.push(rule);
        Ok(())
    }

    pub fn set(&mut self, plan: FaultPlan) -> Result<(), String> {
        for rule in &plan.faults {
            rule.fault.validate()?;
        }
        self.rules = plan.faults;
        Ok(())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn plan(&self) -> FaultPlan {
        FaultPlan {
            faults: self.rules.clone(),
        }
    }

    pub fn calls(&self, operation: Operation) -> u64 {
        self.calls[operation.index()]
    }

    pub fn reset_calls(&mut self) {
        self.calls = [0; 5];
    }

    /// Count a request of `operation` and decide what the faults do to it.
    pub fn apply(&mut self, operation: Operation) -> Applied {
        self.calls[operation.index()] += 1;
        let mut applied = Applied::default();
        for rule in self.rules.iter_mut().filter(|r| r.operation == operation) {
            match rule.fault {
                Fault::Latency(delay) | Fault::LatencyFor { delay, .. } => {
                    applied.latency += delay;
                }
                Fault::Status {
                    status,
                    retry_after,
                    ..
                } if applied.action.is_none() => {
                    applied.action = Some(Action::Fail {
                        status,
                        retry_after,
                    });
                }
                Fault::DropAfterProcessing { status, delay, .. } if applied.action.is_none() => {
                    applied.action = Some(Action::DropAfter { status, delay });
                }
                Fault::Status { .. } | Fault::DropAfterProcessing { .. } => continue,
            }
            rule.fault.use_once();
        }
        self.rules.retain(|r| r.fault.times() != Some(0));
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules_play_in_sequence_and_clear_themselves() {
        let mut f = Faults::default();
        f.add(FaultRule {
            operation: Operation::Issue,
            fault: Fault::status(503, 2),
        })
        .unwrap();
        f.add(FaultRule {
            operation: Operation::Issue,
            fault: Fault::throttled(3, 1),
        })
        .unwrap();
        f.add(FaultRule {
            operation: Operation::Issue,
            fault: Fault::Latency(Duration::from_millis(5)),
        })
        .unwrap();
        let fail = |status, retry_after| Applied {
            latency: Duration::from_millis(5),
            action: Some(Action::Fail {
                status,
                retry_after,
            }),
        };
        assert_eq!(f.apply(Operation::Create), Applied::default());
        assert_eq!(f.apply(Operation::Issue), fail(503, None));
        assert_eq!(f.apply(Operation::Issue), fail(503, None));
        assert_eq!(f.apply(Operation::Issue), fail(429, Some(3)));
        let slow = f.apply(Operation::Issue);
        assert_eq!(
            (slow.latency, slow.action),
            (Duration::from_millis(5), None)
        );
        assert_eq!(f.plan().faults.len(), 1, "only the latency rule is left");
        assert_eq!(f.calls(Operation::Issue), 4);
        assert_eq!(f.calls(Operation::Create), 1);
        f.clear();
        assert_eq!(f.apply(Operation::Issue), Applied::default());
        f.reset_calls();
        assert_eq!(f.calls(Operation::Issue), 0);
    }

    #[test]
    fn drop_after_processing_yields_to_status_and_counts_down() {
        let mut f = Faults::default();
        let plan = FaultPlan::default()
            .with(
                Operation::Create,
                Fault::DropAfterProcessing {
                    status: 500,
                    delay: Duration::ZERO,
                    times: Some(1),
                },
            )
            .with(Operation::Create, Fault::status(429, 1))
            .with(
                Operation::Create,
                Fault::LatencyFor {
                    delay: Duration::from_millis(7),
                    times: 1,
                },
            );
        f.set(plan).unwrap();
        let first = f.apply(Operation::Create);
        assert_eq!(
            first.action,
            Some(Action::DropAfter {
                status: 500,
                delay: Duration::ZERO
            })
        );
        assert_eq!(first.latency, Duration::from_millis(7));
        let second = f.apply(Operation::Create);
        assert_eq!(
            second.action,
            Some(Action::Fail {
                status: 429,
                retry_after: None
            })
        );
        assert_eq!(second.latency, Duration::ZERO);
        assert_eq!(f.apply(Operation::Create), Applied::default());
    }

    #[test]
    fn plans_round_trip_through_json_and_bad_ones_are_refused() {
        let plan = FaultPlan::default()
            .with(Operation::Issue, Fault::throttled(2, 3))
            .with(
                Operation::Create,
                Fault::Latency(Duration::from_millis(1500)),
            )
            .with(
                Operation::Revoke,
                Fault::LatencyFor {
                    delay: Duration::from_millis(800),
                    times: 1,
                },
            )
            .with(
                Operation::Delete,
                Fault::DropAfterProcessing {
                    status: 500,
                    delay: Duration::from_millis(10),
                    times: None,
                },
            )
            .with(
                Operation::Exchange,
                Fault::Status {
                    status: 503,
                    retry_after: None,
                    times: None,
                },
            );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json["faults"][0],
            serde_json::json!({"operation": "issue", "kind": "status", "status": 429, "retry_after": 2, "times": 3})
        );
        assert_eq!(
            json["faults"][1],
            serde_json::json!({"operation": "create", "kind": "latency", "ms": 1500})
        );
        let back: FaultPlan = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan);

        let drop: FaultPlan = serde_json::from_str(
            r#"{"faults":[{"operation":"create","kind":"drop_after_processing"}]}"#,
        )
        .unwrap();
        assert_eq!(
            drop.faults[0].fault,
            Fault::DropAfterProcessing {
                status: 500,
                delay: Duration::ZERO,
                times: None
            }
        );

        for bad in [
            r#"{"faults":[{"operation":"create","kind":"status"}]}"#,
            r#"{"faults":[{"operation":"create","kind":"status","status":200}]}"#,
            r#"{"faults":[{"operation":"create","kind":"status","status":503,"times":0}]}"#,
            r#"{"faults":[{"operation":"create","kind":"latency"}]}"#,
            r#"{"faults":[{"operation":"create","kind":"latency","ms":5,"status":500}]}"#,
            r#"{"faults":[{"operation":"list","kind":"status","status":500}]}"#,
            r#"{"faults":[{"operation":"create","kind":"status","status":500,"colour":1}]}"#,
            r#"{"rules":[]}"#,
        ] {
            assert!(serde_json::from_str::<FaultPlan>(bad).is_err(), "{bad}");
        }
    }
}
