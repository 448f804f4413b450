//! Failed-login throttling, per account and per client address.
//!
//! The first few failures are free (people mistype); after that each further failure doubles
//! the wait before the next attempt is even checked, up to a cap. Locked attempts are refused
//! before argon2 runs, so a password-guessing flood costs us nothing. State is in memory: a
//! restart forgives everyone, which is acceptable for a brake that works in minutes.
//!
//! An attempt is reserved ([`LoginThrottle::begin`]) before its password is hashed, and the
//! reservation counts like a failure until the outcome is known: checking first and
//! recording afterwards let 100 parallel guesses all pass the check before the first failure
//! was written down. So at most the free attempts of an account are decided at once, and
//! past them one at a time.
//!
//! The address brake only slows an account that has no recent failures of its own: behind a
//! reverse proxy (or an office NAT) everyone shares one address, and refusing it would lock
//! every user out because of one attacker. Accounts that do have failures are refused.

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
/// What an attempt from a braked address waits before its password is checked, when its
/// account has no failures of its own.
pub const ADDRESS_SLOWDOWN: Duration = Duration::from_secs(2);
/// Told to an attempt refused because others for the same account are still being checked.
const BUSY_RETRY: Duration = Duration::from_secs(5);
/// Bound on remembered keys, so spraying random emails cannot grow memory without limit.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures within the window (reset when the last one is older than it).
    count: u32,
    last_at: Instant,
    /// Attempts reserved and not yet decided.
    in_flight: u32,
}

impl Entry {
    fn new(now: Instant) -> Entry {
        Entry {
            count: 0,
            last_at: now,
            in_flight: 0,
        }
    }

    fn recent_failures(&self, now: Instant) -> u32 {
        if now.duration_since(self.last_at) >= WINDOW {
            0
        } else {
            self.count
        }
    }
}

/// Why an attempt is not checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: wait this long.
    Locked(Duration),
    /// As many attempts as the account may have are being checked right now.
    Busy,
}

impl Refusal {
    /// For `Retry-After`.
    pub fn wait(self) -> Duration {
        match self {
            Refusal::Locked(wait) => wait,
            Refusal::Busy => BUSY_RETRY,
        }
    }
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// Reserves one attempt for `email` from `addr`, or says why it must not be checked now.
    /// The reservation counts as a failure unless [`Attempt::succeeded`] is called, also when
    /// it is dropped undecided (a client that hangs up mid-check learns nothing, and must not
    /// get a free guess either).
    pub fn begin(&self, email: &str, addr: IpAddr) -> Result<Attempt<'_>, Refusal> {
        let now = Instant::now();
        let (account, address) = (account_key(email), address_key(addr));
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, e| e.in_flight > 0 || now.duration_since(e.last_at) < WINDOW);
        }
        let acc = map.get(&account).copied().unwrap_or_else(|| Entry::new(now));
        if let Some(wait) = wait_left(acc, FREE_PER_ACCOUNT, now) {
            return Err(Refusal::Locked(wait));
        }
        let own = acc.recent_failures(now);
        let free_now = if own >= FREE_PER_ACCOUNT {
            acc.in_flight == 0
        } else {
            own + acc.in_flight < FREE_PER_ACCOUNT
        };
        if !free_now {
            return Err(Refusal::Busy);
        }
        let from = map.get(&address).copied().unwrap_or_else(|| Entry::new(now));
        let address_wait = wait_left(from, FREE_PER_ADDRESS, now);
        let address_busy = from.recent_failures(now) + from.in_flight >= FREE_PER_ADDRESS;
        let slow_down = match address_wait {
            Some(wait) if own > 0 => return Err(Refusal::Locked(wait)),
            Some(_) => Some(ADDRESS_SLOWDOWN),
            None if address_busy => Some(ADDRESS_SLOWDOWN),
            None => None,
        };
        for key in [&account, &address] {
            let e = map.entry(key.clone()).or_insert_with(|| Entry::new(now));
            e.in_flight = e.in_flight.saturating_add(1);
        }
        Ok(Attempt {
            throttle: self,
            account,
            address,
            slow_down,
            succeeded: false,
        })
    }

    fn settle(&self, account: &str, address: &str, succeeded: bool) {
        let now = Instant::now();
        let mut map = self.lock();
        for (key, is_account) in [(account, true), (address, false)] {
            let Some(e) = map.get_mut(key) else { continue };
            e.in_flight = e.in_flight.saturating_sub(1);
            if succeeded && is_account {
                // A correct password clears the account's failures (not the address's: one
                // success must not reset a spray across many accounts).
                e.count = 0;
            } else if !succeeded {
                if now.duration_since(e.last_at) >= WINDOW {
                    e.count = 0;
                }
                e.count = e.count.saturating_add(1);
                e.last_at = now;
            }
            if e.count == 0 && e.in_flight == 0 {
                map.remove(key);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A poisoned lock only means a panic elsewhere mid-update; the counts are still usable.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One reserved attempt; a failure unless [`Attempt::succeeded`] is called.
#[must_use = "an attempt is settled when it is dropped"]
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    account: String,
    address: String,
    slow_down: Option<Duration>,
    succeeded: bool,
}

impl Attempt<'_> {
    /// Waits out the address brake, if this attempt comes from a braked address.
    pub async fn wait_turn(&self) {
        if let Some(d) = self.slow_down {
            tokio::time::sleep(d).await;
        }
    }

    /// Whether [`Attempt::wait_turn`] waits.
    pub fn slowed(&self) -> bool {
        self.slow_down.is_some()
    }

    /// The password was right.
    pub fn succeeded(mut self) {
        self.succeeded = true;
    }

    /// The password was wrong (the same as dropping the attempt; says so where it happens).
    pub fn failed(self) {}
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.throttle.settle(&self.account, &self.address, self.succeeded);
    }
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(addr: IpAddr) -> String {
    format!("address:{}", addr.to_canonical())
}

fn wait_left(e: Entry, free: u32, now: Instant) -> Option<Duration> {
    let since = now.duration_since(e.last_at);
    if e.count < free || since >= WINDOW {
        return None;
    }
    let doublings = (e.count - free).min(16);
    let delay = FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY);
    delay.checked_sub(since).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    fn fail(t: &LoginThrottle, email: &str, addr: IpAddr) {
        t.begin(email, addr).expect("not braked yet").failed();
    }

    #[test]
    fn an_account_is_braked_after_the_free_failures_and_freed_by_success() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            fail(&t, "a@x.test", ADDR);
        }
        let Err(Refusal::Locked(wait)) = t.begin("A@X.test", ADDR) else {
            panic!("locked")
        };
        assert!(wait <= FIRST_DELAY && wait > Duration::from_secs(25));
        t.begin("b@x.test", ADDR)
            .expect("other accounts are not locked")
            .succeeded();
        // Once the wait is over one attempt is checked; its success frees the account.
        t.lock().get_mut(&account_key("a@x.test")).expect("entry").last_at -= FIRST_DELAY;
        t.begin("a@x.test", ADDR).expect("the wait is over").succeeded();
        t.begin("a@x.test", ADDR).expect("freed").succeeded();
    }

    #[test]
    fn attempts_in_flight_count_against_the_limit() {
        let t = LoginThrottle::default();
        let held: Vec<_> = (0..FREE_PER_ACCOUNT)
            .map(|_| t.begin("a@x.test", ADDR).expect("free"))
            .collect();
        assert_eq!(t.begin("a@x.test", ADDR).err(), Some(Refusal::Busy));
        drop(held);
        // Undecided attempts count as failures: the account is now locked.
        assert!(matches!(t.begin("a@x.test", ADDR), Err(Refusal::Locked(_))));
    }

    #[test]
    fn past_the_free_attempts_only_one_is_checked_at_a_time() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT {
            fail(&t, "a@x.test", ADDR);
        }
        t.lock().get_mut(&account_key("a@x.test")).expect("entry").last_at -= FIRST_DELAY;
        let first = t.begin("a@x.test", ADDR).expect("the wait is over");
        assert_eq!(t.begin("a@x.test", ADDR).err(), Some(Refusal::Busy));
        first.failed();
        let Err(Refusal::Locked(wait)) = t.begin("a@x.test", ADDR) else {
            panic!("locked again")
        };
        assert!(wait > FIRST_DELAY, "the delay doubled: {wait:?}");
    }

    #[test]
    fn the_delay_doubles_and_is_capped() {
        let now = Instant::now();
        let f = |count| Entry {
            count,
            last_at: now,
            in_flight: 0,
        };
        assert_eq!(wait_left(f(5), 5, now), Some(FIRST_DELAY));
        assert_eq!(wait_left(f(6), 5, now), Some(FIRST_DELAY * 2));
        assert_eq!(wait_left(f(40), 5, now), Some(MAX_DELAY));
        assert_eq!(wait_left(f(4), 5, now), None);
    }

    #[test]
    fn a_braked_address_slows_clean_accounts_and_refuses_failing_ones() {
        let t = LoginThrottle::default();
        fail(&t, "mistyped@x.test", ADDR);
        for i in 1..FREE_PER_ADDRESS {
            fail(&t, &format!("user{i}@x.test"), ADDR);
        }
        let clean = t.begin("fresh@x.test", ADDR).expect("a clean account is not refused");
        assert!(clean.slowed(), "but slowed");
        clean.succeeded();
        assert!(
            matches!(t.begin("mistyped@x.test", ADDR), Err(Refusal::Locked(_))),
            "an account with failures of its own is refused"
        );
        let elsewhere = t.begin("mistyped@x.test", OTHER).expect("from another address");
        assert!(!elsewhere.slowed());
    }
}
