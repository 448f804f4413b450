//! Display names of settings catalog setting definitions, by source and definition id (table
//! `setting_definitions`): Microsoft's, the same for every tenant on Microsoft's Graph, so one
//! row per id for all of them; a custom Graph endpoint is a source of its own
//! (`graph::cloud::definitions_source`).
//! Resolved through Graph after a capture run, shown where a diff names a setting. Kept apart
//! from policy content, so a renamed definition changes no hash.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::DbResult;

/// What Graph answered for one definition id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Looked {
    /// The definition, with its display name and description.
    Found { name: String, description: Option<String> },
    /// Graph has no such definition (404).
    Missing,
}

/// The source whose definitions a tenant's pages show (see `graph::cloud::definitions_source`).
pub fn source_of_tenant(c: &Connection, tenant_id: &str) -> DbResult<Option<String>> {
    Ok(c.prepare_cached("SELECT graph_base_url FROM tenants WHERE id = ?1")?
        .query_row([tenant_id], |r| r.get::<_, String>(0))
        .optional()?
        .map(|u| crate::graph::cloud::definitions_source(&u)))
}

/// The display names `source` knows for `ids` (ids Graph did not know are left out).
pub fn names(c: &Connection, source: &str, ids: &BTreeSet<String>) -> DbResult<HashMap<String, String>> {
    let mut stmt = c.prepare_cached(
        "SELECT display_name FROM setting_definitions WHERE source = ?1 AND definition_id = ?2 AND display_name IS NOT NULL",
    )?;
    let mut out = HashMap::new();
    for id in ids {
        if let Some(name) = stmt
            .query_row(params![source, id], |r| r.get::<_, String>(0))
            .optional()?
        {
            out.insert(id.clone(), name);
        }
    }
    Ok(out)
}

/// The ids among `ids` to ask Graph about: never asked, or found missing before
/// `missing_before` (a definition Graph lacked may appear, e.g. with a new ADMX import).
pub fn unknown(c: &Connection, source: &str, ids: &BTreeSet<String>, missing_before: &str) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT 1 FROM setting_definitions
         WHERE source = ?1 AND definition_id = ?2 AND (display_name IS NOT NULL OR checked_at >= ?3)",
    )?;
    let mut out = Vec::new();
    for id in ids {
        if !stmt.exists(params![source, id, missing_before])? {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Stores what Graph answered, at `now` (a found definition replaces a missing one).
pub fn upsert(tx: &Transaction, source: &str, looked: &[(String, Looked)], now: &str) -> DbResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO setting_definitions (source, definition_id, display_name, description, checked_at) VALUES (?5, ?1, ?2, ?3, ?4)
         ON CONFLICT (source, definition_id) DO UPDATE SET display_name = excluded.display_name,
             description = excluded.description, checked_at = excluded.checked_at",
    )?;
    for (id, l) in looked {
        let (name, description) = match l {
            Looked::Found { name, description } => (Some(name.as_str()), description.as_deref()),
            Looked::Missing => (None, None),
        };
        stmt.execute(params![id, name, description, now, source])?;
    }
    Ok(())
}
