//! `audit_events`: append-only rows, each carrying the hash of the one before.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    #[serde(skip)]
    pub seq: i64,
    pub id: String,
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub run_id: Option<String>,
    /// JSON object text.
    #[serde(skip)]
    pub details: String,
    #[serde(skip)]
    pub prev_hash: String,
    #[serde(skip)]
    pub hash: String,
}

const COLUMNS: &str = "seq, id, at, tenant_id, actor, action, run_id, details, prev_hash, hash";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        at: r.get(2)?,
        tenant_id: r.get(3)?,
        actor: r.get(4)?,
        action: r.get(5)?,
        run_id: r.get(6)?,
        details: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// The hash of the newest row, or `None` for an empty log. Must be read in the same write
/// transaction as the insert that follows, so two writers cannot chain onto the same row.
pub fn last_hash(c: &Connection) -> DbResult<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(
        c.prepare_cached("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?,
    )
}

pub fn insert(c: &Connection, row: &AuditRow) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO audit_events (id, at, tenant_id, actor, action, run_id, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.id,
        row.at,
        row.tenant_id,
        row.actor,
        row.action,
        row.run_id,
        row.details,
        row.prev_hash,
        row.hash
    ])?;
    Ok(())
}

/// Visits every row in chain order, one at a time, so verifying a long log needs no more
/// memory than a short one. `visit` returns `Some` to stop early with that value.
pub fn each_in_order<T>(c: &Connection, mut visit: impl FnMut(AuditRow) -> Option<T>) -> DbResult<Option<T>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq");
    let mut stmt = c.prepare(&sql)?;
    for row in stmt.query_map([], from_row)? {
        if let Some(found) = visit(row?) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// A tenant's events, newest first.
pub fn list_for_tenant(
    c: &Connection,
    tenant_id: &str,
    limit: u32,
    before_seq: Option<i64>,
) -> DbResult<Vec<AuditRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM audit_events WHERE tenant_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id, before_seq.unwrap_or(i64::MAX), limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
