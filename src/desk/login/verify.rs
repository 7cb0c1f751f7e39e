//! A code typed at a challenge: judged against the authenticator, a backup
//! code or the code sent; accepted (the lock cleared, a device remembered)
//! or rejected (counted towards the lock), and recorded either way.

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::{factor_gone, locked_sentence};
use crate::desk::account::{self, factor_of};
use crate::desk::challenge::{SentCode, sent_code};
use crate::desk::sealing::{backup_code_mac, device_mac, new_device_token, secret_of};
use crate::desk::views::{VerifyOutcome, VerifyResult};
use crate::desk::{Ctx, Desk, DeskError, Result};
use crate::domain::hotp;
use crate::domain::otp::{self, Entered};
use crate::domain::text::{self, Field};
use crate::domain::totp::Check;
use crate::domain::trust;
use crate::domain::vocab::{AttemptKind, AttemptOutcome, ChallengePurpose, ChallengeState};
use crate::domain::{FactorKind, FactorStatus, Time, relative, span, stamp};
use crate::store::attempts::{self, FirstUse, NewAttempt};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::devices;
use crate::store::factors::{self as factor_rows, FactorRow};
use crate::store::users::UserRow;
use crate::store::{self, codes};

impl Desk {
    /// Check a code typed at a challenge: a TOTP, SMS or email code, or a
    /// backup code. Rejections are results (exit 3), not errors.
    pub fn verify(
        &mut self,
        challenge_id: i64,
        input: &str,
        remember: Option<&str>,
    ) -> Result<VerifyOutcome> {
        let entered = otp::parse_entry(input)?;
        // The label comes from the browser and is shown to the help desk:
        // one line of plain text within its limit, or it is refused.
        let remember = remember
            .map(|l| text::check(Field::DeviceLabel, l))
            .transpose()?
            .map(|l| if l.is_empty() { "Unnamed browser" } else { l }.to_owned());
        self.run(|cx| {
            let c = challenges::by_id(cx.conn, challenge_id)?.ok_or(DeskError::UnknownChallenge(challenge_id))?;
            let u = account::by_id(cx, c.user_id)?;
            match c.state {
                ChallengeState::Open => {}
                ChallengeState::Accepted => {
                    return Err(DeskError::Refused(format!(
                        "challenge {challenge_id} was already completed: start a new login"
                    )));
                }
                ChallengeState::Cancelled => {
                    return Err(DeskError::Refused(format!(
                        "challenge {challenge_id} was cancelled (by a newer login, a removed factor, a 2FA reset or a disabled account): start a new login"
                    )));
                }
                ChallengeState::Failed => {
                    let out = outcome(c.id, VerifyResult::Invalid, 0, format!(
                        "This challenge closed after {} wrong codes: start a new login.", c.max_attempts
                    ));
                    cx.audit(Some(u.id), "login.verify", &format!("challenge {}: refused, closed after too many wrong codes", c.id), Some(&c.ip))?;
                    return Ok(out);
                }
            }
            if c.purpose == ChallengePurpose::Enrol {
                return Err(DeskError::ConfirmsFactor {
                    challenge: challenge_id,
                    email: u.email,
                    factor: c.factor_id.unwrap_or_default(),
                });
            }
            let f = c
                .factor_id
                .map(|id| factor_of(cx.conn, &u, id))
                .transpose()?
                .ok_or_else(|| factor_gone(challenge_id))?;
            if f.status != FactorStatus::Active {
                return Err(DeskError::Refused(format!(
                    "{} is {} now, so this challenge cannot complete: start a new login",
                    f.label, f.status
                )));
            }
            // Digits of another length than this factor's codes are not a
            // code for it: refused like any typo, costing no attempt.
            if let Entered::Digits(code) = &entered
                && let Some(wrong) = f.wrong_length(code)
            {
                return Err(crate::desk::factors::wrong_length(wrong));
            }
            let kind = match &entered {
                Entered::Backup(_) => AttemptKind::Backup,
                Entered::Temp(_) => AttemptKind::Temp,
                Entered::Digits(_) => match f.kind {
                    FactorKind::Totp => AttemptKind::Totp,
                    FactorKind::Sms => AttemptKind::Sms,
                    FactorKind::Email => AttemptKind::Email,
                },
            };
            let left_now = otp::attempts_left(c.max_attempts, c.attempts);
            if u.lock.is_locked(cx.now) {
                let until = u.lock.locked_until.unwrap_or(cx.now);
                record(cx, &u, &c, kind, AttemptOutcome::Locked, None, None)?;
                let mut out = outcome(c.id, VerifyResult::Locked, left_now, locked_sentence(&u.lock, cx.now));
                out.locked_until = Some(until);
                cx.audit(Some(u.id), "login.verify", &format!("challenge {}: refused, 2FA locked", c.id), Some(&c.ip))?;
                return Ok(out);
            }
            if otp::is_expired(c.expires_at, cx.now) {
                record(cx, &u, &c, kind, AttemptOutcome::Expired, None, None)?;
                let what = match f.kind {
                    FactorKind::Totp => "This login".to_owned(),
                    _ => "The code".to_owned(),
                };
                // Another code only while the challenge may still send one.
                let then = match f.kind {
                    FactorKind::Totp => "start a new login",
                    _ if c.resends >= cx.policy.resend_max => "no more codes can be sent for it, so start a new login",
                    _ => "request another code",
                };
                let out = outcome(c.id, VerifyResult::Expired, left_now, format!(
                    "{what} expired {}: {then}.", relative(c.expires_at, cx.now)
                ));
                cx.audit(Some(u.id), "login.verify", &format!("challenge {}: expired {}", c.id, relative(c.expires_at, cx.now)), Some(&c.ip))?;
                return Ok(out);
            }
            let judged = judge(cx, &u, &c, &f, &entered)?;
            let out = match judged {
                Judged::Accepted { step, backup, counter } => {
                    if let Some(counter) = counter {
                        // The token's next code is the one after this.
                        factor_rows::set_counter(cx.conn, f.id, counter + 1)?;
                    }
                    accept(cx, &u, &c, &f, kind, step, backup, remember.as_deref())?
                }
                Judged::Rejected { result, message, offset, first_used } => {
                    reject(cx, &u, &c, kind, result, &message, offset, first_used.as_ref())?
                }
            };
            Ok(out)
        })
    }
}

/// What an accepted login says when the account was secured after a
/// suspected compromise.
const NEW_PASSWORD_NOW: &str =
    " They must set a new password now: the old one may be known to someone else.";

pub(crate) enum Judged {
    Accepted {
        step: Option<i64>,
        backup: Option<i64>,
        /// An HOTP token's counter the code was at.
        counter: Option<u64>,
    },
    Rejected {
        result: VerifyResult,
        message: String,
        offset: Option<i64>,
        first_used: Option<FirstUse>,
    },
}

/// Decide whether the typed code is right, without changing anything.
fn judge(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    entered: &Entered,
) -> Result<Judged> {
    match (entered, f.kind) {
        (Entered::Backup(canonical), _) => judge_backup(cx, u, canonical),
        (Entered::Temp(canonical), _) => {
            crate::desk::temp_code::judge(cx.db, cx.key, u.id, canonical, cx.now)
        }
        (Entered::Digits(code), FactorKind::Totp) if f.is_hotp() => judge_hotp(cx, f, code),
        (Entered::Digits(code), FactorKind::Totp) => judge_totp(cx, f, code),
        (Entered::Digits(code), FactorKind::Sms | FactorKind::Email) => {
            judge_sent_code(cx, u, c, code)
        }
    }
}

pub(crate) fn rejected(result: VerifyResult, message: String) -> Judged {
    Judged::Rejected {
        result,
        message,
        offset: None,
        first_used: None,
    }
}

fn judge_backup(cx: &Ctx<'_>, u: &UserRow, canonical: &str) -> Result<Judged> {
    Ok(
        match codes::find(cx.db, u.id, &backup_code_mac(cx.key, canonical))? {
            Some(codes::Match::Unused(id)) => Judged::Accepted {
                step: None,
                backup: Some(id),
                counter: None,
            },
            Some(codes::Match::Used { at, ip }) => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: format!(
                    "That backup code was already used {} ({}){}; each works once.",
                    relative(at, cx.now),
                    stamp(at),
                    ip.as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                ),
                offset: None,
                first_used: Some(FirstUse::Login { at, ip }),
            },
            None => rejected(
                VerifyResult::Invalid,
                "That is not one of this user's backup codes.".to_owned(),
            ),
        },
    )
}

/// A code from a hardware token: at the expected counter or up to
/// [`hotp::LOOK_AHEAD`] presses past it.
fn judge_hotp(cx: &Ctx<'_>, f: &FactorRow, code: &str) -> Result<Judged> {
    let secret = secret_of(cx.key, f)?;
    let next = f.counter.unwrap_or(0);
    Ok(
        match hotp::check(&secret, &f.params, code, next, hotp::LOOK_AHEAD) {
            hotp::Check::Accepted { counter } => Judged::Accepted {
                step: None,
                backup: None,
                counter: Some(counter),
            },
            hotp::Check::Replayed { .. } => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: format!(
                    "That code was already used{}{}: press the token's button for a new one.",
                    f.last_used_at
                        .map(|t| format!(" {}", relative(t, cx.now)))
                        .unwrap_or_default(),
                    f.last_used_ip
                        .as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                ),
                offset: None,
                first_used: f.last_used_at.map(|at| FirstUse::Login {
                    at,
                    ip: f.last_used_ip.clone(),
                }),
            },
            hotp::Check::Invalid => rejected(
                VerifyResult::Invalid,
                format!(
                    "That code is not one of the token's next {}: press its button and type the new code; if it keeps failing, resync it.",
                    hotp::LOOK_AHEAD
                ),
            ),
        },
    )
}

fn judge_totp(cx: &Ctx<'_>, f: &FactorRow, code: &str) -> Result<Judged> {
    let secret = secret_of(cx.key, f)?;
    let params = f.params;
    Ok(
        match crate::domain::totp::check(&secret, code, cx.now, cx.policy.totp_skew, f.state()) {
            Check::Accepted { step } => Judged::Accepted {
                step: Some(step),
                backup: None,
                counter: None,
            },
            Check::Replayed {
                step,
                by_resync: true,
            } => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: resync_spent(f, step, cx.now),
                offset: Some(step - params.step_of(cx.now)),
                first_used: f.resynced_at.map(|at| FirstUse::Resync { at }),
            },
            Check::Replayed { step, .. } => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: format!(
                    "{}{}{}: wait for the app to show the next one.",
                    if f.last_step.is_some_and(|last| step < last) {
                        // Before the last step used: perhaps never used
                        // itself, but each code must be newer than the last.
                        "That code is older than the last one used"
                    } else {
                        "That code was already used"
                    },
                    f.last_used_at
                        .map(|t| format!(" {}", relative(t, cx.now)))
                        .unwrap_or_default(),
                    f.last_used_ip
                        .as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                ),
                offset: Some(step - params.step_of(cx.now)),
                first_used: f.last_used_at.map(|at| FirstUse::Login {
                    at,
                    ip: f.last_used_ip.clone(),
                }),
            },
            Check::Invalid { offset } => Judged::Rejected {
                result: VerifyResult::Invalid,
                message: skew_hint(params, offset),
                offset,
                first_used: None,
            },
        },
    )
}

/// A code refused only because a resync spent its step: say so, and when
/// the phone's codes are usable again.
fn resync_spent(f: &FactorRow, step: i64, now: Time) -> String {
    let at = f
        .resynced_at
        .map(|t| format!(" at {}", stamp(t)))
        .unwrap_or_default();
    // The phone shows `step` now; the first usable code is the step after
    // the last one the resync spent.
    let spent = f.resync_step.unwrap_or(step);
    let wait = (spent - step) * f.params.step_secs() + f.params.seconds_left(now);
    format!(
        "That time step was spent by the help desk's resync{at}: wait for the next code (in about {}).",
        span(TimeDelta::seconds(wait))
    )
}

/// What a wrong TOTP code says about the phone's clock.
fn skew_hint(params: crate::domain::oath::Params, offset: Option<i64>) -> String {
    match offset {
        Some(o) if o < 0 => {
            let off = span(params.span(-o));
            format!(
                "That code is not valid now; it was valid {off} ago, so the phone's clock looks about {off} slow."
            )
        }
        Some(o) if o > 0 => {
            let off = span(params.span(o));
            format!(
                "That code is not valid yet; it becomes valid in {off}, so the phone's clock looks about {off} fast."
            )
        }
        _ => "That code is not valid.".to_owned(),
    }
}

fn judge_sent_code(cx: &Ctx<'_>, u: &UserRow, c: &ChallengeRow, code: &str) -> Result<Judged> {
    Ok(match sent_code(cx, u, c, code)? {
        SentCode::Current => Judged::Accepted {
            step: None,
            backup: None,
            counter: None,
        },
        other => rejected(
            VerifyResult::Invalid,
            other.refusal(c.resends < cx.policy.resend_max),
        ),
    })
}

fn outcome(
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

fn record(
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
        .map(|id| devices::by_id(cx.conn, id))
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
                    devices::forget_addresses(cx.conn, d.id)?;
                }
                devices::rotate(cx.conn, d.id, &mac, until)?;
                devices::touch(cx.conn, d.id, &c.ip, cx.now)?;
                devices::completed_from(cx.conn, d.id, &c.ip, cx.now)?;
            }
            None => {
                devices::insert(cx.conn, u.id, &mac, label, &c.ip, cx.now, until)?;
            }
        }
        out.device_token = Some(token);
        out.trusted_until = Some(until);
    } else if let Some(d) = known {
        devices::touch(cx.conn, d.id, &c.ip, cx.now)?;
        // Completed from here while trusted: returning from here is not new.
        if d.revoked_at.is_none() && cx.now < d.trusted_until {
            devices::completed_from(cx.conn, d.id, &c.ip, cx.now)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn accept(
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
    challenges::close(cx.conn, c.id, ChallengeState::Accepted, cx.now)?;
    account::clear_lock(cx, u.id)?;
    let mut out = outcome(
        c.id,
        VerifyResult::Accepted,
        otp::attempts_left(c.max_attempts, c.attempts),
        String::new(),
    );
    out.used = Some(kind.to_string());
    if kind == AttemptKind::Temp {
        // Once: a second login racing for it finds it spent.
        if !store::temp_codes::mark_used(cx.db, u.id, cx.now, &c.ip)? {
            return Err(DeskError::Refused(
                "that temporary access code was used a moment ago: ask the help desk for another"
                    .to_owned(),
            ));
        }
    } else if let Some(id) = backup {
        codes::mark_used(cx.db, id, cx.now, &c.ip)?;
        out.backup_codes_left = Some(account::by_id(cx, u.id)?.codes_left);
    } else {
        factor_rows::record_use(cx.conn, f.id, cx.now, &c.ip, step)?;
    }
    if c.purpose == ChallengePurpose::Login {
        store::users::set_last_login(cx.conn, u.id, cx.now)?;
    }
    remember_device(cx, u, c, remember, &mut out)?;
    let what = match c.purpose {
        ChallengePurpose::Export => "export approved",
        _ => "signed in",
    };
    out.message = match (backup, out.backup_codes_left) {
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
            out.message,
            " This computer is remembered until {}.",
            stamp(until)
        );
    }
    if u.password_change && c.purpose == ChallengePurpose::Login {
        out.message.push_str(NEW_PASSWORD_NOW);
    }
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

#[allow(clippy::too_many_arguments)]
fn reject(
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
    challenges::record_attempt(cx.conn, c.id, attempts)?;
    let left = otp::attempts_left(c.max_attempts, attempts);
    if left == 0 {
        challenges::close(cx.conn, c.id, ChallengeState::Failed, cx.now)?;
    }
    let earlier = account::recent_failures(cx.db, &cx.policy, u, cx.now)?;
    let lock = u.lock.fail(&earlier, &cx.policy, cx.now);
    store::users::set_lock(cx.conn, u.id, &lock)?;
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
        out.message = if lock.is_hard() {
            format!(
                "{message} That was failed code {} in a row with no success between: 2FA is now locked until an admin unlocks it.",
                lock.streak
            )
        } else {
            format!(
                "{message} That was failed attempt {} in a row: 2FA is now locked until {} ({}).",
                lock.failures,
                stamp(until),
                relative(until, cx.now)
            )
        };
    } else if left == 0 {
        out.message = format!("{message} No attempts left on this challenge: start a new login.");
    } else {
        out.message = format!("{message} {left} attempt(s) left.");
    }
    cx.audit(
        Some(u.id),
        "login.verify",
        &match out.locked_until {
            Some(_) if lock.is_hard() => format!(
                "challenge {}: {} {kind} code, failure {} in a row with no success: 2FA locked until an admin unlocks it",
                c.id, result, lock.streak
            ),
            Some(until) => format!(
                "challenge {}: {} {kind} code, failure {} in a row: 2FA locked until {}",
                c.id,
                result,
                lock.failures,
                crate::domain::stamp(until)
            ),
            None => format!(
                "challenge {}: {} {kind} code ({} failure(s) in a row)",
                c.id, out.result, lock.failures
            ),
        },
        Some(&c.ip),
    )?;
    Ok(out)
}
