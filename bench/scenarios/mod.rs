//! One module per scenario; each prints a markdown table and asserts nothing.

pub mod backup;
pub mod capture;
pub mod dashboard;
pub mod idle;
pub mod page;
pub mod restore;
pub mod sse;
pub mod start_latency;
