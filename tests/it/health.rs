//! `/healthz`, `/readyz`, `/metrics`.

use policyvault::config::ServeArgs;
use reqwest::StatusCode;

use crate::helpers::{ADMIN_EMAIL, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness_answer_without_auth() {
    let app = spawn_app().await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(app.url("/healthz")).send().await.expect("healthz").status(),
        StatusCode::OK
    );
    // Workers start with the server; readiness waits for them.
    let mut ready = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        ready = c.get(app.url("/readyz")).send().await.expect("readyz").status();
        if ready == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ready, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_what_the_database_holds_and_can_require_a_token() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let admin = app.token_for(ADMIN_EMAIL).await;
    app.create_tenant(&admin, "A", "x").await;
    app.create_tenant(&admin, "B", "x").await;
    let body = reqwest::get(app.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(body.contains("policyvault_tenants 2"), "{body}");
    assert!(body.contains("policyvault_users 1"), "{body}");
    assert!(
        !body.contains("\"A\"") && !body.contains("secret"),
        "no names or secrets: {body}"
    );

    // Issue 20, low finding: without a token, only this machine is answered; a request a
    // proxy forwarded (it says so) is refused, whatever address it came from.
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
        ("x-real-ip", "203.0.113.9"),
    ] {
        let res = reqwest::Client::new()
            .get(app.url("/metrics"))
            .header(name, value)
            .send()
            .await
            .expect("metrics");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
        let says = res.text().await.expect("body");
        assert!(says.contains("PV_METRICS_TOKEN"), "{says}");
        assert!(!says.contains("policyvault_"), "{says}");
    }

    let guarded = spawn_app_with(ServeArgs {
        metrics_token: Some("scrape-me".into()),
        ..ServeArgs::for_tests()
    })
    .await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(guarded.url("/metrics")).send().await.expect("m").status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = c
        .get(guarded.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .expect("m");
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.expect("body").contains("policyvault_workers_alive"));
}

/// `/readyz` until it answers `want` (the storage probe's answer stands a few seconds).
async fn readyz_becomes(base: &str, want: StatusCode) -> (StatusCode, String) {
    let c = reqwest::Client::new();
    let mut last = (StatusCode::IM_A_TEAPOT, String::new());
    for _ in 0..100 {
        let res = c.get(format!("{base}/readyz")).send().await.expect("readyz");
        last = (res.status(), res.text().await.expect("body"));
        if last.0 == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test]
async fn readiness_follows_a_simulated_full_disk_back_without_waiting_for_a_write() {
    let app = spawn_app().await;
    assert_eq!(readyz_becomes(&app.base, StatusCode::OK).await.0, StatusCode::OK);
    app.state.db.simulate_full_disk(true);
    let (status, why) = readyz_becomes(&app.base, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(why.contains("database cannot write"), "{why}");
    // Space again, and nothing else writes: readiness comes back by itself.
    app.state.db.simulate_full_disk(false);
    let (status, why) = readyz_becomes(&app.base, StatusCode::OK).await;
    assert_eq!(status, StatusCode::OK, "{why}");
}

/// Unmounts also when an assertion fails (lazily: the server's files may still be open).
#[cfg(target_os = "linux")]
struct Unmount(std::path::PathBuf);

#[cfg(target_os = "linux")]
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A real full disk: the data directory on a small tmpfs, filled by another file (as a log
/// or a neighbour would), then emptied again. Needs root and `mount`; skipped otherwise.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn readiness_follows_a_real_full_disk_both_ways() {
    use std::io::Write;
    let data_dir = tempfile::tempdir().expect("dir");
    let dir = data_dir.path().to_owned();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs"])
        .arg(&dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _unmount = Unmount(dir.clone());
    let app = policyvault::startup::App::build(&dir, ServeArgs::for_tests())
        .await
        .expect("app builds");
    let app = crate::helpers::serve(app, data_dir);
    let (status, why) = readyz_becomes(&app.base, StatusCode::OK).await;
    assert_eq!(status, StatusCode::OK, "{why}");

    // Fill the disk; the server writes nothing meanwhile.
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    drop(f);
    let (status, why) = readyz_becomes(&app.base, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a full disk is not ready: {why}"
    );
    assert!(
        why.contains("database cannot write") && why.contains("free disk space"),
        "{why}"
    );

    // Space again, and still no write of the server's own: ready again.
    std::fs::remove_file(&filler).expect("remove filler");
    let (status, why) = readyz_becomes(&app.base, StatusCode::OK).await;
    assert_eq!(status, StatusCode::OK, "{why}");

    drop(app);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}
