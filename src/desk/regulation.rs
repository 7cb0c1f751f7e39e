//! The limits the use cases keep: password checks refused for a banned user or
//! address, wrong passwords counted, codes by message and doctor code checks capped.
//!
//! Every password check goes through [`password_gate`] before the hash is
//! computed and [`password_checked`] after, in the use case's transaction.

use super::{Ctx, Result};
use crate::domain::regulation::{AfterFailure, Limits, PasswordRecord, within};
use crate::domain::{Time, relative, stamp};
use crate::store::Db;
use crate::store::deliveries;
use crate::store::throttle::{self, Ban, Counted};
use crate::store::users::UserRow;

/// Why a password check is refused right now, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The user had too many wrong passwords.
    User { until: Time },
    /// The address sent too many wrong passwords, across users.
    Address { ip: String, until: Time },
}

impl Refused {
    /// One sentence: why, and when to try again.
    pub(crate) fn sentence(&self, now: Time) -> String {
        match self {
            Refused::User { until } => format!(
                "too many wrong passwords: password checks for this user are refused until {} ({}); try again then",
                stamp(*until),
                relative(*until, now)
            ),
            Refused::Address { ip, until } => format!(
                "too many wrong passwords from {ip}: password checks from it are refused until {} ({}); try again then, or from another network",
                stamp(*until),
                relative(*until, now)
            ),
        }
    }
}

fn user_subject(user_id: i64) -> String {
    user_id.to_string()
}

/// A ban in force at `now` on the user or the address, checked before any
/// password is hashed: a banned check is not even made, so the ban tells
/// nothing about whether a guess was right.
pub(crate) fn password_gate(db: &Db, user_id: i64, ip: &str, now: Time) -> Result<Option<Refused>> {
    let in_force = |b: Option<Ban>| b.map(|b| b.until).filter(|until| now < *until);
    if let Some(until) = in_force(throttle::ban(
        db,
        Counted::Password,
        &user_subject(user_id),
    )?) {
        return Ok(Some(Refused::User { until }));
    }
    if let Some(until) = in_force(throttle::ban(db, Counted::Address, ip)?) {
        return Ok(Some(Refused::Address {
            ip: ip.to_owned(),
            until,
        }));
    }
    Ok(None)
}

/// The user's password ban in force at `now`: until when, and the
/// how-many-th in a row.
pub(crate) fn password_ban(db: &Db, user_id: i64, now: Time) -> Result<Option<(Time, u32)>> {
    Ok(
        throttle::ban(db, Counted::Password, &user_subject(user_id))?
            .filter(|b| now < b.until)
            .map(|b| (b.until, b.count)),
    )
}

/// The ban in force on an address at `now`.
pub(crate) fn address_ban(db: &Db, ip: &str, now: Time) -> Result<Option<Time>> {
    Ok(throttle::ban(db, Counted::Address, ip)?
        .map(|b| b.until)
        .filter(|until| now < *until))
}

/// Record the result of a password check for `u` from `ip`. A correct one
/// ends the user's run of bans; a wrong one counts, for the user and the
/// address, and may ban either: the sentence to tell them, if so.
pub(crate) fn password_checked(
    cx: &Ctx<'_>,
    u: &UserRow,
    ip: &str,
    correct: bool,
) -> Result<Option<String>> {
    let limits = &cx.policy.limits;
    let subject = user_subject(u.id);
    if correct {
        throttle::forget(cx.db, Counted::Password, &subject)?;
        throttle::lift(cx.db, Counted::Password, &subject)?;
        return Ok(None);
    }
    let mut said = None;
    let bans = throttle::ban(cx.db, Counted::Password, &subject)?.map_or(0, |b| b.count);
    let user = record(
        cx,
        Counted::Password,
        &subject,
        limits.password_window,
        bans,
    )?;
    if let AfterFailure::Banned { until, bans } = user.user_failure(limits, cx.now) {
        throttle::set_ban(
            cx.db,
            Counted::Password,
            &subject,
            &Ban { until, count: bans },
        )?;
        throttle::forget(cx.db, Counted::Password, &subject)?;
        said = Some(format!(
            "That was {} wrong passwords within {}: password checks for this user are refused until {} ({}).",
            limits.password_failures,
            crate::domain::span(limits.password_window),
            stamp(until),
            relative(until, cx.now)
        ));
    }
    let address = record(cx, Counted::Address, ip, limits.address_window, 0)?;
    if let AfterFailure::Banned { until, .. } = address.address_failure(limits, cx.now) {
        throttle::set_ban(cx.db, Counted::Address, ip, &Ban { until, count: 1 })?;
        throttle::forget(cx.db, Counted::Address, ip)?;
        said.get_or_insert_with(|| {
            format!(
                "That was {} wrong passwords from {ip} within {}: password checks from it are refused until {} ({}).",
                limits.address_failures,
                crate::domain::span(limits.address_window),
                stamp(until),
                relative(until, cx.now)
            )
        });
    }
    Ok(said)
}

/// Count one more wrong password of `kind`, returning the record as it
/// stood before it.
fn record(
    cx: &Ctx<'_>,
    kind: Counted,
    subject: &str,
    window: chrono::TimeDelta,
    bans: u32,
) -> Result<PasswordRecord> {
    let since = cx.now - window;
    let earlier = throttle::since(cx.db, kind, subject, since)?;
    throttle::record(cx.db, kind, subject, cx.now, since)?;
    Ok(PasswordRecord {
        failures: u32::try_from(earlier.iter().filter(|t| cx.now - **t < window).count())
            .unwrap_or(u32::MAX),
        banned_until: None,
        bans,
    })
}

/// An admin's unlock: lift the user's password ban and its count too.
pub(crate) fn lift_password_ban(cx: &Ctx<'_>, user_id: i64) -> Result<bool> {
    let subject = user_subject(user_id);
    let had = throttle::ban(cx.db, Counted::Password, &subject)?.is_some_and(|b| cx.now < b.until);
    throttle::lift(cx.db, Counted::Password, &subject)?;
    throttle::forget(cx.db, Counted::Password, &subject)?;
    Ok(had)
}

/// Whether one more code may go to `user_id` by SMS or email at `now`:
/// `Err(when)` says when the next may.
pub(crate) fn message_slot(
    db: &Db,
    limits: &Limits,
    user_id: i64,
    now: Time,
) -> Result<Result<(), Time>> {
    let sent = deliveries::sent_since(db, user_id, now - limits.message_window)?;
    Ok(within(
        &sent,
        limits.message_limit,
        limits.message_window,
        now,
    ))
}

/// Whether one more doctor code check for `user_id` is allowed at `now`;
/// when it is, it is counted. Refused checks are not counted, so no flood
/// of them pushes the counted ones out of sight.
pub(crate) fn take_code_check(cx: &Ctx<'_>, user_id: i64) -> Result<Result<(), Time>> {
    let limits = &cx.policy.limits;
    let subject = user_subject(user_id);
    let since = cx.now - limits.code_check_window;
    let counted = throttle::since(cx.db, Counted::CodeCheck, &subject, since)?;
    let slot = within(
        &counted,
        limits.code_checks,
        limits.code_check_window,
        cx.now,
    );
    if slot.is_ok() {
        throttle::record(cx.db, Counted::CodeCheck, &subject, cx.now, since)?;
    }
    Ok(slot)
}
