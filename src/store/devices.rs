//! The `devices` table: remembered computers, keyed by a hash of the token the
//! browser keeps, with last IP, first/last seen, trust expiry and revocation,
//! and the addresses each completed a second factor from while trusted.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, exec, opt_time, secs, time};
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

fn from_row(r: &Row<'_>) -> rusqlite::Result<DeviceRow> {
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

pub fn insert(
    conn: &Connection,
    user_id: i64,
    token_mac: &[u8; 32],
    label: &str,
    ip: &str,
    at: Time,
    trusted_until: Time,
) -> Result<i64, StoreError> {
    exec(
        conn,
        "INSERT INTO devices (user_id, token_mac, label, last_ip, first_seen_at, last_seen_at, trusted_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        params![user_id, token_mac.as_slice(), label, ip, secs(at), secs(trusted_until)],
    )?;
    let id = conn.last_insert_rowid();
    completed_from(conn, id, ip, at)?;
    Ok(id)
}

/// The addresses device `id` completed a second factor from in its trust
/// period, newest first.
pub fn addresses(conn: &Connection, id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ip FROM device_addresses WHERE device_id = ?1 ORDER BY last_at DESC, ip",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The addresses device `id` had completed a second factor from before
/// `at`, newest first (what it knew when a login came in then).
pub fn addresses_before(conn: &Connection, id: i64, at: Time) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ip FROM device_addresses WHERE device_id = ?1 AND first_at < ?2
         ORDER BY last_at DESC, ip",
    )?;
    let rows = stmt.query_map(params![id, secs(at)], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Device `id` completed a second factor from `ip` at `at` (or, trusted,
/// was let in from it): a known address from now on, in this trust period.
pub fn completed_from(conn: &Connection, id: i64, ip: &str, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO device_addresses (device_id, ip, first_at, last_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (device_id, ip) DO UPDATE SET last_at = max(last_at, excluded.last_at)",
        params![id, ip, secs(at)],
    )?;
    Ok(())
}

/// A new trust period for device `id`: the addresses of the last are forgotten.
pub fn forget_addresses(conn: &Connection, id: i64) -> Result<(), StoreError> {
    exec(
        conn,
        "DELETE FROM device_addresses WHERE device_id = ?1",
        params![id],
    )?;
    Ok(())
}

pub fn by_token(conn: &Connection, token_mac: &[u8; 32]) -> Result<Option<DeviceRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM devices WHERE token_mac = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([token_mac.as_slice()], from_row)
        .optional()?)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<DeviceRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM devices WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// Newest first.
pub fn for_user(conn: &Connection, user_id: i64) -> Result<Vec<DeviceRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM devices WHERE user_id = ?1 ORDER BY last_seen_at DESC, id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many of a user's devices are trusted at `at`: not revoked, not lapsed.
pub fn trusted_count(conn: &Connection, user_id: i64, at: Time) -> Result<u32, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM devices
             WHERE user_id = ?1 AND trusted_until > ?2 AND revoked_at IS NULL",
        )?
        .query_row(params![user_id, secs(at)], |r| r.get(0))?)
}

/// Seen again: from `ip` at `at`.
pub fn touch(conn: &Connection, id: i64, ip: &str, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE devices SET last_ip = ?2, last_seen_at = ?3 WHERE id = ?1",
        params![id, ip, secs(at)],
    )?;
    Ok(())
}

/// A new token for a device the user chose to remember again (the old
/// token stops working), trusted until `until`.
pub fn rotate(
    conn: &Connection,
    id: i64,
    token_mac: &[u8; 32],
    until: Time,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE devices SET token_mac = ?2, trusted_until = ?3 WHERE id = ?1",
        params![id, token_mac.as_slice(), secs(until)],
    )?;
    Ok(())
}

pub fn revoke(conn: &Connection, id: i64, at: Time, reason: &str) -> Result<bool, StoreError> {
    Ok(exec(
        conn,
        "UPDATE devices SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, secs(at), reason],
    )? == 1)
}

pub fn revoke_all(
    conn: &Connection,
    user_id: i64,
    at: Time,
    reason: &str,
) -> Result<usize, StoreError> {
    Ok(exec(
        conn,
        "UPDATE devices SET revoked_at = ?2, revoked_reason = ?3 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user_id, secs(at), reason],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{APPLICATION_ID, Store, steps};

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
        let mut store = Store::from_connection(conn);
        store.migrate().unwrap();
        let conn = store.conn().unwrap();
        assert_eq!(addresses(conn, 1).unwrap(), ["198.51.100.7"]);
        assert_eq!(
            addresses_before(conn, 1, crate::store::time(500)).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            addresses_before(conn, 1, crate::store::time(501)).unwrap(),
            ["198.51.100.7"]
        );
        let national: String = conn
            .query_row("SELECT phone_national FROM users WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(national, "7400900123");
        // Completing from another address adds it; a new period forgets both.
        completed_from(conn, 1, "192.0.2.4", crate::store::time(600)).unwrap();
        completed_from(conn, 1, "198.51.100.7", crate::store::time(550)).unwrap();
        assert_eq!(addresses(conn, 1).unwrap(), ["192.0.2.4", "198.51.100.7"]);
        forget_addresses(conn, 1).unwrap();
        assert!(addresses(conn, 1).unwrap().is_empty());
    }
}
