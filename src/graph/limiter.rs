//! Per-tenant pacing. Intune throttles per app per tenant per 20 s (`shared/GRAPH.md`):
//! about 1,000 requests, of which about 100 writes. Two token buckets per tenant; in any
//! 20 s a bucket lets through at most its burst plus 20 s of its rate, and the rates are set
//! so that this stays within a share of Intune's limits (97 % by default,
//! `PV_GRAPH_LIMIT_PERCENT`). A run never sees a 429 from us alone, yet runs close to the
//! ceiling. Batch sub-requests count one by one, as Intune counts them.

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
    pub writes_per_sec: f64,
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
    /// every 20 s window (writes get a quarter of the burst; see `Limiter::buckets`).
    pub fn within_percent(percent: u8) -> Limits {
        let share = f64::from(percent.clamp(10, 100)) / 100.0;
        let write_burst = (BURST / 4.0).max(1.0);
        Limits {
            reads_per_sec: ((REQUESTS_PER_WINDOW * share - BURST) / WINDOW_SECS).max(1.0),
            writes_per_sec: ((WRITES_PER_WINDOW * share - write_burst) / WINDOW_SECS).max(0.1),
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

#[derive(Debug)]
struct TenantBuckets {
    any: Bucket,
    writes: Bucket,
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
                    writes: Bucket::new(l.writes_per_sec, (l.burst / 4.0).max(1.0)),
                }))
            })
            .clone()
    }

    /// Waits until `requests` requests of this access may go to the tenant.
    pub async fn acquire(&self, tenant: &str, access: Access, requests: u32) {
        let buckets = self.buckets(tenant);
        let n = f64::from(requests);
        loop {
            let wait = {
                let mut b = buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match access {
                    // A write counts against both limits; take both or neither.
                    Access::Write => match (b.writes.take(n), b.any.take(n)) {
                        (None, None) => None,
                        (None, Some(w)) => {
                            b.writes.tokens += n;
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
            assert!(
                (l.burst / 4.0) + l.writes_per_sec * 20.0 <= 100.0 * share + 1e-9,
                "{percent}: {l:?}"
            );
        }
        let d = Limits::default();
        assert!(d.writes_per_sec > 4.5, "closer to the ceiling than a flat 90 %: {d:?}");
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
        assert!(l.reads_per_sec * 20.0 < 1000.0 && l.writes_per_sec * 20.0 < 100.0);
    }
}
