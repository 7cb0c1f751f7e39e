//! The overview: 2FA coverage and the users who need attention now (locked,
//! past grace with no factor, pending enrolments, failed deliveries, codes).

use chrono::TimeDelta;
use serde::Serialize;

use super::{Desk, Result};
use crate::domain::policy::{Enforce, Policy};
use crate::domain::{FactorStatus, Time, relative, text_enum};
use crate::store::attention::{self, Counts};
use crate::store::users::UserRow;
use crate::store::{self, Db};

text_enum!(
    /// Why a user is on the needs-attention list, most urgent first.
    Concern {
        Locked => "locked",
        GraceOver => "grace_over",
        Replayed => "replayed",
        Pending => "pending",
        FailedDelivery => "failed_delivery",
        CodesOut => "codes_out",
        CodesLow => "codes_low",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attention {
    pub email: String,
    pub name: String,
    pub concern: Concern,
    /// One line: what is wrong, with its time.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub now: Time,
    pub users: u64,
    pub active: u64,
    pub disabled: u64,
    pub with_factor: u64,
    pub without_factor: u64,
    /// Share of users with an active factor, in percent (rounded down).
    pub coverage_pct: u64,
    pub locked: u64,
    pub grace_over: u64,
    pub pending: u64,
    pub low_codes: u64,
    pub failed_deliveries_24h: u64,
    pub audit_events: u64,
    pub attention: Vec<Attention>,
}

/// Enough rows for any screen; each concern contributes at most this many.
const PER_CONCERN: u32 = 25;

/// When grace ended for users without a factor: `None` if it has not ended
/// for anyone (enforcement off, or changed within the grace period).
struct Grace {
    cutoff: Option<Time>,
    changed: Option<Time>,
    span: TimeDelta,
    admins_only: bool,
}

impl Grace {
    fn of(db: &Db, policy: &Policy, now: Time) -> Result<Grace> {
        let span = TimeDelta::days(i64::from(policy.grace_days));
        let changed = store::policy::changed_at(db, "enforce")?;
        let cutoff = match policy.enforce {
            Enforce::Off => None,
            _ if changed.is_some_and(|c| now < c + span) => None,
            _ => Some(now - span),
        };
        Ok(Grace {
            cutoff,
            changed,
            span,
            admins_only: policy.enforce == Enforce::Admins,
        })
    }
}

fn attention(db: &Db, policy: &Policy, grace: &Grace, now: Time) -> Result<Vec<Attention>> {
    let mut out = Vec::new();
    let mut push = |u: &UserRow, concern, detail: String| {
        out.push(Attention {
            email: u.email.clone(),
            name: u.name.clone(),
            concern,
            detail,
        });
    };
    for u in attention::locked(db, now, PER_CONCERN)? {
        // The label says "locked": the detail leads with when it ends.
        let detail = match u.lock.releases(now) {
            // When it ends comes first: at 80 columns the rest is cut.
            Some(until) => format!(
                "releases {} (after {} failures)",
                relative(until, now),
                u.lock.failures
            ),
            None => format!(
                "until an admin unlocks it ({} failures in a row)",
                u.lock.streak
            ),
        };
        push(&u, Concern::Locked, detail);
    }
    if let Some(cutoff) = grace.cutoff {
        for u in attention::without_factor_before(db, cutoff, grace.admins_only, PER_CONCERN)? {
            let ended = u.grace_from.max(grace.changed.unwrap_or(u.grace_from)) + grace.span;
            push(
                &u,
                Concern::GraceOver,
                format!("no second factor; grace ended {}", relative(ended, now)),
            );
        }
    }
    let day = now - TimeDelta::hours(24);
    let replayed = store::attempts::replayed_elsewhere(db, day, PER_CONCERN)?;
    let pending = store::factors::pending(db, PER_CONCERN)?;
    let failed = store::deliveries::failed_users_since(db, day, PER_CONCERN)?;
    // Their people in one read, not one each.
    let ids: Vec<i64> = (replayed.iter().map(|r| r.user_id))
        .chain(pending.iter().map(|p| p.0))
        .chain(failed.iter().map(|f| f.0))
        .collect();
    let people = store::users::by_ids(db, &ids)?;
    // A code used again from elsewhere: settled once the factor is replaced.
    for r in replayed {
        if let Some(u) = people.get(&r.user_id) {
            push(
                u,
                Concern::Replayed,
                format!("tried again from {} {}", r.ip, relative(r.at, now)),
            );
        }
    }
    for (user_id, _, kind, started) in pending {
        if let Some(u) = people.get(&user_id) {
            push(
                u,
                Concern::Pending,
                format!("{} started {}", kind.label(), relative(started, now)),
            );
        }
    }
    for (user_id, reason, at) in failed {
        if let Some(u) = people.get(&user_id)
            && !delivery_settled(db, u, at)?
        {
            push(u, Concern::FailedDelivery, reason);
        }
    }
    for u in attention::low_codes(db, policy.backup_low, PER_CONCERN)? {
        let (concern, detail) = if u.codes_left == 0 {
            (
                Concern::CodesOut,
                format!("all {} backup codes used", u.codes_total),
            )
        } else {
            (
                Concern::CodesLow,
                format!(
                    "only {} of {} backup codes left",
                    u.codes_left, u.codes_total
                ),
            )
        };
        push(&u, concern, detail);
    }
    Ok(out)
}

/// A failed message no longer needs attention once they have logged in
/// since, or a factor was confirmed after it (moved to an authenticator app).
fn delivery_settled(db: &Db, u: &UserRow, failed_at: Time) -> Result<bool> {
    if u.last_login_at.is_some_and(|t| t > failed_at) {
        return Ok(true);
    }
    Ok(store::factors::for_user(db, u.id)?
        .iter()
        .any(|f| f.status == FactorStatus::Active && f.confirmed_at.is_some_and(|t| t > failed_at)))
}

/// What the overview's figures depend on: the data (every change writes an
/// audit event) and the minute (locks release, grace periods end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    events: u64,
    minute: i64,
}

impl Desk {
    /// The overview's [`Stamp`] now: the chain head's count of events.
    pub fn stamp(&self) -> Result<Stamp> {
        Ok(Stamp {
            events: attention::events(self.db())?,
            minute: self.now().timestamp().div_euclid(60),
        })
    }

    pub fn overview(&self) -> Result<Overview> {
        let db = self.db();
        let now = self.now();
        let policy = self.policy()?;
        let Counts {
            total,
            active,
            disabled,
            with_factor,
            without_factor,
            active_without_factor,
            active_admins_without_factor,
            locked,
            low_codes,
            pending,
            audit_events,
        } = attention::counts(db, now, policy.backup_low)?;
        let grace = Grace::of(db, &policy, now)?;
        // Past grace: everyone active without a factor, less those whose
        // grace is still running (recent arrivals: a short range).
        let grace_over = match grace.cutoff {
            Some(c) => {
                let all = if grace.admins_only {
                    active_admins_without_factor
                } else {
                    active_without_factor
                };
                all.saturating_sub(attention::in_grace_after(db, c, grace.admins_only)?)
            }
            None => 0,
        };
        Ok(Overview {
            now,
            users: total,
            active,
            disabled,
            with_factor,
            without_factor,
            coverage_pct: (with_factor * 100).checked_div(total).unwrap_or(0),
            locked,
            grace_over,
            pending,
            low_codes,
            failed_deliveries_24h: store::deliveries::failed_since(db, now - TimeDelta::hours(24))?,
            audit_events,
            attention: attention(db, &policy, &grace, now)?,
        })
    }
}
