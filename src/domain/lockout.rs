//! Lockout arithmetic: N consecutive failed second-factor attempts within a
//! window lock a user's 2FA for a while; it releases by itself.

use super::Time;
use super::policy::Policy;

/// A user's failure count and lock, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lock {
    /// Consecutive failures in the current window.
    pub failures: u32,
    /// When the current window's first failure happened.
    pub window_start: Option<Time>,
    /// Locked while `now < locked_until`.
    pub locked_until: Option<Time>,
}

impl Lock {
    /// Locked now? The lock ends exactly at `locked_until`.
    pub fn is_locked(&self, now: Time) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// The state after one more failure at `now`. A window that has run out,
    /// or a lock that has released, starts the count again at one.
    #[must_use]
    pub fn fail(self, policy: &Policy, now: Time) -> Lock {
        let released = self.locked_until.is_some_and(|until| now >= until);
        let window_open = self
            .window_start
            .is_some_and(|start| now < start + policy.lockout_window);
        let (failures, window_start) = if window_open && !released {
            (self.failures + 1, self.window_start)
        } else {
            (1, Some(now))
        };
        let locked_until = if failures >= policy.lockout_threshold {
            Some(now + policy.lockout_duration)
        } else if released {
            None
        } else {
            self.locked_until
        };
        Lock {
            failures,
            window_start,
            locked_until,
        }
    }

    /// A success or an admin unlock clears everything.
    #[must_use]
    pub fn cleared() -> Lock {
        Lock::default()
    }

    /// Failures still allowed before the lock, in the current window.
    pub fn failures_left(&self, policy: &Policy, now: Time) -> u32 {
        let counted = match self.window_start {
            Some(start) if now < start + policy.lockout_window && !self.is_released(now) => {
                self.failures
            }
            _ => 0,
        };
        policy.lockout_threshold.saturating_sub(counted)
    }

    fn is_released(&self, now: Time) -> bool {
        self.locked_until.is_some_and(|until| now >= until)
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

    fn fail_n(n: u32, every: TimeDelta) -> (Lock, Time) {
        let p = Policy::default();
        let mut lock = Lock::default();
        let mut now = t0();
        for i in 0..n {
            if i > 0 {
                now += every;
            }
            lock = lock.fail(&p, now);
        }
        (lock, now)
    }

    #[test]
    fn nine_failures_do_not_lock_the_tenth_does() {
        let (nine, at) = fail_n(9, TimeDelta::seconds(10));
        assert!(!nine.is_locked(at));
        assert_eq!(nine.failures_left(&Policy::default(), at), 1);
        let (ten, at) = fail_n(10, TimeDelta::seconds(10));
        assert!(ten.is_locked(at));
        assert_eq!(ten.locked_until, Some(at + TimeDelta::minutes(15)));
    }

    #[test]
    fn the_lock_releases_at_exactly_fifteen_minutes() {
        let (lock, at) = fail_n(10, TimeDelta::seconds(10));
        let until = at + TimeDelta::minutes(15);
        assert!(lock.is_locked(until - TimeDelta::seconds(1)));
        assert!(!lock.is_locked(until));
        // After release the count starts again.
        let p = Policy::default();
        let next = lock.fail(&p, until);
        assert_eq!(next.failures, 1);
        assert!(!next.is_locked(until));
        assert_eq!(next.locked_until, None);
    }

    #[test]
    fn failures_must_fall_within_the_window() {
        let p = Policy::default();
        // Nine quick failures, then the tenth lands exactly when the window ends.
        let (nine, _) = fail_n(9, TimeDelta::seconds(10));
        let window_end = t0() + p.lockout_window;
        let tenth = nine.fail(&p, window_end);
        assert!(!tenth.is_locked(window_end));
        assert_eq!(tenth.failures, 1);
        // One second earlier it locks.
        let tenth = nine.fail(&p, window_end - TimeDelta::seconds(1));
        assert!(tenth.is_locked(window_end - TimeDelta::seconds(1)));
    }

    #[test]
    fn success_and_unlock_clear_the_count() {
        let (lock, at) = fail_n(10, TimeDelta::seconds(1));
        assert!(lock.is_locked(at));
        let cleared = Lock::cleared();
        assert!(!cleared.is_locked(at));
        assert_eq!(cleared.failures_left(&Policy::default(), at), 10);
    }
}
