//! The schema and the database file.

use policyvault::db::migrate;
use reqwest::Method;

use crate::helpers::{ADMIN_EMAIL, run_binary, spawn_app};

fn schema_of(conn: &rusqlite::Connection) -> Vec<(String, String, Option<String>)> {
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn a_fresh_database_and_an_upgraded_one_have_the_same_schema() {
    let dir = tempfile::tempdir().expect("dir");
    let mut fresh = rusqlite::Connection::open(dir.path().join("fresh.db")).expect("open");
    migrate::migrate(&mut fresh).expect("fresh");
    let mut upgraded = rusqlite::Connection::open(dir.path().join("old.db")).expect("open");
    migrate::build_by_upgrades(&mut upgraded, include_str!("../../src/db/schema_v1.sql")).expect("upgrade");
    assert_eq!(schema_of(&fresh), schema_of(&upgraded));
    let version = |c: &rusqlite::Connection| {
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .expect("v")
    };
    assert_eq!(version(&fresh), migrate::SCHEMA_VERSION);
    assert_eq!(version(&upgraded), migrate::SCHEMA_VERSION);
    assert!(schema_of(&fresh).len() > 8);
}

/// Issue 20, finding 1: an upgrade clears the results of run items about a policy whose id
/// is a path (a preview of one could hold a secret read through it), and only those.
#[test]
fn the_upgrade_clears_items_about_ids_that_were_paths() {
    let dir = tempfile::tempdir().expect("dir");
    let mut conn = rusqlite::Connection::open(dir.path().join("old.db")).expect("open");
    migrate::build_by_upgrades_until(&mut conn, include_str!("../../src/db/schema_v1.sql"), 7).expect("to 7");
    let evil = "../deviceConfigurations/c1/getOmaSettingPlainTextValue(secretReferenceValueId='r')";
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO policies (id, tenant_id, policy_type, graph_id, display_name, last_synced_at) VALUES
           ('p-evil', 't', 'device_category', '{}', 'x', 'now'),
           ('p-good', 't', 'device_category', '6f1c7b54-5b1b-4b6e-9a0e-2f4d5f6a7b8c', 'y', 'now');
         INSERT INTO backup_items (id, backup_set_id, seq, policy_id, policy_type, display_name) VALUES
           ('b-evil', 's', 1, 'p-evil', 'device_category', 'x'), ('b-good', 's', 2, 'p-good', 'device_category', 'y');
         INSERT INTO run_items (id, run_id, seq, item_type, item_id, label, status, result) VALUES
           ('i1', 'r', 1, 'backup_item', 'b-evil', 'x', 'succeeded', '{{\"diff\":[{{\"new\":\"s3cret-Kq9\"}}]}}'),
           ('i2', 'r', 2, 'policy', 'p-evil', 'x', 'succeeded', '{{\"diff\":\"s3cret-Kq9\"}}'),
           ('i3', 'r', 3, 'delete', 'device_category:../x', 'x', 'succeeded', '{{\"v\":\"s3cret-Kq9\"}}'),
           ('i4', 'r', 4, 'backup_item', 'b-good', 'y', 'succeeded', '{{\"diff\":[]}}'),
           ('i5', 'r', 5, 'policy', 'p-good', 'y', 'succeeded', '{{\"action\":\"unchanged\"}}');",
        evil.replace('\'', "''")
    ))
    .expect("rows of an old release");
    migrate::migrate(&mut conn).expect("upgrade");
    let results: Vec<(String, String)> = conn
        .prepare("SELECT id, result FROM run_items ORDER BY seq")
        .expect("q")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    for (id, result) in &results[..3] {
        assert!(
            !result.contains("s3cret") && result.contains("cleared on upgrade"),
            "{id}: {result}"
        );
    }
    assert_eq!(results[3].1, r#"{"diff":[]}"#);
    assert_eq!(results[4].1, r#"{"action":"unchanged"}"#);
}

#[test]
fn a_database_from_a_newer_version_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let conn = rusqlite::Connection::open(dir.path().join(policyvault::startup::DB_FILE)).expect("open");
    conn.pragma_update(None, "user_version", migrate::SCHEMA_VERSION + 1)
        .expect("stamp");
    drop(conn);
    let out = crate::helpers::binary()
        .args([
            "--data-dir",
            &dir.path().to_string_lossy(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("newer policyvault"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn db_backup_copies_a_live_database_consistently_and_never_overwrites() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    // Keep the server writing while the backup runs.
    let writer = {
        let (base, token) = (app.base.clone(), admin.clone());
        tokio::spawn(async move {
            let c = reqwest::Client::new();
            for i in 0..40 {
                let body = crate::helpers::tenant_body(&format!("Tenant {i}"), "x");
                c.post(format!("{base}/api/v1/tenants"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("create");
            }
        })
    };
    let out_dir = tempfile::tempdir().expect("dir");
    let file = out_dir.path().join("copy.db");
    let (d, f) = (
        app.data_dir.path().to_string_lossy().into_owned(),
        file.to_string_lossy().into_owned(),
    );
    let (ok, _, err) = tokio::task::spawn_blocking({
        let (d, f) = (d.clone(), f.clone());
        move || run_binary(&["--data-dir", &d, "db", "backup", &f], "")
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    writer.await.expect("writer");

    let copy = rusqlite::Connection::open(&file).expect("open copy");
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    let users: i64 = copy
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("users");
    assert_eq!(users, 1);
    assert!(matches!(
        policyvault::audit::verify(&copy).expect("verify"),
        policyvault::audit::ChainStatus::Intact { .. }
    ));

    let (ok, _, err) = run_binary(&["--data-dir", &d, "db", "backup", &f], "");
    assert!(!ok && err.contains("already exists"), "{err}");
    let (_, list) = app.api(Method::GET, &admin, "/api/v1/tenants", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(40), "the server kept working");
}

#[tokio::test]
async fn versions_are_stored_only_on_change_and_content_only_once() {
    use policyvault::db::policies::{self, Recorded};
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    let t = app.create_tenant(&admin, "A", "x").await;
    let tid = t["id"].as_str().expect("id").to_owned();
    let outcome = app
        .state
        .db
        .write(move |tx| {
            let now = policyvault::clock::now();
            let a = policies::upsert_seen(tx, &tid, "deviceConfigurations", "g-1", "Baseline", &now)?;
            let b = policies::upsert_seen(tx, &tid, "deviceConfigurations", "g-2", "Copy of baseline", &now)?;
            let again = policies::upsert_seen(tx, &tid, "deviceConfigurations", "g-1", "Baseline (renamed)", &now)?;
            assert_eq!(a, again, "a re-seen policy keeps its id");
            let mut steps = Vec::new();
            for (id, hash) in [(&a, "h1"), (&a, "h1"), (&a, "h2"), (&a, "h1"), (&b, "h1")] {
                let p = policies::get(tx, id)?.expect("policy");
                steps.push(policies::record_version(tx, &p, hash, "{}", None, &now, None)?);
            }
            let versions_a = policies::versions(tx, &a)?.len();
            let contents: i64 = tx.query_row("SELECT count(*) FROM policy_contents", [], |r| r.get(0))?;
            let vanished = policies::mark_vanished(tx, &tid, "deviceConfigurations", "9999")?;
            Ok((steps, versions_a, contents, vanished))
        })
        .await
        .expect("db");
    let (steps, versions_a, contents, vanished) = outcome;
    assert!(matches!(steps[0], Recorded::New(_)));
    assert!(
        matches!(&steps[1], Recorded::Unchanged(id) if Recorded::New(id.clone()) == steps[0]),
        "same content: unchanged"
    );
    assert!(
        matches!(steps[2], Recorded::New(_)) && matches!(steps[3], Recorded::New(_)),
        "a change, and a change back"
    );
    assert!(
        matches!(steps[4], Recorded::New(_)),
        "another policy with the same content gets its own version"
    );
    assert_eq!(versions_a, 3);
    assert_eq!(contents, 2, "two distinct contents stored once each");
    assert_eq!(vanished, 2, "policies not seen since are marked deleted");
}

/// Group commit: writes queued together share one commit, yet each answers only for itself. A
/// write that fails (or panics) leaves none of its rows behind and does not disturb the
/// writes committed with it; the writer keeps going afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_commits_and_a_failing_one_loses_only_its_own_rows() {
    let dir = tempfile::tempdir().expect("dir");
    let db = policyvault::db::Db::open(&dir.path().join("pv.db")).expect("open");
    db.write(|tx| {
        tx.execute_batch("CREATE TABLE scratch (writer INTEGER NOT NULL, row INTEGER NOT NULL)")?;
        Ok(())
    })
    .await
    .expect("table");
    let stats = |db: &policyvault::db::Db| {
        let s = db.writer_stats();
        (
            s.writes.load(std::sync::atomic::Ordering::Relaxed),
            s.commits.load(std::sync::atomic::Ordering::Relaxed),
        )
    };
    let (writes_before, commits_before) = stats(&db);
    let tasks: Vec<_> = (0..300_i64)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |tx| {
                    // Two rows each, so a half-done write would show.
                    tx.execute("INSERT INTO scratch VALUES (?1, 1)", [n])?;
                    if n % 50 == 7 {
                        // A constraint-like failure after the first row.
                        return Err(policyvault::db::DbError::Writer(format!("write {n} refused")));
                    }
                    assert!(n != 123, "write 123 panics after its first row");
                    tx.execute("INSERT INTO scratch VALUES (?1, 2)", [n])?;
                    Ok(n)
                })
                .await
            })
        })
        .collect();
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(n) => ok.push(n),
            Err(e) => refused.push(e.to_string()),
        }
    }
    let (writes, commits) = stats(&db);
    let (writes, commits) = (writes - writes_before, commits - commits_before);
    assert_eq!(ok.len(), 300 - 7, "6 refused, 1 panicked: {refused:?}");
    assert!(refused.iter().any(|e| e.contains("write 57 refused")), "{refused:?}");
    assert!(
        refused.iter().any(|e| e.contains("stopped unexpectedly")),
        "the panicking write is told it failed: {refused:?}"
    );
    assert_eq!(writes, 300);
    assert!(
        commits < writes / 3,
        "queued writes share commits: {commits} commits for {writes} writes"
    );

    let rows: Vec<(i64, i64)> = db
        .read(|c| {
            let mut stmt = c.prepare("SELECT writer, count(*) FROM scratch GROUP BY writer ORDER BY writer")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .expect("read");
    let with_rows: Vec<i64> = rows.iter().map(|(w, _)| *w).collect();
    ok.sort_unstable();
    assert_eq!(with_rows, ok, "exactly the writes that succeeded left rows");
    assert!(rows.iter().all(|(_, n)| *n == 2), "and all of their rows");
    // The writer is still there after a panic.
    assert_eq!(db.write(|_| Ok(1)).await.expect("after"), 1);
}
