//! A backup set out of the box: a zip with one pretty-printed, canonical JSON file per
//! captured policy, named `<type key>/<display name>--<Graph id>.json` (stable across exports,
//! so two exports diff file by file), and `manifest.json` saying what the zip holds: the set,
//! the tenant, a SHA-256 per file, counts, the product version, and which secret values were
//! withheld. Secret values never leave: each stays as the sealed reference or mask the stored
//! document has (`ops::sealing::withhold`).
//!
//! Reading stored data only, no Graph call: an export is built on the request, not as a run.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Write};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::audit::{self, Event};
use crate::db::Db;
use crate::db::backups::{self, BackupSet, ExportItem};
use crate::db::tenants::Tenant;
use crate::error::AppError;
use crate::graph::canonical::canonicalize;
use crate::graph::registry;
use crate::ops::sealing;

/// The manifest's name inside the zip.
pub const MANIFEST: &str = "manifest.json";
/// What `manifest.json` calls this layout; an import checks it.
pub const FORMAT: &str = "policyvault-backup-export";
pub const FORMAT_VERSION: u64 = 1;

/// A finished export: the zip's bytes and the name to save it under.
pub struct Export {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Everything an export is made of, read in one go.
pub struct Source {
    pub tenant: Tenant,
    pub set: BackupSet,
    pub items: Vec<ExportItem>,
    pub exported_at: String,
    pub exported_by: String,
}

/// Reads the set, builds its zip (off the async threads) and records who exported it.
pub async fn export_set(db: &Db, tenant: &Tenant, set: &BackupSet, actor: &str) -> Result<Export, AppError> {
    let (id, tid) = (set.id.clone(), tenant.id.clone());
    let items = db
        .read(move |c| {
            let mut items = backups::export_items(c, &id)?;
            for item in &mut items {
                if let Some((_, _, _, content)) = &mut item.version {
                    *content = shown_content(c, &tid, content)?;
                }
            }
            Ok(items)
        })
        .await?;
    let source = Source {
        tenant: tenant.clone(),
        set: set.clone(),
        items,
        exported_at: crate::clock::now(),
        exported_by: actor.to_owned(),
    };
    let (export, files) = tokio::task::spawn_blocking(move || build(&source).map(|e| (e, source.items.len())))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)?;
    let (tid, sid, name, actor) = (tenant.id.clone(), set.id.clone(), set.name.clone(), actor.to_owned());
    db.write(move |tx| {
        audit::record(
            tx,
            &Event {
                tenant_id: Some(&tid),
                actor: &actor,
                action: "backup_set.exported",
                run_id: None,
                details: json!({"backup_set_id": sid, "name": name, "items": files}),
            },
        )
    })
    .await?;
    Ok(export)
}

/// A stored content with its sealed references shown as their aliases.
pub fn shown_content(c: &rusqlite::Connection, tenant_id: &str, content: &str) -> crate::db::DbResult<String> {
    match serde_json::from_str::<Value>(content) {
        Ok(doc) if content.contains(sealing::PREFIX) => Ok(sealing::aliased(c, tenant_id, doc)?.to_string()),
        _ => Ok(content.to_owned()),
    }
}

/// The zip of a set: policy files in the set's order, then the manifest.
pub fn build(src: &Source) -> anyhow::Result<Export> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip_time(&src.set.created_at))
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut files = Vec::new();
    let mut not_captured = Vec::new();
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut taken = HashSet::new();
    for item in &src.items {
        let Some((version_id, captured_at, content_hash, content)) = &item.version else {
            not_captured.push(json!({
                "policy_type": item.policy_type,
                "display_name": item.display_name,
                "graph_id": item.graph_id,
                "policy_id": item.policy_id,
            }));
            continue;
        };
        let document: Value = serde_json::from_str(content)
            .map_err(|e| anyhow::anyhow!("stored document of {} is not JSON: {e}", item.display_name))?;
        let ty = registry::by_key(&item.policy_type);
        let (document, withheld) = match ty {
            Some(ty) => sealing::withhold(ty, canonicalize(&document)),
            None => (canonicalize(&document), Vec::new()),
        };
        let mut text = serde_json::to_string_pretty(&document)?;
        text.push('\n');
        let path = unique_path(&mut taken, item);
        zip.start_file(path.as_str(), options)?;
        zip.write_all(text.as_bytes())?;
        *by_type.entry(item.policy_type.as_str()).or_default() += 1;
        files.push(json!({
            "path": path,
            "sha256": hex::encode(Sha256::digest(text.as_bytes())),
            "bytes": text.len(),
            "policy_type": item.policy_type,
            "type_label": ty.map_or(item.policy_type.as_str(), |t| t.label),
            "display_name": item.display_name,
            "graph_id": item.graph_id,
            "policy_id": item.policy_id,
            "version_id": version_id,
            "captured_at": captured_at,
            "content_hash": content_hash,
            "secrets_withheld": withheld,
        }));
    }
    let withheld_total: usize = files
        .iter()
        .map(|f| f["secrets_withheld"].as_array().map_or(0, Vec::len))
        .sum();
    let manifest = json!({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "product": {"name": "policyvault", "version": env!("CARGO_PKG_VERSION")},
        "exported_at": src.exported_at,
        "exported_by": src.exported_by,
        "tenant": {
            "id": src.tenant.id,
            "name": src.tenant.name,
            "entra_tenant_id": src.tenant.entra_tenant_id,
        },
        "backup_set": {
            "id": src.set.id,
            "name": src.set.name,
            "origin": src.set.origin,
            "created_at": src.set.created_at,
            "capture_run_id": src.set.capture_run_id,
        },
        "counts": {
            "items": src.items.len(),
            "files": files.len(),
            "not_captured": not_captured.len(),
            "secrets_withheld": withheld_total,
            "by_type": by_type,
        },
        "secrets": "Secret values (encrypted OMA-URI values, Wi-Fi and VPN keys) are not in this export. \
            Each stays as the sealed reference (pv-sealed:…) or the mask the backup holds; \
            the values stay sealed in the policyvault that made the export. \
            files[].secrets_withheld names each one.",
        "files": files,
        "not_captured": not_captured,
    });
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    zip.start_file(MANIFEST, options)?;
    zip.write_all(text.as_bytes())?;
    let bytes = zip.finish()?.into_inner();
    Ok(Export {
        file_name: format!(
            "{}-{}-{}.zip",
            ascii_name(&src.tenant.name),
            ascii_name(&src.set.name),
            src.set.created_at.get(..10).unwrap_or("backup")
        ),
        bytes,
    })
}

/// `<type key>/<display name>--<Graph id>.json`; a second item that would get the same name
/// (only possible after sanitising) gets `-2`, `-3`, … before `.json`.
fn unique_path(taken: &mut HashSet<String>, item: &ExportItem) -> String {
    let stem = format!(
        "{}/{}--{}",
        file_part(&item.policy_type, 60),
        file_part(&item.display_name, 80),
        file_part(&item.graph_id, 120)
    );
    let mut path = format!("{stem}.json");
    let mut n = 2;
    while !taken.insert(path.clone()) {
        path = format!("{stem}-{n}.json");
        n += 1;
    }
    path
}

/// A name safe as one path segment on every system: letters and digits (any script), `-`,
/// `_` and `.`; every other run of characters becomes one `_`; at most `max` characters.
pub fn file_part(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let keep = c.is_alphanumeric() || matches!(c, '-' | '.');
        if keep {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out: String = out.trim_matches(|c| c == '_' || c == '.').chars().take(max).collect();
    let out = out.trim_end_matches(['_', '.']).to_owned();
    if out.is_empty() { "unnamed".to_owned() } else { out }
}

/// A download name for a `Content-Disposition` header: ASCII letters, digits and `-` only.
pub fn ascii_name(s: &str) -> String {
    let part = file_part(s, 60);
    let mut out = String::new();
    for c in part.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "backup".to_owned() } else { out }
}

/// The set's creation time as the zip's file time (stable across exports of one set).
fn zip_time(rfc3339: &str) -> DateTime {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .and_then(|t| {
            use chrono::{Datelike, Timelike};
            let t = t.naive_utc();
            DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                u8::try_from(t.month()).ok()?,
                u8::try_from(t.day()).ok()?,
                u8::try_from(t.hour()).ok()?,
                u8::try_from(t.minute()).ok()?,
                u8::try_from(t.second()).ok()?,
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_path_segments_and_keep_what_an_admin_reads() {
        assert_eq!(file_part("Win10 – Wi-Fi (Corp)/HQ", 80), "Win10_Wi-Fi_Corp_HQ");
        assert_eq!(file_part("Gerätekonfiguration: Büro", 80), "Gerätekonfiguration_Büro");
        assert_eq!(file_part("../../etc/passwd", 80), "etc_passwd");
        assert_eq!(file_part("   ", 80), "unnamed");
        assert_eq!(file_part(&"x".repeat(200), 80).len(), 80);
        assert_eq!(ascii_name("Contoso Ltd. (EU)"), "Contoso-Ltd-EU");
        assert_eq!(ascii_name("Ünïcode"), "n-code");
    }

    #[test]
    fn two_items_that_sanitise_alike_get_two_files() {
        let item = |name: &str| ExportItem {
            policy_id: "p".into(),
            policy_type: "device_configuration".into(),
            display_name: name.into(),
            graph_id: "g".into(),
            version: None,
        };
        let mut taken = HashSet::new();
        assert_eq!(
            unique_path(&mut taken, &item("A/B")),
            "device_configuration/A_B--g.json"
        );
        assert_eq!(
            unique_path(&mut taken, &item("A?B")),
            "device_configuration/A_B--g-2.json"
        );
    }
}
