//! Moving a team between engines (issue 12): a database file copied whole
//! into an empty `PostgreSQL` database, or a `PostgreSQL` database into a new
//! file. Ids, sealed secrets (as their bytes: nothing is opened), meta and
//! the audit chain are kept; the target is checked before anything is
//! committed (rows per table, the counters, the chain under the key), so a
//! failure leaves it as it was.

use std::path::Path;

use serde::Serialize;

use super::opening::key_fits;
use super::{Desk, DeskError, Result};
use crate::crypto::Key;
use crate::domain::chain::Verifier;
use crate::keyfile;
use crate::store::pg::{self, Found, PgUrl};
use crate::store::transfer::{self, TABLES, Table};
use crate::store::{Db, Store, StoreError, TxMode, remove_database_files};

/// What a copy is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Rows: `done` of `total`, over every table; `table` is the one now.
    Copying,
    /// Building the indexes and keys put off during the copy.
    Indexing,
    /// Checking the audit chain on the target: `done` of `total` events.
    Verifying,
    /// Gathering statistics for the query planner.
    Analyzing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub stage: Stage,
    pub table: &'static str,
    pub done: u64,
    pub total: u64,
}

/// The rows of one table, as counted on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRows {
    pub table: &'static str,
    pub rows: u64,
}

/// A finished copy: checked on the target before it was committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// Every table, in the order copied, with as many rows on the target
    /// as on the source.
    pub tables: Vec<TableRows>,
    pub rows: u64,
    /// The audit events whose chain checked out on the target, to its head.
    pub chain_verified: i64,
}

/// How many rows go by between two progress reports.
const REPORT_EVERY: u64 = 4096;

/// How many events of the chain are read at a time.
const CHAIN_PAGE: u32 = 10_000;

impl Desk {
    /// Copy this desk's database into the empty `PostgreSQL` database at
    /// `url` (made factordesk's, with this build's schema, in the same
    /// transaction). A database that is not empty, not factordesk's, or
    /// newer is refused with nothing written.
    pub fn copy_to_postgres(
        &self,
        url: &PgUrl,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Moved> {
        let inspected = pg::inspect(url)?;
        let target = inspected.db;
        let key = self.key();
        let moved = self.db().transaction(TxMode::Read, |source| {
            target.transaction(TxMode::Exclusive, |target| -> Result<Moved> {
                pg::migrate(target, url)?;
                if !transfer::is_empty(target)? {
                    return Err(not_empty(url));
                }
                copy_all(source, target, key, progress)
            })
        })?;
        progress(Progress {
            stage: Stage::Analyzing,
            table: "",
            done: 0,
            total: 0,
        });
        transfer::analyze(&target)?;
        Ok(moved)
    }
}

/// Copy the factordesk database at `url` into a new database file at
/// `path` (never over a file), and put the key `key` names in a key file
/// beside it, once it is known to be the database's: the new file then
/// opens like any other. On failure neither file is left.
pub fn copy_from_postgres(
    url: &PgUrl,
    path: &Path,
    key: &keyfile::Source,
    progress: &mut dyn FnMut(Progress),
) -> Result<Moved> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(StoreError::Exists(path.to_owned()).into());
    }
    let key_path = keyfile::default_path(path);
    // Named as the file beside the new database: it is there already.
    let write_key = key.path() != Some(key_path.as_path());
    if write_key && std::fs::symlink_metadata(&key_path).is_ok() {
        return Err(keyfile::KeyFileError::Exists(key_path).into());
    }
    let (the_key, line) = key.load_line()?;
    let inspected = pg::inspect(url)?;
    if matches!(inspected.found, Found::Empty | Found::Version(0)) {
        return Err(DeskError::Refused(format!(
            "database {:?} on {} holds no factordesk database: there is nothing to copy",
            url.database(),
            url.server()
        )));
    }
    if !key_fits(inspected.key_check.as_deref(), &the_key) {
        return Err(DeskError::WrongKey);
    }
    let source = inspected.db;
    pg::migrate(&source, url)?;
    let (temp, store) = Store::create_beside(path)?;
    let copied = (|| -> Result<Moved> {
        transfer::prepare_sqlite_fill(store.db())?;
        let moved = source.transaction(TxMode::Read, |source| {
            store
                .db()
                .transaction(TxMode::Write, |target| -> Result<Moved> {
                    copy_all(source, target, &the_key, progress)
                })
        })?;
        progress(Progress {
            stage: Stage::Analyzing,
            table: "",
            done: 0,
            total: 0,
        });
        transfer::analyze(store.db())?;
        Ok(moved)
    })();
    let moved = match copied {
        Ok(moved) => moved,
        Err(e) => {
            drop(store);
            remove_database_files(&temp);
            return Err(e);
        }
    };
    if write_key && let Err(e) = keyfile::write_new(&key_path, &line) {
        drop(store);
        remove_database_files(&temp);
        return Err(e.into());
    }
    if let Err(e) = store.finish_beside(&temp, path) {
        if write_key {
            let _ = std::fs::remove_file(&key_path);
        }
        return Err(e.into());
    }
    Ok(moved)
}

fn not_empty(url: &PgUrl) -> DeskError {
    DeskError::Refused(format!(
        "database {:?} on {} is not empty; it was left untouched: copy into a new, empty database",
        url.database(),
        url.server()
    ))
}

/// Every table from `source` into `target` (an empty schema, inside the
/// target's transaction), then the checks: rows per table, the counters,
/// and the audit chain under `key`.
fn copy_all(
    source: &Db,
    target: &Db,
    key: &Key,
    progress: &mut dyn FnMut(Progress),
) -> Result<Moved> {
    let mut counts: Vec<(Table, u64)> = Vec::with_capacity(TABLES.len());
    let mut high = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        counts.push((table, transfer::count(source, &table)?));
        high.push((table, transfer::high_water(source, &table)?));
    }
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let deferred = transfer::begin_load(target)?;
    let mut done = 0;
    for (table, _) in &counts {
        progress(Progress {
            stage: Stage::Copying,
            table: table.name,
            done,
            total,
        });
        transfer::load(target, table, |loader| {
            transfer::each_row(source, table, |values| {
                loader.write(values)?;
                done += 1;
                if done % REPORT_EVERY == 0 {
                    progress(Progress {
                        stage: Stage::Copying,
                        table: table.name,
                        done,
                        total,
                    });
                }
                Ok(())
            })
        })?;
    }
    progress(Progress {
        stage: Stage::Indexing,
        table: "",
        done,
        total,
    });
    transfer::end_load(target, deferred, &high)?;
    let mut tables = Vec::with_capacity(counts.len());
    for (table, rows) in counts {
        let copied = transfer::count(target, &table)?;
        if copied != rows {
            return Err(DeskError::Refused(format!(
                "table {} has {rows} rows but {copied} were copied; nothing was written",
                table.name
            )));
        }
        tables.push(TableRows {
            table: table.name,
            rows,
        });
    }
    if let Some((name, stored, counted)) = transfer::counter_drift(target)?.into_iter().next() {
        return Err(DeskError::Refused(format!(
            "counter {name} holds {stored} but the rows give {counted}; nothing was written"
        )));
    }
    let chain_verified = verify_chain(target, key, progress)?;
    Ok(Moved {
        tables,
        rows: total,
        chain_verified,
    })
}

/// The audit chain on `db`, checked whole under `key` (as `audit verify`
/// does): the events that checked out, or the break as an error.
fn verify_chain(db: &Db, key: &Key, progress: &mut dyn FnMut(Progress)) -> Result<i64> {
    let head = crate::store::audit::head(db)?;
    let total = u64::try_from(head.events).unwrap_or(0);
    let mut verifier = Verifier::default();
    let mut after = i64::MIN;
    loop {
        let page = crate::store::audit::chain_page(db, after, CHAIN_PAGE)?;
        let end = page.len() < CHAIN_PAGE as usize;
        for event in page {
            after = event.id;
            verifier.feed(key, event);
        }
        progress(Progress {
            stage: Stage::Verifying,
            table: "audit",
            done: u64::try_from(verifier.checked()).unwrap_or(0),
            total,
        });
        if end || verifier.done() {
            break;
        }
    }
    let verdict = verifier.finish(key, &head);
    match verdict.broken {
        None => Ok(verdict.checked),
        Some(b) => Err(DeskError::Refused(format!(
            "the audit chain does not check out on the copy ({:?} after event {}); nothing was written",
            b.kind,
            b.after
                .map_or_else(|| "none".to_owned(), |id| id.to_string())
        ))),
    }
}
