//! The `deliveries` table: the simulated SMS gateway and mailbox, newest
//! first, with status, failure reason and the sealed message text.

use super::engine::{Db, Engine, Row};
use super::{Keyset, StoreError, Where, opt_time, parse_value, secs, time};
use crate::domain::Time;
use crate::domain::vocab::{Channel, DeliveryStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub channel: Channel,
    pub destination: String,
    pub body: Vec<u8>,
    pub code_mac: Option<Vec<u8>>,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
    /// Held back by the message limit: when the next may go.
    pub retry_at: Option<Time>,
    /// The challenge's current code hash, expiry and state, to tell whether
    /// this message holds the code that works now.
    pub live: Option<(Option<Vec<u8>>, Time, String)>,
}

fn from_row(r: &Row) -> Result<DeliveryRow, StoreError> {
    let live_expiry: Option<i64> = r.get(14)?;
    Ok(DeliveryRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user_email: r.get(2)?,
        challenge_id: r.get(3)?,
        factor_id: r.get(4)?,
        channel: parse_value(r, 5, Channel::parse)?,
        destination: r.get(6)?,
        body: r.get(7)?,
        code_mac: r.get(8)?,
        status: parse_value(r, 9, DeliveryStatus::parse)?,
        reason: r.get(10)?,
        created_at: time(r.get(11)?),
        updated_at: time(r.get(12)?),
        retry_at: opt_time(r.get(16)?),
        live: match live_expiry {
            Some(expiry) => Some((r.get(13)?, time(expiry), r.get(15)?)),
            None => None,
        },
    })
}

pub struct NewDelivery<'a> {
    pub user_id: i64,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub channel: Channel,
    pub destination: &'a str,
    pub body: &'a [u8],
    pub code_mac: Option<&'a [u8]>,
    pub status: DeliveryStatus,
    pub reason: Option<&'a str>,
    pub at: Time,
    /// Held back by the message limit: when the next may go.
    pub retry_at: Option<Time>,
    /// Where it went, keyed-hashed: see [`To`].
    pub to: To,
}

/// Where messages went, as keyed hashes (the desk makes them with the
/// key): the whole number or address, and a number without its calling code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct To {
    pub whole: Option<[u8; 32]>,
    pub national: Option<[u8; 32]>,
}

pub fn insert(db: &Db, d: &NewDelivery<'_>) -> Result<i64, StoreError> {
    db.query_one(
        "INSERT INTO deliveries (user_id, challenge_id, factor_id, channel, destination, body,
             code_mac, status, reason, created_at, updated_at, retry_at, to_mac, to_national_mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13)
         RETURNING id",
        &[
            d.user_id.into(),
            d.challenge_id.into(),
            d.factor_id.into(),
            d.channel.as_str().into(),
            d.destination.into(),
            d.body.into(),
            d.code_mac.into(),
            d.status.as_str().into(),
            d.reason.into(),
            secs(d.at).into(),
            d.retry_at.map(secs).into(),
            d.to.whole.as_ref().map(<[u8; 32]>::as_slice).into(),
            d.to.national.as_ref().map(<[u8; 32]>::as_slice).into(),
        ],
    )?
    .get(0)
}

/// Newest first by time; `before` (the id of the last message shown) pages
/// back through older ones.
pub fn list(
    db: &Db,
    user_id: Option<i64>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<DeliveryRow>, StoreError> {
    page(
        db,
        user_id,
        None,
        before.map_or(Keyset::First, Keyset::After),
        limit,
    )
}

/// One page of messages (one user's, or everyone's; all, or those that
/// went `to` an address or number), newest first, read at `at`: `After(id)`
/// are older than message `id`, `Before(id)` newer. Read along the user's
/// index, a destination index or the time index, so a page costs the same
/// at any size.
pub fn page(
    db: &Db,
    user_id: Option<i64>,
    to: Option<&To>,
    at: Keyset<i64>,
    limit: u32,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let time_of = |id: &i64| -> Result<Option<i64>, StoreError> {
        db.query_opt(
            "SELECT created_at FROM deliveries WHERE id = ?1",
            &[(*id).into()],
        )?
        .map(|r| r.get(0))
        .transpose()
    };
    let Some(at) = at.with_time(time_of)? else {
        return Ok(Vec::new());
    };
    let mut w = Where::default();
    if let Some(user_id) = user_id {
        let p = w.bind(user_id);
        w.and(format!("d.user_id = {p}"));
    }
    match to.map(|t| (t.whole, t.national)) {
        None => {}
        Some((None, None)) => w.and("FALSE"),
        Some((Some(whole), None)) => {
            let p = w.bind(whole.to_vec());
            w.and(format!("d.to_mac = {p}"));
        }
        Some((None, Some(national))) => {
            let p = w.bind(national.to_vec());
            w.and(format!("d.to_national_mac = {p}"));
        }
        Some((Some(whole), Some(national))) => {
            let (e, n) = (w.bind(whole.to_vec()), w.bind(national.to_vec()));
            w.and(format!("(d.to_mac = {e} OR d.to_national_mac = {n})"));
        }
    }
    let order = w.newest_first(at, "d.created_at", "d.id");
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT d.id, d.user_id, u.email, d.challenge_id, d.factor_id, d.channel, d.destination,
                d.body, d.code_mac, d.status, d.reason, d.created_at, d.updated_at,
                c.code_mac, c.expires_at, c.state, d.retry_at
         FROM deliveries d
         JOIN users u ON u.id = d.user_id
         LEFT JOIN challenges c ON c.id = d.challenge_id
         WHERE {} ORDER BY d.created_at {order}, d.id {order} LIMIT {limit}",
        w.sql()
    );
    let mut rows = db
        .query(&sql, w.args())?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// How the messages of one challenge that carried the code hashed as `mac`
/// went: `None` if no message carried it, else whether any reached the
/// gateway, and the newest failure reason.
pub fn fate_of_code(
    db: &Db,
    challenge_id: i64,
    mac: &[u8],
) -> Result<Option<(bool, Option<String>)>, StoreError> {
    let rows = db.query(
        "SELECT status, reason FROM deliveries
         WHERE challenge_id = ?1 AND code_mac = ?2
         ORDER BY created_at DESC, id DESC",
        &[challenge_id.into(), mac.into()],
    )?;
    let mut fate: Option<(bool, Option<String>)> = None;
    for row in &rows {
        let status = parse_value(row, 0, DeliveryStatus::parse)?;
        let reason: Option<String> = row.get(1)?;
        let entry = fate.get_or_insert((false, None));
        if status == DeliveryStatus::Failed {
            if entry.1.is_none() {
                entry.1 = reason;
            }
        } else {
            entry.0 = true;
        }
    }
    Ok(fate)
}

/// Failed deliveries since `since`.
pub fn failed_since(db: &Db, since: Time) -> Result<u64, StoreError> {
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM deliveries WHERE status = 'failed' AND created_at >= ?1",
            &[secs(since).into()],
        )?
        .get(0)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// The users with a failed delivery since `since`, most recent first: each
/// one's id, a reason and when the last failed.
/// Read from the range of failures since then: without statistics `SQLite`
/// would rather walk every message in user order to spare itself sorting
/// the groups, so the index is named. `PostgreSQL` has no hints and finds
/// the partial index by itself.
pub fn failed_users_since(
    db: &Db,
    since: Time,
    limit: u32,
) -> Result<Vec<(i64, String, Time)>, StoreError> {
    let sql = match db.engine() {
        Engine::Sqlite => {
            "SELECT d.user_id, max(d.reason), max(d.created_at)
             FROM deliveries d INDEXED BY deliveries_failed
             WHERE d.status = 'failed' AND d.created_at >= ?1
             GROUP BY d.user_id ORDER BY max(d.created_at) DESC LIMIT ?2"
        }
        Engine::Postgres => {
            "SELECT d.user_id, max(d.reason), max(d.created_at)
             FROM deliveries d
             WHERE d.status = 'failed' AND d.created_at >= ?1
             GROUP BY d.user_id ORDER BY max(d.created_at) DESC LIMIT ?2"
        }
    };
    db.query(sql, &[secs(since).into(), limit.into()])?
        .iter()
        .map(|r| {
            Ok((
                r.get(0)?,
                r.get::<Option<String>>(1)?.unwrap_or_default(),
                time(r.get(2)?),
            ))
        })
        .collect()
}

/// When the messages to `user_id` that went out (not failed) at or after
/// `since` were sent, oldest first: what the message limit counts.
pub fn sent_since(db: &Db, user_id: i64, since: Time) -> Result<Vec<Time>, StoreError> {
    db.query(
        "SELECT created_at FROM deliveries
         WHERE user_id = ?1 AND created_at >= ?2 AND status <> 'failed'
         ORDER BY created_at LIMIT 1000",
        &[user_id.into(), secs(since).into()],
    )?
    .iter()
    .map(|r| r.get(0).map(time))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};

    fn challenge(db: &Db, user_id: i64, code_mac: &[u8]) -> i64 {
        db.query_one(
            "INSERT INTO challenges (user_id, purpose, ip, code_mac, expires_at, max_attempts,
                 last_sent_at, state, created_at)
             VALUES (?1, 'login', '192.0.2.1', ?2, 500, 5, 0, 'open', 0) RETURNING id",
            &[user_id.into(), code_mac.into()],
        )
        .unwrap()
        .get(0)
        .unwrap()
    }

    fn message<'a>(user_id: i64, at: i64, status: DeliveryStatus) -> NewDelivery<'a> {
        NewDelivery {
            user_id,
            challenge_id: None,
            factor_id: None,
            channel: Channel::Sms,
            destination: "+1 *** *** 0100",
            body: b"sealed",
            code_mac: None,
            status,
            reason: None,
            at: time(at),
            retry_at: None,
            to: To::default(),
        }
    }

    fn ids(rows: &[DeliveryRow]) -> Vec<i64> {
        rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_message_comes_back_whole_with_its_challenge_s_live_code() {
        each_engine("delivery_row", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let c = challenge(db, id, b"live");
            let to = To {
                whole: Some([1; 32]),
                national: Some([2; 32]),
            };
            let sent = insert(
                db,
                &NewDelivery {
                    challenge_id: Some(c),
                    channel: Channel::Email,
                    destination: "a***@example.com",
                    code_mac: Some(b"live"),
                    reason: Some("held back"),
                    retry_at: Some(time(90)),
                    to,
                    ..message(id, 30, DeliveryStatus::Queued)
                },
            )
            .unwrap();
            let bare = insert(db, &message(id, 40, DeliveryStatus::Sent)).unwrap();
            assert!(bare > sent, "ids come from RETURNING, rising");
            let rows = list(db, Some(id), None, 10).unwrap();
            assert_eq!(ids(&rows), [bare, sent], "newest first");
            assert_eq!(
                rows[1],
                DeliveryRow {
                    id: sent,
                    user_id: id,
                    user_email: "a@example.com".to_owned(),
                    challenge_id: Some(c),
                    factor_id: None,
                    channel: Channel::Email,
                    destination: "a***@example.com".to_owned(),
                    body: b"sealed".to_vec(),
                    code_mac: Some(b"live".to_vec()),
                    status: DeliveryStatus::Queued,
                    reason: Some("held back".to_owned()),
                    created_at: time(30),
                    updated_at: time(30),
                    retry_at: Some(time(90)),
                    live: Some((Some(b"live".to_vec()), time(500), "open".to_owned())),
                }
            );
            assert_eq!(rows[0].live, None, "no challenge, nothing live");
            assert_eq!(ids(&list(db, Some(id), Some(bare), 10).unwrap()), [sent]);
            assert!(list(db, Some(id), Some(sent), 10).unwrap().is_empty());
        });
    }

    #[test]
    fn pages_go_both_ways_from_a_message_and_keep_to_a_user_or_an_address() {
        each_engine("delivery_pages", |store| {
            let db = store.db();
            let (a, b) = (user(db, "a@example.com"), user(db, "b@example.com"));
            let whole = To {
                whole: Some([1; 32]),
                national: None,
            };
            let national = To {
                whole: None,
                national: Some([2; 32]),
            };
            // Two at one instant: the id breaks the tie.
            let m1 = insert(db, &message(a, 10, DeliveryStatus::Sent)).unwrap();
            let m2 = insert(db, &message(b, 20, DeliveryStatus::Sent)).unwrap();
            let m3 = insert(
                db,
                &NewDelivery {
                    to: whole,
                    ..message(a, 20, DeliveryStatus::Sent)
                },
            )
            .unwrap();
            let m4 = insert(
                db,
                &NewDelivery {
                    to: national,
                    ..message(a, 30, DeliveryStatus::Failed)
                },
            )
            .unwrap();
            let all = |at| ids(&page(db, None, None, at, 2).unwrap());
            assert_eq!(all(Keyset::First), [m4, m3]);
            assert_eq!(all(Keyset::After(m3)), [m2, m1]);
            assert_eq!(all(Keyset::From(m3)), [m3, m2]);
            assert_eq!(all(Keyset::Before(m2)), [m4, m3], "in list order");
            assert_eq!(all(Keyset::Before(m3)), [m4]);
            assert_eq!(all(Keyset::Last), [m2, m1]);
            assert!(all(Keyset::After(m1)).is_empty());
            assert!(all(Keyset::After(999)).is_empty(), "a key row gone");
            assert_eq!(
                ids(&page(db, Some(a), None, Keyset::First, 10).unwrap()),
                [m4, m3, m1]
            );
            let to = |t: &To| ids(&page(db, None, Some(t), Keyset::First, 10).unwrap());
            assert_eq!(to(&whole), [m3]);
            assert_eq!(to(&national), [m4]);
            let either = To {
                whole: Some([1; 32]),
                national: Some([2; 32]),
            };
            assert_eq!(to(&either), [m4, m3]);
            assert!(to(&To::default()).is_empty(), "no address, no messages");
        });
    }

    #[test]
    fn a_code_s_fate_is_whether_any_message_went_and_the_newest_failure() {
        each_engine("delivery_fate", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let c = challenge(db, id, b"one");
            let carrying = |at, status, reason| NewDelivery {
                challenge_id: Some(c),
                code_mac: Some(b"one"),
                reason,
                ..message(id, at, status)
            };
            assert_eq!(fate_of_code(db, c, b"one").unwrap(), None);
            insert(db, &carrying(10, DeliveryStatus::Failed, Some("older"))).unwrap();
            insert(db, &carrying(20, DeliveryStatus::Failed, Some("newer"))).unwrap();
            assert_eq!(
                fate_of_code(db, c, b"one").unwrap(),
                Some((false, Some("newer".to_owned())))
            );
            insert(db, &carrying(30, DeliveryStatus::Delivered, None)).unwrap();
            assert_eq!(
                fate_of_code(db, c, b"one").unwrap(),
                Some((true, Some("newer".to_owned())))
            );
            assert_eq!(fate_of_code(db, c, b"two").unwrap(), None, "another code");
        });
    }

    #[test]
    fn failures_are_counted_and_grouped_by_user_from_their_start() {
        each_engine("delivery_failures", |store| {
            let db = store.db();
            let (a, b) = (user(db, "a@example.com"), user(db, "b@example.com"));
            let failed = |user_id, at, reason| NewDelivery {
                reason,
                ..message(user_id, at, DeliveryStatus::Failed)
            };
            insert(db, &failed(a, 99, Some("too old"))).unwrap();
            insert(db, &failed(a, 100, Some("blocked"))).unwrap();
            insert(db, &failed(a, 300, Some("blocked"))).unwrap();
            insert(db, &failed(b, 200, None)).unwrap();
            insert(db, &message(b, 400, DeliveryStatus::Sent)).unwrap();
            assert_eq!(failed_since(db, time(100)).unwrap(), 3, "from `since` on");
            assert_eq!(failed_since(db, time(301)).unwrap(), 0);
            assert_eq!(
                failed_users_since(db, time(100), 10).unwrap(),
                [
                    (a, "blocked".to_owned(), time(300)),
                    (b, String::new(), time(200))
                ],
                "most recent first; no reason reads as empty"
            );
            assert_eq!(failed_users_since(db, time(100), 1).unwrap().len(), 1);
            assert!(failed_users_since(db, time(301), 10).unwrap().is_empty());
        });
    }

    #[test]
    fn what_the_message_limit_counts_is_sent_messages_from_the_window_s_start() {
        each_engine("delivery_sent", |store| {
            let db = store.db();
            let (a, b) = (user(db, "a@example.com"), user(db, "b@example.com"));
            insert(db, &message(a, 99, DeliveryStatus::Sent)).unwrap();
            insert(db, &message(a, 200, DeliveryStatus::Delivered)).unwrap();
            insert(db, &message(a, 100, DeliveryStatus::Queued)).unwrap();
            insert(db, &message(a, 150, DeliveryStatus::Failed)).unwrap();
            insert(db, &message(b, 120, DeliveryStatus::Sent)).unwrap();
            assert_eq!(
                sent_since(db, a, time(100)).unwrap(),
                [time(100), time(200)],
                "oldest first; failures and other users left out"
            );
            assert!(sent_since(db, a, time(201)).unwrap().is_empty());
        });
    }
}
