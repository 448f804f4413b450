//! Issue 22, item 11: the backups list and set page in an admin's words: "View run" opens the
//! capture run, an imported set says where it came from, "Last changed" is the policy's own
//! `lastModifiedDateTime`, and a tenant never synced says so.

use reqwest::Method;
use serde_json::json;

use crate::fidelity::run_of;
use crate::helpers::ADMIN_EMAIL;
use crate::ops::{admin_app, sim_tenant};

const COMPLIANCE: &str = "deviceManagement/deviceCompliancePolicies";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backups_list_links_the_capture_run_and_last_changed_is_graph_s_own_time() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Tailspin", 1, None).await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let overview = app.page(&c, &format!("/t/{tid}")).await;
    assert!(overview.contains("id=\"pv-not-synced\""), "never synced: {overview}");

    let one = sim.objects(&t.entra_tenant_id, COMPLIANCE)[0].clone();
    let name = one["displayName"].as_str().expect("name").to_owned();
    assert!(
        sim.edit_object(&t.entra_tenant_id, COMPLIANCE, one["id"].as_str().expect("id"), |o| {
            o["lastModifiedDateTime"] = json!("2026-03-04T05:06:07Z");
        })
    );
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let capture = backup["id"].as_str().expect("run").to_owned();
    let list = app.page(&c, &format!("/t/{tid}/backups")).await;
    let row = list
        .split(&format!("data-set=\"{set}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("row");
    assert!(
        row.contains(&format!("/t/{tid}/runs/{capture}")),
        "View run opens the capture: {row}"
    );
    let overview = app.page(&c, &format!("/t/{tid}")).await;
    assert!(!overview.contains("id=\"pv-not-synced\""), "{overview}");

    let (_, full) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    let item_id = full["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["display_name"] == json!(name))
        .expect("the edited policy's item")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let page = app.page(&c, &format!("/t/{tid}/backups/{set}")).await;
    let item = page
        .split(&format!("data-item=\"{item_id}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default();
    assert!(
        item.contains("datetime=\"2026-03-04T05:06:07.000Z\""),
        "Graph's lastModifiedDateTime: {item}"
    );

    // Exported and imported again: the list says where it came from.
    let res = c
        .get(app.url(&format!("/api/v1/tenants/{tid}/backup-sets/{set}/export")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    assert!(res.status().is_success(), "{}", res.status());
    let zip = res.bytes().await.expect("zip").to_vec();
    let (status, imported) = crate::export::import(&app, &token, &tid, zip).await;
    assert!(status.is_success(), "{imported}");
    let list = app.page(&c, &format!("/t/{tid}/backups")).await;
    assert!(
        list.contains(&format!("Imported from a zip by {ADMIN_EMAIL} (exported "))
            && list.contains("from the set “Nightly”"),
        "{list}"
    );
}
