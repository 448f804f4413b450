//! Time and ids, in the one format the database and the API use.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now as RFC 3339 UTC with milliseconds, e.g. `2026-11-24T22:10:00.123Z` (sorts as text).
pub fn now() -> String {
    format_time(Utc::now())
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a timestamp written by [`now`]; `None` for anything else.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// A new id: a `UUIDv7`, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
