//! One test's database in its own directory, driven through the real binary:
//! a file, or under `FACTORDESK_TEST_ENGINE=postgres` a fresh `PostgreSQL` one.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::T0;
use super::cli::{Out, factordesk, run};

/// One database and its directory. On `PostgreSQL` the database is a fresh
/// one on the test cluster (see [`super::pg::scratch_url`]) and its key file
/// is `NAME.key` in the directory, where `init` writes it beside a file.
pub struct Fd {
    pub dir: tempfile::TempDir,
    pub name: &'static str,
    pub pg: Option<String>,
}

impl Fd {
    /// `fd.db`, made by `init` at [`T0`].
    pub fn new() -> Fd {
        Fd::named("fd.db")
    }

    /// `name`, made by `init` at [`T0`].
    pub fn named(name: &'static str) -> Fd {
        let fd = Fd::empty_named(name);
        fd.run(T0, &["init"]).quiet();
        fd
    }

    /// A directory with no `fd.db` yet (nor its `PostgreSQL` schema).
    pub fn empty() -> Fd {
        Fd::empty_named("fd.db")
    }

    /// A directory with no `name` yet (nor its `PostgreSQL` schema).
    pub fn empty_named(name: &'static str) -> Fd {
        Fd {
            dir: tempfile::tempdir().unwrap(),
            name,
            pg: super::pg::scratch_url(),
        }
    }

    /// Whether this database is on `PostgreSQL`: tests of files skip it.
    pub fn on_postgres(&self) -> bool {
        self.pg.is_some()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The database's file (none is made on `PostgreSQL`).
    pub fn db(&self) -> PathBuf {
        self.path(self.name)
    }

    /// The key file: beside the file, or the one given with the URL.
    pub fn key(&self) -> PathBuf {
        self.path(&format!("{}.key", self.name))
    }

    /// The files this database keeps in its directory once made: the
    /// database and its key, or on `PostgreSQL` the key alone.
    pub fn own_files(&self) -> Vec<String> {
        let key = format!("{}.key", self.name);
        match self.pg {
            None => vec![self.name.to_owned(), key],
            Some(_) => vec![key],
        }
    }

    /// `--db NAME`, or on `PostgreSQL` `--db URL --key-file NAME.key`
    /// (names in the directory the binary runs in); what `args` give
    /// themselves (`--db`, `--key-file`) is left to them.
    pub fn db_args(&self, args: &[&str]) -> Vec<String> {
        if args.contains(&"--db") {
            return vec![];
        }
        match &self.pg {
            None => vec!["--db".into(), self.name.into()],
            Some(url) if args.contains(&"--key-file") => vec!["--db".into(), url.clone()],
            Some(url) => vec![
                "--db".into(),
                url.clone(),
                "--key-file".into(),
                format!("{}.key", self.name),
            ],
        }
    }

    /// `factordesk` in the directory on this database, its arguments to
    /// follow: `--db ...` already given (see [`Fd::db_args`]).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = factordesk(self.dir.path());
        cmd.args(self.db_args(args));
        cmd
    }

    /// `factordesk` in the directory with this database in the environment
    /// (`FACTORDESK_DB`, and on `PostgreSQL` `FACTORDESK_KEY_FILE`).
    pub fn command_by_env(&self) -> Command {
        let mut cmd = factordesk(self.dir.path());
        match &self.pg {
            None => cmd.env("FACTORDESK_DB", self.db()),
            Some(url) => cmd
                .env("FACTORDESK_DB", url)
                .env("FACTORDESK_KEY_FILE", self.key()),
        };
        cmd
    }

    /// Run `sql` (one or more statements) on the database behind the
    /// binary's back, as someone with the file or the server could.
    pub fn sql(&self, sql: &str) {
        match &self.pg {
            None => {
                let conn = rusqlite::Connection::open(self.db()).unwrap();
                // The triggers keeping the search keys call factordesk's functions.
                factordesk::store::define_functions(&conn).unwrap();
                conn.execute_batch(sql).unwrap();
            }
            Some(_) => self.pg_client().batch_execute(sql).unwrap(),
        }
    }

    /// The first column of `sql`'s rows, read the same way.
    pub fn ints(&self, sql: &str) -> Vec<i64> {
        match &self.pg {
            None => rusqlite::Connection::open(self.db())
                .unwrap()
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            Some(_) => self
                .pg_client()
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// A plain client on the `PostgreSQL` database (panics on `SQLite`).
    pub fn pg_client(&self) -> postgres::Client {
        let url = self.pg.as_deref().expect("a PostgreSQL database");
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }

    pub fn write(&self, file: &str, text: &str) -> String {
        std::fs::write(self.path(file), text).unwrap();
        self.path(file).display().to_string()
    }

    /// `factordesk --db NAME --now NOW ARGS` in the directory (see
    /// [`Fd::db_args`]).
    pub fn run(&self, now: &str, args: &[&str]) -> Out {
        let mut cmd = self.command(args);
        cmd.args(["--now", now]).args(args);
        run(cmd, None)
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.run(T0, &all).quiet().json()
    }

    pub fn users(&self) -> Vec<String> {
        self.ok(&["user", "list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn factors(&self, email: &str) -> Vec<Value> {
        self.ok(&["factor", "list", email])
            .as_array()
            .unwrap()
            .clone()
    }

    /// Log in with `code` at `now`; the exit code.
    pub fn login(&self, now: &str, email: &str, code: &str) -> i32 {
        let s = self.run(
            now,
            &["login", "start", email, "--assume-password", "--json"],
        );
        let s = s.quiet().json();
        assert_eq!(s["decision"], "challenge", "{s:#}");
        let c = s["challenge_id"].as_i64().unwrap().to_string();
        self.run(now, &["login", "verify", &c, code, "--json"]).code
    }

    /// Ann (an admin with a US phone) and Bo (a comma in his name),
    /// imported from a CSV file.
    pub fn two_users(&self) {
        let file = self.write(
            "users.csv",
            "email,name,role,phone\nann@example.com,Ann Lee,admin,+14155550123\nbo@example.com,\"Bo, Jr.\",,\n",
        );
        self.run(T0, &["import", "users", &file]).quiet();
    }
}
