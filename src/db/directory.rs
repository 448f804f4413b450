//! Display names of a tenant's directory objects (groups), by object id: resolved through
//! Graph's `directoryObjects/getByIds` after a capture run, shown wherever an assignment
//! targets a group. Kept apart from policy content, so a renamed group changes no hash.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, Transaction, params};

use super::DbResult;

/// Every known name of a tenant's directory objects, by object id.
pub fn names(c: &Connection, tenant_id: &str) -> DbResult<HashMap<String, String>> {
    let mut stmt = c.prepare_cached("SELECT object_id, display_name FROM directory_names WHERE tenant_id = ?1")?;
    let rows = stmt.query_map(params![tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The ids among `ids` whose name is not stored yet for the tenant.
pub fn unknown(c: &Connection, tenant_id: &str, ids: &BTreeSet<String>) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached("SELECT 1 FROM directory_names WHERE tenant_id = ?1 AND object_id = ?2")?;
    let mut out = Vec::new();
    for id in ids {
        if !stmt.exists(params![tenant_id, id])? {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Stores (or renames) directory objects' names, seen at `now`.
pub fn upsert(tx: &Transaction, tenant_id: &str, names: &[(String, String)], now: &str) -> DbResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO directory_names (tenant_id, object_id, display_name, seen_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id, object_id) DO UPDATE SET display_name = excluded.display_name, seen_at = excluded.seen_at",
    )?;
    for (id, name) in names {
        stmt.execute(params![tenant_id, id, name, now])?;
    }
    Ok(())
}
