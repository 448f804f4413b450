//! Browser sessions: a random token in an `HttpOnly` cookie, its SHA-256 in `sessions`.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{Duration, Utc};

use super::token;
use crate::clock;
use crate::config::ServeArgs;
use crate::db::sessions::{self, SessionRow};
use crate::db::{Db, DbResult};

pub const COOKIE: &str = "pv_session";
/// Double-submit token for forms shown before login (login, first-run setup).
pub const ANON_CSRF_COOKIE: &str = "pv_csrf";
/// Writing `last_seen_at` on every request would turn reads into writes; once a minute is
/// precise enough for an idle limit counted in hours.
const TOUCH_EVERY_SECS: i64 = 60;

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf_token: String,
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. `max_age = Some(0)` deletes the cookie; `None` makes it end with
/// the browser session (the server enforces the real limits).
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        s.push_str("; Secure");
    }
    if let Some(age) = max_age {
        s.push_str("; Max-Age=");
        s.push_str(&age.to_string());
    }
    // Our values are base64url tokens: always a valid header value.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Creates a session and returns the cookie's token.
pub async fn create(db: &Db, user_id: &str, user_agent: Option<String>) -> DbResult<String> {
    let token = token::generate("");
    let token_hash = token::hash(&token);
    let csrf = token::generate("");
    let user_id = user_id.to_owned();
    db.write(move |tx| {
        let ua = user_agent.as_deref().map(|s| s.chars().take(200).collect::<String>());
        sessions::insert(tx, &token_hash, &user_id, &csrf, &clock::now(), ua.as_deref())
    })
    .await?;
    Ok(token)
}

/// The live session and its user for a cookie token; ends it if it is past its limits or its
/// user is disabled.
pub async fn resolve(
    db: &Db,
    settings: &ServeArgs,
    token: &str,
) -> DbResult<Option<(Session, crate::db::users::User)>> {
    let token_hash = token::hash(token);
    let lookup = token_hash.clone();
    let Some(row) = db.read_now(move |c| sessions::get(c, &lookup)).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let idle_limit = now - Duration::minutes(i64::from(settings.session_idle_minutes));
    let absolute_limit = now - Duration::hours(i64::from(settings.session_max_hours));
    let expired = is_before(&row.last_seen_at, idle_limit) || is_before(&row.created_at, absolute_limit);
    // Both writes are best effort: on a full disk, pages must still read. An expired
    // session is refused either way; the sweep deletes it later.
    if expired || row.user.disabled {
        let h = token_hash.clone();
        if let Err(e) = db.write(move |tx| sessions::delete(tx, &h)).await {
            tracing::warn!(error = %e, "could not delete an expired session");
        }
        return Ok(None);
    }
    if is_before(&row.last_seen_at, now - Duration::seconds(TOUCH_EVERY_SECS)) {
        let h = token_hash.clone();
        if let Err(e) = db.write(move |tx| sessions::touch(tx, &h, &clock::now())).await {
            tracing::warn!(error = %e, "could not record the session's last activity");
        }
    }
    let SessionRow { user, csrf_token, .. } = row;
    Ok(Some((Session { token_hash, csrf_token }, user)))
}

/// Unparseable times count as expired: fail closed.
fn is_before(stored: &str, limit: chrono::DateTime<Utc>) -> bool {
    clock::parse_time(stored).is_none_or(|t| t < limit)
}

pub async fn end(db: &Db, token_hash: String) -> DbResult<()> {
    db.write(move |tx| sessions::delete(tx, &token_hash)).await?;
    db.access_changed();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_set_with_the_right_flags() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; pv_session=tok; b=2"));
        assert_eq!(cookie(&h, "pv_session"), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        let v = set_cookie(COOKIE, "tok", true, None);
        let v = v.to_str().expect("ascii");
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Secure"));
        assert!(
            !set_cookie(COOKIE, "tok", false, Some(0))
                .to_str()
                .expect("ascii")
                .contains("Secure")
        );
    }
}
