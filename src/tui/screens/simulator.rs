//! The login simulator: pick a user, a computer, an IP, an action and a
//! factor; see the decision and its reasons, the challenge with its
//! countdown, attempts and resend cooldown, the simulated phone and inbox,
//! and move the clock. It all happens in a sandbox: an in-memory copy of the
//! database with its own clock, so nothing it does reaches the real data.

mod sandbox;
mod view;

pub use sandbox::{Back, Sandbox};
pub use view::render;

use chrono::TimeDelta;
use ratatui::crossterm::event::KeyCode;

use crate::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use crate::desk::records::RecordQuery;
use crate::desk::views::{
    ChallengeView, DeliveryView, DeviceState, DeviceView, FactorBrief, LoginStart, ResendResult,
    VerifyOutcome, VerifyResult,
};
use crate::desk::{Desk, Result};
use crate::domain::{Action as LoginAction, FactorKind, FactorStatus, Time};
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popup::{Popup, Purpose};
use crate::tui::{App, Tone, strings};

pub const KEYS: &[Binding] = &[
    ch('u', Action::PickUser, "pick user", true),
    ch('d', Action::CycleDevice, "computer", true),
    ch('i', Action::EditIp, "IP", true),
    ch('a', Action::ToggleAction, "login/export", false),
    ch(
        'f',
        Action::CycleFactor,
        "factor: auto, or one of theirs",
        false,
    ),
    named(
        KeyCode::Enter,
        None,
        Action::StartLogin,
        "start login",
        true,
    ),
    ch('c', Action::EnterCode, "type a code", true),
    ch(
        'y',
        Action::UseAppCode,
        "enter the app's code (TOTP only)",
        false,
    ),
    named(
        KeyCode::Char('<'),
        Some("< >"),
        Action::PhoneClock(-30),
        "phone clock 30 s slower / faster",
        false,
    ),
    ch('>', Action::PhoneClock(30), "", false),
    ch('r', Action::Resend, "request another code", true),
    ch(' ', Action::ToggleRemember, "remember this computer", false),
    named(
        KeyCode::F(5),
        Some("F5 +"),
        Action::Advance(30),
        "clock +30 s",
        false,
    ),
    ch('+', Action::Advance(30), "", false),
    named(
        KeyCode::F(6),
        None,
        Action::Advance(300),
        "clock +5 min",
        false,
    ),
    named(
        KeyCode::F(7),
        None,
        Action::Advance(86_400),
        "clock +1 day",
        false,
    ),
    named(
        KeyCode::F(8),
        None,
        Action::Advance(14 * 86_400),
        "clock +14 days",
        false,
    ),
    ch(
        '0',
        Action::ResetClock,
        "start afresh, clock back to now",
        false,
    ),
    ch('l', Action::Open, "open the user", false),
    named(KeyCode::Esc, None, Action::Back, "back", true),
];

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

#[derive(Debug, Default)]
pub struct SimScreen {
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
    pub challenge: Option<ChallengeView>,
    pub last_verify: Option<VerifyOutcome>,
    pub code: Input,
    pub entering: bool,
    pub remember: bool,
    pub messages: Vec<DeliveryView>,
    /// The code the user's authenticator shows now, and for which factor.
    pub app_code: Option<(i64, String)>,
    /// How far the simulated phone's clock is off, in seconds.
    pub phone_offset: i64,
    pub events: Vec<Event>,
    /// The computer, IP and factor are still to be chosen for this user
    /// (when their sandbox is ready).
    needs_defaults: bool,
    /// Tells the copy still wanted from older ones.
    tickets: u64,
}

impl SimScreen {
    pub fn typing(&self) -> bool {
        self.entering
    }

    fn action(&self) -> LoginAction {
        self.action.unwrap_or(LoginAction::Login)
    }

    /// Start over with another user (their sandbox follows).
    pub fn choose_user(&mut self, email: &str) {
        // The same person's phone keeps its clock; another person's is right.
        let phone_offset = if self.email.as_deref() == Some(email) {
            self.phone_offset
        } else {
            0
        };
        *self = SimScreen {
            phone_offset,
            email: Some(email.to_owned()),
            ip: strings::NEW_IP.to_owned(),
            needs_defaults: true,
            tickets: self.tickets,
            ..SimScreen::default()
        };
    }

    /// Forget the login in progress and what happened (a fresh sandbox);
    /// the settings stay.
    fn start_over(&mut self) {
        self.start = None;
        self.challenge = None;
        self.last_verify = None;
        self.code.clear();
        self.entering = false;
        self.messages.clear();
        self.events.clear();
    }

    /// The settings a new user starts with: their remembered computer if
    /// they have one, from its last IP; the desk's choice of factor.
    fn defaults(&mut self) {
        let best = self
            .devices
            .iter()
            .find(|d| d.state == DeviceState::Trusted)
            .or(self.devices.first());
        self.computer = best.map_or(Computer::New, |d| Computer::Known(d.id));
        self.ip = self.default_ip();
        self.factor = None;
        self.needs_defaults = false;
    }

    fn device(&self) -> Option<&DeviceView> {
        match self.computer {
            Computer::Known(id) => self.devices.iter().find(|d| d.id == id),
            Computer::New => None,
        }
    }

    fn default_ip(&self) -> String {
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
    fn open_challenge(&self) -> Option<&ChallengeView> {
        self.challenge.as_ref().filter(|c| c.state == "open")
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
        self.messages = desk.outbox(&RecordQuery {
            user: Some(email.clone()),
            kind: None,
            before: None,
            limit: 8,
        })?;
        // The authenticator shown is the challenge's, else their first.
        let app = self
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
        let offset = TimeDelta::seconds(self.phone_offset);
        self.app_code = app.and_then(|id| {
            desk.authenticator_code(&email, id, offset)
                .ok()
                .map(|c| (id, c))
        });
        Ok(())
    }

    fn log(&mut self, at: Time, tone: Tone, text: String) {
        self.events.push(Event { at, text, tone });
        if self.events.len() > 50 {
            self.events.remove(0);
        }
    }
}

impl App {
    #[allow(clippy::too_many_lines)]
    pub(crate) fn sim_action(&mut self, action: Action) {
        if self.sim.entering {
            match action {
                Action::Type(c) => self.sim.code.insert(c),
                Action::Erase => self.sim.code.backspace(),
                Action::EraseForward => self.sim.code.delete(),
                Action::CursorLeft => self.sim.code.left(),
                Action::CursorRight => self.sim.code.right(),
                Action::CursorHome => self.sim.code.home(),
                Action::CursorEnd => self.sim.code.end(),
                Action::Cancel => self.sim.entering = false,
                Action::Submit => {
                    let code = self.sim.code.text().to_owned();
                    self.sim_verify(&code);
                }
                _ => {}
            }
            return;
        }
        match action {
            Action::Back => return self.sim_go_back(),
            Action::PickUser => return self.pick_user(),
            Action::Open => {
                if let Some(email) = self.sim.email.clone() {
                    self.open_user(&email);
                }
                return;
            }
            _ => {}
        }
        if self.sim.email.is_none() {
            self.say(Tone::Info, strings::SIM_NO_USER);
            return;
        }
        if self.sandbox.desk().is_none() {
            self.say(Tone::Info, strings::SIM_PREPARING);
            return;
        }
        match action {
            Action::CycleDevice => {
                let s = &mut self.sim;
                let at = match s.computer {
                    Computer::New => None,
                    Computer::Known(id) => s.devices.iter().position(|d| d.id == id),
                };
                let next = at.map_or(0, |i| i + 1);
                s.computer = s
                    .devices
                    .get(next)
                    .map_or(Computer::New, |d| Computer::Known(d.id));
                s.ip = s.default_ip();
            }
            Action::CycleFactor => {
                let s = &mut self.sim;
                if s.factors.is_empty() {
                    self.say(Tone::Info, "They have no active factor to choose.");
                    return;
                }
                let at = s
                    .factor
                    .and_then(|id| s.factors.iter().position(|f| f.id == id));
                s.factor = match at {
                    None => s.factors.first().map(|f| f.id),
                    Some(i) => s.factors.get(i + 1).map(|f| f.id),
                };
            }
            Action::EditIp => {
                self.popup = Some(Popup::input(
                    "Login from IP",
                    vec!["The address the login comes from (a remembered computer on a new IP is challenged):".to_owned()],
                    &self.sim.ip.clone(),
                    Purpose::SimIp,
                ));
            }
            Action::ToggleAction => {
                self.sim.action = Some(match self.sim.action() {
                    LoginAction::Login => LoginAction::Export,
                    LoginAction::Export => LoginAction::Login,
                });
            }
            Action::StartLogin => self.sim_start(),
            Action::EnterCode => {
                if self.sim.open_challenge().is_some() {
                    self.sim.code.clear();
                    self.sim.entering = true;
                } else {
                    self.say(Tone::Info, strings::SIM_NO_OPEN_CHALLENGE);
                }
            }
            Action::UseAppCode => self.sim_use_app_code(),
            Action::Resend => self.sim_resend(),
            Action::ToggleRemember => self.sim.remember = !self.sim.remember,
            Action::Advance(secs) => {
                let Some(desk) = self.sandbox.desk_mut() else {
                    return;
                };
                desk.advance_clock(TimeDelta::seconds(secs));
                let t = desk.now();
                self.sim.log(
                    t,
                    Tone::Info,
                    format!(
                        "Clock moved +{}",
                        crate::domain::exact_span(TimeDelta::seconds(secs))
                    ),
                );
                self.refresh();
            }
            Action::PhoneClock(by) => {
                self.sim.phone_offset = (self.sim.phone_offset + by).clamp(-900, 900);
                let off = self.sim.phone_offset;
                self.say(
                    Tone::Info,
                    if off == 0 {
                        "The simulated phone's clock is right.".to_owned()
                    } else {
                        format!(
                            "The simulated phone's clock is now {} s {}.",
                            off.abs(),
                            if off < 0 { "slow" } else { "fast" }
                        )
                    },
                );
                self.refresh();
            }
            Action::ResetClock => {
                self.sim.start_over();
                self.fresh_sandbox();
                let now = self.desk.now();
                self.sim.log(now, Tone::Info, strings::SIM_FRESH.to_owned());
            }
            _ => {}
        }
    }

    fn pick_user(&mut self) {
        let results = self
            .desk
            .list_users(&crate::desk::users::ListQuery {
                limit: 50,
                ..Default::default()
            })
            .unwrap_or_default();
        self.popup = Some(Popup::PickUser {
            query: Input::default(),
            results,
            selected: 0,
        });
    }

    fn sim_start(&mut self) {
        let Some(email) = self.sim.email.clone() else {
            return;
        };
        let Some(desk) = self.sandbox.desk_mut() else {
            return;
        };
        let req = LoginRequest {
            email,
            password: PasswordInput::Assume,
            device: self.sim.device().map(|d| DeviceRef::Id(d.id)),
            ip: Some(self.sim.ip.clone()),
            action: self.sim.action(),
            factor: self.sim.factor,
        };
        let now = desk.now();
        match desk.start_login(&req) {
            Ok(start) => {
                let challenge = start.challenge_id.and_then(|id| desk.challenge(id).ok());
                let tone = match start.decision {
                    crate::domain::login::Outcome::Allowed => Tone::Ok,
                    crate::domain::login::Outcome::Challenge => Tone::Info,
                    crate::domain::login::Outcome::Denied => Tone::Error,
                };
                self.sim.log(
                    now,
                    tone,
                    format!(
                        "{} from {}: {}",
                        req.action,
                        req.ip.unwrap_or_default(),
                        start.decision
                    ),
                );
                self.sim.challenge = challenge;
                self.sim.last_verify = None;
                self.sim.start = Some(start);
            }
            Err(e) => self.fail(&e),
        }
        self.refresh();
    }

    /// `y`: type what the authenticator app shows, for an authenticator
    /// challenge only; any other challenge's code is in the phone or inbox,
    /// and no attempt is spent finding that out.
    fn sim_use_app_code(&mut self) {
        let Some(c) = self.sim.open_challenge() else {
            self.say(Tone::Info, strings::SIM_NO_OPEN_CHALLENGE);
            return;
        };
        let Some(factor) = c.factor.clone() else {
            self.say(Tone::Info, strings::SIM_NOT_APP);
            return;
        };
        if factor.kind != FactorKind::Totp {
            self.say(Tone::Info, strings::SIM_NOT_APP);
            return;
        }
        match self.sim.app_code.clone() {
            Some((id, code)) if id == factor.id => self.sim_verify(&code),
            _ => self.say(
                Tone::Info,
                "The app for this challenge cannot be read. No attempt used.",
            ),
        }
    }

    fn sim_resend(&mut self) {
        let Some(id) = self.sim.open_challenge().map(|c| c.id) else {
            self.say(Tone::Info, strings::SIM_NO_OPEN_CHALLENGE);
            return;
        };
        let Some(desk) = self.sandbox.desk_mut() else {
            return;
        };
        let now = desk.now();
        match desk.resend(id) {
            Ok(r) => {
                let tone = if r.result == ResendResult::Sent {
                    // A new code: what was said about the old one is stale.
                    self.sim.last_verify = None;
                    Tone::Ok
                } else {
                    Tone::Error
                };
                self.sim
                    .log(now, tone, format!("Request another code: {}", r.message));
            }
            Err(e) => self.fail(&e),
        }
        self.refresh();
    }

    fn sim_verify(&mut self, code: &str) {
        let Some(id) = self.sim.challenge.as_ref().map(|c| c.id) else {
            return;
        };
        let Some(desk) = self.sandbox.desk_mut() else {
            return;
        };
        let now = desk.now();
        let remember = self.sim.remember.then_some("Simulator browser");
        match desk.verify(id, code, remember) {
            Ok(v) => {
                let tone = if v.result == VerifyResult::Accepted {
                    Tone::Ok
                } else {
                    Tone::Error
                };
                if v.device_token.is_some() {
                    // The computer just remembered is now the one this browser is.
                    if let Some(email) = self.sim.email.clone() {
                        self.sim.devices = desk.devices(&email).unwrap_or_default();
                        if let Some(d) = self
                            .sim
                            .devices
                            .iter()
                            .max_by_key(|d| (d.last_seen_at, d.id))
                        {
                            self.sim.computer = Computer::Known(d.id);
                        }
                    }
                }
                self.sim.log(now, tone, v.message.clone());
                self.sim.entering = v.result != VerifyResult::Accepted
                    && v.attempts_left > 0
                    && v.result != VerifyResult::Locked
                    && v.result != VerifyResult::Expired;
                self.sim.code.clear();
                self.sim.last_verify = Some(v);
            }
            Err(e) => {
                self.fail(&e);
                self.sim.code.clear();
            }
        }
        self.refresh();
    }
}
