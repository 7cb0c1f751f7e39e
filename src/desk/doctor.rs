//! The doctor's use cases: gather one user's facts and diagnose them; check a
//! code the user reads out against nearby times (nothing consumed); resync drift.

use chrono::TimeDelta;

use super::account::{factor_of, standing, view};
use super::sealing::secret_of;
use super::views::FactorView;
use super::{Desk, DeskError, Result, regulation, user_by_email};
use crate::domain::audit::Facts as EventFacts;
use crate::domain::doctor::{
    self, AttemptFact, Change, DeliveryFact, DeviceFact, FactorFact, Facts, Finding, LastLogin,
    Restart, SkewCheck, SpentBy, TempCodeFact,
};
use crate::domain::policy::Policy;
use crate::domain::vocab::{ChallengePurpose, ChallengeState, DeliveryStatus};
use crate::domain::{FactorKind, FactorStatus, Time, otp, relative, span, stamp, totp};
use crate::store::audit::AuditRow;
use crate::store::devices::DeviceRow;
use crate::store::factors::FactorRow;
use crate::store::users::UserRow;
use crate::store::{
    Db, attempts, audit, challenges, codes, deliveries, devices, factors, temp_codes,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorReport {
    pub email: String,
    pub at: Time,
    pub findings: Vec<Finding>,
    /// The code check, when a code was given.
    pub code_check: Option<SkewCheck>,
}

fn device_fact(d: &DeviceRow, addresses: Vec<String>) -> DeviceFact {
    DeviceFact {
        label: d.label.clone(),
        last_ip: d.last_ip.clone(),
        addresses,
        last_seen_at: d.last_seen_at,
        trusted_until: d.trusted_until,
        revoked_at: d.revoked_at,
        revoked_reason: d.revoked_reason.clone(),
    }
}

/// The newest login (or export) start, if it came after the last
/// successful login: what the user is stuck on now.
fn last_login(db: &Db, u: &UserRow) -> Result<Option<LastLogin>> {
    let Some(c) = challenges::recent_for_user(db, u.id, 10)?
        .into_iter()
        .find(|c| c.purpose != ChallengePurpose::Enrol)
    else {
        return Ok(None);
    };
    if u.last_login_at.is_some_and(|t| t > c.created_at) {
        return Ok(None);
    }
    // The device as it was when the login came in: its IP then is the one
    // it had before this login touched it.
    let device = c
        .device_id
        .map(|id| devices::by_id(db, id))
        .transpose()?
        .flatten();
    // What it knew when the login came in: not an address this login added.
    let device = match device {
        Some(d) => Some(device_fact(
            &d,
            devices::addresses_before(db, d.id, c.created_at)?,
        )),
        None => None,
    };
    Ok(Some(LastLogin {
        at: c.created_at,
        ip: c.ip.clone(),
        device,
        completed: c.state == ChallengeState::Accepted,
    }))
}

/// A user's newest audit events of `kind`, newest first.
fn events(db: &Db, user_id: i64, kind: &str, limit: u32) -> Result<Vec<AuditRow>> {
    Ok(audit::list(
        db,
        &audit::Query {
            user_id: Some(user_id),
            kind: Some(kind),
            limit,
            ..audit::Query::default()
        },
    )?)
}

/// When a user's second factor was last started afresh, and how: reset,
/// replaced (a lost phone, a compromise) by an admin, or turned off by them.
fn last_reset(db: &Db, user_id: i64) -> Result<Option<(Time, Restart)>> {
    let mut all = Vec::new();
    for (kind, how) in [
        ("user.reset_2fa", Restart::Reset),
        ("user.reenrol", Restart::Reenrol),
        ("user.compromised", Restart::Compromise),
    ] {
        all.extend(events(db, user_id, kind, 1)?.first().map(|e| (e.at, how)));
    }
    all.extend(
        events(db, user_id, "user.turn_off_2fa", 20)?
            .iter()
            .filter(|e| facts_of(e).refused.is_none())
            .map(|e| (e.at, Restart::TurnedOff)),
    );
    Ok(all.into_iter().max_by_key(|(at, _)| *at))
}

/// The last compromise response, while it still asks for a new password:
/// when, by whom, and the reason typed (from its facts).
fn secured(db: &Db, u: &UserRow) -> Result<Option<Change>> {
    if !u.password_change {
        return Ok(None);
    }
    Ok(events(db, u.id, "user.compromised", 1)?
        .first()
        .map(|e| change(e, facts_of(e).reason)))
}

/// What an event establishes, from its typed facts (never its sentence).
fn facts_of(e: &AuditRow) -> EventFacts {
    EventFacts::from_json(e.facts.as_deref())
}

fn change(e: &AuditRow, why: Option<String>) -> Change {
    Change {
        at: e.at,
        by: e.actor.clone(),
        why,
    }
}

fn factor_fact(db: &Db, f: FactorRow) -> Result<FactorFact> {
    let pending = f.status == FactorStatus::Pending;
    // A phone change put this SMS factor back to pending (`user edit --phone`).
    let repointed = if pending && f.kind == FactorKind::Sms {
        events(db, f.user_id, "user.edit", 50)?
            .iter()
            .find(|e| facts_of(e).sms_pending_again == Some(f.id))
            .map(|e| change(e, None))
    } else {
        None
    };
    // Who disabled this factor, when and why (`factor disable`).
    let disabled = if f.status == FactorStatus::Disabled {
        events(db, f.user_id, "factor.disable", 50)?
            .iter()
            .find_map(|e| {
                let facts = facts_of(e);
                (facts.factor == Some(f.id)).then(|| change(e, facts.reason))
            })
    } else {
        None
    };
    let confirm_challenge = if pending {
        challenges::open_enrolment(db, f.id)?.map(|c| c.id)
    } else {
        None
    };
    Ok(FactorFact {
        id: f.id,
        kind: f.kind,
        status: f.status,
        label: f.label,
        destination: f.destination,
        drift: f.drift,
        created_at: f.created_at,
        last_used_at: f.last_used_at,
        repointed,
        confirm_challenge,
        disabled,
    })
}

fn gather(db: &Db, policy: &Policy, u: &UserRow, now: Time) -> Result<Facts> {
    let last = last_login(db, u)?;
    let disabled = events(db, u.id, "user.disable", 1)?
        .first()
        .map(|e| (e.at, facts_of(e).reason.unwrap_or_default()));
    let code_rows = codes::for_user(db, u.id)?;
    Ok(Facts {
        now,
        email: u.email.clone(),
        status: u.status,
        disabled,
        lock: u.lock,
        standing: standing(db, policy, u, now)?,
        every_login: u.every_login,
        // When "ask on every login" was last turned on (`user edit`).
        every_login_set: if u.every_login {
            events(db, u.id, "user.edit", 50)?
                .iter()
                .find(|e| facts_of(e).every_login == Some(true))
                .map(|e| change(e, None))
        } else {
            None
        },
        phone: u.phone.clone(),
        phone_verified: u.phone_verified,
        factors: factors::for_user(db, u.id)?
            .into_iter()
            .map(|f| factor_fact(db, f))
            .collect::<Result<_>>()?,
        codes_total: u.codes_total,
        codes_left: u.codes_left,
        codes_last_used: code_rows.iter().filter_map(|c| c.used_at).max(),
        devices: devices::for_user(db, u.id)?
            .iter()
            .map(|d| Ok(device_fact(d, devices::addresses(db, d.id)?)))
            .collect::<Result<_>>()?,
        attempts: attempts::for_user_since(db, u.id, now - TimeDelta::hours(24), 100)?
            .into_iter()
            .map(|a| AttemptFact {
                at: a.at,
                kind: a.kind,
                outcome: a.outcome,
                ip: a.ip,
                matched_offset: a.matched_offset,
                first_used_at: a.first_used_at,
                first_used_ip: a.first_used_ip,
                first_used_by_resync: a.first_used_by_resync,
            })
            .collect(),
        unlocked_at: events(db, u.id, "user.unlock", 1)?.first().map(|e| e.at),
        reset: last_reset(db, u.id)?,
        deliveries: deliveries::list(db, Some(u.id), None, 10)?
            .into_iter()
            .map(|d| DeliveryFact {
                at: d.created_at,
                channel: d.channel,
                destination: d.destination,
                failed: d.status == DeliveryStatus::Failed,
                reason: d.reason,
                retry_at: d.retry_at,
            })
            .collect(),
        password_ban: regulation::password_ban(db, u.id, now)?,
        address_ban: match &last {
            Some(l) => regulation::address_ban(db, &l.ip, now)?.map(|until| (l.ip.clone(), until)),
            None => None,
        },
        last_login: last,
        password_change: u.password_change,
        secured: secured(db, u)?,
        temp_code: temp_codes::for_user(db, u.id)?.map(|t| TempCodeFact {
            issued_at: t.created_at,
            issued_by: t.created_by,
            reason: t.reason,
            expires_at: t.expires_at,
            used_at: t.used_at,
            used_ip: t.used_ip,
        }),
    })
}

/// How a refused code check starts its audit detail.
const REFUSED: &str = "refused: ";

/// Who had already used `step` of a factor, if anyone: the replay guard.
pub(super) fn spent_by(f: &FactorRow, step: i64) -> Option<SpentBy> {
    Some(if f.state().spent_by_resync(step)? {
        SpentBy::Resync { at: f.resynced_at }
    } else {
        SpentBy::Login {
            at: f.last_used_at,
            ip: f.last_used_ip.clone(),
        }
    })
}

impl Desk {
    /// Why can't this user log in? The findings, most blocking first. With a
    /// `code` the user reads out, also the clock-skew check (audited); a
    /// refused check is reported in its place, and the findings still come.
    pub fn doctor(&mut self, email: &str, code: Option<&str>) -> Result<DoctorReport> {
        let code_check = match code.map(|c| self.check_code(email, c)) {
            None => None,
            Some(Ok(check)) => Some(check),
            Some(Err(DeskError::Denied(why) | DeskError::Refused(why))) => {
                Some(SkewCheck::refused(why))
            }
            Some(Err(e)) => return Err(e),
        };
        Ok(DoctorReport {
            code_check,
            ..self.diagnose(email)?
        })
    }

    /// The findings alone (reads only; the console reloads them often).
    pub fn diagnose(&self, email: &str) -> Result<DoctorReport> {
        let now = self.now();
        let policy = self.policy()?;
        let u = user_by_email(self.db(), email)?;
        let facts = gather(self.db(), &policy, &u, now)?;
        Ok(DoctorReport {
            email: u.email,
            at: now,
            findings: doctor::diagnose(&facts, &policy),
            code_check: None,
        })
    }

    /// Which time, within ±10 minutes or a time zone away (whole and half
    /// hours up to ±14 h), the code a user reads out belongs to.
    /// Nothing is consumed and no failure is counted; at most
    /// the policy's `code_checks` per user per `code_check_window`; audited,
    /// and so is a refusal for going over (denied, exit 3).
    pub fn check_code(&mut self, email: &str, code: &str) -> Result<SkewCheck> {
        let code = otp::parse_digits(code)?;
        // A refusal is answered after committing, so its audit event stays.
        self.run(|cx| -> Result<Result<SkewCheck>> {
            let u = cx.user(email)?;
            if let Err(next) = regulation::take_code_check(cx, u.id)? {
                let limits = &cx.policy.limits;
                cx.audit(
                    Some(u.id),
                    "doctor.check_code",
                    &format!("{REFUSED}{} code checks within {}; the next at {}", limits.code_checks, span(limits.code_check_window), stamp(next)),
                    None,
                )?;
                return Ok(Err(DeskError::Denied(format!(
                    "{} code checks for {} within {}: the next can be made at {} ({}); the limit keeps the secret from being searched",
                    limits.code_checks,
                    u.email,
                    span(limits.code_check_window),
                    stamp(next),
                    relative(next, cx.now)
                ))));
            }
            let apps: Vec<_> = factors::for_user(cx.db, u.id)?
                .into_iter()
                // A hardware (HOTP) token has no clock to check a code against.
                .filter(|f| f.kind == FactorKind::Totp && !f.is_hotp() && f.status != FactorStatus::Disabled)
                .collect();
            let Some(first) = apps.first() else {
                return Err(DeskError::Refused(format!(
                    "{} has no authenticator app to check a code against",
                    u.email
                )));
            };
            let mut result = SkewCheck { factor_id: Some(first.id), offset_steps: None, message: String::new(), already_used: false, refused: false };
            let mut spent = None;
            let mut step_secs = totp::STEP;
            for f in &apps {
                let secret = secret_of(cx.key, f)?;
                if let Some(offset) = totp::find_offset_with(&secret, &f.params, &code, cx.now, totp::SEARCH_STEPS) {
                    result.factor_id = Some(f.id);
                    result.offset_steps = Some(offset);
                    step_secs = f.params.step_secs();
                    spent = spent_by(f, f.params.step_of(cx.now) + offset);
                    break;
                }
            }
            result.already_used = spent.is_some();
            result.message = match (&spent, result.offset_steps) {
                (Some(by), Some(offset)) => doctor::used_message(offset, by, cx.now),
                _ => doctor::skew_message(result.offset_steps),
            };
            let found = result
                .offset_steps
                .map_or_else(|| "no match within ±10 min or a time zone away (±14 h)".to_owned(), |o| format!("matches {:+} s (factor {})", o * step_secs, result.factor_id.unwrap_or(first.id)));
            let used = if result.already_used { ", already used" } else { "" };
            cx.audit(Some(u.id), "doctor.check_code", &format!("code read out: {found}{used}"), None)?;
            Ok(Ok(result))
        })?
    }

    /// Learn a factor's drift from two codes read out one after the other,
    /// within ±10 minutes. The first is then spent; the second, which their
    /// phone shows now, is left for their login. Audited.
    pub fn resync(
        &mut self,
        email: &str,
        factor_id: i64,
        first: &str,
        second: &str,
    ) -> Result<FactorView> {
        let first = otp::parse_digits(first)?;
        let second = otp::parse_digits(second)?;
        // A refusal is answered after committing, so its audit event stays.
        self.run(|cx| -> Result<Result<FactorView>> {
            let u = cx.user(email)?;
            let f = factor_of(cx.db, &u, factor_id)?;
            if f.kind != FactorKind::Totp {
                return Err(DeskError::Refused(format!("factor {factor_id} is not an authenticator app, so it has no clock to resync")));
            }
            if f.is_hotp() {
                return super::hotp::resync(cx, &u, &f, &first, &second);
            }
            let secret = secret_of(cx.key, &f)?;
            let Some(drift) = totp::resync_with(&secret, &f.params, &first, &second, cx.now, totp::SEARCH_STEPS) else {
                cx.audit(
                    Some(u.id),
                    "factor.resync",
                    &format!("{} (factor {}): refused, the two codes are not codes in a row within ±10 min", f.label, f.id),
                    None,
                )?;
                return Ok(Err(DeskError::Denied(
                    "those are not two codes in a row of this app within 10 minutes: have them read one code, wait for the next, and read that".to_owned(),
                )));
            };
            factors::set_drift(cx.db, f.id, drift)?;
            // The first code was read out loud and its time is past: it must
            // not work again, and a replay says the resync spent it (it is
            // not a login, so the factor's last use stays). The second is the
            // code their phone shows now, the one their next login needs: it
            // stays theirs, or they would wait for the next one.
            let spent = f.params.step_of(cx.now) + drift - 1;
            factors::spend_by_resync(cx.db, f.id, spent, cx.now)?;
            cx.audit(
                Some(u.id),
                "factor.resync",
                &format!("{} (factor {}): drift {:+} s (was {:+} s)", f.label, f.id, drift * f.params.step_secs(), f.drift * f.params.step_secs()),
                None,
            )?;
            Ok(Ok(view(&factor_of(cx.db, &u, factor_id)?)))
        })?
    }

    /// Forget a factor's learned drift. Audited.
    pub fn clear_drift(&mut self, email: &str, factor_id: i64) -> Result<FactorView> {
        self.run(|cx| {
            let u = cx.user(email)?;
            let f = factor_of(cx.db, &u, factor_id)?;
            if f.drift == 0 {
                return Err(DeskError::Refused(format!(
                    "factor {factor_id} has no drift to clear"
                )));
            }
            factors::set_drift(cx.db, f.id, 0)?;
            cx.audit(
                Some(u.id),
                "factor.resync",
                &format!(
                    "{} (factor {}): drift cleared (was {:+} s)",
                    f.label,
                    f.id,
                    f.drift * f.params.step_secs()
                ),
                None,
            )?;
            Ok(view(&factor_of(cx.db, &u, factor_id)?))
        })
    }
}
