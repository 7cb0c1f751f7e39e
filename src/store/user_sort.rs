//! The Users list sorted by a column other than the email: keyset pages
//! along `(column, email)` indexes, the email breaking ties.
//!
//! Pages are keyed by email as in email order: the key row's value in the
//! sorted column is looked up first. Users who never logged in (no time)
//! come before everyone else in ascending order, after them in descending
//! order; they are read as a range of their own, so every page is a range
//! and where an engine sorts NULL (first on `SQLite`, last on `PostgreSQL`)
//! never decides.

use super::engine::{Db, Value};
use super::users::{COLUMNS, UserRow, from_db_row};
use super::{Keyset, StoreError, Where};

/// A column the Users list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// The list's own order ([`super::user_list`] reads it a to z, with
    /// searches and filters; here only z to a).
    #[default]
    Email,
    Name,
    LastLogin,
}

/// A sort: the column, and whether it runs from the largest down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub by: SortBy,
    pub descending: bool,
}

/// One page of all users in `sort`'s order, read at `at` (an email), in
/// list order.
pub fn page(db: &Db, sort: Sort, at: Keyset<&str>, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let limit = limit.max(1);
    // The key row's value in the sorted column; a row gone since is read
    // as the list's start.
    let key = match at {
        Keyset::First | Keyset::Last => None,
        Keyset::From(e) | Keyset::After(e) | Keyset::Before(e) => {
            value_of(db, sort.by, e)?.map(|v| (v, e, matches!(at, Keyset::From(_))))
        }
    };
    let forward = !at.backwards();
    // Ascending in SQL when reading the list forward in ascending order,
    // or backward in descending order.
    let ascending = forward != sort.descending;
    let mut rows = match sort.by {
        SortBy::Email => range(db, "email", Segment::All, key.as_ref(), ascending, limit)?,
        SortBy::Name => range(db, "name", Segment::All, key.as_ref(), ascending, limit)?,
        SortBy::LastLogin => by_login(db, key.as_ref(), ascending, limit)?,
    };
    if !forward {
        rows.reverse();
    }
    Ok(rows)
}

/// A key row: its value in the column, its email, and whether it is itself
/// part of the page.
type Key<'a> = (Value, &'a str, bool);

/// The value of `email`'s row in the column; `None` when the row is gone.
fn value_of(db: &Db, by: SortBy, email: &str) -> Result<Option<Value>, StoreError> {
    let column = match by {
        SortBy::Email => "email",
        SortBy::Name => "name",
        SortBy::LastLogin => "last_login_at",
    };
    db.query_opt(
        &format!("SELECT {column} FROM users WHERE email = ?1"),
        &[email.into()],
    )?
    .map(|row| row.value(0).cloned())
    .transpose()
}

/// Which rows of a nullable column a range reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    All,
    /// Those with no value (ordered by email alone).
    Null,
    NotNull,
}

/// Users by last login: those who never logged in first (ascending) or
/// last (descending), each part a range of the `(last_login_at, email)`
/// index.
fn by_login(
    db: &Db,
    key: Option<&Key<'_>>,
    ascending: bool,
    limit: u32,
) -> Result<Vec<UserRow>, StoreError> {
    let key_null = key.is_some_and(|(v, ..)| *v == Value::Null);
    // The parts in reading order, each with the key when it lies there.
    let parts: Vec<(Segment, Option<&Key<'_>>)> = match (key, ascending) {
        (None, true) => vec![(Segment::Null, None), (Segment::NotNull, None)],
        (None, false) => vec![(Segment::NotNull, None), (Segment::Null, None)],
        (Some(k), true) if key_null => vec![(Segment::Null, Some(k)), (Segment::NotNull, None)],
        (Some(k), true) => vec![(Segment::NotNull, Some(k))],
        (Some(k), false) if key_null => vec![(Segment::Null, Some(k))],
        (Some(k), false) => vec![(Segment::NotNull, Some(k)), (Segment::Null, None)],
    };
    let mut rows = Vec::new();
    for (segment, key) in parts {
        let left = limit - u32::try_from(rows.len()).unwrap_or(limit);
        if left == 0 {
            break;
        }
        rows.extend(range(db, "last_login_at", segment, key, ascending, left)?);
    }
    Ok(rows)
}

/// Up to `limit` users of `segment` in `(column, email)` order from the
/// key (after it, or from it when it is part of the page).
fn range(
    db: &Db,
    column: &str,
    segment: Segment,
    key: Option<&Key<'_>>,
    ascending: bool,
    limit: u32,
) -> Result<Vec<UserRow>, StoreError> {
    let mut w = Where::default();
    match segment {
        Segment::All => {}
        Segment::Null => w.and(format!("{column} IS NULL")),
        Segment::NotNull => w.and(format!("{column} IS NOT NULL")),
    }
    if let Some((value, email, inclusive)) = key {
        let op = match (ascending, inclusive) {
            (true, false) => ">",
            (true, true) => ">=",
            (false, false) => "<",
            (false, true) => "<=",
        };
        let e = w.bind((*email).to_owned());
        // Without a value (or sorted by email), the email alone orders.
        if segment == Segment::Null || column == "email" {
            w.and(format!("email {op} {e}"));
        } else {
            let v = w.bind(value.clone());
            w.and(format!("({column}, email) {op} ({v}, {e})"));
        }
    }
    let dir = if ascending { "ASC" } else { "DESC" };
    let limit = w.bind(i64::from(limit));
    let order = if column == "email" {
        format!("email {dir}")
    } else {
        format!("{column} {dir}, email {dir}")
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE {} ORDER BY {order} LIMIT {limit}",
        w.sql()
    );
    db.query(&sql, w.args())?.iter().map(from_db_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::each_engine;

    /// 300 people: names repeat (ties broken by email), a third never
    /// logged in, the rest at times that repeat too.
    fn crowd(db: &Db) {
        db.transaction(crate::store::TxMode::Write, |db| {
            for i in 0..300 {
                let email = format!("u{:03}@x.org", (i * 37) % 300);
                let name = format!("Name {}", i % 17);
                let login = (i % 3 != 0).then(|| i64::from(i % 23) * 1000);
                db.execute(
                    "INSERT INTO users (email, name, role, status, created_at, grace_from,
                         last_login_at)
                     VALUES (?1, ?2, 'member', 'active', 0, 0, ?3)",
                    &[email.into(), name.into(), login.into()],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    /// Every page, read any way, is the stretch of a plain sort of everyone,
    /// and the same stretch on both engines.
    #[test]
    fn pages_are_stretches_of_the_whole_sorted_list() {
        let mut seen: Vec<Vec<Vec<String>>> = Vec::new();
        each_engine("user_sort_pages", |store| {
            let db = store.db();
            crowd(db);
            let emails = |rows: &[UserRow]| -> Vec<String> {
                rows.iter().map(|u| u.email.clone()).collect()
            };
            let mut pages = Vec::new();
            for by in [SortBy::Email, SortBy::Name, SortBy::LastLogin] {
                for descending in [false, true] {
                    let sort = Sort { by, descending };
                    let mut all: Vec<UserRow> = db
                        .query(&format!("SELECT {COLUMNS} FROM users"), &[])
                        .unwrap()
                        .iter()
                        .map(|r| from_db_row(r).unwrap())
                        .collect();
                    all.sort_by(|a, b| {
                        let order = match by {
                            SortBy::Email => std::cmp::Ordering::Equal,
                            SortBy::Name => a.name.cmp(&b.name),
                            // No login sorts first, as NULL does on SQLite.
                            SortBy::LastLogin => a.last_login_at.cmp(&b.last_login_at),
                        }
                        .then_with(|| a.email.cmp(&b.email));
                        if descending { order.reverse() } else { order }
                    });
                    let want = emails(&all);
                    let first = page(db, sort, Keyset::First, 40).unwrap();
                    assert_eq!(emails(&first), want[..40], "{sort:?} first");
                    let last = page(db, sort, Keyset::Last, 40).unwrap();
                    assert_eq!(emails(&last), want[260..], "{sort:?} last");
                    pages.extend([emails(&first), emails(&last)]);
                    for k in [0, 1, 99, 100, 101, 150, 259, 298, 299] {
                        let key = want[k].as_str();
                        let after = page(db, sort, Keyset::After(key), 40).unwrap();
                        let end = (k + 41).min(300);
                        assert_eq!(emails(&after), want[k + 1..end], "{sort:?} after {k}");
                        let from = page(db, sort, Keyset::From(key), 40).unwrap();
                        assert_eq!(
                            emails(&from),
                            want[k..(k + 40).min(300)],
                            "{sort:?} from {k}"
                        );
                        let before = page(db, sort, Keyset::Before(key), 40).unwrap();
                        assert_eq!(
                            emails(&before),
                            want[k.saturating_sub(40)..k],
                            "{sort:?} before {k}"
                        );
                        pages.extend([emails(&after), emails(&from), emails(&before)]);
                    }
                }
            }
            // A key row gone since reads as the list's start.
            let sort = Sort {
                by: SortBy::LastLogin,
                descending: false,
            };
            let gone = page(db, sort, Keyset::After("gone@x.org"), 5).unwrap();
            pages.push(emails(&gone));
            seen.push(pages);
        });
        if let [lite, pg] = &seen[..] {
            assert_eq!(lite, pg, "the same pages on both engines");
        }
    }
}
