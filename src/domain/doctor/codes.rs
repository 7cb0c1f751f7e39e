//! Findings about the codes typed: a phone clock off, wrong codes, codes
//! used twice, and backup codes used up, low or tried again.

use super::{Act, AttemptFact, Builder, Finding, Fix, Kind, Part, Severity, ips, say, times};
use crate::domain::backup::{self, Stock};
use crate::domain::policy::Policy;
use crate::domain::totp::offset_span;
use crate::domain::vocab::{AttemptKind, AttemptOutcome};
use crate::domain::{FactorKind, relative, span, stamp};

/// The typical offset of skewed codes: the most common one, the nearest
/// of those equally common.
fn typical_offset(skewed: &[(&AttemptFact, i64)]) -> i64 {
    let mut counts: Vec<(i64, usize)> = Vec::new();
    for (_, o) in skewed {
        match counts.iter_mut().find(|(v, _)| v == o) {
            Some((_, n)) => *n += 1,
            None => counts.push((*o, 1)),
        }
    }
    counts.sort_by_key(|(o, n)| (std::cmp::Reverse(*n), o.abs()));
    counts.first().map_or(0, |(o, _)| *o)
}

pub(super) fn wrong_codes(b: &mut Builder<'_>) {
    let f = b.facts;
    let wrong: Vec<&AttemptFact> = f
        .current()
        .iter()
        .filter(|a| a.kind == AttemptKind::Totp && a.outcome == AttemptOutcome::Invalid)
        .collect();
    let skewed: Vec<(&AttemptFact, i64)> = wrong
        .iter()
        .filter_map(|a| a.matched_offset.filter(|o| *o != 0).map(|o| (*a, o)))
        .collect();
    if !skewed.is_empty() {
        skew(b, &skewed);
    } else if f.lock.is_locked(f.now) || wrong.is_empty() {
        // A lock explains its own failures.
    } else if wrong.len() < 3 {
        slips(b, &wrong);
    } else {
        b.add(
            Finding::new(
                Kind::WrongCodes,
                Severity::Warning,
                "Wrong codes",
                format!(
                    "{} wrong authenticator codes in the last 24 hours, none right for any time within 10 minutes.",
                    wrong.len()
                ),
            )
            .evidence(vec![format!(
                "From {}; the last {}.",
                ips(&wrong),
                relative(wrong[0].at, f.now)
            )])
            .fix(
                Fix::CheckCode,
                vec![
                    say("Check they are reading the code for this account (the issuer and their email), not another one; check a code they read out: "),
                    Part::Act(Act::CheckCode),
                ],
            ),
        );
    }
}

/// Wrong codes that match another time step: the phone's clock is off.
fn skew(b: &mut Builder<'_>, skewed: &[(&AttemptFact, i64)]) {
    let f = b.facts;
    let app = f.active().find(|x| x.kind == FactorKind::Totp);
    if let Some((last, _)) = skewed.first() {
        let offset = typical_offset(skewed);
        let seconds = span(offset_span(offset.abs()));
        let direction = if offset < 0 { "slow" } else { "fast" };
        let drift = app.map_or(0, |x| x.drift);
        let id = app.map(|x| x.id);
        let matching: Vec<&AttemptFact> = skewed.iter().map(|(a, _)| *a).collect();
        let mut evidence = vec![
            format!(
                "{} wrong authenticator code(s) match the code of {} {} (the last {}).",
                skewed.len(),
                seconds,
                if offset < 0 { "earlier" } else { "later" },
                relative(last.at, f.now)
            ),
            format!(
                "At {} from {}.",
                times(matching.iter().map(|a| a.at), f.now),
                ips(&matching)
            ),
        ];
        if drift != 0 {
            evidence.push(format!(
                "A drift of {:+} s is already applied to this factor.",
                drift * 30
            ));
        }
        if drift == offset {
            // A resync has learned exactly this: the phone's codes work now.
            b.add(
                Finding::new(
                    Kind::ClockSkew,
                    Severity::Info,
                    "Phone clock off (resynced)",
                    format!(
                        "The phone's clock is about {seconds} {direction}, and a resync has allowed for it, so its codes work."
                    ),
                )
                .evidence(evidence)
                .fix(
                    Fix::Nothing,
                    vec![
                        say("Once they set the phone's time to automatic, clear the drift"),
                        Part::Key(Act::ClearDrift { factor: id }),
                        say(": "),
                        Part::Act(Act::ClearDrift { factor: id }),
                    ],
                ),
            );
            return;
        }
        b.add(
            Finding::new(
                Kind::ClockSkew,
                Severity::Warning,
                "Phone clock off",
                format!(
                    "Their codes are right for another time: the phone's clock looks about {seconds} {direction}."
                ),
            )
            .evidence(evidence)
            .fix(
                Fix::FixPhoneClock,
                vec![
                    say("Ask them to set the phone's date and time to automatic; or resync from two codes in a row they read out: "),
                    Part::Act(Act::Resync { factor: id }),
                ],
            ),
        );
    }
}

/// One or two wrong codes that match no time: likely a slip.
fn slips(b: &mut Builder<'_>, wrong: &[&AttemptFact]) {
    let f = b.facts;
    b.add(
        Finding::new(
            Kind::WrongCodes,
            Severity::Info,
            if wrong.len() == 1 {
                "A wrong code"
            } else {
                "Two wrong codes"
            },
            format!(
                "{} wrong authenticator code(s) since they last got in, none right for any time within 10 minutes: most likely a slip.",
                wrong.len()
            ),
        )
        .evidence(vec![format!(
            "At {} from {}.",
            times(wrong.iter().map(|a| a.at), f.now),
            ips(wrong)
        )])
        .fix(
            Fix::CheckCode,
            vec![
                say("If it goes on, check a code they read out: "),
                Part::Act(Act::CheckCode),
            ],
        ),
    );
}

pub(super) fn replayed(b: &mut Builder<'_>) {
    let f = b.facts;
    let replays = || {
        f.current()
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Replayed && a.kind == AttemptKind::Totp)
    };
    // A code whose step the help desk's resync spent: expected, not a leak.
    if let Some(r) = replays().find(|a| a.first_used_by_resync) {
        let mut evidence = vec![format!("Refused {} from {}.", b.when(r.at), r.ip)];
        if let Some(at) = r.first_used_at {
            evidence.push(format!("The resync at {} spent that time step.", stamp(at)));
        }
        b.add(
            Finding::new(
                Kind::ResyncSpent,
                Severity::Info,
                "Code spent by the resync",
                "A code was refused because the help desk's resync had spent its time step (codes read out must not work later); a later code from the app works.",
            )
            .evidence(evidence)
            .fix(
                Fix::Nothing,
                "Nothing to fix: wait for the app to show the next code.",
            ),
        );
    }
    let Some(r) = replays().find(|a| !a.first_used_by_resync) else {
        return;
    };
    let first = match (&r.first_used_at, &r.first_used_ip) {
        (Some(at), Some(ip)) => format!("It had been used {} from {ip}.", b.when(*at)),
        (Some(at), None) => format!("It had been used {}.", b.when(*at)),
        _ => "It had been used before.".to_owned(),
    };
    let other_ip = r.first_used_ip.as_deref().is_some_and(|ip| ip != r.ip);
    let mut evidence = vec![
        format!("Tried again {} from {}.", b.when(r.at), r.ip),
        first,
    ];
    if other_ip {
        evidence.push("The two addresses differ: someone else may have seen the code.".to_owned());
    }
    let finding = Finding::new(
        Kind::Replayed,
        Severity::Warning,
        "Code used twice",
        "A code was turned away because it had already been used: each code works once.",
    )
    .evidence(evidence);
    b.add(if other_ip {
        finding.fix(
            Fix::TreatAsCompromised,
            vec![
                say("If the first login was not theirs, treat the account as compromised (every remembered computer revoked, open logins cancelled, a new authenticator app confirmed with them before it works, new backup codes, a new password at the next login; never a login on the password alone): "),
                Part::Act(Act::TreatAsCompromised),
            ],
        )
    } else {
        finding.fix(
            Fix::Nothing,
            "Nothing to fix: wait for the app to show the next code.",
        )
    });
}

pub(super) fn codes(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    let reused: Vec<&AttemptFact> = f
        .current()
        .iter()
        .filter(|a| a.kind == AttemptKind::Backup && a.outcome == AttemptOutcome::Replayed)
        .collect();
    match backup::stock(f.codes_left, f.codes_total, policy.backup_low) {
        Stock::Exhausted => {
            let mut evidence = vec![format!(
                "All {} backup codes used{}.",
                f.codes_total,
                f.codes_last_used
                    .map(|t| format!(", the last {}", b.when(t)))
                    .unwrap_or_default()
            )];
            if let Some(r) = reused.first() {
                evidence.push(format!(
                    "A used backup code was tried again {} from {}.",
                    relative(r.at, f.now),
                    r.ip
                ));
            }
            if let Some(l) = f.last_login.as_ref().filter(|l| !l.completed) {
                evidence.push(format!(
                    "Their last login attempt ({}) never got past the code.",
                    relative(l.at, f.now)
                ));
            }
            b.add(
                Finding::new(
                    Kind::CodesUsedUp,
                    Severity::Blocking,
                    "Backup codes used up",
                    "Every backup code has been used, so if the phone is lost there is no way in.",
                )
                .evidence(evidence)
                .fix(
                    Fix::Reenrol,
                    vec![
                        say("Lost phone: check who is calling, then replace their authenticator with one on the new phone, confirmed with them now (new backup codes come with it): "),
                        Part::Act(Act::Reenrol),
                        say(". Phone still there: make new codes"),
                        Part::Key(Act::GenerateCodes),
                        say(": "),
                        Part::Act(Act::GenerateCodes),
                    ],
                ),
            );
        }
        Stock::Low(n) => b.add(
            Finding::new(
                Kind::CodesLow,
                Severity::Warning,
                "Few backup codes left",
                format!("Only {n} backup code(s) left."),
            )
            .evidence(vec![format!("{n} of {} left.", f.codes_total)])
            .fix(
                Fix::NewCodes,
                vec![
                    say("Make a new set (shown once; the old ones stop working): "),
                    Part::Act(Act::GenerateCodes),
                ],
            ),
        ),
        Stock::None if f.has_active() => b.add(
            Finding::new(
                Kind::NoCodes,
                Severity::Info,
                "No backup codes",
                "They have no backup codes to fall back on if the phone is lost.",
            )
            .fix(
                Fix::NewCodes,
                vec![
                    say("Make a set and have them save it: "),
                    Part::Act(Act::GenerateCodes),
                ],
            ),
        ),
        Stock::None | Stock::Healthy(_) => {}
    }
    if let Some(r) = reused
        .first()
        .filter(|_| f.codes_left > 0 || f.codes_total == 0)
    {
        reused_backup(b, r);
    }
}

/// A backup code that had already been used was typed again.
fn reused_backup(b: &mut Builder<'_>, r: &AttemptFact) {
    let mut evidence = vec![format!("Tried again {} from {}.", b.when(r.at), r.ip)];
    if let Some(at) = r.first_used_at {
        evidence.push(format!(
            "It had been used {}{}.",
            b.when(at),
            r.first_used_ip
                .as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default()
        ));
    }
    let elsewhere = r.first_used_ip.as_deref().is_some_and(|ip| ip != r.ip);
    let finding = if elsewhere {
        Finding::new(
            Kind::BackupReused,
            Severity::Warning,
            "Used backup code tried again",
            "A backup code that had already been used was typed again, from another address than its first use.",
        )
        .evidence(evidence)
        .fix(
            Fix::NewCodes,
            vec![
                say("Ask whether both were them. If the list may have been seen, make a new set (the old codes stop working): "),
                Part::Act(Act::GenerateCodes),
                say("; if the first use was not theirs, treat the account as compromised: "),
                Part::Act(Act::TreatAsCompromised),
            ],
        )
    } else {
        Finding::new(
            Kind::BackupReused,
            Severity::Info,
            "Used backup code tried again",
            "They typed a backup code they had already used: each works once.",
        )
        .evidence(evidence)
        .fix(
            Fix::Nothing,
            "Ask them to cross used codes off their list and use the next one.",
        )
    };
    b.add(finding);
}
