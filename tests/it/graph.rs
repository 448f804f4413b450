//! The Graph client against the simulator, over real HTTP.

use std::time::{Duration, Instant};

use policyvault::graph::canonical::{content_hash, diff};
use policyvault::graph::client::RetryPolicy;
use policyvault::graph::limiter::Limits;
use policyvault::graph::registry::{TYPES, by_key};
use policyvault::graph::{ErrorCode, Graph, TenantConnection, policy};
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use serde_json::json;

pub async fn sim() -> SimHandle {
    SimHandle::start("127.0.0.1:0".parse().expect("addr"), 7, Faults::default())
        .await
        .expect("simulator")
}

pub fn connection(sim: &SimHandle, t: &policyvault::sim::SimTenantInfo, secret: &str) -> TenantConnection {
    TenantConnection {
        login_base_url: sim.base_url(),
        graph_base_url: sim.base_url(),
        entra_tenant_id: t.entra_tenant_id.clone(),
        client_id: t.client_id.clone(),
        client_secret: secret.to_owned().into(),
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        deadline: Duration::from_secs(10),
        request_timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn lists_follow_every_page_and_scripts_need_a_get_by_id() {
    let sim = sim().await;
    let t = sim.add_tenant("Paging", 7);
    sim.set_faults(Faults {
        page_size: 3,
        ..Faults::default()
    });
    let g = Graph::default().reader(connection(&sim, &t, &t.client_secret));
    let scripts = g.list("deviceManagement/deviceManagementScripts").await.expect("list");
    assert_eq!(scripts.len(), 7, "3 + 3 + 1 across pages");
    assert!(
        scripts.iter().all(|s| s.get("scriptContent").is_none()),
        "the list omits script bodies"
    );
    let id = scripts[0]["id"].as_str().expect("id");
    let full = g
        .get(&format!("deviceManagement/deviceManagementScripts/{id}"))
        .await
        .expect("get");
    assert!(full["scriptContent"].is_string());
    let (reads, _, _) = sim.counters(&t.entra_tenant_id);
    assert_eq!(reads, 4, "three pages and one get");
}

#[tokio::test]
async fn a_wrong_secret_is_auth_failed_and_no_secret_appears_in_the_error() {
    let sim = sim().await;
    let t = sim.add_tenant("Wrong secret", 1);
    let conn = connection(&sim, &t, "not-the-secret-4711");
    assert!(
        !format!("{conn:?}").contains("4711"),
        "Debug of a connection hides the secret"
    );
    let err = Graph::default()
        .reader(conn)
        .list("deviceManagement/deviceConfigurations")
        .await
        .expect_err("refused");
    assert_eq!(err.code, ErrorCode::AuthFailed);
    assert_eq!(err.context["graph_error_code"], "invalid_client");
    let shown = format!("{err} {err:?} {}", err.context);
    assert!(
        !shown.contains("4711") && !shown.contains(&t.client_secret) && !shown.contains("sim."),
        "{shown}"
    );
}

#[tokio::test]
async fn throttling_is_retried_after_the_retry_after_it_asks_for() {
    let sim = sim().await;
    let t = sim.add_tenant("Throttled", 3);
    sim.set_faults(Faults {
        throttle_rate: 0.5,
        retry_after_secs: 0.3,
        ..Faults::default()
    });
    let g = Graph::new(
        RetryPolicy {
            max_attempts: 20,
            ..quick_retries()
        },
        Limits::default(),
    )
    .reader(connection(&sim, &t, &t.client_secret));
    let started = Instant::now();
    for ty in TYPES {
        g.list(ty.collection).await.expect("eventually answered");
    }
    let (_, _, throttled) = sim.counters(&t.entra_tenant_id);
    assert!(throttled > 0, "the simulator did throttle");
    let floor = Duration::from_secs_f64(0.3 * f64::from(u32::try_from(throttled).expect("small")));
    assert!(
        started.elapsed() >= floor,
        "waited at least Retry-After for each 429 ({throttled} × 0.3 s)"
    );
}

#[tokio::test]
async fn an_outage_ends_as_graph_unavailable_after_bounded_attempts() {
    let sim = sim().await;
    let t = sim.add_tenant("Down", 1);
    sim.set_faults(Faults {
        down_collections: vec!["deviceManagement/deviceHealthScripts".into()],
        ..Faults::default()
    });
    let g = Graph::new(quick_retries(), Limits::default()).reader(connection(&sim, &t, &t.client_secret));
    let err = g.list("deviceManagement/deviceHealthScripts").await.expect_err("down");
    assert_eq!(err.code, ErrorCode::GraphUnavailable);
    assert_eq!(err.context["attempt"], 4, "gave up after the bounded attempts");
    assert_eq!(err.context["http_status"], 503);
    g.list("deviceManagement/deviceConfigurations")
        .await
        .expect("other types still work");
}

#[tokio::test]
async fn every_type_round_trips_captured_content_creates_an_identical_object() {
    let sim = sim().await;
    let t = sim.add_tenant("Round trip", 2);
    let graph = Graph::default();
    let w = graph.writer(connection(&sim, &t, &t.client_secret));
    for ty in TYPES {
        let list = w.reader().list(ty.collection).await.expect("list");
        let id = list[0]["id"].as_str().expect("id");
        let original = policy::capture(w.reader(), ty, id).await.expect("capture");
        let new_id = policy::create(&w, ty, &original)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ty.key));
        policy::assign(&w, ty, &new_id, &original).await.expect("assign");
        let copy = policy::capture(w.reader(), ty, &new_id).await.expect("capture copy");
        let (a, b) = (policy::comparable(ty, &original), policy::comparable(ty, &copy));
        assert_eq!(content_hash(&a), content_hash(&b), "{}: {:?}", ty.key, diff(&a, &b));
        // An update with changed content is visible on read-back.
        let mut changed = copy.clone();
        changed[ty.name_field] = json!(format!("{} (changed)", ty.display_name(&copy)));
        policy::update(&w, ty, &new_id, &changed, &copy).await.expect("update");
        let after = policy::capture(w.reader(), ty, &new_id).await.expect("read back");
        assert!(ty.display_name(&after).ends_with("(changed)"), "{}", ty.key);
    }
}

#[tokio::test]
async fn the_simulator_rejects_what_graph_rejects() {
    let sim = sim().await;
    let t = sim.add_tenant("Strict", 1);
    let w = Graph::default().writer(connection(&sim, &t, &t.client_secret));
    let dc = by_key("device_configuration").expect("type");
    let err = w
        .post(dc.collection, &json!({"displayName": "x", "id": "mine"}))
        .await
        .expect_err("read-only id");
    assert_eq!(err.code, ErrorCode::GraphBadRequest);
    let err = w
        .post(dc.collection, &json!({"displayName": "x"}))
        .await
        .expect_err("no @odata.type");
    assert_eq!(err.code, ErrorCode::GraphBadRequest);
    let id = w.reader().list(dc.collection).await.expect("list")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let err = w
        .patch(
            &format!("{}/{id}", dc.collection),
            &json!({"@odata.type": "#microsoft.graph.iosGeneralDeviceConfiguration"}),
        )
        .await
        .expect_err("type change");
    assert_eq!(err.code, ErrorCode::GraphBadRequest);
    let sc = by_key("settings_catalog").expect("type");
    let sid = w.reader().list(sc.collection).await.expect("list")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let err = w
        .patch(&format!("{}/{sid}", sc.collection), &json!({"settings": []}))
        .await
        .expect_err("settings via PATCH");
    assert_eq!(err.code, ErrorCode::GraphBadRequest);
    assert!(sim.journal().is_empty(), "refused writes are not journaled");
}

#[tokio::test]
async fn within_the_enforced_intune_limit_a_big_listing_sees_no_429() {
    let sim = sim().await;
    let t = sim.add_tenant("Big", 200);
    sim.set_faults(Faults {
        enforce_limits: true,
        page_size: 100,
        ..Faults::default()
    });
    let g = Graph::default().reader(connection(&sim, &t, &t.client_secret));
    let mut total = 0;
    for ty in TYPES {
        total += g.list(ty.collection).await.expect("list").len();
    }
    assert_eq!(total, 2000);
    let (_, _, throttled) = sim.counters(&t.entra_tenant_id);
    assert_eq!(throttled, 0);
}

#[tokio::test]
async fn batches_retry_only_their_throttled_sub_requests() {
    let sim = sim().await;
    let t = sim.add_tenant("Batch", 5);
    let g = Graph::new(
        RetryPolicy {
            max_attempts: 30,
            ..quick_retries()
        },
        Limits::default(),
    )
    .reader(connection(&sim, &t, &t.client_secret));
    let ids: Vec<String> = g
        .list("deviceManagement/deviceConfigurations")
        .await
        .expect("list")
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_owned())
        .collect();
    let mut paths: Vec<String> = Vec::new();
    for _ in 0..9 {
        paths.extend(
            ids.iter()
                .map(|id| format!("deviceManagement/deviceConfigurations/{id}")),
        );
    }
    assert_eq!(paths.len(), 45, "three batches: 20 + 20 + 5");
    let (reads_before, _, _) = sim.counters(&t.entra_tenant_id);
    sim.set_faults(Faults {
        throttle_rate: 0.4,
        retry_after_secs: 0.05,
        ..Faults::default()
    });
    let started = Instant::now();
    let answers = g.get_many(&paths).await;
    assert!(
        answers.iter().all(Result::is_ok),
        "every sub-request answered in the end"
    );
    assert!(
        answers
            .iter()
            .zip(&paths)
            .all(|(a, p)| p.ends_with(a.as_ref().expect("ok")["id"].as_str().expect("id"))),
        "answers stay in order"
    );
    let (reads, _, throttled) = sim.counters(&t.entra_tenant_id);
    assert!(throttled > 0, "some sub-requests were throttled");
    assert_eq!(
        reads - reads_before,
        45,
        "each path was answered once: only throttled ones were sent again"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "waited the sub-request's Retry-After"
    );
}

#[tokio::test]
async fn a_capture_is_one_request_with_assignments_expanded() {
    let sim = sim().await;
    let t = sim.add_tenant("Expanded", 2);
    let g = Graph::default().reader(connection(&sim, &t, &t.client_secret));
    // The second object of each type: the first settings catalog policy holds 40 settings,
    // whose second page costs a request of its own.
    let second = |collection: &str| {
        sim.objects(&t.entra_tenant_id, collection)[1]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let ty = by_key("settings_catalog").expect("type");
    let doc = policy::capture(&g, ty, &second(ty.collection)).await.expect("capture");
    assert!(
        doc["assignments"].as_array().is_some_and(|a| !a.is_empty()) && doc["settings"].is_array(),
        "{doc}"
    );
    assert!(
        doc["assignments"][0].get("id").is_none(),
        "assignments are kept in the form assign accepts"
    );
    assert_eq!(sim.counters(&t.entra_tenant_id).0, 1, "one GET, no assignments request");

    let wanted: Vec<_> = TYPES.iter().map(|ty| (ty, second(ty.collection))).collect();
    let docs = policy::capture_many(&g, &wanted).await;
    for ((ty, _), doc) in wanted.iter().zip(&docs) {
        let doc = doc.as_ref().expect("captured");
        assert_eq!(doc.get("assignments").is_some(), ty.assign_key.is_some(), "{}", ty.key);
    }
    assert_eq!(
        sim.counters(&t.entra_tenant_id).0,
        1 + TYPES.len() as u64,
        "one request per policy in the batch"
    );
}
