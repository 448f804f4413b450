//! A backup is worth what its restore reproduces: every supported type through the simulator
//! over real HTTP, with the quirks Graph has (settings paged at 25, scheduled actions and
//! targeted apps behind their own actions, encrypted OMA-URI values, annotations refused).

use std::collections::BTreeMap;

use policyvault::graph::canonical::content_hash;
use policyvault::graph::policy::strip_ids;
use policyvault::graph::registry::{PolicyType, TYPES};
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::ops::{admin_app, sim_tenant};

const SC: &str = "deviceManagement/configurationPolicies";
const DC: &str = "deviceManagement/deviceConfigurations";

/// Every object id of the tenant → "type:name", so references compare by what they name
/// (a re-created object has a new id; a restore rewrites references to it).
fn labels(sim: &SimHandle, tenant: &str) -> BTreeMap<String, String> {
    TYPES
        .iter()
        .flat_map(|ty| {
            sim.objects(tenant, ty.collection).into_iter().map(move |o| {
                (
                    o["id"].as_str().unwrap_or_default().to_owned(),
                    format!("{}:{}", ty.key, ty.display_name(&o)),
                )
            })
        })
        .collect()
}

fn named(v: &mut Value, labels: &BTreeMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(l) = labels.get(s.as_str()) {
                *s = l.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| named(i, labels)),
        Value::Object(m) => m.values_mut().for_each(|i| named(i, labels)),
        _ => {}
    }
}

/// What a restore controls of an object, comparable across ids: no ids Graph assigns, no
/// timestamps or other properties Graph computes (the type's read-only ones), no secret
/// references (the values are compared apart), references by name.
fn essence(ty: &PolicyType, o: &Value, labels: &BTreeMap<String, String>) -> String {
    let mut o = o.clone();
    strip_ids(&mut o);
    if let Some(m) = o.as_object_mut() {
        for k in ["createdDateTime", "lastModifiedDateTime", "modifiedDateTime"]
            .iter()
            .chain(ty.read_only)
        {
            m.remove(*k);
        }
    }
    if let Some(Value::Array(settings)) = o.get_mut("omaSettings") {
        for s in settings {
            if let Some(m) = s.as_object_mut() {
                m.remove("secretReferenceValueId");
            }
        }
    }
    named(&mut o, labels);
    // A policy set's items have no order Graph keeps.
    if let Some(Value::Array(items)) = o.get_mut("items") {
        items.sort_by_cached_key(content_hash);
    }
    content_hash(&o)
}

/// Every object of the tenant with its assignments: type:name → essence.
pub fn state_of(sim: &SimHandle, tenant: &str) -> BTreeMap<String, String> {
    let labels = labels(sim, tenant);
    TYPES
        .iter()
        .flat_map(|ty| {
            let labels = &labels;
            sim.objects(tenant, ty.collection).into_iter().map(move |o| {
                let id = o["id"].as_str().unwrap_or_default().to_owned();
                let mut assigned = json!(sim.assignments(tenant, &id));
                strip_ids(&mut assigned);
                named(&mut assigned, labels);
                (
                    format!("{}:{}", ty.key, ty.display_name(&o)),
                    format!("{}|{}", essence(ty, &o, labels), content_hash(&assigned)),
                )
            })
        })
        .collect()
}

/// The plain values of every encrypted setting, by profile name and OMA-URI.
fn secrets_of(sim: &SimHandle, tenant: &str) -> BTreeMap<String, String> {
    let store = sim.secret_values(tenant);
    sim.objects(tenant, DC)
        .iter()
        .flat_map(|o| {
            let name = o["displayName"].as_str().unwrap_or_default().to_owned();
            o["omaSettings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s["isEncrypted"] == true)
                .map(move |s| {
                    let reference = s["secretReferenceValueId"].as_str().unwrap_or_default().to_owned();
                    (
                        format!("{name}:{}", s["omaUri"].as_str().unwrap_or_default()),
                        reference,
                    )
                })
        })
        .map(|(k, r)| (k, store.get(&r).cloned().unwrap_or_else(|| "(missing)".into())))
        .collect()
}

/// Starts a run and waits for its end. Restores of every type are paced at Intune's write
/// limit (about 5 writes a second), so this waits longer than the common helper.
/// Equal maps, or a panic naming only the entries that differ.
fn assert_same(have: &BTreeMap<String, String>, want: &BTreeMap<String, String>, what: &str) {
    let differ: Vec<&String> = have
        .keys()
        .chain(want.keys())
        .filter(|k| have.get(*k) != want.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: these differ: {differ:?}");
}

pub async fn run_of(app: &TestApp, token: &str, tid: &str, path: &str, body: Value) -> Value {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}{path}"), Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    crate::runs::wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("id")).await
}

pub async fn items(app: &TestApp, token: &str, tid: &str, run: &Value) -> Vec<Value> {
    let (_, items) = app
        .api(
            Method::GET,
            token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/items?limit=1000",
                run["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    items.as_array().expect("items").clone()
}

/// The live (not deleted) inventory: (type, graph id), sorted.
async fn inventory(app: &TestApp, token: &str, tid: &str) -> Vec<(String, String)> {
    let (_, list) = app
        .api(Method::GET, token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let mut out: Vec<(String, String)> = list
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| {
            (
                p["policy_type"].as_str().unwrap_or_default().to_owned(),
                p["graph_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn live_objects(sim: &SimHandle, tenant: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = TYPES
        .iter()
        .flat_map(|ty| {
            sim.objects(tenant, ty.collection)
                .into_iter()
                .filter(|o| !ty.is_built_in(o))
                .map(|o| (ty.key.to_owned(), o["id"].as_str().unwrap_or_default().to_owned()))
        })
        .collect();
    out.sort();
    out
}

fn id_of(o: &Value) -> String {
    o["id"].as_str().expect("id").to_owned()
}

/// Objects a tenant cannot lose: Microsoft's own, the defaults that exist in every tenant.
fn deletable(ty: &PolicyType, o: &Value) -> bool {
    !ty.is_built_in(o) && o["priority"] != 0 && o["isDefaultProfile"] != true
}

/// Changes, in one object of every type, what only the right write restores, and deletes
/// another one.
fn drift_every_type(sim: &SimHandle, e: &str) {
    for ty in TYPES {
        let objects: Vec<Value> = sim
            .objects(e, ty.collection)
            .into_iter()
            .filter(|o| !ty.is_built_in(o))
            .collect();
        // The first object of each type changes (for device configurations: the custom
        // profile, whose secret is rotated), another one is deleted.
        let changed = if ty.key == "device_configuration" {
            objects
                .iter()
                .find(|o| o["omaSettings"].is_array())
                .cloned()
                .expect("a custom profile")
        } else {
            objects[0].clone()
        };
        let id = id_of(&changed);
        let edit = |f: &mut dyn FnMut(&mut Value)| {
            assert!(sim.edit_object(e, ty.collection, &id, |o| f(o)), "{}", ty.key);
        };
        match ty.key {
            "settings_catalog" => {
                assert_eq!(changed["settings"].as_array().map(Vec::len), Some(40));
                edit(&mut |o| o["settings"][30]["settingInstance"]["choiceSettingValue"]["value"] = json!("tampered"));
            }
            "device_configuration" => {
                let reference = changed["omaSettings"][0]["secretReferenceValueId"]
                    .as_str()
                    .expect("reference")
                    .to_owned();
                assert!(sim.rotate_secret(e, &reference, "rotated-in-the-portal"));
            }
            "compliance_policy" => {
                edit(&mut |o| {
                    o["scheduledActionsForRule"][0]["scheduledActionConfigurations"][1]["gracePeriodHours"] =
                        json!(240);
                });
            }
            "ios_app_protection" | "android_app_protection" | "windows_app_protection" | "app_configuration_app" => {
                edit(&mut |o| {
                    o["apps"].as_array_mut().expect("apps").pop();
                    o["appGroupType"] = json!("allApps");
                });
            }
            "powershell_script" | "macos_shell_script" => edit(&mut |o| o["scriptContent"] = json!("ZXZpbA==")),
            "remediation_script" | "compliance_script" => {
                edit(&mut |o| o["detectionScriptContent"] = json!("ZXZpbA=="));
            }
            "assignment_filter" => edit(&mut |o| o["rule"] = json!("(device.model -eq \"x\")")),
            "auth_strength" => edit(&mut |o| o["allowedCombinations"] = json!(["password,sms"])),
            "security_intent" => edit(&mut |o| o["settings"][0]["valueJson"] = json!("false")),
            "administrative_template" => edit(&mut |o| {
                o["definitionValues"][0]["presentationValues"][0]["value"] = json!("https://evil.example");
            }),
            "notification_template" => {
                edit(&mut |o| o["localizedNotificationMessages"][1]["subject"] = json!("changed"));
            }
            "policy_set" => edit(&mut |o| {
                o["items"].as_array_mut().expect("items").pop();
            }),
            "conditional_access" => edit(&mut |o| {
                o["state"] = json!("disabled");
                o["conditions"]["users"]["excludeGroups"] = json!([]);
            }),
            "named_location" => edit(&mut |o| o["displayName"] = json!("renamed in the portal")),
            "branding_profile" => edit(&mut |o| o["contactITName"] = json!("changed")),
            "autopilot_profile" | "terms_and_conditions" => sim.set_assignments(e, &id, vec![]),
            _ => edit(&mut |o| o["description"] = json!("changed in the portal")),
        }
        let deleted = objects
            .iter()
            .find(|o| id_of(o) != id && deletable(ty, o))
            .unwrap_or_else(|| panic!("{}: a second object", ty.key));
        assert!(sim.delete_object(e, ty.collection, &id_of(deleted)));
    }
}

#[tokio::test]
async fn every_type_comes_back_exactly_and_the_inventory_follows() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Fidelity", 4, None).await;
    let e = t.entra_tenant_id.clone();
    assert_eq!(
        run_of(&app, &token, &tid, "/sync", json!(null)).await["status"],
        "succeeded"
    );
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set_id = backup["target_id"].as_str().expect("set").to_owned();
    let (good, good_secrets) = (state_of(&sim, &e), secrets_of(&sim, &e));
    assert_eq!(
        good_secrets.len(),
        2,
        "the seed holds one custom profile with two secrets"
    );

    drift_every_type(&sim, &e);
    assert_ne!(state_of(&sim, &e), good);
    assert_ne!(secrets_of(&sim, &e), good_secrets);

    // The preview sees the rotated secret as a change, without showing a value.
    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": true}),
    )
    .await;
    let preview_items = items(&app, &token, &tid, &preview).await;
    let text = json!(preview_items).to_string();
    assert!(text.contains("secret changed"), "{text}");
    for value in good_secrets
        .values()
        .chain(std::iter::once(&"rotated-in-the-portal".to_owned()))
    {
        assert!(!text.contains(value.as_str()), "a secret value reached a preview");
    }

    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": false, "confirm": "Fidelity", "include_assignments": true}),
    )
    .await;
    let restored = items(&app, &token, &tid, &restore).await;
    assert_eq!(restore["status"], "succeeded", "{restore} {restored:#?}");
    assert_same(&state_of(&sim, &e), &good, "every object equals its backed-up content");
    assert_eq!(
        secrets_of(&sim, &e),
        good_secrets,
        "the real secret values, never a mask"
    );
    assert!(
        !sim.secret_values(&e).values().any(|v| v == "****" || v == "<a/>"),
        "a mask was written back"
    );
    assert_eq!(inventory(&app, &token, &tid).await, live_objects(&sim, &e));

    // Undo deletes what the restore created: the inventory follows, and the next whole-tenant
    // backup succeeds (no 404 for objects the product itself deleted).
    let undo = run_of(
        &app,
        &token,
        &tid,
        &format!("/runs/{}/undo", restore["id"].as_str().expect("id")),
        json!({"confirm": "Fidelity"}),
    )
    .await;
    assert_eq!(undo["status"], "succeeded", "{undo}");
    assert_eq!(inventory(&app, &token, &tid).await, live_objects(&sim, &e));
    let again = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "After undo"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    let captured = items(&app, &token, &tid, &again)
        .await
        .iter()
        .filter(|i| i["item_type"] == "backup_item")
        .count();
    assert_eq!(captured, live_objects(&sim, &e).len());
}

#[tokio::test]
async fn forty_settings_are_captured_and_restored_forty() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Forty", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Forty"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let item = items(&app, &token, &tid, &backup)
        .await
        .into_iter()
        .find(|i| {
            i["item_type"] == "backup_item" && i["label"].as_str().is_some_and(|l| l.contains("Settings catalog"))
        })
        .expect("settings catalog item");
    let version = item["result"]["version_id"].as_str().expect("version").to_owned();
    let (_, v) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/versions/{version}"),
            None,
        )
        .await;
    assert_eq!(v["content"]["settings"].as_array().map(Vec::len), Some(40), "{v}");

    let policy = sim.objects(&e, SC).remove(0);
    assert!(sim.delete_object(&e, SC, &id_of(&policy)));
    let set_id = backup["target_id"].as_str().expect("set");
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set_id, "dry_run": false, "confirm": "Forty"}),
    )
    .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let back = sim.objects(&e, SC).remove(0);
    assert_eq!(back["settings"].as_array().map(Vec::len), Some(40));
}

#[tokio::test]
async fn a_settings_count_the_capture_cannot_reach_fails_the_item_as_incomplete() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Short", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let id = id_of(&sim.objects(&e, SC)[0]);
    // Graph states more settings than it hands out.
    sim.edit_object(&e, SC, &id, |o| o["settingCountOverride"] = json!(41));
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Short"})).await;
    assert_eq!(backup["status"], "partial", "{backup}");
    let failed = items(&app, &token, &tid, &backup)
        .await
        .into_iter()
        .find(|i| i["status"] == "failed")
        .expect("failed item");
    assert_eq!(failed["error_code"], "incomplete_capture", "{failed}");
    assert_eq!(failed["error_context"]["expected_count"], 41, "{failed}");
    assert_eq!(failed["error_context"]["captured_count"], 40, "{failed}");
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_and_an_unreadable_one_fails_the_capture() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Secrets", 4, None).await;
    let e = t.entra_tenant_id.clone();
    let plain = secrets_of(&sim, &e);
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "With secrets"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");

    // Not in the database file (nor its WAL), nor in any answer about the capture.
    let mut bytes = std::fs::read(app.db_path()).expect("db");
    bytes.extend(std::fs::read(app.db_path().with_extension("db-wal")).unwrap_or_default());
    let captured = json!(items(&app, &token, &tid, &backup).await).to_string();
    for value in plain.values() {
        assert!(!value.is_empty());
        let needle = value.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "a secret is readable in the database"
        );
        assert!(!captured.contains(value.as_str()));
    }
    let (_, list) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    for p in list.as_array().expect("list") {
        let Some(v) = p["latest_version_id"].as_str() else {
            continue;
        };
        let (_, version) = app
            .api(
                Method::GET,
                &token,
                &format!("/api/v1/tenants/{tid}/versions/{v}"),
                None,
            )
            .await;
        for value in plain.values() {
            assert!(!version.to_string().contains(value.as_str()), "a secret in the API");
        }
    }

    // Without ReadWrite the value cannot be read: the item fails naming the setting.
    sim.set_faults(Faults {
        secrets_unreadable: true,
        ..Faults::default()
    });
    let refused = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Refused"})).await;
    assert_eq!(refused["status"], "partial", "{refused}");
    let failed = items(&app, &token, &tid, &refused)
        .await
        .into_iter()
        .find(|i| i["status"] == "failed")
        .expect("failed item");
    assert_eq!(failed["error_code"], "secret_unreadable", "{failed}");
    assert!(
        failed["error_context"]["setting"]
            .as_str()
            .is_some_and(|s| s.starts_with("./Vendor/MSFT/")),
        "{failed}"
    );
}

#[tokio::test]
async fn a_whole_tenant_backup_is_the_tenant_at_run_time() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Now", 2, None).await;
    let e = t.entra_tenant_id.clone();
    assert_eq!(
        run_of(&app, &token, &tid, "/sync", json!(null)).await["status"],
        "succeeded"
    );
    let (_, synced) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let gone = synced
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["policy_type"] == "powershell_script")
        .cloned()
        .expect("a script");

    // After the sync: one policy created in the portal, one deleted.
    let new_id = sim
        .create_object(
            &e,
            DC,
            json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Created after the sync", "passwordMinimumLength": 12}),
        )
        .expect("created");
    assert!(sim.delete_object(
        &e,
        "deviceManagement/deviceManagementScripts",
        gone["graph_id"].as_str().expect("id")
    ));

    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Everything now"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let all = items(&app, &token, &tid, &backup).await;
    let listed: Vec<&Value> = all.iter().filter(|i| i["item_type"] == "backup_list").collect();
    assert_eq!(listed.len(), TYPES.len(), "the listing phase is part of the run");
    let captured: Vec<&Value> = all.iter().filter(|i| i["item_type"] == "backup_item").collect();
    assert_eq!(captured.len(), live_objects(&sim, &e).len());
    assert!(captured.iter().any(|i| i["label"] == "Created after the sync"));
    assert_eq!(backup["total"].as_u64(), Some(all.len() as u64));
    assert_eq!(inventory(&app, &token, &tid).await, live_objects(&sim, &e));
    assert!(inventory(&app, &token, &tid).await.iter().any(|(_, g)| *g == new_id));

    // A backup of picked policies: one deleted since is skipped with the reason, not failed.
    let (_, current) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let picked: Vec<Value> = current
        .as_array()
        .expect("list")
        .iter()
        .take(3)
        .map(|p| p["id"].clone())
        .collect();
    let victim = current.as_array().expect("list")[0].clone();
    let ty = TYPES.iter().find(|t| t.key == victim["policy_type"]).expect("type");
    assert!(sim.delete_object(&e, ty.collection, victim["graph_id"].as_str().expect("id")));
    let some = run_of(
        &app,
        &token,
        &tid,
        "/backup-sets",
        json!({"name": "Picked", "policy_ids": picked}),
    )
    .await;
    assert_eq!(some["status"], "succeeded", "{some}");
    let skipped = items(&app, &token, &tid, &some)
        .await
        .into_iter()
        .find(|i| i["status"] == "skipped")
        .expect("skipped item");
    assert_eq!(skipped["result"]["reason"], "deleted in the tenant since the last sync");
    assert_eq!(inventory(&app, &token, &tid).await, live_objects(&sim, &e));
}

#[tokio::test]
async fn the_simulator_refuses_annotations_in_write_bodies() {
    let sim = crate::graph::sim().await;
    let t = sim.add_tenant("Annotations", 1);
    let refused = sim.create_object(
        &t.entra_tenant_id,
        "deviceAppManagement/iosManagedAppProtections",
        json!({"displayName": "x", "apps@odata.context": "https://graph/$metadata#apps"}),
    );
    assert!(refused.is_err_and(|e| e.contains("400")));
    let refused = sim.create_object(
        &t.entra_tenant_id,
        "deviceManagement/deviceCompliancePolicies",
        json!({"@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "no block action"}),
    );
    assert!(refused.is_err(), "a compliance policy needs exactly one block action");
}

#[tokio::test]
async fn a_wifi_key_graph_never_returns_is_neither_cleared_nor_recreated_empty() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "WiFi", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let wifi = sim
        .create_object(
            &e,
            DC,
            json!({"@odata.type": "#microsoft.graph.windowsWifiConfiguration", "displayName": "Office Wi-Fi",
                   "ssid": "CONTOSO", "wifiSecurityType": "wpa2Personal", "preSharedKey": "correct-horse-wifi"}),
        )
        .expect("created");
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "With Wi-Fi"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();

    // Changed in the portal: the restore updates it and the key on devices stays.
    sim.edit_object(&e, DC, &wifi, |o| o["ssid"] = json!("CONTOSO-GUEST"));
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "WiFi"}),
    )
    .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let held = sim
        .objects(&e, DC)
        .into_iter()
        .find(|o| o["id"] == wifi)
        .expect("profile");
    assert_eq!(held["ssid"], "CONTOSO");
    assert_eq!(
        held["preSharedKey"], "correct-horse-wifi",
        "the live key was not cleared"
    );

    // Deleted: the backup cannot hold the key, so the profile is not re-created without it.
    assert!(sim.delete_object(&e, DC, &wifi));
    let again = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "WiFi"}),
    )
    .await;
    assert_eq!(again["status"], "succeeded", "{again}");
    let skipped = items(&app, &token, &tid, &again)
        .await
        .into_iter()
        .find(|i| i["label"] == "Office Wi-Fi")
        .expect("its item");
    assert_eq!(skipped["status"], "skipped", "{skipped}");
    assert!(
        skipped["result"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("preSharedKey"))
    );
    assert!(sim.objects(&e, DC).iter().all(|o| o["displayName"] != "Office Wi-Fi"));
}
