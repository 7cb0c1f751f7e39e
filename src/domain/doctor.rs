//! The doctor: from the facts about one user, the ordered findings that say
//! why they cannot log in, with evidence and the fix. Pure: `desk` gathers the facts.

use std::fmt::Write as _;

use serde::Serialize;

use super::backup::{self, Stock};
use super::contact::Phone;
use super::enforcement::Standing;
use super::lockout::Lock;
use super::policy::Policy;
use super::totp::offset_span;
use super::{FactorKind, FactorStatus, Time, UserStatus, relative, span, stamp, text_enum};

text_enum!(
    /// How much a finding stands in the way of logging in.
    Severity { Blocking => "blocking", Warning => "warning", Info => "info", Ok => "ok" }
);

text_enum!(
    /// What kind of finding it is: a stable name for scripts.
    Kind {
        Disabled => "disabled",
        Locked => "locked",
        PendingEnrolment => "pending_enrolment",
        GraceOver => "grace_over",
        SmsCountry => "sms_country",
        PhoneUnverified => "phone_unverified",
        DeliveryFailed => "delivery_failed",
        NoneSent => "none_sent",
        ClockSkew => "clock_skew",
        WrongCodes => "wrong_codes",
        Replayed => "replayed",
        ResyncSpent => "resync_spent",
        CodesUsedUp => "codes_used_up",
        CodesLow => "codes_low",
        NoCodes => "no_codes",
        DeviceExpired => "device_expired",
        DeviceRevoked => "device_revoked",
        NewIp => "new_ip",
        EveryLogin => "every_login",
        Deliveries => "deliveries",
        AllClear => "all_clear",
    }
);

text_enum!(
    /// The action that fixes a finding; each has a key on the user screen.
    Fix {
        EnableAccount => "enable_account",
        Unlock => "unlock",
        ConfirmPending => "confirm_pending",
        EnrolApp => "enrol_app",
        AllowCountry => "allow_country",
        AddAnotherFactor => "add_another_factor",
        FixPhoneClock => "fix_phone_clock",
        Resync => "resync",
        NewCodes => "new_codes",
        Reset2fa => "reset_2fa",
        RevokeDevices => "revoke_devices",
        TurnOffEveryLogin => "turn_off_every_login",
        Simulate => "simulate",
        Nothing => "nothing",
    }
);

impl Fix {
    /// The user-screen key that does it.
    pub fn key(self) -> Option<char> {
        Some(match self {
            Fix::EnableAccount => 'D',
            Fix::Unlock => 'u',
            Fix::ConfirmPending => 'c',
            Fix::EnrolApp | Fix::AddAnotherFactor => 't',
            Fix::FixPhoneClock | Fix::Resync => 'S',
            Fix::NewCodes => 'g',
            Fix::Reset2fa => 'X',
            Fix::RevokeDevices => 'R',
            Fix::TurnOffEveryLogin => 'e',
            Fix::Simulate => 'l',
            Fix::AllowCountry | Fix::Nothing => return None,
        })
    }
}

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// What to do, in words (and the command, where there is one).
    pub action: String,
}

/// A factor, as the doctor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorFact {
    pub id: i64,
    pub kind: FactorKind,
    pub status: FactorStatus,
    pub label: String,
    pub destination: Option<String>,
    pub drift: i64,
    pub created_at: Time,
    pub last_used_at: Option<Time>,
}

/// A second-factor attempt, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFact {
    pub at: Time,
    /// `totp`, `sms`, `email` or `backup`.
    pub kind: String,
    /// `accepted`, `invalid`, `expired`, `replayed` or `locked`.
    pub outcome: String,
    pub ip: String,
    /// For a wrong TOTP code: the step, relative to the attempt, it matched.
    pub matched_offset: Option<i64>,
    pub first_used_at: Option<Time>,
    pub first_used_ip: Option<String>,
    /// The replayed step was spent by a help-desk resync, not a login.
    pub first_used_by_resync: bool,
}

/// A message sent to the user, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFact {
    pub at: Time,
    pub channel: String,
    pub destination: String,
    pub failed: bool,
    pub reason: Option<String>,
}

/// A remembered computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFact {
    pub label: String,
    pub last_ip: String,
    pub last_seen_at: Time,
    pub trusted_until: Time,
    pub revoked_at: Option<Time>,
    pub revoked_reason: Option<String>,
}

/// The most recent login attempt (the start, before any code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLogin {
    pub at: Time,
    pub ip: String,
    /// The remembered computer it came from, if any.
    pub device: Option<DeviceFact>,
    pub completed: bool,
}

/// Everything the doctor looks at.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: Time,
    pub email: String,
    pub status: UserStatus,
    /// Why and when the account was disabled, from the audit trail.
    pub disabled: Option<(Time, String)>,
    pub lock: Lock,
    pub standing: Standing,
    pub every_login: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub factors: Vec<FactorFact>,
    pub codes_total: u32,
    pub codes_left: u32,
    pub codes_last_used: Option<Time>,
    pub devices: Vec<DeviceFact>,
    /// The last 24 hours of attempts, newest first.
    pub attempts: Vec<AttemptFact>,
    /// The last few messages, newest first.
    pub deliveries: Vec<DeliveryFact>,
    pub last_login: Option<LastLogin>,
}

impl Facts {
    fn active(&self) -> impl Iterator<Item = &FactorFact> {
        self.factors
            .iter()
            .filter(|f| f.status == FactorStatus::Active)
    }

    fn has_active(&self) -> bool {
        self.active().next().is_some()
    }

    /// Active factors other than those of `kind`.
    fn others_than(&self, kind: FactorKind) -> usize {
        self.active().filter(|f| f.kind != kind).count()
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
    disabled(&mut b);
    locked(&mut b);
    enrolment(&mut b);
    sms(&mut b, policy);
    failed_messages(&mut b);
    message_channels(&mut b);
    wrong_codes(&mut b);
    replayed(&mut b);
    codes(&mut b, policy);
    devices(&mut b, policy);
    every_login(&mut b);
    if b.findings
        .iter()
        .all(|x| matches!(x.severity, Severity::Info | Severity::Ok))
    {
        let mut checked = vec![
            "account active".to_owned(),
            "2FA not locked".to_owned(),
            format!("{} active factor(s)", f.active().count()),
            "no failed messages".to_owned(),
            "no wrong or replayed codes in the last 24 hours".to_owned(),
        ];
        if f.codes_total > 0 {
            checked.push(format!(
                "{} of {} backup codes left",
                f.codes_left, f.codes_total
            ));
        }
        b.add(Finding {
            kind: Kind::AllClear,
            severity: Severity::Ok,
            title: "Nothing wrong found".to_owned(),
            explanation:
                "Nothing found that would stop this user logging in with their second factor."
                    .to_owned(),
            evidence: vec![format!("Checked: {}.", checked.join(", "))],
            fix: Fix::Simulate,
            action: "Simulate their login to see exactly what they see.".to_owned(),
        });
    }
    // Stable: most blocking first, then in the order the checks run.
    b.findings.sort_by_key(|x| x.severity);
    b.findings
}

fn disabled(b: &mut Builder<'_>) {
    if b.facts.status != UserStatus::Disabled {
        return;
    }
    let evidence = match &b.facts.disabled {
        Some((at, why)) => vec![format!("Disabled {}: {why}", b.when(*at))],
        None => Vec::new(),
    };
    b.add(Finding {
kind: Kind::Disabled,
severity: Severity::Blocking,
title: "Account disabled".to_owned(),
explanation: "The account is disabled, so no password or code will let them in.".to_owned(),
evidence,
fix: Fix::EnableAccount,
action: format!("If they should have access again, enable the account: factordesk user enable {} --reason \"…\"", b.facts.email),
});
}

fn locked(b: &mut Builder<'_>) {
    let f = b.facts;
    let Some(until) = f.lock.locked_until.filter(|_| f.lock.is_locked(f.now)) else {
        return;
    };
    let failures: Vec<&AttemptFact> = f
        .attempts
        .iter()
        .filter(|a| a.outcome == "invalid" || a.outcome == "replayed")
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
    b.add(Finding {
kind: Kind::Locked,
severity: Severity::Blocking,
title: "2FA locked".to_owned(),
explanation: format!("After {} wrong codes their 2FA is locked; it releases {} or when you unlock it.", f.lock.failures, relative(until, f.now)),
evidence,
fix: Fix::Unlock,
action: format!("Unlock now if you have checked who is calling: factordesk user unlock {} --reason \"…\"", f.email),
});
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

fn enrolment(b: &mut Builder<'_>) {
    let f = b.facts;
    let pending: Vec<&FactorFact> = f
        .factors
        .iter()
        .filter(|x| x.status == FactorStatus::Pending)
        .collect();
    let blocked = f.standing.blocks_login();
    for p in &pending {
        let severity = if f.has_active() {
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
        if blocked {
            evidence.push(f.standing.sentence(f.now));
        }
        let (fix, action) = match p.kind {
            FactorKind::Totp => (
                Fix::ConfirmPending,
                format!(
                    "Ask them to type the code their app shows for this account: factordesk factor confirm {} {} CODE (or remove it and enrol again)",
                    f.email, p.id
                ),
            ),
            _ => (
                Fix::ConfirmPending,
                format!(
                    "Confirm it with the code sent to {} (resend from the enrolment challenge if it expired).",
                    p.destination.as_deref().unwrap_or("them")
                ),
            ),
        };
        b.add(Finding {
kind: Kind::PendingEnrolment,
severity,
title: "Enrolment never confirmed".to_owned(),
explanation: format!(
                "They started setting up their {} but never typed its first code, so it does not count{}.",
                p.kind.label(),
                if blocked { " and login is refused" } else { "" }
            ),
evidence,
fix,
action,
});
    }
    if blocked && pending.is_empty() {
        b.add(Finding {
kind: Kind::GraceOver,
severity: Severity::Blocking,
title: "No second factor, grace over".to_owned(),
explanation: "2FA is required for them and the time to set it up has run out, so login is refused."
                .to_owned(),
evidence: vec![f.standing.sentence(f.now)],
fix: Fix::EnrolApp,
action: format!(
                "Enrol an authenticator app with them now: factordesk factor add-totp {}",
                f.email
            ),
});
    }
}

/// SMS factors whose number cannot get texts, or is unverified.
fn sms(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    for x in f
        .factors
        .iter()
        .filter(|x| x.kind == FactorKind::Sms && x.status != FactorStatus::Disabled)
    {
        let Some(phone) = x.destination.as_deref().and_then(|d| Phone::parse(d).ok()) else {
            continue;
        };
        let only = f.others_than(FactorKind::Sms) == 0;
        if !policy.allows_country(phone.calling_code()) {
            let failed: Vec<&DeliveryFact> = f
                .deliveries
                .iter()
                .filter(|d| d.failed && d.channel == "sms")
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
            b.add(Finding {
kind: Kind::SmsCountry,
severity: if only { Severity::Blocking } else { Severity::Warning },
title: "SMS country not allowed".to_owned(),
explanation: format!("Their phone's country (+{}) is not on the SMS list, so no code reaches them by text.", phone.calling_code()),
evidence,
fix: Fix::AddAnotherFactor,
action: format!(
                    "Set them up with an authenticator app (t), or allow the country: factordesk policy set sms_countries {},{}",
                    policy.get("sms_countries").unwrap_or_default(),
                    phone.calling_code()
                ),
});
            continue;
        }
        if x.status == FactorStatus::Active
            && f.phone.as_deref() == x.destination.as_deref()
            && !f.phone_verified
        {
            b.add(Finding {
                kind: Kind::PhoneUnverified,
                severity: Severity::Warning,
                title: "Phone not verified".to_owned(),
                explanation: "The phone number on the account has not been confirmed with a code."
                    .to_owned(),
                evidence: vec![format!("SMS factor to {}.", phone.masked())],
                fix: Fix::ConfirmPending,
                action: "Send a code and have them read it back to confirm the number.".to_owned(),
            });
        }
    }
}

/// Failed messages other than those the SMS country rule explains.
fn failed_messages(b: &mut Builder<'_>) {
    let f = b.facts;
    // Other failed messages (an email domain that does not resolve, …).
    let failed: Vec<&DeliveryFact> = f
        .deliveries
        .iter()
        .filter(|d| {
            d.failed
                && !(d.channel == "sms" && b.findings.iter().any(|x| x.kind == Kind::SmsCountry))
        })
        .collect();
    if let Some(last) = failed.first() {
        let kinds: Vec<FactorKind> = f.active().map(|x| x.kind).collect();
        let only_messages = kinds.iter().all(|k| *k != FactorKind::Totp);
        b.add(Finding {
            kind: Kind::DeliveryFailed,
            severity: if only_messages {
                Severity::Blocking
            } else {
                Severity::Warning
            },
            title: "Messages not delivered".to_owned(),
            explanation: format!(
                "Their codes are not arriving: the last {} to {} failed.",
                last.channel, last.destination
            ),
            evidence: failed
                .iter()
                .take(3)
                .map(|d| {
                    format!(
                        "{} {} to {}: {}.",
                        stamp(d.at),
                        d.channel,
                        d.destination,
                        d.reason.as_deref().unwrap_or("failed")
                    )
                })
                .collect(),
            fix: Fix::AddAnotherFactor,
            action: "Fix the address or number, or set them up with an authenticator app (t)."
                .to_owned(),
        });
    }
}

/// A message channel never used though they tried to log in, or working.
fn message_channels(b: &mut Builder<'_>) {
    let f = b.facts;
    // A message channel with no message ever sent, though they tried to log in.
    for x in f.active().filter(|x| x.kind != FactorKind::Totp) {
        let channel = if x.kind == FactorKind::Sms {
            "sms"
        } else {
            "email"
        };
        let sent: Vec<&DeliveryFact> = f
            .deliveries
            .iter()
            .filter(|d| d.channel == channel)
            .collect();
        match sent.first() {
            None if f.last_login.is_some() => b.add(Finding {
kind: Kind::NoneSent,
severity: Severity::Warning,
title: "No message sent".to_owned(),
explanation: format!("No {} code has been sent to them recently, though they tried to log in.", x.kind.label()),
evidence: vec![format!("{} ({})", x.label, x.kind)],
fix: Fix::Simulate,
action: "Start a login in the simulator to send a code, then check the outbox.".to_owned(),
}),
            Some(last) if !last.failed => b.add(Finding {
kind: Kind::Deliveries,
severity: Severity::Info,
title: "Codes are being delivered".to_owned(),
explanation: format!("Their {}s go to {}; the last was sent {} and reached the gateway.", x.kind.label(), last.destination, relative(last.at, f.now)),
evidence: vec![format!("{} message(s) to {} recently.", sent.len(), last.destination)],
fix: Fix::Nothing,
action: "If a code still does not arrive, ask them to check spam (email) or signal (SMS), then request another code.".to_owned(),
}),
            _ => {}
        }
    }
}

fn wrong_codes(b: &mut Builder<'_>) {
    let f = b.facts;
    let wrong: Vec<&AttemptFact> = f
        .attempts
        .iter()
        .filter(|a| a.kind == "totp" && a.outcome == "invalid")
        .collect();
    let skewed: Vec<(&AttemptFact, i64)> = wrong
        .iter()
        .filter_map(|a| a.matched_offset.filter(|o| *o != 0).map(|o| (*a, o)))
        .collect();
    if let Some((last, _)) = skewed.first() {
        // The typical offset: the most common one.
        let mut counts: Vec<(i64, usize)> = Vec::new();
        for (_, o) in &skewed {
            match counts.iter_mut().find(|(v, _)| v == o) {
                Some((_, n)) => *n += 1,
                None => counts.push((*o, 1)),
            }
        }
        counts.sort_by_key(|(o, n)| (std::cmp::Reverse(*n), o.abs()));
        let offset = counts[0].0;
        let seconds = span(offset_span(offset.abs()));
        let direction = if offset < 0 { "slow" } else { "fast" };
        let drift = f
            .active()
            .find(|x| x.kind == FactorKind::Totp)
            .map_or(0, |x| x.drift);
        let mut evidence = vec![format!(
            "{} wrong authenticator code(s) in the last 24 h match the code of {} {} (the last {}).",
            skewed.len(),
            seconds,
            if offset < 0 { "earlier" } else { "later" },
            relative(last.at, f.now)
        )];
        if drift != 0 {
            evidence.push(format!(
                "A drift of {:+} s is already applied to this factor.",
                drift * 30
            ));
        }
        if drift == offset {
            // A resync has learned exactly this: the phone's codes work now.
            b.add(Finding {
                kind: Kind::ClockSkew,
                severity: Severity::Info,
                title: "Phone clock off (resynced)".to_owned(),
                explanation: format!("The phone's clock is about {seconds} {direction}, and a resync has allowed for it, so its codes work."),
                evidence,
                fix: Fix::Nothing,
                action: "Once they set the phone's time to automatic, clear the drift (Z).".to_owned(),
            });
            return;
        }
        b.add(Finding {
kind: Kind::ClockSkew,
severity: Severity::Warning,
title: "Phone clock off".to_owned(),
explanation: format!("Their codes are right for another time: the phone's clock looks about {seconds} {direction}."),
evidence,
fix: Fix::FixPhoneClock,
action: "Ask them to set the phone's date and time to automatic; or resync from two codes they read out (S).".to_owned(),
});
    } else if wrong.len() >= 3 && !f.lock.is_locked(f.now) {
        b.add(Finding {
kind: Kind::WrongCodes,
severity: Severity::Warning,
title: "Wrong codes".to_owned(),
explanation: format!("{} wrong authenticator codes in the last 24 hours, none right for any time within 10 minutes.", wrong.len()),
evidence: vec![format!("From {}; the last {}.", ips(&wrong), relative(wrong[0].at, f.now))],
fix: Fix::Nothing,
action: "Check they are reading the code for this account (the issuer and their email), not another one; check a code they read out (v).".to_owned(),
});
    }
}

fn replayed(b: &mut Builder<'_>) {
    let f = b.facts;
    let replays = || {
        f.attempts
            .iter()
            .filter(|a| a.outcome == "replayed" && a.kind == "totp")
    };
    // A code whose step the help desk's resync spent: expected, not a leak.
    if let Some(r) = replays().find(|a| a.first_used_by_resync) {
        let mut evidence = vec![format!("Refused {} from {}.", b.when(r.at), r.ip)];
        if let Some(at) = r.first_used_at {
            evidence.push(format!("The resync at {} spent that time step.", stamp(at)));
        }
        b.add(Finding {
            kind: Kind::ResyncSpent,
            severity: Severity::Info,
            title: "Code spent by the resync".to_owned(),
            explanation: "A code was refused because the help desk's resync had spent its time step (codes read out must not work later); the app's next code works.".to_owned(),
            evidence,
            fix: Fix::Nothing,
            action: "Nothing to fix: wait for the app to show the next code.".to_owned(),
        });
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
    b.add(Finding {
kind: Kind::Replayed,
severity: Severity::Warning,
title: "Code used twice".to_owned(),
explanation: "A code was turned away because it had already been used: each code works once.".to_owned(),
evidence,
fix: if other_ip { Fix::Reset2fa } else { Fix::Nothing },
action: if other_ip {
            "If the first login was not theirs, treat the account as compromised: reset 2FA (X), revoke devices and change the password.".to_owned()
        } else {
            "Nothing to fix: wait for the app to show the next code.".to_owned()
        },
});
}

fn codes(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    let reused: Vec<&AttemptFact> = f
        .attempts
        .iter()
        .filter(|a| a.kind == "backup" && a.outcome == "replayed")
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
                    "Their last login ({}) never got past the code.",
                    relative(l.at, f.now)
                ));
            }
            b.add(Finding {
kind: Kind::CodesUsedUp,
severity: Severity::Blocking,
title: "Backup codes used up".to_owned(),
explanation: "Every backup code has been used, so if the phone is lost there is no way in.".to_owned(),
evidence,
fix: Fix::Reset2fa,
action: "Lost phone: check who is calling, then reset 2FA (X) so they can enrol a new phone. Phone still there: make new codes (g).".to_owned(),
});
        }
        Stock::Low(n) => b.add(Finding {
            kind: Kind::CodesLow,
            severity: Severity::Warning,
            title: "Few backup codes left".to_owned(),
            explanation: format!("Only {n} backup code(s) left."),
            evidence: vec![format!("{n} of {} left.", f.codes_total)],
            fix: Fix::NewCodes,
            action: "Make a new set (g): shown once, the old ones stop working.".to_owned(),
        }),
        Stock::None if f.has_active() => b.add(Finding {
            kind: Kind::NoCodes,
            severity: Severity::Info,
            title: "No backup codes".to_owned(),
            explanation: "They have no backup codes to fall back on if the phone is lost."
                .to_owned(),
            evidence: Vec::new(),
            fix: Fix::NewCodes,
            action: "Make a set (g) and have them save it.".to_owned(),
        }),
        Stock::None | Stock::Healthy(_) => {}
    }
}

fn devices(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    let Some(last) = &f.last_login else { return };
    let Some(d) = &last.device else {
        if f.devices.is_empty() {
            return;
        }
        return b.add(Finding {
kind: Kind::NewIp,
severity: Severity::Info,
title: "Not on a remembered computer".to_owned(),
explanation: "Their last login did not come from a computer they asked to remember, so a code was needed.".to_owned(),
evidence: vec![format!("Last login {} from {}.", relative(last.at, f.now), last.ip)],
fix: Fix::Nothing,
action: "Expected: they enter a code and can tick \"remember this computer\".".to_owned(),
});
    };
    let mut evidence = vec![format!(
        "Last login {} from {} on \"{}\".",
        relative(last.at, f.now),
        last.ip,
        d.label
    )];
    if let Some(at) = d.revoked_at {
        evidence.push(format!(
            "Revoked {}{}.",
            b.when(at),
            d.revoked_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
        return b.add(Finding {
            kind: Kind::DeviceRevoked,
            severity: Severity::Info,
            title: "Remembered computer revoked".to_owned(),
            explanation: format!(
                "\"{}\" was revoked, so it is asked for a code again.",
                d.label
            ),
            evidence,
            fix: Fix::Nothing,
            action:
                "Expected: they enter a code; ticking \"remember this computer\" trusts it again."
                    .to_owned(),
        });
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
    b.add(Finding {
kind: if expired { Kind::DeviceExpired } else { Kind::NewIp },
severity: Severity::Info,
title: if expired { "Remembered computer expired" } else { "New IP address" }.to_owned(),
explanation,
evidence,
fix: Fix::Simulate,
action: "Expected: they enter a code from the app and tick \"remember this computer\"; if the address is not theirs, revoke the device (R).".to_owned(),
});
}

fn every_login(b: &mut Builder<'_>) {
    if !b.facts.every_login {
        return;
    }
    b.add(Finding {
kind: Kind::EveryLogin,
severity: Severity::Info,
title: "Asked on every login".to_owned(),
explanation: "This account is set to ask for a code on every login, even on a remembered computer.".to_owned(),
evidence: vec!["\"Ask on every login\" is on.".to_owned()],
fix: Fix::TurnOffEveryLogin,
action: "Expected if they chose it; turn it off (e) if they would rather be remembered for 14 days.".to_owned(),
});
}

/// What a code read out by the user says about their phone's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkewCheck {
    pub factor_id: i64,
    /// Steps from now the code was valid at (negative: in the past).
    pub offset_steps: Option<i64>,
    pub message: String,
}

/// Explain a skew search result in words.
pub fn skew_message(offset: Option<i64>) -> String {
    match offset {
        Some(0) => "This code is valid right now: the phone's clock is right; if login fails, check they are typing it in time.".to_owned(),
        Some(o) if o < 0 => {
            let s = span(offset_span(-o));
            format!("This code was valid {s} ago: the phone's clock is about {s} slow.")
        }
        Some(o) => {
            let s = span(offset_span(o));
            format!("This code becomes valid in {s}: the phone's clock is about {s} fast.")
        }
        None => "This code matches no time within 10 minutes: it is from another account or secret, or was misread.".to_owned(),
    }
}

#[cfg(test)]
mod tests;
