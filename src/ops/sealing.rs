//! Secret values inside captured documents (encrypted OMA-URI values). Graph hands them to a
//! capture in plain text (`graph::oma`); before a document is stored, compared or shown, each
//! value is replaced by a reference `pv-sealed:<fingerprint>` and the value itself is sealed
//! under the master key into `sealed_values`. Only a live restore opens it again, into the
//! write body. So the database file, pages, diffs, the API and logs never hold a value,
//! while a rotated secret still shows as a change (its fingerprint differs). The reference
//! itself never leaves the database either: pages, the API and exports show a random alias
//! per stored value ([`aliased`]), which an import turns back ([`unaliased`]) only in the
//! tenant that sealed it, so no shown value is a function of a secret.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::db::{DbResult, sealed};
use crate::graph::canonical::DiffEntry;
use crate::graph::oma::{encrypted, setting_label};
use crate::graph::registry::PolicyType;
use crate::secrets::MasterKey;

pub const PREFIX: &str = "pv-sealed:";

/// A document with its secret values replaced by references, and the sealed values to store.
pub struct Sealed {
    pub document: Value,
    /// (reference, sealed value)
    pub values: Vec<(String, Vec<u8>)>,
}

/// Seals and opens the secret values of one tenant's documents.
#[derive(Clone)]
pub struct Sealer {
    pub key: Arc<MasterKey>,
    pub tenant_id: String,
}

fn is_reference(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(PREFIX))
}

impl Sealer {
    fn aad(&self, reference: &str) -> String {
        format!("{}:{reference}", self.tenant_id)
    }

    /// Replaces every plain secret value with its reference (for storing: with `values`).
    pub fn seal(&self, ty: &PolicyType, document: Value) -> Sealed {
        self.replace(ty, document, true)
    }

    /// The document with references only, for comparing with a stored one: fingerprints
    /// only, nothing encrypted (live reads in previews, restores and verifies pass here).
    pub fn references(&self, ty: &PolicyType, document: Value) -> Value {
        self.replace(ty, document, false).document
    }

    fn replace(&self, ty: &PolicyType, mut document: Value, sealing: bool) -> Sealed {
        let mut values = Vec::new();
        for slot in slots(ty, &document) {
            let Some(value) = document
                .pointer(&slot.pointer)
                .and_then(Value::as_str)
                .filter(|v| !is_mask(v) && !v.starts_with(PREFIX))
                .map(str::to_owned)
            else {
                continue;
            };
            let reference = format!("{PREFIX}{}", &self.key.fingerprint(&self.tenant_id, &value)[..32]);
            // Never store the value unsealed: a reference without its value cannot be
            // restored, which the restore then says instead of writing a mask.
            if sealing {
                if let Ok(sealed) = self.key.seal(&SecretString::from(value), &self.aad(&reference)) {
                    values.push((reference.clone(), sealed));
                } else {
                    tracing::error!("a captured secret value could not be sealed");
                }
            }
            if let Some(v) = document.pointer_mut(&slot.pointer) {
                *v = Value::String(reference);
            }
        }
        Sealed { document, values }
    }

    /// Stores the sealed values of a document (in the caller's transaction).
    pub fn store(&self, c: &rusqlite::Connection, values: &[(String, Vec<u8>)], now: &str) -> DbResult<()> {
        for (reference, value) in values {
            sealed::store(c, &self.tenant_id, reference, value, now)?;
        }
        Ok(())
    }

    /// The document with every reference opened into its value, for a write body. `Err`
    /// names an encrypted OMA-URI setting whose value the backup does not hold (captured
    /// masked, or its sealed value is gone): such a document is never written, a mask would
    /// reach devices. A secret property Graph never returns (a Wi-Fi pre-shared key) is left
    /// out of the body, so an update keeps the live value; `Opened::missing` names it, since a
    /// create without it would make a broken profile.
    pub fn open(
        &self,
        c: &rusqlite::Connection,
        ty: &PolicyType,
        mut document: Value,
    ) -> DbResult<Result<Opened, String>> {
        let mut missing = Vec::new();
        for slot in slots(ty, &document) {
            let reference = document
                .pointer(&slot.pointer)
                .and_then(Value::as_str)
                .filter(|v| v.starts_with(PREFIX))
                .map(str::to_owned);
            let opened = match &reference {
                Some(r) => match sealed::get(c, &self.tenant_id, r)? {
                    Some(blob) => self.key.open(&blob, &self.aad(r)).ok(),
                    None => None,
                },
                None => None,
            };
            match (opened, slot.field) {
                (Some(value), _) => {
                    if let Some(v) = document.pointer_mut(&slot.pointer) {
                        *v = Value::String(value.expose_secret().to_owned());
                    }
                }
                (None, None) => return Ok(Err(slot.label)),
                (None, Some(field)) => {
                    if let Some(m) = document.as_object_mut() {
                        m.remove(field);
                    }
                    missing.push(slot.label);
                }
            }
        }
        Ok(Ok(Opened { document, missing }))
    }
}

/// A secret slot of a document that leaves the server (an export), and what stands there
/// instead of the value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Withheld {
    /// JSON pointer into the document, e.g. `/omaSettings/0/value`.
    pub pointer: String,
    /// The OMA-URI or property name, as an admin knows the setting.
    pub setting: String,
    /// `sealed_reference`: a `pv-sealed:` reference to the value, which stays sealed in the
    /// server that made the export; `masked`: Graph returned no value, so none was kept;
    /// `removed`: the stored document held something else there, replaced by a marker.
    pub kept_as: &'static str,
}

/// What an export writes where a value stood that was neither a reference nor a mask.
pub const WITHHELD_MARKER: &str = "(withheld by policyvault)";

/// A stored document made safe to leave the server: every secret slot keeps its sealed
/// reference or mask, and anything else found there is replaced by [`WITHHELD_MARKER`], so
/// no value can leave even from a document stored before sealing existed.
pub fn withhold(ty: &PolicyType, mut document: Value) -> (Value, Vec<Withheld>) {
    let mut out = Vec::new();
    for slot in slots(ty, &document) {
        let Some(v) = document.pointer_mut(&slot.pointer) else {
            continue;
        };
        let kept_as = match v.as_str() {
            Some(s) if s.starts_with(PREFIX) => "sealed_reference",
            Some(s) if is_mask(s) => "masked",
            None if v.is_null() => "masked",
            _ => {
                *v = Value::String(WITHHELD_MARKER.to_owned());
                "removed"
            }
        };
        out.push(Withheld {
            pointer: slot.pointer,
            setting: slot.label,
            kept_as,
        });
    }
    (document, out)
}

/// A document ready for a write body, and the secret properties it lacks.
pub struct Opened {
    pub document: Value,
    pub missing: Vec<String>,
}

/// Top-level properties of device configurations that hold a secret (Wi-Fi and VPN keys).
/// Graph may return them or (usually) not; either way a mask or a null is never written back.
const SECRET_FIELDS: &[&str] = &["preSharedKey", "sharedSecret"];

/// Where a document's secrets are: encrypted OMA-URI values and secret properties.
struct Slot {
    pointer: String,
    label: String,
    /// The top-level property, for a secret property (not an OMA-URI value).
    field: Option<&'static str>,
}

fn slots(ty: &PolicyType, document: &Value) -> Vec<Slot> {
    if !ty.oma_secrets {
        return Vec::new();
    }
    let mut out: Vec<Slot> = encrypted(document)
        .map(|(i, s)| Slot {
            pointer: format!("/omaSettings/{i}/value"),
            label: setting_label(s),
            field: None,
        })
        .collect();
    for field in SECRET_FIELDS {
        if document.get(*field).is_some() {
            out.push(Slot {
                pointer: format!("/{field}"),
                label: (*field).to_owned(),
                field: Some(field),
            });
        }
    }
    out
}

/// The document as pages, the API and exports show it: every sealed reference replaced by
/// its random alias (a reference with no stored value shows as a fresh random one), so no
/// shown value is a function of a secret.
pub fn aliased(c: &rusqlite::Connection, tenant_id: &str, mut document: Value) -> DbResult<Value> {
    map_references(&mut document, &mut |r| match sealed::alias_of(c, tenant_id, r)? {
        Some(a) => Ok(a),
        None => Ok(format!("{PREFIX}{}", crate::clock::new_id().replace('-', ""))),
    })?;
    Ok(document)
}

/// An imported document with each alias of this tenant's sealed values turned back into its
/// reference; an alias of another tenant stays as it is (it opens nowhere).
pub fn unaliased(c: &rusqlite::Connection, tenant_id: &str, mut document: Value) -> DbResult<Value> {
    map_references(&mut document, &mut |a| {
        Ok(sealed::reference_of(c, tenant_id, a)?.unwrap_or_else(|| a.to_owned()))
    })?;
    Ok(document)
}

fn map_references(v: &mut Value, f: &mut dyn FnMut(&str) -> DbResult<String>) -> DbResult<()> {
    match v {
        Value::String(s) if s.starts_with(PREFIX) => *s = f(s)?,
        Value::Array(items) => {
            for i in items {
                map_references(i, f)?;
            }
        }
        Value::Object(m) => {
            for x in m.values_mut() {
                map_references(x, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The label of the first secret slot of `document` that holds a plain value (neither a
/// reference nor a mask). An import refuses such a document: sealing a value an operator
/// typed would let them test guesses against the references of real secrets.
pub fn plain_secret(ty: &PolicyType, document: &Value) -> Option<String> {
    slots(ty, document).into_iter().find_map(|slot| {
        document
            .pointer(&slot.pointer)
            .and_then(Value::as_str)
            .filter(|v| !is_mask(v) && !v.starts_with(PREFIX))
            .map(|_| slot.label)
    })
}

/// A value that stands for a secret without being one: Graph's masks, and the marker an
/// export writes (an imported document must never seal the marker as if it were the value).
fn is_mask(v: &str) -> bool {
    v.is_empty() || v.chars().all(|c| c == '*') || v == "PGEvPg==" || v == WITHHELD_MARKER
}

/// The encrypted settings of a stored document that hold no sealed value (a mask).
pub fn masked_setting(ty: &PolicyType, document: &Value) -> Option<String> {
    if !ty.oma_secrets {
        return None;
    }
    encrypted(document)
        .find(|(_, s)| !s.get("value").is_some_and(is_reference))
        .map(|(_, s)| setting_label(s))
}

/// The field-level differences of two contents as people read them, carrying no value from a
/// secret slot: a slot of *any* type (an encrypted OMA-URI value, a Wi-Fi or VPN key), even
/// where the type says it has none, holds "(secret)" unless it holds a reference. Stored
/// contents are sealed and live ones fingerprinted before they get here; this is the line
/// that holds if one was not (a document read through a hostile path).
pub fn diff_without_secrets(old: &Value, new: &Value) -> Vec<DiffEntry> {
    describe_secrets(crate::graph::canonical::diff(&scrubbed(old), &scrubbed(new)))
}

fn scrubbed(document: &Value) -> Value {
    let mut out = document.clone();
    let mut pointers: Vec<String> = encrypted(document)
        .map(|(i, _)| format!("/omaSettings/{i}/value"))
        .collect();
    pointers.extend(SECRET_FIELDS.iter().map(|f| format!("/{f}")));
    for pointer in pointers {
        if let Some(v) = out.pointer_mut(&pointer)
            && !v.is_null()
            && !is_reference(v)
        {
            *v = json!("(secret)");
        }
    }
    out
}

/// A diff as people read it: a secret shows as changed or not, never as its reference.
pub fn describe_secrets(diff: Vec<DiffEntry>) -> Vec<DiffEntry> {
    diff.into_iter()
        .map(|mut e| {
            let secret = e.old.as_ref().is_some_and(is_reference) || e.new.as_ref().is_some_and(is_reference);
            if secret {
                e.old = e.old.map(|_| json!("(secret)"));
                e.new = e.new.map(|_| json!("(secret changed)"));
            }
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::registry::by_key;

    #[test]
    fn an_export_keeps_references_and_masks_and_never_a_value() {
        let ty = by_key("device_configuration").expect("type");
        let doc = json!({
            "displayName": "Corp",
            "preSharedKey": null,
            "omaSettings": [
                {"omaUri": "./a", "isEncrypted": true, "value": "pv-sealed:0123"},
                {"omaUri": "./b", "isEncrypted": true, "value": "****"},
                {"omaUri": "./c", "isEncrypted": true, "value": "plain-from-an-old-backup"},
                {"omaUri": "./d", "isEncrypted": false, "value": "not a secret"}
            ]
        });
        let (out, withheld) = withhold(ty, doc);
        let kept: Vec<(&str, &str, &str)> = withheld
            .iter()
            .map(|w| (w.pointer.as_str(), w.setting.as_str(), w.kept_as))
            .collect();
        assert_eq!(
            kept,
            [
                ("/omaSettings/0/value", "./a", "sealed_reference"),
                ("/omaSettings/1/value", "./b", "masked"),
                ("/omaSettings/2/value", "./c", "removed"),
                ("/preSharedKey", "preSharedKey", "masked"),
            ]
        );
        assert_eq!(out["omaSettings"][0]["value"], "pv-sealed:0123");
        assert_eq!(out["omaSettings"][2]["value"], WITHHELD_MARKER);
        assert_eq!(out["omaSettings"][3]["value"], "not a secret");
        assert!(!out.to_string().contains("plain-from-an-old-backup"));

        // Imported again, the marker is a mask: nothing is sealed, it stays no reference, so a
        // restore refuses the document rather than write the marker to devices.
        let sealer = Sealer {
            key: Arc::new(
                MasterKey::load_or_create(std::path::Path::new("/nonexistent"), Some(&"07".repeat(32))).expect("key"),
            ),
            tenant_id: "t".into(),
        };
        let again = sealer.seal(ty, out);
        assert!(again.values.is_empty());
        assert_eq!(again.document["omaSettings"][2]["value"], WITHHELD_MARKER);
    }

    #[test]
    fn a_diff_carries_no_value_of_a_secret_slot_whatever_the_type() {
        let old = json!({"displayName": "A", "preSharedKey": "wifi-key-1",
            "omaSettings": [{"omaUri": "./a", "isEncrypted": true, "value": "vpn-secret-1"},
                            {"omaUri": "./b", "isEncrypted": false, "value": "plain"}]});
        let new = json!({"displayName": "B", "preSharedKey": "wifi-key-2",
            "omaSettings": [{"omaUri": "./a", "isEncrypted": true, "value": "vpn-secret-2"},
                            {"omaUri": "./b", "isEncrypted": false, "value": "other"}]});
        let text = serde_json::to_string(&diff_without_secrets(&old, &new)).expect("json");
        for secret in ["wifi-key-1", "wifi-key-2", "vpn-secret-1", "vpn-secret-2"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            text.contains("plain") && text.contains("other"),
            "non-secret values stay: {text}"
        );
        let added = serde_json::to_string(&diff_without_secrets(&json!({}), &new)).expect("json");
        assert!(
            !added.contains("vpn-secret-2") && !added.contains("wifi-key-2"),
            "{added}"
        );
    }
}
