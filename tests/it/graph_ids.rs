//! Graph ids from outside the process (an imported zip, a Graph answer, a stored row) are
//! checked against the id grammar before any path is built from them, and a capture keeps
//! only the object it asked for: an id is never a path into the tenant's Graph.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::export::{download, import, unzip, zip_of};
use crate::fidelity::{items, run_of};
use crate::ops::{admin_app, sim_tenant};

const CONFIGS: &str = "deviceManagement/deviceConfigurations";
const CATEGORIES: &str = "deviceManagement/deviceCategories";

/// The custom profile holding encrypted values, and the plain texts of those values.
fn encrypted_profile(sim: &policyvault::sim::SimHandle, entra: &str) -> (String, String, Vec<String>) {
    let profile = sim
        .objects(entra, CONFIGS)
        .into_iter()
        .find(|o| {
            o["omaSettings"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["isEncrypted"] == true))
        })
        .expect("the seed holds a custom profile with encrypted values");
    let reference = profile["omaSettings"]
        .as_array()
        .expect("settings")
        .iter()
        .find_map(|s| s["secretReferenceValueId"].as_str())
        .expect("a secret reference")
        .to_owned();
    let plain: Vec<String> = sim.secret_values(entra).into_values().collect();
    assert!(!plain.is_empty());
    (profile["id"].as_str().expect("id").to_owned(), reference, plain)
}

fn holds_none(text: &str, secrets: &[String]) -> bool {
    secrets.iter().all(|s| !text.contains(s.as_str()))
}

/// Every run item's stored result, as text.
fn stored_results(app: &crate::helpers::TestApp) -> String {
    let db = app.raw_db();
    let mut q = db.prepare("SELECT coalesce(result, '') FROM run_items").expect("q");
    let rows: Vec<String> = q
        .query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    rows.join("\n")
}

/// The reported attack: an operator imports a zip whose "device category" has a `graph_id`
/// that walks to `getOmaSettingPlainTextValue`, and previews it. The import is refused, and
/// whatever happens, no plain secret reaches a run item.
#[tokio::test]
async fn an_imported_graph_id_that_is_a_path_is_refused_and_reveals_no_secret() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Contoso", 4, None).await;
    let entra = t.entra_tenant_id.clone();
    let (profile, reference, secrets) = encrypted_profile(&sim, &entra);
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let files = unzip(&download(&app, &token, &tid, &set).await.bytes().await.expect("zip"));
    let mut manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let category = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["policy_type"] == "device_category")
        .expect("a device category in the export")
        .clone();
    let evil =
        format!("../deviceConfigurations/{profile}/getOmaSettingPlainTextValue(secretReferenceValueId='{reference}')");
    let mut tampered = category.clone();
    tampered["graph_id"] = json!(evil);
    manifest["files"] = json!([tampered]);
    let path = category["path"].as_str().expect("path");
    let zip = zip_of(&[
        ("manifest.json", serde_json::to_vec(&manifest).expect("json")),
        (path, files[path].clone()),
    ]);

    let (status, body) = import(&app, &token, &tid, zip).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("graph_id") && message.contains(path), "{message}");
    let stored: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM policies WHERE graph_id LIKE '%/%'", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(stored, 0, "nothing of the refused zip was stored");
    assert!(holds_none(&stored_results(&app), &secrets));
}

/// Defence in depth: a policy row that already holds such an id (stored before ids were
/// checked) never becomes a request; its preview item fails and holds no secret.
#[tokio::test]
async fn a_stored_id_that_is_a_path_never_becomes_a_request() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Fabrikam", 4, None).await;
    let entra = t.entra_tenant_id.clone();
    let (profile, reference, secrets) = encrypted_profile(&sim, &entra);
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let evil =
        format!("../deviceConfigurations/{profile}/getOmaSettingPlainTextValue(secretReferenceValueId='{reference}')");
    let changed = app
        .raw_db()
        .execute(
            "UPDATE policies SET graph_id = ?1 WHERE id = (SELECT id FROM policies WHERE policy_type = 'device_category' LIMIT 1)",
            [&evil],
        )
        .expect("update");
    assert_eq!(changed, 1);

    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": true}),
    )
    .await;
    let rows = items(&app, &token, &tid, &preview).await;
    let all = serde_json::to_string(&rows).expect("json");
    assert!(holds_none(&all, &secrets), "a secret reached the preview's items");
    assert!(holds_none(&stored_results(&app), &secrets));
    let failed: Vec<&Value> = rows.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "only the category with the bad id fails: {all}");
    assert_eq!(failed[0]["error_code"], "graph_bad_request", "{all}");
}

/// A Graph answer is hostile too: a listed object whose id is a path is not inventoried, and
/// a GET whose answer is another object (another id, another type) stores nothing.
#[tokio::test]
async fn graph_answers_with_foreign_ids_or_types_are_not_stored() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Tailspin", 1, None).await;
    let entra = t.entra_tenant_id.clone();
    let categories = sim.objects(&entra, CATEGORIES);
    let first = categories[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        run_of(&app, &token, &tid, "/sync", json!(null)).await["status"],
        "succeeded"
    );

    // The listing names an id that is a path: the type fails, the id is stored nowhere.
    assert!(sim.edit_object(&entra, CATEGORIES, &first, |o| o["id"] =
        json!("../deviceConfigurations")));
    let sync = run_of(&app, &token, &tid, "/sync", json!(null)).await;
    assert_eq!(sync["status"], "partial", "{sync}");
    let rows = items(&app, &token, &tid, &sync).await;
    let failed: Vec<&Value> = rows.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert_eq!(failed[0]["error_code"], "graph_bad_request", "{rows:?}");
    let stored: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM policies WHERE graph_id LIKE '%.%'", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(stored, 0);

    // A GET by id answered with another object: the snapshot fails and keeps no version.
    assert!(sim.edit_object(&entra, CATEGORIES, &first, |o| o["id"] = json!(first.clone())));
    let policy: String = app
        .raw_db()
        .query_row("SELECT id FROM policies WHERE graph_id = ?1", [&first], |r| r.get(0))
        .expect("the category is inventoried");
    let versions = |app: &crate::helpers::TestApp| -> i64 {
        app.raw_db()
            .query_row(
                "SELECT count(*) FROM policy_versions WHERE policy_id = ?1",
                [&policy],
                |r| r.get(0),
            )
            .expect("count")
    };
    let before = versions(&app);
    for (what, change) in [
        ("another id", json!({"id": "6f1c7b54-5b1b-4b6e-9a0e-2f4d5f6a7b8c"})),
        (
            "another type",
            json!({"@odata.type": "#microsoft.graph.conditionalAccessPolicy"}),
        ),
    ] {
        assert!(sim.edit_object(&entra, CATEGORIES, &first, |o| {
            for (k, v) in change.as_object().expect("object") {
                o[k] = v.clone();
            }
        }));
        let (status, started) = app
            .api(
                Method::POST,
                &token,
                &format!("/api/v1/tenants/{tid}/policies/{policy}/snapshot"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{what}: {started}");
        let run = crate::runs::wait_for_run(&app, &token, &tid, started["run"]["id"].as_str().expect("id")).await;
        assert_eq!(run["status"], "failed", "{what}: {run}");
        let rows = items(&app, &token, &tid, &run).await;
        assert_eq!(rows[0]["error_code"], "incomplete_capture", "{what}: {rows:?}");
        assert_eq!(versions(&app), before, "{what}: no version was stored");
        assert!(sim.edit_object(&entra, CATEGORIES, &first, |o| {
            o["id"] = json!(first.clone());
            o.as_object_mut().expect("object").remove("@odata.type");
        }));
    }
}
