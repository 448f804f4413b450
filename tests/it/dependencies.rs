//! Restores write what others refer to first and rewrite references to re-created objects;
//! what cannot be resolved fails closed. Conditional Access is never enforced by surprise, and
//! a type a tenant does not offer is skipped, not failed.

use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fidelity::{items, run_of};
use crate::helpers::TestApp;
use crate::ops::{admin_app, sim_tenant};

const FILTERS: &str = "deviceManagement/assignmentFilters";
const CONFIGS: &str = "deviceManagement/deviceConfigurations";
const COMPLIANCE: &str = "deviceManagement/deviceCompliancePolicies";
const TEMPLATES: &str = "deviceManagement/notificationMessageTemplates";
const CA: &str = "identity/conditionalAccess/policies";

/// The object of a collection whose JSON contains `needle`.
fn holding(sim: &SimHandle, e: &str, collection: &str, needle: &str) -> Value {
    sim.objects(e, collection)
        .into_iter()
        .find(|o| o.to_string().contains(needle))
        .unwrap_or_else(|| panic!("an object of {collection} holding {needle}"))
}

fn id(o: &Value) -> String {
    o["id"].as_str().expect("id").to_owned()
}

/// A tenant synced and backed up; returns (app, token, sim, tenant id, Entra id, set id).
async fn backed_up(name: &str) -> (TestApp, String, SimHandle, String, String, String) {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, name, 2, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();
    (app, token, sim, tid, t.entra_tenant_id, set)
}

#[tokio::test]
async fn a_deleted_filter_and_the_policy_using_it_come_back_linked_to_the_new_filter() {
    let (app, token, sim, tid, e, set) = backed_up("Filters").await;
    let filter = id(&sim.objects(&e, FILTERS)[0]);
    let policy = sim
        .objects(&e, CONFIGS)
        .into_iter()
        .find(|o| json!(sim.assignments(&e, &id(o))).to_string().contains(&filter))
        .expect("a profile assigned with the filter");
    assert!(sim.delete_object(&e, FILTERS, &filter));
    assert!(sim.delete_object(&e, CONFIGS, &id(&policy)));
    run_of(&app, &token, &tid, "/sync", json!(null)).await;

    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": true}),
    )
    .await;
    let previewed = items(&app, &token, &tid, &preview).await;
    let shown = previewed
        .iter()
        .find(|i| i["label"] == policy["displayName"])
        .expect("the profile's item");
    assert_eq!(
        shown["result"]["references"][0]["status"], "rewritten when re-created",
        "{shown}"
    );

    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Filters"}),
    )
    .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let new_filter = sim
        .objects(&e, FILTERS)
        .into_iter()
        .find(|f| f["displayName"] == created_label(&previewed, "Assignment filter"))
        .map(|f| id(&f))
        .expect("the filter is back");
    assert_ne!(new_filter, filter, "re-created under a new id");
    let back = sim
        .objects(&e, CONFIGS)
        .into_iter()
        .find(|o| o["displayName"] == policy["displayName"])
        .expect("the profile is back");
    let assigned = json!(sim.assignments(&e, &id(&back))).to_string();
    assert!(assigned.contains(&new_filter), "{assigned}");
    assert!(
        !assigned.contains(&filter),
        "no reference to the deleted filter is left"
    );
}

/// The label (display name) of the preview's first item to create whose label holds `part`.
fn created_label(previewed: &[Value], label_part: &str) -> Value {
    previewed
        .iter()
        .find(|i| i["result"]["action"] == "create" && i["label"].as_str().is_some_and(|l| l.contains(label_part)))
        .map(|i| i["label"].clone())
        .expect("a created item of that type")
}

#[tokio::test]
async fn a_compliance_policy_and_its_deleted_notification_template_come_back_linked() {
    let (app, token, sim, tid, e, set) = backed_up("Templates").await;
    let template = id(&sim.objects(&e, TEMPLATES)[0]);
    let policy = holding(&sim, &e, COMPLIANCE, &template);
    assert!(sim.delete_object(&e, TEMPLATES, &template));
    assert!(sim.delete_object(&e, COMPLIANCE, &id(&policy)));
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Templates"}),
    )
    .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let new_template = sim
        .objects(&e, TEMPLATES)
        .into_iter()
        .map(|t| id(&t))
        .find(|t| *t != template && !holding_any(&sim, &e, t).is_empty())
        .expect("the template is back and referred to");
    let back = holding(&sim, &e, COMPLIANCE, &new_template);
    assert_eq!(back["displayName"], policy["displayName"]);
    assert!(!back.to_string().contains(&template));
}

fn holding_any(sim: &SimHandle, e: &str, needle: &str) -> Vec<Value> {
    sim.objects(e, COMPLIANCE)
        .into_iter()
        .filter(|o| o.to_string().contains(needle))
        .collect()
}

#[tokio::test]
async fn a_reference_nobody_brings_back_fails_the_item_closed_and_names_it() {
    let (app, token, sim, tid, e, set) = backed_up("Dangling").await;
    let template = id(&sim.objects(&e, TEMPLATES)[0]);
    let policy = holding(&sim, &e, COMPLIANCE, &template);
    assert!(sim.delete_object(&e, TEMPLATES, &template));
    assert!(sim.delete_object(&e, COMPLIANCE, &id(&policy)));
    run_of(&app, &token, &tid, "/sync", json!(null)).await;
    // Restore the compliance policy alone: its template is deleted and not part of it.
    let (_, full) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    let item = full["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["display_name"] == policy["displayName"])
        .expect("its backup item")["id"]
        .clone();
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Dangling", "item_ids": [item]}),
    )
    .await;
    assert_eq!(restore["status"], "failed", "{restore}");
    let failed = items(&app, &token, &tid, &restore).await.remove(0);
    assert_eq!(failed["error_code"], "unresolved_reference", "{failed}");
    let named = failed["error_context"]["setting"].as_str().unwrap_or_default();
    assert!(
        named.contains("notification template") && named.contains(&template),
        "{failed}"
    );
    assert!(
        sim.objects(&e, COMPLIANCE)
            .iter()
            .all(|o| o["displayName"] != policy["displayName"]),
        "nothing was written"
    );
}

#[tokio::test]
async fn conditional_access_lands_in_report_only_and_tightening_is_listed() {
    let (app, token, sim, tid, e, set) = backed_up("Access").await;
    let enabled = sim
        .objects(&e, CA)
        .into_iter()
        .find(|p| p["state"] == "enabled")
        .expect("an enabled policy");
    let excluded = enabled["conditions"]["users"]["excludeGroups"][0]
        .as_str()
        .expect("an exclusion")
        .to_owned();
    // In the portal: one policy deleted; another loosened (turned to report-only, exclusion kept).
    assert!(sim.delete_object(&e, CA, &id(&enabled)));
    let other = sim
        .objects(&e, CA)
        .into_iter()
        .find(|p| p["state"] != "enabled")
        .expect("another");
    sim.edit_object(&e, CA, &id(&other), |p| {
        p["conditions"]["users"]["excludeGroups"] = json!([excluded, "6b8a0c2e-0000-4b1e-9a3d-0000000000aa"]);
    });
    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": true}),
    )
    .await;
    let previewed = items(&app, &token, &tid, &preview).await;
    let loosened = previewed
        .iter()
        .find(|i| i["label"] == other["displayName"])
        .expect("item");
    assert!(
        loosened["result"]["tightens"]
            .to_string()
            .contains("removes the exclusion"),
        "{loosened}"
    );
    let created = previewed
        .iter()
        .find(|i| i["label"] == enabled["displayName"])
        .expect("item");
    assert!(
        created["result"].get("tightens").is_none(),
        "created in report-only: {created}"
    );

    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Access"}),
    )
    .await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    let back = sim
        .objects(&e, CA)
        .into_iter()
        .find(|p| p["displayName"] == enabled["displayName"])
        .expect("re-created");
    assert_eq!(back["state"], "enabledForReportingButNotEnforced");

    // Asked to keep the captured state, it comes back enforced.
    assert!(sim.delete_object(&e, CA, &id(&back)));
    let kept = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Access", "conditional_access_state": "as_captured"}),
    )
    .await;
    assert_eq!(kept["status"], "succeeded", "{kept}");
    let back = sim
        .objects(&e, CA)
        .into_iter()
        .find(|p| p["displayName"] == enabled["displayName"])
        .expect("re-created");
    assert_eq!(back["state"], "enabled");
}

#[tokio::test]
async fn a_type_the_tenant_does_not_offer_is_skipped_and_verify_names_the_permission() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Unlicensed", 1, None).await;
    sim.set_faults(Faults {
        forbidden_collections: vec![CA.into()],
        ..Faults::default()
    });
    let sync = run_of(&app, &token, &tid, "/sync", json!(null)).await;
    assert_eq!(sync["status"], "succeeded", "{sync}");
    let skipped = items(&app, &token, &tid, &sync)
        .await
        .into_iter()
        .find(|i| i["status"] == "skipped")
        .expect("the unavailable type");
    // A 403 is a missing permission, not a licence (issue 22): the sync names it, and a
    // backup without the type is not whole.
    assert_eq!(skipped["result"]["reason"], "not captured: permission missing");
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Without CA"})).await;
    assert_eq!(backup["status"], "partial", "{backup}");
    let verify = run_of(&app, &token, &tid, "/verify", json!(null)).await;
    let forbidden = items(&app, &token, &tid, &verify)
        .await
        .into_iter()
        .find(|i| i["status"] == "failed")
        .expect("the forbidden type");
    assert_eq!(forbidden["error_code"], "graph_forbidden");
    assert!(
        forbidden["result"]["missing_permission"]
            .as_str()
            .is_some_and(|p| p.contains("Policy.ReadWrite.ConditionalAccess")),
        "{forbidden}"
    );
}
