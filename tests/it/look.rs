//! Issue 13, item 13: at 800 px the header folds behind "Menu" (nothing overflows, the user
//! menu is reachable); a dark-mode preference is followed. Every page this work touched is
//! shot at 1400 and 800 px and in dark mode (`/tmp/pv-look-*.png`, for people to look at),
//! and none may scroll sideways at 800 px.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::TestApp;

/// Pages worth a look: dashboard, a tenant's overview, policies, a backup set, settings, the
/// add form, the profile, users.
async fn pages(app: &TestApp, token: &str, sim: &policyvault::sim::SimHandle) -> Vec<(&'static str, String)> {
    let (tid, _) = crate::ops::sim_tenant(app, token, sim, "Contoso Pharmaceuticals International", 1, None).await;
    crate::ops::sim_tenant(app, token, sim, "Fabrikam", 1, Some("wrong")).await;
    let (_, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}/sync"), None)
        .await;
    crate::runs::wait_for_run(app, token, &tid, started["run"]["id"].as_str().expect("run")).await;
    let (_, started) = app
        .api(
            Method::POST,
            token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Nightly"})),
        )
        .await;
    crate::runs::wait_for_run(app, token, &tid, started["run"]["id"].as_str().expect("run")).await;
    let set = started["backup_set"]["id"].as_str().expect("set").to_owned();
    let invite = policyvault::accounts::invite(&app.state.db, &tid, "new.tech@msp.test", "operator", "test")
        .await
        .expect("invite");
    vec![
        ("dashboard", "/".to_owned()),
        ("overview", format!("/t/{tid}")),
        ("policies", format!("/t/{tid}/policies")),
        ("backup-set", format!("/t/{tid}/backups/{set}")),
        ("settings", format!("/t/{tid}/settings")),
        ("add-tenant", "/tenants/new".to_owned()),
        ("profile", "/profile".to_owned()),
        ("users", "/admin/users".to_owned()),
        ("members", format!("/t/{tid}/members")),
        ("invite", format!("/invite/{invite}")),
    ]
}

async fn overflow(b: &Browser) -> Result<serde_json::Value, fantoccini::error::CmdError> {
    b.client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_800_px_the_header_folds_and_nothing_scrolls_sideways() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let list = pages(&app, &token, &sim).await;
    let mut wide = Vec::new();
    let mut menu = (json!(null), json!(null), json!(null));
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.set_window_size(1400, 1000).await?;
        for (name, path) in &list {
            b.client.goto(&app.url(path)).await?;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            std::fs::write(format!("/tmp/pv-look-{name}-1400.png"), b.client.screenshot().await?).ok();
        }
        b.client.set_window_size(800, 1000).await?;
        for (name, path) in &list {
            b.client.goto(&app.url(path)).await?;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            std::fs::write(format!("/tmp/pv-look-{name}-800.png"), b.client.screenshot().await?).ok();
            let over = overflow(&b).await?;
            if over.as_i64().is_none_or(|o| o > 0) {
                wide.push((*name, over));
            }
        }
        // The user menu: hidden behind "Menu", then reachable and inside the window.
        b.client.goto(&app.url("/")).await?;
        let visible = "const e = document.querySelector(arguments[0]); if (!e) return null; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth;";
        menu.0 = b.client.execute(visible, vec![json!("a[href='/profile']")]).await?;
        b.client.find(Locator::Css("button[data-nav-toggle]")).await?.click().await?;
        b.client.find(Locator::Css("#pv-nav-menu li:last-child details summary")).await?.click().await?;
        menu.1 = b.client.execute(visible, vec![json!("a[href='/profile']")]).await?;
        menu.2 = b.client.execute(visible, vec![json!("#pv-nav-menu button.pv-link")]).await?;
        std::fs::write("/tmp/pv-look-menu-open-800.png", b.client.screenshot().await?).ok();
        b.client.find(Locator::Css("a[href='/profile']")).await?.click().await?;
        b.client.wait().for_element(Locator::Css("input[name=name]")).await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("narrow header", &e).await;
    }
    b.close().await;
    assert!(wide.is_empty(), "pages wider than 800 px: {wide:?}");
    assert_eq!(menu.0, json!(false), "folded at first");
    assert_eq!(menu.1, json!(true), "the profile link is reachable");
    assert_eq!(menu.2, json!(true), "sign out is reachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dark_preference_is_followed() {
    let Some(b) = Browser::start_with(&["--force-dark-mode", "--blink-settings=preferredColorScheme=0"]).await else {
        return;
    };
    let (app, token, sim) = crate::ops::admin_app().await;
    let list = pages(&app, &token, &sim).await;
    let mut looks = Vec::new();
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.set_window_size(1400, 1000).await?;
        for (name, path) in &list {
            b.client.goto(&app.url(path)).await?;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            std::fs::write(format!("/tmp/pv-look-{name}-dark.png"), b.client.screenshot().await?).ok();
            let look = b
                .client
                .execute(
                    "const l = c => { const m = c.match(/\\d+(\\.\\d+)?/g).map(Number); return (0.2126*m[0] + 0.7152*m[1] + 0.0722*m[2]) / 255; };
                     const s = getComputedStyle(document.body); const h1 = document.querySelector('h1');
                     return [matchMedia('(prefers-color-scheme: dark)').matches, l(s.backgroundColor), h1 ? l(getComputedStyle(h1).color) : 1];",
                    vec![],
                )
                .await?;
            looks.push((*name, look));
        }
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("dark mode", &e).await;
    }
    b.close().await;
    for (name, look) in looks {
        assert_eq!(look[0], json!(true), "{name}: the browser prefers dark");
        let (bg, fg) = (look[1].as_f64().unwrap_or(1.0), look[2].as_f64().unwrap_or(0.0));
        assert!(
            bg < 0.2 && fg > 0.6,
            "{name}: dark background {bg}, light headings {fg}"
        );
    }
}
