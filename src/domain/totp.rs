//! RFC 6238 TOTP through totp-rs: codes, the ±skew window with per-factor drift,
//! replay refusal, the clock-skew search, resync and the otpauth URI.

use chrono::TimeDelta;

use super::Time;
use super::oath::{Params, same_code};

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Secret length in bytes: 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
/// How far the skew search and resync look either side of now: ±10 minutes.
pub const SEARCH_STEPS: i64 = 20;

/// Steps in half an hour: time zones are whole or half hours apart.
pub const HALF_HOUR_STEPS: i64 = 60;
/// How far the zone search looks either side of now: ±14 hours (UTC−12
/// to UTC+14 are the zones there are), in half hours.
pub const ZONE_HALF_HOURS: i64 = 28;

/// How a phone's clock stands, judged from the step its code matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockReading {
    Right,
    /// Seconds or minutes off (within ±[`SEARCH_STEPS`]): behind (−) or ahead (+).
    Drift {
        steps: i64,
    },
    /// Set whole or half hours off: a wrong time zone, `half_hours` ahead
    /// (+) or behind (−), give or take a step.
    Zone {
        half_hours: i64,
    },
}

impl ClockReading {
    /// The reading of a code that matched `offset_steps` from now.
    pub fn of(offset_steps: i64) -> ClockReading {
        if offset_steps == 0 {
            ClockReading::Right
        } else if offset_steps.abs() <= SEARCH_STEPS {
            ClockReading::Drift {
                steps: offset_steps,
            }
        } else {
            let half = HALF_HOUR_STEPS / 2;
            let half_hours = (offset_steps + offset_steps.signum() * half) / HALF_HOUR_STEPS;
            ClockReading::Zone { half_hours }
        }
    }
}

/// The step number that contains `at`.
pub fn step_of(at: Time) -> i64 {
    at.timestamp().div_euclid(STEP)
}

/// Seconds until the code shown at `at` changes.
pub fn seconds_left(at: Time) -> i64 {
    STEP - at.timestamp().rem_euclid(STEP)
}

/// The code an authenticator shows during `step` (SHA1, 6 digits, 30 s).
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    step_code(secret, &Params::DEFAULT, step)
}

/// The code an authenticator with `params` shows during `step`.
pub fn step_code(secret: &[u8], params: &Params, step: i64) -> String {
    params.code(secret, u64::try_from(step.max(0)).unwrap_or(0))
}

/// The code an authenticator with a correct clock shows at `at`.
pub fn code_at(secret: &[u8], at: Time) -> String {
    code_at_step(secret, step_of(at))
}

/// The code an authenticator with `params` and a correct clock shows at `at`.
pub fn code_with(secret: &[u8], params: &Params, at: Time) -> String {
    step_code(secret, params, params.step_of(at))
}

/// A code and a step compared in constant time.
fn matches(secret: &[u8], params: Params, code: &str, step: i64) -> bool {
    same_code(&step_code(secret, &params, step), code)
}

/// The outcome of checking one code against a TOTP factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Valid; `step` must be remembered so it cannot be used again.
    Accepted { step: i64 },
    /// It matches a step that was already used (or an older one).
    /// `by_resync`: only a help-desk resync had spent it, no login.
    Replayed { step: i64, by_resync: bool },
    /// No match in the window. `offset` is the step, relative to now, that the
    /// code matches within ±[`SEARCH_STEPS`] or a time zone away (see
    /// [`find_offset`]), kept as evidence of a skewed clock.
    Invalid { offset: Option<i64> },
}

/// The factor's state that a check depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FactorState {
    /// Learned by resync: the phone runs this many steps ahead (+) or behind (−).
    pub drift: i64,
    /// The last step a login used, to refuse replays.
    pub last_step: Option<i64>,
    /// The newest step a resync spent: the codes read out to the help desk
    /// must not work later either.
    pub resync_step: Option<i64>,
    /// How its codes are made.
    pub params: Params,
}

impl FactorState {
    /// Every step up to this one is spent.
    pub fn spent(self) -> Option<i64> {
        self.last_step.max(self.resync_step)
    }

    /// Is `step` spent already? `Some(true)` when only a resync spent it,
    /// `Some(false)` when a login did.
    pub fn spent_by_resync(self, step: i64) -> Option<bool> {
        match self.spent() {
            Some(spent) if step <= spent => Some(self.last_step.is_none_or(|last| step > last)),
            _ => None,
        }
    }
}

/// Check `code` at `now`: the drift-adjusted step first, then ±`skew` steps.
pub fn check(secret: &[u8], code: &str, now: Time, skew: u32, state: FactorState) -> Check {
    let params = &state.params;
    let centre = params.step_of(now) + state.drift;
    let skew = i64::from(skew);
    let window = std::iter::once(0).chain((1..=skew).flat_map(|d| [-d, d]));
    for delta in window {
        let step = centre + delta;
        if matches(secret, *params, code, step) {
            return match state.spent_by_resync(step) {
                Some(by_resync) => Check::Replayed { step, by_resync },
                None => Check::Accepted { step },
            };
        }
    }
    Check::Invalid {
        offset: find_offset_with(secret, params, code, now, SEARCH_STEPS),
    }
}

/// The step offset from now (nearest first, earlier before later) at which
/// `code` was or will be valid: within ±`range` steps, else a whole or half
/// hour away, give or take a step, up to ±14 h (a phone set to another
/// time zone). Consumes nothing.
pub fn find_offset(secret: &[u8], code: &str, now: Time, range: i64) -> Option<i64> {
    find_offset_with(secret, &Params::DEFAULT, code, now, range)
}

/// [`find_offset`] for a secret made with `params`. The whole and half
/// hours are searched for 30 s steps, the ones a time zone is read in.
pub fn find_offset_with(
    secret: &[u8],
    params: &Params,
    code: &str,
    now: Time,
    range: i64,
) -> Option<i64> {
    let now_step = params.step_of(now);
    let near = std::iter::once(0).chain((1..=range).flat_map(|d| [-d, d]));
    let half_hours = if params.period == 30 {
        ZONE_HALF_HOURS
    } else {
        0
    };
    let zones = (1..=half_hours).flat_map(|k| {
        let centre = k * HALF_HOUR_STEPS;
        [-centre, centre]
            .into_iter()
            .flat_map(|c| [c, c - 1, c + 1])
    });
    near.chain(zones.filter(move |d| d.abs() > range))
        .find(|&d| matches(secret, *params, code, now_step + d))
}

/// The drift, in steps, learned from two codes read one after the other from
/// the phone: the second is what the phone shows now, the first what it showed
/// just before. The drift is the second code's step relative to now, within
/// ±`range` steps, so `step_of(now) + drift` is the newest step read out.
pub fn resync(secret: &[u8], first: &str, second: &str, now: Time, range: i64) -> Option<i64> {
    resync_with(secret, &Params::DEFAULT, first, second, now, range)
}

/// [`resync`] for a secret made with `params`.
pub fn resync_with(
    secret: &[u8],
    params: &Params,
    first: &str,
    second: &str,
    now: Time,
    range: i64,
) -> Option<i64> {
    let now_step = params.step_of(now);
    std::iter::once(0)
        .chain((1..=range).flat_map(|d| [-d, d]))
        .find(|&d| {
            matches(secret, *params, first, now_step + d - 1)
                && matches(secret, *params, second, now_step + d)
        })
}

/// What a clock that is `offset_steps` off looks like in seconds.
pub fn offset_span(offset_steps: i64) -> TimeDelta {
    TimeDelta::seconds(offset_steps * STEP)
}

/// The base32 form of a secret (RFC 4648, no padding), as apps expect.
pub fn secret_base32(secret: &[u8]) -> String {
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, secret)
}

/// `ABCD EFGH …`: the secret in groups of four, for typing by hand.
pub fn grouped(secret_b32: &str) -> String {
    secret_b32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The key URI apps scan, with every parameter spelled out:
/// `otpauth://totp/ISSUER:EMAIL?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        percent_encode(account),
        secret_base32(secret),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `@`.
fn percent_encode(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::oath::Algorithm;
    use chrono::DateTime;

    fn at(secs: i64) -> Time {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    const SEED20: &[u8] = b"12345678901234567890";
    const SEED32: &[u8] = b"12345678901234567890123456789012";
    const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B: every time, every algorithm, 8 digits.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let rows: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for &(time, sha1, sha256, sha512) in rows {
            for (algorithm, seed, want) in [
                (Algorithm::Sha1, SEED20, sha1),
                (Algorithm::Sha256, SEED32, sha256),
                (Algorithm::Sha512, SEED64, sha512),
            ] {
                let params = Params {
                    algorithm,
                    digits: 8,
                    period: 30,
                };
                let at = DateTime::from_timestamp(i64::try_from(time).unwrap(), 0).unwrap();
                let got = code_with(seed, &params, at);
                assert_eq!(got, want, "{algorithm:?} at {time}");
            }
        }
    }

    /// A 60-second period halves the step number; the codes follow it.
    #[test]
    fn a_sixty_second_secret_steps_once_a_minute() {
        let params = Params {
            period: 60,
            ..Params::DEFAULT
        };
        let now = at(1_700_000_000);
        let step = params.step_of(now);
        assert_eq!(step, 1_700_000_000 / 60);
        let code = code_with(SEED20, &params, now);
        assert_eq!(code, step_code(SEED20, &params, step));
        let state = FactorState {
            params,
            ..FactorState::default()
        };
        assert_eq!(
            check(SEED20, &code, now, 1, state),
            Check::Accepted { step }
        );
        let earlier = step_code(SEED20, &params, step - 3);
        assert_eq!(
            check(SEED20, &earlier, now, 1, state),
            Check::Invalid { offset: Some(-3) }
        );
        let (a, b) = (
            step_code(SEED20, &params, step + 1),
            step_code(SEED20, &params, step + 2),
        );
        assert_eq!(
            resync_with(SEED20, &params, &a, &b, now, SEARCH_STEPS),
            Some(2)
        );
    }

    #[test]
    fn our_six_digit_codes_agree_with_the_rfc_seed() {
        // The RFC's 8-digit SHA1 code at 59 s is 94287082; 6 digits keeps the tail.
        assert_eq!(code_at(SEED20, at(59)), "287082");
        assert_eq!(step_of(at(59)), 1);
        assert_eq!(seconds_left(at(59)), 1);
        assert_eq!(seconds_left(at(60)), 30);
    }

    #[test]
    fn skew_window_is_plus_minus_one_step() {
        let now = at(1_700_000_000);
        let s = step_of(now);
        let st = FactorState::default();
        for d in [-1, 0, 1] {
            let code = code_at_step(SEED20, s + d);
            assert_eq!(
                check(SEED20, &code, now, 1, st),
                Check::Accepted { step: s + d },
                "{d}"
            );
        }
        for d in [-2, 2] {
            let code = code_at_step(SEED20, s + d);
            assert_eq!(
                check(SEED20, &code, now, 1, st),
                Check::Invalid { offset: Some(d) }
            );
        }
        let previous = code_at_step(SEED20, s - 1);
        assert_eq!(
            check(SEED20, &previous, now, 0, st),
            Check::Invalid { offset: Some(-1) }
        );
    }

    #[test]
    fn a_used_step_and_older_ones_are_replays() {
        let now = at(1_700_000_000);
        let s = step_of(now);
        let code = code_at(SEED20, now);
        let used = FactorState {
            last_step: Some(s),
            ..FactorState::default()
        };
        assert_eq!(
            check(SEED20, &code, now, 1, used),
            Check::Replayed {
                step: s,
                by_resync: false
            }
        );
        let older = code_at_step(SEED20, s - 1);
        assert_eq!(
            check(SEED20, &older, now, 1, used),
            Check::Replayed {
                step: s - 1,
                by_resync: false
            }
        );
        let newer = code_at_step(SEED20, s + 1);
        assert_eq!(
            check(SEED20, &newer, now, 1, used),
            Check::Accepted { step: s + 1 }
        );
    }

    #[test]
    fn steps_a_resync_spent_are_replays_it_is_named_for() {
        let now = at(1_700_000_000);
        let s = step_of(now);
        // A login used s - 2; a resync then spent up to s + 1 (a fast phone).
        let state = FactorState {
            drift: 0,
            last_step: Some(s - 2),
            resync_step: Some(s + 1),
            params: Params::DEFAULT,
        };
        assert_eq!(state.spent(), Some(s + 1));
        for (d, by_resync) in [(-1, true), (0, true), (1, true)] {
            let code = code_at_step(SEED20, s + d);
            assert_eq!(
                check(SEED20, &code, now, 1, state),
                Check::Replayed {
                    step: s + d,
                    by_resync
                },
                "{d}"
            );
        }
        // A step the login used is the login's, even if the resync came later.
        let login = FactorState {
            last_step: Some(s),
            ..state
        };
        let code = code_at_step(SEED20, s - 1);
        assert_eq!(
            check(SEED20, &code, now, 1, login),
            Check::Replayed {
                step: s - 1,
                by_resync: false
            }
        );
        // With no login ever, anything spent was the resync's.
        let only = FactorState {
            last_step: None,
            ..state
        };
        let code = code_at(SEED20, now);
        assert_eq!(
            check(SEED20, &code, now, 1, only),
            Check::Replayed {
                step: s,
                by_resync: true
            }
        );
        // The step after it is free.
        let next = code_at_step(SEED20, s + 2);
        assert_eq!(
            check(SEED20, &next, at(1_700_000_030), 1, state),
            Check::Accepted { step: s + 2 }
        );
    }

    #[test]
    fn drift_moves_the_window() {
        let now = at(1_700_000_000);
        let s = step_of(now);
        // The phone runs three steps (90 s) slow.
        let slow = code_at_step(SEED20, s - 3);
        let plain = FactorState::default();
        assert_eq!(
            check(SEED20, &slow, now, 1, plain),
            Check::Invalid { offset: Some(-3) }
        );
        let drifted = FactorState {
            drift: -3,
            ..FactorState::default()
        };
        assert_eq!(
            check(SEED20, &slow, now, 1, drifted),
            Check::Accepted { step: s - 3 }
        );
    }

    #[test]
    fn skew_search_boundaries() {
        let now = at(1_700_000_015);
        let s = step_of(now);
        for d in [0, 1, -1, 3, -3, 20, -20] {
            let code = code_at_step(SEED20, s + d);
            assert_eq!(
                find_offset(SEED20, &code, now, SEARCH_STEPS),
                Some(d),
                "{d}"
            );
        }
        for d in [21, -21] {
            let code = code_at_step(SEED20, s + d);
            let found = find_offset(SEED20, &code, now, SEARCH_STEPS);
            // Six digits can collide by chance; it must not be found at `d`.
            assert_ne!(found, Some(d));
        }
        assert_eq!(offset_span(-3), TimeDelta::seconds(-90));
    }

    #[test]
    fn resync_finds_consecutive_codes() {
        let now = at(1_700_000_000);
        let s = step_of(now);
        // The phone shows step s + d now and showed s + d - 1 just before:
        // the drift is d, the step of the second code.
        for d in [-20, -10, -3, -1, 0, 1, 4, 20] {
            let a = code_at_step(SEED20, s + d - 1);
            let b = code_at_step(SEED20, s + d);
            assert_eq!(resync(SEED20, &a, &b, now, SEARCH_STEPS), Some(d), "{d}");
        }
        // A phone 90 s slow: the two codes a person reads out.
        let (a, b) = (code_at_step(SEED20, s - 4), code_at_step(SEED20, s - 3));
        assert_eq!(resync(SEED20, &a, &b, now, SEARCH_STEPS), Some(-3));
        // Not in a row, or in the wrong order.
        let a = code_at_step(SEED20, s);
        let c = code_at_step(SEED20, s + 2);
        assert_eq!(resync(SEED20, &a, &c, now, SEARCH_STEPS), None);
        let (later, earlier) = (code_at_step(SEED20, s), code_at_step(SEED20, s - 1));
        assert_eq!(resync(SEED20, &later, &earlier, now, SEARCH_STEPS), None);
        // Just out of range.
        let far = code_at_step(SEED20, s + 20);
        let far2 = code_at_step(SEED20, s + 21);
        assert_eq!(resync(SEED20, &far, &far2, now, SEARCH_STEPS), None);
    }

    #[test]
    fn uri_spells_out_every_parameter() {
        let uri = otpauth_uri("factordesk", "alice@example.com", SEED20);
        assert_eq!(
            uri,
            "otpauth://totp/factordesk:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=factordesk&algorithm=SHA1&digits=6&period=30"
        );
        let spaced = otpauth_uri("Acme Co", "a+b@example.com", SEED20);
        assert!(spaced.starts_with("otpauth://totp/Acme%20Co:a%2Bb@example.com?"));
        assert!(spaced.contains("&issuer=Acme%20Co&"));
        let b32 = secret_base32(SEED20);
        let back = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &b32).unwrap();
        assert_eq!(back, SEED20);
        assert_eq!(grouped("GEZDGNBVGY"), "GEZD GNBV GY");
    }

    #[test]
    fn a_phone_in_another_time_zone_is_found_whole_and_half_hours_away() {
        let now = at(1_700_000_000);
        let s = step_of(now);
        for d in [
            120,
            -120,
            119,
            121,
            60,
            -660,
            28 * 60 + 1,
            -(28 * 60) - 1,
            840,
            -840,
        ] {
            let code = code_at_step(SEED20, s + d);
            assert_eq!(
                find_offset(SEED20, &code, now, SEARCH_STEPS),
                Some(d),
                "{d}"
            );
        }
        // Between zones, and beyond ±14 h, nothing is claimed.
        for d in [45, 90, 122, 29 * 60] {
            let code = code_at_step(SEED20, s + d);
            let found = find_offset(SEED20, &code, now, SEARCH_STEPS);
            assert!(found.is_none_or(|f| f != d), "{d}: {found:?}");
        }
        // A wrong code an hour ahead is kept as evidence.
        let code = code_at_step(SEED20, s + 120);
        assert_eq!(
            check(SEED20, &code, now, 1, FactorState::default()),
            Check::Invalid { offset: Some(120) }
        );
    }

    #[test]
    fn readings_tell_drift_from_a_time_zone() {
        assert_eq!(ClockReading::of(0), ClockReading::Right);
        assert_eq!(ClockReading::of(-3), ClockReading::Drift { steps: -3 });
        assert_eq!(ClockReading::of(20), ClockReading::Drift { steps: 20 });
        assert_eq!(ClockReading::of(120), ClockReading::Zone { half_hours: 2 });
        assert_eq!(ClockReading::of(119), ClockReading::Zone { half_hours: 2 });
        assert_eq!(ClockReading::of(121), ClockReading::Zone { half_hours: 2 });
        assert_eq!(ClockReading::of(-61), ClockReading::Zone { half_hours: -1 });
        assert_eq!(
            ClockReading::of(-1680),
            ClockReading::Zone { half_hours: -28 }
        );
    }
}
