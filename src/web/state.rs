//! What every handler can reach.

use std::sync::Arc;

use crate::auth::throttle::LoginThrottle;
use crate::config::ServeArgs;
use crate::db::Db;
use crate::runs::Engine;
use crate::schedules::Scheduler;
use crate::secrets::MasterKey;

/// Cloned by axum for every extractor and middleware of every request: one shared
/// allocation, so a clone is one reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: Db,
    /// Read-only after start: cookies, session limits, custom endpoints.
    pub settings: Arc<ServeArgs>,
    /// Seals tenant secrets on write; opened only on the worker's token path.
    pub key: Arc<MasterKey>,
    /// Shared by all login attempts; in memory by design (see `auth::throttle`).
    pub throttle: Arc<LoginThrottle>,
    /// Starts runs and carries their progress to SSE streams.
    pub engine: Engine,
    /// Keeps the cron jobs in step with the `schedules` table.
    pub scheduler: Arc<Scheduler>,
    /// Run-page fragments shared by the SSE streams showing the same page.
    pub fragments: Arc<crate::web::sse::FragmentCache>,
    /// New API tokens between their creating POST and the page that shows them once.
    pub shown_once: Arc<crate::web::profile::ShownOnce>,
    /// What the first-run setup page asks for; new at every start, logged while no account
    /// exists (see `auth::setup_code`).
    pub setup_code: crate::auth::setup_code::SetupCode,
}

// The auth middlewares take only the parts they need, so `auth` does not know the web layer.
impl axum::extract::FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

impl axum::extract::FromRef<AppState> for Arc<ServeArgs> {
    fn from_ref(state: &AppState) -> Arc<ServeArgs> {
        state.settings.clone()
    }
}

impl axum::extract::FromRef<AppState> for Arc<MasterKey> {
    fn from_ref(state: &AppState) -> Arc<MasterKey> {
        state.key.clone()
    }
}
