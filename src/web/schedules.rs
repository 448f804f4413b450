//! `/t/{tenant}/schedules`: everyone in the tenant sees them; owners add, pause, resume and
//! delete. The cron field is checked live (`/schedules/check`) as the owner types.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};
use serde::Deserialize;

use super::extract::Form;
use super::flash::{self, Kind};
use super::page::{Page, respond_invalid};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::schedules;
use crate::error::AppError;
use crate::schedules::cron::CronExpr;
use crate::schedules::manage::{self, ScheduleInput};
use crate::views::schedules::{self as view, ScheduleRow, SchedulesView};

async fn render(
    state: &AppState,
    access: &TenantAccess,
    page: Page,
    form: &ScheduleInput,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let tid = access.tenant.id.clone();
    let rows: Vec<ScheduleRow> = state
        .db
        .read(move |c| {
            schedules::list(c, &tid)?
                .into_iter()
                .map(|s| {
                    let sets_kept = schedules::count_sets(c, &s.id)?;
                    Ok(ScheduleRow { schedule: s, sets_kept })
                })
                .collect::<crate::db::DbResult<Vec<_>>>()
        })
        .await?;
    let v = SchedulesView {
        rows: &rows,
        is_owner: access.role >= Role::Owner,
        form,
        error,
    };
    Ok(respond_invalid(
        &page.nav,
        view::schedules(&page.nav, &access.tenant, &v),
        status,
    ))
}

pub async fn view_schedules_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    render(&state, &access, page, &ScheduleInput::default(), None, StatusCode::OK).await
}

/// The form as posted: checkboxes repeat `policy_types`, so it is read as pairs.
fn input_of(pairs: Vec<(String, String)>) -> ScheduleInput {
    let mut input = ScheduleInput::default();
    for (k, v) in pairs {
        match k.as_str() {
            "cron" => input.cron = v,
            "keep_last" => input.keep_last = v,
            "policy_types" => input.policy_types.push(v),
            _ => {}
        }
    }
    input
}

pub async fn view_schedules_post(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let input = input_of(pairs);
    match manage::create(&state.scheduler, &access, &input).await {
        Ok(s) => Ok(flash::redirect(
            &format!("/t/{}/schedules", access.tenant.id),
            Kind::Ok,
            format!("Schedule added: {}.", crate::schedules::cron::display(&s.cron)),
        )),
        Err(AppError::Invalid(m)) => {
            render(
                &state,
                &access,
                page,
                &input,
                Some(&m),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct CronQuery {
    #[serde(default)]
    cron: String,
}

/// The live check under the cron field (htmx fragment).
pub async fn view_schedule_check_get(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<CronQuery>,
) -> Result<Html<String>, AppError> {
    access.require(Role::Owner)?;
    let result = CronExpr::parse(&q.cron, state.settings.schedule_min_interval_secs);
    Ok(Html(view::cron_check(&result).into_string()))
}

async fn set_enabled(state: &AppState, access: &TenantAccess, id: &str, enabled: bool) -> Result<Response, AppError> {
    manage::set_enabled(&state.scheduler, access, id, enabled).await?;
    let msg = if enabled {
        "Schedule resumed."
    } else {
        "Schedule paused: it will not run until resumed."
    };
    Ok(flash::redirect(
        &format!("/t/{}/schedules", access.tenant.id),
        Kind::Ok,
        msg,
    ))
}

pub async fn view_schedule_pause_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    set_enabled(&state, &access, &id, false).await
}

pub async fn view_schedule_resume_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    set_enabled(&state, &access, &id, true).await
}

pub async fn view_schedule_delete_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    manage::delete(&state.scheduler, &access, &id).await?;
    Ok(flash::redirect(
        &format!("/t/{}/schedules", access.tenant.id),
        Kind::Ok,
        "Schedule deleted. The backups it made are kept.",
    ))
}
