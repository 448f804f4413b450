//! `users`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub superadmin: bool,
    pub disabled: bool,
    pub created_at: String,
}

const COLUMNS: &str = "id, email, superadmin, disabled, created_at";

fn from_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        superadmin: r.get(2)?,
        disabled: r.get(3)?,
        created_at: r.get(4)?,
    })
}

pub fn count(c: &Connection) -> DbResult<i64> {
    Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn insert(c: &Connection, user: &User, password_hash: &str) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO users (id, email, password_hash, superadmin, disabled, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        user.id,
        user.email,
        password_hash,
        user.superadmin,
        user.disabled,
        user.created_at
    ])?;
    Ok(())
}

pub fn get(c: &Connection, id: &str) -> DbResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

pub fn find_by_email(c: &Connection, email: &str) -> DbResult<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([email], from_row).optional()?)
}

/// The user and their password hash, for login.
pub fn credentials(c: &Connection, email: &str) -> DbResult<Option<(User, String)>> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row([email], |r| Ok((from_row(r)?, r.get(5)?)))
        .optional()?)
}

pub fn list(c: &Connection) -> DbResult<Vec<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY email");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_disabled(c: &Connection, id: &str, disabled: bool) -> DbResult<bool> {
    let n = c.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![id, disabled])?;
    Ok(n == 1)
}

pub fn set_password_hash(c: &Connection, id: &str, hash: &str) -> DbResult<bool> {
    let n = c.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id, hash])?;
    Ok(n == 1)
}

/// Active superadmins: the last one may not be disabled.
pub fn count_active_superadmins(c: &Connection) -> DbResult<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM users WHERE superadmin = 1 AND disabled = 0",
        [],
        |r| r.get(0),
    )?)
}
