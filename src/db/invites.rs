//! `invites`: one-time links that let an invited person set a password.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

#[derive(Debug, Clone)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub tenant_id: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: String,
}

pub struct NewInvite<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub email: &'a str,
    pub tenant_id: &'a str,
    pub role: &'a str,
    pub invited_by: &'a str,
    pub now: &'a str,
    pub expires_at: &'a str,
}

pub fn insert(c: &Connection, i: &NewInvite<'_>) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO invites (id, token_hash, email, tenant_id, role, invited_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        i.id,
        i.token_hash,
        i.email,
        i.tenant_id,
        i.role,
        i.invited_by,
        i.now,
        i.expires_at
    ])?;
    Ok(())
}

/// The unused, unexpired invite a link's token hash names.
pub fn live(c: &Connection, token_hash: &str, now: &str) -> DbResult<Option<Invite>> {
    Ok(c.prepare_cached(
        "SELECT id, email, tenant_id, role, invited_by, expires_at FROM invites
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
    )?
    .query_row(params![token_hash, now], |r| {
        Ok(Invite {
            id: r.get(0)?,
            email: r.get(1)?,
            tenant_id: r.get(2)?,
            role: r.get(3)?,
            invited_by: r.get(4)?,
            expires_at: r.get(5)?,
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

/// Open invites of a tenant (email, role, expires_at), for its members page.
pub fn open_for_tenant(c: &Connection, tenant_id: &str, now: &str) -> DbResult<Vec<(String, String, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT email, role, expires_at FROM invites WHERE tenant_id = ?1 AND used_at IS NULL AND expires_at > ?2
         ORDER BY created_at DESC",
    )?;
    let rows = stmt.query_map(params![tenant_id, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
