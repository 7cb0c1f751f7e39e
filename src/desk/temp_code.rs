//! Temporary access codes at the desk: issued by the help desk with a reason
//! (shown once, kept as a keyed hash, audited), checked at a challenge.

use chrono::TimeDelta;
use serde::Serialize;

use super::login::verify::{Judged, rejected};
use super::views::VerifyResult;
use super::{Desk, Result, reason};
use crate::crypto::{Key, same};
use crate::domain::audit::Facts;
use crate::domain::temp_code::{self, TempState};
use crate::domain::{Time, relative, stamp};
use crate::store::Db;
use crate::store::attempts::FirstUse;
use crate::store::temp_codes::{self, NewTempCode};

/// A keyed hash of a temporary access code, bound to its user.
pub(crate) fn temp_code_mac(key: &Key, user_id: i64, canonical: &str) -> [u8; 32] {
    key.mac("temp", format!("{user_id}:{canonical}").as_bytes())
}

/// A code just issued: shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedTempCode {
    pub email: String,
    /// `xxxx-xxxx-xxxx`: never shown again.
    pub code: String,
    pub valid_until: Time,
    /// It replaced a code that still worked (which works no more).
    pub replaced_live: bool,
}

/// A user's temporary access code, as the User screen and the doctor see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TempCodeView {
    pub issued_at: Time,
    pub issued_by: String,
    pub reason: String,
    pub expires_at: Time,
    pub used_at: Option<Time>,
    pub used_ip: Option<String>,
    /// It works now (unused, not expired).
    pub live: bool,
}

pub(crate) fn view_of(db: &Db, user_id: i64, now: Time) -> Result<Option<TempCodeView>> {
    Ok(temp_codes::for_user(db, user_id)?.map(|r| TempCodeView {
        live: r.used_at.is_none() && !crate::domain::otp::is_expired(r.expires_at, now),
        issued_at: r.created_at,
        issued_by: r.created_by,
        reason: r.reason,
        expires_at: r.expires_at,
        used_at: r.used_at,
        used_ip: r.used_ip,
    }))
}

/// Judge a typed temporary access code against the user's, changing nothing.
pub(crate) fn judge(
    db: &Db,
    key: &Key,
    user_id: i64,
    canonical: &str,
    now: Time,
) -> Result<Judged> {
    let mine = temp_codes::for_user(db, user_id)?
        .filter(|r| same(&r.code_mac, &temp_code_mac(key, user_id, canonical)));
    let Some(row) = mine else {
        return Ok(rejected(
            VerifyResult::Invalid,
            "That is not this user's temporary access code (a newer one replaces the old): ask the help desk for the current one.".to_owned(),
        ));
    };
    let used = row.used_at.map(|at| (at, row.used_ip.clone()));
    Ok(match temp_code::state(row.expires_at, used, now) {
        TempState::Live { .. } => Judged::Accepted {
            step: None,
            backup: None,
            counter: None,
        },
        TempState::Used { at, ip } => Judged::Rejected {
            result: VerifyResult::Replayed,
            message: format!(
                "That temporary access code was already used {} ({}){}; it works once: ask the help desk for another.",
                relative(at, now),
                stamp(at),
                ip.as_deref()
                    .map(|ip| format!(" from {ip}"))
                    .unwrap_or_default()
            ),
            offset: None,
            first_used: Some(FirstUse::Login { at, ip }),
        },
        TempState::Expired { at } => rejected(
            VerifyResult::Invalid,
            format!(
                "That temporary access code expired {} ({}): ask the help desk for a new one.",
                relative(at, now),
                stamp(at)
            ),
        ),
    })
}

impl Desk {
    /// Issue `email` a temporary access code valid for `valid` (from
    /// [`temp_code::MIN_VALID`] to [`temp_code::MAX_VALID`]): it works once
    /// as a second factor until then. Any earlier code stops working. The
    /// code is returned this once; only its keyed hash is kept.
    pub fn issue_temp_code(
        &mut self,
        email: &str,
        valid: TimeDelta,
        why: &str,
    ) -> Result<IssuedTempCode> {
        let why = reason(why, "issue a temporary access code")?;
        if valid < temp_code::MIN_VALID || valid > temp_code::MAX_VALID {
            return Err(super::DeskError::Usage(
                temp_code::parse_valid(&crate::domain::policy::format_duration(valid))
                    .err()
                    .map_or_else(
                        || "that validity is not allowed".to_owned(),
                        |e| e.to_string(),
                    ),
            ));
        }
        self.run(|cx| {
            let u = cx.user(email)?;
            let code = temp_code::generate(cx.rng);
            let canonical = temp_code::normalize(&code).unwrap_or_default();
            let mac = temp_code_mac(cx.key, u.id, &canonical);
            let until = cx.now + valid;
            let old = temp_codes::replace(
                cx.db,
                &NewTempCode {
                    user_id: u.id,
                    code_mac: &mac,
                    created_at: cx.now,
                    expires_at: until,
                    created_by: cx.actor,
                    reason: &why,
                },
            )?;
            let replaced_live = old.is_some_and(|o| {
                o.used_at.is_none() && !crate::domain::otp::is_expired(o.expires_at, cx.now)
            });
            let detail = format!(
                "issued a temporary access code, valid until {}{}{}",
                stamp(until),
                if replaced_live {
                    "; the previous one no longer works"
                } else {
                    ""
                },
                super::because(&why)
            );
            let facts = Facts {
                reason: Some(why.clone()),
                valid_until: Some(until),
                replaced_live: replaced_live.then_some(true),
                ..Facts::default()
            };
            cx.audit_with(Some(u.id), "user.temp_code", &detail, None, &facts)?;
            Ok(IssuedTempCode {
                email: u.email,
                code,
                valid_until: until,
                replaced_live,
            })
        })
    }

    /// The user's temporary access code, if one was issued.
    pub fn temp_code(&self, email: &str) -> Result<Option<TempCodeView>> {
        let u = super::user_by_email(self.db(), email)?;
        view_of(self.db(), u.id, self.now())
    }
}
