//! The Users list of the console and `user list`: filters, search and keyset
//! pages in email order, each page read along an index at any size.
//!
//! On `SQLite` a search of the whole list reads its page from the term's
//! key, in email order ([`super::search_keys`]): the same cost at any size.
//! A filtered search takes the cheapest of three routes. A common term
//! (`a`) fills a page within the first few hundred users in email order, so
//! those are tested one by one. Otherwise the full-text index names every
//! candidate: a few are read and sorted; many are found by walking the
//! email (or the filter's) index and keeping the candidates, which costs a
//! step per user passed over. `SQLite` is told which index to read where it
//! would choose worse (`INDEXED BY`, `NOT INDEXED`).
//!
//! On `PostgreSQL` a searched page is one statement, planned for its term
//! each time ([`planned_sql`]): the server's statistics choose between the
//! same walk and the sorted candidates. Its indexes are `ILIKE` over the
//! `pg_trgm` indexes of `email` and `name`, and the GIN index of the
//! generated `word_starts` ([`Search`]).

use std::collections::HashSet;

use super::engine::{Db, Engine, EngineError, Row};
use super::users::{COLUMNS, UserRow, from_db_row};
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
pub fn list(db: &Db, q: &Query<'_>, ctx: &FilterContext) -> Result<Vec<UserRow>, StoreError> {
    page(db, q, q.after.map_or(Keyset::First, Keyset::After), ctx)
}

/// One page of the users `q` matches, ordered by email, read at `at`
/// (instead of `q.after`).
pub fn page(
    db: &Db,
    q: &Query<'_>,
    at: Keyset<&str>,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let limit = q.limit.max(1);
    let mut rows = match q.search.and_then(Term::parse) {
        None => plain(db, q.filter, None, at, limit, ctx)?,
        Some(Term::EmailStart(prefix)) => plain(db, q.filter, Some(&prefix), at, limit, ctx)?,
        Some(Term::Phone(number)) => by_phone(db, &number, q.filter, at, limit, ctx)?,
        Some(term) => searched(db, &term, q.filter, at, limit, ctx)?,
    };
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// The filter's clauses, then the keyset's; returns the table to read and
/// the direction to read in.
///
/// On `SQLite` the table names the index of a filter whose users can be few
/// and far apart in email order (locked, low on codes, in grace): a page
/// reads that index's range and sorts it, so it costs as much as the filter
/// finds. In email order the page would be read by testing every user the
/// filter passes over, up to the whole table, and without statistics
/// `SQLite` prefers that walk, which spares it the sort.
fn clauses(
    w: &mut Where,
    engine: Engine,
    filter: Option<Filter>,
    at: Keyset<&str>,
    ctx: &FilterContext,
) -> (&'static str, &'static str) {
    let mut index = None;
    match filter {
        None => {}
        Some(Filter::Locked) => {
            let now = w.bind(secs(ctx.now));
            w.and(format!("locked_until > {now}"));
            index = Some("users INDEXED BY users_locked_until");
        }
        Some(Filter::NoFactor) => w.and("active_factors = 0"),
        Some(Filter::InGrace) => match ctx.grace_cutoff {
            Some(cutoff) => {
                let c = w.bind(secs(cutoff));
                w.and(format!("active_factors = 0 AND grace_from > {c}"));
                if !ctx.enforce_members {
                    w.and("role = 'admin'");
                }
                index = Some("users INDEXED BY users_without_factor_grace");
            }
            None => w.and("FALSE"),
        },
        Some(Filter::LowCodes) => {
            let low = w.bind(i64::from(ctx.backup_low));
            w.and(format!("codes_total > 0 AND codes_left <= {low}"));
            index = Some("users INDEXED BY users_codes_left");
        }
        Some(Filter::Disabled) => w.and("status = 'disabled'"),
    }
    let order = w.in_order(at, "email");
    let table = match (engine, index) {
        (Engine::Sqlite, Some(hinted)) => hinted,
        _ => "users",
    };
    (table, order)
}

/// The statement reading the few users `found` names (a condition on
/// `users`), then keeping those `w`'s clauses keep, sorted by email.
///
/// The few are read and sorted, never found by walking an index in email
/// order and testing each user: across every user the walk passes, for a
/// page. `SQLite` is kept off the email (or a filter's) index with `NOT
/// INDEXED`; `PostgreSQL` reads them into a materialized `WITH` first, as
/// its generic plan (the one a statement the connection keeps may settle
/// on) would otherwise walk the email index testing each user (seen for a
/// rare term: the test of the plans).
fn few_sorted(engine: Engine, w: &mut Where, found: &str, order: &str, limit: u32) -> String {
    match engine {
        Engine::Sqlite => {
            w.and(found);
            let limit = w.bind(i64::from(limit));
            format!(
                "SELECT {COLUMNS} FROM users NOT INDEXED WHERE {} ORDER BY email {order} LIMIT {limit}",
                w.sql()
            )
        }
        Engine::Postgres => {
            let limit = w.bind(i64::from(limit));
            format!(
                "WITH found AS MATERIALIZED (SELECT {COLUMNS} FROM users WHERE {found})
                 SELECT {COLUMNS} FROM found WHERE {} ORDER BY email {order} LIMIT {limit}",
                w.sql()
            )
        }
    }
}

/// Every row of `sql`, as users.
fn users(db: &Db, sql: &str, w: &Where) -> Result<Vec<UserRow>, StoreError> {
    db.query(sql, w.args())?.iter().map(from_db_row).collect()
}

/// A page with no search, or with an email prefix: along the email index
/// (or the filter's).
///
/// A filtered page is planned for its values each time
/// ([`Db::query_planned`]): on `PostgreSQL` a plan prepared blind to them
/// guesses that a third of the users are locked (or in grace), walks the
/// email index testing each, and at scale reads every user when few are.
fn plain(
    db: &Db,
    filter: Option<Filter>,
    prefix: Option<&str>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let (sql, w) = plain_sql(db.engine(), filter, prefix, at, limit, ctx);
    if filter.is_some() {
        return db
            .query_planned(&sql, w.args())?
            .iter()
            .map(from_db_row)
            .collect();
    }
    users(db, &sql, &w)
}

/// The statement for [`plain`] and its values.
fn plain_sql(
    engine: Engine,
    filter: Option<Filter>,
    prefix: Option<&str>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> (String, Where) {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, engine, filter, at, ctx);
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
    (sql, w)
}

/// The users whose phone is `number`: the few it names, found by the phone
/// indexes (the whole number, or the number without its calling code),
/// read by id and sorted by email.
fn by_phone(
    db: &Db,
    number: &PhoneQuery,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    match phone_sql(db.engine(), number, filter, at, limit, ctx) {
        Some((sql, w)) => users(db, &sql, &w),
        None => Ok(Vec::new()),
    }
}

/// The statement for [`by_phone`] and its values (`None`: no number).
fn phone_sql(
    engine: Engine,
    number: &PhoneQuery,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Option<(String, Where)> {
    let hint = |index: &str| match engine {
        Engine::Sqlite => format!("users INDEXED BY {index}"),
        Engine::Postgres => "users".to_owned(),
    };
    let mut w = Where::default();
    let (_, order) = clauses(&mut w, engine, filter, at, ctx);
    let mut found = Vec::new();
    if let Some(e164) = &number.e164 {
        let p = w.bind(e164.clone());
        let users = hint("users_phone");
        found.push(format!(
            "SELECT id FROM {users} WHERE phone = {p} AND phone IS NOT NULL"
        ));
    }
    if let Some(national) = &number.national {
        let p = w.bind(national.clone());
        let users = hint("users_phone_national");
        found.push(format!(
            "SELECT id FROM {users}
             WHERE phone_national = {p} AND phone_national IS NOT NULL"
        ));
    }
    if found.is_empty() {
        return None;
    }
    let found = format!("id IN ({})", found.join(" UNION ALL "));
    let sql = few_sorted(engine, &mut w, &found, order, limit);
    Some((sql, w))
}

/// A searched page, by the cheapest route (see the module's doc).
fn searched(
    db: &Db,
    term: &Term,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let Some(search) = Search::of(db.engine(), term) else {
        return plain(db, filter, None, at, limit, ctx);
    };
    if db.engine() == Engine::Postgres {
        let (sql, w) = planned_sql(&search, filter, at, limit, ctx);
        return db
            .query_planned(&sql, w.args())?
            .iter()
            .map(from_db_row)
            .collect();
    }
    if filter.is_none()
        && let Some(ids) = super::search_keys::page_ids(db, term, at, limit)?
    {
        return by_ids(db, &ids);
    }
    if let Some(rows) = peek(db, term, filter, at, limit, ctx)? {
        return Ok(rows);
    }
    let candidates = candidates(db, &search)?;
    if candidates.len() <= FEW {
        return sorted(db, &search, filter, at, limit, ctx);
    }
    let (ids, stopped) = walk_candidates(db, &candidates, filter, at, limit, ctx)?;
    let mut rows = by_ids(db, &ids)?;
    if let Some(email) = stopped {
        // Candidates lie far ahead: read the rest of the page and sort it.
        let from = if at.backwards() {
            Keyset::Before(email.as_str())
        } else {
            Keyset::After(email.as_str())
        };
        let rest = limit - u32::try_from(rows.len()).unwrap_or(limit);
        rows.extend(sorted(db, &search, filter, from, rest, ctx)?);
    }
    Ok(rows)
}

/// The statement of a searched page on `PostgreSQL`: the page's ids by
/// the search condition in email order, then their rows. Run planned for
/// its term ([`Db::query_planned`]), the server reads the term's
/// statistics and takes the cheaper route: for a common term, walking
/// `users_email_search` in order, testing each user in the index alone,
/// until the page is full; for a rare one, the search index's few
/// candidates, sorted. A plan prepared blind to the term would have to
/// guess, and either guess is slow for the other kind of term.
fn planned_sql(
    search: &Search,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> (String, Where) {
    let (mut w, order, condition) = search_clauses(Engine::Postgres, search, filter, at, ctx);
    w.and(condition);
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE id IN (
             SELECT id FROM users AS s WHERE {} ORDER BY email {order} LIMIT {limit})
         ORDER BY email {order}",
        w.sql()
    );
    (sql, w)
}

/// The page from testing at most [`PEEK`] users in list order from `at`:
/// `None` when they did not fill it and users are left.
fn peek(
    db: &Db,
    term: &Term,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Option<Vec<UserRow>>, StoreError> {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, db.engine(), filter, at, ctx);
    // Without a filter the walk reads the index alone (id, email, name).
    let table = if filter.is_none() && db.engine() == Engine::Sqlite {
        "users INDEXED BY users_email_search"
    } else {
        table
    };
    let peek = w.bind(i64::from(PEEK));
    let sql = format!(
        "SELECT id, email, name FROM {table} WHERE {} ORDER BY email {order} LIMIT {peek}",
        w.sql()
    );
    let mut ids = Vec::new();
    let mut tested = 0;
    db.each(&sql, w.args(), |row| {
        tested += 1;
        // A phone number never comes this way (see `page`).
        if term.matches(row.text(1)?, row.text(2)?, None) {
            ids.push(row.get::<i64>(0)?);
        }
        Ok(ids.len() < limit as usize)
    })?;
    if ids.len() < limit as usize && tested == PEEK {
        return Ok(None);
    }
    Ok(Some(by_ids(db, &ids)?))
}

/// How a term's index is asked on one engine: the condition on `users`
/// naming its candidates, and the one value bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Search {
    engine: Engine,
    words: bool,
    /// An `FTS5` phrase (`SQLite`), an `ILIKE` pattern or a word's start
    /// (`PostgreSQL`).
    arg: String,
}

impl Search {
    /// `None` for the terms no search index answers (an email's start, a
    /// phone number).
    fn of(engine: Engine, term: &Term) -> Option<Search> {
        let (words, arg) = match (engine, term) {
            (_, Term::EmailStart(_) | Term::Phone(_)) => return None,
            (Engine::Sqlite, Term::Anywhere(t)) => (false, fts_phrase(t)),
            (Engine::Sqlite, Term::WordStart(t)) => (true, format!("{}*", fts_phrase(t))),
            (Engine::Postgres, Term::Anywhere(t)) => (false, format!("%{}%", like_escaped(t))),
            (Engine::Postgres, Term::WordStart(t)) => (true, t.clone()),
        };
        Some(Search { engine, words, arg })
    }

    /// The `FTS5` table (`SQLite`).
    fn fts(&self) -> &'static str {
        if self.words {
            "users_words"
        } else {
            "users_fts"
        }
    }

    /// The condition on `users` that keeps the candidates, `p` the value's
    /// placeholder.
    fn condition(&self, p: &str) -> String {
        match (self.engine, self.words) {
            (Engine::Sqlite, _) => {
                let index = self.fts();
                format!("id IN (SELECT rowid FROM {index} WHERE {index} MATCH {p})")
            }
            (Engine::Postgres, false) => format!("(email ILIKE {p} OR name ILIKE {p})"),
            (Engine::Postgres, true) => format!("word_starts @> ARRAY[lower({p})]"),
        }
    }

    /// The statement naming every candidate's id (its value `?1`).
    fn candidates_sql(&self) -> String {
        match self.engine {
            Engine::Sqlite => {
                let index = self.fts();
                format!("SELECT rowid FROM {index} WHERE {index} MATCH ?1")
            }
            Engine::Postgres => format!("SELECT id FROM users WHERE {}", self.condition("?1")),
        }
    }
}

/// Every user the index names for the search.
fn candidates(db: &Db, search: &Search) -> Result<HashSet<i64>, StoreError> {
    db.query(&search.candidates_sql(), &[search.arg.as_str().into()])?
        .iter()
        .map(|r| r.get::<i64>(0))
        .collect()
}

/// The statement for [`sorted`] and its values.
fn sorted_sql(
    engine: Engine,
    search: &Search,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> (String, Where) {
    let (mut w, order, condition) = search_clauses(engine, search, filter, at, ctx);
    let sql = few_sorted(engine, &mut w, &condition, order, limit);
    (sql, w)
}

/// The filter's and keyset's clauses with the search's value bound after
/// them: the clauses, the direction to read in, and the search's condition.
fn search_clauses(
    engine: Engine,
    search: &Search,
    filter: Option<Filter>,
    at: Keyset<&str>,
    ctx: &FilterContext,
) -> (Where, &'static str, String) {
    let mut w = Where::default();
    let (_, order) = clauses(&mut w, engine, filter, at, ctx);
    let p = w.bind(search.arg.clone());
    (w, order, search.condition(&p))
}

/// The page from the index's candidates, read and sorted by email.
fn sorted(
    db: &Db,
    search: &Search,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let (sql, w) = sorted_sql(db.engine(), search, filter, at, limit, ctx);
    users(db, &sql, &w)
}

/// The ids of a page of `candidates`, walking the email index (or the
/// filter's) in list order from `at` for at most [`LONG_WALK`] users; with
/// the email to go on from when the walk stopped short of the page and of
/// the list's end.
fn walk_candidates(
    db: &Db,
    candidates: &HashSet<i64>,
    filter: Option<Filter>,
    at: Keyset<&str>,
    limit: u32,
    ctx: &FilterContext,
) -> Result<(Vec<i64>, Option<String>), StoreError> {
    let mut w = Where::default();
    let (table, order) = clauses(&mut w, db.engine(), filter, at, ctx);
    let long = w.bind(i64::from(LONG_WALK));
    let sql = format!(
        "SELECT id, email FROM {table} WHERE {} ORDER BY email {order} LIMIT {long}",
        w.sql()
    );
    let mut ids = Vec::new();
    let mut walked = 0;
    let mut last = String::new();
    db.each(&sql, w.args(), |row: Row| {
        walked += 1;
        let id: i64 = row.get(0)?;
        if candidates.contains(&id) {
            ids.push(id);
            if ids.len() == limit as usize {
                return Ok(false);
            }
        }
        if walked == LONG_WALK {
            row.text(1)?.clone_into(&mut last);
        }
        Ok(true)
    })?;
    if ids.len() == limit as usize {
        return Ok((ids, None));
    }
    let stopped = (walked == LONG_WALK).then_some(last);
    Ok((ids, stopped))
}

/// Whole rows for `ids`, in their order, read at once.
fn by_ids(db: &Db, ids: &[i64]) -> Result<Vec<UserRow>, StoreError> {
    let mut found = super::users::by_ids(db, ids)?;
    ids.iter()
        .map(|id| found.remove(id).ok_or_else(|| EngineError::NoRow.into()))
        .collect()
}

/// A search term as one FTS5 phrase: quotes doubled, so any input is safe.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// A term as `LIKE` reads it literally: `\`, `%` and `_` escaped with `\`
/// (`PostgreSQL`'s default escape).
fn like_escaped(term: &str) -> String {
    let mut escaped = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests;
