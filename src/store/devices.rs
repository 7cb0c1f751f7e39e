//! The `devices` table: remembered computers, keyed by a hash of the token the
//! browser keeps, with last IP, first/last seen, trust expiry and revocation,
//! and the addresses each completed a second factor from while trusted.

use std::collections::HashMap;

use super::engine::{Db, Row};
use super::{StoreError, Where, opt_time, secs, time};
use crate::domain::Time;
use crate::domain::trust::Device;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub last_ip: String,
    pub first_seen_at: Time,
    pub last_seen_at: Time,
    pub trusted_until: Time,
    pub revoked_at: Option<Time>,
    pub revoked_reason: Option<String>,
}

impl DeviceRow {
    /// The device as the trust decision sees it, with the `addresses` it
    /// completed a second factor from in its trust period.
    pub fn as_domain(&self, addresses: Vec<String>) -> Device {
        Device {
            id: self.id,
            user_id: self.user_id,
            label: self.label.clone(),
            last_ip: self.last_ip.clone(),
            addresses,
            trusted_until: self.trusted_until,
            revoked_at: self.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, user_id, label, last_ip, first_seen_at, last_seen_at, trusted_until, \
     revoked_at, revoked_reason";

fn from_row(r: &Row) -> Result<DeviceRow, StoreError> {
    Ok(DeviceRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        label: r.get(2)?,
        last_ip: r.get(3)?,
        first_seen_at: time(r.get(4)?),
        last_seen_at: time(r.get(5)?),
        trusted_until: time(r.get(6)?),
        revoked_at: opt_time(r.get(7)?),
        revoked_reason: r.get(8)?,
    })
}

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub fn insert(
    db: &Db,
    user_id: i64,
    token_mac: &[u8; 32],
    label: &str,
    ip: &str,
    at: Time,
    trusted_until: Time,
) -> Result<i64, StoreError> {
    let id = db
        .query_one(
            "INSERT INTO devices (user_id, token_mac, label, last_ip, first_seen_at, last_seen_at,
                 trusted_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
             RETURNING id",
            &[
                user_id.into(),
                token_mac.as_slice().into(),
                label.into(),
                ip.into(),
                secs(at).into(),
                secs(trusted_until).into(),
            ],
        )?
        .get(0)?;
    completed_from(db, id, ip, at)?;
    Ok(id)
}

fn ips(rows: &[Row]) -> Result<Vec<String>, StoreError> {
    rows.iter().map(|r| r.get(0)).collect()
}

/// The addresses device `id` completed a second factor from in its trust
/// period, newest first.
pub fn addresses(db: &Db, id: i64) -> Result<Vec<String>, StoreError> {
    ips(&db.query(
        "SELECT ip FROM device_addresses WHERE device_id = ?1 ORDER BY last_at DESC, ip",
        &[id.into()],
    )?)
}

/// The addresses device `id` had completed a second factor from before
/// `at`, newest first (what it knew when a login came in then).
pub fn addresses_before(db: &Db, id: i64, at: Time) -> Result<Vec<String>, StoreError> {
    ips(&db.query(
        "SELECT ip FROM device_addresses WHERE device_id = ?1 AND first_at < ?2
         ORDER BY last_at DESC, ip",
        &[id.into(), secs(at).into()],
    )?)
}

/// Device `id` completed a second factor from `ip` at `at` (or, trusted,
/// was let in from it): a known address from now on, in this trust period.
/// An earlier `at` than the one recorded leaves `last_at` as it was.
pub fn completed_from(db: &Db, id: i64, ip: &str, at: Time) -> Result<(), StoreError> {
    // The two-argument `max` is `SQLite`'s only (`PostgreSQL` says
    // `GREATEST`): a `CASE` reads the same on both. The existing row is
    // named by its table, as `PostgreSQL` wants.
    db.execute(
        "INSERT INTO device_addresses (device_id, ip, first_at, last_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (device_id, ip) DO UPDATE SET last_at =
             CASE WHEN excluded.last_at > device_addresses.last_at
                  THEN excluded.last_at ELSE device_addresses.last_at END",
        &[id.into(), ip.into(), secs(at).into()],
    )?;
    Ok(())
}

/// A new trust period for device `id`: the addresses of the last are forgotten.
pub fn forget_addresses(db: &Db, id: i64) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM device_addresses WHERE device_id = ?1",
        &[id.into()],
    )?;
    Ok(())
}

pub fn by_token(db: &Db, token_mac: &[u8; 32]) -> Result<Option<DeviceRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM devices WHERE token_mac = ?1"),
        &[token_mac.as_slice().into()],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub fn by_id(db: &Db, id: i64) -> Result<Option<DeviceRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM devices WHERE id = ?1"),
        &[id.into()],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Newest first.
pub fn for_user(db: &Db, user_id: i64) -> Result<Vec<DeviceRow>, StoreError> {
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM devices WHERE user_id = ?1 ORDER BY last_seen_at DESC, id DESC"
        ),
        &[user_id.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// How many of a user's devices are trusted at `at`: not revoked, not lapsed.
pub fn trusted_count(db: &Db, user_id: i64, at: Time) -> Result<u32, StoreError> {
    db.query_one(
        "SELECT count(*) FROM devices
         WHERE user_id = ?1 AND trusted_until > ?2 AND revoked_at IS NULL",
        &[user_id.into(), secs(at).into()],
    )?
    .get(0)
}

/// [`trusted_count`] for each of `user_ids` in one statement (a list's
/// page at once, not one round trip per row); a user with none is absent.
pub fn trusted_counts(
    db: &Db,
    user_ids: &[i64],
    at: Time,
) -> Result<HashMap<i64, u32>, StoreError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut w = Where::default();
    let at = w.bind(secs(at));
    let marks: Vec<String> = user_ids.iter().map(|&id| w.bind(id)).collect();
    db.query(
        &format!(
            "SELECT user_id, count(*) FROM devices
             WHERE user_id IN ({}) AND trusted_until > {at} AND revoked_at IS NULL
             GROUP BY user_id",
            marks.join(", ")
        ),
        w.args(),
    )?
    .iter()
    .map(|row| Ok((row.get(0)?, row.get(1)?)))
    .collect()
}

/// Seen again: from `ip` at `at`.
pub fn touch(db: &Db, id: i64, ip: &str, at: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE devices SET last_ip = ?2, last_seen_at = ?3 WHERE id = ?1",
        &[id.into(), ip.into(), secs(at).into()],
    )?;
    Ok(())
}

/// A new token for a device the user chose to remember again (the old
/// token stops working), trusted until `until`.
pub fn rotate(db: &Db, id: i64, token_mac: &[u8; 32], until: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE devices SET token_mac = ?2, trusted_until = ?3 WHERE id = ?1",
        &[id.into(), token_mac.as_slice().into(), secs(until).into()],
    )?;
    Ok(())
}

/// Revoke one device; `false` when it was already revoked (the first
/// revocation's time and reason stand).
pub fn revoke(db: &Db, id: i64, at: Time, reason: &str) -> Result<bool, StoreError> {
    Ok(db.execute(
        "UPDATE devices SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        &[id.into(), secs(at).into(), reason.into()],
    )? == 1)
}

/// Revoke every device of a user not revoked yet: how many.
pub fn revoke_all(db: &Db, user_id: i64, at: Time, reason: &str) -> Result<usize, StoreError> {
    Ok(count(db.execute(
        "UPDATE devices SET revoked_at = ?2, revoked_reason = ?3 WHERE user_id = ?1 AND revoked_at IS NULL",
        &[user_id.into(), secs(at).into(), reason.into()],
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};
    use crate::store::{APPLICATION_ID, Store, steps};
    use rusqlite::Connection;

    /// Step 10 on a database of step 9: each device knows the address it was
    /// last seen from, and a stored phone has its national number.
    #[test]
    fn step_10_knows_each_device_s_last_address_and_each_phone_s_national_number() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for (i, step) in steps().iter().take(9).enumerate() {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", i + 1).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO users (id, email, role, status, created_at, grace_from, phone)
                 VALUES (1, 'a@example.com', 'member', 'active', 0, 0, '+447400900123');
             INSERT INTO devices (id, user_id, token_mac, label, last_ip, first_seen_at,
                 last_seen_at, trusted_until)
                 VALUES (1, 1, x'01', 'laptop', '198.51.100.7', 0, 500, 1000);",
        )
        .unwrap();
        let mut store = Store::from_connection(conn).unwrap();
        store.migrate().unwrap();
        let db = store.db();
        assert_eq!(addresses(db, 1).unwrap(), ["198.51.100.7"]);
        assert_eq!(
            addresses_before(db, 1, time(500)).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            addresses_before(db, 1, time(501)).unwrap(),
            ["198.51.100.7"]
        );
        let national: String = db
            .query_one("SELECT phone_national FROM users WHERE id = 1", &[])
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(national, "7400900123");
    }

    const LAPTOP: [u8; 32] = [1; 32];
    const DESKTOP: [u8; 32] = [2; 32];

    #[test]
    fn a_device_is_found_by_token_and_id_seen_again_and_given_a_new_token() {
        each_engine("devices_rows", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            let laptop = insert(
                db,
                id,
                &LAPTOP,
                "Firefox on Linux",
                "192.0.2.1",
                time(100),
                time(1000),
            )
            .unwrap();
            let desktop = insert(
                db,
                id,
                &DESKTOP,
                "Safari on macOS",
                "192.0.2.2",
                time(200),
                time(1100),
            )
            .unwrap();
            assert_ne!(laptop, desktop);
            let row = by_token(db, &LAPTOP).unwrap().unwrap();
            assert_eq!(
                row,
                DeviceRow {
                    id: laptop,
                    user_id: id,
                    label: "Firefox on Linux".to_owned(),
                    last_ip: "192.0.2.1".to_owned(),
                    first_seen_at: time(100),
                    last_seen_at: time(100),
                    trusted_until: time(1000),
                    revoked_at: None,
                    revoked_reason: None,
                }
            );
            assert_eq!(by_id(db, laptop).unwrap(), Some(row));
            assert_eq!(by_id(db, desktop + 100).unwrap(), None);
            assert_eq!(by_token(db, &[9; 32]).unwrap(), None);
            assert_eq!(
                addresses(db, laptop).unwrap(),
                ["192.0.2.1"],
                "its first address is known"
            );

            // Newest seen first; a tie goes to the newer id.
            let ids = |db: &Db| {
                for_user(db, id)
                    .unwrap()
                    .iter()
                    .map(|d| d.id)
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(db), [desktop, laptop]);
            touch(db, laptop, "198.51.100.9", time(300)).unwrap();
            assert_eq!(ids(db), [laptop, desktop]);
            touch(db, desktop, "192.0.2.2", time(300)).unwrap();
            assert_eq!(ids(db), [desktop, laptop]);
            let seen = by_id(db, laptop).unwrap().unwrap();
            assert_eq!(
                (seen.last_ip.as_str(), seen.last_seen_at, seen.first_seen_at),
                ("198.51.100.9", time(300), time(100))
            );
            assert!(for_user(db, other).unwrap().is_empty());

            // Trusted while `at` is before `trusted_until`, not at it.
            assert_eq!(trusted_count(db, id, time(999)).unwrap(), 2);
            assert_eq!(trusted_count(db, id, time(1000)).unwrap(), 1);
            assert_eq!(trusted_count(db, id, time(1100)).unwrap(), 0);
            assert_eq!(trusted_count(db, other, time(0)).unwrap(), 0);

            // A new token: the old one no longer finds it.
            rotate(db, laptop, &[3; 32], time(2000)).unwrap();
            assert_eq!(by_token(db, &LAPTOP).unwrap(), None);
            let rotated = by_token(db, &[3; 32]).unwrap().unwrap();
            assert_eq!((rotated.id, rotated.trusted_until), (laptop, time(2000)));
        });
    }

    #[test]
    fn an_address_keeps_its_first_time_and_its_latest_last_time() {
        each_engine("devices_addresses", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let d = insert(
                db,
                id,
                &LAPTOP,
                "laptop",
                "198.51.100.7",
                time(500),
                time(5000),
            )
            .unwrap();
            let other = insert(
                db,
                id,
                &DESKTOP,
                "desktop",
                "203.0.113.9",
                time(500),
                time(5000),
            )
            .unwrap();
            completed_from(db, d, "192.0.2.4", time(600)).unwrap();
            assert_eq!(addresses(db, d).unwrap(), ["192.0.2.4", "198.51.100.7"]);
            // An earlier time does not move `last_at` back; a later one moves it on.
            completed_from(db, d, "198.51.100.7", time(550)).unwrap();
            assert_eq!(addresses(db, d).unwrap(), ["192.0.2.4", "198.51.100.7"]);
            completed_from(db, d, "198.51.100.7", time(600)).unwrap();
            assert_eq!(
                addresses(db, d).unwrap(),
                ["192.0.2.4", "198.51.100.7"],
                "a tie sorts by address"
            );
            completed_from(db, d, "198.51.100.7", time(601)).unwrap();
            assert_eq!(addresses(db, d).unwrap(), ["198.51.100.7", "192.0.2.4"]);
            // Known before `at`: first completed strictly earlier.
            assert!(addresses_before(db, d, time(500)).unwrap().is_empty());
            assert_eq!(
                addresses_before(db, d, time(600)).unwrap(),
                ["198.51.100.7"]
            );
            assert_eq!(
                addresses_before(db, d, time(601)).unwrap(),
                ["198.51.100.7", "192.0.2.4"]
            );
            // A new trust period forgets this device's addresses only.
            forget_addresses(db, d).unwrap();
            assert!(addresses(db, d).unwrap().is_empty());
            assert_eq!(addresses(db, other).unwrap(), ["203.0.113.9"]);
        });
    }

    #[test]
    fn a_device_is_revoked_once_and_revoking_all_counts_the_rest() {
        each_engine("devices_revoke", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            let a = insert(db, id, &LAPTOP, "laptop", "192.0.2.1", time(0), time(1000)).unwrap();
            insert(
                db,
                id,
                &DESKTOP,
                "desktop",
                "192.0.2.1",
                time(0),
                time(1000),
            )
            .unwrap();
            insert(db, id, &[3; 32], "phone", "192.0.2.1", time(0), time(10)).unwrap();
            insert(
                db,
                other,
                &[4; 32],
                "theirs",
                "192.0.2.9",
                time(0),
                time(1000),
            )
            .unwrap();
            assert!(revoke(db, a, time(50), "lost").unwrap());
            assert!(
                !revoke(db, a, time(60), "again").unwrap(),
                "already revoked"
            );
            let row = by_id(db, a).unwrap().unwrap();
            assert_eq!(
                (row.revoked_at, row.revoked_reason.as_deref()),
                (Some(time(50)), Some("lost")),
                "the first revocation stands"
            );
            assert_eq!(trusted_count(db, id, time(5)).unwrap(), 2);
            // A page's counts at once agree: the phone lapses at 10 exactly,
            // and a user with none (or no such user) is left out.
            let page = [id, other, other + 100];
            let counts = |t| trusted_counts(db, &page, time(t)).unwrap();
            assert_eq!(counts(9), HashMap::from([(id, 2), (other, 1)]));
            assert_eq!(counts(10), HashMap::from([(id, 1), (other, 1)]));
            assert_eq!(counts(1000), HashMap::new());
            for t in [9, 10] {
                for u in [id, other] {
                    let one = trusted_count(db, u, time(t)).unwrap();
                    assert_eq!(counts(t).get(&u).copied().unwrap_or(0), one);
                }
            }
            assert!(trusted_counts(db, &[], time(5)).unwrap().is_empty());
            // A lapsed device is still revoked; a revoked one is not counted again.
            assert_eq!(revoke_all(db, id, time(70), "2FA reset").unwrap(), 2);
            assert_eq!(revoke_all(db, id, time(80), "again").unwrap(), 0);
            assert_eq!(trusted_count(db, id, time(5)).unwrap(), 0);
            assert!(
                for_user(db, id)
                    .unwrap()
                    .iter()
                    .all(|d| d.revoked_at.is_some())
            );
            assert_eq!(
                trusted_count(db, other, time(5)).unwrap(),
                1,
                "another user's stay"
            );
        });
    }
}
