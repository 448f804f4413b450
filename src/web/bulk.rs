//! Bulk actions on tenants ticked in the dashboard table: back up now, apply a schedule.
//! Each tenant gets exactly the run or schedule its own page would make (same services, same
//! role checks); tenants the caller may not act on are skipped and named, never touched.

use axum::extract::State;
use axum::response::Response;

use super::extract::Form;
use super::flash::{self, Kind};
use super::page::Page;
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::{memberships, schedules, tenants};
use crate::error::AppError;
use crate::schedules::manage::{self, ScheduleInput};

/// Tenants one bulk action may name at most.
const MAX_TENANTS: usize = 1000;

/// What happened to each tenant, for the one-line summary.
#[derive(Default)]
struct Outcome {
    done: Vec<String>,
    already: Vec<String>,
    skipped: Vec<String>,
}

impl Outcome {
    fn summary(&self, done_words: &str, already_words: &str) -> String {
        let mut parts = vec![format!("{} {done_words}", self.done.len())];
        if !self.already.is_empty() {
            parts.push(format!(
                "{} {already_words} ({})",
                self.already.len(),
                self.already.join(", ")
            ));
        }
        if !self.skipped.is_empty() {
            parts.push(format!("{} skipped: {}", self.skipped.len(), self.skipped.join("; ")));
        }
        parts.join("; ") + "."
    }
}

/// The caller's access to a tenant, as the tenant guard would grant it; `None` when the
/// caller may not see it (or it does not exist: nobody learns which).
async fn access_to(state: &AppState, page: &Page, tenant_id: &str) -> Result<Option<TenantAccess>, AppError> {
    let (tid, uid) = (tenant_id.to_owned(), page.caller.user.id.clone());
    let (tenant, role) = state
        .db
        .read(move |c| Ok((tenants::get(c, &tid)?, memberships::role_of(c, &uid, &tid)?)))
        .await?;
    let role = Role::effective(page.caller.user.superadmin, role.as_deref());
    Ok(tenant.zip(role).map(|(tenant, role)| TenantAccess {
        tenant,
        role,
        caller: page.caller.clone(),
    }))
}

pub async fn view_bulk_post(
    State(state): State<AppState>,
    page: Page,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or(String::new(), |(_, v)| v.trim().to_owned())
    };
    let mut ids: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "tenant")
        .map(|(_, v)| v.clone())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(flash::redirect("/", Kind::Error, "Tick at least one tenant first."));
    }
    if ids.len() > MAX_TENANTS {
        return Err(AppError::Invalid(format!("at most {MAX_TENANTS} tenants at once")));
    }
    let action = field("action");
    let needed = match action.as_str() {
        "backup" => Role::Operator,
        "schedule" => Role::Owner,
        _ => {
            return Err(AppError::Invalid(
                "choose what to do: back up now, or apply a schedule".into(),
            ));
        }
    };
    // A schedule is checked once, before any tenant is touched.
    let input = ScheduleInput {
        cron: field("cron"),
        keep_last: field("keep_last"),
        policy_types: Vec::new(),
    };
    let normalized = if action == "schedule" {
        match manage::validate(&input, state.scheduler.min_interval_secs) {
            Ok((expr, keep_last, _)) => Some((expr.normalized, keep_last)),
            Err(AppError::Invalid(m)) => return Ok(flash::redirect("/", Kind::Error, format!("Nothing applied: {m}"))),
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let name = Some(field("name"))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Manual backup".into());
    let mut out = Outcome::default();
    for id in &ids {
        let Some(access) = access_to(&state, &page, id).await? else {
            out.skipped.push("a tenant that is not one of yours".into());
            continue;
        };
        if access.role < needed {
            out.skipped.push(format!(
                "{} (you are {}; this needs {})",
                access.tenant.name,
                access.role.as_str(),
                needed.as_str()
            ));
            continue;
        }
        match &normalized {
            None => {
                let (_, started) = crate::ops::starts::backup(&state.engine, &access, &name, None).await?;
                if started.reused {
                    out.already.push(access.tenant.name.clone());
                } else {
                    out.done.push(access.tenant.name.clone());
                }
            }
            Some((cron, keep_last)) => {
                let tid = access.tenant.id.clone();
                let existing = state.db.read(move |c| schedules::list(c, &tid)).await?;
                if existing
                    .iter()
                    .any(|s| &s.cron == cron && s.keep_last == *keep_last && s.policy_types.is_empty())
                {
                    out.already.push(access.tenant.name.clone());
                } else {
                    manage::create(&state.scheduler, &access, &input).await?;
                    out.done.push(access.tenant.name.clone());
                }
            }
        }
    }
    let message = if normalized.is_some() {
        out.summary("tenant(s) got the schedule", "already had it")
    } else {
        out.summary("backup(s) started", "already backing up")
    };
    let kind = if out.done.is_empty() && out.already.is_empty() {
        Kind::Error
    } else {
        Kind::Ok
    };
    Ok(flash::redirect("/", kind, message))
}
