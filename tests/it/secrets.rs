//! A tenant's client secret never leaves the encrypted column: not in any page, JSON answer,
//! log line or the database file in clear.

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, ServerProcess, browser, csrf_of, run_binary, tenant_body};

const SECRET: &str = "Zq8~SuperSecretClientValue-4711";

#[tokio::test]
async fn the_client_secret_appears_in_no_page_answer_log_or_file() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_string_lossy().into_owned();
    let (ok, _, err) = run_binary(
        &[
            "--data-dir",
            &d,
            "user",
            "add",
            "--email",
            "root@msp.test",
            "--superadmin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{err}");
    let (ok, token, err) = run_binary(&["--data-dir", &d, "token", "create", "--email", "root@msp.test"], "");
    assert!(ok, "{err}");
    let token = token.trim().to_owned();

    let server = ServerProcess::start(dir.path(), &[("PV_ALLOW_CUSTOM_ENDPOINTS", "1")]);
    let api = Client::new();
    let created: serde_json::Value = api
        .post(server.url("/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&tenant_body("Contoso", SECRET))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let tid = created["id"].as_str().expect("id").to_owned();
    let mut seen = created.to_string();
    // A refused request carrying the secret must not echo it either.
    let mut bad = tenant_body("Other", SECRET);
    bad["client_id"] = json!("bad");
    let res = api
        .post(server.url("/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&bad)
        .send()
        .await
        .expect("bad");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    seen.push_str(&res.text().await.expect("body"));
    for path in [
        "/api/v1/tenants".to_owned(),
        format!("/api/v1/tenants/{tid}"),
        format!("/api/v1/tenants/{tid}/audit"),
    ] {
        seen.push_str(
            &api.get(server.url(&path))
                .bearer_auth(&token)
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("body"),
        );
    }

    // Pages, including the settings form and a secret replacement through it.
    let c = browser();
    let login = c
        .get(server.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    c.post(server.url("/login"))
        .form(&[
            ("_csrf", csrf_of(&login).as_str()),
            ("email", "root@msp.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("sign in");
    let settings = c
        .get(server.url(&format!("/t/{tid}/settings")))
        .send()
        .await
        .expect("settings")
        .text()
        .await
        .expect("body");
    let csrf = csrf_of(&settings);
    let res = c
        .post(server.url(&format!("/t/{tid}/settings")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Contoso"),
            ("entra_tenant_id", "6f1b2c3d-0000-4000-8000-00000000ab12"),
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("client_secret", &format!("{SECRET}-rotated")),
            ("cloud", "global"),
        ])
        .send()
        .await
        .expect("replace secret");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for path in [
        "/".to_owned(),
        format!("/t/{tid}"),
        format!("/t/{tid}/settings"),
        format!("/t/{tid}/audit"),
    ] {
        seen.push_str(
            &c.get(server.url(&path))
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("body"),
        );
    }
    assert!(
        seen.contains("Contoso") && seen.contains("tenant.secret_replaced"),
        "we looked at real pages"
    );

    let logs = server.stop();
    assert!(
        logs.contains("request") && logs.lines().count() > 20,
        "debug logs were captured"
    );
    assert!(!seen.contains(SECRET), "a page or answer shows the secret");
    assert!(
        !logs.contains(SECRET) && !logs.contains(&token),
        "a log line shows the secret or the API token"
    );
    for file in ["policyvault.db", "policyvault.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{file} holds the secret in clear"
            );
        }
    }
}
