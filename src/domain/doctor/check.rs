//! The code a user reads out: what its time says about their phone's clock,
//! and who already used it.

use serde::Serialize;

use crate::domain::totp::{ClockReading, offset_span};
use crate::domain::{Time, exact_span, relative, span, stamp};

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
        o => format!(
            " It {}: {}.",
            valid_when(o),
            clock_words(ClockReading::of(o))
        ),
    };
    format!(
        "This code {used}: each code works once, so they need a new one (the next code the app shows).{clock}"
    )
}

/// `was valid 3 min ago`, `becomes valid in 1 h`.
fn valid_when(offset: i64) -> String {
    let s = offset_words(offset);
    if offset < 0 {
        format!("was valid {s} ago")
    } else {
        format!("becomes valid in {s}")
    }
}

/// How far from now a code matched: rounded (`90 s`, `3 min`), or to the
/// second when a time zone away (`1 h`, `5 h 30 min 30 s`).
pub fn offset_words(offset: i64) -> String {
    match ClockReading::of(offset) {
        ClockReading::Zone { .. } => exact_span(offset_span(offset.abs())),
        _ => span(offset_span(offset.abs())),
    }
}

/// What a clock reading means for the phone, in words: `the phone's clock
/// is about 90 s slow`, `the phone's clock is set one hour ahead: check its
/// time zone`.
pub fn clock_words(reading: ClockReading) -> String {
    match reading {
        ClockReading::Right => "the phone's clock is right".to_owned(),
        ClockReading::Drift { steps } => format!(
            "the phone's clock is about {} {}",
            span(offset_span(steps.abs())),
            if steps < 0 { "slow" } else { "fast" }
        ),
        ClockReading::Zone { half_hours } => format!(
            "the phone's clock is set {} {}: check its time zone",
            half_hours_words(half_hours.unsigned_abs()),
            if half_hours < 0 { "behind" } else { "ahead" }
        ),
    }
}

/// `half an hour`, `one hour`, `five and a half hours`, `fourteen hours`.
fn half_hours_words(half_hours: u64) -> String {
    const NUMBERS: [&str; 15] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen",
    ];
    let hours = half_hours / 2;
    let number = usize::try_from(hours)
        .ok()
        .and_then(|h| NUMBERS.get(h))
        .map_or_else(|| hours.to_string(), |w| (*w).to_owned());
    match (hours, half_hours % 2 == 1) {
        (0, _) => "half an hour".to_owned(),
        (1, false) => "one hour".to_owned(),
        (_, false) => format!("{number} hours"),
        (_, true) => format!("{number} and a half hours"),
    }
}

/// Explain a skew search result in words.
pub fn skew_message(offset: Option<i64>) -> String {
    match offset {
        Some(0) => "This code is valid right now: the phone's clock is right; if login fails, check they are typing it in time.".to_owned(),
        Some(o) => format!(
            "This code {}: {}.",
            valid_when(o),
            clock_words(ClockReading::of(o))
        ),
        None => "This code matches no time within 10 minutes, nor a whole or half hour away (up to 14 h): it is from another account or secret, or was misread.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_said_in_hours_and_half_hours() {
        let zone = |h| clock_words(ClockReading::Zone { half_hours: h });
        assert_eq!(
            zone(2),
            "the phone's clock is set one hour ahead: check its time zone"
        );
        assert_eq!(
            zone(-1),
            "the phone's clock is set half an hour behind: check its time zone"
        );
        assert_eq!(
            zone(11),
            "the phone's clock is set five and a half hours ahead: check its time zone"
        );
        assert_eq!(
            zone(-28),
            "the phone's clock is set fourteen hours behind: check its time zone"
        );
        assert_eq!(
            zone(3),
            "the phone's clock is set one and a half hours ahead: check its time zone"
        );
        assert_eq!(
            skew_message(Some(120)),
            "This code becomes valid in 1 h: the phone's clock is set one hour ahead: check its time zone."
        );
        assert_eq!(
            skew_message(Some(-3)),
            "This code was valid 90 s ago: the phone's clock is about 90 s slow."
        );
    }
}
