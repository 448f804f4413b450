//! `/invite/{token}`: an invited person sets a password (no sign-in needed: the one-time
//! link is the credential). Pre-login CSRF as on the login page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::extract::Form;
use super::flash::{self, Kind};
use super::state::AppState;
use crate::auth::session;
use crate::error::AppError;
use crate::views;

fn page(status: StatusCode, markup: maud::Markup, cookie: Option<axum::http::HeaderValue>) -> Response {
    let mut res = (status, Html(markup.into_string())).into_response();
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// The tenant the invitation joins and the role it gives, for the page to say so.
async fn joins(state: &AppState, invite: &crate::db::invites::Invite) -> Result<(String, String), AppError> {
    let tid = invite.tenant_id.clone();
    let tenant = state.db.read(move |c| crate::db::tenants::get(c, &tid)).await?;
    Ok((tenant.map(|t| t.name).unwrap_or_default(), invite.role.clone()))
}

pub async fn view_invite_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let invite = crate::accounts::live_invite(&state.db, &token).await?;
    let joins = joins(&state, &invite).await?;
    let (csrf, cookie) = super::login::anon_csrf(&state, &headers);
    Ok(page(
        StatusCode::OK,
        views::account::invite(&csrf, &token, &invite.email, &joins, None),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct InviteForm {
    password: SecretString,
    password_repeat: SecretString,
}

pub async fn view_invite_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    rotated: Option<axum::Extension<crate::auth::csrf::Rotated>>,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let invite = crate::accounts::live_invite(&state.db, &token).await?;
    let joins = joins(&state, &invite).await?;
    let csrf = super::login::form_csrf(&state, &headers, rotated);
    let invalid = |m: &str| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::account::invite(&csrf, &token, &invite.email, &joins, Some(m)),
            None,
        )
    };
    if form.password.expose_secret() != form.password_repeat.expose_secret() {
        return Ok(invalid("The two passwords differ."));
    }
    let user = match crate::accounts::accept_invite(&state.db, &token, form.password.clone()).await {
        Ok(u) => u,
        Err(AppError::Invalid(m)) => return Ok(invalid(&m)),
        Err(e) => return Err(e),
    };
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookie = session::create(&state.db, &user.id, ua).await?;
    let mut res = flash::redirect("/", Kind::Ok, "Your account is ready.");
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::COOKIE, &cookie, state.settings.secure_cookies, None),
    );
    Ok(res)
}
