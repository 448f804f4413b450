//! Issue 12 finding 6: live streams end as soon as access ends (sign-out, membership removed,
//! role changed), not at their 20 s lifetime limit. Real server, real streams.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, TestApp, spawn_app, tenant_body};

/// Well under the streams' 20 s lifetime, so a stream that ends within it ended because of
/// the change, and generous enough for a slow test machine.
const WELL_BEFORE_LIFETIME: Duration = Duration::from_secs(8);

/// Opens `path` as an event stream and waits for its first event (the snapshot).
async fn open(app: &TestApp, c: &reqwest::Client, path: &str) -> reqwest::Response {
    let mut res = c.get(app.url(path)).send().await.expect("stream");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let first = res.chunk().await.expect("first chunk").expect("a first event");
    assert!(!first.is_empty());
    res
}

/// True when the stream ends before `WELL_BEFORE_LIFETIME`.
async fn ends(mut res: reqwest::Response) -> bool {
    tokio::time::timeout(WELL_BEFORE_LIFETIME, async {
        while let Ok(Some(_)) = res.chunk().await {}
    })
    .await
    .is_ok()
}

/// A Graph host that accepts connections and never answers, so a run stays running.
async fn silent_host() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

async fn app_with_member(role: &str) -> (TestApp, String, String) {
    let app = spawn_app().await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    let host = silent_host().await;
    let mut body = tenant_body("Contoso", "s3cret");
    body["graph_base_url"] = json!(host);
    body["login_base_url"] = json!(host);
    let (status, t) = app.api(Method::POST, &token, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().expect("id").to_owned();
    app.create_user("ops@msp.test", false).await;
    let (status, m) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(json!({"email": "ops@msp.test", "role": role})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    (app, token, tid)
}

#[tokio::test]
async fn signing_out_ends_the_open_streams() {
    let (app, _, _) = app_with_member("operator").await;
    let (c, csrf) = app.signed_in("ops@msp.test").await;
    let stream = open(&app, &c, "/events/active").await;
    let res = c
        .post(app.url("/logout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(ends(stream).await, "the stream outlived the session");
}

#[tokio::test]
async fn removal_from_the_tenant_ends_its_run_stream_and_the_widget() {
    let (app, token, tid) = app_with_member("operator").await;
    let (status, started) = app
        .api(Method::POST, &token, &format!("/api/v1/tenants/{tid}/verify"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let rid = started["run"]["id"].as_str().expect("run id");
    let (c, _) = app.signed_in("ops@msp.test").await;
    let run_stream = open(&app, &c, &format!("/t/{tid}/runs/{rid}/events")).await;
    let widget = open(&app, &c, "/events/active").await;
    let uid: String = app
        .raw_db()
        .query_row("SELECT id FROM users WHERE email = 'ops@msp.test'", [], |r| r.get(0))
        .expect("id");
    let (status, _) = app
        .api(
            Method::DELETE,
            &token,
            &format!("/api/v1/tenants/{tid}/members/{uid}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(ends(run_stream).await, "the run stream outlived the membership");
    assert!(ends(widget).await, "the widget stream outlived the membership");
}

#[tokio::test]
async fn a_role_change_ends_the_run_stream() {
    let (app, token, tid) = app_with_member("operator").await;
    let (_, started) = app
        .api(Method::POST, &token, &format!("/api/v1/tenants/{tid}/verify"), None)
        .await;
    let rid = started["run"]["id"].as_str().expect("run id");
    let (c, _) = app.signed_in("ops@msp.test").await;
    let run_stream = open(&app, &c, &format!("/t/{tid}/runs/{rid}/events")).await;
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(json!({"email": "ops@msp.test", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ends(run_stream).await, "the run stream outlived the role");
}
