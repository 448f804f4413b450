//! Sealed references stay inside the database: pages, the API and exports show a random
//! alias per stored value, which an import maps back only in the tenant that sealed it
//! (issue 20, finding 10: equal references for equal values were a guessing oracle).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::export::{download, import, unzip};
use crate::fidelity::run_of;
use crate::ops::{admin_app, sim_tenant};

fn sealed_strings(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("pv-sealed:") {
        let tail = &rest[at..];
        let end = tail[10..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(tail.len(), |e| e + 10);
        if end > 10 {
            out.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    out
}

#[tokio::test]
async fn pages_api_and_exports_show_aliases_never_the_references() {
    let (app, token, sim) = admin_app().await;
    let (tid, _) = sim_tenant(&app, &token, &sim, "Contoso", 4, None).await;
    let backup = run_of(&app, &token, &tid, "/backup-sets", json!({"name": "Known good"})).await;
    let set = backup["target_id"].as_str().expect("set").to_owned();
    let db = app.raw_db();
    let refs: BTreeSet<String> = db
        .prepare("SELECT ref FROM sealed_values")
        .expect("q")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    let aliases: BTreeSet<String> = db
        .prepare("SELECT alias FROM sealed_aliases")
        .expect("q")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    assert!(!refs.is_empty(), "the seed's custom profile holds encrypted values");
    assert!(refs.is_disjoint(&aliases));

    let bytes = download(&app, &token, &tid, &set)
        .await
        .bytes()
        .await
        .expect("zip")
        .to_vec();
    let files = unzip(&bytes);
    let exported: BTreeSet<String> = files
        .values()
        .flat_map(|f| sealed_strings(&String::from_utf8_lossy(f)))
        .collect();
    assert!(!exported.is_empty());
    assert!(exported.is_subset(&aliases), "{exported:?}");
    assert!(exported.is_disjoint(&refs));

    // The version API and page of the custom profile.
    let (version, policy): (String, String) = db
        .query_row(
            "SELECT v.id, v.policy_id FROM policy_versions v JOIN policy_contents c ON c.content_hash = v.content_hash
             WHERE c.content LIKE '%pv-sealed:%' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a version with a sealed value");
    let (_, shown) = app
        .api(
            Method::GET,
            &token,
            &format!("/api/v1/tenants/{tid}/versions/{version}"),
            None,
        )
        .await;
    let in_api = sealed_strings(&shown.to_string());
    assert!(
        !in_api.is_empty() && in_api.is_subset(&aliases) && in_api.is_disjoint(&refs),
        "{shown}"
    );
    let (c, _) = app.signed_in(crate::helpers::ADMIN_EMAIL).await;
    let page = app
        .page(&c, &format!("/t/{tid}/policies/{policy}/versions/{version}"))
        .await;
    assert!(sealed_strings(&page).is_disjoint(&refs), "the page shows no reference");

    // Back into its own tenant, the aliases are references again: nothing new is stored.
    let (status, same) = import(&app, &token, &tid, bytes).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{same}");
    assert_eq!(same["new_policies"], 0, "{same}");
    assert_eq!(same["versions_reused"], files.len() - 1, "{same}");
    let after: i64 = db
        .query_row("SELECT count(*) FROM sealed_values", [], |r| r.get(0))
        .expect("n");
    assert_eq!(usize::try_from(after).expect("n"), refs.len());
    let _: Value = shown;
}
