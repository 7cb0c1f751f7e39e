//! Factor use cases: enrol TOTP (pending until its first code), add SMS or
//! email (pending until the code sent confirms it), confirm, disable/enable, remove.

use super::account::{factor_of, view, views};
use super::challenge::{self, Issue};
use super::gateway::masked;
use super::sealing::{secret_of, totp_context};
use super::views::{ContactEnrolment, FactorView, TotpEnrolment};
use super::{Ctx, Desk, DeskError, Result, because, user_by_email};
use crate::domain::audit::Facts;
use crate::domain::contact::{Email, Phone};
use crate::domain::text::{self, Field};
use crate::domain::totp::{self, Check, FactorState};
use crate::domain::vocab::{ChallengePurpose, ChallengeState};
use crate::domain::{FactorKind, FactorStatus, otp};
use crate::store::challenges;
use crate::store::factors::{self as rows, FactorRow, NewFactor};
use crate::store::users::UserRow;
use crate::store::{self};

pub(crate) fn require_allowed(cx: &Ctx<'_>, kind: FactorKind) -> Result<()> {
    if cx.policy.allows_kind(kind) {
        return Ok(());
    }
    Err(DeskError::KindNotAllowed {
        kind,
        allowed: cx.policy.get("factors").unwrap_or_default(),
    })
}

fn require_sms_country(cx: &Ctx<'_>, phone: &Phone) -> Result<()> {
    if cx.policy.allows_country(phone.calling_code()) {
        return Ok(());
    }
    Err(DeskError::CountryNotAllowed {
        code: phone.calling_code(),
        allowed: cx.policy.countries_text(),
        with: cx.policy.countries_with(phone.calling_code()),
    })
}

/// A new authenticator app for `u`, pending until its first code: a fresh
/// 160-bit secret, sealed (an unconfirmed one is replaced, not piled up).
/// The caller audits it.
pub(crate) fn start_totp(cx: &mut Ctx<'_>, u: &UserRow) -> Result<TotpEnrolment> {
    start_totp_labelled(cx, u, None)
}

/// [`start_totp`], with a label of the user's choosing ("work phone").
pub(crate) fn start_totp_labelled(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    chosen: Option<String>,
) -> Result<TotpEnrolment> {
    require_allowed(cx, FactorKind::Totp)?;
    let existing = rows::for_user(cx.db, u.id)?;
    for f in existing
        .iter()
        // A pending hardware token is another enrolment: it stays.
        .filter(|f| f.kind == FactorKind::Totp && !f.is_hotp() && f.status == FactorStatus::Pending)
    {
        rows::delete(cx.db, f.id)?;
    }
    let active_apps = existing
        .iter()
        .filter(|f| f.kind == FactorKind::Totp && f.status != FactorStatus::Pending)
        .count();
    let label = chosen.unwrap_or_else(|| match active_apps {
        0 => "Authenticator app".to_owned(),
        n => format!("Authenticator app {}", n + 1),
    });
    // Wiped once sealed and shown (the enrolment returns it as text).
    let secret = zeroize::Zeroizing::new(cx.rng.bytes::<{ totp::SECRET_LEN }>());
    let sealed = cx.key.seal(cx.rng, &totp_context(u.id), &*secret);
    let id = rows::insert(
        cx.db,
        &NewFactor {
            secret: Some(&sealed),
            created_at: cx.now,
            ..NewFactor::new(u.id, FactorKind::Totp, FactorStatus::Pending, &label)
        },
    )?;
    Ok(TotpEnrolment {
        factor_id: id,
        label,
        secret: totp::secret_base32(&*secret),
        uri: totp::otpauth_uri(&cx.policy.totp_issuer, &u.email, &*secret),
        issuer: cx.policy.totp_issuer.clone(),
        account: u.email.clone(),
    })
}

/// Point the user's SMS factor at a new number: pending, with a code sent.
pub(crate) fn repoint_sms(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    phone: &Phone,
) -> Result<Option<(String, SmsReconfirm)>> {
    let Some(f) = rows::for_user(cx.db, u.id)?
        .into_iter()
        .find(|f| f.kind == FactorKind::Sms)
    else {
        return Ok(None);
    };
    require_sms_country(cx, phone)?;
    // A label someone chose stays; the one made from the old number follows it.
    let made = f
        .destination
        .as_deref()
        .and_then(Phone::stored)
        .is_some_and(|old| f.label == format!("SMS to {}", old.masked()));
    let label = if made {
        format!("SMS to {}", phone.masked())
    } else {
        f.label.clone()
    };
    challenges::cancel_open_for_factor(cx.db, f.id, cx.now)?;
    rows::set_destination(cx.db, f.id, &phone.e164(), &label)?;
    let f = factor_of(cx.db, u, f.id)?;
    let issued = send_confirmation(cx, u, &f)?;
    Ok(Some((
        format!(
            "SMS factor {} pending again: confirmation code sent (challenge {})",
            f.id, issued.challenge_id
        ),
        SmsReconfirm {
            factor_id: f.id,
            challenge_id: issued.challenge_id,
        },
    )))
}

/// A phone change put the SMS factor back to pending: confirm it with the
/// code this challenge sent to the new number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SmsReconfirm {
    pub factor_id: i64,
    pub challenge_id: i64,
}

/// Digits of the wrong length for a factor: the usual refusal for six-digit
/// factors, else one that names the length this factor's codes have.
pub(crate) fn wrong_length(w: otp::WrongLength) -> DeskError {
    if w.digits == otp::DIGITS {
        return otp::NotACode(w.code).into();
    }
    DeskError::Refused(format!(
        "`{}` is not a code of {}: its codes have {} digits; enter the code it shows now",
        w.code, w.label, w.digits
    ))
}

/// A label given with `--label`: one line of plain text within its limit;
/// `None` when none was given (or only spaces), for the factor's own.
pub(crate) fn chosen_label(label: Option<&str>) -> Result<Option<String>> {
    Ok(label
        .map(|l| text::check(Field::FactorLabel, l))
        .transpose()?
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")))
}

impl Desk {
    /// Start a TOTP enrolment: a fresh 160-bit secret, sealed; the factor
    /// stays pending until `confirm_factor` gets a code from the app.
    pub fn enrol_totp(&mut self, email: &str) -> Result<TotpEnrolment> {
        self.enrol_totp_labelled(email, None)
    }

    /// [`Desk::enrol_totp`], with a label of the user's choosing ("work phone").
    pub fn enrol_totp_labelled(
        &mut self,
        email: &str,
        label: Option<&str>,
    ) -> Result<TotpEnrolment> {
        let chosen = chosen_label(label)?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let e = start_totp_labelled(cx, &u, chosen.clone())?;
            cx.audit(
                Some(u.id),
                "factor.enrol",
                &format!(
                    "authenticator app enrolment started: {} (factor {}, pending)",
                    e.label, e.factor_id
                ),
                None,
            )?;
            Ok(e)
        })
    }

    /// Add an SMS factor: the number must be E.164 in an allowed country; a
    /// code goes to it and the factor is pending until that code is confirmed.
    pub fn add_sms(&mut self, email: &str, phone: &str) -> Result<ContactEnrolment> {
        self.add_sms_labelled(email, phone, None)
    }

    /// [`Desk::add_sms`], with a label of the user's choosing.
    pub fn add_sms_labelled(
        &mut self,
        email: &str,
        phone: &str,
        label: Option<&str>,
    ) -> Result<ContactEnrolment> {
        let chosen = chosen_label(label)?;
        let phone = Phone::parse(phone)?;
        self.run(|cx| {
            require_allowed(cx, FactorKind::Sms)?;
            require_sms_country(cx, &phone)?;
            let u = cx.user(email)?;
            if let Some(f) = replace_pending(cx, &u, FactorKind::Sms)? {
                return Err(DeskError::HasSms {
                    email: u.email,
                    label: f.label,
                    id: f.id,
                });
            }
            store::users::set_phone(cx.db, u.id, Some(&phone.e164()), false)?;
            let label = chosen
                .clone()
                .unwrap_or_else(|| format!("SMS to {}", phone.masked()));
            add_contact(cx, &u, FactorKind::Sms, &phone.e164(), &label)
        })
    }

    /// Add an email factor (to the account's address unless another is given).
    pub fn add_email(&mut self, email: &str, address: Option<&str>) -> Result<ContactEnrolment> {
        self.add_email_labelled(email, address, None)
    }

    /// [`Desk::add_email`], with a label of the user's choosing.
    pub fn add_email_labelled(
        &mut self,
        email: &str,
        address: Option<&str>,
        label: Option<&str>,
    ) -> Result<ContactEnrolment> {
        let chosen = chosen_label(label)?;
        let address = address.map(Email::parse).transpose()?;
        self.run(|cx| {
            require_allowed(cx, FactorKind::Email)?;
            let u = cx.user(email)?;
            if let Some(f) = replace_pending(cx, &u, FactorKind::Email)? {
                return Err(DeskError::HasEmail {
                    email: u.email,
                    label: f.label,
                    id: f.id,
                });
            }
            let address = match address.clone() {
                Some(a) => a,
                None => Email::parse(&u.email)?,
            };
            let label = chosen
                .clone()
                .unwrap_or_else(|| format!("Email to {}", address.masked()));
            add_contact(cx, &u, FactorKind::Email, address.as_str(), &label)
        })
    }

    /// Confirm a pending factor with its first code: from the app for TOTP,
    /// from the message sent for SMS and email. A wrong code is exit 3.
    /// Makes no backup codes: [`Desk::confirm_enrolment`] is what people use.
    pub fn confirm_factor(
        &mut self,
        email: &str,
        factor_id: i64,
        code: &str,
    ) -> Result<FactorView> {
        let code = otp::parse_digits(code)?;
        // A wrong code is answered after committing, so its attempt counts.
        self.run(|cx| confirm_in(cx, email, factor_id, &code))?
    }

    /// As [`Desk::confirm_factor`], and a user's first authenticator app,
    /// confirmed while they have no backup codes, comes with a batch (shown
    /// once): the CLI and the console alike, in one transaction.
    pub fn confirm_enrolment(
        &mut self,
        email: &str,
        factor_id: i64,
        code: &str,
    ) -> Result<Confirmed> {
        let code = otp::parse_digits(code)?;
        self.run(|cx| -> Result<Result<Confirmed>> {
            let factor = match confirm_in(cx, email, factor_id, &code)? {
                Ok(f) => f,
                Err(denied) => return Ok(Err(denied)),
            };
            let u = cx.user(email)?;
            let backup_codes = if factor.kind == FactorKind::Totp && u.codes_total == 0 {
                Some(super::codes::generate_in(cx, email, "")?.1)
            } else {
                None
            };
            Ok(Ok(Confirmed {
                factor,
                backup_codes,
            }))
        })?
    }

    pub fn factors(&self, email: &str) -> Result<Vec<FactorView>> {
        let u = user_by_email(self.db(), email)?;
        views(self.db(), u.id)
    }

    /// Disable (kept, but not usable) or enable again a confirmed factor.
    /// Disabling is destructive, so it needs a reason; enabling takes one too.
    pub fn set_factor_enabled(
        &mut self,
        email: &str,
        factor_id: i64,
        enabled: bool,
        why: &str,
    ) -> Result<FactorView> {
        let why = if enabled {
            super::optional_reason(why)?
        } else {
            super::reason(why, "disabling a factor")?
        };
        self.run(|cx| {
            let u = cx.user(email)?;
            let f = factor_of(cx.db, &u, factor_id)?;
            let (from, to, kind) = if enabled {
                (
                    FactorStatus::Disabled,
                    FactorStatus::Active,
                    "factor.enable",
                )
            } else {
                (
                    FactorStatus::Active,
                    FactorStatus::Disabled,
                    "factor.disable",
                )
            };
            if f.status != from {
                return Err(DeskError::Refused(format!(
                    "factor {factor_id} is {}, so it cannot be {}: {}",
                    f.status,
                    if enabled {
                        "enabled (only a disabled factor can)"
                    } else {
                        "disabled (only an active factor can)"
                    },
                    match f.status {
                        FactorStatus::Pending => "confirm it with its first code, or remove it",
                        _ => "nothing to change",
                    }
                )));
            }
            rows::set_status(cx.db, f.id, to)?;
            let facts = Facts {
                factor: Some(f.id),
                reason: Some(why.clone()).filter(|w| !w.is_empty()),
                ..Facts::default()
            };
            cx.audit_with(
                Some(u.id),
                kind,
                &format!("{} {to} (factor {}){}", f.label, f.id, because(&why)),
                None,
                &facts,
            )?;
            Ok(view(&factor_of(cx.db, &u, factor_id)?))
        })
    }

    /// Remove a factor for good; destructive, so it needs a reason.
    pub fn remove_factor(&mut self, email: &str, factor_id: i64, why: &str) -> Result<FactorView> {
        let why = super::reason(why, "removing a factor")?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let f = factor_of(cx.db, &u, factor_id)?;
            challenges::cancel_open_for_factor(cx.db, f.id, cx.now)?;
            rows::delete(cx.db, f.id)?;
            if f.kind == FactorKind::Sms {
                store::users::set_phone(cx.db, u.id, u.phone.as_deref(), false)?;
            }
            cx.audit(
                Some(u.id),
                "factor.remove",
                &format!(
                    "{} removed (factor {}, was {}){}",
                    f.label,
                    f.id,
                    f.status,
                    because(&why)
                ),
                None,
            )?;
            Ok(view(&f))
        })
    }
}

/// A factor confirmed, with the backup codes made with it, if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Confirmed {
    #[serde(flatten)]
    pub factor: FactorView,
    /// A first batch, shown once: `None` when none was made.
    pub backup_codes: Option<Vec<String>>,
}

/// Confirm a pending factor in `cx`'s transaction; a wrong code is the
/// inner error, answered after its attempt is recorded.
fn confirm_in(
    cx: &mut Ctx<'_>,
    email: &str,
    factor_id: i64,
    code: &str,
) -> Result<Result<FactorView>> {
    let u = cx.user(email)?;
    let f = factor_of(cx.db, &u, factor_id)?;
    if f.status != FactorStatus::Pending {
        return Err(DeskError::NotPending {
            email: u.email,
            id: factor_id,
            status: f.status,
        });
    }
    if let Some(wrong) = f.wrong_length(code) {
        return Err(wrong_length(wrong));
    }
    let step = match f.kind {
        FactorKind::Totp if f.is_hotp() => {
            if let Err(denied) = super::hotp::confirm(cx, &f, code)? {
                audit_rejected(cx, &u, &f, &denied)?;
                return Ok(Err(denied));
            }
            None
        }
        FactorKind::Totp => {
            let secret = secret_of(cx.key, &f)?;
            let fresh = FactorState {
                params: f.params,
                ..FactorState::default()
            };
            match totp::check(&secret, code, cx.now, cx.policy.totp_skew, fresh) {
                Check::Accepted { step } => Some(step),
                Check::Replayed { .. } | Check::Invalid { .. } => {
                    let denied = DeskError::Denied(
                        "that code does not match the new secret: check the phone sets its time automatically, then type the code the app shows now".to_owned(),
                    );
                    audit_rejected(cx, &u, &f, &denied)?;
                    return Ok(Err(denied));
                }
            }
        }
        FactorKind::Sms | FactorKind::Email => {
            if let Err(denied) = confirm_contact(cx, &u, &f, code)? {
                audit_rejected(cx, &u, &f, &denied)?;
                return Ok(Err(denied));
            }
            None
        }
    };
    rows::confirm(cx.db, f.id, cx.now, step)?;
    if f.kind == FactorKind::Sms {
        store::users::set_phone(cx.db, u.id, f.destination.as_deref(), true)?;
    }
    cx.audit(
        Some(u.id),
        "factor.confirm",
        &format!("{} confirmed (factor {})", f.label, f.id),
        None,
    )?;
    let f = factor_of(cx.db, &u, factor_id)?;
    Ok(Ok(view(&f)))
}

/// Before adding an SMS or email factor: an unconfirmed one of the same kind
/// is replaced (so "add it again" sends a fresh code); a confirmed one is
/// returned, and stands in the way.
fn replace_pending(cx: &mut Ctx<'_>, u: &UserRow, kind: FactorKind) -> Result<Option<FactorRow>> {
    for f in rows::for_user(cx.db, u.id)?
        .into_iter()
        .filter(|f| f.kind == kind)
    {
        if f.status != FactorStatus::Pending {
            return Ok(Some(f));
        }
        challenges::cancel_open_for_factor(cx.db, f.id, cx.now)?;
        rows::delete(cx.db, f.id)?;
    }
    Ok(None)
}

/// Send a pending SMS or email factor the code that confirms it.
fn send_confirmation(cx: &mut Ctx<'_>, u: &UserRow, f: &FactorRow) -> Result<challenge::Issued> {
    challenge::issue(
        cx,
        &Issue {
            user_id: u.id,
            factor: f,
            purpose: ChallengePurpose::Enrol,
            device_id: None,
            ip: challenge::DEFAULT_IP,
        },
    )
}

fn add_contact(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    kind: FactorKind,
    destination: &str,
    label: &str,
) -> Result<ContactEnrolment> {
    let id = rows::insert(
        cx.db,
        &NewFactor {
            destination: Some(destination),
            created_at: cx.now,
            ..NewFactor::new(u.id, kind, FactorStatus::Pending, label)
        },
    )?;
    let f = factor_of(cx.db, u, id)?;
    let issued = send_confirmation(cx, u, &f)?;
    let delivery = issued
        .delivery
        .ok_or_else(|| DeskError::Refused("no message was sent".to_owned()))?;
    cx.audit(
        Some(u.id),
        "factor.enrol",
        &format!(
            "{label} enrolment started (factor {id}, pending); confirmation code {}",
            delivery.status
        ),
        None,
    )?;
    Ok(ContactEnrolment {
        factor_id: id,
        kind,
        destination: masked(kind, destination),
        challenge_id: issued.challenge_id,
        expires_at: issued.expires_at,
        delivery,
    })
}

/// A rejected confirmation is a use case too: it is committed (an SMS or
/// email attempt counts), so it gets its audit event.
fn audit_rejected(cx: &Ctx<'_>, u: &UserRow, f: &FactorRow, denied: &DeskError) -> Result<()> {
    cx.audit(
        Some(u.id),
        "factor.confirm",
        &format!("{} not confirmed (factor {}): {denied}", f.label, f.id),
        None,
    )
}

/// Check an SMS/email confirmation code against the open enrolment challenge.
/// The inner error is a rejection to report after the attempt is committed.
fn confirm_contact(cx: &mut Ctx<'_>, u: &UserRow, f: &FactorRow, code: &str) -> Result<Result<()>> {
    let c =
        challenges::open_enrolment(cx.db, f.id)?.ok_or(DeskError::NoConfirmationWaiting(f.id))?;
    if otp::is_expired(c.expires_at, cx.now) {
        return Ok(Err(DeskError::ConfirmationExpired {
            ago: crate::domain::relative(c.expires_at, cx.now),
            challenge: c.id,
        }));
    }
    let judged = challenge::sent_code(cx, u, &c, code)?;
    if matches!(judged, challenge::SentCode::Current) {
        challenges::close(cx.db, c.id, ChallengeState::Accepted, cx.now)?;
        return Ok(Ok(()));
    }
    let attempts = c.attempts + 1;
    challenges::record_attempt(cx.db, c.id, attempts)?;
    let left = otp::attempts_left(c.max_attempts, attempts);
    let to = masked(f.kind, f.destination.as_deref().unwrap_or_default());
    let why = match judged {
        challenge::SentCode::NeverDelivered(reason) => format!(
            "that code never reached {to} ({})",
            reason.as_deref().unwrap_or("the message failed")
        ),
        _ => format!("that is not the code sent to {to}"),
    };
    if left == 0 {
        challenges::close(cx.db, c.id, ChallengeState::Failed, cx.now)?;
        return Ok(Err(DeskError::ConfirmationsUsedUp {
            why,
            max: c.max_attempts,
            kind: f.kind,
            email: u.email.clone(),
            destination: f.destination.clone(),
        }));
    }
    Ok(Err(DeskError::WrongConfirmation {
        why,
        left,
        email: u.email.clone(),
    }))
}
