//! Pure 2FA rules and their vocabulary: policy, TOTP, one-time and backup codes,
//! trust, lockout, enforcement, the login decision. No SQL, terminal, clock or I/O.

pub mod audit;
pub mod backup;
pub mod chain;
pub mod contact;
pub mod doctor;
pub mod enforcement;
pub mod exchange;
pub mod hotp;
pub mod lockout;
pub mod login;
pub mod needle;
pub mod oath;
pub mod otp;
pub mod password;
pub mod policy;
pub mod recipient;
pub mod regulation;
pub mod search;
pub mod temp_code;
pub mod text;
pub mod totp;
pub mod trust;
pub mod vocab;

use chrono::{DateTime, TimeDelta, Utc};

/// Every instant in the domain: UTC, whole seconds.
pub type Time = DateTime<Utc>;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text.trim().to_ascii_lowercase().as_str() {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The accepted spellings, for error messages: `a|b|c`.
            pub fn choices() -> String {
                [$($text),+].join("|")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// What a user may do in the console and what enforcement applies to.
    Role { Admin => "admin", Member => "member" }
);
text_enum!(
    /// Whether an account can log in at all.
    UserStatus { Active => "active", Disabled => "disabled" }
);
text_enum!(
    /// The kinds of second factor.
    FactorKind { Totp => "totp", Sms => "sms", Email => "email" }
);
text_enum!(
    /// A factor is pending until its first code is confirmed.
    FactorStatus { Pending => "pending", Active => "active", Disabled => "disabled" }
);
text_enum!(
    /// What a login attempt is for; `export` is a step-up action.
    Action { Login => "login", Export => "export" }
);

impl FactorKind {
    /// The words a support agent uses for it.
    pub fn label(self) -> &'static str {
        match self {
            FactorKind::Totp => "authenticator app",
            FactorKind::Sms => "SMS code",
            FactorKind::Email => "email code",
        }
    }
}

/// "in 3 min", "2 days ago": a coarse, readable distance from `now` to `at`.
pub fn relative(at: Time, now: Time) -> String {
    let delta = at - now;
    if delta.is_zero() {
        return "just now".to_owned();
    }
    let text = span(delta.abs());
    if delta >= TimeDelta::zero() {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// "45 s", "3 min", "2 h", "4 days": the largest unit that fits, rounded to
/// the nearest (9 days 23 h 59 min is "10 days", not "9 days"). A span that
/// rounds up to the next unit's threshold reads in that unit ("2 h", never
/// "120 min").
pub fn span(delta: TimeDelta) -> String {
    let s = delta.num_seconds().unsigned_abs();
    let nearest = |unit: u64| (s + unit / 2) / unit;
    if s < 120 {
        return format!("{s} s");
    }
    let minutes = nearest(60);
    if minutes < 120 {
        return format!("{minutes} min");
    }
    let hours = nearest(3_600);
    if hours < 48 {
        return format!("{hours} h");
    }
    format!("{} days", nearest(86_400))
}

/// Every unit, none rounded away: `5 min 30 s`, `1 day 2 h`.
pub fn exact_span(delta: TimeDelta) -> String {
    let mut s = delta.num_seconds().abs();
    let mut parts = Vec::new();
    for (unit, name) in [(86_400, "day"), (3_600, "h"), (60, "min"), (1, "s")] {
        let n = s / unit;
        s %= unit;
        if n > 0 {
            parts.push(match name {
                "day" if n > 1 => format!("{n} days"),
                _ => format!("{n} {name}"),
            });
        }
    }
    if parts.is_empty() {
        "0 s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// An instant in lists: `2026-11-21 09:30` (UTC).
pub fn short(at: Time) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// An instant as support staff read it: `2026-11-21 09:30:00 UTC`.
pub fn stamp(at: Time) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Time {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn relative_reads_both_ways() {
        let now = t("2026-11-21T12:00:00Z");
        assert_eq!(relative(now + TimeDelta::seconds(45), now), "in 45 s");
        assert_eq!(relative(now - TimeDelta::days(2), now), "2 days ago");
        assert_eq!(relative(now + TimeDelta::minutes(15), now), "in 15 min");
        assert_eq!(relative(now - TimeDelta::hours(5), now), "5 h ago");
        assert_eq!(relative(now, now), "just now");
    }

    #[test]
    fn spans_round_to_the_nearest_unit() {
        let d = |s: i64| span(TimeDelta::seconds(s));
        assert_eq!(d(0), "0 s");
        assert_eq!(d(119), "119 s");
        assert_eq!(d(120), "2 min");
        assert_eq!(d(149), "2 min");
        assert_eq!(d(150), "3 min");
        assert_eq!(d(-150), "3 min");
        // 119 min 29 s is still minutes; from 119 min 30 s it rounds to 2 h.
        assert_eq!(d(7_169), "119 min");
        assert_eq!(d(7_170), "2 h");
        assert_eq!(d(5_400 + 3_600), "3 h");
        assert_eq!(d(5_399 + 3_600), "2 h");
        // 47 h 29 min is hours; from 47 h 30 min it rounds to 2 days.
        assert_eq!(d(47 * 3_600 + 1_799), "47 h");
        assert_eq!(d(47 * 3_600 + 1_800), "2 days");
        assert_eq!(d(2 * 86_400 + 43_199), "2 days");
        assert_eq!(d(2 * 86_400 + 43_200), "3 days");
    }

    #[test]
    fn relative_rounds_to_the_nearest_day() {
        let now = t("2026-11-21T09:00:00Z");
        // The audit's case: 9 days 23:59:48 ago is "10 days ago".
        let login = now - TimeDelta::days(9) - TimeDelta::seconds(86_388);
        assert_eq!(relative(login, now), "10 days ago");
        assert_eq!(
            relative(now - TimeDelta::hours(6 * 24 - 1), now),
            "6 days ago"
        );
        assert_eq!(
            relative(now - TimeDelta::hours(5 * 24 + 11), now),
            "5 days ago"
        );
        assert_eq!(
            relative(now + TimeDelta::seconds(14 * 60 + 31), now),
            "in 15 min"
        );
    }

    #[test]
    fn exact_spans_keep_every_unit() {
        assert_eq!(exact_span(TimeDelta::seconds(330)), "5 min 30 s");
        assert_eq!(exact_span(TimeDelta::seconds(-93_600)), "1 day 2 h");
        assert_eq!(exact_span(TimeDelta::days(15)), "15 days");
        assert_eq!(exact_span(TimeDelta::zero()), "0 s");
    }

    #[test]
    fn text_enums_round_trip() {
        for kind in FactorKind::ALL {
            assert_eq!(FactorKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(Role::parse(" ADMIN "), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::choices(), "admin|member");
    }
}
