//! The fixed list of run and item error codes (`shared/PRODUCT.md`). Stored as text; only
//! these values, plus a context object with whitelisted keys, ever reach a record.

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
            ErrorCode::PermissionRevoked => "permission_revoked",
            ErrorCode::WorkerLost => "worker_lost",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Keys an error context may carry; anything else is dropped before it is stored.
pub const CONTEXT_KEYS: [&str; 6] = [
    "http_status",
    "graph_error_code",
    "request_id",
    "retry_after",
    "attempt",
    "policy_type",
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
    fn codes_serialize_as_their_names() {
        assert_eq!(
            serde_json::to_value(ErrorCode::PermissionRevoked).expect("json"),
            json!("permission_revoked")
        );
        assert_eq!(ErrorCode::WorkerLost.as_str(), "worker_lost");
    }
}
