//! The tamper-evident audit log.
//!
//! Each event stores `hash = sha256(prev_hash, its fields)`, the first one chaining onto
//! [`GENESIS`]. Triggers make the table append-only for the application; someone with the raw
//! file can still edit it, and [`verify`] then names the first row whose hash no longer fits.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock;
use crate::db::DbResult;
use crate::db::audit::{self as rows, AuditRow};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is chained.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub tenant_id: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub run_id: Option<&'a str>,
    /// A JSON object of safe facts: ids, names, roles. Never a secret or token.
    pub details: Value,
}

/// Appends an event inside the caller's (IMMEDIATE) transaction, so the event commits
/// together with the change it describes, or not at all.
pub fn record(c: &Connection, event: &Event<'_>) -> DbResult<()> {
    let prev_hash = rows::last_hash(c)?.unwrap_or_else(|| GENESIS.to_owned());
    let mut row = AuditRow {
        seq: 0,
        id: clock::new_id(),
        at: clock::now(),
        tenant_id: event.tenant_id.map(str::to_owned),
        actor: event.actor.to_owned(),
        action: event.action.to_owned(),
        run_id: event.run_id.map(str::to_owned),
        details: event.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = hash_of(&row);
    rows::insert(c, &row)
}

fn hash_of(row: &AuditRow) -> String {
    // A JSON array is an unambiguous encoding: no field can bleed into the next.
    let material = serde_json::json!([
        row.prev_hash,
        row.id,
        row.at,
        row.tenant_id,
        row.actor,
        row.action,
        row.run_id,
        row.details
    ]);
    hex::encode(Sha256::digest(material.to_string().as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ChainStatus {
    /// Every row's hash fits; `events` rows checked.
    Intact { events: usize },
    /// The row with this id (and every one after it) can no longer be trusted.
    Broken {
        at_id: String,
        seq: i64,
        reason: &'static str,
    },
}

/// Walks the whole chain.
pub fn verify(c: &Connection) -> DbResult<ChainStatus> {
    let mut expected_prev = GENESIS.to_owned();
    let mut events = 0;
    let broken = rows::each_in_order(c, |row| {
        let reason = if row.prev_hash != expected_prev {
            "previous hash does not match (a row was removed or reordered)"
        } else if hash_of(&row) != row.hash {
            "content does not match its hash (the row was edited)"
        } else {
            events += 1;
            expected_prev = row.hash;
            return None;
        };
        Some(ChainStatus::Broken {
            at_id: row.id,
            seq: row.seq,
            reason,
        })
    })?;
    Ok(broken.unwrap_or(ChainStatus::Intact { events }))
}
