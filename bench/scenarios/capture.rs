//! `capture` (issue 3): lists and captures every policy of a simulated tenant through the
//! Graph client directly, once one request at a time and once batched.

use std::time::Instant;

use policyvault::graph::registry::TYPES;
use policyvault::graph::{Graph, TenantConnection, policy};
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;

/// Lists and captures every policy of a tenant, once one request at a time and once batched.
pub async fn run(per_type: usize, latency: u64) -> anyhow::Result<()> {
    let sim = SimHandle::start(
        "127.0.0.1:0".parse()?,
        1,
        Faults {
            page_size: 100,
            ..Faults::default()
        },
    )
    .await?;
    let t = sim.add_tenant("Bench", per_type);
    let conn = || TenantConnection {
        login_base_url: sim.base_url(),
        graph_base_url: sim.base_url(),
        entra_tenant_id: t.entra_tenant_id.clone(),
        client_id: t.client_id.clone(),
        client_secret: t.client_secret.clone().into(),
    };
    let reader = Graph::default().reader(conn());
    sim.set_faults(Faults {
        latency_ms: latency,
        page_size: 100,
        ..Faults::default()
    });

    let mut rows = Vec::new();
    let (trips0, reads0) = (sim.round_trips(), sim.counters(&t.entra_tenant_id).0);
    let started = Instant::now();
    let mut all = Vec::new();
    for ty in TYPES {
        for o in reader.list(ty.collection).await? {
            all.push((ty, o["id"].as_str().unwrap_or_default().to_owned()));
        }
    }
    rows.push((
        "inventory listing (sync)",
        started.elapsed(),
        sim.round_trips() - trips0,
        sim.counters(&t.entra_tenant_id).0 - reads0,
    ));

    let (trips0, reads0) = (sim.round_trips(), sim.counters(&t.entra_tenant_id).0);
    let started = Instant::now();
    for (ty, id) in &all {
        policy::capture(&reader, ty, id).await?;
    }
    rows.push((
        "capture, one request at a time",
        started.elapsed(),
        sim.round_trips() - trips0,
        sim.counters(&t.entra_tenant_id).0 - reads0,
    ));

    let (trips0, reads0) = (sim.round_trips(), sim.counters(&t.entra_tenant_id).0);
    let started = Instant::now();
    for window in all.chunks(20) {
        let wanted: Vec<_> = window.iter().map(|(ty, id)| (*ty, id.clone())).collect();
        for r in policy::capture_many(&reader, &wanted).await {
            r?;
        }
    }
    rows.push((
        "capture, batched (20 policies per $batch)",
        started.elapsed(),
        sim.round_trips() - trips0,
        sim.counters(&t.entra_tenant_id).0 - reads0,
    ));

    println!(
        "\n{} policies, {latency} ms simulated latency per HTTP request\n",
        all.len()
    );
    println!("| what | wall time | HTTP round trips | Graph requests (as Intune counts them) | requests per policy |");
    println!("|---|---|---|---|---|");
    for (what, took, trips, reads) in rows {
        #[allow(clippy::cast_precision_loss)]
        let per = reads as f64 / all.len() as f64;
        println!(
            "| {what} | {:.1} s | {trips} | {reads} | {per:.2} |",
            took.as_secs_f64()
        );
    }
    Ok(())
}
