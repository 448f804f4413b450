//! `/api/v1/tenants/{tid}/schedules`: an addition to the contract in `shared/API.md`, so an
//! MSP can give all its tenants the same backup schedule from a script. Viewers list;
//! owners create, pause, resume and delete (the same service the page uses).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::auth::tenant_guard::TenantAccess;
use crate::db::schedules::{self, Schedule};
use crate::error::AppError;
use crate::schedules::cron::CronExpr;
use crate::schedules::manage::{self, ScheduleInput};
use crate::web::extract;
use crate::web::state::AppState;

/// A schedule with its next three triggers (RFC 3339, UTC).
#[derive(Serialize)]
pub struct ScheduleOut {
    #[serde(flatten)]
    schedule: Schedule,
    next_runs: Vec<String>,
}

fn out(schedule: Schedule) -> ScheduleOut {
    let next_runs = match CronExpr::stored(&schedule.cron) {
        Some(e) if schedule.enabled => e
            .next_after(chrono::Utc::now(), 3)
            .into_iter()
            .map(crate::clock::format_time)
            .collect(),
        _ => Vec::new(),
    };
    ScheduleOut { schedule, next_runs }
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/schedules",
    operation_id = "schedules_list",
    tag = "schedules",
    summary = "List backup schedules (viewer)",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 200, description = "schedules with their next runs", body = Vec<crate::web::api::openapi::Schedule>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn list(State(state): State<AppState>, access: TenantAccess) -> Result<Json<Vec<ScheduleOut>>, AppError> {
    let tid = access.tenant.id.clone();
    let list = state.db.read(move |c| schedules::list(c, &tid)).await?;
    Ok(Json(list.into_iter().map(out).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    cron: String,
    keep_last: u32,
    #[serde(default)]
    policy_types: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/schedules",
    operation_id = "schedules_create",
    tag = "schedules",
    summary = "Create a backup schedule (owner)",
    params(("tid" = String, Path, description = "tenant id")),
    request_body = crate::web::api::openapi::NewSchedule,
    responses(
        (status = 201, description = "created", body = crate::web::api::openapi::Schedule),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<ScheduleBody>,
) -> Result<(StatusCode, Json<ScheduleOut>), AppError> {
    let input = ScheduleInput {
        cron: body.cron,
        keep_last: body.keep_last.to_string(),
        policy_types: body.policy_types,
    };
    let s = manage::create(&state.scheduler, &access, &input).await?;
    Ok((StatusCode::CREATED, Json(out(s))))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/schedules/{sid}/pause",
    operation_id = "schedules_pause",
    tag = "schedules",
    summary = "Pause a schedule (owner)",
    params(("tid" = String, Path, description = "tenant id"), ("sid" = String, Path, description = "schedule id")),
    responses(
        (status = 200, description = "paused", body = crate::web::api::openapi::Schedule),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn pause(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, sid)): Path<(String, String)>,
) -> Result<Json<ScheduleOut>, AppError> {
    Ok(Json(out(
        manage::set_enabled(&state.scheduler, &access, &sid, false).await?
    )))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/schedules/{sid}/resume",
    operation_id = "schedules_resume",
    tag = "schedules",
    summary = "Resume a schedule (owner)",
    params(("tid" = String, Path, description = "tenant id"), ("sid" = String, Path, description = "schedule id")),
    responses(
        (status = 200, description = "resumed", body = crate::web::api::openapi::Schedule),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, sid)): Path<(String, String)>,
) -> Result<Json<ScheduleOut>, AppError> {
    Ok(Json(out(
        manage::set_enabled(&state.scheduler, &access, &sid, true).await?
    )))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tid}/schedules/{sid}",
    operation_id = "schedules_remove",
    tag = "schedules",
    summary = "Delete a schedule (owner)",
    params(("tid" = String, Path, description = "tenant id"), ("sid" = String, Path, description = "schedule id")),
    responses(
        (status = 204, description = "deleted; its backup sets stay"),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, sid)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    manage::delete(&state.scheduler, &access, &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}
