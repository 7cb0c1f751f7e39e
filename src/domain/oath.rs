//! What an OATH secret is made with: the hash algorithm, the digits and the
//! period each factor keeps, checked once for imports and enrolments alike.

use chrono::TimeDelta;
use thiserror::Error;

use super::Time;

/// The HMAC hash an OATH secret is used with (RFC 6238 §1.2 allows these three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub enum Algorithm {
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// `SHA1`, `SHA256` or `SHA512`, as otpauth URIs and Authelia spell them.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The lower-case name privacyIDEA and `LinOTP` use (`sha1`).
    pub fn lower(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Any common spelling: `SHA1`, `sha-256`, `HmacSHA512`.
    pub fn parse(text: &str) -> Option<Algorithm> {
        let plain: String = text
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        let plain = plain.strip_prefix("HMAC").unwrap_or(&plain);
        Algorithm::ALL.into_iter().find(|a| a.as_str() == plain)
    }

    pub(crate) fn engine(self) -> totp_rs::Algorithm {
        match self {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fewest and most digits a code may have.
pub const MIN_DIGITS: u8 = 6;
pub const MAX_DIGITS: u8 = 8;
/// The periods, in seconds, a time-based secret may step at.
pub const PERIODS: [u32; 2] = [30, 60];
/// The shortest and longest secret taken, in bytes: 80 bits (what many
/// services hand out as 16 base32 characters) to 1024.
pub const MIN_SECRET: usize = 10;
pub const MAX_SECRET: usize = 128;

/// Why a secret's parameters were refused; each message says what works.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamError {
    #[error("{0} digits is not supported: codes have 6, 7 or 8 digits")]
    Digits(String),
    #[error("a period of {0} s is not supported: use 30 or 60")]
    Period(String),
    #[error("the algorithm `{0}` is not supported: use SHA1, SHA256 or SHA512")]
    Algorithm(String),
    #[error(
        "the secret is {0} bytes long: a secret must have 10 to 128 bytes (16 to 205 base32 characters)"
    )]
    SecretLength(usize),
}

/// How the codes of one secret are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Params {
    pub algorithm: Algorithm,
    pub digits: u8,
    /// Seconds per step; not used by HOTP.
    pub period: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params::DEFAULT
    }
}

impl Params {
    /// What factordesk enrols: SHA1, 6 digits, 30 s (RFC 6238's defaults).
    pub const DEFAULT: Params = Params {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
    };

    /// Checked parameters, from the numbers a file gave.
    pub fn new(algorithm: Algorithm, digits: u64, period: u64) -> Result<Params, ParamError> {
        let digits = u8::try_from(digits)
            .ok()
            .filter(|d| (MIN_DIGITS..=MAX_DIGITS).contains(d))
            .ok_or_else(|| ParamError::Digits(digits.to_string()))?;
        let period = u32::try_from(period)
            .ok()
            .filter(|p| PERIODS.contains(p))
            .ok_or_else(|| ParamError::Period(period.to_string()))?;
        Ok(Params {
            algorithm,
            digits,
            period,
        })
    }

    /// The code at `counter`: HOTP (RFC 4226), or TOTP with the step number
    /// as the counter (RFC 6238).
    pub fn code(&self, secret: &[u8], counter: u64) -> String {
        totp_rs::Builder::new()
            .with_algorithm(self.algorithm.engine())
            .with_digits(self.digits)
            .with_skew(0)
            .with_step_duration(1)
            .with_secret(secret.to_vec())
            .build_noncompliant()
            .generate(counter)
            .to_string()
    }

    /// Seconds per step, as a signed number for time arithmetic.
    pub fn step_secs(&self) -> i64 {
        i64::from(self.period)
    }

    /// The step number that contains `at`.
    pub fn step_of(&self, at: Time) -> i64 {
        at.timestamp().div_euclid(self.step_secs())
    }

    /// Seconds until the code shown at `at` changes.
    pub fn seconds_left(&self, at: Time) -> i64 {
        self.step_secs() - at.timestamp().rem_euclid(self.step_secs())
    }

    /// What a clock `steps` steps off looks like in seconds.
    pub fn span(&self, steps: i64) -> TimeDelta {
        TimeDelta::seconds(steps.saturating_mul(self.step_secs()))
    }

    /// `SHA256, 8 digits, 60 s`: what differs from the defaults, for people.
    pub fn describe(&self, time_based: bool) -> String {
        let mut parts = Vec::new();
        if self.algorithm != Algorithm::Sha1 {
            parts.push(self.algorithm.as_str().to_owned());
        }
        if self.digits != Params::DEFAULT.digits {
            parts.push(format!("{} digits", self.digits));
        }
        if time_based && self.period != Params::DEFAULT.period {
            parts.push(format!("{} s", self.period));
        }
        parts.join(", ")
    }
}

/// Check a secret's length.
pub fn check_secret(secret: &[u8]) -> Result<(), ParamError> {
    if (MIN_SECRET..=MAX_SECRET).contains(&secret.len()) {
        Ok(())
    } else {
        Err(ParamError::SecretLength(secret.len()))
    }
}

/// A code and the one expected compared in constant time (the length is
/// not secret: it is the factor's number of digits).
pub fn same_code(expected: &str, typed: &str) -> bool {
    expected.len() == typed.len()
        && expected
            .bytes()
            .zip(typed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_read_in_any_common_spelling() {
        for (text, want) in [
            ("SHA1", Algorithm::Sha1),
            ("sha1", Algorithm::Sha1),
            ("SHA-1", Algorithm::Sha1),
            (" HmacSHA256 ", Algorithm::Sha256),
            ("sha_512", Algorithm::Sha512),
        ] {
            assert_eq!(Algorithm::parse(text), Some(want), "{text}");
        }
        for bad in ["", "MD5", "SHA224", "SHA3-256", "SHA11"] {
            assert_eq!(Algorithm::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parameters_are_checked() {
        assert_eq!(
            Params::new(Algorithm::Sha256, 8, 60).unwrap(),
            Params {
                algorithm: Algorithm::Sha256,
                digits: 8,
                period: 60
            }
        );
        assert!(Params::new(Algorithm::Sha1, 7, 30).is_ok());
        for (d, p) in [
            (5, 30),
            (9, 30),
            (10, 30),
            (6, 45),
            (6, 0),
            (6, 90),
            (256, 30),
        ] {
            assert!(Params::new(Algorithm::Sha1, d, p).is_err(), "{d} {p}");
        }
        let e = Params::new(Algorithm::Sha1, 6, 45).unwrap_err();
        assert!(e.to_string().contains("30 or 60"), "{e}");
        assert!(check_secret(&[0; 9]).is_err());
        assert!(check_secret(&[0; 10]).is_ok());
        assert!(check_secret(&[0; 129]).is_err());
    }

    #[test]
    fn steps_follow_the_period() {
        let p = Params::new(Algorithm::Sha1, 6, 60).unwrap();
        let at = chrono::DateTime::from_timestamp(119, 0).unwrap();
        assert_eq!(p.step_of(at), 1);
        assert_eq!(p.seconds_left(at), 1);
        assert_eq!(p.span(-2), TimeDelta::seconds(-120));
        assert_eq!(p.describe(true), "60 s");
        assert_eq!(Params::DEFAULT.describe(true), "");
        assert!(same_code("123456", "123456"));
        assert!(!same_code("123456", "12345678"));
    }
}
