//! `/healthz`, `/readyz`, `/metrics`.

use policyvault::config::ServeArgs;
use reqwest::StatusCode;

use crate::helpers::{ADMIN_EMAIL, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness_answer_without_auth() {
    let app = spawn_app().await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(app.url("/healthz")).send().await.expect("healthz").status(),
        StatusCode::OK
    );
    // Workers start with the server; readiness waits for them.
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        ready = c.get(app.url("/readyz")).send().await.expect("readyz").status();
        if ready == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ready, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_what_the_database_holds_and_can_require_a_token() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    app.create_tenant(&admin, "A", "x").await;
    app.create_tenant(&admin, "B", "x").await;
    let body = reqwest::get(app.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(body.contains("policyvault_tenants 2"), "{body}");
    assert!(body.contains("policyvault_users 1"), "{body}");
    assert!(
        !body.contains("\"A\"") && !body.contains("secret"),
        "no names or secrets: {body}"
    );

    let guarded = spawn_app_with(ServeArgs {
        metrics_token: Some("scrape-me".into()),
        ..ServeArgs::for_tests()
    })
    .await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(guarded.url("/metrics")).send().await.expect("m").status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = c
        .get(guarded.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("m");
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.expect("body").contains("policyvault_workers_alive"));
}
