//! `sessions`: rows keyed by the SHA-256 of the cookie's token.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;
use super::users::User;

pub struct SessionRow {
    pub user: User,
    pub csrf_token: String,
    pub created_at: String,
    pub last_seen_at: String,
}

pub fn insert(
    c: &Connection,
    token_hash: &str,
    user_id: &str,
    csrf_token: &str,
    now: &str,
    user_agent: Option<&str>,
) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
    )?
    .execute(params![token_hash, user_id, csrf_token, now, user_agent])?;
    Ok(())
}

pub fn get(c: &Connection, token_hash: &str) -> DbResult<Option<SessionRow>> {
    Ok(c.prepare_cached(
        "SELECT u.id, u.email, u.superadmin, u.disabled, u.created_at,
                s.csrf_token, s.created_at, s.last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1",
    )?
    .query_row([token_hash], |r| {
        Ok(SessionRow {
            user: User {
                id: r.get(0)?,
                email: r.get(1)?,
                superadmin: r.get(2)?,
                disabled: r.get(3)?,
                created_at: r.get(4)?,
            },
            csrf_token: r.get(5)?,
            created_at: r.get(6)?,
            last_seen_at: r.get(7)?,
        })
    })
    .optional()?)
}

pub fn touch(c: &Connection, token_hash: &str, now: &str) -> DbResult<()> {
    c.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1")?
        .execute(params![token_hash, now])?;
    Ok(())
}

pub fn delete(c: &Connection, token_hash: &str) -> DbResult<()> {
    c.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
        .execute([token_hash])?;
    Ok(())
}

/// Ends every session of a user (disabled, password reset).
pub fn delete_for_user(c: &Connection, user_id: &str) -> DbResult<usize> {
    Ok(c.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?)
}

/// Removes sessions past their idle or absolute limit.
pub fn delete_expired(c: &Connection, idle_before: &str, created_before: &str) -> DbResult<usize> {
    Ok(c.execute(
        "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
        params![idle_before, created_before],
    )?)
}
