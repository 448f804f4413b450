//! One trigger of a schedule: back up the whole tenant (the backup run lists the tenant first,
//! so policies created since the last sync are included), then apply the schedule's
//! retention. When the tenant has an earlier complete backup, a drift check against it follows
//! the backup (the dashboard's drift column). Runs in the background; the backup is an ordinary run, visible on the runs page
//! with "scheduler" as initiator.

use std::time::Duration;

use crate::clock;
use crate::db::{backups, schedules};
use crate::ops::starts;
use crate::runs::Engine;
use crate::runs::wait::finished;

/// How long a trigger waits for its capture before leaving it to the workers.
const WAIT_AT_MOST: Duration = Duration::from_secs(6 * 3600);

pub async fn fire(engine: &Engine, schedule_id: &str) {
    let id = schedule_id.to_owned();
    let at = clock::now();
    let schedule = match engine
        .db
        .write(move |tx| {
            let s = schedules::get(tx, &id)?.filter(|s| s.enabled);
            if s.is_some() {
                schedules::mark_fired(tx, &id, &at)?;
            }
            Ok(s)
        })
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(schedule = %schedule_id, error = %e, "a scheduled backup could not start");
            return;
        }
    };
    // The baseline of the check that follows: the newest complete whole-tenant backup
    // before this one (the new one is not complete until its capture ends).
    let tid = schedule.tenant_id.clone();
    let baseline = engine
        .db
        .read(move |c| Ok(backups::default_baseline(&backups::list(c, &tid)?).cloned()))
        .await
        .ok()
        .flatten();
    let capture = match starts::backup_scheduled(engine, &schedule).await {
        Ok((_, started)) => started.run,
        Err(e) => {
            tracing::error!(schedule = %schedule.id, error = %e, "a scheduled backup could not start");
            return;
        }
    };
    if finished(engine, &capture.id, WAIT_AT_MOST).await.is_some() {
        check_drift(engine, baseline.as_ref()).await;
        prune(engine, &schedule.id, schedule.keep_last).await;
    }
}

/// After a scheduled backup: the tenant against the previous complete backup, so the
/// dashboard's drift column says what changed since then. Waits for it before retention
/// runs, which could otherwise remove the baseline mid-check.
async fn check_drift(engine: &Engine, baseline: Option<&backups::BackupSet>) {
    let Some(set) = baseline else { return };
    match crate::ops::drift_start::drift_check_scheduled(engine, set).await {
        Ok(started) => {
            let _ = finished(engine, &started.run.id, WAIT_AT_MOST).await;
        }
        Err(e) => {
            tracing::warn!(tenant = %set.tenant_id, error = %e, "the drift check after a scheduled backup could not start");
        }
    }
}

/// Applies the retention of a schedule now.
pub async fn prune(engine: &Engine, schedule_id: &str, keep_last: u32) {
    let id = schedule_id.to_owned();
    let pruned = engine.db.write(move |tx| schedules::prune(tx, &id, keep_last)).await;
    match pruned {
        Ok(0) => {}
        Ok(n) => tracing::info!(schedule = %schedule_id, deleted = n, "retention removed old scheduled backup sets"),
        Err(e) => warn_retention(schedule_id, &e),
    }
}

fn warn_retention(schedule_id: &str, e: &crate::db::DbError) {
    tracing::warn!(schedule = %schedule_id, error = %e, "retention could not run; it runs again after the next backup");
}
