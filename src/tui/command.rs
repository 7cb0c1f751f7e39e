//! The console's only writer to the real desk: screens and popups ask for a
//! [`Command`] as data, and the [`Outcome`] is what the app shows of it.

use std::fmt::Write as _;

use super::theme::Tone;
use crate::desk::devices::Which;
use crate::desk::recovery::Recovery;
use crate::desk::temp_code::IssuedTempCode;
use crate::desk::users::Edit;
use crate::desk::views::{ContactEnrolment, FactorView, OathView, TotpEnrolment};
use crate::desk::{Desk, DeskError, Result};
use crate::domain::doctor::SkewCheck;
use crate::domain::{FactorKind, UserStatus, totp};
use crate::store::Store;

/// A destructive change: it takes a reason, typed in the confirm popup, for
/// the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    ToggleFactor {
        email: String,
        id: i64,
        enable: bool,
    },
    RemoveFactor {
        email: String,
        id: i64,
    },
    /// One device, or all of them (`None`).
    RevokeDevice {
        email: String,
        id: Option<i64>,
    },
    RegenerateCodes {
        email: String,
    },
    Unlock {
        email: String,
    },
    SetStatus {
        email: String,
        disable: bool,
    },
    Reset2fa {
        email: String,
    },
    /// A lost phone: a new authenticator now, no grace.
    Reenrol {
        email: String,
    },
    /// The compromise response.
    Compromised {
        email: String,
    },
    ClearDrift {
        email: String,
        id: i64,
    },
    /// A policy setting, to a value already checked.
    SetPolicy {
        key: String,
        value: String,
    },
}

/// A change to the real desk.
#[derive(Debug)]
pub enum Command {
    Change {
        change: Change,
        reason: String,
    },
    /// Start enrolling an authenticator app (a pending factor).
    EnrolTotp {
        email: String,
    },
    /// Confirm a pending factor with its first code (a first authenticator
    /// app brings backup codes, when they have none).
    ConfirmFactor {
        email: String,
        id: i64,
        code: String,
    },
    AddSms {
        email: String,
        phone: String,
    },
    AddEmail {
        email: String,
        address: Option<String>,
    },
    /// "Ask on every login", on or off.
    EveryLogin {
        email: String,
        on: bool,
    },
    /// A password hashed on the worker thread.
    SetPassword {
        email: String,
        hash: String,
    },
    /// A new mobile number in one step: their SMS factor moves to it and
    /// waits for the code sent there (or, with none, one is added).
    ChangePhone {
        email: String,
        phone: String,
    },
    /// The user turns their own 2FA off with their password, as policy
    /// allows (one argon2id check, as a login's).
    TurnOff2fa {
        email: String,
        password: String,
    },
    CheckCode {
        email: String,
        code: String,
    },
    Resync {
        email: String,
        id: i64,
        first: String,
        second: String,
    },
    /// Issue a temporary access code (shown once).
    IssueTempCode(TempCodeRequest),
    /// The simulator's sandbox for `email`: from `copy`, made on the worker
    /// thread, or else copied here. Its own failure is in the outcome.
    Sandbox {
        ticket: u64,
        email: String,
        copy: Option<Store>,
    },
}

/// What came of a command.
#[derive(Debug)]
pub enum Outcome {
    /// A note for the status bar.
    Said(Tone, String),
    /// A later step failed, after an earlier one was done.
    Failed(DeskError),
    /// New backup codes, to be shown once.
    Codes { email: String, codes: Vec<String> },
    /// An authenticator enrolment started: its QR code and first code.
    Enrolling {
        email: String,
        enrolment: TotpEnrolment,
    },
    /// A factor whose code was sent, to be confirmed with it.
    Confirm {
        email: String,
        factor_id: i64,
        kind: FactorKind,
        /// How the confirmation names it (`SMS to +1 ******0123`).
        label: String,
    },
    /// A code the user read out, checked.
    Checked(SkewCheck),
    /// A temporary access code, to be shown once.
    TempCode(IssuedTempCode),
    /// The simulator's sandbox asked for with `ticket`.
    Sandbox {
        ticket: u64,
        desk: Result<Box<Desk>>,
    },
    /// Each in turn.
    Many(Vec<Outcome>),
}

/// A temporary access code, for the popup that shows it once.
fn issue_temp_code(desk: &mut Desk, ask: &TempCodeRequest) -> Result<Outcome> {
    let valid = crate::domain::temp_code::parse_valid(&ask.valid)
        .map_err(|e| DeskError::Usage(e.to_string()))?;
    Ok(Outcome::TempCode(desk.issue_temp_code(
        &ask.email,
        valid,
        &ask.reason,
    )?))
}

/// What the temporary access code popup asks for: for whom, how long it
/// works (as typed) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempCodeRequest {
    pub email: String,
    pub valid: String,
    pub reason: String,
}

/// A factor added and its first code sent: confirm it with that code.
fn sent(email: &str, e: &ContactEnrolment) -> Outcome {
    let via = if e.kind == FactorKind::Sms {
        "SMS to"
    } else {
        "Email to"
    };
    Outcome::Confirm {
        email: email.to_owned(),
        factor_id: e.factor_id,
        kind: e.kind,
        label: format!("{via} {}", e.destination),
    }
}

/// A new mobile number (seed 001): with an SMS factor, the factor moves to
/// it and waits for the code sent there; with none, one is added at it,
/// which sends a code too. Either way the confirmation popup follows.
fn change_phone(desk: &mut Desk, email: String, phone: &str) -> Result<Outcome> {
    let has_sms = desk
        .factors(&email)?
        .iter()
        .any(|f| f.kind == FactorKind::Sms);
    if !has_sms {
        return Ok(sent(&email, &desk.add_sms(&email, phone)?));
    }
    let edit = Edit {
        phone: Some(phone.to_owned()),
        ..Edit::default()
    };
    let edited = desk.edit_user_noting(&email, &edit)?;
    let Some(again) = edited.reconfirm else {
        return Ok(Outcome::Said(
            Tone::Ok,
            format!("{email}: {}.", edited.changes.join("; ")),
        ));
    };
    let said = Outcome::Said(
        Tone::Ok,
        format!("New number saved for {email}: type the code sent to it."),
    );
    let label = desk
        .factors(&email)?
        .into_iter()
        .find(|f| f.id == again.factor_id)
        .map_or_else(|| "the SMS factor".to_owned(), |f| f.label);
    Ok(Outcome::Many(vec![
        said,
        Outcome::Confirm {
            email,
            factor_id: again.factor_id,
            kind: FactorKind::Sms,
            label,
        },
    ]))
}

/// Run `command` on the real desk.
/// What a resync learned: a token's counter, or an app's clock drift.
fn resynced(f: &FactorView) -> String {
    match f.oath.as_ref().and_then(|o| o.counter) {
        Some(counter) => format!(
            "{}: its next code is expected at counter {counter}.",
            f.label
        ),
        None => format!(
            "{}: its clock runs {:+} s; later codes are checked with that drift.",
            f.label,
            f.drift_steps * f.oath.as_ref().map_or(totp::STEP, OathView::step_secs)
        ),
    }
}

pub fn run(desk: &mut Desk, command: Command) -> Result<Outcome> {
    Ok(match command {
        Command::Change { change, reason } => return run_change(desk, change, &reason),
        Command::IssueTempCode(ask) => issue_temp_code(desk, &ask)?,
        Command::EnrolTotp { email } => Outcome::Enrolling {
            enrolment: desk.enrol_totp(&email)?,
            email,
        },
        Command::ConfirmFactor { email, id, code } => {
            let c = desk.confirm_enrolment(&email, id, &code)?;
            let said = Outcome::Said(
                Tone::Ok,
                format!("{} confirmed for {email}.", c.factor.label),
            );
            match c.backup_codes {
                // Their first authenticator: backup codes too, shown once.
                Some(codes) => Outcome::Many(vec![said, Outcome::Codes { email, codes }]),
                None => said,
            }
        }
        Command::AddSms { email, phone } => sent(&email, &desk.add_sms(&email, &phone)?),
        Command::AddEmail { email, address } => {
            sent(&email, &desk.add_email(&email, address.as_deref())?)
        }
        Command::ChangePhone { email, phone } => change_phone(desk, email, &phone)?,
        Command::TurnOff2fa { email, password } => {
            let r = desk.turn_off_2fa(&email, &password, None)?;
            Outcome::Said(
                Tone::Ok,
                format!(
                    "2FA is off for {email}: {} factor(s), {} backup code(s) removed.",
                    r.factors_removed, r.codes_removed
                ),
            )
        }
        Command::EveryLogin { email, on } => {
            let edit = Edit {
                every_login: Some(on),
                ..Default::default()
            };
            desk.edit_user(&email, &edit)?;
            Outcome::Said(
                Tone::Ok,
                if on {
                    "Now asked for a code on every login."
                } else {
                    "Trusted devices skip the code again."
                }
                .to_owned(),
            )
        }
        Command::SetPassword { email, hash } => {
            desk.set_password(&email, &hash)?;
            Outcome::Said(Tone::Ok, format!("Password set for {email}."))
        }
        Command::CheckCode { email, code } => {
            let check = desk.check_code(&email, &code)?;
            Outcome::Many(vec![
                Outcome::Said(Tone::Info, check.message.clone()),
                Outcome::Checked(check),
            ])
        }
        Command::Resync {
            email,
            id,
            first,
            second,
        } => {
            let f = desk.resync(&email, id, &first, &second)?;
            Outcome::Said(Tone::Ok, resynced(&f))
        }
        Command::Sandbox {
            ticket,
            email,
            copy,
        } => Outcome::Sandbox {
            ticket,
            desk: match copy {
                Some(store) => desk.sandbox_on(store),
                None => desk.sandbox(&email),
            }
            .map(Box::new),
        },
    })
}

/// Carry out a confirmed destructive change.
fn run_change(desk: &mut Desk, change: Change, why: &str) -> Result<Outcome> {
    let said = match change {
        Change::ToggleFactor { email, id, enable } => {
            let f = desk.set_factor_enabled(&email, id, enable, why)?;
            format!("{} is now {}.", f.label, f.status)
        }
        Change::RemoveFactor { email, id } => {
            let f = desk.remove_factor(&email, id, why)?;
            format!("Removed {}.", f.label)
        }
        Change::RevokeDevice { email, id } => {
            let n = desk.revoke_devices(&email, id.map_or(Which::All, Which::One), why)?;
            format!("Revoked {n} device(s); the next login from them is challenged.")
        }
        Change::RegenerateCodes { email } => {
            let codes = desk.generate_codes_because(&email, why)?;
            return Ok(Outcome::Codes { email, codes });
        }
        Change::Unlock { email } => {
            desk.unlock(&email, why)?;
            format!("2FA unlocked for {email}.")
        }
        Change::SetStatus { email, disable } => {
            let status = if disable {
                UserStatus::Disabled
            } else {
                UserStatus::Active
            };
            let u = desk.set_user_status(&email, status, why)?;
            format!("{} is now {}.", u.email, u.status)
        }
        Change::ClearDrift { email, id } => {
            let f = desk.clear_drift(&email, id)?;
            format!("{}: drift cleared.", f.label)
        }
        Change::SetPolicy { key, value } => {
            let item = desk.set_policy(&key, &value, why)?;
            format!("{} = {}", item.key, item.value)
        }
        Change::Reenrol { email } => {
            let r = desk.reenrol(&email, why)?;
            return Ok(recovered(email, r));
        }
        Change::Compromised { email } => {
            let r = desk.treat_as_compromised(&email, why)?;
            return Ok(recovered(email, r));
        }
        Change::Reset2fa { email } => {
            let r = desk.reset_2fa(&email, why)?;
            format!(
                "2FA reset: {} factor(s) and {} code(s) removed, {} device(s) revoked.",
                r.factors_removed, r.codes_removed, r.devices_revoked
            )
        }
    };
    Ok(Outcome::Said(Tone::Ok, said))
}

/// A re-enrolment or compromise response done: what it did, then the new
/// authenticator's QR code to confirm with them (its code brings new
/// backup codes).
fn recovered(email: String, r: Recovery) -> Outcome {
    let mut said = format!(
        "{} factor(s) and {} backup code(s) removed",
        r.factors_removed, r.codes_removed
    );
    if r.new_password_required {
        let _ = write!(
            said,
            ", {} device(s) revoked; their next login must set a new password",
            r.devices_revoked
        );
    }
    said.push_str(". Confirm the new authenticator app with them.");
    Outcome::Many(vec![
        Outcome::Said(Tone::Ok, said),
        Outcome::Enrolling {
            email,
            enrolment: r.enrolment,
        },
    ])
}
