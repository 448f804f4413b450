//! `backup-one-tenant` and `backup-many-tenants`: backups started over the JSON API against
//! the simulator with Intune's limits enforced (it answers 429 beyond 1,000 requests / 100
//! writes per tenant per 20 s, counting batch sub-requests one by one).

use std::time::Duration;

use chrono::Utc;
use policyvault::graph::registry::TYPES;
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use serde_json::{Value, json};

use crate::server::{Server, mib, run_secs, secs_between};

/// Intune's per-tenant read limit: 1,000 requests per 20 s.
pub const READS_PER_SEC: f64 = 1000.0 / 20.0;
/// Intune's per-tenant write limit: 100 writes per 20 s.
pub const WRITES_PER_SEC: f64 = 100.0 / 20.0;

pub fn limited(latency_ms: u64) -> Faults {
    Faults {
        latency_ms,
        enforce_limits: true,
        ..Faults::default()
    }
}

/// (reads, writes, throttled, round trips) of a tenant, to take differences of.
pub fn counters(sim: &SimHandle, entra_id: &str) -> [u64; 4] {
    let (r, w, t) = sim.counters(entra_id);
    [r, w, t, sim.round_trips()]
}

pub fn since(sim: &SimHandle, entra_id: &str, before: [u64; 4]) -> [u64; 4] {
    let now = counters(sim, entra_id);
    [0, 1, 2, 3].map(|i| now[i] - before[i])
}

/// The floor a run cannot beat: the larger of what Intune's limit allows for its requests
/// and what latency allows for its round trips made one after another. Returns (seconds,
/// which one).
pub fn floor(limit_secs: f64, round_trips: u64, latency_ms: u64, limit_name: &str) -> (f64, String) {
    #[allow(clippy::cast_precision_loss)]
    let latency_secs = round_trips as f64 * latency_ms as f64 / 1000.0;
    if limit_secs >= latency_secs {
        (limit_secs, limit_name.to_owned())
    } else {
        (
            latency_secs,
            format!("latency: {round_trips} round trips × {latency_ms} ms"),
        )
    }
}

/// A whole-tenant backup (its listing included) of `policies` policies spread over the first
/// `types` types (the most used ones come first), Graph answering in `latency` ms and paging
/// lists at `page_size` (real Graph pages some collections at 25).
pub async fn one_tenant(policies: usize, latency: u64, page_size: usize, types: usize) -> anyhow::Result<()> {
    let types = types.clamp(1, TYPES.len());
    let per_type = policies.div_ceil(types).max(1);
    let chosen: Vec<&str> = TYPES[..types].iter().map(|t| t.key).collect();
    let sim = SimHandle::start(
        "127.0.0.1:0".parse()?,
        6,
        Faults {
            page_size,
            ..limited(latency)
        },
    )
    .await?;
    let server = Server::start(crate::server::DEFAULT_WORKERS).await?;
    let t = sim.add_tenant_of("Bench", &|key| if chosen.contains(&key) { per_type } else { 0 });
    let (tid, t) = server.register(&sim, "Bench", t).await?;
    let synced = server.sync(&tid).await?;

    sim.reset_peak_window(&t.entra_tenant_id);
    let before = counters(&sim, &t.entra_tenant_id);
    let rid = server
        .start_run(
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            &json!({"name": "bench backup"}),
        )
        .await?;
    let run = server.wait_run(&tid, &rid).await?;
    let [reads, writes, throttled, trips] = since(&sim, &t.entra_tenant_id, before);
    let (peak, _) = sim.peak_window(&t.entra_tenant_id);
    let in_flight = sim.peak_in_flight();

    let wall = run_secs(&run);
    let requests = reads + writes;
    // The policies captured: the run's items less its listing items (one per type).
    let items = usize::try_from(run["succeeded"].as_u64().unwrap_or(0)).unwrap_or(0);
    let total = items.saturating_sub(TYPES.len()).max(1);
    #[allow(clippy::cast_precision_loss)]
    let (per_policy, limit_secs) = (
        requests as f64 / total as f64,
        (requests + throttled) as f64 / READS_PER_SEC,
    );
    // Round trips overlap (several in flight), so latency is no floor of its own any more: the
    // floor is what Intune's limit allows for the requests made.
    let (floor_secs, which) = (
        limit_secs,
        format!("limit: {} requests at 1,000 per 20 s", requests + throttled),
    );
    println!(
        "\n{total} policies captured ({per_type} of each of {types} types; every type is listed), {latency} ms simulated latency, pages of {page_size}, Intune limits enforced; sync took {:.1} s; at most {in_flight} requests in flight\n",
        run_secs(&synced)
    );
    println!(
        "| run | wall time | Graph requests | per policy | HTTP round trips | peak requests / 20 s | 429s | floor | wall / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} {}/{} | {wall:.1} s | {requests} | {per_policy:.2} | {trips} | {peak} | {throttled} | {floor_secs:.1} s ({which}) | {:.2}× |",
        run["status"].as_str().unwrap_or("?"),
        run["succeeded"],
        run["total"],
        wall / floor_secs
    );
    sim.stop();
    Ok(())
}

fn median(sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])
    }
}

pub async fn many_tenants(tenants: usize, per_tenant: usize, latency: u64, workers: usize) -> anyhow::Result<()> {
    let per_type = per_tenant.div_ceil(TYPES.len()).max(1);
    // Set-up (tenants, syncs) without latency; the backups with it.
    let sim = SimHandle::start("127.0.0.1:0".parse()?, 7, limited(0)).await?;
    let server = &Server::start(workers).await?;
    let (mut ids, mut entra) = (Vec::with_capacity(tenants), Vec::with_capacity(tenants));
    for n in 0..tenants {
        let (tid, t) = server.sim_tenant(&sim, &format!("Tenant {n:03}"), per_type).await?;
        ids.push(tid);
        entra.push(t.entra_tenant_id);
    }
    let syncs = futures_util::future::join_all(ids.iter().map(|tid| async move {
        server
            .start_run(&format!("/api/v1/tenants/{tid}/sync"), &json!({}))
            .await
    }))
    .await;
    for (tid, rid) in ids.iter().zip(syncs) {
        server.wait_run(tid, &rid?).await?;
    }
    sim.set_faults(limited(latency));
    let (rss_before, _) = server.memory();
    let before: Vec<[u64; 4]> = entra.iter().map(|e| counters(&sim, e)).collect();
    let writes_before = server.writes().await?;

    let t0 = Utc::now();
    let started = futures_util::future::join_all(ids.iter().map(|tid| async move {
        server
            .start_run(
                &format!("/api/v1/tenants/{tid}/backup-sets"),
                &json!({"name": "bench backup"}),
            )
            .await
    }))
    .await;
    let t0 = Value::String(policyvault::clock::format_time(t0));
    let mut finished = Vec::with_capacity(tenants);
    let mut ok = 0;
    let mut peak_rss = 0;
    for (tid, rid) in ids.iter().zip(started) {
        let rid = rid?;
        loop {
            let run = server.get(&format!("/api/v1/tenants/{tid}/runs/{rid}")).await?;
            peak_rss = peak_rss.max(server.memory().0);
            if matches!(run["status"].as_str(), Some("succeeded" | "failed" | "partial")) {
                if run["status"] == "succeeded" {
                    ok += 1;
                }
                finished.push(secs_between(&t0, &run["finished_at"]));
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (_, hwm) = server.memory();
    let throttled: u64 = entra.iter().map(|e| sim.counters(e).2).sum();
    // One tenant's floor: what Intune's limit allows for the requests its backup made (the
    // busiest tenant's, all tenants being alike). Tenants are paced apart, so it is also the
    // floor of them all, were the node's CPU unlimited.
    let busiest = entra
        .iter()
        .zip(&before)
        .map(|(e, b)| {
            let [r, w, t, _] = since(&sim, e, *b);
            r + w + t
        })
        .max()
        .unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let floor_secs = busiest as f64 / READS_PER_SEC;
    let writes_after = server.writes().await?;
    #[allow(clippy::cast_precision_loss)]
    let (writes, commits) = (
        (writes_after[0] - writes_before[0]) as f64 / (tenants * per_type * TYPES.len()) as f64,
        writes_after[1] - writes_before[1],
    );
    finished.sort_by(f64::total_cmp);
    let (min, max) = (
        finished.first().copied().unwrap_or(0.0),
        finished.last().copied().unwrap_or(0.0),
    );
    println!(
        "\n{tenants} tenants × {} policies, backups started at once over the API, {workers} workers, {latency} ms latency, Intune limits enforced per tenant\n",
        per_type * TYPES.len()
    );
    println!(
        "| succeeded | total wall time | first tenant done | median | last | last / first | one tenant's floor | wall / that floor | 429s | database writes per policy | commits | server RSS before | peak RSS (VmHWM) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {ok}/{tenants} | {max:.1} s | {min:.1} s | {:.1} s | {max:.1} s | {:.1}× | {floor_secs:.1} s ({busiest} requests at 1,000 per 20 s) | {:.1}× | {throttled} | {writes:.2} | {commits} | {} | {} |",
        median(&finished),
        max / min,
        max / floor_secs,
        mib(rss_before),
        mib(hwm.max(peak_rss)),
    );
    sim.stop();
    Ok(())
}
