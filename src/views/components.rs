//! Small pieces used on many pages.

use maud::{Markup, html};

pub fn flash(class: &str, message: &str) -> Markup {
    html! { div class={ "pv-flash " (class) } role="status" { (message) } }
}

/// The hidden CSRF field every plain form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={ "pv-badge " (class) } { (text) } }
}

/// A form field error, shown under the form.
pub fn form_error(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { p.pv-field-error role="alert" { (m) } } }
}

/// Shortens an RFC 3339 timestamp for tables: `2026-11-24 22:10 UTC`.
pub fn when(ts: &str) -> String {
    match (ts.get(..10), ts.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => ts.to_owned(),
    }
}
