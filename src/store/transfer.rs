//! Moving a whole database between engines (`factordesk migrate`): every
//! table in dependency order with a fixed column list (a test holds it to
//! both schemas), read through one [`Db`] and loaded in bulk into another,
//! ids, sealed secrets and the audit chain as they are; the upkeep a load
//! puts off (triggers, indexes, foreign keys, sequences) and the checks of
//! the result (row counts, the counters, the chain's pages).

use super::StoreError;
use super::engine::{Db, Engine, Loader, Value};

/// One table as it is copied: its columns (generated ones left out: each
/// engine computes its own) and the order its rows are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    /// `ORDER BY` of the read: the primary key.
    pub key: &'static str,
    /// Whether ids come from a sequence (identity / `AUTOINCREMENT`) whose
    /// high-water mark is carried over, so no id is ever given twice.
    pub sequence: bool,
}

const fn table(
    name: &'static str,
    key: &'static str,
    sequence: bool,
    columns: &'static [&'static str],
) -> Table {
    Table {
        name,
        columns,
        key,
        sequence,
    }
}

/// Every table of both schemas, each after the tables it refers to.
pub const TABLES: [Table; 17] = [
    table("meta", "key", false, &["key", "value"]),
    table("policy", "key", false, &["key", "value", "changed_at"]),
    table(
        "users",
        "id",
        true,
        &[
            "id",
            "email",
            "name",
            "role",
            "status",
            "password_hash",
            "phone",
            "phone_verified",
            "every_login",
            "failures",
            "failures_after",
            "locked_until",
            "created_at",
            "grace_from",
            "last_login_at",
            "active_factors",
            "factor_kinds",
            "codes_total",
            "codes_left",
            "streak",
            "email_skeleton",
            "password_change",
        ],
    ),
    table(
        "factors",
        "id",
        true,
        &[
            "id",
            "user_id",
            "kind",
            "status",
            "label",
            "destination",
            "secret",
            "drift_steps",
            "last_step",
            "last_used_at",
            "last_used_ip",
            "created_at",
            "confirmed_at",
            "resync_step",
            "resynced_at",
            "algorithm",
            "digits",
            "period",
            "counter",
            "serial",
        ],
    ),
    table(
        "backup_codes",
        "id",
        true,
        &[
            "id",
            "user_id",
            "position",
            "code_mac",
            "created_at",
            "used_at",
            "used_ip",
        ],
    ),
    table(
        "devices",
        "id",
        true,
        &[
            "id",
            "user_id",
            "token_mac",
            "label",
            "last_ip",
            "first_seen_at",
            "last_seen_at",
            "trusted_until",
            "revoked_at",
            "revoked_reason",
        ],
    ),
    table(
        "device_addresses",
        "device_id, ip",
        false,
        &["device_id", "ip", "first_at", "last_at"],
    ),
    table(
        "challenges",
        "id",
        true,
        &[
            "id",
            "user_id",
            "factor_id",
            "purpose",
            "device_id",
            "ip",
            "code_mac",
            "code_sealed",
            "expires_at",
            "attempts",
            "max_attempts",
            "resends",
            "last_sent_at",
            "state",
            "created_at",
            "closed_at",
        ],
    ),
    table(
        "deliveries",
        "id",
        true,
        &[
            "id",
            "user_id",
            "challenge_id",
            "factor_id",
            "channel",
            "destination",
            "body",
            "code_mac",
            "status",
            "reason",
            "created_at",
            "updated_at",
            "retry_at",
            "to_mac",
            "to_national_mac",
        ],
    ),
    table(
        "attempts",
        "id",
        true,
        &[
            "id",
            "user_id",
            "challenge_id",
            "factor_id",
            "kind",
            "outcome",
            "ip",
            "at",
            "matched_offset",
            "first_used_at",
            "first_used_ip",
            "first_used_by_resync",
        ],
    ),
    table(
        "audit",
        "id",
        true,
        &[
            "id",
            "at",
            "actor",
            "user_id",
            "kind",
            "detail",
            "ip",
            "os_user",
            "written_at",
            "clock_set",
            "seq",
            "mac",
            "facts",
        ],
    ),
    table(
        "audit_head",
        "one",
        false,
        &[
            "one",
            "chained",
            "events",
            "last_id",
            "last_mac",
            "started_at",
            "adopted",
            "adopted_last_id",
            "mac",
        ],
    ),
    table("counters", "name", false, &["name", "value"]),
    table("throttle", "id", true, &["id", "kind", "subject", "at"]),
    table(
        "bans",
        "kind, subject",
        false,
        &["kind", "subject", "until", "count"],
    ),
    table(
        "personas",
        "user_id",
        false,
        &["user_id", "phone_skew", "ip"],
    ),
    table(
        "temp_codes",
        "user_id",
        false,
        &[
            "user_id",
            "code_mac",
            "created_at",
            "expires_at",
            "created_by",
            "reason",
            "used_at",
            "used_ip",
        ],
    ),
];

/// The tables a new schema fills itself (its counters at zero, the chain's
/// head unchained): emptied before a load, which brings the source's.
const SEEDED: [&str; 2] = ["counters", "audit_head"];

/// How many rows `table` holds.
pub fn count(db: &Db, table: &Table) -> Result<u64, StoreError> {
    let n: i64 = db
        .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?
        .get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Hand each row of `table` to `f`, in primary-key order, its values in
/// [`Table::columns`]' order.
pub fn each_row(
    db: &Db,
    table: &Table,
    mut f: impl FnMut(&[Value]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    db.each(
        &format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.columns.join(", "),
            table.name,
            table.key
        ),
        &[],
        |row| {
            f(row.values())?;
            Ok(true)
        },
    )
}

/// Load rows into `table` (see [`Db::load`]).
pub fn load(
    db: &Db,
    table: &Table,
    fill: impl FnOnce(&mut Loader<'_>) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    db.load(table.name, table.columns, fill)
}

/// Whether a database holds nothing a load would meet: no row in any table
/// but the ones a new schema fills itself, and those as it filled them.
pub fn is_empty(db: &Db) -> Result<bool, StoreError> {
    for t in TABLES.iter().filter(|t| !SEEDED.contains(&t.name)) {
        if db
            .query_opt(&format!("SELECT 1 FROM {} LIMIT 1", t.name), &[])?
            .is_some()
        {
            return Ok(false);
        }
    }
    let fresh: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_head WHERE chained = 0 AND events = 0 AND last_id IS NULL",
            &[],
        )?
        .get(0)?;
    let counted: i64 = db
        .query_one("SELECT count(*) FROM counters WHERE value <> 0", &[])?
        .get(0)?;
    Ok(fresh == 1 && counted == 0)
}

/// The highest id `table` ever gave out (its sequence, or its largest id).
pub fn high_water(db: &Db, table: &Table) -> Result<i64, StoreError> {
    if !table.sequence {
        return Ok(0);
    }
    let sql = match db.engine() {
        Engine::Sqlite => format!(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0),
                        coalesce((SELECT max(id) FROM {}), 0))",
            table.name
        ),
        Engine::Postgres => format!(
            "SELECT GREATEST(
                 coalesce(pg_sequence_last_value(pg_get_serial_sequence(?1, 'id')::regclass), 0),
                 coalesce((SELECT max(id) FROM {}), 0))",
            table.name
        ),
    };
    db.query_one(&sql, &[table.name.into()])?.get(0)
}

/// Make the next id `table` gives out follow `high`.
fn set_high_water(db: &Db, table: &Table, high: i64) -> Result<(), StoreError> {
    if !table.sequence || high < 1 {
        return Ok(());
    }
    match db.engine() {
        Engine::Postgres => {
            db.query_one(
                "SELECT setval(pg_get_serial_sequence(?1, 'id'), ?2)",
                &[table.name.into(), high.into()],
            )?;
        }
        Engine::Sqlite => {
            // Only an AUTOINCREMENT table reads it; its rows put it at
            // their largest id already.
            db.execute(
                "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1 AND seq < ?2",
                &[table.name.into(), high.into()],
            )?;
        }
    }
    Ok(())
}

/// What a load took away from a new schema, to put back at its end.
#[derive(Debug, Default)]
pub struct Deferred {
    /// Statements that put it back, in order.
    restore: Vec<String>,
}

/// Make a new, empty schema ready for a load, inside the load's
/// transaction: its seeded rows gone, and what would slow a bulk load
/// down put off (on `SQLite` the triggers and indexes, on `PostgreSQL`
/// the triggers, the indexes no constraint holds, and the foreign keys).
pub fn begin_load(db: &Db) -> Result<Deferred, StoreError> {
    let mut restore = Vec::new();
    match db.engine() {
        Engine::Sqlite => {
            let objects = db.query(
                "SELECT type, name, sql FROM sqlite_schema
                 WHERE sql IS NOT NULL AND type IN ('index', 'trigger')
                   AND tbl_name NOT LIKE 'users\\_fts%' ESCAPE '\\'
                   AND tbl_name NOT LIKE 'users\\_words%' ESCAPE '\\'
                 ORDER BY type, name",
                &[],
            )?;
            for row in objects {
                let kind = if row.text(0)? == "index" {
                    "INDEX"
                } else {
                    "TRIGGER"
                };
                db.batch(&format!(
                    "DROP {kind} \"{}\"",
                    row.text(1)?.replace('"', "\"\"")
                ))?;
                restore.push(row.text(2)?.to_owned());
            }
            restore.push(super::search_keys::REBUILD.to_owned());
        }
        Engine::Postgres => {
            db.batch("SET LOCAL maintenance_work_mem = '256MB'")?;
            let indexes = db.query(
                "SELECT quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
                 FROM pg_catalog.pg_index i
                 JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema()
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                                   WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
                 ORDER BY 1",
                &[],
            )?;
            let keys = db.query(
                "SELECT quote_ident(t.relname), quote_ident(k.conname), pg_get_constraintdef(k.oid)
                 FROM pg_catalog.pg_constraint k
                 JOIN pg_catalog.pg_class t ON t.oid = k.conrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
                 WHERE n.nspname = current_schema() AND k.contype = 'f'
                 ORDER BY 1, 2",
                &[],
            )?;
            for t in &TABLES {
                db.batch(&format!("ALTER TABLE {} DISABLE TRIGGER USER", t.name))?;
                restore.push(format!("ALTER TABLE {} ENABLE TRIGGER USER", t.name));
            }
            for row in &keys {
                let (table, name, def) = (row.text(0)?, row.text(1)?, row.text(2)?);
                db.batch(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))?;
                // Put back after the indexes: each is checked once, whole.
                restore.push(format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}"));
            }
            let mut built = Vec::new();
            for row in &indexes {
                db.batch(&format!("DROP INDEX {}", row.text(0)?))?;
                built.push(row.text(1)?.to_owned());
            }
            // Indexes first, then the keys, then the triggers.
            built.append(&mut restore);
            restore = built;
        }
    }
    for name in SEEDED {
        db.batch(&format!("DELETE FROM {name}"))?;
    }
    Ok(Deferred { restore })
}

/// Put back what [`begin_load`] put off, and carry the sequences'
/// high-water marks over (`high`: per table, as [`high_water`] read them
/// on the source).
pub fn end_load(db: &Db, deferred: Deferred, high: &[(Table, i64)]) -> Result<(), StoreError> {
    for sql in deferred.restore {
        db.batch(&sql)?;
    }
    for (table, n) in high {
        set_high_water(db, table, *n)?;
    }
    Ok(())
}

/// The counters as the rows give them, and as the table holds them,
/// where the two differ: `(name, stored, counted)`.
pub fn counter_drift(db: &Db) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let rows = db.query(
        "WITH counted (name, value) AS (
             SELECT 'users', count(*) FROM users
             UNION ALL SELECT 'users_disabled', count(*) FROM users WHERE status = 'disabled'
             UNION ALL SELECT 'users_without_factor', count(*) FROM users WHERE active_factors = 0
             UNION ALL SELECT 'active_without_factor', count(*) FROM users
                 WHERE active_factors = 0 AND status = 'active'
             UNION ALL SELECT 'active_admins_without_factor', count(*) FROM users
                 WHERE active_factors = 0 AND status = 'active' AND role = 'admin'
             UNION ALL SELECT 'factors_pending', count(*) FROM factors WHERE status = 'pending'
             UNION ALL SELECT 'codes_left_' || codes_left, count(*) FROM users
                 WHERE codes_total > 0 GROUP BY codes_left),
         names (name) AS (SELECT name FROM counted UNION SELECT name FROM counters)
         SELECT n.name, coalesce(s.value, 0), coalesce(c.value, 0)
         FROM names n
         LEFT JOIN counters s ON s.name = n.name
         LEFT JOIN counted c ON c.name = n.name
         WHERE coalesce(s.value, 0) <> coalesce(c.value, 0)
         ORDER BY n.name",
        &[],
    )?;
    rows.iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect()
}

/// Give the query planner statistics of every table, after a load.
pub fn analyze(db: &Db) -> Result<(), StoreError> {
    match db.engine() {
        Engine::Sqlite => db.batch("PRAGMA analysis_limit = 1000; ANALYZE;"),
        Engine::Postgres => db.batch("ANALYZE"),
    }
}

/// For a new `SQLite` file nobody else has open: a rollback journal and a
/// large page cache while it is filled (as the generator's batch does).
pub fn prepare_sqlite_fill(db: &Db) -> Result<(), StoreError> {
    if db.engine() == Engine::Sqlite {
        db.query("PRAGMA journal_mode = DELETE", &[])?;
        db.batch("PRAGMA cache_size = -262144")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::each_engine;

    /// Every table and column of the schema, on each engine, as the schema
    /// gives them (generated columns and the engines' own tables left out).
    fn schema_columns(db: &Db) -> Vec<(String, String)> {
        let sql = match db.engine() {
            Engine::Sqlite => {
                "SELECT t.name, c.name FROM sqlite_schema t, pragma_table_xinfo(t.name) c
                 WHERE t.type = 'table' AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                   AND t.name NOT LIKE 'users\\_fts%' ESCAPE '\\'
                   AND t.name NOT LIKE 'users\\_words%' ESCAPE '\\'
                   AND t.name NOT LIKE 'users\\_search\\_%' ESCAPE '\\'
                   AND c.hidden = 0
                 ORDER BY 1, 2"
            }
            Engine::Postgres => {
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND is_generated = 'NEVER'
                   AND table_name <> 'factordesk_migrations'
                 ORDER BY 1, 2"
            }
        };
        db.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect()
    }

    #[test]
    fn the_tables_name_every_column_of_both_schemas_and_no_other() {
        let mut listed: Vec<(String, String)> = TABLES
            .iter()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .map(|c| (t.name.to_owned(), (*c).to_owned()))
            })
            .collect();
        listed.sort();
        each_engine("transfer_columns", |store| {
            let found = schema_columns(store.db());
            let missing: Vec<_> = found.iter().filter(|c| !listed.contains(c)).collect();
            let extra: Vec<_> = listed.iter().filter(|c| !found.contains(c)).collect();
            assert!(missing.is_empty(), "not in TABLES: {missing:?}");
            assert!(extra.is_empty(), "not in the schema: {extra:?}");
        });
    }

    #[test]
    fn each_table_comes_after_the_tables_it_refers_to() {
        each_engine("transfer_order", |store| {
            let db = store.db();
            let refs: Vec<(String, String)> = match db.engine() {
                Engine::Sqlite => db.query(
                    "SELECT t.name, f.\"table\" FROM sqlite_schema t,
                         pragma_foreign_key_list(t.name) f WHERE t.type = 'table'",
                    &[],
                ),
                Engine::Postgres => db.query(
                    "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
                     FROM pg_catalog.pg_constraint c WHERE c.contype = 'f'",
                    &[],
                ),
            }
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
            assert!(!refs.is_empty());
            let place = |name: &str| TABLES.iter().position(|t| t.name == name).unwrap();
            for (from, to) in refs {
                assert!(place(&to) < place(&from), "{from} refers to {to}");
            }
        });
    }

    #[test]
    fn a_new_schema_counts_as_empty_and_a_row_makes_it_not() {
        each_engine("transfer_empty", |store| {
            assert!(is_empty(store.db()).unwrap());
            crate::store::meta::set(store.db(), "origin", "init").unwrap();
            assert!(!is_empty(store.db()).unwrap());
        });
    }
}
