//! `dashboard`: the tenant table (the dashboard) of an MSP with many customers, rendered by
//! the real server for a signed-in superadmin. Tenants are created over the API; their
//! history (runs of every kind and outcome, backup sets) is written straight into the
//! server's database with the crate's own functions, as months of use would leave it.

use std::time::Instant;

use policyvault::db::runs::{self, NewRun};
use serde_json::json;

use crate::server::Server;

/// Runs per tenant: syncs, backups, verifies, a restore, in every outcome.
const KINDS: [(&str, &str, &str); 5] = [
    ("inventory.sync", "tenant", "succeeded"),
    ("backup_set.capture", "backup_set", "succeeded"),
    ("backup_set.capture", "backup_set", "partial"),
    ("tenant.verify", "tenant", "failed"),
    ("drift.check", "tenant", "succeeded"),
];

pub async fn run(tenants: usize, runs_per_tenant: usize, requests: usize) -> anyhow::Result<()> {
    let server = Server::start(crate::server::DEFAULT_WORKERS).await?;
    let mut ids = Vec::with_capacity(tenants);
    for n in 0..tenants {
        let t = server
            .post(
                "/api/v1/tenants",
                &json!({"name": format!("Customer {n:03}"), "entra_tenant_id": uuid_like(n), "client_id": uuid_like(n + 100_000),
                        "client_secret": "bench-secret", "cloud": "global"}),
            )
            .await?;
        ids.push(t["id"].as_str().unwrap_or_default().to_owned());
    }
    let db = policyvault::db::Db::open(&server.dir.join(policyvault::startup::DB_FILE))?;
    let written = Instant::now();
    let list = ids.clone();
    db.write(move |tx| {
        for tid in &list {
            for k in 0..runs_per_tenant {
                let (kind, target_type, status) = KINDS[k % KINDS.len()];
                let (id, set) = (policyvault::clock::new_id(), policyvault::clock::new_id());
                let target = if target_type == "tenant" {
                    tid.clone()
                } else {
                    set.clone()
                };
                let now = policyvault::clock::now();
                runs::insert_or_reuse(
                    tx,
                    &NewRun {
                        id: &id,
                        tenant_id: tid,
                        kind,
                        target_type,
                        target_id: &target,
                        dry_run: false,
                        initiated_by: None,
                        initiator_label: "bench",
                        required_role: "operator",
                        parent_run_id: None,
                        params: "{}",
                        now: &now,
                    },
                )?;
                tx.execute(
                    "UPDATE runs SET status = ?2, started_at = ?3, finished_at = ?3 WHERE id = ?1",
                    rusqlite::params![id, status, now],
                )?;
                if kind == "backup_set.capture" {
                    tx.execute(
                        "INSERT INTO backup_sets (id, tenant_id, name, origin, created_at, capture_run_id)
                         VALUES (?1, ?2, 'Nightly', 'scheduled', ?3, ?4)",
                        rusqlite::params![set, tid, now, id],
                    )?;
                }
            }
        }
        Ok(())
    })
    .await?;
    let write_time = written.elapsed();
    drop(db);

    let mut rows = Vec::new();
    for (what, query) in [("all tenants", ""), ("search \"Customer 4\"", "?q=Customer+4")] {
        let url = server.url(&format!("/{query}"));
        let (times, bytes) = crate::server::time_page(&server, &url, requests).await?;
        rows.push((what, times, bytes));
    }
    println!(
        "\ndashboard of {tenants} tenants with {runs_per_tenant} finished runs each ({} runs, history written in {:.1} s), {requests} sequential GETs, signed-in superadmin\n",
        tenants * runs_per_tenant,
        write_time.as_secs_f64()
    );
    crate::server::print_page_rows(&rows);
    Ok(())
}

/// A GUID-shaped id, distinct per `n`.
fn uuid_like(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}
