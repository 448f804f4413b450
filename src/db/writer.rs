//! The single writer. `SQLite` lets one connection write at a time, so one thread owns the
//! connection that writes, and every [`Db::write`](super::Db::write) is a job queued to it.
//! Jobs that queue up while a commit is under way are committed together ("group commit"):
//! one `BEGIN IMMEDIATE … COMMIT` and one append to the WAL for the lot, instead of one per
//! job and a blocking-pool thread each. Each job runs inside its own savepoint, so a job that
//! fails leaves nothing behind and does not disturb the others; every caller hears back only
//! after the commit that holds its changes (or why there was none).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{DbError, DbResult};

/// Jobs committed together at most: bounds how long the first of them waits for the commit.
const MAX_BATCH: usize = 256;

/// A queued write: runs once in the writer's transaction, or is refused without running.
pub(super) trait Job: Send {
    fn run(self: Box<Self>, tx: &Transaction) -> Done;
    fn refuse(self: Box<Self>, error: DbError);
}

/// What a job did: whether its savepoint is kept, and how to answer its caller once the
/// commit is known.
pub(super) struct Done {
    keep: bool,
    answer: Box<dyn FnOnce(DbResult<()>) + Send>,
}

/// A closure and the channel its caller waits on.
pub(super) struct Write<T, F> {
    pub f: F,
    pub reply: tokio::sync::oneshot::Sender<DbResult<T>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction) -> DbResult<T> + Send,
{
    fn run(self: Box<Self>, tx: &Transaction) -> Done {
        let Write { f, reply } = *self;
        let result = f(tx);
        Done {
            keep: result.is_ok(),
            answer: Box::new(move |committed| {
                let answer = match (result, committed) {
                    (Ok(_), Err(e)) => Err(e),
                    (result, _) => result,
                };
                let _ = reply.send(answer);
            }),
        }
    }

    fn refuse(self: Box<Self>, error: DbError) {
        let _ = self.reply.send(Err(error));
    }
}

/// Writes run and commits made so far (`/metrics`): their ratio is how much grouping saves.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub writes: AtomicU64,
    pub commits: AtomicU64,
}

/// Starts the writer thread; it ends when every sender is gone.
pub(super) fn spawn(
    conn: r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager>,
    stats: Arc<WriterStats>,
) -> std::io::Result<Sender<Box<dyn Job>>> {
    let (send, jobs) = std::sync::mpsc::channel::<Box<dyn Job>>();
    std::thread::Builder::new()
        .name("pv-db-writer".into())
        .spawn(move || run(conn, &jobs, &stats))?;
    Ok(send)
}

fn run(
    mut conn: r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager>,
    jobs: &Receiver<Box<dyn Job>>,
    stats: &WriterStats,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let mut rest = batch;
        while !rest.is_empty() {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            rest = commit_batch(&mut conn, rest);
        }
    }
}

/// Runs `batch` in one transaction and commits it; returns the jobs not yet run when an
/// error made `SQLite` roll the whole transaction back (they go in a fresh one).
fn commit_batch(conn: &mut Connection, batch: Vec<Box<dyn Job>>) -> Vec<Box<dyn Job>> {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            for job in batch {
                job.refuse(DbError::Sqlite(copy_error(&e)));
            }
            return Vec::new();
        }
    };
    let mut answers = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let mut lost = None;
    for job in jobs.by_ref() {
        // Prepared once: parsing these two statements per job showed in the writer's profile.
        if let Err(e) = tx.prepare_cached("SAVEPOINT pv_job").and_then(|mut s| s.execute([])) {
            job.refuse(DbError::Sqlite(copy_error(&e)));
            lost = Some(e);
            break;
        }
        let done = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(&tx)));
        let (keep, done) = match done {
            Ok(done) => (done.keep, Some(done)),
            // The caller's channel was dropped with the job: it hears "writer gone".
            Err(_) => (false, None),
        };
        let end = if keep {
            tx.prepare_cached("RELEASE pv_job")
                .and_then(|mut s| s.execute([]))
                .map(drop)
        } else {
            tx.execute_batch("ROLLBACK TO pv_job; RELEASE pv_job")
        };
        if let Some(done) = done {
            if keep {
                answers.push(done.answer);
            } else {
                (done.answer)(Ok(()));
            }
        }
        if let Err(e) = end {
            // An error (a full disk, an I/O error) rolled the whole transaction back.
            lost = Some(e);
            break;
        }
    }
    if let Some(e) = lost {
        let _ = tx.rollback();
        for answer in answers {
            answer(Err(DbError::Sqlite(copy_error(&e))));
        }
        return jobs.collect();
    }
    let committed = tx.commit().map_err(|e| DbError::Sqlite(copy_error(&e)));
    for answer in answers {
        answer(match &committed {
            Ok(()) => Ok(()),
            Err(DbError::Sqlite(e)) => Err(DbError::Sqlite(copy_error(e))),
            Err(e) => Err(DbError::Writer(e.to_string())),
        });
    }
    Vec::new()
}

/// The same error again, for each caller of a batch that one error failed.
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => rusqlite::Error::SqliteFailure(*code, message.clone()),
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}
