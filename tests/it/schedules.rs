//! Scheduled backups: real cron triggers, dedupe while a capture is still running, retention,
//! pause, a trigger missed while the server was down, and the owner's form.

use std::time::{Duration, Instant};

use policyvault::config::ServeArgs;
use policyvault::sim::state::Faults;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ops::{admin_app, sim_tenant};

/// Adds a schedule through the owner's form; returns the response.
async fn add(app: &TestApp, c: &Client, csrf: &str, tid: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("_csrf", csrf)];
    form.extend_from_slice(fields);
    c.post(app.url(&format!("/t/{tid}/schedules")))
        .form(&form)
        .send()
        .await
        .expect("post schedule")
}

fn schedule_ids(app: &TestApp, tid: &str) -> Vec<String> {
    let db = app.raw_db();
    let mut stmt = db
        .prepare("SELECT id FROM schedules WHERE tenant_id = ?1 ORDER BY created_at")
        .expect("sql");
    stmt.query_map([tid], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids")
}

/// (capture runs of the schedule still queued or running, scheduled captures that succeeded,
/// scheduled sets that still exist with a succeeded capture)
fn counts(app: &TestApp, schedule_id: &str) -> (i64, i64, i64) {
    let db = app.raw_db();
    let q = |sql: &str| db.query_row(sql, [schedule_id], |r| r.get::<_, i64>(0)).expect(sql);
    (
        q(
            "SELECT count(*) FROM runs r WHERE r.kind = 'backup_set.capture' AND r.status IN ('queued', 'running')
             AND json_extract(r.params, '$.schedule_id') = ?1",
        ),
        q(
            "SELECT count(*) FROM runs r WHERE r.kind = 'backup_set.capture' AND r.status = 'succeeded'
             AND r.initiator_label = 'scheduler' AND json_extract(r.params, '$.schedule_id') = ?1",
        ),
        q(
            "SELECT count(*) FROM backup_sets s JOIN runs r ON r.id = s.capture_run_id
             WHERE s.schedule_id = ?1 AND s.origin = 'scheduled' AND r.status = 'succeeded'",
        ),
    )
}

#[tokio::test]
async fn a_schedule_fires_on_time_never_overlaps_itself_keeps_the_last_n_and_stops_when_paused() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Sched", 2, None).await;
    // Slow Graph: each trigger (a listing and a capture) takes longer than the one-second cron, so
    // triggers pile up on a capture that is still running.
    sim.set_faults(Faults {
        latency_ms: 120,
        ..Faults::default()
    });
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let res = add(&app, &c, &csrf, &tid, &[("cron", "* * * * * *"), ("keep_last", "2")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sid = schedule_ids(&app, &tid).pop().expect("schedule saved");

    let started = Instant::now();
    let mut max_active = 0;
    loop {
        let (active, done, _) = counts(&app, &sid);
        max_active = max_active.max(active);
        if done >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "three scheduled backups within a minute"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(
        max_active <= 1,
        "a schedule never has two captures at once (saw {max_active})"
    );

    let res = c
        .post(app.url(&format!("/t/{tid}/schedules/{sid}/pause")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("pause");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Retention runs after each capture: the newest two good sets are kept, the rest deleted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let (active, done, kept) = counts(&app, &sid);
        if active == 0 && kept == 2 {
            break done;
        }
        assert!(
            Instant::now() < deadline,
            "retention settles at 2 kept sets (active {active}, kept {kept})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(settled >= 3, "more backups were made than kept");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(counts(&app, &sid).1, settled, "a paused schedule does not fire");

    // The sets show as scheduled, and the runs as started by the scheduler.
    let (_, sets) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/backup-sets"), None)
        .await;
    let scheduled: Vec<_> = sets
        .as_array()
        .expect("sets")
        .iter()
        .filter(|s| s["origin"] == "scheduled")
        .collect();
    assert_eq!(scheduled.len(), 2, "{sets}");
    let (_, runs) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/runs?kind=backup_set.capture"),
            None,
        )
        .await;
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .all(|r| r["initiated_by"].is_null()),
        "{runs}"
    );
    let page = app.page(&c, &format!("/t/{tid}/schedules")).await;
    assert!(page.contains("paused") && page.contains("2 kept now"), "{page}");
}

#[tokio::test]
async fn a_trigger_missed_while_the_server_was_down_runs_once_at_start() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Missed", 1, None).await;
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    for cron in ["0 3 * * *", "30 4 * * *", "0 5 * * *"] {
        let res = add(&app, &c, &csrf, &tid, &[("cron", cron), ("keep_last", "7")]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let ids = schedule_ids(&app, &tid);
    let (missed, on_time, cut_short) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    // Down for three days: three 03:00 triggers were missed; the other schedule is new.
    let three_days_ago = policyvault::clock::format_time(chrono::Utc::now() - chrono::Duration::days(3));
    let app = app
        .restart(ServeArgs::for_tests(), |db| {
            db.execute(
                "UPDATE schedules SET created_at = ?2, last_fired_at = ?2 WHERE id = ?1",
                [&missed, &three_days_ago],
            )
            .expect("backdate");
            // Fired a minute ago, and the server stopped before the trigger made its set.
            db.execute(
                "UPDATE schedules SET last_fired_at = ?2 WHERE id = ?1",
                [
                    &cut_short,
                    &policyvault::clock::format_time(chrono::Utc::now() - chrono::Duration::minutes(1)),
                ],
            )
            .expect("cut short");
        })
        .await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while counts(&app, &missed).1 < 1 || counts(&app, &cut_short).1 < 1 {
        assert!(Instant::now() < deadline, "the missed backup runs at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sets = |sid: &str| {
        app.raw_db()
            .query_row("SELECT count(*) FROM backup_sets WHERE schedule_id = ?1", [sid], |r| {
                r.get::<_, i64>(0)
            })
            .expect("count")
    };
    assert_eq!(sets(&missed), 1, "three missed triggers make one backup, not three");
    assert_eq!(sets(&on_time), 0, "a schedule with nothing missed waits for its time");
    assert_eq!(
        sets(&cut_short),
        1,
        "a trigger cut short before its backup runs again once"
    );
    let fired: String = app
        .raw_db()
        .query_row("SELECT last_fired_at FROM schedules WHERE id = ?1", [&missed], |r| {
            r.get(0)
        })
        .expect("fired");
    assert!(
        fired > three_days_ago,
        "the catch-up is recorded, so the next start does not repeat it"
    );
    // The backup listed the tenant itself first, so it holds the live tenant.
    let (_, backups) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/runs?kind=backup_set.capture"),
            None,
        )
        .await;
    let run = backups
        .as_array()
        .and_then(|b| b.first())
        .cloned()
        .expect("a backup run");
    let (_, items) = app
        .api(
            Method::GET,
            &token,
            &format!(
                "/api/v1/tenants/{tid}/runs/{}/items?limit=1000",
                run["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let listed = items
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["item_type"] == "backup_list" && i["status"] == "succeeded")
        .count();
    assert_eq!(listed, policyvault::graph::registry::TYPES.len(), "{items}");
}

#[tokio::test]
async fn the_schedule_form_refuses_bad_input_keeps_what_was_typed_and_is_for_owners_only() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Forms", 1, None).await;
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    for (fields, message) in [
        (
            vec![("cron", "0 25 * * *"), ("keep_last", "5")],
            "not a valid cron expression",
        ),
        (vec![("cron", "every day at 2"), ("keep_last", "5")], "this one has 4"),
        (vec![("cron", "0 2 * * * * *"), ("keep_last", "5")], "this one has 7"),
        (
            vec![("cron", "0 2 * * *"), ("keep_last", "0")],
            "keep the last 1 to 1000",
        ),
        (
            vec![("cron", "0 2 * * *"), ("keep_last", "lots")],
            "keep the last 1 to 1000",
        ),
        (
            vec![("cron", "0 2 * * *"), ("keep_last", "5"), ("policy_types", "bogus")],
            "not a supported policy type",
        ),
    ] {
        let res = add(&app, &c, &csrf, &tid, &fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let body = res.text().await.expect("body");
        assert!(body.contains(message), "{fields:?}: {body}");
        assert!(body.contains(fields[0].1), "what was typed is kept: {fields:?}");
    }
    assert!(schedule_ids(&app, &tid).is_empty(), "nothing was saved");

    let check = |cron: &'static str| {
        let (c, url) = (c.clone(), app.url(&format!("/t/{tid}/schedules/check")));
        async move {
            c.get(url)
                .query(&[("cron", cron)])
                .send()
                .await
                .expect("check")
                .text()
                .await
                .expect("body")
        }
    };
    assert!(check("0 2 * * *").await.contains("Next:"));
    assert!(check("0 2 * *").await.contains("5 fields"));

    let res = add(
        &app,
        &c,
        &csrf,
        &tid,
        &[
            ("cron", "15 1 * * Sun"),
            ("keep_last", "4"),
            ("policy_types", "compliance_policy"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sid = schedule_ids(&app, &tid).pop().expect("saved");
    let saved: (String, String, i64) = app
        .raw_db()
        .query_row(
            "SELECT cron, policy_types, keep_last FROM schedules WHERE id = ?1",
            [&sid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("row");
    assert_eq!(saved, ("0 15 1 * * Sun".into(), "[\"compliance_policy\"]".into(), 4));

    // An operator sees the schedules but cannot change them.
    app.create_user("op@msp.test", false).await;
    app.api(
        Method::POST,
        &token,
        &format!("/api/v1/tenants/{tid}/members"),
        Some(json!({"email": "op@msp.test", "role": "operator"})),
    )
    .await;
    let (op, op_csrf) = app.signed_in("op@msp.test").await;
    let page = app.page(&op, &format!("/t/{tid}/schedules")).await;
    assert!(
        page.contains("<code>15 1 * * Sun</code>") && !page.contains("New schedule"),
        "{page}"
    );
    for path in [
        format!("/t/{tid}/schedules"),
        format!("/t/{tid}/schedules/{sid}/pause"),
        format!("/t/{tid}/schedules/{sid}/delete"),
    ] {
        let res = op
            .post(app.url(&path))
            .form(&[("_csrf", op_csrf.as_str()), ("cron", "0 2 * * *"), ("keep_last", "3")])
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The owner deletes it; both changes are in the audit log.
    let res = c
        .post(app.url(&format!("/t/{tid}/schedules/{sid}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(schedule_ids(&app, &tid).is_empty());
    let res = c
        .post(app.url(&format!("/t/{tid}/schedules/{sid}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("delete again");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, audit) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"schedule.created") && actions.contains(&"schedule.deleted"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_schedule_api_creates_pauses_and_deletes_for_owners_and_lists_for_viewers() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Api", 1, None).await;
    let base = format!("/api/v1/tenants/{tid}/schedules");
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let dashboard = || async { app.page(&c, "/").await };
    assert!(
        dashboard().await.contains("No backup schedule"),
        "the dashboard flags an unscheduled tenant"
    );
    let (status, created) = app
        .api(
            Method::POST,
            &token,
            &base,
            Some(json!({"cron": "0 2 * * *", "keep_last": 30, "policy_types": ["settings_catalog"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["cron"], "0 0 2 * * *");
    assert_eq!(created["keep_last"], 30);
    assert_eq!(created["policy_types"], json!(["settings_catalog"]));
    let next = created["next_runs"].as_array().expect("next runs");
    assert_eq!(next.len(), 3);
    assert!(
        next.iter().all(|t| t.as_str().is_some_and(|t| t.contains("T02:00:00"))),
        "{next:?}"
    );
    let sid = created["id"].as_str().expect("id").to_owned();
    let home = dashboard().await;
    assert!(
        home.contains("Next scheduled backup") && home.contains("02:00 UTC"),
        "{home}"
    );

    for (body, code) in [
        (
            json!({"cron": "0 2 * *", "keep_last": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"cron": "0 2 * * *", "keep_last": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"cron": "0 2 * * *", "keep_last": 3, "policy_types": ["nope"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"cron": "0 2 * * *", "keep_last": 3, "retention": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, err) = app.api(Method::POST, &token, &base, Some(body.clone())).await;
        assert_eq!(status, code, "{body}: {err}");
        assert!(err["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    }

    app.create_user("viewer@msp.test", false).await;
    app.api(
        Method::POST,
        &token,
        &format!("/api/v1/tenants/{tid}/members"),
        Some(json!({"email": "viewer@msp.test", "role": "operator"})),
    )
    .await;
    let operator = app.token_for("viewer@msp.test").await;
    let (status, list) = app.api(Method::GET, &operator, &base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (status, _) = app
        .api(
            Method::POST,
            &operator,
            &base,
            Some(json!({"cron": "0 3 * * *", "keep_last": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.api(Method::DELETE, &operator, &format!("{base}/{sid}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, paused) = app
        .api(Method::POST, &token, &format!("{base}/{sid}/pause"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            paused["enabled"].as_bool(),
            paused["next_runs"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0))
    );
    let (status, resumed) = app
        .api(Method::POST, &token, &format!("{base}/{sid}/resume"), None)
        .await;
    assert_eq!((status, resumed["enabled"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, _) = app.api(Method::DELETE, &token, &format!("{base}/{sid}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.api(Method::DELETE, &token, &format!("{base}/{sid}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
