//! The use cases both front ends call. Each runs in one transaction and
//! writes one audit event; `desk` holds the clock, the RNG and the key.

pub(crate) mod account;
pub(crate) mod challenge;
pub mod codes;
pub mod devices;
pub mod doctor;
mod error;
pub mod exchange;
pub mod factors;
pub mod gateway;
pub mod hotp;
mod kinds;
pub mod login;
mod opening;
pub mod overview;
pub mod persona;
pub mod readiness;
pub mod records;
pub mod recovery;
pub(crate) mod regulation;
pub(crate) mod sealing;
pub mod search;
pub mod settings;
pub mod temp_code;
pub mod trail;
pub mod transfer;
pub mod users;
pub mod views;

#[cfg(test)]
mod plans;

use std::cell::Cell;

use chrono::TimeDelta;

use crate::clock::Clock;
use crate::crypto::Key;
use crate::domain::Time;
use crate::domain::audit::Facts;
use crate::domain::chain;
use crate::domain::contact::canonical_email;
use crate::domain::password::Hasher;
use crate::domain::policy::Policy;
use crate::domain::text::{self, Field};
use crate::location::Location;
use crate::rng::Rng;
#[cfg(test)]
use crate::store::StoreError;
use crate::store::{self, Db, Store, Upkeep, users::UserRow};

pub use crate::store::Keyset;
pub use error::{DeskError, Remedy};

pub type Result<T, E = DeskError> = std::result::Result<T, E>;

/// How the database was made, recorded in `meta`.
pub const ORIGIN_DEMO: &str = "demo";
pub const ORIGIN_INIT: &str = "init";

/// The help desk over one database.
pub struct Desk {
    store: Store,
    key: Key,
    clock: Clock,
    rng: Rng,
    hasher: Hasher,
    actor: String,
    /// The operating-system account running this desk, when known.
    os_user: Option<String>,
    /// The chain's end, known for the rest of a batch.
    tip: Cell<Option<trail::Tip>>,
    /// Inside a batch, the policy as its last use case left it: nothing
    /// else can write it while the batch holds the write lock.
    batch_policy: Option<Policy>,
    /// Where the database is (for a second connection), `None` in memory.
    location: Option<Location>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("store", &self.store)
            .field("actor", &self.actor)
            .field("os_user", &self.os_user)
            .finish_non_exhaustive()
    }
}

/// What one use case gets: its transaction, the key, the RNG, the time,
/// the policy, and the audit trail.
pub struct Ctx<'a> {
    /// The same transaction on either engine, for ported store functions.
    pub db: &'a Db,
    pub key: &'a Key,
    pub rng: &'a mut Rng,
    pub hasher: &'a mut Hasher,
    pub now: Time,
    pub actor: &'a str,
    pub policy: Policy,
    /// Who wrote it, really: the OS account, the real time, and whether
    /// `now` is other than that (a fixed or moved clock).
    os_user: Option<&'a str>,
    written_at: Time,
    clock_set: bool,
    tip: &'a Cell<Option<trail::Tip>>,
    /// Inside a batch: the chain's head is written once, at its end.
    batched: bool,
}

impl Ctx<'_> {
    /// Append one event to the audit trail, sealed into its chain.
    pub fn audit(
        &self,
        user_id: Option<i64>,
        kind: &str,
        detail: &str,
        ip: Option<&str>,
    ) -> Result<()> {
        self.audit_with(user_id, kind, detail, ip, &Facts::default())
    }

    /// Append one event with the facts it establishes, which the doctor
    /// reads (the sentence is for people).
    pub fn audit_with(
        &self,
        user_id: Option<i64>,
        kind: &str,
        detail: &str,
        ip: Option<&str>,
        facts: &Facts,
    ) -> Result<()> {
        let facts = facts.to_json();
        trail::append(
            self.db,
            self.key,
            self.tip,
            &chain::Fields {
                id: 0,
                at: store::secs(self.now),
                actor: self.actor,
                os_user: self.os_user,
                user_id,
                kind,
                detail,
                ip,
                written_at: Some(store::secs(self.written_at)),
                clock_set: Some(self.clock_set),
                facts: facts.as_deref(),
            },
            self.batched,
        )?;
        Ok(())
    }

    pub fn user(&self, email: &str) -> Result<UserRow> {
        user_by_email(self.db, email)
    }
}

pub(crate) fn user_by_email(db: &Db, email: &str) -> Result<UserRow> {
    // No address is longer (and a huge input is not normalised first).
    if email.len() > 4 * crate::domain::contact::EMAIL_MAX {
        return Err(DeskError::UnknownUser(text::excerpt(email.trim(), 80)));
    }
    store::users::by_email(db, &canonical_email(email))?
        .ok_or_else(|| DeskError::UnknownUser(text::excerpt(email.trim(), 80)))
}

/// A reason for a destructive action: required, one line of plain text
/// within its limit, runs of spaces folded.
pub(crate) fn reason(text: &str, action: &'static str) -> Result<String> {
    if text.trim().is_empty() {
        return Err(DeskError::ReasonRequired(action));
    }
    let text = optional_reason(text)?;
    if text.is_empty() {
        return Err(DeskError::ReasonRequired(action));
    }
    Ok(text)
}

/// A reason that may be left out (enabling a factor, new backup codes):
/// when given, held to the same rules as [`reason`].
pub(crate) fn optional_reason(text: &str) -> Result<String> {
    let text = text::check(Field::Reason, text)?;
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl Desk {
    fn assemble(store: Store, key: Key, clock: Clock, rng: Rng) -> Desk {
        Desk {
            store,
            key,
            clock,
            rng,
            hasher: Hasher::new(),
            actor: "admin".to_owned(),
            os_user: None,
            tip: Cell::new(None),
            batch_policy: None,
            location: None,
        }
    }

    /// Who the audit trail names for what this desk does.
    pub fn set_actor(&mut self, actor: &str) {
        let actor = actor.trim();
        if !actor.is_empty() {
            actor.clone_into(&mut self.actor);
        }
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The operating-system account running this desk, which the audit
    /// trail records beside the actor (see [`crate::account::current`]).
    pub fn set_os_user(&mut self, account: &str) {
        let account = account.trim();
        self.os_user = (!account.is_empty()).then(|| account.to_owned());
    }

    pub fn os_user(&self) -> Option<&str> {
        self.os_user.as_deref()
    }

    pub fn now(&self) -> Time {
        self.clock.now()
    }

    /// Move this desk's clock (the simulator's +30 s, +5 min, +1 day …).
    pub fn advance_clock(&mut self, by: TimeDelta) {
        self.clock.advance(by);
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// How this database was made (`demo` or `init`).
    pub fn origin(&self) -> Result<Option<String>> {
        Ok(store::meta::get(self.store.db(), "origin")?)
    }

    pub fn policy(&self) -> Result<Policy> {
        Ok(store::policy::load(self.store.db())?.0)
    }

    /// Run a use case in one transaction. On `PostgreSQL` a transaction
    /// that lost a race runs `f` again, from a fresh read of the chain's end
    /// and the policy (its RNG draws may then differ, which is harmless).
    pub(crate) fn run<T>(&mut self, mut f: impl FnMut(&mut Ctx<'_>) -> Result<T>) -> Result<T> {
        let now = self.clock.now();
        let clock_set = self.clock.is_set();
        // Read once when the clock is the real one: the two agree.
        let written_at = if clock_set {
            self.clock.real_now()
        } else {
            now
        };
        let batched = self.store.in_batch();
        let Desk {
            store,
            key,
            rng,
            hasher,
            actor,
            os_user,
            tip,
            batch_policy,
            ..
        } = self;
        let mut memo = if batched { batch_policy.take() } else { None };
        store.write(|tx| {
            // The chain's end is read afresh in each transaction (and in
            // each run of a retried one), and kept through a batch (whose
            // transaction is one).
            if !batched {
                tip.set(None);
            }
            let policy = match memo.take() {
                Some(policy) => policy,
                None => store::policy::load(tx)?.0,
            };
            let mut cx = Ctx {
                db: tx,
                key,
                rng: &mut *rng,
                hasher: &mut *hasher,
                now,
                actor,
                policy,
                os_user: os_user.as_deref(),
                written_at,
                clock_set,
                tip,
                batched,
            };
            let out = f(&mut cx);
            if batched {
                *batch_policy = Some(cx.policy);
            }
            out
        })
    }

    /// Run many use cases as one transaction (the generator): each keeps
    /// its own checks and audit event, and all of them land, or none.
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Desk) -> Result<T>) -> Result<T> {
        self.batch_with(true, Upkeep::Search, f)
    }

    /// [`Desk::batch`] for filling a database: the listing indexes are also
    /// built once at the end. Only for use cases that never read them (the
    /// generator's: the query-plan test holds it to that).
    pub fn fill<T>(&mut self, f: impl FnOnce(&mut Desk) -> Result<T>) -> Result<T> {
        self.batch_with(true, Upkeep::SearchAndListings, f)
    }

    /// [`Desk::batch`], kept only when `keep` (else everything it did is
    /// rolled back, as a dry run's is).
    pub(crate) fn batch_or_rehearse<T>(
        &mut self,
        keep: bool,
        f: impl FnOnce(&mut Desk) -> Result<T>,
    ) -> Result<T> {
        self.batch_with(keep, Upkeep::Search, f)
    }

    fn batch_with<T>(
        &mut self,
        keep: bool,
        upkeep: Upkeep,
        f: impl FnOnce(&mut Desk) -> Result<T>,
    ) -> Result<T> {
        self.store.begin_batch(upkeep)?;
        self.tip.set(None);
        self.batch_policy = None;
        let value = f(self).and_then(|value| {
            // The head its events moved, in the same transaction.
            trail::save_head(self.store.db(), &self.key, &self.tip)?;
            Ok(value)
        });
        // Rolled back or not, the next transaction reads the end (and the
        // policy) again.
        self.tip.set(None);
        self.batch_policy = None;
        let ended = self.store.end_batch(keep && value.is_ok());
        let value = value?;
        ended?;
        Ok(value)
    }

    /// Statistics for the query planner, after bulk work (the generator).
    pub fn optimize(&self) -> Result<()> {
        Ok(self.store.optimize()?)
    }

    /// The `SQLite` connection, for tests that read plans or reset a head.
    #[cfg(test)]
    pub(crate) fn conn(&self) -> Result<&rusqlite::Connection, StoreError> {
        self.store.conn()
    }

    /// The database on either engine, for ported store functions.
    pub(crate) fn db(&self) -> &Db {
        self.store.db()
    }

    pub(crate) fn key(&self) -> &Key {
        &self.key
    }

    /// Hash a new password (argon2id, 15–40 ms). The console calls its own
    /// hasher on a worker thread instead and passes the result in.
    pub fn hash_password(&mut self, password: &str) -> Result<String> {
        Ok(self.hasher.hash(password, &mut self.rng)?)
    }

    /// Check a user's password (argon2id, 15–40 ms): `None` when the
    /// account has no password set.
    pub(crate) fn check_password(&mut self, email: &str, password: &str) -> Result<Option<bool>> {
        match user_by_email(self.db(), email)?.password_hash {
            None => Ok(None),
            Some(hash) => Ok(Some(self.hasher.verify(password, &hash)?)),
        }
    }
}

/// `: REASON` for an audit detail, when a reason was given.
pub(crate) fn because(why: &str) -> String {
    let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
    if why.is_empty() {
        String::new()
    } else {
        format!(": {why}")
    }
}
