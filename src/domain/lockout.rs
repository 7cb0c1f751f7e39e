//! Lockout arithmetic: N failed second-factor attempts within any window of
//! the policy's length, with no success between, lock a user's 2FA for a while.

use super::Time;
use super::policy::Policy;

/// A user's lock state, as stored. Which failures count (those since the
/// last success, unlock or lock) is the caller's to select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lock {
    /// Failures in the window at the last failure (for messages).
    pub failures: u32,
    /// Locked while `now < locked_until`; a hard lock's is [`until_unlocked`].
    pub locked_until: Option<Time>,
    /// Failures in a row with no success (or admin unlock) between, locks
    /// or not: at the policy's hard stop, 2FA stays locked until unlocked.
    pub streak: u32,
}

/// The end of a hard lock: never, until an admin unlocks it (the last
/// second of year 9999, so every "locked now" comparison holds).
pub fn until_unlocked() -> Time {
    chrono::DateTime::from_timestamp(253_402_300_799, 0).unwrap_or_default()
}

impl Lock {
    /// Locked now? The lock ends exactly at `locked_until`.
    pub fn is_locked(&self, now: Time) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// Locked until an admin unlocks it (the hard stop).
    pub fn is_hard(&self) -> bool {
        self.locked_until == Some(until_unlocked())
    }

    /// When a lock in force at `now` releases by itself: `None` when there
    /// is no lock, or it is hard.
    pub fn releases(&self, now: Time) -> Option<Time> {
        self.locked_until
            .filter(|_| self.is_locked(now) && !self.is_hard())
    }

    /// How many of `failures` (instants of failed attempts since the last
    /// reset) still count at `now`: those less than one window ago.
    pub fn counting(failures: &[Time], policy: &Policy, now: Time) -> u32 {
        let n = failures
            .iter()
            .filter(|t| now - **t < policy.lockout_window)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The state after one more failure at `now`, given the earlier ones.
    /// When this locks, the caller starts the count afresh from here.
    #[must_use]
    pub fn fail(self, earlier: &[Time], policy: &Policy, now: Time) -> Lock {
        let failures = Self::counting(earlier, policy, now) + 1;
        let streak = self.streak.saturating_add(1);
        let locked_until = if self.is_hard() || streak >= policy.limits.lockout_hard_stop {
            Some(until_unlocked())
        } else if failures >= policy.lockout_threshold {
            Some(now + policy.lockout_duration)
        } else {
            self.locked_until.filter(|until| now < *until)
        };
        Lock {
            failures,
            locked_until,
            streak,
        }
    }

    /// A success or an admin unlock: nothing before it counts.
    #[must_use]
    pub fn cleared() -> Lock {
        Lock::default()
    }

    /// Failures still allowed before a lock, at `now`.
    pub fn failures_left(failures: &[Time], policy: &Policy, now: Time) -> u32 {
        policy
            .lockout_threshold
            .saturating_sub(Self::counting(failures, policy, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta};

    fn t0() -> Time {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    /// Fail at each instant in turn, as the desk does; a lock restarts the count.
    fn run(times: &[Time]) -> (Lock, Vec<Time>) {
        let p = Policy::default();
        let mut lock = Lock::default();
        let mut counted = Vec::new();
        for t in times {
            lock = lock.fail(&counted, &p, *t);
            if lock.is_locked(*t) {
                counted.clear();
            } else {
                counted.push(*t);
            }
        }
        (lock, counted)
    }

    fn every(n: i32, gap: TimeDelta, from: Time) -> Vec<Time> {
        (0..n).map(|i| from + gap * i).collect()
    }

    #[test]
    fn nine_failures_do_not_lock_the_tenth_does() {
        let p = Policy::default();
        let nine = every(9, TimeDelta::seconds(10), t0());
        let (lock, counted) = run(&nine);
        let at = nine[8];
        assert!(!lock.is_locked(at));
        assert_eq!(Lock::failures_left(&counted, &p, at), 1);
        let ten = every(10, TimeDelta::seconds(10), t0());
        let (lock, _) = run(&ten);
        assert!(lock.is_locked(ten[9]));
        assert_eq!(lock.failures, 10);
        assert_eq!(lock.locked_until, Some(ten[9] + TimeDelta::minutes(15)));
    }

    #[test]
    fn the_lock_releases_at_exactly_fifteen_minutes_and_counts_afresh() {
        let (lock, counted) = run(&every(10, TimeDelta::seconds(10), t0()));
        let until = lock.locked_until.unwrap();
        assert!(lock.is_locked(until - TimeDelta::seconds(1)));
        assert!(!lock.is_locked(until));
        assert!(counted.is_empty(), "a lock restarts the count");
        let next = lock.fail(&counted, &Policy::default(), until);
        assert_eq!(
            next,
            Lock {
                failures: 1,
                locked_until: None,
                streak: 11,
            }
        );
    }

    #[test]
    fn the_hundredth_failure_in_a_row_locks_until_an_admin_unlocks() {
        let p = Policy::default();
        // Nine failures every 15 minutes never reach the 10-in-15 lock, but
        // they add up: the 100th in a row is the hard stop.
        let mut lock = Lock::default();
        let mut at = t0();
        for n in 1..=100 {
            lock = lock.fail(&[], &p, at);
            if n < 100 {
                assert!(!lock.is_locked(at), "failure {n}");
            }
            at += TimeDelta::minutes(2);
        }
        let last = at - TimeDelta::minutes(2);
        assert_eq!(lock.streak, 100);
        assert!(lock.is_hard() && lock.is_locked(last));
        assert_eq!(lock.releases(last), None, "it does not release by itself");
        assert!(lock.is_locked(last + TimeDelta::days(3650)));
        // Failing again while hard-locked keeps it hard.
        assert!(lock.fail(&[], &p, last).is_hard());
        // The 99th alone is not enough.
        let ninety_nine = Lock {
            streak: 98,
            ..Lock::default()
        };
        assert!(!ninety_nine.fail(&[], &p, t0()).is_locked(t0()));
        // An admin unlock clears the streak.
        assert_eq!(Lock::cleared().streak, 0);
    }

    #[test]
    fn failures_must_fall_within_the_window() {
        let p = Policy::default();
        let (lock, counted) = run(&every(9, TimeDelta::seconds(10), t0()));
        // The first failure is exactly one window old: it no longer counts.
        let window_end = t0() + p.lockout_window;
        assert!(!lock.fail(&counted, &p, window_end).is_locked(window_end));
        // One second earlier all ten count.
        let earlier = window_end - TimeDelta::seconds(1);
        assert!(lock.fail(&counted, &p, earlier).is_locked(earlier));
    }

    #[test]
    fn the_window_slides() {
        // One failure, eight just before it ages out, then more at once: the
        // window slides with them, so the second at 15:00 is the tenth.
        let mut times = vec![t0()];
        times.extend(every(8, TimeDelta::zero(), t0() + TimeDelta::seconds(899)));
        times.extend(every(9, TimeDelta::zero(), t0() + TimeDelta::seconds(900)));
        let p = Policy::default();
        let mut lock = Lock::default();
        let mut counted = Vec::new();
        let mut locked_at = None;
        for (i, t) in times.iter().enumerate() {
            lock = lock.fail(&counted, &p, *t);
            counted.push(*t);
            if lock.is_locked(*t) && locked_at.is_none() {
                locked_at = Some(i + 1);
            }
        }
        assert_eq!(locked_at, Some(11));
    }

    #[test]
    fn nothing_before_a_success_counts() {
        let p = Policy::default();
        let (_, counted) = run(&every(9, TimeDelta::seconds(1), t0()));
        let at = t0() + TimeDelta::seconds(20);
        assert_eq!(Lock::failures_left(&counted, &p, at), 1);
        // The caller drops the earlier failures at a success or unlock.
        let cleared = Lock::cleared();
        assert!(!cleared.is_locked(at));
        assert_eq!(Lock::failures_left(&[], &p, at), 10);
        assert!(!cleared.fail(&[], &p, at).is_locked(at));
    }
}
