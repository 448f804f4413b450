//! `restore-one-tenant`: back up policies with assignments, delete every one of them in the
//! simulator (an emptied tenant), then a live restore over the API under Intune's limits
//! (writes: 100 per 20 s). Every restored policy is a create plus an assign (two writes).

use policyvault::graph::registry::TYPES;
use policyvault::sim::SimHandle;
use serde_json::json;

use super::backup::{READS_PER_SEC, WRITES_PER_SEC, counters, floor, limited, since};
use crate::server::{Server, run_secs};

pub async fn run(policies: usize, latency: u64) -> anyhow::Result<()> {
    let per_type = policies.div_ceil(TYPES.len()).max(1);
    // Set-up without latency; the restore with it.
    let sim = SimHandle::start("127.0.0.1:0".parse()?, 8, limited(0)).await?;
    let server = Server::start(crate::server::DEFAULT_WORKERS).await?;
    let name = "Restore bench";
    let (tid, t) = server.sim_tenant(&sim, name, per_type).await?;
    server.sync(&tid).await?;
    let backup = server
        .post(
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            &json!({"name": "before the accident"}),
        )
        .await?;
    let set_id = backup["backup_set"]["id"].as_str().unwrap_or_default().to_owned();
    let backup_run = backup["run"]["id"].as_str().unwrap_or_default().to_owned();
    server.wait_run(&tid, &backup_run).await?;

    let mut deleted = 0;
    for ty in TYPES {
        for o in sim.objects(&t.entra_tenant_id, ty.collection) {
            if let Some(id) = o["id"].as_str()
                && sim.delete_object(&t.entra_tenant_id, ty.collection, id)
            {
                deleted += 1;
            }
        }
    }
    sim.set_faults(limited(latency));
    sim.reset_peak_window(&t.entra_tenant_id);
    sim.reset_peak_in_flight();
    let before = counters(&sim, &t.entra_tenant_id);
    let rid = server
        .start_run(
            &format!("/api/v1/tenants/{tid}/restores"),
            &json!({"backup_set_id": set_id, "dry_run": false, "include_assignments": true, "confirm": name}),
        )
        .await?;
    let run = server.wait_run(&tid, &rid).await?;
    let [reads, writes, throttled, trips] = since(&sim, &t.entra_tenant_id, before);
    let (_, peak_writes) = sim.peak_window(&t.entra_tenant_id);
    let in_flight = sim.peak_in_flight();
    let back: usize = TYPES
        .iter()
        .map(|ty| sim.objects(&t.entra_tenant_id, ty.collection).len())
        .sum();

    let wall = run_secs(&run);
    #[allow(clippy::cast_precision_loss)]
    let (write_floor, any_floor) = (
        writes as f64 / WRITES_PER_SEC,
        (reads + writes + throttled) as f64 / READS_PER_SEC,
    );
    let (limit_secs, limit_name) = if write_floor >= any_floor {
        (write_floor, format!("write limit: {writes} writes at 100 per 20 s"))
    } else {
        (any_floor, "request limit: 1,000 per 20 s".to_owned())
    };
    let (floor_secs, which) = floor(limit_secs, trips, latency, &limit_name);
    println!(
        "\n{deleted} policies deleted from the tenant, then restored live from the backup; {latency} ms latency, Intune limits enforced; at most {in_flight} requests in flight\n"
    );
    println!(
        "| run | policies back | wall time | writes | reads | HTTP round trips | peak writes / 20 s | 429s | write floor | floor | wall / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} {}/{} | {back} | {wall:.1} s | {writes} | {reads} | {trips} | {peak_writes} | {throttled} | {write_floor:.1} s | {floor_secs:.1} s ({which}) | {:.2}× |",
        run["status"].as_str().unwrap_or("?"),
        run["succeeded"],
        run["total"],
        wall / floor_secs
    );
    sim.stop();
    Ok(())
}
