//! The binary with `--db` a `PostgreSQL` URL: every refusal is one line with
//! a way out, a non-zero exit, and nothing written to the database.

use std::path::Path;

use factordesk::store::engine::Db;
use factordesk::store::pg;

use super::support::cli::{Out, factordesk, run};
use super::support::pg::Scratch;

/// `factordesk --db URL ARGS…` in `dir`, with `env` set.
fn fd(dir: &Path, url: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = factordesk(dir);
    cmd.arg("--db").arg(url).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd, None)
}

/// The tables in the database's schema, and the steps it records.
fn tables(scratch: &Scratch) -> Vec<String> {
    let db = Db::postgres(scratch.client());
    db.query(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
        &[],
    )
    .unwrap()
    .into_iter()
    .map(|r| r.get(0).unwrap())
    .collect()
}

#[test]
fn a_url_without_a_key_names_both_ways_to_give_one() {
    let Some(scratch) = Scratch::new("cli_no_key") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for args in [&["init"][..], &["user", "list"]] {
        let out = fd(dir.path(), &scratch.url, args, &[]);
        let line = out.refused(2);
        assert!(
            line.contains("--key-file") && line.contains("FACTORDESK_KEY"),
            "{line}"
        );
    }
    assert!(tables(&scratch).is_empty(), "nothing written");
}

#[test]
fn urls_that_cannot_be_used_are_one_line_each() {
    let Some(scratch) = Scratch::new("cli_bad_urls") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let key = key.to_str().unwrap();
    let at = scratch.url.rfind('@').unwrap();
    let colon = scratch.url[..at].rfind(':').unwrap();
    let wrong_password = format!(
        "{}:not-the-password{}",
        &scratch.url[..colon],
        &scratch.url[at..]
    );
    let cases: [(&str, &str, i32); 5] = [
        ("mysql://u@h/db", "postgresql:// URL", 2),
        ("postgresql://u@h:99999/db", "postgresql://USER", 2),
        ("postgresql://u@127.0.0.1:1/db", "cannot reach", 1),
        (&wrong_password, "check the user and password", 1),
        (
            &pg_with_database(&scratch.url, "fdt_no_such_database"),
            "createdb",
            1,
        ),
    ];
    for (url, says, code) in cases {
        let out = fd(dir.path(), url, &["--key-file", key, "user", "list"], &[]);
        let line = out.refused(code);
        assert!(line.contains(says), "{url}: {line}");
        assert!(!line.contains("not-the-password"), "{line}");
    }
    assert!(!Path::new(key).exists(), "no key file made");
    assert!(tables(&scratch).is_empty(), "nothing written");
}

fn pg_with_database(url: &str, name: &str) -> String {
    super::support::pg::with_database(url, name)
}

#[test]
fn an_empty_database_asks_for_init_and_a_foreign_one_is_left_untouched() {
    let Some(scratch) = Scratch::new("cli_foreign") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env = [("FACTORDESK_KEY", &"ab".repeat(32)[..])];
    let line = fd(dir.path(), &scratch.url, &["user", "list"], &env)
        .refused(1)
        .to_owned();
    assert!(line.contains("factordesk init"), "{line}");
    assert!(tables(&scratch).is_empty(), "nothing written");
    scratch
        .client()
        .batch_execute("CREATE TABLE invoices (id BIGINT)")
        .unwrap();
    for args in [&["init"][..], &["user", "list"], &["demo", "--no-open"]] {
        let line = fd(dir.path(), &scratch.url, args, &env)
            .refused(1)
            .to_owned();
        assert!(line.contains("not a factordesk database"), "{line}");
    }
    assert_eq!(tables(&scratch), ["invoices"]);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let Some(scratch) = Scratch::new("cli_newer") else {
        return;
    };
    let url = pg::PgUrl::parse(&scratch.url).unwrap();
    let db = pg::open(&url).unwrap();
    db.execute(
        &format!("INSERT INTO {} (version) VALUES (?1)", pg::VERSIONS),
        &[(pg::latest() + 1).into()],
    )
    .unwrap();
    let before = tables(&scratch);
    let dir = tempfile::tempdir().unwrap();
    let env = [("FACTORDESK_KEY", &"ab".repeat(32)[..])];
    for args in [&["init"][..], &["user", "list"]] {
        let line = fd(dir.path(), &scratch.url, args, &env)
            .refused(1)
            .to_owned();
        assert!(line.contains("upgrade factordesk"), "{line}");
    }
    assert_eq!(tables(&scratch), before);
    assert_eq!(pg::schema_version(&db).unwrap(), pg::latest() + 1);
}
