//! `backup_sets` and `backup_items`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::DbResult;

#[derive(Debug, Clone, Serialize)]
pub struct BackupSet {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub name: String,
    pub origin: String,
    pub created_at: String,
    pub item_count: i64,
    pub capture_run_id: Option<String>,
    /// Who imported it from a zip (then `origin` reads "import"); `None` for sets this
    /// server captured.
    pub imported_by: Option<String>,
    /// Where an imported zip came from: the exported set, its tenant, when it was exported.
    pub import_source: Option<serde_json::Value>,
    /// Whether the set is the whole of what it was to hold: every type its capture was to
    /// list was listed, every item captured, and no capture of it is still running.
    pub complete: bool,
    /// The types its capture could not list (5xx after retries, 403, timeout), with why.
    pub missing_types: Vec<MissingType>,
    /// Whether its capture listed the whole tenant (as opposed to policies picked by hand):
    /// only such a set can say a live policy was added since.
    #[serde(skip)]
    pub whole_tenant: bool,
}

const COLUMNS: &str = "s.id, s.tenant_id, s.name, CASE WHEN s.imported_by IS NULL THEN s.origin ELSE 'import' END, s.created_at, \
    (SELECT count(*) FROM backup_items i WHERE i.backup_set_id = s.id), s.capture_run_id, \
    EXISTS (SELECT 1 FROM run_items r WHERE r.run_id = s.capture_run_id AND r.item_type = 'backup_list'), \
    s.imported_by, s.import_source"; // runs::BACKUP_LIST_ITEM

fn from_row(r: &Row) -> rusqlite::Result<BackupSet> {
    Ok(BackupSet {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        name: r.get(2)?,
        origin: r.get(3)?,
        created_at: r.get(4)?,
        item_count: r.get(5)?,
        capture_run_id: r.get(6)?,
        whole_tenant: r.get(7)?,
        complete: false,
        missing_types: Vec::new(),
        imported_by: r.get(8)?,
        import_source: r
            .get::<_, Option<String>>(9)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

/// A type a backup could not list: not captured, so the set is not whole.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MissingType {
    pub policy_type: String,
    /// Why, in words: "Graph was unavailable", "permission … missing".
    pub reason: String,
    #[serde(skip)]
    pub code: String,
}

impl MissingType {
    /// "Remediation scripts: Graph was unavailable".
    pub fn describe(&self) -> String {
        let label = crate::graph::registry::by_key(&self.policy_type).map_or(self.policy_type.as_str(), |t| t.label);
        format!("{label}: {}", self.reason)
    }
}

fn missing_reason(policy_type: &str, code: &str) -> String {
    match code {
        "graph_forbidden" => crate::graph::registry::by_key(policy_type).map_or_else(
            || "not captured: permission missing".to_owned(),
            |t| format!("not captured: permission {} missing", t.permission),
        ),
        "graph_unavailable" => "Graph was unavailable".to_owned(),
        "timeout" => "Graph did not answer in time".to_owned(),
        "graph_throttled" => "Graph kept throttling the requests".to_owned(),
        "network" => "the network connection to Microsoft failed".to_owned(),
        other => crate::graph::error::describe(other).to_owned(),
    }
}

/// The types the captures of `set_id` failed to list and never listed since (a re-run of the
/// failed items lists them again), with their reasons.
pub fn missing_types(c: &Connection, set_id: &str) -> DbResult<Vec<MissingType>> {
    let mut stmt = c.prepare_cached(
        "SELECT ri.item_id, coalesce(ri.error_code, 'internal') FROM run_items ri JOIN runs r ON r.id = ri.run_id
         WHERE r.target_type = 'backup_set' AND r.target_id = ?1 AND ri.item_type = 'backup_list' AND ri.status = 'failed'
           AND NOT EXISTS (SELECT 1 FROM run_items x JOIN runs rx ON rx.id = x.run_id
               WHERE rx.target_type = 'backup_set' AND rx.target_id = ?1 AND x.item_type = 'backup_list'
                 AND x.item_id = ri.item_id AND x.status IN ('succeeded', 'skipped'))
         ORDER BY ri.item_id, r.created_at DESC",
    )?;
    let rows = stmt.query_map([set_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out: Vec<MissingType> = Vec::new();
    for row in rows {
        let (policy_type, code) = row?;
        if out.last().is_some_and(|m| m.policy_type == policy_type) {
            continue;
        }
        out.push(MissingType {
            reason: missing_reason(&policy_type, &code),
            policy_type,
            code,
        });
    }
    Ok(out)
}

/// Fills a set's `complete` and `missing_types`.
fn with_completeness(c: &Connection, mut set: BackupSet) -> DbResult<BackupSet> {
    set.missing_types = missing_types(c, &set.id)?;
    let unfinished: bool = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM backup_items WHERE backup_set_id = ?1 AND version_id IS NULL)
                 OR EXISTS (SELECT 1 FROM runs WHERE target_type = 'backup_set' AND target_id = ?1 AND status IN ('queued', 'running'))
                 OR EXISTS (SELECT 1 FROM runs r WHERE r.id = (SELECT x.id FROM runs x WHERE x.target_type = 'backup_set'
                     AND x.target_id = ?1 ORDER BY x.created_at DESC, x.id DESC LIMIT 1) AND r.status = 'failed' AND r.total = 0)",
        )?
        .query_row([&set.id], |r| r.get(0))?;
    set.complete = set.missing_types.is_empty() && !unfinished;
    Ok(set)
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupItem {
    pub id: String,
    pub policy_id: String,
    pub version_id: Option<String>,
    pub policy_type: String,
    pub display_name: String,
}

pub struct NewSet<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub origin: &'a str,
    pub schedule_id: Option<&'a str>,
    pub now: &'a str,
}

/// Marks a set as imported from a zip by `actor`, from `source`.
pub fn mark_imported(c: &Connection, set_id: &str, actor: &str, source: &serde_json::Value) -> DbResult<()> {
    c.prepare_cached("UPDATE backup_sets SET imported_by = ?2, import_source = ?3 WHERE id = ?1")?
        .execute(params![set_id, actor, source.to_string()])?;
    Ok(())
}

/// Inserts a set and its items (one per policy, fixed from now on); returns the item ids.
pub fn insert(c: &Connection, set: &NewSet<'_>, policies: &[super::policies::Policy]) -> DbResult<Vec<String>> {
    c.prepare_cached(
        "INSERT INTO backup_sets (id, tenant_id, name, origin, schedule_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![set.id, set.tenant_id, set.name, set.origin, set.schedule_id, set.now])?;
    Ok(append(c, set.id, policies)?.into_iter().map(|(id, _)| id).collect())
}

/// Adds items for `policies` after the set's existing ones, skipping policies the set already
/// holds (a listing done again after a crash adds nothing twice); returns the new item ids,
/// in the order of `policies` that were added.
pub fn append(
    c: &Connection,
    set_id: &str,
    policies: &[super::policies::Policy],
) -> DbResult<Vec<(String, super::policies::Policy)>> {
    let first: i64 = c
        .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM backup_items WHERE backup_set_id = ?1")?
        .query_row([set_id], |r| r.get(0))?;
    // Read once: no index leads from a set to its policies, so a lookup per policy read the
    // set's items again each time (a whole-tenant backup appends once per type).
    let mut held: std::collections::HashSet<String> = c
        .prepare_cached("SELECT policy_id FROM backup_items WHERE backup_set_id = ?1")?
        .query_map([set_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(
        "INSERT INTO backup_items (id, backup_set_id, seq, policy_id, policy_type, display_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut added = Vec::with_capacity(policies.len());
    let mut seq = first;
    for p in policies {
        if !held.insert(p.id.clone()) {
            continue;
        }
        let id = crate::clock::new_id();
        stmt.execute(params![id, set_id, seq, p.id, p.policy_type, p.display_name])?;
        seq += 1;
        added.push((id, p.clone()));
    }
    Ok(added)
}

/// Whether a restore run restores this policy (has an item for one of its backup items).
pub fn run_restores_policy(c: &Connection, run_id: &str, policy_id: &str) -> DbResult<bool> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM run_items ri JOIN backup_items bi ON bi.id = ri.item_id WHERE ri.run_id = ?1 AND bi.policy_id = ?2",
    )?
    .exists([run_id, policy_id])?)
}

pub fn set_capture_run(c: &Connection, set_id: &str, run_id: &str) -> DbResult<()> {
    c.execute(
        "UPDATE backup_sets SET capture_run_id = ?2 WHERE id = ?1",
        [set_id, run_id],
    )?;
    Ok(())
}

/// Fills an item's version once; an item already captured keeps its version (immutable).
pub fn set_item_version(c: &Connection, item_id: &str, version_id: &str) -> DbResult<bool> {
    Ok(
        c.prepare_cached("UPDATE backup_items SET version_id = ?2 WHERE id = ?1 AND version_id IS NULL")?
            .execute([item_id, version_id])?
            == 1,
    )
}

pub fn get(c: &Connection, id: &str) -> DbResult<Option<BackupSet>> {
    let sql = format!("SELECT {COLUMNS} FROM backup_sets s WHERE s.id = ?1");
    let set = c.prepare_cached(&sql)?.query_row([id], from_row).optional()?;
    set.map(|s| with_completeness(c, s)).transpose()
}

/// A tenant's sets, newest first.
/// The baseline a drift check compares with when none is chosen: the newest complete backup
/// of the whole tenant ("Before restore", imported and one-policy sets such as an accepted
/// drift are not backups of the tenant; an incomplete one would report what it missed as
/// added). `None` until there is one: a baseline is then chosen by hand, and flagged.
pub fn default_baseline(sets: &[BackupSet]) -> Option<&BackupSet> {
    sets.iter()
        .find(|s| s.origin != "before_restore" && s.origin != "import" && s.whole_tenant && s.complete)
}

pub fn list(c: &Connection, tenant_id: &str) -> DbResult<Vec<BackupSet>> {
    let sql =
        format!("SELECT {COLUMNS} FROM backup_sets s WHERE s.tenant_id = ?1 ORDER BY s.created_at DESC, s.id DESC");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows: Vec<BackupSet> = stmt.query_map([tenant_id], from_row)?.collect::<Result<_, _>>()?;
    rows.into_iter().map(|s| with_completeness(c, s)).collect()
}

pub fn items(c: &Connection, set_id: &str) -> DbResult<Vec<BackupItem>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, policy_id, version_id, policy_type, display_name FROM backup_items WHERE backup_set_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([set_id], |r| {
        Ok(BackupItem {
            id: r.get(0)?,
            policy_id: r.get(1)?,
            version_id: r.get(2)?,
            policy_type: r.get(3)?,
            display_name: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What restoring a backup item needs: the policy's type and Graph id, and the backed-up
/// document. `None` when the item has no captured version.
pub struct RestoreSource {
    pub policy_id: String,
    pub policy_type: String,
    pub graph_id: String,
    pub display_name: String,
    pub content: String,
}

pub fn restore_source(c: &Connection, item_id: &str) -> DbResult<Option<RestoreSource>> {
    Ok(c.prepare_cached(
        "SELECT p.id, p.policy_type, p.graph_id, i.display_name, pc.content
         FROM backup_items i
         JOIN policies p ON p.id = i.policy_id
         JOIN policy_versions v ON v.id = i.version_id
         JOIN policy_contents pc ON pc.content_hash = v.content_hash
         WHERE i.id = ?1",
    )?
    .query_row([item_id], |r| {
        Ok(RestoreSource {
            policy_id: r.get(0)?,
            policy_type: r.get(1)?,
            graph_id: r.get(2)?,
            display_name: r.get(3)?,
            content: r.get(4)?,
        })
    })
    .optional()?)
}

/// A tenant's newest backup, for the dashboard.
#[derive(Debug, Clone)]
pub struct LastBackup {
    pub name: String,
    pub created_at: String,
    /// Status of its capture run.
    pub status: Option<String>,
    /// The types it misses (see [`missing_types`]).
    pub missing_types: Vec<MissingType>,
}

/// Each tenant's newest capture of the whole tenant, by tenant id: before-restore snapshots,
/// imports and sets of picked policies (an accepted drift, say) do not count.
pub fn latest_per_tenant(c: &Connection) -> DbResult<std::collections::HashMap<String, LastBackup>> {
    let mut stmt = c.prepare_cached(
        "WITH whole AS (
            SELECT x.id, x.tenant_id, x.created_at FROM backup_sets x
            WHERE x.origin != 'before_restore' AND x.imported_by IS NULL
              AND EXISTS (SELECT 1 FROM run_items ri WHERE ri.run_id = x.capture_run_id AND ri.item_type = 'backup_list'))
         SELECT s.tenant_id, s.name, s.created_at, r.status, s.id FROM backup_sets s LEFT JOIN runs r ON r.id = s.capture_run_id
         WHERE s.id = (SELECT w.id FROM whole w WHERE w.tenant_id = s.tenant_id ORDER BY w.created_at DESC, w.id DESC LIMIT 1)",
    )?;
    let rows: Vec<(String, LastBackup, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                LastBackup {
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    status: r.get(3)?,
                    missing_types: Vec::new(),
                },
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for (tenant, mut last, set_id) in rows {
        last.missing_types = missing_types(c, &set_id)?;
        out.insert(tenant, last);
    }
    Ok(out)
}

/// When each captured item's policy last changed, by item id: Graph's own
/// `lastModifiedDateTime` of the captured object (`modifiedDateTime` for Conditional
/// Access), else when its version was first seen here (identical content is stored once).
/// For the set page's "Last changed" and the picker's "changed since" filter.
pub fn item_captured_at(c: &Connection, set_id: &str) -> DbResult<std::collections::HashMap<String, String>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.id, COALESCE(v.modified_at, v.captured_at) FROM backup_items i JOIN policy_versions v ON v.id = i.version_id
         WHERE i.backup_set_id = ?1",
    )?;
    let rows = stmt.query_map([set_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// For one policy: each captured version that some backup set holds, with the newest such
/// set and its item (what a one-item restore of that version starts from), by version id.
pub fn sets_holding_versions(
    c: &Connection,
    policy_id: &str,
) -> DbResult<std::collections::HashMap<String, (String, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.version_id, s.id, i.id FROM backup_items i JOIN backup_sets s ON s.id = i.backup_set_id
         WHERE i.policy_id = ?1 AND i.version_id IS NOT NULL
         ORDER BY s.created_at ASC, s.id ASC",
    )?;
    let rows = stmt.query_map([policy_id], |r| {
        Ok((r.get::<_, String>(0)?, (r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
    })?;
    // Later (newer) sets overwrite earlier ones.
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How complete a set is: items with a captured version, all items, and the newest capture
/// run of the set (the first capture or a re-run of its failed items).
#[derive(Debug, Clone)]
pub struct SetProgress {
    pub captured: i64,
    pub total: i64,
    pub run_id: Option<String>,
    pub run_status: Option<String>,
}

/// Every set's progress in a tenant, by set id.
pub fn progress(c: &Connection, tenant_id: &str) -> DbResult<std::collections::HashMap<String, SetProgress>> {
    let mut stmt = c.prepare_cached(
        "SELECT s.id,
            (SELECT count(*) FROM backup_items i WHERE i.backup_set_id = s.id AND i.version_id IS NOT NULL),
            (SELECT count(*) FROM backup_items i WHERE i.backup_set_id = s.id),
            r.id, r.status
         FROM backup_sets s
         LEFT JOIN runs r ON r.id = (SELECT x.id FROM runs x WHERE x.tenant_id = s.tenant_id
             AND x.target_type = 'backup_set' AND x.target_id = s.id ORDER BY x.created_at DESC, x.id DESC LIMIT 1)
         WHERE s.tenant_id = ?1",
    )?;
    let rows = stmt.query_map([tenant_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            SetProgress {
                captured: r.get(1)?,
                total: r.get(2)?,
                run_id: r.get(3)?,
                run_status: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One item of a set as an export writes it: the policy's identity and, when captured, the
/// version and its stored document (secrets already sealed or masked).
#[derive(Debug, Clone)]
pub struct ExportItem {
    pub policy_id: String,
    pub policy_type: String,
    pub display_name: String,
    pub graph_id: String,
    /// (version id, captured at, content hash, content); `None` when not captured.
    pub version: Option<(String, String, String, String)>,
}

/// Every item of a set in the set's order, with its captured document.
pub fn export_items(c: &Connection, set_id: &str) -> DbResult<Vec<ExportItem>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.policy_id, i.policy_type, i.display_name, p.graph_id,
                v.id, v.captured_at, v.content_hash, pc.content
         FROM backup_items i
         JOIN policies p ON p.id = i.policy_id
         LEFT JOIN policy_versions v ON v.id = i.version_id
         LEFT JOIN policy_contents pc ON pc.content_hash = v.content_hash
         WHERE i.backup_set_id = ?1 ORDER BY i.seq",
    )?;
    let rows = stmt.query_map([set_id], |r| {
        let version = match (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?) {
            (Some(id), Some(at), Some(hash), Some(content)) => Some((id, at, hash, content)),
            _ => None,
        };
        Ok(ExportItem {
            policy_id: r.get(0)?,
            policy_type: r.get(1)?,
            display_name: r.get(2)?,
            graph_id: r.get(3)?,
            version,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A finished restore that wrote nothing (every item skipped: unchanged, or not restorable)
/// keeps no "Before restore" set: there is nothing to undo. A failed item may have written
/// part of an object, so a run with one keeps its set. True when a set was dropped.
pub fn drop_unwritten_before_set(c: &Connection, run_id: &str) -> DbResult<bool> {
    let set: Option<String> = c
        .prepare_cached(
            "SELECT r.before_backup_set_id FROM runs r WHERE r.id = ?1 AND r.before_backup_set_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM run_items i WHERE i.run_id = r.id AND i.status != 'skipped')",
        )?
        .query_row([run_id], |r| r.get(0))
        .optional()?;
    let Some(set) = set else {
        return Ok(false);
    };
    c.execute(
        "DELETE FROM backup_sets WHERE id = ?1 AND origin = 'before_restore'",
        [&set],
    )?;
    c.execute("UPDATE runs SET before_backup_set_id = NULL WHERE id = ?1", [run_id])?;
    Ok(true)
}

/// The first queued or running run that uses a backup set: its capture, a restore or
/// preview of it, or a restore whose "before restore" set it is.
pub fn active_run_using(c: &Connection, set_id: &str) -> DbResult<Option<(String, String)>> {
    Ok(c.prepare_cached(
        "SELECT r.id, r.kind FROM runs r
         WHERE r.status IN ('queued', 'running')
           AND (r.id = (SELECT s.capture_run_id FROM backup_sets s WHERE s.id = ?1)
                OR r.before_backup_set_id = ?1
                OR (json_valid(r.params) AND json_extract(r.params, '$.backup_set_id') = ?1))
         LIMIT 1",
    )?
    .query_row([set_id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}

pub fn delete(c: &Connection, set_id: &str) -> DbResult<bool> {
    Ok(c.execute("DELETE FROM backup_sets WHERE id = ?1", [set_id])? == 1)
}
