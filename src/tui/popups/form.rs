//! A one-field form (a phone, an address, a code, a masked password, a setting,
//! a file name, an IP): Enter hands the value on; a refusal stays, saying why.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::confirm::Confirm;
use super::{CLOSE_KEYS, field_popup};
use crate::desk::Desk;
use crate::desk::DeskError;
use crate::desk::records::RecordQuery;
use crate::domain::FactorKind;
use crate::tui::command::{Change, Command};
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding};
use crate::tui::strings;
use crate::tui::theme::Tone;
use crate::tui::view::{Ctx, Effect, Popup};
use crate::tui::worker::Job;

/// What the value is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    AddSms {
        email: String,
    },
    AddEmail {
        email: String,
    },
    ConfirmFactor {
        email: String,
        id: i64,
    },
    SetPassword {
        email: String,
    },
    /// A new mobile number: the SMS factor is confirmed again at it.
    ChangePhone {
        email: String,
    },
    /// The user's own password, to turn their 2FA off.
    TurnOff2fa {
        email: String,
    },
    PolicyValue {
        key: String,
    },
    CheckCode {
        email: String,
    },
    Resync {
        email: String,
        factor_id: i64,
    },
    /// For the screen under the form, which asked for it.
    Answer,
}

impl Purpose {
    /// What Enter does with `value`, or why the value will not do.
    fn submit(&self, value: &str, cx: &Ctx) -> Result<Effect, String> {
        Ok(match self {
            Purpose::AddSms { email: e } => Effect::Run(Command::AddSms {
                email: e.clone(),
                phone: value.to_owned(),
            }),
            Purpose::AddEmail { email: e } => Effect::Run(Command::AddEmail {
                email: e.clone(),
                address: Some(value.to_owned()).filter(|v| !v.trim().is_empty()),
            }),
            Purpose::ConfirmFactor { email: e, id } => Effect::Run(Command::ConfirmFactor {
                email: e.clone(),
                id: *id,
                code: value.to_owned(),
            }),
            Purpose::SetPassword { email: e } => {
                crate::domain::password::validate(value).map_err(|e| e.to_string())?;
                Effect::Many(vec![
                    Effect::Job(Job::HashPassword {
                        email: e.clone(),
                        password: value.to_owned(),
                    }),
                    Effect::Say(Tone::Info, "Hashing the password…".to_owned()),
                ])
            }
            Purpose::ChangePhone { email: e } => Effect::Run(Command::ChangePhone {
                email: e.clone(),
                phone: value.to_owned(),
            }),
            Purpose::TurnOff2fa { email: e } => Effect::Run(Command::TurnOff2fa {
                email: e.clone(),
                password: value.to_owned(),
            }),
            Purpose::PolicyValue { key } => confirm_policy(key, value, cx)?,
            Purpose::CheckCode { email: e } => Effect::Run(Command::CheckCode {
                email: e.clone(),
                code: value.to_owned(),
            }),
            Purpose::Resync {
                email: e,
                factor_id,
            } => {
                let mut codes = value.split_whitespace();
                let (Some(first), Some(second), None) = (codes.next(), codes.next(), codes.next())
                else {
                    return Err(
                        "Type two codes separated by a space, like 123456 654321.".to_owned()
                    );
                };
                Effect::Run(Command::Resync {
                    email: e.clone(),
                    id: *factor_id,
                    first: first.to_owned(),
                    second: second.to_owned(),
                })
            }
            Purpose::Answer => Effect::Answer(value.to_owned()),
        })
    }
}

/// A policy value checked against the rules (as the desk will check it),
/// then the confirmation that asks for a reason: a setting can turn 2FA
/// off for everyone.
fn confirm_policy(key: &str, value: &str, cx: &Ctx) -> Result<Effect, String> {
    let said = |e: DeskError| strings::desk_error(&e);
    let policy = cx.desk.policy().map_err(said)?;
    let before = policy.get(key).unwrap_or_default();
    let mut next = policy.clone();
    next.set(key, value)
        .map_err(|e| said(DeskError::Policy(e)))?;
    let after = next.get(key).unwrap_or_default();
    if after == before {
        return Err(strings::policy_unchanged(key, &before));
    }
    let mut lines = vec![strings::policy_change(key, &before, &after)];
    if key == "enforce" {
        lines.push(strings::policy_enforce(&after, next.grace_days));
    }
    Ok(Effect::Popup(Box::new(Confirm::new(
        strings::POLICY_CONFIRM_TITLE,
        lines,
        Change::SetPolicy {
            key: key.to_owned(),
            value: after,
        },
    ))))
}

#[derive(Debug)]
pub struct Form {
    title: String,
    lines: Vec<String>,
    input: Input,
    masked: bool,
    purpose: Purpose,
    error: Option<String>,
}

impl Form {
    /// A form with `value` typed in already.
    pub fn new(title: &str, lines: Vec<String>, value: &str, purpose: Purpose) -> Form {
        Form {
            title: title.to_owned(),
            lines,
            input: Input::new(value),
            masked: false,
            purpose,
            error: None,
        }
    }

    /// A form whose value is shown as dots (a password).
    pub fn secret(title: &str, lines: Vec<String>, purpose: Purpose) -> Form {
        Form {
            masked: true,
            ..Form::new(title, lines, "", purpose)
        }
    }

    /// The form that takes a pending factor's first code, with what the
    /// simulated app, phone or inbox shows.
    pub fn confirm_factor(
        desk: &Desk,
        email: &str,
        id: i64,
        kind: FactorKind,
        label: &str,
    ) -> Form {
        let mut lines = vec![format!("Confirm {label} with its first code.")];
        match kind {
            FactorKind::Totp => {
                if let Ok(code) = desk.authenticator_code(email, id, chrono::TimeDelta::zero()) {
                    lines.push(format!(
                        "(The simulated app shows {} {} now.)",
                        &code[..3],
                        &code[3..]
                    ));
                }
                lines.push("Type the 6 digits the authenticator app shows now:".to_owned());
            }
            FactorKind::Sms | FactorKind::Email => {
                let latest = desk
                    .outbox(&RecordQuery {
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
        Form::new(
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

impl Popup for Form {
    fn keys(&self) -> &'static [Binding] {
        CLOSE_KEYS
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        if self.input.edit(action) {
            return Effect::None;
        }
        match action {
            Action::Submit => match self.purpose.submit(self.input.text(), cx) {
                Ok(effect) => effect,
                Err(why) => {
                    self.error = Some(why);
                    Effect::None
                }
            },
            Action::Cancel => Effect::Back,
            _ => Effect::None,
        }
    }

    fn failed(&mut self, why: String) -> bool {
        self.error = Some(why);
        true
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        let theme = cx.theme;
        let mut body: Vec<Line> = self.lines.iter().map(|l| Line::from(l.clone())).collect();
        body.push(self.input.line(self.masked, true));
        if let Some(e) = &self.error {
            body.push(Line::styled(e.clone(), theme.bad()));
        }
        body.push(Line::styled("Enter confirm · Esc cancel", theme.dim()));
        field_popup(body, &self.title, theme, area, buf);
    }
}
