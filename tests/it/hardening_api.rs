//! Issue 12's API findings, through the real server: foreign schedule ids, the schedule
//! interval rule, names with control characters, whole-second next runs, password resets
//! and API tokens.

use policyvault::config::ServeArgs;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp, spawn_app_with, tenant_body};

async fn admin(settings: ServeArgs) -> (TestApp, String) {
    let app = spawn_app_with(settings).await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    (app, token)
}

async fn tenant(app: &TestApp, token: &str, name: &str) -> String {
    app.create_tenant(token, name, "s3cret").await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn a_schedule_id_of_another_tenant_is_forbidden_not_missing() {
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let a = tenant(&app, &token, "A").await;
    let b = tenant(&app, &token, "B").await;
    let (status, s) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{b}/schedules"),
            Some(json!({"cron": "0 2 * * *", "keep_last": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let sid = s["id"].as_str().expect("id");
    for (method, path) in [
        (Method::POST, format!("/api/v1/tenants/{a}/schedules/{sid}/pause")),
        (Method::POST, format!("/api/v1/tenants/{a}/schedules/{sid}/resume")),
        (Method::DELETE, format!("/api/v1/tenants/{a}/schedules/{sid}")),
    ] {
        let (status, body) = app.api(method, &token, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{a}/schedules/nope/pause"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown id is still 404");
    let (_, list) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{b}/schedules"), None)
        .await;
    assert_eq!(list[0]["enabled"], true, "B's schedule was not touched");
}

#[tokio::test]
async fn the_interval_rule_looks_at_every_gap_not_the_first_two() {
    let (app, token) = admin(ServeArgs {
        schedule_min_interval_secs: 900,
        ..ServeArgs::for_tests()
    })
    .await;
    let tid = tenant(&app, &token, "A").await;
    // Minutes 0-4 fire one minute apart; the first two firings from most times of the hour
    // (…:20 and the next …:00) are 40 minutes apart.
    for cron in ["0-4,20 * * * *", "0-5 3 * * Sun"] {
        let (status, body) = app
            .api(
                Method::POST,
                &token,
                &format!("/api/v1/tenants/{tid}/schedules"),
                Some(json!({"cron": cron, "keep_last": 3})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{cron}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("every 1 min")),
            "{body}"
        );
    }
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/schedules"),
            Some(json!({"cron": "0 2,14 * * *", "keep_last": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Next runs are whole seconds: no sub-second offset from the moment of the request.
    let runs = body["next_runs"].as_array().expect("next runs");
    assert_eq!(runs.len(), 3);
    for r in runs {
        let r = r.as_str().expect("time");
        assert!(r.ends_with(":00.000Z") || r.ends_with(":00Z"), "{r}");
    }
}

#[tokio::test]
async fn names_with_control_or_direction_characters_are_refused() {
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let tid = tenant(&app, &token, "A").await;
    for bad in ["Evil\u{0}Name", "two\r\nlines", "exe\u{202E}fdp.txt", "tab\there"] {
        let (status, body) = app
            .api(Method::POST, &token, "/api/v1/tenants", Some(tenant_body(bad, "s")))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "tenant {bad:?}: {body}");
        let (status, body) = app
            .api(
                Method::POST,
                &token,
                &format!("/api/v1/tenants/{tid}/backup-sets"),
                Some(json!({"name": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "backup set {bad:?}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("control")));
    }
    let sets: i64 = app
        .raw_db()
        .query_row("SELECT COUNT(*) FROM backup_sets", [], |r| r.get(0))
        .expect("count");
    assert_eq!(sets, 0);
}

#[tokio::test]
async fn a_password_reset_says_tokens_keep_working_and_can_revoke_them() {
    let (app, _) = admin(ServeArgs::for_tests()).await;
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    app.create_user("ops@msp.test", false).await;
    let user_token = app.token_for("ops@msp.test").await;
    let id: String = app
        .raw_db()
        .query_row("SELECT id FROM users WHERE email = 'ops@msp.test'", [], |r| r.get(0))
        .expect("id");
    let users_page = app.page(&c, "/admin/users").await;
    assert!(users_page.contains("API tokens keep working"), "the page says so");
    assert!(
        users_page.contains("name=\"revoke_tokens\""),
        "and offers revoking them"
    );

    let reset = |revoke: bool| {
        let mut form = vec![("_csrf", csrf.clone()), ("password", format!("{PASSWORD} 2"))];
        if revoke {
            form.push(("revoke_tokens", "on".to_owned()));
        }
        c.post(app.url(&format!("/admin/users/{id}/password")))
            .form(&form)
            .send()
    };
    let res = reset(false).await.expect("reset");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.api(Method::GET, &user_token, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK, "without the box the token keeps working");

    let res = reset(true).await.expect("reset and revoke");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.api(Method::GET, &user_token, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "with the box the token is revoked");
}

#[tokio::test]
async fn every_api_error_has_the_contracts_json_shape() {
    let (app, token) = admin(ServeArgs::for_tests()).await;
    let tid = tenant(&app, &token, "A").await;
    let client = reqwest::Client::new();
    let big = json!({"name": "x".repeat(3 * 1024 * 1024), "policy_ids": []});
    let cases = [
        (
            client.get(app.url(&format!("/api/v1/tenants/{tid}/audit?limit=-1"))),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            client.get(app.url(&format!("/api/v1/tenants/{tid}/runs?limit=lots"))),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            client.put(app.url("/api/v1/me")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            client
                .post(app.url(&format!("/api/v1/tenants/{tid}/backup-sets")))
                .json(&big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (req, status, code) in cases {
        let res = req.bearer_auth(&token).send().await.expect("request");
        assert_eq!(res.status(), status, "{code}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .is_ok_and(|v| v.starts_with("application/json")),
            "{code}"
        );
        let body: serde_json::Value = res.json().await.expect("JSON body");
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_api_routes_of_the_router() {
    let app = crate::helpers::spawn_app().await;
    // No token needed: the contract is public.
    let res = reqwest::get(app.url("/api/v1/openapi.json")).await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: serde_json::Value = res.json().await.expect("JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );

    let mut documented = std::collections::BTreeSet::new();
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            documented.insert((method.to_uppercase(), path.clone()));
            let id = op["operationId"].as_str().expect("operationId").to_owned();
            assert!(operation_ids.insert(id.clone()), "operationId {id} is unique");
            let responses = op["responses"].as_object().expect("responses");
            if path != "/api/v1/openapi.json" {
                assert!(responses.contains_key("401"), "{method} {path} documents 401");
                assert_eq!(
                    responses["401"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                    "{method} {path}: errors have the contract's shape"
                );
            }
            if path.starts_with("/api/v1/tenants/{tid}") {
                assert!(responses.contains_key("403"), "{method} {path} documents 403");
            }
        }
    }
    let served: std::collections::BTreeSet<(String, String)> = policyvault::web::route_table(&app.state)
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1"))
        .map(|r| (r.method.as_str().to_owned(), r.path))
        .collect();
    assert_eq!(documented, served, "documented vs served /api/v1 routes");
    let error = &doc["components"]["schemas"]["Error"];
    assert!(error["properties"]["error"].is_object(), "{error}");
}
