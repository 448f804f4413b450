//! The pages an admin lives in (issue 13): restoring one policy, and preview pages that open
//! on the changes. Browser journeys through headless Chromium, and page checks over HTTP.

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::runs::wait_for_run;

async fn start_and_wait(app: &TestApp, token: &str, tid: &str, path: &str, body: Option<Value>) -> Value {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}{path}"), body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let run = wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

/// Sync, then a whole-tenant backup; returns the backup set's id.
async fn synced_and_backed_up(app: &TestApp, token: &str, tid: &str) -> String {
    start_and_wait(app, token, tid, "/sync", None).await;
    let (status, started) = app
        .api(
            Method::POST,
            token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Nightly"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run")).await;
    started["backup_set"]["id"].as_str().expect("set id").to_owned()
}

fn shot(name: &str, png: &[u8]) {
    let _ = std::fs::write(format!("/tmp/pv-pages-{name}.png"), png);
}

/// Issue 13, item 1: a policy deleted in Intune comes back from the tenant page in three
/// clicks (deleted list, the policy, "Restore this version") plus the typed confirmation,
/// in a tenant of over 1,000 policies (31 of each type).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_policy_is_restored_in_three_clicks_from_the_tenant_page() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Fabrikam", 31, None).await;
    synced_and_backed_up(&app, &token, &tid).await;
    let (_, policies) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    assert!(policies.as_array().map_or(0, Vec::len) > 1000, "a 1,000-policy tenant");
    let coll = "deviceManagement/deviceConfigurations";
    let gone = sim.objects(&t.entra_tenant_id, coll)[0].clone();
    assert!(sim.delete_object(&t.entra_tenant_id, coll, gone["id"].as_str().expect("id")));
    start_and_wait(&app, &token, &tid, "/sync", None).await;

    let mut clicks = 0;
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}"))).await?;
        b.client
            .wait()
            .for_element(Locator::Css("#pv-deleted a"))
            .await?
            .click()
            .await?;
        clicks += 1;
        b.client
            .wait()
            .for_element(Locator::Css("tr[data-policy] a"))
            .await?
            .click()
            .await?;
        clicks += 1;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Restore this version']"))
            .await?
            .click()
            .await?;
        clicks += 1;
        b.wait_status("succeeded").await?;
        b.client.wait().for_element(Locator::Css("#pv-outcome")).await?;
        shot("restore-one-preview", &b.client.screenshot().await?);
        let outcome = b.text_of("#pv-outcome").await;
        assert_eq!(outcome, "1 will change: 1 created; 0 unchanged");
        b.client
            .find(Locator::Css("#run-actions input[name=confirm]"))
            .await?
            .send_keys("Fabrikam")
            .await?;
        b.client
            .find(Locator::XPath("//button[normalize-space()='Restore live']"))
            .await?
            .click()
            .await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//h1[normalize-space()='Restore']"))
            .await?;
        b.wait_status("succeeded").await?;
        b.client.wait().for_element(Locator::Css("#pv-outcome")).await?;
        shot("restore-one-done", &b.client.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("restore one deleted policy", &e).await;
    }
    let outcome = b.text_of("#pv-outcome").await;
    let rows = b.text_of("#run-items").await;
    b.close().await;
    assert_eq!(clicks, 3);
    assert_eq!(outcome, "1 written: 1 created; 0 unchanged");
    assert!(rows.contains("created"), "{rows}");
    let back = sim.objects(&t.entra_tenant_id, coll);
    assert!(
        back.iter().any(|o| o["displayName"] == gone["displayName"]),
        "the deleted policy is back"
    );
}

/// Issue 13, item 1: the backup set's picker starts with nothing ticked; filters narrow it;
/// "select all shown" ticks only what is shown; the preview restores exactly that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restore_picker_starts_empty_filters_and_selects_only_what_is_shown() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Picker", 2, None).await;
    let set = synced_and_backed_up(&app, &token, &tid).await;
    let (_, detail) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    let items = detail["items"].as_array().expect("items").clone();
    let wanted = items
        .iter()
        .find(|i| i["policy_type"] == "compliance_policy")
        .expect("a compliance policy")
        .clone();
    let name = wanted["display_name"].as_str().expect("name").to_owned();
    let count = |b: &Browser, css: &'static str| {
        let client = b.client.clone();
        async move {
            client
                .execute(&format!("return document.querySelectorAll('{css}').length;"), vec![])
                .await
                .expect("js")
                .as_i64()
                .unwrap_or(-1)
        }
    };

    let mut seen = Vec::new();
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}/backups/{set}"))).await?;
        b.client.wait().for_element(Locator::Css("#pv-picked")).await?;
        seen.push(("ticked at first", count(&b, "input[name=item]:checked").await));
        let submit_disabled = b
            .client
            .execute("return document.querySelector('[data-pick=submit]').disabled;", vec![])
            .await?;
        assert_eq!(submit_disabled, json!(true), "nothing to preview yet");
        b.client
            .find(Locator::XPath("//button[normalize-space()='Select all shown']"))
            .await?
            .click()
            .await?;
        seen.push(("ticked after select all", count(&b, "input[name=item]:checked").await));
        b.client
            .find(Locator::XPath("//button[normalize-space()='Select none']"))
            .await?
            .click()
            .await?;
        seen.push(("ticked after select none", count(&b, "input[name=item]:checked").await));
        // Narrow by type, then by name; select all shown ticks the one row left.
        b.client
            .find(Locator::Css("select[data-pick-filter=type]"))
            .await?
            .select_by_value("compliance_policy")
            .await?;
        seen.push(("shown of one type", count(&b, "tr[data-item]:not([hidden])").await));
        b.client
            .find(Locator::Css("input[data-pick-filter=name]"))
            .await?
            .send_keys(&name.to_uppercase())
            .await?;
        seen.push(("shown by name", count(&b, "tr[data-item]:not([hidden])").await));
        b.client
            .find(Locator::Css("input[data-pick-filter=since]"))
            .await?
            .send_keys("01012999")
            .await?;
        seen.push(("shown changed since 2999", count(&b, "tr[data-item]:not([hidden])").await));
        b.client
            .execute(
                "const e = document.querySelector('input[data-pick-filter=since]'); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![],
            )
            .await?;
        b.client
            .find(Locator::XPath("//button[normalize-space()='Select all shown']"))
            .await?
            .click()
            .await?;
        seen.push(("ticked", count(&b, "input[name=item]:checked").await));
        b.client
            .find(Locator::Css("input[name=conditional_access_state]"))
            .await?
            .click()
            .await?;
        shot("picker", &b.client.screenshot().await?);
        b.client
            .find(Locator::XPath("//button[normalize-space()='Preview restore']"))
            .await?
            .click()
            .await?;
        b.wait_status("succeeded").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("restore picker", &e).await;
    }
    b.close().await;
    assert_eq!(
        seen,
        vec![
            ("ticked at first", 0),
            ("ticked after select all", i64::try_from(items.len()).expect("few")),
            ("ticked after select none", 0),
            ("shown of one type", 2),
            ("shown by name", 1),
            ("shown changed since 2999", 0),
            ("ticked", 1),
        ]
    );
    let (total, params): (i64, String) = app
        .raw_db()
        .query_row(
            "SELECT total, params FROM runs WHERE kind = 'restore.preview'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the preview run");
    assert_eq!(total, 1, "only the ticked policy is previewed");
    let item: String = app
        .raw_db()
        .query_row(
            "SELECT i.item_id FROM run_items i JOIN runs r ON r.id = i.run_id WHERE r.kind = 'restore.preview'",
            [],
            |r| r.get(0),
        )
        .expect("its item");
    assert_eq!(item, wanted["id"].as_str().expect("id"));
    assert!(
        params.contains("as_captured"),
        "the Conditional Access choice is sent: {params}"
    );
}

/// Issue 13, item 7: a preview page opens on its changes with a summary line, lists the
/// Conditional Access changes that tighten access before the typed name, shows reference
/// rewrites per item, and a wrong name keeps the page's filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_opens_on_its_changes_and_warns_what_tightens_access() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Woodgrove", 1, None).await;
    let set = synced_and_backed_up(&app, &token, &tid).await;
    // In the portal: a Conditional Access policy switched off, a device configuration edited.
    let ca = "identity/conditionalAccess/policies";
    let ca_id = sim.objects(&t.entra_tenant_id, ca)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    sim.edit_object(&t.entra_tenant_id, ca, &ca_id, |o| o["state"] = json!("disabled"));
    let dc = "deviceManagement/deviceConfigurations";
    let dc_id = sim.objects(&t.entra_tenant_id, dc)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    sim.edit_object(&t.entra_tenant_id, dc, &dc_id, |o| {
        o["passwordMinimumLength"] = json!(3);
    });
    let run = start_and_wait(
        &app,
        &token,
        &tid,
        "/restores",
        Some(json!({"backup_set_id": set, "dry_run": true})),
    )
    .await;
    let rid = run["id"].as_str().expect("id").to_owned();
    let unchanged = run["skipped"].as_i64().expect("n");
    // References as the engine reports them, on the device configuration's item.
    app.raw_db()
        .execute(
            "UPDATE run_items SET result = json_set(result, '$.references', json(?2))
             WHERE run_id = ?1 AND status = 'succeeded' AND json_extract(result, '$.tightens') IS NULL",
            rusqlite::params![
                rid,
                json!([{"path": "/roleScopeTagIds/0", "type": "scope_tag", "id": "old-tag-id", "status": "rewritten", "new_id": "new-tag-id"}]).to_string()
            ],
        )
        .expect("references");

    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let page = app.page(&c, &format!("/t/{tid}/runs/{rid}")).await;
    assert_eq!(
        page.matches("<tr data-item").count(),
        2,
        "only the two changes are listed"
    );
    assert!(page.contains("will be updated"), "items say what will happen");
    assert!(
        page.contains("rewritten to") && page.contains("new-tag-id"),
        "reference rewrites per item"
    );
    assert!(page.contains("?show=all"), "all items are one click away");
    let all = app.page(&c, &format!("/t/{tid}/runs/{rid}?show=all")).await;
    assert!(all.matches("<tr data-item").count() > 2);

    let actions = app
        .page(&c, &format!("/t/{tid}/runs/{rid}/actions?show=succeeded"))
        .await;
    let line = format!("2 will change: 2 updated; {unchanged} unchanged");
    assert!(actions.contains(&line), "{line} in {actions}");
    let warn = actions
        .find("These changes tighten access")
        .expect("the tightening warning");
    let typed = actions.find("name=\"confirm\"").expect("the typed confirmation");
    assert!(warn < typed, "the warning comes before the typed name");
    assert!(actions.contains("turns the policy on (state: enabled)"), "{actions}");

    // A wrong name comes back to the same filter.
    let csrf = crate::helpers::csrf_of(&page);
    let res = c
        .post(app.url(&format!("/t/{tid}/runs/{rid}/restore")))
        .form(&[("_csrf", csrf.as_str()), ("confirm", "woodgrove"), ("show", "skipped")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(to, format!("/t/{tid}/runs/{rid}?show=skipped"));

    // How it looks (kept for the person reading the CI log).
    if let Some(b) = Browser::start().await {
        let looked = async {
            b.sign_in(&app.url("/login")).await?;
            b.client.goto(&app.url(&format!("/t/{tid}/runs/{rid}"))).await?;
            b.client.wait().for_element(Locator::Css("#pv-tightens")).await?;
            shot("preview-tightens", &b.client.screenshot().await?);
            Ok::<_, fantoccini::error::CmdError>(())
        }
        .await;
        if let Err(e) = looked {
            b.fail("preview page", &e).await;
        }
        b.close().await;
    }
}

/// Issue 13, item 3: a backup whose items partly failed reads "incomplete, 1 of 2" in the
/// list, its run page offers "Re-run failed items", which captures only those in a new run
/// of the same set; once complete, another re-run has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_backup_says_so_and_its_failed_items_can_be_captured_again() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Tailspin", 1, None).await;
    start_and_wait(&app, &token, &tid, "/sync", None).await;
    let (_, policies) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let pick: Vec<Value> = ["device_configuration", "compliance_policy"]
        .iter()
        .map(|ty| {
            policies
                .as_array()
                .expect("policies")
                .iter()
                .find(|p| p["policy_type"] == *ty)
                .expect("a policy of the type")["id"]
                .clone()
        })
        .collect();
    sim.set_faults(policyvault::sim::state::Faults {
        down_collections: vec!["deviceManagement/deviceConfigurations".into()],
        ..Default::default()
    });
    let (status, started) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Two", "policy_ids": pick})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let rid = started["run"]["id"].as_str().expect("run").to_owned();
    let run = wait_for_run(&app, &token, &tid, &rid).await;
    assert_eq!(run["status"], "partial", "{run}");
    sim.set_faults(policyvault::sim::state::Faults::default());

    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let list = app.page(&c, &format!("/t/{tid}/backups")).await;
    assert!(list.contains(">incomplete<") && list.contains("1 of 2"), "{list}");
    let page = app.page(&c, &format!("/t/{tid}/runs/{rid}?show=failed")).await;
    assert!(page.contains("Microsoft Graph was unavailable"), "the error in words");
    let actions = app.page(&c, &format!("/t/{tid}/runs/{rid}/actions")).await;
    assert!(actions.contains("Re-run failed items"), "{actions}");

    let csrf = crate::helpers::csrf_of(&page);
    let res = c
        .post(app.url(&format!("/t/{tid}/runs/{rid}/recapture")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    let again = to.rsplit('/').next().expect("run id").to_owned();
    assert_ne!(again, rid, "a new run");
    let rerun = wait_for_run(&app, &token, &tid, &again).await;
    assert_eq!(
        (
            rerun["status"].as_str(),
            rerun["total"].as_i64(),
            rerun["parent_run_id"].as_str()
        ),
        (Some("succeeded"), Some(1), Some(rid.as_str())),
        "{rerun}"
    );
    let list = app.page(&c, &format!("/t/{tid}/backups")).await;
    assert!(list.contains(">complete<") && list.contains("2 of 2"), "{list}");

    // Idempotent: nothing left to capture, through the page and the API.
    let res = c
        .post(app.url(&format!("/t/{tid}/runs/{rid}/recapture")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.headers()["location"], format!("/t/{tid}/runs/{rid}").as_str());
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/runs/{rid}/rerun"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    if let Some(b) = Browser::start().await {
        let looked = async {
            b.sign_in(&app.url("/login")).await?;
            b.client
                .goto(&app.url(&format!("/t/{tid}/runs/{rid}?show=failed")))
                .await?;
            b.client
                .wait()
                .for_element(Locator::Css("#pv-outcome, #run-actions form, #run-items tr"))
                .await?;
            shot("backup-partial-run", &b.client.screenshot().await?);
            b.client.goto(&app.url(&format!("/t/{tid}/backups"))).await?;
            b.client.wait().for_element(Locator::Css("tr[data-set]")).await?;
            shot("backups-list", &b.client.screenshot().await?);
            Ok::<_, fantoccini::error::CmdError>(())
        }
        .await;
        if let Err(e) = looked {
            b.fail("backups pages", &e).await;
        }
        b.close().await;
    }
}

/// Issue 13, items 6 and 10: the active-runs dropdown stays open while live updates arrive
/// and reads dark on its light panel; a finished run makes one notification naming the
/// tenant in words, and the bell counts it without a reload; the list pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_runs_menu_stays_open_and_the_bell_rings_live_once_per_run() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Northwind", 2, None).await;
    // Graph answers nothing until the menu is open, so the menu must see the run change.
    let held = policyvault::sim::state::Faults {
        latency_ms: 150,
        hold: true,
        ..Default::default()
    };
    sim.set_faults(held.clone());
    let mut seen = Vec::new();
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url("/profile")).await?;
        b.client.wait().for_element(Locator::Css("#pv-bell a")).await?;
        seen.push(("bell before", b.text_of("#pv-bell").await));
        let (status, started) = app
            .api(Method::POST, &token, &format!("/api/v1/tenants/{tid}/sync"), None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{started}");
        // The widget shows the run; open it and let progress events arrive.
        for _ in 0..100 {
            if b.text_of("#pv-active summary").await.contains("1 active run") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        b.client.find(Locator::Css("#pv-active summary")).await?.click().await?;
        let before = b.text_of("#pv-active ul").await;
        sim.set_faults(policyvault::sim::state::Faults {
            hold: false,
            ..held.clone()
        });
        let mut open_while_updating = true;
        let mut changed = false;
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let open = b
                .client
                .execute("return document.querySelector('#pv-active-menu').open;", vec![])
                .await?;
            let now = b.text_of("#pv-active ul").await;
            changed |= now != before;
            if now.contains("Nothing is running") {
                break;
            }
            open_while_updating &= open == json!(true);
        }
        seen.push(("open while updating", open_while_updating.to_string()));
        seen.push(("list updated", changed.to_string()));
        let colour = b
            .client
            .execute(
                "const e = document.querySelector('#pv-active ul li'); return getComputedStyle(e).color;",
                vec![],
            )
            .await?;
        seen.push(("list colour", colour.as_str().unwrap_or_default().to_owned()));
        shot("active-menu", &b.client.screenshot().await?);
        for _ in 0..100 {
            if b.text_of("#pv-bell").await.contains('1') {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        seen.push(("bell after", b.text_of("#pv-bell").await));
        let idle = b
            .client
            .execute(
                "const e = document.querySelector('#pv-active ul li.pv-muted'); return e ? getComputedStyle(e).color : null;",
                vec![],
            )
            .await?;
        seen.push(("idle colour", idle.as_str().unwrap_or_default().to_owned()));
        // (Pico closes an open dropdown on the next click anywhere: go there directly.)
        b.client.goto(&app.url("/notifications")).await?;
        b.client.wait().for_element(Locator::Css("tr[data-unread]")).await?;
        seen.push(("notifications", b.text_of("table.pv-notifications tbody").await));
        shot("notifications", &b.client.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("active runs and bell", &e).await;
    }
    b.close().await;
    let get = |k: &str| {
        seen.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("bell before"), "Notifications", "{seen:?}");
    assert_eq!(get("open while updating"), "true", "{seen:?}");
    assert_eq!(get("list updated"), "true", "{seen:?}");
    assert!(
        ["rgb(15, 23, 42)", "rgb(71, 85, 105)"].contains(&get("list colour").as_str()),
        "dark text on the light panel: {seen:?}"
    );
    assert_eq!(get("bell after"), "Notifications 1", "counted live: {seen:?}");
    assert_eq!(
        get("idle colour"),
        "rgb(71, 85, 105)",
        "'Nothing is running.' is readable: {seen:?}"
    );
    let notes = get("notifications");
    assert!(
        notes.contains(&format!(
            "Inventory sync of Northwind finished: {} policy types listed",
            policyvault::graph::registry::TYPES.len()
        )) && notes.lines().count() == 1,
        "one notification, in words, naming the tenant: {notes}"
    );

    // Paging: 60 more notifications make a second page.
    let db = app.raw_db();
    let (user, run): (String, String) = db
        .query_row("SELECT user_id, run_id FROM notifications", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("the notification");
    for i in 0..60 {
        db.execute(
            "INSERT INTO notifications (id, user_id, tenant_id, run_id, status, message, created_at)
             VALUES (?1, ?2, ?3, ?4, 'failed', 'Backup of Northwind failed.', '2020-01-01T00:00:00Z')",
            rusqlite::params![format!("n{i:03}"), user, tid, run],
        )
        .expect("insert");
    }
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let first = app.page(&c, "/notifications").await;
    let second = app.page(&c, "/notifications?page=2").await;
    assert_eq!(first.matches("<tr data-unread").count(), 50);
    assert!(first.contains("/notifications?page=2"), "a link to older ones");
    assert_eq!(second.matches("<tr data-unread").count(), 11);
}

/// Issue 13, item 12: the words an admin uses, not internal ones.
#[tokio::test]
async fn pages_speak_the_admins_words() {
    let app = crate::helpers::spawn_app_with(policyvault::config::ServeArgs {
        schedule_min_interval_secs: 900,
        ..policyvault::config::ServeArgs::for_tests()
    })
    .await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&token, "Words", "x").await;
    let tid = t["id"].as_str().expect("id");
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let runs = app.page(&c, &format!("/t/{tid}/runs")).await;
    assert!(!runs.contains("e.g. inventory.sync"), "no free-text kind filter");
    assert!(
        runs.contains("<option value=\"backup_set.capture\">Backup</option>"),
        "{runs}"
    );
    let bad = app.page(&c, &format!("/t/{tid}/schedules/check?cron=99+*+*+*+*")).await;
    assert!(bad.contains("out of range") && !bad.contains("Component"), "{bad}");
    let often = app.page(&c, &format!("/t/{tid}/schedules/check?cron=*+*+*+*+*")).await;
    assert!(
        often.contains("at most every 15 min") && !often.contains("PV_"),
        "{often}"
    );
}

/// Issue 13, item 2: a drift view of its own: the baseline named, "Baseline" and "Live now"
/// columns, changed / removed / added policies, changes only by default, and "Revert to
/// baseline" as a one-item restore preview.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drift_view_names_its_baseline_and_lists_changed_removed_and_added_policies() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Litware", 1, None).await;
    synced_and_backed_up(&app, &token, &tid).await;
    let e = &t.entra_tenant_id;
    let dc = "deviceManagement/deviceConfigurations";
    let first = sim.objects(e, dc)[0].clone();
    let dc_id = first["id"].as_str().expect("id").to_owned();
    sim.edit_object(e, dc, &dc_id, |o| {
        o["passwordMinimumLength"] = json!(3);
    });
    let cp = "deviceManagement/deviceCompliancePolicies";
    let gone = sim.objects(e, cp)[0]["id"].as_str().expect("id").to_owned();
    assert!(sim.delete_object(e, cp, &gone));
    let mut copy = first.clone();
    if let Some(o) = copy.as_object_mut() {
        o.retain(|k, _| {
            !(k == "id"
                || k == "version"
                || k.ends_with("DateTime")
                || k == "assignments"
                || k.contains("@odata.") && k != "@odata.type")
        });
        o.insert("displayName".into(), json!("Added in the portal"));
    }
    sim.create_object(e, dc, copy).expect("created in the portal");
    start_and_wait(&app, &token, &tid, "/sync", None).await;

    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}"))).await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Check drift']"))
            .await?
            .click()
            .await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Check drift now']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("#pv-drift-summary")).await?;
        b.client
            .find(Locator::Css("tr[data-drift=changed] details summary"))
            .await?
            .click()
            .await?;
        shot("drift", &b.client.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("drift view", &e).await;
    }
    let summary = b.text_of("#pv-drift-summary").await;
    let baseline = b.text_of("#pv-baseline").await;
    let changed = b.text_of("tr[data-drift=changed]").await;
    let removed = b.text_of("tr[data-drift=removed]").await;
    let added = b.text_of("tr[data-drift=added]").await;
    let unchanged_rows = b
        .client
        .execute(
            "return document.querySelectorAll('tr[data-drift=unchanged]').length;",
            vec![],
        )
        .await
        .expect("js");
    let revert = async {
        b.client
            .find(Locator::XPath(
                "//tr[@data-drift='changed']//button[normalize-space()='Revert to baseline']",
            ))
            .await?
            .click()
            .await?;
        b.wait_status("succeeded").await?;
        b.client.wait().for_element(Locator::Css("#pv-outcome")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = revert {
        b.fail("revert to baseline", &e).await;
    }
    let outcome = b.text_of("#pv-outcome").await;
    b.close().await;
    assert!(baseline.contains("Baseline: Nightly"), "{baseline}");
    assert!(
        summary.contains(" changed, 1 removed, 1 added since the baseline;"),
        "{summary}"
    );
    assert!(
        changed.contains("Baseline") && changed.contains("Live now") && changed.contains("/passwordMinimumLength"),
        "{changed}"
    );
    assert!(removed.contains("removed from the tenant"), "{removed}");
    assert!(added.contains("Added in the portal"), "{added}");
    assert_eq!(unchanged_rows, json!(0), "changes only by default");
    assert_eq!(outcome, "1 will change: 1 updated; 0 unchanged");
}

/// Issue 13, item 5 (in part): the dashboard is a table with search, sort and filters;
/// names sort as people read them.
#[tokio::test]
async fn the_tenant_table_searches_sorts_and_filters() {
    let app = crate::helpers::spawn_app().await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    for name in ["Tenant 100", "Tenant 12", "Other", "Tenant 2"] {
        app.create_tenant(&token, name, "x").await;
    }
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let names = |page: &str| -> Vec<String> {
        page.split("<td class=\"pv-tenant-name\"><a href=\"/t/")
            .skip(1)
            .filter_map(|s| {
                s.split_once("\">")
                    .and_then(|(_, rest)| rest.split_once('<'))
                    .map(|(n, _)| n.to_owned())
            })
            .collect()
    };
    let all = app.page(&c, "/").await;
    assert_eq!(names(&all), ["Other", "Tenant 2", "Tenant 12", "Tenant 100"]);
    let found = app.page(&c, "/?q=tenant+1").await;
    assert_eq!(names(&found), ["Tenant 12", "Tenant 100"]);
    assert!(found.contains("2 of 4 tenants"), "{found}");
    let unscheduled = app.page(&c, "/?filter=no_schedule&sort=backup").await;
    assert_eq!(names(&unscheduled).len(), 4);
    let failed = app.page(&c, "/?filter=backup_failed").await;
    assert!(names(&failed).is_empty() && failed.contains("No tenant matches."));
}
