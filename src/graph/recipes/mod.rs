//! Types whose write is more than POST/PATCH/PUT plus `assign`: one file per family, each
//! implementing create and update (and, where Graph needs it, an extra capture step) with
//! the calls its family needs (see `registry::Recipe`).

pub mod admin_template;
pub mod app_protection;
pub mod auth_strength;
pub mod compliance;
pub mod enrollment;
pub mod intent;
pub mod mobile_app;
pub mod notification;
pub mod policy_set;

use serde_json::Value;

use super::canonical::canonicalize;
use super::error::GraphError;
use super::handles::{GraphReader, GraphWriter};
use super::policy::{post_new, put_or_patch, strip_ids, write_body};
use super::registry::{PolicyType, Recipe};

/// A navigation collection as a restore controls it: without Graph-assigned ids, versions or
/// annotations, so the backed-up and the live one compare equal when they mean the same.
pub fn collection(document: &Value, key: &str) -> Value {
    let mut v = document.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
    strip_ids(&mut v);
    super::odata::strip_annotations(&mut v);
    canonicalize(&v)
}

/// Reads what the type's GET by id leaves out (after the generic completion).
pub async fn capture_extra(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    object: &mut Value,
) -> Result<(), GraphError> {
    match ty.recipe {
        Recipe::Intent => intent::capture(reader, ty, graph_id, object).await,
        Recipe::AdminTemplate => admin_template::capture(reader, ty, graph_id, object).await,
        _ => Ok(()),
    }
}

/// Why a backed-up object cannot be written at all (its restore item is skipped with this).
pub fn unrestorable(ty: &PolicyType, document: &Value) -> Option<String> {
    match ty.recipe {
        Recipe::MobileApp => mobile_app::unrestorable(document),
        _ => None,
    }
}

/// Creates the object; its new Graph id.
pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    match ty.recipe {
        Recipe::Plain | Recipe::MobileApp | Recipe::ConditionalAccess => {
            post_new(writer, ty, &Value::Object(write_body(ty, document)?)).await
        }
        Recipe::Compliance => compliance::create(writer, ty, document).await,
        Recipe::AppProtection => app_protection::create(writer, ty, document).await,
        Recipe::AuthStrength => auth_strength::create(writer, ty, document).await,
        Recipe::Enrollment => enrollment::create(writer, ty, document).await,
        Recipe::NotificationTemplate => notification::create(writer, ty, document).await,
        Recipe::Intent => intent::create(writer, ty, document).await,
        Recipe::AdminTemplate => admin_template::create(writer, ty, document).await,
        Recipe::PolicySet => policy_set::create(writer, ty, document).await,
    }
}

/// Updates the object to the document; `live` is the object as it is now.
pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    match ty.recipe {
        Recipe::Plain | Recipe::MobileApp | Recipe::ConditionalAccess => {
            put_or_patch(writer, ty, graph_id, write_body(ty, document)?).await
        }
        Recipe::Compliance => compliance::update(writer, ty, graph_id, document, live).await,
        Recipe::AppProtection => app_protection::update(writer, ty, graph_id, document, live).await,
        Recipe::AuthStrength => auth_strength::update(writer, ty, graph_id, document, live).await,
        Recipe::Enrollment => enrollment::update(writer, ty, graph_id, document, live).await,
        Recipe::NotificationTemplate => notification::update(writer, ty, graph_id, document, live).await,
        Recipe::Intent => intent::update(writer, ty, graph_id, document, live).await,
        Recipe::AdminTemplate => admin_template::update(writer, ty, graph_id, document, live).await,
        Recipe::PolicySet => policy_set::update(writer, ty, graph_id, document, live).await,
    }
}
