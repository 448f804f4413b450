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
    let (ok, out, err) = run_binary(
        &[
            "--data-dir",
            &d,
            "token",
            "create",
            "--email",
            "nobody@msp.test",
        ],
        "",
    );
    assert!(!ok && out.is_empty() && err.contains("user add"), "{err}");
    let (ok, _, err) = run_binary(
        &["--data-dir", &d, "user", "add", "--email", "x@msp.test"],
        "short\n",
    );
    assert!(!ok && err.contains("at least 12"), "{err}");
    let (ok, _, err) = run_binary(
        &["--data-dir", &d, "user", "add", "--email", "ops@msp.test"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run_binary(
        &["--data-dir", &d, "user", "add", "--email", "y@msp.test"],
        "",
    );
    assert!(!ok && err.contains("standard input"), "{err}");
}

#[tokio::test]
async fn healthcheck_succeeds_only_against_a_live_server() {
    let app = spawn_app().await;
    // The check blocks; the in-process server needs the test's runtime free to answer it.
    let addr = app.addr.to_string();
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || run_binary(&["healthcheck", "--listen", &addr], ""))
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
