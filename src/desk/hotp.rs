//! Hardware tokens (HOTP, RFC 4226): enrol one with its secret and counter,
//! confirm it, check its codes against the counter, resync it from two codes.

use super::account::{factor_of, view};
use super::factors::chosen_label;
use super::sealing::{secret_of, totp_context};
use super::views::{FactorView, HotpEnrolment};
use super::{Ctx, Desk, DeskError, Result};
use crate::domain::exchange::uri;
use crate::domain::hotp::{self, Check};
use crate::domain::oath::{self, Params};
use crate::domain::{FactorKind, FactorStatus, totp};
use crate::store::factors::{self as rows, FactorRow, NewFactor};
use crate::store::users::UserRow;

/// A hardware token to enrol.
#[derive(Debug, Default)]
pub struct NewToken {
    pub email: String,
    /// What to call it (`YubiKey 5`); `Hardware token` if none.
    pub label: Option<String>,
    /// The counter its next code is at (0 for a new token).
    pub counter: u64,
    /// Its secret, when the token came with one; else a new one is made,
    /// to program into it.
    pub secret: Option<zeroize::Zeroizing<Vec<u8>>>,
}

impl Desk {
    /// Enrol a hardware (HOTP) token, pending until a code from it confirms
    /// it with `confirm_factor`. SHA1 and 6 digits, as policy enrols.
    pub fn enrol_hotp(&mut self, token: &NewToken) -> Result<HotpEnrolment> {
        let chosen = chosen_label(token.label.as_deref())?;
        if let Some(secret) = &token.secret {
            oath::check_secret(secret)
                .map_err(|e| DeskError::Refused(format!("{e}: check the token's seed")))?;
        }
        let counter = i64::try_from(token.counter)
            .map(|_| token.counter)
            .map_err(|_| DeskError::Refused("the counter is too large for a token".to_owned()))?;
        self.run(|cx| {
            super::factors::require_allowed(cx, FactorKind::Totp)?;
            let u = cx.user(&token.email)?;
            let made = token.secret.is_none();
            let secret = match &token.secret {
                Some(s) => s.clone(),
                None => zeroize::Zeroizing::new(cx.rng.bytes::<{ totp::SECRET_LEN }>().to_vec()),
            };
            let label = chosen.clone().unwrap_or_else(|| "Hardware token".to_owned());
            let sealed = cx.key.seal(cx.rng, &totp_context(u.id), &secret);
            let id = rows::insert(
                cx.db,
                &NewFactor {
                    secret: Some(&sealed),
                    created_at: cx.now,
                    counter: Some(counter),
                    ..NewFactor::new(u.id, FactorKind::Totp, FactorStatus::Pending, &label)
                },
            )?;
            cx.audit(
                Some(u.id),
                "factor.enrol",
                &format!("hardware token enrolment started: {label} (factor {id}, HOTP, counter {counter}, pending)"),
                None,
            )?;
            let item = crate::domain::exchange::Exported {
                factor_id: id,
                account: &u.email,
                issuer: &cx.policy.totp_issuer,
                secret: &secret,
                params: Params::DEFAULT,
                counter: Some(counter),
                serial: None,
                created_at: cx.now,
                last_used_at: None,
            };
            Ok(HotpEnrolment {
                factor_id: id,
                label,
                secret: made.then(|| totp::secret_base32(&secret)),
                uri: made.then(|| uri::write(&item).to_string()),
                counter,
                account: u.email.clone(),
            })
        })
    }
}

/// Confirm a pending token with a code from it: within the look-ahead of
/// its counter, which then moves past it. The inner error is the refusal.
pub(crate) fn confirm(cx: &mut Ctx<'_>, f: &FactorRow, code: &str) -> Result<Result<()>> {
    let secret = secret_of(cx.key, f)?;
    let next = f.counter.unwrap_or(0);
    match hotp::check(&secret, &f.params, code, next, hotp::LOOK_AHEAD) {
        Check::Accepted { counter } => {
            rows::set_counter(cx.db, f.id, counter + 1)?;
            Ok(Ok(()))
        }
        Check::Replayed { .. } | Check::Invalid => Ok(Err(DeskError::NotNextTokenCode {
            look_ahead: hotp::LOOK_AHEAD,
            next,
        })),
    }
}

/// Learn where a token's counter is from two codes pressed one after the
/// other, within [`hotp::RESYNC_WINDOW`] of the expected counter; both are
/// spent. The inner error is the refusal.
pub(crate) fn resync(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    f: &FactorRow,
    first: &str,
    second: &str,
) -> Result<Result<FactorView>> {
    let secret = secret_of(cx.key, f)?;
    let next = f.counter.unwrap_or(0);
    let Some(at) = hotp::resync(&secret, &f.params, first, second, next, hotp::RESYNC_WINDOW)
    else {
        cx.audit(
            Some(u.id),
            "factor.resync",
            &format!(
                "{} (factor {}): refused, the two codes are not codes in a row within {} presses",
                f.label,
                f.id,
                hotp::RESYNC_WINDOW
            ),
            None,
        )?;
        return Ok(Err(DeskError::Denied(format!(
            "those are not two codes in a row of this token within {} presses of counter {next}: have them press it twice and read both codes",
            hotp::RESYNC_WINDOW
        ))));
    };
    rows::set_counter(cx.db, f.id, at + 1)?;
    rows::mark_resynced(cx.db, f.id, cx.now)?;
    cx.audit(
        Some(u.id),
        "factor.resync",
        &format!(
            "{} (factor {}): counter {} (was {next})",
            f.label,
            f.id,
            at + 1
        ),
        None,
    )?;
    Ok(Ok(view(&factor_of(cx.db, u, f.id)?)))
}
