//! Findings about the account: disabled, password checks refused, 2FA
//! locked (for a while, or until an admin unlocks), asked on every login.

use super::{Act, AttemptFact, Builder, Finding, Fix, Kind, Part, Severity, ips, say};
use crate::domain::policy::Policy;
use crate::domain::vocab::AttemptOutcome;
use crate::domain::{UserStatus, relative, span, stamp};

pub(super) fn disabled(b: &mut Builder<'_>) {
    if b.facts.status != UserStatus::Disabled {
        return;
    }
    let evidence = match &b.facts.disabled {
        Some((at, why)) => vec![format!("Disabled {}: {why}", b.when(*at))],
        None => Vec::new(),
    };
    let action = vec![
        say("If they should have access again, enable the account: "),
        Part::Act(Act::EnableAccount),
    ];
    b.add(
        Finding::new(
            Kind::Disabled,
            Severity::Blocking,
            "Account disabled",
            "The account is disabled, so no password or code will let them in.",
        )
        .evidence(evidence)
        .fix(Fix::EnableAccount, action),
    );
}

/// Password checks refused: too many wrong passwords for this user, or
/// from the address they last came from.
pub(super) fn password_banned(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    if let Some((until, bans)) = f.password_ban.filter(|(until, _)| f.now < *until) {
        let doubled = if bans > 1 {
            format!(
                " This is ban {bans} in a row, so it lasts longer each time (up to {}).",
                span(policy.limits.password_ban_max)
            )
        } else {
            String::new()
        };
        b.add(
            Finding::new(
                Kind::PasswordBanned,
                Severity::Blocking,
                "Password checks refused",
                format!(
                    "After {} wrong passwords within {}, password checks for this user are refused until {} (in {}), even the right one.",
                    policy.limits.password_failures,
                    span(policy.limits.password_window),
                    stamp(until),
                    span(until - f.now)
                ),
            )
            .evidence(vec![format!(
                "Banned until {}.{doubled} A correct password after the ban ends the run of bans.",
                stamp(until)
            )])
            .fix(
                Fix::Unlock,
                vec![
                    say(format!(
                        "Wait until {}, or lift the ban once you have checked who is calling: ",
                        stamp(until)
                    )),
                    Part::Act(Act::Unlock),
                ],
            ),
        );
    }
    if let Some((ip, until)) = f.address_ban.as_ref().filter(|(_, until)| f.now < *until) {
        b.add(
            Finding::new(
                Kind::AddressBanned,
                Severity::Blocking,
                "Their address is banned",
                format!(
                    "{ip}, where they last logged in from, sent {} wrong passwords across users within {}: password checks from it are refused until {} (in {}).",
                    policy.limits.address_failures,
                    span(policy.limits.address_window),
                    stamp(*until),
                    span(*until - f.now)
                ),
            )
            .evidence(vec![
                "A shared address (an office, a VPN) can be banned by someone else's guessing."
                    .to_owned(),
            ])
            .fix(
                Fix::Wait,
                format!("Wait until {}, or log in from another network.", stamp(*until)),
            ),
        );
    }
}

pub(super) fn locked(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    if f.lock.is_hard() {
        return hard_locked(b, policy);
    }
    let Some(until) = f.lock.locked_until.filter(|_| f.lock.is_locked(f.now)) else {
        return;
    };
    let failures: Vec<&AttemptFact> = f
        .current()
        .iter()
        .filter(|a| a.outcome == AttemptOutcome::Invalid || a.outcome == AttemptOutcome::Replayed)
        .collect();
    let mut evidence = vec![format!(
        "{} wrong codes in a row; releases by itself at {} (in {}).",
        f.lock.failures,
        stamp(until),
        span(until - f.now)
    )];
    let counted = &failures[..failures
        .len()
        .min(usize::try_from(f.lock.failures).unwrap_or(0))];
    if let (Some(last), Some(first)) = (counted.first(), counted.last()) {
        evidence.push(format!(
            "Failures from {} to {}, from {}.",
            stamp(first.at),
            stamp(last.at),
            ips(counted)
        ));
    }
    let near = failures
        .iter()
        .filter(|a| a.matched_offset.is_some_and(|o| o != 0))
        .count();
    if near > 0 {
        evidence.push(format!(
            "{near} of them match another time step: the phone clock may be off (see below)."
        ));
    } else if !failures.is_empty() {
        evidence.push("None matches the code of any time within 10 minutes: typos, another account's code, or guessing.".to_owned());
    }
    b.add(
        Finding::new(
            Kind::Locked,
            Severity::Blocking,
            "2FA locked",
            format!(
                "After {} wrong codes their 2FA is locked; it releases {} or when you unlock it.",
                f.lock.failures,
                relative(until, f.now)
            ),
        )
        .evidence(evidence)
        .fix(
            Fix::Unlock,
            vec![
                say("Unlock now if you have checked who is calling: "),
                Part::Act(Act::Unlock),
            ],
        ),
    );
}

/// The hard stop: so many failed codes in a row that 2FA stays locked until
/// an admin unlocks it (NIST SP 800-63B allows no more than 100).
fn hard_locked(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    b.add(
        Finding::new(
            Kind::Locked,
            Severity::Blocking,
            "2FA locked until unlocked",
            format!(
                "{} wrong codes in a row with no success between: their 2FA stays locked until you unlock it. It will not release by itself.",
                f.lock.streak
            ),
        )
        .evidence(vec![format!(
            "{} failed codes in a row since the last success or unlock; the limit is {} (policy lockout_hard_stop). This many is guessing, or a very lost user: check who is calling before you unlock.",
            f.lock.streak, policy.limits.lockout_hard_stop
        )])
        .fix(
            Fix::Unlock,
            vec![
                say("Unlock once you have checked who is calling: "),
                Part::Act(Act::Unlock),
            ],
        ),
    );
}

pub(super) fn every_login(b: &mut Builder<'_>, policy: &Policy) {
    if !b.facts.every_login {
        return;
    }
    b.add(
        Finding::new(
            Kind::EveryLogin,
            Severity::Info,
            "Asked on every login",
            "This account is set to ask for a code on every login, even on a remembered computer.",
        )
        .evidence(vec![match &b.facts.every_login_set {
            Some(c) => format!("On since {}, set by {}.", b.when(c.at), c.by),
            None => "\"Ask on every login\" is on.".to_owned(),
        }])
        .fix(
            Fix::TurnOffEveryLogin,
            vec![
                say(format!(
                    "Expected if they chose it; if they would rather be remembered for {} days, turn it off: ",
                    policy.trust_days
                )),
                Part::Act(Act::EveryLoginOff),
            ],
        ),
    );
}

/// A compromise response asked for a new password at the next login.
pub(super) fn new_password(b: &mut Builder<'_>) {
    let f = b.facts;
    if !f.password_change {
        return;
    }
    let mut evidence = match &f.secured {
        Some(c) => vec![format!(
            "Treated as compromised {} by {}{}.",
            b.when(c.at),
            c.by,
            c.why
                .as_deref()
                .map(|w| format!(": {w}"))
                .unwrap_or_default()
        )],
        None => Vec::new(),
    };
    if !f.has_active() {
        evidence.push(
            "Their new authenticator app is not confirmed yet: until it is, no login gets in."
                .to_owned(),
        );
    }
    b.add(
        Finding::new(
            Kind::NewPassword,
            Severity::Warning,
            "New password required",
            "The account was secured after a suspected compromise: every login needs a code from the new authenticator app, and the next one must set a new password.",
        )
        .evidence(evidence)
        .fix(
            Fix::SetPassword,
            vec![
                say("They set it at their next login, after the code; or, once you have checked who is calling, set one for them: "),
                Part::Act(Act::SetPassword),
            ],
        ),
    );
}
