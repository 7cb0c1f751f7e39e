//! The `attempts` table: every second-factor attempt and its outcome, with the
//! evidence the doctor reads (the step a wrong code matched; a replay's origin).

use super::engine::{Db, Engine, Row};
use super::{StoreError, opt_time, parse_value, secs, time};
use crate::domain::Time;
use crate::domain::vocab::{AttemptKind, AttemptOutcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub user_id: i64,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub kind: AttemptKind,
    pub outcome: AttemptOutcome,
    pub ip: String,
    pub at: Time,
    pub matched_offset: Option<i64>,
    pub first_used_at: Option<Time>,
    pub first_used_ip: Option<String>,
    /// The replayed step was spent by a help-desk resync, not a login.
    pub first_used_by_resync: bool,
}

/// Who first spent a replayed code: a login (when, from where) or a resync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstUse {
    Login { at: Time, ip: Option<String> },
    Resync { at: Time },
}

fn from_row(r: &Row) -> Result<AttemptRow, StoreError> {
    Ok(AttemptRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        challenge_id: r.get(2)?,
        factor_id: r.get(3)?,
        kind: parse_value(r, 4, AttemptKind::parse)?,
        outcome: parse_value(r, 5, AttemptOutcome::parse)?,
        ip: r.get(6)?,
        at: time(r.get(7)?),
        matched_offset: r.get(8)?,
        first_used_at: opt_time(r.get(9)?),
        first_used_ip: r.get(10)?,
        first_used_by_resync: r.get(11)?,
    })
}

pub struct NewAttempt<'a> {
    pub user_id: i64,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub kind: AttemptKind,
    pub outcome: AttemptOutcome,
    pub ip: &'a str,
    pub at: Time,
    pub matched_offset: Option<i64>,
    pub first_used: Option<&'a FirstUse>,
}

pub fn insert(db: &Db, a: &NewAttempt<'_>) -> Result<i64, StoreError> {
    db.query_one(
        "INSERT INTO attempts (user_id, challenge_id, factor_id, kind, outcome, ip, at,
             matched_offset, first_used_at, first_used_ip, first_used_by_resync)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         RETURNING id",
        &[
            a.user_id.into(),
            a.challenge_id.into(),
            a.factor_id.into(),
            a.kind.as_str().into(),
            a.outcome.as_str().into(),
            a.ip.into(),
            secs(a.at).into(),
            a.matched_offset.into(),
            a.first_used
                .map(|u| match u {
                    FirstUse::Login { at, .. } | FirstUse::Resync { at } => secs(*at),
                })
                .into(),
            match a.first_used {
                Some(FirstUse::Login { ip, .. }) => ip.as_deref(),
                _ => None,
            }
            .into(),
            matches!(a.first_used, Some(FirstUse::Resync { .. })).into(),
        ],
    )?
    .get(0)
}

/// A user's attempts since `since`, newest first.
pub fn for_user_since(
    db: &Db,
    user_id: i64,
    since: Time,
    limit: u32,
) -> Result<Vec<AttemptRow>, StoreError> {
    db.query(
        "SELECT id, user_id, challenge_id, factor_id, kind, outcome, ip, at, matched_offset,
                first_used_at, first_used_ip, first_used_by_resync
         FROM attempts WHERE user_id = ?1 AND at >= ?2 ORDER BY at DESC, id DESC LIMIT ?3",
        &[user_id.into(), secs(since).into(), limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// When a user's failed attempts (wrong or replayed codes) with an id
/// above `after_id` happened, newest first, back to `from`.
pub fn failure_times(
    db: &Db,
    user_id: i64,
    after_id: i64,
    from: Time,
    limit: u32,
) -> Result<Vec<Time>, StoreError> {
    db.query(
        "SELECT at FROM attempts
         WHERE user_id = ?1 AND outcome IN ('invalid', 'replayed') AND id > ?2 AND at >= ?3
         ORDER BY id DESC LIMIT ?4",
        &[
            user_id.into(),
            after_id.into(),
            secs(from).into(),
            limit.into(),
        ],
    )?
    .iter()
    .map(|r| r.get(0).map(time))
    .collect()
}

/// A code tried again from another address than its first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedElsewhere {
    pub user_id: i64,
    pub at: Time,
    pub ip: String,
}

/// Authenticator codes tried again from another address than their first
/// use, at or after `since`, on factors still enrolled (replacing or
/// removing the factor settles it): each user's newest, newest first.
pub fn replayed_elsewhere(
    db: &Db,
    since: Time,
    limit: u32,
) -> Result<Vec<ReplayedElsewhere>, StoreError> {
    // `SQLite` takes the partial index only when told; `PostgreSQL` has no
    // hints and finds it by itself. Which row's `ip` comes with `max(at)`:
    // `SQLite` gives the newest's (its bare-column rule); `PostgreSQL` wants
    // it named, so it takes the newest per user with `DISTINCT ON`.
    let sql = match db.engine() {
        Engine::Sqlite => {
            "SELECT user_id, max(at), ip FROM attempts INDEXED BY attempts_replayed_elsewhere
             WHERE kind = 'totp' AND outcome = 'replayed' AND first_used_by_resync = 0
               AND first_used_ip IS NOT NULL AND first_used_ip <> ip
               AND at >= ?1 AND factor_id IS NOT NULL
             GROUP BY user_id ORDER BY max(at) DESC LIMIT ?2"
        }
        Engine::Postgres => {
            "SELECT user_id, at, ip FROM (
                 SELECT DISTINCT ON (user_id) user_id, at, ip, id FROM attempts
                 WHERE kind = 'totp' AND outcome = 'replayed' AND first_used_by_resync = 0
                   AND first_used_ip IS NOT NULL AND first_used_ip <> ip
                   AND at >= ?1 AND factor_id IS NOT NULL
                 ORDER BY user_id, at DESC, id DESC
             ) AS newest ORDER BY at DESC LIMIT ?2"
        }
    };
    db.query(sql, &[secs(since).into(), limit.into()])?
        .iter()
        .map(|r| {
            Ok(ReplayedElsewhere {
                user_id: r.get(0)?,
                at: time(r.get(1)?),
                ip: r.get(2)?,
            })
        })
        .collect()
}

/// The newest attempt id of all (0 with none): a reset point for counting.
pub fn last_id(db: &Db) -> Result<i64, StoreError> {
    db.query_one("SELECT coalesce(max(id), 0) FROM attempts", &[])?
        .get(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{self, each_engine, user};

    /// The active factor these tests' challenges and attempts are on.
    fn factor(db: &Db, user_id: i64) -> i64 {
        testing::factor(db, user_id, "totp", "app")
    }

    fn attempt<'a>(
        user_id: i64,
        factor_id: Option<i64>,
        outcome: AttemptOutcome,
        ip: &'a str,
        at: i64,
        first_used: Option<&'a FirstUse>,
    ) -> NewAttempt<'a> {
        NewAttempt {
            user_id,
            challenge_id: None,
            factor_id,
            kind: AttemptKind::Totp,
            outcome,
            ip,
            at: time(at),
            matched_offset: None,
            first_used,
        }
    }

    #[test]
    fn attempts_come_back_newest_first_with_their_evidence() {
        each_engine("attempts", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            assert_eq!(last_id(db).unwrap(), 0);
            let resync = FirstUse::Resync { at: time(5) };
            let first = insert(
                db,
                &attempt(id, None, AttemptOutcome::Accepted, "192.0.2.1", 10, None),
            )
            .unwrap();
            let second = insert(
                db,
                &attempt(
                    id,
                    None,
                    AttemptOutcome::Replayed,
                    "192.0.2.2",
                    20,
                    Some(&resync),
                ),
            )
            .unwrap();
            assert!(second > first);
            assert_eq!(last_id(db).unwrap(), second);
            let rows = for_user_since(db, id, time(10), 10).unwrap();
            assert_eq!(
                rows.iter().map(|r| r.id).collect::<Vec<_>>(),
                [second, first],
                "newest first; `since` counts"
            );
            let r = &rows[0];
            assert_eq!(
                (
                    r.kind,
                    r.outcome,
                    r.ip.as_str(),
                    r.first_used_at,
                    r.first_used_ip.as_deref(),
                    r.first_used_by_resync
                ),
                (
                    AttemptKind::Totp,
                    AttemptOutcome::Replayed,
                    "192.0.2.2",
                    Some(time(5)),
                    None,
                    true
                )
            );
            assert_eq!(for_user_since(db, id, time(11), 10).unwrap().len(), 1);
            assert_eq!(
                for_user_since(db, id, time(0), 1).unwrap()[0].id,
                second,
                "limited"
            );
        });
    }

    #[test]
    fn failure_times_count_wrong_and_replayed_codes_after_a_reset_point() {
        each_engine("attempt_failures", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            let early = insert(
                db,
                &attempt(id, None, AttemptOutcome::Invalid, "192.0.2.1", 100, None),
            )
            .unwrap();
            insert(
                db,
                &attempt(id, None, AttemptOutcome::Accepted, "192.0.2.1", 110, None),
            )
            .unwrap();
            insert(
                db,
                &attempt(id, None, AttemptOutcome::Replayed, "192.0.2.1", 120, None),
            )
            .unwrap();
            insert(
                db,
                &attempt(id, None, AttemptOutcome::Invalid, "192.0.2.1", 130, None),
            )
            .unwrap();
            insert(
                db,
                &attempt(other, None, AttemptOutcome::Invalid, "192.0.2.1", 140, None),
            )
            .unwrap();
            assert_eq!(
                failure_times(db, id, 0, time(100), 10).unwrap(),
                [time(130), time(120), time(100)]
            );
            assert_eq!(
                failure_times(db, id, early, time(0), 10).unwrap(),
                [time(130), time(120)],
                "after the reset point"
            );
            assert_eq!(
                failure_times(db, id, 0, time(101), 10).unwrap(),
                [time(130), time(120)]
            );
            assert_eq!(failure_times(db, id, 0, time(0), 1).unwrap(), [time(130)]);
        });
    }

    #[test]
    fn a_code_replayed_elsewhere_is_each_user_s_newest_on_an_enrolled_factor() {
        each_engine("attempt_replays", |store| {
            let db = store.db();
            let (a, b) = (user(db, "a@example.com"), user(db, "b@example.com"));
            let (fa, fb) = (factor(db, a), factor(db, b));
            let login = FirstUse::Login {
                at: time(1),
                ip: Some("192.0.2.1".to_owned()),
            };
            let resync = FirstUse::Resync { at: time(1) };
            let replayed = AttemptOutcome::Replayed;
            insert(
                db,
                &attempt(a, Some(fa), replayed, "198.51.100.1", 100, Some(&login)),
            )
            .unwrap();
            insert(
                db,
                &attempt(a, Some(fa), replayed, "198.51.100.2", 300, Some(&login)),
            )
            .unwrap();
            insert(
                db,
                &attempt(b, Some(fb), replayed, "198.51.100.3", 200, Some(&login)),
            )
            .unwrap();
            // Not elsewhere: the same address, a resync, no factor, too old.
            insert(
                db,
                &attempt(b, Some(fb), replayed, "192.0.2.1", 400, Some(&login)),
            )
            .unwrap();
            insert(
                db,
                &attempt(b, Some(fb), replayed, "198.51.100.4", 400, Some(&resync)),
            )
            .unwrap();
            insert(
                db,
                &attempt(b, None, replayed, "198.51.100.5", 400, Some(&login)),
            )
            .unwrap();
            insert(
                db,
                &attempt(b, Some(fb), replayed, "198.51.100.6", 49, Some(&login)),
            )
            .unwrap();
            let found = replayed_elsewhere(db, time(50), 10).unwrap();
            assert_eq!(
                found,
                [
                    ReplayedElsewhere {
                        user_id: a,
                        at: time(300),
                        ip: "198.51.100.2".to_owned()
                    },
                    ReplayedElsewhere {
                        user_id: b,
                        at: time(200),
                        ip: "198.51.100.3".to_owned()
                    },
                ]
            );
            assert_eq!(replayed_elsewhere(db, time(50), 1).unwrap().len(), 1);
        });
    }
}
