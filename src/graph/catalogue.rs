//! The supported types as people and scripts read them: `policyvault types` prints this table
//! (or JSON), and the README carries the same table (a test keeps the two equal).

use std::fmt::Write as _;

use serde::Serialize;

use super::registry::{Assign, PolicyType, Recipe, TYPES};

/// One row of `policyvault types`.
#[derive(Debug, Serialize)]
pub struct Row {
    pub key: &'static str,
    pub label: &'static str,
    pub collection: &'static str,
    pub backup: bool,
    pub restore: &'static str,
    pub assignments: &'static str,
    pub permission: &'static str,
    pub notes: &'static str,
}

fn row(ty: &PolicyType) -> Row {
    Row {
        key: ty.key,
        label: ty.label,
        collection: ty.collection,
        backup: true,
        restore: match ty.recipe {
            Recipe::MobileApp => "store, web and Microsoft 365 apps",
            _ => "yes",
        },
        assignments: match ty.assign {
            Assign::Action(_) => "assign",
            Assign::EachPost => "one by one",
            Assign::None if ty.expand.contains(&"assignments") => "with the object",
            Assign::None => "none",
        },
        permission: ty.permission,
        notes: ty.notes,
    }
}

pub fn rows() -> Vec<Row> {
    TYPES.iter().map(row).collect()
}

/// The table as Markdown, one row per type, in restore order of the registry.
pub fn markdown() -> String {
    let mut out = String::from(
        "| key | type | collection (`/beta/`) | backup | restore | assignments | permission | notes |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows() {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} | {} | {} | {} |",
            r.key,
            r.label,
            r.collection,
            if r.backup { "yes" } else { "no" },
            r.restore,
            r.assignments,
            r.permission,
            r.notes
        );
    }
    out
}
