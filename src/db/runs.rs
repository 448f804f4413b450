//! `runs` and `run_items`.
//!
//! Every state write of a running run is fenced on `(status = 'running', attempt)`: a worker
//! whose lease was taken over holds a stale attempt number, so its late writes match no row
//! and change nothing.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::Value;

use super::DbResult;

/// A run as the API shows it (`shared/API.md`); internal columns are skipped.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub target_type: String,
    pub target_id: String,
    pub dry_run: bool,
    pub status: String,
    pub initiated_by: Option<String>,
    #[serde(skip)]
    pub initiator_label: String,
    #[serde(skip)]
    pub required_role: String,
    pub parent_run_id: Option<String>,
    #[serde(skip)]
    pub params: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub skipped: i64,
    pub error_code: Option<String>,
    pub error_context: Option<Value>,
    #[serde(skip)]
    pub attempt: i64,
    #[serde(skip)]
    pub deadline_at: Option<String>,
    pub before_backup_set_id: Option<String>,
}

impl Run {
    /// Items in `status` (`None`: all), from the run's own counters.
    pub fn count_in(&self, status: Option<&str>) -> i64 {
        match status {
            None => self.total,
            Some("succeeded") => self.succeeded,
            Some("failed") => self.failed,
            Some("skipped") => self.skipped,
            Some(_) => 0,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed" | "partial")
    }
}

const COLUMNS: &str = "id, tenant_id, kind, target_type, target_id, dry_run, status, initiated_by, initiator_label, \
    required_role, parent_run_id, params, created_at, started_at, finished_at, total, succeeded, failed, skipped, \
    error_code, error_context, attempt, deadline_at, before_backup_set_id";

fn json_column(r: &Row, i: usize) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = r.get(i)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

fn from_row(r: &Row) -> rusqlite::Result<Run> {
    Ok(Run {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: r.get(2)?,
        target_type: r.get(3)?,
        target_id: r.get(4)?,
        dry_run: r.get(5)?,
        status: r.get(6)?,
        initiated_by: r.get(7)?,
        initiator_label: r.get(8)?,
        required_role: r.get(9)?,
        parent_run_id: r.get(10)?,
        params: r.get(11)?,
        created_at: r.get(12)?,
        started_at: r.get(13)?,
        finished_at: r.get(14)?,
        total: r.get(15)?,
        succeeded: r.get(16)?,
        failed: r.get(17)?,
        skipped: r.get(18)?,
        error_code: r.get(19)?,
        error_context: json_column(r, 20)?,
        attempt: r.get(21)?,
        deadline_at: r.get(22)?,
        before_backup_set_id: r.get(23)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct RunItem {
    pub id: String,
    pub run_id: String,
    #[serde(skip)]
    pub seq: i64,
    pub item_type: String,
    pub item_id: String,
    pub label: String,
    pub status: String,
    pub error_code: Option<String>,
    pub error_context: Option<Value>,
    pub result: Option<Value>,
}

fn item_from_row(r: &Row) -> rusqlite::Result<RunItem> {
    Ok(RunItem {
        id: r.get(0)?,
        run_id: r.get(1)?,
        seq: r.get(2)?,
        item_type: r.get(3)?,
        item_id: r.get(4)?,
        label: r.get(5)?,
        status: r.get(6)?,
        error_code: r.get(7)?,
        error_context: json_column(r, 8)?,
        result: json_column(r, 9)?,
    })
}

const ITEM_COLUMNS: &str = "id, run_id, seq, item_type, item_id, label, status, error_code, error_context, result";

/// What `start` inserts.
pub struct NewRun<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub kind: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub dry_run: bool,
    pub initiated_by: Option<&'a str>,
    pub initiator_label: &'a str,
    pub required_role: &'a str,
    pub parent_run_id: Option<&'a str>,
    pub params: &'a str,
    pub now: &'a str,
}

/// Inserts the run, or returns the queued/running run with the same dedupe key. One
/// statement, so two racing starts cannot both insert: the partial unique index decides.
/// Returns the run and whether it already existed.
/// The key two identical starts share; at most one run per key is queued or running.
fn dedupe_key(tenant_id: &str, kind: &str, target_type: &str, target_id: &str) -> String {
    format!("{tenant_id}|{kind}|{target_type}:{target_id}")
}

/// The queued or running run an identical start would reuse, if there is one.
pub fn active_identical(
    c: &Connection,
    tenant_id: &str,
    kind: &str,
    target_type: &str,
    target_id: &str,
) -> DbResult<Option<Run>> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE dedupe_key = ?1 AND status IN ('queued', 'running')");
    Ok(c.prepare_cached(&sql)?
        .query_row([dedupe_key(tenant_id, kind, target_type, target_id)], from_row)
        .optional()?)
}

pub fn insert_or_reuse(tx: &Connection, n: &NewRun<'_>) -> DbResult<(Run, bool)> {
    let dedupe_key = dedupe_key(n.tenant_id, n.kind, n.target_type, n.target_id);
    let sql = format!(
        "INSERT INTO runs (id, tenant_id, kind, target_type, target_id, dedupe_key, dry_run, status, initiated_by,
                           initiator_label, required_role, parent_run_id, params, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running')
         DO UPDATE SET dedupe_key = excluded.dedupe_key
         RETURNING {COLUMNS}"
    );
    let run = tx.prepare_cached(&sql)?.query_row(
        params![
            n.id,
            n.tenant_id,
            n.kind,
            n.target_type,
            n.target_id,
            dedupe_key,
            n.dry_run,
            n.initiated_by,
            n.initiator_label,
            n.required_role,
            n.parent_run_id,
            n.params,
            n.now
        ],
        from_row,
    )?;
    let reused = run.id != n.id;
    Ok((run, reused))
}

/// An item to insert with a new run.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub item_type: String,
    pub item_id: String,
    pub label: String,
}

/// Adds items after the run's existing ones (a whole-tenant backup adds what its listing
/// finds while it runs) and counts them in the run's total.
pub fn insert_items(tx: &Connection, run_id: &str, items: &[NewItem]) -> DbResult<()> {
    let first: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(seq) + 1, 0) FROM run_items WHERE run_id = ?1")?
        .query_row([run_id], |r| r.get(0))?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO run_items (id, run_id, seq, item_type, item_id, label, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
    )?;
    for (seq, item) in (first..).zip(items) {
        stmt.execute(params![
            crate::clock::new_id(),
            run_id,
            seq,
            item.item_type,
            item.item_id,
            item.label
        ])?;
    }
    // New items are pending, so only the total moves. A recount here read every item of the
    // run again for each type a whole-tenant backup listed.
    tx.prepare_cached("UPDATE runs SET total = total + ?2 WHERE id = ?1")?
        .execute(params![run_id, i64::try_from(items.len()).unwrap_or(i64::MAX)])?;
    Ok(())
}

/// Makes the run's counts equal what its items say.
/// The kind of a whole-tenant backup's listing items (one per type), which are steps, not
/// policies.
pub const BACKUP_LIST_ITEM: &str = "backup_list";

/// (total, succeeded, failed, skipped) of a run's items other than `item_type`.
pub fn counts_without(c: &Connection, run_id: &str, item_type: &str) -> DbResult<(i64, i64, i64, i64)> {
    Ok(c.prepare_cached(
        "SELECT count(*), coalesce(sum(status = 'succeeded'), 0), coalesce(sum(status = 'failed'), 0),
                coalesce(sum(status = 'skipped'), 0)
         FROM run_items WHERE run_id = ?1 AND item_type <> ?2",
    )?
    .query_row([run_id, item_type], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?)
}

pub fn recount(tx: &Connection, run_id: &str) -> DbResult<()> {
    tx.prepare_cached(
        "UPDATE runs SET
            total = (SELECT count(*) FROM run_items WHERE run_id = ?1),
            succeeded = (SELECT count(*) FROM run_items WHERE run_id = ?1 AND status = 'succeeded'),
            failed = (SELECT count(*) FROM run_items WHERE run_id = ?1 AND status = 'failed'),
            skipped = (SELECT count(*) FROM run_items WHERE run_id = ?1 AND status = 'skipped')
         WHERE id = ?1",
    )?
    .execute([run_id])?;
    Ok(())
}

pub fn get(c: &Connection, id: &str) -> DbResult<Option<Run>> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// Filters for listing a tenant's runs.
#[derive(Debug, Default, Clone)]
pub struct RunFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

pub fn list(c: &Connection, tenant_id: &str, f: &RunFilter) -> DbResult<Vec<Run>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM runs WHERE tenant_id = ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR status = ?3)
         ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id, f.kind, f.status, f.limit, f.offset], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Active runs of some tenants, for the header's progress widget.
pub fn active_for_tenants(c: &Connection, tenant_ids: &[String]) -> DbResult<Vec<Run>> {
    let ids = serde_json::to_string(tenant_ids).unwrap_or_else(|_| "[]".into());
    let sql = format!(
        "SELECT {COLUMNS} FROM runs WHERE status IN ('queued', 'running')
           AND tenant_id IN (SELECT value FROM json_each(?1)) ORDER BY created_at LIMIT 50"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([ids], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn items(c: &Connection, run_id: &str, limit: u32, offset: u32) -> DbResult<Vec<RunItem>> {
    items_with_status(c, run_id, None, limit, offset)
}

/// A page of a run's items, only those in `status` when given.
pub fn items_with_status(
    c: &Connection,
    run_id: &str,
    status: Option<&str>,
    limit: u32,
    offset: u32,
) -> DbResult<Vec<RunItem>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM run_items WHERE run_id = ?1 AND (?2 IS NULL OR status = ?2)
         ORDER BY seq LIMIT ?3 OFFSET ?4"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![run_id, status, limit, offset], item_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Items not finished yet (pending, or running when a worker died), in order.
pub fn unfinished_items(c: &Connection, run_id: &str) -> DbResult<Vec<RunItem>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM run_items WHERE run_id = ?1 AND status IN ('pending', 'running') ORDER BY seq"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([run_id], item_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Claims the next queued run, fairly: tenants with fewer running runs first, then oldest;
/// a tenant already at `per_tenant_cap` running runs waits.
///
/// The running runs are counted per tenant once per claim (`busy`), not once per queued run:
/// as a correlated subquery, `SQLite` walked every running run for each queued one, and with
/// 500 backups queued behind 128 running that one statement took an eighth of the server's
/// CPU (`bench backup-many-tenants --tenants 500`).
pub fn claim_next(
    tx: &Connection,
    owner: &str,
    lease_until: &str,
    now: &str,
    per_tenant_cap: u32,
) -> DbResult<Option<Run>> {
    let sql = format!(
        "UPDATE runs SET status = 'running', started_at = coalesce(started_at, ?3), lease_owner = ?1,
                lease_expires_at = ?2, attempt = attempt + 1
         WHERE id = (
            SELECT r.id FROM runs r
            LEFT JOIN (SELECT tenant_id, count(*) AS n FROM runs WHERE status = 'running' GROUP BY tenant_id) busy
              ON busy.tenant_id = r.tenant_id
            WHERE r.status = 'queued' AND coalesce(busy.n, 0) < ?4
            ORDER BY coalesce(busy.n, 0), r.created_at
            LIMIT 1)
         RETURNING {COLUMNS}"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(params![owner, lease_until, now, per_tenant_cap], from_row)
        .optional()?)
}

/// Takes over one running run whose lease has expired (its worker died or hung).
pub fn take_over_expired(tx: &Connection, owner: &str, lease_until: &str, now: &str) -> DbResult<Option<Run>> {
    let sql = format!(
        "UPDATE runs SET lease_owner = ?1, lease_expires_at = ?2, attempt = attempt + 1
         WHERE id = (SELECT id FROM runs WHERE status = 'running' AND lease_expires_at < ?3 ORDER BY lease_expires_at LIMIT 1)
         RETURNING {COLUMNS}"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(params![owner, lease_until, now], from_row)
        .optional()?)
}

pub fn set_deadline(tx: &Connection, run_id: &str, deadline: &str) -> DbResult<()> {
    tx.execute(
        "UPDATE runs SET deadline_at = coalesce(deadline_at, ?2) WHERE id = ?1",
        [run_id, deadline],
    )?;
    Ok(())
}

/// Extends the lease; false when the run is no longer ours (taken over or finished).
pub fn renew_lease(c: &Connection, run_id: &str, attempt: i64, until: &str) -> DbResult<bool> {
    let n = c
        .prepare_cached("UPDATE runs SET lease_expires_at = ?3 WHERE id = ?1 AND attempt = ?2 AND status = 'running'")?
        .execute(params![run_id, attempt, until])?;
    Ok(n == 1)
}

fn still_ours(c: &Connection, run_id: &str, attempt: i64) -> DbResult<bool> {
    Ok(
        c.prepare_cached("SELECT 1 FROM runs WHERE id = ?1 AND attempt = ?2 AND status = 'running'")?
            .query_row(params![run_id, attempt], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

/// Marks an item as being worked on (so a crash leaves a trace of a write in flight).
pub fn item_running(tx: &Connection, run_id: &str, attempt: i64, item_id: &str, now: &str) -> DbResult<bool> {
    if !still_ours(tx, run_id, attempt)? {
        return Ok(false);
    }
    tx.prepare_cached(
        "UPDATE run_items SET status = 'running', started_at = ?2 WHERE id = ?1 AND status IN ('pending', 'running')",
    )?
    .execute(params![item_id, now])?;
    Ok(true)
}

/// An item's final outcome.
pub struct ItemOutcomeRow<'a> {
    pub status: &'a str,
    pub error_code: Option<&'a str>,
    pub error_context: Option<&'a Value>,
    pub result: Option<&'a Value>,
}

/// Writes an item's outcome and recounts the run, fenced on the attempt.
pub fn finish_item(
    tx: &Connection,
    run_id: &str,
    attempt: i64,
    item_id: &str,
    o: &ItemOutcomeRow<'_>,
    now: &str,
) -> DbResult<bool> {
    if !still_ours(tx, run_id, attempt)? {
        return Ok(false);
    }
    let changed = tx
        .prepare_cached(
            "UPDATE run_items SET status = ?2, error_code = ?3, error_context = ?4, result = ?5, finished_at = ?6
             WHERE id = ?1 AND status IN ('pending', 'running')",
        )?
        .execute(params![
            item_id,
            o.status,
            o.error_code,
            o.error_context.map(Value::to_string),
            o.result.map(Value::to_string),
            now
        ])?;
    // The item went from unfinished (counted in none) to `o.status`: one more there. A
    // recount would read every item of the run again, once per item.
    if changed == 1 {
        tx.prepare_cached(
            "UPDATE runs SET succeeded = succeeded + (?2 = 'succeeded'), failed = failed + (?2 = 'failed'),
                skipped = skipped + (?2 = 'skipped') WHERE id = ?1",
        )?
        .execute([run_id, o.status])?;
    }
    Ok(true)
}

/// Moves a running run to its terminal status; fenced, and never backwards.
pub fn finish_run(
    tx: &Connection,
    run_id: &str,
    attempt: i64,
    status: &str,
    error_code: Option<&str>,
    error_context: Option<&Value>,
    now: &str,
) -> DbResult<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE runs SET status = ?3, error_code = ?4, error_context = ?5, finished_at = ?6, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND attempt = ?2 AND status = 'running'",
        )?
        .execute(params![run_id, attempt, status, error_code, error_context.map(Value::to_string), now])?;
    Ok(n == 1)
}

/// Fails every unfinished item of a run with one code (the run cannot proceed).
pub fn fail_unfinished_items(tx: &Connection, run_id: &str, code: &str, now: &str) -> DbResult<()> {
    tx.prepare_cached(
        "UPDATE run_items SET status = 'failed', error_code = ?2, finished_at = ?3 WHERE run_id = ?1 AND status IN ('pending', 'running')",
    )?
    .execute(params![run_id, code, now])?;
    recount(tx, run_id)
}

/// Queued or running runs per tenant.
pub fn active_counts(c: &Connection) -> DbResult<std::collections::HashMap<String, i64>> {
    let mut stmt = c.prepare_cached(
        "SELECT tenant_id, count(*) FROM runs WHERE status IN ('queued', 'running') GROUP BY tenant_id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many of a run's items ended in each (status, result action) pair: what a preview or
/// restore summary line counts ("2 will change: 1 created, 1 updated; 57 unchanged").
pub fn action_counts(c: &Connection, run_id: &str) -> DbResult<Vec<(String, String, i64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT status, COALESCE(json_extract(result, '$.action'), ''), count(*) FROM run_items
         WHERE run_id = ?1 GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every `tightens` entry of a run's items, with the item's label: what a live restore of a
/// preview would tighten in Conditional Access.
pub fn tightening(c: &Connection, run_id: &str) -> DbResult<Vec<(String, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT i.label, t.value FROM run_items i, json_each(i.result, '$.tightens') t
         WHERE i.run_id = ?1 AND i.status = 'succeeded' AND json_valid(i.result) ORDER BY i.seq",
    )?;
    let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The labels of a run's items whose Conditional Access policy is enforced on all users with
/// no exclusion and tightened (`unguarded`): a live restore of them needs the tick.
pub fn unguarded(c: &Connection, run_id: &str) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT label FROM run_items WHERE run_id = ?1 AND status = 'succeeded' AND json_valid(result)
         AND json_extract(result, '$.unguarded') = 1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([run_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Connection {
        let mut c = Connection::open_in_memory().expect("open");
        super::super::migrate::migrate(&mut c).expect("migrate");
        c
    }

    fn tenant(c: &Connection, id: &str) {
        let t = super::super::tenants::Tenant {
            id: id.into(),
            name: id.into(),
            entra_tenant_id: "e".into(),
            client_id: "c".into(),
            cloud: "global".into(),
            graph_base_url: "http://g".into(),
            login_base_url: "http://l".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            secret_updated_at: "2026-01-01T00:00:00Z".into(),
        };
        super::super::tenants::insert(c, &t, b"sealed").expect("tenant");
    }

    /// Queues a run of `tenant` created at second `at`.
    fn queue(c: &Connection, tenant: &str, target: &str, at: u32) -> String {
        let (id, now) = (format!("{tenant}-{target}"), format!("2026-01-01T00:00:{at:02}Z"));
        let run = NewRun {
            id: &id,
            tenant_id: tenant,
            kind: "policy.snapshot",
            target_type: "policy",
            target_id: target,
            dry_run: false,
            initiated_by: None,
            initiator_label: "scheduler",
            required_role: "operator",
            parent_run_id: None,
            params: "{}",
            now: &now,
        };
        insert_or_reuse(c, &run).expect("queue").0.id
    }

    fn claim(c: &Connection, cap: u32) -> Option<String> {
        claim_next(c, "w", "2026-01-01T01:00:00Z", "2026-01-01T00:01:00Z", cap)
            .expect("claim")
            .map(|r| r.id)
    }

    #[test]
    fn claims_go_to_the_tenant_with_fewest_running_then_the_oldest_and_stop_at_the_cap() {
        let c = database();
        for t in ["a", "b", "c"] {
            tenant(&c, t);
        }
        // Tenant a queued three runs first; b and c one each, later.
        let a1 = queue(&c, "a", "1", 1);
        let a2 = queue(&c, "a", "2", 2);
        let a3 = queue(&c, "a", "3", 3);
        let b1 = queue(&c, "b", "1", 4);
        let c1 = queue(&c, "c", "1", 5);
        // The oldest first; then b and c, which have none running, before a's second.
        assert_eq!(claim(&c, 2).as_deref(), Some(a1.as_str()));
        assert_eq!(claim(&c, 2).as_deref(), Some(b1.as_str()));
        assert_eq!(claim(&c, 2).as_deref(), Some(c1.as_str()));
        assert_eq!(claim(&c, 2).as_deref(), Some(a2.as_str()));
        // a has two running: at the cap, its third waits although it is the only one queued.
        assert_eq!(claim(&c, 2), None);
        let status = |id: &str| get(&c, id).expect("get").map(|r| r.status);
        assert_eq!(status(&a3).as_deref(), Some("queued"));
        // A finished run frees its place.
        assert!(finish_run(&c, &a1, 1, "succeeded", None, None, "2026-01-01T00:02:00Z").expect("finish"));
        assert_eq!(claim(&c, 2).as_deref(), Some(a3.as_str()));
        assert_eq!(status(&a3).as_deref(), Some("running"));
        assert_eq!(claim(&c, 2), None);
    }
}
