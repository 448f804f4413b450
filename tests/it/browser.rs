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
        Browser::start_with(&[]).await
    }

    /// With extra Chromium flags, e.g. `--force-dark-mode` (prefers-color-scheme: dark).
    pub async fn start_with(extra: &[&str]) -> Option<Browser> {
        Browser::start_with_env(extra, &[]).await
    }

    /// With extra Chromium flags and environment, e.g. `TZ` for another time zone.
    pub async fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Option<Browser> {
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
            .envs(env.iter().copied())
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
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
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

    /// Signs in as the test admin through the real login page and waits for the dashboard.
    pub async fn sign_in(&self, login_url: &str) -> Result<(), fantoccini::error::CmdError> {
        self.sign_in_as(login_url, ADMIN_EMAIL).await
    }

    /// Signs in as `email` (with the tests' password) and waits for the dashboard.
    pub async fn sign_in_as(&self, login_url: &str, email: &str) -> Result<(), fantoccini::error::CmdError> {
        self.client.goto(login_url).await?;
        self.client
            .find(Locator::Css("input[name=email]"))
            .await?
            .send_keys(email)
            .await?;
        self.client
            .find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        self.client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        self.client.wait().for_element(Locator::Css("tr[data-tenant]")).await?;
        Ok(())
    }

    /// On a tenant page, clicks a start button, follows its "View run" link and waits until
    /// the run succeeded (seen live on the run page).
    pub async fn start_and_watch(&self, tenant_url: &str, label: &str) -> Result<(), fantoccini::error::CmdError> {
        self.client.goto(tenant_url).await?;
        let xpath = format!("//button[normalize-space()='{label}']");
        self.client
            .wait()
            .for_element(Locator::XPath(&xpath))
            .await?
            .click()
            .await?;
        self.client.wait().for_element(Locator::Css("#pv-started a")).await?;
        // Clicked in one script call: the banner follows its run and may be swapped between
        // a find and a click (a stale element).
        self.client
            .execute("document.querySelector('#pv-started a').click();", vec![])
            .await?;
        self.wait_status("succeeded").await
    }

    /// Waits until the run page's summary shows `wanted` (pushed over SSE, no reload).
    pub async fn wait_status(&self, wanted: &str) -> Result<(), fantoccini::error::CmdError> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            let s = self
                .client
                .execute(
                    "const e = document.querySelector('#run-summary'); return e ? e.dataset.status : null;",
                    vec![],
                )
                .await?;
            if s == wanted {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(fantoccini::error::CmdError::NotW3C(serde_json::json!(format!(
            "the run never became {wanted}"
        ))))
    }

    /// Ends a journey that went wrong: keeps a screenshot for the person reading the CI log,
    /// closes the browser and fails the test with what happened.
    pub async fn fail(self, what: &str, e: &fantoccini::error::CmdError) -> ! {
        let shot = format!("/tmp/pv-{}-failure.png", what.replace(' ', "-"));
        let _ = std::fs::write(&shot, self.client.screenshot().await.unwrap_or_default());
        self.close().await;
        panic!("{what} failed: {e} (screenshot: {shot})");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
        b.client.wait().for_element(Locator::Css("tr[data-tenant]")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = result {
        b.fail("browser journey", &e).await;
    }
    assert_eq!(b.text_of("h1").await, "Tenants");
    // The HTML-special name is shown as text, not markup.
    assert_eq!(
        b.text_of("tr[data-tenant] td.pv-tenant-name a").await,
        "Contoso <Pharma> & Co"
    );
    assert!(b.text_of("header.pv-top").await.contains(ADMIN_EMAIL));
    let png = b.client.screenshot().await.expect("screenshot");
    let _ = std::fs::write("/tmp/pv-dashboard.png", &png);
    assert!(png.len() > 1000);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_clicked_sync_makes_one_run_whose_page_updates_live_until_it_ends() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Live <Tenant> & Co", 4, None).await;
    // Graph answers nothing until the run page is open, so the page must see the run change.
    let held = policyvault::sim::state::Faults {
        latency_ms: 100,
        hold: true,
        ..Default::default()
    };
    sim.set_faults(held.clone());

    let result = async {
        b.sign_in(&app.url("/login")).await?;
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
        b.client
            .execute("document.querySelector('#pv-started a').click();", vec![])
            .await?;
        b.client.wait().for_element(Locator::Css("#run-summary")).await?;
        b.client.execute("window.pvMarker = 'no reload';", vec![]).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = result {
        b.fail("browser journey", &e).await;
    }
    let runs: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM runs WHERE kind = 'inventory.sync'", [], |r| {
            r.get(0)
        })
        .expect("q");
    assert_eq!(runs, 1, "a double click makes one run");
    let first = b.text_of("#run-summary").await;
    sim.set_faults(policyvault::sim::state::Faults { hold: false, ..held });
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
    // The summary and the item rows arrive as separate events of one send; htmx swaps them
    // one after the other, so the rows may land a moment after the status reads succeeded.
    let want = serde_json::json!(policyvault::graph::registry::TYPES.len());
    let mut rows = serde_json::Value::Null;
    for _ in 0..50 {
        rows = b
            .client
            .execute(
                "return document.querySelectorAll('#run-items tr[data-status=succeeded]').length;",
                vec![],
            )
            .await
            .expect("js");
        if rows == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    assert_eq!(rows, want, "every item row was swapped in live");
}

/// The main journey of issue 5, in a real browser against the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_backs_up_previews_and_restores_through_the_pages() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Journey", 1, None).await;
    let dc = sim.objects(&t.entra_tenant_id, "deviceManagement/deviceConfigurations");
    let original = dc[0]["passwordMinimumLength"].clone();
    let journey = async {
        b.sign_in(&app.url("/login")).await?;

        // Sync, then a backup watched live.
        b.start_and_watch(&app.url(&format!("/t/{tid}")), "Sync inventory")
            .await?;
        b.start_and_watch(&app.url(&format!("/t/{tid}")), "Back up now").await?;

        // Drift in the portal, then the policy's history shows the change.
        sim.edit_object(
            &t.entra_tenant_id,
            "deviceManagement/deviceConfigurations",
            dc[0]["id"].as_str().unwrap_or_default(),
            |o| o["passwordMinimumLength"] = serde_json::json!(3),
        );
        b.client
            .goto(&app.url(&format!("/t/{tid}/policies?type=device_configuration")))
            .await?;
        b.client
            .wait()
            .for_element(Locator::Css("tr[data-policy] a"))
            .await?
            .click()
            .await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Capture snapshot']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("#pv-started a")).await?;
        tokio::time::sleep(Duration::from_millis(800)).await;
        b.client.refresh().await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Compare']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("table.pv-diff")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("journey (backup part)", &e).await;
    }
    let diff_text = b.text_of("table.pv-diff").await;
    assert!(diff_text.contains("/passwordMinimumLength"), "{diff_text}");

    let restore = async {
        // Preview the backup, then restore live with the typed tenant name.
        b.client.goto(&app.url(&format!("/t/{tid}/backups"))).await?;
        b.client
            .wait()
            .for_element(Locator::Css("tr[data-set] a"))
            .await?
            .click()
            .await?;
        // Nothing is ticked at first: pick every item.
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Select all shown']"))
            .await?
            .click()
            .await?;
        b.client
            .find(Locator::XPath("//button[normalize-space()='Preview restore']"))
            .await?
            .click()
            .await?;
        b.wait_status("succeeded").await?;
        // A wrong name brings the preview back with the reason, not an error page.
        b.client
            .wait()
            .for_element(Locator::Css("#run-actions input[name=confirm]"))
            .await?
            .send_keys("journey")
            .await?;
        b.client
            .find(Locator::XPath("//button[normalize-space()='Restore live']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css(".pv-flash.error")).await?;
        let flash = b.text_of(".pv-flash.error").await;
        assert!(flash.contains("confirm by typing the tenant's name"), "{flash}");
        b.client
            .wait()
            .for_element(Locator::Css("#run-actions input[name=confirm]"))
            .await?
            .send_keys("Journey")
            .await?;
        b.client
            .find(Locator::XPath("//button[normalize-space()='Restore live']"))
            .await?
            .click()
            .await?;
        b.wait_status("succeeded").await?;
        b.client
            .wait()
            .for_element(Locator::XPath("//button[normalize-space()='Undo this restore']"))
            .await?;
        b.client.goto(&app.url(&format!("/t/{tid}/audit"))).await?;
        b.client.wait().for_element(Locator::Css("table")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = restore {
        let db = app.raw_db();
        let mut stmt = db.prepare("SELECT kind, status, attempt, lease_expires_at, (SELECT group_concat(label || '=' || status, '; ') FROM run_items i WHERE i.run_id = r.id AND i.status IN ('running','pending')) FROM runs r").expect("q");
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{}|{}|{}|{:?}|{:?}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?
                ))
            })
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect();
        eprintln!("RUNS:\n{}", rows.join("\n"));
        b.close().await;
        panic!("journey (restore part) failed: {e}");
    }
    let audit = b.text_of("main").await;
    let back = sim.objects(&t.entra_tenant_id, "deviceManagement/deviceConfigurations");
    // A policy named like markup is shown as text and never becomes an element.
    b.client
        .goto(&app.url(&format!("/t/{tid}/policies")))
        .await
        .expect("policies");
    let shown = b.text_of("table").await;
    let images = b
        .client
        .execute("return document.querySelectorAll('main img').length;", vec![])
        .await
        .expect("js");
    let png = b.client.screenshot().await.unwrap_or_default();
    let _ = std::fs::write("/tmp/pv-journey.png", png);
    b.close().await;
    assert!(
        audit.contains("restore.started") && audit.contains("restore.finished") && audit.contains("View run"),
        "{audit}"
    );
    assert_eq!(
        back[0]["passwordMinimumLength"], original,
        "the restore put the backed-up value back"
    );
    assert!(
        shown.contains("<img src=x onerror=alert(1)>"),
        "the name is shown as text"
    );
    assert_eq!(images, serde_json::json!(0));
}

/// Polls until the element's text contains `needle` (10 s), and returns the text.
async fn wait_text(b: &Browser, css: &str, needle: &str) -> String {
    for _ in 0..100 {
        let text = b.text_of(css).await;
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.text_of(css).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_adds_a_schedule_and_the_cron_field_is_checked_while_typing() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app_with(policyvault::config::ServeArgs {
        schedule_min_interval_secs: 900,
        ..policyvault::config::ServeArgs::for_tests()
    })
    .await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Nightly", 1, None).await;
    let typed = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}/schedules"))).await?;
        let check = wait_text(&b, "#pv-cron-check", "Next:").await;
        // Next runs in the browser's zone (UTC here), UTC on hover.
        assert!(check.contains(" 02:00"), "the default is checked on load: {check}");
        let cron = b.client.find(Locator::Css("input[name=cron]")).await?;
        cron.clear().await?;
        cron.send_keys("* * * * *").await?;
        let check = wait_text(&b, "#pv-cron-check", "every 1 min").await;
        assert!(
            check.contains("at most every 15 min"),
            "a too-frequent schedule is refused while typing: {check}"
        );
        cron.clear().await?;
        cron.send_keys("0 */6 * * *").await?;
        wait_text(&b, "#pv-cron-check", "Next:").await;
        b.client
            .find(Locator::Css("input[value=compliance_policy]"))
            .await?
            .click()
            .await?;
        b.client
            .find(Locator::Css("#new-schedule button[type=submit]"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css("tr[data-schedule]")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = typed {
        b.fail("schedule journey", &e).await;
    }
    let row = b.text_of("tr[data-schedule]").await;
    assert!(
        row.contains("0 */6 * * *")
            && !row.contains("0 0 */6")
            && row.contains("Compliance policy")
            && row.contains("active"),
        "{row}"
    );
    assert!(b.text_of(".pv-flash.ok").await.contains("Schedule added"));
    b.close().await;
}
