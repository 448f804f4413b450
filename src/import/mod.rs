//! A zip made by `export` back in as a new backup set. Everything is checked before anything
//! is written: the manifest's format, every listed file present with the SHA-256 the manifest
//! gives, no file the manifest does not list, each a JSON object of a known type, no policy
//! twice. Then one transaction writes the set, its items and their versions, or nothing.
//! The zip's directory, then the manifest and each of its entries are checked before any
//! document is unpacked (`archive`); one import is checked at a time per server.
//!
//! A policy the tenant's inventory does not know is added as deleted (a restore then
//! re-creates it). Secret references stay references: they open only in the tenant that
//! sealed them; a restore elsewhere says which secret it lacks instead of writing a mask. A
//! plain value in a secret slot (a hand-made zip) is refused: sealing typed values would let
//! an operator test guesses against the references of real secrets.

mod archive;

use std::collections::HashSet;
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
use archive::Archive;
pub use archive::{MAX_FILE_BYTES, MAX_FILES, MAX_UNPACKED_BYTES, MAX_ZIP_BYTES};

/// One policy file, checked.
struct Entry {
    policy_type: String,
    graph_id: String,
    display_name: String,
    captured_at: String,
    /// The document's text, checked to be a JSON object; parsed when it is written.
    document: Vec<u8>,
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

/// The databases with an import being checked: one server is one database file (tests run
/// many servers in one process, so this is keyed by the file, not global).
static IMPORTING: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// An import under way on one database; ends when dropped.
struct Importing(std::path::PathBuf);

impl Importing {
    fn start(db: &std::path::Path) -> Option<Importing> {
        let mut busy = IMPORTING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if busy.iter().any(|p| p == db) {
            return None;
        }
        busy.push(db.to_owned());
        Some(Importing(db.to_owned()))
    }
}

impl Drop for Importing {
    fn drop(&mut self) {
        let mut busy = IMPORTING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        busy.retain(|p| *p != self.0);
    }
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
    // One import is checked at a time on this server: each may unpack up to
    // MAX_UNPACKED_BYTES and parse its documents, and requests must not add that up.
    let Some(_importing) = Importing::start(db.path()) else {
        return Err(AppError::TooManyRequests {
            message: "another import is being checked on this server; try again in a few seconds".into(),
            retry_after_secs: 5,
        });
    };
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
        let document: Value = serde_json::from_slice(&e.document)
            .map_err(|err| crate::db::DbError::Writer(format!("a checked document no longer parses: {err}")))?;
        // An export shows aliases; in the tenant that sealed them they are references again.
        let document = crate::ops::sealing::unaliased(tx, tenant_id, document)?;
        let secured = sealer.seal(ty, document);
        sealer.store(tx, &secured.values, &now)?;
        let content = canonicalize(&secured.document);
        let (version, was_held) = policies::add_imported_version(
            tx,
            p,
            &content_hash(&content),
            &content.to_string(),
            &e.captured_at,
            &now,
        )?;
        reused += usize::from(was_held);
        backups::set_item_version(tx, item, &version)?;
    }
    backups::mark_imported(tx, &set_id, actor, source)?;
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

fn text<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a str, AppError> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("the manifest's entry for {path} has no {key}")))
}

/// The manifest and every policy file, checked: the directory first (names, sizes), then the
/// manifest and every one of its entries, and only then the documents, one at a time.
fn read(zip: &[u8]) -> Result<(Value, Vec<Entry>), AppError> {
    let mut stated = archive::by_name(archive::directory(zip)?);
    let mut archive = Archive::open(zip)?;
    let manifest = stated
        .remove(MANIFEST)
        .ok_or_else(|| bad("the zip has no manifest.json; upload a zip that \"Download zip\" made"))?;
    let manifest: Value = serde_json::from_slice(&archive.read(&manifest)?)
        .map_err(|e| bad(format!("manifest.json is not valid JSON: {e}")))?;
    check_format(&manifest)?;
    let listed = manifest["files"]
        .as_array()
        .ok_or_else(|| bad("manifest.json lists no files"))?;
    let now = chrono::Utc::now();
    let mut checked = Vec::with_capacity(listed.len());
    let mut seen = HashSet::new();
    for f in listed {
        let (path, entry) = listed_entry(f, now, &mut seen)?;
        let file = stated
            .remove(path)
            .ok_or_else(|| bad(format!("{path} is listed in manifest.json but missing from the zip")))?;
        checked.push((file, f, entry));
    }
    if let Some(extra) = stated.keys().next() {
        return Err(bad(format!(
            "{extra} is in the zip but not in manifest.json: the zip was changed after the export"
        )));
    }
    if checked.is_empty() {
        return Err(bad("the export holds no policy files; there is nothing to import"));
    }
    let mut entries = Vec::with_capacity(checked.len());
    for (file, f, mut entry) in checked {
        let path = file.name.as_str();
        let data = archive.read(&file)?;
        let sha = hex::encode(Sha256::digest(&data));
        if f.get("sha256").and_then(Value::as_str) != Some(sha.as_str()) {
            return Err(bad(format!(
                "{path} does not match the SHA-256 in manifest.json: the file was changed or damaged after the export"
            )));
        }
        // A parsed document takes many times its text: each is parsed, checked and dropped
        // here, and parsed again only when it is written, one at a time.
        let document: Value =
            serde_json::from_slice(&data).map_err(|e| bad(format!("{path} is not valid JSON: {e}")))?;
        if !document.is_object() {
            return Err(bad(format!("{path} is not a JSON object")));
        }
        if let Some(ty) = registry::by_key(&entry.policy_type)
            && let Some(setting) = crate::ops::sealing::plain_secret(ty, &document)
        {
            return Err(bad(format!(
                "{path}: the secret setting {setting} holds a plain value; an import takes secrets only as the sealed references an export writes"
            )));
        }
        drop(document);
        entry.document = data;
        entries.push(entry);
    }
    Ok((manifest, entries))
}

fn check_format(manifest: &Value) -> Result<(), AppError> {
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
    Ok(())
}

/// One entry of the manifest, checked before any document is read: a known type, a Graph
/// id, a name by the name rules, a capture time that is not in the future, no policy twice.
fn listed_entry<'a>(
    f: &'a Value,
    now: chrono::DateTime<chrono::Utc>,
    seen: &mut HashSet<(String, String)>,
) -> Result<(&'a str, Entry), AppError> {
    let path = f
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("manifest.json has a file entry without a path"))?;
    let policy_type = text(f, "policy_type", path)?;
    if registry::by_key(policy_type).is_none() {
        return Err(bad(format!(
            "{path}: this policyvault does not know the type {policy_type}"
        )));
    }
    let graph_id = text(f, "graph_id", path)?;
    if !crate::graph::path::is_id(graph_id) {
        return Err(bad(format!(
            "{path}: the manifest's graph_id is not a Graph id (only letters, digits, '-' and '_', at most {} characters); the zip was changed after the export",
            crate::graph::path::MAX_ID_LEN
        )));
    }
    if !seen.insert((policy_type.to_owned(), graph_id.to_owned())) {
        return Err(bad(format!("{path}: the zip holds this policy twice")));
    }
    let captured_at = text(f, "captured_at", path)?;
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(captured_at) else {
        return Err(bad(format!("{path}: captured_at is not an RFC 3339 time")));
    };
    if at.with_timezone(&chrono::Utc) > now + chrono::Duration::minutes(5) {
        return Err(bad(format!(
            "{path}: captured_at ({captured_at}) is in the future; an export only holds what was captured before it"
        )));
    }
    let display_name = match f.get("display_name").and_then(Value::as_str) {
        Some(n) => crate::names::check(n, &format!("policy in {path}"), 400)?,
        None => "(unnamed)".to_owned(),
    };
    Ok((
        path,
        Entry {
            policy_type: policy_type.to_owned(),
            graph_id: graph_id.to_owned(),
            display_name,
            captured_at: captured_at.to_owned(),
            document: Vec::new(),
        },
    ))
}
