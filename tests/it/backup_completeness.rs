//! A backup that misses whole types never reads "complete": a type that could not be listed
//! (5xx after retries, 403) makes the set incomplete, named with its reason, in the API, the
//! backups list, the set page, the overview and the dashboard; "Re-run failed items" lists
//! those types again and captures them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fidelity::run_of;
use crate::helpers::ADMIN_EMAIL;
use crate::ops::{admin_app, sim_tenant};
use policyvault::sim::state::Faults;

const REMEDIATIONS: &str = "deviceManagement/deviceHealthScripts";
const ROLES: &str = "deviceManagement/roleDefinitions";

async fn set_of(app: &crate::helpers::TestApp, token: &str, tid: &str, set: &str) -> Value {
    let (status, body) = app
        .api(
            Method::GET,
            token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_missing_types_reads_incomplete_everywhere_until_they_are_captured() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Contoso", 1, None).await;
    let role_type = policyvault::graph::registry::by_key("role_definition").expect("type");
    let roles = sim
        .objects(&t.entra_tenant_id, ROLES)
        .iter()
        .filter(|o| !role_type.is_built_in(o))
        .count();
    assert!(roles > 0, "the tenant has custom roles");
    sim.set_faults(Faults {
        down_collections: vec![REMEDIATIONS.into()],
        forbidden_collections: vec![ROLES.into()],
        ..Faults::default()
    });
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly"})).await;
    assert_eq!(backup["status"], "partial", "{backup}");
    let set_id = backup["target_id"].as_str().expect("set").to_owned();

    // The API.
    let set = set_of(&app, &token, &tid, &set_id).await;
    assert_eq!(set["complete"], false, "{set}");
    let missing: Vec<(String, String)> = set["missing_types"]
        .as_array()
        .expect("missing types")
        .iter()
        .map(|m| {
            (
                m["policy_type"].as_str().expect("type").to_owned(),
                m["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect();
    let role_permission = policyvault::graph::registry::by_key("role_definition")
        .expect("type")
        .permission;
    assert_eq!(
        missing,
        vec![
            ("remediation_script".to_owned(), "Graph was unavailable".to_owned()),
            (
                "role_definition".to_owned(),
                format!("not captured: permission {role_permission} missing")
            ),
        ],
        "{set}"
    );
    let (_, list) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/backup-sets"), None)
        .await;
    assert_eq!(list[0]["complete"], false, "{list}");

    // Every page that shows the set says the same, in words.
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let says = |html: &str, page: &str| {
        assert!(html.contains("2 types not captured"), "{page}: {html}");
        assert!(html.contains("Graph was unavailable"), "{page}");
        assert!(
            html.contains(&format!("permission {role_permission} missing")),
            "{page}"
        );
        assert!(
            !html.contains("not available in this tenant"),
            "{page}: a 403 is not a licence matter"
        );
    };
    says(&app.page(&c, &format!("/t/{tid}/backups")).await, "backups list");
    says(&app.page(&c, &format!("/t/{tid}/backups/{set_id}")).await, "set page");
    says(&app.page(&c, &format!("/t/{tid}")).await, "overview");
    says(&app.page(&c, "/").await, "dashboard");
    let failed = app.page(&c, "/?filter=backup_failed").await;
    assert!(failed.contains("Contoso"), "the dashboard's failed filter finds it");

    // "Re-run failed items" lists both types again and captures what they hold.
    sim.set_faults(Faults::default());
    let (status, again) = app
        .api(
            Method::POST,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/rerun",
                backup["id"].as_str().expect("id")
            ),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    let rerun = crate::runs::wait_for_run(&app, &token, &tid, again["run"]["id"].as_str().expect("id")).await;
    assert_eq!(rerun["status"], "succeeded", "{rerun}");
    let set = set_of(&app, &token, &tid, &set_id).await;
    assert_eq!(set["complete"], true, "{set}");
    assert_eq!(set["missing_types"], json!([]));
    let held = set["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["policy_type"] == "role_definition")
        .count();
    assert_eq!(held, roles, "every custom role is in the set now");
    let list = app.page(&c, &format!("/t/{tid}/backups")).await;
    assert!(
        !list.contains("types not captured") && list.contains(">complete<"),
        "{list}"
    );
}

/// A sync may skip a type it may not read, but says why in the words verify uses.
#[tokio::test]
async fn a_sync_names_a_missing_permission_not_a_licence() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Fabrikam", 1, None).await;
    sim.set_faults(Faults {
        forbidden_collections: vec![ROLES.into()],
        ..Faults::default()
    });
    let sync = run_of(&app, &token, &tid, "/sync", json!(null)).await;
    let rows = crate::fidelity::items(&app, &token, &tid, &sync).await;
    let skipped: Vec<&Value> = rows.iter().filter(|r| r["status"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{rows:?}");
    assert_eq!(skipped[0]["result"]["reason"], "not captured: permission missing");
}
