//! "Request another code": whether a challenge may send one now (open, on
//! an active SMS or email factor, past the cooldown, under the limit), and
//! sending it, new (`replace`) or the same again (`keep`).

use chrono::TimeDelta;

use super::factor_gone;
use crate::desk::account::{self, factor_of};
use crate::desk::gateway::{self, Message};
use crate::desk::sealing::code_mac;
use crate::desk::views::{ResendOutcome, ResendResult};
use crate::desk::{Ctx, Desk, DeskError, Result};
use crate::domain::otp::{self, Resend, ResendState};
use crate::domain::vocab::{ChallengePurpose, ChallengeState};
use crate::domain::{FactorKind, FactorStatus, Time, relative, span};
use crate::store::challenges::{self, ChallengeRow};
use crate::store::factors::FactorRow;
use crate::store::users::UserRow;

/// An authenticator's challenge: its codes come from the app.
const NOTHING_TO_RESEND: &str = "authenticator codes come from the app, so there is nothing to \
                                 resend: type the code the app shows now";

/// A `keep` resend whose sealed code cannot be opened.
const CODE_LOST: &str = "the current code cannot be recovered: start a new login";

impl Desk {
    /// "Request another code": within the cooldown and the resend limit,
    /// send a new code (`replace`) or the same one again (`keep`).
    pub fn resend(&mut self, challenge_id: i64) -> Result<ResendOutcome> {
        self.run(|cx| resend_in(cx, challenge_id))
    }
}

/// The whole resend, inside the use case's transaction.
fn resend_in(cx: &mut Ctx<'_>, challenge_id: i64) -> Result<ResendOutcome> {
    let c =
        challenges::by_id(cx.db, challenge_id)?.ok_or(DeskError::UnknownChallenge(challenge_id))?;
    let u = account::by_id(cx, c.user_id)?;
    let f = factor_to_send(cx, &u, &c)?;
    let ttl = cx.policy.code_ttl(f.kind);
    let state = ResendState {
        resends: c.resends,
        last_sent_at: c.last_sent_at,
        expires_at: c.expires_at,
    };
    let decision = otp::resend(state, &cx.policy, ttl, cx.now);
    let mut out = ResendOutcome {
        challenge_id,
        result: ResendResult::Sent,
        message: String::new(),
        retry_after_s: None,
        resends_left: cx.policy.resend_max.saturating_sub(c.resends),
        same_code: false,
        expires_at: c.expires_at,
        delivery: None,
    };
    match decision {
        Resend::Cooldown { retry_after } => {
            out.result = ResendResult::Cooldown;
            out.retry_after_s = Some(retry_after.num_seconds());
            out.message = format!(
                "Too soon: another code can be requested in {}.",
                span(retry_after)
            );
        }
        Resend::Limit => {
            out.result = ResendResult::Limit;
            out.message = format!(
                "No more codes for this login ({} resends used): start a new login.",
                cx.policy.resend_max
            );
        }
        Resend::NewCode { expires_at } => send_new(cx, &u, &c, &f, (ttl, expires_at), &mut out)?,
        Resend::SameCode => send_same(cx, &u, &c, &f, &mut out)?,
    }
    let detail = format!("challenge {challenge_id}: {} ({})", out.result, out.message);
    cx.audit(Some(u.id), "login.resend", &detail, Some(&c.ip))?;
    Ok(out)
}

/// The factor an open challenge may send a code through: still there, not
/// an authenticator, and (but for an enrolment) active.
fn factor_to_send(cx: &Ctx<'_>, u: &UserRow, c: &ChallengeRow) -> Result<FactorRow> {
    if c.state != ChallengeState::Open {
        let then = if c.purpose == ChallengePurpose::Enrol {
            "add the factor again to send a new confirmation code"
        } else {
            "start a new login"
        };
        return Err(DeskError::Refused(format!(
            "challenge {} is {}, so no code can be sent for it: {then}",
            c.id, c.state
        )));
    }
    let f = c
        .factor_id
        .map(|id| factor_of(cx.db, u, id))
        .transpose()?
        .ok_or_else(|| factor_gone(c.id))?;
    if f.kind == FactorKind::Totp {
        return Err(DeskError::Refused(NOTHING_TO_RESEND.to_owned()));
    }
    // Like `verify`: a login or export challenge completes only on an
    // active factor, so no code goes out through a disabled one.
    if c.purpose != ChallengePurpose::Enrol && f.status != FactorStatus::Active {
        return Err(DeskError::Refused(format!(
            "{} is {} now, so no code can be sent for this challenge: start a new login",
            f.label, f.status
        )));
    }
    Ok(f)
}

/// `replace`: a new code, living `ttl` until `expires_at`; the old one dies.
fn send_new(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    (ttl, expires_at): (TimeDelta, Time),
    out: &mut ResendOutcome,
) -> Result<()> {
    let code = otp::new_code(cx.rng);
    let mac = code_mac(cx.key, u.id, &code);
    let sealed = cx.key.seal(cx.rng, "code", code.as_bytes());
    challenges::resent(cx.db, c.id, Some((&mac, &sealed, expires_at)), cx.now)?;
    let message = Message {
        user_id: u.id,
        factor: f,
        challenge_id: c.id,
        purpose: c.purpose,
        code: &code,
        code_mac: &mac,
        ttl,
    };
    let sent = gateway::send(cx, &message)?;
    out.expires_at = expires_at;
    out.resends_left = cx.policy.resend_max.saturating_sub(c.resends + 1);
    out.message = format!(
        "A new code was sent to {} ({}); the previous code no longer works.",
        sent.destination, sent.status
    );
    out.delivery = Some(sent);
    Ok(())
}

/// `keep`: the same code sent again, its expiry unchanged.
fn send_same(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    out: &mut ResendOutcome,
) -> Result<()> {
    let code = c
        .code_sealed
        .as_deref()
        .map(|s| cx.key.open("code", s))
        .transpose()?
        .and_then(|b| std::str::from_utf8(&b).ok().map(str::to_owned))
        .ok_or_else(|| DeskError::Refused(CODE_LOST.to_owned()))?;
    let mac = code_mac(cx.key, u.id, &code);
    challenges::resent(cx.db, c.id, None, cx.now)?;
    let message = Message {
        user_id: u.id,
        factor: f,
        challenge_id: c.id,
        purpose: c.purpose,
        code: &code,
        code_mac: &mac,
        ttl: c.expires_at - cx.now,
    };
    let sent = gateway::send(cx, &message)?;
    out.same_code = true;
    out.resends_left = cx.policy.resend_max.saturating_sub(c.resends + 1);
    out.message = format!(
        "The same code was sent again to {} ({}); it still expires {}.",
        sent.destination,
        sent.status,
        relative(c.expires_at, cx.now)
    );
    out.delivery = Some(sent);
    Ok(())
}
