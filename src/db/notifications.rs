//! `notifications`: per-user messages about runs.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub status: String,
    pub message: String,
    pub created_at: String,
    pub read: bool,
}

pub fn insert(
    c: &Connection,
    user_id: &str,
    tenant_id: &str,
    run_id: &str,
    status: &str,
    message: &str,
    now: &str,
) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO notifications (id, user_id, tenant_id, run_id, status, message, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![crate::clock::new_id(), user_id, tenant_id, run_id, status, message, now])?;
    Ok(())
}

/// The user's notifications, newest first, only for tenants they can still see.
pub fn list_for_user(c: &Connection, user_id: &str, limit: u32) -> DbResult<Vec<Notification>> {
    let mut stmt = c.prepare_cached(
        "SELECT n.id, n.tenant_id, n.run_id, n.status, n.message, n.created_at, n.read_at IS NOT NULL
         FROM notifications n WHERE n.user_id = ?1
         ORDER BY n.created_at DESC, n.id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![user_id, limit], |r| {
        Ok(Notification {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            run_id: r.get(2)?,
            status: r.get(3)?,
            message: r.get(4)?,
            created_at: r.get(5)?,
            read: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn unread_count(c: &Connection, user_id: &str) -> DbResult<i64> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM notifications WHERE user_id = ?1 AND read_at IS NULL")?
            .query_row([user_id], |r| r.get(0))?,
    )
}

pub fn mark_all_read(c: &Connection, user_id: &str, now: &str) -> DbResult<usize> {
    Ok(c.execute(
        "UPDATE notifications SET read_at = ?2 WHERE user_id = ?1 AND read_at IS NULL",
        [user_id, now],
    )?)
}

/// Owners of a tenant: they are told about scheduler-started runs.
pub fn owner_ids(c: &Connection, tenant_id: &str) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached("SELECT user_id FROM memberships WHERE tenant_id = ?1 AND role = 'owner'")?;
    let rows = stmt.query_map([tenant_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One page of the user's notifications, newest first.
pub fn page_for_user(c: &Connection, user_id: &str, limit: u32, offset: u32) -> DbResult<Vec<Notification>> {
    let mut stmt = c.prepare_cached(
        "SELECT n.id, n.tenant_id, n.run_id, n.status, n.message, n.created_at, n.read_at IS NOT NULL
         FROM notifications n WHERE n.user_id = ?1
         ORDER BY n.created_at DESC, n.id DESC LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![user_id, limit, offset], |r| {
        Ok(Notification {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            run_id: r.get(2)?,
            status: r.get(3)?,
            message: r.get(4)?,
            created_at: r.get(5)?,
            read: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
