//! Headless Chromium drives the real pages through chromedriver (WebDriver).
//!
//! Without Chromium the test says how to install it and passes, outside CI only: in CI
//! (`CI` set) a missing browser fails the run loudly.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, PASSWORD, spawn_app};

const CHROMIUM: &str = "/usr/lib/chromium/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` (outside CI) when Chromium is not installed.
    pub async fn start() -> Option<Browser> {
        let installed = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "Chromium is missing in CI: .ci/run must `apt-get install -y chromium chromium-driver`"
            );
            eprintln!("SKIPPED browser test: install Chromium with `apt-get install -y chromium chromium-driver`");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let caps = caps.as_object().expect("object").clone();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("WebDriver session");
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Text of the first element matching `css`, read in one script call (an SSE/htmx swap
    /// between find and read cannot make it stale).
    pub async fn text_of(&self, css: &str) -> String {
        let v = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                vec![json!(css)],
            )
            .await
            .expect("script");
        v.as_str().unwrap_or_default().to_owned()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test]
async fn an_admin_signs_in_through_the_login_page_and_sees_the_dashboard() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.setup_admin().await;
    let token = app.token_for(ADMIN_EMAIL).await;
    app.create_tenant(&token, "Contoso <Pharma> & Co", "s3cret").await;

    let result = async {
        b.client.goto(&app.url("/")).await?;
        b.client.wait().for_element(Locator::Css("input[name=email]")).await?;
        assert!(b.client.current_url().await?.path().starts_with("/login"));
        b.client
            .find(Locator::Css("input[name=email]"))
            .await?
            .send_keys(ADMIN_EMAIL)
            .await?;
        b.client
            .find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        b.client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        b.client
            .wait()
            .for_element(Locator::Css("article[data-tenant]"))
            .await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = result {
        let _ = std::fs::write(
            "/tmp/pv-browser-failure.png",
            b.client.screenshot().await.unwrap_or_default(),
        );
        b.close().await;
        panic!("browser journey failed: {e}");
    }
    assert_eq!(b.text_of("h1").await, "Tenants");
    // The HTML-special name is shown as text, not markup.
    assert_eq!(b.text_of("article[data-tenant] header").await, "Contoso <Pharma> & Co");
    assert!(b.text_of("header.pv-top").await.contains(ADMIN_EMAIL));
    let png = b.client.screenshot().await.expect("screenshot");
    assert!(png.len() > 1000);
    b.close().await;
}

#[tokio::test]
async fn a_double_clicked_sync_makes_one_run_whose_page_updates_live_until_it_ends() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Live <Tenant> & Co", 4, None).await;
    sim.set_faults(policyvault::sim::state::Faults {
        latency_ms: 250,
        ..Default::default()
    });

    let result = async {
        b.client.goto(&app.url("/login")).await?;
        b.client.find(Locator::Css("input[name=email]")).await?.send_keys(ADMIN_EMAIL).await?;
        b.client.find(Locator::Css("input[name=password]")).await?.send_keys(PASSWORD).await?;
        b.client.find(Locator::Css("button[type=submit]")).await?.click().await?;
        b.client.wait().for_element(Locator::Css("article[data-tenant]")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}"))).await?;
        // A real double click on the start button.
        let button = b.client.wait().for_element(Locator::XPath("//button[normalize-space()='Sync inventory']")).await?;
        b.client.execute(
            "const b = arguments[0]; b.dispatchEvent(new MouseEvent('click', {bubbles: true})); b.dispatchEvent(new MouseEvent('click', {bubbles: true}));",
            vec![serde_json::to_value(&button).expect("element")],
        )
        .await?;
        b.client.wait().for_element(Locator::Css("#pv-started a")).await?;
        // Wait for both clicks' answers before counting runs.
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.client.find(Locator::Css("#pv-started a")).await?.click().await?;
        b.client.wait().for_element(Locator::Css("#run-summary")).await?;
        b.client.execute("window.pvMarker = 'no reload';", vec![]).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = result {
        let _ = std::fs::write(
            "/tmp/pv-browser-failure.png",
            b.client.screenshot().await.unwrap_or_default(),
        );
        b.close().await;
        panic!("browser journey failed: {e}");
    }
    let runs: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM runs WHERE kind = 'inventory.sync'", [], |r| {
            r.get(0)
        })
        .expect("q");
    assert_eq!(runs, 1, "a double click makes one run");
    let first = b.text_of("#run-summary").await;
    let mut statuses = vec![
        b.client
            .execute("return document.querySelector('#run-summary').dataset.status;", vec![])
            .await
            .expect("js"),
    ];
    for _ in 0..200 {
        let s = b
            .client
            .execute("return document.querySelector('#run-summary').dataset.status;", vec![])
            .await
            .expect("js");
        if statuses.last() != Some(&s) {
            statuses.push(s.clone());
        }
        if s == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let marker = b
        .client
        .execute("return window.pvMarker || null;", vec![])
        .await
        .expect("js");
    let rows = b
        .client
        .execute(
            "return document.querySelectorAll('#run-items tr[data-status=succeeded]').length;",
            vec![],
        )
        .await
        .expect("js");
    let png = b.client.screenshot().await.expect("screenshot");
    let _ = std::fs::write("/tmp/pv-live-run.png", &png);
    b.close().await;
    assert_eq!(
        statuses.last().and_then(|s| s.as_str()),
        Some("succeeded"),
        "statuses seen: {statuses:?}; first: {first}"
    );
    assert!(statuses.len() >= 2, "the page changed while we watched: {statuses:?}");
    assert_eq!(
        marker,
        serde_json::json!("no reload"),
        "updated over SSE, not by reloading"
    );
    assert_eq!(rows, serde_json::json!(10), "every item row was swapped in live");
}
