//! The login simulator: pick a user, a computer, an IP and an action; see the
//! decision and its reasons, the challenge with its countdown, attempts and
//! resend cooldown, the simulated phone and inbox, and move the clock.

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use crate::desk::records::RecordQuery;
use crate::desk::views::{
    ChallengeView, DeliveryView, DeviceState, DeviceView, LoginStart, ResendOutcome, ResendResult,
    VerifyOutcome, VerifyResult,
};
use crate::desk::{Desk, Result};
use crate::domain::login::Outcome;
use crate::domain::{Action as LoginAction, FactorKind, Time, relative, totp};
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popup::{Popup, Purpose};
use crate::tui::theme::Theme;
use crate::tui::widgets::{bar, cut, mmss, panel, wrapped_rows};
use crate::tui::{App, Tone, strings};

pub const KEYS: &[Binding] = &[
    ch('u', Action::PickUser, "pick user", true),
    ch('d', Action::CycleDevice, "computer", true),
    ch('i', Action::EditIp, "IP", true),
    ch('a', Action::ToggleAction, "login/export", false),
    named(
        KeyCode::Enter,
        None,
        Action::StartLogin,
        "start login",
        true,
    ),
    ch('c', Action::EnterCode, "type a code", true),
    ch('y', Action::UseAppCode, "enter the app's code", false),
    ch(
        '<',
        Action::PhoneClock(-30),
        "the phone's clock 30 s slower",
        false,
    ),
    ch(
        '>',
        Action::PhoneClock(30),
        "the phone's clock 30 s faster",
        false,
    ),
    ch('r', Action::Resend, "request another code", true),
    ch(' ', Action::ToggleRemember, "remember this computer", false),
    named(
        KeyCode::F(5),
        None,
        Action::Advance(30),
        "clock +30 s",
        false,
    ),
    ch('+', Action::Advance(30), "clock +30 s", false),
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
    ch('0', Action::ResetClock, "clock back to the start", false),
    ch('l', Action::Open, "open the user", false),
];

/// Which computer the simulated login comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Computer {
    #[default]
    New,
    Known(usize),
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
    pub computer: Computer,
    pub ip: String,
    pub action: Option<LoginAction>,
    pub start: Option<LoginStart>,
    pub challenge: Option<ChallengeView>,
    pub last_verify: Option<VerifyOutcome>,
    pub last_resend: Option<ResendOutcome>,
    pub code: Input,
    pub entering: bool,
    pub remember: bool,
    pub messages: Vec<DeliveryView>,
    /// The code the user's authenticator shows now, and for which factor.
    pub app_code: Option<(i64, String)>,
    /// How far the simulated phone's clock is off, in seconds.
    pub phone_offset: i64,
    pub events: Vec<Event>,
}

impl SimScreen {
    pub fn typing(&self) -> bool {
        self.entering
    }

    fn action(&self) -> LoginAction {
        self.action.unwrap_or(LoginAction::Login)
    }

    /// Start over with another user: their remembered computer if they have one.
    pub fn choose_user(&mut self, desk: &Desk, email: &str) {
        // The same person's phone keeps its clock; another person's is right.
        let phone_offset = if self.email.as_deref() == Some(email) {
            self.phone_offset
        } else {
            0
        };
        *self = SimScreen {
            phone_offset,
            email: Some(email.to_owned()),
            events: Vec::new(),
            ..SimScreen::default()
        };
        self.devices = desk.devices(email).unwrap_or_default();
        let best = self
            .devices
            .iter()
            .position(|d| d.state == DeviceState::Trusted)
            .or(if self.devices.is_empty() {
                None
            } else {
                Some(0)
            });
        self.computer = best.map_or(Computer::New, Computer::Known);
        self.ip = self.default_ip();
    }

    fn default_ip(&self) -> String {
        match self.computer {
            Computer::Known(i) => self
                .devices
                .get(i)
                .map_or_else(|| strings::NEW_IP.to_owned(), |d| d.last_ip.clone()),
            Computer::New => strings::NEW_IP.to_owned(),
        }
    }

    pub fn set_ip(&mut self, ip: &str) -> std::result::Result<(), String> {
        let ip = ip.trim();
        ip.parse::<std::net::IpAddr>().map_err(|_| {
            format!("`{ip}` is not an IP address: use the form 203.0.113.9 or 2001:db8::1")
        })?;
        ip.clone_into(&mut self.ip);
        Ok(())
    }

    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        let Some(email) = self.email.clone() else {
            return Ok(());
        };
        self.devices = desk.devices(&email)?;
        if let Computer::Known(i) = self.computer
            && i >= self.devices.len()
        {
            self.computer = Computer::New;
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
        let factor = self
            .challenge
            .as_ref()
            .and_then(|c| c.factor.clone())
            .filter(|f| f.kind == FactorKind::Totp)
            .or_else(|| {
                desk.factors(&email)
                    .ok()?
                    .into_iter()
                    .find(|f| f.kind == FactorKind::Totp)
                    .map(|f| crate::desk::views::FactorBrief {
                        id: f.id,
                        kind: f.kind,
                        label: f.label,
                    })
            });
        let offset = TimeDelta::seconds(self.phone_offset);
        self.app_code = factor.and_then(|f| {
            desk.authenticator_code(&email, f.id, offset)
                .ok()
                .map(|c| (f.id, c))
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
        let now = self.desk.now();
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
        if self.sim.email.is_none()
            && !matches!(
                action,
                Action::PickUser | Action::Advance(_) | Action::ResetClock
            )
        {
            if action != Action::Back {
                self.say(Tone::Info, strings::SIM_NO_USER);
            }
            return;
        }
        match action {
            Action::PickUser => {
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
            Action::CycleDevice => {
                let s = &mut self.sim;
                s.computer = match s.computer {
                    Computer::New if !s.devices.is_empty() => Computer::Known(0),
                    Computer::Known(i) if i + 1 < s.devices.len() => Computer::Known(i + 1),
                    _ => Computer::New,
                };
                s.ip = s.default_ip();
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
                if self
                    .sim
                    .challenge
                    .as_ref()
                    .is_some_and(|c| c.state == "open")
                {
                    self.sim.code.clear();
                    self.sim.entering = true;
                } else {
                    self.say(
                        Tone::Info,
                        "No open challenge: press Enter to start a login.",
                    );
                }
            }
            Action::UseAppCode => match self.sim.app_code.clone() {
                Some((_, code)) if self.sim.challenge.is_some() => self.sim_verify(&code),
                _ => self.say(
                    Tone::Info,
                    "No authenticator app to read a code from, or no challenge open.",
                ),
            },
            Action::Resend => {
                let Some(id) = self.sim.challenge.as_ref().map(|c| c.id) else {
                    self.say(Tone::Info, "No challenge to send another code for.");
                    return;
                };
                match self.desk.resend(id) {
                    Ok(r) => {
                        let tone = if r.result == ResendResult::Sent {
                            Tone::Ok
                        } else {
                            Tone::Error
                        };
                        self.sim
                            .log(now, tone, format!("Request another code: {}", r.message));
                        self.sim.last_resend = Some(r);
                    }
                    Err(e) => self.fail(&e),
                }
                self.refresh();
            }
            Action::ToggleRemember => self.sim.remember = !self.sim.remember,
            Action::Advance(secs) => {
                self.desk.advance_clock(TimeDelta::seconds(secs));
                let t = self.desk.now();
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
                let offset = self.desk.clock().offset();
                self.desk.advance_clock(-offset);
                let t = self.desk.now();
                self.sim
                    .log(t, Tone::Info, "Clock back to the start".to_owned());
                self.refresh();
            }
            Action::Open => {
                if let Some(email) = self.sim.email.clone() {
                    self.open_user(&email);
                }
            }
            _ => {}
        }
    }

    fn sim_start(&mut self) {
        let Some(email) = self.sim.email.clone() else {
            return;
        };
        let device = match self.sim.computer {
            Computer::Known(i) => self.sim.devices.get(i).map(|d| DeviceRef::Id(d.id)),
            Computer::New => None,
        };
        let req = LoginRequest {
            email,
            password: PasswordInput::Assume,
            device,
            ip: Some(self.sim.ip.clone()),
            action: self.sim.action(),
            factor: None,
        };
        let now = self.desk.now();
        match self.desk.start_login(&req) {
            Ok(start) => {
                let tone = match start.decision {
                    Outcome::Allowed => Tone::Ok,
                    Outcome::Challenge => Tone::Info,
                    Outcome::Denied => Tone::Error,
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
                self.sim.challenge = None;
                self.sim.last_verify = None;
                self.sim.last_resend = None;
                if let Some(id) = start.challenge_id {
                    self.sim.challenge = self.desk.challenge(id).ok();
                }
                self.sim.start = Some(start);
            }
            Err(e) => self.fail(&e),
        }
        self.refresh();
    }

    fn sim_verify(&mut self, code: &str) {
        let Some(id) = self.sim.challenge.as_ref().map(|c| c.id) else {
            return;
        };
        let now = self.desk.now();
        let remember = self.sim.remember.then_some("Simulator browser");
        match self.desk.verify(id, code, remember) {
            Ok(v) => {
                let tone = if v.result == VerifyResult::Accepted {
                    Tone::Ok
                } else {
                    Tone::Error
                };
                self.sim.log(now, tone, v.message.clone());
                self.sim.entering = v.result != VerifyResult::Accepted
                    && v.attempts_left > 0
                    && v.result != VerifyResult::Locked
                    && v.result != VerifyResult::Expired;
                self.sim.code.clear();
                if v.device_token.is_some() {
                    // The computer just remembered is now the one this browser is.
                    if let Some(email) = self.sim.email.clone() {
                        self.sim.devices = self.desk.devices(&email).unwrap_or_default();
                        let newest = self
                            .sim
                            .devices
                            .iter()
                            .enumerate()
                            .max_by_key(|(_, d)| (d.last_seen_at, d.id))
                            .map(|(i, _)| i);
                        if let Some(i) = newest {
                            self.sim.computer = Computer::Known(i);
                        }
                    }
                }
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

pub fn render(
    s: &SimScreen,
    theme: Theme,
    now: Time,
    offset: TimeDelta,
    area: Rect,
    buf: &mut Buffer,
) {
    let [setup, main, clock] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_setup(s, theme, setup, buf);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
    // The challenge panel takes the rows its lines wrap to (a lock message is
    // three), the decision and its log the rest, keeping three for themselves.
    let inner_w = left.width.saturating_sub(2);
    let lines = challenge_lines(s, theme, now, inner_w);
    let rows = wrapped_rows(&lines, inner_w, true) + 2;
    let [decision, challenge] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(rows.min(left.height.saturating_sub(5))),
    ])
    .areas(left);
    render_decision(s, theme, decision, buf);
    render_challenge(s, lines, theme, challenge, buf);
    let [app, phone] = Layout::vertical([Constraint::Length(5), Constraint::Fill(1)]).areas(right);
    render_app(s, theme, now, app, buf);
    render_phone(s, theme, now, phone, buf);
    let offset_text = if offset.is_zero() {
        "not moved".to_owned()
    } else {
        format!(
            "{}{}",
            if offset > TimeDelta::zero() { "+" } else { "-" },
            crate::domain::exact_span(offset)
        )
    };
    let mut spans = vec![
        Span::styled(" Clock ", theme.dim()),
        Span::styled(crate::domain::stamp(now), theme.heading()),
        Span::styled(format!(" ({offset_text})"), theme.dim()),
    ];
    // The clock keys that fit, whole: a narrow window drops the last ones
    // rather than cutting one in half (they are all in `?` too).
    let mut width: usize = spans.iter().map(Span::width).sum();
    for (key, what) in [
        ("F5", "+30 s"),
        ("F6", "+5 min"),
        ("F7", "+1 day"),
        ("F8", "+14 days"),
        ("0", "reset"),
    ] {
        let hint = [
            Span::raw("  "),
            Span::styled(key, theme.key()),
            Span::raw(format!(" {what}")),
        ];
        let w: usize = hint.iter().map(Span::width).sum();
        if width + w > usize::from(clock.width) {
            break;
        }
        width += w;
        spans.extend(hint);
    }
    buf.set_line(clock.x, clock.y, &Line::from(spans), clock.width);
}

fn render_setup(s: &SimScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let block = panel("Login simulator", theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(email) = &s.email else {
        Paragraph::new(Line::styled(strings::SIM_NO_USER, theme.warn())).render(inner, buf);
        return;
    };
    let computer = match s.computer {
        Computer::New => strings::NEW_DEVICE.to_owned(),
        Computer::Known(i) => s
            .devices
            .get(i)
            .map_or_else(String::new, |d| format!("\"{}\" ({})", d.label, d.state)),
    };
    let lines = vec![
        Line::from(vec![
            Span::styled("user ", theme.dim()),
            Span::styled(email.clone(), theme.heading()),
            Span::styled("   action ", theme.dim()),
            Span::raw(s.action().as_str()),
            Span::styled("   remember this computer ", theme.dim()),
            Span::raw(if s.remember { "[x]" } else { "[ ]" }),
        ]),
        Line::from(vec![
            Span::styled("from ", theme.dim()),
            Span::raw(computer),
            Span::styled(" at IP ", theme.dim()),
            Span::raw(s.ip.clone()),
        ]),
    ];
    Paragraph::new(lines).render(inner, buf);
}

fn render_decision(s: &SimScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let block = panel("Decision", theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = Vec::new();
    match &s.start {
        None => lines.push(Line::styled(
            if s.email.is_some() {
                strings::SIM_START
            } else {
                ""
            },
            theme.dim(),
        )),
        Some(start) => {
            let style = match start.decision {
                Outcome::Allowed => theme.ok(),
                Outcome::Challenge => theme.warn(),
                Outcome::Denied => theme.bad(),
            };
            lines.push(Line::from(vec![
                Span::styled(start.decision.as_str().to_uppercase(), style),
                Span::styled(
                    format!("  {} for {}", start.action, start.user),
                    theme.dim(),
                ),
            ]));
            for r in &start.reasons {
                lines.push(Line::from(format!("• {r}")));
            }
        }
    }
    // The newest events that fit under a blank row and the heading, counted
    // in the rows they wrap to, so the latest one is never the one cut off.
    let used = wrapped_rows(&lines, inner.width, false);
    let mut room = inner.height.saturating_sub(used + 2);
    let mut recent = Vec::new();
    for e in s.events.iter().rev() {
        let style = match e.tone {
            Tone::Ok => theme.ok(),
            Tone::Error => theme.bad(),
            Tone::Info => theme.text(),
        };
        let line = Line::from(vec![
            Span::styled(format!("{} ", e.at.format("%H:%M:%S")), theme.dim()),
            Span::styled(e.text.clone(), style),
        ]);
        let rows = wrapped_rows(std::slice::from_ref(&line), inner.width, false);
        if rows > room {
            break;
        }
        room -= rows;
        recent.push(line);
    }
    if !recent.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled("What happened", theme.heading()));
        lines.extend(recent.into_iter().rev());
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

fn render_challenge(
    s: &SimScreen,
    lines: Vec<Line<'static>>,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let title = s
        .challenge
        .as_ref()
        .map_or_else(|| "Challenge".to_owned(), |c| format!("Challenge {}", c.id));
    let block = panel(&title, theme, s.entering);
    let inner = block.inner(area);
    block.render(area, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// The challenge panel's lines for a panel `inner_width` wide.
fn challenge_lines(s: &SimScreen, theme: Theme, now: Time, inner_width: u16) -> Vec<Line<'static>> {
    let Some(c) = &s.challenge else {
        return vec![Line::styled(strings::SIM_NO_CHALLENGE, theme.dim())];
    };
    let factor = c
        .factor
        .as_ref()
        .map_or_else(|| "-".to_owned(), |f| f.label.clone());
    let width = usize::from(inner_width).saturating_sub(30).clamp(5, 20);
    let expiry = expiry_line(c, theme, now, width);
    let resend = resend_line(c, theme, now);
    let mut code = vec![Span::styled("code: ", theme.dim())];
    if s.entering {
        code.extend(s.code.line(false, true).spans);
        code.push(Span::styled("  Enter verify · Esc stop", theme.dim()));
    } else {
        code.push(Span::styled("press c to type it", theme.dim()));
    }
    let mut lines = vec![
        Line::from(vec![
            Span::styled("factor ", theme.dim()),
            Span::raw(factor),
        ]),
        expiry,
        Line::from(vec![
            Span::styled("attempts left ", theme.dim()),
            Span::styled(
                c.attempts_left.to_string(),
                if c.attempts_left <= 1 {
                    theme.bad()
                } else {
                    theme.text()
                },
            ),
        ]),
    ];
    if c.state == "open" {
        lines.push(resend);
        lines.push(Line::from(code));
    } else {
        // Neither another code nor typing one works on a closed challenge.
        lines.push(Line::styled(strings::SIM_CLOSED, theme.dim()));
    }
    if let Some(v) = &s.last_verify {
        let style = if v.result == VerifyResult::Accepted {
            theme.ok()
        } else {
            theme.bad()
        };
        lines.push(Line::styled(
            format!("{}: {}", v.result.as_str().to_uppercase(), v.message),
            style,
        ));
    }
    lines
}

fn expiry_line(c: &ChallengeView, theme: Theme, now: Time, width: usize) -> Line<'static> {
    let total = c.expires_at - c.created_at.min(c.expires_at);
    let left = c.expires_at - now;
    if c.state != "open" {
        let style = if c.state == "accepted" {
            theme.ok()
        } else {
            theme.bad()
        };
        return Line::styled(format!("closed: {}", c.state), style);
    }
    if c.expired {
        return Line::styled(
            format!("EXPIRED {}", relative(c.expires_at, now)),
            theme.bad(),
        );
    }
    let style = if left.num_seconds() < 60 {
        theme.warn()
    } else {
        theme.ok()
    };
    Line::from(vec![
        Span::styled("expires in ", theme.dim()),
        Span::styled(mmss(left), theme.heading()),
        Span::raw(" "),
        Span::styled(bar(left, total.max(left), width), style),
    ])
}

fn resend_line(c: &ChallengeView, theme: Theme, now: Time) -> Line<'static> {
    if c.factor
        .as_ref()
        .is_some_and(|f| f.kind == FactorKind::Totp)
    {
        return Line::styled(
            "(authenticator codes are not sent: nothing to resend)",
            theme.dim(),
        );
    }
    match c.resend_ready_at {
        _ if c.resends_left == 0 => Line::styled("r Request another code: none left", theme.bad()),
        Some(at) if at > now => Line::styled(
            format!(
                "r Request another code in {} s ({} left)",
                (at - now).num_seconds(),
                c.resends_left
            ),
            theme.dim(),
        ),
        _ => Line::from(vec![
            Span::styled("r", theme.key()),
            Span::raw(format!(" Request another code ({} left)", c.resends_left)),
        ]),
    }
}

fn render_app(s: &SimScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let title = match s.phone_offset {
        0 => "Authenticator app".to_owned(),
        o => format!(
            "Authenticator app (phone {} s {})",
            o.abs(),
            if o < 0 { "slow" } else { "fast" }
        ),
    };
    let block = panel(&title, theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let lines = match &s.app_code {
        None => vec![Line::styled("No authenticator app enrolled.", theme.dim())],
        Some((_, code)) => {
            let left = totp::seconds_left(now);
            let code = format!("{} {}", &code[..3], &code[3..]);
            let changes = format!("   changes in {left:>2} s ");
            // The countdown bar gets what the code and its words leave, up to
            // ten cells (at 80x24 the panel is 32 wide).
            let room = usize::from(inner.width).saturating_sub(code.len() + changes.len());
            vec![
                Line::from(vec![
                    Span::styled(code, theme.title()),
                    Span::styled(changes, theme.dim()),
                    Span::styled(
                        bar(
                            TimeDelta::seconds(left),
                            TimeDelta::seconds(totp::STEP),
                            room.min(10),
                        ),
                        theme.ok(),
                    ),
                ]),
                Line::styled("y enters it · < > shift the phone's clock", theme.dim()),
            ]
        }
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

fn render_phone(s: &SimScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let block = panel("Phone and inbox", theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    if s.messages.is_empty() {
        Paragraph::new(Line::styled("No messages.", theme.dim())).render(inner, buf);
        return;
    }
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    for m in &s.messages {
        let (mark, style) = if m.valid_now {
            ("◀ valid now", theme.ok())
        } else if m.status == crate::store::deliveries::Status::Failed {
            ("not delivered", theme.bad())
        } else {
            ("", theme.dim())
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {} {} ", m.channel, m.destination, relative(m.at, now)),
                theme.dim(),
            ),
            Span::styled(mark, style),
        ]));
        lines.push(Line::styled(
            two_rows(&m.text, w),
            if m.valid_now {
                theme.text()
            } else {
                theme.dim()
            },
        ));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// `text` cut (with `…`) to what word-wraps into two rows of `width`: cut to
/// `2 × width` characters, wrapping would carry a last fragment to a third.
fn two_rows(text: &str, width: usize) -> String {
    let Ok(w) = u16::try_from(width) else {
        return cut(text, width * 2);
    };
    let mut n = width * 2;
    loop {
        let shown = cut(text, n);
        if n == 0 || wrapped_rows(&[Line::from(shown.as_str())], w, true) <= 2 {
            return shown;
        }
        n -= 1;
    }
}
