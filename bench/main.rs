//! Benchmarks: real server, real simulator, loopback only. They print figures (markdown),
//! never assert timings. Run release builds: `cargo run --release --bin bench -- <scenario>`.
//!
//! Scenarios (issue 6), one module each under `scenarios/`:
//! `start-latency`, `backup-one-tenant`, `restore-one-tenant`, `backup-many-tenants`,
//! `sse-fanout`, `big-run-page`, `idle`, and `all [--quick]` for every one of them in turn.
//! `capture` (issue 3: batched vs unbatched capture through the Graph client) is not part of
//! `all`: its unbatched half alone takes minutes, and `backup-one-tenant` measures the product
//! path.
//!
//! Scenarios that drive the product start the release `policyvault` binary as a child
//! process (`server.rs`), so memory figures are the server's alone; the simulator and the
//! clients run in this process.

mod scenarios;
mod server;

use std::time::{Duration, Instant};

use scenarios::{backup, capture, dashboard, idle, page, restore, sse, start_latency};

fn args() -> Vec<String> {
    std::env::args().collect()
}

/// The number after `name`, or `default`.
fn arg(name: &str, default: u64) -> u64 {
    let args = args();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn arg_usize(name: &str, default: usize) -> usize {
    usize::try_from(arg(name, default as u64)).unwrap_or(default)
}

fn flag(name: &str) -> bool {
    args().iter().any(|a| a == name)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

const USAGE: &str = "usage: bench <scenario> [options]
  start-latency        [--clients N] [--seconds S] [--latency-ms MS]
  backup-one-tenant    [--policies N] [--latency-ms MS] [--page-size N] [--types N]
  restore-one-tenant   [--policies N] [--latency-ms MS]
  backup-many-tenants  [--tenants N] [--per-tenant N] [--latency-ms MS] [--workers N]
  sse-fanout           [--subscribers N] [--policies N] [--latency-ms MS]
  big-run-page         [--items N] [--requests N]
  dashboard            [--tenants N] [--runs-per-tenant N] [--requests N]
  idle
  all                  [--quick]
  capture              [--policies-per-type N] [--latency-ms MS]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    match scenario.as_str() {
        "capture" => capture::run(arg_usize("--policies-per-type", 100), arg("--latency-ms", 100)).await,
        "start-latency" => {
            start_latency::run(arg("--clients", 32), arg("--seconds", 10), arg("--latency-ms", 200)).await
        }
        "backup-one-tenant" => {
            backup::one_tenant(
                arg_usize("--policies", 1000),
                arg("--latency-ms", 100),
                arg_usize("--page-size", 7),
                arg_usize("--types", policyvault::graph::registry::TYPES.len()),
            )
            .await
        }
        "restore-one-tenant" => restore::run(arg_usize("--policies", 300), arg("--latency-ms", 100)).await,
        "backup-many-tenants" => {
            backup::many_tenants(
                arg_usize("--tenants", 100),
                arg_usize("--per-tenant", 200),
                arg("--latency-ms", 100),
                arg_usize("--workers", server::DEFAULT_WORKERS),
            )
            .await
        }
        "sse-fanout" => {
            sse::run(
                arg_usize("--subscribers", 500),
                arg_usize("--policies", 100),
                arg("--latency-ms", 150),
            )
            .await
        }
        "big-run-page" => page::run(arg_usize("--items", 10_000), arg_usize("--requests", 200)).await,
        "dashboard" => {
            dashboard::run(
                arg_usize("--tenants", 500),
                arg_usize("--runs-per-tenant", 20),
                arg_usize("--requests", 100),
            )
            .await
        }
        "idle" => idle::run().await,
        "all" => all(flag("--quick")).await,
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

/// Every scenario in turn, at full size or (`--quick`) small enough for a few minutes.
async fn all(quick: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let q = |quick_value: usize, full: usize| if quick { quick_value } else { full };
    println!("\n## start-latency");
    start_latency::run(if quick { 16 } else { 64 }, if quick { 3 } else { 20 }, 200).await?;
    println!("\n## backup-one-tenant");
    // The tenant (most policies in five types), then every type at once.
    backup::one_tenant(q(200, 1000), 100, 7, 5).await?;
    backup::one_tenant(q(200, 1000), 100, 7, policyvault::graph::registry::TYPES.len()).await?;
    println!("\n## restore-one-tenant");
    restore::run(q(30, 300), 100).await?;
    println!("\n## backup-many-tenants");
    backup::many_tenants(q(10, 100), q(50, 200), 100, server::DEFAULT_WORKERS).await?;
    // The claim that one node serves an MSP of 500 customers.
    backup::many_tenants(q(50, 500), 100, 100, server::DEFAULT_WORKERS).await?;
    println!("\n## sse-fanout");
    sse::run(q(100, 500), 100, 150).await?;
    println!("\n## big-run-page");
    page::run(10_000, q(50, 200)).await?;
    println!("\n## dashboard");
    dashboard::run(q(50, 500), 20, q(20, 100)).await?;
    println!("\n## idle");
    idle::run().await?;
    println!(
        "\nall scenarios{}: {:.0} s",
        if quick { " (--quick)" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
