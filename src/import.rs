//! A zip made by `export` back in as a new backup set. Everything is checked before anything
//! is written: the manifest's format, every listed file present with the SHA-256 the manifest
//! gives, no file the manifest does not list, each a JSON object of a known type, no policy
//! twice. Then one transaction writes the set, its items and their versions, or nothing.
//!
//! A policy the tenant's inventory does not know is added as deleted (a restore then
//! re-creates it). Secret references stay references: they open only in the tenant that
//! sealed them; a restore elsewhere says which secret it lacks instead of writing a mask. A
//! plain value found in a secret slot (a hand-made zip) is sealed like a capture seals it.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::audit::{self, Event};
use crate::db::backups::{self, BackupSet, NewSet};
use crate::db::policies;
use crate::db::tenants::Tenant;
use crate::db::{Db, DbResult};
use crate::error::AppError;
use crate::export::{FORMAT, FORMAT_VERSION, MANIFEST};
use crate::graph::canonical::{canonicalize, content_hash};
use crate::graph::registry;
use crate::ops::sealing::Sealer;
use crate::secrets::MasterKey;

/// The largest zip an import accepts (the request body limit of its route).
pub const MAX_ZIP_BYTES: usize = 64 * 1024 * 1024;
/// Unpacked, all files together: a zip that inflates past this is refused (a zip bomb).
const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
const MAX_FILES: usize = 50_000;

/// One policy file, checked.
struct Entry {
    policy_type: String,
    graph_id: String,
    display_name: String,
    captured_at: String,
    document: Value,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub backup_set: BackupSet,
    pub files: usize,
    /// Policies the tenant's inventory did not know (added as deleted).
    pub new_policies: usize,
    /// Versions the tenant already held (the same content captured at the same time).
    pub versions_reused: usize,
    /// The set and tenant the zip was exported from.
    pub source: Value,
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::Invalid(msg.into())
}

/// Checks the zip and imports it into `tenant` as a new set (named `name`, or after the
/// exported set). Nothing is written unless every check passes.
pub async fn import_zip(
    db: &Db,
    key: Arc<MasterKey>,
    tenant: &Tenant,
    name: Option<&str>,
    zip: Vec<u8>,
    actor: &str,
) -> Result<Imported, AppError> {
    let (manifest, entries) = tokio::task::spawn_blocking(move || read(&zip))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let source_name = manifest["backup_set"]["name"].as_str().unwrap_or("backup").to_owned();
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => crate::names::check(n, "backup set", 200)?,
        None => crate::names::check(&format!("Imported: {source_name}"), "backup set", 200)
            .unwrap_or_else(|_| "Imported backup".to_owned()),
    };
    let source = json!({"backup_set": manifest["backup_set"], "tenant": manifest["tenant"], "exported_at": manifest["exported_at"]});
    let (tid, actor, src) = (tenant.id.clone(), actor.to_owned(), source.clone());
    let files = entries.len();
    let (set_id, new_policies, versions_reused) = db
        .write(move |tx| write(tx, &key, &tid, &name, &entries, &actor, &src))
        .await?;
    let backup_set = db
        .read(move |c| backups::get(c, &set_id))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("imported set vanished")))?;
    Ok(Imported {
        backup_set,
        files,
        new_policies,
        versions_reused,
        source,
    })
}

fn write(
    tx: &rusqlite::Connection,
    key: &Arc<MasterKey>,
    tenant_id: &str,
    name: &str,
    entries: &[Entry],
    actor: &str,
    source: &Value,
) -> DbResult<(String, usize, usize)> {
    let now = crate::clock::now();
    let sealer = Sealer {
        key: key.clone(),
        tenant_id: tenant_id.to_owned(),
    };
    let mut found = Vec::with_capacity(entries.len());
    let mut new_policies = 0;
    for e in entries {
        let (p, created) =
            policies::find_or_add_imported(tx, tenant_id, &e.policy_type, &e.graph_id, &e.display_name, &now)?;
        new_policies += usize::from(created);
        found.push(p);
    }
    // Each item keeps the name the policy had in the export, as a captured item does.
    let mut named = found.clone();
    for (p, e) in named.iter_mut().zip(entries) {
        p.display_name.clone_from(&e.display_name);
    }
    let set_id = crate::clock::new_id();
    let item_ids = backups::insert(
        tx,
        &NewSet {
            id: &set_id,
            tenant_id,
            name,
            origin: "manual",
            schedule_id: None,
            now: &now,
        },
        &named,
    )?;
    let mut reused = 0;
    for ((e, p), item) in entries.iter().zip(&found).zip(&item_ids) {
        let Some(ty) = registry::by_key(&e.policy_type) else {
            continue;
        };
        let secured = sealer.seal(ty, e.document.clone());
        sealer.store(tx, &secured.values, &now)?;
        let content = canonicalize(&secured.document);
        let (version, was_held) =
            policies::add_imported_version(tx, p, &content_hash(&content), &content.to_string(), &e.captured_at)?;
        reused += usize::from(was_held);
        backups::set_item_version(tx, item, &version)?;
    }
    audit::record(
        tx,
        &Event {
            tenant_id: Some(tenant_id),
            actor,
            action: "backup_set.imported",
            run_id: None,
            details: json!({"backup_set_id": set_id, "name": name, "items": entries.len(), "from": source}),
        },
    )?;
    Ok((set_id, new_policies, reused))
}

/// Every file of the zip, by name, within the limits.
fn unpack(zip: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, AppError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| {
        bad(format!(
            "the file is not a zip archive ({e}); upload the zip that \"Download zip\" made"
        ))
    })?;
    if archive.len() > MAX_FILES {
        return Err(bad(format!("the zip holds more than {MAX_FILES} files")));
    }
    let mut out = BTreeMap::new();
    let mut budget = MAX_UNPACKED_BYTES;
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| bad(format!("file {} of the zip cannot be read: {e}", i + 1)))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .name()
            .map_err(|e| bad(format!("file {} of the zip has an unreadable name: {e}", i + 1)))?
            .into_owned();
        let mut data = Vec::new();
        (&mut f)
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("{name} in the zip cannot be unpacked: {e}")))?;
        budget = budget
            .checked_sub(data.len() as u64)
            .ok_or_else(|| bad("the zip unpacks to more than 256 MiB; it was not made by policyvault"))?;
        if out.insert(name.clone(), data).is_some() {
            return Err(bad(format!("the zip holds {name} twice")));
        }
    }
    Ok(out)
}

fn text<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a str, AppError> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("the manifest's entry for {path} has no {key}")))
}

/// The manifest and every policy file, checked.
fn read(zip: &[u8]) -> Result<(Value, Vec<Entry>), AppError> {
    let mut files = unpack(zip)?;
    let manifest = files
        .remove(MANIFEST)
        .ok_or_else(|| bad("the zip has no manifest.json; upload a zip that \"Download zip\" made"))?;
    let manifest: Value =
        serde_json::from_slice(&manifest).map_err(|e| bad(format!("manifest.json is not valid JSON: {e}")))?;
    if manifest["format"] != FORMAT {
        return Err(bad(format!(
            "manifest.json is not a policyvault export (format {}, expected {FORMAT})",
            manifest["format"]
        )));
    }
    if manifest["format_version"].as_u64() != Some(FORMAT_VERSION) {
        return Err(bad(format!(
            "this export has format version {}; this policyvault reads version {FORMAT_VERSION}: import it with the policyvault version that made it ({})",
            manifest["format_version"], manifest["product"]["version"]
        )));
    }
    let listed = manifest["files"]
        .as_array()
        .ok_or_else(|| bad("manifest.json lists no files"))?;
    let mut entries = Vec::with_capacity(listed.len());
    let mut seen = HashSet::new();
    for f in listed {
        let path = f
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("manifest.json has a file entry without a path"))?;
        let data = files
            .remove(path)
            .ok_or_else(|| bad(format!("{path} is listed in manifest.json but missing from the zip")))?;
        let sha = hex::encode(Sha256::digest(&data));
        if f.get("sha256").and_then(Value::as_str) != Some(sha.as_str()) {
            return Err(bad(format!(
                "{path} does not match the SHA-256 in manifest.json: the file was changed or damaged after the export"
            )));
        }
        let policy_type = text(f, "policy_type", path)?;
        if registry::by_key(policy_type).is_none() {
            return Err(bad(format!(
                "{path}: this policyvault does not know the type {policy_type}"
            )));
        }
        let graph_id = text(f, "graph_id", path)?;
        if !seen.insert((policy_type.to_owned(), graph_id.to_owned())) {
            return Err(bad(format!("{path}: the zip holds this policy twice")));
        }
        let document: Value =
            serde_json::from_slice(&data).map_err(|e| bad(format!("{path} is not valid JSON: {e}")))?;
        if !document.is_object() {
            return Err(bad(format!("{path} is not a JSON object")));
        }
        let captured_at = text(f, "captured_at", path)?;
        if chrono::DateTime::parse_from_rfc3339(captured_at).is_err() {
            return Err(bad(format!("{path}: captured_at is not an RFC 3339 time")));
        }
        entries.push(Entry {
            policy_type: policy_type.to_owned(),
            graph_id: graph_id.to_owned(),
            display_name: f
                .get("display_name")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)")
                .to_owned(),
            captured_at: captured_at.to_owned(),
            document,
        });
    }
    if let Some(extra) = files.keys().next() {
        return Err(bad(format!(
            "{extra} is in the zip but not in manifest.json: the zip was changed after the export"
        )));
    }
    if entries.is_empty() {
        return Err(bad("the export holds no policy files; there is nothing to import"));
    }
    Ok((manifest, entries))
}
