//! HTTP: the router, one file per area, and the JSON API under `api/`.
//!
//! Request path, outermost first: tracing → security headers → error rendering → host check
//! → caller resolution → CSRF → route. Tenant routes add the tenant guard as a route layer.

pub mod api;
pub mod assets;
pub mod audit;
pub mod bulk;
pub mod dashboard;
pub mod deadline;
pub mod drift;
pub mod errors;
pub mod extract;
pub mod flash;
pub mod health;
pub mod host;
pub mod inventory;
pub mod invites;
pub mod login;
pub mod members;
pub mod names;
pub mod page;
pub mod profile;
pub mod restore;
pub mod routes;
pub mod runs;
pub mod schedules;
pub mod security_headers;
pub mod sse;
pub mod state;
pub mod tenants;
pub mod users;
pub mod versions;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{caller, csrf, tenant_guard};
use routes::{RouteEntry, Routes};
use state::AppState;

/// Routes of a tenant: each passes the tenant guard before its handler runs.
fn tenant_routes(state: &AppState) -> Routes {
    Routes::new()
        .get("/t/{tenant}", tenants::view_tenant_get)
        .get("/t/{tenant}/settings", tenants::view_settings_get)
        .post("/t/{tenant}/settings", tenants::view_settings_post)
        .post("/t/{tenant}/delete", tenants::view_tenant_delete_post)
        .get("/t/{tenant}/members", members::view_members_get)
        .post("/t/{tenant}/members", members::view_members_post)
        .post("/t/{tenant}/members/{user_id}/remove", members::view_member_remove_post)
        .post("/t/{tenant}/invites/{id}/revoke", members::view_invite_revoke_post)
        .get("/t/{tenant}/audit", audit::view_audit_get)
        .post("/t/{tenant}/verify", inventory::view_verify_post)
        .post("/t/{tenant}/sync", inventory::view_sync_post)
        .post("/t/{tenant}/backups", inventory::view_backup_post)
        .get("/t/{tenant}/policies", inventory::view_policies_get)
        .get("/t/{tenant}/policies/{pid}", restore::view_policy_get)
        .post("/t/{tenant}/policies/{pid}/snapshot", restore::view_snapshot_post)
        .get("/t/{tenant}/policies/{pid}/versions/{vid}", versions::view_version_get)
        .get(
            "/t/{tenant}/policies/{pid}/versions/{vid}/json",
            versions::view_version_json_get,
        )
        .post(
            "/t/{tenant}/policies/{pid}/versions/{vid}/restore",
            restore::view_restore_version_post,
        )
        .post_large_as(
            "/t/{tenant}/backups/import",
            inventory::view_import_post,
            crate::import::MAX_ZIP_BYTES,
            crate::auth::role::Role::Owner,
        )
        .get("/t/{tenant}/backups/{bid}", restore::view_backup_set_get)
        .get("/t/{tenant}/backups/{bid}/export", restore::view_backup_export_get)
        .post("/t/{tenant}/backups/{bid}/preview", restore::view_preview_post)
        .post("/t/{tenant}/backups/{bid}/delete", restore::view_backup_set_delete_post)
        .post("/t/{tenant}/runs/{rid}/restore", restore::view_restore_post)
        .post("/t/{tenant}/runs/{rid}/undo", restore::view_undo_post)
        .post("/t/{tenant}/runs/{rid}/rerun", restore::view_rerun_post)
        .post("/t/{tenant}/runs/{rid}/recapture", restore::view_recapture_post)
        .get("/t/{tenant}/runs/{rid}/actions", restore::view_run_actions_get)
        .get("/t/{tenant}/drift", drift::view_drift_get)
        .post("/t/{tenant}/drift", drift::view_drift_post)
        .post("/t/{tenant}/drift/accept", drift::view_drift_accept_post)
        .get("/t/{tenant}/backups", inventory::view_backups_get)
        .get("/t/{tenant}/schedules", schedules::view_schedules_get)
        .post("/t/{tenant}/schedules", schedules::view_schedules_post)
        .get("/t/{tenant}/schedules/check", schedules::view_schedule_check_get)
        .post("/t/{tenant}/schedules/{sid}/pause", schedules::view_schedule_pause_post)
        .post(
            "/t/{tenant}/schedules/{sid}/resume",
            schedules::view_schedule_resume_post,
        )
        .post(
            "/t/{tenant}/schedules/{sid}/delete",
            schedules::view_schedule_delete_post,
        )
        .get("/t/{tenant}/runs", runs::view_runs_get)
        .get("/t/{tenant}/runs/{rid}", runs::view_run_get)
        .get("/t/{tenant}/runs/{rid}/banner", runs::view_run_banner_get)
        .get("/t/{tenant}/runs/{rid}/events", sse::run_events)
        .get("/api/v1/tenants/{tid}", api::tenants::get)
        .get("/api/v1/tenants/{tid}/members", api::members::list)
        .post("/api/v1/tenants/{tid}/members", api::members::upsert)
        .delete("/api/v1/tenants/{tid}/members/{user_id}", api::members::remove)
        .get("/api/v1/tenants/{tid}/invites", api::members::invites)
        .delete("/api/v1/tenants/{tid}/invites/{id}", api::members::revoke_invite)
        .get("/api/v1/tenants/{tid}/audit", api::audit::list)
        .post("/api/v1/tenants/{tid}/verify", api::operations::verify)
        .post("/api/v1/tenants/{tid}/sync", api::operations::sync)
        .post(
            "/api/v1/tenants/{tid}/policies/{pid}/snapshot",
            api::operations::snapshot,
        )
        .post("/api/v1/tenants/{tid}/backup-sets", api::operations::backup)
        .post("/api/v1/tenants/{tid}/restores", api::operations::restore)
        .post("/api/v1/tenants/{tid}/runs/{rid}/rerun", api::operations::rerun)
        .post("/api/v1/tenants/{tid}/runs/{rid}/undo", api::operations::undo)
        .post("/api/v1/tenants/{tid}/drift-checks", api::operations::drift_check)
        .get("/api/v1/tenants/{tid}/policies", api::policies::list)
        .get("/api/v1/tenants/{tid}/policies/{pid}/versions", api::policies::versions)
        .get("/api/v1/tenants/{tid}/versions/{vid}", api::policies::version)
        .get("/api/v1/tenants/{tid}/backup-sets", api::backup_sets::list)
        .get("/api/v1/tenants/{tid}/backup-sets/{bid}", api::backup_sets::get)
        .get(
            "/api/v1/tenants/{tid}/backup-sets/{bid}/export",
            api::backup_sets::export,
        )
        .post_large_as(
            "/api/v1/tenants/{tid}/backup-sets/import",
            api::backup_sets::import,
            crate::import::MAX_ZIP_BYTES,
            crate::auth::role::Role::Owner,
        )
        .get("/api/v1/tenants/{tid}/schedules", api::schedules::list)
        .post("/api/v1/tenants/{tid}/schedules", api::schedules::create)
        .post("/api/v1/tenants/{tid}/schedules/{sid}/pause", api::schedules::pause)
        .post("/api/v1/tenants/{tid}/schedules/{sid}/resume", api::schedules::resume)
        .delete("/api/v1/tenants/{tid}/schedules/{sid}", api::schedules::remove)
        .get("/api/v1/tenants/{tid}/runs", api::runs::list)
        .get("/api/v1/tenants/{tid}/runs/{rid}", api::runs::get)
        .get("/api/v1/tenants/{tid}/runs/{rid}/items", api::runs::items)
        .map_router(|r| r.route_layer(from_fn_with_state(state.clone(), tenant_guard::guard)))
}

fn other_routes() -> Routes {
    Routes::new()
        .get("/healthz", health::healthz)
        .get("/readyz", health::readyz)
        .get("/metrics", health::metrics)
        .get("/assets/{name}", assets::serve)
        .get("/login", login::view_login_get)
        .post("/login", login::view_login_post)
        .post("/logout", login::view_logout_post)
        .get("/invite/{token}", invites::view_invite_get)
        .post("/invite/{token}", invites::view_invite_post)
        .get("/setup", login::view_setup_get)
        .post("/setup", login::view_setup_post)
        .get("/", dashboard::view_dashboard_get)
        .get("/profile", profile::view_profile_get)
        .post("/profile/tokens", profile::view_token_create_post)
        .post("/profile/tokens/{id}/revoke", profile::view_token_revoke_post)
        .post("/profile/password", profile::view_password_post)
        .get("/admin/users", users::view_users_get)
        .post("/admin/users", users::view_users_post)
        .post("/admin/users/{id}/disable", users::view_user_disable_post)
        .post("/admin/users/{id}/enable", users::view_user_enable_post)
        .post("/admin/users/{id}/password", users::view_user_password_post)
        .get("/notifications", runs::view_notifications_get)
        .post("/notifications/read", runs::view_notifications_read_post)
        .get("/events/active", sse::active_events)
        .get("/tenants/new", tenants::view_tenant_new_get)
        .get("/tenants/check", tenants::view_tenant_check_get)
        .post("/tenants", tenants::view_tenant_new_post)
        .post("/tenants/bulk", bulk::view_bulk_post)
        .get("/api/v1/openapi.json", api::openapi::openapi_json)
        .get("/api/v1/me", api::me::get_me)
        .get("/api/v1/tenants", api::tenants::list)
        .post("/api/v1/tenants", api::tenants::create)
        .get("/api/v1/notifications", api::notifications::list)
        .post("/api/v1/notifications/read", api::notifications::mark_read)
}

fn all_routes(state: &AppState) -> Routes {
    other_routes().merge(tenant_routes(state))
}

/// The application, ready to serve.
pub fn router(state: AppState) -> Router {
    let (routes, _) = all_routes(&state).into_parts();
    routes
        .route("/api/{*rest}", axum::routing::any(api::not_found))
        .fallback(errors::no_such_page)
        .layer(from_fn_with_state(state.clone(), csrf::protect))
        .layer(from_fn_with_state(state.clone(), caller::resolve))
        .layer(from_fn_with_state(state.clone(), host::check))
        .layer(from_fn(errors::render))
        .layer(from_fn(security_headers::add))
        .layer(from_fn_with_state(state.clone(), security_headers::secure_cookies))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(security_headers::request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// Every (method, path) the router serves, for tests that must cover all of them.
pub fn route_table(state: &AppState) -> Vec<RouteEntry> {
    all_routes(state).into_parts().1
}
