//! The progress hub: after each committed change a worker publishes a small event; SSE
//! streams filter by run or by tenant. The database stays the truth: an event only says
//! "look again", so a lagging subscriber just re-reads the current state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub tenant_id: String,
    pub run_id: String,
    pub status: String,
    /// Set by `publish`: increases with every event, so a stream can tell whether a
    /// fragment rendered by another stream already reflects everything it has seen.
    #[serde(skip)]
    pub seq: u64,
}

impl Progress {
    pub fn of(run: &crate::db::runs::Run) -> Progress {
        Progress {
            tenant_id: run.tenant_id.clone(),
            run_id: run.id.clone(),
            status: run.status.clone(),
            seq: 0,
        }
    }
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Progress>,
    seq: Arc<AtomicU64>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        // Big enough for bursts of item commits; a subscriber that falls further behind
        // gets `Lagged` and resends a snapshot.
        let (tx, _) = broadcast::channel(4096);
        Hub {
            tx,
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Publishes after the change is committed.
    pub fn publish(&self, mut p: Progress) {
        p.seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        // No subscribers is normal.
        let _ = self.tx.send(p);
    }

    /// The sequence number of the latest event published.
    pub fn current_seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.tx.subscribe()
    }
}
