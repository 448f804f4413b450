//! Issue 13, item 8: assignment targets show group names. A capture run resolves the names
//! of the groups its policies are assigned to (`directoryObjects/getByIds`, once per run,
//! only unknown ids) into `directory_names`; pages show "Group: <name>" with the id in small
//! print. Without Directory.Read.All (a 403) the run is unaffected and ids are shown.

use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::fidelity::run_of;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ops::{admin_app, sim_tenant};

const SCRIPTS: &str = "deviceManagement/deviceManagementScripts";
const NAMED_GROUP: &str = "6b8a0c2e-cccc-4b1e-9a3d-000000000003";
const NAME: &str = "Pilot users – Ring 1";
const LIVE_GROUP: &str = "6b8a0c2e-dddd-4b1e-9a3d-000000000004";

fn group(id: &str) -> Value {
    json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": id}})
}

fn stored_names(app: &TestApp) -> Vec<(String, String)> {
    let db = app.raw_db();
    let mut stmt = db
        .prepare("SELECT object_id, display_name FROM directory_names ORDER BY object_id")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("names")
}

/// Backs up the tenant with the script assigned to `NAMED_GROUP`, then moves it to
/// `LIVE_GROUP` in the portal and previews restoring the script: (backup run, preview run).
async fn backup_then_preview(app: &TestApp, token: &str, sim: &SimHandle, tid: &str, e: &str) -> (Value, Value) {
    let sid = sim.objects(e, SCRIPTS)[0]["id"].as_str().expect("id").to_owned();
    sim.set_assignments(e, &sid, vec![group(NAMED_GROUP)]);
    let backup = run_of(app, token, tid, "/backup-sets", json!({"name": "Known good"})).await;
    sim.set_assignments(e, &sid, vec![group(LIVE_GROUP)]);
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let item = crate::ops::backup_items_of(app, token, tid, &set, &["powershell_script"])
        .await
        .swap_remove(0);
    let preview = run_of(
        app,
        token,
        tid,
        "/restores",
        json!({"backup_set_id": set, "item_ids": [item], "dry_run": true, "include_assignments": true}),
    )
    .await;
    assert_eq!(preview["status"], "succeeded", "{preview}");
    (backup, preview)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_resolves_group_names_and_the_preview_shows_the_name() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Northwind", 1, None).await;
    let e = t.entra_tenant_id.clone();
    sim.set_group(&e, NAMED_GROUP, NAME);
    let (backup, preview) = backup_then_preview(&app, &token, &sim, &tid, &e).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let names = stored_names(&app);
    assert!(
        names.contains(&(NAMED_GROUP.to_owned(), NAME.to_owned())),
        "the backup stored the group's name: {names:?}"
    );
    // Names are kept apart from the documents: no stored content holds one.
    let in_content: i64 = app
        .raw_db()
        .query_row(
            "SELECT COUNT(*) FROM policy_contents WHERE instr(content, ?1) > 0",
            [NAME],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(in_content, 0, "a group name went into a policy's content");

    let run_url = app.url(&format!("/t/{tid}/runs/{}", preview["id"].as_str().expect("id")));
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&run_url).await?;
        b.client
            .wait()
            .for_element(fantoccini::Locator::Css(".pv-assignments-row"))
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        b.client
            .execute(
                "document.querySelectorAll('details.pv-item-diff').forEach(d => d.open = true);
                 document.querySelector('.pv-assignments-row').scrollIntoView();",
                vec![],
            )
            .await?;
        let _ = std::fs::write("/tmp/pv-pages-diff-group-names.png", b.client.screenshot().await?);
        b.client
            .execute(
                "const e = document.querySelector('.pv-assignments-row'); return e ? e.textContent : null;",
                vec![],
            )
            .await
    }
    .await;
    let targets = match journey {
        Ok(v) => v.as_str().unwrap_or_default().to_owned(),
        Err(err) => b.fail("group names on the preview", &err).await,
    };
    let title: Value = b
        .client
        .execute(
            "const e = document.querySelector('.pv-assignments-row .pv-target'); return e ? e.title : null;",
            vec![],
        )
        .await
        .expect("script");
    b.close().await;
    // Before = live now (a group never captured: its id), After = the backup (its name).
    assert!(targets.contains(&format!("+ Group: {NAME}")), "{targets}");
    assert!(targets.contains(NAMED_GROUP), "the id stays in small print: {targets}");
    assert_eq!(title, json!(NAMED_GROUP), "the id on hover");
    assert!(targets.contains(&format!("− Group {LIVE_GROUP}")), "{targets}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_directory_read_all_the_backup_succeeds_and_ids_are_shown() {
    let (app, token, _) = admin_app().await;
    let sim = SimHandle::start(
        "127.0.0.1:0".parse().expect("addr"),
        7,
        Faults {
            forbidden_collections: vec!["directoryObjects".into()],
            ..Faults::default()
        },
    )
    .await
    .expect("simulator");
    let (tid, t) = sim_tenant(&app, &token, &sim, "Fabrikam", 1, None).await;
    let e = t.entra_tenant_id.clone();
    sim.set_group(&e, NAMED_GROUP, NAME);
    let (backup, preview) = backup_then_preview(&app, &token, &sim, &tid, &e).await;
    assert_eq!(
        backup["status"], "succeeded",
        "a refused name lookup fails nothing: {backup}"
    );
    assert_eq!(backup["failed"], 0, "{backup}");
    assert_eq!(stored_names(&app), Vec::<(String, String)>::new());
    assert_eq!(sim.directory_queries(&e), 0, "every lookup was refused");

    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let html = app
        .page(&c, &format!("/t/{tid}/runs/{}", preview["id"].as_str().expect("id")))
        .await;
    assert!(html.contains("pv-assignments-row"), "the preview shows the assignments");
    assert!(html.contains(&format!("Group {NAMED_GROUP}")), "ids are shown");
    assert!(
        !html.contains(NAME) && !html.contains("Group: "),
        "no name without the permission"
    );
    // With the permission granted, the next backup resolves the group assigned now.
    sim.set_faults(Faults::default());
    sim.set_group(&e, LIVE_GROUP, "Live group");
    let again = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Again"})).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert!(stored_names(&app).contains(&(LIVE_GROUP.to_owned(), "Live group".to_owned())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_looked_up_once_per_run_and_only_for_groups_not_known_yet() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Litware", 3, None).await;
    let e = t.entra_tenant_id.clone();
    let first = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "First"})).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    assert!(first["total"].as_i64().expect("total") > 40, "many policies: {first}");
    assert_eq!(sim.directory_queries(&e), 1, "one getByIds for the whole run");
    let names = stored_names(&app);
    let directory = sim.groups(&e);
    assert!(names.len() >= 3, "the seed's groups were named: {names:?}");
    for (id, name) in &names {
        assert_eq!(directory.get(id), Some(name), "stored as the directory has it");
    }

    // Everything known: the next backup asks nothing.
    let second = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Second"})).await;
    assert_eq!(second["status"], "succeeded", "{second}");
    assert_eq!(sim.directory_queries(&e), 1, "no lookup when every group is known");

    // A new group on one policy: a snapshot of that policy asks for it alone.
    let sid = sim.objects(&e, SCRIPTS)[0]["id"].as_str().expect("id").to_owned();
    sim.set_group(&e, NAMED_GROUP, NAME);
    sim.set_assignments(&e, &sid, vec![group(NAMED_GROUP)]);
    let (_, list) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?type=powershell_script"),
            None,
        )
        .await;
    let pid = list
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["graph_id"] == sid.as_str())
        .expect("the script")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let snap = run_of(&app, &token, &tid, &format!("/policies/{pid}/snapshot"), json!(null)).await;
    assert_eq!(snap["status"], "succeeded", "{snap}");
    assert_eq!(sim.directory_queries(&e), 2);
    assert_eq!(stored_names(&app).len(), names.len() + 1);

    // The version's "View JSON" page lists its targets by name; the JSON itself holds none.
    let recorded = crate::fidelity::items(&app, &token, &tid, &snap).await;
    let vid = recorded[0]["result"]["version_id"]
        .as_str()
        .expect("the new version")
        .to_owned();
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let base = format!("/t/{tid}/policies/{pid}/versions/{vid}");
    let html = app.page(&c, &base).await;
    let targets = html
        .split("id=\"pv-version-targets\"")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_default();
    assert!(targets.contains(&format!("Group: <strong>{NAME}</strong>")), "{html}");
    let json = c
        .get(app.url(&format!("{base}/json")))
        .send()
        .await
        .expect("json")
        .text()
        .await
        .expect("text");
    assert!(json.contains(NAMED_GROUP) && !json.contains(NAME), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_filter_reads_by_its_name_on_the_preview_and_the_version_page() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Tailspin", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let filter = sim.objects(&e, "deviceManagement/assignmentFilters")[0].clone();
    let (fid, fname) = (
        filter["id"].as_str().expect("id").to_owned(),
        filter["displayName"].as_str().expect("name").to_owned(),
    );
    let sid = sim.objects(&e, SCRIPTS)[0]["id"].as_str().expect("id").to_owned();
    let filtered = json!({"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
        "deviceAndAppManagementAssignmentFilterId": fid, "deviceAndAppManagementAssignmentFilterType": "exclude"}});
    sim.set_assignments(&e, &sid, vec![filtered]);
    let unknown = "0f1e2d3c-9999-4000-8000-000000000009";
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Filtered"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    sim.set_assignments(&e, &sid, vec![group(LIVE_GROUP)]);
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let item = crate::ops::backup_items_of(&app, &token, &tid, &set, &["powershell_script"])
        .await
        .swap_remove(0);
    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "item_ids": [item], "dry_run": true, "include_assignments": true}),
    )
    .await;
    assert_eq!(preview["status"], "succeeded", "{preview}");
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let html = app
        .page(&c, &format!("/t/{tid}/runs/{}", preview["id"].as_str().expect("id")))
        .await;
    let escaped = fname.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    assert!(
        html.contains(&format!(
            r#"<span class="pv-filter" title="{fid}"> · filter: <strong>{escaped}</strong> (exclude)</span>"#
        )),
        "the filter by name, its id on hover: {html}"
    );

    // A snapshot after the filter is swapped for one the inventory never saw: its id.
    sim.set_assignments(
        &e,
        &sid,
        vec![json!({"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
            "deviceAndAppManagementAssignmentFilterId": unknown, "deviceAndAppManagementAssignmentFilterType": "include"}})],
    );
    let (_, list) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?type=powershell_script"),
            None,
        )
        .await;
    let pid = list
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["graph_id"] == sid.as_str())
        .expect("the script")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let snap = run_of(&app, &token, &tid, &format!("/policies/{pid}/snapshot"), json!(null)).await;
    assert_eq!(snap["status"], "succeeded", "{snap}");
    let recorded = crate::fidelity::items(&app, &token, &tid, &snap).await;
    let vid = recorded[0]["result"]["version_id"]
        .as_str()
        .expect("version")
        .to_owned();
    let html = app.page(&c, &format!("/t/{tid}/policies/{pid}/versions/{vid}")).await;
    let targets = html
        .split("id=\"pv-version-targets\"")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_default();
    assert!(
        targets.contains(&format!("All devices · filter {unknown} (include)")),
        "{targets}"
    );
}
