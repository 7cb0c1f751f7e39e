//! Opening a `PostgreSQL` database: each refusal is one line and leaves the
//! database as it was; an empty or older one is brought to the latest step.

use factordesk::store::StoreError;
use factordesk::store::engine::{Db, EngineError};
use factordesk::store::pg::{self, Found, PgUrl};

use crate::support::pg::{Scratch, with_database};

fn url(text: &str) -> PgUrl {
    PgUrl::parse(text).unwrap()
}

/// What a refused open must not have changed: the tables, the steps
/// recorded, and the extensions.
fn fingerprint(db: &Db) -> Vec<String> {
    db.query(
        "SELECT 'table ' || tablename FROM pg_tables WHERE schemaname = current_schema()
         UNION ALL SELECT 'extension ' || extname FROM pg_extension
         ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get::<String>(0).unwrap())
    .collect()
}

fn one_line(e: &StoreError) -> String {
    let text = e.to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    text
}

#[test]
fn an_empty_database_gets_the_whole_schema_once() {
    let Some(scratch) = Scratch::new("empty") else {
        return;
    };
    let u = url(&scratch.url);
    let db = pg::open(&u).unwrap();
    assert_eq!(pg::found(&db).unwrap(), Found::Version(pg::latest()));
    drop(db);
    // Opening again changes nothing: every step is recorded once.
    let db = pg::open(&u).unwrap();
    let steps: i64 = db
        .query_one(&format!("SELECT count(*) FROM {}", pg::VERSIONS), &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(steps, pg::latest());
}

#[test]
fn each_older_version_is_brought_up_to_date() {
    let Some(scratch) = Scratch::new("older") else {
        return;
    };
    let u = url(&scratch.url);
    // One database, dropped and made again at each starting step.
    for from in 1..pg::latest() {
        let db = pg::connect(&u).unwrap();
        db.batch("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            .unwrap();
        pg::migrate_to(&db, &u, from).unwrap();
        assert_eq!(pg::schema_version(&db).unwrap(), from);
        drop(db);
        let db = pg::open(&u).unwrap();
        assert_eq!(
            pg::schema_version(&db).unwrap(),
            pg::latest(),
            "from {from}"
        );
    }
}

#[test]
fn processes_opening_one_new_database_at_once_apply_each_step_once() {
    let Some(scratch) = Scratch::new("together") else {
        return;
    };
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let u = url(&scratch.url);
            std::thread::spawn(move || pg::open(&u).map(drop))
        })
        .collect();
    for o in openers {
        o.join().unwrap().unwrap();
    }
    let db = pg::connect(&url(&scratch.url)).unwrap();
    let steps: i64 = db
        .query_one(&format!("SELECT count(*) FROM {}", pg::VERSIONS), &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(steps, pg::latest());
}

#[test]
fn a_database_that_is_not_factordesk_s_is_left_untouched() {
    let Some(scratch) = Scratch::new("foreign") else {
        return;
    };
    let db = Db::postgres(scratch.client());
    db.batch("CREATE TABLE invoices (id BIGINT); INSERT INTO invoices VALUES (7);")
        .unwrap();
    let before = fingerprint(&db);
    let err = pg::open(&url(&scratch.url)).unwrap_err();
    assert!(
        matches!(err, StoreError::Engine(EngineError::Foreign { .. })),
        "{err}"
    );
    let text = one_line(&err);
    assert!(
        text.contains("left untouched") && text.contains(&scratch.name),
        "{text}"
    );
    assert_eq!(fingerprint(&db), before);
    let n: i64 = db
        .query_one("SELECT count(*) FROM invoices", &[])
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let Some(scratch) = Scratch::new("newer") else {
        return;
    };
    let u = url(&scratch.url);
    let db = pg::open(&u).unwrap();
    db.execute(
        &format!("INSERT INTO {} (version) VALUES (?1)", pg::VERSIONS),
        &[(pg::latest() + 1).into()],
    )
    .unwrap();
    let before = fingerprint(&db);
    let err = pg::open(&u).unwrap_err();
    assert!(
        matches!(err, StoreError::Engine(EngineError::TooNew { found, .. }) if found == pg::latest() + 1),
        "{err}"
    );
    assert!(one_line(&err).contains("upgrade factordesk"));
    assert_eq!(fingerprint(&db), before);
    assert_eq!(pg::schema_version(&db).unwrap(), pg::latest() + 1);
}

#[test]
fn a_wrong_password_is_one_line_without_the_password() {
    let Some(scratch) = Scratch::new("password") else {
        return;
    };
    // The password sits between the user's colon and the @.
    let at = scratch.url.rfind('@').unwrap();
    let colon = scratch.url[..at].rfind(':').unwrap();
    let wrong = format!(
        "{}:not-the-password{}",
        &scratch.url[..colon],
        &scratch.url[at..]
    );
    let err = pg::open(&url(&wrong)).unwrap_err();
    assert!(
        matches!(err, StoreError::Engine(EngineError::BadLogin { .. })),
        "{err}"
    );
    let text = one_line(&err);
    assert!(text.contains("refused user"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
}

#[test]
fn a_missing_database_is_named() {
    let Some(scratch) = Scratch::new("missing") else {
        return;
    };
    let gone = with_database(&scratch.url, "fdt_no_such_database");
    let err = pg::open(&url(&gone)).unwrap_err();
    assert!(
        matches!(err, StoreError::Engine(EngineError::NoDatabase { .. })),
        "{err}"
    );
    let text = one_line(&err);
    assert!(
        text.contains("no database \"fdt_no_such_database\""),
        "{text}"
    );
}

#[test]
fn an_unreachable_server_is_named() {
    // Port 9 (discard) on the loopback: nothing listens there.
    let err = pg::open(&url("postgresql://u:p@127.0.0.1:9/fd?connect_timeout=5")).unwrap_err();
    assert!(
        matches!(err, StoreError::Engine(EngineError::Unreachable { .. })),
        "{err}"
    );
    let text = one_line(&err);
    assert!(
        text.contains("127.0.0.1:9") && !text.contains(":p@"),
        "{text}"
    );
}

#[test]
fn inspecting_reads_the_key_check_and_writes_nothing() {
    let Some(scratch) = Scratch::new("inspect") else {
        return;
    };
    let u = url(&scratch.url);
    let empty = pg::inspect(&u).unwrap();
    assert_eq!((empty.found, empty.key_check), (Found::Empty, None));
    assert!(
        fingerprint(&empty.db)
            .iter()
            .all(|f| !f.starts_with("table "))
    );
    drop(pg::open(&u).unwrap());
    let db = pg::connect(&u).unwrap();
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('key_check', ?1)",
        &["abc123".into()],
    )
    .unwrap();
    let before = fingerprint(&db);
    let seen = pg::inspect(&u).unwrap();
    assert_eq!(seen.found, Found::Version(pg::latest()));
    assert_eq!(seen.key_check.as_deref(), Some("abc123"));
    assert_eq!(fingerprint(&db), before);
    // Refusals come before anything is read or written, as at open.
    db.execute(
        &format!("INSERT INTO {} (version) VALUES (?1)", pg::VERSIONS),
        &[(pg::latest() + 1).into()],
    )
    .unwrap();
    assert!(matches!(
        pg::inspect(&u),
        Err(StoreError::Engine(EngineError::TooNew { .. }))
    ));
}
