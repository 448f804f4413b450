//! Drift checks are runs of their own (`drift.check`, `shared/API.md` "Completeness, drift
//! checks, …"): against the newest complete whole-tenant backup by default, never reporting
//! as "added" what an incomplete baseline failed to capture; on the runs list, the overview,
//! notifications, the dashboard and their run page; "Accept" stays on the drift page and the
//! next check compares with the accepted state.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fidelity::run_of;
use crate::helpers::{ADMIN_EMAIL, TestApp, csrf_of};
use crate::ops::{admin_app, items, sim_tenant};
use crate::runs::wait_for_run;
use policyvault::sim::state::Faults;

const DC: &str = "deviceManagement/deviceConfigurations";
const COMPLIANCE: &str = "deviceManagement/deviceCompliancePolicies";
const REMEDIATIONS: &str = "deviceManagement/deviceHealthScripts";
const ROLES: &str = "deviceManagement/roleDefinitions";

async fn check(app: &TestApp, token: &str, tid: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.api(
        Method::POST,
        token,
        &format!("/api/v1/tenants/{tid}/drift-checks"),
        body,
    )
    .await
}

async fn checked(app: &TestApp, token: &str, tid: &str, body: Option<Value>) -> (Value, Vec<Value>) {
    let (status, started) = check(app, token, tid, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["run"]["kind"], "drift.check", "{started}");
    let run = wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run")).await;
    let all = items(app, token, tid, &run).await;
    (run, all)
}

/// The policies a check found, by `change`, as (label) lists.
fn by_change(items: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in items.iter().filter(|i| i["item_type"] != "drift_list") {
        let change = i["result"]["change"].as_str().unwrap_or("none").to_owned();
        out.entry(change)
            .or_default()
            .push(i["label"].as_str().unwrap_or_default().to_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_check_is_a_run_of_its_own_that_finds_changed_removed_and_added() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Contoso", 1, None).await;
    let e = t.entra_tenant_id.clone();

    // Before any whole-tenant backup there is nothing to compare with: 409, said why.
    let (status, body) = check(&app, &token, &tid, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.to_string().contains("complete backup of the whole tenant"),
        "{body}"
    );

    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let baseline = backup["target_id"].as_str().expect("set").to_owned();

    // In the portal: one policy changed, one deleted, one created.
    let changed = sim.objects(&e, COMPLIANCE)[0].clone();
    assert!(
        sim.edit_object(&e, COMPLIANCE, changed["id"].as_str().expect("id"), |o| {
            o["description"] = json!("changed in the portal");
        })
    );
    let gone = sim.objects(&e, DC)[0].clone();
    assert!(sim.delete_object(&e, DC, gone["id"].as_str().expect("id")));
    sim.create_object(
        &e,
        DC,
        json!({"@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": "Created in the portal", "passwordMinimumLength": 12}),
    )
    .expect("created");

    // An empty body means the default baseline; concurrent starts make one run.
    let starts: Vec<_> = (0..6).map(|_| check(&app, &token, &tid, None)).collect();
    let answers = futures_util::future::join_all(starts).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, a)| {
            assert_eq!(*status, StatusCode::ACCEPTED, "{a}");
            a["run"]["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one check for concurrent starts: {answers:?}");
    let rid = ids.into_iter().next().expect("id");
    let run = wait_for_run(&app, &token, &tid, &rid).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["target_id"], json!(baseline), "{run}");
    let all = items(&app, &token, &tid, &run).await;
    let found = by_change(&all);
    assert_eq!(
        found.get("changed"),
        Some(&vec![changed["displayName"].as_str().expect("name").to_owned()]),
        "{found:?}"
    );
    assert_eq!(
        found.get("removed"),
        Some(&vec![gone["displayName"].as_str().expect("name").to_owned()]),
        "{found:?}"
    );
    assert_eq!(
        found.get("added"),
        Some(&vec!["Created in the portal".to_owned()]),
        "{found:?}"
    );
    assert!(found.get("unchanged").is_some_and(|u| u.len() > 20), "{found:?}");
    assert_eq!(
        found.keys().cloned().collect::<Vec<_>>(),
        ["added", "changed", "removed", "unchanged"],
        "every compared item says its change: {found:?}"
    );
    let diff = all
        .iter()
        .find(|i| i["result"]["change"] == "changed")
        .map(|i| i["result"]["diff"].clone())
        .expect("changed item");
    assert!(diff.to_string().contains("changed in the portal"), "{diff}");

    // The notification says what it found.
    let (_, notes) = app.api(Method::GET, &token, "/api/v1/notifications", None).await;
    assert!(
        notes
            .to_string()
            .contains("Drift check of Contoso: 1 changed, 1 removed, 1 added."),
        "{notes}"
    );

    // Runs list (filtered by kind), its run page linking back, the drift page, the overview.
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let runs = app.page(&c, &format!("/t/{tid}/runs?kind=drift.check")).await;
    assert!(
        runs.contains(&format!("/t/{tid}/runs/{rid}")) && runs.contains("Drift check"),
        "{runs}"
    );
    let page = app.page(&c, &format!("/t/{tid}/runs/{rid}")).await;
    assert!(page.contains(&format!("/t/{tid}/drift?run={rid}")), "{page}");
    assert!(page.contains("changed since the baseline"), "{page}");
    let drift = app.page(&c, &format!("/t/{tid}/drift?run={rid}")).await;
    for row in [
        "data-drift=\"changed\"",
        "data-drift=\"removed\"",
        "data-drift=\"added\"",
    ] {
        assert_eq!(drift.matches(row).count(), 1, "{row}: {drift}");
    }
    assert!(
        drift.contains("1 changed, 1 removed, 1 added since the baseline"),
        "{drift}"
    );
    assert!(
        drift.contains(&format!("href=\"/t/{tid}/drift\" aria-current=\"page\"")),
        "the Drift tab: {drift}"
    );
    let overview = app.page(&c, &format!("/t/{tid}")).await;
    assert!(
        overview.contains(&format!(
            "<form class=\"pv-actions\" method=\"post\" action=\"/t/{tid}/drift\">"
        )),
        "one-click check: {overview}"
    );
    let card = overview.split("id=\"pv-backups-card\"").nth(1).expect("card");
    assert!(card.contains("1 changed, 1 removed, 1 added"), "{card}");
    assert!(card.contains("Drift check"), "recent runs: {card}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_checks_refuse_bad_bodies_viewers_and_other_tenants_sets() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Alpha", 1, None).await;
    let (other, _) = sim_tenant(&app, &token, &sim, "Beta", 1, None).await;
    let theirs = run_of(&app, &token, &other, "/backup-sets", json!({"name": "Beta nightly"})).await;
    let theirs = theirs["target_id"].as_str().expect("set").to_owned();

    let (status, body) = check(&app, &token, &tid, Some(json!({"baseline_set_id": theirs}))).await;
    // The caller sees both tenants (a superadmin): the set is simply not this tenant's.
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's set: {body}");
    assert!(body.to_string().contains("in this tenant"), "{body}");
    let (status, body) = check(&app, &token, &tid, Some(json!({"baseline": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown field: {body}");
    let (status, body) = check(&app, &token, &tid, Some(json!({"baseline_set_id": "nope"}))).await;
    assert!(
        matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{status} {body}"
    );

    app.create_user("viewer@msp.test", false).await;
    app.api(
        Method::POST,
        &token,
        &format!("/api/v1/tenants/{tid}/members"),
        Some(json!({"email": "viewer@msp.test", "role": "viewer"})),
    )
    .await;
    let viewer = app.token_for("viewer@msp.test").await;
    let (status, body) = check(&app, &viewer, &tid, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_an_incomplete_baseline_what_it_missed_is_not_in_the_baseline_not_added() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Fabrikam", 1, None).await;
    let e = t.entra_tenant_id.clone();
    sim.set_faults(Faults {
        down_collections: vec![REMEDIATIONS.into()],
        forbidden_collections: vec![ROLES.into()],
        ..Faults::default()
    });
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Half"})).await;
    assert_eq!(backup["status"], "partial", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();
    sim.set_faults(Faults::default());

    // No complete whole-tenant backup: no default baseline.
    let (status, body) = check(&app, &token, &tid, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Chosen by hand: nothing is added; the missed types' objects are named apart.
    let (run, all) = checked(&app, &token, &tid, Some(json!({"baseline_set_id": set}))).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let found = by_change(&all);
    assert_eq!(found.get("added"), None, "nothing was added: {found:?}");
    assert_eq!(found.get("changed"), None, "{found:?}");
    let missed: Vec<&Value> = all
        .iter()
        .filter(|i| i["item_type"] == "drift_list" && i["result"]["reason"] == "capture_failed")
        .collect();
    let types: Vec<&str> = missed.iter().map(|i| i["item_id"].as_str().expect("type")).collect();
    assert_eq!(types.len(), 2, "{types:?}");
    let remediations = sim.objects(&e, REMEDIATIONS);
    let named = missed
        .iter()
        .flat_map(|i| i["result"]["not_in_baseline"].as_array().cloned().unwrap_or_default())
        .count();
    assert!(named >= remediations.len() && !remediations.is_empty(), "{missed:?}");

    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let rid = run["id"].as_str().expect("run");
    let page = app.page(&c, &format!("/t/{tid}/drift?run={rid}")).await;
    assert!(page.contains("data-incomplete-baseline"), "flagged: {page}");
    assert!(
        page.contains("Graph was unavailable") && page.contains("permission"),
        "{page}"
    );
    assert_eq!(page.matches("data-drift=\"added\"").count(), 0, "{page}");
    assert_eq!(page.matches("data-drift=\"not-in-baseline\"").count(), named, "{page}");
    assert!(page.contains("not in the baseline (capture failed)"), "{page}");
    // With no complete backup the page chooses none and says why.
    let page = app.page(&c, &format!("/t/{tid}/drift")).await;
    assert!(page.contains("id=\"pv-no-default\""), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_a_row_stays_on_the_drift_page_and_the_next_check_compares_with_it() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Northwind", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly"})).await;
    let baseline = backup["target_id"].as_str().expect("set").to_owned();
    let changed = sim.objects(&e, COMPLIANCE)[0].clone();
    assert!(
        sim.edit_object(&e, COMPLIANCE, changed["id"].as_str().expect("id"), |o| {
            o["description"] = json!("deliberately changed");
        })
    );
    let (run, all) = checked(&app, &token, &tid, None).await;
    let row = all
        .iter()
        .find(|i| i["result"]["change"] == "changed")
        .expect("changed row");
    let policy_id = row["result"]["policy_id"].as_str().expect("policy").to_owned();

    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let rid = run["id"].as_str().expect("run");
    let page = app.page(&c, &format!("/t/{tid}/drift?run={rid}")).await;
    let res = c
        .post(app.url(&format!("/t/{tid}/drift/accept")))
        .form(&[
            ("_csrf", csrf_of(&page).as_str()),
            ("set", baseline.as_str()),
            ("policy_id", policy_id.as_str()),
        ])
        .send()
        .await
        .expect("accept");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(to, format!("/t/{tid}/drift?set={baseline}"), "stays on the drift page");
    let page = app.page(&c, &to).await;
    assert!(page.contains("Accepted the drift of"), "the flash says so: {page}");
    assert!(
        page.contains("data-accepted") && page.contains("The next check compares it with"),
        "{page}"
    );

    // The accepted one-policy set is not the tenant's last backup anywhere.
    let (_, sets) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/backup-sets"), None)
        .await;
    let accepted = sets
        .as_array()
        .expect("sets")
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with("Accepted drift:")))
        .cloned()
        .expect("the accepted backup");
    let capture = accepted["capture_run_id"].as_str().expect("capture run");
    wait_for_run(&app, &token, &tid, capture).await;
    let overview = app.page(&c, &format!("/t/{tid}")).await;
    let last = overview
        .split("id=\"pv-last-backup\"")
        .nth(1)
        .and_then(|s| s.split("</dd>").next())
        .unwrap_or_default();
    assert!(last.contains("Nightly") && !last.contains("Accepted drift"), "{last}");
    let dashboard = app.page(&c, "/").await;
    let row = dashboard
        .split(&format!("data-tenant=\"{tid}\""))
        .nth(1)
        .unwrap_or_default();
    assert!(
        row.contains("Nightly") && !row.split("</tr>").next().unwrap_or_default().contains("Accepted drift"),
        "{row}"
    );

    // The next check compares that policy with its accepted state: no drift.
    let (_, all) = checked(&app, &token, &tid, None).await;
    let found = by_change(&all);
    assert_eq!(found.get("changed"), None, "{found:?}");
    let same = all
        .iter()
        .find(|i| i["result"]["policy_id"] == json!(policy_id))
        .expect("the accepted policy compared");
    assert_eq!(same["result"]["change"], "unchanged", "{same}");
    assert_eq!(same["result"]["compared_with"], "accepted", "{same}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_drift_and_filters_the_tenants_that_drifted() {
    let (app, token, sim) = admin_app().await;
    let (drifted, t) = sim_tenant(&app, &token, &sim, "Drifted", 1, None).await;
    let (steady, _) = sim_tenant(&app, &token, &sim, "Steady", 1, None).await;
    for tid in [&drifted, &steady] {
        run_of(&app, &token, tid, "/backup-sets", json!({"name": "Nightly"})).await;
    }
    let one = sim.objects(&t.entra_tenant_id, COMPLIANCE)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        sim.edit_object(&t.entra_tenant_id, COMPLIANCE, &one, |o| o["description"] =
            json!("edited"))
    );
    for tid in [&drifted, &steady] {
        checked(&app, &token, tid, None).await;
    }
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let page = app.page(&c, "/").await;
    let row = |page: &str, tid: &str| {
        page.split(&format!("data-tenant=\"{tid}\""))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .map(str::to_owned)
    };
    let d = row(&page, &drifted).expect("drifted row");
    assert!(d.contains("data-drift-found") && d.contains("1 changed"), "{d}");
    let s = row(&page, &steady).expect("steady row");
    assert!(s.contains("no drift"), "{s}");
    let filtered = app.page(&c, "/?filter=drift_detected").await;
    assert!(row(&filtered, &drifted).is_some(), "{filtered}");
    assert!(row(&filtered, &steady).is_none(), "{filtered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_backup_is_followed_by_a_drift_check_against_the_previous_one() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Sched", 1, None).await;
    let first = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "First"})).await;
    let first = first["target_id"].as_str().expect("set").to_owned();
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/schedules"),
            Some(json!({"cron": "* * * * * *", "keep_last": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sid = body["id"].as_str().expect("schedule").to_owned();
    let check = {
        let mut seen = None;
        for _ in 0..600 {
            let (_, runs) = app
                .api(
                    Method::GET,
                    &token,
                    &format!("/api/v1/tenants/{tid}/runs?kind=drift.check"),
                    None,
                )
                .await;
            seen = runs
                .as_array()
                .and_then(|r| r.iter().find(|r| r["status"] == "succeeded").cloned());
            if seen.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        seen.expect("a drift check after the scheduled backup")
    };
    app.api(
        Method::POST,
        &token,
        &format!("/api/v1/tenants/{tid}/schedules/{sid}/pause"),
        None,
    )
    .await;
    assert_eq!(check["initiated_by"], Value::Null, "started by the scheduler: {check}");
    assert_eq!(
        check["target_id"],
        json!(first),
        "against the backup before it: {check}"
    );
}

/// Issue 22, item 12: one time zone per screen. In a browser in India (UTC+05:30), the drift
/// page's baseline choices, a schedule's next runs and a policy's versions read local time,
/// with UTC on hover; set names carry no baked-in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_read_in_the_browser_s_time_zone_with_utc_on_hover() {
    use fantoccini::Locator;
    let Some(b) = crate::browser::Browser::start_with_env(&[], &[("TZ", "Asia/Kolkata")]).await else {
        return;
    };
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Zone", 1, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let (_, s) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    let created = chrono::DateTime::parse_from_rfc3339(s["created_at"].as_str().expect("at")).expect("time");
    let india = chrono::FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("offset");
    let local = created.with_timezone(&india).format("%Y-%m-%d %H:%M").to_string();
    let utc = created
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/schedules"),
            Some(json!({"cron": "30 2 * * *", "keep_last": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}/drift"))).await?;
        b.client
            .wait()
            .for_element(Locator::Css("option[data-localized]"))
            .await?;
        let option = b.text_of(&format!("option[value='{set}']")).await;
        let title = b
            .client
            .find(Locator::Css(&format!("option[value='{set}']")))
            .await?
            .attr("title")
            .await?;
        b.client.goto(&app.url(&format!("/t/{tid}/schedules"))).await?;
        b.client
            .wait()
            .for_element(Locator::Css("time[data-localized]"))
            .await?;
        let next = b.text_of("time[data-localized]").await;
        Ok::<_, fantoccini::error::CmdError>((option, title, next))
    }
    .await;
    let (option, title, next) = match journey {
        Ok(v) => v,
        Err(e) => b.fail("time zones", &e).await,
    };
    b.close().await;
    assert_eq!(option, format!("Nightly · {local}"), "local time in the choice");
    assert_eq!(title.as_deref(), Some(utc.as_str()), "UTC on hover");
    // 02:30 UTC is 08:00 in India.
    assert!(next.ends_with("08:00"), "the next run in local time: {next}");
}
