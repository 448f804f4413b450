//! `restore.execute` (and `restore.rerun`, an execute of a parent's items). Before writing
//! anything it captures the current state of every policy it will touch into a "before
//! restore" set (the undo point); then per item, in dependency order: rewrite references to
//! objects re-created with new ids (or fail closed), create or update, assign, and read back
//! to verify.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Deps, failed, include_assignments, masked_reason, noted, references_of, source, unresolved};
use crate::auth::role::Role;
use crate::clock;
use crate::db::backups::{self, NewSet, RestoreSource};
use crate::db::runs::{Run, RunItem};
use crate::db::{policies, runs as run_rows};
use crate::graph::canonical::content_hash;
use crate::graph::error::ErrorCode;
use crate::graph::registry::{self, PolicyType};
use crate::graph::{GraphReader, GraphWriter, policy, recipes};
use crate::ops::capture::{fetch_documents, record_document};
use crate::ops::conditional_access as ca;
use crate::ops::references;
use crate::ops::restore_plan::{Plan, comparable, live_or_gone, plan, plan_against};
use crate::ops::sealing::{Sealer, diff_without_secrets};
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

/// Live restore; also runs `restore.rerun`, which differs only in how it was started.
pub struct Execute(pub Deps, pub &'static str);

struct ExecuteCtx {
    writer: GraphWriter,
    deps: Deps,
    sealer: Sealer,
    run_id: String,
    ca: CaRules,
    /// An undo puts back exactly what was there before, dangling references included: it
    /// rewrites nothing.
    rewrite_references: bool,
    assignments: bool,
    /// Backup items still to do, in run order, with what they restore (type, Graph id).
    order: Vec<(String, &'static PolicyType, String)>,
    /// The live state of the next items, read ahead in `$batch` windows (`None`: gone).
    live: HashMap<String, Result<Option<Value>, ItemOutcome>>,
}

/// How the run writes Conditional Access policies.
struct CaRules {
    /// A created policy keeps its captured state (else it lands in report-only).
    keep_state: bool,
    /// A write that tightens a policy enforced on all users with no exclusion is refused:
    /// unless the owner accepted the tightening, or the run is an undo (which puts back what
    /// was live minutes before).
    guard: bool,
}

/// The Conditional Access changes writing `doc` as planned makes that tighten access (none
/// for other types).
fn tightening(ty: &PolicyType, plan: &Plan, doc: &Value) -> Vec<String> {
    if !ca::is_ca(ty) {
        return Vec::new();
    }
    match plan {
        Plan::Update { live, .. } => ca::tightening(Some(live), doc),
        Plan::Create => ca::tightening(None, doc),
        Plan::Unchanged => Vec::new(),
    }
}

/// An item made ready to write, or its outcome when there is nothing to write.
enum Prepared {
    Done(ItemOutcome),
    Write {
        ty: &'static PolicyType,
        src: RestoreSource,
        doc: Value,
        plan: Plan,
        report: Value,
    },
}

/// Types restored strictly one object at a time: a policy set's items and an enrollment
/// configuration's priority depend on the others of their type.
const SERIAL_TYPES: [&str; 2] = ["policy_set", "enrollment_configuration"];

/// Items whose live state is read ahead in one `$batch`. Small enough that the state is
/// seconds old when its item is written; verify-after-write checks the result anyway.
const READ_AHEAD: usize = 20;

#[async_trait]
impl RunHandler for Execute {
    fn kind(&self) -> &'static str {
        self.1
    }

    fn required_role(&self) -> Role {
        Role::Owner
    }

    fn audit_on_finish(&self) -> Option<&'static str> {
        Some("restore.finished")
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        let writer = self.0.writer(&run.tenant_id).await?;
        if run.before_backup_set_id.is_none() {
            snapshot_before(&self.0, writer.reader(), run).await?;
        }
        Ok(Box::new(ExecuteCtx {
            writer,
            deps: self.0.clone(),
            sealer: self.0.sealer(&run.tenant_id),
            run_id: run.id.clone(),
            ca: CaRules {
                keep_state: ca::keeps_state(run),
                guard: !ca::accepts_tightening(run) && run.target_type != "undo",
            },
            rewrite_references: run.target_type != "undo",
            assignments: include_assignments(run),
            order: pending_targets(&self.0, run).await?,
            live: HashMap::new(),
        }))
    }
}

/// The run's unfinished backup items with the type and Graph id each restores.
async fn pending_targets(deps: &Deps, run: &Run) -> Result<Vec<(String, &'static PolicyType, String)>, RunFailure> {
    let rid = run.id.clone();
    let found = deps
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for item in run_rows::unfinished_items(c, &rid)? {
                if let Some(src) = backups::restore_source(c, &item.item_id)? {
                    out.push((item.item_id, src.policy_type, src.graph_id));
                }
            }
            Ok(out)
        })
        .await
        .map_err(|_| RunFailure {
            code: ErrorCode::Internal,
            context: json!({}),
        })?;
    Ok(found
        .into_iter()
        .filter_map(|(item, ty, gid)| Some((item, registry::by_key(&ty)?, gid)))
        .collect())
}

/// Captures what the restore will overwrite into a `before_restore` set linked to the run.
/// Done once per run (a resumed run keeps its first snapshot).
async fn snapshot_before(deps: &Deps, reader: &GraphReader, run: &Run) -> Result<(), RunFailure> {
    let internal = |_| RunFailure {
        code: ErrorCode::Internal,
        context: json!({}),
    };
    let (rid, tid) = (run.id.clone(), run.tenant_id.clone());
    let policy_ids: Vec<String> = deps
        .db
        .read(move |c| {
            let items = run_rows::items(c, &rid, u32::MAX, 0)?;
            let mut ids = Vec::with_capacity(items.len());
            for i in &items {
                // An undo's delete item names the object it deletes: its last state is
                // what the set keeps, so the undo itself can be undone.
                let id = if i.item_type == "delete" {
                    match i.item_id.split_once(':') {
                        Some((ty, gid)) => policies::by_graph_id(c, &tid, ty, gid)?.map(|p| p.id),
                        None => None,
                    }
                } else {
                    backups::restore_source(c, &i.item_id)?.map(|s| s.policy_id)
                };
                ids.extend(id);
            }
            Ok(ids)
        })
        .await
        .map_err(internal)?;
    let documents = fetch_documents(deps, reader, &policy_ids).await;
    // Objects that no longer exist have nothing to save (their restore creates them).
    let present: Vec<(String, Value)> = documents
        .into_iter()
        .filter_map(|(id, d)| d.ok().map(|d| (id, d)))
        .collect();
    let mut versions = Vec::new();
    for (pid, doc) in &present {
        if let Ok(rec) = record_document(deps, pid, doc, &run.id).await {
            versions.push((
                pid.clone(),
                match rec {
                    policies::Recorded::New(v) | policies::Recorded::Unchanged(v) => v,
                },
            ));
        }
    }
    // Only creates (every object was gone): nothing was there to keep, and an empty
    // "Before restore … 0 of 0" set would only puzzle whoever finds it.
    if versions.is_empty() {
        return Ok(());
    }
    let (tenant, rid, name) = (
        run.tenant_id.clone(),
        run.id.clone(),
        // No time in the name: pages show the set's time beside it in the reader's zone.
        "Before restore".to_owned(),
    );
    deps.db
        .write(move |tx| {
            let chosen: Vec<policies::Policy> = versions
                .iter()
                .filter_map(|(pid, _)| policies::get(tx, pid).ok().flatten())
                .collect();
            let set_id = clock::new_id();
            let item_ids = backups::insert(
                tx,
                &NewSet {
                    id: &set_id,
                    tenant_id: &tenant,
                    name: &name,
                    origin: "before_restore",
                    schedule_id: None,
                    now: &clock::now(),
                },
                &chosen,
            )?;
            for (item, (_, version)) in item_ids.iter().zip(&versions) {
                backups::set_item_version(tx, item, version)?;
            }
            backups::set_capture_run(tx, &set_id, &rid)?;
            tx.execute(
                "UPDATE runs SET before_backup_set_id = ?2 WHERE id = ?1",
                [&rid, &set_id],
            )?;
            Ok(())
        })
        .await
        .map_err(internal)
}

impl ExecuteCtx {
    /// An undo's delete item, `"{type}:{graph_id}"`; a missing object counts as deleted.
    async fn delete(&self, target: &str) -> ItemOutcome {
        let Some((ty, graph_id)) = target
            .split_once(':')
            .and_then(|(t, id)| Some((registry::by_key(t)?, id)))
        else {
            return failed(ErrorCode::Internal);
        };
        let path = match crate::graph::path::under(ty.collection, graph_id) {
            Ok(p) => p,
            Err(e) => return failed(e.code),
        };
        let outcome = match self.writer.delete(&path).await {
            Ok(_) => ItemOutcome::Succeeded {
                result: Some(json!({"action": "delete", "graph_id": graph_id})),
            },
            Err(e) if e.code == ErrorCode::GraphNotFound => ItemOutcome::Succeeded {
                result: Some(json!({"action": "delete", "graph_id": graph_id, "already_gone": true})),
            },
            Err(e) => ItemOutcome::Failed {
                result: Some(json!({"action": "delete", "graph_id": graph_id})),
                code: e.code,
                context: e.context,
            },
        };
        if matches!(outcome, ItemOutcome::Succeeded { .. }) {
            self.forget(ty, graph_id).await;
        }
        outcome
    }

    /// The inventory follows the product's own delete: the policy it deleted is deleted.
    async fn forget(&self, ty: &PolicyType, graph_id: &str) {
        let (tenant, key, gid) = (self.sealer.tenant_id.clone(), ty.key, graph_id.to_owned());
        let marked = self
            .deps
            .db
            .write(move |tx| {
                if let Some(p) = policies::by_graph_id(tx, &tenant, key, &gid)? {
                    policies::mark_deleted(tx, &p.id)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = marked {
            tracing::warn!(error = %e, "could not mark a deleted policy in the inventory");
        }
    }

    /// The inventory follows the product's own create: the policy now is the object the
    /// restore made (its new Graph id), live, with what was read back as its newest version.
    async fn adopt(&self, policy_id: &str, ty: &PolicyType, graph_id: &str, back: &Value) {
        let (pid, gid, name) = (
            policy_id.to_owned(),
            graph_id.to_owned(),
            ty.display_name(back).to_owned(),
        );
        let repointed = self
            .deps
            .db
            .write(move |tx| policies::repoint(tx, &pid, &gid, &name, &clock::now()))
            .await;
        if repointed.is_err()
            || record_document(&self.deps, policy_id, back, &self.run_id)
                .await
                .is_err()
        {
            tracing::warn!(policy_id, "could not record a re-created policy in the inventory");
        }
    }

    /// Reads the object back and compares it with what we meant to write (secrets through
    /// the same plain-text read, as references); also the object as read, when it could be.
    async fn verify(&self, ty: &PolicyType, graph_id: &str, doc: &Value, action: &str) -> (ItemOutcome, Option<Value>) {
        let back = match policy::capture(self.writer.reader(), ty, graph_id).await {
            Ok(b) => self.sealer.references(ty, b),
            Err(e) => {
                let failed = ItemOutcome::Failed {
                    result: Some(json!({"action": action, "graph_id": graph_id})),
                    code: e.code,
                    context: e.context,
                };
                return (failed, None);
            }
        };
        let (want, have) = (
            comparable(ty, doc, self.assignments),
            comparable(ty, &back, self.assignments),
        );
        let outcome = if content_hash(&want) == content_hash(&have) {
            ItemOutcome::Succeeded {
                result: Some(json!({"action": action, "graph_id": graph_id, "verified": true})),
            }
        } else {
            ItemOutcome::Failed {
                result: Some(
                    json!({"action": action, "graph_id": graph_id, "diff": diff_without_secrets(&want, &have)}),
                ),
                code: ErrorCode::VerifyMismatch,
                context: json!({"policy_type": ty.key}),
            }
        };
        (outcome, Some(back))
    }

    /// What to do with this item, from the live state read ahead for its window (or read
    /// now, for an item outside the list made at start).
    async fn plan_for(
        &mut self,
        item_id: &str,
        ty: &PolicyType,
        src: &RestoreSource,
        doc: &Value,
    ) -> Result<Plan, ItemOutcome> {
        if !self.live.contains_key(item_id)
            && let Some(pos) = self.order.iter().position(|(i, _, _)| i == item_id)
        {
            let window: Vec<(String, &'static PolicyType, String)> =
                self.order[pos..].iter().take(READ_AHEAD).cloned().collect();
            let wanted: Vec<(&PolicyType, String)> = window.iter().map(|(_, t, g)| (*t, g.clone())).collect();
            let reads = policy::capture_many(self.writer.reader(), &wanted).await;
            for ((item, ty, _), read) in window.into_iter().zip(reads) {
                self.live.insert(item, live_or_gone(&self.sealer, ty, read));
            }
        }
        match self.live.remove(item_id) {
            Some(live) => live.map(|l| plan_against(ty, l, doc, self.assignments)),
            None => {
                plan(
                    self.writer.reader(),
                    &self.sealer,
                    ty,
                    &src.graph_id,
                    doc,
                    self.assignments,
                )
                .await
            }
        }
    }

    /// The backed-up document with its secret values opened, for the write body only.
    async fn opened(&self, ty: &'static PolicyType, doc: &Value, creating: bool) -> Result<Value, ItemOutcome> {
        let (sealer, doc) = (self.sealer.clone(), doc.clone());
        let skip = |reason: String| ItemOutcome::Skipped {
            result: Some(json!({"action": "skip", "reason": reason})),
        };
        match self.deps.db.read(move |c| sealer.open(c, ty, doc)).await {
            Ok(Ok(opened)) if creating && !opened.missing.is_empty() => Err(skip(format!(
                "Graph does not return the {} of this profile, so the backup cannot hold it; create the profile by hand (an update keeps the live value)",
                opened.missing.join(", ")
            ))),
            Ok(Ok(opened)) => Ok(opened.document),
            Ok(Err(setting)) => Err(skip(masked_reason(&setting))),
            Err(_) => Err(failed(ErrorCode::Internal)),
        }
    }

    /// Everything before the writes: references rewritten, the plan made from the live state,
    /// and the reasons not to write. Needs `&mut self` (the read-ahead cache); the writes in
    /// `finish` need only `&self`, so two items' writes can overlap.
    async fn prepare_item(&mut self, item: &RunItem) -> Prepared {
        let (src, ty, doc) = match source(&self.deps, item).await {
            Ok(s) => s,
            Err(o) => return Prepared::Done(o),
        };
        // References to objects re-created with new ids (in this restore or an earlier one)
        // are rewritten before anything is compared or written.
        let resolved = if self.rewrite_references {
            match references_of(&self.deps, &self.sealer.tenant_id, &self.run_id, ty, &doc).await {
                Ok(r) => r,
                Err(o) => return Prepared::Done(o),
            }
        } else {
            Vec::new()
        };
        let mut doc = doc;
        references::rewrite(&mut doc, &resolved);
        let report = json!(references::report(&resolved));
        let plan = match self.plan_for(&item.item_id, ty, &src, &doc).await {
            Ok(p) => p,
            Err(o) => return Prepared::Done(o),
        };
        if matches!(plan, Plan::Unchanged) {
            let outcome = ItemOutcome::Skipped {
                result: Some(json!({"action": "unchanged", "graph_id": src.graph_id})),
            };
            return Prepared::Done(noted(outcome, "references", report));
        }
        if let Some(reason) = recipes::unrestorable(ty, &doc) {
            return Prepared::Done(ItemOutcome::Skipped {
                result: Some(json!({"action": "skip", "reason": reason})),
            });
        }
        if let Some(failure) = unresolved(ty, &resolved, plan.action()) {
            return Prepared::Done(failure);
        }
        if ca::is_ca(ty) && matches!(plan, Plan::Create) {
            doc = ca::as_created(doc, self.ca.keep_state);
        }
        // Judged against the live state read just now, not the preview's.
        if self.ca.guard && ca::is_ca(ty) && ca::unguarded(&doc) {
            let tightens = tightening(ty, &plan, &doc);
            if !tightens.is_empty() {
                return Prepared::Done(ItemOutcome::Failed {
                    result: Some(json!({"action": plan.action(), "tightens": tightens})),
                    code: ErrorCode::TighteningNotAccepted,
                    context: json!({"policy_type": ty.key, "reason": ca::REFUSED}),
                });
            }
        }
        Prepared::Write {
            ty,
            src,
            doc,
            plan,
            report,
        }
    }

    /// The writes of a prepared item (none when it was decided already).
    async fn finish(&self, prepared: Prepared) -> ItemOutcome {
        match prepared {
            Prepared::Done(outcome) => outcome,
            Prepared::Write {
                ty,
                src,
                doc,
                plan,
                report,
            } => {
                let outcome = noted(self.write_planned(ty, &src, &doc, &plan).await, "references", report);
                // What the owner accepted, on the record of the restore.
                noted(outcome, "tightens", json!(tightening(ty, &plan, &doc)))
            }
        }
    }

    /// The Graph type a backup item restores, from the list made at start.
    fn type_of(&self, item_id: &str) -> Option<&'static PolicyType> {
        self.order.iter().find(|(i, _, _)| i == item_id).map(|(_, ty, _)| *ty)
    }

    /// Creates or updates, assigns and verifies one item whose plan needs a write.
    async fn write_planned(
        &self,
        ty: &'static PolicyType,
        src: &RestoreSource,
        doc: &Value,
        plan: &Plan,
    ) -> ItemOutcome {
        let unsealed = match self.opened(ty, doc, matches!(plan, Plan::Create)).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let written = match plan {
            Plan::Update { live, .. } => policy::update(&self.writer, ty, &src.graph_id, &unsealed, live)
                .await
                .map(|()| src.graph_id.clone()),
            _ => policy::create(&self.writer, ty, &unsealed).await,
        };
        let action = plan.action();
        let graph_id = match written {
            Ok(id) => id,
            Err(e) => {
                return ItemOutcome::Failed {
                    result: Some(json!({"action": action})),
                    code: e.code,
                    context: e.context,
                };
            }
        };
        if self.assignments
            && assignments_differ(plan, doc)
            && let Err(e) = policy::assign(&self.writer, ty, &graph_id, &unsealed).await
        {
            return ItemOutcome::Failed {
                result: Some(json!({"action": action, "graph_id": graph_id})),
                code: e.code,
                context: e.context,
            };
        }
        let (outcome, back) = self.verify(ty, &graph_id, doc, action).await;
        if action == "create"
            && let Some(back) = back
        {
            self.adopt(&src.policy_id, ty, &graph_id, &back).await;
        }
        outcome
    }
}

/// Whether the assignments must be written: they differ from the live ones (a new object has
/// none). Saves a write per unchanged list: writes are what Intune's limits pace.
fn assignments_differ(plan: &Plan, doc: &Value) -> bool {
    let wanted = recipes::collection(doc, "assignments");
    match plan {
        Plan::Update { live, .. } => wanted != recipes::collection(live, "assignments"),
        _ => wanted.as_array().is_some_and(|a| !a.is_empty()),
    }
}

#[async_trait]
impl RunContext for ExecuteCtx {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        if item.item_type == "delete" {
            return self.delete(&item.item_id).await;
        }
        let prepared = self.prepare_item(item).await;
        self.finish(prepared).await
    }

    /// Two objects of the same type never reference each other, so their writes may
    /// overlap: one item's create waits on the write pacing while the other's read-back
    /// travels, instead of the budget idling through each item's three round trips.
    /// Types whose objects interact (policy sets, enrollment priorities) stay one by one.
    fn pairs(&self, item: &RunItem, next: &RunItem) -> bool {
        if item.item_type == "delete" || next.item_type == "delete" {
            return false;
        }
        match (self.type_of(&item.item_id), self.type_of(&next.item_id)) {
            (Some(a), Some(b)) => a.key == b.key && !SERIAL_TYPES.contains(&a.key),
            _ => false,
        }
    }

    async fn process_pair(&mut self, a: &RunItem, b: &RunItem) -> (ItemOutcome, ItemOutcome) {
        let first = self.prepare_item(a).await;
        let second = self.prepare_item(b).await;
        let this = &*self;
        tokio::join!(this.finish(first), this.finish(second))
    }

    /// A write caught mid-flight by a crash: never repeated blindly. If the tenant already
    /// holds the backed-up content (under the original id, or as a same-named object a create
    /// made), the item succeeded; otherwise its outcome is unknown.
    async fn recover(&mut self, item: &RunItem) -> Option<ItemOutcome> {
        if item.item_type == "delete" {
            // Deleting is idempotent: do it (or confirm it is gone) again.
            return None;
        }
        let (src, ty, doc) = match source(&self.deps, item).await {
            Ok(s) => s,
            Err(o) => return Some(o),
        };
        let want = content_hash(&comparable(ty, &doc, self.assignments));
        if let Ok(Plan::Unchanged) = plan(
            self.writer.reader(),
            &self.sealer,
            ty,
            &src.graph_id,
            &doc,
            self.assignments,
        )
        .await
        {
            return Some(ItemOutcome::Succeeded {
                result: Some(json!({"action": "update", "graph_id": src.graph_id, "recovered": true})),
            });
        }
        if let Ok(all) = self.writer.reader().list(ty.collection).await {
            for o in all.iter().filter(|o| ty.display_name(o) == ty.display_name(&doc)) {
                let Some(id) = o["id"].as_str() else { continue };
                let Ok(full) = policy::capture(self.writer.reader(), ty, id).await else {
                    continue;
                };
                let back = self.sealer.references(ty, full);
                if content_hash(&comparable(ty, &back, self.assignments)) == want {
                    self.adopt(&src.policy_id, ty, id, &back).await;
                    return Some(ItemOutcome::Succeeded {
                        result: Some(json!({"action": "create", "graph_id": id, "recovered": true})),
                    });
                }
            }
        }
        Some(ItemOutcome::Failed {
            result: Some(json!({"action": "unknown"})),
            code: ErrorCode::OutcomeUnknown,
            context: json!({"policy_type": ty.key}),
        })
    }
}
