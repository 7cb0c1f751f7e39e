//! The 2FA policy: every tunable number with its default, meaning and parser.
//! Values are stored as text (`policy set KEY VALUE`) and parsed here, once.

use std::fmt::Write as _;

use chrono::TimeDelta;
use thiserror::Error;

use super::regulation::{self, Limits};
use super::{Action, FactorKind, Role, text_enum};

text_enum!(
    /// Who must have a second factor.
    Enforce { Off => "off", Admins => "admins", All => "all" }
);
text_enum!(
    /// What "Request another code" does: a new code, or the same one again.
    ResendMode { Replace => "replace", Keep => "keep" }
);
text_enum!(
    /// How a user may turn their own 2FA off.
    SelfDisable { Password => "password", Admin => "admin" }
);

impl Enforce {
    pub fn applies_to(self, role: Role) -> bool {
        match self {
            Enforce::Off => false,
            Enforce::Admins => role == Role::Admin,
            Enforce::All => true,
        }
    }
}

/// The whole policy, parsed. `Policy::default()` is the shipped defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub enforce: Enforce,
    pub grace_days: u32,
    pub factors: Vec<FactorKind>,
    pub totp_issuer: String,
    pub totp_skew: u32,
    pub sms_ttl: TimeDelta,
    pub email_ttl: TimeDelta,
    pub challenge_ttl: TimeDelta,
    pub code_attempts: u32,
    pub resend_cooldown: TimeDelta,
    pub resend_max: u32,
    pub resend_mode: ResendMode,
    pub lockout_threshold: u32,
    pub lockout_window: TimeDelta,
    pub lockout_duration: TimeDelta,
    pub trust_days: u32,
    pub sms_countries: Vec<u16>,
    pub step_up: Vec<Action>,
    pub backup_low: u32,
    pub self_disable: SelfDisable,
    /// Wrong passwords, messages and code checks: see [`regulation`].
    pub limits: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            enforce: Enforce::All,
            grace_days: 7,
            factors: vec![FactorKind::Totp, FactorKind::Sms, FactorKind::Email],
            totp_issuer: "factordesk".to_owned(),
            totp_skew: 1,
            sms_ttl: TimeDelta::minutes(5),
            email_ttl: TimeDelta::minutes(10),
            challenge_ttl: TimeDelta::minutes(5),
            code_attempts: 5,
            resend_cooldown: TimeDelta::seconds(30),
            resend_max: 3,
            resend_mode: ResendMode::Replace,
            lockout_threshold: 10,
            lockout_window: TimeDelta::minutes(15),
            lockout_duration: TimeDelta::minutes(15),
            trust_days: 14,
            sms_countries: vec![1],
            step_up: vec![Action::Export],
            backup_low: 3,
            self_disable: SelfDisable::Password,
            limits: Limits::default(),
        }
    }
}

/// One setting: its key, what it means, and the form its value takes.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub meaning: &'static str,
    pub form: &'static str,
}

/// Every setting, in the order the console and `policy show` list them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "enforce",
        meaning: "who must use a second factor",
        form: "off|admins|all",
    },
    Setting {
        key: "grace_days",
        meaning: "days to enrol after account creation or an enforcement change",
        form: "days, 0-365",
    },
    Setting {
        key: "factors",
        meaning: "factor kinds users may enrol",
        form: "comma list of totp,sms,email",
    },
    Setting {
        key: "totp_issuer",
        meaning: "issuer name shown in authenticator apps",
        form: "text without ':', at most 64 characters",
    },
    Setting {
        key: "totp_skew",
        meaning: "authenticator steps (30 s) accepted either side of now",
        form: "0-2",
    },
    Setting {
        key: "sms_ttl",
        meaning: "how long an SMS code stays valid",
        form: "duration 30s-1h, e.g. 5m",
    },
    Setting {
        key: "email_ttl",
        meaning: "how long an email code stays valid",
        form: "duration 30s-1d, e.g. 10m",
    },
    Setting {
        key: "challenge_ttl",
        meaning: "how long an authenticator-app challenge stays open",
        form: "duration 30s-1h, e.g. 5m",
    },
    Setting {
        key: "code_attempts",
        meaning: "wrong codes allowed per challenge",
        form: "1-20",
    },
    Setting {
        key: "resend_cooldown",
        meaning: "wait before \"Request another code\" works again",
        form: "duration 0s-1h, e.g. 30s",
    },
    Setting {
        key: "resend_max",
        meaning: "resends allowed per challenge",
        form: "0-10",
    },
    Setting {
        key: "resend_mode",
        meaning: "replace: a new code (the old one dies); keep: the same code again, same expiry",
        form: "replace|keep",
    },
    Setting {
        key: "lockout_threshold",
        meaning: "consecutive failed codes that lock 2FA",
        form: "1-100",
    },
    Setting {
        key: "lockout_window",
        meaning: "the failures must fall within this span",
        form: "duration 1m-1d, e.g. 15m",
    },
    Setting {
        key: "lockout_duration",
        meaning: "how long 2FA stays locked before it releases by itself",
        form: "duration 1m-7d, e.g. 15m",
    },
    Setting {
        key: "trust_days",
        meaning: "days \"remember this computer\" lasts",
        form: "days, 0-365",
    },
    Setting {
        key: "sms_countries",
        meaning: "country calling codes SMS may be sent to",
        form: "comma list of calling codes, e.g. 1,44, or none",
    },
    Setting {
        key: "step_up",
        meaning: "actions that need a second factor even on a trusted device",
        form: "comma list of export, or none",
    },
    Setting {
        key: "backup_low",
        meaning: "warn when this many backup codes or fewer are left",
        form: "0-10",
    },
    Setting {
        key: "self_disable",
        meaning: "how users turn their own 2FA off: with their password, or only an admin can",
        form: "password|admin",
    },
];

/// A setting that could not be applied; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("unknown policy key `{0}`")]
    UnknownKey(String),
    #[error("`{key}` cannot be `{value}`: expected {form}")]
    BadValue {
        key: &'static str,
        value: String,
        form: &'static str,
    },
}

/// Every setting, the limits of [`regulation`] last.
pub fn settings() -> impl Iterator<Item = &'static Setting> {
    SETTINGS.iter().chain(regulation::SETTINGS)
}

impl Policy {
    pub fn setting(key: &str) -> Option<&'static Setting> {
        settings().find(|s| s.key == key)
    }

    /// Apply one `KEY VALUE` pair, leaving the policy unchanged on error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), PolicyError> {
        if let Some(done) = self.limits.set(key, value) {
            return done;
        }
        let setting = Self::setting(key).ok_or_else(|| PolicyError::UnknownKey(key.to_owned()))?;
        let bad = || PolicyError::BadValue {
            key: setting.key,
            value: value.to_owned(),
            form: setting.form,
        };
        let v = value.trim();
        match setting.key {
            "enforce" => self.enforce = Enforce::parse(v).ok_or_else(bad)?,
            "grace_days" => self.grace_days = number(v, 0, 365).ok_or_else(bad)?,
            "factors" => {
                let kinds = list(v, FactorKind::parse).ok_or_else(bad)?;
                if kinds.is_empty() {
                    return Err(bad());
                }
                self.factors = kinds;
            }
            "totp_issuer" => {
                if v.is_empty()
                    || v.contains(':')
                    || v.chars().count() > super::text::Field::Issuer.max()
                    || v.chars().any(super::text::is_forbidden)
                {
                    return Err(bad());
                }
                v.clone_into(&mut self.totp_issuer);
            }
            "totp_skew" => self.totp_skew = number(v, 0, 2).ok_or_else(bad)?,
            "sms_ttl" => self.sms_ttl = duration(v, 30, 3_600).ok_or_else(bad)?,
            "email_ttl" => self.email_ttl = duration(v, 30, 86_400).ok_or_else(bad)?,
            "challenge_ttl" => self.challenge_ttl = duration(v, 30, 3_600).ok_or_else(bad)?,
            "code_attempts" => self.code_attempts = number(v, 1, 20).ok_or_else(bad)?,
            "resend_cooldown" => self.resend_cooldown = duration(v, 0, 3_600).ok_or_else(bad)?,
            "resend_max" => self.resend_max = number(v, 0, 10).ok_or_else(bad)?,
            "resend_mode" => self.resend_mode = ResendMode::parse(v).ok_or_else(bad)?,
            "lockout_threshold" => self.lockout_threshold = number(v, 1, 100).ok_or_else(bad)?,
            "lockout_window" => self.lockout_window = duration(v, 60, 86_400).ok_or_else(bad)?,
            "lockout_duration" => {
                self.lockout_duration = duration(v, 60, 7 * 86_400).ok_or_else(bad)?;
            }
            "trust_days" => self.trust_days = number(v, 0, 365).ok_or_else(bad)?,
            "sms_countries" if v.eq_ignore_ascii_case("none") => self.sms_countries.clear(),
            "sms_countries" => {
                let codes = list(v, |c| {
                    let c = c.trim_start_matches('+');
                    c.parse::<u16>().ok().filter(|n| (1..=999).contains(n))
                })
                .ok_or_else(bad)?;
                if codes.is_empty() {
                    return Err(bad());
                }
                self.sms_countries = codes;
            }
            "step_up" => {
                self.step_up = if v.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    list(v, |a| Action::parse(a).filter(|a| *a != Action::Login)).ok_or_else(bad)?
                };
            }
            "backup_low" => self.backup_low = number(v, 0, 10).ok_or_else(bad)?,
            "self_disable" => self.self_disable = SelfDisable::parse(v).ok_or_else(bad)?,
            _ => return Err(PolicyError::UnknownKey(key.to_owned())),
        }
        Ok(())
    }

    /// The value of a setting, in the same form `set` accepts.
    pub fn get(&self, key: &str) -> Option<String> {
        let joined = |items: Vec<String>| items.join(",");
        Some(match key {
            "enforce" => self.enforce.to_string(),
            "grace_days" => self.grace_days.to_string(),
            "factors" => joined(self.factors.iter().map(ToString::to_string).collect()),
            "totp_issuer" => self.totp_issuer.clone(),
            "totp_skew" => self.totp_skew.to_string(),
            "sms_ttl" => format_duration(self.sms_ttl),
            "email_ttl" => format_duration(self.email_ttl),
            "challenge_ttl" => format_duration(self.challenge_ttl),
            "code_attempts" => self.code_attempts.to_string(),
            "resend_cooldown" => format_duration(self.resend_cooldown),
            "resend_max" => self.resend_max.to_string(),
            "resend_mode" => self.resend_mode.to_string(),
            "lockout_threshold" => self.lockout_threshold.to_string(),
            "lockout_window" => format_duration(self.lockout_window),
            "lockout_duration" => format_duration(self.lockout_duration),
            "trust_days" => self.trust_days.to_string(),
            "sms_countries" if self.sms_countries.is_empty() => "none".to_owned(),
            "sms_countries" => joined(self.sms_countries.iter().map(ToString::to_string).collect()),
            "step_up" if self.step_up.is_empty() => "none".to_owned(),
            "step_up" => joined(self.step_up.iter().map(ToString::to_string).collect()),
            "backup_low" => self.backup_low.to_string(),
            "self_disable" => self.self_disable.to_string(),
            other => return self.limits.get(other),
        })
    }

    /// The time-to-live of a code sent over `kind`'s channel, or of a TOTP challenge.
    pub fn code_ttl(&self, kind: FactorKind) -> TimeDelta {
        match kind {
            FactorKind::Totp => self.challenge_ttl,
            FactorKind::Sms => self.sms_ttl,
            FactorKind::Email => self.email_ttl,
        }
    }

    pub fn trust_span(&self) -> TimeDelta {
        TimeDelta::days(i64::from(self.trust_days))
    }

    pub fn needs_step_up(&self, action: Action) -> bool {
        self.step_up.contains(&action)
    }

    pub fn allows_kind(&self, kind: FactorKind) -> bool {
        self.factors.contains(&kind)
    }

    pub fn allows_country(&self, calling_code: u16) -> bool {
        self.sms_countries.contains(&calling_code)
    }

    /// The `sms_countries` value that also allows `calling_code`, for fixes.
    pub fn countries_with(&self, calling_code: u16) -> String {
        let mut codes: Vec<String> = self.sms_countries.iter().map(ToString::to_string).collect();
        codes.push(calling_code.to_string());
        codes.join(",")
    }

    /// "+1" or "+1, +44", for messages.
    pub fn countries_text(&self) -> String {
        if self.sms_countries.is_empty() {
            return "none".to_owned();
        }
        let mut out = String::new();
        for (i, code) in self.sms_countries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "+{code}");
        }
        out
    }
}

pub(crate) fn number(v: &str, min: u32, max: u32) -> Option<u32> {
    v.parse::<u32>().ok().filter(|n| (min..=max).contains(n))
}

fn list<T: PartialEq>(v: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let parsed = parse(item)?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Some(out)
}

/// Seconds, or a number with `s`, `m`, `h` or `d`: `90`, `90s`, `5m`, `1h`, `2d`.
pub fn parse_duration(v: &str) -> Option<TimeDelta> {
    let v = v.trim();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: i64 = digits.parse().ok()?;
    let secs = match unit.trim() {
        "s" | "sec" => n,
        "m" | "min" => n.checked_mul(60)?,
        "h" => n.checked_mul(3_600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    TimeDelta::try_seconds(secs)
}

pub(crate) fn duration(v: &str, min_s: i64, max_s: i64) -> Option<TimeDelta> {
    parse_duration(v).filter(|d| (min_s..=max_s).contains(&d.num_seconds()))
}

/// The shortest exact form: `30s`, `5m`, `1h`, `2d`.
pub fn format_duration(d: TimeDelta) -> String {
    let s = d.num_seconds();
    if s != 0 && s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s != 0 && s % 3_600 == 0 {
        format!("{}h", s / 3_600)
    } else if s != 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let p = Policy::default();
        assert_eq!(p.enforce, Enforce::All);
        assert_eq!(p.grace_days, 7);
        assert_eq!(p.sms_ttl, TimeDelta::minutes(5));
        assert_eq!(p.email_ttl, TimeDelta::minutes(10));
        assert_eq!(p.code_attempts, 5);
        assert_eq!(p.resend_cooldown, TimeDelta::seconds(30));
        assert_eq!(p.resend_max, 3);
        assert_eq!(p.resend_mode, ResendMode::Replace);
        assert_eq!(p.lockout_threshold, 10);
        assert_eq!(p.lockout_window, TimeDelta::minutes(15));
        assert_eq!(p.lockout_duration, TimeDelta::minutes(15));
        assert_eq!(p.trust_days, 14);
        assert_eq!(p.sms_countries, vec![1]);
        assert_eq!(p.step_up, vec![Action::Export]);
        assert_eq!(p.backup_low, 3);
    }

    #[test]
    fn every_setting_round_trips_through_get_and_set() {
        let defaults = Policy::default();
        for s in settings() {
            let value = defaults.get(s.key).expect(s.key);
            let mut p = Policy::default();
            p.set(s.key, &value).expect(s.key);
            assert_eq!(p, defaults, "{}", s.key);
        }
    }

    #[test]
    fn bad_values_leave_the_policy_unchanged() {
        let mut p = Policy::default();
        for (key, value) in [
            ("enforce", "sometimes"),
            ("grace_days", "-1"),
            ("grace_days", "366"),
            ("sms_ttl", "5 parsecs"),
            ("sms_ttl", "10s"),
            ("factors", ""),
            ("factors", "totp,fax"),
            ("sms_countries", "1,abc"),
            ("sms_countries", ""),
            ("sms_countries", " , "),
            ("sms_ttl", "99999999999999999m"),
            ("totp_issuer", "a:b"),
            ("totp_issuer", "a\u{1b}[31mb"),
            ("step_up", "login"),
            ("code_attempts", "0"),
        ] {
            let err = p.set(key, value).unwrap_err();
            assert!(matches!(err, PolicyError::BadValue { .. }), "{key}={value}");
            assert!(err.to_string().contains("expected"), "{err}");
        }
        assert_eq!(p, Policy::default());
        // A value out of range says what the range is.
        assert_eq!(
            p.set("sms_ttl", "0s").unwrap_err().to_string(),
            "`sms_ttl` cannot be `0s`: expected duration 30s-1h, e.g. 5m"
        );
        assert_eq!(
            p.set("nope", "1").unwrap_err().to_string(),
            "unknown policy key `nope`"
        );
    }

    #[test]
    fn values_are_parsed_forgivingly() {
        let mut p = Policy::default();
        p.set("sms_countries", "NONE").unwrap();
        assert!(p.sms_countries.is_empty());
        assert_eq!(p.get("sms_countries").as_deref(), Some("none"));
        assert_eq!(p.countries_with(44), "44");
        p.set("sms_countries", "+1, 44,44").unwrap();
        assert_eq!(p.countries_with(33), "1,44,33");
        assert_eq!(p.sms_countries, vec![1, 44]);
        assert_eq!(p.countries_text(), "+1, +44");
        p.set("sms_ttl", "90").unwrap();
        assert_eq!(p.sms_ttl, TimeDelta::seconds(90));
        assert_eq!(p.get("sms_ttl").unwrap(), "90s");
        p.set("lockout_duration", "1h").unwrap();
        assert_eq!(p.get("lockout_duration").unwrap(), "1h");
        p.set("step_up", "none").unwrap();
        assert!(!p.needs_step_up(Action::Export));
    }

    #[test]
    fn enforcement_scope() {
        assert!(Enforce::All.applies_to(Role::Member));
        assert!(Enforce::Admins.applies_to(Role::Admin));
        assert!(!Enforce::Admins.applies_to(Role::Member));
        assert!(!Enforce::Off.applies_to(Role::Admin));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(TimeDelta::seconds(30)));
        assert_eq!(parse_duration("5m"), Some(TimeDelta::minutes(5)));
        assert_eq!(parse_duration("2d"), Some(TimeDelta::days(2)));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5y"), None);
        assert_eq!(format_duration(TimeDelta::seconds(90)), "90s");
        assert_eq!(format_duration(TimeDelta::zero()), "0s");
    }
}
