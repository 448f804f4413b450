//! What a restore would do to one item: shared by preview (which only reports it) and
//! execute (which then does it). Needs only a `GraphReader`.

use serde_json::{Value, json};

use crate::graph::canonical::{content_hash, diff};
use crate::graph::error::ErrorCode;
use crate::graph::registry::PolicyType;
use crate::graph::{GraphReader, policy};
use crate::runs::handler::ItemOutcome;

/// The planned action for one backup item.
pub enum Plan {
    /// The object is gone from the tenant: create it.
    Create,
    /// It exists and differs: update it. Carries the field diff (live → backup).
    Update(Value),
    /// It exists and equals the backup.
    Unchanged,
}

impl Plan {
    pub fn action(&self) -> &'static str {
        match self {
            Plan::Create => "create",
            Plan::Update(_) => "update",
            Plan::Unchanged => "unchanged",
        }
    }
}

/// Reads the live object (if any) and compares it with the backed-up document. Assignments
/// count only when the restore includes them.
pub async fn plan(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    backup: &Value,
    include_assignments: bool,
) -> Result<Plan, ItemOutcome> {
    let live = match policy::capture(reader, ty, graph_id).await {
        Ok(doc) => doc,
        Err(e) if e.code == ErrorCode::GraphNotFound => return Ok(Plan::Create),
        Err(e) => {
            return Err(ItemOutcome::Failed {
                result: None,
                code: e.code,
                context: e.context,
            });
        }
    };
    let (want, have) = (
        comparable(ty, backup, include_assignments),
        comparable(ty, &live, include_assignments),
    );
    if content_hash(&want) == content_hash(&have) {
        Ok(Plan::Unchanged)
    } else {
        Ok(Plan::Update(json!(diff(&have, &want))))
    }
}

/// What a restore controls of a document: the writable properties, plus assignments when
/// they are restored too.
pub fn comparable(ty: &PolicyType, document: &Value, include_assignments: bool) -> Value {
    let mut v = policy::comparable(ty, document);
    if !include_assignments && let Some(m) = v.as_object_mut() {
        m.remove("assignments");
    }
    // Nested settings carry Graph-assigned ids: not part of what we restore.
    if let Some(m) = v.as_object_mut() {
        for k in ty.expand {
            if let Some(Value::Array(items)) = m.get_mut(*k) {
                for i in items {
                    if let Some(o) = i.as_object_mut() {
                        o.remove("id");
                    }
                }
            }
        }
    }
    v
}
