//! The hash-chained audit log: recorded with each change, verified, tamper detected.

use policyvault::audit::{ChainStatus, verify};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, spawn_app};

#[tokio::test]
async fn changes_are_audited_in_an_intact_chain_and_tampering_is_detected() {
    let app = spawn_app().await;
    let (admin_page, _) = app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let tid = t["id"].as_str().expect("id");
    app.create_user("op@msp.test", false).await;
    app.api(
        Method::POST,
        &admin,
        &format!("/api/v1/tenants/{tid}/members"),
        Some(json!({"email": "op@msp.test", "role": "operator"})),
    )
    .await;

    let (status, events) = app
        .api(Method::GET, &admin, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = events
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["member.added", "tenant.created"], "newest first");
    assert_eq!(events[0]["actor"], ADMIN_EMAIL);
    assert_eq!(events[0]["details"]["role"], "operator");
    let op = app.token_for("op@msp.test").await;
    let (status, _) = app
        .api(Method::GET, &op, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators do not read the audit log");

    let conn = app.raw_db();
    let ChainStatus::Intact { events: n } = verify(&conn).expect("verify") else {
        panic!("chain should be intact")
    };
    assert!(n >= 6, "setup, login, tokens, tenant, user, member: {n}");
    // The application cannot rewrite history…
    assert!(conn.execute("UPDATE audit_events SET actor = 'x'", []).is_err());
    assert!(conn.execute("DELETE FROM audit_events", []).is_err());
    // …and someone who bypasses the triggers on the raw file is caught at the edited row.
    conn.execute_batch("DROP TRIGGER audit_events_no_update")
        .expect("drop trigger");
    let victim: (i64, String) = conn
        .query_row(
            "SELECT seq, id FROM audit_events WHERE action = 'member.added'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    conn.execute(
        "UPDATE audit_events SET details = '{\"role\":\"viewer\"}' WHERE seq = ?1",
        [victim.0],
    )
    .expect("tamper");
    match verify(&conn).expect("verify") {
        ChainStatus::Broken { at_id, seq, .. } => assert_eq!((at_id, seq), (victim.1, victim.0)),
        ChainStatus::Intact { .. } => panic!("tampering went unnoticed"),
    }
    let page = admin_page
        .get(app.url(&format!("/t/{tid}/audit")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("chain broken"));
}
