//! `memberships`: user × tenant × role.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MembershipOf {
    pub tenant_id: String,
    pub role: String,
}

pub fn role_of(c: &Connection, user_id: &str, tenant_id: &str) -> DbResult<Option<String>> {
    Ok(
        c.prepare_cached("SELECT role FROM memberships WHERE user_id = ?1 AND tenant_id = ?2")?
            .query_row([user_id, tenant_id], |r| r.get(0))
            .optional()?,
    )
}

/// Adds the membership or changes its role; returns the previous role, if any.
pub fn upsert(c: &Connection, user_id: &str, tenant_id: &str, role: &str, now: &str) -> DbResult<Option<String>> {
    let before = role_of(c, user_id, tenant_id)?;
    c.prepare_cached(
        "INSERT INTO memberships (user_id, tenant_id, role, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role",
    )?
    .execute(params![user_id, tenant_id, role, now])?;
    Ok(before)
}

pub fn delete(c: &Connection, user_id: &str, tenant_id: &str) -> DbResult<bool> {
    let n = c.execute(
        "DELETE FROM memberships WHERE user_id = ?1 AND tenant_id = ?2",
        [user_id, tenant_id],
    )?;
    Ok(n == 1)
}

pub fn list_for_tenant(c: &Connection, tenant_id: &str) -> DbResult<Vec<Member>> {
    let mut stmt = c.prepare_cached(
        "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.tenant_id = ?1 ORDER BY u.email",
    )?;
    let rows = stmt.query_map([tenant_id], |r| {
        Ok(Member {
            user_id: r.get(0)?,
            email: r.get(1)?,
            role: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn list_for_user(c: &Connection, user_id: &str) -> DbResult<Vec<MembershipOf>> {
    let mut stmt = c.prepare_cached("SELECT tenant_id, role FROM memberships WHERE user_id = ?1 ORDER BY tenant_id")?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(MembershipOf {
            tenant_id: r.get(0)?,
            role: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Owners left in a tenant: the last one may not be removed or demoted by a non-superadmin.
pub fn count_owners(c: &Connection, tenant_id: &str) -> DbResult<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM memberships WHERE tenant_id = ?1 AND role = 'owner'",
        [tenant_id],
        |r| r.get(0),
    )?)
}
