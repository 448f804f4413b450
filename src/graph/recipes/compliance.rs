//! Compliance policies (`deviceCompliancePolicies`). Scheduled actions are the navigation
//! collection `scheduledActionsForRule`: a create must carry exactly one `block` action
//! (TenuVault #25: a create without it answers 400), PATCH ignores the collection, and it
//! changes only through `POST …/{id}/scheduleActionsForRules` with
//! `{"deviceComplianceScheduledActionForRules": […]}` (Microsoft's compliance pages;
//! IntuneManagement and IntuneCD do the same).

use serde_json::{Value, json};

use super::collection;
use crate::graph::error::GraphError;
use crate::graph::handles::GraphWriter;
use crate::graph::policy::{post_new, put_or_patch, write_body};
use crate::graph::registry::PolicyType;

const ACTIONS: &str = "scheduledActionsForRule";

/// Creates with the backed-up `block` action only, then sets every scheduled action.
pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let mut body = write_body(ty, document)?;
    let actions = collection(document, ACTIONS);
    body.insert(
        ACTIONS.into(),
        json!([{"ruleName": rule_name(&actions), "scheduledActionConfigurations": [block_action(&actions)]}]),
    );
    let id = post_new(writer, ty, &Value::Object(body)).await?;
    schedule(writer, ty, &id, actions).await?;
    Ok(id)
}

/// PATCHes the properties; sets the scheduled actions only when they differ from the live ones.
pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    let mut body = write_body(ty, document)?;
    body.remove(ACTIONS);
    put_or_patch(writer, ty, graph_id, body).await?;
    let actions = collection(document, ACTIONS);
    if actions != collection(live, ACTIONS) {
        schedule(writer, ty, graph_id, actions).await?;
    }
    Ok(())
}

async fn schedule(writer: &GraphWriter, ty: &PolicyType, graph_id: &str, actions: Value) -> Result<(), GraphError> {
    writer
        .post(
            &crate::graph::path::child(ty.collection, graph_id, "scheduleActionsForRules")?,
            &json!({ "deviceComplianceScheduledActionForRules": actions }),
        )
        .await?;
    Ok(())
}

/// Graph creates scheduled actions per policy, always under the rule `PasswordRequired`.
fn rule_name(actions: &Value) -> Value {
    actions
        .pointer("/0/ruleName")
        .cloned()
        .unwrap_or_else(|| json!("PasswordRequired"))
}

/// The backed-up `block` action, or an immediate one (what the portal creates by default).
fn block_action(actions: &Value) -> Value {
    actions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|rule| rule.get("scheduledActionConfigurations")?.as_array())
        .flatten()
        .find(|a| a.get("actionType").and_then(Value::as_str) == Some("block"))
        .cloned()
        .unwrap_or_else(|| json!({"actionType": "block", "gracePeriodHours": 0, "notificationTemplateId": "", "notificationMessageCCList": []}))
}
