//! Run pages (viewer): the list and the live detail page; notifications.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::api::runs::ListQuery;
use super::flash::{self, Kind};
use super::page::{Page, respond};
use super::state::AppState;
use crate::auth::tenant_guard::TenantAccess;
use crate::clock;
use crate::db::{notifications, runs};
use crate::error::AppError;
use crate::runs::access::load_run;
use crate::views::runs::{self as view, DetailView, ITEMS_PER_PAGE, ListView};

const RUNS_PER_PAGE: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    kind: Option<String>,
    status: Option<String>,
    page: Option<u32>,
}

pub async fn view_runs_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Query(p): Query<ListParams>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let number = p.page.unwrap_or(1).max(1);
    let q = ListQuery {
        kind: p.kind.clone(),
        status: p.status.clone(),
        limit: Some(RUNS_PER_PAGE + 1),
        offset: Some((number - 1) * RUNS_PER_PAGE),
    };
    let filter = q.filter()?;
    let tid = access.tenant.id.clone();
    let mut list = state.db.read(move |c| runs::list(c, &tid, &filter)).await?;
    let has_more = list.len() > RUNS_PER_PAGE as usize;
    list.truncate(RUNS_PER_PAGE as usize);
    let v = ListView {
        runs: &list,
        kind: p.kind.as_deref().unwrap_or(""),
        status: p.status.as_deref().unwrap_or(""),
        page: number,
        has_more,
        is_owner: access.role >= crate::auth::role::Role::Owner,
    };
    Ok(respond(&page.nav, view::list(&page.nav, &access.tenant, &v)))
}

#[derive(Debug, Deserialize)]
pub struct DetailParams {
    page: Option<u32>,
    show: Option<String>,
}

/// `?show=` as a status the page can filter by; anything else shows all items.
pub fn showable(show: Option<&str>) -> Option<&'static str> {
    view::SHOWABLE.into_iter().find(|s| Some(*s) == show)
}

fn is_restore(kind: &str) -> bool {
    use crate::ops::restore::{EXECUTE, PREVIEW, RERUN};
    kind == PREVIEW || kind == EXECUTE || kind == RERUN
}

pub async fn view_run_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Path((_, rid)): Path<(String, String)>,
    Query(p): Query<DetailParams>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let run = load_run(&state.db, &access, &rid).await?;
    let show = match p.show.as_deref() {
        // Previews and restores open on their changes (while running, and when there are any).
        None if is_restore(&run.kind) && (!run.is_terminal() || run.succeeded > 0) => Some("succeeded"),
        other => showable(other),
    };
    let pages = u32::try_from(run.count_in(show))
        .unwrap_or(u32::MAX)
        .div_ceil(ITEMS_PER_PAGE)
        .max(1);
    let number = p.page.unwrap_or(1).clamp(1, pages);
    let (id, tid) = (run.id.clone(), run.tenant_id.clone());
    let (items, names) = state
        .db
        .read(move |c| {
            let items = runs::items_with_status(c, &id, show, ITEMS_PER_PAGE, (number - 1) * ITEMS_PER_PAGE)?;
            let names = super::names::for_items(c, &tid, &items)?;
            Ok((items, names))
        })
        .await?;
    let v = DetailView {
        names: &names,
        run: &run,
        items: &items,
        page: number,
        pages,
        show,
    };
    Ok(respond(&page.nav, view::detail(&page.nav, &access.tenant, &v)))
}

#[derive(Debug, Deserialize)]
pub struct NotificationsParams {
    page: Option<u32>,
}

pub const NOTIFICATIONS_PER_PAGE: u32 = 50;

pub async fn view_notifications_get(
    State(state): State<AppState>,
    page: Page,
    Query(p): Query<NotificationsParams>,
) -> Result<Response, AppError> {
    let id = page.caller.user.id.clone();
    let number = p.page.unwrap_or(1).max(1);
    let mut list = state
        .db
        .read(move |c| {
            notifications::page_for_user(
                c,
                &id,
                NOTIFICATIONS_PER_PAGE + 1,
                (number - 1).saturating_mul(NOTIFICATIONS_PER_PAGE),
            )
        })
        .await?;
    let has_more = list.len() > NOTIFICATIONS_PER_PAGE as usize;
    list.truncate(NOTIFICATIONS_PER_PAGE as usize);
    Ok(respond(
        &page.nav,
        view::notifications(&page.nav, &list, number, has_more),
    ))
}

pub async fn view_notifications_read_post(State(state): State<AppState>, page: Page) -> Result<Response, AppError> {
    let id = page.caller.user.id.clone();
    state
        .db
        .write(move |tx| notifications::mark_all_read(tx, &id, &clock::now()))
        .await?;
    Ok(flash::redirect(
        "/notifications",
        Kind::Ok,
        "All notifications marked as read.",
    ))
}

/// A start's banner as its run is now (`views::inventory::run_banner`).
pub async fn view_run_banner_get(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let run = crate::runs::access::load_run(&state.db, &access, &rid).await?;
    let message = if run.is_terminal() {
        let r = run.clone();
        state
            .db
            .read(move |c| crate::runs::notify::describe(c, &r, &r.status))
            .await?
    } else {
        String::new()
    };
    Ok(axum::response::IntoResponse::into_response(axum::response::Html(
        crate::views::inventory::run_banner(&access.tenant.id, &run, &message).into_string(),
    )))
}
