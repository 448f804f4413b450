//! Notification rows for a run's state changes: to its initiator, or to the tenant's owners
//! when the scheduler started it.

use rusqlite::Connection;

use crate::clock;
use crate::db::DbResult;
use crate::db::notifications;
use crate::db::runs::Run;

pub fn message(run: &Run, status: &str) -> String {
    let what = run.kind.replace(['.', '_'], " ");
    match status {
        "queued" => format!("{what} queued"),
        "running" => format!("{what} started"),
        "succeeded" => format!("{what} succeeded ({} of {} items)", run.succeeded, run.total),
        "partial" => format!("{what} finished with {} failed of {} items", run.failed, run.total),
        "failed" => match &run.error_code {
            Some(code) => format!("{what} failed: {code}"),
            None => format!("{what} failed ({} of {} items failed)", run.failed, run.total),
        },
        other => format!("{what} {other}"),
    }
}

/// Writes the notification for `status` in the caller's transaction.
pub fn record(tx: &Connection, run: &Run, status: &str) -> DbResult<()> {
    let recipients = match &run.initiated_by {
        Some(user) => vec![user.clone()],
        None => notifications::owner_ids(tx, &run.tenant_id)?,
    };
    let text = message(run, status);
    let now = clock::now();
    for user in recipients {
        notifications::insert(tx, &user, &run.tenant_id, &run.id, status, &text, &now)?;
    }
    Ok(())
}
