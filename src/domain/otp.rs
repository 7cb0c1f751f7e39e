//! One-time codes sent by SMS or email: generation, what a typed code is,
//! expiry, per-challenge attempts and the "Request another code" rules.

use chrono::TimeDelta;
use thiserror::Error;

use super::policy::{Policy, ResendMode};
use super::{Time, backup, oath};
use crate::rng::Rng;

/// Digits in an SMS or email code.
pub const DIGITS: usize = 6;

/// A fresh uniformly random six-digit code.
pub fn new_code(rng: &mut Rng) -> String {
    format!("{:06}", rng.below(1_000_000))
}

/// What the user typed, once recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entered {
    /// Six digits: a TOTP, HOTP, SMS or email code (an imported token's may
    /// have seven or eight).
    Digits(String),
    /// A backup code in its canonical form.
    Backup(String),
    /// A temporary access code from the help desk, in its canonical form.
    Temp(String),
}

/// A typed code that is neither 6 to 8 digits nor a backup code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`{0}` is not a code: enter the 6 digits from the app, SMS or email, or a backup code like xxxx-xxxx-xxxx-xxxx"
)]
pub struct NotACode(pub String);

/// Recognise a code; spaces and dashes are ignored. Never counts as an attempt.
pub fn parse_entry(input: &str) -> Result<Entered, NotACode> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let lengths = usize::from(oath::MIN_DIGITS)..=usize::from(oath::MAX_DIGITS);
    if lengths.contains(&compact.len()) && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Entered::Digits(compact));
    }
    backup::normalize(input)
        .map(Entered::Backup)
        .or_else(|| super::temp_code::normalize(input).map(Entered::Temp))
        .ok_or_else(|| NotACode(super::text::excerpt(input.trim(), 40)))
}

/// Digits of another length than the factor's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongLength {
    pub code: String,
    pub label: String,
    pub digits: usize,
}

/// Only digits will do (confirming a factor does not take backup codes).
pub fn parse_digits(input: &str) -> Result<String, NotACode> {
    match parse_entry(input)? {
        Entered::Digits(d) => Ok(d),
        Entered::Backup(_) | Entered::Temp(_) => {
            Err(NotACode(super::text::excerpt(input.trim(), 40)))
        }
    }
}

/// A code is dead at its expiry instant: valid while `now < expires_at`.
pub fn is_expired(expires_at: Time, now: Time) -> bool {
    now >= expires_at
}

/// How many tries remain of `max` after `used`.
pub fn attempts_left(max: u32, used: u32) -> u32 {
    max.saturating_sub(used)
}

/// What the resend rules need to know about a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendState {
    pub resends: u32,
    pub last_sent_at: Time,
    pub expires_at: Time,
}

/// What "Request another code" does right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Send a new code valid until `expires_at`; the old one stops working.
    NewCode { expires_at: Time },
    /// Send the same code again; its expiry does not move.
    SameCode,
    /// Too soon: try again in `retry_after`.
    Cooldown { retry_after: TimeDelta },
    /// No resends left on this challenge.
    Limit,
}

/// Decide a resend. The cooldown ends exactly `resend_cooldown` after the
/// last send; in `keep` mode an expired code cannot be re-sent, so a new one goes.
pub fn resend(state: ResendState, policy: &Policy, ttl: TimeDelta, now: Time) -> Resend {
    if state.resends >= policy.resend_max {
        return Resend::Limit;
    }
    let ready_at = state.last_sent_at + policy.resend_cooldown;
    if now < ready_at {
        return Resend::Cooldown {
            retry_after: ready_at - now,
        };
    }
    match policy.resend_mode {
        ResendMode::Keep if !is_expired(state.expires_at, now) => Resend::SameCode,
        _ => Resend::NewCode {
            expires_at: now + ttl,
        },
    }
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

    #[test]
    fn codes_are_six_digits_and_seeded() {
        let mut a = Rng::seeded(3);
        let mut b = Rng::seeded(3);
        for _ in 0..200 {
            let code = new_code(&mut a);
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|c| c.is_ascii_digit()));
            assert_eq!(code, new_code(&mut b));
        }
    }

    #[test]
    fn entries_are_recognised() {
        assert_eq!(
            parse_entry(" 123 456 ").unwrap(),
            Entered::Digits("123456".into())
        );
        assert_eq!(
            parse_entry("123-456").unwrap(),
            Entered::Digits("123456".into())
        );
        assert!(matches!(
            parse_entry("abcd-efgh-jkmn-pqrs").unwrap(),
            Entered::Backup(_)
        ));
        assert_eq!(
            parse_entry("1234 5678").unwrap(),
            Entered::Digits("12345678".into())
        );
        for bad in ["12345", "123456789", "12a456", "", "hello"] {
            let err = parse_entry(bad).unwrap_err();
            assert!(err.to_string().contains("6 digits"), "{bad}");
        }
        assert!(parse_digits("abcd-efgh-jkmn-pqrs").is_err());
    }

    #[test]
    fn expiry_is_exclusive_at_the_instant() {
        let expires = t0() + TimeDelta::minutes(5);
        assert!(!is_expired(expires, expires - TimeDelta::seconds(1)));
        assert!(is_expired(expires, expires));
        assert!(is_expired(expires, expires + TimeDelta::seconds(1)));
    }

    #[test]
    fn attempts_count_down_to_zero() {
        assert_eq!(attempts_left(5, 0), 5);
        assert_eq!(attempts_left(5, 4), 1);
        assert_eq!(attempts_left(5, 5), 0);
        assert_eq!(attempts_left(5, 9), 0);
    }

    fn state(resends: u32) -> ResendState {
        ResendState {
            resends,
            last_sent_at: t0(),
            expires_at: t0() + TimeDelta::minutes(5),
        }
    }

    #[test]
    fn resend_cooldown_boundary() {
        let p = Policy::default();
        let ttl = p.sms_ttl;
        let at29 = t0() + TimeDelta::seconds(29);
        assert_eq!(
            resend(state(0), &p, ttl, at29),
            Resend::Cooldown {
                retry_after: TimeDelta::seconds(1)
            }
        );
        let at30 = t0() + TimeDelta::seconds(30);
        assert_eq!(
            resend(state(0), &p, ttl, at30),
            Resend::NewCode {
                expires_at: at30 + ttl
            }
        );
    }

    #[test]
    fn resend_limit_is_three() {
        let p = Policy::default();
        let later = t0() + TimeDelta::minutes(1);
        assert!(matches!(
            resend(state(2), &p, p.sms_ttl, later),
            Resend::NewCode { .. }
        ));
        assert_eq!(resend(state(3), &p, p.sms_ttl, later), Resend::Limit);
    }

    #[test]
    fn keep_mode_resends_the_same_code_until_it_expires() {
        let p = Policy {
            resend_mode: ResendMode::Keep,
            ..Policy::default()
        };
        let s = state(0);
        let before = s.expires_at - TimeDelta::seconds(1);
        assert_eq!(resend(s, &p, p.sms_ttl, before), Resend::SameCode);
        assert_eq!(
            resend(s, &p, p.sms_ttl, s.expires_at),
            Resend::NewCode {
                expires_at: s.expires_at + p.sms_ttl
            }
        );
    }
}
