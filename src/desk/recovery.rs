//! Getting an account back to a second factor at once: a lost phone replaced
//! by a new authenticator, and the response to a suspected compromise.

use serde::Serialize;

use super::account::clear_lock;
use super::factors::start_totp;
use super::views::TotpEnrolment;
use super::{Ctx, Desk, Result, reason};
use crate::domain::audit::Facts;
use crate::store::users::UserRow;
use crate::store::{self, challenges};

/// What a re-enrolment or a compromise response did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    pub factors_removed: usize,
    pub codes_removed: usize,
    pub challenges_cancelled: usize,
    /// Remembered computers revoked (a compromise response only).
    pub devices_revoked: usize,
    /// The next login must set a new password (a compromise response only).
    pub new_password_required: bool,
    /// The new authenticator app: pending until its first code, which
    /// brings a new batch of backup codes.
    pub enrolment: TotpEnrolment,
}

/// Everything of the old second factor goes (factors, backup codes, open
/// challenges, the lock), and a new authenticator app starts, pending. The
/// grace period is left as it was: no new window without a second factor.
fn renew(cx: &mut Ctx<'_>, u: &UserRow) -> Result<Recovery> {
    let cancelled = challenges::cancel_open(cx.db, u.id, cx.now)?;
    let factors = store::factors::delete_for_user(cx.db, u.id)?;
    let codes = store::codes::delete_for_user(cx.db, u.id)?;
    clear_lock(cx, u.id)?;
    // A phone number is confirmed again by an SMS factor's first code.
    store::users::set_phone(cx.db, u.id, u.phone.as_deref(), false)?;
    let enrolment = start_totp(cx, u)?;
    Ok(Recovery {
        factors_removed: factors,
        codes_removed: codes,
        challenges_cancelled: cancelled,
        devices_revoked: 0,
        new_password_required: false,
        enrolment,
    })
}

/// What the audit trail says of a recovery, after its reason.
fn detail(why: &str, r: &Recovery) -> String {
    let mut done = vec![
        format!("{} factor(s) removed", r.factors_removed),
        format!("{} backup code(s) removed", r.codes_removed),
        format!("{} challenge(s) cancelled", r.challenges_cancelled),
    ];
    if r.new_password_required {
        done.push(format!("{} device(s) revoked", r.devices_revoked));
    }
    done.push(format!(
        "new authenticator app pending (factor {})",
        r.enrolment.factor_id
    ));
    if r.new_password_required {
        done.push("a new password is required at the next login".to_owned());
    }
    format!("{why} ({})", done.join(", "))
}

/// What the doctor reads of a recovery: its reason and the new factor.
fn typed(why: &str, r: &Recovery) -> Facts {
    Facts {
        factor: Some(r.enrolment.factor_id),
        reason: Some(why.to_owned()),
        ..Facts::default()
    }
}

impl Desk {
    /// A lost phone: remove every factor and backup code and start a new
    /// authenticator app now, to be confirmed with them (its first code
    /// brings new backup codes). Unlike a 2FA reset, no new grace period
    /// begins: where 2FA is required and grace is over, no login gets in
    /// until the new app is confirmed. Needs a reason; audited.
    pub fn reenrol(&mut self, email: &str, why: &str) -> Result<Recovery> {
        let why = reason(why, "replace a lost authenticator")?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let r = renew(cx, &u)?;
            cx.audit_with(
                Some(u.id),
                "user.reenrol",
                &detail(&why, &r),
                None,
                &typed(&why, &r),
            )?;
            Ok(r)
        })
    }

    /// A suspected compromise: as [`Desk::reenrol`], and every remembered
    /// computer is revoked and the next login must set a new password.
    /// Until then no login gets in on the password alone, whatever the
    /// enforcement or grace: the new authenticator must be confirmed first
    /// and asked for on every computer. Needs a reason; audited.
    pub fn treat_as_compromised(&mut self, email: &str, why: &str) -> Result<Recovery> {
        let why = reason(why, "treat an account as compromised")?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let mut r = renew(cx, &u)?;
            r.devices_revoked = store::devices::revoke_all(
                cx.db,
                u.id,
                cx.now,
                &format!("compromise response: {why}"),
            )?;
            store::users::set_password_change(cx.db, u.id, true)?;
            r.new_password_required = true;
            cx.audit_with(
                Some(u.id),
                "user.compromised",
                &detail(&why, &r),
                None,
                &typed(&why, &r),
            )?;
            Ok(r)
        })
    }
}
