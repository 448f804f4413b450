//! Encrypted OMA-URI values of custom profiles. Graph returns them masked (`isEncrypted`, a
//! `secretReferenceValueId`, the value `****`, or `PGEvPg==` for XML); the real value comes
//! only from `getOmaSettingPlainTextValue`, which needs ReadWrite even to read (Microsoft's
//! page for that function; IntuneCD, IntuneManagement and CIPP all call it). A capture reads
//! every such value, so the document holds the real one (the caller seals it before it is
//! stored), or the capture fails with `secret_unreadable` naming the setting.

use base64::Engine as _;
use serde_json::{Value, json};

use super::error::{ErrorCode, GraphError};
use super::handles::GraphReader;
use super::registry::PolicyType;

const XML: &str = "#microsoft.graph.omaSettingStringXml";

/// The encrypted settings of a document: (index in `omaSettings`, setting).
pub fn encrypted(document: &Value) -> impl Iterator<Item = (usize, &Value)> {
    document
        .get("omaSettings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, s)| s.get("isEncrypted").and_then(Value::as_bool) == Some(true))
}

/// What names a setting in an error: its OMA-URI, else its display name.
pub fn setting_label(setting: &Value) -> String {
    setting
        .get("omaUri")
        .or_else(|| setting.get("displayName"))
        .and_then(Value::as_str)
        .unwrap_or("(unnamed setting)")
        .to_owned()
}

/// Replaces each masked value with the real one (base64 for XML settings, as Graph takes
/// them on write) and drops `secretReferenceValueId`, an id Graph assigns on every write.
pub async fn reveal(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    document: &mut Value,
) -> Result<(), GraphError> {
    if !ty.oma_secrets {
        return Ok(());
    }
    let wanted: Vec<(usize, Option<String>, String, bool)> = encrypted(document)
        .map(|(i, s)| {
            (
                i,
                s.get("secretReferenceValueId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                setting_label(s),
                s.get("@odata.type").and_then(Value::as_str) == Some(XML),
            )
        })
        .collect();
    for (index, reference, label, xml) in wanted {
        let unreadable = |e: Option<&GraphError>| {
            let mut context = e.map_or_else(|| json!({}), |e| e.context.clone());
            context["setting"] = json!(label);
            context["policy_type"] = json!(ty.key);
            GraphError::new(
                ErrorCode::SecretUnreadable,
                format!("the encrypted value of {label} could not be read"),
                &context,
            )
        };
        let Some(reference) = reference else {
            return Err(unreadable(None));
        };
        // Both ids pass the id grammar, so neither can leave the quotes or the segment.
        let reference = super::path::id(&reference).map_err(|e| unreadable(Some(&e)))?;
        let path = super::path::child(
            ty.collection,
            graph_id,
            &format!("getOmaSettingPlainTextValue(secretReferenceValueId='{reference}')"),
        )?;
        let answer = reader.get(&path).await.map_err(|e| unreadable(Some(&e)))?;
        let Some(plain) = answer.get("value").and_then(Value::as_str) else {
            return Err(unreadable(None));
        };
        let value = if xml {
            base64::engine::general_purpose::STANDARD.encode(plain)
        } else {
            plain.to_owned()
        };
        if let Some(setting) = document["omaSettings"].get_mut(index).and_then(Value::as_object_mut) {
            setting.insert("value".into(), Value::String(value));
            setting.remove("secretReferenceValueId");
        }
    }
    Ok(())
}
