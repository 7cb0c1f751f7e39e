//! The simulation's state: whose login, from which computer and address,
//! the login in progress and its code, the simulated phone, and a log of
//! what happened; read again from the sandbox on each reload.

use chrono::TimeDelta;

use crate::desk::records::RecordQuery;
use crate::desk::views::{
    AppCode, ChallengeView, DeliveryView, DeviceState, DeviceView, FactorBrief, LockView,
    LoginStart, Persona, VerifyOutcome,
};
use crate::desk::{Desk, Result};
use crate::domain::vocab::ChallengeState;
use crate::domain::{Action as LoginAction, FactorKind, FactorStatus, Time};
use crate::tui::input::Input;
use crate::tui::strings;
use crate::tui::theme::Tone;

/// Which computer the simulated login comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Computer {
    #[default]
    New,
    /// A remembered one, by device id.
    Known(i64),
}

/// One line of what happened, for the trainer to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: Time,
    pub text: String,
    pub tone: Tone,
}

/// Where the user's 2FA lock stands, with the policy's rules that say how
/// far it is: so many failures lock it for a while, so many in a row until
/// an admin unlocks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockWatch {
    pub lock: LockView,
    pub threshold: u32,
    pub duration: TimeDelta,
    pub hard_stop: u32,
}

/// The simulation: who, from which computer and address, the login in
/// progress, the simulated phone, and what happened.
#[derive(Debug, Default)]
pub struct Session {
    pub email: Option<String>,
    pub devices: Vec<DeviceView>,
    /// The user's active factors, to choose from.
    pub factors: Vec<FactorBrief>,
    /// The factor to challenge with; `None` lets the desk choose (the most
    /// recently used or confirmed).
    pub factor: Option<i64>,
    pub computer: Computer,
    pub ip: String,
    pub action: Option<LoginAction>,
    pub start: Option<LoginStart>,
    /// When the decision on screen was made (its reasons speak of then).
    pub decided_at: Option<Time>,
    /// Their 2FA lock, as of the last reload.
    pub lock: Option<LockWatch>,
    pub challenge: Option<ChallengeView>,
    pub last_verify: Option<VerifyOutcome>,
    pub code: Input,
    pub entering: bool,
    pub remember: bool,
    pub messages: Vec<DeliveryView>,
    /// The authenticator factor the phone shows (its code is read from the
    /// sandbox as it is drawn, so it is the one the phone shows then).
    pub app: Option<i64>,
    /// How far the simulated phone's clock is off, in seconds.
    pub phone_offset: i64,
    /// How the desk says to play this person: their phone and address.
    persona: Option<Persona>,
    pub events: Vec<Event>,
    /// The computer, IP and factor are still to be chosen for this user
    /// (when their sandbox is ready).
    needs_defaults: bool,
}

impl Session {
    pub(super) fn action(&self) -> LoginAction {
        self.action.unwrap_or(LoginAction::Login)
    }

    /// Start over with another user (their sandbox follows), played as
    /// `persona` says: their phone's clock, and where they log in from.
    pub fn choose_user(&mut self, email: &str, persona: Option<Persona>) {
        // The same person's phone keeps the clock it was given here.
        let phone_offset = if self.email.as_deref() == Some(email) {
            self.phone_offset
        } else {
            persona.as_ref().map_or(0, |p| p.phone_skew.num_seconds())
        };
        *self = Session {
            phone_offset,
            persona,
            email: Some(email.to_owned()),
            ip: strings::NEW_IP.to_owned(),
            needs_defaults: true,
            ..Session::default()
        };
    }

    /// Forget the login in progress and what happened (a fresh sandbox);
    /// the settings stay.
    pub(super) fn start_over(&mut self) {
        self.start = None;
        self.decided_at = None;
        self.lock = None;
        self.challenge = None;
        self.last_verify = None;
        self.code.clear();
        self.entering = false;
        self.messages.clear();
        self.events.clear();
    }

    /// The settings a new user starts with: their remembered computer if
    /// they have one, at the address they log in from now (their story's,
    /// else where they were last seen, else that computer's last IP); the
    /// desk's choice of factor.
    pub(super) fn defaults(&mut self) {
        let best = self
            .devices
            .iter()
            .find(|d| d.state == DeviceState::Trusted)
            .or(self.devices.first());
        self.computer = best.map_or(Computer::New, |d| Computer::Known(d.id));
        self.ip = self
            .persona
            .as_ref()
            .and_then(|p| p.ip.clone())
            .unwrap_or_else(|| self.default_ip());
        self.factor = None;
        self.needs_defaults = false;
    }

    pub(super) fn device(&self) -> Option<&DeviceView> {
        match self.computer {
            Computer::Known(id) => self.devices.iter().find(|d| d.id == id),
            Computer::New => None,
        }
    }

    pub(super) fn default_ip(&self) -> String {
        self.device()
            .map_or_else(|| strings::NEW_IP.to_owned(), |d| d.last_ip.clone())
    }

    /// What `f` shows: `auto`, or the chosen factor's label.
    pub fn factor_label(&self) -> String {
        self.factor
            .and_then(|id| self.factors.iter().find(|f| f.id == id))
            .map_or_else(|| "auto".to_owned(), |f| f.label.clone())
    }

    /// The challenge on screen, while it is open.
    pub(super) fn open_challenge(&self) -> Option<&ChallengeView> {
        self.challenge
            .as_ref()
            .filter(|c| c.state == ChallengeState::Open)
    }

    /// The challenge on screen, while a code can be typed into it: open,
    /// with attempts left (an expired code typed is refused as expired, as
    /// a real login would).
    pub(super) fn typable(&self) -> Option<&ChallengeView> {
        self.open_challenge().filter(|c| c.attempts_left > 0)
    }

    pub fn set_ip(&mut self, ip: &str) -> std::result::Result<(), String> {
        let ip = ip.trim();
        ip.parse::<std::net::IpAddr>().map_err(|_| {
            format!("`{ip}` is not an IP address: use the form 203.0.113.9 or 2001:db8::1")
        })?;
        ip.clone_into(&mut self.ip);
        Ok(())
    }

    /// Reload from the sandbox (nothing to do before it is ready).
    pub fn reload(&mut self, desk: Option<&Desk>) -> Result<()> {
        let (Some(desk), Some(email)) = (desk, self.email.clone()) else {
            return Ok(());
        };
        self.devices = desk.devices(&email)?;
        let factors = desk.factors(&email)?;
        self.factors = factors
            .iter()
            .filter(|f| f.status == FactorStatus::Active)
            .map(|f| FactorBrief {
                id: f.id,
                kind: f.kind,
                label: f.label.clone(),
            })
            .collect();
        if self.needs_defaults {
            self.defaults();
        }
        if self.device().is_none() {
            self.computer = Computer::New;
        }
        if self
            .factor
            .is_some_and(|id| !self.factors.iter().any(|f| f.id == id))
        {
            self.factor = None;
        }
        if let Some(c) = &self.challenge {
            self.challenge = Some(desk.challenge(c.id)?);
        }
        let policy = desk.policy()?;
        self.lock = Some(LockWatch {
            lock: desk.lock(&email)?,
            threshold: policy.lockout_threshold,
            duration: policy.lockout_duration,
            hard_stop: policy.limits.lockout_hard_stop,
        });
        self.messages = desk.outbox(&RecordQuery {
            user: Some(email.clone()),
            kind: None,
            before: None,
            limit: 8,
        })?;
        // The authenticator shown is the challenge's, else their first.
        self.app = self
            .challenge
            .as_ref()
            .and_then(|c| c.factor.as_ref())
            .filter(|f| f.kind == FactorKind::Totp)
            .map(|f| f.id)
            .or_else(|| {
                factors
                    .iter()
                    .find(|f| f.kind == FactorKind::Totp)
                    .map(|f| f.id)
            });
        Ok(())
    }

    /// How far the simulated phone's clock is off.
    pub fn phone_skew(&self) -> TimeDelta {
        TimeDelta::seconds(self.phone_offset)
    }

    /// What the phone's authenticator app shows now, on `desk`'s clock.
    pub fn app_shows(&self, desk: &Desk) -> Option<AppCode> {
        let (email, id) = (self.email.as_deref()?, self.app?);
        desk.app_shows(email, id, self.phone_skew()).ok()
    }

    pub(super) fn log(&mut self, at: Time, tone: Tone, text: String) {
        self.events.push(Event { at, text, tone });
        if self.events.len() > 50 {
            self.events.remove(0);
        }
    }
}
