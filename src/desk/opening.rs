//! Opening a desk: a new database and its key, an existing one on either
//! engine (its key checked before a byte is written), in memory, a sandbox.

use std::path::{Path, PathBuf};

use super::{Desk, DeskError, Result, trail};
use crate::clock::Clock;
use crate::crypto::Key;
use crate::keyfile;
use crate::location::Location;
use crate::rng::Rng;
use crate::store::engine::{EngineError, TxMode};
use crate::store::pg::{self, Found, PgUrl};
use crate::store::{self, Store, StoreError};

impl Desk {
    /// Create a new database at `location` (see [`Desk::create`] for a
    /// file, [`Desk::create_postgres`] for a `PostgreSQL` database).
    pub fn create_at(
        location: &Location,
        key: &keyfile::Source,
        clock: Clock,
        rng: Rng,
        origin: &str,
    ) -> Result<Desk> {
        match location {
            Location::File(path) => Desk::create(path, key, clock, rng, origin),
            Location::Postgres(url) => Desk::create_postgres(url, key, clock, rng, origin),
        }
    }

    /// Open the database at `location` (see [`Desk::open`] for a file,
    /// [`Desk::open_postgres`] for a `PostgreSQL` database).
    pub fn open_at(
        location: &Location,
        key: &keyfile::Source,
        clock: Clock,
        rng: Rng,
    ) -> Result<Desk> {
        match location {
            Location::File(path) => Desk::open(path, key, clock, rng),
            Location::Postgres(url) => Desk::open_postgres(url, key, clock, rng),
        }
    }

    /// Create a new database and its key (a 0600 file beside it, unless
    /// `FACTORDESK_KEY` is set). Both are built in temporary files beside
    /// their places and put there whole, the key file first: nothing is left
    /// half made, and a run stopped between the two leaves only the key
    /// file, which the next `init` takes up.
    ///
    /// The key always comes from the OS, even when `rng` is seeded (the demo):
    /// a seed makes the data reproducible, never the key.
    pub fn create(
        db: &Path,
        key: &keyfile::Source,
        clock: Clock,
        rng: Rng,
        origin: &str,
    ) -> Result<Desk> {
        if db.is_dir() {
            return Err(StoreError::Directory(db.to_owned()).into());
        }
        if std::fs::symlink_metadata(db).is_ok() {
            return Err(StoreError::Exists(db.to_owned()).into());
        }
        let mut key_rng = Rng::from_os().map_err(|e| {
            DeskError::Refused(format!("the operating system's random source failed: {e}"))
        })?;
        let mut new_key = key.create(&mut key_rng)?;
        let (temp, mut store) = Store::create_beside(db)?;
        let now = clock.now();
        let filled = store.write(|tx| -> Result<()> {
            store::meta::set(tx, "key_check", &new_key.key.check_value())?;
            store::meta::set(tx, "origin", origin)?;
            store::meta::set(tx, "created_at", &now.to_rfc3339())?;
            trail::start(tx, &new_key.key, clock.real_now())
        });
        if let Err(e) = filled {
            drop(store);
            store::remove_database_files(&temp);
            return Err(e);
        }
        let placed_key = match new_key.place() {
            Ok(placed) => placed,
            Err(e) => {
                drop(store);
                store::remove_database_files(&temp);
                return Err(e.into());
            }
        };
        if let Err(e) = store.finish_beside(&temp, db) {
            if let (true, Some(path)) = (placed_key, key.path()) {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
        let store = Store::open(db)?;
        Ok(
            Desk::assemble(store, new_key.key.clone(), clock, rng)
                .at(Location::File(db.to_owned())),
        )
    }

    /// Open an existing database with its key. Refuses, untouched, a file
    /// that is not factordesk's, is newer, or whose key is missing or wrong:
    /// the key is checked before any upgrade or change of journal mode. A
    /// read-only file (or one in a read-only directory) is opened for
    /// reading, with nothing made beside it; a write then fails with
    /// [`StoreError::ReadOnly`]. The events of a database from before the
    /// audit chain are chained now, with the key, in one transaction.
    pub fn open(db: &Path, key: &keyfile::Source, clock: Clock, rng: Rng) -> Result<Desk> {
        let access = Store::probe(db)?;
        let key = key.load()?;
        if !key_fits(Store::key_check(db)?.as_deref(), &key) {
            return Err(DeskError::WrongKey);
        }
        let mut store = match access {
            store::Access::ReadWrite => Store::open(db)?,
            store::Access::ReadOnly => Store::open_read_only(db)?,
        };
        if access == store::Access::ReadWrite && !store::audit::head(store.db())?.chained {
            store.write(|tx| trail::start(tx, &key, clock.real_now()))?;
        }
        Ok(Desk::assemble(store, key, clock, rng).at(Location::File(db.to_owned())))
    }

    /// An in-memory desk for tests and benchmarks.
    pub fn in_memory(key: Key, clock: Clock, rng: Rng) -> Result<Desk> {
        let mut store = Store::in_memory()?;
        store.write(|tx| -> Result<()> {
            store::meta::set(tx, "key_check", &key.check_value())?;
            trail::start(tx, &key, clock.real_now())
        })?;
        Ok(Desk::assemble(store, key, clock, rng))
    }

    /// For the library's tests: an empty desk with the key of 32 sevens,
    /// in memory, or under `FACTORDESK_TEST_ENGINE=postgres` on a fresh
    /// `PostgreSQL` database (see `store::testing::desk_database`).
    #[cfg(test)]
    pub(crate) fn for_tests(clock: Clock, rng: Rng) -> Desk {
        match store::testing::desk_database("desk") {
            Some(url) => Desk::create_postgres(
                &url,
                &keyfile::Source::Env("07".repeat(32)),
                clock,
                rng,
                super::ORIGIN_INIT,
            )
            .unwrap(),
            None => Desk::in_memory(Key::from_bytes([7; 32]), clock, rng).unwrap(),
        }
    }

    /// Make an empty `PostgreSQL` database factordesk's: the schema, the key
    /// check and the start of the audit chain in one transaction, under the
    /// migration lock (two `init`s at once: one makes it, the other is
    /// refused). The key is made as for a file (`--key-file`, created 0600,
    /// or `FACTORDESK_KEY`); a key file is put in place before the commit
    /// and taken away again if the commit fails. A database that holds
    /// anything is refused untouched.
    pub fn create_postgres(
        url: &PgUrl,
        key: &keyfile::Source,
        clock: Clock,
        rng: Rng,
        origin: &str,
    ) -> Result<Desk> {
        let inspected = pg::inspect(url)?;
        refuse_initialised(url, inspected.found)?;
        let db = inspected.db;
        let mut key_rng = Rng::from_os().map_err(|e| {
            DeskError::Refused(format!("the operating system's random source failed: {e}"))
        })?;
        let mut new_key = key.create(&mut key_rng)?;
        let now = clock.now();
        db.open_transaction(TxMode::Exclusive)?;
        let made = (|| -> Result<bool> {
            // Under the lock: another init may have made it meanwhile.
            refuse_initialised(url, pg::found(&db)?)?;
            pg::migrate(&db, url)?;
            store::meta::set(&db, "key_check", &new_key.key.check_value())?;
            store::meta::set(&db, "origin", origin)?;
            store::meta::set(&db, "created_at", &now.to_rfc3339())?;
            trail::start(&db, &new_key.key, clock.real_now())?;
            Ok(new_key.place()?)
        })();
        let placed = match made {
            Ok(placed) => placed,
            Err(e) => {
                let _ = db.close_transaction(false);
                new_key.discard();
                return Err(e);
            }
        };
        if let Err(e) = db.close_transaction(true) {
            if let (true, Some(path)) = (placed, key.path()) {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
        let location = Location::Postgres(Box::new(url.clone()));
        Ok(Desk::assemble(Store::from_db(db), new_key.key.clone(), clock, rng).at(location))
    }

    /// Open factordesk's `PostgreSQL` database: a foreign or newer one is
    /// refused untouched, and the key is checked against the one the
    /// database was made with before its schema is brought up to date.
    pub fn open_postgres(
        url: &PgUrl,
        key: &keyfile::Source,
        clock: Clock,
        rng: Rng,
    ) -> Result<Desk> {
        let inspected = pg::inspect(url)?;
        if matches!(inspected.found, Found::Empty | Found::Version(0)) {
            return Err(StoreError::from(EngineError::Uninitialised {
                database: url.database().to_owned(),
                server: url.server(),
            })
            .into());
        }
        let key = key.load()?;
        if !key_fits(inspected.key_check.as_deref(), &key) {
            return Err(DeskError::WrongKey);
        }
        // Up to date (the usual case): no lock taken, no round trips spent.
        if !matches!(inspected.found, Found::Version(v) if v == pg::latest()) {
            pg::migrate(&inspected.db, url)?;
        }
        // A PostgreSQL database is chained from its first transaction (made
        // by `init`, `demo` or `migrate --to`): nothing to chain here.
        let location = Location::Postgres(Box::new(url.clone()));
        Ok(Desk::assemble(Store::from_db(inspected.db), key, clock, rng).at(location))
    }

    fn at(mut self, location: Location) -> Desk {
        self.location = Some(location);
        self
    }

    /// Where this desk's database is, `None` in memory (a sandbox, a
    /// test): what a second connection opens.
    pub fn location(&self) -> Option<Location> {
        match &self.location {
            Some(Location::Postgres(url)) => Some(Location::Postgres(url.clone())),
            _ => self.path().map(Location::File),
        }
    }

    /// The database file, or `None` for an in-memory desk or `PostgreSQL`.
    pub fn path(&self) -> Option<PathBuf> {
        self.store
            .db()
            .as_sqlite()?
            .path()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    /// A sandbox: an in-memory copy of this desk's database with the same
    /// key and actor, on this desk's clock unmoved, and an RNG forked from
    /// this desk's. Nothing done on it reaches this desk's data.
    pub fn sandbox(&mut self, email: &str) -> Result<Desk> {
        let store = self.store.copy_user(email)?;
        self.sandbox_on(store)
    }

    /// [`Desk::sandbox`] over a copy made elsewhere (by
    /// [`Store::copy_user_at`] on a worker thread).
    pub fn sandbox_on(&mut self, mut store: Store) -> Result<Desk> {
        let check = store::meta::get(store.db(), "key_check")?;
        if !key_fits(check.as_deref(), &self.key) {
            return Err(DeskError::WrongKey);
        }
        // The sandbox's trail starts empty, with a chain of its own.
        store.write(|tx| trail::start(tx, &self.key, self.clock.real_now()))?;
        let mut desk = Desk::assemble(
            store,
            self.key.clone(),
            self.clock.unmoved(),
            self.rng.fork(),
        );
        desk.actor.clone_from(&self.actor);
        desk.os_user.clone_from(&self.os_user);
        Ok(desk)
    }

    /// A desk of its own over the same database file, read-only, with the
    /// same key, clock and actor: for reads on a worker thread. `None` for
    /// an in-memory desk, which no other connection can see.
    pub fn reader(&self) -> Result<Option<Desk>> {
        let store = match self.location() {
            None => return Ok(None),
            Some(Location::File(path)) => Store::open_reader(&path)?,
            Some(Location::Postgres(url)) => Store::from_db(pg::connect(&url)?),
        };
        let mut desk = Desk::assemble(store, self.key.clone(), self.clock.clone(), Rng::seeded(0));
        desk.actor.clone_from(&self.actor);
        desk.os_user.clone_from(&self.os_user);
        Ok(Some(desk))
    }
}

/// `init` makes only empty databases.
fn refuse_initialised(url: &PgUrl, found: Found) -> Result<(), StoreError> {
    match found {
        Found::Empty | Found::Version(0) => Ok(()),
        Found::Version(_) => Err(EngineError::Initialised {
            database: url.database().to_owned(),
            server: url.server(),
        }
        .into()),
        Found::Foreign => Err(EngineError::Foreign {
            database: url.database().to_owned(),
            server: url.server(),
        }
        .into()),
    }
}

/// Whether `key` is the one whose check value the database holds
/// (compared in constant time).
pub(crate) fn key_fits(check: Option<&str>, key: &Key) -> bool {
    check.is_some_and(|c| crate::crypto::same(c.as_bytes(), key.check_value().as_bytes()))
}
