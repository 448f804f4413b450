//! Run kinds: one file per kind, each a `RunHandler` for the engine in `runs/`.

use std::sync::Arc;

use crate::runs::handler::RunHandler;

/// Every run kind this build can execute.
pub fn handlers() -> Vec<Arc<dyn RunHandler>> {
    Vec::new()
}
