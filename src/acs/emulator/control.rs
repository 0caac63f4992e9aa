//! The emulator's own control API under `/_emulator/` (fault injection and call counts; see
//! [`super::faults`]): `GET`/`PUT`/`DELETE /_emulator/faults`, `GET`/`DELETE /_emulator/calls`.

use poem::http::{Method, StatusCode};
use serde_json::json;

use super::http::{ApiFailure, Success, parse_json};
use super::{Emulator, FaultPlan, lock_faults};
use crate::acs::wire::Operation;

impl Emulator {
    /// The control API: `GET`/`PUT`/`DELETE /_emulator/faults`, `GET`/`DELETE /_emulator/calls`.
    pub(super) fn control(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<Success, ApiFailure> {
        let not_allowed = |allow: &'static str| {
            let mut failure = ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("Method {method} is not allowed here; use {allow}."),
            );
            failure.allow = Some(allow);
            failure
        };
        let state = |emulator: &Emulator| {
            let faults = lock_faults(&emulator.inner.faults);
            let per_operation = |count: &dyn Fn(Operation) -> u64| {
                Operation::ALL
                    .iter()
                    .map(|op| (op.as_str().to_owned(), json!(count(*op))))
                    .collect::<serde_json::Map<String, serde_json::Value>>()
            };
            let calls = per_operation(&|op| faults.calls(op));
            let throttled = per_operation(&|op| emulator.throttled_count(op));
            json!({"faults": faults.plan().faults, "calls": calls, "throttled": throttled})
        };
        match path.trim_end_matches('/') {
            "/_emulator/faults" => match *method {
                Method::GET => Ok(Success::Json(StatusCode::OK, state(self))),
                Method::PUT => {
                    let plan: FaultPlan = parse_json(body, false)?;
                    self.set_faults(plan).map_err(|e| {
                        ApiFailure::bad_request("InvalidRequestBody", e.to_string())
                    })?;
                    tracing::info!("ACS emulator: fault plan replaced");
                    Ok(Success::Json(StatusCode::OK, state(self)))
                }
                Method::DELETE => {
                    self.clear_faults();
                    tracing::info!("ACS emulator: faults cleared");
                    Ok(Success::NoContent)
                }
                _ => Err(not_allowed("GET, PUT, DELETE")),
            },
            "/_emulator/calls" => match *method {
                Method::GET => Ok(Success::Json(StatusCode::OK, state(self))),
                Method::DELETE => {
                    self.reset_call_counts();
                    Ok(Success::NoContent)
                }
                _ => Err(not_allowed("GET, DELETE")),
            },
            _ => Err(ApiFailure::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("No operation at '{path}'."),
            )),
        }
    }
}
