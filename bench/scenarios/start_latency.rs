//! Concurrent clients start runs over HTTP against the real server while Graph is slow.

use std::sync::Arc;
use std::time::{Duration, Instant};

use policyvault::config::ServeArgs;
use policyvault::sim::state::Faults;
use policyvault::startup::App;
use serde_json::{Value, json};

use crate::{ms, percentile};

pub async fn run(clients: u64, seconds: u64, latency: u64) -> anyhow::Result<()> {
    let sim = policyvault::sim::SimHandle::start("127.0.0.1:0".parse()?, 2, Faults::default()).await?;
    let dir = std::env::temp_dir().join(format!("pv-bench-{}", policyvault::clock::new_id()));
    let app = App::build(
        &dir,
        ServeArgs {
            workers: 64,
            ..ServeArgs::for_tests()
        },
    )
    .await?;
    let (_, token) = crate::server::bench_admin(&app.state.db).await?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let t = sim.add_tenant("Bench", 20);
    let tenant: Value = http
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bench", "entra_tenant_id": t.entra_tenant_id, "client_id": t.client_id, "client_secret": t.client_secret,
                      "cloud": "global", "graph_base_url": sim.base_url(), "login_base_url": sim.base_url()}))
        .send()
        .await?
        .json()
        .await?;
    let tid = tenant["id"].as_str().unwrap_or_default().to_owned();
    let sync: Value = http
        .post(format!("{base}/api/v1/tenants/{tid}/sync"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let sync_id = sync["run"]["id"].as_str().unwrap_or_default().to_owned();
    loop {
        let r: Value = http
            .get(format!("{base}/api/v1/tenants/{tid}/runs/{sync_id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if r["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let policies: Vec<Value> = http
        .get(format!("{base}/api/v1/tenants/{tid}/policies"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let ids: Arc<Vec<String>> = Arc::new(
        policies
            .iter()
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect(),
    );
    sim.set_faults(Faults {
        latency_ms: latency,
        ..Faults::default()
    });

    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, token, tid, ids) = (http.clone(), base.clone(), token.clone(), tid.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut n = usize::try_from(c).unwrap_or(0);
            while Instant::now() < until {
                let pid = &ids[n % ids.len()];
                n += 7;
                let started = Instant::now();
                let res = http
                    .post(format!("{base}/api/v1/tenants/{tid}/policies/{pid}/snapshot"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let took = started.elapsed();
                let reused = match res {
                    Ok(r) if r.status().as_u16() == 202 => {
                        r.json::<Value>().await.ok().is_some_and(|v| v["reused"] == true)
                    }
                    _ => continue,
                };
                out.push((took, reused));
            }
            out
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await?);
    }
    // Bursts of 10 identical starts ("double clicks").
    let pid = ids[0].clone();
    let burst = futures_util::future::join_all((0..10).map(|_| {
        http.post(format!("{base}/api/v1/tenants/{tid}/policies/{pid}/snapshot"))
            .bearer_auth(&token)
            .send()
    }))
    .await;
    let mut burst_runs = std::collections::HashSet::new();
    for r in burst.into_iter().flatten() {
        if let Ok(v) = r.json::<Value>().await {
            burst_runs.insert(v["run"]["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    let mut times: Vec<Duration> = samples.iter().map(|(d, _)| *d).collect();
    times.sort();
    let reused = samples.iter().filter(|(_, r)| *r).count();
    println!(
        "\n{clients} concurrent clients for {seconds} s, Graph latency {latency} ms, {} policies\n",
        ids.len()
    );
    println!("| starts | per second | p50 | p95 | p99 | max | runs created | reused |");
    println!("|---|---|---|---|---|---|---|---|");
    #[allow(clippy::cast_precision_loss)]
    let rate = samples.len() as f64 / seconds as f64;
    println!(
        "| {} | {rate:.0} | {} | {} | {} | {} | {} | {reused} |",
        samples.len(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 0.99)),
        ms(times.last().copied().unwrap_or_default()),
        samples.len() - reused
    );
    println!("\nburst of 10 identical starts: {} run(s)", burst_runs.len());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
