//! Creating, pausing and deleting schedules (owner): validate, write the row and its audit
//! event in one transaction, then bring the cron jobs in step.

use serde_json::json;

use super::Scheduler;
use super::cron::CronExpr;
use crate::audit::{self, Event};
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::clock;
use crate::db::schedules::{self, Schedule};
use crate::error::AppError;
use crate::graph::registry;

/// A schedule as an owner fills it in.
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    pub cron: String,
    pub keep_last: String,
    pub policy_types: Vec<String>,
}

/// Checks every field; the message says what to change.
pub fn validate(input: &ScheduleInput, min_interval_secs: u64) -> Result<(CronExpr, u32, Vec<String>), AppError> {
    let expr = CronExpr::parse(&input.cron, min_interval_secs).map_err(AppError::Invalid)?;
    let keep_last = input
        .keep_last
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| AppError::Invalid("keep the last 1 to 1000 scheduled backups".into()))?;
    let mut types = Vec::new();
    for t in &input.policy_types {
        if registry::by_key(t).is_none() {
            return Err(AppError::Invalid(format!("{t:?} is not a supported policy type")));
        }
        if !types.contains(t) {
            types.push(t.clone());
        }
    }
    // Every type chosen is the same as none: "all", which also covers types added later.
    if types.len() == registry::TYPES.len() {
        types.clear();
    }
    Ok((expr, keep_last, types))
}

pub async fn create(scheduler: &Scheduler, access: &TenantAccess, input: &ScheduleInput) -> Result<Schedule, AppError> {
    access.require(Role::Owner)?;
    let (expr, keep_last, policy_types) = validate(input, scheduler.min_interval_secs)?;
    let schedule = Schedule {
        id: clock::new_id(),
        tenant_id: access.tenant.id.clone(),
        cron: expr.normalized,
        policy_types,
        keep_last,
        enabled: true,
        created_at: clock::now(),
        last_fired_at: None,
    };
    let (s, actor) = (schedule.clone(), access.caller.user.email.clone());
    scheduler
        .engine
        .db
        .write(move |tx| {
            schedules::insert(tx, &s)?;
            audit::record(tx, &event(&s, &actor, "schedule.created"))
        })
        .await?;
    register(scheduler, &schedule).await?;
    Ok(schedule)
}

/// Pauses or resumes a schedule.
pub async fn set_enabled(
    scheduler: &Scheduler,
    access: &TenantAccess,
    schedule_id: &str,
    enabled: bool,
) -> Result<Schedule, AppError> {
    let action = if enabled { "schedule.resumed" } else { "schedule.paused" };
    let schedule = change(scheduler, access, schedule_id, action, move |tx, s| {
        schedules::set_enabled(tx, &s.id, enabled)?;
        s.enabled = enabled;
        Ok(())
    })
    .await?;
    register(scheduler, &schedule).await?;
    Ok(schedule)
}

/// Deletes a schedule; the backup sets it made stay (they become ordinary sets to delete by hand).
pub async fn delete(scheduler: &Scheduler, access: &TenantAccess, schedule_id: &str) -> Result<(), AppError> {
    change(scheduler, access, schedule_id, "schedule.deleted", |tx, s| {
        schedules::delete(tx, &s.id).map(drop)
    })
    .await?;
    scheduler.unregister(schedule_id).await;
    Ok(())
}

/// Owner only: applies `apply` to a schedule of this tenant and records `action` in the
/// audit log, in one transaction. A schedule of another tenant is forbidden (403), like every
/// other object of a tenant outside the path (`shared/API.md`).
async fn change(
    scheduler: &Scheduler,
    access: &TenantAccess,
    schedule_id: &str,
    action: &'static str,
    apply: impl FnOnce(&rusqlite::Transaction, &mut Schedule) -> crate::db::DbResult<()> + Send + 'static,
) -> Result<Schedule, AppError> {
    access.require(Role::Owner)?;
    let (id, tid, actor) = (
        schedule_id.to_owned(),
        access.tenant.id.clone(),
        access.caller.user.email.clone(),
    );
    scheduler
        .engine
        .db
        .write(move |tx| {
            let Some(mut s) = schedules::get(tx, &id)? else {
                return Ok(Err(not_found()));
            };
            if s.tenant_id != tid {
                return Ok(Err(AppError::forbidden()));
            }
            apply(tx, &mut s)?;
            audit::record(tx, &event(&s, &actor, action))?;
            Ok(Ok(s))
        })
        .await?
}

async fn register(scheduler: &Scheduler, s: &Schedule) -> Result<(), AppError> {
    scheduler.register(s).await.map_err(AppError::Internal)
}

fn event<'a>(s: &'a Schedule, actor: &'a str, action: &'a str) -> Event<'a> {
    Event {
        tenant_id: Some(&s.tenant_id),
        actor,
        action,
        run_id: None,
        details: json!({"schedule_id": s.id, "cron": s.cron, "keep_last": s.keep_last, "policy_types": s.policy_types}),
    }
}

fn not_found() -> AppError {
    AppError::not_found("schedule in this tenant")
}
