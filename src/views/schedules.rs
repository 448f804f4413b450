//! The schedules page: each schedule with its next runs, and the owner's form.

use maud::{Markup, html};

use super::components::{badge, csrf_field, form_error, local_time};
use super::layout::{Nav, page};
use super::tenant::{Tab, tabs};
use crate::clock;
use crate::db::schedules::Schedule;
use crate::db::tenants::Tenant;
use crate::graph::registry;
use crate::schedules::cron::CronExpr;
use crate::schedules::manage::ScheduleInput;

/// One schedule as the page shows it.
pub struct ScheduleRow {
    pub schedule: Schedule,
    /// Scheduled sets it has made that are still kept.
    pub sets_kept: i64,
}

pub struct SchedulesView<'a> {
    pub rows: &'a [ScheduleRow],
    pub is_owner: bool,
    /// The form as last submitted, with the error it got.
    pub form: &'a ScheduleInput,
    pub error: Option<&'a str>,
}

pub fn schedules(nav: &Nav, t: &Tenant, v: &SchedulesView<'_>) -> Markup {
    page(
        nav,
        &format!("{} · Schedules", t.name),
        html! {
            h1 { (t.name) }
            p.pv-sub {
                "Each scheduled backup syncs the inventory first, so new policies are included. Times are UTC. "
                "A backup missed while policyvault was down runs once when it starts again."
            }
            (tabs(t, Tab::Schedules, v.is_owner))
            table {
                thead { tr { th { "When" } th { "Next runs" } th { "Backs up" } th { "Keeps" } th { "Last run" } th { "State" } @if v.is_owner { th {} } } }
                tbody {
                    @for r in v.rows { (row(nav, t, r, v.is_owner)) }
                    @if v.rows.is_empty() {
                        tr { td colspan="7" { "No schedules yet." @if v.is_owner { " Add one below." } @else { " An owner of this tenant can add one." } } }
                    }
                }
            }
            @if v.is_owner { (form(nav, t, v.form, v.error)) }
        },
    )
}

fn row(nav: &Nav, t: &Tenant, r: &ScheduleRow, is_owner: bool) -> Markup {
    let s = &r.schedule;
    let expr = CronExpr::stored(&s.cron);
    let base = format!("/t/{}/schedules/{}", t.id, s.id);
    html! {
        tr data-schedule=(s.id) {
            td {
                code { (crate::schedules::cron::display(&s.cron)) }
                @if let Some(e) = &expr { br; small.pv-muted { (e.describe()) } }
            }
            td.pv-nowrap {
                @if !s.enabled { span.pv-muted { "paused" } }
                @else if let Some(e) = &expr {
                    @for (i, at) in next_runs(e).iter().enumerate() { @if i > 0 { br; } (local_time(at)) }
                }
            }
            td { (types_label(&s.policy_types)) }
            td { "last " (s.keep_last) br; small.pv-muted { (r.sets_kept) " kept now" } }
            td { @if let Some(at) = &s.last_fired_at { (local_time(at)) } @else { span.pv-muted { "not yet" } } }
            td { @if s.enabled { (badge("ok", "active")) } @else { (badge("disabled", "paused")) } }
            @if is_owner {
                td.pv-row-actions {
                    form method="post" action={ (base) (if s.enabled { "/pause" } else { "/resume" }) } {
                        (csrf_field(&nav.csrf))
                        button.secondary.outline type="submit" { @if s.enabled { "Pause" } @else { "Resume" } }
                    }
                    form method="post" action={ (base) "/delete" } {
                        (csrf_field(&nav.csrf))
                        button.secondary.outline type="submit" data-confirm="Delete this schedule? The backups it made are kept." { "Delete" }
                    }
                }
            }
        }
    }
}

/// The next three times it fires (RFC 3339); empty when it never does.
pub fn next_runs(e: &CronExpr) -> Vec<String> {
    e.next_after(chrono::Utc::now(), 3)
        .into_iter()
        .map(clock::format_time)
        .collect()
}

/// What the cron field's live check shows under it.
pub fn cron_check(result: &Result<CronExpr, String>) -> Markup {
    html! {
        @match result {
            Ok(e) => small.pv-ok { (e.describe().trim_end_matches('.')) ". Next: "
                @for (i, at) in next_runs(e).iter().enumerate() { @if i > 0 { " · " } (local_time(at)) }
            },
            Err(m) => small.pv-field-error { (m) },
        }
    }
}

fn types_label(types: &[String]) -> Markup {
    html! {
        @if types.is_empty() { "every supported type" }
        @else {
            @for (i, t) in types.iter().enumerate() {
                @if i > 0 { ", " }
                (registry::by_key(t).map_or(t.as_str(), |ty| ty.label))
            }
        }
    }
}

fn form(nav: &Nav, t: &Tenant, f: &ScheduleInput, error: Option<&str>) -> Markup {
    let keep = if f.keep_last.is_empty() {
        "14"
    } else {
        f.keep_last.as_str()
    };
    let cron = if f.cron.is_empty() && error.is_none() {
        "0 2 * * *"
    } else {
        f.cron.as_str()
    };
    html! {
        article #new-schedule {
            header { "New schedule" }
            form method="post" action={ "/t/" (t.id) "/schedules" } {
                (csrf_field(&nav.csrf))
                div.grid {
                    label {
                        "When (cron, UTC)"
                        input.pv-mono type="text" name="cron" value=(cron) required maxlength="120"
                            hx-get={ "/t/" (t.id) "/schedules/check" } hx-trigger="input changed delay:300ms, load"
                            hx-target="#pv-cron-check" aria-describedby="pv-cron-check";
                        div #pv-cron-check aria-live="polite" {}
                        small.pv-muted { "5 fields (minute hour day month weekday), e.g. " code { "0 2 * * *" } " = every day at 02:00." }
                    }
                    label {
                        "Keep the last"
                        input type="number" name="keep_last" value=(keep) min="1" max="1000" required;
                        small.pv-muted { "scheduled backups; older ones are deleted after each successful backup." }
                    }
                }
                fieldset {
                    legend { "Back up " small.pv-muted { "(none ticked = every supported type)" } }
                    div.pv-checks {
                        @for ty in registry::TYPES {
                            label { input type="checkbox" name="policy_types" value=(ty.key) checked[f.policy_types.iter().any(|k| k == ty.key)]; (ty.label) }
                        }
                    }
                }
                (form_error(error))
                button type="submit" { "Add schedule" }
            }
        }
    }
}
