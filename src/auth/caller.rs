//! Resolves the caller once per request and hands it to handlers.
//!
//! Browser pages authenticate with the session cookie only; `/api/` with a bearer token only.
//! Keeping the two apart means the API never acts on a cookie, so it needs no CSRF defence,
//! and a page never acts on a token pasted into a browser.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{Duration, Utc};

use super::session::{self, Session};
use super::token;
use crate::clock;
use crate::db::tokens;
use crate::db::users::User;
use crate::error::AppError;
use std::sync::Arc;

use crate::config::ServeArgs;
use crate::db::Db;

#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session(Session),
    ApiToken { token_id: String },
}

impl Caller {
    /// The CSRF token pages embed; `None` for API callers.
    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session(s) => Some(&s.csrf_token),
            Via::ApiToken { .. } => None,
        }
    }
}

/// Middleware: puts a `Caller` into the request extensions when the request carries valid
/// credentials. It never rejects: routes decide whether they need a caller.
pub async fn resolve(
    State(db): State<Db>,
    State(settings): State<Arc<ServeArgs>>,
    mut req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let caller = if req.uri().path().starts_with("/api/") {
        from_bearer(&db, req.headers()).await?
    } else {
        from_session(&db, &settings, req.headers()).await?
    };
    if let Some(caller) = caller {
        req.extensions_mut().insert(caller);
    }
    Ok(next.run(req).await)
}

async fn from_session(
    db: &Db,
    settings: &ServeArgs,
    headers: &axum::http::HeaderMap,
) -> Result<Option<Caller>, AppError> {
    let Some(cookie) = session::cookie(headers, session::COOKIE) else {
        return Ok(None);
    };
    let found = session::resolve(db, settings, cookie).await?;
    Ok(found.map(|(s, user)| Caller {
        user,
        via: Via::Session(s),
    }))
}

async fn from_bearer(db: &Db, headers: &axum::http::HeaderMap) -> Result<Option<Caller>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(presented) = value.strip_prefix("Bearer ").map(str::trim) else {
        return Ok(None);
    };
    let hash = token::hash(presented);
    let Some(tokens::Holder {
        token_id,
        user,
        last_used_at,
    }) = db.read_now(move |c| tokens::user_for_hash(c, &hash)).await?
    else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    // `last used` is kept to the minute: a request whose token was used in the last minute
    // costs no write, so the API's reads (and a burst of starts) do not queue on the writer.
    let not_since = clock::format_time(Utc::now() - Duration::minutes(1));
    if last_used_at.as_deref().is_none_or(|t| t < not_since.as_str()) {
        let id = token_id.clone();
        // Best effort: on a full disk the token must still read; `last used` can wait.
        if let Err(e) = db
            .write(move |tx| tokens::mark_used(tx, &id, &clock::now(), &not_since))
            .await
        {
            tracing::warn!(error = %e, "could not record the API token's last use");
        }
    }
    Ok(Some(Caller {
        user,
        via: Via::ApiToken { token_id },
    }))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or(AppError::Unauthorized)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned())
    }
}

/// A caller who must be a superadmin.
pub struct Superadmin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Superadmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = <Caller as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if caller.user.superadmin {
            Ok(Superadmin(caller))
        } else {
            Err(AppError::Forbidden("only a superadmin may do this".into()))
        }
    }
}
