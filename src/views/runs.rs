//! Run pages and the fragments SSE streams push: the same functions render the page and
//! every update, so a live page and a reloaded one look identical.

use maud::{Markup, html};

use super::components::{badge, local_time};
use super::layout::{Nav, page};
use crate::db::notifications::Notification;
use crate::db::runs::{Run, RunItem};
use crate::db::tenants::Tenant;

pub const ITEMS_PER_PAGE: u32 = 100;

pub fn status_badge(status: &str) -> Markup {
    let class = match status {
        "succeeded" => "operator",
        "failed" => "disabled",
        "partial" => "partial",
        "running" => "owner",
        _ => "viewer",
    };
    badge(class, status)
}

/// "tenant.verify" → "Verify tenant".
pub fn kind_label(kind: &str) -> String {
    match kind {
        "tenant.verify" => "Verify tenant".into(),
        "inventory.sync" => "Sync inventory".into(),
        "policy.capture_snapshot" => "Capture snapshot".into(),
        "backup_set.capture" => "Backup".into(),
        "restore.preview" => "Preview restore".into(),
        "restore.execute" => "Restore".into(),
        "restore.rerun" => "Re-run restore".into(),
        "drift.check" => "Drift check".into(),
        other => other.to_owned(),
    }
}

fn done(run: &Run) -> i64 {
    run.succeeded + run.failed + run.skipped
}

fn duration(run: &Run) -> String {
    let (Some(start), Some(end)) = (
        run.started_at.as_deref().and_then(crate::clock::parse_time),
        run.finished_at
            .as_deref()
            .and_then(crate::clock::parse_time)
            .or_else(|| Some(chrono::Utc::now())),
    ) else {
        return "–".into();
    };
    let ms = (end - start).num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// The run's header block: status, progress, counts, error. Swapped live by SSE.
pub fn summary(run: &Run) -> Markup {
    html! {
        div #run-summary data-status=(run.status) {
            p.pv-actions {
                (status_badge(&run.status))
                span.pv-muted { (done(run)) " of " (run.total) " items" }
                span.pv-muted {
                    (show_label(run, "succeeded").to_lowercase()) " " strong { (run.succeeded) }
                    " · " (show_label(run, "failed").to_lowercase()) " " strong { (run.failed) }
                    " · " (show_label(run, "skipped").to_lowercase()) " " strong { (run.skipped) }
                }
                span.pv-muted { "duration " (duration(run)) }
            }
            progress value=(done(run)) max=(run.total.max(1)) {}
            @if let Some(code) = &run.error_code {
                p.pv-flash.error {
                    "The run could not finish: " (super::components::error_line(code, run.error_context.as_ref()))
                    @if matches!(code.as_str(), "auth_failed" | "secret_unreadable") {
                        " " a href={ "/t/" (run.tenant_id) "/settings" } { "Fix the credentials in the tenant's settings" }
                    }
                }
            }
        }
    }
}

/// The field diff a preview (or a failed verify) stored in an item's result.
fn item_diff(i: &RunItem) -> Option<Vec<crate::graph::canonical::DiffEntry>> {
    let entries = super::diff::stored_diff(i);
    (!entries.is_empty()).then_some(entries)
}

/// For captures (backups, snapshots): whether a new version was stored.
fn capture_outcome(i: &RunItem) -> Option<&'static str> {
    let r = i.result.as_ref()?;
    match r.get("unchanged").and_then(serde_json::Value::as_bool) {
        Some(true) => Some("unchanged since the last capture"),
        Some(false) => Some("new version stored"),
        None => None,
    }
}

/// What happened to an item, in words for this kind of run: a preview's "succeeded" item is
/// one that will change, a restore's is one that was written.
pub fn item_outcome(kind: &str, i: &RunItem) -> (&'static str, String) {
    if kind == crate::db::drift::CHECK_KIND {
        return drift_outcome(i);
    }
    let action = i.result.as_ref().and_then(|r| r["action"].as_str()).unwrap_or("");
    let preview = kind == crate::ops::restore::PREVIEW;
    let restore = kind == crate::ops::restore::EXECUTE || kind == crate::ops::restore::RERUN;
    let text = match (i.status.as_str(), action) {
        ("pending", _) => "waiting",
        ("running", _) => {
            if preview {
                "checking"
            } else {
                "working"
            }
        }
        ("failed", _) => {
            if preview {
                "could not be checked"
            } else {
                "failed"
            }
        }
        ("succeeded", "create") if preview => "will be created",
        ("succeeded", "update") if preview => "will be updated",
        ("succeeded", "delete") if preview => "will be deleted",
        ("succeeded", "create") if restore => "created",
        ("succeeded", "update") if restore => "updated",
        ("succeeded", "delete") if restore => "deleted",
        ("succeeded", _) if preview => "will change",
        ("succeeded", _) if restore => "written",
        ("skipped", "unchanged") if preview => "unchanged: matches the tenant",
        ("skipped", "unchanged") => "unchanged: already matched, not written",
        ("skipped", "skip") => "cannot be restored",
        ("skipped", _) if preview || restore => "left alone",
        ("skipped", _) => "skipped",
        ("succeeded", _) => "done",
        _ => "",
    };
    let class = match i.status.as_str() {
        "succeeded" if preview => "owner",
        "succeeded" => "operator",
        "failed" => "disabled",
        "running" => "owner",
        _ => "viewer",
    };
    (class, text.to_owned())
}

/// A drift check's item in words: what the check found.
fn drift_outcome(i: &RunItem) -> (&'static str, String) {
    let r = i.result.as_ref();
    let change = r.and_then(|r| r["change"].as_str()).unwrap_or("");
    let text = match (i.status.as_str(), i.item_type.as_str(), change) {
        ("pending", _, _) => "waiting",
        ("running", _, _) => "checking",
        ("failed", _, _) => "could not be checked",
        (_, crate::db::drift::LIST_ITEM, _) => {
            if r.is_some_and(|r| r["not_in_baseline"].is_array()) {
                "listed: not in the baseline (capture failed)"
            } else {
                "listed"
            }
        }
        (_, _, "changed") => "changed since the baseline",
        (_, _, "removed") => "removed from the tenant",
        (_, _, "added") => "added since the baseline",
        (_, _, "unchanged") => "unchanged",
        _ if r.is_some_and(|r| r["not_in_baseline"] == "capture_failed") => "not in the baseline (capture failed)",
        _ => "skipped",
    };
    let class = match (i.status.as_str(), change) {
        ("failed", _) => "disabled",
        (_, "changed" | "removed" | "added") => "partial",
        ("succeeded", _) => "operator",
        _ => "viewer",
    };
    (class, text.to_owned())
}

/// The internal item type in words.
fn item_type_label(t: &str) -> &str {
    match t {
        "backup_item" | "policy" | "delete" | "drift_compare" | "drift_added" => "policy",
        // A backup's first step: listing what exists of one type.
        "policy_type" | "backup_list" | "drift_list" => "policy type",
        "tenant" => "tenant",
        other => other,
    }
}

/// The references an item's document holds that a restore rewrites or cannot resolve.
fn references(i: &RunItem) -> Markup {
    let list: Vec<&serde_json::Value> = i
        .result
        .as_ref()
        .and_then(|r| r.get("references"))
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
    html! {
        @if !list.is_empty() {
            ul.pv-refs aria-label="References" {
                @for r in &list {
                    @let status = text(r, "status");
                    li data-ref-status=(status) {
                        (crate::graph::registry::by_key(&text(r, "type")).map_or("object", |t| t.label)) " "
                        span.pv-mono { (text(r, "id")) } " at " span.pv-mono { (text(r, "path")) } ": "
                        @match status.as_str() {
                            "rewritten" => { "rewritten to " span.pv-mono { (text(r, "new_id")) } }
                            "rewritten when re-created" => { "rewritten to the re-created object's new id" }
                            "unresolved" => { strong { "unresolved: nothing in the tenant or this restore has this id" } }
                            other => { (other) }
                        }
                    }
                }
            }
        }
    }
}

/// Conditional Access changes of one item that tighten access.
fn tightens(i: &RunItem) -> Vec<String> {
    i.result
        .as_ref()
        .and_then(|r| r.get("tightens"))
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub fn item_rows(run: &Run, items: &[RunItem], names: &super::diff::Names) -> Markup {
    html! {
        @for i in items {
            @let (class, words) = item_outcome(&run.kind, i);
            tr data-item=(i.id) data-status=(i.status) {
                td { (i.label) }
                td.pv-muted.pv-nowrap { (item_type_label(&i.item_type)) }
                td { (badge(class, &words)) }
                td {
                    @if let Some(label) = capture_outcome(i) { span.pv-muted { (label) } " " }
                    @if let Some(reason) = i.result.as_ref().and_then(|r| r["reason"].as_str()) { span.pv-muted { (reason) } " " }
                    @if let Some(code) = &i.error_code { (super::components::error_line(code, i.error_context.as_ref())) }
                    @let tight = tightens(i);
                    @if !tight.is_empty() {
                        p.pv-tightens { strong { "Tightens access: " } (tight.join("; ")) }
                    }
                    (references(i))
                    @if let Some(entries) = item_diff(i) {
                        details.pv-item-diff { summary { (super::components::fields(entries.len())) } (super::restore::diff_table(&entries, names)) }
                    }
                }
            }
        }
        @if items.is_empty() { tr { td colspan="4" { "No items on this page." } } }
    }
}

/// Every kind of run, for the runs filter.
pub const KINDS: [&str; 8] = [
    "tenant.verify",
    "inventory.sync",
    "policy.capture_snapshot",
    "backup_set.capture",
    "restore.preview",
    "restore.execute",
    "restore.rerun",
    "drift.check",
];

/// A run's title: its kind in words, and what a run with a parent is to it.
pub fn run_title(run: &Run) -> String {
    match (run.kind.as_str(), run.parent_run_id.is_some()) {
        ("restore.execute", true) => "Undo of a restore".into(),
        ("backup_set.capture", true) => "Backup: failed items captured again".into(),
        _ => kind_label(&run.kind),
    }
}

/// What a run is to its parent, for the line under the title.
fn parent_words(run: &Run) -> &'static str {
    match run.kind.as_str() {
        "restore.execute" => "undoes ",
        "backup_set.capture" => "captures the failed items of ",
        _ => "re-runs the failed items of ",
    }
}

pub struct ListView<'a> {
    pub runs: &'a [Run],
    pub kind: &'a str,
    pub status: &'a str,
    pub page: u32,
    pub has_more: bool,
    pub is_owner: bool,
}

pub fn list(nav: &Nav, t: &Tenant, v: &ListView<'_>) -> Markup {
    let link = |page: u32| format!("/t/{}/runs?kind={}&status={}&page={page}", t.id, v.kind, v.status);
    page(
        nav,
        &format!("{} · Runs", t.name),
        html! {
            h1 { (t.name) }
            p.pv-sub { "Every operation on this tenant, its outcome and its items." }
            (super::tenant::tabs(t, super::tenant::Tab::Runs, v.is_owner))
            form.pv-actions method="get" action={ "/t/" (t.id) "/runs" } {
                select name="status" aria-label="Status" {
                    option value="" { "any status" }
                    @for s in crate::web::api::runs::STATUSES { option value=(s) selected[v.status == s] { (s) } }
                }
                select name="kind" aria-label="What ran" {
                    option value="" { "every kind of run" }
                    @for k in KINDS { option value=(k) selected[v.kind == k] { (kind_label(k)) } }
                }
                button.secondary type="submit" { "Filter" }
            }
            table {
                thead { tr { th { "Run" } th { "Status" } th { "Items" } th { "Started by" } th { "Created" } } }
                tbody {
                    @for r in v.runs {
                        tr data-run=(r.id) {
                            td { a href={ "/t/" (t.id) "/runs/" (r.id) } { (run_title(r)) } }
                            td { (status_badge(&r.status)) }
                            td { (done(r)) " / " (r.total) }
                            td { (r.initiator_label) }
                            td { (local_time(&r.created_at)) }
                        }
                    }
                    @if v.runs.is_empty() { tr { td colspan="5" { "No runs yet." } } }
                }
            }
            nav.pv-actions {
                @if v.page > 1 { a href=(link(v.page - 1)) { "← Newer" } }
                @if v.has_more { a href=(link(v.page + 1)) { "Older →" } }
            }
        },
    )
}

pub struct DetailView<'a> {
    pub run: &'a Run,
    pub items: &'a [RunItem],
    pub page: u32,
    pub pages: u32,
    /// Only items of this status (`?show=`), or all.
    pub show: Option<&'a str>,
    /// Names shown in place of ids (groups, filters, settings).
    pub names: &'a super::diff::Names,
}

/// Item statuses a run page can be narrowed to.
pub const SHOWABLE: [&str; 3] = ["succeeded", "failed", "skipped"];

/// What an item status means in this run: a preview's "succeeded" items are its changes.
fn show_label(run: &Run, status: &str) -> &'static str {
    // A drift check's succeeded item is one it checked, whatever it found (the drift page
    // says what changed).
    if run.kind == crate::db::drift::CHECK_KIND {
        return match status {
            "succeeded" => "Checked",
            "failed" => "Could not check",
            _ => "Skipped",
        };
    }
    let restore = run.kind == crate::ops::restore::EXECUTE || run.kind == crate::ops::restore::RERUN;
    match (run.dry_run, restore, status) {
        (true, _, "succeeded") => "Changes",
        (true, _, "failed") => "Could not check",
        (_, true, "succeeded") => "Written",
        (true, _, "skipped") | (_, true, "skipped") => "Unchanged",
        (_, _, "succeeded") => "Succeeded",
        (_, _, "failed") => "Failed",
        _ => "Skipped",
    }
}

/// `?show=` of a page: "all" when every item is shown.
pub fn show_param(show: Option<&str>) -> &str {
    show.unwrap_or("all")
}

/// "All · Changes · Could not check · Unchanged", with counts; the current one is not a link.
pub fn item_filter(base: &str, run: &Run, show: Option<&str>) -> Markup {
    html! {
        nav.pv-filter aria-label="Show items" {
            @if show.is_none() { strong { "All " (run.total) } } @else { a href={ (base) "?show=all" } { "All " (run.total) } }
            @for s in SHOWABLE {
                " · "
                @if show == Some(s) { strong { (show_label(run, s)) " " (run.count_in(Some(s))) } }
                @else { a href={ (base) "?show=" (s) } { (show_label(run, s)) " " (run.count_in(Some(s))) } }
            }
        }
    }
}

pub fn detail(nav: &Nav, t: &Tenant, v: &DetailView<'_>) -> Markup {
    let run = v.run;
    let base = format!("/t/{}/runs/{}", t.id, run.id);
    let live = !run.is_terminal();
    page(
        nav,
        &format!("{} · {}", t.name, run_title(run)),
        html! {
            p.pv-muted { a href={ "/t/" (t.id) "/runs" } { "← Runs of " (t.name) } }
            h1 { (run_title(run)) }
            p.pv-sub {
                "Started by " (run.initiator_label) " · created " (local_time(&run.created_at))
                @if let Some(p) = &run.parent_run_id { " · " (parent_words(run)) a href={ "/t/" (t.id) "/runs/" (p) } { "an earlier run" } }
                @if run.dry_run { " · " (badge("viewer", "dry run")) }
            }
            @if run.kind == crate::db::drift::CHECK_KIND {
                p #pv-drift-link { a href={ "/t/" (t.id) "/drift?run=" (run.id) } { "See this check on the drift page" } }
            }
            // The SSE extension reconnects on its own; the server sends the current state first.
            // A finished run's page does not listen: its first event would re-render the rows
            // and close whatever diff the reader just opened.
            div hx-ext=[live.then_some("sse")] sse-connect=[live.then(|| format!("{base}/events?page={}&show={}", v.page, v.show.unwrap_or("")))] sse-close=[live.then_some("done")] {
                div sse-swap="summary" { (summary(run)) }
                div sse-swap="filter" { (item_filter(&base, run, v.show)) }
                // What it will do or did, and the next steps (restore live, undo, re-run),
                // right under the counts when the run is done.
                div #run-actions hx-get={ (base) "/actions?show=" (show_param(v.show)) } hx-trigger="load, sse:done" {}
                table {
                    thead { tr { th { "Item" } th { "Type" } th { "Outcome" } th { "Details" } } }
                    tbody #run-items sse-swap="items" { (item_rows(run, v.items, v.names)) }
                }
            }
            @if v.pages > 1 {
                nav.pv-actions {
                    span.pv-muted { "Page " (v.page) " of " (v.pages) }
                    @if v.page > 1 { a href={ (base) "?show=" (show_param(v.show)) "&page=" (v.page - 1) } { "← Previous" } }
                    @if v.page < v.pages { a href={ (base) "?show=" (show_param(v.show)) "&page=" (v.page + 1) } { "Next →" } }
                }
            }
        },
    )
}

/// The header widget's summary line: how many runs are active.
pub fn active_summary(runs: &[(Run, String)]) -> Markup {
    html! {
        @if runs.is_empty() { span.pv-muted { "No active runs" } }
        @else { (runs.len()) " active run" @if runs.len() != 1 { "s" } }
    }
}

/// The header widget's list: every active run of the user's tenants. Swapped on its own, so
/// an open dropdown stays open while it updates.
pub fn active_list(runs: &[(Run, String)]) -> Markup {
    html! {
        @for (r, tenant_name) in runs {
            li { a href={ "/t/" (r.tenant_id) "/runs/" (r.id) } {
                (kind_label(&r.kind)) " · " (tenant_name) " · " (done(r)) "/" (r.total) " " (r.status)
            } }
        }
        @if runs.is_empty() { li.pv-muted { "Nothing is running." } }
    }
}

/// The notifications link with its unread count (the bell), swapped live.
pub fn bell(unread: i64) -> Markup {
    html! {
        a href="/notifications" title="Notifications" aria-label={ "Notifications, " (unread) " unread" } {
            "Notifications"
            @if unread > 0 { " " span.pv-count { (unread) } }
        }
    }
}

pub fn notifications(nav: &Nav, list: &[Notification], page_number: u32, has_more: bool) -> Markup {
    page(
        nav,
        "Notifications",
        html! {
            h1 { "Notifications" }
            p.pv-sub { "One message per finished run: backups, restores, syncs and checks of your tenants." }
            @if list.iter().any(|n| !n.read) {
                form method="post" action="/notifications/read" {
                    input type="hidden" name="_csrf" value=(nav.csrf);
                    button.secondary type="submit" { "Mark all as read" }
                }
            }
            table.pv-notifications {
                thead { tr { th { "When" } th { "What happened" } th { "Outcome" } th {} } }
                tbody {
                    @for n in list {
                        tr data-unread=(!n.read) data-status=(n.status) {
                            td { (local_time(&n.created_at)) }
                            td { @if n.read { (n.message) } @else { strong { (n.message) } } }
                            td { (status_badge(&n.status)) }
                            td { a href={ "/t/" (n.tenant_id) "/runs/" (n.run_id) } { "View run" } }
                        }
                    }
                    @if list.is_empty() { tr { td colspan="4" { "Nothing yet." } } }
                }
            }
            nav.pv-actions {
                @if page_number > 1 { a href={ "/notifications?page=" (page_number - 1) } { "← Newer" } }
                @if has_more { a href={ "/notifications?page=" (page_number + 1) } { "Older →" } }
            }
        },
    )
}
