//! User use cases: add, show, list, edit, password, disable/enable, unlock
//! and reset 2FA (with a reason), each one transaction with one audit event.

use std::fmt::Write as _;

use super::account::{
    clear_lock, profile, recent_failures, standing, standing_with, summaries, summary,
};
use super::views::{LockView, UserDetail, UserSummary};
use super::{
    Ctx, Desk, DeskError, Result, codes, devices, factors, reason, records, user_by_email,
};
use crate::domain::audit::{Facts, Refusal};
use crate::domain::contact::{Email, Phone};
use crate::domain::enforcement::Standing;
use crate::domain::lockout::Lock;
use crate::domain::policy::Policy;
use crate::domain::text::{self, Field};
use crate::domain::{Role, Time, UserStatus};
use crate::store::user_list::{Filter, FilterContext, Query};
/// The columns the Users list sorts by, and which way.
pub use crate::store::user_sort::{Sort, SortBy};
use crate::store::users::{NewUser as NewUserRow, UserRow};
use crate::store::{self, Db, Keyset, challenges};

/// A user to add. The password, if any, arrives already hashed.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Option<Role>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub every_login: Option<bool>,
    /// A new phone: unverified until its code is confirmed, and the SMS
    /// factor (if any) goes back to pending with a code sent to it.
    pub phone: Option<String>,
}

/// What an edit changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Edited {
    #[serde(flatten)]
    pub user: UserSummary,
    pub changes: Vec<String>,
    /// Set when a new phone put the SMS factor back to pending.
    pub reconfirm: Option<factors::SmsReconfirm>,
}

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub search: Option<String>,
    pub filter: Option<Filter>,
    /// Keyset paging: the last email of the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

/// A display name, trimmed: at most 100 characters and on one line (a line
/// break or escape would split the user table and the one-line audit entry).
/// Where `u`'s 2FA lock stands at `now`.
fn lock_view(db: &Db, policy: &Policy, u: &UserRow, now: Time) -> Result<LockView> {
    let locked = u.lock.is_locked(now);
    let recent = recent_failures(db, policy, u, now)?;
    Ok(LockView {
        locked,
        locked_until: u.lock.releases(now),
        hard: u.lock.is_hard(),
        streak: u.lock.streak,
        // While locked, the failures that locked it; otherwise those that
        // still count towards a lock.
        failures: if locked {
            u.lock.failures
        } else {
            Lock::counting(&recent, policy, now)
        },
        failures_left: if locked {
            0
        } else {
            Lock::failures_left(&recent, policy, now)
        },
        password_banned_until: super::regulation::password_ban(db, u.id, now)?
            .map(|(until, _)| until),
    })
}

fn clean_name(name: &str) -> Result<&str> {
    Ok(text::check(Field::Name, name)?)
}

/// The filter context: who is in grace, and the low-codes mark.
pub(crate) fn filter_context(db: &Db, policy: &Policy, now: Time) -> Result<FilterContext> {
    let changed = store::policy::changed_at(db, "enforce")?;
    let grace = chrono::TimeDelta::days(i64::from(policy.grace_days));
    let grace_cutoff = match policy.enforce {
        crate::domain::policy::Enforce::Off => None,
        // A recent enforcement change puts everyone back in grace.
        _ if changed.is_some_and(|c| now < c + grace) => Some(store::time(0)),
        _ => Some(now - grace),
    };
    Ok(FilterContext {
        now,
        grace_cutoff,
        enforce_members: policy.enforce == crate::domain::policy::Enforce::All,
        backup_low: policy.backup_low,
    })
}

impl Desk {
    pub fn add_user(&mut self, new: &NewUser) -> Result<UserSummary> {
        let email = Email::parse(&new.email)?;
        let phone = new.phone.as_deref().map(Phone::parse).transpose()?;
        let name = clean_name(&new.name)?.to_owned();
        let role = new.role.unwrap_or(Role::Member);
        let e164 = phone.as_ref().map(Phone::e164);
        let skeleton = email.skeleton();
        self.run(|cx| {
            // An address that reads the same as another user's but is spelled
            // with letters of another script (Cyrillic "а" for Latin "a") is
            // refused; ASCII addresses are told apart by their letters.
            if let Some(existing) = store::users::look_alike(cx.db, &skeleton, email.as_str())?
                .filter(|other| !(email.is_ascii() && other.is_ascii()))
            {
                return Err(DeskError::LookAlike {
                    email: email.to_string(),
                    existing,
                });
            }
            let row = NewUserRow {
                skeleton: &skeleton,
                email: email.as_str(),
                name: &name,
                role,
                phone: e164.as_deref(),
                password_hash: new.password_hash.as_deref(),
                created_at: cx.now,
            };
            let id = store::users::insert(cx.db, &row)?
                .ok_or_else(|| DeskError::DuplicateEmail(email.to_string()))?;
            let detail = format!(
                "added {role} {email}{}{}",
                phone
                    .as_ref()
                    .map(|p| format!(", phone {}", p.masked()))
                    .unwrap_or_default(),
                if new.password_hash.is_some() {
                    ", password set"
                } else {
                    ""
                }
            );
            cx.audit(Some(id), "user.add", &detail, None)?;
            let u = store::users::by_id(cx.db, id)?
                .ok_or_else(|| DeskError::UnknownUser(email.to_string()))?;
            summary(cx.db, &u, cx.now)
        })
    }

    /// Everything the user screen shows.
    pub fn user(&self, email: &str) -> Result<UserDetail> {
        let now = self.now();
        let policy = self.policy()?;
        let u = user_by_email(self.db(), email)?;
        let standing = standing(self.db(), &policy, &u, now)?;
        Ok(UserDetail {
            profile: profile(&u),
            standing: standing.sentence(now),
            enrol_by: match standing {
                Standing::InGrace { until } => Some(until),
                _ => None,
            },
            grace_over: standing.blocks_login(),
            without_factor: if u.password_change {
                crate::domain::login::SECURED_NOT_ENROLLED.to_owned()
            } else {
                standing_with(self.db(), &policy, &u, false, now)?.sentence(now)
            },
            lock: lock_view(self.db(), &policy, &u, now)?,
            factors: super::account::views(self.db(), u.id)?,
            devices: devices::views(self.db(), u.id, now)?,
            codes: codes::status_of(self.db(), &policy, u.id)?,
            activity: records::audit_for(self.db(), Some(u.id), None, None, 10)?,
        })
    }

    /// Where `email`'s 2FA lock stands: locked or not, and the failures
    /// that count towards a lock.
    pub fn lock(&self, email: &str) -> Result<LockView> {
        let u = user_by_email(self.db(), email)?;
        lock_view(self.db(), &self.policy()?, &u, self.now())
    }

    pub fn user_summary(&self, email: &str) -> Result<UserSummary> {
        summary(self.db(), &user_by_email(self.db(), email)?, self.now())
    }

    /// One page of users, ordered by email.
    pub fn list_users(&self, q: &ListQuery) -> Result<Vec<UserSummary>> {
        if let Some(search) = &q.search {
            text::check(Field::Search, search)?;
        }
        let at = q.after.as_deref().map_or(Keyset::First, Keyset::After);
        self.users_page(q, at)
    }

    /// One page of the users `q` matches, by email, read at `at` instead of
    /// `q.after`.
    pub fn users_page(&self, q: &ListQuery, at: Keyset<&str>) -> Result<Vec<UserSummary>> {
        let now = self.now();
        let policy = self.policy()?;
        let ctx = filter_context(self.db(), &policy, now)?;
        let rows = store::user_list::page(
            self.db(),
            &Query {
                search: q.search.as_deref(),
                filter: q.filter,
                after: None,
                limit: q.limit,
            },
            at,
            &ctx,
        )?;
        summaries(self.db(), &rows, now)
    }

    /// One page of every user in `sort`'s order (the email breaking ties),
    /// read at `at`, an email: the console's Users list sorted by a column.
    pub fn users_sorted_page(
        &self,
        sort: Sort,
        at: Keyset<&str>,
        limit: u32,
    ) -> Result<Vec<UserSummary>> {
        let now = self.now();
        let rows = store::user_sort::page(self.db(), sort, at, limit)?;
        summaries(self.db(), &rows, now)
    }

    pub fn edit_user(&mut self, email: &str, edit: &Edit) -> Result<UserSummary> {
        Ok(self.edit_user_noting(email, edit)?.user)
    }

    /// As [`Desk::edit_user`], saying what changed and, when a new phone put
    /// the SMS factor back to pending, how to confirm it.
    pub fn edit_user_noting(&mut self, email: &str, edit: &Edit) -> Result<Edited> {
        let phone = edit.phone.as_deref().map(Phone::parse).transpose()?;
        let new_name = edit.name.as_deref().map(clean_name).transpose()?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let mut changes = Vec::new();
            let mut reconfirm = None;
            let name = new_name.unwrap_or(u.name.as_str());
            if name != u.name {
                changes.push(format!("name \"{}\" -> \"{name}\"", u.name));
            }
            let role = edit.role.unwrap_or(u.role);
            if role != u.role {
                changes.push(format!("role {} -> {role}", u.role));
            }
            let every = edit.every_login.unwrap_or(u.every_login);
            if every != u.every_login {
                changes.push(format!("ask on every login {} -> {every}", u.every_login));
            }
            store::users::set_profile(cx.db, u.id, name, role, every)?;
            if let Some(phone) = phone
                .as_ref()
                .filter(|p| u.phone.as_deref() != Some(p.e164().as_str()))
            {
                changes.push(format!("phone -> {} (unverified)", phone.masked()));
                store::users::set_phone(cx.db, u.id, Some(&phone.e164()), false)?;
                if let Some((note, again)) = factors::repoint_sms(cx, &u, phone)? {
                    changes.push(note);
                    reconfirm = Some(again);
                }
            }
            if changes.is_empty() {
                return Err(DeskError::NothingToEdit(u.email));
            }
            let facts = Facts {
                sms_pending_again: reconfirm.as_ref().map(|r| r.factor_id),
                every_login: (every != u.every_login).then_some(every),
                ..Facts::default()
            };
            cx.audit_with(Some(u.id), "user.edit", &changes.join("; "), None, &facts)?;
            let u = cx.user(email)?;
            Ok(Edited {
                user: summary(cx.db, &u, cx.now)?,
                changes,
                reconfirm,
            })
        })
    }

    /// Store a new password hash (made by [`Desk::hash_password`] or a
    /// worker). It is the new password a compromise response asked for.
    pub fn set_password(&mut self, email: &str, password_hash: &str) -> Result<()> {
        self.run(|cx| {
            let u = cx.user(email)?;
            store::users::set_password_hash(cx.db, u.id, password_hash)?;
            store::users::set_password_change(cx.db, u.id, false)?;
            let detail = if u.password_change {
                "password set (the new password the compromise response asked for)"
            } else {
                "password set"
            };
            cx.audit(Some(u.id), "user.password", detail, None)
        })
    }

    /// The stored hash, for checking a password off the UI thread.
    pub fn password_hash(&self, email: &str) -> Result<Option<String>> {
        Ok(user_by_email(self.db(), email)?.password_hash)
    }

    pub fn set_user_status(
        &mut self,
        email: &str,
        status: UserStatus,
        why: &str,
    ) -> Result<UserSummary> {
        let action = match status {
            UserStatus::Disabled => "disable an account",
            UserStatus::Active => "enable an account",
        };
        let why = reason(why, action)?;
        self.run(|cx| {
            let u = cx.user(email)?;
            if u.status == status {
                return Err(DeskError::AlreadyStatus {
                    email: u.email,
                    status,
                });
            }
            store::users::set_status(cx.db, u.id, status)?;
            let mut detail = format!("{status}: {why}");
            if status == UserStatus::Disabled {
                let n = challenges::cancel_open(cx.db, u.id, cx.now)?;
                if n > 0 {
                    let _ = write!(detail, " ({n} open challenge(s) cancelled)");
                }
            }
            let kind = match status {
                UserStatus::Disabled => "user.disable",
                UserStatus::Active => "user.enable",
            };
            let facts = Facts {
                reason: Some(why.clone()),
                ..Facts::default()
            };
            cx.audit_with(Some(u.id), kind, &detail, None, &facts)?;
            let u = cx.user(email)?;
            summary(cx.db, &u, cx.now)
        })
    }

    /// Clear a 2FA lock (and the failure count) at once.
    pub fn unlock(&mut self, email: &str, why: &str) -> Result<UserSummary> {
        let why = reason(why, "unlock 2FA")?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let was = if u.lock.is_locked(cx.now) {
                format!("locked after {} failures", u.lock.failures)
            } else if u.lock.failures > 0 {
                format!("not locked, {} recent failure(s) cleared", u.lock.failures)
            } else {
                "not locked".to_owned()
            };
            clear_lock(cx, u.id)?;
            let was = if super::regulation::lift_password_ban(cx, u.id)? {
                format!("{was}, password ban lifted")
            } else {
                was
            };
            cx.audit(Some(u.id), "user.unlock", &format!("{was}: {why}"), None)?;
            let u = cx.user(email)?;
            summary(cx.db, &u, cx.now)
        })
    }

    /// The user turns their own 2FA off: with their password, when the policy
    /// lets users do that and 2FA is not required for them. Factors and backup
    /// codes go (trusted devices stay). The password check is regulated like
    /// a login's: counted, and refused for a banned user or address (`ip`).
    /// A refusal is exit 3.
    pub fn turn_off_2fa(
        &mut self,
        email: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<ResetReport> {
        let ip = super::challenge::parse_ip(ip)?;
        // Refusals that need no password come first, so none of them says
        // whether the password was right.
        let refusal = |cx: &Ctx<'_>, u: &UserRow| -> Option<String> {
            // The password may be the intruder's: it turns nothing off.
            if u.password_change {
                return Some("the account was secured after a suspected compromise: 2FA stays on until a new password is set (log in with the new app's code and set one, or ask an admin)".to_owned());
            }
            if cx.policy.self_disable == crate::domain::policy::SelfDisable::Admin {
                return Some("only an admin can turn 2FA off here (policy self_disable=admin): ask them to reset it".to_owned());
            }
            cx.policy.enforce.applies_to(u.role).then(|| format!(
                "2FA is required for this account (policy enforce={}), so it cannot be turned off: an admin can reset it to enrol a new factor",
                cx.policy.enforce
            ))
        };
        let banned = self.password_refused(email, &ip)?;
        let checked = match banned {
            Some(_) => None,
            None => Some(self.check_password(email, password)? == Some(true)),
        };
        self.run(|cx| -> Result<Result<ResetReport>> {
            let u = cx.user(email)?;
            if let Some(why) = refusal(cx, &u) {
                return Ok(Err(DeskError::Denied(why)));
            }
            let Some(correct) = checked else {
                let why = banned.as_ref().map(|b| b.sentence(cx.now)).unwrap_or_default();
                cx.audit_with(
                    Some(u.id),
                    "user.turn_off_2fa",
                    &format!("refused: password check refused: {why}"),
                    Some(&ip),
                    &Facts { refused: Some(Refusal::PasswordBanned), ..Facts::default() },
                )?;
                return Ok(Err(DeskError::Denied(why)));
            };
            let banned_now = super::regulation::password_checked(cx, &u, &ip, correct)?;
            if !correct {
                cx.audit_with(
                    Some(u.id),
                    "user.turn_off_2fa",
                    "refused: wrong password",
                    Some(&ip),
                    &Facts { refused: Some(Refusal::WrongPassword), ..Facts::default() },
                )?;
                let mut why = "the password is incorrect, so 2FA stays on".to_owned();
                if let Some(banned) = banned_now {
                    why = format!("{why}. {banned}");
                }
                return Ok(Err(DeskError::Denied(why)));
            }
            let cancelled = challenges::cancel_open(cx.db, u.id, cx.now)?;
            let factors = store::factors::delete_for_user(cx.db, u.id)?;
            let codes = store::codes::delete_for_user(cx.db, u.id)?;
            clear_lock(cx, u.id)?;
            cx.audit(
                Some(u.id),
                "user.turn_off_2fa",
                &format!("turned off by the user with their password ({factors} factor(s), {codes} backup code(s) removed)"),
                Some(&ip),
            )?;
            Ok(Ok(ResetReport { factors_removed: factors, codes_removed: codes, devices_revoked: 0, challenges_cancelled: cancelled }))
        })?
    }

    /// Remove every factor and backup code, revoke every device, clear the
    /// lock and cancel open challenges. The user must enrol again.
    pub fn reset_2fa(&mut self, email: &str, why: &str) -> Result<ResetReport> {
        let why = reason(why, "reset 2FA")?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let cancelled = challenges::cancel_open(cx.db, u.id, cx.now)?;
            let factors = store::factors::delete_for_user(cx.db, u.id)?;
            let codes = store::codes::delete_for_user(cx.db, u.id)?;
            store::temp_codes::delete_for_user(cx.db, u.id)?;
            let devices = store::devices::revoke_all(cx.db, u.id, cx.now, &format!("2FA reset: {why}"))?;
            clear_lock(cx, u.id)?;
            store::users::set_phone(cx.db, u.id, u.phone.as_deref(), false)?;
            // They must enrol again: a fresh grace period to do it in.
            store::users::set_grace_from(cx.db, u.id, cx.now)?;
            let report = ResetReport {
                factors_removed: factors,
                codes_removed: codes,
                devices_revoked: devices,
                challenges_cancelled: cancelled,
            };
            cx.audit(
                Some(u.id),
                "user.reset_2fa",
                &format!(
                    "{why} ({factors} factor(s) removed, {codes} backup code(s) removed, {devices} device(s) revoked)"
                ),
                None,
            )?;
            Ok(report)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResetReport {
    pub factors_removed: usize,
    pub codes_removed: usize,
    pub devices_revoked: usize,
    pub challenges_cancelled: usize,
}
