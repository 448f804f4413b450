//! Issue 12's findings about where credentials may travel: redirects, next links on other
//! hosts, custom endpoints after the switch is turned off, and moving a tenant's endpoints
//! or ids without the secret. Each uses a fake Graph and a "catcher" host over real HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode as AxStatus, header};
use axum::response::IntoResponse;
use policyvault::config::ServeArgs;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp, spawn_app_with, tenant_body};
use crate::runs::wait_for_run;

/// Serves `router` on a random loopback port; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A host that must never be contacted: it counts every request it gets.
async fn catcher() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "caught"
        }
    });
    (serve(router).await, hits)
}

/// A Graph + login host: the token endpoint answers with `token_answer`, every other
/// request with one page whose next link points at `next_link`.
async fn fake_graph(token_redirect_to: Option<String>, next_link: String) -> String {
    let router = Router::new()
        .route(
            "/{tid}/oauth2/v2.0/token",
            axum::routing::post(move || {
                let to = token_redirect_to.clone();
                async move {
                    match to {
                        Some(to) => (AxStatus::TEMPORARY_REDIRECT, [(header::LOCATION, to)], "").into_response(),
                        None => {
                            axum::Json(json!({"access_token": "fake-access-token", "expires_in": 3600})).into_response()
                        }
                    }
                }
            }),
        )
        .fallback(move || {
            let next = next_link.clone();
            async move { axum::Json(json!({"value": [], "@odata.nextLink": next})) }
        });
    serve(router).await
}

async fn admin(settings: ServeArgs) -> (TestApp, String) {
    let app = spawn_app_with(settings).await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    (app, token)
}

async fn tenant_at(app: &TestApp, token: &str, base: &str) -> String {
    let mut body = tenant_body("Contoso", "the-client-secret");
    body["graph_base_url"] = json!(base);
    body["login_base_url"] = json!(base);
    let (status, created) = app.api(Method::POST, token, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

async fn run_to_end(app: &TestApp, token: &str, tid: &str, what: &str) -> (Value, Value) {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}/{what}"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let rid = started["run"]["id"].as_str().expect("run id").to_owned();
    let run = wait_for_run(app, token, tid, &rid).await;
    let (_, items) = app
        .api(
            Method::GET,
            token,
            &format!("/api/v1/tenants/{tid}/runs/{rid}/items"),
            None,
        )
        .await;
    (run, items)
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused_and_never_gets_the_token() {
    let (evil, hits) = catcher().await;
    let graph = fake_graph(None, format!("{evil}/beta/steal?$skiptoken=1")).await;
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let tid = tenant_at(&app, &token, &graph).await;
    let (run, items) = run_to_end(&app, &token, &tid, "sync").await;
    assert_ne!(run["status"], "succeeded", "{run}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the other host was contacted");
    let seen = format!("{run}{items}");
    assert!(seen.contains("another host"), "the failure says why: {seen}");
}

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    let (evil, hits) = catcher().await;
    let graph = fake_graph(Some(format!("{evil}/collect")), format!("{evil}/unused")).await;
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let tid = tenant_at(&app, &token, &graph).await;
    let (run, _) = run_to_end(&app, &token, &tid, "verify").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error_code"], "auth_failed", "{run}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the secret followed the redirect");
}

#[tokio::test]
async fn custom_endpoints_saved_earlier_are_refused_at_use_once_the_switch_is_off() {
    let (evil, hits) = catcher().await;
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let tid = tenant_at(&app, &token, &evil).await;
    let app = app
        .restart(
            ServeArgs {
                allow_custom_endpoints: false,
                ..ServeArgs::for_tests()
            },
            |_| {},
        )
        .await;
    let (run, _) = run_to_end(&app, &token, &tid, "verify").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error_context"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("PV_ALLOW_CUSTOM_ENDPOINTS")),
        "{run}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the secret went to the custom host");
}

#[tokio::test]
async fn moving_a_tenants_endpoint_or_ids_needs_the_secret_again() {
    let (evil, hits) = catcher().await;
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let (status, created) = app
        .api(
            Method::POST,
            &token,
            "/api/v1/tenants",
            Some(tenant_body("Contoso", "s3cret")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let tid = created["id"].as_str().expect("id").to_owned();
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let base = tenant_body("Contoso", "");
    let form = |changes: &[(&str, &str)], secret: &str| {
        let mut f: Vec<(String, String)> = ["name", "entra_tenant_id", "client_id", "cloud"]
            .iter()
            .map(|k| ((*k).to_owned(), base[*k].as_str().expect("field").to_owned()))
            .collect();
        f.push(("_csrf".into(), csrf.clone()));
        f.push(("client_secret".into(), secret.to_owned()));
        for (k, v) in changes {
            f.retain(|(fk, _)| fk != k);
            f.push(((*k).to_owned(), (*v).to_owned()));
        }
        f
    };
    let moves: [&[(&str, &str)]; 5] = [
        &[("login_base_url", evil.as_str())],
        &[("graph_base_url", evil.as_str())],
        &[("entra_tenant_id", "6f1b2c3d-0000-4000-8000-0000000000ff")],
        &[("client_id", "11111111-2222-3333-4444-5555555555ff")],
        &[("cloud", "usgov")],
    ];
    for change in moves {
        let res = c
            .post(app.url(&format!("/t/{tid}/settings")))
            .form(&form(change, ""))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{change:?}");
        assert!(res.text().await.expect("body").contains("secret entered again"));
    }
    let stored: (String, String) = app
        .raw_db()
        .query_row(
            "SELECT login_base_url, client_id FROM tenants WHERE id = ?1",
            [&tid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!(stored.0, "https://login.microsoftonline.com");
    // Renaming alone keeps the stored secret; a move with the secret is accepted.
    let res = c
        .post(app.url(&format!("/t/{tid}/settings")))
        .form(&form(&[("name", "Contoso EU")], ""))
        .send()
        .await
        .expect("rename");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no refused move reached the other host");
    // With the secret entered again the move is accepted (and verified at once, against the
    // host the owner chose, with the secret they just typed).
    let res = c
        .post(app.url(&format!("/t/{tid}/settings")))
        .form(&form(
            &[("name", "Contoso EU"), ("login_base_url", evil.as_str())],
            "s3cret-new",
        ))
        .send()
        .await
        .expect("move with secret");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// Issue 20: custom endpoints point the server at any host (an internal one too), so only a
/// superadmin may set them; a tenant's owner may not, on the page or through the API.
#[tokio::test]
async fn only_a_superadmin_sets_custom_endpoints_not_a_tenant_owner() {
    const OWNER: &str = "owner@customer.test";
    let (internal, hits) = catcher().await;
    let (app, admin_token) = admin(ServeArgs::for_tests()).await;
    let tid = app.create_tenant(&admin_token, "Contoso", "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.create_user(OWNER, false).await;
    let (status, body) = app
        .api(
            Method::POST,
            &admin_token,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(json!({"email": OWNER, "role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (owner, csrf) = app.signed_in(OWNER).await;
    let base = tenant_body("Contoso", "");
    let form = |changes: &[(&str, &str)], secret: &str| {
        let mut f: Vec<(String, String)> = ["name", "entra_tenant_id", "client_id", "cloud"]
            .iter()
            .map(|k| ((*k).to_owned(), base[*k].as_str().expect("field").to_owned()))
            .collect();
        f.push(("_csrf".into(), csrf.clone()));
        f.push(("client_secret".into(), secret.to_owned()));
        for (k, v) in changes {
            f.retain(|(fk, _)| fk != k);
            f.push(((*k).to_owned(), (*v).to_owned()));
        }
        f
    };
    let settings = app.url(&format!("/t/{tid}/settings"));
    for change in [
        &[("graph_base_url", internal.as_str())][..],
        &[("login_base_url", internal.as_str())][..],
    ] {
        // With the secret typed again, so nothing but the endpoint rule stands in the way.
        let res = owner
            .post(&settings)
            .form(&form(change, "s3cret-again"))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{change:?}");
        let why = res.text().await.expect("body");
        assert!(why.contains("only a superadmin"), "{why}");
    }
    let stored: (String, String) = app
        .raw_db()
        .query_row(
            "SELECT graph_base_url, login_base_url FROM tenants WHERE id = ?1",
            [&tid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!(
        stored,
        (
            "https://graph.microsoft.com".to_owned(),
            "https://login.microsoftonline.com".to_owned()
        )
    );
    // Through the API: the owner's token cannot create a tenant aimed there either.
    let owner_token = app.token_for(OWNER).await;
    let mut body = tenant_body("Inside", "s");
    body["graph_base_url"] = json!(internal);
    body["login_base_url"] = json!(internal);
    let (status, answer) = app.api(Method::POST, &owner_token, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the internal host was never contacted");

    // Endpoints a superadmin set stay: the owner still saves the other settings with them.
    let (admin_client, admin_csrf) = app.signed_in(ADMIN_EMAIL).await;
    let mut by_admin = form(
        &[
            ("graph_base_url", internal.as_str()),
            ("login_base_url", internal.as_str()),
        ],
        "s3cret-again",
    );
    by_admin.retain(|(k, _)| k != "_csrf");
    by_admin.push(("_csrf".into(), admin_csrf));
    let res = admin_client
        .post(&settings)
        .form(&by_admin)
        .send()
        .await
        .expect("admin");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a superadmin sets them");
    let page = app.page(&owner, &format!("/t/{tid}/settings")).await;
    assert!(
        page.contains("set by a superadmin") && page.contains(&format!("value=\"{internal}\" readonly")),
        "the owner sees them read-only: {page}"
    );
    let res = owner
        .post(&settings)
        .form(&form(
            &[
                ("name", "Contoso EU"),
                ("graph_base_url", internal.as_str()),
                ("login_base_url", internal.as_str()),
            ],
            "",
        ))
        .send()
        .await
        .expect("rename");
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "renaming keeps the endpoints a superadmin set"
    );
}
