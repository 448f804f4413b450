//! Issue 13, item 8: a changed settings catalog setting reads by its definition's display
//! name. The simulator serves `GET /beta/deviceManagement/configurationSettings/{id}` (404
//! for an id it does not know); a capture run resolves the definitions its documents use,
//! each at most once ever, into `setting_definitions`, apart from the documents.

use policyvault::graph::{ErrorCode, Graph};
use policyvault::sim::setting_definitions::DEFENDER_PREFIX;

use crate::graph::{connection, sim};

#[tokio::test]
async fn the_simulator_answers_setting_definitions_by_id_and_404_for_unknown_ones() {
    let sim = sim().await;
    let t = sim.add_tenant("Definitions", 1);
    let g = Graph::default().reader(connection(&sim, &t, &t.client_secret));
    let one = g
        .get(&format!("deviceManagement/configurationSettings/{DEFENDER_PREFIX}0"))
        .await
        .expect("a known definition");
    assert_eq!(one["id"], format!("{DEFENDER_PREFIX}0"));
    assert_eq!(one["displayName"], "Allow Realtime Monitoring");
    assert!(one["description"].is_string(), "{one}");
    // In a $batch, with an id that needs escaping (braces) and one the catalog lacks.
    let answers = g
        .get_many(&[
            "deviceManagement/configurationSettings/vendor_msft_firewall_mdmstore_firewallrules_%7Bfirewallrulename%7D"
                .to_owned(),
            "deviceManagement/configurationSettings/device_vendor_msft_no_such_setting".to_owned(),
        ])
        .await;
    assert_eq!(
        answers[0].as_ref().map(|d| d["displayName"].clone()).ok(),
        Some(serde_json::json!("Firewall Rule Name")),
        "{answers:?}"
    );
    assert_eq!(
        answers[1].as_ref().err().map(|e| e.code),
        Some(ErrorCode::GraphNotFound),
        "{answers:?}"
    );
    assert_eq!(sim.setting_definition_reads(&t.entra_tenant_id), 3);
}
