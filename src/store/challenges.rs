//! The `challenges` table: an open login, export or enrolment challenge, so a
//! CLI login can span several commands: code hash, expiry, attempts, resends.

use super::engine::{Db, Row};
use super::{StoreError, opt_time, parse_value, secs, time};
use crate::domain::Time;
use crate::domain::vocab::{ChallengePurpose, ChallengeState};
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    pub id: i64,
    pub user_id: i64,
    pub factor_id: Option<i64>,
    pub purpose: ChallengePurpose,
    pub device_id: Option<i64>,
    pub ip: String,
    pub code_mac: Option<Vec<u8>>,
    pub code_sealed: Option<Vec<u8>>,
    pub expires_at: Time,
    pub attempts: u32,
    pub max_attempts: u32,
    pub resends: u32,
    pub last_sent_at: Time,
    pub state: ChallengeState,
    pub created_at: Time,
    pub closed_at: Option<Time>,
}

const COLUMNS: &str = "id, user_id, factor_id, purpose, device_id, ip, code_mac, code_sealed, \
     expires_at, attempts, max_attempts, resends, last_sent_at, state, created_at, closed_at";

fn from_row(r: &Row) -> Result<ChallengeRow, StoreError> {
    Ok(ChallengeRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        factor_id: r.get(2)?,
        purpose: parse_value(r, 3, ChallengePurpose::parse)?,
        device_id: r.get(4)?,
        ip: r.get(5)?,
        code_mac: r.get(6)?,
        code_sealed: r.get(7)?,
        expires_at: time(r.get(8)?),
        attempts: r.get(9)?,
        max_attempts: r.get(10)?,
        resends: r.get(11)?,
        last_sent_at: time(r.get(12)?),
        state: parse_value(r, 13, ChallengeState::parse)?,
        created_at: time(r.get(14)?),
        closed_at: opt_time(r.get(15)?),
    })
}

pub struct NewChallenge<'a> {
    pub user_id: i64,
    pub factor_id: i64,
    pub purpose: ChallengePurpose,
    pub device_id: Option<i64>,
    pub ip: &'a str,
    pub code_mac: Option<&'a [u8]>,
    pub code_sealed: Option<&'a [u8]>,
    pub expires_at: Time,
    pub max_attempts: u32,
    pub at: Time,
}

pub fn insert(db: &Db, c: &NewChallenge<'_>) -> Result<i64, StoreError> {
    db.query_one(
        "INSERT INTO challenges (user_id, factor_id, purpose, device_id, ip, code_mac, code_sealed,
             expires_at, max_attempts, last_sent_at, state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', ?10)
         RETURNING id",
        &[
            c.user_id.into(),
            c.factor_id.into(),
            c.purpose.as_str().into(),
            c.device_id.into(),
            c.ip.into(),
            c.code_mac.into(),
            c.code_sealed.into(),
            secs(c.expires_at).into(),
            c.max_attempts.into(),
            secs(c.at).into(),
        ],
    )?
    .get(0)
}

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub fn by_id(db: &Db, id: i64) -> Result<Option<ChallengeRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM challenges WHERE id = ?1"),
        &[id.into()],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The newest open enrolment challenge for a factor.
pub fn open_enrolment(db: &Db, factor_id: i64) -> Result<Option<ChallengeRow>, StoreError> {
    db.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM challenges
             WHERE factor_id = ?1 AND purpose = 'enrol' AND state = 'open'
             ORDER BY id DESC LIMIT 1"
        ),
        &[factor_id.into()],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The user's most recent challenges, newest first.
pub fn recent_for_user(db: &Db, user_id: i64, limit: u32) -> Result<Vec<ChallengeRow>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM challenges WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2"),
        &[user_id.into(), limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn record_attempt(db: &Db, id: i64, attempts: u32) -> Result<(), StoreError> {
    db.execute(
        "UPDATE challenges SET attempts = ?2 WHERE id = ?1",
        &[id.into(), attempts.into()],
    )?;
    Ok(())
}

pub fn close(db: &Db, id: i64, state: ChallengeState, at: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE challenges SET state = ?2, closed_at = ?3 WHERE id = ?1",
        &[id.into(), state.as_str().into(), secs(at).into()],
    )?;
    Ok(())
}

/// A resend: with a new code (hash, sealed copy, expiry) or the same one.
pub fn resent(
    db: &Db,
    id: i64,
    new_code: Option<(&[u8], &[u8], Time)>,
    at: Time,
) -> Result<(), StoreError> {
    match new_code {
        Some((mac, sealed, expires_at)) => db.execute(
            "UPDATE challenges SET resends = resends + 1, last_sent_at = ?2,
                 code_mac = ?3, code_sealed = ?4, expires_at = ?5
             WHERE id = ?1",
            &[
                id.into(),
                secs(at).into(),
                mac.into(),
                sealed.into(),
                secs(expires_at).into(),
            ],
        )?,
        None => db.execute(
            "UPDATE challenges SET resends = resends + 1, last_sent_at = ?2 WHERE id = ?1",
            &[id.into(), secs(at).into()],
        )?,
    };
    Ok(())
}

/// Close every open challenge of a user (reset, disable).
pub fn cancel_open(db: &Db, user_id: i64, at: Time) -> Result<usize, StoreError> {
    Ok(count(db.execute(
        "UPDATE challenges SET state = 'cancelled', closed_at = ?2 WHERE user_id = ?1 AND state = 'open'",
        &[user_id.into(), secs(at).into()],
    )?))
}

/// Close a user's open challenges for one purpose: a new login supersedes the
/// one before it, so only the newest code sent for it works.
pub fn cancel_open_for_purpose(
    db: &Db,
    user_id: i64,
    purpose: ChallengePurpose,
    at: Time,
) -> Result<usize, StoreError> {
    Ok(count(db.execute(
        "UPDATE challenges SET state = 'cancelled', closed_at = ?3
         WHERE user_id = ?1 AND purpose = ?2 AND state = 'open'",
        &[user_id.into(), purpose.as_str().into(), secs(at).into()],
    )?))
}

/// Close a factor's open challenges (it was removed or pointed elsewhere).
pub fn cancel_open_for_factor(db: &Db, factor_id: i64, at: Time) -> Result<usize, StoreError> {
    Ok(count(db.execute(
        "UPDATE challenges SET state = 'cancelled', closed_at = ?2 WHERE factor_id = ?1 AND state = 'open'",
        &[factor_id.into(), secs(at).into()],
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{self, each_engine, user};

    /// The active factor these tests' challenges and attempts are on.
    fn factor(db: &Db, user_id: i64) -> i64 {
        testing::factor(db, user_id, "sms", "phone")
    }

    fn open(db: &Db, user_id: i64, factor_id: i64, purpose: ChallengePurpose, at: i64) -> i64 {
        insert(
            db,
            &NewChallenge {
                user_id,
                factor_id,
                purpose,
                device_id: None,
                ip: "192.0.2.1",
                code_mac: Some(&[7; 32]),
                code_sealed: Some(&[8; 40]),
                expires_at: time(at + 300),
                max_attempts: 5,
                at: time(at),
            },
        )
        .unwrap()
    }

    #[test]
    fn a_challenge_is_read_back_whole_and_counts_attempts_and_resends() {
        each_engine("challenges_rows", |store| {
            let db = store.db();
            let u = user(db, "a@example.com");
            let f = factor(db, u);
            let id = open(db, u, f, ChallengePurpose::Login, 100);
            let row = by_id(db, id).unwrap().unwrap();
            assert_eq!(
                row,
                ChallengeRow {
                    id,
                    user_id: u,
                    factor_id: Some(f),
                    purpose: ChallengePurpose::Login,
                    device_id: None,
                    ip: "192.0.2.1".to_owned(),
                    code_mac: Some(vec![7; 32]),
                    code_sealed: Some(vec![8; 40]),
                    expires_at: time(400),
                    attempts: 0,
                    max_attempts: 5,
                    resends: 0,
                    last_sent_at: time(100),
                    state: ChallengeState::Open,
                    created_at: time(100),
                    closed_at: None,
                }
            );
            assert_eq!(by_id(db, id + 1).unwrap(), None);
            record_attempt(db, id, 2).unwrap();
            // The same code again: expiry and code stay.
            resent(db, id, None, time(140)).unwrap();
            let kept = by_id(db, id).unwrap().unwrap();
            assert_eq!(
                (
                    kept.attempts,
                    kept.resends,
                    kept.last_sent_at,
                    kept.expires_at
                ),
                (2, 1, time(140), time(400))
            );
            assert_eq!(kept.code_mac, Some(vec![7; 32]));
            // A new code replaces hash, sealed copy and expiry.
            resent(db, id, Some((&[9; 32], &[10; 40], time(500))), time(200)).unwrap();
            let new = by_id(db, id).unwrap().unwrap();
            assert_eq!(
                (new.resends, new.last_sent_at, new.expires_at),
                (2, time(200), time(500))
            );
            assert_eq!(
                (new.code_mac, new.code_sealed),
                (Some(vec![9; 32]), Some(vec![10; 40]))
            );
            close(db, id, ChallengeState::Accepted, time(210)).unwrap();
            let closed = by_id(db, id).unwrap().unwrap();
            assert_eq!(
                (closed.state, closed.closed_at),
                (ChallengeState::Accepted, Some(time(210)))
            );
        });
    }

    #[test]
    fn recent_ones_come_newest_first_and_an_open_enrolment_is_the_newest_open() {
        each_engine("challenges_recent", |store| {
            let db = store.db();
            let u = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            let f = factor(db, u);
            let first = open(db, u, f, ChallengePurpose::Enrol, 10);
            let second = open(db, u, f, ChallengePurpose::Enrol, 20);
            let login = open(db, u, f, ChallengePurpose::Login, 30);
            open(db, other, factor(db, other), ChallengePurpose::Login, 40);
            let ids = |limit| {
                recent_for_user(db, u, limit)
                    .unwrap()
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(10), [login, second, first]);
            assert_eq!(ids(2), [login, second]);
            assert_eq!(open_enrolment(db, f).unwrap().map(|c| c.id), Some(second));
            close(db, second, ChallengeState::Failed, time(25)).unwrap();
            assert_eq!(open_enrolment(db, f).unwrap().map(|c| c.id), Some(first));
            close(db, first, ChallengeState::Accepted, time(26)).unwrap();
            assert_eq!(open_enrolment(db, f).unwrap(), None, "a login is not one");
        });
    }

    #[test]
    fn cancelling_closes_only_the_open_ones_it_names() {
        each_engine("challenges_cancel", |store| {
            let db = store.db();
            let u = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            let (f, g) = (factor(db, u), factor(db, u));
            let login = open(db, u, f, ChallengePurpose::Login, 10);
            let export = open(db, u, f, ChallengePurpose::Export, 10);
            let enrol = open(db, u, g, ChallengePurpose::Enrol, 10);
            let done = open(db, u, f, ChallengePurpose::Login, 5);
            close(db, done, ChallengeState::Accepted, time(6)).unwrap();
            let theirs = open(db, other, factor(db, other), ChallengePurpose::Login, 10);
            let state = |id| by_id(db, id).unwrap().unwrap().state;

            assert_eq!(
                cancel_open_for_purpose(db, u, ChallengePurpose::Login, time(20)).unwrap(),
                1
            );
            assert_eq!(state(login), ChallengeState::Cancelled);
            assert_eq!(by_id(db, login).unwrap().unwrap().closed_at, Some(time(20)));
            assert_eq!(state(done), ChallengeState::Accepted, "a closed one stays");
            assert_eq!(cancel_open_for_factor(db, g, time(30)).unwrap(), 1);
            assert_eq!(state(enrol), ChallengeState::Cancelled);
            assert_eq!(state(export), ChallengeState::Open);
            assert_eq!(cancel_open(db, u, time(40)).unwrap(), 1);
            assert_eq!(state(export), ChallengeState::Cancelled);
            assert_eq!(cancel_open(db, u, time(50)).unwrap(), 0);
            assert_eq!(state(theirs), ChallengeState::Open, "another user's stay");
        });
    }
}
