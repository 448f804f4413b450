//! The progress hub: after each committed change a worker publishes a small event; SSE
//! streams filter by run or by tenant. The database stays the truth: an event only says
//! "look again", so a lagging subscriber just re-reads the current state.

use serde::Serialize;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub tenant_id: String,
    pub run_id: String,
    pub status: String,
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Progress>,
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
        Hub { tx }
    }

    pub fn publish(&self, p: Progress) {
        // No subscribers is normal.
        let _ = self.tx.send(p);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.tx.subscribe()
    }
}
