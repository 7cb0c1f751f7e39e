//! One user: profile and enforcement, factors, trusted devices, backup codes
//! and recent activity, with every action a support agent takes from here.

mod actions;
mod panels;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;

use super::doctor::{doctor_key, fix_factor};
use crate::desk::doctor::DoctorReport;
use crate::desk::views::{FactorView, UserDetail};
use crate::desk::{Desk, Result};
use crate::domain::doctor::{Fix, SkewCheck};
use crate::tui::command::Command;
use crate::tui::keys::{Action, Binding, Tab, ch, fix_action, named};
use crate::tui::pages::step;
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::theme::Tone;
use crate::tui::view::{Ctx, Effect, News, Screen, Todo, View};

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
    ch('b', Action::RegenerateCodes, "new backup codes", true),
    ch('u', Action::Unlock, "unlock 2FA", true),
    ch(
        'e',
        Action::ToggleEveryLogin,
        "toggle \"ask on every login\"",
        false,
    ),
    ch('p', Action::SetPassword, "set password", false),
    ch(
        'M',
        Action::ChangePhone,
        "change mobile number (an SMS confirms it)",
        false,
    ),
    ch(
        'O',
        Action::TurnOff2fa,
        "turn 2FA off with their password",
        false,
    ),
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
    ch('N', Action::Reenrol, "replace a lost authenticator", false),
    ch(
        'C',
        Action::TreatAsCompromised,
        "treat as compromised",
        false,
    ),
    named(KeyCode::Esc, None, Action::Back, "back", true),
    ch(
        'T',
        Action::TempCode,
        "temporary access code (lost phone)",
        false,
    ),
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
    email: String,
    detail: UserDetail,
    focus: Focus,
    factor: usize,
    device: usize,
    activity: usize,
    /// The bottom-right panel shows the doctor (else the activity).
    show_doctor: bool,
    doctor: DoctorReport,
    finding: usize,
    /// The last code checked for this user (the doctor shows it).
    check: Option<SkewCheck>,
}

/// Say `text` in the status bar.
fn say(text: &str) -> Effect {
    Effect::Say(Tone::Info, text.to_owned())
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
            check: None,
        })
    }

    fn selected_factor(&self) -> Option<&FactorView> {
        self.detail.factors.get(self.factor)
    }

    /// The doctor in full, over this screen.
    fn open_doctor(&self) -> Effect {
        Effect::Open(Screen::Doctor {
            email: self.email.clone(),
            check: self.check.clone(),
            factor: self.selected_factor().map(|f| f.id),
        })
    }

    /// Select the factor a fix or key acts on, by its id.
    fn select_factor(&mut self, id: Option<i64>) {
        if let Some(i) = self.detail.factors.iter().position(|f| Some(f.id) == id) {
            self.focus = Focus::Factors;
            self.factor = i;
        }
    }

    /// Do what the doctor asks, as the keys here would: on the factor it
    /// names.
    fn todo(&mut self, todo: Todo, cx: &Ctx) -> Effect {
        match todo {
            Todo::Fix { fix, factor } => self.fix(fix, factor, cx),
            Todo::Key { action, factor } => {
                self.select_factor(factor);
                self.handle(action, cx)
            }
        }
    }

    /// Do what a finding's fix says, as its key here would, on `factor`.
    fn fix(&mut self, fix: Fix, factor: Option<i64>, cx: &Ctx) -> Effect {
        self.select_factor(factor);
        let action = match fix {
            Fix::AllowCountry => {
                return Effect::Many(vec![
                    Effect::GoTo(Tab::Policy),
                    Effect::Tell(News::EditSetting("sms_countries")),
                ]);
            }
            Fix::Nothing => return say("Nothing to change here: this is expected behaviour."),
            other => match fix_action(other) {
                Some(action) => action,
                None => return Effect::None,
            },
        };
        self.handle(action, cx)
    }

    /// Move the selection of the panel with the focus.
    fn step(&mut self, action: Action) {
        let d = &self.detail;
        match self.focus {
            Focus::Factors => self.factor = step(self.factor, d.factors.len(), action, 5),
            Focus::Devices => self.device = step(self.device, d.devices.len(), action, 5),
            Focus::Bottom if self.show_doctor => {
                self.finding = step(self.finding, self.doctor.findings.len(), action, 3);
            }
            Focus::Bottom => self.activity = step(self.activity, d.activity.len(), action, 5),
        }
    }
}

impl View for UserScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        self.detail = cx.desk.user(&self.email)?;
        self.doctor = cx.desk.diagnose(&self.email)?;
        self.finding = self
            .finding
            .min(self.doctor.findings.len().saturating_sub(1));
        self.factor = self.factor.min(self.detail.factors.len().saturating_sub(1));
        self.device = self.device.min(self.detail.devices.len().saturating_sub(1));
        self.activity = self
            .activity
            .min(self.detail.activity.len().saturating_sub(1));
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        let selected = self.selected_factor().map(|f| f.id);
        if let Some(effect) = doctor_key(action, &self.email, &self.detail.factors, selected, cx) {
            return effect;
        }
        let email = self.email.clone();
        match action {
            Action::Back => Effect::Back,
            Action::Doctor => self.open_doctor(),
            Action::ShowActivity => {
                self.show_doctor = !self.show_doctor;
                self.focus = Focus::Bottom;
                Effect::None
            }
            Action::Open if self.focus == Focus::Bottom && self.show_doctor => {
                match self.doctor.findings.get(self.finding) {
                    Some(f) => {
                        let factor = fix_action(f.fix).and_then(|a| fix_factor(f, a));
                        self.fix(f.fix, factor, cx)
                    }
                    None => Effect::None,
                }
            }
            Action::Left => {
                self.focus = match self.focus {
                    Focus::Factors => Focus::Bottom,
                    Focus::Devices => Focus::Factors,
                    Focus::Bottom => Focus::Devices,
                };
                Effect::None
            }
            Action::Right => {
                self.focus = match self.focus {
                    Focus::Factors => Focus::Devices,
                    Focus::Devices => Focus::Bottom,
                    Focus::Bottom => Focus::Factors,
                };
                Effect::None
            }
            a if a.moves() => {
                self.step(action);
                Effect::None
            }
            Action::Simulate => Effect::Many(vec![
                Effect::GoTo(Tab::Simulator),
                Effect::Tell(News::Simulate(email)),
                Effect::Refresh,
            ]),
            Action::EnrolTotp => Effect::Run(Command::EnrolTotp { email }),
            Action::AddSms => {
                let phone = self.detail.profile.phone.clone().unwrap_or_default();
                Effect::Popup(Box::new(Form::new(
                    "Add SMS factor",
                    vec![
                        format!("A code will be sent to confirm the number for {email}."),
                        "Phone in E.164 form, e.g. +14155550123:".to_owned(),
                    ],
                    &phone,
                    Purpose::AddSms { email },
                )))
            }
            Action::AddEmail => Effect::Popup(Box::new(Form::new(
                "Add email factor",
                vec![
                    "A code will be sent to confirm the address.".to_owned(),
                    "Address:".to_owned(),
                ],
                &email.clone(),
                Purpose::AddEmail { email },
            ))),
            Action::ConfirmFactor | Action::ToggleFactor | Action::RemoveFactor => {
                actions::factor(self, action, cx)
            }
            Action::RevokeDevice | Action::RevokeAllDevices => actions::device(self, action),
            _ => actions::account(self, action),
        }
    }

    /// A code check (the doctor opens to show it), or the doctor left: the
    /// last check made there, and the fix chosen there to do.
    fn tell(&mut self, news: News, cx: &Ctx) -> std::result::Result<Effect, News> {
        match news {
            News::Checked(check) => {
                self.check = Some(check);
                Ok(self.open_doctor())
            }
            News::Doctor { check, todo } => {
                self.check = check;
                Ok(todo.map_or(Effect::None, |todo| self.todo(todo, cx)))
            }
            other => Err(other),
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        panels::render(self, cx.theme, cx.desk.now(), area, buf);
    }

    /// A lock's release counts down.
    fn ticking(&self) -> bool {
        self.detail.lock.locked
    }

    fn crumb(&self) -> Option<&str> {
        Some(&self.email)
    }
}

#[cfg(test)]
mod tests {
    use super::KEYS;
    use crate::domain::doctor::Fix;
    use crate::tui::keys::{fix_action, fix_key, user_key};
    use ratatui::crossterm::event::KeyCode;

    /// The key the doctor names for a fix is the key that does it here.
    #[test]
    fn each_fix_s_key_does_it() {
        for fix in Fix::ALL {
            let Some(action) = fix_action(*fix) else {
                assert_eq!(fix_key(*fix), None);
                continue;
            };
            let key = user_key(action).unwrap_or_else(|| panic!("no key for {fix}"));
            let bound = KEYS.iter().find(|b| b.code == KeyCode::Char(key));
            assert_eq!(bound.map(|b| b.action), Some(action), "{fix}: {key}");
        }
    }
}
