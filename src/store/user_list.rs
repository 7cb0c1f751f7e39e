//! The Users list of the console and `user list`: filters, search and keyset
//! pages in email order, each page read along an index at any size.
//!
//! A search takes one of two routes to the same rows. When matches are many
//! (`a`, `ma`, `mar` among 100,000 people), walking the email index and
//! testing each user finds a page within a few hundred steps. When they are
//! few, that walk would cross the whole table, so the full-text indexes name
//! the candidates and only they are sorted. Either way the page holds exactly
//! the users [`Term::matches`] accepts.

use rusqlite::Connection;

use super::users::{COLUMNS, UserRow, from_row};
use super::{Keyset, StoreError, Where, secs};
use crate::domain::Time;
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

/// How many users a search walks in email order before it asks the
/// full-text index instead: a term that fills a page within this many is
/// common, and the walk is the quicker route.
pub const WALK: u32 = 1000;

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
        Some(term) => match walk(conn, &term, q.filter, at, limit, ctx)? {
            Some(rows) => rows,
            None => from_index(conn, &term, q.filter, at, limit, ctx)?,
        },
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

/// The page by walking at most [`WALK`] users in list order from `at`,
/// keeping those `term` matches: `None` when the walk ended with the page
/// unfilled and users left to walk (the term is rare; ask the index).
fn walk(
    conn: &Connection,
    term: &Term,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Option<Vec<UserRow>>, StoreError> {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, filter, at, ctx);
    let walk = w.bind(i64::from(WALK));
    let sql = format!(
        "SELECT id, email, name FROM {table} WHERE {} ORDER BY email {order} LIMIT {walk}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(w.params())?;
    let mut ids = Vec::new();
    let mut walked = 0;
    while let Some(row) = rows.next()? {
        walked += 1;
        let (email, name): (String, String) = (row.get(1)?, row.get(2)?);
        if term.matches(&email, &name) {
            ids.push(row.get::<_, i64>(0)?);
            if ids.len() == limit as usize {
                break;
            }
        }
    }
    if ids.len() < limit as usize && walked == WALK {
        return Ok(None);
    }
    let mut by_id = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?;
    let users = ids
        .into_iter()
        .map(|id| by_id.query_row([id], from_row))
        .collect::<Result<_, _>>()?;
    Ok(Some(users))
}

/// The page from the full-text index's candidates, sorted by email: the
/// trigram index for an anywhere-term, the word index for a word start.
fn from_index(
    conn: &Connection,
    term: &Term,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let (index, phrase) = match term {
        Term::Anywhere(t) => ("users_fts", fts_phrase(t)),
        Term::WordStart(t) => ("users_words", format!("{}*", fts_phrase(t))),
        Term::EmailStart(_) => return plain(conn, filter, None, at, limit, ctx),
    };
    let mut kept: Vec<UserRow> = Vec::new();
    let mut resume: Option<String> = None;
    loop {
        let from = match &resume {
            None => at,
            Some(email) if at.backwards() => Keyset::Before(email.as_str()),
            Some(email) => Keyset::After(email.as_str()),
        };
        let mut w = Where::default();
        let (_, order) = clauses(&mut w, filter, from, ctx);
        let p = w.bind(phrase.clone());
        w.and(format!(
            "id IN (SELECT rowid FROM {index} WHERE {index} MATCH {p})"
        ));
        let chunk = w.bind(i64::from(limit));
        // The candidates are few (that is why this route was taken), so
        // they are read by id and sorted. Given a filter, `SQLite` could
        // instead walk the filter's index in email order, testing each user
        // against them: across every user the filter passes, for a page.
        let sql = format!(
            "SELECT {COLUMNS} FROM users NOT INDEXED WHERE {} ORDER BY email {order} LIMIT {chunk}",
            w.sql()
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows: Vec<UserRow> = stmt
            .query_map(w.params(), from_row)?
            .collect::<Result<_, _>>()?;
        let full = rows.len() == limit as usize;
        resume = rows.last().map(|u| u.email.clone());
        // The index only names candidates; the term decides (accents and
        // case are folded a little differently by the two).
        kept.extend(rows.into_iter().filter(|u| term.matches(&u.email, &u.name)));
        if kept.len() >= limit as usize || !full {
            kept.truncate(limit as usize);
            return Ok(kept);
        }
    }
}

/// A search term as one FTS5 phrase: quotes doubled, so any input is safe.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}
