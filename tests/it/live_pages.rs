//! Issue 22, item 14: pages follow the runs they started, over the header's event stream,
//! without a reload: a start's "queued" banner is replaced by what the run did, the
//! overview's cards and the dashboard's rows show the new backup.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

use crate::browser::Browser;
use crate::ops::{admin_app, sim_tenant};

/// The text of `css` once it contains `needle` (up to 30 s), else what it is then.
async fn text_when(b: &Browser, css: &str, needle: &str) -> String {
    for _ in 0..300 {
        let text = b.text_of(css).await;
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.text_of(css).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_the_dashboard_follow_a_backup_to_its_end_without_a_reload() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Livewire", 1, None).await;
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}"))).await?;
        // Marks this page: a reload would lose it.
        b.client.execute("window.pvSamePage = true;", vec![]).await?;
        let name = b.client.find(Locator::Css("input[name=name]")).await?;
        name.clear().await?;
        name.send_keys("Followed live").await?;
        b.client
            .find(Locator::XPath("//button[normalize-space()='Back up now']"))
            .await?
            .click()
            .await?;
        let banner = text_when(&b, "#pv-started", "finished").await;
        let card = text_when(&b, "#pv-last-backup", "Followed live").await;
        let same = b.client.execute("return window.pvSamePage === true;", vec![]).await?;

        // The dashboard: a backup started elsewhere (the API) shows in its row.
        b.client.goto(&app.url("/")).await?;
        b.client.wait().for_element(Locator::Css("#pv-tenants")).await?;
        b.client.execute("window.pvSamePage = true;", vec![]).await?;
        Ok::<_, fantoccini::error::CmdError>((banner, card, same))
    }
    .await;
    let (banner, card, same) = match journey {
        Ok(v) => v,
        Err(e) => b.fail("live pages", &e).await,
    };
    assert!(
        banner.contains("Backup of Livewire finished"),
        "the banner says what it did: {banner}"
    );
    assert!(card.contains("Followed live"), "the card shows the new backup: {card}");
    assert_eq!(same, json!(true), "without a reload");

    let (_, started) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Started by the API"})),
        )
        .await;
    assert!(started["run"]["id"].is_string(), "{started}");
    let row = text_when(&b, &format!("tr[data-tenant='{tid}']"), "Started by the API").await;
    let same = b
        .client
        .execute("return window.pvSamePage === true;", vec![])
        .await
        .expect("script");
    b.close().await;
    assert!(row.contains("Started by the API"), "the dashboard row follows: {row}");
    assert_eq!(same, json!(true), "without a reload");
}
