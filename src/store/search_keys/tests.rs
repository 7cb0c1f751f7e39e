//! The search keys on `SQLite`: kept exact by every write, read in email
//! order a page at a time, along the keys' own order and no sort.

use super::*;
use crate::store::{Store, TxMode};

/// Every row of the three key tables, in order.
fn keys(db: &Db) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for (table, a, b) in [
        ("users_search_starts", "start", "email"),
        ("users_search_trigrams", "gram", "email"),
        ("users_search_counts", "gram", "users"),
    ] {
        for row in db
            .query(
                &format!("SELECT {a}, CAST({b} AS TEXT) FROM {table} ORDER BY 1, 2"),
                &[],
            )
            .unwrap()
        {
            all.push((table.to_owned(), row.get(0).unwrap(), row.get(1).unwrap()));
        }
    }
    all
}

/// Run `sql` in a write transaction.
fn write(db: &Db, sql: &str) {
    db.transaction(TxMode::Write, |db| db.batch(sql)).unwrap();
}

fn store() -> Store {
    let store = Store::in_memory().unwrap();
    write(
        store.db(),
        "INSERT INTO users (email, name, role, status, created_at, grace_from) VALUES
             ('ann.lee@x.org', 'Ann Lee', 'member', 'active', 0, 0),
             ('bo.lee@x.org', 'Bo Lee', 'member', 'active', 0, 0),
             ('zoë@x.org', 'Zoë Berg', 'member', 'active', 0, 0);",
    );
    store
}

#[test]
fn every_write_leaves_the_keys_a_rebuild_would_make() {
    let store = store();
    let db = store.db();
    let rebuilt = |db: &Db| {
        let kept = keys(db);
        write(db, REBUILD);
        assert_eq!(keys(db), kept, "the triggers kept what a rebuild makes");
        kept
    };
    let first = rebuilt(db);
    assert!(first.contains(&(
        "users_search_starts".into(),
        "zo".into(),
        "zoë@x.org".into()
    )));
    assert!(first.contains(&("users_search_counts".into(), "lee".into(), "2".into())));
    write(
        db,
        "UPDATE users SET name = 'Ann Smith' WHERE email = 'ann.lee@x.org'",
    );
    let renamed = rebuilt(db);
    assert!(renamed.contains(&("users_search_counts".into(), "lee".into(), "2".into())));
    assert!(renamed.contains(&("users_search_counts".into(), "smi".into(), "1".into())));
    write(
        db,
        "UPDATE users SET email = 'bo@y.org' WHERE email = 'bo.lee@x.org'",
    );
    let moved = rebuilt(db);
    assert!(!moved.iter().any(|(_, _, e)| e == "bo.lee@x.org"));
    assert!(moved.contains(&("users_search_counts".into(), "lee".into(), "2".into())));
    write(db, "DELETE FROM users WHERE email = 'bo@y.org'");
    let gone = rebuilt(db);
    assert!(!gone.iter().any(|(_, _, e)| e == "bo@y.org"));
    // A trigram nobody has any more has no count at all (never zero).
    assert!(
        !gone
            .iter()
            .any(|(t, g, _)| t == "users_search_counts" && g == "bo@")
    );
    assert!(gone.contains(&("users_search_counts".into(), "lee".into(), "1".into())));
}

#[test]
fn a_connection_without_the_functions_cannot_change_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fd.db");
    drop(Store::create(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let add = "INSERT INTO users (email, name, role, status, created_at, grace_from)
               VALUES ('a@x.org', 'A', 'member', 'active', 0, 0)";
    let refused = conn.execute(add, []).unwrap_err();
    assert!(refused.to_string().contains("fd_word_starts"), "{refused}");
    crate::store::define_functions(&conn).unwrap();
    conn.execute(add, []).unwrap();
}

/// The emails of a page of `term` from `at`.
fn page(db: &Db, term: &str, at: Keyset<&str>, limit: u32) -> Vec<String> {
    let ids = page_ids(db, &Term::parse(term).unwrap(), at, limit)
        .unwrap()
        .unwrap();
    let mut emails: Vec<String> = ids
        .iter()
        .map(|id| {
            db.query_one("SELECT email FROM users WHERE id = ?1", &[(*id).into()])
                .unwrap()
                .get(0)
                .unwrap()
        })
        .collect();
    if at.backwards() {
        emails.reverse();
    }
    emails
}

#[test]
fn a_page_is_the_terms_users_in_email_order_from_its_place() {
    let store = Store::in_memory().unwrap();
    let db = store.db();
    let people: Vec<String> = (0..40)
        .map(|i| {
            let name = if i % 3 == 0 {
                "Mark Smith"
            } else {
                "Ann Smyth"
            };
            format!("('u{i:02}@x.org', '{name}', 'member', 'active', 0, 0)")
        })
        .collect();
    write(
        db,
        &format!(
            "INSERT INTO users (email, name, role, status, created_at, grace_from) VALUES {}",
            people.join(", ")
        ),
    );
    let marks: Vec<String> = (0..40)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("u{i:02}@x.org"))
        .collect();
    // "smith": its rarest trigram ("ith", 14 users) is walked, and each
    // user on it is tested (every one here is a Smith).
    assert_eq!(
        rarest(db, &Term::parse("smith").unwrap())
            .unwrap()
            .as_deref(),
        Some("ith")
    );
    assert_eq!(page(db, "smith", Keyset::First, 5), marks[..5]);
    assert_eq!(page(db, "smith", Keyset::After(&marks[4]), 5), marks[5..10]);
    assert_eq!(page(db, "smith", Keyset::From(&marks[4]), 2), marks[4..6]);
    assert_eq!(page(db, "smith", Keyset::Before(&marks[4]), 3), marks[1..4]);
    assert_eq!(page(db, "smith", Keyset::Last, 3), marks[11..]);
    assert_eq!(
        page(db, "smith", Keyset::After(&marks[13]), 5),
        Vec::<String>::new()
    );
    // "mark s": walks "mar" (or another of its trigrams) and keeps the whole term.
    assert_eq!(page(db, "mark s", Keyset::First, 99), marks);
    // A word start: exactly the key's users. "sm" is everyone's surname.
    assert_eq!(page(db, "sm", Keyset::First, 99).len(), 40);
    assert_eq!(page(db, "ma", Keyset::First, 99), marks);
    // A trigram nobody has: nobody, with nothing walked.
    assert_eq!(rarest(db, &Term::parse("smiq").unwrap()).unwrap(), None);
    assert!(page(db, "smiq", Keyset::First, 9).is_empty());
    // Terms no key answers.
    assert!(
        page_ids(db, &Term::parse("@").unwrap(), Keyset::First, 9)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_page_walks_the_keys_order_and_never_sorts() {
    let store = store();
    let db = store.db();
    for (table, column) in [
        ("users_search_starts", "start"),
        ("users_search_trigrams", "gram"),
    ] {
        for at in [
            Keyset::First,
            Keyset::After("b"),
            Keyset::Before("b"),
            Keyset::Last,
        ] {
            let walk = Walk {
                table,
                column,
                key: "le".to_owned(),
            };
            let (sql, w) = walk_sql(&walk, at);
            let plan: Vec<String> = db
                .query(&format!("EXPLAIN QUERY PLAN {sql}"), w.args())
                .unwrap()
                .iter()
                .map(|r| r.get(3).unwrap())
                .collect();
            let plan = plan.join(" | ");
            assert!(plan.contains("SEARCH k USING PRIMARY KEY"), "{plan}");
            assert!(
                plan.contains("SEARCH u USING COVERING INDEX users_email_search (email=?)"),
                "{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
