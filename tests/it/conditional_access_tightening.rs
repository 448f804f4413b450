//! Issue 20, High #2: the Conditional Access "tightens" check covers grant and session
//! controls, client app types, platforms, device filters, risk levels and included
//! locations; a change counts unless it is provably looser. A live restore that tightens a
//! policy enforced on all users with no exclusion is refused unless the tightening is
//! accepted with its own tick (`accept_ca_tightening`).

use policyvault::ops::conditional_access::tightening;
use policyvault::sim::SimHandle;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fidelity::{items, run_of};
use crate::helpers::{ADMIN_EMAIL, TestApp, csrf_of};
use crate::ops::{admin_app, sim_tenant};

const CA: &str = "identity/conditionalAccess/policies";

/// An enabled "Require MFA for all users": every user, no exclusion.
fn mfa_for_all() -> Value {
    json!({
        "displayName": "Require MFA for all users",
        "state": "enabled",
        "conditions": {
            "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [], "includeRoles": [], "excludeRoles": []},
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "clientAppTypes": ["all"],
            "locations": {"includeLocations": ["All"], "excludeLocations": []}
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "authenticationStrength": null},
        "sessionControls": null
    })
}

/// `base` with one change made.
fn with(base: &Value, change: impl FnOnce(&mut Value)) -> Value {
    let mut v = base.clone();
    change(&mut v);
    v
}

/// Writing `written` over `live` tightens access (and the list says so in words).
fn tightens(live: &Value, written: &Value, what: &str) {
    let found = tightening(Some(live), written);
    assert!(!found.is_empty(), "{what} tightens access");
    assert!(found.iter().all(|f| !f.trim().is_empty()), "{what}: {found:?}");
}

/// Writing `written` over `live` is provably looser (or equal): nothing listed.
fn looser(live: &Value, written: &Value, what: &str) {
    let found = tightening(Some(live), written);
    assert!(found.is_empty(), "{what} is looser: {found:?}");
}

#[test]
fn grant_control_changes_that_demand_more_tighten_access() {
    let mfa = mfa_for_all();
    let block = with(&mfa, |p| p["grantControls"]["builtInControls"] = json!(["block"]));
    tightens(&mfa, &block, "mfa -> block");
    assert!(
        tightening(Some(&mfa), &block).join(" ").contains("block"),
        "the change names the block"
    );
    let either = with(&mfa, |p| {
        p["grantControls"] = json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]});
    });
    let both = with(&either, |p| p["grantControls"]["operator"] = json!("AND"));
    tightens(&either, &both, "OR -> AND with the same controls");
    tightens(&either, &mfa, "an alternative removed from an OR");
    tightens(&mfa, &both, "a built-in control added to an AND");
    let strength = |id: &str| {
        with(&mfa, |p| {
            p["grantControls"] = json!({"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": id}});
        })
    };
    tightens(&mfa, &strength("a-strength"), "mfa -> an authentication strength");
    tightens(
        &strength("a-strength"),
        &strength("another-strength"),
        "another authentication strength",
    );
    let tou = with(&mfa, |p| {
        p["grantControls"]["operator"] = json!("AND");
        p["grantControls"]["termsOfUse"] = json!(["terms"]);
    });
    tightens(&mfa, &tou, "terms of use added to an AND");
    let none = with(&mfa, |p| p["grantControls"] = Value::Null);
    tightens(&none, &mfa, "grant controls where there were none");
}

#[test]
fn grant_control_changes_that_demand_less_do_not_tighten_access() {
    let mfa = mfa_for_all();
    let block = with(&mfa, |p| p["grantControls"]["builtInControls"] = json!(["block"]));
    looser(&block, &mfa, "block -> mfa");
    let both = with(&mfa, |p| {
        p["grantControls"] = json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]});
    });
    let either = with(&both, |p| p["grantControls"]["operator"] = json!("OR"));
    looser(&both, &either, "AND -> OR with the same controls");
    looser(&both, &mfa, "a control removed from an AND");
    looser(&mfa, &either, "an alternative added to an OR");
    looser(
        &mfa,
        &with(&mfa, |p| p["grantControls"] = Value::Null),
        "grant controls removed",
    );
    looser(&mfa, &mfa.clone(), "nothing changed");
    looser(&block, &block.clone(), "block stays block");
}

#[test]
fn session_controls_tighten_unless_removed() {
    let mfa = mfa_for_all();
    let hourly = with(&mfa, |p| {
        p["sessionControls"] = json!({"signInFrequency": {"value": 1, "type": "hours", "isEnabled": true, "frequencyInterval": "timeBased"}});
    });
    tightens(&mfa, &hourly, "a sign-in frequency added");
    let daily = with(&hourly, |p| {
        p["sessionControls"]["signInFrequency"]["value"] = json!(24);
    });
    tightens(&daily, &hourly, "a shorter sign-in frequency");
    looser(&hourly, &mfa, "the sign-in frequency removed");
    let never = with(&mfa, |p| {
        p["sessionControls"] = json!({"persistentBrowser": {"mode": "never", "isEnabled": true}});
    });
    tightens(&mfa, &never, "browser sessions no longer persistent");
    let restricted = with(&mfa, |p| {
        p["sessionControls"] = json!({"applicationEnforcedRestrictions": {"isEnabled": true}});
    });
    tightens(&mfa, &restricted, "app enforced restrictions added");
}

#[test]
fn wider_conditions_tighten_access_and_narrower_ones_do_not() {
    let mfa = mfa_for_all();
    let browser = with(&mfa, |p| p["conditions"]["clientAppTypes"] = json!(["browser"]));
    tightens(&browser, &mfa, "client app types: browser -> all");
    tightens(
        &browser,
        &with(&mfa, |p| {
            p["conditions"]["clientAppTypes"] = json!(["browser", "exchangeActiveSync"]);
        }),
        "a client app type added",
    );
    looser(&mfa, &browser, "client app types: all -> browser");

    let android = with(&mfa, |p| {
        p["conditions"]["platforms"] = json!({"includePlatforms": ["android"], "excludePlatforms": []});
    });
    tightens(
        &android,
        &with(&android, |p| {
            p["conditions"]["platforms"]["includePlatforms"] = json!(["android", "iOS"]);
        }),
        "a platform added",
    );
    tightens(&android, &mfa, "the platform condition removed (every platform)");
    let not_ios = with(&mfa, |p| {
        p["conditions"]["platforms"] = json!({"includePlatforms": ["all"], "excludePlatforms": ["iOS"]});
    });
    tightens(&not_ios, &mfa, "a platform exclusion removed");
    looser(&mfa, &android, "every platform -> android");

    let filter = |mode: &str, rule: &str| {
        with(&mfa, |p| {
            p["conditions"]["devices"] = json!({"deviceFilter": {"mode": mode, "rule": rule}});
        })
    };
    let compliant = filter("exclude", "device.isCompliant -eq True");
    tightens(
        &compliant,
        &filter("exclude", "device.trustType -eq \"AzureAD\""),
        "the device filter rule changed",
    );
    tightens(
        &compliant,
        &filter("include", "device.isCompliant -eq True"),
        "the filter mode changed",
    );
    tightens(&compliant, &mfa, "the device filter removed");
    looser(&mfa, &compliant, "a device filter added where there was none");

    for risk in ["userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels"] {
        let high = with(&mfa, |p| p["conditions"][risk] = json!(["high"]));
        let more = with(&mfa, |p| p["conditions"][risk] = json!(["high", "medium"]));
        tightens(&high, &more, &format!("{risk}: a level added"));
        tightens(
            &high,
            &with(&mfa, |p| p["conditions"][risk] = json!([])),
            &format!("{risk}: cleared (any risk)"),
        );
        looser(&more, &high, &format!("{risk}: a level removed"));
    }

    let office = with(&mfa, |p| {
        p["conditions"]["locations"]["includeLocations"] = json!(["office"]);
    });
    tightens(
        &office,
        &with(&office, |p| {
            p["conditions"]["locations"]["includeLocations"] = json!(["office", "branch"]);
        }),
        "an included location added",
    );
    tightens(&office, &mfa, "included locations: office -> All");
    looser(&mfa, &office, "included locations: All -> office");
}

fn id(o: &Value) -> String {
    o["id"].as_str().expect("id").to_owned()
}

/// A tenant whose first Conditional Access policy is an enabled "Require MFA for all users"
/// with no exclusion, backed up; returns (app, token, sim, tenant id, Entra id, set id,
/// policy id).
async fn mfa_for_all_backed_up(name: &str) -> (TestApp, String, SimHandle, String, String, String, String) {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, name, 1, None).await;
    let e = t.entra_tenant_id;
    let policy = sim
        .objects(&e, CA)
        .into_iter()
        .find(|p| p["state"] == "enabled" && p["conditions"]["users"]["includeUsers"] == json!(["All"]))
        .expect("an enabled policy for all users");
    assert!(sim.edit_object(&e, CA, &id(&policy), |p| {
        p["conditions"]["users"]["excludeGroups"] = json!([]);
        p["grantControls"] = json!({"operator": "OR", "builtInControls": ["mfa"], "authenticationStrength": null});
    }));
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();
    (app, token, sim, tid, e, set, id(&policy))
}

fn grant(sim: &SimHandle, e: &str, pid: &str) -> Value {
    sim.objects(e, CA)
        .into_iter()
        .find(|p| p["id"] == pid)
        .expect("the policy")["grantControls"]
        .clone()
}

/// The normal case of an MSP's restore: the live policy was loosened in the portal (a
/// compliant device now suffices instead of MFA), the restore tightens it back. The preview
/// lists it; the live restore without the tick is refused with a clear message and writes
/// nothing; with the tick it writes.
#[tokio::test]
async fn restoring_a_loosened_mfa_for_all_policy_is_listed_and_needs_the_tick() {
    let (app, token, sim, tid, e, set, pid) = mfa_for_all_backed_up("Loosened").await;
    let loosened =
        json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"], "authenticationStrength": null});
    assert!(sim.edit_object(&e, CA, &pid, |p| p["grantControls"] = loosened.clone()));

    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": true}),
    )
    .await;
    let rid = preview["id"].as_str().expect("id").to_owned();
    let item = items(&app, &token, &tid, &preview)
        .await
        .into_iter()
        .find(|i| {
            i["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("Require MFA for all users"))
        })
        .expect("the policy's item");
    assert_eq!(item["result"]["action"], "update", "{item}");
    assert!(
        item["result"]["tightens"].to_string().contains("grant controls"),
        "the grant control change is listed: {item}"
    );

    // The confirmation lists it, with its own tick.
    let (c, _) = app.signed_in(ADMIN_EMAIL).await;
    let actions = app.page(&c, &format!("/t/{tid}/runs/{rid}/actions")).await;
    assert!(actions.contains("These changes tighten access"), "{actions}");
    assert!(actions.contains("grant controls"), "{actions}");
    assert!(
        actions.contains("name=\"accept_ca_tightening\""),
        "a separate tick: {actions}"
    );

    // Without the tick: refused, nothing started, nothing written.
    let page = app.page(&c, &format!("/t/{tid}/runs/{rid}")).await;
    let csrf = csrf_of(&page);
    let res = c
        .post(app.url(&format!("/t/{tid}/runs/{rid}/restore")))
        .form(&[("_csrf", csrf.as_str()), ("confirm", "Loosened")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(to, format!("/t/{tid}/runs/{rid}"), "back to the preview");
    let back = app.page(&c, &to).await;
    assert!(
        back.contains("no exclusion") && back.contains("lock"),
        "the reason is on the page: {back}"
    );
    let started: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM runs WHERE kind = 'restore.execute'", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(started, 0, "no live restore was started");
    assert_eq!(grant(&sim, &e, &pid), loosened, "nothing was written");

    // With the tick: written.
    let res = c
        .post(app.url(&format!("/t/{tid}/runs/{rid}/restore")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("confirm", "Loosened"),
            ("accept_ca_tightening", "true"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let restore_id = crate::helpers::run_id_in(&res);
    assert_ne!(restore_id, rid, "a live restore started");
    let restore = crate::runs::wait_for_run(&app, &token, &tid, &restore_id).await;
    assert_eq!(restore["status"], "succeeded", "{restore}");
    assert_eq!(
        grant(&sim, &e, &pid)["builtInControls"],
        json!(["mfa"]),
        "MFA is required again"
    );
}

/// The incident: a backup holding "block" restored over the live "Require MFA for all
/// users" through the API. Without `accept_ca_tightening` the item is refused with its code
/// and nothing is written; with it the write happens.
#[tokio::test]
async fn an_api_restore_that_turns_mfa_for_all_into_block_is_refused_without_the_flag() {
    let (app, token, sim, tid, e, _, pid) = mfa_for_all_backed_up("Blocked").await;
    assert!(sim.edit_object(&e, CA, &pid, |p| {
        p["grantControls"]["builtInControls"] = json!(["block"]);
    }));
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Blocking"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    assert!(sim.edit_object(&e, CA, &pid, |p| {
        p["grantControls"]["builtInControls"] = json!(["mfa"]);
    }));

    let preview = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": true}),
    )
    .await;
    let item = items(&app, &token, &tid, &preview)
        .await
        .into_iter()
        .find(|i| i["result"]["action"] == "update")
        .expect("the changed policy");
    assert!(
        item["result"]["tightens"].to_string().contains("block"),
        "the block is listed: {item}"
    );

    let refused = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Blocked"}),
    )
    .await;
    assert_ne!(refused["status"], "succeeded", "{refused}");
    let failed = items(&app, &token, &tid, &refused)
        .await
        .into_iter()
        .find(|i| i["status"] == "failed")
        .expect("the refused item");
    assert_eq!(failed["error_code"], "tightening_not_accepted", "{failed}");
    assert!(
        failed["error_context"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("accept_ca_tightening")),
        "the reason says what to do: {failed}"
    );
    assert_eq!(
        grant(&sim, &e, &pid)["builtInControls"],
        json!(["mfa"]),
        "nothing was written"
    );

    let accepted = run_of(
        &app,
        &token,
        &tid,
        "/restores",
        json!({"backup_set_id": set, "dry_run": false, "confirm": "Blocked", "accept_ca_tightening": true}),
    )
    .await;
    assert_eq!(accepted["status"], "succeeded", "{accepted}");
    assert_eq!(grant(&sim, &e, &pid)["builtInControls"], json!(["block"]));
}
