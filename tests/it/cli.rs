//! The command-line contract of `shared/API.md`.

use crate::helpers::{PASSWORD, run_binary, spawn_app};

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_token_create_prints_only_the_token() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_string_lossy().into_owned();
    let (ok, out, err) = run_binary(
        &["user", "add", "--email", "Ops@MSP.test", "--data-dir", &d],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{err}");
    assert!(out.is_empty() && err.contains("ops@msp.test"));

    let (ok, out, _) = run_binary(
        &[
            "--data-dir",
            &d,
            "token",
            "create",
            "--email",
            "ops@msp.test",
            "--name",
            "rmm",
        ],
        "",
    );
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token: {out:?}");
    assert!(lines[0].starts_with("pv_") && lines[0].len() > 40);

    // Errors go to stderr with a non-zero exit, and say what to do.
    let (ok, out, err) = run_binary(&["--data-dir", &d, "token", "create", "--email", "nobody@msp.test"], "");
    assert!(!ok && out.is_empty() && err.contains("user add"), "{err}");
    let (ok, _, err) = run_binary(&["--data-dir", &d, "user", "add", "--email", "x@msp.test"], "short\n");
    assert!(!ok && err.contains("at least 12"), "{err}");
    let (ok, _, err) = run_binary(
        &["--data-dir", &d, "user", "add", "--email", "ops@msp.test"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run_binary(&["--data-dir", &d, "user", "add", "--email", "y@msp.test"], "");
    assert!(!ok && err.contains("standard input"), "{err}");
}

#[tokio::test]
async fn healthcheck_succeeds_only_against_a_live_server() {
    let app = spawn_app().await;
    // The check blocks; the in-process server needs the test's runtime free to answer it.
    let addr = app.addr.to_string();
    let (ok, _, err) = tokio::task::spawn_blocking(move || run_binary(&["healthcheck", "--listen", &addr], ""))
        .await
        .expect("join");
    assert!(ok, "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let (ok, _, err) = run_binary(&["healthcheck", "--listen", &format!("0.0.0.0:{port}")], "");
    assert!(!ok && err.contains("no answer"), "{err}");
}

#[test]
fn a_malformed_master_key_stops_the_server_with_a_hint() {
    let dir = tempfile::tempdir().expect("dir");
    let out = crate::helpers::binary()
        .args([
            "--data-dir",
            &dir.path().to_string_lossy(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("PV_MASTER_KEY", "too-short")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 hex"));
}

/// The README's first command: `demo` starts a server and prints a login that works.
#[tokio::test]
async fn demo_prints_a_url_and_a_login_that_work() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("dir");
    let mut child = crate::helpers::binary()
        .args([
            "--data-dir",
            &dir.path().to_string_lossy(),
            "demo",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let stdout = child.stdout.take().expect("stdout");
    let (url, login) = tokio::task::spawn_blocking(move || {
        let (mut url, mut login) = (None, None);
        let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
        for line in lines.by_ref() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["open", u] => url = Some((*u).to_owned()),
                ["sign", "in", email, "/", password] => {
                    login = Some(((*email).to_owned(), (*password).to_owned()));
                }
                ["stop", ..] => break,
                _ => {}
            }
        }
        // Keep draining, as a terminal would, so the demo never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (url, login)
    })
    .await
    .expect("join");
    let (Some(url), Some(login)) = (url, login) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "demo did not print its URL and login; stderr: {}",
            errors.join().unwrap_or_default()
        );
    };
    let c = crate::helpers::browser();
    let page = c
        .get(format!("{url}login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let res = c
        .post(format!("{url}login"))
        .form(&[
            ("_csrf", crate::helpers::csrf_of(&page).as_str()),
            ("email", login.0.as_str()),
            ("password", login.1.as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    // Populated within seconds: two tenants, and a finished first backup in each.
    let mut backed_up = 0;
    for _ in 0..100 {
        let page = c.get(&url).send().await.expect("dashboard").text().await.expect("body");
        assert!(
            page.contains("Contoso Pharma") && page.contains("Fabrikam Legal"),
            "demo tenants listed"
        );
        let db = rusqlite::Connection::open(dir.path().join(policyvault::startup::DB_FILE)).expect("db");
        backed_up = db
            .query_row(
                "SELECT count(*) FROM runs WHERE kind = 'backup_set.capture' AND status = 'succeeded'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .expect("q");
        if backed_up == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(backed_up, 2, "each demo tenant has a finished backup");
    // After its first backup, Contoso drifted "in the portal": "Check drift" finds it.
    let db = rusqlite::Connection::open(dir.path().join(policyvault::startup::DB_FILE)).expect("db");
    let tid: String = db
        .query_row("SELECT id FROM tenants WHERE name = 'Contoso Pharma'", [], |r| r.get(0))
        .expect("tenant");
    let home = c.get(&url).send().await.expect("home").text().await.expect("body");
    let csrf = crate::helpers::csrf_of(&home);
    let mut actions = Vec::new();
    for _ in 0..10 {
        let res = c
            .post(format!("{url}t/{tid}/drift"))
            .form(&[("_csrf", csrf.as_str())])
            .send()
            .await
            .expect("drift");
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
        let run_id = crate::helpers::run_id_in(&res);
        for _ in 0..200 {
            let done: String = db
                .query_row("SELECT status FROM runs WHERE id = ?1", [&run_id], |r| r.get(0))
                .expect("run");
            if matches!(done.as_str(), "succeeded" | "partial" | "failed") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut stmt = db
            .prepare(
                "SELECT json_extract(result, '$.change') FROM run_items WHERE run_id = ?1 AND status = 'succeeded'
                   AND json_extract(result, '$.change') IN ('changed', 'removed', 'added') ORDER BY 1",
            )
            .expect("sql");
        actions = stmt
            .query_map([&run_id], |r| r.get::<_, String>(0))
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("actions");
        if !actions.is_empty() {
            break;
        }
        // The drift lands just after the backup finishes; look again.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(actions, ["changed", "changed", "removed"], "two edited, one deleted");
}

/// `sim-graph` serves the simulator with two seeded tenants and a control endpoint.
#[tokio::test]
async fn sim_graph_serves_seeded_tenants_and_its_control_endpoint() {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = crate::helpers::binary()
        .args([
            "sim-graph",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--policies-per-type",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
        let first: Vec<String> = lines.by_ref().take(3).collect();
        std::thread::spawn(move || lines.for_each(drop));
        first
    })
    .await
    .expect("join");
    let base = format!("http://127.0.0.1:{port}");
    assert!(lines[0].contains(&base), "{lines:?}");
    assert!(
        lines[1].contains("Contoso Pharma") && lines[1].contains("secret"),
        "{lines:?}"
    );
    let c = reqwest::Client::new();
    let set = c
        .post(format!("{base}/_sim/faults"))
        .json(&serde_json::json!({"latency_ms": 5, "throttle_rate": 0.25}))
        .send()
        .await
        .expect("set");
    assert_eq!(set.status(), reqwest::StatusCode::OK);
    let faults: serde_json::Value = c
        .get(format!("{base}/_sim/faults"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        (faults["latency_ms"].as_u64(), faults["throttle_rate"].as_f64()),
        (Some(5), Some(0.25))
    );
}

#[test]
fn types_lists_every_supported_type_and_the_readme_carries_the_same_table() {
    let (ok, out, err) = crate::helpers::run_binary(&["types", "--json"], "");
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("json");
    assert!(rows.iter().filter(|r| r["backup"] == true).count() >= 30, "{out}");
    assert!(rows.iter().filter(|r| r["restore"] != "no").count() >= 28, "{out}");
    let (ok, table, _) = crate::helpers::run_binary(&["types"], "");
    assert!(ok);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let inside = readme
        .split("<!-- types:begin -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- types:end -->").next())
        .expect("the README's types table");
    assert_eq!(
        inside, table,
        "README.md's table differs from `policyvault types`: paste the output in"
    );
}
