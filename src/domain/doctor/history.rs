//! Trouble from before the last success, unlock or reset: said once, as
//! information, so it is not taken for a current problem.

use super::{
    AttemptFact, Builder, DeliveryFact, Finding, Fix, Kind, Severity, between, clock, ips,
};
use crate::domain::vocab::{AttemptKind, AttemptOutcome};

/// Trouble from before the last success, unlock or reset: shown once, as
/// information, so it is not mistaken for a current problem.
pub(super) fn history(b: &mut Builder<'_>) {
    let f = b.facts;
    let mut evidence = Vec::new();
    let past: Vec<&AttemptFact> = f.past_failures().collect();
    let wrong: Vec<&AttemptFact> = past
        .iter()
        .copied()
        .filter(|a| a.outcome == AttemptOutcome::Invalid)
        .collect();
    if let (Some(last), Some(first)) = (wrong.first(), wrong.last()) {
        evidence.push(format!(
            "{} wrong code(s) {} from {}.",
            wrong.len(),
            between(first.at, last.at, f.now),
            ips(&wrong)
        ));
    }
    for r in past
        .iter()
        .filter(|a| a.outcome == AttemptOutcome::Replayed)
    {
        let what = if r.kind == AttemptKind::Backup {
            "A used backup code"
        } else {
            "A used code"
        };
        let first = match (&r.first_used_ip, r.first_used_by_resync) {
            (_, true) => " (spent by the resync)".to_owned(),
            (Some(ip), false) if *ip != r.ip => format!(" (first used from {ip})"),
            _ => String::new(),
        };
        evidence.push(format!(
            "{what} tried again at {} from {}{first}.",
            clock(r.at, f.now),
            r.ip
        ));
    }
    let old: Vec<&DeliveryFact> = f
        .deliveries
        .iter()
        .filter(|d| d.failed && !f.failure_is_current(d))
        .collect();
    if let (Some(last), Some(first)) = (old.first(), old.last()) {
        let delivered_later = f
            .deliveries
            .iter()
            .any(|x| x.channel == last.channel && !x.failed && x.at >= last.at);
        let since = if f.number_changed_after(last) {
            "the number was changed since"
        } else if delivered_later {
            "a later message went through"
        } else {
            "they got in since"
        };
        evidence.push(format!(
            "{} failed message(s) {}: {}; {since}.",
            old.len(),
            between(first.at, last.at, f.now),
            last.reason.as_deref().unwrap_or("failed")
        ));
    }
    if evidence.is_empty() {
        return;
    }
    let explanation = match f.settled().filter(|_| !past.is_empty()) {
        Some((t, what)) => format!(
            "These came before {what} at {}, so they no longer stand in the way.",
            clock(t, f.now)
        ),
        None => "These no longer stand in the way: each line says what came after.".to_owned(),
    };
    b.add(
        Finding::new(
            Kind::History,
            Severity::Info,
            "Earlier trouble, since settled",
            explanation,
        )
        .evidence(evidence)
        .fix(
            Fix::Nothing,
            "Nothing to do now; if it starts again, it shows above as a current finding.",
        ),
    );
}
