//! HTML. Every function here is pure: view model in, `Markup` out; no state, no database,
//! no await. `(expr)` escapes, and nothing from a user or from Graph is ever `PreEscaped`.

pub mod account;
pub mod admin;
pub mod components;
pub mod dashboard;
pub mod diff;
pub mod drift;
pub mod errors;
pub mod health;
pub mod inventory;
pub mod layout;
pub mod restore;
pub mod runs;
pub mod schedules;
pub mod tenant;
pub mod version;
