//! Reading ahead while items are recorded: the documents of the next policies are fetched in
//! `$batch` windows of twenty with several windows in flight, so a round trip's latency
//! overlaps the next windows instead of adding to them. The tenant's pacing (`graph::limiter`)
//! still decides how fast operations start: more in flight never means over the limit.

use std::collections::HashMap;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::{Semaphore, SemaphorePermit, mpsc};
use tokio::task::JoinHandle;

use super::Deps;
use super::capture::fetch_documents_from;
use crate::graph::GraphReader;
use crate::runs::handler::ItemOutcome;

/// Twenty policies = twenty GETs (assignments expanded) = one full `$batch`.
pub const WINDOW: usize = 20;
/// Windows in flight at once: enough to hide a 100 ms round trip behind the pacing of the
/// others, few enough that a cancelled run wastes little.
pub const IN_FLIGHT: usize = 4;

/// Windows read ahead at once across all runs of this process, fetched or being fetched but
/// not yet handed to their run. One run uses at most `IN_FLIGHT + 1`, so a lone backup is
/// never slowed; with hundreds of tenants backing up at once, it is what bounds the memory
/// that documents read ahead take (each run holding ~6 windows of 20 documents made the peak
/// RSS grow with the number of runs in flight). 128 windows of 20 still allow several
/// thousand policies a second, more than the node can record.
static WINDOWS_AHEAD: Semaphore = Semaphore::const_new(128);

pub type Fetched = HashMap<String, Result<Value, ItemOutcome>>;

/// Documents of a list of policies, window by window, in order.
pub struct Prefetch {
    rx: mpsc::Receiver<(Fetched, Option<SemaphorePermit<'static>>)>,
    task: JoinHandle<()>,
}

impl Prefetch {
    /// `held`: objects the backup's listing already read whole, by policy id; they are
    /// completed instead of read again.
    pub fn start(
        deps: Deps,
        reader: GraphReader,
        policy_ids: Vec<String>,
        mut held: HashMap<String, Value>,
    ) -> Prefetch {
        // One window ready ahead is enough (recording it is quick); the fetches in flight
        // hide the latency. More ready windows would only hold documents in memory: a run
        // holds about two windows, however many runs go on at once.
        let (tx, rx) = mpsc::channel(1);
        let task = tokio::spawn(async move {
            let windows: Vec<(Vec<String>, HashMap<String, Value>)> = policy_ids
                .chunks(WINDOW)
                .map(|w| {
                    let mine = w.iter().filter_map(|id| Some((id.clone(), held.remove(id)?))).collect();
                    (w.to_vec(), mine)
                })
                .collect();
            let mut fetched = futures_util::stream::iter(windows)
                .map(|(window, held)| {
                    let (deps, reader) = (deps.clone(), reader.clone());
                    async move {
                        // Never closed, so acquiring cannot fail; if it ever did, read on
                        // unbounded rather than fail the backup.
                        let permit = WINDOWS_AHEAD.acquire().await.ok();
                        (fetch_documents_from(&deps, &reader, &window, held).await, permit)
                    }
                })
                .buffered(IN_FLIGHT);
            while let Some(window) = fetched.next().await {
                if tx.send(window).await.is_err() {
                    break;
                }
            }
        });
        Prefetch { rx, task }
    }

    /// The next window's documents; `None` once every window was handed out. Handing it
    /// out gives its place among the windows read ahead to the next one.
    pub async fn next(&mut self) -> Option<Fetched> {
        self.rx.recv().await.map(|(window, _place)| window)
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
