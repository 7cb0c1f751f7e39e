//! The audit trail's chain at the desk: each event sealed as it is written,
//! the events of an older database chained once with the key, and the check.

use std::cell::Cell;

use serde::Serialize;

use super::{Desk, DeskError, Result};
use crate::crypto::{Key, hex};
use crate::domain::Time;
use crate::domain::chain::{self, Break, Fields, Head, Verifier};
use crate::store::{self, Db, TxMode, audit, opt_time};

/// Where the chain ends, cached for the rest of one transaction (or batch):
/// the head, and the id the next event gets. Each event then costs its
/// insert and the head's update, and no read; in a batch, the head is
/// written once, before the batch commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tip {
    next_id: i64,
    head: Head,
    /// The head has moved since it was last written (in a batch).
    unsaved: bool,
}

/// Events sealed (or read) per page: memory stays flat at any length.
const PAGE: u32 = 2_000;

/// Append one event, sealed after the last, and move the head, in the
/// caller's transaction. `fields.id` is ignored: the event gets the next id.
/// In a batch (`batched`) the head is only moved in `tip`: [`save_head`]
/// writes it before the batch commits.
pub(crate) fn append(
    db: &Db,
    key: &Key,
    tip: &Cell<Option<Tip>>,
    fields: &Fields<'_>,
    batched: bool,
) -> Result<i64> {
    let Tip { next_id, head, .. } = match tip.get() {
        Some(t) => t,
        None => load(db, key)?,
    };
    let fields = Fields {
        id: next_id,
        ..*fields
    };
    let seq = head.events + 1;
    let mac = chain::seal(key, seq, &head.last_mac, &fields);
    audit::insert(db, &fields, seq, &mac)?;
    let head = head.after(next_id, mac);
    if !batched {
        audit::set_head(db, &head, &head.mac(key))?;
    }
    tip.set(Some(Tip {
        next_id: next_id + 1,
        head,
        unsaved: batched,
    }));
    Ok(next_id)
}

/// Write the head a batch has moved, in its transaction, before it commits.
pub(crate) fn save_head(db: &Db, key: &Key, tip: &Cell<Option<Tip>>) -> Result<()> {
    if let Some(t) = tip.get()
        && t.unsaved
    {
        audit::set_head(db, &t.head, &t.head.mac(key))?;
        tip.set(Some(Tip {
            unsaved: false,
            ..t
        }));
    }
    Ok(())
}

/// The head and the next id, read in the writing transaction. A head that
/// is not chained, or whose own MAC is wrong, was changed by hand: nothing
/// is added to a trail that cannot be continued.
fn load(db: &Db, key: &Key) -> Result<Tip> {
    let (stored, next_id) = audit::tip(db)?;
    let head = stored.verified(key).ok_or(DeskError::ChainHeadAltered)?;
    Ok(Tip {
        next_id,
        head,
        unsaved: false,
    })
}

/// Chain the events a database held before it had a chain, in the caller's
/// transaction (all of them, or none): each is sealed in id order, and the
/// head records that the chain began at `now` (the real time) with them.
/// A head already chained is left alone; so is an unchained head over
/// sealed events, which was reset by hand (the check reports it).
pub(crate) fn start(db: &Db, key: &Key, now: Time) -> Result<()> {
    if audit::head(db)?.chained || audit::any_sealed(db)? {
        return Ok(());
    }
    let mut head = Head::start(store::secs(now));
    let mut after = i64::MIN;
    loop {
        let page = audit::chain_page(db, after, PAGE)?;
        for event in &page {
            let seq = head.events + 1;
            let mac = chain::seal(key, seq, &head.last_mac, &event.fields());
            audit::set_seal(db, event.id, seq, &mac)?;
            head = head.after(event.id, mac);
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = last.id,
            _ => break,
        }
    }
    head.adopted = head.events;
    head.adopted_last_id = head.last_id;
    audit::start_chain(db, &head, &head.mac(key))?;
    Ok(())
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailCheck {
    /// The chain is whole: every event checks out, in order, up to the head.
    pub whole: bool,
    /// Events that checked out, in id order, before any break.
    pub checked: i64,
    /// The first break, if any.
    pub problem: Option<Break>,
    /// The head as stored.
    pub head: HeadView,
}

/// The chain's head, as `audit verify` shows it: worth keeping elsewhere,
/// since a copy of an older head is the one thing that can hide a cut tail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeadView {
    pub events: i64,
    pub last_event: Option<i64>,
    /// The last event's MAC, in hex.
    pub mac: Option<String>,
    /// When the chain began (the real time).
    pub started_at: Option<Time>,
    /// The events the database held then, chained at that moment: the chain
    /// vouches for them from then on, not from when they were written.
    pub adopted: i64,
    pub adopted_through: Option<i64>,
}

/// A check under way, to go on with (the console checks a slice at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailProgress {
    verifier: Verifier,
    after: i64,
}

impl TrailProgress {
    /// Events that checked out so far.
    pub fn checked(&self) -> i64 {
        self.verifier.checked()
    }
}

impl Default for TrailProgress {
    fn default() -> Self {
        TrailProgress {
            verifier: Verifier::default(),
            after: i64::MIN,
        }
    }
}

/// One slice of a check: more to read, or the verdict.
#[derive(Debug, Clone)]
pub enum TrailStep {
    More(TrailProgress),
    Done(TrailCheck),
}

impl Desk {
    /// Check the whole chain, in one read transaction, a page at a time.
    pub fn check_trail(&self) -> Result<TrailCheck> {
        match self.check_trail_step(TrailProgress::default(), u32::MAX)? {
            TrailStep::Done(check) => Ok(check),
            TrailStep::More(_) => Err(DeskError::Refused(
                "the audit trail could not be read to its end: try again".to_owned(),
            )),
        }
    }

    /// Go on with a check for up to `budget` more events (in one read
    /// transaction); the verdict once the trail is read to its end, which
    /// is read with the head in the same transaction.
    pub fn check_trail_step(&self, progress: TrailProgress, budget: u32) -> Result<TrailStep> {
        check_step(self.db(), self.key(), progress, budget)
    }
}

/// [`Desk::check_trail_step`] on `db`: one read transaction (one snapshot
/// on either engine), a page at a time.
fn check_step(db: &Db, key: &Key, progress: TrailProgress, budget: u32) -> Result<TrailStep> {
    // Each run of the transaction (a lost race runs it again) starts here.
    db.transaction(TxMode::Read, move |read| {
        let TrailProgress {
            mut verifier,
            mut after,
        } = progress.clone();
        let mut left = budget;
        let mut end = false;
        while left > 0 && !end {
            let page = audit::chain_page(read, after, PAGE.min(left))?;
            end = page.len() < PAGE.min(left) as usize;
            left -= u32::try_from(page.len()).unwrap_or(left);
            for event in page {
                after = event.id;
                verifier.feed(key, event);
            }
            // The rest cannot change the verdict but for the head.
            end |= verifier.done();
        }
        if !end {
            return Ok(TrailStep::More(TrailProgress { verifier, after }));
        }
        let stored = audit::head(read)?;
        let verdict = verifier.finish(key, &stored);
        Ok(TrailStep::Done(TrailCheck {
            whole: verdict.broken.is_none(),
            checked: verdict.checked,
            problem: verdict.broken,
            head: HeadView {
                events: stored.events,
                last_event: stored.last_id,
                mac: stored.last_mac.as_deref().map(hex),
                started_at: opt_time(stored.started_at),
                adopted: stored.adopted,
                adopted_through: stored.adopted_last_id,
            },
        }))
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};

    use super::*;
    use crate::clock::Clock;
    use crate::desk::records::RecordQuery;
    use crate::desk::users::NewUser;
    use crate::domain::chain::Tampering;
    use crate::keyfile::Source;
    use crate::rng::Rng;

    fn at(text: &str) -> Time {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn key_source() -> Source {
        Source::Env("07".repeat(32))
    }

    fn desk(clock: Clock) -> Desk {
        // The key of 32 sevens, as `key_source` gives it.
        Desk::for_tests(clock, Rng::seeded(1))
    }

    fn add(desk: &mut Desk, email: &str) {
        desk.add_user(&NewUser {
            email: email.to_owned(),
            ..Default::default()
        })
        .unwrap();
    }

    fn newest(desk: &Desk) -> crate::desk::views::AuditView {
        desk.audit(&RecordQuery {
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()
        .remove(0)
    }

    #[test]
    fn each_event_records_who_really_wrote_it_and_when() {
        // `--now 2019-01-01 --actor mallory`, run by judy.
        let mut d = desk(Clock::frozen(at("2019-01-01T00:00:00Z")));
        d.set_actor("mallory");
        d.set_os_user("judy");
        add(&mut d, "a@example.com");
        let e = newest(&d);
        assert_eq!(
            (e.actor.as_str(), e.os_user.as_deref()),
            ("mallory", Some("judy"))
        );
        assert_eq!(e.clock_set, Some(true));
        assert_eq!(e.written_at, Some(at("2019-01-01T00:00:00Z")), "frozen");
        // A clock moved is set too.
        d.advance_clock(TimeDelta::days(1));
        add(&mut d, "b@example.com");
        assert!(newest(&d).time_set());
        // The sandbox keeps who is acting, and a chain of its own.
        let mut sandbox = d.sandbox("a@example.com").unwrap();
        assert_eq!(
            (sandbox.actor(), sandbox.os_user()),
            ("mallory", Some("judy"))
        );
        sandbox.unlock("a@example.com", "testing").unwrap();
        let c = sandbox.check_trail().unwrap();
        assert!(c.whole && c.checked == 1, "{c:?}");
    }

    #[test]
    fn on_the_real_clock_the_times_agree() {
        let mut d = desk(Clock::system());
        add(&mut d, "a@example.com");
        let e = newest(&d);
        assert_eq!(e.clock_set, Some(false));
        assert_eq!(e.written_at, Some(e.at));
    }

    #[test]
    fn every_write_extends_one_whole_chain() {
        let mut d = desk(Clock::frozen(at("2026-11-21T09:00:00Z")));
        for i in 0..5 {
            add(&mut d, &format!("u{i}@example.com"));
        }
        // A use case that fails leaves no event and no head behind.
        assert!(
            d.add_user(&NewUser {
                email: "u0@example.com".to_owned(),
                ..Default::default()
            })
            .is_err()
        );
        // A batch: one transaction, the chain's end read once.
        d.batch(|d| {
            for i in 5..9 {
                add(d, &format!("u{i}@example.com"));
            }
            Ok(())
        })
        .unwrap();
        // A batch that fails lands nothing, head included.
        let failed: Result<()> = d.batch(|d| {
            add(d, "u9@example.com");
            Err(DeskError::Refused("stop".to_owned()))
        });
        assert!(failed.is_err());
        let c = d.check_trail().unwrap();
        assert!(c.whole, "{c:?}");
        assert_eq!((c.checked, c.head.events), (9, 9));
        assert_eq!(c.head.last_event, Some(newest(&d).id));
        assert_eq!(c.head.adopted, 0);
        // Slice by slice, as the console checks, to the same verdict.
        let mut progress = TrailProgress::default();
        let check = loop {
            match d.check_trail_step(progress, 2).unwrap() {
                TrailStep::More(p) => progress = p,
                TrailStep::Done(check) => break check,
            }
        };
        assert_eq!(check, c);
    }

    #[test]
    fn an_older_database_s_events_are_chained_when_it_is_opened_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let check = key_source().load().unwrap().check_value();
        audit::testing::before_the_chain(&path, &check, 2_500);
        // The wrong key: refused, nothing chained.
        let wrong = Source::Env("08".repeat(32));
        let clock = || Clock::frozen(at("2026-11-21T09:00:00Z"));
        assert!(matches!(
            Desk::open(&path, &wrong, clock(), Rng::seeded(1)),
            Err(DeskError::WrongKey)
        ));
        // The key is checked before the upgrade: the file is untouched.
        let version = |path: &std::path::Path| {
            crate::store::Store::open_read_only(path).map_err(|e| e.to_string())
        };
        let err = version(&path).unwrap_err();
        assert!(err.contains("schema version 3"), "{err}");
        let mut d = Desk::open(&path, &key_source(), clock(), Rng::seeded(1)).unwrap();
        assert_eq!(audit::testing::unsealed(&path), 0, "all at once");
        add(&mut d, "a@example.com");
        let c = d.check_trail().unwrap();
        assert!(c.whole, "{c:?}");
        assert_eq!(
            (c.checked, c.head.adopted, c.head.adopted_through),
            (2_501, 2_500, Some(2_500))
        );
        assert_eq!(c.head.started_at, Some(at("2026-11-21T09:00:00Z")));
        assert_eq!(newest(&d).id, 2_501);
        // Opened again: nothing more to chain.
        drop(d);
        let d = Desk::open(&path, &key_source(), clock(), Rng::seeded(1)).unwrap();
        assert_eq!(d.check_trail().unwrap(), c);
    }

    #[test]
    fn a_head_reset_by_hand_is_reported_and_not_chained_afresh() {
        let mut d = desk(Clock::frozen(at("2026-11-21T09:00:00Z")));
        add(&mut d, "a@example.com");
        add(&mut d, "b@example.com");
        audit::testing::reset_head(d.db());
        let now = d.now();
        d.store.write(|tx| start(tx, &d.key, now)).unwrap();
        let c = d.check_trail().unwrap();
        assert_eq!(
            c.problem.map(|b| b.kind),
            Some(Tampering::HeadAltered),
            "{c:?}"
        );
        // Nothing can be added to a chain whose end is not known.
        let err = d
            .add_user(&NewUser {
                email: "c@example.com".to_owned(),
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, DeskError::ChainHeadAltered), "{err}");
    }

    /// A check of the whole trail on `db`.
    fn check_all(db: &Db, key: &Key) -> TrailCheck {
        match check_step(db, key, TrailProgress::default(), u32::MAX).unwrap() {
            TrailStep::Done(check) => check,
            TrailStep::More(_) => panic!("a check with no budget stopped"),
        }
    }

    #[test]
    fn the_same_events_seal_into_the_same_chain_on_both_engines_and_an_edit_is_caught() {
        use crate::store::engine::Engine;
        use crate::store::testing::{each_engine, user};
        let key = key_source().load().unwrap();
        let mut chains = Vec::new();
        each_engine("trail_chain", |store| {
            let started = at("2026-11-21T09:00:00Z");
            store.write(|db| start(db, &key, started)).unwrap();
            let a = user(store.db(), "a@example.com");
            let tip = Cell::new(None);
            let event = |kind, user_id, facts| Fields {
                id: 0,
                at: 1_000,
                actor: "admin",
                os_user: Some("judy"),
                user_id,
                kind,
                detail: "done",
                ip: Some("192.0.2.1"),
                written_at: Some(1_005),
                clock_set: Some(true),
                facts,
            };
            // One use case, one transaction; the chain's end is read afresh.
            for (kind, user_id, facts) in [
                ("user.add", Some(a), None),
                ("policy.set", None, Some(r#"{"reason":"x"}"#)),
            ] {
                store
                    .write(|db| {
                        tip.set(None);
                        append(db, &key, &tip, &event(kind, user_id, facts), false)
                    })
                    .unwrap();
            }
            // A batch: the next id read once, the head written at its end.
            store
                .write(|db| {
                    tip.set(None);
                    for kind in ["user.unlock", "user.disable"] {
                        append(db, &key, &tip, &event(kind, Some(a), None), true)?;
                    }
                    save_head(db, &key, &tip)
                })
                .unwrap();
            store
                .write(|db| {
                    tip.set(None);
                    append(db, &key, &tip, &event("user.enable", Some(a), None), false)
                })
                .unwrap();
            let db = store.db();
            let c = check_all(db, &key);
            assert!(c.whole, "{c:?}");
            assert_eq!(
                (c.checked, c.head.events, c.head.last_event),
                (5, 5, Some(5))
            );
            let sealed = audit::chain_page(db, i64::MIN, 10).unwrap();
            let chain: Vec<_> = sealed
                .iter()
                .map(|e| (e.id, e.seq, e.mac.clone()))
                .collect();
            chains.push((chain, c.head.mac.clone()));
            // The trail refuses an edit; past its guard, the check finds it.
            let edit = "UPDATE audit SET detail = 'nothing' WHERE id = 3";
            let e = db.execute(edit, &[]).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{e}");
            db.batch(match db.engine() {
                Engine::Sqlite => "DROP TRIGGER audit_append_only_update",
                Engine::Postgres => "ALTER TABLE audit DISABLE TRIGGER audit_append_only_update",
            })
            .unwrap();
            db.execute(edit, &[]).unwrap();
            let c = check_all(db, &key);
            assert!(!c.whole);
            let broken = c.problem.unwrap();
            assert_eq!(
                (broken.kind, broken.event, broken.after, c.checked),
                (Tampering::Edited, Some(3), Some(2), 2)
            );
        });
        if let [sqlite, postgres] = &chains[..] {
            assert_eq!(sqlite, postgres, "the same ids, places and MACs");
        }
    }
}
