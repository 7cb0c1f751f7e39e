//! The Users list sorted by a column other than the email: keyset pages
//! along `(column, email)` indexes, the email breaking ties.
//!
//! Pages are keyed by email as in email order: the key row's value in the
//! sorted column is looked up first. Users who never logged in (no time)
//! come before everyone else in ascending order, after them in descending
//! order; they are read as a range of their own, so every page is a range.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::users::{COLUMNS, UserRow, from_row};
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
pub fn page(
    conn: &Connection,
    sort: Sort,
    at: Keyset<&str>,
    limit: u32,
) -> Result<Vec<UserRow>, StoreError> {
    let limit = limit.max(1);
    // The key row's value in the sorted column; a row gone since is read
    // as the list's start.
    let key = match at {
        Keyset::First | Keyset::Last => None,
        Keyset::From(e) | Keyset::After(e) | Keyset::Before(e) => {
            value_of(conn, sort.by, e)?.map(|v| (v, e, matches!(at, Keyset::From(_))))
        }
    };
    let forward = !at.backwards();
    // Ascending in SQL when reading the list forward in ascending order,
    // or backward in descending order.
    let ascending = forward != sort.descending;
    let mut rows = match sort.by {
        SortBy::Email => range(conn, "email", Segment::All, key.as_ref(), ascending, limit)?,
        SortBy::Name => range(conn, "name", Segment::All, key.as_ref(), ascending, limit)?,
        SortBy::LastLogin => by_login(conn, key.as_ref(), ascending, limit)?,
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
fn value_of(conn: &Connection, by: SortBy, email: &str) -> Result<Option<Value>, StoreError> {
    let column = match by {
        SortBy::Email => "email",
        SortBy::Name => "name",
        SortBy::LastLogin => "last_login_at",
    };
    let mut stmt = conn.prepare_cached(&format!("SELECT {column} FROM users WHERE email = ?1"))?;
    let mut rows = stmt.query([email])?;
    Ok(match rows.next()? {
        Some(row) => Some(row.get::<_, Value>(0)?),
        None => None,
    })
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
    conn: &Connection,
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
        rows.extend(range(conn, "last_login_at", segment, key, ascending, left)?);
    }
    Ok(rows)
}

/// Up to `limit` users of `segment` in `(column, email)` order from the
/// key (after it, or from it when it is part of the page).
fn range(
    conn: &Connection,
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
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::store::Store;
    use crate::store::users::{NewUser, insert};

    /// 300 people: names repeat (ties broken by email), a third never
    /// logged in, the rest at times that repeat too.
    fn crowd() -> Store {
        let mut store = Store::in_memory().unwrap();
        store
            .write(|db| -> Result<(), StoreError> {
                let conn = db.require_sqlite()?;
                for i in 0..300 {
                    let email = format!("u{:03}@x.org", (i * 37) % 300);
                    let name = format!("Name {}", i % 17);
                    let id = insert(
                        db,
                        &NewUser {
                            email: &email,
                            skeleton: &email,
                            name: &name,
                            role: Role::Member,
                            phone: None,
                            password_hash: None,
                            created_at: crate::store::time(0),
                        },
                    )?;
                    if i % 3 != 0 {
                        conn.execute(
                            "UPDATE users SET last_login_at = ?1 WHERE id = ?2",
                            (i64::from(i % 23) * 1000, id),
                        )?;
                    }
                }
                Ok(())
            })
            .unwrap();
        store
    }

    /// Every page, read any way, is the stretch of a plain sort of everyone.
    #[test]
    fn pages_are_stretches_of_the_whole_sorted_list() {
        let store = crowd();
        let conn = store.conn().unwrap();
        for by in [SortBy::Email, SortBy::Name, SortBy::LastLogin] {
            for descending in [false, true] {
                let sort = Sort { by, descending };
                let mut all: Vec<UserRow> = conn
                    .prepare(&format!("SELECT {COLUMNS} FROM users"))
                    .unwrap()
                    .query_map([], from_row)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                all.sort_by(|a, b| {
                    let order = match by {
                        SortBy::Email => std::cmp::Ordering::Equal,
                        SortBy::Name => a.name.cmp(&b.name),
                        // No login sorts first, as NULL does.
                        SortBy::LastLogin => a.last_login_at.cmp(&b.last_login_at),
                    }
                    .then_with(|| a.email.cmp(&b.email));
                    if descending { order.reverse() } else { order }
                });
                let emails = |rows: &[UserRow]| -> Vec<String> {
                    rows.iter().map(|u| u.email.clone()).collect()
                };
                let want = emails(&all);
                let first = page(conn, sort, Keyset::First, 40).unwrap();
                assert_eq!(emails(&first), want[..40], "{sort:?} first");
                let last = page(conn, sort, Keyset::Last, 40).unwrap();
                assert_eq!(emails(&last), want[260..], "{sort:?} last");
                for k in [0, 1, 99, 100, 101, 150, 259, 298, 299] {
                    let key = want[k].as_str();
                    let after = page(conn, sort, Keyset::After(key), 40).unwrap();
                    let end = (k + 41).min(300);
                    assert_eq!(emails(&after), want[k + 1..end], "{sort:?} after {k}");
                    let from = page(conn, sort, Keyset::From(key), 40).unwrap();
                    assert_eq!(
                        emails(&from),
                        want[k..(k + 40).min(300)],
                        "{sort:?} from {k}"
                    );
                    let before = page(conn, sort, Keyset::Before(key), 40).unwrap();
                    assert_eq!(
                        emails(&before),
                        want[k.saturating_sub(40)..k],
                        "{sort:?} before {k}"
                    );
                }
            }
        }
    }
}
