//! Notification rows for finished runs: one per run when it ends, naming the tenant and what
//! ran in words, to its initiator, or to the tenant's owners when the scheduler started it.
//! Queued and started are shown live by the progress widget, not as notifications.

use rusqlite::Connection;

use crate::clock;
use crate::db::DbResult;
use crate::db::runs::Run;
use crate::db::{drift, notifications, runs, tenants};

/// What ran, in words: "Backup", "Restore preview", …
fn what(kind: &str) -> &str {
    match kind {
        "tenant.verify" => "Connection check",
        "inventory.sync" => "Inventory sync",
        "policy.capture_snapshot" => "Snapshot",
        "backup_set.capture" => "Backup",
        "restore.preview" => "Restore preview",
        "restore.execute" => "Restore",
        "restore.rerun" => "Restore re-run",
        "drift.check" => "Drift check",
        other => other,
    }
}

fn items(n: i64) -> String {
    if n == 1 { "1 item".into() } else { format!("{n} items") }
}

fn policies(n: i64) -> String {
    if n == 1 {
        "1 policy".into()
    } else {
        format!("{n} policies")
    }
}

/// "Backup of Contoso finished: 59 of 59 policies captured."
pub fn message(run: &Run, status: &str, tenant: &str) -> String {
    let what = what(&run.kind);
    let done = match run.kind.as_str() {
        "restore.preview" => format!("{} would change, {} unchanged", run.succeeded, run.skipped),
        "restore.execute" | "restore.rerun" => format!("{} written, {} unchanged", run.succeeded, run.skipped),
        "backup_set.capture" => format!("{} of {} captured", run.succeeded, policies(run.total)),
        "inventory.sync" => format!("{} policy types listed", run.succeeded),
        "tenant.verify" => format!("{} of {} policy types readable", run.succeeded, run.total),
        _ => format!("{} done", items(run.succeeded)),
    };
    match status {
        "succeeded" => format!("{what} of {tenant} finished: {done}."),
        "partial" => format!(
            "{what} of {tenant} finished with failures: {} of {} failed.",
            run.failed,
            items(run.total)
        ),
        "failed" => match &run.error_code {
            Some(code) => format!("{what} of {tenant} failed: {}.", crate::graph::error::describe(code)),
            None => format!(
                "{what} of {tenant} failed: {} of {} failed.",
                run.failed,
                items(run.total)
            ),
        },
        "queued" => format!("{what} of {tenant} queued."),
        "running" => format!("{what} of {tenant} started."),
        other => format!("{what} of {tenant}: {other}."),
    }
}

/// "Drift check of Contoso: 2 changed, 1 removed." (only what it found; "no drift" when
/// nothing).
pub fn drift_message(tenant: &str, found: drift::Found, failed: i64) -> String {
    let mut parts = Vec::new();
    for (n, word) in [
        (found.changed, "changed"),
        (found.removed, "removed"),
        (found.added, "added"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let found = if parts.is_empty() {
        "no drift".to_owned()
    } else {
        parts.join(", ")
    };
    if failed > 0 {
        format!(
            "Drift check of {tenant}: {found}; {} could not be checked.",
            items(failed)
        )
    } else {
        format!("Drift check of {tenant}: {found}.")
    }
}

/// "Undo on Contoso: 1 policy deleted (Autopatch ring Pilot)." — what an undo did, by name.
fn undo_message(tx: &Connection, run: &Run, tenant: &str) -> DbResult<String> {
    let rows = runs::items(tx, &run.id, u32::MAX, 0)?;
    let action = |i: &&crate::db::runs::RunItem| {
        i.result
            .as_ref()
            .and_then(|r| r["action"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let named = |wanted: &str| -> Vec<String> {
        rows.iter()
            .filter(|i| i.status == "succeeded" && action(i) == wanted)
            .map(|i| i.label.strip_prefix("Delete ").unwrap_or(&i.label).to_owned())
            .collect()
    };
    let (deleted, restored) = (named("delete"), named("update"));
    let mut parts = Vec::new();
    if !deleted.is_empty() {
        parts.push(format!(
            "{} deleted ({})",
            policies(i64::try_from(deleted.len()).unwrap_or(i64::MAX)),
            deleted.join(", ")
        ));
    }
    if !restored.is_empty() {
        parts.push(format!(
            "{} put back as before ({})",
            policies(i64::try_from(restored.len()).unwrap_or(i64::MAX)),
            restored.join(", ")
        ));
    }
    if parts.is_empty() {
        parts.push("nothing needed changing".to_owned());
    }
    let failed = if run.failed > 0 {
        format!("; {} failed", items(run.failed))
    } else {
        String::new()
    };
    Ok(format!("Undo on {tenant}: {}{failed}.", parts.join(", ")))
}

/// A finished run in words, as its notification says it ("Drift check of Contoso: 2
/// changed."); empty when there is nothing worth telling (a scheduled check with no drift).
pub fn describe(tx: &Connection, run: &Run, status: &str) -> DbResult<String> {
    let tenant = tenants::get(tx, &run.tenant_id)?.map_or_else(|| "a tenant".to_owned(), |t| t.name);
    // A whole-tenant backup's listing steps are not policies: "66 of 66 policies captured"
    // leaves them out (a failure stays counted among all steps, a listing may be what failed).
    let mut counted = run.clone();
    if run.kind == "backup_set.capture" && status == "succeeded" {
        (counted.total, counted.succeeded, counted.failed, counted.skipped) =
            runs::counts_without(tx, &run.id, runs::BACKUP_LIST_ITEM)?;
    }
    let text = if run.kind == drift::CHECK_KIND && status != "failed" {
        let found = drift::found(tx, &run.id)?;
        // The scheduler checks after every backup: only drift (or a failure) is news.
        if run.initiated_by.is_none() && status == "succeeded" && found.total() == 0 {
            return Ok(String::new());
        }
        drift_message(&tenant, found, run.failed)
    } else if run.kind == "restore.execute" && run.target_type == "undo" && status != "failed" {
        undo_message(tx, run, &tenant)?
    } else {
        message(&counted, status, &tenant)
    };
    Ok(text)
}

/// Writes the notification for `status` in the caller's transaction: only when the run ends.
pub fn record(tx: &Connection, run: &Run, status: &str) -> DbResult<()> {
    if !matches!(status, "succeeded" | "partial" | "failed") {
        return Ok(());
    }
    let recipients = match &run.initiated_by {
        Some(user) => vec![user.clone()],
        None => notifications::owner_ids(tx, &run.tenant_id)?,
    };
    let text = describe(tx, run, status)?;
    if text.is_empty() {
        return Ok(());
    }
    let now = clock::now();
    for user in recipients {
        notifications::insert(tx, &user, &run.tenant_id, &run.id, status, &text, &now)?;
    }
    Ok(())
}
