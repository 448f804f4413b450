//! The run engine: every Graph operation is a run (see `shared/PRODUCT.md`, "Run semantics").
//!
//! - `start`: creates a run and its items in one transaction, or returns the active identical
//!   run (`reused`); then wakes the workers. Nothing else happens on the request path.
//! - `handler`: the trait a run kind implements (`ops/` holds the kinds).
//! - `worker`: the pool that claims queued runs fairly and processes items one by one.
//! - `lease`: heartbeats, takeover of runs whose worker died, deadlines.
//! - `progress`: the in-process hub that SSE streams subscribe to.
//! - `notify`: notification rows for each state change.
//! - `wait`: waiting for a run to finish, for background tasks that chain runs.

pub mod access;
pub mod error_code;
pub mod handler;
pub mod lease;
pub mod notify;
pub mod progress;
pub mod start;
pub mod wait;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::db::Db;
use handler::RunHandler;
use progress::Hub;

/// Shared by the web layer (to start runs) and the workers.
#[derive(Clone)]
pub struct Engine {
    pub db: Db,
    pub hub: Hub,
    /// Woken after every start, so an idle worker picks the run up at once.
    pub wake: Arc<Notify>,
    handlers: Arc<HashMap<&'static str, Arc<dyn RunHandler>>>,
    /// Names this process in leases, so logs tell whose lease expired.
    pub worker_id: Arc<str>,
    /// Worker tasks currently alive, for `/readyz` and `/metrics`.
    pub live_workers: Arc<AtomicUsize>,
}

impl Engine {
    pub fn new(db: Db, handlers: Vec<Arc<dyn RunHandler>>) -> Engine {
        Engine {
            db,
            hub: Hub::new(),
            wake: Arc::new(Notify::new()),
            handlers: Arc::new(handlers.into_iter().map(|h| (h.kind(), h)).collect()),
            worker_id: Arc::from(format!("{}-{}", std::process::id(), &crate::clock::new_id()[24..])),
            live_workers: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn workers_alive(&self) -> usize {
        self.live_workers.load(Ordering::Relaxed)
    }

    pub fn handler(&self, kind: &str) -> Option<Arc<dyn RunHandler>> {
        self.handlers.get(kind).cloned()
    }
}
