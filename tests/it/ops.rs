//! Operations through the API against the Graph simulator: sync, verify, snapshot, backup,
//! and the failure paths (wrong secret, a type down, throttling), plus dedupe under a race.

use policyvault::graph::canonical::canonicalize;
use policyvault::graph::registry::TYPES;
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::runs::wait_for_run;

/// A tenant in the app that points at a simulated tenant.
pub async fn sim_tenant(
    app: &TestApp,
    token: &str,
    sim: &SimHandle,
    name: &str,
    per_type: usize,
    secret: Option<&str>,
) -> (String, policyvault::sim::SimTenantInfo) {
    let t = sim.add_tenant(name, per_type);
    (register(app, token, sim, name, &t, secret).await, t)
}

/// Adds a simulated tenant to the app (with `secret` instead of its own when given); its id.
pub async fn register(
    app: &TestApp,
    token: &str,
    sim: &SimHandle,
    name: &str,
    t: &policyvault::sim::SimTenantInfo,
    secret: Option<&str>,
) -> String {
    let body = json!({
        "name": name, "entra_tenant_id": t.entra_tenant_id, "client_id": t.client_id,
        "client_secret": secret.unwrap_or(&t.client_secret), "cloud": "global",
        "graph_base_url": sim.base_url(), "login_base_url": sim.base_url(),
    });
    let (status, created) = app.api(Method::POST, token, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

pub async fn admin_app() -> (TestApp, String, SimHandle) {
    admin_app_with(policyvault::config::ServeArgs::for_tests()).await
}

/// A server with these settings, its first admin's API token, and a simulator.
pub async fn admin_app_with(settings: policyvault::config::ServeArgs) -> (TestApp, String, SimHandle) {
    let app = crate::helpers::spawn_app_with(settings).await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    (app, token, crate::graph::sim().await)
}

/// How many types are supported, as the runs count them.
fn types() -> i64 {
    i64::try_from(TYPES.len()).expect("few types")
}

pub async fn start_and_wait(app: &TestApp, token: &str, tid: &str, path: &str, body: Option<Value>) -> Value {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}{path}"), body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run id")).await
}

pub async fn items(app: &TestApp, token: &str, tid: &str, run: &Value) -> Vec<Value> {
    let (_, items) = app
        .api(
            Method::GET,
            token,
            &format!("/api/v1/tenants/{tid}/runs/{}/items", run["id"].as_str().expect("id")),
            None,
        )
        .await;
    items.as_array().expect("items").clone()
}

#[tokio::test]
async fn sync_fills_the_inventory_and_marks_vanished_policies_deleted() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Contoso", 3, None).await;
    let run = start_and_wait(&app, &token, &tid, "/sync", None).await;
    assert_eq!(
        (run["status"].as_str(), run["total"].as_i64(), run["succeeded"].as_i64()),
        (Some("succeeded"), Some(types()), Some(types())),
        "{run}"
    );
    let (_, list) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(3 * TYPES.len()));
    let (_, scripts) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?type=powershell_script"),
            None,
        )
        .await;
    assert_eq!(scripts.as_array().map(Vec::len), Some(3));

    let gone = sim.objects(&t.entra_tenant_id, "deviceManagement/deviceConfigurations")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(sim.delete_object(&t.entra_tenant_id, "deviceManagement/deviceConfigurations", &gone));
    start_and_wait(&app, &token, &tid, "/sync", None).await;
    let (_, all) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?include_deleted=true"),
            None,
        )
        .await;
    let deleted: Vec<&Value> = all
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["deleted"] == true)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["graph_id"], gone);
    assert!(sim.journal().is_empty(), "sync never writes to the tenant");
}

#[tokio::test]
async fn a_wrong_secret_fails_the_run_as_auth_failed() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Wrong", 1, Some("definitely-wrong")).await;
    let run = start_and_wait(&app, &token, &tid, "/verify", None).await;
    assert_eq!(
        (run["status"].as_str(), run["error_code"].as_str()),
        (Some("failed"), Some("auth_failed")),
        "{run}"
    );
    assert_eq!(run["error_context"]["graph_error_code"], "invalid_client");
    assert!(
        run["error_context"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("AADSTS7000215: the client secret is wrong")),
        "Entra's error in words: {run}"
    );
    assert_eq!(run["failed"], run["total"]);
}

#[tokio::test]
async fn one_type_down_makes_the_sync_partial_with_graph_unavailable_items() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Half down", 2, None).await;
    sim.set_faults(Faults {
        down_collections: vec!["deviceManagement/deviceHealthScripts".into()],
        ..Faults::default()
    });
    let run = start_and_wait(&app, &token, &tid, "/sync", None).await;
    assert_eq!(
        (
            run["status"].as_str(),
            run["failed"].as_i64(),
            run["succeeded"].as_i64()
        ),
        (Some("partial"), Some(1), Some(types() - 1)),
        "{run}"
    );
    let failed: Vec<Value> = items(&app, &token, &tid, &run)
        .await
        .into_iter()
        .filter(|i| i["status"] == "failed")
        .collect();
    assert_eq!(failed[0]["item_id"], "remediation_script");
    assert_eq!(failed[0]["error_code"], "graph_unavailable");
    assert_eq!(failed[0]["error_context"]["http_status"], 503);
}

#[tokio::test]
async fn throttling_at_30_percent_still_succeeds() {
    // Eight attempts per request: a request fails only after eight 429s in a row (0.3^8).
    let (app, token, sim) = admin_app_with(policyvault::config::ServeArgs {
        graph_max_attempts: 8,
        ..policyvault::config::ServeArgs::for_tests()
    })
    .await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Throttled", 3, None).await;
    sim.set_faults(Faults {
        throttle_rate: 0.3,
        retry_after_secs: 0.02,
        page_size: 2,
        ..Faults::default()
    });
    let run = start_and_wait(&app, &token, &tid, "/sync", None).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, list) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(3 * TYPES.len()));
    let (_, _, throttled) = sim.counters(&t.entra_tenant_id);
    assert!(throttled > 0, "the simulator did throttle");
}

#[tokio::test]
async fn snapshots_store_a_version_only_when_the_policy_changed() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Snap", 1, None).await;
    start_and_wait(&app, &token, &tid, "/sync", None).await;
    let (_, list) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?type=settings_catalog"),
            None,
        )
        .await;
    let pid = list[0]["id"].as_str().expect("id").to_owned();
    let graph_id = list[0]["graph_id"].as_str().expect("gid").to_owned();
    let first = start_and_wait(&app, &token, &tid, &format!("/policies/{pid}/snapshot"), None).await;
    assert_eq!(first["succeeded"], 1, "{first}");
    let again = start_and_wait(&app, &token, &tid, &format!("/policies/{pid}/snapshot"), None).await;
    assert_eq!(again["skipped"], 1, "unchanged: {again}");
    assert_eq!(items(&app, &token, &tid, &again).await[0]["result"]["unchanged"], true);
    let (_, versions) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies/{pid}/versions"),
            None,
        )
        .await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));

    // The stored content is what Graph holds: settings expanded, assignments inline.
    let vid = versions[0]["id"].as_str().expect("vid");
    let (_, v) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/versions/{vid}"),
            None,
        )
        .await;
    let held = sim
        .objects(&t.entra_tenant_id, "deviceManagement/configurationPolicies")
        .into_iter()
        .find(|o| o["id"] == graph_id)
        .expect("object");
    assert_eq!(v["content"]["name"], held["name"]);
    assert_eq!(v["content"]["settings"], held["settings"]);
    assert!(v["content"]["assignments"].as_array().is_some_and(|a| !a.is_empty()));

    assert!(sim.edit_object(
        &t.entra_tenant_id,
        "deviceManagement/configurationPolicies",
        &graph_id,
        |o| o["description"] = json!("changed in the portal")
    ));
    let changed = start_and_wait(&app, &token, &tid, &format!("/policies/{pid}/snapshot"), None).await;
    assert_eq!(changed["succeeded"], 1);
    let (_, versions) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies/{pid}/versions"),
            None,
        )
        .await;
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_backup_of_the_whole_tenant_captures_every_policy_and_a_double_click_makes_one_set() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Backup", 2, None).await;
    start_and_wait(&app, &token, &tid, "/sync", None).await;
    sim.set_faults(Faults {
        latency_ms: 30,
        ..Faults::default()
    });
    let path = format!("/api/v1/tenants/{tid}/backup-sets");
    let body = json!({"name": "Nightly"});
    let (a, b) = tokio::join!(
        app.api(Method::POST, &token, &path, Some(body.clone())),
        app.api(Method::POST, &token, &path, Some(body))
    );
    assert_eq!((a.0, b.0), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(
        a.1["backup_set"]["id"], b.1["backup_set"]["id"],
        "one set for a double click"
    );
    assert!(a.1["reused"] != b.1["reused"], "exactly one of the two created it");
    let run = wait_for_run(&app, &token, &tid, a.1["run"]["id"].as_str().expect("id")).await;
    assert_eq!(
        (run["status"].as_str(), run["succeeded"].as_i64()),
        (Some("succeeded"), Some(3 * types())),
        "{run}"
    );
    let (_, set) = app
        .api(
            Method::GET,
            &token,
            &format!("{path}/{}", a.1["backup_set"]["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(set["item_count"], 2 * TYPES.len());
    assert!(
        set["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["version_id"].is_string())
    );
    let (status, err) = app
        .api(
            Method::POST,
            &token,
            &path,
            Some(json!({"name": "Bad", "policy_ids": ["nope"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
}

#[tokio::test]
async fn the_backup_form_backs_up_the_picked_policies_or_everything_when_none_is_picked() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Picker", 2, None).await;
    start_and_wait(&app, &token, &tid, "/sync", None).await;
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let page = app.page(&c, &format!("/t/{tid}/backups")).await;
    let ids: Vec<String> = page
        .split("name=\"policy_ids\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2 * TYPES.len(), "the picker lists every current policy");
    let post = |fields: Vec<(&'static str, String)>| {
        let (c, url, csrf) = (c.clone(), app.url(&format!("/t/{tid}/backups")), csrf.clone());
        async move {
            let mut form = vec![("_csrf", csrf)];
            form.extend(fields);
            c.post(url).form(&form).send().await.expect("post")
        }
    };
    let set_size = |res: reqwest::Response| {
        let run_id = crate::helpers::run_id_in(&res);
        let (app, token, tid) = (&app, &token, &tid);
        async move {
            let run = wait_for_run(app, token, tid, &run_id).await;
            // A whole-tenant backup also has one listing item per type.
            let listing = if run["total"].as_i64() > Some(2) { types() } else { 0 };
            run["total"].as_i64().map(|t| t - listing)
        }
    };
    let res = post(vec![
        ("name", "Two picked".into()),
        ("policy_ids", ids[0].clone()),
        ("policy_ids", ids[5].clone()),
    ])
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(set_size(res).await, Some(2));
    let res = post(vec![("name", "Everything".into())]).await;
    assert_eq!(set_size(res).await, Some(2 * types()));
    let res = post(vec![("name", "Stale".into()), ("policy_ids", "not-a-policy".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(vec![("name", "  ".into()), ("policy_ids", ids[0].clone())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn fifty_concurrent_identical_starts_make_one_run_and_a_new_one_after_it_ends() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Race", 1, None).await;
    sim.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let path = format!("/api/v1/tenants/{tid}/sync");
    let starts = (0..50).map(|_| app.api(Method::POST, &token, &path, None));
    let answers = futures_util::future::join_all(starts).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::ACCEPTED));
    let ids: std::collections::HashSet<&str> = answers.iter().filter_map(|(_, b)| b["run"]["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "one run for 50 identical starts");
    assert_eq!(answers.iter().filter(|(_, b)| b["reused"] == true).count(), 49);
    let id = (*ids.iter().next().expect("id")).to_owned();
    wait_for_run(&app, &token, &tid, &id).await;
    let (_, next) = app.api(Method::POST, &token, &path, None).await;
    assert_eq!(next["reused"], false);
    assert_ne!(next["run"]["id"], id.as_str());
}

#[tokio::test]
async fn a_run_that_outlives_its_deadline_fails_with_timeout() {
    let (app, token, sim) = admin_app_with(policyvault::config::ServeArgs {
        run_deadline_secs: Some(1),
        ..policyvault::config::ServeArgs::for_tests()
    })
    .await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Hangs", 1, None).await;
    // Each Graph call takes 700 ms: ten items cannot finish within one second.
    sim.set_faults(Faults {
        latency_ms: 700,
        ..Faults::default()
    });
    let run = start_and_wait(&app, &token, &tid, "/sync", None).await;
    assert_eq!(
        (run["status"].as_str(), run["error_code"].as_str()),
        (Some("failed"), Some("timeout")),
        "{run}"
    );
    assert_eq!(
        run["total"],
        run["succeeded"].as_i64().unwrap_or(0) + run["failed"].as_i64().unwrap_or(0),
        "every item ended: {run}"
    );
}

#[tokio::test]
async fn a_snapshot_of_every_type_equals_what_graph_holds() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Every type", 1, None).await;
    start_and_wait(&app, &token, &tid, "/sync", None).await;
    let (_, list) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let list = list.as_array().expect("policies").clone();
    assert_eq!(list.len(), policyvault::graph::registry::TYPES.len());
    for p in &list {
        let pid = p["id"].as_str().expect("id");
        let run = start_and_wait(&app, &token, &tid, &format!("/policies/{pid}/snapshot"), None).await;
        assert_eq!(run["succeeded"], 1, "{}: {run}", p["policy_type"]);
        let (_, versions) = app
            .api(
                Method::GET,
                &token,
                &format!("/api/v1/tenants/{tid}/policies/{pid}/versions"),
                None,
            )
            .await;
        let (_, v) = app
            .api(
                Method::GET,
                &token,
                &format!(
                    "/api/v1/tenants/{tid}/versions/{}",
                    versions[0]["id"].as_str().expect("vid")
                ),
                None,
            )
            .await;
        let ty = policyvault::graph::registry::by_key(p["policy_type"].as_str().expect("type")).expect("registered");
        let held = sim
            .objects(&t.entra_tenant_id, ty.collection)
            .into_iter()
            .find(|o| o["id"] == p["graph_id"])
            .expect("held");
        // Everything Graph holds is in the snapshot (volatile timestamps aside), script bodies included.
        for (k, value) in held.as_object().expect("object") {
            // omaSettings: secret values are sealed (tests/it/fidelity.rs checks them).
            // Collections a recipe reads with requests of its own are held in its shape;
            // volatile properties (timestamps, versions) are not content.
            let volatile = canonicalize(&json!({ k.as_str(): value })).get(k.as_str()).is_none();
            if volatile || k == "omaSettings" || ty.nested.contains(&k.as_str()) {
                continue;
            }
            assert_eq!(v["content"][k], canonicalize(value), "{}: {k}", ty.key);
        }
        if ty.has_assignments() {
            assert!(
                v["content"]["assignments"].as_array().is_some_and(|a| !a.is_empty()),
                "{}: assignments inline",
                ty.key
            );
        }
    }
}

#[tokio::test]
async fn a_backup_keeps_several_requests_in_flight_within_the_tenants_budget() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Overlap", 6, None).await;
    // Graph's real limits, a round trip that costs something, small pages.
    sim.set_faults(Faults {
        latency_ms: 60,
        enforce_limits: true,
        page_size: 7,
        ..Faults::default()
    });
    let run = start_and_wait(&app, &token, &tid, "/backup-sets", Some(json!({"name": "Overlapped"}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(
        sim.peak_in_flight() > 1,
        "listing and capture overlap their round trips (peak in flight: {})",
        sim.peak_in_flight()
    );
    let (_, _, throttled) = sim.counters(&t.entra_tenant_id);
    assert_eq!(throttled, 0, "never over Intune's limit");
    let (busiest, _) = sim.peak_window(&t.entra_tenant_id);
    assert!(busiest <= 1000, "busiest 20 s: {busiest}");
}

/// The ids of a backup set's items of the given policy types, in the set's order.
pub async fn backup_items_of(app: &TestApp, token: &str, tid: &str, set: &str, types: &[&str]) -> Vec<Value> {
    let (_, detail) = app
        .api(
            Method::GET,
            token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    detail["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| types.contains(&i["policy_type"].as_str().unwrap_or_default()))
        .map(|i| i["id"].clone())
        .collect()
}
