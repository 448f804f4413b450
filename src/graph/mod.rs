//! Microsoft Graph: HTTP only (reqwest + serde). No database, no axum.
//!
//! - `cloud`: national clouds and their endpoints.
//! - `error`: the fixed error codes and `GraphError`.
//! - `token`: client-credentials tokens, cached per tenant app.
//! - `limiter`: per-tenant pacing that keeps us under Intune's limits (reads and writes apart).
//! - `client`: requests with retries (`Retry-After`, backoff with full jitter), paging.
//! - `batch`: JSON batching of GETs, retrying only the throttled sub-requests.
//! - `handles`: `GraphReader` (read-only) and `GraphWriter`; preview code only gets a reader.
//! - `registry`: what a supported type is; `types`: the table of them, one entry each.
//! - `policy`: capture a policy into one document; create/update/assign from one.
//! - `recipes`: the extra calls of types whose write is more than POST/PATCH plus `assign`.
//! - `odata`: OData annotations, and which may go back in a write body.
//! - `oma`: reading the real values of encrypted OMA-URI settings.
//! - `path`: the Graph id grammar, and paths built from checked ids only.
//! - `canonical`: canonical JSON, content hash and field-level diff.
//! - `catalogue`: the supported types as a table (`policyvault types`, the README).

pub mod batch;
pub mod canonical;
pub mod catalogue;
pub mod client;
pub mod cloud;
pub mod error;
pub mod handles;
pub mod limiter;
pub mod odata;
pub mod oma;
pub mod path;
pub mod policy;
pub mod recipes;
pub mod registry;
pub mod token;
pub mod types;

pub use error::{ErrorCode, GraphError};
pub use handles::{Graph, GraphReader, GraphWriter, TenantConnection};
