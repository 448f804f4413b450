//! `tenants`. The sealed client secret is read by exactly one function,
//! [`sealed_secret`], which only the worker's token request path calls.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::DbResult;

/// A tenant as pages and the API see it: never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub cloud: String,
    pub graph_base_url: String,
    pub login_base_url: String,
    pub created_at: String,
    pub updated_at: String,
    pub secret_updated_at: String,
}

const COLUMNS: &str = "id, name, entra_tenant_id, client_id, cloud, graph_base_url, login_base_url, \
                       created_at, updated_at, secret_updated_at";

fn from_row(r: &Row) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        name: r.get(1)?,
        entra_tenant_id: r.get(2)?,
        client_id: r.get(3)?,
        cloud: r.get(4)?,
        graph_base_url: r.get(5)?,
        login_base_url: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        secret_updated_at: r.get(9)?,
    })
}

pub fn insert(c: &Connection, t: &Tenant, secret_sealed: &[u8]) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO tenants (id, name, entra_tenant_id, client_id, secret_sealed, cloud,
                              graph_base_url, login_base_url, created_at, updated_at, secret_updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        t.id,
        t.name,
        t.entra_tenant_id,
        t.client_id,
        secret_sealed,
        t.cloud,
        t.graph_base_url,
        t.login_base_url,
        t.created_at,
        t.updated_at,
        t.secret_updated_at
    ])?;
    Ok(())
}

/// Updates everything but the secret.
pub fn update(c: &Connection, t: &Tenant) -> DbResult<bool> {
    let n = c.execute(
        "UPDATE tenants SET name = ?2, entra_tenant_id = ?3, client_id = ?4, cloud = ?5,
                graph_base_url = ?6, login_base_url = ?7, updated_at = ?8
         WHERE id = ?1",
        params![
            t.id,
            t.name,
            t.entra_tenant_id,
            t.client_id,
            t.cloud,
            t.graph_base_url,
            t.login_base_url,
            t.updated_at
        ],
    )?;
    Ok(n == 1)
}

/// Replaces a domain the tenant was saved with by the tenant id it resolved to (only if the
/// row still holds that domain: an edit in between wins).
pub fn set_entra_tenant_id(c: &Connection, id: &str, domain: &str, guid: &str, now: &str) -> DbResult<bool> {
    let n = c.execute(
        "UPDATE tenants SET entra_tenant_id = ?3, updated_at = ?4 WHERE id = ?1 AND entra_tenant_id = ?2",
        params![id, domain, guid, now],
    )?;
    Ok(n == 1)
}

pub fn replace_secret(c: &Connection, id: &str, secret_sealed: &[u8], now: &str) -> DbResult<bool> {
    let n = c.execute(
        "UPDATE tenants SET secret_sealed = ?2, secret_updated_at = ?3, updated_at = ?3 WHERE id = ?1",
        params![id, secret_sealed, now],
    )?;
    Ok(n == 1)
}

pub fn get(c: &Connection, id: &str) -> DbResult<Option<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

pub fn list_all(c: &Connection) -> DbResult<Vec<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY name");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The tenants a user is a member of.
pub fn list_for_user(c: &Connection, user_id: &str) -> DbResult<Vec<Tenant>> {
    let sql = format!(
        "SELECT {} FROM tenants t JOIN memberships m ON m.tenant_id = t.id
         WHERE m.user_id = ?1 ORDER BY t.name",
        COLUMNS
            .split(", ")
            .map(|col| format!("t.{}", col.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Tenants connected to one Entra tenant (by its id or the domain it was saved with).
pub fn with_entra_tenant_id(c: &Connection, entra_tenant_id: &str) -> DbResult<Vec<Tenant>> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE entra_tenant_id = ?1 ORDER BY name");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([entra_tenant_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The sealed secret, for the token request only.
pub fn sealed_secret(c: &Connection, id: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(c.prepare_cached("SELECT secret_sealed FROM tenants WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// The tenants a user can open: all of them for a superadmin, else their memberships.
pub fn visible_to(c: &Connection, user_id: &str, superadmin: bool) -> DbResult<Vec<Tenant>> {
    if superadmin {
        list_all(c)
    } else {
        list_for_user(c, user_id)
    }
}

/// Deletes a tenant and everything of it (memberships, runs, inventory, versions, backups,
/// schedules cascade); audit events stay, they are append-only.
pub fn delete(c: &Connection, id: &str) -> DbResult<bool> {
    Ok(c.execute("DELETE FROM tenants WHERE id = ?1", [id])? == 1)
}

/// Queued or running runs of a tenant.
pub fn active_runs(c: &Connection, id: &str) -> DbResult<i64> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM runs WHERE tenant_id = ?1 AND status IN ('queued', 'running')")?
            .query_row([id], |r| r.get(0))?,
    )
}
