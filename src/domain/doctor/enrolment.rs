//! Findings about enrolment: no factor yet or grace over, an enrolment or a
//! new phone number never confirmed, a disabled factor, SMS to a country not allowed.

use super::{
    Act, Builder, Change, DeliveryFact, FactorFact, Finding, Fix, Kind, Part, Severity, clock, say,
};
use crate::domain::contact::Phone;
use crate::domain::enforcement::Standing;
use crate::domain::policy::Policy;
use crate::domain::vocab::Channel;
use crate::domain::{FactorKind, FactorStatus, relative, stamp};

/// How to confirm a pending factor: the code the app shows, or the one sent.
fn confirm_pending(p: &FactorFact) -> Vec<Part> {
    let confirm = Part::Act(Act::ConfirmFactor { factor: p.id });
    match p.kind {
        FactorKind::Totp => vec![
            say("Ask them to type the code their app shows for this account: "),
            confirm,
            say(" (or remove it and enrol again)"),
        ],
        _ => [
            vec![
                say(format!(
                    "Confirm it with the code sent to {}: ",
                    p.destination.as_deref().unwrap_or("them")
                )),
                confirm,
            ],
            resend_hint(p),
        ]
        .concat(),
    }
}

pub(super) fn enrolment(b: &mut Builder<'_>) {
    let f = b.facts;
    let pending: Vec<&FactorFact> = f
        .factors
        .iter()
        .filter(|x| x.status == FactorStatus::Pending)
        .collect();
    let blocked = f.needs_factor_now();
    // A number changed since is not a new enrolment: `sms` explains it.
    for p in pending.iter().filter(|p| p.repointed.is_none()) {
        // Blocking only when it is what stands between them and a login.
        let severity = if f.has_active() || !blocked {
            Severity::Warning
        } else {
            Severity::Blocking
        };
        let mut evidence = vec![format!(
            "{} (factor {}) started {}, never confirmed.",
            p.label,
            p.id,
            b.when(p.created_at)
        )];
        if f.standing.blocks_login() {
            evidence.push(f.standing.sentence(f.now));
        }
        b.add(
            Finding::new(
                Kind::PendingEnrolment,
                severity,
                "Enrolment never confirmed",
                format!(
                    "They started setting up their {} but never typed its first code, so it does not count{}.",
                    p.kind.label(),
                    if blocked { " and login is refused" } else { "" }
                ),
            )
            .evidence(evidence)
            .fix(Fix::ConfirmPending, confirm_pending(p)),
        );
    }
    let disabled: Vec<&FactorFact> = f
        .factors
        .iter()
        .filter(|x| x.status == FactorStatus::Disabled)
        .collect();
    for d in &disabled {
        factor_disabled(b, d);
    }
    let waiting = !pending.is_empty() || !disabled.is_empty();
    if let (Standing::InGrace { until }, false) = (f.standing, waiting) {
        b.add(
            Finding::new(
                Kind::NoFactorYet,
                Severity::Warning,
                "No second factor yet",
                format!(
                    "2FA is required for them and they have none yet: they must enrol by {} ({}), or login will be refused.",
                    stamp(until),
                    relative(until, f.now)
                ),
            )
            .evidence(vec![f.standing.sentence(f.now)])
            .fix(
                Fix::EnrolApp,
                vec![
                    say("Enrol an authenticator app with them: "),
                    Part::Act(Act::AddTotp),
                ],
            ),
        );
    }
    if f.standing.blocks_login() && !waiting {
        b.add(
            Finding::new(
                Kind::GraceOver,
                Severity::Blocking,
                "No second factor, grace over",
                "2FA is required for them and the time to set it up has run out, so login is refused.",
            )
            .evidence(vec![f.standing.sentence(f.now)])
            .fix(
                Fix::EnrolApp,
                vec![
                    say("Enrol an authenticator app with them now: "),
                    Part::Act(Act::AddTotp),
                ],
            ),
        );
    }
}

/// A disabled factor: the way back in, when it is the only one they have.
fn factor_disabled(b: &mut Builder<'_>, d: &FactorFact) {
    let f = b.facts;
    let severity = match f.standing {
        _ if f.has_active() => Severity::Info,
        Standing::GraceOver { .. } => Severity::Blocking,
        Standing::InGrace { .. } => Severity::Warning,
        Standing::NotRequired | Standing::Enrolled => Severity::Info,
    };
    let mut evidence = vec![match &d.disabled {
        Some(c) => format!(
            "{} (factor {}) disabled {} by {}{}.",
            d.label,
            d.id,
            b.when(c.at),
            c.by,
            c.why
                .as_deref()
                .map(|w| format!(": {w}"))
                .unwrap_or_default()
        ),
        None => format!("{} (factor {}) is disabled.", d.label, d.id),
    }];
    if severity != Severity::Info {
        evidence.push(f.standing.sentence(f.now));
    }
    let explanation = if f.has_active() {
        format!(
            "Their {} is disabled; they log in with another factor.",
            d.kind.label()
        )
    } else {
        format!(
            "Their {} is disabled, so it cannot be used{}; it is still enrolled and can be enabled again.",
            d.kind.label(),
            if severity == Severity::Blocking {
                " and login is refused"
            } else {
                ""
            }
        )
    };
    b.add(
        Finding::new(
            Kind::FactorDisabled,
            severity,
            "Factor disabled",
            explanation,
        )
        .evidence(evidence)
        .fix(
            Fix::EnableFactor,
            vec![
                say("If they should use it again, enable it: "),
                Part::Act(Act::EnableFactor { factor: d.id }),
            ],
        ),
    );
}

/// SMS factors whose number cannot get texts, or is unverified.
pub(super) fn sms(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    for x in f
        .factors
        .iter()
        .filter(|x| x.kind == FactorKind::Sms && x.status != FactorStatus::Disabled)
    {
        let Some(phone) = x.destination.as_deref().and_then(Phone::stored) else {
            continue;
        };
        let only = f.others_than(FactorKind::Sms) == 0;
        if !policy.allows_country(phone.calling_code()) {
            let failed: Vec<&DeliveryFact> = f
                .deliveries
                .iter()
                .filter(|d| d.channel == Channel::Sms && f.failure_is_current(d))
                .collect();
            let mut evidence = vec![format!(
                "Their phone {} is in country +{}; SMS may go to {} only.",
                phone.masked(),
                phone.calling_code(),
                policy.countries_text()
            )];
            if let Some(last) = failed.first() {
                evidence.push(format!(
                    "{} failed message(s); the last {}: {}.",
                    failed.len(),
                    relative(last.at, f.now),
                    last.reason.as_deref().unwrap_or("failed")
                ));
            }
            b.add(
                Finding::new(
                    Kind::SmsCountry,
                    if only {
                        Severity::Blocking
                    } else {
                        Severity::Warning
                    },
                    "SMS country not allowed",
                    format!(
                        "Their phone's country (+{}) is not on the SMS list, so no code reaches them by text.",
                        phone.calling_code()
                    ),
                )
                .evidence(evidence)
                .fix(
                    if only {
                        Fix::AddAnotherFactor
                    } else {
                        Fix::RemoveFactor
                    },
                    if only {
                        vec![
                            say("Set them up with an authenticator app: "),
                            Part::Act(Act::AddTotp),
                        ]
                    } else {
                        // The way in they need is there: what is left is a
                        // factor that cannot work.
                        vec![
                            say("They log in with their other factor; remove this one, which cannot get codes: "),
                            Part::Act(Act::RemoveFactor { factor: x.id }),
                        ]
                    }
                    .into_iter()
                    .chain([
                        say("; or allow the country: "),
                        Part::Act(Act::AllowCountries {
                            codes: policy.countries_with(phone.calling_code()),
                        }),
                    ])
                    .collect::<Vec<_>>(),
                ),
            );
            continue;
        }
        if let (FactorStatus::Pending, Some(change)) = (x.status, &x.repointed) {
            number_changed(b, x, &phone, change);
        }
    }
}

/// ` (if it expired, send another: RESEND).`, or how to send a new code
/// when none is waiting.
fn resend_hint(p: &FactorFact) -> Vec<Part> {
    match p.confirm_challenge {
        Some(challenge) => vec![
            say(" (if it expired, send another: "),
            Part::Act(Act::ResendCode { challenge }),
            say(")."),
        ],
        None => vec![say(
            " (if no code is waiting, remove the factor and add it again).",
        )],
    }
}

/// An SMS factor pending again because its phone number was changed.
fn number_changed(b: &mut Builder<'_>, x: &FactorFact, phone: &Phone, change: &Change) {
    let f = b.facts;
    let blocked = f.standing.blocks_login() && !f.has_active();
    let mut evidence = vec![format!(
        "Changed to {} {} by {}.",
        phone.masked(),
        b.when(change.at),
        change.by
    )];
    if let Some(d) = f
        .deliveries
        .iter()
        .find(|d| d.channel == Channel::Sms && d.at >= change.at)
    {
        evidence.push(format!(
            "Code sent to {} at {}: {}.",
            d.destination,
            clock(d.at, f.now),
            if d.failed {
                d.reason.as_deref().unwrap_or("failed")
            } else {
                "reached the gateway"
            }
        ));
    }
    if blocked {
        evidence.push(f.standing.sentence(f.now));
    }
    b.add(
        Finding::new(
            Kind::PhoneUnverified,
            if blocked {
                Severity::Blocking
            } else {
                Severity::Warning
            },
            "New phone number not confirmed",
            format!(
                "Their phone number was changed {} and the new number has not been confirmed with the code sent to it, so SMS codes do not count yet{}.",
                relative(change.at, f.now),
                if blocked { " and login is refused" } else { "" }
            ),
        )
        .evidence(evidence)
        .fix(
            Fix::ConfirmPending,
            [
                vec![
                    say("Ask them for the code sent to the new number: "),
                    Part::Act(Act::ConfirmFactor { factor: x.id }),
                ],
                resend_hint(x),
            ]
            .concat(),
        ),
    );
}
