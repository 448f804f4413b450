//! Issue 13, item 13: at 800 px the header folds behind "Menu" (nothing overflows, the user
//! menu is reachable); a dark-mode preference is followed. Every HTML page the router serves
//! is shot at 1400 and 800 px and in dark mode (`/tmp/pv-look-<name>-{1400,800,dark}.png`, for
//! people to look at), none may scroll sideways at 800 px, and every one follows dark mode.

use fantoccini::Locator;
use fantoccini::error::CmdError;
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::fidelity::run_of;
use crate::helpers::TestApp;

/// Who opens a page: nobody (login, setup, an invitation), the superadmin, or an operator of
/// one tenant (to see what "not allowed" looks like).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Admin,
    Operator,
}

const OPERATOR: &str = "operator@msp.test";

struct Shot {
    name: &'static str,
    url: String,
    who: Who,
}

/// A server full of real data and the list of its pages; `blank` has no user yet (its only
/// page is the first-run setup).
struct Site {
    app: TestApp,
    _blank: TestApp,
    _sim: SimHandle,
    shots: Vec<Shot>,
}

/// The id of the first policy of `policy_type` in a policy list from the API.
fn policy_of(list: &Value, policy_type: &str, nth: usize) -> String {
    list.as_array()
        .expect("policies")
        .iter()
        .filter(|p| p["policy_type"] == policy_type)
        .nth(nth)
        .expect("a policy of the type")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Runs of every kind, a drifted tenant with a deleted policy, a partial backup, a schedule,
/// a failing tenant, members and an invitation; then every HTML page of the router over them.
/// (Left out: fragments htmx swaps into a page, downloads, and SSE streams.)
async fn site() -> Site {
    let (app, token, sim) = crate::ops::admin_app().await;
    let (tid, t) = crate::ops::sim_tenant(&app, &token, &sim, "Contoso Pharmaceuticals International", 2, None).await;
    let (bad, _) = crate::ops::sim_tenant(&app, &token, &sim, "Fabrikam", 1, Some("wrong")).await;
    let e = &t.entra_tenant_id;
    let sync = run_of(&app, &token, &tid, "/sync", json!(null)).await;
    let verify = run_of(&app, &token, &tid, "/verify", json!(null)).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();

    // Drift: one policy changed, two deleted, one added in the portal.
    let (dc, cp) = (
        "deviceManagement/deviceConfigurations",
        "deviceManagement/deviceCompliancePolicies",
    );
    let first = sim.objects(e, dc)[0].clone();
    sim.edit_object(e, dc, first["id"].as_str().expect("id"), |o| {
        o["passwordMinimumLength"] = json!(3);
    });
    for gone in sim.objects(e, cp) {
        assert!(sim.delete_object(e, cp, gone["id"].as_str().expect("id")));
    }
    let mut copy = first.clone();
    if let Some(o) = copy.as_object_mut() {
        o.retain(|k, _| {
            !(k == "id"
                || k == "version"
                || k.ends_with("DateTime")
                || k == "assignments"
                || k.contains("@odata.") && k != "@odata.type")
        });
        o.insert("displayName".into(), json!("Added in the portal"));
    }
    sim.create_object(e, dc, copy).expect("created in the portal");
    run_of(&app, &token, &tid, "/sync", json!(null)).await;
    let (_, all) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?include_deleted=true"),
            None,
        )
        .await;
    let live = all
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["graph_id"] == first["id"])
        .expect("the changed policy")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let snap = run_of(&app, &token, &tid, &format!("/policies/{live}/snapshot"), json!(null)).await;
    let recorded = crate::fidelity::items(&app, &token, &tid, &snap).await;
    let version = recorded[0]["result"]["version_id"]
        .as_str()
        .expect("version")
        .to_owned();

    // A drift check of the set, a preview of the whole set, then one deleted policy
    // restored live.
    let check = run_of(&app, &token, &tid, "/drift-checks", json!({"baseline_set_id": set})).await;
    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": true}),
    )
    .await;
    let item = crate::ops::backup_items_of(&app, &token, &tid, &set, &["compliance_policy"])
        .await
        .swap_remove(0);
    let restore = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Contoso Pharmaceuticals International", "item_ids": [item]}),
    )
    .await;

    // The compliance policy still deleted after that restore.
    let (_, after) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/policies?include_deleted=true"),
            None,
        )
        .await;
    let deleted = after
        .as_array()
        .expect("policies")
        .iter()
        .find(|p| p["deleted"] == true)
        .expect("a deleted policy")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // A partial backup: one type down while two policies are captured.
    sim.set_faults(Faults {
        down_collections: vec![dc.into()],
        ..Faults::default()
    });
    let partial = run_of(
        &app,
        &token,
        &tid,
        "/backup-sets",
        json!({"name": "Two picked", "policy_ids": [live, policy_of(&all, "powershell_script", 0)]}),
    )
    .await;
    sim.set_faults(Faults::default());
    let (_, schedule) = app
        .api(
            Method::POST,
            &token,
            &format!("/api/v1/tenants/{tid}/schedules"),
            Some(json!({"cron": "0 2 * * *", "keep_last": 7})),
        )
        .await;
    assert!(schedule["id"].is_string(), "{schedule}");
    let failed = run_of(&app, &token, &bad, "/sync", json!(null)).await;
    app.create_user(OPERATOR, false).await;
    app.api(
        Method::POST,
        &token,
        &format!("/api/v1/tenants/{tid}/members"),
        Some(json!({"email": OPERATOR, "role": "operator"})),
    )
    .await;
    let admin_user = app
        .state
        .db
        .read(|c| policyvault::db::users::find_by_email(c, crate::helpers::ADMIN_EMAIL))
        .await
        .expect("db")
        .expect("admin");
    let invite = policyvault::accounts::invite(&app.state.db, &tid, "new.tech@msp.test", "operator", &admin_user)
        .await
        .expect("invite");
    let blank = crate::helpers::spawn_app().await;

    let run = |r: &Value| format!("/t/{tid}/runs/{}", r["id"].as_str().expect("run id"));
    let pages = [
        ("dashboard", "/".to_owned()),
        ("overview", format!("/t/{tid}")),
        ("overview-failing", format!("/t/{bad}")),
        ("policies", format!("/t/{tid}/policies")),
        ("policy", format!("/t/{tid}/policies/{live}")),
        ("policy-deleted", format!("/t/{tid}/policies/{deleted}")),
        ("version", format!("/t/{tid}/policies/{live}/versions/{version}")),
        ("backups", format!("/t/{tid}/backups")),
        ("backup-set", format!("/t/{tid}/backups/{set}")),
        ("drift", format!("/t/{tid}/drift?set={set}")),
        (
            "drift-checked",
            format!("/t/{tid}/drift?run={}&all=1", check["id"].as_str().expect("run id")),
        ),
        ("run-drift-check", run(&check)),
        ("drift-unchecked", format!("/t/{tid}/drift")),
        ("run-sync", run(&sync)),
        ("run-verify", run(&verify)),
        ("run-backup", run(&backup)),
        ("run-backup-partial", run(&partial)),
        ("run-preview", run(&preview)),
        ("run-restore", run(&restore)),
        ("run-snapshot", run(&snap)),
        (
            "run-failed",
            format!("/t/{bad}/runs/{}", failed["id"].as_str().expect("run id")),
        ),
        ("runs", format!("/t/{tid}/runs")),
        ("schedules", format!("/t/{tid}/schedules")),
        ("audit", format!("/t/{tid}/audit")),
        ("members", format!("/t/{tid}/members")),
        ("settings", format!("/t/{tid}/settings")),
        ("notifications", "/notifications".to_owned()),
        ("add-tenant", "/tenants/new".to_owned()),
        ("profile", "/profile".to_owned()),
        ("users", "/admin/users".to_owned()),
        ("not-found", format!("/t/{tid}/policies/no-such-policy")),
        ("no-such-page", "/no/such/page".to_owned()),
    ];
    let mut shots: Vec<Shot> = pages
        .into_iter()
        .map(|(name, path)| Shot {
            name,
            url: app.url(&path),
            who: Who::Admin,
        })
        .collect();
    shots.extend([
        Shot {
            name: "login",
            url: app.url("/login"),
            who: Who::Nobody,
        },
        Shot {
            name: "invite",
            url: app.url(&format!("/invite/{invite}")),
            who: Who::Nobody,
        },
        Shot {
            name: "setup",
            url: blank.url("/setup"),
            who: Who::Nobody,
        },
        Shot {
            name: "forbidden-users",
            url: app.url("/admin/users"),
            who: Who::Operator,
        },
        Shot {
            name: "forbidden-tenant",
            url: app.url(&format!("/t/{bad}")),
            who: Who::Operator,
        },
    ]);
    Site {
        app,
        _blank: blank,
        _sim: sim,
        shots,
    }
}

/// Signs out (forgets the cookies, on a page of the app: WebDriver deletes only the current
/// document's) and signs in through the login page as `email`.
async fn sign_in_as(b: &Browser, app: &TestApp, email: &str) -> Result<(), CmdError> {
    b.client.goto(&app.url("/login")).await?;
    b.client.delete_all_cookies().await?;
    b.sign_in_as(&app.url("/login"), email).await
}

/// What a page measures: how far it scrolls sideways, whether the browser prefers dark, and
/// the luminance of the body's background and of the first heading.
const MEASURE: &str = "const l = c => { const m = c.match(/\\d+(\\.\\d+)?/g).map(Number); return (0.2126*m[0] + 0.7152*m[1] + 0.0722*m[2]) / 255; };
     const s = getComputedStyle(document.body); const h1 = document.querySelector('h1');
     return [document.documentElement.scrollWidth - document.documentElement.clientWidth,
             matchMedia('(prefers-color-scheme: dark)').matches, l(s.backgroundColor),
             h1 ? l(getComputedStyle(h1).color) : 1];";

/// Opens every page as its viewer in a window `width` px wide, saves
/// `/tmp/pv-look-<name>-<suffix>.png` and returns what each page measured.
async fn shoot(b: &Browser, site: &Site, width: u32, suffix: &str) -> Result<Vec<(&'static str, Value)>, CmdError> {
    b.client.set_window_size(width, 1000).await?;
    let mut measured = Vec::new();
    for who in [Who::Nobody, Who::Admin, Who::Operator] {
        match who {
            Who::Nobody => {
                b.client.goto(&site.app.url("/login")).await?;
                b.client.delete_all_cookies().await?;
            }
            Who::Admin => sign_in_as(b, &site.app, crate::helpers::ADMIN_EMAIL).await?,
            Who::Operator => sign_in_as(b, &site.app, OPERATOR).await?,
        }
        for shot in site.shots.iter().filter(|s| s.who == who) {
            b.client.goto(&shot.url).await?;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            std::fs::write(
                format!("/tmp/pv-look-{}-{suffix}.png", shot.name),
                b.client.screenshot().await?,
            )
            .ok();
            measured.push((shot.name, b.client.execute(MEASURE, vec![]).await?));
        }
    }
    Ok(measured)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_800_px_the_header_folds_and_nothing_scrolls_sideways() {
    let Some(b) = Browser::start().await else { return };
    let site = site().await;
    let app = &site.app;
    let mut wide = Vec::new();
    let mut menu = (json!(null), json!(null), json!(null));
    let journey = async {
        shoot(&b, &site, 1400, "1400").await?;
        for (name, m) in shoot(&b, &site, 800, "800").await? {
            if m[0].as_i64().is_none_or(|o| o > 0) {
                wide.push((name, m[0].clone()));
            }
        }
        // The user menu: hidden behind "Menu", then reachable and inside the window.
        sign_in_as(&b, app, crate::helpers::ADMIN_EMAIL).await?;
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
        Ok::<_, CmdError>(())
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
    let site = site().await;
    let looks = match shoot(&b, &site, 1400, "dark").await {
        Ok(looks) => looks,
        Err(e) => b.fail("dark mode", &e).await,
    };
    b.close().await;
    assert_eq!(looks.len(), site.shots.len(), "every page was shot");
    for (name, look) in looks {
        assert_eq!(look[1], json!(true), "{name}: the browser prefers dark");
        let (bg, fg) = (look[2].as_f64().unwrap_or(1.0), look[3].as_f64().unwrap_or(0.0));
        assert!(
            bg < 0.2 && fg > 0.6,
            "{name}: dark background {bg}, light headings {fg}"
        );
    }
}
