//! Issue 13, item 5: bulk actions on tenants ticked in the dashboard table. Each makes the
//! usual runs or schedules, only where the caller's role allows, and twice is once.

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::TestApp;

async fn runs_of(app: &TestApp, token: &str, tid: &str, kind: &str) -> usize {
    let (_, runs) = app
        .api(
            Method::GET,
            token,
            &format!("/api/v1/tenants/{tid}/runs?kind={kind}"),
            None,
        )
        .await;
    runs.as_array().map_or(0, Vec::len)
}

async fn schedules_of(app: &TestApp, token: &str, tid: &str) -> Vec<serde_json::Value> {
    let (_, list) = app
        .api(Method::GET, token, &format!("/api/v1/tenants/{tid}/schedules"), None)
        .await;
    list.as_array().cloned().unwrap_or_default()
}

/// The flash message a redirect carries, read from the page it leads to.
async fn flash_after(app: &TestApp, c: &reqwest::Client, res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.page(c, "/").await;
    let start = page.find("class=\"pv-flash").expect("a flash");
    let text = &page[start..];
    let text = &text[text.find('>').expect("tag") + 1..];
    text[..text.find("</div>").expect("end")].to_owned()
}

#[tokio::test]
async fn bulk_backup_and_schedule_touch_only_tenants_the_caller_may_act_on() {
    let (app, admin, sim) = crate::ops::admin_app().await;
    let mut ids = Vec::new();
    for name in ["Operated", "Owned", "Viewed", "Foreign"] {
        ids.push(crate::ops::sim_tenant(&app, &admin, &sim, name, 1, None).await.0);
    }
    app.create_user("tech@msp.test", false).await;
    for (tid, role) in ids.iter().zip(["operator", "owner", "viewer"]) {
        let (status, _) = app
            .api(
                Method::POST,
                &admin,
                &format!("/api/v1/tenants/{tid}/members"),
                Some(json!({"email": "tech@msp.test", "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (c, csrf) = app.signed_in("tech@msp.test").await;
    let home = app.page(&c, "/").await;
    assert!(
        home.contains("id=\"pv-bulk\"") && home.contains("form=\"pv-bulk\""),
        "{home}"
    );
    assert!(!home.contains(&ids[3]), "a tenant of others is not offered");
    let ticked: Vec<(&'static str, String)> = ids.iter().map(|i| ("tenant", i.clone())).collect();
    let bulk = |fields: Vec<(&'static str, String)>| {
        let (c, url, csrf, ticked) = (c.clone(), app.url("/tenants/bulk"), csrf.clone(), ticked.clone());
        async move {
            let mut form = vec![("_csrf", csrf)];
            form.extend(fields);
            form.extend(ticked);
            c.post(url).form(&form).send().await.expect("post")
        }
    };

    // Back up now: operator and owner tenants get a backup; the viewer's and the foreign one
    // are skipped, and said so.
    sim.set_faults(policyvault::sim::state::Faults {
        hold: true,
        ..Default::default()
    });
    let res = bulk(vec![("action", "backup".into()), ("name", "Before the change".into())]).await;
    let said = flash_after(&app, &c, res).await;
    assert!(said.starts_with("2 backup(s) started"), "{said}");
    assert!(said.contains("Viewed (you are viewer; this needs operator)"), "{said}");
    assert!(said.contains("a tenant that is not one of yours"), "{said}");
    assert!(!said.contains("Foreign"), "nothing about others' tenants: {said}");
    // Again while they run: the same runs, no new ones.
    let res = bulk(vec![("action", "backup".into()), ("name", "Before the change".into())]).await;
    let said = flash_after(&app, &c, res).await;
    assert!(said.starts_with("0 backup(s) started; 2 already backing up"), "{said}");
    sim.set_faults(policyvault::sim::state::Faults::default());
    let counts: Vec<usize> =
        futures_util::future::join_all(ids.iter().map(|t| runs_of(&app, &admin, t, "backup_set.capture"))).await;
    assert_eq!(counts, [1, 1, 0, 0]);

    // A schedule: owners only; applied twice is applied once; a bad cron touches nothing.
    let res = bulk(vec![
        ("action", "schedule".into()),
        ("cron", "61 2 * * *".into()),
        ("keep_last", "14".into()),
    ])
    .await;
    let said = flash_after(&app, &c, res).await;
    assert!(said.starts_with("Nothing applied"), "{said}");
    for _ in 0..2 {
        let res = bulk(vec![
            ("action", "schedule".into()),
            ("cron", "0 2 * * *".into()),
            ("keep_last", "14".into()),
        ])
        .await;
        flash_after(&app, &c, res).await;
    }
    let counts: Vec<usize> = futures_util::future::join_all(ids.iter().map(|t| schedules_of(&app, &admin, t)))
        .await
        .iter()
        .map(Vec::len)
        .collect();
    assert_eq!(counts, [0, 1, 0, 0]);
    let owned = schedules_of(&app, &admin, &ids[1]).await;
    assert_eq!(owned[0]["keep_last"], 14);
    let (_, audit) = app
        .api(Method::GET, &admin, &format!("/api/v1/tenants/{}/audit", ids[1]), None)
        .await;
    assert!(
        audit.as_array().is_some_and(|a| a
            .iter()
            .any(|e| e["action"] == "schedule.created" && e["actor"] == "tech@msp.test")),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticking_every_tenant_shown_and_applying_backs_them_all_up() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    let mut ids = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        ids.push(crate::ops::sim_tenant(&app, &token, &sim, name, 1, None).await.0);
    }
    let mut flash = String::new();
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url("/?q=a")).await?;
        b.client
            .find(Locator::Css("input[data-bulk-all]"))
            .await?
            .click()
            .await?;
        std::fs::write("/tmp/pv-bulk-ticked.png", b.client.screenshot().await?).ok();
        b.client
            .find(Locator::XPath("//button[normalize-space()='Apply']"))
            .await?
            .click()
            .await?;
        b.client.wait().for_element(Locator::Css(".pv-flash")).await?;
        flash = b.text_of(".pv-flash").await;
        std::fs::write("/tmp/pv-bulk-done.png", b.client.screenshot().await?).ok();
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("bulk backup", &e).await;
    }
    b.close().await;
    assert!(
        flash.starts_with("3 backup(s) started") || flash.contains("3 backup(s) started"),
        "{flash}"
    );
    for tid in &ids {
        assert_eq!(runs_of(&app, &token, tid, "backup_set.capture").await, 1);
    }
}
