//! The names a page shows in place of ids (groups, assignment filters, setting definitions),
//! read in the page's own database read.

use std::collections::BTreeSet;

use rusqlite::Connection;

use crate::db::runs::RunItem;
use crate::db::{DbResult, directory, policies, setting_definitions};
use crate::views::diff::{Names, setting_ids};

/// The tenant's group and filter names, and the names of the setting definitions `settings`.
pub fn load(c: &Connection, tenant_id: &str, settings: &BTreeSet<String>) -> DbResult<Names> {
    Ok(Names {
        groups: directory::names(c, tenant_id)?,
        filters: policies::names_by_graph_id(c, tenant_id, "assignment_filter")?,
        settings: match setting_definitions::source_of_tenant(c, tenant_id)? {
            Some(source) => setting_definitions::names(c, &source, settings)?,
            None => std::collections::HashMap::new(),
        },
    })
}

/// [`load`] for the settings the items' stored diffs (previews, verifies, drift) name.
pub fn for_items(c: &Connection, tenant_id: &str, items: &[RunItem]) -> DbResult<Names> {
    let entries: Vec<_> = items.iter().flat_map(crate::views::diff::stored_diff).collect();
    load(c, tenant_id, &setting_ids(&entries))
}
