//! policyvault: back up, compare and restore the Intune configuration of many tenants.
//!
//! # Layout
//! - `config`: the command line and its `PV_*` environment variables.
//! - `startup`: builds and runs the server (also used by every integration test).
//! - `client_addr`: who the client is behind trusted reverse proxies (`X-Forwarded-For`).
//! - `cli`: the non-server commands (`user add`, `token create`, `db backup`, `healthcheck`, `demo`).
//! - `error`: `AppError`, the one error type of every handler.
//! - `clock`: timestamps and ids in the one format we store.
//! - `db`: `SQLite` (pool, migrations, one file of SQL per table family).
//! - `secrets`: the master key and sealing of tenant client secrets.
//! - `audit`: the hash-chained, append-only audit log.
//! - `auth`: passwords, sessions, API tokens, CSRF, login throttling, the tenant guard.
//! - `names`: the rule for names people type (no control or text-direction characters).
//! - `accounts`, `tenants`: the operations on users, tokens, tenants and members that pages,
//!   the API and the command line share.
//! - `export`: a backup set as a zip of JSON files with a manifest (no secret values).
//! - `import`: such a zip back in as a new backup set, checked before anything is written.
//! - `ops`: the run kinds (verify, sync, snapshot, backup, preview, restore).
//! - `runs`: the run engine (start with dedupe, workers, leases, progress, notifications).
//! - `graph`: Microsoft Graph over HTTP (client, retries, limiter, policy-type registry).
//! - `sim`: the Graph simulator used by the demo, the tests and the benchmarks.
//! - `web`: axum handlers, one file per area; `web::api` is the JSON API.
//! - `views`: maud templates, pure functions of view models.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod graph;
pub mod import;
pub mod names;
pub mod ops;
pub mod runs;
pub mod schedules;
pub mod secrets;
pub mod sim;
pub mod startup;
pub mod tenants;
pub mod views;
pub mod web;
