//! policyvault: back up, compare and restore the Intune configuration of many tenants.
//!
//! # Layout
//! - `config`: the command line and its `PV_*` environment variables.
//! - `graph`: Microsoft Graph over HTTP (client, retries, limiter, policy-type registry).
//! - `sim`: the Graph simulator used by the demo, the tests and the benchmarks.

pub mod graph;
pub mod sim;
