//! Waiting for a run to finish, for background tasks that chain runs (the scheduler's sync
//! then backup, the demo's first backup). Never on a request path: starts answer at once.

use std::time::Duration;

use super::Engine;
use crate::db::runs::{self, Run};

const POLL_EVERY: Duration = Duration::from_millis(250);

/// The run once it is finished; `None` when it was not done within `at_most` or vanished.
pub async fn finished(engine: &Engine, run_id: &str, at_most: Duration) -> Option<Run> {
    let deadline = tokio::time::Instant::now() + at_most;
    while tokio::time::Instant::now() < deadline {
        let id = run_id.to_owned();
        match engine.db.read(move |c| runs::get(c, &id)).await {
            Ok(Some(run)) if run.is_terminal() => return Some(run),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    None
}
