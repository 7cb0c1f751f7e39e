//! Batches: many use cases in one transaction (an import, the generator), and
//! the upkeep a batch puts off to its end (the search index, listing indexes).

use super::engine::{Engine, TxMode, Value};
use super::{Store, StoreError};

/// What a batch puts off until its end, where it is done once, in bulk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upkeep {
    /// The search index: kept row by row, it leaves thousands of tiny
    /// segments to merge. For a batch of any use cases.
    Search,
    /// The search index and the listing indexes (`LISTING_INDEXES`): for a batch whose use
    /// cases never read those (the generator: a test holds it to that).
    /// Building an index once from sorted rows costs a fraction of keeping
    /// it through a million inserts at random places.
    SearchAndListings,
}

/// The indexes that only the console's lists, the Overview, searches and
/// the audit's filters read: no use case that writes looks through them.
pub const LISTING_INDEXES: [&str; 25] = [
    "users_locked_until",
    "users_status",
    "users_created_at",
    "users_without_factor",
    "users_without_factor_email",
    "users_without_factor_grace",
    "users_codes_left",
    "users_sms_only",
    "users_single_no_codes",
    "users_phone",
    "users_phone_national",
    "users_name_email",
    "users_last_login_email",
    "users_email_search",
    "audit_at",
    "audit_kind",
    "audit_user_kind",
    "audit_actor",
    "deliveries_at",
    "deliveries_failed",
    "deliveries_to",
    "deliveries_to_national",
    "attempts_challenge",
    "challenges_device",
    "factors_pending",
];

/// The page cache of a batch, in KiB (negative: `SQLite` reads it as KiB),
/// and the default it returns to.
const BATCH_CACHE_KIB: i64 = -262_144;
const DEFAULT_CACHE_KIB: i64 = -2_000;

/// The schema objects a batch dropped, as their own `CREATE` text, to put
/// back at its end.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    triggers: Vec<String>,
    indexes: Vec<String>,
    /// The batch left the WAL for a rollback journal, to return to it.
    wal: bool,
}

/// The `PostgreSQL` indexes that answer searches: a batch of any use cases
/// builds them once at its end, as `SQLite`'s search index is rebuilt.
const PG_SEARCH_INDEXES: [&str; 3] = ["users_email_trgm", "users_name_trgm", "users_word_starts"];

impl Store {
    /// Whether a batch's transaction is open.
    pub fn in_batch(&self) -> bool {
        self.in_batch
    }

    /// Start a batch: every [`Store::write`] until [`Store::end_batch`]
    /// joins one transaction, with a larger page cache, and `upkeep` put
    /// off to its end. For bulk work, where a transaction per use case
    /// would cost more than the use case itself. On `PostgreSQL` the batch
    /// is one serializable transaction, not run again if it loses a race.
    pub fn begin_batch(&mut self, upkeep: Upkeep) -> Result<(), StoreError> {
        if self.in_batch {
            return Ok(());
        }
        if let Ok(conn) = self.conn() {
            conn.pragma_update(None, "cache_size", BATCH_CACHE_KIB)?;
            if upkeep == Upkeep::SearchAndListings {
                self.deferred.wal = self.leave_wal();
            }
        }
        self.db.open_transaction(TxMode::Write)?;
        self.in_batch = true;
        if let Err(e) = self.defer(upkeep) {
            let _ = self.end_batch(false);
            return Err(e);
        }
        Ok(())
    }

    /// For filling a database: a rollback journal instead of the WAL, when
    /// no other connection has the file open. In the WAL every page of a
    /// fill is written twice (to the log, then back into the file); a
    /// rollback journal keeps only the pages that existed before, and a
    /// fill's pages are mostly new. Whether it left the WAL.
    fn leave_wal(&self) -> bool {
        let Ok(conn) = self.conn() else {
            return false;
        };
        let mode = |m: &str| {
            conn.pragma_update_and_check(None, "journal_mode", m, |r| r.get::<_, String>(0))
        };
        matches!(conn.pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0)), Ok(m) if m == "wal")
            && matches!(mode("DELETE"), Ok(m) if m == "delete")
    }

    /// Drop what `upkeep` puts off, in the batch's transaction (a rollback
    /// restores it), keeping each one's text for [`Store::end_batch`].
    fn defer(&mut self, upkeep: Upkeep) -> Result<(), StoreError> {
        let listings = if upkeep == Upkeep::SearchAndListings {
            &LISTING_INDEXES[..]
        } else {
            &[]
        };
        match self.db.engine() {
            Engine::Sqlite => {
                // The triggers that keep the search indexes and keys.
                self.deferred.triggers = self.schema_objects(
                    "SELECT name, sql FROM sqlite_schema
                     WHERE type = 'trigger' AND tbl_name = 'users'
                       AND (name LIKE 'users\\_fts\\_%' ESCAPE '\\'
                            OR name LIKE 'users\\_search\\_%' ESCAPE '\\')",
                    &[],
                    "TRIGGER",
                )?;
                self.deferred.indexes = self.schema_objects(
                    "SELECT name, sql FROM sqlite_schema
                     WHERE type = 'index' AND name IN (SELECT value FROM json_each(?1))",
                    &[names_json(listings).into()],
                    "INDEX",
                )?;
            }
            Engine::Postgres => {
                let mut names = PG_SEARCH_INDEXES.to_vec();
                names.extend_from_slice(listings);
                self.deferred.indexes = self.schema_objects(
                    "SELECT indexname, indexdef FROM pg_indexes
                     WHERE schemaname = current_schema()
                       AND indexname IN (SELECT json_array_elements_text(?1::text::json))",
                    &[names_json(&names).into()],
                    "INDEX",
                )?;
            }
        }
        Ok(())
    }

    /// Drop the objects `query` names (name, sql), returning their text.
    fn schema_objects(
        &mut self,
        query: &str,
        params: &[Value],
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        let found = self.db.query(query, params)?;
        let mut kept = Vec::with_capacity(found.len());
        for row in found {
            let name: String = row.get(0)?;
            self.db
                .batch(&format!("DROP {kind} \"{}\"", name.replace('"', "\"\"")))?;
            kept.push(row.get(1)?);
        }
        Ok(kept)
    }

    /// Put back what the batch dropped, each from its own text, and
    /// rebuild `SQLite`'s search indexes and keys from `users`.
    fn restore(&mut self) -> Result<(), StoreError> {
        for sql in std::mem::take(&mut self.deferred.indexes) {
            self.db.batch(&sql)?;
        }
        let triggers = std::mem::take(&mut self.deferred.triggers);
        if triggers.is_empty() {
            return Ok(());
        }
        for sql in triggers {
            self.db.batch(&sql)?;
        }
        self.db.batch(super::search_keys::REBUILD)?;
        Ok(())
    }

    /// End a batch: commit all of it, or roll all of it back.
    pub fn end_batch(&mut self, commit: bool) -> Result<(), StoreError> {
        if !self.in_batch {
            return Ok(());
        }
        self.in_batch = false;
        // A rollback undoes the drops along with the rest.
        let restored = if commit { self.restore() } else { Ok(()) };
        self.deferred.triggers.clear();
        self.deferred.indexes.clear();
        let end = match restored {
            Ok(()) => self.db.close_transaction(commit),
            Err(e) => {
                let _ = self.db.close_transaction(false);
                Err(e)
            }
        };
        let wal = std::mem::take(&mut self.deferred.wal);
        let pragmas = match self.db.as_sqlite() {
            Some(conn) => conn
                .pragma_update(None, "cache_size", DEFAULT_CACHE_KIB)
                .and_then(|()| {
                    if wal {
                        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
                    } else {
                        Ok(())
                    }
                })
                .map_err(StoreError::from),
            None => Ok(()),
        };
        end?;
        pragmas?;
        Ok(())
    }
}

/// Names as a JSON array, bound as one parameter on either engine.
fn names_json(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[{}]", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};

    fn user_count(store: &Store) -> i64 {
        let row = store.db().query_one("SELECT count(*) FROM users", &[]);
        row.unwrap().get(0).unwrap()
    }

    /// The schema's objects with their text: `SQLite`'s whole schema, or
    /// `PostgreSQL`'s indexes and triggers.
    fn objects(store: &Store) -> Vec<(String, String)> {
        let sql = match store.db().engine() {
            Engine::Sqlite => {
                "SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name"
            }
            Engine::Postgres => {
                "SELECT indexname::text, indexdef FROM pg_indexes
                 WHERE schemaname = current_schema()
                 UNION ALL
                 SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
                 ORDER BY 1"
            }
        };
        store
            .db()
            .query(sql, &[])
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect()
    }

    #[test]
    fn every_listing_index_is_in_the_schema() {
        each_engine("listing_indexes", |store| {
            let names: Vec<String> = objects(store).into_iter().map(|(n, _)| n).collect();
            let search: &[&str] = if store.db().engine() == Engine::Postgres {
                &PG_SEARCH_INDEXES
            } else {
                &[]
            };
            for index in LISTING_INDEXES.iter().chain(search) {
                assert!(
                    names.iter().any(|n| n == index),
                    "{index} is not in the schema"
                );
            }
        });
    }

    fn journal(store: &Store) -> String {
        store
            .conn()
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap()
    }

    /// A fill leaves the WAL for its transaction only when it has the file
    /// to itself, and returns to it, committed or not.
    #[test]
    fn a_fill_writes_through_a_rollback_journal_only_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fill.db");
        for commit in [true, false] {
            let _ = std::fs::remove_file(&path);
            let mut store = Store::create(&path).unwrap();
            assert_eq!(journal(&store), "wal");
            store.begin_batch(Upkeep::SearchAndListings).unwrap();
            assert_eq!(journal(&store), "delete");
            store.end_batch(commit).unwrap();
            assert_eq!(journal(&store), "wal", "commit {commit}");
            store.begin_batch(Upkeep::Search).unwrap();
            assert_eq!(journal(&store), "wal", "an import keeps the WAL");
            store.end_batch(commit).unwrap();
            drop(store);
        }
        let mut store = Store::open(&path).unwrap();
        let reader = Store::open(&path).unwrap();
        reader
            .conn()
            .unwrap()
            .query_row("SELECT count(*) FROM users", [], |_| Ok(()))
            .unwrap();
        store.begin_batch(Upkeep::SearchAndListings).unwrap();
        assert_eq!(journal(&store), "wal", "another connection has it open");
        store.end_batch(true).unwrap();
        assert_eq!(journal(&store), "wal");
    }

    #[test]
    fn a_batch_puts_back_every_object_it_dropped_committed_or_not() {
        // SQLite: six search triggers (FTS5's and the keys'); PostgreSQL:
        // three search indexes.
        each_engine("batch_objects", |store| {
            for upkeep in [Upkeep::Search, Upkeep::SearchAndListings] {
                for commit in [true, false] {
                    let before = objects(store);
                    let users = user_count(store);
                    store.begin_batch(upkeep).unwrap();
                    let during = objects(store);
                    let dropped = before.len() - during.len();
                    let listings = if upkeep == Upkeep::Search {
                        0
                    } else {
                        LISTING_INDEXES.len()
                    };
                    let search = match store.db().engine() {
                        Engine::Sqlite => 6,
                        Engine::Postgres => 3,
                    };
                    assert_eq!(dropped, search + listings, "{upkeep:?}");
                    for n in 0..2 {
                        let email = format!("{upkeep:?}{commit}{n}@x.org").to_lowercase();
                        store
                            .write(|db| -> Result<i64, StoreError> { Ok(user(db, &email)) })
                            .unwrap();
                    }
                    store.end_batch(commit).unwrap();
                    assert_eq!(objects(store), before, "{upkeep:?}, commit {commit}");
                    let kept = if commit { 2 } else { 0 };
                    assert_eq!(
                        user_count(store),
                        users + kept,
                        "{upkeep:?}, commit {commit}"
                    );
                }
            }
        });
    }
}
