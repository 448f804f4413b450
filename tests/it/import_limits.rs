//! An import is checked within limits set before anything is inflated (32 MiB unpacked in
//! all, 4 MiB per file, from the zip's own directory), its manifest entries before any
//! document, one import at a time per server; what it refuses leaves nothing behind.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::export::{download, import, unzip, zip_of};
use crate::fidelity::run_of;
use crate::helpers::TestApp;
use crate::ops::{admin_app, sim_tenant};

/// An export of a small tenant: its files, and a token and tenant to import into.
async fn exported() -> (TestApp, String, String, BTreeMap<String, Vec<u8>>) {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Northwind", 4, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let files = unzip(&download(&app, &token, &tid, &set).await.bytes().await.expect("zip"));
    (app, token, tid, files)
}

fn stored(app: &TestApp) -> i64 {
    app.raw_db()
        .query_row(
            "SELECT (SELECT count(*) FROM backup_sets) + (SELECT count(*) FROM policy_versions) + (SELECT count(*) FROM audit_events WHERE action = 'backup_set.imported')",
            [],
            |r| r.get(0),
        )
        .expect("count")
}

/// A manifest listing `files` (path, type, graph id, captured at), each with its SHA-256.
fn manifest_for(template: &Value, files: &[(&str, &str, &str, &str, &[u8])]) -> Vec<u8> {
    let mut m = template.clone();
    m["files"] = files
        .iter()
        .map(|(path, ty, id, at, data)| {
            json!({"path": path, "policy_type": ty, "graph_id": id, "display_name": "Doc",
                   "captured_at": at, "sha256": hex::encode(Sha256::digest(data))})
        })
        .collect();
    serde_json::to_vec(&m).expect("json")
}

const AT: &str = "2026-01-01T00:00:00Z";

fn big_document(bytes: usize) -> Vec<u8> {
    let mut doc = b"{\"displayName\":\"x\",\"a\":[0".to_vec();
    while doc.len() < bytes {
        doc.extend_from_slice(b",0");
    }
    doc.extend_from_slice(b"]}");
    doc
}

fn expect_refused(status: StatusCode, body: &Value, says: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "expected {says:?} in {message:?}");
}

#[tokio::test]
async fn sizes_stated_in_the_zip_directory_are_checked_before_anything_is_unpacked() {
    let (app, token, tid, files) = exported().await;
    let template: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let before = stored(&app);

    // One file over 4 MiB (a 5 MiB document deflates to a few KiB).
    let huge = big_document(5 << 20);
    let zip = zip_of(&[
        (
            "manifest.json",
            manifest_for(
                &template,
                &[("device_category/a.json", "device_category", "a1", AT, &huge)],
            ),
        ),
        ("device_category/a.json", huge.clone()),
    ]);
    assert!(zip.len() < 1 << 20, "the bomb is small: {}", zip.len());
    let (status, body) = import(&app, &token, &tid, zip).await;
    expect_refused(status, &body, "may be at most 4 MiB");

    // Nine files of 3.9 MiB: each within its limit, together over 32 MiB.
    let doc = big_document(3_900_000);
    let names: Vec<String> = (0..9).map(|i| format!("device_category/d{i}.json")).collect();
    let ids: Vec<String> = (0..9).map(|i| format!("d{i}")).collect();
    let listed: Vec<(&str, &str, &str, &str, &[u8])> = names
        .iter()
        .zip(&ids)
        .map(|(n, id)| (n.as_str(), "device_category", id.as_str(), AT, doc.as_slice()))
        .collect();
    let mut all: Vec<(&str, Vec<u8>)> = vec![("manifest.json", manifest_for(&template, &listed))];
    all.extend(names.iter().map(|n| (n.as_str(), doc.clone())));
    let (status, body) = import(&app, &token, &tid, zip_of(&all)).await;
    expect_refused(status, &body, "unpacks to more than 32 MiB");

    // A file that inflates past the size its directory entry states.
    let small = br#"{"displayName": "A category that is longer than it says"}"#.to_vec();
    let mut zip = zip_of(&[
        (
            "manifest.json",
            manifest_for(
                &template,
                &[("device_category/s.json", "device_category", "s1", AT, &small)],
            ),
        ),
        ("device_category/s.json", small.clone()),
    ]);
    let entry = zip
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .map(|(i, _)| i)
        .nth(1)
        .expect("the document's directory entry");
    zip[entry + 24..entry + 28].copy_from_slice(&10u32.to_le_bytes());
    let (status, body) = import(&app, &token, &tid, zip).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Two entries named manifest.json (the second renamed in place, byte for byte).
    let other = manifest_for(&template, &[]);
    let zip = zip_of(&[
        ("manifest.json", files["manifest.json"].clone()),
        ("xanifest.json", other),
    ]);
    let zip = replace_all(&zip, b"xanifest.json", b"manifest.json");
    let (status, body) = import(&app, &token, &tid, zip).await;
    expect_refused(status, &body, "holds manifest.json twice");
    assert_eq!(stored(&app), before, "nothing of a refused zip was stored");
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = haystack.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

#[tokio::test]
async fn manifest_entries_are_checked_before_any_document_and_forged_history_is_refused() {
    let (app, token, tid, files) = exported().await;
    let template: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let before = stored(&app);
    let broken = b"{ this is not json".to_vec();
    let good = br#"{"displayName": "Ok"}"#.to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a later entry's id is a path, an earlier document is broken: the entry is named first",
            manifest_for(
                &template,
                &[
                    ("device_category/a.json", "device_category", "a1", AT, &broken),
                    ("device_category/b.json", "device_category", "../x", AT, &good),
                ],
            ),
            "device_category/b.json: the manifest's graph_id is not a Graph id",
        ),
        (
            "captured in the future",
            manifest_for(
                &template,
                &[
                    (
                        "device_category/a.json",
                        "device_category",
                        "a1",
                        "2099-01-01T00:00:00Z",
                        &good,
                    ),
                    ("device_category/b.json", "device_category", "b1", AT, &good),
                ],
            ),
            "is in the future",
        ),
    ];
    for (what, manifest, says) in cases {
        let zip = zip_of(&[
            ("manifest.json", manifest),
            (
                "device_category/a.json",
                if what.starts_with("a later") {
                    broken.clone()
                } else {
                    good.clone()
                },
            ),
            ("device_category/b.json", good.clone()),
        ]);
        let (status, body) = import(&app, &token, &tid, zip).await;
        expect_refused(status, &body, says);
    }
    // Names follow the name rules, with a length cap.
    for name in [
        "Scheduled\u{2028}backup".to_owned(),
        "a\u{200B}b".to_owned(),
        "x".repeat(401),
    ] {
        let mut m: Value = serde_json::from_slice(&manifest_for(
            &template,
            &[("device_category/a.json", "device_category", "a1", AT, &good)],
        ))
        .expect("json");
        m["files"][0]["display_name"] = json!(name);
        let zip = zip_of(&[
            ("manifest.json", serde_json::to_vec(&m).expect("json")),
            ("device_category/a.json", good.clone()),
        ]);
        let (status, body) = import(&app, &token, &tid, zip).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
    }
    assert_eq!(stored(&app), before, "nothing of a refused zip was stored");
}

/// A plain value in a secret slot is refused, not sealed: sealing typed values made the
/// references an oracle for guesses.
#[tokio::test]
async fn plain_values_in_secret_slots_are_refused() {
    let (app, token, tid, files) = exported().await;
    let template: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let before = stored(&app);
    let doc = serde_json::to_vec(&json!({
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Guess",
        "omaSettings": [{"@odata.type": "#microsoft.graph.omaSettingString", "displayName": "VPN shared secret",
            "omaUri": "./Vendor/MSFT/VPNv2/Corp/NativeProfile/SharedSecret", "isEncrypted": true, "value": "guess-1"}]
    }))
    .expect("json");
    let zip = zip_of(&[
        (
            "manifest.json",
            manifest_for(
                &template,
                &[("device_configuration/g.json", "device_configuration", "g1", AT, &doc)],
            ),
        ),
        ("device_configuration/g.json", doc.clone()),
    ]);
    let (status, body) = import(&app, &token, &tid, zip).await;
    expect_refused(status, &body, "holds a plain value");
    assert_eq!(stored(&app), before);
    let sealed: i64 = app
        .raw_db()
        .query_row("SELECT count(*) FROM sealed_values", [], |r| r.get(0))
        .expect("count");
    let (status, _) = import(&app, &token, &tid, zip_of(&[])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        sealed,
        app.raw_db()
            .query_row("SELECT count(*) FROM sealed_values", [], |r| r.get::<_, i64>(0))
            .expect("count")
    );
}

/// Imports are checked one at a time: of several large ones sent at once, those that find
/// another being checked are told to try again (429), and none is stored half.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_import_is_checked_at_a_time() {
    let (app, token, tid, files) = exported().await;
    let template: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest");
    let before = stored(&app);
    // Eight documents of 3.5 MiB that parse slowly, and a ninth that is broken, so each
    // import takes its time and is refused at the end.
    let doc = big_document(3_500_000);
    let broken = b"{ broken".to_vec();
    let names: Vec<String> = (0..9).map(|i| format!("device_category/d{i}.json")).collect();
    let ids: Vec<String> = (0..9).map(|i| format!("d{i}")).collect();
    let docs: Vec<Vec<u8>> = (0..9)
        .map(|i| if i == 8 { broken.clone() } else { doc.clone() })
        .collect();
    let listed: Vec<(&str, &str, &str, &str, &[u8])> = names
        .iter()
        .zip(&ids)
        .zip(&docs)
        .map(|((n, id), d)| (n.as_str(), "device_category", id.as_str(), AT, d.as_slice()))
        .collect();
    let mut all: Vec<(&str, Vec<u8>)> = vec![("manifest.json", manifest_for(&template, &listed))];
    all.extend(names.iter().zip(&docs).map(|(n, d)| (n.as_str(), d.clone())));
    let zip = zip_of(&all);
    let tries = (0..4).map(|_| import(&app, &token, &tid, zip.clone()));
    let answers = futures_util::future::join_all(tries).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::TOO_MANY_REQUESTS, StatusCode::UNPROCESSABLE_ENTITY].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(stored(&app), before);
    // Once the others are done, the next import is checked again.
    let (status, _) = import(&app, &token, &tid, zip).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// An imported set has its own origin, shown with the importer on the backups list, the
/// set's page, its restore preview and the API; the versions it added are marked imported.
#[tokio::test]
async fn an_imported_set_says_who_imported_it_everywhere_it_shows() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Wingtip", 1, None).await;
    let (other, _) = sim_tenant(&app, &token, &sim, "Wingtip (new)", 0, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let zip = download(&app, &token, &tid, &set)
        .await
        .bytes()
        .await
        .expect("zip")
        .to_vec();
    let (status, imported) = import(&app, &token, &other, zip).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let new_set = imported["backup_set"]["id"].as_str().expect("id").to_owned();
    assert_eq!(imported["backup_set"]["origin"], "import", "{imported}");
    assert_eq!(imported["backup_set"]["imported_by"], crate::helpers::ADMIN_EMAIL);
    assert_eq!(
        imported["backup_set"]["import_source"]["backup_set"]["name"],
        "Known good"
    );

    let (c, _) = app.signed_in(crate::helpers::ADMIN_EMAIL).await;
    let list = app.page(&c, &format!("/t/{other}/backups")).await;
    assert!(
        list.contains("Imported from a zip") && list.contains(&format!("by {}", crate::helpers::ADMIN_EMAIL)),
        "{list}"
    );
    let page = app.page(&c, &format!("/t/{other}/backups/{new_set}")).await;
    assert!(
        page.contains(&format!("Imported from a zip by {}", crate::helpers::ADMIN_EMAIL))
            && page.contains("Known good"),
        "{page}"
    );
    let preview = run_of(
        &app,
        &token,
        &other,
        "/restores",
        json!({"backup_set_id": new_set, "dry_run": true}),
    )
    .await;
    let actions = app
        .page(
            &c,
            &format!("/t/{other}/runs/{}/actions", preview["id"].as_str().expect("id")),
        )
        .await;
    assert!(actions.contains("This preview is of an imported set"), "{actions}");
    let policy: String = app
        .raw_db()
        .query_row(
            "SELECT policy_id FROM backup_items WHERE backup_set_id = ?1 LIMIT 1",
            [&new_set],
            |r| r.get(0),
        )
        .expect("item");
    let history = app.page(&c, &format!("/t/{other}/policies/{policy}")).await;
    assert!(history.contains("pv-imported"), "{history}");
    let own = app
        .page(
            &c,
            &format!(
                "/t/{tid}/policies/{}",
                app.raw_db()
                    .query_row(
                        "SELECT policy_id FROM backup_items WHERE backup_set_id = ?1 LIMIT 1",
                        [&set],
                        |r| r.get::<_, String>(0)
                    )
                    .expect("item")
            ),
        )
        .await;
    assert!(!own.contains("pv-imported"), "a captured version is not marked");
}
