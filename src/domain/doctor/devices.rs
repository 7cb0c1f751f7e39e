//! Findings about remembered computers: expired, revoked, on a new address,
//! or none remembered for the last login.

use super::{Act, Builder, DeviceFact, Finding, Fix, Kind, LastLogin, Part, Severity, say};
use crate::domain::policy::Policy;
use crate::domain::{Time, relative};
use std::fmt::Write as _;

/// The last login came from a computer that was never remembered.
fn not_remembered(b: &mut Builder<'_>, last: &LastLogin) {
    b.add(
        Finding::new(
            Kind::NewIp,
            Severity::Info,
            "Not on a remembered computer",
            "Their last login attempt did not come from a computer they asked to remember, so a code was needed.",
        )
        .evidence(vec![format!(
            "Last login attempt {} from {}.",
            relative(last.at, b.facts.now),
            last.ip
        )])
        .fix(
            Fix::Nothing,
            "Expected: they enter a code and can tick \"remember this computer\".",
        ),
    );
}

/// The last login came from a remembered computer that was revoked.
fn revoked(b: &mut Builder<'_>, d: &DeviceFact, at: Time, mut evidence: Vec<String>) {
    evidence.push(format!(
        "Revoked {}{}.",
        b.when(at),
        d.revoked_reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    ));
    b.add(
        Finding::new(
            Kind::DeviceRevoked,
            Severity::Info,
            "Remembered computer revoked",
            format!(
                "\"{}\" was revoked, so it is asked for a code again.",
                d.label
            ),
        )
        .evidence(evidence)
        .fix(
            Fix::Nothing,
            "Expected: they enter a code; ticking \"remember this computer\" trusts it again.",
        ),
    );
}

pub(super) fn devices(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    let Some(last) = &f.last_login else { return };
    let Some(d) = &last.device else {
        if !f.devices.is_empty() {
            not_remembered(b, last);
        }
        return;
    };
    let mut evidence = vec![format!(
        "Last login attempt {} from {} on \"{}\".",
        relative(last.at, f.now),
        last.ip,
        d.label
    )];
    if let Some(at) = d.revoked_at {
        return revoked(b, d, at, evidence);
    }
    let expired = last.at >= d.trusted_until;
    let new_ip = d.last_ip != last.ip;
    if !expired && !new_ip {
        return;
    }
    let mut explanation = String::new();
    if expired {
        evidence.push(format!("Trust expired {}.", b.when(d.trusted_until)));
        let _ = write!(
            explanation,
            "\"{}\" was remembered for {} days and that ran out {}",
            d.label,
            policy.trust_days,
            relative(d.trusted_until, f.now)
        );
    }
    if new_ip {
        evidence.push(format!(
            "It used to log in from {}; this time from {}.",
            d.last_ip, last.ip
        ));
        if explanation.is_empty() {
            let _ = write!(
                explanation,
                "\"{}\" logged in from a new address ({})",
                d.label, last.ip
            );
        } else {
            let _ = write!(
                explanation,
                ", and it logged in from a new address ({})",
                last.ip
            );
        }
    }
    explanation.push_str(", so a code was needed.");
    b.add(
        Finding::new(
            if expired {
                Kind::DeviceExpired
            } else {
                Kind::NewIp
            },
            Severity::Info,
            if expired {
                "Remembered computer expired"
            } else {
                "New IP address"
            },
            explanation,
        )
        .evidence(evidence)
        .fix(
            Fix::Simulate,
            vec![
                say("Expected: they enter a code from the app and tick \"remember this computer\"; if the address is not theirs, revoke the device"),
                Part::Key(Act::RevokeDevices),
                say(": "),
                Part::Act(Act::RevokeDevices),
            ],
        ),
    );
}
