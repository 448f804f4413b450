//! `policies`, `policy_versions` and `policy_contents`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::DbResult;

/// A policy as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub policy_type: String,
    pub graph_id: String,
    pub display_name: String,
    pub deleted: bool,
    pub last_synced_at: String,
    pub latest_version_id: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, policy_type, graph_id, display_name, deleted, last_synced_at, latest_version_id";

fn from_row(r: &Row) -> rusqlite::Result<Policy> {
    Ok(Policy {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        policy_type: r.get(2)?,
        graph_id: r.get(3)?,
        display_name: r.get(4)?,
        deleted: r.get(5)?,
        last_synced_at: r.get(6)?,
        latest_version_id: r.get(7)?,
    })
}

/// Records a policy seen by a sync: inserts it, or refreshes its name and un-deletes it.
/// Returns its id.
pub fn upsert_seen(
    c: &Connection,
    tenant_id: &str,
    policy_type: &str,
    graph_id: &str,
    display_name: &str,
    now: &str,
) -> DbResult<String> {
    Ok(c.prepare_cached(
        "INSERT INTO policies (id, tenant_id, policy_type, graph_id, display_name, deleted, last_synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
         ON CONFLICT (tenant_id, policy_type, graph_id)
         DO UPDATE SET display_name = excluded.display_name, deleted = 0, last_synced_at = excluded.last_synced_at
         RETURNING id",
    )?
    .query_row(
        params![
            crate::clock::new_id(),
            tenant_id,
            policy_type,
            graph_id,
            display_name,
            now
        ],
        |r| r.get(0),
    )?)
}

/// Marks the policies of one type that a sync did not see (anything synced before `since`)
/// as deleted; returns how many.
pub fn mark_vanished(c: &Connection, tenant_id: &str, policy_type: &str, since: &str) -> DbResult<usize> {
    Ok(c
        .prepare_cached(
            "UPDATE policies SET deleted = 1 WHERE tenant_id = ?1 AND policy_type = ?2 AND deleted = 0 AND last_synced_at < ?3",
        )?
        .execute(params![tenant_id, policy_type, since])?)
}

/// Points a policy at the object a restore re-created for it (a new Graph id): the policy
/// keeps its history and is live again.
pub fn repoint(c: &Connection, id: &str, graph_id: &str, display_name: &str, now: &str) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO policy_aliases (tenant_id, policy_type, graph_id, policy_id)
         SELECT tenant_id, policy_type, graph_id, id FROM policies WHERE id = ?1 AND graph_id <> ?2
         ON CONFLICT DO UPDATE SET policy_id = excluded.policy_id",
    )?
    .execute(params![id, graph_id])?;
    c.prepare_cached(
        "UPDATE policies SET graph_id = ?2, display_name = ?3, deleted = 0, last_synced_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, graph_id, display_name, now])?;
    Ok(())
}

/// Marks one policy deleted: a capture found it gone, or an undo deleted it.
pub fn mark_deleted(c: &Connection, id: &str) -> DbResult<()> {
    c.prepare_cached("UPDATE policies SET deleted = 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// The policy that had this Graph id before a restore re-created it under a new one.
pub fn by_old_graph_id(c: &Connection, tenant_id: &str, policy_type: &str, graph_id: &str) -> DbResult<Option<Policy>> {
    let id: Option<String> = c
        .prepare_cached(
            "SELECT policy_id FROM policy_aliases WHERE tenant_id = ?1 AND policy_type = ?2 AND graph_id = ?3",
        )?
        .query_row([tenant_id, policy_type, graph_id], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => get(c, &id),
        None => Ok(None),
    }
}

/// The policy of a tenant with this type and Graph id, deleted or not.
pub fn by_graph_id(c: &Connection, tenant_id: &str, policy_type: &str, graph_id: &str) -> DbResult<Option<Policy>> {
    let sql = format!("SELECT {COLUMNS} FROM policies WHERE tenant_id = ?1 AND policy_type = ?2 AND graph_id = ?3");
    Ok(c.prepare_cached(&sql)?
        .query_row([tenant_id, policy_type, graph_id], from_row)
        .optional()?)
}

/// Display names of a tenant's objects of one type by Graph id, deleted ones and the ids they
/// had before a restore re-created them included (an assignment names a filter by Graph id).
pub fn names_by_graph_id(
    c: &Connection,
    tenant_id: &str,
    policy_type: &str,
) -> DbResult<std::collections::HashMap<String, String>> {
    let mut stmt = c.prepare_cached(
        "SELECT graph_id, display_name FROM policies WHERE tenant_id = ?1 AND policy_type = ?2
         UNION ALL
         SELECT a.graph_id, p.display_name FROM policy_aliases a JOIN policies p ON p.id = a.policy_id
         WHERE a.tenant_id = ?1 AND a.policy_type = ?2",
    )?;
    let rows = stmt.query_map(params![tenant_id, policy_type], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(c: &Connection, id: &str) -> DbResult<Option<Policy>> {
    let sql = format!("SELECT {COLUMNS} FROM policies WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// A tenant's policies, optionally of one type, by type and name.
pub fn list(
    c: &Connection,
    tenant_id: &str,
    policy_type: Option<&str>,
    include_deleted: bool,
) -> DbResult<Vec<Policy>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM policies WHERE tenant_id = ?1 AND (?2 IS NULL OR policy_type = ?2) AND (?3 OR deleted = 0)
         ORDER BY policy_type, display_name COLLATE NOCASE, id"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id, policy_type, include_deleted], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub id: String,
    pub policy_id: String,
    pub captured_at: String,
    pub content_hash: String,
    pub run_id: Option<String>,
    /// When an import added this version (its `captured_at` is what the zip said).
    pub imported_at: Option<String>,
}

const VERSION_COLUMNS: &str = "id, policy_id, captured_at, content_hash, run_id, imported_at";

fn version_from_row(r: &Row) -> rusqlite::Result<Version> {
    Ok(Version {
        id: r.get(0)?,
        policy_id: r.get(1)?,
        captured_at: r.get(2)?,
        content_hash: r.get(3)?,
        run_id: r.get(4)?,
        imported_at: r.get(5)?,
    })
}

/// What recording a capture did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A new version with this id.
    New(String),
    /// The content equals the latest version (its id): nothing stored.
    Unchanged(String),
}

impl Recorded {
    /// The version the policy stands at now (new or unchanged).
    pub fn version_id(&self) -> &str {
        match self {
            Recorded::New(v) | Recorded::Unchanged(v) => v,
        }
    }
}

/// Stores a captured content as the policy's newest version, unless it equals the latest
/// one. The content itself is stored once per hash, whoever captured it.
pub fn record_version(
    c: &Connection,
    policy: &Policy,
    content_hash: &str,
    content: &str,
    run_id: Option<&str>,
    now: &str,
    modified_at: Option<&str>,
) -> DbResult<Recorded> {
    if let Some(latest) = &policy.latest_version_id {
        let latest_hash: Option<String> = c
            .prepare_cached("SELECT content_hash FROM policy_versions WHERE id = ?1")?
            .query_row([latest], |r| r.get(0))
            .optional()?;
        if latest_hash.as_deref() == Some(content_hash) {
            return Ok(Recorded::Unchanged(latest.clone()));
        }
    }
    c.prepare_cached("INSERT INTO policy_contents (content_hash, content) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute([content_hash, content])?;
    let id = crate::clock::new_id();
    c.prepare_cached(
        "INSERT INTO policy_versions (id, policy_id, tenant_id, content_hash, captured_at, run_id, modified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, policy.id, policy.tenant_id, content_hash, now, run_id, modified_at])?;
    c.prepare_cached("UPDATE policies SET latest_version_id = ?2 WHERE id = ?1")?
        .execute([&policy.id, &id])?;
    Ok(Recorded::New(id))
}

/// A policy's versions, newest first.
pub fn versions(c: &Connection, policy_id: &str) -> DbResult<Vec<Version>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM policy_versions WHERE policy_id = ?1 ORDER BY captured_at DESC, id DESC"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([policy_id], version_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A version with its tenant (for the access check) and content.
pub fn version_with_content(c: &Connection, id: &str) -> DbResult<Option<(Version, String, String)>> {
    Ok(c.prepare_cached(
        "SELECT v.id, v.policy_id, v.captured_at, v.content_hash, v.run_id, v.imported_at, v.tenant_id, pc.content
         FROM policy_versions v JOIN policy_contents pc ON pc.content_hash = v.content_hash WHERE v.id = ?1",
    )?
    .query_row([id], |r| Ok((version_from_row(r)?, r.get(6)?, r.get(7)?)))
    .optional()?)
}

/// For an import: the policy of this type and Graph id in the tenant, or a new one marked
/// deleted (it is not in the tenant as far as the inventory knows; a sync finds it if it is).
/// Returns the policy and whether it was created.
pub fn find_or_add_imported(
    c: &Connection,
    tenant_id: &str,
    policy_type: &str,
    graph_id: &str,
    display_name: &str,
    now: &str,
) -> DbResult<(Policy, bool)> {
    if let Some(p) = by_graph_id(c, tenant_id, policy_type, graph_id)? {
        return Ok((p, false));
    }
    let id = crate::clock::new_id();
    c.prepare_cached(
        "INSERT INTO policies (id, tenant_id, policy_type, graph_id, display_name, deleted, last_synced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
    )?
    .execute(params![id, tenant_id, policy_type, graph_id, display_name, now])?;
    let p = get(c, &id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok((p, true))
}

/// For an import: a version of `policy` with this content and capture time. An identical
/// version already held (the same content captured at the same time: an export imported back
/// into its own tenant) is reused; otherwise one is added to the history at its capture time,
/// without becoming the policy's latest capture (unless it has none). Returns its id and
/// whether it was reused.
pub fn add_imported_version(
    c: &Connection,
    policy: &Policy,
    content_hash: &str,
    content: &str,
    captured_at: &str,
    imported_at: &str,
) -> DbResult<(String, bool)> {
    let held: Option<String> = c
        .prepare_cached(
            "SELECT id FROM policy_versions WHERE policy_id = ?1 AND content_hash = ?2 AND captured_at = ?3 LIMIT 1",
        )?
        .query_row([&policy.id, content_hash, captured_at], |r| r.get(0))
        .optional()?;
    if let Some(id) = held {
        return Ok((id, true));
    }
    c.prepare_cached("INSERT INTO policy_contents (content_hash, content) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute([content_hash, content])?;
    let id = crate::clock::new_id();
    c.prepare_cached(
        "INSERT INTO policy_versions (id, policy_id, tenant_id, content_hash, captured_at, run_id, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
    )?
    .execute(params![id, policy.id, policy.tenant_id, content_hash, captured_at, imported_at])?;
    c.prepare_cached("UPDATE policies SET latest_version_id = ?2 WHERE id = ?1 AND latest_version_id IS NULL")?
        .execute([&policy.id, &id])?;
    Ok((id, false))
}
