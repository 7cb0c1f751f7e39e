//! Test only: what a query plan may do with the tables that grow, judged from
//! `EXPLAIN QUERY PLAN` and the statement's own WHERE clause.
//!
//! A growing table (and `users`) is searched through an index, or walked
//! along one from an end for a page: under a `LIMIT`, with no sort, and
//! testing no row for anything the index does not answer, so the walk stops
//! after the page. Any other scan is a fault, and so is a walk that tests
//! rows: when matches are rare it reads the whole table to fill a page.
//! Recovery readiness alone may pass over every user (see [`READINESS`]),
//! and the search keys' rebuild at a batch's end.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use rusqlite::types::Null;

/// The tables that grow with use.
pub(super) const GROWING: [&str; 7] = [
    "audit",
    "attempts",
    "challenges",
    "deliveries",
    "backup_codes",
    "devices",
    "factors",
];

/// The path that computes recovery readiness. It rates every active user
/// in one pass over `users`, by design: on the console's worker thread,
/// or for an export, never per keystroke. Its statements alone may scan
/// `users`.
pub(super) const READINESS: &str = "readiness";

/// Whether `sql` files every user under their search keys again: at the
/// end of a batch that put the keys' triggers off, it reads every user
/// once, by design, as the full-text indexes' rebuild beside it does.
fn files_search_keys(sql: &str) -> bool {
    sql.trim_start().starts_with("INSERT INTO users_search_")
}

/// Whether `sql` reads or writes rows (and so has a plan): not a
/// transaction's start or end, a pragma, or a trigger's `-- TRIGGER` note.
pub(super) fn queries(sql: &str) -> bool {
    let first = words(sql.split("--").next().unwrap_or_default());
    matches!(
        first.first().map(String::as_str),
        Some("select" | "insert" | "update" | "delete" | "replace" | "with")
    )
}

/// The query plan of `sql`, one line per step, indented by depth.
/// Placeholders are bound to NULL: the store prepares under the planner's
/// stability guarantee, so no value changes a plan.
pub(super) fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("cannot explain {sql}: {e}"));
    let nulls = vec![Null; stmt.parameter_count()];
    let rows: Vec<(i64, i64, String)> = stmt
        .query_map(rusqlite::params_from_iter(nulls), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut depth: BTreeMap<i64, usize> = BTreeMap::new();
    rows.into_iter()
        .map(|(id, parent, detail)| {
            let d = depth.get(&parent).map_or(0, |d| d + 1);
            depth.insert(id, d);
            format!("{}{detail}", "  ".repeat(d))
        })
        .collect()
}

/// The condition of each partial index, as the terms of its WHERE.
pub(super) fn partial_indexes(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    rows.map(Result::unwrap)
        .map(|(name, sql)| (name, where_terms(&normal(&sql))))
        .filter(|(_, terms)| !terms.is_empty())
        .collect()
}

/// `sql` outside its literals in lower case, single-spaced, and without
/// table qualifiers (`a.at` is `at`); literals as they are.
fn normal(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_string = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
            out.push(c);
        } else if in_string {
            out.push(c);
        } else if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if c == '.' && chars.peek().is_some_and(|n| n.is_alphabetic() || *n == '_') {
            // A qualifier: drop it, and the dot.
            let kept = out.trim_end_matches(|p: char| p.is_alphanumeric() || p == '_');
            out.truncate(kept.len());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.trim().to_owned()
}

/// `text` split at `sep` where it is outside parentheses and literals.
fn split_top(text: &str, sep: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut depth, mut in_string, mut start) = (0i32, false, 0);
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or(' ');
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => depth -= 1,
            _ if !in_string && depth == 0 && text[i..].starts_with(sep) => {
                parts.push(text[start..i].to_owned());
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    parts.push(text[start..].to_owned());
    parts
}

/// The terms of a normalised statement's own WHERE (not its subqueries').
fn where_terms(normal: &str) -> Vec<String> {
    let after = split_top(normal, " where ");
    let Some(rest) = after.get(1) else {
        return Vec::new();
    };
    let mut clause = rest.as_str();
    for end in [" order by ", " group by ", " limit "] {
        let before = split_top(clause, end)[0].len();
        clause = &clause[..before];
    }
    split_top(clause, " and ")
        .into_iter()
        .map(|t| t.trim().to_owned())
        .collect()
}

/// The identifiers of `text` outside its literals, in lower case
/// (`TRUE` and `FALSE` are literals: the store's empty WHERE is `TRUE`).
fn identifiers(text: &str) -> BTreeSet<String> {
    words(text)
        .into_iter()
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .filter(|w| w != "true" && w != "false")
        .collect()
}

/// The words of `sql` outside its string and blob literals, in lower case.
fn words(sql: &str) -> Vec<String> {
    let mut code = String::with_capacity(sql.len());
    let mut in_string = false;
    for c in sql.chars() {
        if c == '\'' {
            in_string = !in_string;
            code.push(' ');
        } else if !in_string {
            code.push(c);
        }
    }
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Words that may follow a table's name but are not an alias.
const NOT_ALIASES: [&str; 18] = [
    "where", "join", "left", "inner", "cross", "on", "order", "group", "limit", "set", "values",
    "using", "indexed", "not", "union", "select", "default", "natural",
];

/// The names a statement reads `users` and the growing tables by (each
/// table's own name and its aliases), with the table each stands for.
fn table_names(sql: &str) -> BTreeMap<String, &'static str> {
    let words = words(sql);
    let mut names = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        if !matches!(w.as_str(), "from" | "join" | "update" | "into") {
            continue;
        }
        let Some(table) = words.get(i + 1).and_then(|t| {
            GROWING
                .iter()
                .chain(&["users"])
                .find(|g| **g == t.as_str())
                .copied()
        }) else {
            continue;
        };
        names.insert(table.to_owned(), table);
        let alias = match words.get(i + 2).map(String::as_str) {
            Some("as") => words.get(i + 3),
            Some(a) if !NOT_ALIASES.contains(&a) => words.get(i + 2),
            _ => None,
        };
        if let Some(alias) = alias {
            names.insert(alias.clone(), table);
        }
    }
    names
}

/// The terms of `terms` that a walk along `index` must test row by row:
/// not constant, not the index's own condition, and on no column the
/// index bounds (`constrained`).
fn tested<'t>(
    terms: &'t [String],
    partial: Option<&Vec<String>>,
    constrained: &BTreeSet<String>,
) -> Vec<&'t str> {
    terms
        .iter()
        .filter(|t| {
            let columns = identifiers(t);
            !columns.is_empty()
                && !partial.is_some_and(|p| p.contains(t))
                && columns.is_disjoint(constrained)
        })
        .map(String::as_str)
        .collect()
}

/// What is wrong with `plan` for `sql`, run by `paths`; `None` when every
/// read of a growing table or `users` is a search or a page walk.
/// `partial` holds the partial indexes' conditions.
pub(super) fn fault(
    sql: &str,
    plan: &[String],
    partial: &BTreeMap<String, Vec<String>>,
    paths: &BTreeSet<&'static str>,
) -> Option<String> {
    let names = table_names(sql);
    let terms = where_terms(&normal(sql));
    let limited = words(sql).iter().any(|w| w == "limit");
    let sorted = plan.iter().any(|l| l.contains("USE TEMP B-TREE"));
    let page = limited && !sorted;
    for line in plan.iter().map(|l| l.trim_start()) {
        let (search, rest) = if let Some(rest) = line.strip_prefix("SEARCH ") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("SCAN ") {
            (false, rest)
        } else {
            continue;
        };
        let Some(&table) = names.get(rest.split(' ').next().unwrap_or_default()) else {
            continue;
        };
        if table == "users" && (paths.iter().all(|p| *p == READINESS) || files_search_keys(sql)) {
            continue;
        }
        let index = rest
            .split_once(" INDEX ")
            .map(|(_, i)| i.split(' ').next().unwrap_or_default());
        // `SEARCH t USING INDEX i (a=? AND b>?)`: what bounds the search.
        let bounds = rest
            .split_once(" (")
            .map_or("", |(_, b)| b.strip_suffix(')').unwrap_or(b));
        let walked = match (search, index) {
            (false, None) => return Some(format!("`{line}`: {table} read whole")),
            (false, Some(index)) if !page => {
                return Some(format!("`{line}`: all of {index} read, not a page"));
            }
            // A range alone, for a page: walked until the page is full.
            // A range of the rowid is one of `id`, the tables' integer
            // primary key, which it stands for.
            (true, _) if page && !bounds.contains("=?") => {
                let mut walked = identifiers(bounds);
                if walked.contains("rowid") {
                    walked.insert("id".to_owned());
                }
                walked
            }
            (true, _) => continue,
            (false, Some(_)) => BTreeSet::new(),
        };
        let tested = tested(&terms, index.and_then(|i| partial.get(i)), &walked);
        if !tested.is_empty() {
            return Some(format!(
                "`{line}`: walks {table} testing `{}` on each row, so a page can read the whole table",
                tested.join(" and ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_read_as_terms_and_names() {
        let sql = "SELECT a.id FROM audit a LEFT JOIN users u ON u.id = a.user_id
                   WHERE a.kind = 'x.y AND z' AND (a.at, a.id) < (?1, ?2)
                     AND a.id IN (SELECT id FROM audit WHERE at > 1)
                   ORDER BY a.at DESC LIMIT 5";
        assert_eq!(
            where_terms(&normal(sql)),
            [
                "kind = 'x.y AND z'",
                "(at, id) < (?1, ?2)",
                "id in (select id from audit where at > 1)"
            ]
        );
        let names = table_names(sql);
        assert_eq!(names.get("a"), Some(&"audit"));
        assert_eq!(names.get("u"), Some(&"users"));
        assert_eq!(table_names("SELECT * FROM factors WHERE id = 1").len(), 1);
    }

    #[test]
    fn true_and_false_are_literals_not_columns() {
        assert!(identifiers("TRUE").is_empty());
        assert!(identifiers("FALSE").is_empty());
        assert_eq!(
            identifiers("truest = true"),
            BTreeSet::from(["truest".to_owned()])
        );
    }
}
