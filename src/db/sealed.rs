//! `sealed_values`: secret values captured from tenants, sealed; contents refer to them.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

/// Stores a sealed value under its reference (the same value is stored once per tenant).
pub fn store(c: &Connection, tenant_id: &str, reference: &str, sealed: &[u8], now: &str) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO sealed_values (tenant_id, ref, sealed, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?
    .execute(params![tenant_id, reference, sealed, now])?;
    Ok(())
}

pub fn get(c: &Connection, tenant_id: &str, reference: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(
        c.prepare_cached("SELECT sealed FROM sealed_values WHERE tenant_id = ?1 AND ref = ?2")?
            .query_row([tenant_id, reference], |r| r.get(0))
            .optional()?,
    )
}
