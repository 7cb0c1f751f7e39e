//! The `PostgreSQL` schema against `schema.sql`: the same tables and columns,
//! the same constraints, and triggers that keep the same counters and the
//! same append-only audit trail; search indexes that find what `FTS5` finds.

use std::collections::BTreeMap;

use factordesk::store::engine::{Db, Engine, Value};
use factordesk::store::{self, pg};

use crate::support::pg::Scratch;

/// `SQLite` with the whole schema, through the handle.
fn sqlite() -> Db {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    store::define_functions(&conn).unwrap();
    let db = Db::sqlite(conn);
    for step in store::steps() {
        db.batch(step).unwrap();
    }
    db
}

fn postgres(scratch: &Scratch) -> Db {
    pg::open(&pg::PgUrl::parse(&scratch.url).unwrap()).unwrap()
}

/// Each table's columns, with whether they take NULL.
fn sqlite_columns(db: &Db) -> BTreeMap<String, Vec<(String, bool)>> {
    let mut out = BTreeMap::new();
    let tables = db
        .query(
            "SELECT name FROM sqlite_schema WHERE type = 'table'
             AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'users_fts%'
             AND name NOT LIKE 'users_words%' AND name NOT LIKE 'users_search_%'
             ORDER BY name",
            &[],
        )
        .unwrap();
    for t in tables {
        let name: String = t.get(0).unwrap();
        let mut cols: Vec<(String, bool)> = db
            .query(
                "SELECT name, \"notnull\" FROM pragma_table_xinfo(?1)",
                &[name.clone().into()],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), !r.get::<bool>(1).unwrap()))
            .collect();
        cols.sort();
        out.insert(name, cols);
    }
    out
}

fn postgres_columns(db: &Db) -> BTreeMap<String, Vec<(String, bool)>> {
    let mut out: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for r in db
        .query(
            "SELECT table_name::text, column_name::text, is_nullable = 'YES'
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> ?1
             ORDER BY 1, 2",
            &[pg::VERSIONS.into()],
        )
        .unwrap()
    {
        out.entry(r.get(0).unwrap())
            .or_default()
            .push((r.get(1).unwrap(), r.get(2).unwrap()));
    }
    // PostgreSQL's own search column (SQLite: the users_words table).
    if let Some(users) = out.get_mut("users") {
        users.retain(|(c, _)| c != "word_starts");
    }
    out
}

#[test]
fn the_same_tables_and_columns_as_sqlite() {
    let Some(scratch) = Scratch::new("columns") else {
        return;
    };
    let lite = sqlite_columns(&sqlite());
    assert!(lite.contains_key("users") && lite.contains_key("audit_head"));
    let mut pg = postgres_columns(&postgres(&scratch));
    // Primary keys take no NULL on PostgreSQL; SQLite's INTEGER PRIMARY KEY
    // says the same by being the rowid.
    for (table, cols) in &mut pg {
        for (col, nullable) in cols.iter_mut() {
            let lite_nullable = lite
                .get(table)
                .and_then(|c| c.iter().find(|(n, _)| n == col))
                .is_some_and(|(_, n)| *n);
            if lite_nullable && !*nullable {
                *nullable = true;
            }
        }
    }
    assert_eq!(pg, lite);
}

/// The same rows written on either engine: users, factors, codes, audit.
fn write_people(db: &Db) {
    for (email, name, role, status) in [
        (
            "ann.marie@example.org",
            "Ann-Marie Smith",
            "admin",
            "active",
        ),
        ("bob@example.org", "Bob Jones", "member", "active"),
        ("carl@example.org", "Carl Zoo", "member", "disabled"),
    ] {
        db.execute(
            "INSERT INTO users (email, name, role, status, created_at, grace_from)
             VALUES (?1, ?2, ?3, ?4, 0, 0)",
            &[email.into(), name.into(), role.into(), status.into()],
        )
        .unwrap();
    }
    for (user, kind, status) in [
        (1, "totp", "active"),
        (1, "sms", "active"),
        (2, "totp", "pending"),
        (3, "email", "pending"),
    ] {
        db.execute(
            "INSERT INTO factors (user_id, kind, status, label, created_at) VALUES (?1, ?2, ?3, 'x', 0)",
            &[Value::Integer(user), kind.into(), status.into()],
        )
        .unwrap();
    }
    db.execute(
        "UPDATE factors SET status = 'active' WHERE user_id = 2",
        &[],
    )
    .unwrap();
    db.execute(
        "UPDATE users SET codes_total = 10, codes_left = 3 WHERE id = 3",
        &[],
    )
    .unwrap();
    // Carl goes, and his pending factor with him (ON DELETE CASCADE).
    db.execute("DELETE FROM users WHERE id = 3", &[]).unwrap();
    let left: i64 = db
        .query_one("SELECT count(*) FROM factors WHERE user_id = 3", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(left, 0);
}

fn counts(db: &Db) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = db
        .query(
            "SELECT name, value FROM counters WHERE value <> 0 ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.values().to_vec())
        .collect();
    rows.extend(
        db.query(
            "SELECT id, active_factors, factor_kinds, codes_total, codes_left FROM users ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.values().to_vec()),
    );
    rows
}

#[test]
fn triggers_keep_the_same_counters() {
    let lite = sqlite();
    write_people(&lite);
    let expected = counts(&lite);
    assert!(
        expected
            .iter()
            .any(|r| r[0] == Value::Text("users".into()) && r[1] == Value::Integer(2))
    );
    let Some(scratch) = Scratch::new("counters") else {
        return;
    };
    let pg = postgres(&scratch);
    write_people(&pg);
    assert_eq!(counts(&pg), expected);
}

#[test]
fn the_audit_trail_is_append_only() {
    let Some(scratch) = Scratch::new("audit") else {
        return;
    };
    let db = postgres(&scratch);
    db.execute(
        "INSERT INTO audit (at, actor, kind, detail) VALUES (1, 'a', 'k', 'd')",
        &[],
    )
    .unwrap();
    // Before the chain starts, seq and mac may be filled in once.
    db.execute("UPDATE audit SET seq = 1, mac = ?1", &[vec![1u8].into()])
        .unwrap();
    for sql in [
        "UPDATE audit SET seq = 2",
        "UPDATE audit SET detail = 'x'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "DELETE FROM audit_head",
    ] {
        let err = db.execute(sql, &[]).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    db.execute("UPDATE audit_head SET chained = 1", &[])
        .unwrap();
    let err = db
        .execute("UPDATE audit_head SET chained = 0", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("append-only"), "{err}");
    // CHECK constraints are there too.
    assert!(
        db.execute(
            "INSERT INTO users (email, role, status, created_at, grace_from)
             VALUES ('x@y.z', 'boss', 'active', 0, 0)",
            &[]
        )
        .is_err()
    );
}

#[test]
fn search_indexes_find_words_and_fragments() {
    let Some(scratch) = Scratch::new("search") else {
        return;
    };
    let db = postgres(&scratch);
    write_people(&db);
    let find = |sql: &str, term: &str| -> Vec<i64> {
        db.query(sql, &[term.into()])
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect()
    };
    let word = "SELECT id FROM users WHERE word_starts @> ARRAY[lower(?1)] ORDER BY email";
    assert_eq!(
        find(word, "Ma"),
        [1],
        "marie, a word of the email and the name"
    );
    assert_eq!(find(word, "j"), [2]);
    assert_eq!(find(word, "ar"), Vec::<i64>::new(), "not a word's start");
    let anywhere = "SELECT id FROM users WHERE email ILIKE '%' || ?1 || '%'
                    OR name ILIKE '%' || ?1 || '%' ORDER BY email";
    assert_eq!(find(anywhere, "MIT"), [1]);
    assert_eq!(find(anywhere, "b@e"), [2]);
    // The same address in another case is taken, as COLLATE NOCASE does.
    assert!(
        db.execute(
            "INSERT INTO users (email, role, status, created_at, grace_from)
             VALUES ('BOB@example.org', 'member', 'active', 0, 0)",
            &[]
        )
        .is_err()
    );
}

/// People whose emails and names split into words in several ways.
const PEOPLE: [(&str, &str); 12] = [
    ("ann.marie@example.org", "Ann-Marie Smith"),
    ("bob_jones@example.org", "Bob Jones"),
    ("c.zoo+desk@mail.example.com", "Carl Zoo"),
    ("dmitri77@example.net", "Dmitri Ivanov 2nd"),
    ("MAR.smithson@example.org", "Mar Smithson"),
    ("o'brien@example.ie", "Sean O'Brien"),
    ("x1y2@example.org", ""),
    ("lee@smith.example", "Lee  Smith-Jones"),
    ("ma@example.org", "M. A."),
    ("zzq@example.org", "Zed Q"),
    ("amar@example.in", "Amar Marathe"),
    ("team-lead@example.org", "Team Lead"),
];

/// The ids a search finds on `SQLite` (through `FTS5`, as the store asks it)
/// and on `PostgreSQL` (through its indexes), for one term.
fn found_by(db: &Db, term: &str, words: bool) -> Vec<i64> {
    let sql = match (db.engine(), words) {
        (Engine::Sqlite, false) => "SELECT rowid FROM users_fts WHERE users_fts MATCH ?1",
        (Engine::Sqlite, true) => "SELECT rowid FROM users_words WHERE users_words MATCH ?1",
        (Engine::Postgres, false) => {
            "SELECT id FROM users WHERE email ILIKE '%' || ?1 || '%' OR name ILIKE '%' || ?1 || '%'"
        }
        (Engine::Postgres, true) => "SELECT id FROM users WHERE word_starts @> ARRAY[lower(?1)]",
    };
    let param = match (db.engine(), words) {
        (Engine::Sqlite, false) => format!("\"{term}\""),
        (Engine::Sqlite, true) => format!("\"{term}\"*"),
        (Engine::Postgres, _) => term.to_owned(),
    };
    let mut ids: Vec<i64> = db
        .query(sql, &[param.into()])
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn search_finds_what_fts5_finds() {
    let Some(scratch) = Scratch::new("search_parity") else {
        return;
    };
    let engines = [sqlite(), postgres(&scratch)];
    for db in &engines {
        for (email, name) in PEOPLE {
            db.execute(
                "INSERT INTO users (email, name, role, status, created_at, grace_from)
                 VALUES (?1, ?2, 'member', 'active', 0, 0)",
                &[email.into(), name.into()],
            )
            .unwrap();
        }
    }
    let [lite, pg] = &engines;
    // One and two characters: the start of a word, any case.
    for term in [
        "m", "M", "ma", "sm", "j", "77", "2", "x1", "o", "br", "le", "z", "q", "de",
    ] {
        let expected = found_by(lite, term, true);
        assert_eq!(found_by(pg, term, true), expected, "word start {term:?}");
    }
    // Three or more: anywhere in the email or the name, any case.
    for term in [
        "mar",
        "MAR",
        "smith",
        "ith",
        "@ex",
        "ple.org",
        "o'b",
        "zzq",
        "n-m",
        "e s",
        "team-lead",
        "amar",
        "nobody",
    ] {
        let expected = found_by(lite, term, false);
        assert_eq!(found_by(pg, term, false), expected, "anywhere {term:?}");
    }
    // ann.marie, c.zoo@mail, MAR.smithson, ma@, Amar Marathe.
    assert_eq!(found_by(lite, "ma", true), [1, 3, 5, 9, 11]);
}

#[test]
fn an_address_taken_in_another_case_is_skipped_on_both_engines() {
    // As users::insert says it: no conflict target, since
    // PostgreSQL's unique index is on the folded address, not the column.
    let insert = |db: &Db, email: &str| {
        db.execute(
            "INSERT INTO users (email, role, status, created_at, grace_from)
             VALUES (?1, 'member', 'active', 0, 0) ON CONFLICT DO NOTHING",
            &[email.into()],
        )
        .unwrap()
    };
    let lite = sqlite();
    assert_eq!(insert(&lite, "bob@example.org"), 1);
    assert_eq!(insert(&lite, "BOB@Example.org"), 0);
    let Some(scratch) = Scratch::new("nocase") else {
        return;
    };
    let pg = postgres(&scratch);
    assert_eq!(insert(&pg, "bob@example.org"), 1);
    assert_eq!(insert(&pg, "BOB@Example.org"), 0);
}
