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

fn shot(name: &str, png: &[u8]) {
    let _ = std::fs::write(format!("/tmp/pv-pages-{name}.png"), png);
}

/// Every file of a zip, by name.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
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

pub async fn download(app: &TestApp, token: &str, tid: &str, set: &str) -> reqwest::Response {
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
        shot("backup-set-export", &b.client.screenshot().await?);
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

/// What a tampering step makes of each file of a zip (`None`: leave it out).
type Rewrite<'a> = dyn Fn(&str, &[u8]) -> Option<Vec<u8>> + 'a;

/// A zip with these files, in this order.
pub fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

pub async fn import(app: &TestApp, token: &str, tid: &str, zip: Vec<u8>) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/tenants/{tid}/backup-sets/import")))
        .bearer_auth(token)
        .header("content-type", "application/zip")
        .body(zip)
        .send()
        .await
        .expect("import request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn counts(app: &TestApp) -> Vec<i64> {
    let db = app.raw_db();
    [
        "backup_sets",
        "backup_items",
        "policies",
        "policy_versions",
        "audit_events",
    ]
    .iter()
    .map(|t| {
        db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .expect("count")
    })
    .collect()
}

#[tokio::test]
async fn an_export_imports_as_a_new_set_into_its_own_tenant_and_into_another() {
    let (app, token, sim) = admin_app().await;
    let (tid, t) = sim_tenant(&app, &token, &sim, "Adatum", 1, None).await;
    let e = t.entra_tenant_id.clone();
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let bytes = download(&app, &token, &tid, &set)
        .await
        .bytes()
        .await
        .expect("zip")
        .to_vec();
    let files = unzip(&bytes);
    let n = files.len() - 1;
    // Renamed in the portal since the export: the imported item keeps the exported name.
    let renamed = sim.objects(&e, "deviceManagement/deviceConfigurations")[0].clone();
    let old_name = renamed["displayName"].as_str().expect("name").to_owned();
    assert!(sim.edit_object(
        &e,
        "deviceManagement/deviceConfigurations",
        renamed["id"].as_str().expect("id"),
        |o| o["displayName"] = json!("Renamed in the portal")
    ));
    assert_eq!(
        run_of(&app, &token, &tid, "/sync", json!(null)).await["status"],
        "succeeded"
    );

    // Back into its own tenant: the same policies and versions, no copy of either.
    let versions_before: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM policy_versions", [], |r| r.get(0))
        .expect("count");
    let (status, same) = import(&app, &token, &tid, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{same}");
    assert_eq!(same["files"], n);
    assert_eq!(same["new_policies"], 0, "{same}");
    assert_eq!(same["versions_reused"], n, "{same}");
    assert_eq!(same["backup_set"]["name"], "Imported: Known good");
    assert_eq!(same["source"]["backup_set"]["id"], set.as_str());
    let versions_after: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM policy_versions", [], |r| r.get(0))
        .expect("count");
    assert_eq!(versions_after, versions_before);
    let (_, original) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{set}"),
            None,
        )
        .await;
    let new_id = same["backup_set"]["id"].as_str().expect("id");
    let (_, copy) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/backup-sets/{new_id}"),
            None,
        )
        .await;
    let pick = |v: &Value| {
        let mut list: Vec<(String, String)> = v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| (i["policy_id"].to_string(), i["version_id"].to_string()))
            .collect();
        list.sort();
        list
    };
    assert_eq!(pick(&copy), pick(&original), "the same policies at the same versions");
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["display_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(names(&copy).contains(&old_name), "{:?}", names(&copy));
    assert!(!names(&copy).contains(&"Renamed in the portal".to_owned()));

    // Into a tenant that has never seen them: policies added as deleted, documents intact,
    // and a preview of the imported set would re-create them.
    let (other, _) = sim_tenant(&app, &token, &sim, "Adatum (new)", 0, None).await;
    let (status, moved) = import(&app, &token, &other, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    assert_eq!(moved["new_policies"], n, "{moved}");
    let moved_id = moved["backup_set"]["id"].as_str().expect("id").to_owned();
    let (_, detail) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{other}/backup-sets/{moved_id}"),
            None,
        )
        .await;
    let items = detail["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), n);
    let again = unzip(
        &download(&app, &token, &other, &moved_id)
            .await
            .bytes()
            .await
            .expect("zip"),
    );
    for (path, data) in &files {
        if path != "manifest.json" {
            assert_eq!(again.get(path), Some(data), "{path} comes back byte for byte");
        }
    }
    let preview = run_of(
        &app,
        &token,
        &other,
        "/restores",
        json!({"backup_set_id": moved_id, "dry_run": true}),
    )
    .await;
    let rows = crate::fidelity::items(&app, &token, &other, &preview).await;
    let actions: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| format!("{} {}", r["status"], r["result"]["action"]))
        .collect();
    assert_eq!(preview["status"], "succeeded", "{preview} {actions:?}");
    assert!(
        rows.iter().all(|r| r["result"]["action"] != "update"),
        "nothing of the set is in the new tenant: {actions:?}"
    );
    assert!(
        rows.iter().filter(|r| r["result"]["action"] == "create").count() >= n / 2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn an_import_refuses_what_is_not_an_intact_export_and_stores_nothing() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Proseware", 1, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let files = unzip(&download(&app, &token, &tid, &set).await.bytes().await.expect("zip"));
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let first = manifest["files"][0]["path"].as_str().expect("path").to_owned();
    let all = |change: &Rewrite<'_>| -> Vec<u8> {
        let list: Vec<(&str, Vec<u8>)> = files
            .iter()
            .filter_map(|(k, v)| change(k, v).map(|d| (k.as_str(), d)))
            .collect();
        zip_of(&list)
    };
    let mut other_format = manifest.clone();
    other_format["format"] = json!("something-else");
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("not a zip", b"PK but not really".to_vec(), "not a zip archive".into()),
        (
            "no manifest",
            all(&|k, v| (k != "manifest.json").then(|| v.to_vec())),
            "no manifest.json".into(),
        ),
        (
            "a changed file",
            all(&|k, v| {
                Some(if k == first {
                    String::from_utf8_lossy(v).replacen('{', "{\"x\": 1, ", 1).into_bytes()
                } else {
                    v.to_vec()
                })
            }),
            format!("{first} does not match the SHA-256"),
        ),
        (
            "a missing file",
            all(&|k, v| (k != first).then(|| v.to_vec())),
            format!("{first} is listed in manifest.json but missing"),
        ),
        (
            "an added file",
            {
                let mut list: Vec<(&str, Vec<u8>)> = files.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                list.push(("device_configuration/extra--x.json", b"{}".to_vec()));
                zip_of(&list)
            },
            "device_configuration/extra--x.json is in the zip but not in manifest.json".into(),
        ),
        (
            "another format",
            all(&|k, v| {
                Some(if k == "manifest.json" {
                    serde_json::to_vec(&other_format).expect("json")
                } else {
                    v.to_vec()
                })
            }),
            "not a policyvault export".into(),
        ),
    ];
    let before = counts(&app);
    for (what, zip, says) in cases {
        let (status, body) = import(&app, &token, &tid, zip).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&says), "{what}: {message}");
        assert_eq!(counts(&app), before, "{what}: nothing was stored");
    }

    // A viewer may download but not import.
    app.create_user("viewer@msp.test", false).await;
    app.api(
        Method::POST,
        &token,
        &format!("/api/v1/tenants/{tid}/members"),
        Some(json!({"email": "viewer@msp.test", "role": "viewer"})),
    )
    .await;
    let viewer = app.token_for("viewer@msp.test").await;
    let intact = all(&|_, v| Some(v.to_vec()));
    let (status, body) = import(&app, &viewer, &tid, intact.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The intact zip itself is accepted (the refusals above were for what was changed).
    let (status, body) = import(&app, &token, &tid, intact).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The backups page imports a zip: a damaged one is refused with the file named, the intact
/// one lands as a new set whose page opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backups_page_imports_a_zip_and_refuses_a_damaged_one() {
    let Some(b) = Browser::start().await else { return };
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Fourth Coffee", 1, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let bytes = download(&app, &token, &tid, &set)
        .await
        .bytes()
        .await
        .expect("zip")
        .to_vec();
    let files = unzip(&bytes);
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let first = manifest["files"][0]["path"].as_str().expect("path").to_owned();
    let damaged: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(k, v)| {
            let data = if *k == first {
                b"{\"changed\": true}".to_vec()
            } else {
                v.clone()
            };
            (k.as_str(), data)
        })
        .collect();
    let dir = tempfile::tempdir().expect("dir");
    let (good, bad) = (dir.path().join("good.zip"), dir.path().join("damaged.zip"));
    std::fs::write(&good, &bytes).expect("write");
    std::fs::write(&bad, zip_of(&damaged)).expect("write");
    let sets_before = counts(&app)[0];

    let upload = |path: std::path::PathBuf| {
        let client = b.client.clone();
        let url = app.url(&format!("/t/{tid}/backups"));
        async move {
            client.goto(&url).await?;
            client
                .wait()
                .for_element(Locator::Css("#pv-import summary"))
                .await?
                .click()
                .await?;
            client
                .find(Locator::Css("#pv-import input[type=file]"))
                .await?
                .send_keys(&path.to_string_lossy())
                .await?;
            client
                .find(Locator::XPath("//button[normalize-space()='Import']"))
                .await?
                .click()
                .await?;
            Ok::<_, fantoccini::error::CmdError>(())
        }
    };
    let journey = async {
        b.sign_in(&app.url("/login")).await?;
        upload(bad).await?;
        b.client
            .wait()
            .for_element(Locator::Css("#pv-toasts .pv-flash"))
            .await?;
        let refused = b.text_of("#pv-toasts").await;
        shot("import-refused", &b.client.screenshot().await?);
        upload(good).await?;
        b.client.wait().for_element(Locator::Css("#pv-export")).await?;
        let title = b.text_of("h1").await;
        let flash = b.text_of(".pv-flash").await;
        shot("import-done", &b.client.screenshot().await?);
        Ok::<_, fantoccini::error::CmdError>((refused, title, flash))
    }
    .await;
    let (refused, title, flash) = match journey {
        Ok(v) => v,
        Err(e) => b.fail("import a zip", &e).await,
    };
    b.close().await;
    assert!(
        refused.contains(&format!("{first} does not match the SHA-256")),
        "{refused}"
    );
    assert_eq!(title, "Imported: Known good");
    assert!(flash.contains("Imported") && flash.contains("Known good"), "{flash}");
    assert_eq!(counts(&app)[0], sets_before + 1, "only the intact zip made a set");
}
