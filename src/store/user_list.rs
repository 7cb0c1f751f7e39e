//! The Users list of the console and `user list`: filters, search and keyset
//! pages in email order, each page read along an index at any size.
//!
//! A search takes the cheapest of three routes to its page. A common term
//! (`a`) fills a page within the first few hundred users in email order, so
//! those are tested one by one. Otherwise the full-text index names every
//! candidate: a few are read and sorted; many are found by walking the email
//! index and keeping the candidates, which costs a step per user passed over
//! and never a read of the table.

use std::collections::HashSet;

use rusqlite::Connection;

use super::users::{COLUMNS, UserRow, from_row};
use super::{Keyset, StoreError, Where, secs};
use crate::domain::Time;
use crate::domain::recipient::PhoneQuery;
use crate::domain::search::Term;

/// The console's and `user list`'s filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// 2FA locked right now.
    Locked,
    /// No active factor.
    NoFactor,
    /// No active factor, enforced, still in grace.
    InGrace,
    /// Backup codes generated, and at or below the low mark.
    LowCodes,
    Disabled,
}

/// One page of users, ordered by email, starting after `after` (keyset paging).
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub search: Option<&'a str>,
    pub filter: Option<Filter>,
    pub after: Option<&'a str>,
    pub limit: u32,
}

/// What the `InGrace` and `LowCodes` filters need from the policy.
#[derive(Debug, Clone, Copy)]
pub struct FilterContext {
    pub now: Time,
    /// Users created after this are still in grace (`None`: nobody is).
    pub grace_cutoff: Option<Time>,
    /// Whether enforcement applies to members (all) or only admins.
    pub enforce_members: bool,
    pub backup_low: u32,
}

/// How many users a search tests in email order before it asks the
/// full-text index: a term that fills a page within this many is common.
pub const PEEK: u32 = 300;
/// At most this many candidates are read and sorted; more are found by
/// walking the email index (reading a candidate costs a table read).
pub const FEW: usize = 1000;
/// How far the email index is walked for many candidates before the rest
/// of the page is read and sorted instead (they cluster far ahead).
pub const LONG_WALK: u32 = 20_000;

/// One page of the users `q` matches, from `q.after` on.
pub fn list(
    conn: &Connection,
    q: &Query<'_>,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    page(conn, q, q.after.map_or(Keyset::First, Keyset::After), ctx)
}

/// One page of the users `q` matches, ordered by email, read at `at`
/// (instead of `q.after`).
pub fn page(
    conn: &Connection,
    q: &Query<'_>,
    at: Keyset<&str>,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let limit = q.limit.max(1);
    let mut rows = match q.search.and_then(Term::parse) {
        None => plain(conn, q.filter, None, at, limit, ctx)?,
        Some(Term::EmailStart(prefix)) => plain(conn, q.filter, Some(&prefix), at, limit, ctx)?,
        Some(Term::Phone(number)) => by_phone(conn, &number, q.filter, at, limit, ctx)?,
        Some(term) => searched(conn, &term, q.filter, at, limit, ctx)?,
    };
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// The filter's clauses, then the keyset's; returns the table to read and
/// the direction to read in.
///
/// The table names the index of a filter whose users can be few and far
/// apart in email order (locked, low on codes, in grace): a page reads that
/// index's range and sorts it, so it costs as much as the filter finds. In
/// email order the page would be read by testing every user the filter
/// passes over, up to the whole table, and without statistics `SQLite`
/// prefers that walk, which spares it the sort.
fn clauses(
    w: &mut Where,
    filter: Option<Filter>,
    at: Keyset<&str>,
    ctx: &FilterContext,
) -> (&'static str, &'static str) {
    let mut table = "users";
    match filter {
        None => {}
        Some(Filter::Locked) => {
            let now = w.bind(secs(ctx.now));
            w.and(format!("locked_until > {now}"));
            table = "users INDEXED BY users_locked_until";
        }
        Some(Filter::NoFactor) => w.and("active_factors = 0"),
        Some(Filter::InGrace) => match ctx.grace_cutoff {
            Some(cutoff) => {
                let c = w.bind(secs(cutoff));
                w.and(format!("active_factors = 0 AND grace_from > {c}"));
                if !ctx.enforce_members {
                    w.and("role = 'admin'");
                }
                table = "users INDEXED BY users_without_factor_grace";
            }
            None => w.and("0"),
        },
        Some(Filter::LowCodes) => {
            let low = w.bind(i64::from(ctx.backup_low));
            w.and(format!("codes_total > 0 AND codes_left <= {low}"));
            table = "users INDEXED BY users_codes_left";
        }
        Some(Filter::Disabled) => w.and("status = 'disabled'"),
    }
    match at {
        Keyset::First | Keyset::Last => {}
        Keyset::From(k) => {
            let k = w.bind(k.to_owned());
            w.and(format!("email >= {k}"));
        }
        Keyset::After(k) => {
            let k = w.bind(k.to_owned());
            w.and(format!("email > {k}"));
        }
        Keyset::Before(k) => {
            let k = w.bind(k.to_owned());
            w.and(format!("email < {k}"));
        }
    }
    (table, if at.backwards() { "DESC" } else { "ASC" })
}

/// A page with no search, or with an email prefix: along the email index
/// (or the filter's).
fn plain(
    conn: &Connection,
    filter: Option<Filter>,
    prefix: Option<&str>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, filter, at, ctx);
    if let Some(prefix) = prefix {
        let lo = w.bind(prefix.to_owned());
        let hi = w.bind(format!("{prefix}\u{10FFFF}"));
        w.and(format!("email >= {lo} AND email < {hi}"));
    }
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM {table} WHERE {} ORDER BY email {order} LIMIT {limit}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The users whose phone is `number`: the few it names, found by the phone
/// indexes (the whole number, or the number without its calling code),
/// read by id and sorted by email.
fn by_phone(
    conn: &Connection,
    number: &PhoneQuery,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let mut w = Where::default();
    let (_, order) = clauses(&mut w, filter, at, ctx);
    let mut found = Vec::new();
    if let Some(e164) = &number.e164 {
        let p = w.bind(e164.clone());
        found.push(format!(
            "SELECT id FROM users INDEXED BY users_phone WHERE phone = {p} AND phone IS NOT NULL"
        ));
    }
    if let Some(national) = &number.national {
        let p = w.bind(national.clone());
        found.push(format!(
            "SELECT id FROM users INDEXED BY users_phone_national
             WHERE phone_national = {p} AND phone_national IS NOT NULL"
        ));
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    w.and(format!("id IN ({})", found.join(" UNION ALL ")));
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM users NOT INDEXED WHERE {} ORDER BY email {order} LIMIT {limit}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A searched page, by the cheapest route (see the module's doc).
fn searched(
    conn: &Connection,
    term: &Term,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    if let Some(rows) = peek(conn, term, filter, at, limit, ctx)? {
        return Ok(rows);
    }
    let Some((index, phrase)) = fts_query(term) else {
        return plain(conn, filter, None, at, limit, ctx);
    };
    let candidates = candidates(conn, index, &phrase)?;
    if candidates.len() <= FEW {
        return sorted(conn, index, &phrase, filter, at, limit, ctx);
    }
    let (ids, stopped) = walk_candidates(conn, &candidates, filter, at, limit, ctx)?;
    let mut rows = by_ids(conn, &ids)?;
    if let Some(email) = stopped {
        // Candidates lie far ahead: read the rest of the page and sort it.
        let from = if at.backwards() {
            Keyset::Before(email.as_str())
        } else {
            Keyset::After(email.as_str())
        };
        let rest = limit - u32::try_from(rows.len()).unwrap_or(limit);
        rows.extend(sorted(conn, index, &phrase, filter, from, rest, ctx)?);
    }
    Ok(rows)
}

/// The page from testing at most [`PEEK`] users in list order from `at`:
/// `None` when they did not fill it and users are left.
fn peek(
    conn: &Connection,
    term: &Term,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Option<Vec<UserRow>>, StoreError> {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, filter, at, ctx);
    let peek = w.bind(i64::from(PEEK));
    let sql = format!(
        "SELECT id, email, name FROM {table} WHERE {} ORDER BY email {order} LIMIT {peek}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(w.params())?;
    let mut ids = Vec::new();
    let mut tested = 0;
    while let Some(row) = rows.next()? {
        tested += 1;
        let (email, name) = (text(row, 1)?, text(row, 2)?);
        // A phone number never comes this way (see `page`).
        if term.matches(email, name, None) {
            ids.push(row.get::<_, i64>(0)?);
            if ids.len() == limit as usize {
                break;
            }
        }
    }
    if ids.len() < limit as usize && tested == PEEK {
        return Ok(None);
    }
    Ok(Some(by_ids(conn, &ids)?))
}

/// The full-text index a term is answered from, and its query.
fn fts_query(term: &Term) -> Option<(&'static str, String)> {
    match term {
        Term::Anywhere(t) => Some(("users_fts", fts_phrase(t))),
        Term::WordStart(t) => Some(("users_words", format!("{}*", fts_phrase(t)))),
        Term::EmailStart(_) | Term::Phone(_) => None,
    }
}

/// Every user the index names for the query.
fn candidates(conn: &Connection, index: &str, phrase: &str) -> Result<HashSet<i64>, StoreError> {
    let sql = format!("SELECT rowid FROM {index} WHERE {index} MATCH ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([phrase], |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The page from the index's candidates, read and sorted by email.
fn sorted(
    conn: &Connection,
    index: &str,
    phrase: &str,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let mut w = Where::default();
    let (_, order) = clauses(&mut w, filter, at, ctx);
    let p = w.bind(phrase.to_owned());
    w.and(format!(
        "id IN (SELECT rowid FROM {index} WHERE {index} MATCH {p})"
    ));
    let limit = w.bind(i64::from(limit));
    // The candidates are read by id and sorted. Given a filter, `SQLite`
    // could instead walk the filter's index in email order, testing each
    // user against them: across every user the filter passes, for a page.
    let sql = format!(
        "SELECT {COLUMNS} FROM users NOT INDEXED WHERE {} ORDER BY email {order} LIMIT {limit}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The ids of a page of `candidates`, walking the email index (or the
/// filter's) in list order from `at` for at most [`LONG_WALK`] users; with
/// the email to go on from when the walk stopped short of the page and of
/// the list's end.
fn walk_candidates(
    conn: &Connection,
    candidates: &HashSet<i64>,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<(Vec<i64>, Option<String>), StoreError> {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, filter, at, ctx);
    let long = w.bind(i64::from(LONG_WALK));
    let sql = format!(
        "SELECT id, email FROM {table} WHERE {} ORDER BY email {order} LIMIT {long}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(w.params())?;
    let mut ids = Vec::new();
    let mut walked = 0;
    let mut last = String::new();
    while let Some(row) = rows.next()? {
        walked += 1;
        let id: i64 = row.get(0)?;
        if candidates.contains(&id) {
            ids.push(id);
            if ids.len() == limit as usize {
                return Ok((ids, None));
            }
        }
        if walked == LONG_WALK {
            text(row, 1)?.clone_into(&mut last);
        }
    }
    let stopped = (walked == LONG_WALK).then_some(last);
    Ok((ids, stopped))
}

/// A text column, borrowed from the row (a walk reads thousands).
fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Whole rows for `ids`, in their order.
fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<UserRow>, StoreError> {
    let mut by_id = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?;
    Ok(ids
        .iter()
        .map(|id| by_id.query_row([id], from_row))
        .collect::<Result<_, _>>()?)
}

/// A search term as one FTS5 phrase: quotes doubled, so any input is safe.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::store::Store;
    use crate::store::users::{NewUser, insert};

    fn ctx() -> FilterContext {
        FilterContext {
            now: crate::store::time(1_800_000_000),
            grace_cutoff: None,
            enforce_members: true,
            backup_low: 3,
        }
    }

    /// 3,000 people: most `a…@x.org` named "Ann Bee", a scattered tenth
    /// "Lee Smith", and 1,200 `z…@x.org` named "Zed Zoo" at the list's end.
    fn crowd() -> Store {
        let mut store = Store::in_memory().unwrap();
        store
            .write(|db| -> Result<(), StoreError> {
                for i in 0..3000 {
                    let (email, name) = match i {
                        0..1200 => (format!("z{i:04}@x.org"), "Zed Zoo"),
                        i if i % 10 == 0 => (format!("a{i:04}@x.org"), "Lee Smith"),
                        i => (format!("a{i:04}@x.org"), "Ann Bee"),
                    };
                    insert(
                        db,
                        &NewUser {
                            email: &email,
                            skeleton: &email,
                            name,
                            role: Role::Member,
                            phone: None,
                            password_hash: None,
                            created_at: crate::store::time(0),
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        store
    }

    fn emails(rows: &[UserRow]) -> Vec<&str> {
        rows.iter().map(|u| u.email.as_str()).collect()
    }

    /// Every route gives the page a plain sort of the matching users gives.
    #[test]
    fn every_route_gives_the_same_pages_as_sorting_every_match() {
        let store = crowd();
        let conn = store.conn().unwrap();
        let all: Vec<UserRow> = plain(conn, None, None, Keyset::First, 10_000, &ctx()).unwrap();
        // "bee" fills a page at once (tested one by one); "smith" has 180
        // candidates (read and sorted); "zoo" has 1,200 clustered at the end
        // (the email index walked past 1,800 others).
        for term in ["bee", "smith", "zoo", "ze", "sm"] {
            let t = Term::parse(term).unwrap();
            let matching: Vec<&UserRow> = all
                .iter()
                .filter(|u| t.matches(&u.email, &u.name, u.phone.as_deref()))
                .collect();
            assert!(!matching.is_empty(), "{term}");
            let q = |limit| Query {
                search: Some(term),
                filter: None,
                after: None,
                limit,
            };
            let first = page(conn, &q(61), Keyset::First, &ctx()).unwrap();
            let want: Vec<&str> = matching.iter().take(61).map(|u| u.email.as_str()).collect();
            assert_eq!(emails(&first), want, "{term} first");
            let after = page(conn, &q(61), Keyset::After(&first[30].email), &ctx()).unwrap();
            let want: Vec<&str> = matching
                .iter()
                .skip(31)
                .take(61)
                .map(|u| u.email.as_str())
                .collect();
            assert_eq!(emails(&after), want, "{term} after");
            let last = page(conn, &q(61), Keyset::Last, &ctx()).unwrap();
            let n = matching.len();
            let want: Vec<&str> = matching[n.saturating_sub(61)..]
                .iter()
                .map(|u| u.email.as_str())
                .collect();
            assert_eq!(emails(&last), want, "{term} last");
            let before = page(conn, &q(20), Keyset::Before(&last[0].email), &ctx()).unwrap();
            let k = n.saturating_sub(61);
            let want: Vec<&str> = matching[k.saturating_sub(20)..k]
                .iter()
                .map(|u| u.email.as_str())
                .collect();
            assert_eq!(emails(&before), want, "{term} before");
        }
    }

    #[test]
    fn the_routes_are_the_ones_their_density_calls_for() {
        let store = crowd();
        let conn = store.conn().unwrap();
        let term = |t| Term::parse(t).unwrap();
        let q = Keyset::First;
        assert!(
            peek(conn, &term("bee"), None, q, 61, &ctx())
                .unwrap()
                .is_some()
        );
        assert!(
            peek(conn, &term("zoo"), None, q, 61, &ctx())
                .unwrap()
                .is_none()
        );
        let zoo = candidates(conn, "users_fts", "\"zoo\"").unwrap();
        assert_eq!(zoo.len(), 1200);
        assert!(zoo.len() > FEW, "walked, not sorted");
        let smith = candidates(conn, "users_fts", "\"smith\"").unwrap();
        assert!(smith.len() <= FEW, "sorted, not walked");
    }

    #[test]
    fn a_phone_number_finds_its_users_in_any_spelling() {
        let mut store = crowd();
        let phones = [
            ("us@x.org", "+14155550123"),
            ("us2@x.org", "+14155550123"),
            ("uk@x.org", "+447400900123"),
            ("ie@x.org", "+353871234567"),
            ("ru@x.org", "+74951234567"),
        ];
        store
            .write(|db| -> Result<(), StoreError> {
                for (email, phone) in phones {
                    insert(
                        db,
                        &NewUser {
                            email,
                            skeleton: email,
                            name: "Phoned",
                            role: Role::Member,
                            phone: Some(phone),
                            password_hash: None,
                            created_at: crate::store::time(0),
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let conn = store.conn().unwrap();
        // The generated column agrees with the domain's reading of each number.
        for (_, phone) in phones {
            let national: String = conn
                .query_row(
                    "SELECT phone_national FROM users WHERE phone = ?1",
                    [phone],
                    |r| r.get(0),
                )
                .unwrap();
            let p = crate::domain::contact::Phone::stored(phone).unwrap();
            assert_eq!(national, p.national(), "{phone}");
        }
        let find = |term: &str, filter| {
            let q = Query {
                search: Some(term),
                filter,
                after: None,
                limit: 10,
            };
            emails(&page(conn, &q, Keyset::First, &ctx()).unwrap())
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        for term in [
            "+1 415 555 0123",
            "4155550123",
            "(415) 555-0123",
            "1-415-555-0123",
        ] {
            assert_eq!(find(term, None), ["us2@x.org", "us@x.org"], "{term}");
        }
        assert_eq!(find("07400 900123", None), ["uk@x.org"]);
        assert_eq!(find("+353 87 123 4567", None), ["ie@x.org"]);
        assert_eq!(find("495 123 4567", None), ["ru@x.org"]);
        assert!(find("+44 415 555 0123", None).is_empty());
        assert!(find("4155550123", Some(Filter::Disabled)).is_empty());
        // Keyset: the page after the first of two.
        let q = Query {
            search: Some("4155550123"),
            filter: None,
            after: Some("us2@x.org"),
            limit: 10,
        };
        assert_eq!(emails(&list(conn, &q, &ctx()).unwrap()), ["us@x.org"]);
    }
}
