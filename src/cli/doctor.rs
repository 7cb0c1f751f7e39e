//! The doctor's report as the CLI says it: each fix as the command line that
//! does it (and the console key), in words or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::out::one_line;
use crate::desk::doctor::DoctorReport;
use crate::domain::Time;
use crate::domain::doctor::{Act, Finding, Fix, Kind, Part, Severity, SkewCheck};
use crate::tui::keys::{act_key, fix_key};

/// The command line that does `act` for `email`.
pub fn command(act: &Act, email: &str) -> String {
    let id = |factor: &Option<i64>| factor.map_or_else(|| "ID".to_owned(), |id| id.to_string());
    match act {
        Act::EnableAccount => format!("factordesk user enable {email} --reason \"…\""),
        Act::Unlock => format!("factordesk user unlock {email} --reason \"…\""),
        Act::ConfirmFactor { factor } => format!("factordesk factor confirm {email} {factor} CODE"),
        Act::ResendCode { challenge } => format!("factordesk login resend {challenge}"),
        Act::EnableFactor { factor } => format!("factordesk factor enable {email} {factor}"),
        Act::RemoveFactor { factor } => {
            format!("factordesk factor remove {email} {factor} --reason \"…\"")
        }
        Act::AddTotp => format!("factordesk factor add-totp {email}"),
        Act::AllowCountries { codes } => format!("factordesk policy set sms_countries {codes}"),
        Act::EditPhone => format!("factordesk user edit {email} --phone NUMBER"),
        Act::LoginStart => format!("factordesk login start {email} --assume-password"),
        Act::Outbox => format!("factordesk outbox --user {email}"),
        Act::CheckCode => format!("factordesk doctor {email} --code CODE"),
        Act::Resync { factor } => {
            format!(
                "factordesk factor resync {email} {} CODE1 CODE2",
                id(factor)
            )
        }
        Act::ClearDrift { factor } => {
            format!("factordesk factor resync {email} {} --clear", id(factor))
        }
        Act::Reset2fa => format!("factordesk user reset-2fa {email} --reason \"…\""),
        Act::Reenrol => format!("factordesk user reenrol {email} --reason \"…\""),
        Act::TreatAsCompromised => {
            format!("factordesk user compromised {email} --reason \"…\"")
        }
        Act::SetPassword => format!("factordesk user password {email} --password-stdin"),
        Act::RevokeDevices => format!("factordesk device revoke {email} --all --reason \"…\""),
        Act::GenerateCodes => format!("factordesk codes generate {email}"),
        Act::EveryLoginOff => format!("factordesk user edit {email} --every-login false"),
    }
}

/// What to do, with each action as its command line.
pub fn advice(parts: &[Part], email: &str) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Act(act) => out.push_str(&command(act, email)),
            Part::Key(act) => {
                if let Some(k) = act_key(act) {
                    let _ = write!(out, " (key {k})");
                }
            }
        }
    }
    out
}

/// A finding as `--json` gives it: the fix's name, its console key, and
/// what to do in words with the command lines.
#[derive(Debug, Serialize)]
struct FindingJson<'a> {
    kind: Kind,
    severity: Severity,
    title: &'a str,
    explanation: &'a str,
    evidence: &'a [String],
    fix: Fix,
    key: Option<char>,
    action: String,
}

/// The report as `--json` gives it.
#[derive(Debug, Serialize)]
pub struct ReportJson<'a> {
    email: &'a str,
    at: Time,
    findings: Vec<FindingJson<'a>>,
    code_check: Option<&'a SkewCheck>,
}

impl<'a> ReportJson<'a> {
    pub fn of(r: &'a DoctorReport) -> ReportJson<'a> {
        let finding = |f: &'a Finding| FindingJson {
            kind: f.kind,
            severity: f.severity,
            title: &f.title,
            explanation: &f.explanation,
            evidence: &f.evidence,
            fix: f.fix,
            key: fix_key(f.fix),
            action: advice(&f.advice, &r.email),
        };
        ReportJson {
            email: &r.email,
            at: r.at,
            findings: r.findings.iter().map(finding).collect(),
            code_check: r.code_check.as_ref(),
        }
    }
}

/// The report in words: each finding, its evidence and fix, then the code check.
pub fn text(r: &DoctorReport) -> String {
    let mut out = format!("Doctor for {} ({})\n", r.email, crate::domain::stamp(r.at));
    for (i, f) in r.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}. [{}] {}",
            i + 1,
            f.severity.as_str().to_uppercase(),
            one_line(&f.title)
        );
        let _ = writeln!(out, "   {}", one_line(&f.explanation));
        for e in &f.evidence {
            let _ = writeln!(out, "   - {}", one_line(e));
        }
        let key = fix_key(f.fix)
            .map(|k| format!(" (console key {k})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "   Fix{key}: {}",
            one_line(&advice(&f.advice, &r.email))
        );
    }
    match &r.code_check {
        Some(c) if c.refused => {
            let _ = writeln!(out, "\nCode check refused: {}", c.message);
        }
        Some(c) => {
            let factor = c
                .factor_id
                .map(|id| format!(" (factor {id})"))
                .unwrap_or_default();
            let _ = writeln!(out, "\nCode check{factor}: {}", c.message);
        }
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock_off() -> DoctorReport {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc();
        DoctorReport {
            email: "a@example.com".into(),
            at,
            findings: vec![Finding {
                kind: Kind::ClockSkew,
                severity: Severity::Warning,
                title: "Phone clock off".into(),
                explanation: "Their codes are right for another time.".into(),
                evidence: Vec::new(),
                fix: Fix::FixPhoneClock,
                advice: vec![
                    Part::Text("Set the phone's time; or resync: ".into()),
                    Part::Act(Act::Resync { factor: Some(1) }),
                    Part::Text("; once set, clear the drift".into()),
                    Part::Key(Act::ClearDrift { factor: Some(1) }),
                    Part::Text(": ".into()),
                    Part::Act(Act::ClearDrift { factor: Some(1) }),
                ],
            }],
            code_check: None,
        }
    }

    #[test]
    fn the_fix_is_a_command_and_the_key_is_in_the_json() {
        let r = clock_off();
        let json = serde_json::to_value(ReportJson::of(&r)).unwrap();
        let x = &json["findings"][0];
        assert_eq!(x["fix"], "fix_phone_clock");
        assert_eq!(x["key"], "S");
        assert_eq!(
            x["action"],
            "Set the phone's time; or resync: factordesk factor resync a@example.com 1 CODE1 CODE2; once set, clear the drift (key Z): factordesk factor resync a@example.com 1 --clear"
        );
        assert!(text(&r).contains(
            "   Fix (console key S): Set the phone's time; or resync: factordesk factor resync"
        ));
    }
}
