//! Microsoft Graph: HTTP only (reqwest + serde). No database, no axum.

pub mod cloud;
