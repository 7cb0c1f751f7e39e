//! The login simulator: pick a user, a computer, an IP, an action and a
//! factor; see the decision and its reasons, the challenge with its
//! countdown, attempts and resend cooldown, the simulated phone and inbox,
//! and move the clock. It all happens in a sandbox: an in-memory copy of the
//! database with its own clock, so nothing it does reaches the real data.

mod decision;
mod draw;
mod sandbox;
mod session;

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;

use crate::desk::Result;
use crate::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use crate::desk::views::{ResendResult, VerifyResult};
use crate::domain::{Action as LoginAction, FactorKind};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::popups::pick_user::PickUser;
use crate::tui::strings;
use crate::tui::theme::Tone;
use crate::tui::view::{Ctx, Effect, News, Screen, View};
use crate::tui::worker::Done;
use sandbox::Sandbox;
use session::{Computer, Session};

/// The keys for the login in progress come first: at 80 columns the bar
/// has room for four or five, and those are what a trainer reaches for.
pub const KEYS: &[Binding] = &[
    named(
        KeyCode::Enter,
        None,
        Action::StartLogin,
        "start login",
        true,
    ),
    ch('c', Action::EnterCode, "type a code", true),
    ch('r', Action::Resend, "request another code", true),
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

/// The simulator: what is being simulated, and the sandbox it runs in.
#[derive(Debug, Default)]
pub struct SimScreen {
    sim: Session,
    /// The simulator's own copy of the database and its clock.
    sandbox: Sandbox,
}

impl SimScreen {
    /// While a code is being typed: the clock keys still move the clock
    /// (the code typed so far stays).
    fn code_key(&mut self, action: Action, cx: &Ctx) -> Effect {
        if self.sim.code.edit(action) {
            return Effect::None;
        }
        match action {
            Action::Advance(_) => return self.sandbox_key(action, cx),
            Action::Cancel => self.sim.entering = false,
            Action::Submit => {
                let code = self.sim.code.text().to_owned();
                return self.verify(&code, true);
            }
            _ => {}
        }
        Effect::None
    }

    /// The keys that need a user and their sandbox.
    fn sandbox_key(&mut self, action: Action, cx: &Ctx) -> Effect {
        let s = &mut self.sim;
        match action {
            Action::CycleDevice => {
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
                if s.factors.is_empty() {
                    return Effect::Say(
                        Tone::Info,
                        "They have no active factor to choose.".to_owned(),
                    );
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
                return Effect::Popup(Box::new(Form::new(
                    "Login from IP",
                    vec!["The address the login comes from (a remembered computer on a new IP is challenged):".to_owned()],
                    &s.ip.clone(),
                    Purpose::Answer,
                )));
            }
            Action::ToggleAction => {
                s.action = Some(match s.action() {
                    LoginAction::Login => LoginAction::Export,
                    LoginAction::Export => LoginAction::Login,
                });
            }
            Action::StartLogin => return self.start(),
            Action::EnterCode => {
                if s.open_challenge().is_none() {
                    return Effect::Say(Tone::Info, strings::SIM_NO_OPEN_CHALLENGE.to_owned());
                }

                s.code.clear();
                s.entering = true;
            }
            Action::UseAppCode => return self.use_app_code(),
            Action::Resend => return self.resend(),
            Action::ToggleRemember => s.remember = !s.remember,
            Action::Advance(secs) => {
                let Some(desk) = self.sandbox.desk_mut() else {
                    return Effect::None;
                };
                desk.advance_clock(TimeDelta::seconds(secs));
                let t = desk.now();
                s.log(
                    t,
                    Tone::Info,
                    format!(
                        "Clock moved +{}",
                        crate::domain::exact_span(TimeDelta::seconds(secs))
                    ),
                );
                return Effect::Refresh;
            }
            Action::PhoneClock(by) => {
                let limit = crate::desk::persona::PHONE_SKEW_LIMIT.num_seconds();
                s.phone_offset = (s.phone_offset + by).clamp(-limit, limit);
                let off = s.phone_offset;
                let said = if off == 0 {
                    "The simulated phone's clock is right.".to_owned()
                } else {
                    format!(
                        "The simulated phone's clock is now {} s {}.",
                        off.abs(),
                        if off < 0 { "slow" } else { "fast" }
                    )
                };
                return Effect::Many(vec![Effect::Say(Tone::Info, said), Effect::Refresh]);
            }
            Action::ResetClock => {
                s.start_over();
                let effect = self.fresh_sandbox(cx);
                self.sim
                    .log(cx.desk.now(), Tone::Info, strings::SIM_FRESH.to_owned());
                return effect;
            }
            _ => {}
        }
        Effect::None
    }

    fn start(&mut self) -> Effect {
        let Some(email) = self.sim.email.clone() else {
            return Effect::None;
        };
        let Some(desk) = self.sandbox.desk_mut() else {
            return Effect::None;
        };
        let s = &mut self.sim;
        let req = LoginRequest {
            email,
            password: PasswordInput::Assume,
            device: s.device().map(|d| DeviceRef::Id(d.id)),
            ip: Some(s.ip.clone()),
            action: s.action(),
            factor: s.factor,
        };
        let now = desk.now();
        let failed = match desk.start_login(&req) {
            Ok(start) => {
                let challenge = start.challenge_id.and_then(|id| desk.challenge(id).ok());
                let tone = match start.decision {
                    crate::domain::login::Outcome::Allowed => Tone::Ok,
                    crate::domain::login::Outcome::Challenge => Tone::Info,
                    crate::domain::login::Outcome::Denied => Tone::Error,
                };
                s.log(
                    now,
                    tone,
                    format!(
                        "{} from {}: {}",
                        req.action,
                        req.ip.unwrap_or_default(),
                        start.decision
                    ),
                );
                s.challenge = challenge;
                s.last_verify = None;
                s.start = Some(start);
                s.decided_at = Some(now);
                Effect::None
            }
            Err(e) => Effect::fail(&e),
        };
        Effect::Many(vec![failed, Effect::Refresh])
    }

    /// `y`: type what the authenticator app shows now, for an authenticator
    /// challenge only; any other challenge's code is in the phone or inbox,
    /// and no attempt is spent finding that out. A code already spent for
    /// its step (read out for a resync, or used by a login) is gone, so they
    /// wait for the next one. Unlike `c`, nothing is left open for typing.
    fn use_app_code(&mut self) -> Effect {
        let say = |text: &str| Effect::Say(Tone::Info, text.to_owned());
        let Some(c) = self.sim.open_challenge() else {
            return say(strings::SIM_NO_OPEN_CHALLENGE);
        };
        let Some(factor) = c.factor.clone() else {
            return say(strings::SIM_NOT_APP);
        };
        if factor.kind != FactorKind::Totp {
            return say(strings::SIM_NOT_APP);
        }
        let (Some(desk), Some(email)) = (self.sandbox.desk_mut(), self.sim.email.clone()) else {
            return Effect::None;
        };
        let skew = self.sim.phone_skew();
        // A code already spent for its step (read out for a resync, or
        // used by a login) is never typed: as a real user would, the phone
        // is watched until it shows its next code. A phone far behind may
        // show spent codes for a few steps; past the skew limit, say so.
        let mut waited = TimeDelta::zero();
        let mut spent_by = None;
        let shows = loop {
            let shows = match desk.app_shows(&email, factor.id, skew) {
                Ok(shows) => shows,
                Err(e) => return Effect::fail(&e),
            };
            let Some(spent) = shows.spent.clone() else {
                break shows;
            };
            if waited + shows.changes_in > crate::desk::persona::PHONE_SKEW_LIMIT
                || shows.changes_in <= TimeDelta::zero()
            {
                return Effect::Say(Tone::Info, strings::sim_all_spent(shows.changes_in));
            }
            spent_by.get_or_insert(spent);
            waited += shows.changes_in;
            desk.advance_clock(shows.changes_in);
        };
        if let Some(spent) = spent_by {
            let at = desk.now();
            self.sim
                .log(at, Tone::Info, strings::sim_waited_for_code(waited, &spent));
        }
        self.verify(&shows.code, false)
    }

    fn resend(&mut self) -> Effect {
        let Some(id) = self.sim.open_challenge().map(|c| c.id) else {
            return Effect::Say(Tone::Info, strings::SIM_NO_OPEN_CHALLENGE.to_owned());
        };
        let Some(desk) = self.sandbox.desk_mut() else {
            return Effect::None;
        };
        let now = desk.now();
        let failed = match desk.resend(id) {
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
                Effect::None
            }
            Err(e) => Effect::fail(&e),
        };
        Effect::Many(vec![failed, Effect::Refresh])
    }

    /// Check `code` at the challenge on screen. A code `typed` with `c`
    /// leaves the field open for another try while tries are left.
    fn verify(&mut self, code: &str, typed: bool) -> Effect {
        let Some(id) = self.sim.challenge.as_ref().map(|c| c.id) else {
            return Effect::None;
        };
        let Some(desk) = self.sandbox.desk_mut() else {
            return Effect::None;
        };
        let s = &mut self.sim;
        let now = desk.now();
        let remember = s.remember.then_some("Simulator browser");
        let failed = match desk.verify(id, code, remember) {
            Ok(v) => {
                let tone = if v.result == VerifyResult::Accepted {
                    Tone::Ok
                } else {
                    Tone::Error
                };
                if v.device_token.is_some() {
                    // The computer just remembered is now the one this browser is.
                    if let Some(email) = s.email.clone() {
                        s.devices = desk.devices(&email).unwrap_or_default();
                        if let Some(d) = s.devices.iter().max_by_key(|d| (d.last_seen_at, d.id)) {
                            s.computer = Computer::Known(d.id);
                        }
                    }
                }
                s.log(now, tone, v.message.clone());
                s.entering = typed
                    && v.result != VerifyResult::Accepted
                    && v.attempts_left > 0
                    && v.result != VerifyResult::Locked
                    && v.result != VerifyResult::Expired;
                s.code.clear();
                s.last_verify = Some(v);
                Effect::None
            }
            Err(e) => {
                s.code.clear();
                Effect::fail(&e)
            }
        };
        Effect::Many(vec![failed, Effect::Refresh])
    }
}

impl View for SimScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn typing(&self) -> bool {
        self.sim.entering
    }

    /// Only the keys that act now: before a user and their sandbox, picking
    /// one; then `c` while there is a challenge to type into, `y` while it
    /// is an authenticator's, `r` while another code can be asked for now,
    /// `<`/`>` while the phone has an app to show.
    fn offers(&self, action: Action) -> bool {
        let ready = self.sim.email.is_some() && self.sandbox.desk().is_some();
        let now = self.sandbox.desk().map(crate::desk::Desk::now);
        let typable = self.sim.typable();
        let kind = typable.and_then(|c| c.factor.as_ref()).map(|f| f.kind);
        match action {
            Action::PickUser | Action::Back => true,
            Action::Open => self.sim.email.is_some(),
            Action::EnterCode => ready && typable.is_some(),
            Action::UseAppCode => ready && kind == Some(FactorKind::Totp),
            Action::Resend => {
                ready
                    && self.sim.open_challenge().is_some_and(|c| {
                        matches!(
                            c.factor.as_ref().map(|f| f.kind),
                            Some(FactorKind::Sms | FactorKind::Email)
                        ) && c.resends_left > 0
                            && c.resend_ready_at
                                .is_none_or(|t| now.is_some_and(|n| n >= t))
                    })
            }
            Action::PhoneClock(_) => ready && self.sim.app.is_some(),
            _ => ready,
        }
    }

    /// Reload from the sandbox (nothing to do before it is ready).
    fn reload(&mut self, _: &Ctx) -> Result<Effect> {
        self.sim.reload(self.sandbox.desk())?;
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        if self.sim.entering {
            return self.code_key(action, cx);
        }
        match action {
            Action::Back => return Effect::Back,
            Action::PickUser => return Effect::Popup(Box::new(PickUser::new(cx.desk))),
            Action::Open => {
                return match self.sim.email.clone() {
                    Some(email) => Effect::Open(Screen::User(email)),
                    None => Effect::None,
                };
            }
            _ => {}
        }
        if self.sim.email.is_none() {
            return Effect::Say(Tone::Info, strings::SIM_NO_USER.to_owned());
        }
        if self.sandbox.desk().is_none() {
            return Effect::Say(Tone::Info, strings::SIM_PREPARING.to_owned());
        }
        self.sandbox_key(action, cx)
    }

    /// The IP typed for the login.
    fn answer(&mut self, value: &str, _: &Ctx) -> std::result::Result<Effect, String> {
        self.sim.set_ip(value)?;
        Ok(Effect::Refresh)
    }

    /// Whom to simulate, and the sandbox copies made for it.
    fn tell(&mut self, news: News, cx: &Ctx) -> std::result::Result<Effect, News> {
        match news {
            News::Simulate(email) => {
                let persona = cx.desk.persona(&email).ok();
                // Someone new whose story has a skewed phone: say so.
                let told = persona
                    .as_ref()
                    .filter(|p| p.from_story && !p.phone_skew.is_zero())
                    .filter(|_| self.sim.email.as_deref() != Some(&email))
                    .map(|p| strings::sim_story_phone(p.phone_skew.num_seconds()));
                self.sim.choose_user(&email, persona);
                if let Some(told) = told {
                    self.sim.log(cx.desk.now(), Tone::Info, told);
                }
                Ok(self.fresh_sandbox(cx))
            }
            News::Sandbox { ticket, desk } => Ok(self.sandbox_made(ticket, desk)),
            News::Done(done) => match *done {
                Done::Copied { ticket, result } => Ok(self.copied(ticket, result)),
                other => Err(News::Done(Box::new(other))),
            },
            other => Err(other),
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        draw::render(&self.sim, &self.sandbox, cx.theme, cx.desk.now(), area, buf);
    }

    /// Its countdowns, the authenticator's code and the sandbox's clock,
    /// once there is a sandbox.
    fn ticking(&self) -> bool {
        self.sandbox.desk().is_some()
    }

    fn lists(&self) -> bool {
        false
    }

    fn phone(&self) -> Option<(&str, i64)> {
        self.sim
            .email
            .as_deref()
            .map(|email| (email, self.sim.phone_offset))
    }
}
