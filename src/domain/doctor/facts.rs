//! What the doctor looks at about one user: their account, factors, recent
//! attempts and messages, devices and last login, gathered by the desk.

use crate::domain::enforcement::Standing;
use crate::domain::lockout::Lock;
use crate::domain::vocab::{AttemptKind, AttemptOutcome, Channel};
use crate::domain::{FactorKind, FactorStatus, Time, UserStatus};

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
    pub kind: AttemptKind,
    pub outcome: AttemptOutcome,
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
    pub channel: Channel,
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
    /// When an admin last unlocked their 2FA, and last started their second
    /// factor afresh (or they turned it off), and how: attempts before that
    /// are history.
    pub unlocked_at: Option<Time>,
    pub reset: Option<(Time, Restart)>,
    /// The last few messages, newest first.
    pub deliveries: Vec<DeliveryFact>,
    pub last_login: Option<LastLogin>,
    /// Password checks refused for this user: until when, and the how-many-th
    /// ban in a row.
    pub password_ban: Option<(Time, u32)>,
    /// The address of their last login, banned for wrong passwords, and until when.
    pub address_ban: Option<(String, Time)>,
    /// The next login must set a new password (a compromise response).
    pub password_change: bool,
    /// The last compromise response: when, by whom, why.
    pub secured: Option<Change>,
}

/// How a user's second factor was last started afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// An admin's 2FA reset (a new grace period).
    Reset,
    /// A lost phone replaced by a new authenticator.
    Reenrol,
    /// The response to a suspected compromise.
    Compromise,
    /// They turned 2FA off themselves.
    TurnedOff,
}

impl Restart {
    /// What the doctor calls it: "before {this} at …".
    pub fn phrase(self) -> &'static str {
        match self {
            Restart::Reset => "the 2FA reset",
            Restart::Reenrol => "the re-enrolment",
            Restart::Compromise => "the compromise response",
            Restart::TurnedOff => "turning 2FA off",
        }
    }
}

impl Facts {
    /// When their second factor was last started afresh.
    pub(super) fn reset_at(&self) -> Option<Time> {
        self.reset.map(|(t, _)| t)
    }

    pub(super) fn active(&self) -> impl Iterator<Item = &FactorFact> {
        self.factors
            .iter()
            .filter(|f| f.status == FactorStatus::Active)
    }

    pub(super) fn has_active(&self) -> bool {
        self.active().next().is_some()
    }

    /// No login gets in now without an active factor: grace is over, or a
    /// compromise response refuses the password alone.
    pub(super) fn needs_factor_now(&self) -> bool {
        self.standing.blocks_login() || self.password_change
    }

    /// Active factors other than those of `kind`.
    pub(super) fn others_than(&self, kind: FactorKind) -> usize {
        self.active().filter(|f| f.kind != kind).count()
    }

    /// The newest thing that settled earlier trouble: a code accepted, an
    /// unlock or a 2FA reset, with what it was.
    pub(super) fn settled(&self) -> Option<(Time, &'static str)> {
        let login = self
            .attempts
            .iter()
            .find(|a| a.outcome == AttemptOutcome::Accepted)
            .map(|a| (a.at, "their login with a code"));
        let unlock = self.unlocked_at.map(|t| (t, "the unlock"));
        let reset = self.reset.map(|(t, how)| (t, how.phrase()));
        // On a tie the login is named: it is what shows the fix worked.
        [unlock, reset, login]
            .into_iter()
            .flatten()
            .max_by_key(|(t, _)| *t)
    }

    /// How many of the (newest first) attempts came after the last success,
    /// unlock or reset.
    pub(super) fn current_len(&self) -> usize {
        let admin = self.unlocked_at.max(self.reset_at());
        self.attempts
            .iter()
            .position(|a| a.outcome == AttemptOutcome::Accepted || admin.is_some_and(|t| a.at < t))
            .unwrap_or(self.attempts.len())
    }

    /// The attempts that are current: after the last success, unlock or
    /// reset. Older ones are history.
    pub(super) fn current(&self) -> &[AttemptFact] {
        &self.attempts[..self.current_len()]
    }

    /// Failed attempts from before the last success, unlock or reset.
    pub(super) fn past_failures(&self) -> impl Iterator<Item = &AttemptFact> {
        self.attempts[self.current_len()..]
            .iter()
            .filter(|a| a.outcome != AttemptOutcome::Accepted)
    }

    /// Is this failed message still current? Not if a later message on the
    /// same channel went through, or they logged in (or were reset) since.
    pub(super) fn failure_is_current(&self, d: &DeliveryFact) -> bool {
        let delivered_later = self
            .deliveries
            .iter()
            .any(|x| x.channel == d.channel && !x.failed && x.at >= d.at);
        let login = self
            .attempts
            .iter()
            .find(|a| a.outcome == AttemptOutcome::Accepted)
            .map(|a| a.at);
        let settled = login.max(self.reset_at());
        d.failed
            && !delivered_later
            && settled.is_none_or(|t| d.at > t)
            && !self.number_changed_after(d)
    }

    /// Was this SMS sent to a number that has been changed since?
    pub(super) fn number_changed_after(&self, d: &DeliveryFact) -> bool {
        d.channel == Channel::Sms
            && self
                .factors
                .iter()
                .filter(|x| x.kind == FactorKind::Sms)
                .filter_map(|x| x.repointed.as_ref())
                .any(|c| d.at < c.at)
    }
}
