//! Leases: a running run's worker renews its lease by heartbeat. When a worker dies (crash,
//! `kill -9`) or hangs, the lease expires and the reaper takes the run over with a higher
//! attempt number, which fences out any late write of the old worker. After too many
//! takeovers the run fails with `worker_lost`, so every run ends.

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Engine;
use super::error_code::ErrorCode;
use super::worker::{PoolConfig, execute, fail_run};
use crate::clock;
use crate::db::runs;

/// Renews the lease until aborted; cancels `lost` when the run is no longer ours.
pub(super) async fn heartbeat(engine: Engine, cfg: PoolConfig, run_id: String, attempt: i64, lost: CancellationToken) {
    loop {
        tokio::time::sleep(cfg.heartbeat).await;
        let (id, until) = (run_id.clone(), clock::format_time(Utc::now() + cfg.lease));
        match engine
            .db
            .write(move |tx| runs::renew_lease(tx, &id, attempt, &until))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                lost.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(run_id = %run_id, error = %e, "could not renew a lease; will retry");
            }
        }
    }
}

/// At start-up every `running` run belongs to a process that is gone (one server per data
/// directory), so its lease is expired at once instead of waiting it out.
pub async fn expire_orphaned_leases(engine: &Engine) -> crate::db::DbResult<usize> {
    engine
        .db
        .write(|tx| {
            Ok(tx.execute(
                "UPDATE runs SET lease_expires_at = ?1 WHERE status = 'running'",
                [clock::now()],
            )?)
        })
        .await
}

pub(super) async fn reaper_loop(engine: Engine, cfg: Arc<PoolConfig>, shutdown: CancellationToken) {
    loop {
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let (owner, until) = (engine.worker_id.clone(), clock::format_time(Utc::now() + cfg.lease));
            let taken = engine
                .db
                .write(move |tx| runs::take_over_expired(tx, &owner, &until, &clock::now()))
                .await;
            match taken {
                Ok(Some(run)) => {
                    tracing::warn!(run_id = %run.id, attempt = run.attempt, "took over a run whose worker stopped");
                    if run.attempt > cfg.max_attempts {
                        if let Err(e) =
                            fail_run(&engine, &run, ErrorCode::WorkerLost, json!({"attempt": run.attempt})).await
                        {
                            tracing::error!(error = %e, "could not fail a lost run");
                        }
                    } else {
                        let (engine, cfg, shutdown) = (engine.clone(), cfg.clone(), shutdown.clone());
                        tokio::spawn(async move { execute(&engine, &cfg, run, &shutdown).await });
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "lease reaper could not read runs");
                    break;
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(cfg.poll) => {},
        }
    }
}
