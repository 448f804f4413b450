//! The context every signed-in page renders with: who, which tenants, CSRF token, flash.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;

use super::flash;
use super::state::AppState;
use crate::auth::caller::Caller;
use crate::db::{notifications, tenants};
use crate::error::AppError;
use crate::views::layout::Nav;

pub struct Page {
    pub caller: Caller,
    pub nav: Nav,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let (user_id, all) = (caller.user.id.clone(), caller.user.superadmin);
        let (tenants, unread) = state
            .db
            .read(move |c| {
                let list = tenants::visible_to(c, &user_id, all)?;
                Ok((list, notifications::unread_count(c, &user_id)?))
            })
            .await?;
        let nav = Nav {
            email: caller.user.email.clone(),
            superadmin: caller.user.superadmin,
            csrf: caller.csrf_token().unwrap_or_default().to_owned(),
            tenants: {
                let mut list: Vec<(String, String)> = tenants.into_iter().map(|t| (t.id, t.name)).collect();
                list.sort_by(|a, b| crate::views::dashboard::natural_cmp(&a.1, &b.1));
                list
            },
            current_tenant: None,
            flash: flash::take(&parts.headers).map(|f| (f.kind.class(), f.message)),
            unread,
        };
        Ok(Page { caller, nav })
    }
}

impl Page {
    /// Marks the tenant the page is about, for the switcher.
    pub fn in_tenant(mut self, tenant_id: &str) -> Page {
        self.nav.current_tenant = Some(tenant_id.to_owned());
        self
    }
}

/// A rendered page, clearing the flash cookie if a message was just shown.
pub fn respond(nav: &Nav, markup: Markup) -> Response {
    let mut res = Html(markup.into_string()).into_response();
    if nav.flash.is_some() {
        res.headers_mut().append(header::SET_COOKIE, flash::clear_cookie());
    }
    res
}

/// A page re-rendered after a validation error: the real status, the same form.
pub fn respond_invalid(nav: &Nav, markup: Markup, status: axum::http::StatusCode) -> Response {
    let mut res = respond(nav, markup);
    *res.status_mut() = status;
    res
}
