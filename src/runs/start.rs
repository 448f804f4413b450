//! Starting a run: one IMMEDIATE transaction, then wake the workers. Nothing else happens on
//! the request path, so a start answers in milliseconds whatever Graph is doing.

use serde_json::{Value, json};

use super::{Engine, notify};
use crate::audit::{self, Event};
use crate::auth::role::Role;
use crate::clock;
use crate::db::runs::{self, NewItem, NewRun, Run};
use crate::db::{memberships, users};
use crate::error::AppError;

/// Who starts a run.
#[derive(Debug, Clone)]
pub enum Initiator {
    User { id: String, email: String },
    Scheduler,
}

pub struct StartRequest {
    pub tenant_id: String,
    pub kind: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub dry_run: bool,
    pub required_role: Role,
    pub initiator: Initiator,
    pub parent_run_id: Option<String>,
    pub params: Value,
    pub items: Vec<NewItem>,
    /// Live restores record an audit event linked to the run at start.
    pub audit_action: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Started {
    pub run: Run,
    pub reused: bool,
}

pub async fn start(engine: &Engine, req: StartRequest) -> Result<Started, AppError> {
    let req = std::sync::Arc::new(req);
    // Most identical starts (double clicks, automations retrying) find their run already
    // active: answer those from a read, without queueing behind SQLite's single writer. A
    // miss goes through the write, which checks again under the lock.
    let probe = req.clone();
    if let Some(reused) = engine.db.read_now(move |c| reuse_active(c, &probe)).await? {
        return reused;
    }
    let started = engine.db.write(move |tx| start_in(tx, &req)).await??;
    announce(engine, &started);
    Ok(started)
}

/// The active identical run, if the caller may start this kind of run; `None` when a new run
/// is needed.
fn reuse_active(
    c: &rusqlite::Connection,
    req: &StartRequest,
) -> crate::db::DbResult<Option<Result<Started, AppError>>> {
    let run = runs::active_identical(c, &req.tenant_id, req.kind, req.target_type, &req.target_id)?;
    let Some(run) = run else { return Ok(None) };
    Ok(Some(authorize(c, req)?.map(|_| Started { run, reused: true })))
}

/// Who starts the run (user id, label), or why they may not. Checked inside the start's own
/// transaction: a membership removed a moment ago counts.
fn authorize<'r>(
    c: &rusqlite::Connection,
    req: &'r StartRequest,
) -> crate::db::DbResult<Result<(Option<&'r str>, &'r str), AppError>> {
    Ok(match &req.initiator {
        Initiator::User { id, email } => {
            let superadmin = users::get(c, id)?.is_some_and(|u| u.superadmin && !u.disabled);
            let role = memberships::role_of(c, id, &req.tenant_id)?
                .as_deref()
                .and_then(Role::parse);
            if !superadmin && role.is_none_or(|r| r < req.required_role) {
                Err(AppError::Forbidden(format!(
                    "starting {} needs the {} role",
                    req.kind,
                    req.required_role.as_str()
                )))
            } else {
                Ok((Some(id.as_str()), email.as_str()))
            }
        }
        Initiator::Scheduler => Ok((None, "scheduler")),
    })
}

/// After the start's transaction committed: a new run wakes one worker and tells live pages.
/// Starts made with `start_in` inside a caller's transaction call this after their commit.
pub fn announce(engine: &Engine, started: &Started) {
    if !started.reused {
        // One new run needs one worker; waking all of them would make every idle worker
        // race for it in a write transaction.
        engine.wake.notify_one();
        engine.hub.publish(crate::runs::progress::Progress::of(&started.run));
    }
}

/// The start, inside a caller's transaction (for starts that create other rows with it).
pub fn start_in(tx: &rusqlite::Transaction, req: &StartRequest) -> crate::db::DbResult<Result<Started, AppError>> {
    let (initiated_by, label) = match authorize(tx, req)? {
        Ok(who) => who,
        Err(e) => return Ok(Err(e)),
    };
    let id = clock::new_id();
    let params = req.params.to_string();
    let now = clock::now();
    let (run, reused) = runs::insert_or_reuse(
        tx,
        &NewRun {
            id: &id,
            tenant_id: &req.tenant_id,
            kind: req.kind,
            target_type: req.target_type,
            target_id: &req.target_id,
            dry_run: req.dry_run,
            initiated_by,
            initiator_label: label,
            required_role: req.required_role.as_str(),
            parent_run_id: req.parent_run_id.as_deref(),
            params: &params,
            now: &now,
        },
    )?;
    if reused {
        return Ok(Ok(Started { run, reused }));
    }
    runs::insert_items(tx, &run.id, &req.items)?;
    let run = runs::get(tx, &run.id)?.unwrap_or(run);
    notify::record(tx, &run, "queued")?;
    if let Some(action) = req.audit_action {
        audit::record(
            tx,
            &Event {
                tenant_id: Some(&run.tenant_id),
                actor: label,
                action,
                run_id: Some(&run.id),
                details: json!({"kind": run.kind, "target_type": run.target_type, "target_id": run.target_id, "items": run.total}),
            },
        )?;
    }
    Ok(Ok(Started { run, reused }))
}
