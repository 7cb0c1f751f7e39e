//! What the user screen's keys ask for: on the factor or device highlighted
//! (only while its panel has the focus), or on the whole account.

use super::{Focus, UserScreen, say};
use crate::desk::views::DeviceState;
use crate::domain::{FactorStatus, UserStatus};
use crate::tui::command::{Change, Command};
use crate::tui::keys::Action;
use crate::tui::popups::confirm::Confirm;
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::strings;
use crate::tui::view::{Ctx, Effect};

/// Their remembered computers not revoked yet.
fn live_devices(s: &UserScreen) -> usize {
    s.detail
        .devices
        .iter()
        .filter(|x| x.state != DeviceState::Revoked)
        .count()
}

fn confirm(title: &str, lines: Vec<String>, change: Change) -> Effect {
    Effect::Popup(Box::new(Confirm::new(title, lines, change)))
}

/// The actions on the highlighted factor: only while the factors have the
/// focus, so a key never acts on a row that is not highlighted.
pub(super) fn factor(s: &UserScreen, action: Action, cx: &Ctx) -> Effect {
    if s.focus != Focus::Factors {
        return say(strings::FACTOR_FOCUS);
    }
    let email = s.email.clone();
    let Some(f) = s.selected_factor() else {
        return say("No factor selected.");
    };
    // Disabling or removing the last active factor leaves them with none:
    // say what that means for their logins before it is done.
    let last = f.status == FactorStatus::Active
        && s.detail
            .factors
            .iter()
            .filter(|x| x.status == FactorStatus::Active)
            .count()
            == 1;
    let warn = |mut lines: Vec<String>| {
        if last {
            lines.push(String::new());
            lines.push(strings::LAST_FACTOR.to_owned());
            lines.push(s.detail.without_factor.clone());
        }
        lines
    };
    match action {
        Action::ConfirmFactor if f.status == FactorStatus::Pending => Effect::Popup(Box::new(
            Form::confirm_factor(cx.desk, &email, f.id, f.kind, &f.label),
        )),
        Action::ConfirmFactor => say(strings::CONFIRM_WHICH),
        Action::ToggleFactor if f.status == FactorStatus::Pending => {
            say("A pending factor is confirmed (c) or removed (x), not disabled.")
        }
        Action::ToggleFactor => {
            let enable = f.status == FactorStatus::Disabled;
            let line = if enable {
                format!(
                    "Enable {} for {email}? It can be used to log in again.",
                    f.label
                )
            } else {
                format!(
                    "Disable {} for {email}? It stays enrolled but cannot be used.",
                    f.label
                )
            };
            confirm(
                if enable {
                    "Enable factor"
                } else {
                    "Disable factor"
                },
                warn(vec![line]),
                Change::ToggleFactor {
                    email,
                    id: f.id,
                    enable,
                },
            )
        }
        Action::RemoveFactor => confirm(
            "Remove factor",
            warn(vec![format!(
                "Remove {} ({}) from {email} for good?",
                f.label, f.status
            )]),
            Change::RemoveFactor { email, id: f.id },
        ),
        _ => Effect::None,
    }
}

/// The actions on the highlighted device, or all of them: none asks for a
/// reason when there is nothing to revoke.
pub(super) fn device(s: &UserScreen, action: Action) -> Effect {
    let email = s.email.clone();
    let d = &s.detail;
    match action {
        Action::RevokeDevice if s.focus != Focus::Devices => say(strings::DEVICE_FOCUS),
        Action::RevokeDevice => match d.devices.get(s.device) {
            Some(dv) if dv.state != DeviceState::Revoked => confirm(
                "Revoke device",
                vec![format!(
                    "Revoke \"{}\" (last seen from {})? Its next login is challenged.",
                    dv.label, dv.last_ip
                )],
                Change::RevokeDevice {
                    email,
                    id: Some(dv.id),
                },
            ),
            Some(_) => say("That device is already revoked."),
            None => say("They have no remembered computers."),
        },
        Action::RevokeAllDevices => {
            let live = live_devices(s);
            if live == 0 {
                return say(strings::NOTHING_TO_REVOKE);
            }
            confirm(
                "Revoke all devices",
                vec![format!(
                    "Revoke the {live} remembered computer(s) of {email}? Each next login is challenged."
                )],
                Change::RevokeDevice { email, id: None },
            )
        }
        _ => Effect::None,
    }
}

/// The actions on the whole account: codes, the lock, the account
/// itself, 2FA, the password.
pub(super) fn account(s: &UserScreen, action: Action) -> Effect {
    let email = s.email.clone();
    let d = &s.detail;
    match action {
        // The first batch needs no reason: nothing is lost.
        Action::RegenerateCodes if d.codes.total == 0 => Effect::Many(vec![
            Effect::Run(Command::Change {
                change: Change::RegenerateCodes { email },
                reason: String::new(),
            }),
            Effect::Refresh,
        ]),
        Action::RegenerateCodes => confirm(
            "New backup codes",
            vec![format!(
                "Make {} new backup codes for {email}? The {} unused ones stop working.",
                crate::domain::backup::BATCH,
                d.codes.remaining
            )],
            Change::RegenerateCodes { email },
        ),
        Action::Unlock => unlock(s),
        Action::TempCode => {
            Effect::Popup(Box::new(crate::tui::popups::temp_code::Ask::new(&email)))
        }
        Action::ToggleAccount => {
            let disable = d.profile.status == UserStatus::Active;
            confirm(
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
                Change::SetStatus { email, disable },
            )
        }
        Action::Reset2fa | Action::Reenrol | Action::TreatAsCompromised => second_factor(s, action),
        Action::ToggleEveryLogin => Effect::Many(vec![
            Effect::Run(Command::EveryLogin {
                email,
                on: !d.profile.every_login,
            }),
            Effect::Refresh,
        ]),
        Action::SetPassword => Effect::Popup(Box::new(Form::secret(
            "Set password",
            vec![format!("New password for {email} (at least 8 characters):")],
            Purpose::SetPassword { email },
        ))),
        Action::ChangePhone => Effect::Popup(Box::new(Form::new(
            strings::CHANGE_PHONE_TITLE,
            strings::change_phone_lines(&email, d.profile.phone.as_deref()),
            "",
            Purpose::ChangePhone { email },
        ))),
        Action::TurnOff2fa => Effect::Popup(Box::new(Form::secret(
            strings::TURN_OFF_TITLE,
            strings::turn_off_lines(&email),
            Purpose::TurnOff2fa { email },
        ))),
        _ => Effect::None,
    }
}

/// Unlock, when there is something to unlock: a reason is asked for only then.
fn unlock(s: &UserScreen) -> Effect {
    let email = s.email.clone();
    let lock = &s.detail.lock;
    let state = if lock.locked {
        format!("2FA is locked after {} failures.", lock.failures)
    } else if lock.failures > 0 {
        format!(
            "2FA is not locked; {} failure(s) count towards a lock.",
            lock.failures
        )
    } else if lock.password_banned_until.is_some() {
        "Their password checks are refused after too many wrong passwords.".to_owned()
    } else {
        return say(strings::NOTHING_TO_UNLOCK);
    };
    let what = if lock.password_banned_until.is_some() {
        "the lock, failure count and password ban"
    } else {
        "the lock and failure count"
    };
    confirm(
        "Unlock 2FA",
        vec![state, format!("Clear {what} for {email} now?")],
        Change::Unlock { email },
    )
}

/// The ways to start their second factor afresh: reset (a new grace
/// period), replace a lost phone, respond to a compromise.
fn second_factor(s: &UserScreen, action: Action) -> Effect {
    let email = s.email.clone();
    let d = &s.detail;
    let live_devices = live_devices(s);
    match action {
        Action::Reset2fa => confirm(
            "Reset 2FA",
            vec![
                format!(
                    "Remove all {} factor(s) and {} backup code(s) of {email}, and revoke {live_devices} device(s)?",
                    d.factors.len(),
                    d.codes.total,
                ),
                "They must enrol again, within a new grace period. For a lost phone, N replaces it at once instead."
                    .to_owned(),
            ],
            Change::Reset2fa { email },
        ),
        Action::Reenrol => confirm(
            "Replace lost authenticator",
            vec![
                format!(
                    "Remove all {} factor(s) and {} backup code(s) of {email}, and start a new authenticator app now?",
                    d.factors.len(),
                    d.codes.total,
                ),
                strings::REENROL_WHAT.to_owned(),
            ],
            Change::Reenrol { email },
        ),
        Action::TreatAsCompromised => confirm(
            "Treat as compromised",
            vec![
                format!(
                    "Revoke {live_devices} remembered computer(s), cancel open logins, and replace the {} factor(s) and {} backup code(s) of {email} with a new authenticator app?",
                    d.factors.len(),
                    d.codes.total,
                ),
                strings::COMPROMISED_WHAT.to_owned(),
            ],
            Change::Compromised { email },
        ),
        _ => Effect::None,
    }
}
