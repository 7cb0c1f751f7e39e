//! `factordesk migrate` (issue 12, moving a team): a demo database round
//! trips file → `PostgreSQL` → file with every row, id, seal and the audit
//! chain as they were; a target that is not empty, a file that exists, a bad
//! URL and a wrong key are refused with one line and nothing written. The
//! `PostgreSQL` runs need `FACTORDESK_TEST_PG` (skipped, saying so, without).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use factordesk::store::transfer::TABLES;
use rusqlite::types::Value;
use support::cli::{factordesk, run};
use support::pg::Scratch;

const NOW: &str = "2026-11-21T09:00:00Z";

/// Every table's rows in a database file, in key order, and its sequences.
fn rows(path: &Path) -> Vec<(String, Vec<Vec<Value>>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut all = Vec::new();
    for t in &TABLES {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {} FROM {} ORDER BY {}",
                t.columns.join(", "),
                t.name,
                t.key
            ))
            .unwrap();
        let n = t.columns.len();
        let got = stmt
            .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .collect::<rusqlite::Result<Vec<Vec<Value>>>>()
            .unwrap();
        all.push((t.name.to_owned(), got));
    }
    let mut stmt = conn
        .prepare("SELECT name, seq FROM sqlite_sequence ORDER BY name")
        .unwrap();
    let seqs = stmt
        .query_map([], |r| {
            Ok(vec![r.get::<_, Value>(0)?, r.get::<_, Value>(1)?])
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    all.push(("sqlite_sequence".to_owned(), seqs));
    all
}

fn demo(dir: &Path, users: Option<&str>) {
    let mut cmd = factordesk(dir);
    cmd.args(["--db", "demo.db", "demo", "--no-open", "--now", NOW]);
    if let Some(n) = users {
        cmd.args(["--users", n]);
    }
    run(cmd, None).ok();
}

fn migrate(dir: &Path, db: &str, args: &[&str]) -> support::cli::Out {
    let mut cmd = factordesk(dir);
    cmd.args(["--db", db, "migrate"]).args(args);
    run(cmd, None)
}

fn round_trip(label: &str, users: Option<&str>) {
    let Some(scratch) = Scratch::new(label) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), users);
    let to = migrate(dir.path(), "demo.db", &["--json", "--to", &scratch.url]).quiet();
    let report = to.json();
    assert!(report["chain_verified"].as_i64().unwrap() > 0, "{report}");
    assert!(
        report["key_file"]
            .as_str()
            .unwrap()
            .ends_with("demo.db.key")
    );
    assert!(!to.stdout.contains(&scratch.url), "no password shown");

    // The PostgreSQL side gives out ids past every copied one.
    let mut client = scratch.client();
    for t in TABLES.iter().filter(|t| t.sequence) {
        let row = client
            .query_one(
                &format!(
                    "SELECT coalesce(max(id), 0),
                         coalesce(pg_sequence_last_value(pg_get_serial_sequence('{0}', 'id')::regclass), 0)
                     FROM {0}",
                    t.name
                ),
                &[],
            )
            .unwrap();
        let (max, last): (i64, i64) = (row.get(0), row.get(1));
        assert!(last >= max, "{}: sequence {last} behind id {max}", t.name);
    }

    let from = migrate(
        dir.path(),
        "back.db",
        &["--key-file", "demo.db.key", "--from", &scratch.url],
    )
    .quiet();
    assert!(from.stdout.contains("back.db.key"), "{from:?}");
    let (before, after) = (
        rows(&dir.path().join("demo.db")),
        rows(&dir.path().join("back.db")),
    );
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        assert_eq!(a.len(), b.len(), "{name}: row count");
        assert!(a == b, "{name}: rows differ");
    }
    // The copy opens with its own key file, its chain whole, its search kept.
    let mut cmd = factordesk(dir.path());
    cmd.args(["--db", "back.db", "audit", "verify"]);
    run(cmd, None).quiet();
    let mut cmd = factordesk(dir.path());
    cmd.args([
        "--db", "back.db", "--json", "user", "list", "--search", "tanaka",
    ]);
    let mut again = factordesk(dir.path());
    again.args([
        "--db", "demo.db", "--json", "user", "list", "--search", "tanaka",
    ]);
    assert_eq!(run(cmd, None).ok().stdout, run(again, None).ok().stdout);
}

#[test]
fn the_demo_round_trips_through_postgresql_row_for_row() {
    round_trip("migrate_demo", None);
}

#[test]
fn a_generated_crowd_round_trips_through_postgresql_row_for_row() {
    round_trip("migrate_crowd", Some("200"));
}

#[test]
fn a_target_that_is_not_empty_is_refused_with_nothing_written() {
    let Some(scratch) = Scratch::new("migrate_not_empty") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), None);
    // Someone else's table.
    let mut client = scratch.client();
    client.batch_execute("CREATE TABLE notes (x int)").unwrap();
    let line = migrate(dir.path(), "demo.db", &["--to", &scratch.url]).error_line();
    assert!(
        line.contains("not a factordesk database") && line.contains("--to"),
        "{line}"
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was written");
    client.batch_execute("DROP TABLE notes").unwrap();

    // A factordesk database with data: a second copy is refused whole.
    migrate(dir.path(), "demo.db", &["--to", &scratch.url]).quiet();
    let count = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT count(*) FROM audit", &[])
            .unwrap()
            .get(0)
    };
    let events = count(&mut client);
    let line = migrate(dir.path(), "demo.db", &["--to", &scratch.url]).error_line();
    assert!(
        line.contains("is not empty") && line.contains("left untouched"),
        "{line}"
    );
    assert_eq!(count(&mut client), events);
}

#[test]
fn from_refuses_an_existing_file_a_wrong_key_and_an_empty_source() {
    let Some(scratch) = Scratch::new("migrate_from") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // An empty database: nothing to copy.
    let line = migrate(
        dir.path(),
        "new.db",
        &["--key-file", "none.key", "--from", &scratch.url],
    )
    .error_line();
    assert!(
        line.contains("nothing to copy") || line.contains("none.key"),
        "{line}"
    );
    demo(dir.path(), None);
    migrate(dir.path(), "demo.db", &["--to", &scratch.url]).quiet();

    std::fs::write(dir.path().join("taken.db"), b"mine").unwrap();
    let line = migrate(
        dir.path(),
        "taken.db",
        &["--key-file", "demo.db.key", "--from", &scratch.url],
    )
    .error_line();
    assert!(line.contains("already exists"), "{line}");
    assert_eq!(std::fs::read(dir.path().join("taken.db")).unwrap(), b"mine");
    assert!(!dir.path().join("taken.db.key").exists());

    // Another database's key: refused before a file is made.
    let mut other = factordesk(dir.path());
    other.args(["--db", "other.db", "init"]);
    run(other, None).ok();
    let line = migrate(
        dir.path(),
        "new.db",
        &["--key-file", "other.db.key", "--from", &scratch.url],
    )
    .error_line();
    assert!(line.contains("key"), "{line}");
    assert!(!dir.path().join("new.db").exists());
    assert!(!dir.path().join("new.db.key").exists());
    // No key at all: the line names both ways to give it.
    let out = migrate(dir.path(), "new.db", &["--from", &scratch.url]);
    let line = out.refused(2);
    assert!(
        line.contains("--key-file") && line.contains("FACTORDESK_KEY"),
        "{line}"
    );
}

#[test]
fn bad_urls_and_unreachable_servers_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), None);
    for (url, words) in [
        ("postgres://host", "write --to as postgresql://"),
        ("mysql://u:hunter2@host/db", "write --to as postgresql://"),
        (
            "postgres://u:hunter2@127.0.0.1:1/fd?connect_timeout=2",
            "cannot reach the PostgreSQL server at 127.0.0.1:1",
        ),
    ] {
        let line = migrate(dir.path(), "demo.db", &["--to", url]).error_line();
        assert!(line.contains(words), "{url}: {line}");
        assert!(!line.contains("hunter2"), "{line}");
    }
    let line = migrate(dir.path(), "back.db", &["--from", "postgres://h"]).error_line();
    assert!(line.contains("write --from as postgresql://"), "{line}");
    assert!(!dir.path().join("back.db").exists());
    // Neither way given, or both: a usage error.
    let out = migrate(dir.path(), "demo.db", &[]);
    assert_eq!(out.code, 2, "{out:?}");
}
