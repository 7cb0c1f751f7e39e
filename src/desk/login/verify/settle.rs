//! A judged code settled: accepted (the challenge closed, the code spent,
//! the lock cleared, the computer remembered) or rejected (counted towards
//! the lock); either way recorded as an attempt and audited.

use std::fmt::Write as _;

use crate::desk::account;
use crate::desk::sealing::{device_mac, new_device_token};
use crate::desk::views::{VerifyOutcome, VerifyResult};
use crate::desk::{Ctx, DeskError, Result};
use crate::domain::lockout::Lock;
use crate::domain::otp;
use crate::domain::trust;
use crate::domain::vocab::{AttemptKind, AttemptOutcome, ChallengePurpose, ChallengeState};
use crate::domain::{Time, relative, stamp};
use crate::store::attempts::{self, FirstUse, NewAttempt};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::devices;
use crate::store::factors::{self as factor_rows, FactorRow};
use crate::store::users::UserRow;
use crate::store::{self, codes};

/// What an accepted login says when the account was secured after a
/// suspected compromise.
const NEW_PASSWORD_NOW: &str =
    " They must set a new password now: the old one may be known to someone else.";

/// A temporary access code spent by another login a moment before.
const TEMP_CODE_RACED: &str =
    "that temporary access code was used a moment ago: ask the help desk for another";

pub(super) fn outcome(
    challenge_id: i64,
    result: VerifyResult,
    attempts_left: u32,
    message: String,
) -> VerifyOutcome {
    VerifyOutcome {
        challenge_id,
        result,
        message,
        attempts_left,
        used: None,
        backup_codes_left: None,
        device_token: None,
        trusted_until: None,
        locked_until: None,
    }
}

pub(super) fn record(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    kind: AttemptKind,
    result: AttemptOutcome,
    offset: Option<i64>,
    first_used: Option<&FirstUse>,
) -> Result<()> {
    attempts::insert(
        cx.db,
        &NewAttempt {
            user_id: u.id,
            challenge_id: Some(c.id),
            factor_id: c.factor_id,
            kind,
            outcome: result,
            ip: &c.ip,
            at: cx.now,
            matched_offset: offset,
            first_used,
        },
    )?;
    Ok(())
}

/// The computer the login came from, after an accepted code: remembered
/// (anew, or for a new trust period), or its addresses kept up to date.
fn remember_device(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    remember: Option<&str>,
    out: &mut VerifyOutcome,
) -> Result<()> {
    let known = c
        .device_id
        .map(|id| devices::by_id(cx.db, id))
        .transpose()?
        .flatten();
    if let Some(label) = remember {
        let token = new_device_token(cx);
        let mac = device_mac(cx.key, &token);
        let until = trust::trusted_until(cx.now, cx.policy.trust_span());
        match known.as_ref().filter(|d| d.revoked_at.is_none()) {
            Some(d) => {
                // Remembered again after its trust lapsed: a new trust
                // period, which knows only the addresses it completes from.
                if cx.now >= d.trusted_until {
                    devices::forget_addresses(cx.db, d.id)?;
                }
                devices::rotate(cx.db, d.id, &mac, until)?;
                devices::touch(cx.db, d.id, &c.ip, cx.now)?;
                devices::completed_from(cx.db, d.id, &c.ip, cx.now)?;
            }
            None => {
                devices::insert(cx.db, u.id, &mac, label, &c.ip, cx.now, until)?;
            }
        }
        out.device_token = Some(token);
        out.trusted_until = Some(until);
    } else if let Some(d) = known {
        devices::touch(cx.db, d.id, &c.ip, cx.now)?;
        // Completed from here while trusted: returning from here is not new.
        if d.revoked_at.is_none() && cx.now < d.trusted_until {
            devices::completed_from(cx.db, d.id, &c.ip, cx.now)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn accept(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    kind: AttemptKind,
    step: Option<i64>,
    backup: Option<i64>,
    remember: Option<&str>,
) -> Result<VerifyOutcome> {
    // Only wrong codes use up the challenge's tries.
    challenges::close(cx.db, c.id, ChallengeState::Accepted, cx.now)?;
    account::clear_lock(cx, u.id)?;
    let mut out = outcome(
        c.id,
        VerifyResult::Accepted,
        otp::attempts_left(c.max_attempts, c.attempts),
        String::new(),
    );
    out.used = Some(kind.to_string());
    spend(cx, u, c, f, kind, step, backup, &mut out)?;
    if c.purpose == ChallengePurpose::Login {
        store::users::set_last_login(cx.db, u.id, cx.now)?;
    }
    remember_device(cx, u, c, remember, &mut out)?;
    out.message = accepted_message(cx, u, c, kind, backup, &out);
    record(
        cx,
        u,
        c,
        kind,
        AttemptOutcome::Accepted,
        step.map(|s| s - f.params.step_of(cx.now)),
        None,
    )?;
    let trust_note = if out.trusted_until.is_some() {
        ", device remembered"
    } else {
        ""
    };
    cx.audit(
        Some(u.id),
        "login.verify",
        &format!("challenge {}: accepted {} code{trust_note}", c.id, kind),
        Some(&c.ip),
    )?;
    Ok(out)
}

/// Spend what the accepted code used: the temporary code, the backup code
/// (noting how many are left), or the factor's time step.
#[allow(clippy::too_many_arguments)]
fn spend(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    kind: AttemptKind,
    step: Option<i64>,
    backup: Option<i64>,
    out: &mut VerifyOutcome,
) -> Result<()> {
    if kind == AttemptKind::Temp {
        // Once: a second login racing for it finds it spent.
        if !store::temp_codes::mark_used(cx.db, u.id, cx.now, &c.ip)? {
            return Err(DeskError::Refused(TEMP_CODE_RACED.to_owned()));
        }
    } else if let Some(id) = backup {
        codes::mark_used(cx.db, id, cx.now, &c.ip)?;
        out.backup_codes_left = Some(account::by_id(cx, u.id)?.codes_left);
    } else {
        factor_rows::record_use(cx.db, f.id, cx.now, &c.ip, step)?;
    }
    Ok(())
}

/// What an accepted code says: what it approved, the backup codes left,
/// the computer remembered, a new password needed.
fn accepted_message(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    kind: AttemptKind,
    backup: Option<i64>,
    out: &VerifyOutcome,
) -> String {
    let what = match c.purpose {
        ChallengePurpose::Export => "export approved",
        _ => "signed in",
    };
    let mut message = match (backup, out.backup_codes_left) {
        _ if kind == AttemptKind::Temp => format!(
            "Temporary access code accepted: {what}. It works no more; set up a new phone or factor now."
        ),
        (Some(_), Some(left)) if left <= cx.policy.backup_low => format!(
            "Backup code accepted: {what}. Only {left} backup code(s) left: generate a new set soon."
        ),
        (Some(_), Some(left)) => {
            format!("Backup code accepted: {what}. {left} backup code(s) left.")
        }
        _ => format!("Code accepted: {what}."),
    };
    if let Some(until) = out.trusted_until {
        let _ = write!(
            message,
            " This computer is remembered until {}.",
            stamp(until)
        );
    }
    if u.password_change && c.purpose == ChallengePurpose::Login {
        message.push_str(NEW_PASSWORD_NOW);
    }
    message
}

#[allow(clippy::too_many_arguments)]
pub(super) fn reject(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    kind: AttemptKind,
    result: VerifyResult,
    message: &str,
    offset: Option<i64>,
    first_used: Option<&FirstUse>,
) -> Result<VerifyOutcome> {
    let attempts = c.attempts + 1;
    challenges::record_attempt(cx.db, c.id, attempts)?;
    let left = otp::attempts_left(c.max_attempts, attempts);
    if left == 0 {
        challenges::close(cx.db, c.id, ChallengeState::Failed, cx.now)?;
    }
    let earlier = account::recent_failures(cx.db, &cx.policy, u, cx.now)?;
    let lock = u.lock.fail(&earlier, &cx.policy, cx.now);
    store::users::set_lock(cx.db, u.id, &lock)?;
    let attempt_outcome = match result {
        VerifyResult::Replayed => AttemptOutcome::Replayed,
        _ => AttemptOutcome::Invalid,
    };
    record(cx, u, c, kind, attempt_outcome, offset, first_used)?;
    let mut out = outcome(c.id, result, left, message.to_owned());
    if lock.is_locked(cx.now) {
        // The failures that locked it are spent: after the lock, count afresh.
        account::restart_failures(cx, u.id)?;
        let until = lock.locked_until.unwrap_or(cx.now);
        out.result = VerifyResult::Locked;
        out.locked_until = Some(until);
        out.message = format!("{message} {}", now_locked(&lock, until, cx.now));
    } else if left == 0 {
        out.message = format!("{message} No attempts left on this challenge: start a new login.");
    } else {
        out.message = format!("{message} {left} attempt(s) left.");
    }
    let detail = rejected_detail(c, kind, result, &lock, &out);
    cx.audit(Some(u.id), "login.verify", &detail, Some(&c.ip))?;
    Ok(out)
}

/// What a rejected code adds when it locks 2FA.
fn now_locked(lock: &Lock, until: Time, now: Time) -> String {
    if lock.is_hard() {
        format!(
            "That was failed code {} in a row with no success between: 2FA is now locked until an admin unlocks it.",
            lock.streak
        )
    } else {
        format!(
            "That was failed attempt {} in a row: 2FA is now locked until {} ({}).",
            lock.failures,
            stamp(until),
            relative(until, now)
        )
    }
}

/// The audit trail's line for a rejected code.
fn rejected_detail(
    c: &ChallengeRow,
    kind: AttemptKind,
    result: VerifyResult,
    lock: &Lock,
    out: &VerifyOutcome,
) -> String {
    match out.locked_until {
        Some(_) if lock.is_hard() => format!(
            "challenge {}: {} {kind} code, failure {} in a row with no success: 2FA locked until an admin unlocks it",
            c.id, result, lock.streak
        ),
        Some(until) => format!(
            "challenge {}: {} {kind} code, failure {} in a row: 2FA locked until {}",
            c.id,
            result,
            lock.failures,
            stamp(until)
        ),
        None => format!(
            "challenge {}: {} {kind} code ({} failure(s) in a row)",
            c.id, out.result, lock.failures
        ),
    }
}
