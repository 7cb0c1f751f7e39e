//! Temporary access codes: the help desk's answer to a lost phone. One per
//! user, 60 bits shown as `xxxx-xxxx-xxxx`, valid for a bounded time, once.

use chrono::TimeDelta;
use thiserror::Error;

use super::backup::{ALPHABET, display, normalize_len};
use super::policy::{format_duration, parse_duration};
use super::{Time, otp};
use crate::rng::Rng;

/// Characters per code: 12 × 5 bits = 60 bits. A guess is a wrong code
/// like any other (the lock stops guessing long before 2^60), and the code
/// dies within days at most.
pub const LEN: usize = 12;

/// How long a code lasts unless the help desk says otherwise.
pub const DEFAULT_VALID: TimeDelta = TimeDelta::hours(24);
/// [`DEFAULT_VALID`] as it is typed.
pub const DEFAULT_VALID_TEXT: &str = "24h";
/// The shortest validity: time to read it out and type it.
pub const MIN_VALID: TimeDelta = TimeDelta::minutes(5);
/// The longest: a week, enough to get a new phone (privacyIDEA's lost
/// token defaults to 14 days; a code that works without the phone should
/// not outlive the week it is meant for).
pub const MAX_VALID: TimeDelta = TimeDelta::days(7);

/// A new code, in display form (`xxxx-xxxx-xxxx`).
pub fn generate(rng: &mut Rng) -> String {
    let bytes: [u8; 8] = rng.bytes();
    let bits = u64::from_be_bytes(bytes);
    let canonical: String = (0..LEN)
        .rev()
        .map(|i| char::from(ALPHABET[usize::try_from((bits >> (i * 5)) & 31).unwrap_or(0)]))
        .collect();
    display(&canonical)
}

/// The canonical form of what a person typed (as backup codes: case, dashes
/// and spaces ignored, O read as 0, I and L as 1).
pub fn normalize(input: &str) -> Option<String> {
    normalize_len(input, LEN)
}

/// A validity that is not allowed, with how to write one that is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidityError {
    #[error("`{0}` is not a length of time: write it like 30m, 24h or 3d")]
    NotADuration(String),
    #[error("a temporary access code must last at least {min}: `{given}` is too short")]
    TooShort { given: String, min: String },
    #[error(
        "a temporary access code lasts at most {max}: `{given}` is too long; issue a new one when it runs out"
    )]
    TooLong { given: String, max: String },
}

/// `--valid`: a length of time from [`MIN_VALID`] to [`MAX_VALID`].
pub fn parse_valid(text: &str) -> Result<TimeDelta, ValidityError> {
    let given = text.trim().to_owned();
    let d = parse_duration(&given).ok_or_else(|| ValidityError::NotADuration(given.clone()))?;
    if d < MIN_VALID {
        return Err(ValidityError::TooShort {
            given,
            min: format_duration(MIN_VALID),
        });
    }
    if d > MAX_VALID {
        return Err(ValidityError::TooLong {
            given,
            max: format_duration(MAX_VALID),
        });
    }
    Ok(d)
}

/// Where a user's code stands at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TempState {
    /// It works until `until` (exclusive), once.
    Live { until: Time },
    /// It was used (it works no more).
    Used { at: Time, ip: Option<String> },
    /// It ran out unused.
    Expired { at: Time },
}

/// The state of a code that expires at `expires_at` and was used at
/// `used_at`, at `now`. Like every code here, it is dead at its expiry
/// instant: live while `now < expires_at`.
pub fn state(expires_at: Time, used: Option<(Time, Option<String>)>, now: Time) -> TempState {
    match used {
        Some((at, ip)) => TempState::Used { at, ip },
        None if otp::is_expired(expires_at, now) => TempState::Expired { at: expires_at },
        None => TempState::Live { until: expires_at },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::otp::{Entered, parse_entry};
    use chrono::DateTime;

    fn t(s: &str) -> Time {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn codes_are_twelve_crockford_characters_read_forgivingly() {
        let mut rng = Rng::seeded(3);
        let code = generate(&mut rng);
        assert_eq!(code.len(), 14, "{code}");
        assert_eq!(code.matches('-').count(), 2);
        assert_ne!(code, generate(&mut rng));
        let canonical = normalize(&code).unwrap();
        assert_eq!(
            normalize(&code.to_uppercase().replace('-', " ")),
            Some(canonical.clone())
        );
        assert_eq!(normalize("oooo-iiii-llll"), Some("000011111111".to_owned()));
        assert_eq!(normalize("abcd-efgh-jkm"), None);
        assert_eq!(normalize("abcd-efgh-jkmu"), None);
        // Told apart from six digits and from a backup code.
        assert_eq!(parse_entry(&code).unwrap(), Entered::Temp(canonical));
        assert!(matches!(parse_entry("123456").unwrap(), Entered::Digits(_)));
        assert!(matches!(
            parse_entry("abcd-efgh-jkmn-pqrs").unwrap(),
            Entered::Backup(_)
        ));
    }

    #[test]
    fn validity_is_bounded() {
        assert_eq!(parse_valid(DEFAULT_VALID_TEXT), Ok(DEFAULT_VALID));
        assert_eq!(parse_valid("5m"), Ok(MIN_VALID));
        assert_eq!(parse_valid("7d"), Ok(MAX_VALID));
        assert_eq!(parse_valid(" 168h "), Ok(MAX_VALID));
        assert!(matches!(
            parse_valid("4m"),
            Err(ValidityError::TooShort { .. })
        ));
        assert!(matches!(
            parse_valid("299"),
            Err(ValidityError::TooShort { .. })
        ));
        assert!(matches!(
            parse_valid("169h"),
            Err(ValidityError::TooLong { .. })
        ));
        assert!(matches!(
            parse_valid("8d"),
            Err(ValidityError::TooLong { .. })
        ));
        assert!(matches!(
            parse_valid("soon"),
            Err(ValidityError::NotADuration(_))
        ));
        assert!(matches!(
            parse_valid("-1h"),
            Err(ValidityError::NotADuration(_))
        ));
        assert_eq!(
            parse_valid("8d").unwrap_err().to_string(),
            "a temporary access code lasts at most 7d: `8d` is too long; issue a new one when it runs out"
        );
    }

    #[test]
    fn a_code_is_live_until_its_expiry_instant_and_once() {
        let until = t("2026-11-22T09:00:00Z");
        assert_eq!(
            state(until, None, t("2026-11-22T08:59:59Z")),
            TempState::Live { until }
        );
        assert_eq!(
            state(until, None, t("2026-11-22T09:00:00Z")),
            TempState::Expired { at: until }
        );
        assert_eq!(
            state(until, None, t("2026-11-22T09:00:01Z")),
            TempState::Expired { at: until }
        );
        let used = Some((t("2026-11-21T10:00:00Z"), Some("192.0.2.1".to_owned())));
        assert!(matches!(
            state(until, used, t("2026-11-21T10:00:01Z")),
            TempState::Used { .. }
        ));
    }
}
