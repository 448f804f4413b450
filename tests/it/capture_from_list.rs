//! A whole-tenant backup captures device configurations from their listing (assignments
//! expanded on the list) instead of reading each one again: the same documents for one
//! request less per policy, and the reads by id again when Graph refuses the expansion.

use policyvault::sim::state::Faults;
use serde_json::json;

use crate::ops::{admin_app, items, register, start_and_wait};

const CONFIGURATIONS: u64 = 15;

#[tokio::test]
async fn device_configurations_are_captured_from_their_listing_exactly_as_read_by_id() {
    let (app, token, sim) = admin_app().await;
    let t = sim.add_tenant_of("Listed", &|key| {
        if key == "device_configuration" {
            usize::try_from(CONFIGURATIONS).unwrap_or(0)
        } else {
            0
        }
    });
    let tid = register(&app, &token, &sim, "Listed", &t, None).await;
    let entra = t.entra_tenant_id.clone();
    let reads = |sim: &policyvault::sim::SimHandle| sim.counters(&entra).0 - sim.directory_queries(&entra);

    // Graph refuses `$expand` on lists: each configuration is read by id.
    sim.set_faults(Faults {
        page_size: 7,
        list_expand_refused: true,
        ..Faults::default()
    });
    let before = reads(&sim);
    let by_id = start_and_wait(&app, &token, &tid, "/backup-sets", Some(json!({"name": "By id"}))).await;
    assert_eq!(by_id["status"], "succeeded", "{by_id}");
    let by_id_reads = reads(&sim) - before;

    // Graph expands assignments on the list: the listing is the capture.
    sim.set_faults(Faults {
        page_size: 7,
        ..Faults::default()
    });
    let before = reads(&sim);
    let listed = start_and_wait(&app, &token, &tid, "/backup-sets", Some(json!({"name": "Listed"}))).await;
    assert_eq!(listed["status"], "succeeded", "{listed}");
    let listed_reads = reads(&sim) - before;

    assert_eq!(
        by_id_reads - listed_reads,
        CONFIGURATIONS + 1,
        "one read per configuration saved (and the refused list is one request): {by_id_reads} vs {listed_reads}"
    );
    let captured: Vec<_> = items(&app, &token, &tid, &listed)
        .await
        .into_iter()
        .filter(|i| i["item_type"] == "backup_item")
        .collect();
    assert_eq!(captured.len() as u64, CONFIGURATIONS);
    for item in &captured {
        assert_eq!(
            item["result"]["unchanged"], true,
            "the listed document equals the one read by id: {item}"
        );
    }
    let dc = sim.objects(&entra, "deviceManagement/deviceConfigurations");
    let assigned = dc
        .iter()
        .filter(|o| !sim.assignments(&entra, o["id"].as_str().unwrap_or_default()).is_empty())
        .count();
    assert!(
        assigned > 0,
        "some configurations are assigned, so the expansion is exercised"
    );
}
