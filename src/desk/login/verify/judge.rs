//! Whether a typed code is right, decided without changing anything: a
//! backup code, a temporary code, a token's, an authenticator's, or one sent.

use chrono::TimeDelta;

use crate::desk::challenge::{SentCode, sent_code};
use crate::desk::sealing::{backup_code_mac, secret_of};
use crate::desk::views::VerifyResult;
use crate::desk::{Ctx, Result};
use crate::domain::hotp;
use crate::domain::otp::Entered;
use crate::domain::totp::Check;
use crate::domain::{FactorKind, Time, relative, span, stamp};
use crate::store::attempts::FirstUse;
use crate::store::challenges::ChallengeRow;
use crate::store::codes;
use crate::store::factors::FactorRow;
use crate::store::users::UserRow;

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
pub(super) fn judge(
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
