//! The CLI's handlers for one account: users, factors, backup codes and
//! trusted devices.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use super::{emit, open, password, reply, role, say};
use crate::cli::out::{self, json};
use crate::cli::{Cli, CodesCommand, DeviceCommand, FactorCommand, FilterArg, UserCommand, exit};
use crate::desk::devices::Which;
use crate::desk::recovery::Recovery;
use crate::desk::users::{Edit, ListQuery, NewUser};
use crate::desk::{Desk, Result};
use crate::domain::UserStatus;
use crate::store::user_list::Filter;

pub(super) fn user(cli: &Cli, c: &UserCommand) -> Result<i32> {
    match c {
        UserCommand::Add {
            email,
            name,
            role: r,
            phone,
            password_stdin,
        } => {
            let mut desk = open(cli)?;
            let password_hash = if *password_stdin {
                Some(desk.hash_password(&password("Password")?)?)
            } else {
                None
            };
            let u = desk.add_user(&NewUser {
                email: email.clone(),
                name: name.clone(),
                role: Some(role(*r)),
                phone: phone.clone(),
                password_hash,
            })?;
            reply(cli, &u, || format!("Added {} ({}).", u.email, u.role));
        }
        UserCommand::List {
            search,
            filter,
            limit,
            after,
        } => user_list(cli, search.clone(), *filter, *limit, after.clone())?,
        UserCommand::Show { email } => {
            let desk = open(cli)?;
            let d = desk.user(email)?;
            reply(cli, &d, || out::user(&d));
        }
        UserCommand::Edit {
            email,
            name,
            role: r,
            phone,
            every_login,
        } => {
            let mut desk = open(cli)?;
            let e = desk.edit_user_noting(
                email,
                &Edit {
                    name: name.clone(),
                    role: r.map(role),
                    every_login: *every_login,
                    phone: phone.clone(),
                },
            )?;
            reply(cli, &e, || {
                let mut text = format!("Updated {}: {}.", e.user.email, e.changes.join("; "));
                if let Some(again) = e.reconfirm {
                    let _ = write!(
                        text,
                        "\nUntil it is confirmed, SMS codes cannot be used to log in. Read the code with `factordesk outbox --user {0}`, then:\n  factordesk factor confirm {0} {1} CODE",
                        e.user.email, again.factor_id
                    );
                }
                text
            });
        }
        UserCommand::TurnOff2fa { email, ip, .. } => {
            let mut desk = open(cli)?;
            desk.set_actor(email);
            let typed = password("Password")?;
            let r = desk.turn_off_2fa(email, &typed, ip.as_deref())?;
            reply(cli, &r, || {
                format!(
                    "2FA is off for {email}: {} factor(s) and {} backup code(s) removed; their codes no longer work.",
                    r.factors_removed, r.codes_removed
                )
            });
        }
        UserCommand::Password { email, .. } => {
            let mut desk = open(cli)?;
            let hash = desk.hash_password(&password("New password")?)?;
            desk.set_password(email, &hash)?;
            reply(
                cli,
                &serde_json::json!({"email": email, "password": "set"}),
                || format!("Password set for {email}."),
            );
        }
        UserCommand::Disable { .. }
        | UserCommand::Enable { .. }
        | UserCommand::Unlock { .. }
        | UserCommand::Reset2fa { .. }
        | UserCommand::Reenrol { .. }
        | UserCommand::Compromised { .. } => user_admin(cli, c)?,
        UserCommand::TempCode {
            email,
            valid,
            reason,
        } => temp_code(cli, email, *valid, reason)?,
    }
    Ok(exit::OK)
}

/// `user temp-code`: the code is shown this once.
fn temp_code(cli: &Cli, email: &str, valid: chrono::TimeDelta, reason: &str) -> Result<()> {
    let issued = open(cli)?.issue_temp_code(email, valid, reason)?;
    reply(cli, &issued, || {
        format!(
            "Temporary access code for {}: {}\n\nIt works once, in place of a code from the app, SMS or email, until {}.{}\nIt is shown only now: read it to the user, then set up a new factor with them.",
            issued.email,
            issued.code,
            crate::domain::stamp(issued.valid_until),
            if issued.replaced_live {
                " The one issued before no longer works."
            } else {
                ""
            }
        )
    });
    Ok(())
}

/// The user actions that need a reason: disable, enable, unlock, reset 2FA,
/// re-enrol, the compromise response.
fn user_admin(cli: &Cli, c: &UserCommand) -> Result<()> {
    let mut desk = open(cli)?;
    match c {
        UserCommand::Disable { email, reason } | UserCommand::Enable { email, reason } => {
            let status = if matches!(c, UserCommand::Disable { .. }) {
                UserStatus::Disabled
            } else {
                UserStatus::Active
            };
            let u = desk.set_user_status(email, status, reason)?;
            reply(cli, &u, || format!("{} is now {}.", u.email, u.status));
        }
        UserCommand::Unlock { email, reason } => {
            let was_locked = desk.user_summary(email)?.locked_until.is_some();
            let u = desk.unlock(email, reason)?;
            reply(cli, &u, || {
                if was_locked {
                    format!("2FA unlocked for {}.", u.email)
                } else {
                    format!(
                        "{} was not locked; their recent failed attempts no longer count towards a lock.",
                        u.email
                    )
                }
            });
        }
        UserCommand::Reset2fa { email, reason } => {
            let r = desk.reset_2fa(email, reason)?;
            reply(cli, &r, || {
                format!(
                    "2FA reset for {email}: {} factor(s) and {} backup code(s) removed, {} device(s) revoked. They must enrol again.",
                    r.factors_removed, r.codes_removed, r.devices_revoked
                )
            });
        }
        UserCommand::Reenrol { email, reason } => {
            let r = desk.reenrol(email, reason)?;
            recovered(cli, &r, email);
        }
        UserCommand::Compromised { email, reason } => {
            let r = desk.treat_as_compromised(email, reason)?;
            recovered(cli, &r, email);
        }
        _ => {}
    }
    Ok(())
}

/// A re-enrolment or compromise response: what was done, then the new
/// authenticator to scan and confirm.
fn recovered(cli: &Cli, r: &Recovery, email: &str) {
    if cli.json {
        emit(&json(r));
        return;
    }
    let mut text = format!(
        "{}: {} factor(s) and {} backup code(s) removed, {} open login(s) cancelled",
        if r.new_password_required {
            "Treated as compromised"
        } else {
            "Re-enrolling"
        },
        r.factors_removed,
        r.codes_removed,
        r.challenges_cancelled
    );
    if r.new_password_required {
        let _ = write!(
            text,
            ", {} device(s) revoked. Their next login needs the new app's code and must set a new password (or set one: factordesk user password {email} --password-stdin)",
            r.devices_revoked
        );
    }
    text.push_str(". No login gets in on the password alone until the new app is confirmed; its first code brings new backup codes.\n\n");
    text.push_str(&out::totp_enrolment(
        &r.enrolment,
        &qr_for_terminal(&r.enrolment.uri),
    ));
    // Not `reply`: the QR code's colours are escapes of our own.
    emit(&text);
}

fn user_list(
    cli: &Cli,
    search: Option<String>,
    filter: Option<FilterArg>,
    limit: u32,
    after: Option<String>,
) -> Result<()> {
    let desk = open(cli)?;
    let list = desk.list_users(&ListQuery {
        search,
        filter: filter.map(|f| match f {
            FilterArg::Locked => Filter::Locked,
            FilterArg::No2fa => Filter::NoFactor,
            FilterArg::Grace => Filter::InGrace,
            FilterArg::LowCodes => Filter::LowCodes,
            FilterArg::Disabled => Filter::Disabled,
        }),
        after,
        limit,
    })?;
    reply(cli, &list, || out::users(&list, limit));
    Ok(())
}

pub(super) fn factor(cli: &Cli, c: &FactorCommand) -> Result<i32> {
    let mut desk = open(cli)?;
    match c {
        FactorCommand::AddTotp { email, label } => {
            let e = desk.enrol_totp_labelled(email, label.as_deref())?;
            // Not `reply`: the QR code's colours are escapes of our own; the
            // stored text in it is escaped by `totp_enrolment`.
            emit(&if cli.json {
                json(&e)
            } else {
                out::totp_enrolment(&e, &qr_for_terminal(&e.uri))
            });
        }
        FactorCommand::AddSms {
            email,
            phone,
            label,
        } => {
            let e = desk.add_sms_labelled(email, phone, label.as_deref())?;
            reply(cli, &e, || out::contact_enrolment(email, &e));
        }
        FactorCommand::AddEmail {
            email,
            address,
            label,
        } => {
            let e = desk.add_email_labelled(email, address.as_deref(), label.as_deref())?;
            reply(cli, &e, || out::contact_enrolment(email, &e));
        }
        FactorCommand::AddHotp {
            email,
            counter,
            label,
        } => add_hotp(cli, &mut desk, email, *counter, label.as_deref())?,
        FactorCommand::Confirm {
            email,
            factor_id,
            code,
        } => {
            let c = desk.confirm_enrolment(email, *factor_id, code)?;
            reply(cli, &c, || {
                let f = &c.factor;
                let mut text = format!("{} is active (factor {}).", f.label, f.id);
                // A first authenticator brings backup codes, as in the console.
                if let Some(codes) = &c.backup_codes {
                    text.push_str("\n\n");
                    text.push_str(&out::generated_codes(email, codes, false, None));
                }
                text
            });
        }
        FactorCommand::List { email } => {
            let list = desk.factors(email)?;
            reply(cli, &list, || out::factors(&list, ""));
        }
        FactorCommand::Disable {
            email,
            factor_id,
            reason,
        }
        | FactorCommand::Enable {
            email,
            factor_id,
            reason,
        } => {
            let enable = matches!(c, FactorCommand::Enable { .. });
            let f = desk.set_factor_enabled(email, *factor_id, enable, reason)?;
            reply(cli, &f, || {
                format!("{} is now {} (factor {}).", f.label, f.status, f.id)
            });
        }
        FactorCommand::Resync {
            email,
            factor_id,
            first,
            second,
            clear,
        } => resync(
            cli,
            &mut desk,
            email,
            *factor_id,
            first.as_deref().zip(second.as_deref()).filter(|_| !*clear),
        )?,
        FactorCommand::Remove {
            email,
            factor_id,
            reason,
        } => {
            let f = desk.remove_factor(email, *factor_id, reason)?;
            // The factor as it was, marked gone: its status is the one it
            // had before removal.
            let mut gone = serde_json::to_value(&f).unwrap_or_default();
            if let Some(o) = gone.as_object_mut() {
                o.insert("removed".to_owned(), true.into());
            }
            reply(cli, &gone, || {
                format!("Removed {} (factor {}).", f.label, f.id)
            });
        }
    }
    Ok(exit::OK)
}

/// `factor add-hotp`: a new hardware token, its secret shown once.
fn add_hotp(
    cli: &Cli,
    desk: &mut Desk,
    email: &str,
    counter: u64,
    label: Option<&str>,
) -> Result<()> {
    let e = desk.enrol_hotp(&crate::desk::hotp::NewToken {
        email: email.to_owned(),
        label: label.map(str::to_owned),
        counter,
        secret: None,
    })?;
    reply(cli, &e, || out::hotp_enrolment(&e));
    Ok(())
}

/// The QR code in explicit black-on-white at a terminal (so it scans on dark
/// themes too), or plain glyphs when piped or when `NO_COLOR` is set.
fn qr_for_terminal(uri: &str) -> String {
    let Some(modules) = crate::qr::Modules::encode(uri) else {
        return "(the URI is too long for a QR code; type the secret instead)\n".to_owned();
    };
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut text = String::new();
    for line in modules.half_blocks() {
        if colour {
            let _ = writeln!(text, "\x1b[30;107m{line}\x1b[0m");
        } else {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

/// Learn drift from two codes in a row, or clear it (no codes).
fn resync(
    cli: &Cli,
    desk: &mut Desk,
    email: &str,
    factor_id: i64,
    codes: Option<(&str, &str)>,
) -> Result<()> {
    let f = match codes {
        Some((first, second)) => desk.resync(email, factor_id, first, second)?,
        None => desk.clear_drift(email, factor_id)?,
    };
    reply(cli, &f, || {
        if let Some(counter) = f.oath.as_ref().and_then(|o| o.counter) {
            return format!(
                "{} (factor {}): its next code is expected at counter {counter}.",
                f.label, f.id
            );
        }
        let step = f
            .oath
            .as_ref()
            .map_or(30, crate::desk::views::OathView::step_secs);
        if f.drift_steps == 0 {
            format!("{} (factor {}): no drift applied.", f.label, f.id)
        } else {
            format!(
                "{} (factor {}): its clock runs {:+} s; later codes are checked with that drift.",
                f.label,
                f.id,
                f.drift_steps * step
            )
        }
    });
    Ok(())
}

pub(super) fn codes(cli: &Cli, c: &CodesCommand) -> Result<i32> {
    let mut desk = open(cli)?;
    match c {
        CodesCommand::Generate { email, out: file } => {
            let replaced = desk.code_status(email)?.total > 0;
            // With --out the file is written before the new batch is
            // committed: if it cannot be, nothing changes and the old codes
            // keep working.
            let list = match file {
                Some(path) => desk.generate_codes_to(email, path)?,
                None => desk.generate_codes(email)?,
            };
            if cli.json {
                emit(&json(
                    &serde_json::json!({ "email": email, "codes": list, "file": file }),
                ));
            } else {
                say(&out::generated_codes(
                    email,
                    &list,
                    replaced,
                    file.as_deref(),
                ));
            }
        }
        CodesCommand::Status { email } => {
            let s = desk.code_status(email)?;
            reply(cli, &s, || out::codes(&s, ""));
        }
    }
    Ok(exit::OK)
}

pub(super) fn device(cli: &Cli, c: &DeviceCommand) -> Result<i32> {
    let mut desk = open(cli)?;
    match c {
        DeviceCommand::List { email } => {
            let list = desk.devices(email)?;
            reply(cli, &list, || out::devices(&list, ""));
        }
        DeviceCommand::Revoke {
            email,
            device_id,
            all,
            reason,
        } => {
            let which = match (device_id, all) {
                (Some(id), false) => Which::One(*id),
                _ => Which::All,
            };
            let n = desk.revoke_devices(email, which, reason)?;
            reply(
                cli,
                &serde_json::json!({ "email": email, "revoked": n }),
                || {
                    format!(
                        "Revoked {n} device(s) for {email}; their next login will be challenged."
                    )
                },
            );
        }
    }
    Ok(exit::OK)
}
