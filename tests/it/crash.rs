//! Crash safety with the real binary: SIGKILL in the middle of a run, restart, and the run
//! finishes where it stopped.

use std::time::Duration;

use policyvault::sim::state::Faults;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, ServerProcess, run_binary};

async fn get(c: &Client, server: &ServerProcess, token: &str, path: &str) -> Value {
    c.get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// A superadmin made with the command line in `data_dir`, and an API token of theirs.
fn superadmin_token(data_dir: &std::path::Path) -> String {
    let d = data_dir.to_string_lossy().into_owned();
    let args = [
        "--data-dir",
        &d,
        "user",
        "add",
        "--email",
        "root@msp.test",
        "--superadmin",
    ];
    assert!(run_binary(&args, &format!("{PASSWORD}\n")).0, "user add");
    let (_, token, _) = run_binary(&["--data-dir", &d, "token", "create", "--email", "root@msp.test"], "");
    token.trim().to_owned()
}

#[tokio::test]
async fn a_run_killed_mid_way_resumes_after_restart_without_redoing_finished_items() {
    let sim = crate::graph::sim().await;
    let t = sim.add_tenant("Crash", 4);
    let dir = tempfile::tempdir().expect("dir");
    let token = superadmin_token(dir.path());
    let env = [("PV_ALLOW_CUSTOM_ENDPOINTS", "1")];
    let server = ServerProcess::start(dir.path(), &env);
    let c = Client::new();
    let tenant: Value = c
        .post(server.url("/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "Crash", "entra_tenant_id": t.entra_tenant_id, "client_id": t.client_id, "client_secret": t.client_secret,
                      "cloud": "global", "graph_base_url": sim.base_url(), "login_base_url": sim.base_url()}))
        .send()
        .await
        .expect("tenant")
        .json()
        .await
        .expect("json");
    let tid = tenant["id"].as_str().expect("id").to_owned();
    let sync: Value = c
        .post(server.url(&format!("/api/v1/tenants/{tid}/sync")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sync")
        .json()
        .await
        .expect("json");
    let sync_id = sync["run"]["id"].as_str().expect("id").to_owned();
    for _ in 0..100 {
        if get(&c, &server, &token, &format!("/api/v1/tenants/{tid}/runs/{sync_id}")).await["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A slow Graph: each of the 40 items takes two reads of 80 ms.
    sim.set_faults(Faults {
        latency_ms: 80,
        ..Faults::default()
    });
    let res = c
        .post(server.url(&format!("/api/v1/tenants/{tid}/backup-sets")))
        .bearer_auth(&token)
        .json(&json!({"name": "Before the crash"}))
        .send()
        .await
        .expect("backup");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let started: Value = res.json().await.expect("json");
    let run_id = started["run"]["id"].as_str().expect("id").to_owned();
    let run_path = format!("/api/v1/tenants/{tid}/runs/{run_id}");
    let mut done_before = 0;
    for _ in 0..200 {
        done_before = get(&c, &server, &token, &run_path).await["succeeded"]
            .as_i64()
            .unwrap_or(0);
        if done_before >= 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        (8..40).contains(&done_before),
        "killed mid-run ({done_before} of 40 done)"
    );
    let _logs = server.stop(); // SIGKILL

    let db = rusqlite::Connection::open(dir.path().join(policyvault::startup::DB_FILE)).expect("db");
    let finished_before: Vec<(String, String)> = {
        let mut stmt = db
            .prepare("SELECT id, finished_at FROM run_items WHERE run_id = ?1 AND status = 'succeeded' ORDER BY seq")
            .expect("prepare");
        stmt.query_map([&run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("q")
            .map(|r| r.expect("row"))
            .collect()
    };
    let status: String = db
        .query_row("SELECT status FROM runs WHERE id = ?1", [&run_id], |r| r.get(0))
        .expect("status");
    assert_eq!(status, "running", "the dead process left the run running");
    drop(db);

    // Restart: the run is taken over and finished.
    let server = ServerProcess::start(dir.path(), &env);
    let mut run = Value::Null;
    for _ in 0..400 {
        run = get(&c, &server, &token, &run_path).await;
        if matches!(run["status"].as_str(), Some("succeeded" | "failed" | "partial")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = server.stop();
    assert_eq!(run["status"], "succeeded", "{run}");
    let n = i64::try_from(policyvault::graph::registry::TYPES.len()).expect("few types");
    assert_eq!(
        (run["total"].as_i64(), run["succeeded"].as_i64(), run["failed"].as_i64()),
        // One listing item per type, then a capture per object (4 of each type).
        (Some(5 * n), Some(5 * n), Some(0))
    );
    assert!(
        logs.contains("resuming runs left running"),
        "the restart said what it did"
    );

    let db = rusqlite::Connection::open(dir.path().join(policyvault::startup::DB_FILE)).expect("db");
    let counted: i64 = db
        .query_row(
            "SELECT count(*) FROM run_items WHERE run_id = ?1 AND status = 'succeeded'",
            [&run_id],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(counted, run["succeeded"].as_i64().expect("n"), "counts equal the items");
    for (id, finished_at) in &finished_before {
        let now: String = db
            .query_row("SELECT finished_at FROM run_items WHERE id = ?1", [id], |r| r.get(0))
            .expect("q");
        assert_eq!(
            &now, finished_at,
            "an item finished before the crash was not done again"
        );
    }
    let attempt: i64 = db
        .query_row("SELECT attempt FROM runs WHERE id = ?1", [&run_id], |r| r.get(0))
        .expect("q");
    assert_eq!(attempt, 2, "one takeover");
    let versions_per_item: i64 = db
        .query_row(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM policy_versions v JOIN backup_items i ON i.policy_id = v.policy_id
             WHERE i.backup_set_id = (SELECT target_id FROM runs WHERE id = ?1) GROUP BY v.policy_id)",
            [&run_id],
            |r| r.get(0),
        )
        .expect("q");
    assert_eq!(versions_per_item, 1, "no policy was stored twice");
    assert!(sim.journal().is_empty(), "a backup never writes to the tenant");
}

/// A live restore killed mid-way, with two items of a type in flight at once: after the
/// restart every object is back exactly once. Items caught mid-write are never written
/// blindly again: recovery finds what the dead process wrote (or says the outcome is unknown).
#[tokio::test]
async fn a_restore_killed_mid_way_creates_nothing_twice_after_restart() {
    use policyvault::graph::registry::TYPES;
    let sim = crate::graph::sim().await;
    let t = sim.add_tenant("Crash restore", 3);
    let dir = tempfile::tempdir().expect("dir");
    let token = superadmin_token(dir.path());
    let env = [("PV_ALLOW_CUSTOM_ENDPOINTS", "1")];
    let server = ServerProcess::start(dir.path(), &env);
    let c = Client::new();
    let post = |path: String, body: Value| {
        let (c, token, url) = (c.clone(), token.clone(), server.url(&path));
        async move {
            c.post(url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("post")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let tenant = post(
        "/api/v1/tenants".into(),
        json!({"name": "Crash restore", "entra_tenant_id": t.entra_tenant_id, "client_id": t.client_id,
               "client_secret": t.client_secret, "cloud": "global", "graph_base_url": sim.base_url(),
               "login_base_url": sim.base_url()}),
    )
    .await;
    let tid = tenant["id"].as_str().expect("id").to_owned();
    let wait = |server_url: String, rid: String| {
        let (c, token, tid) = (c.clone(), token.clone(), tid.clone());
        async move {
            let mut run = Value::Null;
            for _ in 0..1200 {
                run = c
                    .get(format!("{server_url}/api/v1/tenants/{tid}/runs/{rid}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("get")
                    .json::<Value>()
                    .await
                    .expect("json");
                if matches!(run["status"].as_str(), Some("succeeded" | "failed" | "partial")) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            run
        }
    };
    let base = server.url("");
    let base = base.trim_end_matches('/').to_owned();
    let backup = post(format!("/api/v1/tenants/{tid}/backup-sets"), json!({"name": "Before"})).await;
    let set = backup["backup_set"]["id"].as_str().expect("set").to_owned();
    let done = wait(base.clone(), backup["run"]["id"].as_str().expect("run").to_owned()).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // Everything deletable goes; what each type held is what must come back.
    let mut before = Vec::new();
    for ty in TYPES {
        for o in sim.objects(&t.entra_tenant_id, ty.collection) {
            if let Some(id) = o["id"].as_str()
                && sim.delete_object(&t.entra_tenant_id, ty.collection, id)
            {
                before.push((ty.collection, ty.display_name(&o).to_owned()));
            }
        }
    }
    assert!(before.len() > 60, "{} deleted", before.len());
    // Slow answers: a create is done in the tenant well before its item is recorded.
    sim.set_faults(Faults {
        latency_ms: 400,
        ..Faults::default()
    });
    let restore = post(
        format!("/api/v1/tenants/{tid}/restores"),
        json!({"backup_set_id": set, "dry_run": false, "include_assignments": true, "confirm": "Crash restore"}),
    )
    .await;
    let rid = restore["run"]["id"].as_str().expect("restore run").to_owned();
    for _ in 0..400 {
        let run = get(&c, &server, &token, &format!("/api/v1/tenants/{tid}/runs/{rid}")).await;
        if run["succeeded"].as_i64().unwrap_or(0) >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Past the next pair's creates (latency + a little), before their items are recorded.
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert!(sim.peak_in_flight() >= 2, "items overlapped");
    let _logs = server.stop(); // SIGKILL, with objects created but not yet recorded
    sim.set_faults(Faults::default());

    let server = ServerProcess::start(dir.path(), &env);
    let run = wait(server.url("").trim_end_matches('/').to_owned(), rid.clone()).await;
    let _logs = server.stop();
    assert!(matches!(run["status"].as_str(), Some("succeeded" | "partial")), "{run}");

    let db = rusqlite::Connection::open(dir.path().join(policyvault::startup::DB_FILE)).expect("db");
    let bad: Vec<(String, String)> = {
        let mut stmt = db
            .prepare(
                "SELECT label, error_code FROM run_items WHERE run_id = ?1 AND status = 'failed'
                 AND error_code != 'outcome_unknown'",
            )
            .expect("prepare");
        stmt.query_map([&rid], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("q")
            .map(|r| r.expect("row"))
            .collect()
    };
    assert!(bad.is_empty(), "only an unknown outcome may fail an item: {bad:?}");
    // Nothing was created twice, and everything the restore succeeded with is there.
    for ty in TYPES {
        let live = sim.objects(&t.entra_tenant_id, ty.collection);
        let mut names: Vec<&str> = live.iter().map(|o| ty.display_name(o)).collect();
        names.sort_unstable();
        let before_dedup = names.len();
        names.dedup();
        assert_eq!(
            names.len(),
            before_dedup,
            "{}: an object was created twice: {names:?}",
            ty.key
        );
    }
    let unknown: i64 = db
        .query_row(
            "SELECT count(*) FROM run_items WHERE run_id = ?1 AND error_code = 'outcome_unknown'",
            [&rid],
            |r| r.get(0),
        )
        .expect("q");
    // Skipped: what a restore cannot write (an installer Graph does not give back, a
    // default no tenant can lose), as in any restore.
    let skipped: i64 = db
        .query_row(
            "SELECT count(*) FROM run_items WHERE run_id = ?1 AND status = 'skipped'",
            [&rid],
            |r| r.get(0),
        )
        .expect("q");
    let back = before
        .iter()
        .filter(|(collection, name)| {
            let ty = TYPES.iter().find(|ty| ty.collection == *collection).expect("type");
            sim.objects(&t.entra_tenant_id, collection)
                .iter()
                .any(|o| ty.display_name(o) == name.as_str())
        })
        .count();
    assert!(
        i64::try_from(before.len() - back).unwrap_or(i64::MAX) <= unknown + skipped,
        "every object is back but those skipped or whose outcome is unknown: {back} of {} back, {skipped} skipped, {unknown} unknown",
        before.len()
    );
}
