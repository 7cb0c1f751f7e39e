//! A code typed at a challenge: what is checked before the code (the
//! challenge still open, its factor active, 2FA unlocked, time left).
//! Judging the code is `judge`; recording the verdict is `settle`.

mod judge;
mod settle;

pub(crate) use judge::{Judged, rejected};

use super::{factor_gone, locked_sentence};
use crate::desk::account::{self, factor_of};
use crate::desk::views::{VerifyOutcome, VerifyResult};
use crate::desk::{Ctx, Desk, DeskError, Result};
use crate::domain::otp::{self, Entered};
use crate::domain::relative;
use crate::domain::text::{self, Field};
use crate::domain::vocab::{AttemptKind, AttemptOutcome, ChallengePurpose, ChallengeState};
use crate::domain::{FactorKind, FactorStatus};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::factors::{self as factor_rows, FactorRow};
use crate::store::users::UserRow;
use settle::{accept, outcome, record, reject};

/// Why a cancelled challenge cannot complete.
const CANCELLED: &str = "was cancelled (by a newer login, a removed factor, a 2FA reset or a \
                         disabled account): start a new login";

/// What an expired code's challenge offers when no more codes may be sent.
const NO_MORE_CODES: &str = "no more codes can be sent for it, so start a new login";

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
        self.run(|cx| verify_in(cx, challenge_id, &entered, remember.as_deref()))
    }
}

/// The whole check, inside the use case's transaction.
fn verify_in(
    cx: &mut Ctx<'_>,
    challenge_id: i64,
    entered: &Entered,
    remember: Option<&str>,
) -> Result<VerifyOutcome> {
    let c =
        challenges::by_id(cx.db, challenge_id)?.ok_or(DeskError::UnknownChallenge(challenge_id))?;
    let u = account::by_id(cx, c.user_id)?;
    if let Some(out) = closed(cx, &u, &c)? {
        return Ok(out);
    }
    let f = factor_to_check(cx, &u, &c, entered)?;
    let kind = attempt_kind(entered, f.kind);
    if let Some(out) = not_checked(cx, &u, &c, &f, kind)? {
        return Ok(out);
    }
    match judge::judge(cx, &u, &c, &f, entered)? {
        Judged::Accepted {
            step,
            backup,
            counter,
        } => {
            if let Some(counter) = counter {
                // The token's next code is the one after this.
                factor_rows::set_counter(cx.db, f.id, counter + 1)?;
            }
            accept(cx, &u, &c, &f, kind, step, backup, remember)
        }
        Judged::Rejected {
            result,
            message,
            offset,
            first_used,
        } => reject(
            cx,
            &u,
            &c,
            kind,
            result,
            &message,
            offset,
            first_used.as_ref(),
        ),
    }
}

/// A challenge that no longer takes codes: an error, or (after too many
/// wrong codes) a refusal that is audited. `None` while it is open.
fn closed(cx: &Ctx<'_>, u: &UserRow, c: &ChallengeRow) -> Result<Option<VerifyOutcome>> {
    let id = c.id;
    match c.state {
        ChallengeState::Open => Ok(None),
        ChallengeState::Accepted => Err(DeskError::Refused(format!(
            "challenge {id} was already completed: start a new login"
        ))),
        ChallengeState::Cancelled => Err(DeskError::Refused(format!("challenge {id} {CANCELLED}"))),
        ChallengeState::Failed => {
            let out = outcome(
                id,
                VerifyResult::Invalid,
                0,
                format!(
                    "This challenge closed after {} wrong codes: start a new login.",
                    c.max_attempts
                ),
            );
            let detail = format!("challenge {id}: refused, closed after too many wrong codes");
            cx.audit(Some(u.id), "login.verify", &detail, Some(&c.ip))?;
            Ok(Some(out))
        }
    }
}

/// The factor an open login or export challenge checks: still there and
/// active, and the code the right length for it.
fn factor_to_check(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    entered: &Entered,
) -> Result<FactorRow> {
    if c.purpose == ChallengePurpose::Enrol {
        return Err(DeskError::ConfirmsFactor {
            challenge: c.id,
            email: u.email.clone(),
            factor: c.factor_id.unwrap_or_default(),
        });
    }
    let f = c
        .factor_id
        .map(|id| factor_of(cx.db, u, id))
        .transpose()?
        .ok_or_else(|| factor_gone(c.id))?;
    if f.status != FactorStatus::Active {
        return Err(DeskError::Refused(format!(
            "{} is {} now, so this challenge cannot complete: start a new login",
            f.label, f.status
        )));
    }
    // Digits of another length than this factor's codes are not a
    // code for it: refused like any typo, costing no attempt.
    if let Entered::Digits(code) = entered
        && let Some(wrong) = f.wrong_length(code)
    {
        return Err(crate::desk::factors::wrong_length(wrong));
    }
    Ok(f)
}

/// What kind of attempt the typed code is, as the trail records it.
fn attempt_kind(entered: &Entered, factor: FactorKind) -> AttemptKind {
    match entered {
        Entered::Backup(_) => AttemptKind::Backup,
        Entered::Temp(_) => AttemptKind::Temp,
        Entered::Digits(_) => match factor {
            FactorKind::Totp => AttemptKind::Totp,
            FactorKind::Sms => AttemptKind::Sms,
            FactorKind::Email => AttemptKind::Email,
        },
    }
}

/// A code not even checked, because 2FA is locked or the challenge has
/// expired: recorded and audited. `None` when the code is to be judged.
fn not_checked(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    kind: AttemptKind,
) -> Result<Option<VerifyOutcome>> {
    let left_now = otp::attempts_left(c.max_attempts, c.attempts);
    if u.lock.is_locked(cx.now) {
        let until = u.lock.locked_until.unwrap_or(cx.now);
        record(cx, u, c, kind, AttemptOutcome::Locked, None, None)?;
        let sentence = locked_sentence(&u.lock, cx.now);
        let mut out = outcome(c.id, VerifyResult::Locked, left_now, sentence);
        out.locked_until = Some(until);
        let detail = format!("challenge {}: refused, 2FA locked", c.id);
        cx.audit(Some(u.id), "login.verify", &detail, Some(&c.ip))?;
        return Ok(Some(out));
    }
    if !otp::is_expired(c.expires_at, cx.now) {
        return Ok(None);
    }
    record(cx, u, c, kind, AttemptOutcome::Expired, None, None)?;
    let ago = relative(c.expires_at, cx.now);
    let message = format!(
        "{} expired {ago}: {}.",
        expired_what(f),
        expired_then(cx, c, f)
    );
    let out = outcome(c.id, VerifyResult::Expired, left_now, message);
    let detail = format!("challenge {}: expired {ago}", c.id);
    cx.audit(Some(u.id), "login.verify", &detail, Some(&c.ip))?;
    Ok(Some(out))
}

/// What expired: the login (an authenticator's) or the code sent.
fn expired_what(f: &FactorRow) -> &'static str {
    match f.kind {
        FactorKind::Totp => "This login",
        _ => "The code",
    }
}

/// What to do after expiry: another code only while the challenge may
/// still send one.
fn expired_then(cx: &Ctx<'_>, c: &ChallengeRow, f: &FactorRow) -> &'static str {
    match f.kind {
        FactorKind::Totp => "start a new login",
        _ if c.resends >= cx.policy.resend_max => NO_MORE_CODES,
        _ => "request another code",
    }
}
