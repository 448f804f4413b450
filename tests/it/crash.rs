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

#[tokio::test]
async fn a_run_killed_mid_way_resumes_after_restart_without_redoing_finished_items() {
    let sim = crate::graph::sim().await;
    let t = sim.add_tenant("Crash", 4);
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_string_lossy().into_owned();
    assert!(
        run_binary(
            &[
                "--data-dir",
                &d,
                "user",
                "add",
                "--email",
                "root@msp.test",
                "--superadmin"
            ],
            &format!("{PASSWORD}\n")
        )
        .0
    );
    let (_, token, _) = run_binary(&["--data-dir", &d, "token", "create", "--email", "root@msp.test"], "");
    let token = token.trim().to_owned();
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
    assert_eq!(
        (run["total"].as_i64(), run["succeeded"].as_i64(), run["failed"].as_i64()),
        // 40 captures after one listing item per type.
        (Some(50), Some(50), Some(0))
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
