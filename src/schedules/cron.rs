//! Cron expressions as admins type them, checked with the same parser settings the
//! scheduler (tokio-cron-scheduler) uses, so what we accept is what fires.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// A validated expression: 6 fields, seconds first, in UTC.
#[derive(Debug, Clone)]
pub struct CronExpr {
    pub normalized: String,
    cron: Cron,
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
}

impl CronExpr {
    /// Accepts the classic 5 fields (minute hour day month weekday) or 6 with seconds first.
    /// `min_interval_secs` refuses expressions that would back up more often than that.
    pub fn parse(input: &str, min_interval_secs: u64) -> Result<CronExpr, String> {
        let fields: Vec<&str> = input.split_whitespace().collect();
        let normalized = match fields.len() {
            5 => format!("0 {}", fields.join(" ")),
            6 => fields.join(" "),
            0 => return Err("enter a cron expression, e.g. `0 2 * * *` for every day at 02:00 UTC".into()),
            n => {
                return Err(format!(
                    "a cron expression has 5 fields (minute hour day month weekday) or 6 (seconds first); this one has {n}"
                ));
            }
        };
        let cron = parser()
            .parse(&normalized)
            .map_err(|e| format!("`{}` is not a valid cron expression: {e}", input.trim()))?;
        let expr = CronExpr { normalized, cron };
        let next = expr.next_after(Utc::now(), 2);
        match next.as_slice() {
            [] => Err(format!("`{}` never fires", input.trim())),
            [a, b] if (*b - *a).num_seconds() < i64::try_from(min_interval_secs).unwrap_or(i64::MAX) => Err(format!(
                "`{}` would run every {}; back-ups may run at most every {} (PV_SCHEDULE_MIN_INTERVAL_SECS)",
                input.trim(),
                human((*b - *a).num_seconds()),
                human(i64::try_from(min_interval_secs).unwrap_or(i64::MAX)),
            )),
            _ => Ok(expr),
        }
    }

    /// An expression already stored (validated when saved): no interval rule applies;
    /// `None` only if the row was edited by hand into something unparseable.
    pub fn stored(normalized: &str) -> Option<CronExpr> {
        CronExpr::parse(normalized, 0).ok()
    }

    /// The next `n` times it fires strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.cron.iter_after(after).take(n).collect()
    }

    /// The first time it fires strictly after `after`.
    pub fn first_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }

    /// In words, e.g. "At 02:00:00 …"; best effort, from the parser.
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_get_a_zero_second_and_six_are_kept() {
        assert_eq!(CronExpr::parse("0 2 * * *", 900).unwrap().normalized, "0 0 2 * * *");
        assert_eq!(
            CronExpr::parse(" 30 15 3 * * Mon ", 900).unwrap().normalized,
            "30 15 3 * * Mon"
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        assert!(
            CronExpr::parse("", 900)
                .unwrap_err()
                .contains("enter a cron expression")
        );
        assert!(CronExpr::parse("* *", 900).unwrap_err().contains("this one has 2"));
        assert!(
            CronExpr::parse("0 61 * * *", 900)
                .unwrap_err()
                .contains("not a valid cron expression")
        );
        assert!(CronExpr::parse("0 2 31 2 *", 900).is_err(), "February 31st never comes");
    }

    #[test]
    fn too_frequent_schedules_are_refused_with_the_setting_to_change() {
        let err = CronExpr::parse("* * * * *", 900).unwrap_err();
        assert!(err.contains("every 1 min") && err.contains("every 15 min"), "{err}");
        assert!(CronExpr::parse("* * * * * *", 1).is_ok());
    }

    #[test]
    fn next_runs_follow_the_expression_in_utc() {
        let e = CronExpr::parse("0 2 * * *", 900).unwrap();
        let from = crate::clock::parse_time("2026-11-24T10:00:00Z").unwrap();
        let next: Vec<String> = e
            .next_after(from, 2)
            .into_iter()
            .map(crate::clock::format_time)
            .collect();
        assert_eq!(next.len(), 2);
        assert!(next[0].starts_with("2026-11-25T02:00:00"), "{next:?}");
        assert!(next[1].starts_with("2026-11-26T02:00:00"), "{next:?}");
    }
}
