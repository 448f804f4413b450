//! Issue 12's deploy findings: private files, one server per data directory, a clear
//! message for a read-only directory, and a full disk that leaves reads working.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_EMAIL, binary, run_binary, spawn_app};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs the binary and waits at most `BOUND` for it to exit (a server that does not refuse
/// would run forever); returns (exited, success, stderr).
fn run_bounded(args: &[&str]) -> (bool, bool, String) {
    const BOUND: Duration = Duration::from_secs(30);
    let mut child = binary()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            use std::io::Read;
            let mut err = String::new();
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err)
                .expect("read");
            return (true, status.success(), err);
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            return (false, false, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[tokio::test]
async fn database_files_key_and_backups_are_private_to_the_server_user() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let dir = app.data_dir.path();
    for file in [
        "policyvault.db",
        "policyvault.db-wal",
        "policyvault.db-shm",
        "master.key",
    ] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    let out = tempfile::tempdir().expect("dir");
    let backup = out.path().join("copy.db");
    let (ok, _, err) = run_binary(
        &[
            "--data-dir",
            &dir.to_string_lossy(),
            "db",
            "backup",
            &backup.to_string_lossy(),
        ],
        "",
    );
    assert!(ok, "{err}");
    assert_eq!(mode(&backup), 0o600, "db backup output");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused_at_once() {
    let app = spawn_app().await;
    let dir = app.data_dir.path().to_string_lossy().into_owned();
    let (exited, ok, err) = run_bounded(&["--data-dir", &dir, "serve", "--listen", "127.0.0.1:0"]);
    assert!(exited, "the second server kept running");
    assert!(!ok);
    assert!(err.contains(&dir), "names the directory: {err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "names the holder's pid: {err}"
    );
    // The first server is unaffected.
    let res = reqwest::get(app.url("/readyz")).await.expect("readyz");
    assert_eq!(res.status(), StatusCode::OK);
}

/// A read-only directory: by permissions for an ordinary user; as root (whom permissions do
/// not stop) a read-only tmpfs, when this machine lets us mount one.
#[cfg(unix)]
#[tokio::test]
async fn a_read_only_data_directory_is_one_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().expect("dir");
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).expect("chmod");
    let privileged = std::fs::write(dir.join("probe"), b"").is_ok();
    let mut mounted = false;
    if privileged {
        let _ = std::fs::remove_file(dir.join("probe"));
        mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: running as root and cannot mount a read-only tmpfs");
            return;
        }
    }
    let d = dir.to_string_lossy().into_owned();
    let (exited, ok, err) = run_bounded(&["--data-dir", &d, "serve", "--listen", "127.0.0.1:0"]);
    if mounted {
        let _ = std::process::Command::new("umount").arg(&dir).status();
    }
    assert!(exited && !ok, "{err}");
    assert!(err.contains(&format!("the data directory {d} is read-only")), "{err}");
    assert!(err.lines().count() <= 3, "one clear error, not a flood: {err}");
}

#[tokio::test]
async fn on_a_full_disk_reads_keep_working_and_readyz_says_the_database_cannot_write() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    let (page_client, _) = app.signed_in(ADMIN_EMAIL).await;
    // Make the session's "last seen" due for its periodic write (well within the idle limit).
    app.raw_db()
        .execute(
            "UPDATE sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes')",
            [],
        )
        .expect("age sessions");

    app.state.db.simulate_full_disk(true);
    // The token's first use is due a "last used" write; it must still read.
    for path in ["/api/v1/me", "/api/v1/tenants", "/api/v1/notifications"] {
        let (status, body) = app.api(Method::GET, &token, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let res = page_client.get(app.url("/profile")).send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK, "a page still reads");
    let res = reqwest::get(app.url("/readyz")).await.expect("readyz");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let why = res.text().await.expect("body");
    assert!(why.contains("database cannot write"), "{why}");
    // A write fails with the contract's error, not a hang.
    let (status, body) = app
        .api(
            Method::POST,
            &token,
            "/api/v1/tenants",
            Some(crate::helpers::tenant_body("A", "s")),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");

    // Space again: writes work and readiness is back.
    app.state.db.simulate_full_disk(false);
    app.create_tenant(&token, "A", "s").await;
    let res = reqwest::get(app.url("/readyz")).await.expect("readyz");
    assert_eq!(res.status(), StatusCode::OK);
}
