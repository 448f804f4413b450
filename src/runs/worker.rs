//! The worker pool: claims queued runs and processes their items one at a time, each item's
//! outcome committed (and published) on its own, so a crash loses at most the item in flight.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Engine;
use super::error_code::{ErrorCode, safe_context};
use super::handler::{ItemOutcome, RunContext, RunHandler};
use super::lease;
use super::notify;
use super::progress::Progress;
use crate::auth::role::Role;
use crate::clock;
use crate::db::runs::{self, ItemOutcomeRow, Run};
use crate::db::{DbResult, memberships, users};

#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub workers: usize,
    /// Runs of one tenant at once: Intune's limits are per tenant, so more would only queue
    /// inside the Graph limiter while other tenants wait.
    pub per_tenant_cap: u32,
    pub lease: Duration,
    pub heartbeat: Duration,
    /// How often idle workers look for work they were not woken for (takeovers, missed wakes).
    pub poll: Duration,
    /// Takeovers before a run is failed with `worker_lost`.
    pub max_attempts: i64,
    /// Caps every kind's own deadline (`PV_RUN_DEADLINE_SECS`).
    pub max_deadline: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: 128,
            per_tenant_cap: 2,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            max_attempts: 3,
            max_deadline: None,
        }
    }
}

/// Starts the workers and the lease reaper; they stop claiming when `shutdown` fires and
/// leave unfinished runs to recovery.
pub fn spawn(engine: Engine, cfg: PoolConfig, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    let cfg = Arc::new(cfg);
    let mut handles: Vec<_> = (0..cfg.workers.max(1))
        .map(|_| tokio::spawn(worker_loop(engine.clone(), cfg.clone(), shutdown.clone())))
        .collect();
    handles.push(tokio::spawn(lease::reaper_loop(engine, cfg, shutdown)));
    handles
}

/// Counts a worker as alive for as long as it exists, however its task ends.
struct Alive(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn worker_loop(engine: Engine, cfg: Arc<PoolConfig>, shutdown: CancellationToken) {
    engine.live_workers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _alive = Alive(engine.live_workers.clone());
    loop {
        // Register for the wake-up before looking, so a start in between is not missed.
        let woken = engine.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if shutdown.is_cancelled() {
            return;
        }
        match claim(&engine, &cfg).await {
            Ok(Some(run)) => execute(&engine, &cfg, run, &shutdown).await,
            Ok(None) => {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = &mut woken => {},
                    () = tokio::time::sleep(cfg.poll) => {},
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not claim a run");
                tokio::time::sleep(cfg.poll).await;
            }
        }
    }
}

fn lease_until(cfg: &PoolConfig) -> String {
    clock::format_time(Utc::now() + cfg.lease)
}

async fn claim(engine: &Engine, cfg: &PoolConfig) -> DbResult<Option<Run>> {
    let (owner, until, cap, max_deadline) = (
        engine.worker_id.clone(),
        lease_until(cfg),
        cfg.per_tenant_cap,
        cfg.max_deadline,
    );
    let deadlines = engine.clone();
    let run = engine
        .db
        .write(move |tx| {
            let Some(run) = runs::claim_next(tx, &owner, &until, &clock::now(), cap)? else {
                return Ok(None);
            };
            let deadline = deadlines
                .handler(&run.kind)
                .map_or(Duration::from_secs(3600), |h| h.deadline());
            let deadline = max_deadline.map_or(deadline, |cap| deadline.min(cap));
            runs::set_deadline(tx, &run.id, &clock::format_time(Utc::now() + deadline))?;
            notify::record(tx, &run, "running")?;
            runs::get(tx, &run.id)
        })
        .await?;
    if let Some(r) = &run {
        publish(engine, r);
    }
    Ok(run)
}

pub(super) fn publish(engine: &Engine, run: &Run) {
    engine.hub.publish(Progress::of(run));
}

/// Runs a claimed (or taken-over) run to its end, or until its lease is lost or the server
/// stops; in those cases the run stays `running` for recovery to finish.
pub(super) async fn execute(engine: &Engine, cfg: &PoolConfig, run: Run, shutdown: &CancellationToken) {
    let lost = CancellationToken::new();
    let heartbeat = tokio::spawn(lease::heartbeat(
        engine.clone(),
        cfg.clone(),
        run.id.clone(),
        run.attempt,
        lost.clone(),
    ));
    let result = drive(engine, &run, shutdown, &lost).await;
    heartbeat.abort();
    if let Err(e) = result {
        tracing::error!(run_id = %run.id, error = %e, "run stopped on a database error; recovery will resume it");
    }
}

async fn drive(engine: &Engine, run: &Run, shutdown: &CancellationToken, lost: &CancellationToken) -> DbResult<()> {
    if !initiator_still_allowed(engine, run).await? {
        return fail_run(engine, run, ErrorCode::PermissionRevoked, json!({})).await;
    }
    let Some(handler) = engine.handler(&run.kind) else {
        tracing::error!(kind = %run.kind, "no handler registered for this run kind");
        return fail_run(engine, run, ErrorCode::Internal, json!({})).await;
    };
    let deadline = run.deadline_at.as_deref().and_then(clock::parse_time);
    let remaining = || {
        deadline.map_or(Duration::from_secs(3600), |d| {
            (d - Utc::now()).to_std().unwrap_or_default()
        })
    };

    let mut ctx = match tokio::time::timeout(remaining(), prepare(handler.as_ref(), run)).await {
        Ok(Ok(ctx)) => ctx,
        Ok(Err((code, context))) => return fail_run(engine, run, code, context).await,
        Err(_) => return fail_run(engine, run, ErrorCode::Timeout, json!({})).await,
    };
    // Items are read again once the known ones are done: an item may add more while it runs
    // (a whole-tenant backup adds one per object its listing finds).
    loop {
        let items = {
            let id = run.id.clone();
            engine.db.read(move |c| runs::unfinished_items(c, &id)).await?
        };
        if items.is_empty() {
            break;
        }
        let mut rest = items.as_slice();
        while let Some(item) = rest.first() {
            if shutdown.is_cancelled() || lost.is_cancelled() {
                return Ok(());
            }
            if remaining().is_zero() {
                return fail_run(engine, run, ErrorCode::Timeout, json!({})).await;
            }
            let partner = rest
                .get(1)
                .filter(|next| item.status == "pending" && next.status == "pending" && ctx.pairs(item, next));
            if let Some(next) = partner {
                if !process_pair(engine, run, ctx.as_mut(), item, next, remaining()).await? {
                    return Ok(()); // taken over
                }
                rest = &rest[2..];
                continue;
            }
            let recovered = if item.status == "running" {
                ctx.recover(item).await
            } else {
                None
            };
            let item_started = std::time::Instant::now();
            let outcome = if let Some(o) = recovered {
                o
            } else {
                if ctx.marks_running(item) && !mark_running(engine, run, &item.id).await? {
                    return Ok(()); // taken over
                }
                tokio::time::timeout(remaining(), ctx.process(item))
                    .await
                    .unwrap_or_else(|_| timed_out())
            };
            let processed = item_started.elapsed();
            if !write_outcome(engine, run, &item.id, &outcome).await? {
                return Ok(());
            }
            tracing::debug!(
                run_id = %run.id,
                item = %item.label,
                status = outcome.status(),
                process_ms = u64::try_from(processed.as_millis()).unwrap_or(u64::MAX),
                total_ms = u64::try_from(item_started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "item done"
            );
            rest = &rest[1..];
        }
    }
    if tokio::time::timeout(remaining(), ctx.after_items()).await.is_err() {
        tracing::warn!(run_id = %run.id, "the run's last step ran out of time; the run's items stand");
    }
    finish(engine, run).await
}

fn timed_out() -> ItemOutcome {
    ItemOutcome::Failed {
        result: None,
        code: ErrorCode::Timeout,
        context: json!({}),
    }
}

/// Two items the context processes together: both are marked running first (a crash then
/// leaves both to `recover`), both outcomes are written after. False when taken over.
async fn process_pair(
    engine: &Engine,
    run: &Run,
    ctx: &mut dyn RunContext,
    a: &runs::RunItem,
    b: &runs::RunItem,
    remaining: Duration,
) -> DbResult<bool> {
    if !mark_running(engine, run, &a.id).await? || !mark_running(engine, run, &b.id).await? {
        return Ok(false);
    }
    let (oa, ob) = tokio::time::timeout(remaining, ctx.process_pair(a, b))
        .await
        .unwrap_or_else(|_| (timed_out(), timed_out()));
    Ok(write_outcome(engine, run, &a.id, &oa).await? && write_outcome(engine, run, &b.id, &ob).await?)
}

async fn prepare(handler: &dyn RunHandler, run: &Run) -> Result<Box<dyn RunContext>, (ErrorCode, Value)> {
    handler.prepare(run).await.map_err(|f| (f.code, f.context))
}

async fn initiator_still_allowed(engine: &Engine, run: &Run) -> DbResult<bool> {
    let Some(user_id) = run.initiated_by.clone() else {
        return Ok(true);
    };
    let (tenant, needed) = (
        run.tenant_id.clone(),
        Role::parse(&run.required_role).unwrap_or(Role::Owner),
    );
    engine
        .db
        .read(move |c| {
            let Some(user) = users::get(c, &user_id)? else {
                return Ok(false);
            };
            if user.disabled {
                return Ok(false);
            }
            let role = memberships::role_of(c, &user_id, &tenant)?
                .as_deref()
                .and_then(Role::parse);
            Ok(user.superadmin || role.is_some_and(|r| r >= needed))
        })
        .await
}

async fn mark_running(engine: &Engine, run: &Run, item_id: &str) -> DbResult<bool> {
    let (rid, attempt, iid) = (run.id.clone(), run.attempt, item_id.to_owned());
    engine
        .db
        .write(move |tx| runs::item_running(tx, &rid, attempt, &iid, &clock::now()))
        .await
}

async fn write_outcome(engine: &Engine, run: &Run, item_id: &str, outcome: &ItemOutcome) -> DbResult<bool> {
    let (rid, attempt, iid) = (run.id.clone(), run.attempt, item_id.to_owned());
    let outcome = outcome.clone();
    let written = engine
        .db
        .write(move |tx| {
            let (code, context, result) = match &outcome {
                ItemOutcome::Succeeded { result } | ItemOutcome::Skipped { result } => (None, None, result.clone()),
                ItemOutcome::Failed { code, context, result } => {
                    (Some(code.as_str()), Some(safe_context(context)), result.clone())
                }
            };
            let row = ItemOutcomeRow {
                status: outcome.status(),
                error_code: code,
                error_context: context.as_ref(),
                result: result.as_ref(),
            };
            runs::finish_item(tx, &rid, attempt, &iid, &row, &clock::now())
        })
        .await?;
    if written {
        publish(engine, run);
    }
    Ok(written)
}

/// Terminal status from the item counts: any failure makes it partial, all failed makes it
/// failed.
fn terminal_status(run: &Run) -> &'static str {
    if run.failed == 0 {
        "succeeded"
    } else if run.failed >= run.total - run.skipped && run.succeeded == 0 {
        "failed"
    } else {
        "partial"
    }
}

/// The end of a run, in the audit log, for kinds that ask for it (live restores).
fn audit_end(tx: &rusqlite::Connection, action: Option<&'static str>, run: &Run) -> DbResult<()> {
    let Some(action) = action else { return Ok(()) };
    crate::audit::record(
        tx,
        &crate::audit::Event {
            tenant_id: Some(&run.tenant_id),
            actor: &run.initiator_label,
            action,
            run_id: Some(&run.id),
            details: json!({"status": run.status, "succeeded": run.succeeded, "failed": run.failed, "skipped": run.skipped, "error_code": run.error_code}),
        },
    )
}

async fn finish(engine: &Engine, run: &Run) -> DbResult<()> {
    let audit = engine.handler(&run.kind).and_then(|h| h.audit_on_finish());
    let (rid, attempt) = (run.id.clone(), run.attempt);
    let done = engine
        .db
        .write(move |tx| {
            runs::recount(tx, &rid)?;
            let Some(current) = runs::get(tx, &rid)? else {
                return Ok(None);
            };
            let status = terminal_status(&current);
            if !runs::finish_run(tx, &rid, attempt, status, None, None, &clock::now())? {
                return Ok(None);
            }
            crate::db::backups::drop_unwritten_before_set(tx, &rid)?;
            let finished = runs::get(tx, &rid)?;
            if let Some(f) = &finished {
                notify::record(tx, f, status)?;
                audit_end(tx, audit, f)?;
            }
            Ok(finished)
        })
        .await?;
    if let Some(r) = done {
        publish(engine, &r);
    }
    Ok(())
}

/// Ends a run that cannot proceed: every unfinished item and the run fail with `code`.
pub(super) async fn fail_run(engine: &Engine, run: &Run, code: ErrorCode, context: Value) -> DbResult<()> {
    let audit = engine.handler(&run.kind).and_then(|h| h.audit_on_finish());
    let (rid, attempt) = (run.id.clone(), run.attempt);
    let context = safe_context(&context);
    let done = engine
        .db
        .write(move |tx| {
            let now = clock::now();
            if runs::get(tx, &rid)?.is_none_or(|r| r.attempt != attempt || r.status != "running") {
                return Ok(None);
            }
            runs::fail_unfinished_items(tx, &rid, code.as_str(), &now)?;
            runs::finish_run(tx, &rid, attempt, "failed", Some(code.as_str()), Some(&context), &now)?;
            crate::db::backups::drop_unwritten_before_set(tx, &rid)?;
            let finished = runs::get(tx, &rid)?;
            if let Some(f) = &finished {
                notify::record(tx, f, "failed")?;
                audit_end(tx, audit, f)?;
            }
            Ok(finished)
        })
        .await?;
    if let Some(r) = done {
        publish(engine, &r);
    }
    Ok(())
}
