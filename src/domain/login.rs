//! The login decision: after the password, is the user let in, challenged for
//! a second factor, or refused, and every reason why. Also which factor to use.

use serde::Serialize;

use super::enforcement::Standing;
use super::lockout::Lock;
use super::trust::Trust;
use super::{Action, FactorKind, FactorStatus, Time, UserStatus, relative, stamp, text_enum};

text_enum!(
    /// The three ways a login attempt can go after the password.
    Outcome { Allowed => "allowed", Challenge => "challenge", Denied => "denied" }
);

/// How the password step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Password {
    Correct,
    Wrong,
    /// The account has no password set.
    NotSet,
    /// The simulator or `--assume-password` skipped it.
    Assumed,
}

/// Everything the decision depends on, gathered by `desk`.
#[derive(Debug, Clone)]
pub struct Facts {
    pub status: UserStatus,
    pub password: Password,
    pub lock: Lock,
    pub every_login: bool,
    pub standing: Standing,
    pub trust: Trust,
    pub action: Action,
    pub step_up: bool,
    /// Secured after a suspected compromise: this login must set a new
    /// password, and nothing gets in on the password alone.
    pub new_password: bool,
}

/// The outcome and its reasons, in the order they were weighed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub reasons: Vec<String>,
}

/// Decide a login at `now`.
pub fn decide(f: &Facts, now: Time) -> Decision {
    let deny = |reason: String| Decision {
        outcome: Outcome::Denied,
        reasons: vec![reason],
    };
    if f.status == UserStatus::Disabled {
        return deny("The account is disabled; an admin must enable it first.".to_owned());
    }
    let mut reasons = Vec::new();
    match f.password {
        Password::Wrong => return deny("The password is incorrect.".to_owned()),
        Password::NotSet => {
            return deny(
                "No password is set for this account; an admin must set one first.".to_owned(),
            );
        }
        Password::Assumed => reasons.push(PASSWORD_ASSUMED.to_owned()),
        Password::Correct => reasons.push("Password correct.".to_owned()),
    }
    if f.lock.is_hard() {
        return deny(format!(
            "2FA is locked after {} failed codes in a row with no success between; only an admin can unlock it.",
            f.lock.streak
        ));
    }
    if let Some(until) = f.lock.locked_until.filter(|_| f.lock.is_locked(now)) {
        return deny(format!(
            "2FA is locked after {} failed attempts; it releases {} ({}) or when an admin unlocks it.",
            f.lock.failures,
            relative(until, now),
            stamp(until)
        ));
    }
    if f.new_password {
        if f.standing != Standing::Enrolled {
            reasons.push(SECURED_NOT_ENROLLED.to_owned());
            return Decision {
                outcome: Outcome::Denied,
                reasons,
            };
        }
        reasons.push(SECURED.to_owned());
    }
    if f.standing != Standing::Enrolled {
        reasons.push(f.standing.sentence(now));
        if f.step_up && !f.standing.blocks_login() {
            // A step-up proves who is at the keyboard with a second factor;
            // without one there is nothing to prove it with.
            reasons.push(format!(
                "The {} action needs a second factor, and they have none yet: enrol one first.",
                f.action
            ));
            return Decision {
                outcome: Outcome::Denied,
                reasons,
            };
        }
        let outcome = if f.standing.blocks_login() {
            Outcome::Denied
        } else {
            Outcome::Allowed
        };
        return Decision { outcome, reasons };
    }
    let mut challenge = f.new_password;
    if f.step_up {
        reasons.push(format!(
            "The {} action needs a second factor even on a trusted device.",
            f.action
        ));
        challenge = true;
    }
    if f.every_login {
        reasons.push("This user is asked for a code on every login.".to_owned());
        challenge = true;
    }
    if !f.trust.is_trusted() || !challenge || f.new_password {
        reasons.push(f.trust.sentence(now));
    }
    challenge |= !f.trust.is_trusted();
    Decision {
        outcome: if challenge {
            Outcome::Challenge
        } else {
            Outcome::Allowed
        },
        reasons,
    }
}

/// What factor choice needs to know about each of a user's factors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub kind: FactorKind,
    pub status: FactorStatus,
    /// When it was last used, or confirmed if that is later: a factor set up
    /// just now is the one the user has to hand.
    pub recent_at: Option<Time>,
}

/// Why the asked-for factor cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("factor {0} does not belong to this user")]
    NotTheirs(i64),
    #[error("factor {id} is {status}, not active: confirm or enable it, or pick another")]
    NotActive { id: i64, status: FactorStatus },
    #[error("this user has no active factor to challenge")]
    NoneActive,
}

/// Why a login after a compromise response is challenged even on a trusted
/// computer, and what it must do once in.
pub const SECURED: &str = "The account was secured after a suspected compromise: a second factor is needed on any computer, and this login must set a new password.";

/// Why a login after a compromise response is refused before its new
/// authenticator is confirmed: never the password alone.
pub const SECURED_NOT_ENROLLED: &str = "The account was secured after a suspected compromise and its new authenticator app is not confirmed yet: no login on the password alone until it is.";

/// The reason a login whose password was not checked (the simulator,
/// `--assume-password`) gives first.
pub const PASSWORD_ASSUMED: &str = "Password assumed correct (simulation).";

/// The requested factor, or else the one used or confirmed most recently, or
/// else the first enrolled (an authenticator app before SMS before email).
pub fn choose(candidates: &[Candidate], requested: Option<i64>) -> Result<&Candidate, ChoiceError> {
    if let Some(id) = requested {
        let c = candidates
            .iter()
            .find(|c| c.id == id)
            .ok_or(ChoiceError::NotTheirs(id))?;
        if c.status != FactorStatus::Active {
            return Err(ChoiceError::NotActive {
                id,
                status: c.status,
            });
        }
        return Ok(c);
    }
    candidates
        .iter()
        .filter(|c| c.status == FactorStatus::Active)
        .max_by(|a, b| {
            a.recent_at
                .cmp(&b.recent_at)
                .then(b.kind.cmp(&a.kind))
                .then(b.id.cmp(&a.id))
        })
        .ok_or(ChoiceError::NoneActive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trust::Trust;
    use chrono::{DateTime, TimeDelta};

    fn now() -> Time {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn trusted() -> Trust {
        Trust::Trusted {
            label: "Firefox on macOS".into(),
            until: now() + TimeDelta::days(3),
        }
    }

    fn facts() -> Facts {
        Facts {
            status: UserStatus::Active,
            password: Password::Correct,
            lock: Lock::default(),
            every_login: false,
            standing: Standing::Enrolled,
            trust: trusted(),
            action: Action::Login,
            step_up: false,
            new_password: false,
        }
    }

    #[test]
    fn a_trusted_device_on_the_same_ip_skips_the_challenge() {
        let d = decide(&facts(), now());
        assert_eq!(d.outcome, Outcome::Allowed);
        assert!(
            d.reasons[1].starts_with("Trusted device \"Firefox on macOS\""),
            "{d:?}"
        );
    }

    #[test]
    fn each_reason_to_challenge() {
        let cases = [
            Facts {
                trust: Trust::NewDevice,
                ..facts()
            },
            Facts {
                every_login: true,
                ..facts()
            },
            Facts {
                step_up: true,
                action: Action::Export,
                ..facts()
            },
            Facts {
                trust: Trust::NewIp {
                    label: "x".into(),
                    ip: "203.0.113.9".into(),
                    known: vec!["198.51.100.7".into()],
                },
                ..facts()
            },
        ];
        for f in cases {
            assert_eq!(decide(&f, now()).outcome, Outcome::Challenge, "{f:?}");
        }
        let d = decide(
            &Facts {
                step_up: true,
                action: Action::Export,
                ..facts()
            },
            now(),
        );
        assert_eq!(
            d.reasons[1],
            "The export action needs a second factor even on a trusted device."
        );
    }

    #[test]
    fn a_step_up_without_any_factor_is_refused_not_waved_through() {
        for standing in [
            Standing::NotRequired,
            Standing::InGrace {
                until: now() + TimeDelta::days(2),
            },
        ] {
            let export = Facts {
                standing,
                step_up: true,
                action: Action::Export,
                ..facts()
            };
            let d = decide(&export, now());
            assert_eq!(d.outcome, Outcome::Denied, "{d:?}");
            assert_eq!(
                d.reasons.last().unwrap(),
                "The export action needs a second factor, and they have none yet: enrol one first."
            );
            // A plain login in the same standing still goes through.
            let login = Facts {
                step_up: false,
                action: Action::Login,
                ..export
            };
            assert_eq!(decide(&login, now()).outcome, Outcome::Allowed);
        }
    }

    #[test]
    fn refusals_say_why() {
        let disabled = decide(
            &Facts {
                status: UserStatus::Disabled,
                ..facts()
            },
            now(),
        );
        assert_eq!(disabled.outcome, Outcome::Denied);
        assert!(disabled.reasons[0].contains("disabled"));
        let wrong = decide(
            &Facts {
                password: Password::Wrong,
                ..facts()
            },
            now(),
        );
        assert_eq!(wrong.reasons, vec!["The password is incorrect.".to_owned()]);
        let locked = Lock {
            failures: 10,

            locked_until: Some(now() + TimeDelta::minutes(12)),
            streak: 10,
        };
        let d = decide(
            &Facts {
                lock: locked,
                ..facts()
            },
            now(),
        );
        assert_eq!(d.outcome, Outcome::Denied);
        assert!(d.reasons[0].contains("locked after 10 failed attempts; it releases in 12 min"));
        // A released lock no longer refuses.
        let later = now() + TimeDelta::minutes(12);
        assert_eq!(
            decide(
                &Facts {
                    lock: locked,
                    ..facts()
                },
                later
            )
            .outcome,
            Outcome::Allowed
        );
    }

    #[test]
    fn enforcement_without_a_factor() {
        let grace = Standing::InGrace {
            until: now() + TimeDelta::days(2),
        };
        let d = decide(
            &Facts {
                standing: grace,
                ..facts()
            },
            now(),
        );
        assert_eq!(d.outcome, Outcome::Allowed);
        let over = Standing::GraceOver {
            ended: now() - TimeDelta::days(2),
        };
        let d = decide(
            &Facts {
                standing: over,
                ..facts()
            },
            now(),
        );
        assert_eq!(d.outcome, Outcome::Denied);
        assert!(d.reasons[1].contains("grace period ended 2 days ago"));
    }

    #[test]
    fn after_a_compromise_nothing_gets_in_on_the_password_alone() {
        // A trusted computer on its own address still has to give a code.
        let d = decide(
            &Facts {
                new_password: true,
                ..facts()
            },
            now(),
        );
        assert_eq!(d.outcome, Outcome::Challenge, "{d:?}");
        assert_eq!(d.reasons[1], SECURED);
        // Before the new authenticator is confirmed: refused, whatever the
        // grace or the enforcement would allow a user without a factor.
        for standing in [
            Standing::NotRequired,
            Standing::InGrace {
                until: now() + TimeDelta::days(2),
            },
            Standing::GraceOver {
                ended: now() - TimeDelta::days(2),
            },
        ] {
            let d = decide(
                &Facts {
                    new_password: true,
                    standing,
                    ..facts()
                },
                now(),
            );
            assert_eq!(d.outcome, Outcome::Denied, "{standing:?}: {d:?}");
            assert_eq!(d.reasons.last().unwrap(), SECURED_NOT_ENROLLED);
        }
        // A wrong password is still just that.
        let wrong = decide(
            &Facts {
                new_password: true,
                password: Password::Wrong,
                ..facts()
            },
            now(),
        );
        assert_eq!(wrong.reasons, vec!["The password is incorrect.".to_owned()]);
    }

    fn cand(id: i64, kind: FactorKind, status: FactorStatus, used: Option<i64>) -> Candidate {
        Candidate {
            id,
            kind,
            status,
            recent_at: used.map(|d| now() - TimeDelta::days(d)),
        }
    }

    #[test]
    fn factor_choice() {
        let list = [
            cand(1, FactorKind::Email, FactorStatus::Active, None),
            cand(2, FactorKind::Totp, FactorStatus::Active, None),
            cand(3, FactorKind::Sms, FactorStatus::Pending, None),
        ];
        assert_eq!(choose(&list, None).unwrap().id, 2);
        assert_eq!(choose(&list, Some(1)).unwrap().id, 1);
        assert_eq!(
            choose(&list, Some(3)).unwrap_err(),
            ChoiceError::NotActive {
                id: 3,
                status: FactorStatus::Pending
            }
        );
        assert_eq!(
            choose(&list, Some(9)).unwrap_err(),
            ChoiceError::NotTheirs(9)
        );
        let used = [
            cand(1, FactorKind::Email, FactorStatus::Active, Some(1)),
            cand(2, FactorKind::Totp, FactorStatus::Active, Some(5)),
        ];
        assert_eq!(choose(&used, None).unwrap().id, 1);
        assert_eq!(choose(&[], None).unwrap_err(), ChoiceError::NoneActive);
    }
}
