//! Session expiry, idle and absolute, enforced by the server (not the cookie).

use reqwest::StatusCode;

use crate::helpers::spawn_app;

fn expire(column: &str, app: &crate::helpers::TestApp) {
    let sql = format!("UPDATE sessions SET {column} = '2000-01-01T00:00:00.000Z'");
    app.raw_db().execute(&sql, []).expect("age the session");
}

#[tokio::test]
async fn an_idle_session_ends_and_is_deleted() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let (c, _) = app.signed_in("ops@msp.test").await;
    expire("last_seen_at", &app);
    let res = c.get(app.url("/")).send().await.expect("home");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"].to_str().expect("ascii").starts_with("/login"));
    let n: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .expect("q");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_limit_however_active() {
    let app = spawn_app().await;
    app.create_user("ops@msp.test", false).await;
    let (c, _) = app.signed_in("ops@msp.test").await;
    assert_eq!(c.get(app.url("/")).send().await.expect("home").status(), StatusCode::OK);
    expire("created_at", &app);
    assert_eq!(
        c.get(app.url("/")).send().await.expect("home").status(),
        StatusCode::SEE_OTHER
    );
}
