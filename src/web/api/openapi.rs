//! `GET /api/v1/openapi.json`: the contract of `shared/API.md` as OpenAPI 3.1, for RMM, PSA
//! and script authors. The operations come from the `#[utoipa::path]` annotations on the
//! handlers themselves (a test checks that every `/api/v1` route of the router is documented
//! and nothing else); the object schemas below mirror what the handlers serialize and exist
//! only for the document.

#![allow(dead_code)] // the schema types are never built: they only describe JSON.

use axum::Json;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: `{"error": {"code": "<snake_case>", "message": "<safe text>"}}`.
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// e.g. `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `invalid`,
    /// `method_not_allowed`, `payload_too_large`, `too_many_requests`, `internal`.
    pub code: String,
    pub message: String,
}

#[derive(ToSchema)]
pub struct Membership {
    pub tenant_id: String,
    /// `viewer`, `operator` or `owner`.
    pub role: String,
}

#[derive(ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub superadmin: bool,
    pub memberships: Vec<Membership>,
}

/// A customer tenant; never contains the client secret.
#[derive(ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    /// `global`, `usgov`, `usgovdod` or `china`.
    pub cloud: String,
    pub graph_base_url: String,
    pub login_base_url: String,
    pub created_at: String,
    pub updated_at: String,
    pub secret_updated_at: String,
}

#[derive(ToSchema)]
pub struct NewTenant {
    pub name: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub cloud: String,
    /// Refused with 422 unless the server allows custom endpoints.
    pub graph_base_url: Option<String>,
    pub login_base_url: Option<String>,
}

#[derive(ToSchema)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
}

#[derive(ToSchema)]
pub struct MemberBody {
    pub email: String,
    pub role: String,
}

/// An invitation not used yet (the link itself is never shown again).
#[derive(ToSchema)]
pub struct Invite {
    pub id: String,
    pub email: String,
    /// The role it gives: `viewer`, `operator` or `owner`.
    pub role: String,
    /// The inviting owner's email.
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub run_id: Option<String>,
    pub details: Value,
}

#[derive(ToSchema)]
pub struct Run {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub target_type: String,
    pub target_id: String,
    pub dry_run: bool,
    /// `queued`, `running`, `succeeded`, `failed` or `partial`.
    pub status: String,
    pub initiated_by: Option<String>,
    pub parent_run_id: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub skipped: i64,
    pub error_code: Option<String>,
    pub error_context: Option<Value>,
    /// For live restores: the automatic "before restore" set.
    pub before_backup_set_id: Option<String>,
}

#[derive(ToSchema)]
pub struct RunItem {
    pub id: String,
    pub run_id: String,
    pub item_type: String,
    pub item_id: String,
    pub label: String,
    /// `pending`, `running`, `succeeded`, `failed` or `skipped`.
    pub status: String,
    pub error_code: Option<String>,
    pub error_context: Option<Value>,
    pub result: Option<Value>,
}

/// The body of `POST …/drift-checks` (may be empty).
#[derive(ToSchema)]
pub struct DriftCheckBody {
    /// The backup set to compare with; absent: the newest complete whole-tenant backup.
    pub baseline_set_id: Option<String>,
}

/// What every start endpoint answers with 202.
#[derive(ToSchema)]
pub struct Started {
    pub run: Run,
    /// True when an identical run was already queued or running and no new run was made.
    pub reused: bool,
}

#[derive(ToSchema)]
pub struct Policy {
    pub id: String,
    pub policy_type: String,
    pub graph_id: String,
    pub display_name: String,
    pub deleted: bool,
    pub last_synced_at: String,
    pub latest_version_id: Option<String>,
}

#[derive(ToSchema)]
pub struct Version {
    pub id: String,
    pub policy_id: String,
    pub captured_at: String,
    pub content_hash: String,
    pub run_id: Option<String>,
}

/// A version with its content: the policy object as Graph returns it, with its expanded
/// collections, script bodies and `assignments` inline.
#[derive(ToSchema)]
pub struct VersionWithContent {
    pub id: String,
    pub policy_id: String,
    pub captured_at: String,
    pub content_hash: String,
    pub run_id: Option<String>,
    pub content: Value,
}

#[derive(ToSchema)]
pub struct BackupSet {
    pub id: String,
    pub name: String,
    /// `manual`, `scheduled`, `before_restore` or `import`.
    pub origin: String,
    pub created_at: String,
    pub item_count: i64,
    pub capture_run_id: Option<String>,
    /// Every type its capture was to list was listed and every item captured.
    pub complete: bool,
    /// Types its capture could not list (5xx after retries, 403, timeout), with why.
    pub missing_types: Vec<MissingType>,
    /// Who imported it from a zip; then `origin` is `import`.
    pub imported_by: Option<String>,
    /// For an imported set: the exported set, its tenant and `exported_at`.
    pub import_source: Option<Value>,
}

#[derive(ToSchema)]
pub struct MissingType {
    pub policy_type: String,
    /// In words: "Graph was unavailable", "not captured: permission … missing".
    pub reason: String,
}

#[derive(ToSchema)]
pub struct BackupItem {
    pub id: String,
    pub policy_id: String,
    pub version_id: Option<String>,
    pub policy_type: String,
    pub display_name: String,
}

#[derive(ToSchema)]
pub struct BackupSetWithItems {
    pub id: String,
    pub name: String,
    /// `manual`, `scheduled`, `before_restore` or `import`.
    pub origin: String,
    pub created_at: String,
    pub item_count: i64,
    pub capture_run_id: Option<String>,
    /// Every type its capture was to list was listed and every item captured.
    pub complete: bool,
    /// Types its capture could not list (5xx after retries, 403, timeout), with why.
    pub missing_types: Vec<MissingType>,
    /// Who imported it from a zip; then `origin` is `import`.
    pub imported_by: Option<String>,
    /// For an imported set: the exported set, its tenant and `exported_at`.
    pub import_source: Option<Value>,
    pub items: Vec<BackupItem>,
}

/// A zip: `manifest.json` and one JSON file per captured policy.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ExportZip(Vec<u8>);

/// What an import made.
#[derive(ToSchema)]
pub struct Imported {
    pub backup_set: BackupSet,
    /// Policy files imported, one backup item each.
    pub files: i64,
    /// Policies this tenant's inventory did not know; added as deleted (a restore re-creates them).
    pub new_policies: i64,
    /// Versions the tenant already held (the same content captured at the same time).
    pub versions_reused: i64,
    /// The set and tenant the zip was exported from, as its manifest says.
    pub source: Value,
}

#[derive(ToSchema)]
pub struct NewBackupSet {
    pub name: String,
    /// Absent: every object in the tenant when the run runs.
    pub policy_ids: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct BackupStarted {
    pub backup_set: BackupSet,
    pub run: Run,
    pub reused: bool,
}

#[derive(ToSchema)]
pub struct RestoreBody {
    pub backup_set_id: String,
    pub item_ids: Option<Vec<String>>,
    pub dry_run: bool,
    pub include_assignments: Option<bool>,
    /// A live restore needs the tenant's name here.
    pub confirm: Option<String>,
    /// `report_only` (default: a re-created Conditional Access policy lands in report-only)
    /// or `as_captured`.
    pub conditional_access_state: Option<String>,
    /// Default false. A live restore writes a Conditional Access change that tightens access
    /// (a `tightens` entry of the preview) to a policy enforced on all users with no user,
    /// group or role excluded (`unguarded: true` in the preview) only when this is true;
    /// otherwise that item fails with `tightening_not_accepted` and nothing is written to it.
    /// Recorded in the run's params.
    pub accept_ca_tightening: Option<bool>,
}

#[derive(ToSchema)]
pub struct RerunBody {
    /// Default true.
    pub only_failed: Option<bool>,
    pub confirm: String,
}

#[derive(ToSchema)]
pub struct UndoBody {
    pub confirm: String,
}

#[derive(ToSchema)]
pub struct Schedule {
    pub id: String,
    pub tenant_id: String,
    /// Six fields, seconds first, UTC.
    pub cron: String,
    /// Empty: every type.
    pub policy_types: Vec<String>,
    pub keep_last: u32,
    pub enabled: bool,
    pub created_at: String,
    pub last_fired_at: Option<String>,
    /// The next three triggers, RFC 3339 UTC.
    pub next_runs: Vec<String>,
}

#[derive(ToSchema)]
pub struct NewSchedule {
    /// Five fields (minute hour day month weekday) or six (seconds first), UTC.
    pub cron: String,
    pub keep_last: u32,
    pub policy_types: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct Notification {
    pub id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub status: String,
    pub message: String,
    pub created_at: String,
    pub read: bool,
}

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "policyvault API",
        version = "1",
        description = "Back up, compare and restore Intune configuration. Tokens: profile page or `policyvault token create`. Errors are always `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&BearerToken),
    security(("token" = [])),
    paths(
        openapi_json,
        super::me::get_me,
        super::tenants::list,
        super::tenants::create,
        super::tenants::get,
        super::members::list,
        super::members::upsert,
        super::members::remove,
        super::members::invites,
        super::members::revoke_invite,
        super::audit::list,
        super::operations::verify,
        super::operations::sync,
        super::operations::snapshot,
        super::operations::backup,
        super::operations::restore,
        super::operations::rerun,
        super::operations::undo,
        super::operations::drift_check,
        super::policies::list,
        super::policies::versions,
        super::policies::version,
        super::backup_sets::list,
        super::backup_sets::export,
        super::backup_sets::import,
        super::backup_sets::get,
        super::schedules::list,
        super::schedules::create,
        super::schedules::pause,
        super::schedules::resume,
        super::schedules::remove,
        super::runs::list,
        super::runs::get,
        super::runs::items,
        super::notifications::list,
        super::notifications::mark_read,
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// This document (no token needed).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
