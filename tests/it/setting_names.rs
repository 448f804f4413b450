//! Issue 13, item 8: a changed settings catalog setting reads by its definition's display
//! name. The simulator serves `GET /beta/deviceManagement/configurationSettings/{id}` (404
//! for an id it does not know); a capture run resolves the definitions its documents use,
//! each at most once ever, into `setting_definitions`, apart from the documents.

use policyvault::graph::{ErrorCode, Graph};
use policyvault::sim::SimHandle;
use policyvault::sim::setting_definitions::DEFENDER_PREFIX;
use policyvault::sim::state::Faults;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::fidelity::run_of;
use crate::graph::{connection, sim};
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ops::{admin_app, sim_tenant};

#[tokio::test]
async fn the_simulator_answers_setting_definitions_by_id_and_404_for_unknown_ones() {
    let sim = sim().await;
    let t = sim.add_tenant("Definitions", 1);
    let g = Graph::default().reader(connection(&sim, &t, &t.client_secret));
    let one = g
        .get(&format!("deviceManagement/configurationSettings/{DEFENDER_PREFIX}0"))
        .await
        .expect("a known definition");
    assert_eq!(one["id"], format!("{DEFENDER_PREFIX}0"));
    assert_eq!(one["displayName"], "Allow Realtime Monitoring");
    assert!(one["description"].is_string(), "{one}");
    // In a $batch, with an id that needs escaping (braces) and one the catalog lacks.
    let answers = g
        .get_many(&[
            "deviceManagement/configurationSettings/vendor_msft_firewall_mdmstore_firewallrules_%7Bfirewallrulename%7D"
                .to_owned(),
            "deviceManagement/configurationSettings/device_vendor_msft_no_such_setting".to_owned(),
        ])
        .await;
    assert_eq!(
        answers[0].as_ref().map(|d| d["displayName"].clone()).ok(),
        Some(serde_json::json!("Firewall Rule Name")),
        "{answers:?}"
    );
    assert_eq!(
        answers[1].as_ref().err().map(|e| e.code),
        Some(ErrorCode::GraphNotFound),
        "{answers:?}"
    );
    assert_eq!(sim.setting_definition_reads(&t.entra_tenant_id), 3);
}

const CATALOG: &str = "deviceManagement/configurationPolicies";
const SCRIPTS: &str = "deviceManagement/deviceManagementScripts";
const FILTERS: &str = "deviceManagement/assignmentFilters";
/// A group collection setting with one child: the child's value is what changes.
const GROUP_SETTING: &str = "device_vendor_msft_policy_config_defender_setting_41";
const CHILD_SETTING: &str = "device_vendor_msft_policy_config_defender_setting_42";

fn stored_definitions(app: &TestApp) -> Vec<(String, Option<String>)> {
    let db = app.raw_db();
    let mut stmt = db
        .prepare("SELECT definition_id, display_name FROM setting_definitions ORDER BY definition_id")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("definitions")
}

/// The first settings catalog policy (40 settings) of a tenant: its Graph id.
fn catalog_policy(sim: &SimHandle, e: &str) -> String {
    sim.objects(e, CATALOG)
        .iter()
        .find(|o| o["settings"].as_array().is_some_and(|s| s.len() == 40))
        .and_then(|o| o["id"].as_str())
        .expect("the seed's first settings catalog policy")
        .to_owned()
}

/// Adds a group collection setting whose child holds `port`, as an admin would.
fn add_group_setting(sim: &SimHandle, e: &str, pid: &str, port: &str) {
    sim.edit_object(e, CATALOG, pid, |o| {
        if let Some(list) = o["settings"].as_array_mut() {
            list.retain(|s| s["settingInstance"]["settingDefinitionId"] != GROUP_SETTING);
            list.push(json!({"id": "41", "settingInstance": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
                "settingDefinitionId": GROUP_SETTING,
                "groupSettingCollectionValue": [{"children": [{
                    "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                    "settingDefinitionId": CHILD_SETTING,
                    "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue", "value": port}}]}]}}));
        }
    });
}

/// Changes the value of the policy's first setting (`…_setting_0`).
fn flip_first_setting(sim: &SimHandle, e: &str, pid: &str, value: &str) {
    sim.edit_object(e, CATALOG, pid, |o| {
        o["settings"][0]["settingInstance"]["choiceSettingValue"]["value"] = json!(value);
    });
}

/// A restore preview of the given backup items: the run, once finished.
async fn preview(app: &TestApp, token: &str, tid: &str, set: &str, items: Vec<Value>) -> Value {
    let run = run_of(
        app,
        token,
        tid,
        "/restores",
        json!({"backup_set_id": set, "item_ids": items, "dry_run": true, "include_assignments": true}),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_names_settings_and_filters_and_the_preview_shows_the_names() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Northwind", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let pid = catalog_policy(&sim, &e);
    add_group_setting(&sim, &e, &pid, "8443");
    let filter = sim.objects(&e, FILTERS)[0].clone();
    let (filter_id, filter_name) = (
        filter["id"].as_str().expect("filter id").to_owned(),
        filter["displayName"].as_str().expect("filter name").to_owned(),
    );
    let sid = sim.objects(&e, SCRIPTS)[0]["id"].as_str().expect("id").to_owned();
    sim.set_assignments(
        &e,
        &sid,
        vec![json!({"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
            "deviceAndAppManagementAssignmentFilterId": filter_id, "deviceAndAppManagementAssignmentFilterType": "exclude"}})],
    );
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let stored = stored_definitions(&app);
    for id in [
        format!("{DEFENDER_PREFIX}0"),
        GROUP_SETTING.to_owned(),
        CHILD_SETTING.to_owned(),
    ] {
        assert!(
            stored.iter().any(|(i, n)| *i == id && n.is_some()),
            "{id} was named: {stored:?}"
        );
    }
    // Names are kept apart from the documents: no stored content holds one.
    let in_content: i64 = app
        .raw_db()
        .query_row(
            "SELECT COUNT(*) FROM policy_contents WHERE instr(content, 'Allow Realtime Monitoring') > 0",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(in_content, 0, "a setting's name went into a policy's content");

    // In the portal: the first setting and the child's value change, the script is moved to
    // a group; the preview of restoring both shows what the backup holds by name.
    flip_first_setting(&sim, &e, &pid, &format!("{DEFENDER_PREFIX}0_9"));
    add_group_setting(&sim, &e, &pid, "9443");
    sim.set_assignments(
        &e,
        &sid,
        vec![json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "6b8a0c2e-eeee-4b1e-9a3d-000000000005"}})],
    );
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let items = crate::ops::backup_items_of(&app, &token, &tid, &set, &["settings_catalog", "powershell_script"]).await;
    let run = preview(&app, &token, &tid, &set, items).await;

    let run_url = app.url(&format!("/t/{tid}/runs/{}", run["id"].as_str().expect("id")));
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&run_url).await?;
        b.client
            .wait()
            .for_element(fantoccini::Locator::Css(".pv-setting"))
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        b.client
            .execute(
                "document.querySelectorAll('details.pv-item-diff').forEach(d => d.open = true);
                 document.querySelector('.pv-setting').scrollIntoView();",
                vec![],
            )
            .await?;
        let _ = std::fs::write("/tmp/pv-pages-diff-setting-names.png", b.client.screenshot().await?);
        b.client
            .execute(
                "return [...document.querySelectorAll('.pv-setting')].map(e => [e.title, e.querySelector('strong').textContent, e.textContent])
                   .concat([...document.querySelectorAll('.pv-filter')].map(e => [e.title, e.querySelector('strong').textContent, e.textContent]));",
                vec![],
            )
            .await
    }
    .await;
    let shown = match journey {
        Ok(v) => v,
        Err(err) => b.fail("setting and filter names on the preview", &err).await,
    };
    b.close().await;
    let rows: Vec<(String, String, String)> = serde_json::from_value(shown.clone()).expect("rows");
    let row = |id: &str| rows.iter().find(|(title, _, _)| title == id).cloned();
    let first = row(&format!("{DEFENDER_PREFIX}0")).unwrap_or_else(|| panic!("the first setting by name: {shown}"));
    assert_eq!(first.1, "Allow Realtime Monitoring", "the name in bold: {shown}");
    assert!(
        first.2.contains(&format!("{DEFENDER_PREFIX}0")),
        "the id in small print: {shown}"
    );
    let child = row(CHILD_SETTING).unwrap_or_else(|| panic!("the child setting by its own name: {shown}"));
    assert_eq!(
        child.1,
        policyvault::sim::setting_definitions::display_name(CHILD_SETTING).expect("known"),
        "{shown}"
    );
    let f = row(&filter_id).unwrap_or_else(|| panic!("the filter by name: {shown}"));
    assert_eq!(f.1, filter_name, "{shown}");
    assert!(f.2.contains(&format!("filter: {filter_name} (exclude)")), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_definition_is_read_once_for_all_tenants_and_runs() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Litware", 3, None).await;
    let e = t.entra_tenant_id.clone();
    let first = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "First"})).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    // The seed's catalog policies use settings 0 to 39: forty definitions, two $batches.
    assert_eq!(sim.setting_definition_reads(&e), 40);
    let stored = stored_definitions(&app);
    assert_eq!(stored.len(), 40, "{stored:?}");
    for (id, name) in &stored {
        assert_eq!(
            name.as_deref(),
            policyvault::sim::setting_definitions::display_name(id).as_deref(),
            "stored as Graph has it"
        );
    }

    // Everything known: the next backup, and another tenant's first, read none.
    let second = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Second"})).await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(
        sim.setting_definition_reads(&e),
        40,
        "no read when every definition is known"
    );
    let (other_tid, other) = sim_tenant(&app, &token, &sim, "Contoso", 1, None).await;
    let other_backup = run_of(&app, &token, &other_tid, "/backup-sets", json!({"name": "Theirs"})).await;
    assert_eq!(other_backup["status"], "succeeded", "{other_backup}");
    assert_eq!(
        sim.setting_definition_reads(&other.entra_tenant_id),
        0,
        "definitions are the same in every tenant"
    );

    // A new group setting with a child: a snapshot of that policy reads those two alone.
    let pid = catalog_policy(&sim, &e);
    add_group_setting(&sim, &e, &pid, "8443");
    let (_, list) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?type=settings_catalog"),
            None,
        )
        .await;
    let our = list
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["graph_id"] == pid.as_str())
        .expect("the policy")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let snap = run_of(&app, &token, &tid, &format!("/policies/{our}/snapshot"), json!(null)).await;
    assert_eq!(snap["status"], "succeeded", "{snap}");
    assert_eq!(sim.setting_definition_reads(&e), 42);
    assert_eq!(stored_definitions(&app).len(), 42);
}

/// Issue 20, finding 11: a tenant on another Graph host (a custom endpoint) does not take
/// its setting names from what the first tenant's Graph answered, nor give them to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_graph_host_names_settings_for_its_own_tenants_only() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Litware", 3, None).await;
    let first = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "First"})).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert_eq!(sim.setting_definition_reads(&t.entra_tenant_id), 40);

    let elsewhere = crate::graph::sim().await;
    let (other_tid, other) = sim_tenant(&app, &token, &elsewhere, "Elsewhere", 3, None).await;
    let theirs = run_of(&app, &token, &other_tid, "/backup-sets", json!({"name": "Theirs"})).await;
    assert_eq!(theirs["status"], "succeeded", "{theirs}");
    assert_eq!(
        elsewhere.setting_definition_reads(&other.entra_tenant_id),
        40,
        "another Graph host is asked for its own definitions"
    );
    let sources: Vec<(String, i64)> = app
        .raw_db()
        .prepare("SELECT source, count(*) FROM setting_definitions GROUP BY source ORDER BY source")
        .expect("q")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    let mut expected = vec![
        (policyvault::graph::cloud::definitions_source(&sim.base_url()), 40),
        (policyvault::graph::cloud::definitions_source(&elsewhere.base_url()), 40),
    ];
    expected.sort();
    assert_eq!(sources, expected);
    // What a page of the first tenant reads: its own host's names, whatever the other says.
    app.raw_db()
        .execute(
            "UPDATE setting_definitions SET display_name = 'Name from the other Graph' WHERE source = ?1",
            [policyvault::graph::cloud::definitions_source(&elsewhere.base_url())],
        )
        .expect("update");
    let ids: std::collections::BTreeSet<String> = [format!("{DEFENDER_PREFIX}0")].into();
    let names = policyvault::web::names::load(&app.raw_db(), &tid, &ids).expect("names");
    assert_eq!(
        names.settings[&format!("{DEFENDER_PREFIX}0")],
        "Allow Realtime Monitoring"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_unknown_definition_leaves_the_id_the_run_succeeds_and_no_hash_changes() {
    let (app, token, _) = admin_app().await;
    let sim = SimHandle::start(
        "127.0.0.1:0".parse().expect("addr"),
        7,
        Faults {
            forbidden_collections: vec!["deviceManagement/configurationSettings".into()],
            ..Faults::default()
        },
    )
    .await
    .expect("simulator");
    let (tid, t) = sim_tenant(&app, &token, &sim, "Fabrikam", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let pid = catalog_policy(&sim, &e);
    // A setting whose definition Graph does not have (404 once reads are allowed).
    sim.edit_object(&e, CATALOG, &pid, |o| {
        o["settings"][1]["settingInstance"]["settingDefinitionId"] = json!("device_vendor_msft_retired_setting");
    });
    let refused = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Refused"})).await;
    assert_eq!(
        refused["status"], "succeeded",
        "a refused lookup fails nothing: {refused}"
    );
    assert_eq!(refused["failed"], 0, "{refused}");
    assert_eq!(stored_definitions(&app), Vec::<(String, Option<String>)>::new());
    assert_eq!(sim.setting_definition_reads(&e), 0, "every read was refused");

    // The preview of a changed setting shows today's label: the definition id.
    flip_first_setting(&sim, &e, &pid, &format!("{DEFENDER_PREFIX}0_9"));
    let set = refused["target_id"].as_str().expect("set").to_owned();
    let items = crate::ops::backup_items_of(&app, &token, &tid, &set, &["settings_catalog"]).await;
    let run = preview(&app, &token, &tid, &set, items).await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let run_page = format!("/t/{tid}/runs/{}", run["id"].as_str().expect("id"));
    let html = app.page(&c, &run_page).await;
    assert!(
        html.contains(&format!("Setting {DEFENDER_PREFIX}0 · choiceSettingValue/value")),
        "{html}"
    );
    assert!(
        !html.contains("pv-setting") && !html.contains("Allow Realtime Monitoring"),
        "{html}"
    );

    // Reads allowed: the next backup names what Graph has; the retired id stays an id, and
    // every document is stored unchanged (names change no hash).
    flip_first_setting(&sim, &e, &pid, &format!("{DEFENDER_PREFIX}0_0"));
    sim.set_faults(Faults::default());
    let named = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Named"})).await;
    assert_eq!(named["status"], "succeeded", "{named}");
    let recorded = crate::fidelity::items(&app, &token, &tid, &named).await;
    let captures: Vec<&Value> = recorded
        .iter()
        .filter(|i| i["result"]["version_id"].is_string())
        .collect();
    assert!(captures.len() > 20, "{recorded:?}");
    assert!(
        captures.iter().all(|i| i["result"]["unchanged"] == true),
        "a backup that resolved names stored no new version: {captures:?}"
    );
    let stored = stored_definitions(&app);
    assert!(
        stored.contains(&("device_vendor_msft_retired_setting".to_owned(), None)),
        "a 404 is remembered, nameless: {stored:?}"
    );
    assert!(stored.contains(&(
        format!("{DEFENDER_PREFIX}0"),
        Some("Allow Realtime Monitoring".to_owned())
    )));
    let reads = sim.setting_definition_reads(&e);
    let again = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Again"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(
        sim.setting_definition_reads(&e),
        reads,
        "the 404 is not asked again at once"
    );
    let recorded = crate::fidelity::items(&app, &token, &tid, &again).await;
    assert!(
        recorded
            .iter()
            .filter(|i| i["result"]["version_id"].is_string())
            .all(|i| i["result"]["unchanged"] == true),
        "names known before a capture do not go into its documents: {recorded:?}"
    );

    // The retired setting changed in the portal: the preview shows its id, the rest by name.
    sim.edit_object(&e, CATALOG, &pid, |o| {
        o["settings"][1]["settingInstance"]["choiceSettingValue"]["value"] = json!("retired_value");
    });
    flip_first_setting(&sim, &e, &pid, &format!("{DEFENDER_PREFIX}0_9"));
    let set = again["target_id"].as_str().expect("set").to_owned();
    let items = crate::ops::backup_items_of(&app, &token, &tid, &set, &["settings_catalog"]).await;
    let run = preview(&app, &token, &tid, &set, items).await;
    let html = app
        .page(&c, &format!("/t/{tid}/runs/{}", run["id"].as_str().expect("id")))
        .await;
    assert!(html.contains("<strong>Allow Realtime Monitoring</strong>"), "{html}");
    assert!(
        html.contains("Setting device_vendor_msft_retired_setting · choiceSettingValue/value"),
        "{html}"
    );
}
