//! Users and authenticator secrets in and out: imports that land whole or
//! not at all (the first bad line refuses the file), and audited exports.

use std::io::Write;

use serde::Serialize;

use super::sealing::{secret_of, totp_context};
use super::users::NewUser;
use super::{Ctx, Desk, DeskError, Result, reason};
use crate::domain::audit::Facts;
use crate::domain::exchange::users::{self as user_csv, UserRecord};
use crate::domain::exchange::{Exported, Format, LeftOut, LineError, SecretRecord, address_of};
use crate::domain::text::{self, Field};
use crate::domain::{FactorKind, FactorStatus};
use crate::store;
use crate::store::factors::{self as rows, NewFactor};

/// Told after each record or row: how many are done, of how many.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// What an import did, or would do on a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// `users`, or the secret format read.
    pub format: &'static str,
    pub dry_run: bool,
    pub users_added: u64,
    pub totp_added: u64,
    pub hotp_added: u64,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub format: &'static str,
    /// Secrets or users written.
    pub written: u64,
    /// Secrets the format cannot carry, not written.
    pub left_out: Vec<LeftOut>,
}

/// How users are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserFormat {
    Csv,
    /// One JSON array.
    Json,
}

/// A file's own problem at its line, as the desk reports it.
impl From<LineError> for DeskError {
    fn from(e: LineError) -> Self {
        DeskError::ImportLine {
            line: e.line,
            why: Box::new(DeskError::Refused(e.problem.to_string())),
        }
    }
}

fn at_line(line: usize) -> impl Fn(DeskError) -> DeskError {
    move |why| match why {
        // Store failures are not the line's fault.
        DeskError::Store(_) | DeskError::ImportLine { .. } => why,
        why => DeskError::ImportLine {
            line,
            why: Box::new(why),
        },
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn io(e: &std::io::Error) -> DeskError {
    DeskError::Refused(format!(
        "the export could not be written ({e}); nothing was recorded as exported: check the disk and run it again"
    ))
}

impl Desk {
    /// Add every user of a users CSV in one transaction: a bad row (or an
    /// address twice) refuses them all. `dry_run` checks everything and
    /// changes nothing. Each user is audited as `user add` is, and the
    /// import once more.
    pub fn import_users(
        &mut self,
        records: &[UserRecord],
        dry_run: bool,
        progress: Progress<'_>,
    ) -> Result<ImportSummary> {
        let total = count(records.len());
        let mut seen = std::collections::HashMap::new();
        for r in records {
            let key = crate::domain::contact::canonical_email(&r.email);
            if let Some(first) = seen.insert(key, r.line) {
                return Err(DeskError::ImportLine {
                    line: r.line,
                    why: Box::new(DeskError::Refused(format!(
                        "{} is already on line {first}: each user appears once",
                        text::excerpt(&r.email, 80)
                    ))),
                });
            }
        }
        self.batch_or_rehearse(!dry_run, |d| {
            for (i, r) in records.iter().enumerate() {
                d.add_user(&NewUser {
                    email: r.email.clone(),
                    name: r.name.clone(),
                    role: Some(r.role),
                    phone: r.phone.clone(),
                    password_hash: None,
                })
                .map_err(at_line(r.line))?;
                progress(count(i + 1), total);
            }
            d.run(|cx| {
                cx.audit(
                    None,
                    "import.users",
                    &format!("{total} users imported from a CSV file"),
                    None,
                )
            })?;
            Ok(ImportSummary {
                format: "users",
                dry_run,
                users_added: total,
                totp_added: 0,
                hotp_added: 0,
            })
        })
    }

    /// Enrol every secret of a file, active and sealed, each with the
    /// algorithm, digits and period (or counter) it came with, in one
    /// transaction: a bad row, an unknown user or a secret the user already
    /// has refuses them all. A bare user name is read as `name@domain`.
    pub fn import_secrets(
        &mut self,
        format: Format,
        records: &[SecretRecord],
        domain: Option<&str>,
        dry_run: bool,
        progress: Progress<'_>,
    ) -> Result<ImportSummary> {
        let total = count(records.len());
        self.batch_or_rehearse(!dry_run, |d| {
            let (mut totp, mut hotp) = (0, 0);
            for (i, r) in records.iter().enumerate() {
                let address =
                    address_of(&r.account, domain).ok_or_else(|| DeskError::ImportLine {
                        line: r.line,
                        why: Box::new(DeskError::NotAnAddress(text::excerpt(&r.account, 40))),
                    })?;
                d.run(|cx| import_one(cx, format, &address, r))
                    .map_err(at_line(r.line))?;
                if r.counter.is_some() {
                    hotp += 1;
                } else {
                    totp += 1;
                }
                progress(count(i + 1), total);
            }
            d.run(|cx| {
                cx.audit(
                    None,
                    "import.totp",
                    &format!(
                        "{total} secrets imported from {} ({totp} TOTP, {hotp} HOTP)",
                        format.title()
                    ),
                    None,
                )
            })?;
            Ok(ImportSummary {
                format: format.as_str(),
                dry_run,
                users_added: 0,
                totp_added: totp,
                hotp_added: hotp,
            })
        })
    }

    /// Write every active TOTP and HOTP secret to `out` in `format`, one
    /// entry at a time. Secrets leave the vault: a reason is required, and
    /// each is audited on its user, in the same transaction as the reading.
    pub fn export_secrets(
        &mut self,
        format: Format,
        why: &str,
        out: &mut dyn Write,
        progress: Progress<'_>,
    ) -> Result<ExportSummary> {
        let why = reason(why, "export secrets")?;
        self.run(|cx| {
            let total = rows::count_active_secrets(cx.db)?;
            out.write_all(format.head().as_bytes())
                .map_err(|e| io(&e))?;
            let mut written = 0;
            let mut left_out = Vec::new();
            let issuer = cx.policy.totp_issuer.clone();
            let facts = |id: i64| Facts {
                factor: Some(id),
                reason: Some(why.clone()),
                ..Facts::default()
            };
            rows::each_active_secret(cx.db, |email, f| {
                let secret = secret_of(cx.key, &f)?;
                let item = Exported {
                    factor_id: f.id,
                    account: email,
                    issuer: &issuer,
                    secret: &secret,
                    params: f.params,
                    counter: f.counter,
                    serial: f.serial.as_deref(),
                    created_at: f.created_at,
                    last_used_at: f.last_used_at,
                };
                match format.entry(&item) {
                    Ok(entry) => {
                        out.write_all(entry.as_bytes()).map_err(|e| io(&e))?;
                        cx.audit_with(
                            Some(f.user_id),
                            "factor.export",
                            &format!(
                                "secret of {} (factor {}) exported as {}{}",
                                f.label,
                                f.id,
                                format.title(),
                                super::because(&why)
                            ),
                            None,
                            &facts(f.id),
                        )?;
                        written += 1;
                    }
                    Err(unfit) => left_out.push(LeftOut {
                        account: email.to_owned(),
                        factor_id: f.id,
                        why: unfit,
                    }),
                }
                progress(written + count(left_out.len()), total);
                Ok::<_, DeskError>(())
            })?;
            out.flush().map_err(|e| io(&e))?;
            cx.audit_with(
                None,
                "export.totp",
                &format!(
                    "{written} secrets left the vault as {}{}",
                    format.title(),
                    super::because(&why)
                ),
                None,
                &Facts {
                    reason: Some(why.clone()),
                    ..Facts::default()
                },
            )?;
            Ok(ExportSummary {
                format: format.as_str(),
                written,
                left_out,
            })
        })
    }

    /// Write every user (address, name, role, phone; no secrets, no
    /// password hashes) to `out`, one at a time; audited.
    pub fn export_users(
        &mut self,
        format: UserFormat,
        out: &mut dyn Write,
        progress: Progress<'_>,
    ) -> Result<ExportSummary> {
        self.run(|cx| {
            let total = store::users::count(cx.db)?;
            let head = match format {
                UserFormat::Csv => user_csv::csv_header(),
                UserFormat::Json => "[".to_owned(),
            };
            out.write_all(head.as_bytes()).map_err(|e| io(&e))?;
            let mut written = 0;
            store::users::each_user(cx.db, |u| {
                let line = match format {
                    UserFormat::Csv => {
                        user_csv::csv_line(&u.email, &u.name, u.role, u.phone.as_deref())
                    }
                    UserFormat::Json => {
                        let one = serde_json::json!({
                            "email": u.email,
                            "name": u.name,
                            "role": u.role,
                            "status": u.status,
                            "phone": u.phone,
                        });
                        format!("{}\n  {one}", if written == 0 { "" } else { "," })
                    }
                };
                out.write_all(line.as_bytes()).map_err(|e| io(&e))?;
                written += 1;
                progress(written, total);
                Ok::<_, DeskError>(())
            })?;
            if format == UserFormat::Json {
                let end = if written == 0 { "]\n" } else { "\n]\n" };
                out.write_all(end.as_bytes()).map_err(|e| io(&e))?;
            }
            out.flush().map_err(|e| io(&e))?;
            let name = match format {
                UserFormat::Csv => "csv",
                UserFormat::Json => "json",
            };
            cx.audit(
                None,
                "export.users",
                &format!("{written} users exported as {name} (no secrets)"),
                None,
            )?;
            Ok(ExportSummary {
                format: name,
                written,
                left_out: Vec::new(),
            })
        })
    }
}

/// One imported secret: its user must exist and not have it already.
fn import_one(cx: &mut Ctx<'_>, format: Format, address: &str, r: &SecretRecord) -> Result<()> {
    super::factors::require_allowed(cx, FactorKind::Totp)?;
    let u = cx.user(address)?;
    for f in rows::secrets_for_user(cx.db, u.id)? {
        if f.status == FactorStatus::Disabled {
            continue;
        }
        let held = secret_of(cx.key, &f)?;
        if *held == *r.secret {
            return Err(DeskError::Refused(format!(
                "{} already has this secret ({}, factor {}): leave the row out",
                u.email, f.label, f.id
            )));
        }
    }
    let label = label_for(r);
    let sealed = cx.key.seal(cx.rng, &totp_context(u.id), &r.secret);
    let id = rows::insert(
        cx.db,
        &NewFactor {
            secret: Some(&sealed),
            created_at: cx.now,
            params: r.params,
            counter: r.counter,
            serial: r.serial.as_deref(),
            ..NewFactor::new(u.id, FactorKind::Totp, FactorStatus::Active, &label)
        },
    )?;
    let how = r.params.describe(r.counter.is_none());
    cx.audit_with(
        Some(u.id),
        "factor.import",
        &format!(
            "{label} (factor {id}, {}{}{}) imported from {}, active",
            if r.counter.is_some() { "HOTP" } else { "TOTP" },
            if how.is_empty() {
                String::new()
            } else {
                format!(", {how}")
            },
            r.counter
                .map(|c| format!(", counter {c}"))
                .unwrap_or_default(),
            format.title()
        ),
        None,
        &Facts {
            factor: Some(id),
            ..Facts::default()
        },
    )?;
    Ok(())
}

/// An imported factor's label: the token's serial, or the issuer it came
/// with, within the label's limit.
fn label_for(r: &SecretRecord) -> String {
    let label = match (&r.counter, &r.serial, &r.issuer) {
        (Some(_), Some(serial), _) => format!("Hardware token {serial}"),
        (Some(_), None, _) => "Hardware token".to_owned(),
        (None, Some(serial), _) => format!("Token {serial}"),
        (None, None, Some(issuer)) => format!("Authenticator app ({issuer})"),
        (None, None, None) => "Authenticator app".to_owned(),
    };
    let clean: String = label.chars().filter(|c| !c.is_control()).collect();
    let limit = Field::FactorLabel.max();
    text::excerpt(&clean, limit)
}
