//! Regulation: how many wrong passwords, codes sent by message and doctor code
//! checks a user (or an address) gets in a window before being refused a while.
//!
//! [NIST SP 800-63B 5.2.2, Authelia's regulation.] The second factor's own
//! lockout is in [`super::lockout`]; its hard stop (100 failures in a row)
//! is one of the limits here.

use chrono::TimeDelta;

use super::Time;
use super::policy::{PolicyError, Setting, duration, format_duration, number};

/// The limits, with their defaults in [`Limits::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wrong passwords within `password_window` that ban a user's password checks.
    pub password_failures: u32,
    pub password_window: TimeDelta,
    /// The first ban; each ban in a row lasts twice the one before.
    pub password_ban: TimeDelta,
    pub password_ban_max: TimeDelta,
    /// Wrong passwords from one address, across users, that ban the address.
    pub address_failures: u32,
    pub address_window: TimeDelta,
    pub address_ban: TimeDelta,
    /// Failed codes in a row, with no success between, after which 2FA stays
    /// locked until an admin unlocks it.
    pub lockout_hard_stop: u32,
    /// Codes sent to one user by SMS or email (resends and confirmations
    /// included) within `message_window`.
    pub message_limit: u32,
    pub message_window: TimeDelta,
    /// The doctor's code checks per user within `code_check_window`.
    pub code_checks: u32,
    pub code_check_window: TimeDelta,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            password_failures: 5,
            password_window: TimeDelta::minutes(10),
            password_ban: TimeDelta::minutes(15),
            password_ban_max: TimeDelta::hours(24),
            address_failures: 20,
            address_window: TimeDelta::minutes(10),
            address_ban: TimeDelta::minutes(15),
            lockout_hard_stop: 100,
            message_limit: 10,
            message_window: TimeDelta::hours(1),
            code_checks: 5,
            code_check_window: TimeDelta::minutes(10),
        }
    }
}

/// The limits' settings, listed after the rest of the policy.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "password_failures",
        meaning: "wrong passwords within password_window that refuse a user's password checks for a while",
        form: "1-100",
    },
    Setting {
        key: "password_window",
        meaning: "the wrong passwords must fall within this span",
        form: "duration 1m-1d, e.g. 10m",
    },
    Setting {
        key: "password_ban",
        meaning: "how long password checks are refused; each ban in a row lasts twice the last",
        form: "duration 1m-1d, e.g. 15m",
    },
    Setting {
        key: "password_ban_max",
        meaning: "the longest a doubled ban lasts",
        form: "duration 1m-7d, e.g. 24h",
    },
    Setting {
        key: "address_failures",
        meaning: "wrong passwords from one address, across users, that ban the address",
        form: "1-1000",
    },
    Setting {
        key: "address_window",
        meaning: "the address's wrong passwords must fall within this span",
        form: "duration 1m-1d, e.g. 10m",
    },
    Setting {
        key: "address_ban",
        meaning: "how long a banned address gets no password checks",
        form: "duration 1m-7d, e.g. 15m",
    },
    Setting {
        key: "lockout_hard_stop",
        meaning: "failed codes in a row, with no success between, that lock 2FA until an admin unlocks it",
        form: "1-100",
    },
    Setting {
        key: "message_limit",
        meaning: "codes sent to one user by SMS or email within message_window (resends and confirmations too)",
        form: "1-100",
    },
    Setting {
        key: "message_window",
        meaning: "the span message_limit counts over",
        form: "duration 1m-1d, e.g. 1h",
    },
    Setting {
        key: "code_checks",
        meaning: "the doctor's code checks per user within code_check_window",
        form: "1-100",
    },
    Setting {
        key: "code_check_window",
        meaning: "the span code_checks counts over",
        form: "duration 1m-1d, e.g. 10m",
    },
];

impl Limits {
    /// Apply `key = value` if `key` is one of the limits: `None` if it is not.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), PolicyError>> {
        let setting = SETTINGS.iter().find(|s| s.key == key)?;
        let bad = || PolicyError::BadValue {
            key: setting.key,
            value: value.to_owned(),
            form: setting.form,
        };
        let v = value.trim();
        let minute = 60;
        let day = 86_400;
        let done = match setting.key {
            "password_failures" => number(v, 1, 100).map(|n| self.password_failures = n),
            "password_window" => duration(v, minute, day).map(|d| self.password_window = d),
            "password_ban" => duration(v, minute, day).map(|d| self.password_ban = d),
            "password_ban_max" => duration(v, minute, 7 * day).map(|d| self.password_ban_max = d),
            "address_failures" => number(v, 1, 1000).map(|n| self.address_failures = n),
            "address_window" => duration(v, minute, day).map(|d| self.address_window = d),
            "address_ban" => duration(v, minute, 7 * day).map(|d| self.address_ban = d),
            "lockout_hard_stop" => number(v, 1, 100).map(|n| self.lockout_hard_stop = n),
            "message_limit" => number(v, 1, 100).map(|n| self.message_limit = n),
            "message_window" => duration(v, minute, day).map(|d| self.message_window = d),
            "code_checks" => number(v, 1, 100).map(|n| self.code_checks = n),
            "code_check_window" => duration(v, minute, day).map(|d| self.code_check_window = d),
            _ => None,
        };
        Some(done.ok_or_else(bad))
    }

    /// The value of one of the limits, in the form `set` accepts.
    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "password_failures" => self.password_failures.to_string(),
            "password_window" => format_duration(self.password_window),
            "password_ban" => format_duration(self.password_ban),
            "password_ban_max" => format_duration(self.password_ban_max),
            "address_failures" => self.address_failures.to_string(),
            "address_window" => format_duration(self.address_window),
            "address_ban" => format_duration(self.address_ban),
            "lockout_hard_stop" => self.lockout_hard_stop.to_string(),
            "message_limit" => self.message_limit.to_string(),
            "message_window" => format_duration(self.message_window),
            "code_checks" => self.code_checks.to_string(),
            "code_check_window" => format_duration(self.code_check_window),
            _ => return None,
        })
    }

    /// How long the ban after `bans_before` bans in a row lasts: the first
    /// ban, doubled for each before it, at most `password_ban_max`.
    pub fn password_ban_after(&self, bans_before: u32) -> TimeDelta {
        let doubling = 2_i32.checked_pow(bans_before.min(30)).unwrap_or(i32::MAX);
        self.password_ban
            .checked_mul(doubling)
            .unwrap_or(self.password_ban_max)
            .min(self.password_ban_max)
    }
}

/// The password checks of one user (or one address): wrong passwords in the
/// window, and the ban in force, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PasswordRecord {
    /// Wrong passwords within the window before now.
    pub failures: u32,
    pub banned_until: Option<Time>,
    /// Bans in a row since the last correct password (a user's only).
    pub bans: u32,
}

/// What a wrong password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Not yet banned: this many more wrong passwords are allowed.
    Allowed { left: u32 },
    /// Banned until then (the `bans`-th ban in a row).
    Banned { until: Time, bans: u32 },
}

impl PasswordRecord {
    /// Is a password check refused at `now`? A ban ends exactly at its end.
    pub fn banned(&self, now: Time) -> Option<Time> {
        self.banned_until.filter(|until| now < *until)
    }

    /// One more wrong password for a user at `now`.
    pub fn user_failure(&self, limits: &Limits, now: Time) -> AfterFailure {
        let failures = self.failures + 1;
        if failures >= limits.password_failures {
            AfterFailure::Banned {
                until: now + limits.password_ban_after(self.bans),
                bans: self.bans + 1,
            }
        } else {
            AfterFailure::Allowed {
                left: limits.password_failures - failures,
            }
        }
    }

    /// One more wrong password from an address at `now`.
    pub fn address_failure(&self, limits: &Limits, now: Time) -> AfterFailure {
        let failures = self.failures + 1;
        if failures >= limits.address_failures {
            AfterFailure::Banned {
                until: now + limits.address_ban,
                bans: 1,
            }
        } else {
            AfterFailure::Allowed {
                left: limits.address_failures - failures,
            }
        }
    }
}

/// Whether one more of something counted in a window (a message, a code
/// check) is allowed at `now`, given the instants of those already counted
/// in the window, oldest first: `Err(when)` says when the next one is.
pub fn within(counted: &[Time], limit: u32, window: TimeDelta, now: Time) -> Result<(), Time> {
    let in_window: Vec<Time> = counted
        .iter()
        .copied()
        .filter(|t| now - *t < window)
        .collect();
    if in_window.len() < limit as usize {
        return Ok(());
    }
    // The next slot opens when the oldest that still fills the limit leaves.
    let oldest = in_window[in_window.len() - limit as usize];
    Err(oldest + window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn t0() -> Time {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn min(n: i64) -> TimeDelta {
        TimeDelta::minutes(n)
    }

    #[test]
    fn the_fifth_wrong_password_bans_the_fourth_does_not() {
        let l = Limits::default();
        let four = PasswordRecord {
            failures: 3,
            ..Default::default()
        };
        assert_eq!(
            four.user_failure(&l, t0()),
            AfterFailure::Allowed { left: 1 }
        );
        let five = PasswordRecord {
            failures: 4,
            ..Default::default()
        };
        assert_eq!(
            five.user_failure(&l, t0()),
            AfterFailure::Banned {
                until: t0() + min(15),
                bans: 1
            }
        );
    }

    #[test]
    fn bans_double_up_to_a_day_and_end_exactly_at_their_end() {
        let l = Limits::default();
        let spans: Vec<i64> = (0..10)
            .map(|b| l.password_ban_after(b).num_minutes())
            .collect();
        assert_eq!(spans, [15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440]);
        assert_eq!(l.password_ban_after(u32::MAX), TimeDelta::hours(24));
        let r = PasswordRecord {
            failures: 0,
            banned_until: Some(t0() + min(15)),
            bans: 1,
        };
        assert_eq!(
            r.banned(t0() + min(15) - TimeDelta::seconds(1)),
            Some(t0() + min(15))
        );
        assert_eq!(r.banned(t0() + min(15)), None);
        // The second ban in a row lasts 30 minutes.
        let again = PasswordRecord { failures: 4, ..r };
        assert_eq!(
            again.user_failure(&l, t0() + min(20)),
            AfterFailure::Banned {
                until: t0() + min(50),
                bans: 2
            }
        );
    }

    #[test]
    fn the_twentieth_wrong_password_from_an_address_bans_it() {
        let l = Limits::default();
        let r = PasswordRecord {
            failures: 18,
            ..Default::default()
        };
        assert_eq!(
            r.address_failure(&l, t0()),
            AfterFailure::Allowed { left: 1 }
        );
        let r = PasswordRecord {
            failures: 19,
            ..Default::default()
        };
        assert_eq!(
            r.address_failure(&l, t0()),
            AfterFailure::Banned {
                until: t0() + min(15),
                bans: 1
            }
        );
    }

    #[test]
    fn the_tenth_message_in_an_hour_goes_the_eleventh_waits() {
        let l = Limits::default();
        let sent: Vec<Time> = (0..9).map(|i| t0() + min(i * 5)).collect();
        let now = t0() + min(50);
        assert_eq!(
            within(&sent, l.message_limit, l.message_window, now),
            Ok(())
        );
        let mut ten = sent.clone();
        ten.push(now);
        assert_eq!(
            within(&ten, l.message_limit, l.message_window, now),
            Err(t0() + min(60)),
            "the eleventh waits until the first leaves the hour"
        );
        // Exactly an hour after the first, the first no longer counts.
        assert_eq!(
            within(&ten, l.message_limit, l.message_window, t0() + min(60)),
            Ok(())
        );
    }

    #[test]
    fn the_fifth_code_check_is_allowed_the_sixth_is_not() {
        let l = Limits::default();
        let four: Vec<Time> = (0..4).map(|i| t0() + TimeDelta::seconds(i)).collect();
        assert_eq!(
            within(&four, l.code_checks, l.code_check_window, t0() + min(1)),
            Ok(())
        );
        let mut five = four.clone();
        five.push(t0() + min(1));
        assert_eq!(
            within(&five, l.code_checks, l.code_check_window, t0() + min(2)),
            Err(t0() + min(10))
        );
    }

    #[test]
    fn every_limit_round_trips_and_refuses_nonsense() {
        let defaults = Limits::default();
        for s in SETTINGS {
            let value = defaults.get(s.key).expect(s.key);
            let mut l = Limits::default();
            l.set(s.key, &value).expect(s.key).expect(s.key);
            assert_eq!(l, defaults, "{}", s.key);
            assert!(l.set(s.key, "nonsense").unwrap().is_err(), "{}", s.key);
            assert!(l.set(s.key, "0").unwrap().is_err(), "{}", s.key);
        }
        assert!(Limits::default().set("enforce", "all").is_none());
    }
}
