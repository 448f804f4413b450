//! Walks every route the router registers (not a hand-kept list): each tenant-scoped one
//! must answer 403 to a signed-in non-member, for pages and the API alike, and must never
//! run its handler.

use policyvault::auth::tenant_guard::TENANT_PARAMS;
use policyvault::web::route_table;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, spawn_app};

fn fill(path: &str, tenant: &str, user_id: &str) -> String {
    path.split('/')
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(p) if TENANT_PARAMS.contains(&p) => tenant.to_owned(),
            Some("user_id") => user_id.to_owned(),
            Some(_) => "00000000-0000-0000-0000-000000000000".to_owned(),
            None => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_tenant_route_answers_403_to_a_non_member() {
    let app = spawn_app().await;
    let (_, _) = app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let a = app.create_tenant(&admin, "Tenant A", "secret-a").await;
    let b = app.create_tenant(&admin, "Tenant B", "secret-b").await;
    app.create_user("owner-of-a@msp.test", false).await;
    let (status, _) = app
        .api(
            Method::POST,
            &admin,
            &format!("/api/v1/tenants/{}/members", a["id"].as_str().expect("id")),
            Some(json!({"email": "owner-of-a@msp.test", "role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = app.token_for("owner-of-a@msp.test").await;
    let (browser, csrf) = app.signed_in("owner-of-a@msp.test").await;
    let user_id: String = app
        .raw_db()
        .query_row("SELECT id FROM users WHERE email = 'owner-of-a@msp.test'", [], |r| {
            r.get(0)
        })
        .expect("id");
    let audit_before: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
        .expect("q");

    let table = route_table(&app.state);
    let tenant_routes: Vec<_> = table
        .iter()
        .filter(|r| TENANT_PARAMS.iter().any(|p| r.path.contains(&format!("{{{p}}}"))))
        .collect();
    assert!(
        tenant_routes.len() >= 12,
        "the walk covers the tenant routes ({})",
        tenant_routes.len()
    );

    let b_id = b["id"].as_str().expect("id");
    let unknown = "0190f000-0000-7000-8000-000000000000";
    for route in &tenant_routes {
        for tenant in [b_id, unknown] {
            let url = app.url(&fill(&route.path, tenant, &user_id));
            let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
            let res = if route.path.starts_with("/api/") {
                reqwest::Client::new()
                    .request(method, &url)
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await
            } else {
                browser
                    .request(method, &url)
                    .header("x-csrf-token", &csrf)
                    .form(&[("_csrf", csrf.as_str())])
                    .send()
                    .await
            }
            .expect("request");
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{} {} as a non-member",
                route.method,
                route.path
            );
            let body = res.text().await.expect("body");
            assert!(
                !body.contains("Tenant B"),
                "{} {} leaks the tenant's name",
                route.method,
                route.path
            );
        }
    }
    // Every route still works for the member's own tenant (the guard is not just closed).
    let a_id = a["id"].as_str().expect("id");
    let (status, body) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{a_id}"), None)
        .await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some("Tenant A")));
    let audit_after: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
        .expect("q");
    assert_eq!(audit_before, audit_after, "no refused request changed anything");
}

#[tokio::test]
async fn every_route_but_the_public_ones_needs_a_caller() {
    let app = spawn_app().await;
    let (_, _) = app.setup_admin().await;
    let public = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/assets/{name}",
        "/login",
        "/logout",
        "/setup",
        // An invitation link is its own credential (one-time, hashed, expiring): whoever
        // holds it sets the invited account's password without signing in.
        "/invite/{token}",
        // The API's description: public, like the contract it describes.
        "/api/v1/openapi.json",
    ];
    for route in route_table(&app.state)
        .iter()
        .filter(|r| !public.contains(&r.path.as_str()))
    {
        let url = app.url(&fill(&route.path, "0190f000-0000-7000-8000-000000000000", "x"));
        let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
        let res = crate::helpers::browser()
            .request(method, &url)
            .send()
            .await
            .expect("request");
        if route.path.starts_with("/api/") {
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{} {}",
                route.method,
                route.path
            );
        } else if route.method == Method::GET {
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{} {} sends to login",
                route.method,
                route.path
            );
        } else {
            // A state-changing page request without a session fails CSRF before anything else.
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{} {}", route.method, route.path);
        }
    }
}
