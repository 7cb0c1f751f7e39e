//! The keys `SQLite` files each user under for the Users search (schema
//! step 17), the SQL functions that compute them, and a page read from them.
//!
//! A one- or two-character term is a word start, and its key's users are
//! exactly the users it finds. A longer term walks its rarest trigram's
//! users and keeps those it finds. Either way the walk is in email order and
//! stops when the page is full, so a page costs the same at 1,000 users as
//! at 100,000: the step's tables keep each key's users sorted by email.

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};

use super::engine::{Db, Row};
use super::{Keyset, StoreError, Where};
use crate::domain::search::{self, Term};

/// The SQL that builds `SQLite`'s search again from `users` (the full-text
/// indexes, and every user filed under their keys from nothing): at the end
/// of a batch or a transfer that put the triggers keeping them off.
pub(super) const REBUILD: &str = "
    INSERT INTO users_fts (users_fts) VALUES ('rebuild');
    INSERT INTO users_words (users_words) VALUES ('rebuild');
    DELETE FROM users_search_starts;
    DELETE FROM users_search_trigrams;
    DELETE FROM users_search_counts;
    INSERT INTO users_search_starts (start, email)
        SELECT j.value, u.email FROM users AS u, json_each(fd_word_starts(u.email, u.name)) AS j
        ORDER BY 1, 2;
    INSERT INTO users_search_trigrams (gram, email)
        SELECT j.value, u.email FROM users AS u, json_each(fd_trigrams(u.email, u.name)) AS j
        ORDER BY 1, 2;
    INSERT INTO users_search_counts (gram, users)
        SELECT gram, count(*) FROM users_search_trigrams GROUP BY gram;";

/// Define `fd_word_starts(email, name)` and `fd_trigrams(email, name)`,
/// each a JSON array of a user's keys, which the step's triggers call.
pub(super) fn define(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("fd_word_starts", 2, flags, |ctx| {
        keys_json(ctx, search::word_starts)
    })?;
    conn.create_scalar_function("fd_trigrams", 2, flags, |ctx| {
        keys_json(ctx, search::trigrams)
    })
}

/// A user's keys as a JSON array, from the function's (email, name).
fn keys_json(
    ctx: &Context<'_>,
    keys: fn(&str, &str) -> std::collections::BTreeSet<String>,
) -> rusqlite::Result<String> {
    let email = ctx.get::<Option<String>>(0)?.unwrap_or_default();
    let name = ctx.get::<Option<String>>(1)?.unwrap_or_default();
    Ok(json_array(keys(&email, &name)))
}

/// Keys as a JSON array of strings.
fn json_array(keys: std::collections::BTreeSet<String>) -> String {
    serde_json::Value::from(keys.into_iter().collect::<Vec<_>>()).to_string()
}

/// Where a term's page is read from: a key table, its key column and key.
struct Walk {
    table: &'static str,
    column: &'static str,
    key: String,
}

/// The ids of one page of the users `term` finds in the whole list, in
/// email order from `at` (read backwards for `Before` and `Last`); `None`
/// for the terms no key answers (an email's start, a phone number).
pub(super) fn page_ids(
    db: &Db,
    term: &Term,
    at: Keyset<&str>,
    limit: u32,
) -> Result<Option<Vec<i64>>, StoreError> {
    let walk = match term {
        Term::WordStart(start) => Walk {
            table: "users_search_starts",
            column: "start",
            key: start.clone(),
        },
        Term::Anywhere(_) => match rarest(db, term)? {
            Some(gram) => Walk {
                table: "users_search_trigrams",
                column: "gram",
                key: gram,
            },
            // A trigram nobody has: nobody has the term.
            None => return Ok(Some(Vec::new())),
        },
        Term::EmailStart(_) | Term::Phone(_) => return Ok(None),
    };
    let (sql, w) = walk_sql(&walk, at);
    let mut ids = Vec::new();
    db.each(&sql, w.args(), |row: Row| {
        if term.matches(row.text(1)?, row.text(2)?, None) {
            ids.push(row.get::<i64>(0)?);
        }
        Ok(ids.len() < limit as usize)
    })?;
    Ok(Some(ids))
}

/// The statement walking a key's users in email order from `at`, with
/// each one's id and name from the email index (the test reads the name).
/// `CROSS JOIN` keeps the key the outer loop whatever the statistics say:
/// `users` first would mean walking every user for a page.
fn walk_sql(walk: &Walk, at: Keyset<&str>) -> (String, Where) {
    let mut w = Where::default();
    let key = w.bind(walk.key.clone());
    w.and(format!("k.{} = {key}", walk.column));
    let order = w.in_order(at, "k.email");
    let sql = format!(
        "SELECT u.id, u.email, u.name FROM {} AS k
         CROSS JOIN users AS u INDEXED BY users_email_search ON u.email = k.email
         WHERE {} ORDER BY k.email {order}",
        walk.table,
        w.sql()
    );
    (sql, w)
}

/// The term's trigram the fewest users have; `None` when some trigram of
/// it nobody has.
fn rarest(db: &Db, term: &Term) -> Result<Option<String>, StoreError> {
    let grams = term.trigrams();
    let wanted = grams.len();
    let counted = db.query(
        "SELECT gram FROM users_search_counts
         WHERE gram IN (SELECT value FROM json_each(?1)) ORDER BY users, gram",
        &[json_array(grams).into()],
    )?;
    if counted.len() < wanted {
        return Ok(None);
    }
    counted.first().map(|row| row.get(0)).transpose()
}

#[cfg(test)]
mod tests;
