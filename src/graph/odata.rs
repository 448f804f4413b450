//! OData annotations (`name@odata.context`, `@odata.nextLink`, `x@odata.count`, …). Graph
//! sends them; it refuses most of them in a write body. Only `@odata.type` and the
//! `…@odata.bind` references we write ourselves may go back.

use serde_json::Value;

/// Whether a property name is an OData annotation (`@odata.x` or `name@odata.x`).
pub fn is_annotation(key: &str) -> bool {
    key.contains("@odata.")
}

/// Whether an annotation may appear in a create, update or action body.
pub fn allowed_in_write(key: &str) -> bool {
    key == "@odata.type" || key.ends_with("@odata.bind")
}

/// The first annotation a write body must not carry, at any depth (for the simulator, which
/// refuses it as Graph does, and for tests).
pub fn forbidden_annotation(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if is_annotation(k) && !allowed_in_write(k) {
                Some(k.clone())
            } else {
                forbidden_annotation(v)
            }
        }),
        Value::Array(items) => items.iter().find_map(forbidden_annotation),
        _ => None,
    }
}

/// Removes every annotation but `@odata.type` (and `…@odata.bind`), at every depth.
pub fn strip_annotations(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !is_annotation(k) || allowed_in_write(k));
            map.values_mut().for_each(strip_annotations);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_type_and_bind_survive_at_any_depth() {
        let mut v = json!({
            "@odata.context": "x", "@odata.type": "#t", "apps@odata.context": "y",
            "settings": [{"@odata.etag": "e", "child@odata.bind": "b", "v": 1}],
            "settings@odata.nextLink": "n", "settings@odata.count": 3
        });
        assert_eq!(forbidden_annotation(&v).as_deref(), Some("@odata.context"));
        strip_annotations(&mut v);
        assert_eq!(
            v,
            json!({"@odata.type": "#t", "settings": [{"child@odata.bind": "b", "v": 1}]})
        );
        assert_eq!(forbidden_annotation(&v), None);
    }
}
