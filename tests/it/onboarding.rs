//! Issue 13, items 4 and 14: a tenant's connection health (verified right after saving, live
//! on its page, a column and filters on the dashboard), the add form (a domain for the
//! tenant, every problem at once, the permissions the app needs), and the overview's
//! "Backups" card.

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, TestApp, csrf_of};
use crate::runs::wait_for_run;

async fn run_to_end(app: &TestApp, token: &str, tid: &str, path: &str, body: Option<Value>) -> Value {
    let (status, started) = app
        .api(Method::POST, token, &format!("/api/v1/tenants/{tid}{path}"), body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    wait_for_run(app, token, tid, started["run"]["id"].as_str().expect("run id")).await
}

/// The `data-health` of each tenant row on a dashboard page, by tenant id.
fn health_column(page: &str) -> Vec<(String, String)> {
    page.split("<tr data-tenant=\"")
        .skip(1)
        .filter_map(|row| {
            let (id, rest) = row.split_once('"')?;
            let h = rest.split_once("data-health=\"")?.1.split_once('"')?.0;
            Some((id.to_owned(), h.to_owned()))
        })
        .collect()
}

fn shot(name: &str, png: &[u8]) {
    let _ = std::fs::write(format!("/tmp/pv-onboarding-{name}.png"), png);
}

#[tokio::test]
async fn health_follows_the_runs_and_the_dashboard_filters_failing_credentials() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (good, _) = crate::ops::sim_tenant(&app, &token, &sim, "Good", 1, None).await;
    let (bad, _) = crate::ops::sim_tenant(&app, &token, &sim, "Bad", 1, Some("wrong-secret")).await;
    let (fresh, _) = crate::ops::sim_tenant(&app, &token, &sim, "Fresh", 1, None).await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;

    let home = app.page(&c, "/").await;
    assert!(home.contains("<th>Health</th>"), "{home}");
    assert!(health_column(&home).iter().all(|(_, h)| h == "not_checked"), "{home}");

    assert_eq!(
        run_to_end(&app, &token, &good, "/verify", None).await["status"],
        "succeeded"
    );
    assert_eq!(run_to_end(&app, &token, &bad, "/sync", None).await["status"], "failed");
    let home = app.page(&c, "/").await;
    let column = health_column(&home);
    let of = |id: &str| column.iter().find(|(t, _)| t == id).map(|(_, h)| h.clone());
    assert_eq!(of(&good).as_deref(), Some("connected"));
    assert_eq!(of(&bad).as_deref(), Some("credentials_failing"));
    assert_eq!(of(&fresh).as_deref(), Some("not_checked"));
    assert!(
        home.contains(&format!("href=\"/t/{bad}/settings\"")),
        "a link to fix it"
    );

    let failing = app.page(&c, "/?filter=credentials_failing").await;
    let ids: Vec<String> = health_column(&failing).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, std::slice::from_ref(&bad));
    assert!(failing.contains("1 of 3 tenants"), "{failing}");

    // The tenant page says what Entra meant and links to the settings.
    let page = app.page(&c, &format!("/t/{bad}")).await;
    assert!(page.contains("data-health=\"credentials_failing\""), "{page}");
    assert!(page.contains("AADSTS7000215"), "{page}");
    assert!(page.contains("the client secret is wrong"), "{page}");
    assert!(page.contains(&format!("href=\"/t/{bad}/settings\"")), "{page}");
    assert!(!page.contains("wrong-secret"), "no secret in the page");
    // The failed run's page links there too.
    let (_, runs) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{bad}/runs"), None)
        .await;
    let rid = runs[0]["id"].as_str().expect("run").to_owned();
    let run_page = app.page(&c, &format!("/t/{bad}/runs/{rid}")).await;
    assert!(
        run_page.contains("Fix the credentials in the tenant&#39;s settings")
            || run_page.contains("Fix the credentials in the tenant's settings"),
        "{run_page}"
    );

    // A verify that may not read a type names the missing permission.
    sim.set_faults(policyvault::sim::state::Faults {
        forbidden_collections: vec!["deviceManagement/roleScopeTags".into()],
        ..Default::default()
    });
    assert_eq!(
        run_to_end(&app, &token, &good, "/verify", None).await["status"],
        "partial"
    );
    let page = app.page(&c, &format!("/t/{good}")).await;
    assert!(page.contains("data-health=\"permissions_missing\""), "{page}");
    assert!(page.contains("DeviceManagementRBAC.ReadWrite.All"), "{page}");
    let missing = app.page(&c, "/?filter=permissions_missing").await;
    let ids: Vec<String> = health_column(&missing).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, std::slice::from_ref(&good));
    // Fixed in Entra, verified again: connected.
    sim.set_faults(policyvault::sim::state::Faults::default());
    run_to_end(&app, &token, &good, "/verify", None).await;
    let page = app.page(&c, &format!("/t/{good}")).await;
    assert!(page.contains("data-health=\"connected\""), "{page}");
}

#[tokio::test]
async fn the_add_form_lists_every_problem_the_permissions_and_a_tenant_already_connected() {
    let (app, token, _sim) = crate::ops::admin_app().await;
    let existing = app.create_tenant(&token, "Contoso", "s3cret").await;
    let (c, csrf) = app.signed_in(ADMIN_EMAIL).await;
    let form = app.page(&c, "/tenants/new").await;
    for permission in [
        "DeviceManagementConfiguration.ReadWrite.All",
        "DeviceManagementApps.ReadWrite.All",
        "DeviceManagementServiceConfig.ReadWrite.All",
        "DeviceManagementRBAC.ReadWrite.All",
        "DeviceManagementManagedDevices.ReadWrite.All",
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.Read.All",
        "Directory.Read.All",
    ] {
        assert_eq!(
            form.matches(&format!("<code>{permission}</code>")).count(),
            1,
            "{permission}"
        );
    }
    assert!(
        form.contains("name=\"client_id\"") && form.contains("pattern=\""),
        "checked in the browser first"
    );

    let res = c
        .post(app.url("/tenants"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Fabrikam"),
            ("entra_tenant_id", "not a tenant"),
            ("client_id", "nope"),
            ("client_secret", ""),
            ("cloud", "mars"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.expect("body");
    assert!(page.contains("Please fix these 4 problems"), "{page}");
    for words in [
        "Entra tenant id",
        "client id",
        "client secret is required",
        "cloud must be",
    ] {
        assert!(page.contains(words), "{words}: {page}");
    }
    assert!(page.contains("paste it again"), "{page}");
    assert!(page.contains("value=\"Fabrikam\""), "the other fields are kept");

    // The live note on the tenant field: a domain, and a tenant already connected.
    let note = app
        .page(&c, "/tenants/check?entra_tenant_id=Contoso.onmicrosoft.com")
        .await;
    assert!(note.contains("A domain"), "{note}");
    let entra = existing["entra_tenant_id"].as_str().expect("entra id");
    let note = app
        .page(&c, &format!("/tenants/check?entra_tenant_id={}", entra.to_uppercase()))
        .await;
    assert!(
        note.contains("Already connected as") && note.contains("Contoso"),
        "{note}"
    );
    // Saving it again is refused, naming the tenant, with nothing stored...
    let second = [
        ("_csrf", csrf.as_str()),
        ("name", "Contoso (second app)"),
        ("entra_tenant_id", entra),
        ("client_id", "11111111-2222-3333-4444-555555555555"),
        ("client_secret", "another"),
        ("cloud", "global"),
    ];
    let res = c.post(app.url("/tenants")).form(&second).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page = res.text().await.expect("body");
    assert!(
        page.contains("already connected as Contoso") && page.contains("name=\"add_again\""),
        "{page}"
    );
    assert!(page.contains("value=\"Contoso (second app)\""), "the fields are kept");
    let (_, all) = app.api(Method::GET, &token, "/api/v1/tenants", None).await;
    assert!(
        all.as_array()
            .is_some_and(|l| l.iter().all(|t| t["name"] != "Contoso (second app)")),
        "nothing stored: {all}"
    );
    // ...unless the admin says it is another app registration; then it is verified at once.
    let again = [second.as_slice(), &[("add_again", "yes")]].concat();
    let res = c.post(app.url("/tenants")).form(&again).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let tid = res.headers()["location"]
        .to_str()
        .expect("location")
        .trim_start_matches("/t/")
        .to_owned();
    let (_, runs) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/runs?kind=tenant.verify"),
            None,
        )
        .await;
    assert_eq!(
        runs.as_array().map(Vec::len),
        Some(1),
        "a verify started on save: {runs}"
    );
    // A non-superadmin cannot use the check.
    app.create_user("op@msp.test", false).await;
    let (op, _) = app.signed_in("op@msp.test").await;
    let res = op
        .get(app.url("/tenants/check?entra_tenant_id=x.com"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// Issue 13, items 4 and 14: adding a tenant by its domain in the browser; the tenant page
/// follows the verify run live, which resolves the domain to the tenant id; a wrong secret
/// shows Entra's words and the way to the settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_added_by_domain_is_verified_live_and_resolved_to_its_id() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = crate::ops::admin_app().await;
    crate::ops::sim_tenant(&app, &token, &sim, "Existing", 1, None).await;
    let t = sim.add_tenant("Woodgrove Bank", 1);
    assert_eq!(t.domain, "woodgrovebank.onmicrosoft.com");
    let held = policyvault::sim::state::Faults {
        hold: true,
        ..Default::default()
    };
    let mut states = Vec::new();
    let add = |name: &'static str, secret: String| {
        let (b, app, sim, t) = (&b, &app, &sim, &t);
        async move {
            b.client.goto(&app.url("/tenants/new")).await?;
            let field = |n: &str| Locator::Css(Box::leak(format!("input[name={n}]").into_boxed_str()));
            b.client.find(field("name")).await?.send_keys(name).await?;
            b.client
                .find(field("entra_tenant_id"))
                .await?
                .send_keys(&t.domain)
                .await?;
            b.client.find(field("client_id")).await?.send_keys(&t.client_id).await?;
            b.client.find(field("client_secret")).await?.send_keys(&secret).await?;
            b.client
                .find(Locator::Css("main form details summary"))
                .await?
                .click()
                .await?;
            b.client
                .find(field("graph_base_url"))
                .await?
                .send_keys(&sim.base_url())
                .await?;
            b.client
                .find(field("login_base_url"))
                .await?
                .send_keys(&sim.base_url())
                .await?;
            b.client
                .find(Locator::Css("main form button[type=submit]"))
                .await?
                .click()
                .await?;
            b.client.wait().for_element(Locator::Css("#pv-health")).await?;
            Ok::<_, fantoccini::error::CmdError>(())
        }
    };
    let wait_health = |wanted: &'static str| {
        let b = &b;
        async move {
            for _ in 0..150 {
                let h = b
                    .client
                    .execute(
                        "const e = document.querySelector('#pv-health'); return e ? e.dataset.health : null;",
                        vec![],
                    )
                    .await?;
                if h == wanted {
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(fantoccini::error::CmdError::NotW3C(json!(format!(
                "health never became {wanted}"
            ))))
        }
    };
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        sim.set_faults(held.clone());
        add("Woodgrove", t.client_secret.clone()).await?;
        states.push(b.text_of("#pv-health").await);
        shot("checking", &b.client.screenshot().await?);
        let url = b.client.current_url().await?;
        sim.set_faults(policyvault::sim::state::Faults::default());
        wait_health("connected").await?;
        assert_eq!(b.client.current_url().await?, url, "no reload");
        states.push(b.text_of("#pv-health").await);
        states.push(b.text_of("#pv-backups-card").await);
        shot("connected", &b.client.screenshot().await?);
        // "Verify connection" on the overview: the card follows the new run live.
        sim.set_faults(held.clone());
        b.client
            .find(Locator::XPath("//button[normalize-space()='Verify connection']"))
            .await?
            .click()
            .await?;
        for _ in 0..100 {
            if b.text_of("#pv-health").await.contains("Checking the connection now") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        states.push(b.text_of("#pv-health").await);
        sim.set_faults(policyvault::sim::state::Faults::default());
        wait_health("connected").await?;
        add("Woodgrove (typo)", "not-the-secret".into()).await?;
        wait_health("credentials_failing").await?;
        states.push(b.text_of("#pv-health").await);
        shot("credentials-failing", &b.client.screenshot().await?);
        b.client
            .find(Locator::XPath(
                "//a[normalize-space()='Fix the credentials in Settings']",
            ))
            .await?
            .click()
            .await?;
        b.client
            .wait()
            .for_element(Locator::Css("input[name=client_secret]"))
            .await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    if let Err(e) = journey {
        b.fail("add tenant by domain", &e).await;
    }
    let settings_url = b.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
    b.close().await;
    assert!(states[0].contains("Checking the connection now"), "{states:?}");
    assert!(states[1].to_lowercase().contains("connected"), "{states:?}");
    assert!(
        states[2].contains("succeeded") && !states[2].contains("running"),
        "the runs card too: {states:?}"
    );
    assert!(
        states[4].contains("AADSTS7000215") && states[4].contains("client secret is wrong"),
        "{states:?}"
    );
    assert!(
        states[3].contains("Checking the connection now"),
        "the button's run, live: {states:?}"
    );
    assert!(settings_url.ends_with("/settings"), "{settings_url}");
    let (_, list) = app.api(Method::GET, &token, "/api/v1/tenants", None).await;
    let woodgrove = list
        .as_array()
        .and_then(|l| l.iter().find(|x| x["name"] == "Woodgrove"))
        .expect("added")
        .clone();
    assert_eq!(
        woodgrove["entra_tenant_id"],
        t.entra_tenant_id.as_str(),
        "the domain was resolved"
    );
    let tid = woodgrove["id"].as_str().expect("id");
    let (_, audit) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    assert!(
        audit
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "tenant.domain_resolved")),
        "{audit}"
    );
}

#[tokio::test]
async fn an_unknown_domain_fails_verify_with_entras_words() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let t = sim.add_tenant("Real", 1);
    let body = json!({
        "name": "Typo", "entra_tenant_id": "reall.onmicrosoft.com", "client_id": t.client_id,
        "client_secret": t.client_secret, "cloud": "global",
        "graph_base_url": sim.base_url(), "login_base_url": sim.base_url(),
    });
    let (status, created) = app.api(Method::POST, &token, "/api/v1/tenants", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["entra_tenant_id"], "reall.onmicrosoft.com");
    let tid = created["id"].as_str().expect("id");
    let run = run_to_end(&app, &token, tid, "/verify", None).await;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["error_code"], "auth_failed");
    let reason = run["error_context"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("AADSTS90002") && reason.contains("reall.onmicrosoft.com"),
        "{run}"
    );
    // The discovery document is Entra's shape: the issuer carries the tenant id.
    let doc: Value = reqwest::get(format!(
        "{}/real.onmicrosoft.com/v2.0/.well-known/openid-configuration",
        sim.base_url()
    ))
    .await
    .expect("get")
    .json()
    .await
    .expect("json");
    assert_eq!(doc["issuer"], format!("{}/{}/v2.0", sim.base_url(), t.entra_tenant_id));
}

#[tokio::test]
async fn the_overview_backups_card_shows_last_backup_drift_schedule_and_runs() {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, _) = crate::ops::sim_tenant(&app, &token, &sim, "Cardy", 1, None).await;
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let page = app.page(&c, &format!("/t/{tid}")).await;
    assert!(page.contains("No backup yet"), "{page}");
    assert!(page.contains("No backup schedule"), "{page}");
    assert!(page.contains("No runs yet."), "{page}");

    run_to_end(&app, &token, &tid, "/sync", None).await;
    let (_, started) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            Some(json!({"name": "Nightly"})),
        )
        .await;
    let set = started["backup_set"]["id"].as_str().expect("set").to_owned();
    wait_for_run(&app, &token, &tid, started["run"]["id"].as_str().expect("run")).await;
    let (status, _) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/schedules"),
            Some(json!({"cron": "0 2 * * *", "keep_last": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let page = app.page(&c, &format!("/t/{tid}")).await;
    let card = page.split("id=\"pv-backups-card\"").nth(1).expect("card");
    assert!(
        card.contains("Nightly") && card.contains(&format!("/t/{tid}/backups/{set}")),
        "{card}"
    );
    assert!(card.contains("not checked yet"), "{card}");
    assert!(card.contains("02:00 UTC"), "{card}");
    assert!(
        card.contains("Backup") && card.contains("Sync inventory"),
        "recent runs: {card}"
    );

    // Drift: a check of the newest backup after a change in the portal.
    let coll = "deviceManagement/deviceCompliancePolicies";
    let t_entra = {
        let (_, t) = app
            .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}"), None)
            .await;
        t["entra_tenant_id"].as_str().expect("entra").to_owned()
    };
    let one = sim.objects(&t_entra, coll)[0]["id"].as_str().expect("id").to_owned();
    assert!(sim.edit_object(&t_entra, coll, &one, |o| o["description"] =
        json!("changed in the portal")));
    let csrf = csrf_of(&app.page(&c, &format!("/t/{tid}/drift")).await);
    let res = c
        .post(app.url(&format!("/t/{tid}/drift")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("check drift");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let rid = crate::helpers::run_id_in(&res);
    wait_for_run(&app, &token, &tid, &rid).await;
    let page = app.page(&c, &format!("/t/{tid}")).await;
    let card = page.split("id=\"pv-backups-card\"").nth(1).expect("card");
    assert!(card.contains("1 changed") && !card.contains("removed"), "{card}");
    assert!(card.contains(&format!("/t/{tid}/drift?run={rid}")), "{card}");
}
