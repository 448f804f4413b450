//! What a run kind implements. The engine owns claiming, leases, counts, notifications and
//! progress; a handler only turns one item into one outcome.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::error_code::ErrorCode;
use crate::auth::role::Role;
use crate::db::runs::{Run, RunItem};

/// The outcome of one item.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    Succeeded {
        result: Option<Value>,
    },
    Skipped {
        result: Option<Value>,
    },
    /// `result` can show what went wrong beyond the code (e.g. the diff of a failed verify).
    Failed {
        code: ErrorCode,
        context: Value,
        result: Option<Value>,
    },
}

impl ItemOutcome {
    pub fn status(&self) -> &'static str {
        match self {
            ItemOutcome::Succeeded { .. } => "succeeded",
            ItemOutcome::Skipped { .. } => "skipped",
            ItemOutcome::Failed { .. } => "failed",
        }
    }
}

/// Why a whole run stops before its items are done (auth failure, permission revoked…).
#[derive(Debug, Clone)]
pub struct RunFailure {
    pub code: ErrorCode,
    pub context: Value,
}

/// Per-run state a handler builds once (a Graph handle, loaded content…).
#[async_trait]
pub trait RunContext: Send {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome;

    /// An item found `running` after a crash. Reads are simply done again (`None`); a handler
    /// that writes must check the tenant and say what happened, or answer
    /// `outcome_unknown`: a write is never blindly repeated.
    async fn recover(&mut self, item: &RunItem) -> Option<ItemOutcome> {
        let _ = item;
        None
    }

    /// Whether the worker records `item` as running before processing it. An item that
    /// writes to the tenant must be (a crash then hands it to `recover`); a read that is
    /// simply done again after a crash need not, which saves a commit per item.
    fn marks_running(&self, item: &RunItem) -> bool {
        let _ = item;
        true
    }

    /// Whether `next` may be processed together with `item` (`process_pair`): true only when
    /// neither can depend on what the other writes. The worker marks both running before
    /// either starts, so crash recovery sees both as possibly written.
    fn pairs(&self, item: &RunItem, next: &RunItem) -> bool {
        let _ = (item, next);
        false
    }

    /// Two items the context said pair up; one after the other unless the context overlaps
    /// them (a restore overlaps one item's round trips with the other's writes).
    async fn process_pair(&mut self, a: &RunItem, b: &RunItem) -> (ItemOutcome, ItemOutcome) {
        let first = self.process(a).await;
        (first, self.process(b).await)
    }

    /// Called once when every item is done, before the run's status is decided; cannot fail
    /// the run (e.g. resolving the names of the groups the captured policies assign to).
    async fn after_items(&mut self) {}
}

#[async_trait]
pub trait RunHandler: Send + Sync {
    /// The `kind` string of the runs it handles, e.g. `tenant.verify`.
    fn kind(&self) -> &'static str;

    /// The role the initiator must still hold when a worker starts the run.
    fn required_role(&self) -> Role;

    /// How long a run may take before it is failed with `timeout`.
    fn deadline(&self) -> Duration {
        Duration::from_secs(60 * 60)
    }

    /// An audit action recorded (linked to the run) when a run of this kind ends.
    fn audit_on_finish(&self) -> Option<&'static str> {
        None
    }

    /// Builds the per-run context; an error fails the run (e.g. `auth_failed`).
    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure>;
}
