//! Issue 13, item 8: differences an admin can read. Script bodies decoded and compared line
//! by line, assignments as lists of targets, versions named by capture time, and "View JSON" /
//! "Download JSON" for any version. Headless Chromium on the real pages.

use base64::Engine;
use fantoccini::Locator;
use policyvault::graph::canonical::canonicalize;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::fidelity::{items, run_of};
use crate::ops::{admin_app, sim_tenant};

const SCRIPTS: &str = "deviceManagement/deviceManagementScripts";
const BACKED_UP: &str = "$log = 'C:\\ProgramData\\MSP\\setup.log'\nWrite-Output 'step 1'\nSet-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 1\nWrite-Output 'step 3'\nexit 0\n";
const LIVE: &str = "$log = 'C:\\ProgramData\\MSP\\setup.log'\nWrite-Output 'step 1'\nSet-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 9\nWrite-Output 'step 3'\nexit 0\n";
const BACKUP_GROUP: &str = "6b8a0c2e-aaaa-4b1e-9a3d-000000000001";
const LIVE_GROUP: &str = "6b8a0c2e-bbbb-4b1e-9a3d-000000000002";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn shot(name: &str, png: &[u8]) {
    let _ = std::fs::write(format!("/tmp/pv-pages-{name}.png"), png);
}

fn group(id: &str) -> Value {
    json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": id}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_shows_a_changed_script_line_by_line_and_assignments_as_targets() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Tailspin", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let script = sim.objects(&e, SCRIPTS)[0].clone();
    let sid = script["id"].as_str().expect("id").to_owned();
    assert!(sim.edit_object(&e, SCRIPTS, &sid, |o| o["scriptContent"] = json!(b64(BACKED_UP))));
    sim.set_assignments(&e, &sid, vec![group(BACKUP_GROUP)]);
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();

    // Changed in the portal: one line of the script, and the group it is assigned to.
    assert!(sim.edit_object(&e, SCRIPTS, &sid, |o| o["scriptContent"] = json!(b64(LIVE))));
    sim.set_assignments(&e, &sid, vec![group(LIVE_GROUP)]);
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
    let stored = items(&app, &token, &tid, &preview).await;
    let diff = &stored[0]["result"]["diff"];
    assert!(
        diff.as_array()
            .expect("diff")
            .iter()
            .any(|d| d["path"] == "/assignments" && d["new"][0]["target"]["groupId"] == BACKUP_GROUP),
        "assignments differ as one list: {diff}"
    );

    let run_url = app.url(&format!("/t/{tid}/runs/{}", preview["id"].as_str().expect("id")));
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&run_url).await?;
        b.client.wait().for_element(Locator::Css(".pv-script-diff")).await?;
        // The run page's live stream swaps the rows once on connect (its current state),
        // which closes an opened diff: let it settle, then open the diffs for the picture.
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        b.client
            .execute(
                "document.querySelectorAll('details.pv-item-diff').forEach(d => d.open = true);
                 document.querySelector('#run-items').scrollIntoView();",
                vec![],
            )
            .await?;
        shot("diff-script-and-assignments", &b.client.screenshot().await?);
        b.client.set_window_size(800, 900).await?;
        b.client
            .execute("document.querySelector('#run-items').scrollIntoView()", vec![])
            .await?;
        shot("diff-script-and-assignments-800", &b.client.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(err) = journey {
        b.fail("readable preview diff", &err).await;
    }
    let text = |css: &'static str| {
        let client = b.client.clone();
        async move {
            client
                .execute(
                    "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                    vec![json!(css)],
                )
                .await
                .expect("script")
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    let script_text = text(".pv-script-diff").await;
    let legend = text(".pv-script-row .pv-legend").await;
    let targets = text(".pv-assignments-row").await;
    let source = b.client.source().await.expect("source");
    b.close().await;

    // Before = live now, After = the backup (what the restore would write).
    assert_eq!(legend, "− Before + After");
    let lines: Vec<&str> = script_text.lines().collect();
    assert!(
        lines.contains(&"− Set-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 9"),
        "{script_text}"
    );
    assert!(
        lines.contains(&"+ Set-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 1"),
        "{script_text}"
    );
    assert!(
        lines.iter().any(|l| l.trim() == "Write-Output 'step 1'"),
        "context: {script_text}"
    );
    assert!(
        !source.contains(&b64(LIVE)) && !source.contains(&b64(BACKED_UP)),
        "no base64 body on the page"
    );
    assert!(targets.contains(&format!("− Group {LIVE_GROUP}")), "{targets}");
    assert!(targets.contains(&format!("+ Group {BACKUP_GROUP}")), "{targets}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_named_by_capture_time_and_each_can_be_viewed_and_downloaded_as_json() {
    let Some(b) = Browser::start_with_env(&[], &[("TZ", "UTC")]).await else {
        return;
    };
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Wingtip", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let sid = sim.objects(&e, SCRIPTS)[0]["id"].as_str().expect("id").to_owned();
    assert!(sim.edit_object(&e, SCRIPTS, &sid, |o| o["scriptContent"] = json!(b64(BACKED_UP))));
    assert_eq!(
        run_of(&app, &token, &tid, "/sync", json!(null)).await["status"],
        "succeeded"
    );
    let (_, list) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?type=powershell_script"),
            None,
        )
        .await;
    let pid = list[0]["id"].as_str().expect("policy").to_owned();
    let snapshot = format!("/policies/{pid}/snapshot");
    assert_eq!(
        run_of(&app, &token, &tid, &snapshot, json!(null)).await["status"],
        "succeeded"
    );
    assert!(sim.edit_object(&e, SCRIPTS, &sid, |o| o["scriptContent"] = json!(b64(LIVE))));
    assert_eq!(
        run_of(&app, &token, &tid, &snapshot, json!(null)).await["status"],
        "succeeded"
    );
    let (_, versions) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies/{pid}/versions"),
            None,
        )
        .await;
    let versions = versions.as_array().expect("versions").clone();
    assert_eq!(versions.len(), 2, "{versions:?}");
    // The page shows the browser's local time (UTC here), with UTC on hover.
    let exact = |v: &Value| {
        let at = v["captured_at"].as_str().expect("at");
        format!("{} {}", &at[..10], &at[11..19])
    };
    let (newer, older) = (&versions[0], &versions[1]);
    let older_id = older["id"].as_str().expect("id").to_owned();
    let (_, older_full) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/versions/{older_id}"),
            None,
        )
        .await;

    let policy_url = app.url(&format!("/t/{tid}/policies/{pid}"));
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&policy_url).await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Compare']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("#pv-compared")).await?;
        let compared = b.text_of("#pv-compared").await;
        let script = b.text_of(".pv-script-diff").await;
        b.client
            .execute("document.querySelector('#pv-compared').scrollIntoView()", vec![])
            .await?;
        shot("diff-versions", &b.client.screenshot().await?);
        // "View JSON" of the older version.
        b.client
            .find(Locator::XPath(&format!(
                "//tr[@data-version='{older_id}']//a[normalize-space()='View JSON']"
            )))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("#pv-json")).await?;
        shot("version-json", &b.client.screenshot().await?);
        b.client.set_window_size(800, 900).await?;
        shot("version-json-800", &b.client.screenshot().await?);
        b.client.set_window_size(1280, 900).await?;
        let heading = b.text_of("#pv-version").await;
        let json_text = b.text_of("#pv-json").await;
        let decoded = b.text_of("pre[data-script=scriptContent]").await;
        let got = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const a = [...document.querySelectorAll('a')].find(x => x.textContent.trim() === 'Download JSON');
                 fetch(a.href).then(async r => done([r.status, r.headers.get('content-type'),
                     r.headers.get('content-disposition'), await r.text(), a.hasAttribute('download')]))
                   .catch(e => done(String(e)));",
                vec![],
            )
            .await?;
        Ok::<_, fantoccini::error::CmdError>((compared, script, heading, json_text, decoded, got))
    }
    .await;
    let (compared, script, heading, json_text, decoded, got) = match journey {
        Ok(v) => v,
        Err(err) => b.fail("versions as JSON", &err).await,
    };
    b.close().await;

    assert_eq!(
        compared,
        format!(
            "Changes from the version of {} to the version of {}",
            exact(older),
            exact(newer)
        )
    );
    assert!(
        script.contains("− Set-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 1"),
        "{script}"
    );
    assert!(
        script.contains("+ Set-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 9"),
        "{script}"
    );
    assert_eq!(heading, format!("Version captured {}", exact(older)));
    let shown: Value = serde_json::from_str(&json_text).expect("the page shows JSON");
    assert_eq!(
        shown,
        canonicalize(&older_full["content"]),
        "the older version's document"
    );
    assert_eq!(decoded.trim_end(), BACKED_UP.trim_end(), "the script body, decoded");
    assert_eq!(got[0], 200, "{got}");
    assert_eq!(got[1], "application/json", "{got}");
    assert!(
        got[2]
            .as_str()
            .is_some_and(|d| d.starts_with("attachment; filename=\"") && d.ends_with(".json\"")),
        "{got}"
    );
    let downloaded: Value = serde_json::from_str(got[3].as_str().expect("text")).expect("JSON");
    assert_eq!(downloaded, shown);
    assert_eq!(got[4], true, "the link downloads");
}

/// The drift view reads the same way, in its own columns: what the baseline holds (−) and
/// what the tenant has now (+).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drift_view_shows_a_script_and_assignments_from_baseline_to_live() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Northwind", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let sid = sim.objects(&e, SCRIPTS)[0]["id"].as_str().expect("id").to_owned();
    assert!(sim.edit_object(&e, SCRIPTS, &sid, |o| o["scriptContent"] = json!(b64(BACKED_UP))));
    sim.set_assignments(&e, &sid, vec![group(BACKUP_GROUP)]);
    assert_eq!(
        run_of(&app, &token, &tid, "/sync", json!(null)).await["status"],
        "succeeded"
    );
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Baseline"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    assert!(sim.edit_object(&e, SCRIPTS, &sid, |o| o["scriptContent"] = json!(b64(LIVE))));
    sim.set_assignments(&e, &sid, vec![group(LIVE_GROUP)]);

    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}/drift"))).await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Check drift now']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("#pv-drift-summary")).await?;
        b.client
            .execute(
                "document.querySelectorAll('tr[data-drift=changed] details').forEach(d => d.open = true);
                 document.querySelector('tr[data-drift=changed]').scrollIntoView();",
                vec![],
            )
            .await?;
        shot("drift-readable", &b.client.screenshot().await?);
        let row = b
            .client
            .execute(
                "return [...document.querySelectorAll('tr[data-drift=changed]')].map(r => r.textContent).join('\\n');",
                vec![],
            )
            .await?;
        Ok::<_, fantoccini::error::CmdError>(row.as_str().unwrap_or_default().to_owned())
    }
    .await;
    let row = match journey {
        Ok(v) => v,
        Err(err) => b.fail("readable drift", &err).await,
    };
    b.close().await;
    assert!(row.contains("− Baseline + Live now"), "{row}");
    assert!(
        row.contains("− Set-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 1\n"),
        "{row}"
    );
    assert!(
        row.contains("+ Set-ItemProperty -Path HKLM:\\Software\\MSP -Name Ring -Value 9\n"),
        "{row}"
    );
    assert!(row.contains(&format!("− Group {BACKUP_GROUP}")), "{row}");
    assert!(row.contains(&format!("+ Group {LIVE_GROUP}")), "{row}");
}
