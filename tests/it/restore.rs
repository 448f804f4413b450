//! Preview, restore, undo and rerun against the simulator, end to end through the API.

use policyvault::graph::registry::TYPES;
use policyvault::sim::state::Faults;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::ops::{admin_app, sim_tenant};
use crate::runs::wait_for_run;

use crate::fidelity::state_of;

async fn run_of(app: &crate::helpers::TestApp, token: &str, tid: &str, path: &str, body: Value) -> Value {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}{path}"), Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("id")).await
}

#[tokio::test]
async fn preview_writes_nothing_restore_brings_everything_back_and_undo_returns_the_drift() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Restore", 2, None).await;
    let e = t.entra_tenant_id.clone();
    run_of(&app, &token, &tid, "/sync", json!(null)).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded");
    let set_id = backup["target_id"].as_str().expect("set").to_owned();
    let good = state_of(&sim, &e);

    // Drift: change two policies (one of them its assignments), delete two.
    let dc = sim.objects(&e, "deviceManagement/deviceConfigurations");
    let sc = sim.objects(&e, "deviceManagement/configurationPolicies");
    let scripts = sim.objects(&e, "deviceManagement/deviceManagementScripts");
    sim.edit_object(
        &e,
        "deviceManagement/deviceConfigurations",
        dc[0]["id"].as_str().expect("id"),
        |o| o["passwordMinimumLength"] = json!(4),
    );
    sim.edit_object(
        &e,
        "deviceManagement/configurationPolicies",
        sc[0]["id"].as_str().expect("id"),
        |o| {
            o["settings"][0]["settingInstance"]["choiceSettingValue"]["value"] = json!("allow_tampered");
        },
    );
    sim.delete_object(
        &e,
        "deviceManagement/deviceManagementScripts",
        scripts[1]["id"].as_str().expect("id"),
    );
    sim.delete_object(
        &e,
        "deviceManagement/deviceCompliancePolicies",
        sim.objects(&e, "deviceManagement/deviceCompliancePolicies")[0]["id"]
            .as_str()
            .expect("id"),
    );
    let drifted = state_of(&sim, &e);
    assert_ne!(good, drifted);
    let writes_before = sim.journal().len();

    // Preview: exactly the drift, and not a single write.
    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": true}),
    )
    .await;
    assert_eq!(preview["status"], "succeeded", "{preview}");
    let (_, items) = app
        .api(
            Method::GET,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/items",
                preview["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let actions: Vec<(String, String)> = items
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["result"]["action"] != "unchanged")
        .map(|i| {
            (
                i["result"]["action"].as_str().unwrap_or_default().to_owned(),
                i["label"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(actions.iter().filter(|(a, _)| a == "update").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|(a, _)| a == "create").count(), 2, "{actions:?}");
    let update = items
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["result"]["action"] == "update" && i["label"] == dc[0]["displayName"])
        .expect("update item");
    assert!(
        update["result"]["diff"]
            .as_array()
            .expect("diff")
            .iter()
            .any(|d| d["path"] == "/passwordMinimumLength" && d["old"] == 4),
        "{update}"
    );
    assert_eq!(sim.journal().len(), writes_before, "a preview writes nothing");
    // The run page narrows to the four changes, out of every item of the set.
    let (c, _) = app.signed_in(crate::helpers::ADMIN_EMAIL).await;
    let page = app
        .page(
            &c,
            &format!("/t/{tid}/runs/{}?show=succeeded", preview["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(page.matches("data-item=").count(), 4, "only the changes are listed");
    assert!(page.contains("<strong>Changes 4</strong>"), "{page}");

    // Live restore: refused without the right confirmation, for operators, and then done.
    for confirm in [json!(null), json!("restore")] {
        let (status, body) = app
            .api(
                Method::POST,
                &token,
                &format!("/api/v1/tenants/{tid}/restores"),
                Some(json!({"backup_set_id": set_id, "dry_run": false, "confirm": confirm})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": false, "confirm": "Restore", "include_assignments": true}),
    )
    .await;
    let (_, debug_items) = app
        .api(
            Method::GET,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/items?limit=1000",
                restore["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let failed: Vec<&Value> = debug_items
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["status"] == "failed")
        .collect();
    assert_eq!(restore["status"], "succeeded", "{restore} {failed:#?}");
    assert_eq!(
        state_of(&sim, &e),
        good,
        "every object is back as it was, assignments included"
    );
    let (_, ritems) = app
        .api(
            Method::GET,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/items",
                restore["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let written: Vec<&Value> = ritems
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["status"] == "succeeded")
        .collect();
    // The four drifted objects, and the policy set whose item pointed at the re-created
    // compliance policy: its payload id is rewritten to the new one.
    assert_eq!(written.len(), 5, "{written:#?}");
    assert!(
        written
            .iter()
            .any(|i| i["result"]["references"][0]["status"] == "rewritten")
    );
    assert!(
        written.iter().all(|i| i["result"]["verified"] == true),
        "every write was read back"
    );
    let (_, audit) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    let linked: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["run_id"] == restore["id"])
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(linked, ["restore.finished", "restore.started"]);
    assert!(restore["before_backup_set_id"].is_string());

    // Undo: the drifted state comes back (updates reverted, created objects deleted).
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/undo",
                restore["id"].as_str().expect("id")
            ),
            Some(json!({"confirm": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let undo = run_of(
        &app,
        &token,
        &tid,
        &format!("/runs/{}/undo", restore["id"].as_str().expect("id")),
        json!({"confirm": "Restore"}),
    )
    .await;
    assert_eq!(undo["status"], "succeeded", "{undo}");
    assert_eq!(state_of(&sim, &e), drifted, "undo brought the drifted state back");
}

#[tokio::test]
async fn a_rerun_retries_only_the_failed_items_of_a_restore() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Rerun", 1, None).await;
    let e = t.entra_tenant_id.clone();
    run_of(&app, &token, &tid, "/sync", json!(null)).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Base"})).await;
    let set_id = backup["target_id"].as_str().expect("set").to_owned();
    for ty in TYPES {
        let o = sim.objects(&e, ty.collection);
        sim.edit_object(&e, ty.collection, o[0]["id"].as_str().expect("id"), |o| {
            o["description"] = json!("drifted");
        });
    }
    sim.set_faults(Faults {
        down_collections: vec!["deviceManagement/deviceHealthScripts".into()],
        ..Faults::default()
    });
    let first = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": false, "confirm": "Rerun"}),
    )
    .await;
    let (_, first_items) = app
        .api(
            Method::GET,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/items?limit=1000",
                first["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let failed: Vec<&Value> = first_items
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["status"] == "failed")
        .collect();
    assert_eq!(
        (first["status"].as_str(), first["failed"].as_i64()),
        (Some("partial"), Some(1)),
        "{first} {failed:#?}"
    );
    sim.set_faults(Faults::default());
    let rerun = run_of(
        &app,
        &token,
        &tid,
        &format!("/runs/{}/rerun", first["id"].as_str().expect("id")),
        json!({"confirm": "Rerun"}),
    )
    .await;
    assert_eq!(
        (rerun["status"].as_str(), rerun["total"].as_i64()),
        (Some("succeeded"), Some(1)),
        "{rerun}"
    );
    assert_eq!(rerun["parent_run_id"], first["id"]);
    assert_eq!(rerun["kind"], "restore.rerun");
}

/// A restore that only re-creates a deleted policy overwrote nothing: it keeps no empty
/// "Before restore … 0 of 0" set, its undo still works (it deletes what it created), and the
/// undo's notification says what it did, by name. The undo's own "before" set holds the
/// object it deleted, so the undo can be undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_only_creates_keeps_no_empty_set_and_its_undo_says_what_it_deleted() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Contoso", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let coll = "deviceManagement/deviceCompliancePolicies";
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set_id = backup["target_id"].as_str().expect("set").to_owned();
    let gone = sim.objects(&e, coll)[0].clone();
    let name = gone["displayName"].as_str().expect("name").to_owned();
    assert!(sim.delete_object(&e, coll, gone["id"].as_str().expect("id")));
    let (_, set) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set_id}"),
            None,
        )
        .await;
    let item = set["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["display_name"] == json!(name))
        .expect("the deleted policy's item")["id"]
        .clone();
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": false, "confirm": "Contoso", "item_ids": [item]}),
    )
    .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    assert_eq!(
        restore["before_backup_set_id"],
        Value::Null,
        "nothing was overwritten: {restore}"
    );
    let (_, sets) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/backup-sets"), None)
        .await;
    assert!(
        !sets.to_string().contains("Before restore"),
        "no empty before-restore set: {sets}"
    );

    let undo = run_of(
        &app,
        &token,
        &tid,
        &format!("/runs/{}/undo", restore["id"].as_str().expect("id")),
        json!({"confirm": "Contoso"}),
    )
    .await;
    assert_eq!(undo["status"], "succeeded", "{undo}");
    assert!(
        sim.objects(&e, coll).iter().all(|o| o["displayName"] != json!(name)),
        "deleted again"
    );
    let before = undo["before_backup_set_id"]
        .as_str()
        .expect("the undo keeps what it deleted");
    let (_, kept) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{before}"),
            None,
        )
        .await;
    assert_eq!(kept["items"].as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(kept["items"][0]["display_name"], json!(name), "{kept}");
    let (_, notes) = app.api(Method::GET, &token, "/api/v1/notifications", None).await;
    let wanted = format!("Undo on Contoso: 1 policy deleted ({name}).");
    assert!(notes.to_string().contains(&wanted), "{wanted} in {notes}");
}
