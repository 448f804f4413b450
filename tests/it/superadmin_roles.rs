//! Issue 20, finding 7: a superadmin is owner of every tenant, whatever a tenant's owner does.
//! An owner could add a superadmin as a viewer, after which the superadmin could no longer
//! manage, fix or delete the tenant.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, spawn_app};

#[tokio::test]
async fn an_owner_cannot_make_a_superadmin_less_than_owner() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let tid = app.create_tenant(&admin, "Contoso", "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.create_user("owner@msp.test", false).await;
    let (status, body) = app
        .api(
            Method::POST,
            &admin,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(json!({"email": "owner@msp.test", "role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let owner = app.token_for("owner@msp.test").await;

    // The API refuses, and says why.
    let (status, body) = app
        .api(
            Method::POST,
            &owner,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(json!({"email": ADMIN_EMAIL, "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("superadmin")),
        "{body}"
    );
    // So does the page.
    let (c, csrf) = app.signed_in("owner@msp.test").await;
    let res = c
        .post(app.url(&format!("/t/{tid}/members")))
        .form(&[("_csrf", csrf.as_str()), ("email", ADMIN_EMAIL), ("role", "viewer")])
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("body").contains("superadmin"));
    let rows: i64 = app
        .raw_db()
        .query_row(
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = ?1",
            [ADMIN_EMAIL],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(rows, 0, "no membership row for the superadmin");
}

/// A membership row a database from before this fix may hold does not lower a superadmin's
/// role: the tenant guard (pages and API) and the bulk actions still treat them as owner.
#[tokio::test]
async fn a_superadmins_stray_viewer_membership_is_ignored() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let tid = app.create_tenant(&admin, "Contoso", "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.raw_db()
        .execute(
            "INSERT INTO memberships (user_id, tenant_id, role, created_at)
             SELECT id, ?1, 'viewer', '2024-01-01T00:00:00Z' FROM users WHERE email = ?2",
            [tid.as_str(), ADMIN_EMAIL],
        )
        .expect("stray membership");

    let (status, body) = app
        .api(Method::GET, &admin, &format!("/api/v1/tenants/{tid}/members"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "the superadmin manages members: {body}");
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let res = c
        .get(app.url(&format!("/t/{tid}/settings")))
        .send()
        .await
        .expect("settings");
    assert_eq!(res.status(), StatusCode::OK, "the superadmin opens the settings");
    let dashboard = app.page(&c, "/").await;
    assert!(
        !dashboard.contains(">viewer<"),
        "the dashboard does not call the superadmin a viewer: {dashboard}"
    );
    // The bulk action that needs owner: the schedule is applied, not skipped.
    let res = c
        .post(app.url("/tenants/bulk"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("action", "schedule"),
            ("cron", "0 2 * * *"),
            ("keep_last", "7"),
            ("tenant", tid.as_str()),
        ])
        .send()
        .await
        .expect("bulk");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, schedules) = app
        .api(Method::GET, &admin, &format!("/api/v1/tenants/{tid}/schedules"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{schedules}");
    assert_eq!(
        schedules.as_array().map(Vec::len),
        Some(1),
        "the bulk schedule was applied: {schedules}"
    );
    let res = c
        .post(app.url(&format!("/t/{tid}/delete")))
        .form(&[("_csrf", csrf.as_str()), ("confirm", "Contoso")])
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the superadmin deletes it");
    let (status, _) = app
        .api(Method::GET, &admin, &format!("/api/v1/tenants/{tid}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "it is gone");
}
