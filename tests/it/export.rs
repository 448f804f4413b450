//! Issue 13, item 9: a backup set downloads as a zip of one JSON file per policy and a
//! manifest with checksums, from the API and the backup set's page; no secret value leaves.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use base64::Engine;
use fantoccini::Locator;
use policyvault::export::file_part;
use policyvault::graph::canonical::canonicalize;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::browser::Browser;
use crate::fidelity::run_of;
use crate::helpers::TestApp;
use crate::ops::{admin_app, sim_tenant};

/// Every file of a zip, by name.
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a readable zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("entry");
            let name = f.name().expect("name").into_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read entry");
            (name, data)
        })
        .collect()
}

async fn download(app: &TestApp, token: &str, tid: &str, set: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(&format!("/api/v1/tenants/{tid}/backup-sets/{set}/export")))
        .bearer_auth(token)
        .send()
        .await
        .expect("export request")
}

#[tokio::test]
async fn a_backup_set_exports_as_a_zip_of_named_json_files_with_a_manifest_and_no_secret() {
    let (app, token, sim) = admin_app().await;
    // Four per type: the seed then holds a custom profile with two encrypted values.
    let (tid, t) = sim_tenant(&app, &token, &sim, "Contoso Ltd.", 4, None).await;
    let e = t.entra_tenant_id.clone();
    let plain: Vec<String> = sim.secret_values(&e).into_values().collect();
    assert_eq!(plain.len(), 2, "the seed holds two secret values");
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Nightly 1/2"})).await;
    assert_eq!(backup["status"], "succeeded", "{backup}");
    let set = backup["target_id"].as_str().expect("set").to_owned();

    let res = download(&app, &token, &tid, &set).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let disposition = res.headers()["content-disposition"].to_str().expect("ascii").to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"Contoso-Ltd-Nightly-1-2-") && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let bytes = res.bytes().await.expect("body").to_vec();
    let files = unzip(&bytes);
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest is JSON");

    // The manifest: the set, the tenant, the product, and counts that add up.
    let (_, detail) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    let items = detail["items"].as_array().expect("items").clone();
    assert_eq!(manifest["format"], "policyvault-backup-export");
    assert_eq!(manifest["backup_set"]["id"], set.as_str());
    assert_eq!(manifest["backup_set"]["name"], "Nightly 1/2");
    assert_eq!(manifest["backup_set"]["created_at"], detail["created_at"]);
    assert_eq!(manifest["tenant"]["id"], tid.as_str());
    assert_eq!(manifest["tenant"]["name"], "Contoso Ltd.");
    assert_eq!(manifest["tenant"]["entra_tenant_id"], e.as_str());
    assert_eq!(manifest["product"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["counts"]["items"], items.len());
    assert_eq!(manifest["counts"]["files"], items.len(), "every item was captured");
    assert_eq!(manifest["counts"]["not_captured"], 0);
    let listed = manifest["files"].as_array().expect("files");
    assert_eq!(listed.len(), items.len());
    assert_eq!(files.len(), items.len() + 1, "one file per policy plus the manifest");
    let by_type: u64 = manifest["counts"]["by_type"]
        .as_object()
        .expect("by_type")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(by_type, items.len() as u64);

    // Each file: a stable name, the hash the manifest says, the captured document itself.
    let (_, policies) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/policies"), None)
        .await;
    let graph_ids: HashMap<&str, &str> = policies
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p["graph_id"].as_str().expect("graph id")))
        .collect();
    for item in &items {
        let policy_id = item["policy_id"].as_str().expect("policy");
        let expected = format!(
            "{}/{}--{}.json",
            item["policy_type"].as_str().expect("type"),
            file_part(item["display_name"].as_str().expect("name"), 80),
            file_part(graph_ids[policy_id], 120)
        );
        let entry = listed
            .iter()
            .find(|f| f["policy_id"] == policy_id)
            .unwrap_or_else(|| panic!("{expected} is in the manifest"));
        assert_eq!(entry["path"], expected.as_str());
        let data = files
            .get(&expected)
            .unwrap_or_else(|| panic!("{expected} is in the zip"));
        assert_eq!(
            entry["sha256"],
            hex::encode(Sha256::digest(data)).as_str(),
            "{expected}"
        );
        assert_eq!(entry["version_id"], item["version_id"]);
        let text = std::str::from_utf8(data).expect("UTF-8");
        assert!(
            text.starts_with("{\n  \"") && text.ends_with("}\n"),
            "pretty-printed: {expected}"
        );
        let (_, version) = app
            .api(
                Method::GET,
                &token,
                &format!(
                    "/api/v1/tenants/{tid}/versions/{}",
                    item["version_id"].as_str().expect("v")
                ),
                None,
            )
            .await;
        let document: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(
            document,
            canonicalize(&version["content"]),
            "{expected} is the backed-up policy"
        );
    }

    // Secrets: the custom profile names both withheld values, which stay sealed references.
    let withheld: Vec<&Value> = listed
        .iter()
        .flat_map(|f| f["secrets_withheld"].as_array().expect("list"))
        .collect();
    assert_eq!(withheld.len(), 2, "{withheld:?}");
    assert_eq!(manifest["counts"]["secrets_withheld"], 2);
    let profile = listed
        .iter()
        .find(|f| !f["secrets_withheld"].as_array().expect("list").is_empty())
        .expect("the custom profile");
    let document: Value = serde_json::from_slice(&files[profile["path"].as_str().expect("path")]).expect("JSON");
    for w in withheld {
        assert_eq!(w["kept_as"], "sealed_reference", "{w}");
        let at = document
            .pointer(w["pointer"].as_str().expect("pointer"))
            .and_then(Value::as_str)
            .expect("a value at the pointer");
        assert!(at.starts_with("pv-sealed:"), "{at}");
        assert!(
            w["setting"].as_str().is_some_and(|s| s.starts_with("./Vendor/MSFT/")),
            "{w}"
        );
    }
    let all: Vec<u8> = files.values().flatten().copied().chain(bytes.iter().copied()).collect();
    for value in &plain {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        for needle in [value.as_str(), encoded.as_str()] {
            assert!(
                !all.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret value is in the export"
            );
        }
    }

    // Stable: a second export names and hashes every policy file the same way.
    let again = unzip(&download(&app, &token, &tid, &set).await.bytes().await.expect("body"));
    let policy_files = |f: &BTreeMap<String, Vec<u8>>| {
        f.iter()
            .filter(|(k, _)| *k != "manifest.json")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(policy_files(&again), policy_files(&files));

    // Recorded in the tenant's audit log, by whom and what.
    let (_, audit) = app
        .api(Method::GET, &token, &format!("/api/v1/tenants/{tid}/audit"), None)
        .await;
    let exported: Vec<&Value> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["action"] == "backup_set.exported")
        .collect();
    assert_eq!(exported.len(), 2, "{audit}");
    assert_eq!(exported[0]["details"]["backup_set_id"], set.as_str());
}

#[tokio::test]
async fn a_viewer_may_export_and_a_non_member_gets_403_without_the_tenant_s_data() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Fabrikam", 1, None).await;
    let (other, _) = sim_tenant(&app, &token, &sim, "Northwind", 1, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    for (email, tenant) in [("viewer@msp.test", &tid), ("outsider@msp.test", &other)] {
        app.create_user(email, false).await;
        let (status, _) = app
            .api(
                Method::POST,
                &token,
                &format!("/api/v1/tenants/{tenant}/members"),
                Some(json!({"email": email, "role": "viewer"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let viewer = app.token_for("viewer@msp.test").await;
    let res = download(&app, &viewer, &tid, &set).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(unzip(&res.bytes().await.expect("zip")).contains_key("manifest.json"));

    let outsider = app.token_for("outsider@msp.test").await;
    // Through the tenant, and through the outsider's own tenant with the set's id.
    for tenant in [&tid, &other] {
        let res = download(&app, &outsider, tenant, &set).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "via {tenant}");
        let body = res.text().await.expect("body");
        assert!(body.contains("\"forbidden\"") && !body.contains("Known good"), "{body}");
    }
    // The page route too, for a signed-in browser.
    let (browser, _) = app.signed_in("outsider@msp.test").await;
    let res = browser
        .get(app.url(&format!("/t/{tid}/backups/{set}/export")))
        .send()
        .await
        .expect("page export");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // No such set in a tenant the caller may see: 404 that says so.
    let (status, body) = app
        .api(
            Method::GET,
            &viewer,
            &format!("/api/v1/tenants/{tid}/backup-sets/0190f000-0000-7000-8000-000000000000/export"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// The backup set's page offers "Download zip", and the link downloads the zip in the
/// signed-in browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_set_page_offers_the_zip_download() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Litware", 1, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Before the change"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        b.client.goto(&app.url(&format!("/t/{tid}/backups/{set}"))).await?;
        let link = b
            .client
            .wait()
            .for_element(Locator::XPath("//a[normalize-space()='Download zip']"))
            .await?;
        let href = link.attr("href").await?.unwrap_or_default();
        let shot = b.client.screenshot().await?;
        let _ = std::fs::write("/tmp/pv-pages-backup-set-export.png", shot);
        // What the browser gets when it follows the link, with its own session.
        let got = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const a = [...document.querySelectorAll('a')].find(x => x.textContent.trim() === 'Download zip');
                 fetch(a.href).then(async r => {
                   const head = new Uint8Array(await r.arrayBuffer()).slice(0, 2);
                   done([r.status, r.headers.get('content-type'), r.headers.get('content-disposition'),
                         String.fromCharCode(...head), a.hasAttribute('download')]);
                 }).catch(e => done(String(e)));",
                vec![],
            )
            .await?;
        Ok::<_, fantoccini::error::CmdError>((href, got))
    }
    .await;
    let (href, got) = match journey {
        Ok(v) => v,
        Err(e) => b.fail("download zip", &e).await,
    };
    b.close().await;
    assert_eq!(href, format!("/t/{tid}/backups/{set}/export"));
    assert_eq!(got[0], 200, "{got}");
    assert_eq!(got[1], "application/zip", "{got}");
    assert!(
        got[2].as_str().is_some_and(|d| d.contains("Litware-Before-the-change")),
        "{got}"
    );
    assert_eq!(got[3], "PK", "a zip: {got}");
    assert_eq!(got[4], true, "the link downloads instead of navigating");
}
