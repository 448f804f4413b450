//! JSON API v1 (`shared/API.md` is the contract). Bearer tokens only; the same services as
//! the pages underneath.

pub mod audit;
pub mod backup_sets;
pub mod me;
pub mod members;
pub mod notifications;
pub mod openapi;
pub mod operations;
pub mod policies;
pub mod runs;
pub mod schedules;
pub mod tenants;

use crate::error::AppError;

/// Unknown `/api` paths answer in the API's error shape, not with an HTML page.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such API endpoint; see /api/v1 in the documentation".into())
}
