//! The doctor on a temporary access code: one that works now (until when,
//! who gave it and why), one just used, or one that ran out unused.

use super::{Act, Builder, Finding, Fix, Kind, Part, Severity, say};
use crate::domain::stamp;
use crate::domain::temp_code::{TempState, state};

/// How long after its use a temporary code is still worth a finding.
const RECENT_DAYS: i64 = 7;

pub(super) fn temp_code(b: &mut Builder<'_>) {
    let f = b.facts;
    let Some(t) = &f.temp_code else { return };
    let issued = format!(
        "Issued {} by {}: {}.",
        b.when(t.issued_at),
        t.issued_by,
        t.reason
    );
    let used = t.used_at.map(|at| (at, t.used_ip.clone()));
    match state(t.expires_at, used, f.now) {
        TempState::Live { until } => b.add(
            Finding::new(
                Kind::TempCode,
                Severity::Info,
                "A temporary access code works",
                format!(
                    "They can log in once with the temporary access code until {}, in place of a code from their phone.",
                    stamp(until)
                ),
            )
            .evidence(vec![issued, format!("Works until {}.", b.when(until))])
            .fix(
                Fix::EnrolApp,
                vec![
                    say("Once they are in, have them enrol a new phone: "),
                    Part::Act(Act::AddTotp),
                    say(". A new code replaces this one: "),
                    Part::Act(Act::IssueTempCode),
                ],
            ),
        ),
        TempState::Used { at, ip } if (f.now - at).num_days() < RECENT_DAYS => b.add(
            Finding::new(
                Kind::TempCode,
                Severity::Info,
                "Temporary access code used",
                "Their temporary access code has been used and works no more.",
            )
            .evidence(vec![
                issued,
                format!(
                    "Used {}{}.",
                    b.when(at),
                    ip.map(|ip| format!(" from {ip}")).unwrap_or_default()
                ),
            ])
            .fix(
                Fix::TempCode,
                vec![
                    say("If they still have no working factor, give them another"),
                    Part::Key(Act::IssueTempCode),
                    say(": "),
                    Part::Act(Act::IssueTempCode),
                ],
            ),
        ),
        TempState::Expired { at } if (f.now - at).num_days() < RECENT_DAYS => b.add(
            Finding::new(
                Kind::TempCode,
                Severity::Info,
                "Temporary access code expired unused",
                format!(
                    "The temporary access code they were given expired {} without being used.",
                    b.when(at)
                ),
            )
            .evidence(vec![issued])
            .fix(
                Fix::TempCode,
                vec![
                    say("Give them a new one if they still need it"),
                    Part::Key(Act::IssueTempCode),
                    say(": "),
                    Part::Act(Act::IssueTempCode),
                ],
            ),
        ),
        TempState::Used { .. } | TempState::Expired { .. } => {}
    }
}
