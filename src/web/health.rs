//! Liveness, readiness and metrics, for load balancers, the container's HEALTHCHECK and
//! Prometheus. Nothing here names a tenant, a user or a secret.

use std::fmt::Write;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::auth::token;
use crate::db::DbResult;

/// 200 as soon as the server accepts requests.
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers, its storage takes writes, and the workers run.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    let db_ok = state
        .db
        .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await
        .is_ok();
    if !db_ok {
        return unavailable("database unavailable".into());
    }
    // Probed now (at most every few seconds), not taken from the last real write: that
    // said ready on a full disk until a write failed, and unready after space came back
    // until one succeeded.
    if let Err(why) = state.db.storage_writable().await {
        return unavailable(format!(
            "database cannot write: {why}; free disk space or make the data directory writable (reads keep working meanwhile)"
        ));
    }
    if state.engine.workers_alive() == 0 {
        return unavailable("no worker running".into());
    }
    (StatusCode::OK, "ready".into())
}

/// Counts read from the database at scrape time: cheap (indexed) and always consistent
/// with what the pages show.
fn gather(c: &rusqlite::Connection) -> DbResult<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    let mut stmt = c.prepare_cached("SELECT status, count(*) FROM runs GROUP BY status")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (status, n) = row?;
        out.push(("policyvault_runs".to_owned(), format!("status=\"{status}\""), n));
    }
    for (name, sql) in [
        ("policyvault_tenants", "SELECT count(*) FROM tenants"),
        ("policyvault_users", "SELECT count(*) FROM users WHERE disabled = 0"),
        ("policyvault_sessions", "SELECT count(*) FROM sessions"),
    ] {
        out.push((name.to_owned(), String::new(), c.query_row(sql, [], |r| r.get(0))?));
    }
    Ok(out)
}

/// Prometheus text format. With `PV_METRICS_TOKEN` set, a matching bearer token is required;
/// without it only this machine is answered (a loopback connection that no proxy forwarded),
/// so a server put on the internet does not publish its counts to everyone.
pub async fn metrics(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if state.settings.metrics_token.is_none() && !from_this_machine(peer.ip(), &headers) {
        return (
            StatusCode::FORBIDDEN,
            "without PV_METRICS_TOKEN, /metrics is answered only on this machine (loopback, not through a proxy); set PV_METRICS_TOKEN and scrape with Authorization: Bearer <token>",
        )
            .into_response();
    }
    if let Some(expected) = state.settings.metrics_token.as_deref() {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !token::equal(presented, expected) {
            return (
                StatusCode::UNAUTHORIZED,
                "metrics need the bearer token set in PV_METRICS_TOKEN",
            )
                .into_response();
        }
    }
    let Ok(samples) = state.db.read(gather).await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    };
    let mut body = String::new();
    let mut described = std::collections::HashSet::new();
    for (name, labels, value) in samples {
        if described.insert(name.clone()) {
            let _ = writeln!(body, "# TYPE {name} gauge");
        }
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(body, "{name}{labels} {value}");
    }
    let _ = writeln!(
        body,
        "# TYPE policyvault_workers_alive gauge\npolicyvault_workers_alive {}",
        state.engine.workers_alive()
    );
    let _ = writeln!(
        body,
        "# TYPE policyvault_sse_page_renders_total counter\npolicyvault_sse_page_renders_total {}",
        state.fragments.renders()
    );
    let writer = state.db.writer_stats();
    let _ = writeln!(
        body,
        "# TYPE policyvault_db_writes_total counter\npolicyvault_db_writes_total {}\n# TYPE policyvault_db_commits_total counter\npolicyvault_db_commits_total {}",
        writer.writes.load(std::sync::atomic::Ordering::Relaxed),
        writer.commits.load(std::sync::atomic::Ordering::Relaxed)
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// A direct loopback connection: a reverse proxy on the same host also connects from
/// loopback, but says whom it forwards for.
fn from_this_machine(peer: std::net::IpAddr, headers: &HeaderMap) -> bool {
    const PROXY_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];
    peer.to_canonical().is_loopback() && !PROXY_HEADERS.iter().any(|h| headers.contains_key(*h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_metrics_are_for_direct_loopback_connections_only() {
        let none = HeaderMap::new();
        assert!(from_this_machine("127.0.0.1".parse().expect("ip"), &none));
        assert!(from_this_machine("::1".parse().expect("ip"), &none));
        assert!(from_this_machine("::ffff:127.0.0.1".parse().expect("ip"), &none));
        assert!(!from_this_machine("10.0.0.7".parse().expect("ip"), &none));
        assert!(!from_this_machine("203.0.113.9".parse().expect("ip"), &none));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-for", "203.0.113.9".parse().expect("value"));
        assert!(!from_this_machine("127.0.0.1".parse().expect("ip"), &proxied));
    }
}
