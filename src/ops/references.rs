//! References between objects (`registry::Ref`): a policy's assignment names a filter, a
//! compliance policy its notification template, a Conditional Access policy its named
//! locations… A restore writes what is referred to first (`PolicyType::order`); when such an
//! object is re-created with a new id, every reference to it in the same restore is
//! rewritten. A reference to an object the inventory knows to be deleted, and that this
//! restore does not bring back, fails the item closed (`unresolved_reference`).

use serde_json::{Value, json};

use super::Deps;
use crate::db::{DbResult, backups, policies};
use crate::graph::registry::{self, PolicyType};

/// Values that name no object (everyone, the Default scope tag, none).
const NOT_OBJECTS: &[&str] = &[
    "",
    "All",
    "AllTrusted",
    "None",
    "0",
    "00000000-0000-0000-0000-000000000000",
];

/// One reference found in a document.
#[derive(Debug, Clone)]
pub struct Found {
    /// JSON pointer of the value, e.g. `/assignments/0/target/deviceAndAppManagementAssignmentFilterId`.
    pub pointer: String,
    pub id: String,
    /// The referenced type's key (`*`: any type, for policy set items).
    pub target: &'static str,
}

/// Every reference a document of this type holds.
pub fn find(ty: &PolicyType, document: &Value) -> Vec<Found> {
    let mut out = Vec::new();
    for r in ty.refs {
        let segments: Vec<&str> = r.path.split('/').collect();
        walk(document, &segments, String::new(), &mut |pointer, v| {
            if let Some(id) = v.as_str().filter(|id| !NOT_OBJECTS.contains(id)) {
                out.push(Found {
                    pointer,
                    id: id.to_owned(),
                    target: r.target,
                });
            }
        });
    }
    out
}

fn walk(v: &Value, segments: &[&str], pointer: String, f: &mut dyn FnMut(String, &Value)) {
    let Some((first, rest)) = segments.split_first() else {
        f(pointer, v);
        return;
    };
    if *first == "*" {
        for (i, item) in v.as_array().into_iter().flatten().enumerate() {
            walk(item, rest, format!("{pointer}/{i}"), f);
        }
    } else if let Some(next) = v.get(*first) {
        walk(next, rest, format!("{pointer}/{first}"), f);
    }
}

/// What became of one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The object exists (or the inventory does not know it: Graph judges).
    Live,
    /// Re-created in this restore under this id.
    Recreated(String),
    /// Deleted, but this restore brings it back (a preview cannot know the new id yet).
    WillBeRecreated,
    /// Deleted, and not part of this restore.
    Unresolved,
}

/// How each reference of a document stands, for the restore run `run_id` in `tenant_id`. An
/// object re-created by a restore (this one or an earlier one) keeps its old Graph id as an
/// alias, so a reference to the old id is rewritten to the new one.
pub async fn resolve(deps: &Deps, tenant_id: &str, run_id: &str, refs: Vec<Found>) -> DbResult<Vec<(Found, Status)>> {
    let (tenant, run) = (tenant_id.to_owned(), run_id.to_owned());
    deps.db
        .read(move |c| {
            refs.into_iter()
                .map(|r| {
                    let status = stored_status(c, &tenant, &run, &r)?;
                    Ok((r, status))
                })
                .collect::<DbResult<Vec<_>>>()
        })
        .await
}

fn stored_status(c: &rusqlite::Connection, tenant: &str, run: &str, r: &Found) -> DbResult<Status> {
    let candidates: Vec<&PolicyType> = if r.target == "*" {
        registry::TYPES.iter().collect()
    } else {
        registry::by_key(r.target).into_iter().collect()
    };
    for ty in candidates {
        let (policy, moved) = match policies::by_graph_id(c, tenant, ty.key, &r.id)? {
            Some(p) => (p, false),
            None => match policies::by_old_graph_id(c, tenant, ty.key, &r.id)? {
                Some(p) => (p, true),
                None => continue,
            },
        };
        return Ok(match (policy.deleted, moved) {
            (false, false) => Status::Live,
            (false, true) => Status::Recreated(policy.graph_id),
            (true, _) if backups::run_restores_policy(c, run, &policy.id)? => Status::WillBeRecreated,
            (true, _) => Status::Unresolved,
        });
    }
    Ok(Status::Live)
}

/// Writes the new ids of re-created objects into the document.
pub fn rewrite(document: &mut Value, resolved: &[(Found, Status)]) {
    for (r, status) in resolved {
        if let Status::Recreated(new) = status
            && let Some(v) = document.pointer_mut(&r.pointer)
        {
            *v = Value::String(new.clone());
        }
    }
}

/// The references worth showing: rewritten, to be rewritten, or unresolved.
pub fn report(resolved: &[(Found, Status)]) -> Vec<Value> {
    resolved
        .iter()
        .filter_map(|(r, s)| {
            let (status, new) = match s {
                Status::Live => return None,
                Status::Recreated(new) => ("rewritten", Some(new.clone())),
                Status::WillBeRecreated => ("rewritten when re-created", None),
                Status::Unresolved => ("unresolved", None),
            };
            Some(json!({"path": r.pointer, "type": r.target, "id": r.id, "status": status, "new_id": new}))
        })
        .collect()
}

/// A label for an unresolved reference (type and id), for the item's error context.
pub fn describe(r: &Found) -> String {
    let label = registry::by_key(r.target).map_or("object", |t| t.label);
    format!("{label} {} (at {})", r.id, r.pointer)
}
