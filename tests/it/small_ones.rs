//! Issue 13, item 15: the small ones. A restore that writes nothing leaves no "Before
//! restore" set; owners delete backup sets and tenants (confirmed, audited, refused while a
//! run uses them); the policy list pages and sorts names as people read them; disabling a
//! user asks first.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::runs::wait_for_run;

async fn run_to_end(app: &TestApp, token: &str, tid: &str, path: &str, body: Option<Value>) -> Value {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}{path}"), body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run id")).await
}

async fn backed_up(app: &TestApp, token: &str, tid: &str) -> String {
    run_to_end(app, token, tid, "/sync", None).await;
    let (_, started) = app
        .api(
            Method::POST,
            token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Nightly"})),
        )
        .await;
    wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run")).await;
    started["backup_set"]["id"].as_str().expect("set").to_owned()
}

async fn origins(app: &TestApp, token: &str, tid: &str) -> Vec<String> {
    let (_, sets) = app
        .api(Method::GET, token, &format!("/api/v1/tenants/{tid}/backup-sets"), None)
        .await;
    let ids: Vec<String> = sets
        .as_array()
        .expect("sets")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    let db = app.raw_db();
    ids.iter()
        .map(|id| {
            db.query_row("SELECT origin FROM backup_sets WHERE id = ?1", [id], |r| r.get(0))
                .expect("origin")
        })
        .collect()
}

#[tokio::test]
async fn a_restore_that_writes_nothing_leaves_no_before_restore_set() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Quiet", 1, None).await;
    let set = backed_up(&app, &token, &tid).await;
    let body = json!({"backup_set_id": set, "dry_run": false, "confirm": "Quiet"});
    let run = run_to_end(&app, &token, &tid, "/restores", Some(body.clone())).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["succeeded"], 0, "nothing changed, nothing written: {run}");
    assert!(run["before_backup_set_id"].is_null(), "{run}");
    assert_eq!(origins(&app, &token, &tid).await, ["manual"]);
    // One change: the restore writes it and keeps what it overwrote.
    let coll = "deviceManagement/deviceCompliancePolicies";
    let id = sim.objects(&t.entra_tenant_id, coll)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(sim.edit_object(&t.entra_tenant_id, coll, &id, |o| o["description"] = json!("drifted")));
    let run = run_to_end(&app, &token, &tid, "/restores", Some(body)).await;
    assert_eq!(run["succeeded"], 1, "{run}");
    assert!(run["before_backup_set_id"].is_string(), "{run}");
    let mut got = origins(&app, &token, &tid).await;
    got.sort();
    assert_eq!(got, ["before_restore", "manual"]);
}

#[tokio::test]
async fn owners_delete_backup_sets_but_not_one_a_restore_is_using() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Tidy", 1, None).await;
    let set = backed_up(&app, &token, &tid).await;
    app.create_user("op@msp.test", false).await;
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/members"),
            Some(json!({"email": "op@msp.test", "role": "operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (op, op_csrf) = app.signed_in("op@msp.test").await;
    let page = app.page(&op, &format!("/t/{tid}/backups/{set}")).await;
    assert!(!page.contains("Delete backup set"), "operators see no delete");
    let res = op
        .post(app.url(&format!("/t/{tid}/backups/{set}/delete")))
        .form(&[("_csrf", op_csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let page = app.page(&c, &format!("/t/{tid}/backups/{set}")).await;
    assert!(
        page.contains("data-confirm=\"Delete the backup set Nightly?"),
        "asks first: {page}"
    );
    // A preview of the set, held by Graph: the set is in use.
    sim.set_faults(policyvault::sim::state::Faults {
        hold: true,
        ..Default::default()
    });
    let (status, started) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/restores"),
            Some(json!({"backup_set_id": set, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let res = c
        .post(app.url(&format!("/t/{tid}/backups/{set}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let text = res.text().await.expect("body");
    assert!(text.contains("is in use by a restore that is still going"), "{text}");
    sim.set_faults(policyvault::sim::state::Faults::default());
    wait_for_run(&app, &token, &tid, started["run"]["id"].as_str().expect("run")).await;
    let res = c
        .post(app.url(&format!("/t/{tid}/backups/{set}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(origins(&app, &token, &tid).await.is_empty());
    let (_, audit) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    let deleted = audit
        .as_array()
        .and_then(|a| a.iter().find(|e| e["action"] == "backup_set.deleted"))
        .expect("audited")
        .clone();
    assert_eq!(deleted["actor"], ADMIN_EMAIL);
    assert_eq!(deleted["details"]["name"], "Nightly");
}

#[tokio::test]
async fn owners_delete_a_tenant_by_typing_its_name_once_its_runs_are_done() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Gone Ltd", 1, None).await;
    let (keep, _) = crate::ops::sim_tenant(&app, &token, &sim, "Kept", 1, None).await;
    backed_up(&app, &token, &tid).await;
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let settings = app.page(&c, &format!("/t/{tid}/settings")).await;
    assert!(
        settings.contains("Delete tenant") && settings.contains("Type the tenant's name"),
        "{settings}"
    );
    let delete = |confirm: &'static str| {
        let (c, csrf, url) = (c.clone(), csrf.clone(), app.url(&format!("/t/{tid}/delete")));
        async move {
            c.post(url)
                .form(&[("_csrf", csrf.as_str()), ("confirm", confirm)])
                .send()
                .await
                .expect("post")
        }
    };
    let res = delete("Gone").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.expect("body").contains("confirm by typing its name"));
    sim.set_faults(policyvault::sim::state::Faults {
        hold: true,
        ..Default::default()
    });
    let (_, started) = app
        .api(Method::POST, &token, &format!("/api/v1/tenants/{tid}/sync"), None)
        .await;
    let res = delete("Gone Ltd").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.expect("body").contains("wait for them to finish"));
    sim.set_faults(policyvault::sim::state::Faults::default());
    wait_for_run(&app, &token, &tid, started["run"]["id"].as_str().expect("run")).await;
    let res = delete("Gone Ltd").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.api(Method::GET, &token, "/api/v1/tenants", None).await;
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["Kept"]);
    let db = app.raw_db();
    let left: i64 = db
        .query_row(
            "SELECT (SELECT count(*) FROM runs WHERE tenant_id = ?1) + (SELECT count(*) FROM backup_sets WHERE tenant_id = ?1) + (SELECT count(*) FROM policies WHERE tenant_id = ?1)",
            [&tid],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "everything of it is gone");
    let audited: String = db
        .query_row(
            "SELECT actor FROM audit_events WHERE action = 'tenant.deleted' AND tenant_id = ?1",
            [&tid],
            |r| r.get(0),
        )
        .expect("audited");
    assert_eq!(audited, ADMIN_EMAIL);
    assert!(
        matches!(
            policyvault::audit::verify(&db),
            Ok(policyvault::audit::ChainStatus::Intact { .. })
        ),
        "the chain stays intact"
    );
    let (status, _) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{keep}/runs"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_policy_list_pages_and_sorts_names_as_people_read_them() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Big", 8, None).await;
    let coll = "deviceManagement/assignmentFilters";
    let ids: Vec<String> = sim
        .objects(&t.entra_tenant_id, coll)
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    for (id, name) in ids.iter().zip(["Filter 100", "Filter 12", "Filter 2"]) {
        assert!(sim.edit_object(&t.entra_tenant_id, coll, id, |o| o["displayName"] = json!(name)));
    }
    run_to_end(&app, &token, &tid, "/sync", None).await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let first = app.page(&c, &format!("/t/{tid}/policies")).await;
    let total: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM policies WHERE tenant_id = ?1", [&tid], |r| {
            r.get(0)
        })
        .expect("count");
    let total = usize::try_from(total).expect("count");
    assert!(total > 200, "{total}");
    assert_eq!(first.matches("<tr data-policy=").count(), 200);
    assert!(first.contains(&format!("Page 1 of {}", total.div_ceil(200))), "{first}");
    let second = app.page(&c, &format!("/t/{tid}/policies?page=2")).await;
    assert_eq!(second.matches("<tr data-policy=").count(), (total - 200).min(200));
    let filters = app.page(&c, &format!("/t/{tid}/policies?type=assignment_filter")).await;
    let at = |n: &str| filters.find(&format!(">{n}</a>")).expect(n);
    assert!(
        at("Filter 2") < at("Filter 12") && at("Filter 12") < at("Filter 100"),
        "natural order"
    );

    // Disabling a user asks first.
    app.create_user("someone@msp.test", false).await;
    let users = app.page(&c, "/admin/users").await;
    assert!(users.contains("data-confirm=\"Disable someone@msp.test?"), "{users}");
}

/// Issue 13, item 6: a whole-tenant backup's notification counts policies, not its listing
/// steps (one per type), which are run items too.
#[tokio::test]
async fn a_backup_notification_counts_policies_not_listing_steps() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Tailspin", 1, None).await;
    let (_, started) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Everything"})),
        )
        .await;
    let run = wait_for_run(&app, &token, &tid, started["run"]["id"].as_str().expect("run")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, set) = app
        .api(
            Method::GET,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/backup-sets/{}",
                started["backup_set"]["id"].as_str().expect("set")
            ),
            None,
        )
        .await;
    let policies = set["items"].as_array().map_or(0, Vec::len);
    assert!(policies > 0, "{set}");
    assert!(
        run["total"].as_u64() > u64::try_from(policies).ok(),
        "the run also has its listing steps: {run}"
    );
    let (_, notes) = app.api(Method::GET, &token, "/api/v1/notifications", None).await;
    let mine: Vec<&str> = notes
        .as_array()
        .expect("a list")
        .iter()
        .filter(|n| n["run_id"] == run["id"])
        .filter_map(|n| n["message"].as_str())
        .collect();
    assert_eq!(
        mine,
        [format!(
            "Backup of Tailspin finished: {policies} of {policies} policies captured."
        )],
        "{notes}"
    );
}

/// Drift compares with the newest backup of the whole tenant by default, not a newer set of
/// a few hand-picked policies (against which every other policy reads "added"); a picked
/// set chosen by hand says what it holds.
#[tokio::test]
async fn drift_defaults_to_the_newest_whole_tenant_backup() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Wingtip", 1, None).await;
    let whole = backed_up(&app, &token, &tid).await;
    let (_, policies) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let two: Vec<&Value> = policies
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| &p["id"])
        .take(2)
        .collect();
    let (_, started) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Two picked", "policy_ids": two})),
        )
        .await;
    wait_for_run(&app, &token, &tid, started["run"]["id"].as_str().expect("run")).await;
    let picked = started["backup_set"]["id"].as_str().expect("set").to_owned();

    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let page = app.page(&c, &format!("/t/{tid}/drift")).await;
    let baseline = page.split("id=\"pv-baseline\"").nth(1).unwrap_or_default();
    assert!(baseline.contains("<strong>Nightly</strong>"), "{page}");
    assert!(!page.contains("data-partial-baseline"), "{page}");
    let page = app.page(&c, &format!("/t/{tid}/drift?set={picked}")).await;
    assert!(
        page.contains("data-partial-baseline") && page.contains("only the 2 policies picked for it"),
        "{page}"
    );

    // "Check drift now" without a choice checks against the whole-tenant backup.
    let res = c
        .post(app.url(&format!("/t/{tid}/drift")))
        .form(&[("_csrf", csrf.as_str()), ("set", "")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let rid = res.headers()["location"]
        .to_str()
        .expect("location")
        .rsplit("run=")
        .next()
        .expect("run")
        .to_owned();
    let run = wait_for_run(&app, &token, &tid, &rid).await;
    let (_, set) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{whole}"),
            None,
        )
        .await;
    let whole_items = set["items"].as_array().map_or(0, Vec::len);
    assert!(whole_items > 2, "{set}");
    assert_eq!(run["kind"], "drift.check", "{run}");
    assert_eq!(run["target_id"], json!(whole), "{run}");
    let (_, items) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/runs/{rid}/items"),
            None,
        )
        .await;
    let compared = items
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["item_type"] == "drift_compare")
        .count();
    assert_eq!(
        compared, whole_items,
        "the whole backup's items, not the 2 picked: {items}"
    );
}
