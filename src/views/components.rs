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

/// What a backup set misses, in one line: "incomplete: 2 types not captured (Remediation
/// scripts: Graph was unavailable; Custom Intune roles: permission … missing)". Nothing for a
/// set that misses no type. The list, the set page, the overview and the dashboard say the
/// same.
pub fn missing_types(missing: &[crate::db::backups::MissingType]) -> Markup {
    if missing.is_empty() {
        return html! {};
    }
    let n = missing.len();
    let what: Vec<String> = missing.iter().map(crate::db::backups::MissingType::describe).collect();
    html! {
        span.pv-missing-types {
            (badge("partial", "incomplete")) " "
            (n) @if n == 1 { " type not captured" } @else { " types not captured" }
            " (" (what.join("; ")) ")"
        }
    }
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

/// A timestamp to the second, where versions captured in the same minute must differ.
pub fn when_exact(ts: &str) -> String {
    match (ts.get(..10), ts.get(11..19)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => ts.to_owned(),
    }
}

/// "1 field", "3 fields": the summary of an item's diff.
pub fn fields(n: usize) -> String {
    if n == 1 {
        "1 field".to_owned()
    } else {
        format!("{n} fields")
    }
}

/// A timestamp as a `<time>` element: UTC in the page (and on hover), turned into the
/// reader's local time by `app.js`.
pub fn local_time(ts: &str) -> Markup {
    let utc = when(ts);
    html! { time datetime=(ts) title=(utc) data-local { (utc) } }
}

/// [`local_time`] to the second, where versions captured in the same minute must differ.
pub fn local_time_exact(ts: &str) -> Markup {
    let utc = when_exact(ts);
    html! { time datetime=(ts) title=(utc) data-local="seconds" { (utc) } }
}

/// How long ago, e.g. "5 min ago", with the time on hover (local time by `app.js`).
pub fn age(ts: &str) -> Markup {
    let ago = crate::clock::parse_time(ts).map_or_else(String::new, |t| {
        let secs = (chrono::Utc::now() - t).num_seconds().max(0);
        match secs {
            0..60 => "just now".to_owned(),
            60..3600 => format!("{} min ago", secs / 60),
            3600..86_400 => format!("{} h ago", secs / 3600),
            _ => format!("{} days ago", secs / 86_400),
        }
    });
    html! { time datetime=(ts) title=(when(ts)) data-age { (ago) } }
}

/// An error code from the fixed list, in the words an admin uses.
pub fn error_text(code: &str) -> &'static str {
    crate::graph::error::describe(code)
}

/// An error in words, with its code and context in small print.
pub fn error_line(code: &str, context: Option<&serde_json::Value>) -> Markup {
    let details: Vec<String> = context
        .and_then(serde_json::Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) if k == "policy_type" => {
                        format!(
                            "type: {}",
                            crate::graph::registry::by_key(s).map_or(s.as_str(), |t| t.label)
                        )
                    }
                    serde_json::Value::String(s) => format!("{}: {s}", k.replace('_', " ")),
                    other => format!("{}: {other}", k.replace('_', " ")),
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        span.pv-error { (error_text(code)) }
        " " small.pv-muted { code { (code) } @for d in &details { " · " (d) } }
    }
}

/// A query-string value, percent-encoded.
pub fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
