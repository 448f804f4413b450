//! The fixed list of run and item error codes (`shared/PRODUCT.md`), and `GraphError`.
//! Only these codes, plus a context object with whitelisted keys, ever reach a record; an
//! error's message is ours, never Graph's body, so no token or secret can travel in one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    GraphThrottled,
    GraphUnavailable,
    GraphForbidden,
    GraphNotFound,
    GraphBadRequest,
    AuthFailed,
    Network,
    Timeout,
    OutcomeUnknown,
    VerifyMismatch,
    /// Graph stated more than the capture could read (e.g. `settingCount` > settings).
    IncompleteCapture,
    /// A restore refers to an object that neither exists nor is restored with it.
    UnresolvedReference,
    /// An encrypted value (OMA-URI secret) could not be read in plain text.
    SecretUnreadable,
    /// A write would tighten a Conditional Access policy enforced on all users with no
    /// exclusion, and the owner did not accept the tightening.
    TighteningNotAccepted,
    PermissionRevoked,
    WorkerLost,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::GraphThrottled => "graph_throttled",
            ErrorCode::GraphUnavailable => "graph_unavailable",
            ErrorCode::GraphForbidden => "graph_forbidden",
            ErrorCode::GraphNotFound => "graph_not_found",
            ErrorCode::GraphBadRequest => "graph_bad_request",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::Network => "network",
            ErrorCode::Timeout => "timeout",
            ErrorCode::OutcomeUnknown => "outcome_unknown",
            ErrorCode::VerifyMismatch => "verify_mismatch",
            ErrorCode::IncompleteCapture => "incomplete_capture",
            ErrorCode::UnresolvedReference => "unresolved_reference",
            ErrorCode::SecretUnreadable => "secret_unreadable",
            ErrorCode::TighteningNotAccepted => "tightening_not_accepted",
            ErrorCode::PermissionRevoked => "permission_revoked",
            ErrorCode::WorkerLost => "worker_lost",
            ErrorCode::Internal => "internal",
        }
    }
}

/// An error code from the fixed list, in the words an admin uses.
pub fn describe(code: &str) -> &'static str {
    match code {
        "graph_throttled" => "Microsoft Graph asked us to slow down and kept refusing; try again later",
        "graph_unavailable" => "Microsoft Graph was unavailable",
        "graph_forbidden" => {
            "The app registration is not allowed to read or write this (missing permission or consent)"
        }
        "graph_not_found" => "The object no longer exists in Intune",
        "graph_bad_request" => "Microsoft Graph refused the request as invalid",
        "auth_failed" => "Could not sign in to the tenant: check the app registration's secret and consent",
        "network" => "The network connection to Microsoft failed",
        "timeout" => "Microsoft Graph did not answer in time",
        "outcome_unknown" => "The write may or may not have happened (the run was interrupted); check the policy",
        "verify_mismatch" => "After writing, Intune did not hold what was written",
        "incomplete_capture" => "Only part of the object could be read, so it was not stored",
        "unresolved_reference" => "It points at an object that exists neither in the tenant nor in this restore",
        "secret_unreadable" => {
            "An encrypted setting's value could not be read; the app registration needs DeviceManagementConfiguration.ReadWrite.All"
        }
        "tightening_not_accepted" => {
            "Not written: it would tighten a Conditional Access policy enforced on all users with no exclusion, which can lock everyone out (admins included); preview again and tick the tightening to accept it"
        }
        "permission_revoked" => "The person who started it no longer has the role for it",
        "worker_lost" => "The server stopped while working on it and could not finish",
        _ => "Something went wrong on our side",
    }
}

/// Keys an error context may carry; anything else is dropped before it is stored.
pub const CONTEXT_KEYS: [&str; 11] = [
    "http_status",
    "graph_error_code",
    "request_id",
    "retry_after",
    "attempt",
    "policy_type",
    // incomplete_capture: which collection fell short, and by how much.
    "collection",
    "expected_count",
    "captured_count",
    // secret_unreadable and unresolved_reference: the setting or object concerned (a name or
    // an OMA-URI, never a value).
    "setting",
    // Our own sentence for failures Graph did not report (a refused host, a disabled
    // custom endpoint): never Graph's text.
    "reason",
];

/// Keeps only whitelisted keys with scalar values, so no body, token or secret can slip in.
pub fn safe_context(raw: &Value) -> Value {
    let mut out = Map::new();
    if let Some(obj) = raw.as_object() {
        for key in CONTEXT_KEYS {
            if let Some(v) = obj
                .get(key)
                .filter(|v| v.is_number() || v.is_string() || v.is_boolean())
            {
                let v = match v.as_str() {
                    Some(s) => Value::String(s.chars().take(200).collect()),
                    None => v.clone(),
                };
                out.insert(key.to_owned(), v);
            }
        }
    }
    Value::Object(out)
}

/// A failed Graph call, already classified.
#[derive(Clone, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct GraphError {
    pub code: ErrorCode,
    /// Whitelisted keys only (see [`CONTEXT_KEYS`]).
    pub context: Value,
    /// Our words, e.g. "Graph answered 403 for deviceManagement/deviceConfigurations".
    pub message: String,
}

impl std::fmt::Debug for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GraphError({}: {} {})",
            self.code.as_str(),
            self.message,
            self.context
        )
    }
}

impl GraphError {
    pub fn new(code: ErrorCode, message: impl Into<String>, context: &Value) -> GraphError {
        GraphError {
            code,
            context: safe_context(context),
            message: message.into(),
        }
    }

    /// Maps an HTTP status from Graph to our code.
    pub fn from_status(status: u16, graph_error_code: Option<&str>, what: &str, mut context: Value) -> GraphError {
        let code = match status {
            400 | 405 | 409 | 422 => ErrorCode::GraphBadRequest,
            401 => ErrorCode::AuthFailed,
            403 => ErrorCode::GraphForbidden,
            404 => ErrorCode::GraphNotFound,
            429 => ErrorCode::GraphThrottled,
            408 | 504 => ErrorCode::Timeout,
            _ => ErrorCode::GraphUnavailable,
        };
        if let Some(obj) = context.as_object_mut() {
            obj.insert("http_status".into(), Value::from(status));
            if let Some(g) = graph_error_code {
                obj.insert("graph_error_code".into(), Value::from(g));
            }
        }
        GraphError::new(code, format!("Graph answered {status} for {what}"), &context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_whitelisted_scalar_keys_survive() {
        let raw = json!({"http_status": 429, "retry_after": "2.1", "body": "secret", "access_token": "x", "attempt": {"nested": 1}});
        assert_eq!(safe_context(&raw), json!({"http_status": 429, "retry_after": "2.1"}));
    }

    #[test]
    fn statuses_map_to_codes_and_nothing_else_reaches_the_context() {
        let e = GraphError::from_status(
            429,
            Some("TooManyRequests"),
            "x",
            json!({"retry_after": "3", "token": "eyJ"}),
        );
        assert_eq!(e.code, ErrorCode::GraphThrottled);
        assert_eq!(
            e.context,
            json!({"retry_after": "3", "http_status": 429, "graph_error_code": "TooManyRequests"})
        );
        assert!(!format!("{e} {e:?}").contains("eyJ"));
        assert_eq!(
            GraphError::from_status(503, None, "x", json!({})).code,
            ErrorCode::GraphUnavailable
        );
        assert_eq!(
            GraphError::from_status(401, None, "x", json!({})).code,
            ErrorCode::AuthFailed
        );
    }

    #[test]
    fn codes_serialize_as_their_names() {
        assert_eq!(
            serde_json::to_value(ErrorCode::PermissionRevoked).expect("json"),
            json!("permission_revoked")
        );
        assert_eq!(ErrorCode::WorkerLost.as_str(), "worker_lost");
    }
}
