//! The tenants, members and me endpoints of API v1, against `shared/API.md`.

use policyvault::config::ServeArgs;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, spawn_app, spawn_app_with, tenant_body};

#[tokio::test]
async fn tenants_are_validated_with_messages_that_name_the_problem() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let cases = [
        (
            json!({"client_id": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "client id",
        ),
        (
            json!({"entra_tenant_id": "contoso"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Entra tenant id",
        ),
        (
            json!({"cloud": "mars"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "cloud must be",
        ),
        (
            json!({"client_secret": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "client secret is required",
        ),
        (json!({"name": "  "}), StatusCode::UNPROCESSABLE_ENTITY, "name"),
        (
            json!({"graph_base_url": "ftp://x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "graph_base_url",
        ),
    ];
    for (patch, status, words) in cases {
        let mut body = tenant_body("Contoso", "s3cret");
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (got, answer) = app.api(Method::POST, &admin, "/api/v1/tenants", Some(body)).await;
        assert_eq!(got, status, "{patch} → {answer}");
        assert!(
            answer["error"]["message"].as_str().expect("message").contains(words),
            "{answer}"
        );
    }
    let (status, answer) = app
        .api(Method::POST, &admin, "/api/v1/tenants", Some(json!({"name": "x"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "missing fields: {answer}");
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/tenants"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    app.create_tenant(&admin, "Contoso", "s3cret").await;
    let (status, answer) = app
        .api(
            Method::POST,
            &admin,
            "/api/v1/tenants",
            Some(tenant_body("contoso", "x")),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let n: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM tenants", [], |r| r.get(0))
        .expect("q");
    assert_eq!(n, 1, "nothing half-created by the refused requests");
}

#[tokio::test]
async fn custom_endpoints_need_the_server_switch() {
    let app = spawn_app_with(ServeArgs {
        allow_custom_endpoints: false,
        ..ServeArgs::for_tests()
    })
    .await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let mut body = tenant_body("Fabrikam", "s3cret");
    body["graph_base_url"] = json!("http://10.0.0.1:8080");
    let (status, answer) = app
        .api(Method::POST, &admin, "/api/v1/tenants", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("PV_ALLOW_CUSTOM_ENDPOINTS")
    );
    body["graph_base_url"] = json!(null);
    body["cloud"] = json!("china");
    let (status, t) = app.api(Method::POST, &admin, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(t["graph_base_url"], "https://microsoftgraph.chinacloudapi.cn");
    assert_eq!(t["login_base_url"], "https://login.chinacloudapi.cn");

    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let mut body = tenant_body("Sim", "s3cret");
    body["graph_base_url"] = json!("http://127.0.0.1:9999/");
    body["login_base_url"] = json!("http://127.0.0.1:9999");
    let (status, t) = app.api(Method::POST, &admin, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(t["graph_base_url"], "http://127.0.0.1:9999");
}

#[tokio::test]
async fn only_superadmins_create_tenants_and_users_see_only_their_own() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let a = app.create_tenant(&admin, "A", "x").await;
    app.create_tenant(&admin, "B", "x").await;
    app.create_user("tech@msp.test", false).await;
    let tech = app.token_for("tech@msp.test").await;
    let (status, _) = app
        .api(Method::POST, &tech, "/api/v1/tenants", Some(tenant_body("C", "x")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = app.api(Method::GET, &tech, "/api/v1/tenants", None).await;
    assert_eq!(list, json!([]));
    let a_id = a["id"].as_str().expect("id");
    app.api(
        Method::POST,
        &admin,
        &format!("/api/v1/tenants/{a_id}/members"),
        Some(json!({"email": "tech@msp.test", "role": "viewer"})),
    )
    .await;
    let (_, list) = app.api(Method::GET, &tech, "/api/v1/tenants", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "A");
    let (_, me) = app.api(Method::GET, &tech, "/api/v1/me", None).await;
    assert_eq!(me["memberships"], json!([{"tenant_id": a_id, "role": "viewer"}]));
    let (_, all) = app.api(Method::GET, &admin, "/api/v1/tenants", None).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn owners_manage_members_but_never_remove_the_last_owner() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let members = format!("/api/v1/tenants/{}/members", t["id"].as_str().expect("id"));
    for email in ["owner@msp.test", "viewer@msp.test"] {
        app.create_user(email, false).await;
    }
    let (status, m) = app
        .api(
            Method::POST,
            &admin,
            &members,
            Some(json!({"email": "owner@msp.test", "role": "owner"})),
        )
        .await;
    assert_eq!((status, m["role"].as_str()), (StatusCode::OK, Some("owner")));
    let owner = app.token_for("owner@msp.test").await;
    let (status, _) = app
        .api(
            Method::POST,
            &owner,
            &members,
            Some(json!({"email": "viewer@msp.test", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let viewer = app.token_for("viewer@msp.test").await;
    let (status, _) = app.api(Method::GET, &viewer, &members, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers do not manage members");

    let (status, body) = app
        .api(
            Method::POST,
            &owner,
            &members,
            Some(json!({"email": "ghost@msp.test", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app
        .api(
            Method::POST,
            &owner,
            &members,
            Some(json!({"email": "viewer@msp.test", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let owner_id = m["user_id"].as_str().expect("id");
    let (status, body) = app
        .api(Method::DELETE, &owner, &format!("{members}/{owner_id}"), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "last owner stays: {body}");
    let (status, _) = app
        .api(
            Method::POST,
            &owner,
            &members,
            Some(json!({"email": "viewer@msp.test", "role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .api(Method::DELETE, &owner, &format!("{members}/{owner_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.api(Method::GET, &owner, &members, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a removed owner loses access at once");
    let (_, list) = app.api(Method::GET, &admin, &members, None).await;
    assert_eq!(
        list,
        json!([{"user_id": list[0]["user_id"], "email": "viewer@msp.test", "role": "owner"}])
    );
}
