//! `sealed_values`: secret values captured from tenants, sealed; contents refer to them.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

/// Stores a sealed value under its reference (the same value is stored once per tenant),
/// with a random alias: what pages, the API and exports show instead of the reference.
pub fn store(c: &Connection, tenant_id: &str, reference: &str, sealed: &[u8], now: &str) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO sealed_values (tenant_id, ref, sealed, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?
    .execute(params![tenant_id, reference, sealed, now])?;
    c.prepare_cached(
        "INSERT INTO sealed_aliases (tenant_id, ref, alias)
         VALUES (?1, ?2, 'pv-sealed:' || lower(hex(randomblob(16)))) ON CONFLICT DO NOTHING",
    )?
    .execute(params![tenant_id, reference])?;
    Ok(())
}

/// The alias shown for a reference of this tenant.
pub fn alias_of(c: &Connection, tenant_id: &str, reference: &str) -> DbResult<Option<String>> {
    Ok(
        c.prepare_cached("SELECT alias FROM sealed_aliases WHERE tenant_id = ?1 AND ref = ?2")?
            .query_row([tenant_id, reference], |r| r.get(0))
            .optional()?,
    )
}

/// The reference behind an alias, in the tenant that sealed it only.
pub fn reference_of(c: &Connection, tenant_id: &str, alias: &str) -> DbResult<Option<String>> {
    Ok(
        c.prepare_cached("SELECT ref FROM sealed_aliases WHERE tenant_id = ?1 AND alias = ?2")?
            .query_row([tenant_id, alias], |r| r.get(0))
            .optional()?,
    )
}

pub fn get(c: &Connection, tenant_id: &str, reference: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(
        c.prepare_cached("SELECT sealed FROM sealed_values WHERE tenant_id = ?1 AND ref = ?2")?
            .query_row([tenant_id, reference], |r| r.get(0))
            .optional()?,
    )
}
