//! `/`: the tenants the caller can open.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;

use super::page::{Page, respond};
use super::state::AppState;
use crate::clock;
use crate::db::health::Health;
use crate::db::schedules::Schedule;
use crate::db::{backups, memberships, runs, schedules, tenants};
use crate::error::AppError;
use crate::graph::cloud::Cloud;
use crate::schedules::cron::CronExpr;
use crate::views::dashboard::{TableQuery, TenantCard, dashboard, natural_cmp};

#[derive(Debug, serde::Deserialize)]
pub struct DashboardParams {
    q: Option<String>,
    sort: Option<String>,
    filter: Option<String>,
}

pub async fn view_dashboard_get(
    State(state): State<AppState>,
    page: Page,
    Query(p): Query<DashboardParams>,
) -> Result<Response, AppError> {
    let (user_id, all) = (page.caller.user.id.clone(), page.caller.user.superadmin);
    let (list, roles, mut backups, active, scheduled, mut health, mut drift) = state
        .db
        .read(move |c| {
            let list = tenants::visible_to(c, &user_id, all)?;
            let roles: HashMap<String, String> = memberships::list_for_user(c, &user_id)?
                .into_iter()
                .map(|m| (m.tenant_id, m.role))
                .collect();
            Ok((
                list,
                roles,
                backups::latest_per_tenant(c)?,
                runs::active_counts(c)?,
                schedules::list_enabled(c)?,
                crate::db::health::of(c, None)?,
                crate::db::drift::latest_per_tenant(c)?,
            ))
        })
        .await?;
    let next = next_per_tenant(&scheduled);
    let cards: Vec<TenantCard> = list
        .into_iter()
        .map(|t| TenantCard {
            // A superadmin is owner everywhere, whatever a membership row says (Role::effective).
            role: if all {
                "superadmin".into()
            } else {
                roles.get(&t.id).cloned().unwrap_or_default()
            },
            last_backup: backups.remove(&t.id),
            next_scheduled: next.get(&t.id).map(|at| clock::format_time(*at)),
            active_runs: active.get(&t.id).copied().unwrap_or(0),
            health: health.remove(&t.id),
            drift: drift.remove(&t.id),
            cloud_label: Cloud::parse(&t.cloud).map_or("unknown cloud", Cloud::label),
            id: t.id,
            name: t.name,
            entra_tenant_id: t.entra_tenant_id,
        })
        .collect();
    let q = TableQuery {
        q: p.q.unwrap_or_default(),
        sort: p.sort.unwrap_or_default(),
        filter: p.filter.unwrap_or_default(),
    };
    let total = cards.len();
    let shown = narrow(cards, &q);
    Ok(respond(&page.nav, dashboard(&page.nav, &shown, total, &q)))
}

/// Search, filter and sort in memory: a few hundred rows, already read in one go.
fn narrow(mut cards: Vec<TenantCard>, q: &TableQuery) -> Vec<TenantCard> {
    let needle = q.q.trim().to_lowercase();
    cards.retain(|t| {
        (needle.is_empty()
            || t.name.to_lowercase().contains(&needle)
            || t.entra_tenant_id.to_lowercase().contains(&needle))
            && match q.filter.as_str() {
                "backup_failed" => t.last_backup.as_ref().is_some_and(|b| {
                    matches!(b.status.as_deref(), Some("failed" | "partial")) || !b.missing_types.is_empty()
                }),
                "no_backup" => t.last_backup.is_none(),
                "drift_detected" => t
                    .drift
                    .as_ref()
                    .is_some_and(|d| d.status != "failed" && d.found.total() > 0),
                "no_schedule" => t.next_scheduled.is_none(),
                "active" => t.active_runs > 0,
                "credentials_failing" => t
                    .health
                    .as_ref()
                    .is_some_and(|h| h.health == Health::CredentialsFailing),
                "permissions_missing" => t
                    .health
                    .as_ref()
                    .is_some_and(|h| h.health == Health::PermissionsMissing),
                _ => true,
            }
    });
    match q.sort.as_str() {
        // Never backed up first, then the oldest.
        "backup" => cards.sort_by(|a, b| {
            let at = |t: &TenantCard| t.last_backup.as_ref().map(|b| b.created_at.clone());
            at(a).cmp(&at(b)).then_with(|| natural_cmp(&a.name, &b.name))
        }),
        "next" => cards.sort_by(|a, b| {
            let at = |t: &TenantCard| t.next_scheduled.clone().unwrap_or_else(|| "~".into());
            at(a).cmp(&at(b)).then_with(|| natural_cmp(&a.name, &b.name))
        }),
        _ => cards.sort_by(|a, b| natural_cmp(&a.name, &b.name)),
    }
    cards
}

/// Each tenant's earliest next scheduled backup.
fn next_per_tenant(list: &[Schedule]) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    let now = chrono::Utc::now();
    let mut next: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    for s in list {
        if let Some(at) = CronExpr::stored(&s.cron).and_then(|e| e.first_after(now)) {
            next.entry(s.tenant_id.clone())
                .and_modify(|t| *t = (*t).min(at))
                .or_insert(at);
        }
    }
    next
}
