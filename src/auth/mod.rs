//! Who is calling, and what they may do.
//!
//! - `password`: argon2id hashing and verification (blocking work off the async threads).
//! - `token`: random tokens (sessions, API tokens, CSRF) and their hashes.
//! - `session`: the session cookie and server-side session rows.
//! - `caller`: the middleware that resolves the caller once per request, and its extractor.
//! - `csrf`: the check on every state-changing browser request.
//! - `setup_code`: the one-time code the first-run setup page asks for.
//! - `throttle`: failed-login throttling per account and per client address.
//! - `tenant_guard`: membership and role for every tenant-scoped route.
//! - `role`: the three roles and what each may do.

pub mod caller;
pub mod csrf;
pub mod password;
pub mod role;
pub mod session;
pub mod setup_code;
pub mod tenant_guard;
pub mod throttle;
pub mod token;
