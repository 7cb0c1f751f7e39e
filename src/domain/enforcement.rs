//! Enforcement: whether a user must have a second factor, and the grace period
//! for enrolling one, counted from account creation or the last policy change.

use chrono::TimeDelta;

use super::policy::Policy;
use super::{Role, Time, relative, stamp};

/// Where a user stands against the enforcement policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Has an active factor.
    Enrolled,
    /// Not enforced for this user, and none enrolled.
    NotRequired,
    /// Must enrol by `until`; can still log in without.
    InGrace { until: Time },
    /// Grace ended at `ended`, with no factor: login is refused.
    GraceOver { ended: Time },
}

impl Standing {
    /// May this user log in without a second factor?
    pub fn blocks_login(self) -> bool {
        matches!(self, Standing::GraceOver { .. })
    }

    pub fn sentence(self, now: Time) -> String {
        match self {
            Standing::Enrolled => "A second factor is enrolled.".to_owned(),
            Standing::NotRequired => {
                "2FA is not enforced for this user and none is enrolled.".to_owned()
            }
            Standing::InGrace { until } => format!(
                "No second factor yet; enrolment is required by {} ({}).",
                stamp(until),
                relative(until, now)
            ),
            Standing::GraceOver { ended } => format!(
                "The enrolment grace period ended {} ({}) and no second factor is active, so login is refused until one is enrolled.",
                relative(ended, now),
                stamp(ended)
            ),
        }
    }
}

/// When `role`'s grace began: the later of account creation and the last
/// change of the enforcement setting.
pub fn grace_end(policy: &Policy, created_at: Time, enforce_changed_at: Option<Time>) -> Time {
    let start = enforce_changed_at.map_or(created_at, |c| c.max(created_at));
    start + TimeDelta::days(i64::from(policy.grace_days))
}

pub fn standing(
    policy: &Policy,
    role: Role,
    created_at: Time,
    enforce_changed_at: Option<Time>,
    has_active_factor: bool,
    now: Time,
) -> Standing {
    if has_active_factor {
        return Standing::Enrolled;
    }
    if !policy.enforce.applies_to(role) {
        return Standing::NotRequired;
    }
    let end = grace_end(policy, created_at, enforce_changed_at);
    if now < end {
        Standing::InGrace { until: end }
    } else {
        Standing::GraceOver { ended: end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Enforce;
    use chrono::DateTime;

    fn t0() -> Time {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn grace_ends_exactly_seven_days_after_creation() {
        let p = Policy::default();
        let end = t0() + TimeDelta::days(7);
        let before = standing(
            &p,
            Role::Member,
            t0(),
            None,
            false,
            end - TimeDelta::seconds(1),
        );
        assert_eq!(before, Standing::InGrace { until: end });
        assert!(!before.blocks_login());
        let at = standing(&p, Role::Member, t0(), None, false, end);
        assert_eq!(at, Standing::GraceOver { ended: end });
        assert!(at.blocks_login());
    }

    #[test]
    fn a_policy_change_restarts_grace() {
        let p = Policy::default();
        let changed = t0() + TimeDelta::days(20);
        let now = t0() + TimeDelta::days(21);
        assert_eq!(
            standing(&p, Role::Member, t0(), Some(changed), false, now),
            Standing::InGrace {
                until: changed + TimeDelta::days(7)
            }
        );
        // An older change does not shorten a newer account's grace.
        assert_eq!(
            grace_end(&p, changed, Some(t0())),
            changed + TimeDelta::days(7)
        );
    }

    #[test]
    fn scope_and_enrolment() {
        let mut p = Policy::default();
        let late = t0() + TimeDelta::days(30);
        assert_eq!(
            standing(&p, Role::Member, t0(), None, true, late),
            Standing::Enrolled
        );
        p.enforce = Enforce::Admins;
        assert_eq!(
            standing(&p, Role::Member, t0(), None, false, late),
            Standing::NotRequired
        );
        assert!(standing(&p, Role::Admin, t0(), None, false, late).blocks_login());
        p.enforce = Enforce::Off;
        assert_eq!(
            standing(&p, Role::Admin, t0(), None, false, late),
            Standing::NotRequired
        );
    }

    #[test]
    fn sentences() {
        let p = Policy::default();
        let now = t0() + TimeDelta::days(9);
        let s = standing(&p, Role::Member, t0(), None, false, now).sentence(now);
        assert_eq!(
            s,
            "The enrolment grace period ended 2 days ago (2026-11-08 00:00:00 UTC) and no second factor is active, so login is refused until one is enrolled."
        );
    }
}
