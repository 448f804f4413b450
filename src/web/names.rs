//! The names a page shows in place of ids (groups, assignment filters), read in the page's
//! own database read.

use rusqlite::Connection;

use crate::db::{DbResult, directory, policies};
use crate::views::diff::Names;

/// The tenant's group and assignment filter names.
pub fn load(c: &Connection, tenant_id: &str) -> DbResult<Names> {
    Ok(Names {
        groups: directory::names(c, tenant_id)?,
        filters: policies::names_by_graph_id(c, tenant_id, "assignment_filter")?,
    })
}
