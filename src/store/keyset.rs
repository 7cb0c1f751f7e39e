//! Reading a list a page at a time: which page ([`Keyset`]) and the WHERE
//! clauses of one statement with the values bound to them ([`Where`]), on either engine.

use super::StoreError;
use super::engine::Value;

/// Which page of a keyset-paged list to read, in the list's own order (users
/// by email; outbox and audit newest first). Every page comes back in that
/// order, whichever way it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyset<K> {
    /// The first rows.
    First,
    /// The rows from this key on, itself included (to read a page again).
    From(K),
    /// The rows that follow this key.
    After(K),
    /// The rows just before this key, the nearest last.
    Before(K),
    /// The last rows.
    Last,
}

impl<K> Keyset<K> {
    /// Read backwards (then reversed into list order).
    pub(crate) fn backwards(&self) -> bool {
        matches!(self, Keyset::Before(_) | Keyset::Last)
    }

    pub fn as_ref(&self) -> Keyset<&K> {
        match self {
            Keyset::First => Keyset::First,
            Keyset::From(k) => Keyset::From(k),
            Keyset::After(k) => Keyset::After(k),
            Keyset::Before(k) => Keyset::Before(k),
            Keyset::Last => Keyset::Last,
        }
    }

    /// For a list read newest first: the key to compare `(at, id)` with,
    /// the comparison, and the direction to read in.
    fn newest_first(self) -> (Option<K>, &'static str, &'static str) {
        match self {
            Keyset::First => (None, "", "DESC"),
            Keyset::Last => (None, "", "ASC"),
            Keyset::From(k) => (Some(k), "<=", "DESC"),
            Keyset::After(k) => (Some(k), "<", "DESC"),
            Keyset::Before(k) => (Some(k), ">", "ASC"),
        }
    }

    /// The same place, keyed by the key row's `(time, key)` as `time_of`
    /// finds it; `None` when that row is gone.
    pub(crate) fn with_time(
        self,
        time_of: impl FnOnce(&K) -> Result<Option<i64>, StoreError>,
    ) -> Result<Option<Keyset<(i64, K)>>, StoreError> {
        type Place<K> = fn((i64, K)) -> Keyset<(i64, K)>;
        let keyed = |k: K, place: Place<K>| Ok(time_of(&k)?.map(|t| place((t, k))));
        match self {
            Keyset::First => Ok(Some(Keyset::First)),
            Keyset::Last => Ok(Some(Keyset::Last)),
            Keyset::From(k) => keyed(k, Keyset::From),
            Keyset::After(k) => keyed(k, Keyset::After),
            Keyset::Before(k) => keyed(k, Keyset::Before),
        }
    }

    /// The same place with the key turned into another type.
    pub fn map<L>(self, f: impl FnOnce(K) -> L) -> Keyset<L> {
        match self {
            Keyset::First => Keyset::First,
            Keyset::From(k) => Keyset::From(f(k)),
            Keyset::After(k) => Keyset::After(f(k)),
            Keyset::Before(k) => Keyset::Before(f(k)),
            Keyset::Last => Keyset::Last,
        }
    }
}

/// The WHERE clauses of one statement and the values bound to them, built
/// up from what a caller asked for: only the filters asked for are in the
/// SQL, so `SQLite` can pick the index that answers them (a clause such as
/// `(?1 IS NULL OR user_id = ?1)` hides the index from it). The SQL it
/// writes reads the same on both engines (`TRUE`, not `1`; row-value
/// comparisons); the values go to [`super::Db`] as [`Where::args`], or to
/// a `SQLite` connection not yet ported as [`Where::params`].
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    args: Vec<Value>,
}

impl Where {
    /// Bind a value; returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.args.push(value.into());
        format!("?{}", self.args.len())
    }

    pub fn and(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// The clauses joined with AND (`TRUE` when there are none: `PostgreSQL`
    /// wants a boolean, and `SQLite` reads `TRUE` as 1).
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "TRUE".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// The bound values, for [`super::Db`].
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// Limit a list in ascending order of the unique `column` (users by
    /// email) to the rows `at` names; returns the direction to read in.
    pub fn in_order(&mut self, at: Keyset<&str>, column: &str) -> &'static str {
        let (key, op) = match at {
            Keyset::First | Keyset::Last => (None, ""),
            Keyset::From(k) => (Some(k), ">="),
            Keyset::After(k) => (Some(k), ">"),
            Keyset::Before(k) => (Some(k), "<"),
        };
        if let Some(k) = key {
            let k = self.bind(k.to_owned());
            self.and(format!("{column} {op} {k}"));
        }
        if at.backwards() { "DESC" } else { "ASC" }
    }

    /// Limit a newest-first list to the rows `at` names, given the key row's
    /// `(time, id)`; returns the direction to read in (`DESC` from the newest).
    /// `time` and `id` are the columns, so an index on `(…, time)` (whose
    /// entries end with the rowid) answers the range and the order at once.
    pub fn newest_first(&mut self, at: Keyset<(i64, i64)>, time: &str, id: &str) -> &'static str {
        let (key, op, order) = at.newest_first();
        if let Some((t, i)) = key {
            let (t, i) = (self.bind(t), self.bind(i));
            self.and(format!("({time}, {id}) {op} ({t}, {i})"));
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use crate::store::testing::{each_engine, user};

    /// The ids of users (their `created_at` set to `t`) at `at`, newest first.
    fn read(db: &Db, at: Keyset<(i64, i64)>, limit: i64, only: Option<&str>) -> Vec<i64> {
        let mut w = Where::default();
        if let Some(email) = only {
            let p = w.bind(email);
            w.and(format!("email <> {p}"));
        }
        let order = w.newest_first(at, "created_at", "id");
        let limit = w.bind(limit);
        let sql = format!(
            "SELECT id FROM users WHERE {} ORDER BY created_at {order}, id {order} LIMIT {limit}",
            w.sql()
        );
        let mut ids: Vec<i64> = db
            .query(&sql, w.args())
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect();
        if at.backwards() {
            ids.reverse();
        }
        ids
    }

    #[test]
    fn a_where_reads_the_same_places_on_both_engines() {
        each_engine("keyset_where", |store| {
            let db = store.db();
            let mut ids = Vec::new();
            for (email, t) in [("a@x", 10), ("b@x", 20), ("c@x", 20), ("d@x", 30)] {
                let id = user(db, email);
                db.execute(
                    "UPDATE users SET created_at = ?1 WHERE id = ?2",
                    &[t.into(), id.into()],
                )
                .unwrap();
                ids.push(id);
            }
            let [a, b, c, d] = ids[..] else { panic!() };
            assert_eq!(Where::default().sql(), "TRUE");
            assert_eq!(read(db, Keyset::First, 2, None), [d, c], "no clauses");
            assert_eq!(read(db, Keyset::Last, 2, None), [b, a]);
            assert_eq!(read(db, Keyset::From((20, c)), 2, None), [c, b]);
            assert_eq!(
                read(db, Keyset::After((20, c)), 2, None),
                [b, a],
                "ties by id"
            );
            assert_eq!(read(db, Keyset::Before((20, b)), 2, None), [d, c]);
            assert_eq!(
                read(db, Keyset::After((20, c)), 9, Some("b@x")),
                [a],
                "with a filter bound first"
            );
        });
    }
}
