//! The fixed error codes live with Graph, where most of them arise; runs use the same list.

pub use crate::graph::error::{CONTEXT_KEYS, ErrorCode, safe_context};
