//! Failed-login throttling, per account and per client address.
//!
//! The first few failures are free (people mistype); after that each further failure doubles
//! the wait before the next attempt is even checked, up to a cap. Locked attempts are refused
//! before argon2 runs, so a password-guessing flood costs us nothing. State is in memory: a
//! restart forgives everyone, which is acceptable for a brake that works in minutes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const FREE_PER_ACCOUNT: u32 = 5;
/// Higher: an office behind one NAT address shares it.
const FREE_PER_ADDRESS: u32 = 20;
const FIRST_DELAY: Duration = Duration::from_secs(30);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Bound on remembered keys, so spraying random emails cannot grow memory without limit.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_at: Instant,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// `Err(wait)` when the account or the address must wait before trying again.
    pub fn check(&self, email: &str, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let map = self.lock();
        let waits = [
            map.get(&account_key(email))
                .and_then(|f| wait_left(*f, FREE_PER_ACCOUNT, now)),
            map.get(&address_key(addr))
                .and_then(|f| wait_left(*f, FREE_PER_ADDRESS, now)),
        ];
        match waits.into_iter().flatten().max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, email: &str, addr: IpAddr) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now.duration_since(f.last_at) < WINDOW);
        }
        for key in [account_key(email), address_key(addr)] {
            let entry = map.entry(key).or_insert(Failures { count: 0, last_at: now });
            if now.duration_since(entry.last_at) >= WINDOW {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last_at = now;
        }
    }

    /// A correct password clears the account's failures (not the address's: one success must
    /// not reset a spray across many accounts).
    pub fn record_success(&self, email: &str) {
        self.lock().remove(&account_key(email));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        // A poisoned lock only means a panic elsewhere mid-update; the counts are still usable.
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(addr: IpAddr) -> String {
    format!("address:{addr}")
}

fn wait_left(f: Failures, free: u32, now: Instant) -> Option<Duration> {
    let since = now.duration_since(f.last_at);
    if f.count < free || since >= WINDOW {
        return None;
    }
    let doublings = (f.count - free).min(16);
    let delay = FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
    delay.checked_sub(since).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn an_account_is_braked_after_the_free_failures_and_freed_by_success() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            assert!(t.check("a@x.test", ADDR).is_ok());
            t.record_failure("a@x.test", ADDR);
        }
        let wait = t.check("A@X.test", ADDR).expect_err("locked");
        assert!(wait <= FIRST_DELAY && wait > Duration::from_secs(25));
        assert!(t.check("b@x.test", ADDR).is_ok(), "other accounts are not locked yet");
        t.record_success("a@x.test");
        assert!(t.check("a@x.test", ADDR).is_ok());
    }

    #[test]
    fn the_delay_doubles_and_is_capped() {
        let now = Instant::now();
        let f = |count| Failures { count, last_at: now };
        assert_eq!(wait_left(f(5), 5, now), Some(FIRST_DELAY));
        assert_eq!(wait_left(f(6), 5, now), Some(FIRST_DELAY * 2));
        assert_eq!(wait_left(f(40), 5, now), Some(MAX_DELAY));
        assert_eq!(wait_left(f(4), 5, now), None);
    }

    #[test]
    fn an_address_spraying_many_accounts_is_braked() {
        let t = LoginThrottle::default();
        for i in 0..FREE_PER_ADDRESS {
            t.record_failure(&format!("user{i}@x.test"), ADDR);
        }
        assert!(t.check("fresh@x.test", ADDR).is_err());
    }
}
