//! The doctor: from the facts about one user, the ordered findings that say
//! why they cannot log in, with evidence and the fix. Pure: `desk` gathers the facts.

use super::contact::Phone;
use super::enforcement::Standing;
use super::policy::Policy;
use super::vocab::AttemptOutcome;
use super::{FactorKind, FactorStatus, Time, relative, stamp, text_enum};

mod account;
mod check;
mod codes;
mod devices;
mod enrolment;
mod facts;
mod history;
mod messages;

pub use check::{SkewCheck, SpentBy, skew_message, used_message};
pub use facts::{
    AttemptFact, Change, DeliveryFact, DeviceFact, FactorFact, Facts, LastLogin, Restart,
};

text_enum!(
    /// How much a finding stands in the way of logging in.
    Severity { Blocking => "blocking", Warning => "warning", Info => "info", Ok => "ok" }
);

text_enum!(
    /// What kind of finding it is: a stable name for scripts.
    Kind {
        Disabled => "disabled",
        PasswordBanned => "password_banned",
        NewPassword => "new_password",
        MessageLimit => "message_limit",
        AddressBanned => "address_banned",
        Locked => "locked",
        PendingEnrolment => "pending_enrolment",
        GraceOver => "grace_over",
        FactorDisabled => "factor_disabled",
        SmsCountry => "sms_country",
        PhoneUnverified => "phone_unverified",
        DeliveryFailed => "delivery_failed",
        NoneSent => "none_sent",
        ClockSkew => "clock_skew",
        WrongCodes => "wrong_codes",
        Replayed => "replayed",
        ResyncSpent => "resync_spent",
        NoFactorYet => "no_factor_yet",
        BackupReused => "backup_reused",
        CodesUsedUp => "codes_used_up",
        CodesLow => "codes_low",
        NoCodes => "no_codes",
        DeviceExpired => "device_expired",
        DeviceRevoked => "device_revoked",
        NewIp => "new_ip",
        EveryLogin => "every_login",
        Deliveries => "deliveries",
        History => "history",
        AllClear => "all_clear",
    }
);

text_enum!(
    /// The action that fixes a finding (the console does it with a key).
    Fix {
        EnableAccount => "enable_account",
        Unlock => "unlock",
        ConfirmPending => "confirm_pending",
        EnableFactor => "enable_factor",
        RemoveFactor => "remove_factor",
        EnrolApp => "enrol_app",
        AllowCountry => "allow_country",
        AddAnotherFactor => "add_another_factor",
        FixPhoneClock => "fix_phone_clock",
        Resync => "resync",
        NewCodes => "new_codes",
        Reset2fa => "reset_2fa",
        Reenrol => "reenrol",
        TreatAsCompromised => "treat_as_compromised",
        SetPassword => "set_password",
        CheckCode => "check_code",
        RevokeDevices => "revoke_devices",
        TurnOffEveryLogin => "turn_off_every_login",
        Simulate => "simulate",
        Wait => "wait",
        Nothing => "nothing",
    }
);

/// An action a finding's advice names, with its data (the user's email is
/// the report's): the CLI writes it as a command line, the console as the
/// key or screen that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    EnableAccount,
    Unlock,
    ConfirmFactor {
        factor: i64,
    },
    /// Send a pending factor's confirmation code again.
    ResendCode {
        challenge: i64,
    },
    EnableFactor {
        factor: i64,
    },
    /// Remove a factor that cannot work (their other factor is enough).
    RemoveFactor {
        factor: i64,
    },
    AddTotp,
    /// Allow SMS to these country calling codes (the policy's list).
    AllowCountries {
        codes: String,
    },
    EditPhone,
    LoginStart,
    Outbox,
    CheckCode,
    /// Resync their authenticator (`None`: they have no active one).
    Resync {
        factor: Option<i64>,
    },
    ClearDrift {
        factor: Option<i64>,
    },
    Reset2fa,
    /// Replace a lost authenticator with a new one now (no grace).
    Reenrol,
    /// The compromise response: devices revoked, a new authenticator, a
    /// new password at the next login.
    TreatAsCompromised,
    /// Set a new password for them.
    SetPassword,
    RevokeDevices,
    GenerateCodes,
    EveryLoginOff,
}

impl Act {
    /// The factor it acts on, where it names one.
    pub fn factor(&self) -> Option<i64> {
        match self {
            Act::ConfirmFactor { factor }
            | Act::EnableFactor { factor }
            | Act::RemoveFactor { factor } => Some(*factor),
            Act::Resync { factor } | Act::ClearDrift { factor } => *factor,
            _ => None,
        }
    }
}

/// A piece of a finding's advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Words, the same for every front end.
    Text(String),
    /// The action that does it.
    Act(Act),
    /// Where the words name the console's key for an action beside them.
    Key(Act),
}

fn say(text: impl Into<String>) -> Part {
    Part::Text(text.into())
}

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// A short headline.
    pub title: String,
    /// One sentence an agent can read to the customer.
    pub explanation: String,
    /// Times, counts and the events it came from.
    pub evidence: Vec<String>,
    pub fix: Fix,
    /// What to do: words, and the actions that do it.
    pub advice: Vec<Part>,
}

impl Finding {
    fn new(kind: Kind, severity: Severity, title: &str, explanation: impl Into<String>) -> Finding {
        Finding {
            kind,
            severity,
            title: title.to_owned(),
            explanation: explanation.into(),
            evidence: Vec::new(),
            fix: Fix::Nothing,
            advice: Vec::new(),
        }
    }

    /// The actions its advice names, in order.
    pub fn acts(&self) -> impl Iterator<Item = &Act> {
        self.advice.iter().filter_map(|p| match p {
            Part::Act(a) => Some(a),
            Part::Text(_) | Part::Key(_) => None,
        })
    }

    fn evidence(mut self, evidence: Vec<String>) -> Finding {
        self.evidence = evidence;
        self
    }

    fn fix(mut self, fix: Fix, advice: impl Into<Advice>) -> Finding {
        self.fix = fix;
        self.advice = advice.into().0;
        self
    }
}

/// A finding's advice as the builders give it: parts, or just words.
struct Advice(Vec<Part>);

impl From<Vec<Part>> for Advice {
    fn from(parts: Vec<Part>) -> Advice {
        Advice(parts)
    }
}

impl From<&str> for Advice {
    fn from(text: &str) -> Advice {
        Advice(vec![say(text)])
    }
}

impl From<String> for Advice {
    fn from(text: String) -> Advice {
        Advice(vec![say(text)])
    }
}

struct Builder<'a> {
    facts: &'a Facts,
    findings: Vec<Finding>,
}

impl Builder<'_> {
    fn add(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    fn when(&self, t: Time) -> String {
        format!("{} ({})", stamp(t), relative(t, self.facts.now))
    }
}

/// The findings, most blocking first. There is always at least one.
pub fn diagnose(f: &Facts, policy: &Policy) -> Vec<Finding> {
    let mut b = Builder {
        facts: f,
        findings: Vec::new(),
    };
    account::disabled(&mut b);
    account::password_banned(&mut b, policy);
    account::locked(&mut b, policy);
    account::new_password(&mut b);
    enrolment::enrolment(&mut b);
    enrolment::sms(&mut b, policy);
    messages::failed_messages(&mut b);
    messages::message_channels(&mut b);
    codes::wrong_codes(&mut b);
    codes::replayed(&mut b);
    codes::codes(&mut b, policy);
    devices::devices(&mut b, policy);
    account::every_login(&mut b, policy);
    history::history(&mut b);
    if b.findings
        .iter()
        .all(|x| matches!(x.severity, Severity::Info | Severity::Ok))
    {
        b.add(
            Finding::new(
                Kind::AllClear,
                Severity::Ok,
                "Nothing wrong found",
                "Nothing found that would stop this user logging in with their second factor.",
            )
            .evidence(checked(f, policy))
            .fix(
                Fix::Simulate,
                vec![
                    say("Simulate their login to see exactly what they see: "),
                    Part::Act(Act::LoginStart),
                ],
            ),
        );
    }
    // Stable: most blocking first, then in the order the checks run.
    b.findings.sort_by_key(|x| x.severity);
    b.findings
}

/// What the doctor looked at and what it saw, for "nothing wrong found":
/// built from the facts, so it never claims more than was checked.
fn checked(f: &Facts, policy: &Policy) -> Vec<String> {
    let count = |n: usize, one: &str, many: &str| match n {
        0 => format!("no {many}"),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let standing = match f.standing {
        Standing::Enrolled => "a second factor enrolled".to_owned(),
        Standing::NotRequired => "2FA not required of them".to_owned(),
        Standing::InGrace { until } => format!("must enrol by {}", stamp(until)),
        Standing::GraceOver { .. } => "enrolment grace over".to_owned(),
    };
    let lock = if f.lock.is_locked(f.now) {
        "2FA locked"
    } else {
        "2FA not locked"
    };
    let mut lines = vec![format!(
        "Checked: account {}, {lock}, {standing}.",
        f.status
    )];
    let mut factors: Vec<String> = f
        .active()
        .map(|x| x.kind.label().to_owned())
        .collect::<Vec<_>>();
    if factors.is_empty() {
        factors.push("none active".to_owned());
    }
    for status in [FactorStatus::Pending, FactorStatus::Disabled] {
        let n = f.factors.iter().filter(|x| x.status == status).count();
        if n > 0 {
            factors.push(format!("{n} {status}"));
        }
    }
    let phone = phone_checked(f, policy);
    lines.push(format!("Factors: {}; {phone}.", factors.join(", ")));
    let failing = f
        .deliveries
        .iter()
        .filter(|d| f.failure_is_current(d))
        .count();
    let messaged = f.factors.iter().any(|x| x.kind != FactorKind::Totp);
    if messaged || !f.deliveries.is_empty() {
        let failing = match failing {
            0 => "none failing now".to_owned(),
            n => format!("{n} failing now"),
        };
        lines.push(format!(
            "Messages: {} sent recently, {failing}.",
            f.deliveries.len()
        ));
    }
    let since = match f.settled() {
        Some((t, what)) => format!("since {what} at {}", clock(t, f.now)),
        None => "in the last 24 hours".to_owned(),
    };
    let current = f.current();
    let wrong = current
        .iter()
        .filter(|a| a.outcome == AttemptOutcome::Invalid)
        .count();
    let reused = current
        .iter()
        .filter(|a| a.outcome == AttemptOutcome::Replayed)
        .count();
    lines.push(format!(
        "Codes {since}: {}, {}.",
        count(wrong, "wrong code", "wrong codes"),
        count(reused, "reused code", "reused codes")
    ));
    let codes = if f.codes_total == 0 {
        "none".to_owned()
    } else {
        format!("{} of {} left", f.codes_left, f.codes_total)
    };
    let trusted = f
        .devices
        .iter()
        .filter(|d| d.revoked_at.is_none() && d.trusted_until > f.now)
        .count();
    lines.push(format!(
        "Backup codes: {codes}; remembered computers: {} trusted now; ask on every login: {}.",
        trusted,
        if f.every_login { "on" } else { "off" }
    ));
    lines
}

/// What the doctor saw of their phone: masked, verified, SMS allowed there.
fn phone_checked(f: &Facts, policy: &Policy) -> String {
    match f.phone.as_deref().and_then(Phone::stored) {
        Some(p) => format!(
            "phone {} {}, SMS to +{} {}",
            p.masked(),
            if f.phone_verified {
                "verified"
            } else {
                "not verified"
            },
            p.calling_code(),
            if policy.allows_country(p.calling_code()) {
                "allowed"
            } else {
                "not allowed"
            }
        ),
        None => "no phone".to_owned(),
    }
}

fn ips(attempts: &[&AttemptFact]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for a in attempts {
        if !seen.contains(&a.ip.as_str()) {
            seen.push(&a.ip);
        }
    }
    seen.join(", ")
}

/// `09:54:09 UTC` on the day of `now`, else `2026-11-19 09:54:09 UTC`:
/// short enough for evidence lines that cite several times.
fn clock(t: Time, now: Time) -> String {
    if t.date_naive() == now.date_naive() {
        t.format("%H:%M:%S UTC").to_string()
    } else {
        stamp(t)
    }
}

/// Up to four instants, oldest first (`09:38:12 UTC, 09:39:12 UTC and
/// 09:40:12 UTC`); more are counted, not listed. `newest_first` as stored.
fn times(newest_first: impl DoubleEndedIterator<Item = Time>, now: Time) -> String {
    let all: Vec<Time> = newest_first.rev().collect();
    let shown: Vec<String> = all
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(|t| clock(*t, now))
        .collect();
    let earlier = all.len() - shown.len();
    let list = match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    };
    if earlier > 0 {
        format!("{list} ({earlier} earlier)")
    } else {
        list
    }
}

/// `at T` for one instant, `from T1 to T2` for a span.
fn between(first: Time, last: Time, now: Time) -> String {
    if first == last {
        format!("at {}", clock(first, now))
    } else {
        format!("from {} to {}", clock(first, now), clock(last, now))
    }
}

#[cfg(test)]
mod tests;
