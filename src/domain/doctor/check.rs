//! The code a user reads out: what its time says about their phone's clock,
//! and who already used it.

use serde::Serialize;

use crate::domain::totp::offset_span;
use crate::domain::{Time, relative, span, stamp};

/// What a code read out by the user says about their phone's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkewCheck {
    /// The factor checked (none when the check was refused).
    pub factor_id: Option<i64>,
    /// Steps from now the code was valid at (negative: in the past).
    pub offset_steps: Option<i64>,
    pub message: String,
    /// The code's time step had already been used: it cannot log in again.
    pub already_used: bool,
    /// The check was refused (too many checks, or nothing to check against).
    pub refused: bool,
}

/// Who had already used the time step of a code read out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpentBy {
    /// A login, when and from where (as far as the factor remembers).
    Login {
        at: Option<Time>,
        ip: Option<String>,
    },
    /// The help desk's resync, when.
    Resync { at: Option<Time> },
}

impl SkewCheck {
    /// A check that was not made, and why.
    pub fn refused(message: String) -> SkewCheck {
        SkewCheck {
            factor_id: None,
            offset_steps: None,
            message,
            already_used: false,
            refused: true,
        }
    }
}

/// A code read out whose time step was already used: say when and by what,
/// and that a new code is needed; and what its time says about the clock.
pub fn used_message(offset: i64, by: &SpentBy, now: Time) -> String {
    let when = |at: &Option<Time>| {
        at.map(|t| format!(" {} ({})", relative(t, now), stamp(t)))
            .unwrap_or_default()
    };
    let used = match by {
        SpentBy::Login { at, ip } => format!(
            "was already used to log in{}{}",
            when(at),
            ip.as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default()
        ),
        SpentBy::Resync { at } => {
            format!("was already spent by the help desk's resync{}", when(at))
        }
    };
    let clock = match offset {
        0 => String::new(),
        o => {
            let s = span(offset_span(o.abs()));
            let (when, way) = if o < 0 {
                (format!("was valid {s} ago"), "slow")
            } else {
                (format!("becomes valid in {s}"), "fast")
            };
            format!(" It {when}: the phone's clock is about {s} {way}.")
        }
    };
    format!(
        "This code {used}: each code works once, so they need a new one (the next code the app shows).{clock}"
    )
}

/// Explain a skew search result in words.
pub fn skew_message(offset: Option<i64>) -> String {
    match offset {
        Some(0) => "This code is valid right now: the phone's clock is right; if login fails, check they are typing it in time.".to_owned(),
        Some(o) if o < 0 => {
            let s = span(offset_span(-o));
            format!("This code was valid {s} ago: the phone's clock is about {s} slow.")
        }
        Some(o) => {
            let s = span(offset_span(o));
            format!("This code becomes valid in {s}: the phone's clock is about {s} fast.")
        }
        None => "This code matches no time within 10 minutes: it is from another account or secret, or was misread.".to_owned(),
    }
}
