//! One account as the use cases share it: the user and their factor by id, their
//! views, their standing against enforcement, the failed codes behind a lock.

use super::gateway::masked;
use super::views::{FactorView, OathKind, OathView, Profile, UserSummary};
use super::{Ctx, DeskError, Result};
use crate::domain::enforcement::{self, Standing};
use crate::domain::lockout::Lock;
use crate::domain::policy::Policy;
use crate::domain::{FactorKind, Time};
use crate::store::factors::{self as rows, FactorRow};
use crate::store::users::UserRow;
use crate::store::{self, Db};

pub(crate) fn summary(db: &Db, u: &UserRow, now: Time) -> Result<UserSummary> {
    let devices = store::devices::trusted_count(db, u.id, now)?;
    Ok(summary_with(u, devices, now))
}

/// The summaries of a list's rows, their trusted devices counted in one
/// read for the whole page.
pub(crate) fn summaries(db: &Db, rows: &[UserRow], now: Time) -> Result<Vec<UserSummary>> {
    let ids: Vec<i64> = rows.iter().map(|u| u.id).collect();
    let devices = store::devices::trusted_counts(db, &ids, now)?;
    Ok(rows
        .iter()
        .map(|u| summary_with(u, devices.get(&u.id).copied().unwrap_or(0), now))
        .collect())
}

fn summary_with(u: &UserRow, devices: u32, now: Time) -> UserSummary {
    UserSummary {
        id: u.id,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role,
        status: u.status,
        factor_kinds: u
            .factor_kinds
            .split(',')
            .filter_map(FactorKind::parse)
            .collect(),
        codes_left: u.codes_left,
        codes_total: u.codes_total,
        devices,
        last_login_at: u.last_login_at,
        locked_until: u.lock.locked_until.filter(|_| u.lock.is_locked(now)),
    }
}

pub(crate) fn profile(u: &UserRow) -> Profile {
    Profile {
        id: u.id,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role,
        status: u.status,
        phone: u.phone.clone(),
        phone_verified: u.phone_verified,
        every_login: u.every_login,
        created_at: u.created_at,
        last_login_at: u.last_login_at,
        password_change: u.password_change,
    }
}

/// Where `u` stands against enforcement at `now`.
pub(crate) fn standing(db: &Db, policy: &Policy, u: &UserRow, now: Time) -> Result<Standing> {
    standing_with(db, policy, u, u.active_factors > 0, now)
}

/// Where `u` would stand at `now` with or without an active factor.
pub(crate) fn standing_with(
    db: &Db,
    policy: &Policy,
    u: &UserRow,
    has_factor: bool,
    now: Time,
) -> Result<Standing> {
    let changed = store::policy::changed_at(db, "enforce")?;
    Ok(enforcement::standing(
        policy,
        u.role,
        u.grace_from,
        changed,
        has_factor,
        now,
    ))
}

/// The instants of `u`'s failed attempts that can still count towards a lock.
pub(crate) fn recent_failures(
    db: &Db,
    policy: &Policy,
    u: &UserRow,
    now: Time,
) -> Result<Vec<Time>> {
    Ok(store::attempts::failure_times(
        db,
        u.id,
        u.failures_after,
        now - policy.lockout_window,
        policy.lockout_threshold,
    )?)
}

/// A success or an unlock: no lock, and no earlier failure counts any more.
pub(crate) fn clear_lock(cx: &Ctx<'_>, user_id: i64) -> Result<()> {
    store::users::set_lock(cx.db, user_id, &Lock::cleared())?;
    restart_failures(cx, user_id)
}

/// Count failures afresh from the newest attempt on.
pub(crate) fn restart_failures(cx: &Ctx<'_>, user_id: i64) -> Result<()> {
    let last = store::attempts::last_id(cx.db)?;
    Ok(store::users::restart_failures(cx.db, user_id, last)?)
}

/// Used by `run` closures that need the user by id.
pub(crate) fn by_id(cx: &Ctx<'_>, id: i64) -> Result<UserRow> {
    store::users::by_id(cx.db, id)?.ok_or_else(|| DeskError::UnknownUser(format!("#{id}")))
}

pub(crate) fn view(f: &FactorRow) -> FactorView {
    FactorView {
        id: f.id,
        kind: f.kind,
        status: f.status,
        label: f.label.clone(),
        destination: f.destination.as_deref().map(|d| masked(f.kind, d)),
        created_at: f.created_at,
        confirmed_at: f.confirmed_at,
        last_used_at: f.last_used_at,
        last_used_ip: f.last_used_ip.clone(),
        drift_steps: f.drift,
        oath: (f.kind == FactorKind::Totp).then(|| OathView {
            kind: if f.is_hotp() {
                OathKind::Hotp
            } else {
                OathKind::Totp
            },
            algorithm: f.params.algorithm,
            digits: f.params.digits,
            period: (!f.is_hotp()).then_some(f.params.period),
            counter: f.counter,
            serial: f.serial.clone(),
        }),
    }
}

pub(crate) fn views(db: &Db, user_id: i64) -> Result<Vec<FactorView>> {
    Ok(rows::for_user(db, user_id)?.iter().map(view).collect())
}

/// A user's factor by id, or a clear error.
pub(crate) fn factor_of(db: &Db, u: &UserRow, id: i64) -> Result<FactorRow> {
    rows::by_id(db, id)?
        .filter(|f| f.user_id == u.id)
        .ok_or_else(|| DeskError::UnknownFactor {
            email: u.email.clone(),
            id,
        })
}
