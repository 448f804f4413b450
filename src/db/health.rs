//! A tenant's connection health, derived from its runs: the newest finished run since the
//! client secret was last set decides whether the credentials work, the newest verify run
//! whether permissions are missing. Nothing is stored: a new run is the new truth.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde_json::Value;

use super::DbResult;

/// What an admin needs to know about a tenant's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No run has finished since the secret was set.
    NotChecked,
    Connected,
    /// The last run could not sign in (wrong or expired secret, no consent, unknown tenant).
    CredentialsFailing,
    /// The last verify found types the app registration may not read.
    PermissionsMissing,
}

impl Health {
    pub fn key(self) -> &'static str {
        match self {
            Health::NotChecked => "not_checked",
            Health::Connected => "connected",
            Health::CredentialsFailing => "credentials_failing",
            Health::PermissionsMissing => "permissions_missing",
        }
    }
}

/// One tenant's health and what it was derived from.
#[derive(Debug, Clone)]
pub struct TenantHealth {
    pub health: Health,
    /// The run the verdict comes from.
    pub run_id: Option<String>,
    /// For failing credentials: the run's error code and context (AADSTS in words).
    pub error_code: Option<String>,
    pub error_context: Option<Value>,
    /// For missing permissions: the Graph permissions the last verify found missing.
    pub missing: Vec<String>,
    /// A verify run queued or running now.
    pub checking: Option<String>,
}

/// Run errors that say nothing about the tenant's connection (ours, or the caller's role).
const NOT_ABOUT_CONNECTION: &str = "('permission_revoked', 'worker_lost', 'internal')";

/// Health of one tenant (`Some(id)`) or of every tenant (`None`), by tenant id.
pub fn of(c: &Connection, tenant_id: Option<&str>) -> DbResult<HashMap<String, TenantHealth>> {
    let sql = format!(
        "WITH latest AS (
           SELECT t.id AS tenant_id,
             (SELECT r.id FROM runs r WHERE r.tenant_id = t.id AND r.created_at >= t.secret_updated_at
                AND r.status IN ('succeeded', 'failed', 'partial')
                AND COALESCE(r.error_code, '') NOT IN {NOT_ABOUT_CONNECTION}
              ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS last_run,
             (SELECT r.id FROM runs r WHERE r.tenant_id = t.id AND r.created_at >= t.secret_updated_at
                AND r.kind = 'tenant.verify' AND r.status IN ('succeeded', 'failed', 'partial')
              ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS last_verify,
             (SELECT r.id FROM runs r WHERE r.tenant_id = t.id AND r.kind = 'tenant.verify'
                AND r.status IN ('queued', 'running') LIMIT 1) AS checking
           FROM tenants t WHERE ?1 IS NULL OR t.id = ?1)
         SELECT l.tenant_id, l.last_run, r.error_code, r.error_context, l.checking,
           (SELECT json_group_array(DISTINCT json_extract(i.result, '$.missing_permission'))
              FROM run_items i WHERE i.run_id = l.last_verify AND i.error_code = 'graph_forbidden'
                AND json_valid(i.result) AND json_extract(i.result, '$.missing_permission') IS NOT NULL),
           l.last_verify
         FROM latest l LEFT JOIN runs r ON r.id = l.last_run"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id], |r| {
        let tenant: String = r.get(0)?;
        let last_run: Option<String> = r.get(1)?;
        let code: Option<String> = r.get(2)?;
        let context: Option<String> = r.get(3)?;
        let checking: Option<String> = r.get(4)?;
        let missing: Option<String> = r.get(5)?;
        let last_verify: Option<String> = r.get(6)?;
        let missing: Vec<String> = missing.and_then(|m| serde_json::from_str(&m).ok()).unwrap_or_default();
        let credentials_failing = matches!(code.as_deref(), Some("auth_failed" | "secret_unreadable"));
        let (health, run_id) = if credentials_failing {
            (Health::CredentialsFailing, last_run)
        } else if !missing.is_empty() {
            (Health::PermissionsMissing, last_verify)
        } else if last_run.is_some() {
            (Health::Connected, last_run)
        } else {
            (Health::NotChecked, None)
        };
        Ok((
            tenant,
            TenantHealth {
                health,
                run_id,
                error_code: code.filter(|_| credentials_failing),
                error_context: context
                    .filter(|_| credentials_failing)
                    .and_then(|s| serde_json::from_str(&s).ok()),
                missing,
                checking,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
