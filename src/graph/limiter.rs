//! Per-tenant pacing. Intune throttles per app per tenant per 20 s (`shared/GRAPH.md`):
//! about 1,000 requests, of which about 100 writes. Requests of any kind go through a token
//! bucket (in any 20 s at most its burst plus 20 s of its rate); writes also through a
//! sliding log that lets at most a share of the write limit start in any 20 s. Both stay
//! within a share of Intune's limits (97 % by default, `PV_GRAPH_LIMIT_PERCENT`): a run
//! never sees a 429 from us alone, yet runs close to the ceiling. Batch sub-requests count
//! one by one, as Intune counts them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests of any kind per second, sustained.
    pub reads_per_sec: f64,
    /// Writes that may start in any 20 s. A log of the last ones, not a bucket: a bucket's
    /// burst comes out of its sustained rate (burst + 20 s of rate is what a window may
    /// hold), and a restore, whose items each wait on their own round trips, needs the
    /// rate: 97 writes per 20 s sustain 4.85/s where a bucket of burst 5 allowed 4.6/s.
    pub writes_per_window: usize,
    /// How many may go at once after a quiet period.
    pub burst: f64,
}

/// Intune's limits per 20 s window.
const WINDOW_SECS: f64 = 20.0;
const REQUESTS_PER_WINDOW: f64 = 1000.0;
const WRITES_PER_WINDOW: f64 = 100.0;
const BURST: f64 = 20.0;
/// Share of the limits used when nothing else is configured.
pub const DEFAULT_PERCENT: u8 = 97;

impl Limits {
    /// Rates such that burst + 20 s of rate stay within `percent` % of Intune's limits in
    /// every 20 s window.
    pub fn within_percent(percent: u8) -> Limits {
        let share = f64::from(percent.clamp(10, 100)) / 100.0;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let writes_per_window = ((WRITES_PER_WINDOW * share).floor() as usize).max(1);
        Limits {
            reads_per_sec: ((REQUESTS_PER_WINDOW * share - BURST) / WINDOW_SECS).max(1.0),
            writes_per_window,
            burst: BURST,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::within_percent(DEFAULT_PERCENT)
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            tokens: burst,
            rate,
            burst,
            last: Instant::now(),
        }
    }

    /// Takes `n` tokens now, or says how long to wait for them.
    fn take(&mut self, n: f64) -> Option<Duration> {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= n {
            self.tokens -= n;
            None
        } else {
            Some(Duration::from_secs_f64((n - self.tokens) / self.rate))
        }
    }
}

/// Added to the write log's window: a write reaches Graph a round trip after it starts, so
/// starts 20 s apart can arrive closer together. Measured here (100 ms latency, restore of
/// 332 policies) without it, Graph's busiest 20 s saw 99 writes where we started 97.
const WRITE_LOG_GUARD: Duration = Duration::from_millis(500);

/// When the last writes started; at most `max` in any `WINDOW_SECS` (plus the guard).
#[derive(Debug)]
struct WriteLog {
    started: std::collections::VecDeque<Instant>,
    max: usize,
}

impl WriteLog {
    /// Records `n` writes now, or says how long until they fit in the window. More than
    /// `max` at once (never sent today) go once the log is empty.
    fn take(&mut self, n: usize) -> Option<Duration> {
        let now = Instant::now();
        let window = Duration::from_secs_f64(WINDOW_SECS) + WRITE_LOG_GUARD;
        while self.started.front().is_some_and(|t| now.duration_since(*t) >= window) {
            self.started.pop_front();
        }
        let room = self.max.saturating_sub(self.started.len());
        if n <= room || self.started.is_empty() {
            self.started.extend(std::iter::repeat_n(now, n));
            return None;
        }
        // The write whose leaving the window makes room for these.
        let leaving = self.started.len() + n.min(self.max) - self.max - 1;
        let at = self.started.get(leaving).copied().unwrap_or(now);
        Some(
            (at + window)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1)),
        )
    }

    /// Takes back the `n` writes just recorded (the other limit said wait).
    fn undo(&mut self, n: usize) {
        for _ in 0..n {
            self.started.pop_back();
        }
    }
}

#[derive(Debug)]
struct TenantBuckets {
    any: Bucket,
    writes: WriteLog,
}

#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    tenants: Mutex<HashMap<String, Arc<Mutex<TenantBuckets>>>>,
}

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    fn buckets(&self, tenant: &str) -> Arc<Mutex<TenantBuckets>> {
        let mut map = self.tenants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(tenant.to_owned())
            .or_insert_with(|| {
                let l = self.limits;
                Arc::new(Mutex::new(TenantBuckets {
                    any: Bucket::new(l.reads_per_sec, l.burst),
                    writes: WriteLog {
                        started: std::collections::VecDeque::with_capacity(l.writes_per_window),
                        max: l.writes_per_window,
                    },
                }))
            })
            .clone()
    }

    /// Waits until `requests` requests of this access may go to the tenant.
    pub async fn acquire(&self, tenant: &str, access: Access, requests: u32) {
        let buckets = self.buckets(tenant);
        let n = f64::from(requests);
        let count = usize::try_from(requests).unwrap_or(usize::MAX);
        loop {
            let wait = {
                let mut b = buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match access {
                    // A write counts against both limits; take both or neither.
                    Access::Write => match (b.writes.take(count), b.any.take(n)) {
                        (None, None) => None,
                        (None, Some(w)) => {
                            b.writes.undo(count);
                            Some(w)
                        }
                        (Some(w), any) => {
                            if any.is_none() {
                                b.any.tokens += n;
                            }
                            Some(w)
                        }
                    },
                    Access::Read => b.any.take(n),
                }
            };
            match wait {
                None => return,
                Some(w) => tokio::time::sleep(w).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_20_second_window_can_exceed_the_chosen_share_of_intunes_limits() {
        for percent in [50, 90, 97, 100] {
            let l = Limits::within_percent(percent);
            let share = f64::from(percent) / 100.0;
            assert!(
                l.burst + l.reads_per_sec * 20.0 <= 1000.0 * share + 1e-9,
                "{percent}: {l:?}"
            );
            #[allow(clippy::cast_precision_loss)]
            let writes = l.writes_per_window as f64;
            assert!(writes <= 100.0 * share + 1e-9, "{percent}: {l:?}");
        }
        assert_eq!(Limits::default().writes_per_window, 97);
    }

    #[test]
    fn the_write_log_lets_its_share_through_then_waits_for_the_oldest_to_leave_the_window() {
        let mut log = WriteLog {
            started: std::collections::VecDeque::new(),
            max: 3,
        };
        assert!(log.take(1).is_none() && log.take(1).is_none() && log.take(1).is_none());
        let wait = log.take(1).expect("full");
        assert!(
            wait > Duration::from_secs(20) && wait <= Duration::from_millis(20_500),
            "until the first leaves the 20 s window and its guard: {wait:?}"
        );
        log.undo(1);
        assert_eq!(log.started.len(), 2, "a write the other limit refused is taken back");
        assert!(log.take(5).is_some(), "more than the share waits");
    }

    #[test]
    fn a_bucket_allows_its_burst_then_paces_at_its_rate() {
        let mut b = Bucket::new(10.0, 3.0);
        assert!(b.take(1.0).is_none() && b.take(1.0).is_none() && b.take(1.0).is_none());
        let wait = b.take(1.0).expect("empty");
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }

    #[test]
    fn default_limits_stay_under_intunes() {
        let l = Limits::default();
        assert!(l.reads_per_sec * 20.0 < 1000.0 && l.writes_per_window < 100);
    }
}
