//! The run engine through real parts: the real server, its workers and its database.

use policyvault::auth::role::Role;
use policyvault::config::ServeArgs;
use policyvault::db::runs::NewItem;
use policyvault::graph::registry::TYPES;
use policyvault::runs::start::{Initiator, StartRequest, start};
use policyvault::startup::App;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, TestApp, serve, spawn_app};

fn request(tenant_id: &str, kind: &'static str, user_id: &str, email: &str, items: usize) -> StartRequest {
    StartRequest {
        tenant_id: tenant_id.to_owned(),
        kind,
        target_type: "tenant",
        target_id: tenant_id.to_owned(),
        dry_run: false,
        required_role: Role::Operator,
        initiator: Initiator::User {
            id: user_id.to_owned(),
            email: email.to_owned(),
        },
        parent_run_id: None,
        params: json!({}),
        items: (0..items)
            .map(|i| NewItem {
                item_type: "policy_type".into(),
                item_id: format!("t{i}"),
                label: format!("Type {i}"),
            })
            .collect(),
        audit_action: None,
    }
}

/// Polls the API until the run is terminal. The limit is generous because CI machines are
/// shared and slow: a whole-tenant backup of a 1,000-policy tenant took over 10 s there.
pub async fn wait_for_run(app: &TestApp, token: &str, tenant_id: &str, run_id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        let (status, run) = app
            .api(
                Method::GET,
                token,
                &format!("/api/v1/tenants/{tenant_id}/runs/{run_id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{run}");
        if matches!(run["status"].as_str(), Some("succeeded" | "failed" | "partial")) {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {run_id} did not finish in two minutes");
}

fn user_id(app: &TestApp, email: &str) -> String {
    app.raw_db()
        .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| r.get(0))
        .expect("user id")
}

#[tokio::test]
async fn a_run_of_an_unknown_kind_still_ends_failed_with_counts_and_notifications() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let tid = t["id"].as_str().expect("id");
    let started = start(
        &app.state.engine,
        request(tid, "no.such_kind", &user_id(&app, ADMIN_EMAIL), ADMIN_EMAIL, 3),
    )
    .await
    .expect("start");
    assert!(!started.reused);
    let run = wait_for_run(&app, &admin, tid, &started.run.id).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error_code"], "internal");
    assert_eq!(
        (run["total"].as_i64(), run["failed"].as_i64()),
        (Some(3), Some(3)),
        "counts equal the items: {run}"
    );
    let (_, items) = app
        .api(
            Method::GET,
            &admin,
            &format!("/api/v1/tenants/{tid}/runs/{}/items", started.run.id),
            None,
        )
        .await;
    assert!(
        items
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["status"] == "failed" && i["error_code"] == "internal")
    );
    let (_, notes) = app.api(Method::GET, &admin, "/api/v1/notifications", None).await;
    let statuses: Vec<&str> = notes
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["status"].as_str())
        .collect();
    assert_eq!(statuses, ["failed"], "one notification per finished run");
}

#[tokio::test]
async fn a_queued_run_whose_initiator_lost_access_fails_as_permission_revoked_without_calling_graph() {
    // The run is queued while no worker runs (the server is built but not started yet).
    let sim = crate::graph::sim().await;
    let simulated = sim.add_tenant("Revoked", 1);
    let data_dir = tempfile::tempdir().expect("dir");
    let app = App::build(data_dir.path(), ServeArgs::for_tests())
        .await
        .expect("build");
    let operator = policyvault::accounts::create_user(
        &app.state.db,
        "op@msp.test",
        crate::helpers::PASSWORD.to_owned().into(),
        false,
        "test",
    )
    .await
    .expect("user");
    let mut body = crate::helpers::tenant_body("A", &simulated.client_secret);
    body["entra_tenant_id"] = json!(simulated.entra_tenant_id);
    body["client_id"] = json!(simulated.client_id);
    body["graph_base_url"] = json!(sim.base_url());
    body["login_base_url"] = json!(sim.base_url());
    let tenant = policyvault::tenants::create(
        &app.state.db,
        &app.state.key,
        serde_json::from_value(body).expect("input"),
        true,
        "test",
    )
    .await
    .expect("tenant");
    policyvault::tenants::set_member(&app.state.db, &tenant.id, "op@msp.test", "operator", "test")
        .await
        .expect("member");
    let started = start(
        &app.state.engine,
        request(&tenant.id, "tenant.verify", &operator.id, "op@msp.test", 2),
    )
    .await
    .expect("start");
    // Access removed while the run waits in the queue.
    policyvault::tenants::remove_member(&app.state.db, &tenant.id, &operator.id, "test")
        .await
        .expect("remove");

    // The server starts: its worker must refuse to act for the former member.
    let app = serve(app, data_dir);
    let su = policyvault::accounts::create_user(
        &app.state.db,
        "root@msp.test",
        crate::helpers::PASSWORD.to_owned().into(),
        true,
        "test",
    )
    .await
    .expect("superadmin");
    let token = policyvault::accounts::create_token(&app.state.db, &su, "t", "test")
        .await
        .expect("token");
    let run = wait_for_run(&app, &token, &tenant.id, &started.run.id).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error_code"], "permission_revoked", "{run}");
    assert_eq!(run["failed"], 2);
    assert_eq!(
        sim.counters(&simulated.entra_tenant_id),
        (0, 0, 0),
        "no Graph request was made"
    );
    let token_requests = reqwest::get(format!("{}/_sim/counters", sim.base_url()))
        .await
        .expect("counters")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(token_requests["token_requests"], 0, "not even a token was requested");
}

#[tokio::test]
async fn identical_starts_while_active_reuse_the_run_and_a_new_one_follows_a_terminal_run() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let tid = t["id"].as_str().expect("id").to_owned();
    let uid = user_id(&app, ADMIN_EMAIL);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (engine, tid, uid) = (app.state.engine.clone(), tid.clone(), uid.clone());
        tasks.push(tokio::spawn(async move {
            start(&engine, request(&tid, "no.such_kind", &uid, ADMIN_EMAIL, 1)).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for t in tasks {
        let s = t.await.expect("join").expect("start");
        ids.insert(s.run.id.clone());
        created += usize::from(!s.reused);
    }
    // A start after the first run finished makes a new run, so count only the first wave.
    let runs: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .expect("q");
    assert!(
        created >= 1 && i64::try_from(created).expect("fits") == runs,
        "every non-reused start made exactly one row"
    );
    assert!(
        ids.len() < 50,
        "concurrent identical starts were deduplicated ({} runs for 50 starts)",
        ids.len()
    );
    let first = ids.iter().next().expect("a run").clone();
    wait_for_run(&app, &admin, &tid, &first).await;
    let after = start(&app.state.engine, request(&tid, "no.such_kind", &uid, ADMIN_EMAIL, 1))
        .await
        .expect("start");
    assert!(
        !after.reused && !ids.contains(&after.run.id),
        "a terminal run is never reused"
    );
}

/// Reads a server-sent event stream until it closes; returns (event, data) pairs.
pub async fn read_events(mut res: reqwest::Response) -> Vec<(String, String)> {
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = res.chunk().await.expect("chunk") {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the stream closes after done");
    text.split("\n\n")
        .filter_map(|block| {
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event: ").or_else(|| l.strip_prefix("event:")))?;
            let data: Vec<&str> = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                .collect();
            Some((event.trim().to_owned(), data.join("\n")))
        })
        .collect()
}

#[tokio::test]
async fn a_run_stream_sends_the_current_state_first_then_done_and_closes() {
    let app = spawn_app().await;
    let (browser, _) = app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let tid = t["id"].as_str().expect("id");
    let started = start(
        &app.state.engine,
        request(tid, "no.such_kind", &user_id(&app, ADMIN_EMAIL), ADMIN_EMAIL, 2),
    )
    .await
    .expect("start");
    wait_for_run(&app, &admin, tid, &started.run.id).await;
    let res = browser
        .get(app.url(&format!("/t/{tid}/runs/{}/events", started.run.id)))
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    let events = read_events(res).await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["summary", "items", "filter", "done"]);
    assert!(events[0].1.contains("data-status=\"failed\""), "{}", events[0].1);
    assert_eq!(events[1].1.matches("<tr").count(), 2, "both items rendered");
    assert!(
        events[2].1.contains("Failed 2"),
        "the filter counts follow: {}",
        events[2].1
    );
    assert_eq!(events[3].1, "failed");

    // The page renders the same summary and subscribes to the stream.
    let page = browser
        .get(app.url(&format!("/t/{tid}/runs/{}", started.run.id)))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("sse-connect=") && page.contains("data-status=\"failed\"") && page.contains("internal"));
    let list = browser
        .get(app.url(&format!("/t/{tid}/runs?status=failed")))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("body");
    assert!(list.contains(&started.run.id));
    let (status, body) = app
        .api(
            Method::GET,
            &admin,
            &format!("/api/v1/tenants/{tid}/runs?status=bogus"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// A sync of a 10-policy tenant whose Graph answers in 150 ms: a run that lasts a few
/// seconds, to watch. Keep the simulator alive while the run goes on.
async fn slow_sync(name: &str) -> (TestApp, policyvault::sim::SimHandle, String, String) {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, name, 2, None).await;
    sim.set_faults(policyvault::sim::state::Faults {
        latency_ms: 150,
        ..Default::default()
    });
    let (_, started) = app
        .api(Method::POST, &token, &format!("/api/v1/tenants/{tid}/sync"), None)
        .await;
    let run_id = started["run"]["id"].as_str().expect("id").to_owned();
    (app, sim, tid, run_id)
}

#[tokio::test]
async fn a_live_stream_sends_progress_in_order_and_ends_with_done() {
    let (app, _sim, tid, run_id) = slow_sync("Stream").await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let res = c
        .get(app.url(&format!("/t/{tid}/runs/{run_id}/events")))
        .send()
        .await
        .expect("sse");
    let events = read_events(res).await;
    let done_counts: Vec<u32> = events
        .iter()
        .filter(|(e, _)| e == "summary")
        .filter_map(|(_, html)| {
            let i = html.find(&format!(" of {} items", TYPES.len()))?;
            let start = html[..i].rfind('>')? + 1;
            html[start..i].trim().parse().ok()
        })
        .collect();
    assert!(
        done_counts.len() >= 3,
        "several progress updates while it ran: {done_counts:?}"
    );
    assert!(
        done_counts.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes backwards: {done_counts:?}"
    );
    assert_eq!(done_counts.last().map(|n| *n as usize), Some(TYPES.len()));
    assert_eq!(
        events.last().map(|(e, d)| (e.as_str(), d.as_str())),
        Some(("done", "succeeded"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_watchers_of_one_run_all_see_it_finish_and_share_one_render_per_change() {
    let (app, _sim, tid, run_id) = slow_sync("Watched").await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let renders_before = app.state.fragments.renders();
    let watchers: Vec<_> = (0..30)
        .map(|_| {
            let (c, url) = (c.clone(), app.url(&format!("/t/{tid}/runs/{run_id}/events")));
            tokio::spawn(async move { read_events(c.get(url).send().await.expect("sse")).await })
        })
        .collect();
    let mut summaries = Vec::new();
    for w in watchers {
        let events = w.await.expect("watcher");
        assert_eq!(
            events.last().map(|(e, d)| (e.as_str(), d.as_str())),
            Some(("done", "succeeded")),
            "every watcher sees the end"
        );
        assert!(
            events
                .iter()
                .rev()
                .find(|(e, _)| e == "summary")
                .is_some_and(|(_, h)| h.contains(&format!("{0} of {0} items", TYPES.len())))
        );
        summaries.push(events.iter().filter(|(e, _)| e == "summary").count());
    }
    let renders = app.state.fragments.renders() - renders_before;
    let sent: usize = summaries.iter().sum();
    let most = summaries.iter().copied().max().unwrap_or_default();
    assert!(most >= 3, "several updates per watcher: {summaries:?}");
    assert!(
        usize::try_from(renders).expect("small") <= most * 3,
        "{sent} pages sent from {renders} renders; one watcher alone got {most}"
    );
}

/// A run left `running` by a worker that stopped answering (its lease ran out) while this
/// server is up: another worker takes it over and finishes it; one that has already been
/// taken over too often fails as `worker_lost` instead of looping forever.
#[tokio::test]
async fn a_live_server_takes_over_runs_whose_lease_expired_and_gives_up_after_three_takeovers() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Lease", 1, None).await;
    let admin = user_id(&app, ADMIN_EMAIL);
    let orphan = |attempt: i64, target: &str| {
        let (tid, admin, target) = (tid.clone(), admin.clone(), target.to_owned());
        app.state.db.write(move |tx| {
            let id = policyvault::clock::new_id();
            let now = policyvault::clock::now();
            let (run, _) = policyvault::db::runs::insert_or_reuse(
                tx,
                &policyvault::db::runs::NewRun {
                    id: &id,
                    tenant_id: &tid,
                    kind: "tenant.verify",
                    target_type: "tenant",
                    target_id: &target,
                    dry_run: false,
                    initiated_by: Some(&admin),
                    initiator_label: ADMIN_EMAIL,
                    required_role: "operator",
                    parent_run_id: None,
                    params: "{}",
                    now: &now,
                },
            )?;
            let items: Vec<NewItem> = policyvault::graph::registry::TYPES
                .iter()
                .map(|t| NewItem {
                    item_type: "policy_type".into(),
                    item_id: t.key.into(),
                    label: t.label.into(),
                })
                .collect();
            policyvault::db::runs::insert_items(tx, &run.id, &items)?;
            // In the same transaction, so no worker of ours claims it first: a stopped worker's run.
            tx.execute(
                "UPDATE runs SET status = 'running', started_at = ?2, lease_owner = 'stopped-worker',
                    lease_expires_at = '2000-01-01T00:00:00Z', attempt = ?3 WHERE id = ?1",
                rusqlite::params![run.id, now, attempt],
            )?;
            Ok(run.id)
        })
    };
    let resumed = orphan(1, &tid).await.expect("orphan");
    let lost = orphan(3, "other-target").await.expect("orphan");
    let run = wait_for_run(&app, &token, &tid, &resumed).await;
    assert_eq!(
        (run["status"].as_str(), run["succeeded"].as_i64()),
        (Some("succeeded"), Some(i64::try_from(TYPES.len()).expect("few types"))),
        "{run}"
    );
    let attempt: i64 = app
        .raw_db()
        .query_row("SELECT attempt FROM runs WHERE id = ?1", [&resumed], |r| r.get(0))
        .expect("attempt");
    assert_eq!(attempt, 2, "taken over once by a live worker");
    let run = wait_for_run(&app, &token, &tid, &lost).await;
    assert_eq!(
        (run["status"].as_str(), run["error_code"].as_str()),
        (Some("failed"), Some("worker_lost")),
        "{run}"
    );
}

#[tokio::test]
async fn notifications_are_listed_and_marked_read() {
    let app = spawn_app().await;
    let (browser, csrf) = app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let tid = t["id"].as_str().expect("id");
    let started = start(
        &app.state.engine,
        request(tid, "no.such_kind", &user_id(&app, ADMIN_EMAIL), ADMIN_EMAIL, 1),
    )
    .await
    .expect("start");
    wait_for_run(&app, &admin, tid, &started.run.id).await;
    let home = browser
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("body");
    assert!(home.contains("Notifications, 1 unread"), "the bell counts them");
    let page = browser
        .get(app.url("/notifications"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert_eq!(page.matches("View run").count(), 1);
    let res = browser
        .post(app.url("/notifications/read"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("read");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, notes) = app.api(Method::GET, &admin, "/api/v1/notifications", None).await;
    assert!(notes.as_array().expect("list").iter().all(|n| n["read"] == true));
}
