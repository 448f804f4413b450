//! Cron expressions as admins type them, checked with the same parser settings the
//! scheduler (tokio-cron-scheduler) uses, so what we accept is what fires.

use chrono::{DateTime, Duration, Timelike, Utc};
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

/// A parser error in the words of the cron fields (not "Component error: …").
fn plain_error(e: &str) -> String {
    let lower = e.to_lowercase();
    if lower.contains("out of bounds") || lower.contains("out of range") {
        "a number is out of range (minute 0–59, hour 0–23, day 1–31, month 1–12, weekday 0–7)".into()
    } else if lower.contains("step") {
        "a step (`*/n`) is not valid there".into()
    } else {
        "check each field: minute hour day month weekday, numbers, `*`, `,` lists, `-` ranges and `*/n` steps".into()
    }
}

/// How an owner wrote it: the seconds field we add to 5-field expressions is left out.
pub fn display(normalized: &str) -> &str {
    match normalized.strip_prefix("0 ") {
        Some(rest) if rest.split_whitespace().count() == 5 => rest,
        _ => normalized,
    }
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
        let cron = parser().parse(&normalized).map_err(|e| {
            format!(
                "`{}` is not a valid cron expression: {}",
                input.trim(),
                plain_error(&e.to_string())
            )
        })?;
        let expr = CronExpr { normalized, cron };
        let Some(first) = expr.first_after(Utc::now()) else {
            return Err(format!("`{}` never fires", input.trim()));
        };
        if min_interval_secs == 0 {
            // `stored`: validated when saved; skip the scan on every read.
            return Ok(expr);
        }
        let min = i64::try_from(min_interval_secs).unwrap_or(i64::MAX);
        match expr.smallest_gap_from(first) {
            Some(gap) if gap < min => Err(format!(
                "`{}` would run every {} at times; backups may run at most every {} on this server",
                input.trim(),
                human(gap),
                human(min),
            )),
            _ => Ok(expr),
        }
    }

    /// The smallest gap in seconds between consecutive firings in the 8 years from `first`
    /// (`None` if it fires only once). Not just the first two: `0-4,20 * * * *` at 01:04
    /// first fires 40 minutes apart, then every minute. And not just a month: `59,0 23,0
    /// 29,1 2,3 *` fires a minute apart only from 29 February to 1 March, once in four
    /// years; 8 years hold at least one leap day (2100 is not one, 2096 and 2104 are).
    ///
    /// In UTC every day that fires fires at the same times of day (seconds, minutes and
    /// hours do not depend on the date), so one full day gives every gap within a day, and
    /// the gap between two firing days is from the day's last time to the next firing day's
    /// first. That is one step per firing day: at most about 2,900 however often it fires.
    fn smallest_gap_from(&self, first: DateTime<Utc>) -> Option<i64> {
        const SCAN_DAYS: i64 = 8 * 366;
        let end = first + Duration::days(SCAN_DAYS);
        let next_day = |t: DateTime<Utc>| {
            t.date_naive()
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        };
        // The first firing day may have started before `first`; the next one is whole.
        let first_day_end = next_day(first)?;
        let full_day = match self.first_at_or_after(first_day_end) {
            Some(t) if t <= end => t.date_naive(),
            _ => first.date_naive(),
        };
        let (mut smallest, last_time) = self.gaps_within(full_day)?;
        let at_last_time = |day: chrono::NaiveDate| day.and_time(last_time).and_utc();
        let mut day_last = at_last_time(first.date_naive());
        while let Some(next) = next_day(day_last).and_then(|d| self.first_at_or_after(d)) {
            if next > end {
                break;
            }
            let gap = (next - day_last).num_seconds();
            smallest = Some(smallest.map_or(gap, |s: i64| s.min(gap)));
            day_last = at_last_time(next.date_naive());
        }
        smallest
    }

    /// The smallest gap between firings on `day` (`None` inside when it fires once that
    /// day) and the time of day of its last firing; `None` if it does not fire that day.
    fn gaps_within(&self, day: chrono::NaiveDate) -> Option<(Option<i64>, chrono::NaiveTime)> {
        let start = day.and_hms_opt(0, 0, 0)?.and_utc();
        let end = start + Duration::days(1);
        let first = self.first_at_or_after(start).filter(|t| *t < end)?;
        let last = self.cron.find_previous_occurrence(&end, false).ok()?;
        let mut prev = first;
        let mut smallest: Option<i64> = None;
        for t in self.cron.iter_after(first).take_while(|t| *t <= last) {
            let gap = (t - prev).num_seconds();
            smallest = Some(smallest.map_or(gap, |s| s.min(gap)));
            if gap <= 1 {
                break; // cannot get smaller
            }
            prev = t;
        }
        Some((smallest, last.time()))
    }

    fn first_at_or_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, true).ok()
    }

    /// An expression already stored (validated when saved): no interval rule applies;
    /// `None` only if the row was edited by hand into something unparseable.
    pub fn stored(normalized: &str) -> Option<CronExpr> {
        CronExpr::parse(normalized, 0).ok()
    }

    /// The next `n` times it fires strictly after `after`, in whole seconds (the parser
    /// keeps the sub-second part of `after`, which no trigger has).
    pub fn next_after(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.cron
            .iter_after(whole_second(after))
            .take(n)
            .map(whole_second)
            .collect()
    }

    /// The first time it fires strictly after `after`, in whole seconds.
    pub fn first_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&whole_second(after), false)
            .ok()
            .map(whole_second)
    }

    /// In words, e.g. "At 02:00:00 …"; best effort, from the parser.
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
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
    fn the_smallest_gap_counts_not_the_first_two_firings() {
        let e = CronExpr::parse("0-4,20 * * * *", 0).unwrap();
        let at_01_04 = crate::clock::parse_time("2026-11-24T01:04:30Z").unwrap();
        let first = e.first_after(at_01_04).unwrap();
        assert_eq!(crate::clock::format_time(first), "2026-11-24T01:20:00.000Z");
        assert_eq!(e.smallest_gap_from(first), Some(60));
        // Only on Sundays, every minute from 03:00 to 03:05.
        let sunday = CronExpr::parse("0-5 3 * * Sun", 0).unwrap();
        let first = sunday.first_after(at_01_04).unwrap();
        assert_eq!(sunday.smallest_gap_from(first), Some(60));
        let daily = CronExpr::parse("0 2 * * *", 0).unwrap();
        let first = daily.first_after(at_01_04).unwrap();
        assert_eq!(daily.smallest_gap_from(first), Some(86_400));
    }

    #[test]
    fn a_gap_that_only_leap_years_have_is_refused() {
        // 23:59 on 29 February, then 00:00 on 1 March: one minute apart, once every four
        // years; every other gap of it is 59 minutes or more.
        let leap = "59,0 23,0 29,1 2,3 *";
        let err = CronExpr::parse(leap, 900).map(|e| e.normalized).unwrap_err();
        assert!(err.contains("every 1 min"), "{err}");
        let e = CronExpr::parse(leap, 0).unwrap();
        // From just after a leap day, the next one is almost four years away.
        let after_2028 = crate::clock::parse_time("2028-03-02T00:00:00Z").unwrap();
        let first = e.first_after(after_2028).unwrap();
        assert_eq!(e.smallest_gap_from(first), Some(60));
        // The same times of day without the month change stay allowed.
        assert!(CronExpr::parse("59,0 23,0 29,1 3,4 *", 900).is_ok());
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
