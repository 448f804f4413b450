//! What a restore would do to one item: shared by preview (which only reports it) and
//! execute (which then does it). Needs only a `GraphReader`.

use serde_json::{Value, json};

use super::sealing::{Sealer, diff_without_secrets};
use crate::graph::canonical::content_hash;
use crate::graph::error::{ErrorCode, GraphError};
use crate::graph::registry::PolicyType;
use crate::graph::{GraphReader, policy};
use crate::runs::handler::ItemOutcome;

/// The planned action for one backup item.
pub enum Plan {
    /// The object is gone from the tenant: create it.
    Create,
    /// It exists and differs: update it. Carries the field diff (live → backup) and the live
    /// object (its secrets as references), which type recipes compare against.
    Update { diff: Value, live: Value },
    /// It exists and equals the backup.
    Unchanged,
}

impl Plan {
    pub fn action(&self) -> &'static str {
        match self {
            Plan::Create => "create",
            Plan::Update { .. } => "update",
            Plan::Unchanged => "unchanged",
        }
    }
}

/// Reads the live object (if any) and compares it with the backed-up document. Assignments
/// count only when the restore includes them.
pub async fn plan(
    reader: &GraphReader,
    sealer: &Sealer,
    ty: &PolicyType,
    graph_id: &str,
    backup: &Value,
    include_assignments: bool,
) -> Result<Plan, ItemOutcome> {
    live_or_gone(sealer, ty, policy::capture(reader, ty, graph_id).await)
        .map(|live| plan_against(ty, live, backup, include_assignments))
}

/// A read of the live object, its secret values replaced by references (so they compare with
/// a backup's and never travel further): `None` when it no longer exists, a failed outcome
/// otherwise.
pub fn live_or_gone(
    sealer: &Sealer,
    ty: &PolicyType,
    read: Result<Value, GraphError>,
) -> Result<Option<Value>, ItemOutcome> {
    match read {
        Ok(doc) => Ok(Some(sealer.references(ty, doc))),
        Err(e) if e.code == ErrorCode::GraphNotFound => Ok(None),
        Err(e) => Err(ItemOutcome::Failed {
            result: None,
            code: e.code,
            context: e.context,
        }),
    }
}

/// The plan for a backed-up document against the live object (`None`: gone).
pub fn plan_against(ty: &PolicyType, live: Option<Value>, backup: &Value, include_assignments: bool) -> Plan {
    let Some(live) = live else {
        return Plan::Create;
    };
    let (want, have) = (
        comparable(ty, backup, include_assignments),
        comparable(ty, &live, include_assignments),
    );
    if content_hash(&want) == content_hash(&have) {
        Plan::Unchanged
    } else {
        Plan::Update {
            diff: json!(diff_without_secrets(&have, &want)),
            live,
        }
    }
}

/// What a restore controls of a document: the writable properties (without the ids Graph
/// assigns inside collections), plus assignments when they are restored too.
pub fn comparable(ty: &PolicyType, document: &Value, include_assignments: bool) -> Value {
    let mut v = policy::comparable(ty, document);
    if !include_assignments && let Some(m) = v.as_object_mut() {
        m.remove("assignments");
    }
    v
}
