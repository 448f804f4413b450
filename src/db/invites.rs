//! `invites`: one-time links that let an invited person set a password.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub tenant_id: String,
    pub role: String,
    /// The inviter's email, for the audit log.
    pub invited_by: String,
    /// The inviter; `None` for an old invitation whose inviter was not found (unusable).
    pub invited_by_user_id: Option<String>,
    pub expires_at: String,
}

pub struct NewInvite<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub email: &'a str,
    pub tenant_id: &'a str,
    pub role: &'a str,
    pub invited_by: &'a str,
    pub invited_by_user_id: &'a str,
    pub now: &'a str,
    pub expires_at: &'a str,
}

pub fn insert(c: &Connection, i: &NewInvite<'_>) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO invites (id, token_hash, email, tenant_id, role, invited_by, invited_by_user_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        i.id,
        i.token_hash,
        i.email,
        i.tenant_id,
        i.role,
        i.invited_by,
        i.invited_by_user_id,
        i.now,
        i.expires_at
    ])?;
    Ok(())
}

/// The unused, unexpired invite a link's token hash names.
pub fn live(c: &Connection, token_hash: &str, now: &str) -> DbResult<Option<Invite>> {
    Ok(c.prepare_cached(
        "SELECT id, email, tenant_id, role, invited_by, invited_by_user_id, expires_at FROM invites
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
    )?
    .query_row(params![token_hash, now], |r| {
        Ok(Invite {
            id: r.get(0)?,
            email: r.get(1)?,
            tenant_id: r.get(2)?,
            role: r.get(3)?,
            invited_by: r.get(4)?,
            invited_by_user_id: r.get(5)?,
            expires_at: r.get(6)?,
        })
    })
    .optional()?)
}

/// Uses an invite up; false when it was used (or expired) in the meantime.
pub fn mark_used(c: &Connection, id: &str, now: &str) -> DbResult<bool> {
    Ok(c.execute(
        "UPDATE invites SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![id, now],
    )? == 1)
}

/// Deletes one invitation (used up by nobody: revoked, or its inviter lost the right).
pub fn delete(c: &Connection, id: &str) -> DbResult<bool> {
    Ok(c.execute("DELETE FROM invites WHERE id = ?1", [id])? == 1)
}

/// Deletes the pending (unused) invitations `user_id` made: in one tenant, or in all of them
/// when `tenant_id` is `None`. Returns how many.
pub fn delete_pending_by_inviter(c: &Connection, user_id: &str, tenant_id: Option<&str>) -> DbResult<usize> {
    Ok(c.execute(
        "DELETE FROM invites WHERE invited_by_user_id = ?1 AND used_at IS NULL
         AND (?2 IS NULL OR tenant_id = ?2)",
        params![user_id, tenant_id],
    )?)
}

/// An invitation not used yet, as the members page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub id: String,
    pub email: String,
    pub role: String,
    /// The inviter's email.
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
}

/// Open (unused, unexpired) invites of a tenant, newest first.
pub fn open_for_tenant(c: &Connection, tenant_id: &str, now: &str) -> DbResult<Vec<Pending>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, email, role, invited_by, created_at, expires_at FROM invites
         WHERE tenant_id = ?1 AND used_at IS NULL AND expires_at > ?2
         ORDER BY created_at DESC, id DESC",
    )?;
    let rows = stmt.query_map(params![tenant_id, now], |r| {
        Ok(Pending {
            id: r.get(0)?,
            email: r.get(1)?,
            role: r.get(2)?,
            invited_by: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The tenant and email of an unused invitation, by id (for revoking it).
pub fn pending_by_id(c: &Connection, id: &str) -> DbResult<Option<(String, String, String)>> {
    Ok(
        c.prepare_cached("SELECT tenant_id, email, role FROM invites WHERE id = ?1 AND used_at IS NULL")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?,
    )
}
