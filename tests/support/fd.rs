//! A database in its own directory, driven through the real binary at a
//! given `--now`: `init` on making, runs, JSON answers and logins.

use std::path::PathBuf;

use serde_json::Value;

use super::T0;
use super::cli::{Out, factordesk, run};

/// One database in its own directory.
pub struct Fd {
    pub dir: tempfile::TempDir,
    pub name: &'static str,
}

impl Fd {
    pub fn new() -> Fd {
        Fd::named("fd.db")
    }

    pub fn named(name: &'static str) -> Fd {
        let fd = Fd {
            dir: tempfile::tempdir().unwrap(),
            name,
        };
        fd.run(T0, &["init"]).quiet();
        fd
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn write(&self, file: &str, text: &str) -> String {
        std::fs::write(self.path(file), text).unwrap();
        self.path(file).display().to_string()
    }

    /// `factordesk --db NAME --now NOW ARGS` in the directory.
    pub fn run(&self, now: &str, args: &[&str]) -> Out {
        let db = self.path(self.name).display().to_string();
        let mut cmd = factordesk(self.dir.path());
        cmd.args(["--db", &db, "--now", now]).args(args);
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
