//! `api_tokens`.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::DbResult;
use super::users::User;

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The token's first characters (never enough to use it); `None` for older tokens.
    pub prefix: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new token: its hash and its short prefix, never the token.
pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub now: &'a str,
}

pub fn insert(c: &Connection, t: &NewToken<'_>) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![t.id, t.user_id, t.name, t.token_hash, t.prefix, t.now])?;
    Ok(())
}

/// A live token's holder and when the token was last used.
pub struct Holder {
    pub token_id: String,
    pub user: User,
    pub last_used_at: Option<String>,
}

/// The holder of a live (not revoked) token, by the token's hash.
pub fn user_for_hash(c: &Connection, token_hash: &str) -> DbResult<Option<Holder>> {
    Ok(c.prepare_cached(
        "SELECT t.id, u.id, u.email, u.superadmin, u.disabled, u.created_at, t.last_used_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL",
    )?
    .query_row([token_hash], |r| {
        Ok(Holder {
            token_id: r.get(0)?,
            user: User {
                id: r.get(1)?,
                email: r.get(2)?,
                superadmin: r.get(3)?,
                disabled: r.get(4)?,
                created_at: r.get(5)?,
            },
            last_used_at: r.get(6)?,
        })
    })
    .optional()?)
}

/// Records use at most once a minute per token, so reads don't all turn into writes.
pub fn mark_used(c: &Connection, id: &str, now: &str, not_since: &str) -> DbResult<()> {
    c.prepare_cached(
        "UPDATE api_tokens SET last_used_at = ?2
         WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
    )?
    .execute(params![id, now, not_since])?;
    Ok(())
}

pub fn list_for_user(c: &Connection, user_id: &str) -> DbResult<Vec<ApiToken>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, name, created_at, last_used_at, revoked_at, prefix FROM api_tokens
         WHERE user_id = ?1 ORDER BY created_at DESC",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(ApiToken {
            id: r.get(0)?,
            name: r.get(1)?,
            created_at: r.get(2)?,
            last_used_at: r.get(3)?,
            revoked_at: r.get(4)?,
            prefix: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes every live token of a user (offered with a password reset); how many.
pub fn revoke_all_for_user(c: &Connection, user_id: &str, now: &str) -> DbResult<usize> {
    Ok(c.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user_id, now],
    )?)
}

/// Revokes one of the user's own tokens; false if there is no such live token.
pub fn revoke(c: &Connection, user_id: &str, id: &str, now: &str) -> DbResult<bool> {
    let n = c.execute(
        "UPDATE api_tokens SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        params![id, user_id, now],
    )?;
    Ok(n == 1)
}
