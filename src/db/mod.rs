//! The `SQLite` database: one file, an r2d2 pool, and two async doors into it.
//!
//! SQL lives in this module's files, one per table family, as synchronous functions taking a
//! `&Connection` or `&Transaction`; callers pick the transaction. Only [`Db::read`] and
//! [`Db::write`] touch the pool, always inside `spawn_blocking`, so no `SQLite` call ever blocks
//! an async worker thread.

pub mod audit;
pub mod backups;
pub mod memberships;
pub mod migrate;
pub mod notifications;
pub mod policies;
pub mod runs;
pub mod schedules;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;

/// How long a statement waits for `SQLite`'s write lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Longer than `BUSY_TIMEOUT`, so a busy database shows up as a busy error, not a pool error.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(
        "the database has schema version {found}, but this policyvault knows versions up to {supported}: run the newer policyvault that wrote it, or restore a backup"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("database file {path}: {message}")]
    Open { path: PathBuf, message: String },
}

impl DbError {
    /// True when a UNIQUE or PRIMARY KEY constraint refused the write: the caller turns that
    /// into a 409/422 with its own words, in one place instead of string-matching everywhere.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    }
}

pub type DbResult<T> = Result<T, DbError>;

#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// One writer at a time: `SQLite` allows only one anyway, and queueing here (async) is
    /// cheaper than many blocking threads spinning on the file lock.
    write_gate: Arc<Semaphore>,
    path: PathBuf,
    /// Bumped after every write that may take access away (sign-out, disabled user, password
    /// reset, membership removed or role changed): open event streams re-check their caller
    /// on it and end at once instead of at their lifetime limit.
    access_epoch: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Db {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> DbResult<Db> {
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(POOL_TIMEOUT)
            .build(manager)?;
        {
            let mut conn = pool.get()?;
            // WAL is a property of the file: set once, readers never block the writer.
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(DbError::Open {
                    path: path.to_owned(),
                    message: format!("could not switch to WAL (got {mode}); is it on a network share?"),
                });
            }
            migrate::migrate(&mut conn)?;
        }
        Ok(Db {
            pool,
            write_gate: Arc::new(Semaphore::new(1)),
            path: path.to_owned(),
            access_epoch: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// Tells open streams that someone's access may have changed (call after the commit).
    pub fn access_changed(&self) {
        self.access_epoch.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes on every `access_changed`; subscribe before reading the state to compare with.
    pub fn watch_access(&self) -> tokio::sync::watch::Receiver<u64> {
        self.access_epoch.subscribe()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled connection in a blocking task.
    pub async fn read<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await?
    }

    /// Runs `f` in an IMMEDIATE transaction and commits when it returns `Ok`.
    /// IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    /// writes would get `SQLITE_BUSY` at once, ignoring the busy timeout.
    pub async fn write<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> DbResult<T> + Send + 'static,
    {
        let _permit = self.write_gate.acquire().await.map_err(|_| DbError::Open {
            path: self.path.clone(),
            message: "database is shutting down".into(),
        })?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await?
    }

    /// Writes a consistent copy of the database to `dest` while others keep using it.
    /// `VACUUM INTO` reads inside one transaction, so the copy is a single point in time.
    pub async fn backup_to(&self, dest: &Path) -> DbResult<()> {
        let dest = dest.to_string_lossy().into_owned();
        self.read(move |c| {
            c.execute("VACUUM INTO ?1", [dest])?;
            Ok(())
        })
        .await
    }
}
