//! The simulator's memory: tenants with their objects, issued tokens, faults, the write
//! journal and request counters. One mutex: the simulator is for tests and demos, and every
//! operation on it is short.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Objects of one tenant, by collection path, by id (ordered, so pages are stable).
#[derive(Debug, Default)]
pub struct SimTenant {
    /// The initial `….onmicrosoft.com` domain, which Entra takes in place of the tenant id.
    pub domain: String,
    pub client_id: String,
    pub client_secret: String,
    pub objects: HashMap<String, BTreeMap<String, Value>>,
    pub assignments: HashMap<String, Vec<Value>>,
    /// Encrypted OMA-URI values by `secretReferenceValueId` (objects hold only a mask).
    pub secrets: HashMap<String, String>,
    /// Administrative template definitions by id (with their `presentations`): built-in ones
    /// have the same id in every tenant, imported (custom ADMX) ones an id of their own.
    pub definitions: BTreeMap<String, Value>,
    /// Entra groups by id (display names), answered by `directoryObjects/getByIds`.
    pub groups: BTreeMap<String, String>,
    /// Request times of the last 20 s, for limit enforcement: (at, is_write).
    pub recent: VecDeque<(Instant, bool)>,
    pub reads: u64,
    pub writes: u64,
    pub throttled: u64,
    /// `directoryObjects/getByIds` requests answered (after admission).
    pub directory_queries: u64,
    /// `deviceManagement/configurationSettings/{id}` reads answered (after admission; a
    /// `$batch` sub-request counts one, 404s too).
    pub setting_definition_reads: u64,
    /// The most requests (and writes) seen in any 20 s window, throttled ones included: what
    /// Intune's limit is checked against (for benchmarks).
    pub peak_window: usize,
    pub peak_writes_window: usize,
    next_id: u64,
}

impl SimTenant {
    pub fn with_credentials(client_id: &str, client_secret: &str) -> SimTenant {
        SimTenant {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            ..SimTenant::default()
        }
    }

    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", self.next_id, self.next_id * 7919)
    }
}

/// Faults and behaviour, settable by flags and by `POST /_sim/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(clippy::struct_excessive_bools)] // independent switches a test flips, not a state machine
pub struct Faults {
    pub latency_ms: u64,
    /// Share of Graph requests answered 429 (0.0–1.0).
    pub throttle_rate: f64,
    /// Seconds sent in `Retry-After` with a 429.
    pub retry_after_secs: f64,
    /// Share of Graph requests answered 503.
    pub unavailable_rate: f64,
    /// Collections (e.g. `deviceManagement/deviceHealthScripts`) that answer 503.
    pub down_collections: Vec<String>,
    /// Collections that answer 403, as for a tenant without the licence or an app without
    /// the permission.
    pub forbidden_collections: Vec<String>,
    /// Every token request is refused.
    pub auth_failure: bool,
    /// Answer 429 beyond Intune's per-tenant limits (1,000 requests / 100 writes per 20 s).
    pub enforce_limits: bool,
    pub page_size: usize,
    /// `getOmaSettingPlainTextValue` answers 403, as for an app without ReadWrite.
    pub secrets_unreadable: bool,
    /// Lists answer 400 to any `$expand`, as a Graph that does not expand there would.
    pub list_expand_refused: bool,
    /// Graph requests wait (after their latency) until this is cleared: lets a test look at
    /// a run while it is certainly still going.
    pub hold: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub seq: u64,
    pub tenant: String,
    pub method: String,
    pub path: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub tenants: HashMap<String, SimTenant>,
    /// Issued access tokens → Entra tenant id.
    pub tokens: HashMap<String, String>,
    pub faults: Faults,
    pub journal: Vec<JournalEntry>,
    pub token_requests: u64,
    /// HTTP requests to `/beta` (a `$batch` is one, however many it carries).
    pub round_trips: u64,
    /// `/beta` requests being answered right now, and the most at once so far.
    pub in_flight: u64,
    pub peak_in_flight: u64,
    random: u64,
}

pub const LIMIT_WINDOW: Duration = Duration::from_secs(20);
pub const LIMIT_ANY: usize = 1000;
pub const LIMIT_WRITES: usize = 100;

impl State {
    pub fn new(seed: u64, faults: Faults) -> State {
        State {
            faults,
            random: seed.max(1),
            ..State::default()
        }
    }

    /// Deterministic pseudo-random in [0, 1) (xorshift), so fault sequences repeat per seed.
    /// The tenant id that `tenant` (an id or a domain, as Entra takes either) names.
    pub fn resolve_tenant(&self, tenant: &str) -> Option<String> {
        if self.tenants.contains_key(tenant) {
            return Some(tenant.to_owned());
        }
        self.tenants
            .iter()
            .find(|(_, t)| !t.domain.is_empty() && t.domain.eq_ignore_ascii_case(tenant))
            .map(|(id, _)| id.clone())
    }

    pub fn roll(&mut self) -> f64 {
        let mut x = self.random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random = x;
        #[allow(clippy::cast_precision_loss)]
        let f = (x >> 11) as f64 / (1u64 << 53) as f64;
        f
    }

    pub fn record_write(&mut self, tenant: &str, method: &str, path: &str) {
        let seq = self.journal.len() as u64 + 1;
        self.journal.push(JournalEntry {
            seq,
            tenant: tenant.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
        });
    }
}
