//! One version of a policy as JSON: "View JSON" (a page) and "Download JSON" (a file). Both
//! show the stored document: secret values stay sealed references or masks.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::api::policies::load_policy;
use super::page::{Page, respond};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::{TenantAccess, check_owner};
use crate::db::policies::{self, Policy, Version};
use crate::error::AppError;
use crate::graph::canonical::canonicalize;
use crate::graph::registry;
use crate::ops::sealing::{Withheld, withhold};

struct Loaded {
    policy: Policy,
    version: Version,
    document: Value,
    withheld: Vec<Withheld>,
}

/// The version, if it is one of this policy's (another tenant's answers 403).
async fn load(state: &AppState, access: &TenantAccess, pid: &str, vid: &str) -> Result<Loaded, AppError> {
    let policy = load_policy(state, access, pid).await?;
    let id = vid.to_owned();
    let tid = access.tenant.id.clone();
    let found = state
        .db
        .read(move |c| {
            policies::version_with_content(c, &id)?
                .map(|(v, t, content)| {
                    let shown = if t == tid {
                        crate::export::shown_content(c, &t, &content)?
                    } else {
                        content
                    };
                    Ok((v, t, shown))
                })
                .transpose()
        })
        .await?;
    check_owner(&state.db, access, found.as_ref().map(|(_, t, _)| t.clone()), "version").await?;
    let (version, _, content) = found
        .filter(|(v, _, _)| v.policy_id == policy.id)
        .ok_or_else(|| AppError::not_found("version of this policy"))?;
    let document: Value = serde_json::from_str(&content).map_err(|e| AppError::Internal(e.into()))?;
    let (document, withheld) = match registry::by_key(&policy.policy_type) {
        Some(ty) => withhold(ty, canonicalize(&document)),
        None => (canonicalize(&document), Vec::new()),
    };
    Ok(Loaded {
        policy,
        version,
        document,
        withheld,
    })
}

pub async fn view_version_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Path((_, pid, vid)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let l = load(&state, &access, &pid, &vid).await?;
    let tid = access.tenant.id.clone();
    let names = state
        .db
        .read(move |c| super::names::load(c, &tid, &std::collections::BTreeSet::new()))
        .await?;
    let v = crate::views::version::VersionView {
        names: &names,
        policy: &l.policy,
        version: &l.version,
        document: &l.document,
        withheld: &l.withheld,
        is_owner: access.role >= Role::Owner,
    };
    Ok(respond(
        &page.nav,
        crate::views::version::version(&page.nav, &access.tenant, &v),
    ))
}

pub async fn view_version_json_get(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, pid, vid)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let l = load(&state, &access, &pid, &vid).await?;
    let mut text = serde_json::to_string_pretty(&l.document).map_err(|e| AppError::Internal(e.into()))?;
    text.push('\n');
    let at: String = l
        .version
        .captured_at
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    let name = format!("{}-{at}.json", crate::export::ascii_name(&l.policy.display_name));
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        text,
    )
        .into_response())
}
