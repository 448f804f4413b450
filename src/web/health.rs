//! Liveness and readiness, for load balancers and the container's HEALTHCHECK. No auth, and
//! nothing in them that an anonymous caller should not see.

use axum::extract::State;
use axum::http::StatusCode;

use super::state::AppState;

/// 200 as soon as the server accepts requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let db_ok = state
        .db
        .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await
        .is_ok();
    if db_ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}
