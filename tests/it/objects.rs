//! Objects addressed through the wrong tenant: 403 when the caller cannot see the object's
//! tenant (never its data), 404 when they can (the path was wrong).

use policyvault::db::backups::{self, NewSet};
use policyvault::db::policies;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, spawn_app};

#[tokio::test]
async fn another_tenants_runs_versions_and_backup_sets_answer_403_or_404() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let mine = app.create_tenant(&admin, "Mine", "x").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let theirs = app.create_tenant(&admin, "Theirs", "x").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.create_user("tech@msp.test", false).await;
    app.api(
        Method::POST,
        &admin,
        &format!("/api/v1/tenants/{mine}/members"),
        Some(json!({"email": "tech@msp.test", "role": "owner"})),
    )
    .await;
    let tech = app.token_for("tech@msp.test").await;

    // Objects of the other tenant.
    let t = theirs.clone();
    let (policy_id, version_id, set_id) = app
        .state
        .db
        .write(move |tx| {
            let now = policyvault::clock::now();
            let pid = policies::upsert_seen(tx, &t, "deviceConfigurations", "g-1", "Secret baseline", &now)?;
            let p = policies::get(tx, &pid)?.expect("policy");
            let policies::Recorded::New(vid) =
                policies::record_version(tx, &p, "h", "{\"displayName\":\"Secret baseline\"}", None, &now, None)?
            else {
                panic!("new version")
            };
            let sid = policyvault::clock::new_id();
            backups::insert(
                tx,
                &NewSet {
                    id: &sid,
                    tenant_id: &t,
                    name: "Theirs nightly",
                    origin: "manual",
                    schedule_id: None,
                    now: &now,
                },
                &[p],
            )?;
            Ok((pid, vid, sid))
        })
        .await
        .expect("seed");

    for path in [
        format!("/api/v1/tenants/{mine}/versions/{version_id}"),
        format!("/api/v1/tenants/{mine}/policies/{policy_id}/versions"),
        format!("/api/v1/tenants/{mine}/backup-sets/{set_id}"),
    ] {
        let (status, body) = app.api(Method::GET, &tech, &path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(!body.to_string().contains("Secret baseline") && !body.to_string().contains("Theirs nightly"));
        let (status, _) = app.api(Method::GET, &admin, &path, None).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{path} for a superadmin who can see both tenants"
        );
    }
    // Through the right tenant they are there.
    let (status, v) = app
        .api(
            Method::GET,
            &admin,
            &format!("/api/v1/tenants/{theirs}/versions/{version_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["content"]["displayName"], "Secret baseline");
    let (_, set) = app
        .api(
            Method::GET,
            &admin,
            &format!("/api/v1/tenants/{theirs}/backup-sets/{set_id}"),
            None,
        )
        .await;
    assert_eq!(
        (set["item_count"].as_i64(), set["items"][0]["display_name"].as_str()),
        (Some(1), Some("Secret baseline"))
    );
    let (_, list) = app
        .api(Method::GET, &tech, &format!("/api/v1/tenants/{mine}/policies"), None)
        .await;
    assert_eq!(list, json!([]), "the caller's own tenant has no policies");
    let (status, _) = app
        .api(
            Method::GET,
            &tech,
            "/api/v1/tenants/{mine}/versions/nope".replace("{mine}", &mine).as_str(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
