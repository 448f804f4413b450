//! Types whose write is more than POST/PATCH/PUT plus `assign`: one file per family, each
//! implementing create and update with the extra calls Graph needs (see `registry::Recipe`).

pub mod app_protection;
pub mod compliance;

use serde_json::Value;

use super::canonical::canonicalize;
use super::policy::strip_ids;

/// A navigation collection as a restore controls it: without Graph-assigned ids, versions or
/// annotations, so the backed-up and the live one compare equal when they mean the same.
pub(crate) fn collection(document: &Value, key: &str) -> Value {
    let mut v = document.get(key).cloned().unwrap_or(Value::Array(Vec::new()));
    strip_ids(&mut v);
    super::odata::strip_annotations(&mut v);
    canonicalize(&v)
}
