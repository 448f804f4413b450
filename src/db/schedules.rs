//! `schedules`, and the retention of the backup sets they make.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub id: String,
    pub tenant_id: String,
    /// Normalized: 6 fields, seconds first.
    pub cron: String,
    /// Policy type keys; empty = every supported type.
    pub policy_types: Vec<String>,
    pub keep_last: u32,
    pub enabled: bool,
    pub created_at: String,
    pub last_fired_at: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, cron, policy_types, keep_last, enabled, created_at, last_fired_at";

fn from_row(r: &Row) -> rusqlite::Result<Schedule> {
    let types: String = r.get(3)?;
    Ok(Schedule {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        cron: r.get(2)?,
        // Written only by `insert` from a Vec<String>; an unreadable value means "all types".
        policy_types: serde_json::from_str(&types).unwrap_or_default(),
        keep_last: r.get(4)?,
        enabled: r.get(5)?,
        created_at: r.get(6)?,
        last_fired_at: r.get(7)?,
    })
}

pub fn insert(c: &Connection, s: &Schedule) -> DbResult<()> {
    let types = serde_json::to_string(&s.policy_types).unwrap_or_else(|_| "[]".into());
    c.prepare_cached(
        "INSERT INTO schedules (id, tenant_id, cron, policy_types, keep_last, enabled, created_at, last_fired_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.id,
        s.tenant_id,
        s.cron,
        types,
        s.keep_last,
        s.enabled,
        s.created_at,
        s.last_fired_at
    ])?;
    Ok(())
}

pub fn get(c: &Connection, id: &str) -> DbResult<Option<Schedule>> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// A tenant's schedules, oldest first.
pub fn list(c: &Connection, tenant_id: &str) -> DbResult<Vec<Schedule>> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE tenant_id = ?1 ORDER BY created_at, id");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([tenant_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every enabled schedule of every tenant, for the scheduler at start.
pub fn list_enabled(c: &Connection) -> DbResult<Vec<Schedule>> {
    let sql = format!("SELECT {COLUMNS} FROM schedules WHERE enabled = 1 ORDER BY created_at, id");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_enabled(c: &Connection, id: &str, enabled: bool) -> DbResult<bool> {
    Ok(c.execute("UPDATE schedules SET enabled = ?2 WHERE id = ?1", params![id, enabled])? == 1)
}

pub fn delete(c: &Connection, id: &str) -> DbResult<bool> {
    Ok(c.execute("DELETE FROM schedules WHERE id = ?1", [id])? == 1)
}

pub fn mark_fired(c: &Connection, id: &str, at: &str) -> DbResult<()> {
    c.execute("UPDATE schedules SET last_fired_at = ?2 WHERE id = ?1", [id, at])?;
    Ok(())
}

/// Whether the schedule made a backup set at or after `since` (a trigger got that far).
pub fn has_set_since(c: &Connection, schedule_id: &str, since: &str) -> DbResult<bool> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM backup_sets WHERE schedule_id = ?1 AND created_at >= ?2)")?
            .query_row([schedule_id, since], |r| r.get(0))?,
    )
}

/// The schedule's set whose capture is still queued or running, if any.
pub fn active_set(c: &Connection, schedule_id: &str) -> DbResult<Option<String>> {
    Ok(c.prepare_cached(
        "SELECT s.id FROM backup_sets s JOIN runs r ON r.id = s.capture_run_id
         WHERE s.schedule_id = ?1 AND r.status IN ('queued', 'running') LIMIT 1",
    )?
    .query_row([schedule_id], |r| r.get(0))
    .optional()?)
}

/// Retention: keeps the newest `keep_last` sets of the schedule whose capture succeeded (or
/// partly succeeded) and deletes the schedule's sets older than the oldest of them. A run of
/// failures therefore never costs a good backup, and a set that is the source of a queued
/// or running restore is left for the next pass. Returns how many sets were deleted.
pub fn prune(c: &Connection, schedule_id: &str, keep_last: u32) -> DbResult<usize> {
    let oldest_kept: Option<(String, String)> = c
        .prepare_cached(
            "SELECT s.created_at, s.id FROM backup_sets s JOIN runs r ON r.id = s.capture_run_id
             WHERE s.schedule_id = ?1 AND s.origin = 'scheduled' AND r.status IN ('succeeded', 'partial')
             ORDER BY s.created_at DESC, s.id DESC LIMIT 1 OFFSET ?2",
        )?
        .query_row(params![schedule_id, keep_last.saturating_sub(1)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((created_at, id)) = oldest_kept else {
        return Ok(0);
    };
    Ok(c.prepare_cached(
        "DELETE FROM backup_sets WHERE schedule_id = ?1 AND origin = 'scheduled'
           AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.target_type = 'backup_set' AND r.target_id = backup_sets.id
                           AND r.status IN ('queued', 'running'))",
    )?
    .execute(params![schedule_id, created_at, id])?)
}

/// How many backup sets the schedule has made that are still kept.
pub fn count_sets(c: &Connection, schedule_id: &str) -> DbResult<i64> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM backup_sets WHERE schedule_id = ?1")?
            .query_row([schedule_id], |r| r.get(0))?,
    )
}
