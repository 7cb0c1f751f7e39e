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
        PasswordBanned => "password_banned",
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
    /// The action that fixes a finding; each has a key on the user screen.
    Fix {
        EnableAccount => "enable_account",
        Unlock => "unlock",
        ConfirmPending => "confirm_pending",
        EnableFactor => "enable_factor",
        EnrolApp => "enrol_app",
        AllowCountry => "allow_country",
        AddAnotherFactor => "add_another_factor",
        FixPhoneClock => "fix_phone_clock",
        Resync => "resync",
        NewCodes => "new_codes",
        Reset2fa => "reset_2fa",
        CheckCode => "check_code",
        RevokeDevices => "revoke_devices",
        TurnOffEveryLogin => "turn_off_every_login",
        Simulate => "simulate",
        Wait => "wait",
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
            Fix::EnableFactor => 'd',
            Fix::EnrolApp | Fix::AddAnotherFactor => 't',
            Fix::FixPhoneClock | Fix::Resync => 'S',
            Fix::NewCodes => 'g',
            Fix::Reset2fa => 'X',
            Fix::RevokeDevices => 'R',
            Fix::TurnOffEveryLogin => 'e',
            Fix::Simulate => 'l',
            Fix::CheckCode => 'v',
            Fix::AllowCountry | Fix::Wait | Fix::Nothing => return None,
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
    /// The user-screen key that does the fix, if any (the console shows it
    /// beside the action, so the action's words do not repeat it).
    pub key: Option<char>,
    /// What to do, in words, and the CLI command where there is one.
    pub action: String,
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
            key: None,
            action: String::new(),
        }
    }

    fn evidence(mut self, evidence: Vec<String>) -> Finding {
        self.evidence = evidence;
        self
    }

    fn fix(mut self, fix: Fix, action: impl Into<String>) -> Finding {
        self.fix = fix;
        self.key = fix.key();
        self.action = action.into();
        self
    }
}

/// A change recorded in the audit trail: when, by whom, and why if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: Time,
    pub by: String,
    pub why: Option<String>,
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
    /// An SMS factor pending again because its phone number was changed.
    pub repointed: Option<Change>,
    /// The open challenge whose code confirms this pending factor.
    pub confirm_challenge: Option<i64>,
    /// When and by whom a disabled factor was disabled, from the audit trail.
    pub disabled: Option<Change>,
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
    /// Held back by the message limit: when the next may go.
    pub retry_at: Option<Time>,
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
    /// When and by whom "ask on every login" was last turned on.
    pub every_login_set: Option<Change>,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub factors: Vec<FactorFact>,
    pub codes_total: u32,
    pub codes_left: u32,
    pub codes_last_used: Option<Time>,
    pub devices: Vec<DeviceFact>,
    /// The last 24 hours of attempts, newest first.
    pub attempts: Vec<AttemptFact>,
    /// When an admin last unlocked their 2FA, and last reset it (or they
    /// turned it off): attempts before that are history.
    pub unlocked_at: Option<Time>,
    pub reset_at: Option<Time>,
    /// The last few messages, newest first.
    pub deliveries: Vec<DeliveryFact>,
    pub last_login: Option<LastLogin>,
    /// Password checks refused for this user: until when, and the how-many-th
    /// ban in a row.
    pub password_ban: Option<(Time, u32)>,
    /// The address of their last login, banned for wrong passwords, and until when.
    pub address_ban: Option<(String, Time)>,
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

    /// The newest thing that settled earlier trouble: a code accepted, an
    /// unlock or a 2FA reset, with what it was.
    fn settled(&self) -> Option<(Time, &'static str)> {
        let login = self
            .attempts
            .iter()
            .find(|a| a.outcome == "accepted")
            .map(|a| (a.at, "their login with a code"));
        let unlock = self.unlocked_at.map(|t| (t, "the unlock"));
        let reset = self.reset_at.map(|t| (t, "the 2FA reset"));
        // On a tie the login is named: it is what shows the fix worked.
        [unlock, reset, login]
            .into_iter()
            .flatten()
            .max_by_key(|(t, _)| *t)
    }

    /// How many of the (newest first) attempts came after the last success,
    /// unlock or reset.
    fn current_len(&self) -> usize {
        let admin = self.unlocked_at.max(self.reset_at);
        self.attempts
            .iter()
            .position(|a| a.outcome == "accepted" || admin.is_some_and(|t| a.at < t))
            .unwrap_or(self.attempts.len())
    }

    /// The attempts that are current: after the last success, unlock or
    /// reset. Older ones are history.
    fn current(&self) -> &[AttemptFact] {
        &self.attempts[..self.current_len()]
    }

    /// Failed attempts from before the last success, unlock or reset.
    fn past_failures(&self) -> impl Iterator<Item = &AttemptFact> {
        self.attempts[self.current_len()..]
            .iter()
            .filter(|a| a.outcome != "accepted")
    }

    /// Is this failed message still current? Not if a later message on the
    /// same channel went through, or they logged in (or were reset) since.
    fn failure_is_current(&self, d: &DeliveryFact) -> bool {
        let delivered_later = self
            .deliveries
            .iter()
            .any(|x| x.channel == d.channel && !x.failed && x.at >= d.at);
        let login = self
            .attempts
            .iter()
            .find(|a| a.outcome == "accepted")
            .map(|a| a.at);
        let settled = login.max(self.reset_at);
        d.failed
            && !delivered_later
            && settled.is_none_or(|t| d.at > t)
            && !self.number_changed_after(d)
    }

    /// Was this SMS sent to a number that has been changed since?
    fn number_changed_after(&self, d: &DeliveryFact) -> bool {
        d.channel == "sms"
            && self
                .factors
                .iter()
                .filter(|x| x.kind == FactorKind::Sms)
                .filter_map(|x| x.repointed.as_ref())
                .any(|c| d.at < c.at)
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
    password_banned(&mut b, policy);
    locked(&mut b, policy);
    enrolment(&mut b);
    sms(&mut b, policy);
    failed_messages(&mut b);
    message_channels(&mut b);
    wrong_codes(&mut b);
    replayed(&mut b);
    codes(&mut b, policy);
    devices(&mut b, policy);
    every_login(&mut b, policy);
    history(&mut b);
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
                format!(
                    "Simulate their login to see exactly what they see: factordesk login start {} --assume-password",
                    f.email
                ),
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
    let phone = match f.phone.as_deref().and_then(Phone::stored) {
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
    };
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
    let wrong = current.iter().filter(|a| a.outcome == "invalid").count();
    let reused = current.iter().filter(|a| a.outcome == "replayed").count();
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

fn disabled(b: &mut Builder<'_>) {
    if b.facts.status != UserStatus::Disabled {
        return;
    }
    let evidence = match &b.facts.disabled {
        Some((at, why)) => vec![format!("Disabled {}: {why}", b.when(*at))],
        None => Vec::new(),
    };
    let action = format!(
        "If they should have access again, enable the account: factordesk user enable {} --reason \"…\"",
        b.facts.email
    );
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
fn password_banned(b: &mut Builder<'_>, policy: &Policy) {
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
                format!(
                    "Wait until {}, or lift the ban once you have checked who is calling: factordesk user unlock {} --reason \"…\"",
                    stamp(until),
                    f.email
                ),
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

fn locked(b: &mut Builder<'_>, policy: &Policy) {
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
            format!(
                "Unlock now if you have checked who is calling: factordesk user unlock {} --reason \"…\"",
                f.email
            ),
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
            format!(
                "Unlock once you have checked who is calling: factordesk user unlock {} --reason \"…\"",
                f.email
            ),
        ),
    );
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
        if blocked {
            evidence.push(f.standing.sentence(f.now));
        }
        let action = match p.kind {
            FactorKind::Totp => format!(
                "Ask them to type the code their app shows for this account: factordesk factor confirm {} {} CODE (or remove it and enrol again)",
                f.email, p.id
            ),
            _ => format!(
                "Confirm it with the code sent to {}: factordesk factor confirm {} {} CODE{}",
                p.destination.as_deref().unwrap_or("them"),
                f.email,
                p.id,
                resend_hint(p)
            ),
        };
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
            .fix(Fix::ConfirmPending, action),
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
                format!(
                    "Enrol an authenticator app with them: factordesk factor add-totp {}",
                    f.email
                ),
            ),
        );
    }
    if blocked && !waiting {
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
                format!(
                    "Enrol an authenticator app with them now: factordesk factor add-totp {}",
                    f.email
                ),
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
            format!(
                "If they should use it again, enable it: factordesk factor enable {} {}",
                f.email, d.id
            ),
        ),
    );
}

/// SMS factors whose number cannot get texts, or is unverified.
fn sms(b: &mut Builder<'_>, policy: &Policy) {
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
                .filter(|d| d.channel == "sms" && f.failure_is_current(d))
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
                    Fix::AddAnotherFactor,
                    format!(
                        "Set them up with an authenticator app: factordesk factor add-totp {}; or allow the country: factordesk policy set sms_countries {}",
                        f.email,
                        policy.countries_with(phone.calling_code())
                    ),
                ),
            );
            continue;
        }
        if let (FactorStatus::Pending, Some(change)) = (x.status, &x.repointed) {
            number_changed(b, x, &phone, change);
        }
    }
}

/// ` (if it expired, send another: factordesk login resend N)`, or `.`.
fn resend_hint(p: &FactorFact) -> String {
    p.confirm_challenge.map_or_else(
        || " (if no code is waiting, remove the factor and add it again).".to_owned(),
        |c| format!(" (if it expired, send another: factordesk login resend {c})."),
    )
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
        .find(|d| d.channel == "sms" && d.at >= change.at)
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
            format!(
                "Ask them for the code sent to the new number: factordesk factor confirm {} {} CODE{}",
                f.email,
                x.id,
                resend_hint(x)
            ),
        ),
    );
}

/// Failed messages other than those the SMS country rule explains.
fn failed_messages(b: &mut Builder<'_>) {
    let f = b.facts;
    // Other failed messages (an email domain that does not resolve, …).
    let failed: Vec<&DeliveryFact> = f
        .deliveries
        .iter()
        .filter(|d| {
            f.failure_is_current(d)
                && !(d.channel == "sms" && b.findings.iter().any(|x| x.kind == Kind::SmsCountry))
        })
        .collect();
    if let Some(retry) = failed
        .first()
        .and_then(|d| d.retry_at)
        .filter(|t| f.now < *t)
    {
        return message_limit(b, retry, &failed);
    }
    if let Some(last) = failed.first() {
        let kinds: Vec<FactorKind> = f.active().map(|x| x.kind).collect();
        let only_messages = kinds.iter().all(|k| *k != FactorKind::Totp);
        b.add(
            Finding::new(
                Kind::DeliveryFailed,
                if only_messages {
                    Severity::Blocking
                } else {
                    Severity::Warning
                },
                "Messages not delivered",
                format!(
                    "Their codes are not arriving: the last {} to {} failed.",
                    last.channel, last.destination
                ),
            )
            .evidence(
                failed
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
            )
            .fix(
                Fix::AddAnotherFactor,
                format!(
                    "Fix the number (factordesk user edit {0} --phone NUMBER) or address, or set them up with an authenticator app: factordesk factor add-totp {0}",
                    f.email
                ),
            ),
        );
    }
}

/// Messages held back by the message limit: nothing is wrong with the number
/// or address; the next code can go at `retry`.
fn message_limit(b: &mut Builder<'_>, retry: Time, held: &[&DeliveryFact]) {
    let f = b.facts;
    let held_now = held.iter().filter(|d| d.retry_at.is_some()).count();
    b.add(
        Finding::new(
            Kind::MessageLimit,
            Severity::Blocking,
            "Message limit reached",
            format!(
                "So many codes were sent to them lately that no more go out until {} (in {}): the limit keeps SMS pumping from costing money.",
                stamp(retry),
                span(retry - f.now)
            ),
        )
        .evidence(vec![format!(
            "{held_now} recent message(s) were held back; the last at {}. Many logins started in a short time can be someone else trying the account.",
            held.first().map_or_else(String::new, |d| stamp(d.at))
        )])
        .fix(
            Fix::Wait,
            format!(
                "Wait until {}; meanwhile an authenticator app or a backup code still works (factordesk factor add-totp {})",
                stamp(retry),
                f.email
            ),
        ),
    );
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
        let delivered = sent.iter().filter(|d| !d.failed).map(|d| d.at);
        match sent.first() {
            None if f.last_login.is_some() => b.add(
                Finding::new(
                    Kind::NoneSent,
                    Severity::Warning,
                    "No message sent",
                    format!(
                        "No {} code has been sent to them recently, though they tried to log in.",
                        x.kind.label()
                    ),
                )
                .evidence(vec![format!("{} ({})", x.label, x.kind)])
                .fix(
                    Fix::Simulate,
                    format!(
                        "Start a login to send a code (factordesk login start {0} --assume-password), then check the outbox: factordesk outbox --user {0}",
                        f.email
                    ),
                ),
            ),
            Some(last) if !last.failed => b.add(
                Finding::new(
                    Kind::Deliveries,
                    Severity::Info,
                    "Codes are being delivered",
                    format!(
                        "Their {}s go to {}; the last was sent {} and reached the gateway.",
                        x.kind.label(),
                        last.destination,
                        relative(last.at, f.now)
                    ),
                )
                .evidence(vec![format!(
                    "Sent to {} at {}.",
                    last.destination,
                    times(delivered, f.now)
                )])
                .fix(
                    Fix::Nothing,
                    format!(
                        "If a code still does not arrive, ask them to check spam (email) or signal (SMS), then request another code; the outbox shows each message: factordesk outbox --user {}",
                        f.email
                    ),
                ),
            ),
            _ => {}
        }
    }
}

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

fn wrong_codes(b: &mut Builder<'_>) {
    let f = b.facts;
    let wrong: Vec<&AttemptFact> = f
        .current()
        .iter()
        .filter(|a| a.kind == "totp" && a.outcome == "invalid")
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
                format!(
                    "Check they are reading the code for this account (the issuer and their email), not another one; check a code they read out: factordesk doctor {} --code CODE",
                    f.email
                ),
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
        let id = app.map_or_else(|| "ID".to_owned(), |x| x.id.to_string());
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
                    format!(
                        "Once they set the phone's time to automatic, clear the drift (key Z): factordesk factor resync {} {id} --clear",
                        f.email
                    ),
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
                format!(
                    "Ask them to set the phone's date and time to automatic; or resync from two codes in a row they read out: factordesk factor resync {} {id} CODE1 CODE2",
                    f.email
                ),
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
            format!(
                "If it goes on, check a code they read out: factordesk doctor {} --code CODE",
                f.email
            ),
        ),
    );
}

fn replayed(b: &mut Builder<'_>) {
    let f = b.facts;
    let replays = || {
        f.current()
            .iter()
            .filter(|a| a.outcome == "replayed" && a.kind == "totp")
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
            Fix::Reset2fa,
            format!(
                "If the first login was not theirs, treat the account as compromised: reset 2FA (factordesk user reset-2fa {0} --reason \"…\"), revoke devices (factordesk device revoke {0} --all --reason \"…\") and change the password.",
                f.email
            ),
        )
    } else {
        finding.fix(
            Fix::Nothing,
            "Nothing to fix: wait for the app to show the next code.",
        )
    });
}

fn codes(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    let reused: Vec<&AttemptFact> = f
        .current()
        .iter()
        .filter(|a| a.kind == "backup" && a.outcome == "replayed")
        .collect();
    let generate = format!("factordesk codes generate {}", f.email);
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
            b.add(
                Finding::new(
                    Kind::CodesUsedUp,
                    Severity::Blocking,
                    "Backup codes used up",
                    "Every backup code has been used, so if the phone is lost there is no way in.",
                )
                .evidence(evidence)
                .fix(
                    Fix::Reset2fa,
                    format!(
                        "Lost phone: check who is calling, then reset 2FA so they can enrol a new phone: factordesk user reset-2fa {} --reason \"…\". Phone still there: make new codes (key g): {generate}",
                        f.email
                    ),
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
                format!("Make a new set (shown once; the old ones stop working): {generate}"),
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
                format!("Make a set and have them save it: {generate}"),
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
    let f = b.facts;
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
            format!(
                "Ask whether both were them. If the list may have been seen, make a new set (the old codes stop working): factordesk codes generate {0}; if the first use was not theirs, reset 2FA: factordesk user reset-2fa {0} --reason \"…\"",
                f.email
            ),
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

/// The last login came from a computer that was never remembered.
fn not_remembered(b: &mut Builder<'_>, last: &LastLogin) {
    b.add(
        Finding::new(
            Kind::NewIp,
            Severity::Info,
            "Not on a remembered computer",
            "Their last login did not come from a computer they asked to remember, so a code was needed.",
        )
        .evidence(vec![format!(
            "Last login {} from {}.",
            relative(last.at, b.facts.now),
            last.ip
        )])
        .fix(
            Fix::Nothing,
            "Expected: they enter a code and can tick \"remember this computer\".",
        ),
    );
}

fn devices(b: &mut Builder<'_>, policy: &Policy) {
    let f = b.facts;
    let Some(last) = &f.last_login else { return };
    let revoke = format!("factordesk device revoke {} --all --reason \"…\"", f.email);
    let Some(d) = &last.device else {
        if !f.devices.is_empty() {
            not_remembered(b, last);
        }
        return;
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
        return b.add(
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
            format!(
                "Expected: they enter a code from the app and tick \"remember this computer\"; if the address is not theirs, revoke the device (key R): {revoke}"
            ),
        ),
    );
}

/// Trouble from before the last success, unlock or reset: shown once, as
/// information, so it is not mistaken for a current problem.
fn history(b: &mut Builder<'_>) {
    let f = b.facts;
    let mut evidence = Vec::new();
    let past: Vec<&AttemptFact> = f.past_failures().collect();
    let wrong: Vec<&AttemptFact> = past
        .iter()
        .copied()
        .filter(|a| a.outcome == "invalid")
        .collect();
    if let (Some(last), Some(first)) = (wrong.first(), wrong.last()) {
        evidence.push(format!(
            "{} wrong code(s) {} from {}.",
            wrong.len(),
            between(first.at, last.at, f.now),
            ips(&wrong)
        ));
    }
    for r in past.iter().filter(|a| a.outcome == "replayed") {
        let what = if r.kind == "backup" {
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

fn every_login(b: &mut Builder<'_>, policy: &Policy) {
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
            format!(
                "Expected if they chose it; if they would rather be remembered for {} days, turn it off: factordesk user edit {} --every-login false",
                policy.trust_days, b.facts.email
            ),
        ),
    );
}

/// What a code read out by the user says about their phone's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkewCheck {
    /// The factor checked (none when the check was refused).
    pub factor_id: Option<i64>,
    /// Steps from now the code was valid at (negative: in the past).
    pub offset_steps: Option<i64>,
    pub message: String,
    /// The code's time step had already been used: it cannot log in again.
    pub already_used: bool,
    /// The check was refused (too many checks, or nothing to check against).
    pub refused: bool,
}

/// Who had already used the time step of a code read out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpentBy {
    /// A login, when and from where (as far as the factor remembers).
    Login {
        at: Option<Time>,
        ip: Option<String>,
    },
    /// The help desk's resync, when.
    Resync { at: Option<Time> },
}

impl SkewCheck {
    /// A check that was not made, and why.
    pub fn refused(message: String) -> SkewCheck {
        SkewCheck {
            factor_id: None,
            offset_steps: None,
            message,
            already_used: false,
            refused: true,
        }
    }
}

/// A code read out whose time step was already used: say when and by what,
/// and that a new code is needed; and what its time says about the clock.
pub fn used_message(offset: i64, by: &SpentBy, now: Time) -> String {
    let when = |at: &Option<Time>| {
        at.map(|t| format!(" {} ({})", relative(t, now), stamp(t)))
            .unwrap_or_default()
    };
    let used = match by {
        SpentBy::Login { at, ip } => format!(
            "was already used to log in{}{}",
            when(at),
            ip.as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default()
        ),
        SpentBy::Resync { at } => {
            format!("was already spent by the help desk's resync{}", when(at))
        }
    };
    let clock = match offset {
        0 => String::new(),
        o => {
            let s = span(offset_span(o.abs()));
            let (when, way) = if o < 0 {
                (format!("was valid {s} ago"), "slow")
            } else {
                (format!("becomes valid in {s}"), "fast")
            };
            format!(" It {when}: the phone's clock is about {s} {way}.")
        }
    };
    format!(
        "This code {used}: each code works once, so they need a new one (the next code the app shows).{clock}"
    )
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
