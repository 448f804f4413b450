//! Schema versions, keyed by `PRAGMA user_version`.
//!
//! A fresh database runs `schema.sql` (the whole current schema) and is stamped with
//! [`SCHEMA_VERSION`]. An older file runs the upgrade steps after its version, each in its own
//! transaction. There is no downgrade. When you change `schema.sql`, add a step here that
//! brings version N-1 to N; the test in `tests/it/db.rs` builds a database both ways and
//! compares them, so the two cannot drift.

use rusqlite::Connection;

use super::DbResult;

pub const SCHEMA: &str = include_str!("../../schema.sql");

/// Upgrade steps: `STEPS[i]` turns version `i + 1` into version `i + 2`.
/// Version 1 is the first released schema.
const STEPS: &[&str] = &[
    include_str!("migrations/002_runs.sql"),
    include_str!("migrations/003_backups.sql"),
    include_str!("migrations/004_sealed_values.sql"),
    include_str!("migrations/005_tokens_and_invites.sql"),
    include_str!("migrations/006_directory_names.sql"),
    include_str!("migrations/007_setting_definitions.sql"),
    include_str!("migrations/008_scrub_path_ids.sql"),
    include_str!("migrations/009_invite_inviter.sql"),
    include_str!("migrations/012_import_origin.sql"),
    include_str!("migrations/013_setting_definitions_by_source.sql"),
    include_str!("migrations/014_sealed_aliases.sql"),
    include_str!("migrations/015_drift_acceptances.sql"),
];

#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
pub const SCHEMA_VERSION: i64 = 1 + STEPS.len() as i64;

pub fn migrate(conn: &mut Connection) -> DbResult<()> {
    migrate_until(conn, SCHEMA_VERSION)
}

/// [`migrate`], stopping at version `until` (tests build a database as an older release left
/// it, then upgrade it).
pub fn migrate_until(conn: &mut Connection, until: i64) -> DbResult<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        return Ok(());
    }
    if version > SCHEMA_VERSION {
        return Err(super::DbError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let mut current = version;
    for (i, step) in STEPS.iter().enumerate() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let from = 1 + i as i64;
        if current == from && from < until {
            let tx = conn.transaction()?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", from + 1)?;
            tx.commit()?;
            current = from + 1;
        }
    }
    Ok(())
}

/// Builds version 1 from scratch and then runs every upgrade step, for the drift test.
pub fn build_by_upgrades(conn: &mut Connection, version_1_schema: &str) -> DbResult<()> {
    build_by_upgrades_until(conn, version_1_schema, SCHEMA_VERSION)
}

/// [`build_by_upgrades`] up to version `until`.
pub fn build_by_upgrades_until(conn: &mut Connection, version_1_schema: &str, until: i64) -> DbResult<()> {
    conn.execute_batch(version_1_schema)?;
    conn.pragma_update(None, "user_version", 1)?;
    migrate_until(conn, until)
}
