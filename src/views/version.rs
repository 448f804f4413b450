//! One captured version of a policy as JSON: what "View JSON" opens, with its script bodies
//! decoded above the document and a "Download JSON" button.

use maud::{Markup, html};
use serde_json::Value;

use super::components::when_exact;
use super::diff::{SCRIPT_FIELDS, decode_script};
use super::layout::{Nav, page};
use super::tenant::{Tab, tabs};
use crate::db::policies::{Policy, Version};
use crate::db::tenants::Tenant;
use crate::ops::sealing::Withheld;

pub struct VersionView<'a> {
    pub policy: &'a Policy,
    pub version: &'a Version,
    /// The stored document, canonical, secrets as sealed references or masks.
    pub document: &'a Value,
    pub withheld: &'a [Withheld],
    pub is_owner: bool,
    /// Names of the tenant's groups and filters, for the assignment targets listed above the JSON.
    pub names: &'a super::diff::Names,
}

pub fn version(nav: &Nav, t: &Tenant, v: &VersionView<'_>) -> Markup {
    let p = v.policy;
    let base = format!("/t/{}/policies/{}", t.id, p.id);
    let text = serde_json::to_string_pretty(v.document).unwrap_or_default();
    page(
        nav,
        &format!("{} · version of {}", p.display_name, when_exact(&v.version.captured_at)),
        html! {
            p.pv-muted { a href=(base) { "← " (p.display_name) } }
            h1 { (p.display_name) }
            p.pv-sub #pv-version { "Version captured " (super::components::local_time_exact(&v.version.captured_at)) }
            (tabs(t, Tab::Policies, v.is_owner))
            div.pv-actions #pv-version-actions {
                a.secondary role="button" href={ (base) "/versions/" (v.version.id) "/json" } download { "Download JSON" }
                small.pv-muted { "The document as backed up: the policy with its settings and assignments." }
            }
            @if !v.withheld.is_empty() {
                p.pv-flash.info {
                    "Secret values are not shown: "
                    @for (i, w) in v.withheld.iter().enumerate() { @if i > 0 { ", " } span.pv-mono { (w.setting) } }
                    " keep their sealed reference."
                }
            }
            @for field in SCRIPT_FIELDS {
                @if let Some(script) = v.document.get(*field).and_then(decode_script) {
                    h3 { "Script " span.pv-mono { (field) } small.pv-muted { " (decoded)" } }
                    pre.pv-json data-script=(field) { (script) }
                }
            }
            @if let Some(list) = v.document.get("assignments").and_then(Value::as_array) {
                h3 { "Assigned to" }
                @if list.is_empty() { p.pv-muted { "not assigned" } }
                @else {
                    ul.pv-targets #pv-version-targets {
                        @for a in list { li { (super::diff::target_markup(a, v.names)) } }
                    }
                }
            }
            h3 { "JSON" }
            pre.pv-json #pv-json { (text) }
        },
    )
}
