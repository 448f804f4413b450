//! `big-run-page`: the run detail page of a finished run with many items, rendered by the
//! real server for a signed-in browser session. The run and its items are written straight
//! into the server's database with the crate's own functions (one transaction, so no worker
//! ever sees the run queued); a real backup of 10,000 policies would take minutes of pacing.

use std::time::Instant;

use policyvault::db::runs::{self, NewItem, NewRun};
use policyvault::sim::SimHandle;
use policyvault::sim::state::Faults;

use crate::server::Server;

pub async fn run(items: usize, requests: usize) -> anyhow::Result<()> {
    let sim = SimHandle::start("127.0.0.1:0".parse()?, 10, Faults::default()).await?;
    let server = Server::start(crate::server::DEFAULT_WORKERS).await?;
    let (tid, _) = server.sim_tenant(&sim, "Big run", 1).await?;

    let db = policyvault::db::Db::open(&server.dir.join(policyvault::startup::DB_FILE))?;
    let rid = policyvault::clock::new_id();
    let (r, t) = (rid.clone(), tid.clone());
    let inserted = Instant::now();
    db.write(move |tx| {
        let now = policyvault::clock::now();
        let set = policyvault::clock::new_id();
        runs::insert_or_reuse(
            tx,
            &NewRun {
                id: &r,
                tenant_id: &t,
                kind: "backup_set.capture",
                target_type: "backup_set",
                target_id: &set,
                dry_run: false,
                initiated_by: None,
                initiator_label: "bench",
                required_role: "operator",
                parent_run_id: None,
                params: "{}",
                now: &now,
            },
        )?;
        let list: Vec<NewItem> = (0..items)
            .map(|n| NewItem {
                item_type: "backup_item".into(),
                item_id: policyvault::clock::new_id(),
                label: format!("Policy {n:05} (Settings catalog)"),
            })
            .collect();
        runs::insert_items(tx, &r, &list)?;
        // One in a hundred failed, the rest succeeded with a version, as a real backup shows.
        tx.execute(
            "UPDATE run_items SET started_at = ?2, finished_at = ?2,
                status = CASE WHEN seq % 100 = 99 THEN 'failed' ELSE 'succeeded' END,
                error_code = CASE WHEN seq % 100 = 99 THEN 'graph_unavailable' END,
                error_context = CASE WHEN seq % 100 = 99 THEN '{\"http_status\":503}' END,
                result = CASE WHEN seq % 100 = 99 THEN NULL ELSE json_object('version_id', id, 'unchanged', json('false')) END
             WHERE run_id = ?1",
            rusqlite::params![r, now],
        )?;
        tx.execute(
            "UPDATE runs SET status = 'partial', started_at = ?2, finished_at = ?2 WHERE id = ?1",
            rusqlite::params![r, now],
        )?;
        runs::recount(tx, &r)
    })
    .await?;
    let insert_time = inserted.elapsed();
    drop(db);

    let pages = items.div_ceil(100).max(1);
    let mut rows = Vec::new();
    for (what, query) in [("first page", String::new()), ("last page", format!("?page={pages}"))] {
        let url = server.url(&format!("/t/{tid}/runs/{rid}{query}"));
        let (times, bytes) = crate::server::time_page(&server, &url, requests).await?;
        rows.push((what, times, bytes));
    }
    println!(
        "\nrun detail page of a {items}-item run (100 items per page), {requests} sequential GETs each, signed-in session; items written in {:.1} s\n",
        insert_time.as_secs_f64()
    );
    crate::server::print_page_rows(&rows);
    sim.stop();
    Ok(())
}
