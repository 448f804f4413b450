//! The Graph simulator: an in-memory stand-in for Microsoft Graph and Entra's token endpoint,
//! used by the demo, the tests and the benchmarks. One port serves both, so a tenant's login
//! and Graph base URLs can both point at it.
//!
//! - `state`: tenants, tokens, faults, the write journal, counters.
//! - `seed`: deterministic, realistic content.
//! - `setting_definitions`: the settings catalog's setting definitions (global, by id).
//! - `routes`: the HTTP surface, including `/_sim/faults`, `/_sim/journal`, `/_sim/counters`.

pub mod actions;
pub mod catalog;
pub mod objects;
pub mod quirks;
pub mod routes;
pub mod seed;
pub mod setting_definitions;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use state::{Faults, JournalEntry, SimTenant, State};

/// Credentials of a simulated tenant.
#[derive(Debug, Clone)]
pub struct SimTenantInfo {
    pub entra_tenant_id: String,
    /// The tenant's initial domain, e.g. `contoso.onmicrosoft.com`: the token endpoint and
    /// the OpenID discovery document take it in place of the tenant id, as Entra's do.
    pub domain: String,
    pub client_id: String,
    pub client_secret: String,
}

/// `Contoso Ltd` → `contosoltd.onmicrosoft.com`.
pub(crate) fn initial_domain(name: &str) -> String {
    let slug: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("{}.onmicrosoft.com", if slug.is_empty() { "tenant" } else { &slug })
}

/// A running simulator.
#[derive(Clone)]
pub struct SimHandle {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

/// A GUID derived from text, so a demo tenant keeps its ids across restarts.
pub(crate) fn guid_from(text: &str) -> String {
    let h = hex::encode(Sha256::digest(text.as_bytes()));
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

impl SimHandle {
    /// Starts on `addr` (port 0 for any) in this process.
    pub async fn start(addr: SocketAddr, seed: u64, faults: Faults) -> anyhow::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new(seed, faults)));
        let stop = CancellationToken::new();
        let app = routes::router(state.clone(), format!("http://{addr}"));
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
        });
        Ok(SimHandle { addr, state, stop })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a tenant named `name` with `per_type` objects of every supported type.
    pub fn add_tenant(&self, name: &str, per_type: usize) -> SimTenantInfo {
        self.add_tenant_named(name, per_type, seed::HOSTILE_NAMES)
    }

    /// A tenant whose objects have names an MSP would recognise (the demo's).
    pub fn add_demo_tenant(&self, name: &str, per_type: usize) -> SimTenantInfo {
        self.add_tenant_named(name, per_type, seed::DEMO_NAMES)
    }

    /// A tenant with `count(type key)` objects of each type (built-ins as always).
    pub fn add_tenant_of(&self, name: &str, count: &dyn Fn(&str) -> usize) -> SimTenantInfo {
        let info = Self::credentials(name);
        let mut tenant = SimTenant::with_credentials(&info.client_id, &info.client_secret);
        seed::fill_counts(&mut tenant, &info.entra_tenant_id, count, seed::HOSTILE_NAMES);
        self.lock().tenants.insert(info.entra_tenant_id.clone(), tenant);
        info
    }

    fn credentials(name: &str) -> SimTenantInfo {
        SimTenantInfo {
            entra_tenant_id: guid_from(&format!("tenant:{name}")),
            domain: initial_domain(name),
            client_id: guid_from(&format!("app:{name}")),
            client_secret: format!("sim-secret-{}", &guid_from(&format!("secret:{name}"))[..18]),
        }
    }

    fn add_tenant_named(&self, name: &str, per_type: usize, names: &[&str]) -> SimTenantInfo {
        let info = Self::credentials(name);
        let mut tenant = SimTenant::with_credentials(&info.client_id, &info.client_secret);
        tenant.domain.clone_from(&info.domain);
        seed::fill(&mut tenant, &info.entra_tenant_id, per_type, names);
        self.lock().tenants.insert(info.entra_tenant_id.clone(), tenant);
        info
    }

    pub fn set_faults(&self, f: Faults) {
        self.lock().faults = f;
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        self.lock().journal.clone()
    }

    /// (reads, writes, throttled) answered for a tenant.
    pub fn counters(&self, entra_tenant_id: &str) -> (u64, u64, u64) {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .map_or((0, 0, 0), |t| (t.reads, t.writes, t.throttled))
    }

    /// (requests, writes) in the busiest 20 s window so far for a tenant, as the limit counts
    /// them (throttled requests included).
    pub fn peak_window(&self, entra_tenant_id: &str) -> (usize, usize) {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .map_or((0, 0), |t| (t.peak_window, t.peak_writes_window))
    }

    /// Starts the busiest-window figures afresh (the 20 s window itself keeps its history).
    pub fn reset_peak_window(&self, entra_tenant_id: &str) {
        if let Some(t) = self.lock().tenants.get_mut(entra_tenant_id) {
            t.peak_window = 0;
            t.peak_writes_window = 0;
        }
    }

    /// The most `/beta` requests answered at once so far, all tenants.
    pub fn peak_in_flight(&self) -> u64 {
        self.lock().peak_in_flight
    }

    /// Starts counting the most requests in flight afresh (from those in flight now).
    pub fn reset_peak_in_flight(&self) {
        let mut s = self.lock();
        s.peak_in_flight = s.in_flight;
    }

    /// HTTP round trips to `/beta` so far, all tenants.
    pub fn round_trips(&self) -> u64 {
        self.lock().round_trips
    }

    /// A tenant's objects of one collection, as stored (for tests to compare or change).
    pub fn objects(&self, entra_tenant_id: &str, collection: &str) -> Vec<Value> {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .and_then(|t| t.objects.get(collection))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Changes or removes an object behind our back, as an admin in the Intune portal would.
    pub fn edit_object(
        &self,
        entra_tenant_id: &str,
        collection: &str,
        id: &str,
        change: impl FnOnce(&mut Value),
    ) -> bool {
        let mut s = self.lock();
        let Some(o) = s
            .tenants
            .get_mut(entra_tenant_id)
            .and_then(|t| t.objects.get_mut(collection))
            .and_then(|m| m.get_mut(id))
        else {
            return false;
        };
        change(o);
        true
    }

    /// Creates an object as a Graph client would (the same checks and quirks as a POST);
    /// its new id, or the error message.
    pub fn create_object(&self, entra_tenant_id: &str, collection: &str, body: Value) -> Result<String, String> {
        objects::create_direct(&mut self.lock(), entra_tenant_id, collection, body)
    }

    /// An object's assignments, as stored.
    pub fn assignments(&self, entra_tenant_id: &str, id: &str) -> Vec<Value> {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .and_then(|t| t.assignments.get(id).cloned())
            .unwrap_or_default()
    }

    /// `directoryObjects/getByIds` requests answered for a tenant (403s not counted).
    pub fn directory_queries(&self, entra_tenant_id: &str) -> u64 {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .map_or(0, |t| t.directory_queries)
    }

    /// Setting definitions read for a tenant (`configurationSettings/{id}`, 403s not counted).
    pub fn setting_definition_reads(&self, entra_tenant_id: &str) -> u64 {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .map_or(0, |t| t.setting_definition_reads)
    }

    /// A tenant's directory groups (id → display name).
    pub fn groups(&self, entra_tenant_id: &str) -> std::collections::BTreeMap<String, String> {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .map(|t| t.groups.clone())
            .unwrap_or_default()
    }

    /// Adds or renames a group in a tenant's directory, as an admin in Entra would.
    pub fn set_group(&self, entra_tenant_id: &str, id: &str, name: &str) {
        if let Some(t) = self.lock().tenants.get_mut(entra_tenant_id) {
            t.groups.insert(id.to_owned(), name.to_owned());
        }
    }

    /// Replaces an object's assignments behind our back.
    pub fn set_assignments(&self, entra_tenant_id: &str, id: &str, list: Vec<Value>) {
        if let Some(t) = self.lock().tenants.get_mut(entra_tenant_id) {
            t.assignments.insert(id.to_owned(), list);
        }
    }

    /// The plain values of a tenant's encrypted OMA-URI settings, by reference.
    pub fn secret_values(&self, entra_tenant_id: &str) -> std::collections::HashMap<String, String> {
        self.lock()
            .tenants
            .get(entra_tenant_id)
            .map(|t| t.secrets.clone())
            .unwrap_or_default()
    }

    /// Changes an encrypted value behind our back (a secret rotated in the portal).
    pub fn rotate_secret(&self, entra_tenant_id: &str, reference: &str, value: &str) -> bool {
        self.lock()
            .tenants
            .get_mut(entra_tenant_id)
            .and_then(|t| t.secrets.get_mut(reference))
            .map(|v| value.clone_into(v))
            .is_some()
    }

    /// Deletes an object behind our back, as an admin in the portal would; like the portal,
    /// it cannot delete Microsoft's objects or a tenant's defaults (answers `false`).
    pub fn delete_object(&self, entra_tenant_id: &str, collection: &str, id: &str) -> bool {
        let deletable = |o: &Value| {
            crate::graph::registry::TYPES
                .iter()
                .find(|t| t.collection == collection)
                .is_none_or(|ty| quirks::may_delete(ty, o).is_ok())
        };
        self.lock()
            .tenants
            .get_mut(entra_tenant_id)
            .and_then(|t| t.objects.get_mut(collection))
            .is_some_and(|m| m.get(id).is_some_and(deletable) && m.remove(id).is_some())
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}
