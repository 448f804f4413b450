//! The `SQLite` database: one file, an r2d2 pool, and two async doors into it.
//!
//! SQL lives in this module's files, one per table family, as synchronous functions taking a
//! `&Connection` or `&Transaction`; callers pick the transaction. Only [`Db::read`] and
//! [`Db::write`] touch the database: a read runs on a pooled connection inside
//! `spawn_blocking`, a write is queued to the writer thread (`writer`), so no `SQLite` call
//! ever blocks an async worker thread.

pub mod audit;
pub mod backups;
pub mod directory;
pub mod drift;
pub mod health;
pub mod invites;
pub mod memberships;
pub mod migrate;
pub mod notifications;
pub mod policies;
pub mod runs;
pub mod schedules;
pub mod sealed;
pub mod sessions;
pub mod setting_definitions;
pub mod tenants;
pub mod tokens;
pub mod users;
mod writer;

pub use writer::WriterStats;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction};

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
    #[error("database writer: {0}")]
    Writer(String),
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

/// Prepared statements kept per connection: room for all of the app's ~130 SQL call sites.
const STATEMENT_CACHE: usize = 256;

/// WAL pages (4 KiB) after which a commit checkpoints: 32 MiB instead of `SQLite`'s 1,000.
/// The writer commits continuously under load, and each checkpoint copies the same hot
/// pages (the runs, the indexes' last pages) and syncs the file again. 500 tenants backed
/// up at once: 33.9 s → 26.7 s, the server's CPU 44 → 34 s (`bench`, medians of 3).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 8000;

pub type DbResult<T> = Result<T, DbError>;

/// How long one answer of the storage probe stands: balancers may ask every second.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Written and deleted by each probe: room for a few transactions' WAL frames, so "ready"
/// means the next writes fit, not just the next byte.
const PROBE_BYTES: usize = 64 * 1024;
const PROBE_FILE: &str = ".storage-probe";
const SIMULATED_FULL: &str = "database or disk is full (simulated)";

/// When the storage was probed, and whether it took the write (`Err`: why not).
type ProbeAnswer = (std::time::Instant, Result<(), String>);

#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// The writer thread's queue (see `writer`): one connection writes, and writes queued
    /// together are committed together.
    writer: std::sync::mpsc::Sender<Box<dyn writer::Job>>,
    writer_stats: Arc<WriterStats>,
    path: Arc<Path>,
    /// Bumped after every write that may take access away (sign-out, disabled user, password
    /// reset, membership removed or role changed): open event streams re-check their caller
    /// on it and end at once instead of at their lifetime limit.
    access_epoch: Arc<tokio::sync::watch::Sender<u64>>,
    /// The storage probe's last answer and when it was taken (see `storage_writable`).
    storage_probe: Arc<tokio::sync::Mutex<Option<ProbeAnswer>>>,
    /// Tests turn this on to make every write fail as on a full disk (`SQLITE_FULL`).
    simulate_full_disk: Arc<std::sync::atomic::AtomicBool>,
}

impl Db {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> DbResult<Db> {
        let private = |e: std::io::Error| DbError::Open {
            path: path.to_owned(),
            message: format!("could not make it private to this user: {e}"),
        };
        // The database holds hashes, audit history and sealed secrets: owner only, like the
        // key file. SQLite gives the -wal and -shm files the database file's mode.
        create_private(path).map_err(private)?;
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            // rusqlite caches 16 prepared statements per connection by default; the app has
            // far more, and a miss re-parses the SQL (yy_reduce was in start-latency's profile).
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
            c.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        });
        // Eight readers, and the writer thread's own connection.
        let pool = r2d2::Pool::builder()
            .max_size(9)
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
        // Files of an older version (0644) become private too; the WAL files exist by now.
        // Best effort: a file owned by another user cannot be changed, and that is no reason
        // not to start.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            if let Err(e) = make_private(Path::new(&p)) {
                tracing::warn!(file = %Path::new(&p).display(), error = %e, "could not make the database file private (chmod 600 it by hand)");
            }
        }
        let writer_stats = Arc::<WriterStats>::default();
        let writer = writer::spawn(pool.get()?, Arc::clone(&writer_stats)).map_err(|e| DbError::Open {
            path: path.to_owned(),
            message: format!("could not start the writer thread: {e}"),
        })?;
        Ok(Db {
            pool,
            writer,
            writer_stats,
            path: Arc::from(path),
            access_epoch: Arc::new(tokio::sync::watch::Sender::new(0)),
            storage_probe: Arc::default(),
            simulate_full_disk: Arc::default(),
        })
    }

    /// Writes and commits so far: writes queued together share a commit.
    pub fn writer_stats(&self) -> &WriterStats {
        &self.writer_stats
    }

    /// Whether the storage takes writes now (`Err` says why not), for `/readyz`. The last
    /// real write's outcome cannot tell: on a full disk the server looked ready until a
    /// write failed, and unready after space came back until a write succeeded. So this
    /// writes itself: it takes the write lock (a read-only database file), then writes,
    /// syncs and deletes a small file next to the database (a full disk). One answer stands
    /// for `PROBE_EVERY`, however many balancers ask.
    pub async fn storage_writable(&self) -> Result<(), String> {
        let mut cached = self.storage_probe.lock().await;
        if let Some((at, answer)) = cached.as_ref()
            && at.elapsed() < PROBE_EVERY
        {
            return answer.clone();
        }
        let answer = self.probe_storage().await;
        *cached = Some((std::time::Instant::now(), answer.clone()));
        answer
    }

    async fn probe_storage(&self) -> Result<(), String> {
        if self.simulate_full_disk.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(SIMULATED_FULL.into());
        }
        self.write(|_| Ok(())).await.map_err(|e| e.to_string())?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        tokio::task::spawn_blocking(move || {
            write_probe(&dir).map_err(|e| format!("the data directory {} does not take writes ({e})", dir.display()))
        })
        .await
        .map_err(|e| format!("the storage probe stopped: {e}"))?
    }

    /// For tests: every write fails with `SQLITE_FULL` while `on`, as on a full disk, so the
    /// paths that must survive one can be exercised without filling a real disk. The storage
    /// probe fails too, and its cached answer is dropped: the disk just changed.
    #[doc(hidden)]
    pub fn simulate_full_disk(&self, on: bool) {
        self.simulate_full_disk.store(on, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut cached) = self.storage_probe.try_lock() {
            *cached = None;
        }
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

    /// Runs `f`, a point lookup by key that takes microseconds, on the calling thread when a
    /// pooled connection is free at once; otherwise like `read`. Every API request makes a few
    /// of these (its caller, its tenant access, the active run a start may reuse), and a
    /// blocking task each cost more in thread hand-offs than the lookups themselves
    /// (start-latency's profile). Never for a query whose time grows with the data.
    pub async fn read_now<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        match self.pool.try_get() {
            Some(conn) => f(&conn),
            None => self.read(f).await,
        }
    }

    /// Runs `f` in the writer's IMMEDIATE transaction, inside a savepoint of its own, and
    /// answers once that transaction committed (`Ok`) or `f`'s changes were rolled back
    /// (`Err`). Writes queued at the same time share one commit (see `writer`).
    pub async fn write<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction) -> DbResult<T> + Send + 'static,
    {
        if self.simulate_full_disk.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DbError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                Some(SIMULATED_FULL.into()),
            )));
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send(Box::new(writer::Write { f, reply }))
            .map_err(|_| DbError::Writer("the writer thread has stopped; restart the server".into()))?;
        answer
            .await
            .map_err(|_| DbError::Writer("the write stopped unexpectedly (the log says why); try again".into()))?
    }

    /// Writes a consistent copy of the database to `dest` while others keep using it.
    /// `VACUUM INTO` reads inside one transaction, so the copy is a single point in time.
    pub async fn backup_to(&self, dest: &Path) -> DbResult<()> {
        // VACUUM INTO accepts an empty existing file and keeps its mode: create it private.
        create_private(dest).map_err(|e| DbError::Open {
            path: dest.to_owned(),
            message: format!("could not create the backup file: {e}"),
        })?;
        let target = dest.to_string_lossy().into_owned();
        let result = self
            .read(move |c| {
                c.execute("VACUUM INTO ?1", [target])?;
                Ok(())
            })
            .await;
        if result.is_err() {
            // Leave no empty or partial file behind: the next try would refuse to overwrite it.
            let _ = std::fs::remove_file(dest);
        }
        result
    }
}

/// Writes `PROBE_BYTES` to a file in `dir`, syncs it (some file systems report a full disk
/// only then) and deletes it, also when a step failed.
fn write_probe(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(PROBE_FILE);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    })();
    let removed = std::fs::remove_file(&path);
    written?;
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Creates `path` empty with mode 0600 unless it exists.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes group and other permissions off an existing file; a missing file is fine.
fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(m.permissions().mode() & 0o700))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_quick_read_with_every_connection_taken_waits_for_one_instead_of_failing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("pv.db")).expect("open");
        // The writer thread holds one connection; take every other one.
        let held: Vec<_> = std::iter::from_fn(|| db.pool.try_get()).collect();
        assert!(!held.is_empty(), "the pool had idle connections");
        assert!(db.pool.try_get().is_none(), "every connection is taken");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        let answer = db
            .read_now(|c| Ok(c.query_row("SELECT 6 * 7", [], |r| r.get::<_, i64>(0))?))
            .await
            .expect("read once a connection is back");
        assert_eq!(answer, 42);
        release.join().expect("release thread");
        // With connections idle it answers on the calling thread, with no blocking task.
        let caller = std::thread::current().id();
        let (one, thread) = db
            .read_now(|c| {
                let one = c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                Ok((one, std::thread::current().id()))
            })
            .await
            .expect("read");
        assert_eq!((one, thread), (1, caller));
    }

    #[tokio::test]
    async fn the_writer_and_the_readers_checkpoint_every_8000_wal_pages() {
        fn pages(c: &Connection) -> DbResult<i64> {
            Ok(c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?)
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("pv.db")).expect("open");
        assert_eq!(db.read(pages).await.expect("reader"), 8000);
        assert_eq!(db.write(|tx| pages(tx)).await.expect("writer"), 8000);
    }
}
