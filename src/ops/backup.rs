//! `backup_set.capture`: each item captures its policy and records the version in the item
//! (identical content shares one stored copy). A backup of picked policies has its items
//! fixed at start. A whole-tenant backup starts with one `backup_list` item per type: each
//! lists its type into the inventory and adds a capture item per object it found, so the set
//! is the tenant as it is when the run runs, whatever the last sync saw.
//!
//! Policies are fetched ahead in windows of twenty (one `$batch` of GETs with assignments
//! expanded), while outcomes are still committed item by item, so a crash loses at most the
//! item in hand.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Deps;
use super::capture::{Known, fetch_documents_from, record_known_then};
use super::listing::{self, Keep};
use super::prefetch::Prefetch;
use crate::auth::role::Role;
use crate::db::backups;
use crate::db::policies::Recorded;
use crate::db::runs::{self, NewItem, Run, RunItem};
use crate::graph::GraphReader;
use crate::graph::error::ErrorCode;
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub const KIND: &str = "backup_set.capture";

pub struct Backup(pub Deps);

/// Item type of the listing phase of a whole-tenant backup (`item_id` = the policy type key).
pub const LIST_ITEM: &str = crate::db::runs::BACKUP_LIST_ITEM;

struct Ctx {
    deps: Deps,
    reader: GraphReader,
    run_id: String,
    tenant_id: String,
    set_id: String,
    /// The set's items in run order.
    order: Vec<Queued>,
    fetched: HashMap<String, Result<Value, ItemOutcome>>,
    /// Documents read ahead (several `$batch`es in flight), started by the first capture.
    prefetch: Option<Prefetch>,
    /// Types still to list (the listing phase lists them all at once).
    to_list: Vec<String>,
    listed: HashMap<String, Result<listing::Listed, ItemOutcome>>,
    /// Objects the listing read whole (types captured from their list), by policy id: they
    /// are completed instead of read again. Gone after a crash: then they are read by id.
    held: HashMap<String, Value>,
    /// Groups the captured documents' assignments target, named once the items are done.
    groups: BTreeSet<String>,
    /// Setting definitions the captured documents use, named once the items are done.
    settings: BTreeSet<String>,
}

#[async_trait]
impl RunHandler for Backup {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn required_role(&self) -> Role {
        Role::Operator
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        let reader = self.0.reader(&run.tenant_id).await?;
        let set = run.target_id.clone();
        let items = self
            .0
            .db
            .read(move |c| backups::items(c, &set))
            .await
            .map_err(|_| RunFailure {
                code: ErrorCode::Internal,
                context: json!({}),
            })?;
        let order = items
            .into_iter()
            .map(|i| Queued {
                item: i.id,
                policy: i.policy_id,
                policy_type: i.policy_type,
            })
            .collect();
        let to_list = listing::pending(&self.0, &run.id, Some(LIST_ITEM)).await?;
        Ok(Box::new(Ctx {
            deps: self.0.clone(),
            reader,
            run_id: run.id.clone(),
            tenant_id: run.tenant_id.clone(),
            set_id: run.target_id.clone(),
            order,
            fetched: HashMap::new(),
            prefetch: None,
            to_list,
            listed: HashMap::new(),
            held: HashMap::new(),
            groups: BTreeSet::new(),
            settings: BTreeSet::new(),
        }))
    }
}

impl Ctx {
    /// Lists one type into the inventory and adds an item to the set and to this run for each
    /// object found (policies already in the set are not added twice, so a listing repeated
    /// after a crash is harmless).
    async fn list(&mut self, key: &str) -> ItemOutcome {
        let Some(ty) = crate::graph::registry::by_key(key) else {
            return ItemOutcome::Skipped {
                result: Some(json!({"reason": "type no longer supported"})),
            };
        };
        if !self.listed.contains_key(key) {
            let pending: Vec<String> = std::mem::take(&mut self.to_list);
            let mut all =
                listing::list_many(&self.deps, &self.reader, &self.tenant_id, &pending, Keep::Documents).await;
            if !all.contains_key(key) {
                all.insert(
                    key.to_owned(),
                    listing::list_type(&self.deps, &self.reader, &self.tenant_id, ty, Keep::Documents).await,
                );
            }
            self.listed.extend(all);
        }
        let listed = match self.listed.remove(key) {
            Some(Ok(l)) => l,
            Some(Err(outcome)) => return outcome,
            None => {
                return ItemOutcome::Failed {
                    result: None,
                    code: ErrorCode::Internal,
                    context: json!({}),
                };
            }
        };
        self.held.extend(listed.documents);
        let (set, run, found) = (self.set_id.clone(), self.run_id.clone(), listed.current);
        let added = self
            .deps
            .db
            .write(move |tx| {
                let added = backups::append(tx, &set, &found)?;
                let items: Vec<NewItem> = added
                    .iter()
                    .map(|(id, p)| NewItem {
                        item_type: "backup_item".into(),
                        item_id: id.clone(),
                        label: p.display_name.clone(),
                    })
                    .collect();
                runs::insert_items(tx, &run, &items)?;
                Ok((added, found.len()))
            })
            .await;
        match added {
            Ok((added, found)) => {
                self.order.extend(added.into_iter().map(|(item, p)| Queued {
                    item,
                    policy: p.id,
                    policy_type: p.policy_type,
                }));
                ItemOutcome::Succeeded {
                    result: Some(json!({"listed": found, "vanished": listed.vanished})),
                }
            }
            Err(_) => ItemOutcome::Failed {
                result: None,
                code: ErrorCode::Internal,
                context: json!({}),
            },
        }
    }

    /// Fetches the window of policies starting at this item, unless already fetched; returns
    /// the item's policy id and type.
    async fn ensure_fetched(&mut self, item_id: &str) -> Option<(String, String)> {
        let pos = self.order.iter().position(|q| q.item == item_id)?;
        let (policy_id, policy_type) = (self.order[pos].policy.clone(), self.order[pos].policy_type.clone());
        if self.prefetch.is_none() {
            let ahead = self.order[pos..].iter().map(|q| q.policy.clone()).collect();
            let held = std::mem::take(&mut self.held);
            self.prefetch = Some(Prefetch::start(self.deps.clone(), self.reader.clone(), ahead, held));
        }
        while !self.fetched.contains_key(&policy_id) {
            if let Some(window) = self.prefetch.as_mut()?.next().await {
                self.fetched.extend(window);
            } else {
                // Not among what was read ahead (an item out of the order made at start).
                let held = self
                    .held
                    .remove(&policy_id)
                    .map(|d| (policy_id.clone(), d))
                    .into_iter()
                    .collect();
                let single =
                    fetch_documents_from(&self.deps, &self.reader, std::slice::from_ref(&policy_id), held).await;
                self.fetched.extend(single);
                break;
            }
        }
        Some((policy_id, policy_type))
    }
}

/// A backup item waiting in the run, with what recording its capture needs.
struct Queued {
    item: String,
    policy: String,
    policy_type: String,
}

#[async_trait]
impl RunContext for Ctx {
    /// Run items are the set's backup items (`item_id` = the backup item's id).
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        if item.item_type == LIST_ITEM {
            return self.list(&item.item_id).await;
        }
        let Some((policy_id, policy_type)) = self.ensure_fetched(&item.item_id).await else {
            return ItemOutcome::Failed {
                result: None,
                code: ErrorCode::Internal,
                context: json!({}),
            };
        };
        let document = match self.fetched.remove(&policy_id) {
            Some(Ok(d)) => {
                super::directory::collect_group_ids(&d, &mut self.groups);
                super::setting_definitions::collect_definition_ids(&d, &mut self.settings);
                d
            }
            Some(Err(outcome)) => return outcome,
            None => {
                return ItemOutcome::Skipped {
                    result: Some(json!({"reason": "the policy is no longer in the inventory"})),
                };
            }
        };
        let Some(ty) = crate::graph::registry::by_key(&policy_type) else {
            return ItemOutcome::Skipped {
                result: Some(json!({"reason": "type no longer supported"})),
            };
        };
        let known = Known {
            tenant_id: &self.tenant_id,
            ty,
            policy_id: &policy_id,
        };
        let item_id = item.item_id.clone();
        // The set's item gives the policy's tenant and type: no read before the write.
        let recorded = record_known_then(&self.deps, &known, document, &self.run_id, move |tx, r| {
            backups::set_item_version(tx, &item_id, r.version_id()).map(|_| ())
        })
        .await;
        match recorded {
            Ok(Recorded::New(v)) => ItemOutcome::Succeeded {
                result: Some(json!({"version_id": v, "unchanged": false})),
            },
            Ok(Recorded::Unchanged(v)) => ItemOutcome::Succeeded {
                result: Some(json!({"version_id": v, "unchanged": true})),
            },
            Err(outcome) => outcome,
        }
    }

    /// Every item of a backup reads (a listing, a capture): after a crash it is read again.
    fn marks_running(&self, _item: &RunItem) -> bool {
        false
    }

    async fn after_items(&mut self) {
        let groups = std::mem::take(&mut self.groups);
        super::directory::resolve_group_names(&self.deps, &self.reader, &self.tenant_id, groups).await;
        let settings = std::mem::take(&mut self.settings);
        super::setting_definitions::resolve_setting_names(&self.deps, &self.reader, &self.tenant_id, settings).await;
    }
}
