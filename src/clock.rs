//! The one place that reads the system time. Everything else is handed `now`.
//! A clock is either the system's or fixed, plus an offset the simulator moves.

use chrono::{DateTime, TimeDelta, Utc};

/// Where "now" comes from, plus how far a user has moved it forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    base: Base,
    offset: TimeDelta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The wall clock, truncated to whole seconds like every stored time.
    pub fn system() -> Self {
        Self {
            base: Base::System,
            offset: TimeDelta::zero(),
        }
    }

    /// A clock that stands still at `at` until advanced (tests, `--now`).
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            base: Base::Fixed(at),
            offset: TimeDelta::zero(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let base = match self.base {
            #[allow(clippy::disallowed_methods)]
            Base::System => Utc::now(),
            Base::Fixed(at) => at,
        };
        truncate_to_second(base + self.offset)
    }

    /// The same source of time, not moved: the real now (the simulator's
    /// sandbox starts from it and moves its own copy).
    #[must_use]
    pub fn unmoved(&self) -> Self {
        Self {
            base: self.base.clone(),
            offset: TimeDelta::zero(),
        }
    }

    /// Move this clock forward (or back, with a negative delta).
    pub fn advance(&mut self, by: TimeDelta) {
        self.offset += by;
    }

    /// How far this clock has been moved from its base.
    pub fn offset(&self) -> TimeDelta {
        self.offset
    }

    pub fn is_fixed(&self) -> bool {
        matches!(self.base, Base::Fixed(_))
    }
}

fn truncate_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_stands_still_and_advances() {
        let at = DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc();
        let mut clock = Clock::fixed(at);
        assert_eq!(clock.now(), at);
        assert_eq!(clock.now(), at);
        clock.advance(TimeDelta::seconds(30));
        assert_eq!(clock.now(), at + TimeDelta::seconds(30));
        assert_eq!(clock.offset(), TimeDelta::seconds(30));
    }

    #[test]
    fn system_clock_has_whole_seconds() {
        assert_eq!(Clock::system().now().timestamp_subsec_nanos(), 0);
    }
}
