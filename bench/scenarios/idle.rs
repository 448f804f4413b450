//! `idle`: resident memory of `policyvault serve` on a fresh data directory with nothing
//! running, and the size of the release binary.

use std::time::Duration;

use crate::server::{binary, memory_of, mib, spawn, temp_dir};

pub async fn run() -> anyhow::Result<()> {
    let bin = binary()?;
    let size = std::fs::metadata(&bin)?.len();
    let dir = temp_dir("idle");
    std::fs::create_dir_all(&dir)?;
    let (mut child, base) = spawn(&dir, crate::server::DEFAULT_WORKERS)?;
    // One page request warms what a first visitor warms (templates, the pool), then rest.
    let _ = reqwest::get(format!("{base}/login")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, hwm) = memory_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\n`policyvault serve` on an empty data directory, {} workers, 2 s after /healthz and one /login\n",
        crate::server::DEFAULT_WORKERS
    );
    println!("| RSS idle | peak RSS so far | binary size (release) |");
    println!("|---|---|---|");
    println!("| {} | {} | {} |", mib(rss), mib(hwm), mib(size));
    Ok(())
}
