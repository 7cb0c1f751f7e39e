//! One user: profile and enforcement, factors, trusted devices, backup codes
//! and recent activity, with every action a support agent takes from here.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::doctor::DoctorReport;
use crate::desk::views::{DeviceState, DeviceView, UserDetail};
use crate::desk::{Desk, Result};
use crate::domain::doctor::SkewCheck;
use crate::domain::{FactorKind, FactorStatus, Time, UserStatus, relative, short};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popup::{Pending, Popup, Purpose};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, field, panel, styled_field, window, wrapped_rows};
use crate::tui::{App, Tab, Tone};

pub const KEYS: &[Binding] = &[
    named(
        KeyCode::Left,
        Some("←/→"),
        Action::Left,
        "switch panel",
        true,
    ),
    named(KeyCode::Right, None, Action::Right, "", false),
    ch('o', Action::Doctor, "doctor", true),
    ch('l', Action::Simulate, "simulate login", true),
    ch('a', Action::ShowActivity, "activity/doctor panel", false),
    ch('v', Action::CheckSkew, "check a code they read out", false),
    ch(
        'S',
        Action::Resync,
        "resync the authenticator's clock",
        false,
    ),
    ch('Z', Action::ClearDrift, "clear a learned drift", false),
    ch('t', Action::EnrolTotp, "enrol app", true),
    ch('s', Action::AddSms, "add SMS factor", false),
    ch('m', Action::AddEmail, "add email factor", false),
    ch(
        'c',
        Action::ConfirmFactor,
        "confirm the selected pending factor",
        false,
    ),
    ch(
        'd',
        Action::ToggleFactor,
        "disable/enable the selected factor",
        false,
    ),
    ch(
        'x',
        Action::RemoveFactor,
        "remove the selected factor",
        false,
    ),
    ch(
        'r',
        Action::RevokeDevice,
        "revoke the selected device",
        false,
    ),
    ch('R', Action::RevokeAllDevices, "revoke all devices", false),
    ch('g', Action::RegenerateCodes, "new backup codes", true),
    ch('u', Action::Unlock, "unlock 2FA", true),
    ch(
        'e',
        Action::ToggleEveryLogin,
        "toggle \"ask on every login\"",
        false,
    ),
    ch('p', Action::SetPassword, "set password", false),
    ch(
        'D',
        Action::ToggleAccount,
        "disable/enable the account",
        false,
    ),
    ch(
        'X',
        Action::Reset2fa,
        "reset 2FA (removes everything)",
        false,
    ),
    named(KeyCode::Esc, None, Action::Back, "back", true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Factors,
    Devices,
    /// The doctor panel, or the activity when it is showing.
    Bottom,
}

#[derive(Debug)]
pub struct UserScreen {
    pub email: String,
    pub detail: UserDetail,
    pub focus: Focus,
    pub factor: usize,
    pub device: usize,
    pub activity: usize,
    /// The bottom-right panel shows the doctor (else the activity).
    pub show_doctor: bool,
    pub doctor: DoctorReport,
    pub finding: usize,
    /// The doctor fills the screen.
    pub full_doctor: bool,
    /// The last code checked for this user.
    pub check: Option<SkewCheck>,
}

impl UserScreen {
    pub fn load(desk: &Desk, email: &str) -> Result<UserScreen> {
        let detail = desk.user(email)?;
        let doctor = desk.diagnose(email)?;
        Ok(UserScreen {
            email: detail.profile.email.clone(),
            detail,
            focus: Focus::Factors,
            factor: 0,
            device: 0,
            activity: 0,
            show_doctor: true,
            doctor,
            finding: 0,
            full_doctor: false,
            check: None,
        })
    }

    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        self.detail = desk.user(&self.email)?;
        self.doctor = desk.diagnose(&self.email)?;
        self.finding = self
            .finding
            .min(self.doctor.findings.len().saturating_sub(1));
        self.factor = self.factor.min(self.detail.factors.len().saturating_sub(1));
        self.device = self.device.min(self.detail.devices.len().saturating_sub(1));
        self.activity = self
            .activity
            .min(self.detail.activity.len().saturating_sub(1));
        Ok(())
    }
}

impl App {
    #[allow(clippy::too_many_lines)]
    pub(crate) fn user_action(&mut self, action: Action) {
        let Some(u) = &mut self.user else { return };
        let email = u.email.clone();
        let factor = u.detail.factors.get(u.factor).cloned();
        let device = u.detail.devices.get(u.device).cloned();
        let finding = u.doctor.findings.get(u.finding).map(|f| f.fix);
        if u.full_doctor {
            match action {
                Action::Back => u.full_doctor = false,
                Action::Open => {
                    if let Some(fix) = finding {
                        self.doctor_fix(fix);
                    }
                }
                Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom => {
                    u.finding = super::step(u.finding, u.doctor.findings.len(), action, 3);
                }
                other => {
                    self.doctor_action(other);
                }
            }
            return;
        }
        if self.doctor_action(action) {
            return;
        }
        let Some(u) = &mut self.user else { return };
        match action {
            Action::Back => self.user = None,
            Action::Doctor => u.full_doctor = true,
            Action::ShowActivity => {
                u.show_doctor = !u.show_doctor;
                u.focus = Focus::Bottom;
            }
            Action::Open if u.focus == Focus::Bottom && u.show_doctor => {
                if let Some(fix) = finding {
                    self.doctor_fix(fix);
                }
            }
            Action::Left => {
                u.focus = match u.focus {
                    Focus::Factors => Focus::Bottom,
                    Focus::Devices => Focus::Factors,
                    Focus::Bottom => Focus::Devices,
                };
            }
            Action::Right => {
                u.focus = match u.focus {
                    Focus::Factors => Focus::Devices,
                    Focus::Devices => Focus::Bottom,
                    Focus::Bottom => Focus::Factors,
                };
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => match u.focus {
                Focus::Factors => {
                    u.factor = super::step(u.factor, u.detail.factors.len(), action, 5);
                }
                Focus::Devices => {
                    u.device = super::step(u.device, u.detail.devices.len(), action, 5);
                }
                Focus::Bottom if u.show_doctor => {
                    u.finding = super::step(u.finding, u.doctor.findings.len(), action, 3);
                }
                Focus::Bottom => {
                    u.activity = super::step(u.activity, u.detail.activity.len(), action, 5);
                }
            },
            Action::Simulate => {
                self.entering_simulator();
                self.tab = Tab::Simulator;
                self.simulate(&email);
                self.refresh();
            }
            Action::EnrolTotp => match self.desk.enrol_totp(&email) {
                Ok(enrolment) => self.popup = Some(Popup::qr(&email, enrolment)),
                Err(e) => self.fail(&e),
            },
            Action::AddSms => {
                let phone = u.detail.profile.phone.clone().unwrap_or_default();
                self.popup = Some(Popup::input(
                    "Add SMS factor",
                    vec![
                        format!("A code will be sent to confirm the number for {email}."),
                        "Phone in E.164 form, e.g. +14155550123:".to_owned(),
                    ],
                    &phone,
                    Purpose::AddSms { email },
                ));
            }
            Action::AddEmail => {
                self.popup = Some(Popup::input(
                    "Add email factor",
                    vec![
                        "A code will be sent to confirm the address.".to_owned(),
                        "Address:".to_owned(),
                    ],
                    &email.clone(),
                    Purpose::AddEmail { email },
                ));
            }
            Action::ConfirmFactor => match factor {
                Some(f) if f.status == FactorStatus::Pending => {
                    self.popup = Some(self.confirm_popup(&email, f.id, f.kind, &f.label));
                }
                _ => self.say(
                    Tone::Info,
                    "Select a pending factor (←/→ to the factors, then ↑/↓) to confirm it.",
                ),
            },
            Action::ToggleFactor => match factor {
                Some(f) if f.status != FactorStatus::Pending => {
                    let enable = f.status == FactorStatus::Disabled;
                    self.popup = Some(Popup::confirm(
                        if enable {
                            "Enable factor"
                        } else {
                            "Disable factor"
                        },
                        vec![if enable {
                            format!(
                                "Enable {} for {email}? It can be used to log in again.",
                                f.label
                            )
                        } else {
                            format!(
                                "Disable {} for {email}? It stays enrolled but cannot be used.",
                                f.label
                            )
                        }],
                        Pending::ToggleFactor {
                            email,
                            id: f.id,
                            enable,
                        },
                    ));
                }
                Some(_) => self.say(
                    Tone::Info,
                    "A pending factor is confirmed (c) or removed (x), not disabled.",
                ),
                None => self.say(Tone::Info, "No factor selected."),
            },
            Action::RemoveFactor => match factor {
                Some(f) => {
                    self.popup = Some(Popup::confirm(
                        "Remove factor",
                        vec![format!(
                            "Remove {} ({}) from {email} for good?",
                            f.label, f.status
                        )],
                        Pending::RemoveFactor { email, id: f.id },
                    ));
                }
                None => self.say(Tone::Info, "No factor selected."),
            },
            Action::RevokeDevice => match device {
                Some(d) if d.state != DeviceState::Revoked => {
                    self.popup = Some(Popup::confirm(
                        "Revoke device",
                        vec![format!(
                            "Revoke \"{}\" (last seen from {})? Its next login is challenged.",
                            d.label, d.last_ip
                        )],
                        Pending::RevokeDevice {
                            email,
                            id: Some(d.id),
                        },
                    ));
                }
                Some(_) => self.say(Tone::Info, "That device is already revoked."),
                None => self.say(Tone::Info, "No device selected (←/→ to the devices)."),
            },
            Action::RevokeAllDevices => {
                self.popup = Some(Popup::confirm(
                    "Revoke all devices",
                    vec![format!(
                        "Revoke every remembered computer of {email}? Each next login is challenged."
                    )],
                    Pending::RevokeDevice { email, id: None },
                ));
            }
            Action::RegenerateCodes => {
                let left = u.detail.codes.remaining;
                if u.detail.codes.total == 0 {
                    self.run_pending(&Pending::RegenerateCodes { email }, "");
                } else {
                    self.popup = Some(Popup::confirm(
                        "New backup codes",
                        vec![format!(
                            "Make {} new backup codes for {email}? The {left} unused ones stop working.",
                            crate::domain::backup::BATCH
                        )],
                        Pending::RegenerateCodes { email },
                    ));
                }
            }
            Action::Unlock => {
                let lock = &u.detail.lock;
                let state = if lock.locked {
                    format!("2FA is locked after {} failures.", lock.failures)
                } else {
                    format!("2FA is not locked ({} recent failure(s)).", lock.failures)
                };
                self.popup = Some(Popup::confirm(
                    "Unlock 2FA",
                    vec![
                        state,
                        format!("Clear the lock and failure count for {email} now?"),
                    ],
                    Pending::Unlock { email },
                ));
            }
            Action::ToggleAccount => {
                let disable = u.detail.profile.status == UserStatus::Active;
                self.popup = Some(Popup::confirm(
                    if disable {
                        "Disable account"
                    } else {
                        "Enable account"
                    },
                    vec![if disable {
                        format!("Disable {email}? They cannot log in until enabled again.")
                    } else {
                        format!("Enable {email} again?")
                    }],
                    Pending::SetStatus { email, disable },
                ));
            }
            Action::Reset2fa => {
                let d = &u.detail;
                self.popup = Some(Popup::confirm(
                    "Reset 2FA",
                    vec![
                        format!(
                            "Remove all {} factor(s) and {} backup code(s) of {email}, and revoke {} device(s)?",
                            d.factors.len(),
                            d.codes.total,
                            d.devices
                                .iter()
                                .filter(|x| x.state != DeviceState::Revoked)
                                .count()
                        ),
                        "They must enrol again. Use this when the phone is lost and no code works."
                            .to_owned(),
                    ],
                    Pending::Reset2fa { email },
                ));
            }
            Action::ToggleEveryLogin => {
                let every = !u.detail.profile.every_login;
                let edit = crate::desk::users::Edit {
                    every_login: Some(every),
                    ..Default::default()
                };
                match self.desk.edit_user(&email, &edit) {
                    Ok(_) => {
                        self.say(
                            Tone::Ok,
                            if every {
                                "Now asked for a code on every login."
                            } else {
                                "Trusted devices skip the code again."
                            },
                        );
                        self.refresh();
                    }
                    Err(e) => self.fail(&e),
                }
            }
            Action::SetPassword => {
                self.popup = Some(Popup::secret(
                    "Set password",
                    vec![format!("New password for {email} (at least 8 characters):")],
                    Purpose::SetPassword { email },
                ));
            }
            _ => {}
        }
    }

    /// The popup that takes a pending factor's first code.
    pub(crate) fn confirm_popup(
        &self,
        email: &str,
        id: i64,
        kind: FactorKind,
        label: &str,
    ) -> Popup {
        let mut lines = vec![format!("Confirm {label} with its first code.")];
        match kind {
            FactorKind::Totp => {
                if let Ok(code) = self
                    .desk
                    .authenticator_code(email, id, chrono::TimeDelta::zero())
                {
                    lines.push(format!(
                        "(The simulated app shows {} {} now.)",
                        &code[..3],
                        &code[3..]
                    ));
                }
                lines.push("Type the 6 digits the authenticator app shows now:".to_owned());
            }
            FactorKind::Sms | FactorKind::Email => {
                let latest = self
                    .desk
                    .outbox(&crate::desk::records::RecordQuery {
                        user: Some(email.to_owned()),
                        kind: None,
                        before: None,
                        limit: 1,
                    })
                    .ok()
                    .and_then(|m| m.into_iter().next());
                if let Some(m) = latest {
                    lines.push(format!(
                        "The simulated {} shows: \"{}\"",
                        if kind == FactorKind::Sms {
                            "phone"
                        } else {
                            "inbox"
                        },
                        m.text
                    ));
                    if let Some(reason) = m.reason {
                        lines.push(format!("(It was not delivered: {reason}.)"));
                    }
                }
                lines.push("Code:".to_owned());
            }
        }
        Popup::input(
            "Confirm factor",
            lines,
            "",
            Purpose::ConfirmFactor {
                email: email.to_owned(),
                id,
            },
        )
    }
}

fn when(t: Option<Time>, now: Time) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| format!("{} ({})", short(t), relative(t, now)),
    )
}

/// The profile panel's height at most: the factor, device, code and activity
/// panels below need the rest.
const PROFILE_MAX: u16 = 9;

/// From this width the factor and device lists sit side by side, each still
/// as wide as the lists stacked in an 80-column terminal; narrower, each
/// takes the whole width, so a masked destination or a device's address
/// and times are not cut.
const SIDE_BY_SIDE: u16 = 160;

/// Rows the code and doctor/activity panels keep at least under the lists.
const BOTTOM_MIN: u16 = 7;

pub fn render(s: &UserScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let d = &s.detail;
    // The profile takes the rows its lines wrap to, so the standing or a long
    // phone line does not push "last login" out of the panel.
    let profile = profile_lines(d, theme, now);
    let rows = wrapped_rows(&profile, area.width.saturating_sub(2), true);
    let [top, below] = Layout::vertical([
        Constraint::Length((rows + 2).clamp(7, PROFILE_MAX)),
        Constraint::Fill(1),
    ])
    .areas(area);
    render_profile(d, profile, theme, top, buf);
    if s.full_doctor {
        super::doctor::render_full(&s.doctor, s.finding, s.check.as_ref(), theme, below, buf);
        return;
    }
    // Each list takes the rows it needs (an empty one says so in two), as
    // far as the code and doctor panels keep their least.
    let need = |n: usize, empty: usize| {
        u16::try_from(if n == 0 { empty } else { n } + 2).unwrap_or(u16::MAX)
    };
    let (factors_h, devices_h) = (need(d.factors.len(), 2), need(d.devices.len(), 1));
    let (factors, devices, bottom) = if area.width >= SIDE_BY_SIDE {
        let room = below.height.saturating_sub(BOTTOM_MIN).max(4);
        let [middle, bottom] = Layout::vertical([
            Constraint::Length(factors_h.max(devices_h).min(room)),
            Constraint::Fill(1),
        ])
        .areas(below);
        let [factors, devices] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(middle);
        (factors, devices, bottom)
    } else {
        // Stacked: share what the bottom panels leave, neither list less
        // than three rows (one item) while the other could give some up.
        let room = below.height.saturating_sub(BOTTOM_MIN).max(6);
        let (mut f, mut dv) = (factors_h, devices_h);
        while f + dv > room && (f > 3 || dv > 3) {
            if f >= dv { f -= 1 } else { dv -= 1 }
        }
        let [factors, devices, bottom] = Layout::vertical([
            Constraint::Length(f),
            Constraint::Length(dv),
            Constraint::Fill(1),
        ])
        .areas(below);
        (factors, devices, bottom)
    };
    render_factors(s, theme, factors, buf);
    render_devices(s, theme, now, devices, buf);
    let [codes, activity] =
        Layout::horizontal([Constraint::Length(30), Constraint::Fill(1)]).areas(bottom);
    render_codes(d, theme, now, codes, buf);
    if s.show_doctor {
        let focused = s.focus == Focus::Bottom;
        super::doctor::render_panel(&s.doctor, s.finding, focused, theme, activity, buf);
    } else {
        render_activity(s, theme, activity, buf);
    }
}

fn render_profile(
    d: &UserDetail,
    lines: Vec<Line<'static>>,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let p = &d.profile;
    let title = if p.name.is_empty() {
        p.email.clone()
    } else {
        format!("{} · {}", p.email, p.name)
    };
    Paragraph::new(lines)
        .block(panel(&title, theme, false))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

fn profile_lines(d: &UserDetail, theme: Theme, now: Time) -> Vec<Line<'static>> {
    let p = &d.profile;
    let status = if p.status == UserStatus::Disabled {
        theme.bad()
    } else {
        theme.ok()
    };
    let standing = if d.grace_over {
        theme.bad()
    } else if d.enrol_by.is_some() {
        theme.warn()
    } else {
        theme.text()
    };
    let lock = if d.lock.hard {
        Span::styled(
            format!(
                "LOCKED after {} failures in a row: only an admin can unlock (u)",
                d.lock.streak
            ),
            theme.bad(),
        )
    } else if d.lock.locked {
        Span::styled(
            format!(
                "LOCKED after {} failures, releases {}",
                d.lock.failures,
                d.lock
                    .locked_until
                    .map_or_else(String::new, |t| relative(t, now))
            ),
            theme.bad(),
        )
    } else {
        Span::raw(format!(
            "not locked ({} failure(s) before a lock)",
            d.lock.failures_left
        ))
    };
    let phone = p.phone.as_ref().map_or_else(
        || "none".to_owned(),
        |ph| {
            format!(
                "{ph} ({})",
                if p.phone_verified {
                    "verified"
                } else {
                    "not verified"
                }
            )
        },
    );
    let lines = vec![
        Line::from(vec![
            Span::styled("role ", theme.dim()),
            Span::raw(p.role.as_str()),
            Span::styled("   status ", theme.dim()),
            Span::styled(p.status.as_str(), status),
            Span::styled("   ask on every login ", theme.dim()),
            Span::raw(if p.every_login { "yes" } else { "no" }),
            Span::styled("   phone ", theme.dim()),
            Span::raw(phone),
        ]),
        styled_field("2FA", d.standing.clone(), standing, theme),
        Line::from(vec![Span::styled("lock: ", theme.dim()), lock]),
        field("created", when(Some(p.created_at), now), theme),
        field("last login", when(p.last_login_at, now), theme),
    ];
    lines
}

/// The widest of `texts`, in characters.
fn widest<'a>(texts: impl IntoIterator<Item = &'a String>) -> usize {
    texts
        .into_iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
}

fn render_factors(s: &UserScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Focus::Factors;
    let block = panel(
        &format!("Factors ({})", s.detail.factors.len()),
        theme,
        focused,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let factors = &s.detail.factors;
    if factors.is_empty() {
        Paragraph::new(vec![
            Line::styled("No second factor.", theme.warn()),
            Line::styled("t authenticator app · s SMS · m email", theme.dim()),
        ])
        .render(inner, buf);
        return;
    }
    let w = usize::from(inner.width);
    let drifts: Vec<String> = factors
        .iter()
        .map(|f| {
            if f.drift_steps == 0 {
                String::new()
            } else {
                format!(" drift {:+}s", f.drift_steps * 30)
            }
        })
        .collect();
    // The whole label (the masked number or address) matters most: the last
    // use gives up the word "used", then the time of day, before it is cut.
    let formats: [fn(Option<Time>) -> String; 3] = [
        |t| {
            t.map_or_else(
                || "never used".to_owned(),
                |t| format!("used {}", t.format("%m-%d %H:%M")),
            )
        },
        |t| {
            t.map_or_else(
                || "unused".to_owned(),
                |t| t.format("%m-%d %H:%M").to_string(),
            )
        },
        |t| t.map_or_else(|| "unused".to_owned(), |t| t.format("%m-%d").to_string()),
    ];
    let label_need = widest(factors.iter().map(|f| &f.label));
    let drift_w = widest(&drifts);
    let used: Vec<String> = formats
        .iter()
        .map(|format| {
            factors
                .iter()
                .map(|f| format(f.last_used_at))
                .collect::<Vec<_>>()
        })
        .find(|used| 1 + 9 + label_need + 2 + widest(used) + drift_w <= w)
        .unwrap_or_else(|| factors.iter().map(|f| formats[2](f.last_used_at)).collect());
    let used_w = widest(&used);
    let label_w = label_need.min(w.saturating_sub(1 + 9 + 2 + used_w + drift_w));
    for (row, i) in window(factors.len(), s.factor, usize::from(inner.height)).enumerate() {
        let f = &factors[i];
        let style = match f.status {
            FactorStatus::Active => theme.ok(),
            FactorStatus::Pending => theme.warn(),
            FactorStatus::Disabled => theme.dim(),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {:<9}", f.status.as_str()), style),
            Span::raw(format!("{:<label_w$}  ", cut(&f.label, label_w))),
            Span::styled(format!("{:<used_w$}", used[i]), theme.dim()),
            Span::styled(drifts[i].clone(), theme.warn()),
        ]);
        draw_row(buf, inner, row, &line, focused && i == s.factor, theme);
    }
}

/// A device's trust: when it runs out, ran out, or was revoked; long, then
/// short.
fn trust_texts(d: &DeviceView, now: Time) -> [String; 2] {
    match d.state {
        DeviceState::Trusted => [
            format!("trusted until {}", d.trusted_until.format("%m-%d")),
            format!("until {}", d.trusted_until.format("%m-%d")),
        ],
        DeviceState::Expired => [
            format!("expired {}", relative(d.trusted_until, now)),
            format!("expired {}", d.trusted_until.format("%m-%d")),
        ],
        DeviceState::Revoked => [
            d.revoked_at.map_or_else(
                || "revoked".to_owned(),
                |t| format!("revoked {}", t.format("%m-%d")),
            ),
            "revoked".to_owned(),
        ],
    }
}

fn render_devices(s: &UserScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Focus::Devices;
    let block = panel(
        &format!("Trusted devices ({})", s.detail.devices.len()),
        theme,
        focused,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let devices = &s.detail.devices;
    if devices.is_empty() {
        Paragraph::new(Line::styled("No remembered computers.", theme.dim())).render(inner, buf);
        return;
    }
    let w = usize::from(inner.width);
    // Label, last IP, last seen and trust, in columns. Where they do not fit,
    // the times shorten first (no time of day, shorter trust words), then
    // the label is cut, never the address.
    let seen_formats: [fn(Time) -> String; 3] = [
        |t| format!("seen {}", t.format("%m-%d %H:%M")),
        |t| format!("seen {}", t.format("%m-%d")),
        |t| t.format("%m-%d").to_string(),
    ];
    let trust: Vec<[String; 2]> = devices.iter().map(|d| trust_texts(d, now)).collect();
    let label_need = widest(devices.iter().map(|d| &d.label)).min(24);
    let ip_w = widest(devices.iter().map(|d| &d.last_ip));
    let fits =
        |seen_w: usize, trust_w: usize| 1 + label_need + 2 + ip_w + 2 + seen_w + 2 + trust_w <= w;
    let mut choice = (2, 1);
    'find: for (si, format) in seen_formats.iter().enumerate() {
        let seen_w = widest(
            &devices
                .iter()
                .map(|d| format(d.last_seen_at))
                .collect::<Vec<_>>(),
        );
        for ti in 0..2 {
            if fits(seen_w, widest(trust.iter().map(|t| &t[ti]))) {
                choice = (si, ti);
                break 'find;
            }
        }
    }
    let seen: Vec<String> = devices
        .iter()
        .map(|d| seen_formats[choice.0](d.last_seen_at))
        .collect();
    let (seen_w, trust_w) = (widest(&seen), widest(trust.iter().map(|t| &t[choice.1])));
    let label_w = widest(devices.iter().map(|d| &d.label))
        .min(w.saturating_sub(1 + 2 + ip_w + 2 + seen_w + 2 + trust_w));
    for (row, i) in window(devices.len(), s.device, usize::from(inner.height)).enumerate() {
        let d = &devices[i];
        let style = match d.state {
            DeviceState::Trusted => theme.ok(),
            DeviceState::Expired => theme.warn(),
            DeviceState::Revoked => theme.dim(),
        };
        let line = Line::from(vec![
            Span::raw(format!(" {:<label_w$}  ", cut(&d.label, label_w))),
            Span::raw(format!("{:<ip_w$}  ", d.last_ip)),
            Span::styled(format!("{:<seen_w$}  ", seen[i]), theme.dim()),
            Span::styled(trust[i][choice.1].clone(), style),
        ]);
        draw_row(buf, inner, row, &line, focused && i == s.device, theme);
    }
}

fn render_codes(d: &UserDetail, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let block = panel("Backup codes", theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let c = &d.codes;
    let mut lines = Vec::new();
    if c.total == 0 {
        lines.push(Line::styled("None generated (g).", theme.warn()));
    } else {
        let style = if c.remaining == 0 {
            theme.bad()
        } else if c.low {
            theme.warn()
        } else {
            theme.ok()
        };
        lines.push(Line::styled(
            format!("{} of {} left", c.remaining, c.total),
            style,
        ));
        let mut used: Vec<_> = c
            .codes
            .iter()
            .filter_map(|u| u.used_at.map(|t| (t, u)))
            .collect();
        used.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        for (t, u) in used {
            lines.push(Line::styled(
                format!("#{:<2} used {}", u.position, relative(t, now)),
                theme.dim(),
            ));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

fn render_activity(s: &UserScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Focus::Bottom;
    let block = panel("Recent activity", theme, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    for (row, i) in window(
        s.detail.activity.len(),
        s.activity,
        usize::from(inner.height),
    )
    .enumerate()
    {
        let e = &s.detail.activity[i];
        let kind = cut(&e.kind, 16);
        let detail_w = w.saturating_sub(12 + 17 + 1);
        let line = Line::from(vec![
            Span::styled(format!(" {} ", e.at.format("%m-%d %H:%M")), theme.dim()),
            Span::raw(format!("{kind:<17}")),
            Span::raw(cut(&e.detail, detail_w)),
        ]);
        draw_row(buf, inner, row, &line, focused && i == s.activity, theme);
    }
}
