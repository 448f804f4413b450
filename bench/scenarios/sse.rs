//! `sse-fanout`: many subscribers on one running run's event stream
//! (`GET /t/{tenant}/runs/{rid}/events`, a page route: session cookie).
//!
//! Method: the backup's first Graph round trip is held for a few seconds while every
//! subscriber connects and receives its first snapshot; then Graph answers at normal
//! latency and items commit. Each client stamps every `summary` event with the wall clock
//! when its bytes arrive and reads the `succeeded` count from it. After the run, each item's
//! commit time is its `finished_at` (milliseconds, written in the committing transaction).
//! The delay of item k to a client is the arrival of the first summary counting ≥ k
//! succeeded items minus that item's commit time. Server and clients share the machine's
//! clock. Memory per subscriber is the server's RSS growth while the streams were opened,
//! divided by their number.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use chrono::{DateTime, Utc};
use policyvault::graph::registry::TYPES;
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;
use serde_json::json;

use crate::server::{Server, mib};
use crate::{ms, percentile};

/// How long the first Graph round trip is held while subscribers connect.
const HOLD_MS: u64 = 6000;

/// `succeeded <strong>N</strong>` in a summary fragment.
fn succeeded_in(html: &str) -> Option<i64> {
    let rest = &html[html.find("succeeded <strong>")? + "succeeded <strong>".len()..];
    rest[..rest.find('<')?].trim().parse().ok()
}

/// One subscriber: (arrival, succeeded) of every summary until `done` or the stream ends.
async fn subscribe(
    http: reqwest::Client,
    url: String,
    cookie: String,
    connected: Arc<AtomicUsize>,
) -> anyhow::Result<Vec<(SystemTime, i64)>> {
    let mut res = http.get(url).header("cookie", cookie).send().await?;
    if !res.status().is_success() {
        bail!("event stream answered {}", res.status());
    }
    let (mut buf, mut seen, mut first) = (Vec::<u8>::new(), Vec::new(), true);
    while let Some(chunk) = res.chunk().await? {
        let at = SystemTime::now();
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..pos + 2).collect();
            let block = String::from_utf8_lossy(&block);
            let (mut name, mut data) = ("", String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            match name {
                "summary" => {
                    if let Some(n) = succeeded_in(&data) {
                        seen.push((at, n));
                    }
                    if first {
                        first = false;
                        connected.fetch_add(1, Ordering::SeqCst);
                    }
                }
                "done" => return Ok(seen),
                _ => {}
            }
        }
    }
    Ok(seen)
}

pub async fn run(subscribers: usize, policies: usize, latency: u64) -> anyhow::Result<()> {
    let per_type = policies.div_ceil(TYPES.len()).max(1);
    let sim = SimHandle::start("127.0.0.1:0".parse()?, 9, Faults::default()).await?;
    let server = Server::start(crate::server::DEFAULT_WORKERS).await?;
    let (tid, _) = server.sim_tenant(&sim, "Fanout", per_type).await?;
    server.sync(&tid).await?;
    sim.set_faults(Faults {
        latency_ms: HOLD_MS,
        ..Faults::default()
    });
    let rid = server
        .start_run(
            &format!("/api/v1/tenants/{tid}/backup-sets"),
            &json!({"name": "fan-out"}),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rss_before, _) = server.memory();

    let connected = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let url = server.url(&format!("/t/{tid}/runs/{rid}/events"));
    let opening = Instant::now();
    let tasks: Vec<_> = (0..subscribers)
        .map(|_| {
            tokio::spawn(subscribe(
                http.clone(),
                url.clone(),
                server.cookie.clone(),
                connected.clone(),
            ))
        })
        .collect();
    while connected.load(Ordering::SeqCst) < subscribers && opening.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all_connected: DateTime<Utc> = SystemTime::now().into();
    let open_time = opening.elapsed();
    let (rss_after, _) = server.memory();
    sim.set_faults(Faults {
        latency_ms: latency,
        ..Faults::default()
    });

    let mut streams = Vec::with_capacity(subscribers);
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(90), t).await {
            Ok(Ok(Ok(seen))) => streams.push(seen),
            Ok(Ok(Err(e))) => eprintln!("a subscriber failed: {e}"),
            _ => eprintln!("a subscriber did not finish"),
        }
    }
    let run = server.wait_run(&tid, &rid).await?;

    let db = rusqlite::Connection::open_with_flags(
        server.dir.join(policyvault::startup::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let commits: Vec<DateTime<Utc>> = db
        .prepare(
            "SELECT finished_at FROM run_items WHERE run_id = ?1 AND status = 'succeeded' ORDER BY finished_at, seq",
        )?
        .query_map([&rid], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok().and_then(|s| policyvault::clock::parse_time(&s)))
        .collect();
    let mut delays = Vec::new();
    let mut measured_items = 0;
    for (k, commit) in (1_i64..).zip(&commits) {
        if *commit < all_connected {
            continue;
        }
        measured_items += 1;
        for seen in &streams {
            if let Some((at, _)) = seen.iter().find(|(_, n)| *n >= k) {
                let at: DateTime<Utc> = (*at).into();
                // Commit times have millisecond resolution: clamp the rounding below zero.
                delays.push((at - *commit).to_std().unwrap_or(Duration::ZERO));
            }
        }
    }
    delays.sort();
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
    let per_sub = (rss_after as i64 - rss_before as i64) as f64 / subscribers.max(1) as f64 / 1024.0;
    println!(
        "\n{subscribers} subscribers on one backup run of {} policies ({latency} ms Graph latency); streams opened in {:.1} s; {measured_items} items committed after all were connected, {} deliveries measured\n",
        per_type * TYPES.len(),
        open_time.as_secs_f64(),
        delays.len()
    );
    println!("| run | subscribers done | delay p50 | p95 | max | server RSS before | after opening | per subscriber |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {}/{subscribers} | {} | {} | {} | {} | {} | {per_sub:.0} KiB |",
        run["status"].as_str().unwrap_or("?"),
        streams.len(),
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.95)),
        ms(delays.last().copied().unwrap_or_default()),
        mib(rss_before),
        mib(rss_after),
    );
    sim.stop();
    Ok(())
}
