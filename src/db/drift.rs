//! `drift_acceptances`, and what drift checks (`drift.check` runs) found.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::DbResult;

/// The run kind of a drift check, and the item types of its three kinds of step.
pub const CHECK_KIND: &str = "drift.check";
/// One per supported type: lists it, and adds a `drift_added` item per object the baseline lacks.
pub const LIST_ITEM: &str = "drift_list";
/// One per baseline item (or accepted state): the live object compared with it.
pub const COMPARE_ITEM: &str = "drift_compare";
/// A live object the baseline does not hold.
pub const ADDED_ITEM: &str = "drift_added";

/// A drift row accepted: against `baseline_set_id`, the policy is compared with the backup
/// taken when it was accepted.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub policy_id: String,
    pub accepted_set_id: String,
    pub accepted_set_name: String,
    pub accepted_by: Option<String>,
    pub accepted_at: String,
}

pub struct NewAcceptance<'a> {
    pub tenant_id: &'a str,
    pub baseline_set_id: &'a str,
    pub policy_id: &'a str,
    pub accepted_set_id: &'a str,
    pub accepted_by: &'a str,
    pub now: &'a str,
}

/// Records (or replaces) the acceptance of a policy's drift against a baseline.
pub fn accept(tx: &Connection, a: &NewAcceptance<'_>) -> DbResult<()> {
    tx.prepare_cached(
        "INSERT INTO drift_acceptances (id, tenant_id, baseline_set_id, policy_id, accepted_set_id, accepted_by, accepted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (baseline_set_id, policy_id) DO UPDATE SET
            accepted_set_id = excluded.accepted_set_id, accepted_by = excluded.accepted_by,
            accepted_at = excluded.accepted_at",
    )?
    .execute(params![
        crate::clock::new_id(),
        a.tenant_id,
        a.baseline_set_id,
        a.policy_id,
        a.accepted_set_id,
        a.accepted_by,
        a.now
    ])?;
    Ok(())
}

/// The acceptances recorded against a baseline, by policy id.
pub fn acceptances(c: &Connection, baseline_set_id: &str) -> DbResult<HashMap<String, Acceptance>> {
    let mut stmt = c.prepare_cached(
        "SELECT a.policy_id, a.accepted_set_id, s.name, a.accepted_by, a.accepted_at
         FROM drift_acceptances a JOIN backup_sets s ON s.id = a.accepted_set_id
         WHERE a.baseline_set_id = ?1",
    )?;
    let rows = stmt.query_map([baseline_set_id], |r| {
        Ok(Acceptance {
            policy_id: r.get(0)?,
            accepted_set_id: r.get(1)?,
            accepted_set_name: r.get(2)?,
            accepted_by: r.get(3)?,
            accepted_at: r.get(4)?,
        })
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let a = row?;
        out.insert(a.policy_id.clone(), a);
    }
    Ok(out)
}

/// The policies a drift check compares (its compare items' backup items), by policy id.
pub fn compared_policies(c: &Connection, run_id: &str) -> DbResult<std::collections::HashSet<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT b.policy_id FROM run_items ri JOIN backup_items b ON b.id = ri.item_id
         WHERE ri.run_id = ?1 AND ri.item_type = ?2",
    )?;
    let rows = stmt.query_map(params![run_id, COMPARE_ITEM], |r| r.get::<_, String>(0))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// The policies a drift check already holds an `added` item for (a listing repeated after a
/// crash adds none twice).
pub fn added_policies(c: &Connection, run_id: &str) -> DbResult<std::collections::HashSet<String>> {
    let mut stmt = c.prepare_cached("SELECT item_id FROM run_items WHERE run_id = ?1 AND item_type = ?2")?;
    let rows = stmt.query_map(params![run_id, ADDED_ITEM], |r| r.get::<_, String>(0))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// What a drift check found: how many policies changed, were removed or added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    pub changed: i64,
    pub removed: i64,
    pub added: i64,
}

impl Found {
    pub fn total(&self) -> i64 {
        self.changed + self.removed + self.added
    }
}

/// The counts of a drift check's findings, from its items' results.
pub fn found(c: &Connection, run_id: &str) -> DbResult<Found> {
    Ok(c.prepare_cached(
        "SELECT coalesce(sum(json_extract(result, '$.change') = 'changed'), 0),
                coalesce(sum(json_extract(result, '$.change') = 'removed'), 0),
                coalesce(sum(json_extract(result, '$.change') = 'added'), 0)
         FROM run_items WHERE run_id = ?1 AND status = 'succeeded' AND result IS NOT NULL",
    )?
    .query_row([run_id], |r| {
        Ok(Found {
            changed: r.get(0)?,
            removed: r.get(1)?,
            added: r.get(2)?,
        })
    })?)
}

/// A tenant's latest finished drift check, for the dashboard.
#[derive(Debug, Clone)]
pub struct LatestCheck {
    pub run_id: String,
    pub status: String,
    pub finished_at: Option<String>,
    pub found: Found,
}

/// Each tenant's latest finished drift check, by tenant id.
pub fn latest_per_tenant(c: &Connection) -> DbResult<HashMap<String, LatestCheck>> {
    let mut stmt = c.prepare_cached(
        "SELECT r.tenant_id, r.id, r.status, r.finished_at FROM runs r
         WHERE r.kind = ?1 AND r.status IN ('succeeded', 'partial', 'failed')
           AND r.id = (SELECT x.id FROM runs x WHERE x.tenant_id = r.tenant_id AND x.kind = ?1
                       AND x.status IN ('succeeded', 'partial', 'failed')
                       ORDER BY x.created_at DESC, x.id DESC LIMIT 1)",
    )?;
    let rows: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([CHECK_KIND], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = HashMap::with_capacity(rows.len());
    for (tenant, run_id, status, finished_at) in rows {
        let found = found(c, &run_id)?;
        out.insert(
            tenant,
            LatestCheck {
                run_id,
                status,
                finished_at,
                found,
            },
        );
    }
    Ok(out)
}

/// A tenant's latest finished drift check.
pub fn latest_per_tenant_of(c: &Connection, tenant_id: &str) -> DbResult<Option<LatestCheck>> {
    let row: Option<(String, String, Option<String>)> = c
        .prepare_cached(
            "SELECT id, status, finished_at FROM runs WHERE tenant_id = ?1 AND kind = ?2
               AND status IN ('succeeded', 'partial', 'failed') ORDER BY created_at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![tenant_id, CHECK_KIND], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((run_id, status, finished_at)) = row else {
        return Ok(None);
    };
    let found = found(c, &run_id)?;
    Ok(Some(LatestCheck {
        run_id,
        status,
        finished_at,
        found,
    }))
}
