//! The one place that reads the system time. Everything else is handed `now`.
//! A clock is either the system's or fixed, plus an offset the simulator moves.

use chrono::{DateTime, TimeDelta, Utc};

/// Where "now" comes from, plus how far a user has moved it forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    base: Base,
    offset: TimeDelta,
    /// Where the real time comes from: the system, or (tests) a fixed time.
    real: Real,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Real {
    System,
    Pinned(DateTime<Utc>),
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
            real: Real::System,
        }
    }

    /// A clock that stands still at `at` until advanced (tests, `--now`).
    /// [`Clock::real_now`] still reads the system's time.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            base: Base::Fixed(at),
            offset: TimeDelta::zero(),
            real: Real::System,
        }
    }

    /// A fixed clock whose real time is `at` too: for tests and snapshots,
    /// whose output must not depend on when they ran.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self {
            real: Real::Pinned(at),
            ..Self::fixed(at)
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

    /// The time it really is, whatever this clock was set or moved to:
    /// the audit trail writes it beside each event's time.
    pub fn real_now(&self) -> DateTime<Utc> {
        match self.real {
            #[allow(clippy::disallowed_methods)]
            Real::System => truncate_to_second(Utc::now()),
            Real::Pinned(at) => at,
        }
    }

    /// Whether this clock reads other than the real time: fixed (`--now`)
    /// or moved (the simulator, the demo's history).
    pub fn is_set(&self) -> bool {
        self.is_fixed() || !self.offset.is_zero()
    }

    /// The same source of time, not moved: the real now (the simulator's
    /// sandbox starts from it and moves its own copy).
    #[must_use]
    pub fn unmoved(&self) -> Self {
        Self {
            base: self.base.clone(),
            offset: TimeDelta::zero(),
            real: self.real.clone(),
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
        assert_eq!(Clock::system().real_now().timestamp_subsec_nanos(), 0);
    }

    #[test]
    fn the_real_time_is_kept_apart_from_a_set_clock() {
        let at = DateTime::parse_from_rfc3339("2019-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let mut system = Clock::system();
        assert!(!system.is_set());
        system.advance(TimeDelta::days(1));
        assert!(system.is_set(), "moved");
        let fixed = Clock::fixed(at);
        assert!(fixed.is_set());
        assert!(fixed.real_now() > at, "the real time, not 2019");
        let mut frozen = Clock::frozen(at);
        frozen.advance(TimeDelta::seconds(30));
        assert_eq!(frozen.real_now(), at);
        assert_eq!(frozen.unmoved().now(), at);
    }
}
