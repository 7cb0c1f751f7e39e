//! Processes racing over one `PostgreSQL` database, as several consoles and
//! an application fleet do: a code is accepted once, no user is lost, and
//! every failure counts toward the lock.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use factordesk::domain::totp;
use serde_json::Value;

use super::support::cli::{Out, factordesk, run};
use super::support::now as t0;
use super::support::pg::Scratch;

/// How many processes race.
const RACERS: usize = 8;

/// A factordesk database on a scratch `PostgreSQL` database, its key in the
/// environment, driven through the binary.
struct Team {
    scratch: Scratch,
    dir: tempfile::TempDir,
}

impl Team {
    fn new(label: &str) -> Option<Team> {
        let team = Team {
            scratch: Scratch::new(label)?,
            dir: tempfile::tempdir().unwrap(),
        };
        team.run(t0(), &["init"]).ok();
        Some(team)
    }

    fn command(&self, now: DateTime<Utc>, args: &[&str]) -> Command {
        let mut cmd = factordesk(self.dir.path());
        cmd.env("FACTORDESK_KEY", "5a".repeat(32))
            .args(["--db", &self.scratch.url, "--now"])
            .arg(now.to_rfc3339_opts(SecondsFormat::Secs, true))
            .args(args);
        cmd
    }

    fn run(&self, now: DateTime<Utc>, args: &[&str]) -> Out {
        run(self.command(now, args), None)
    }

    fn ok(&self, now: DateTime<Utc>, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.run(now, &all).quiet().json()
    }

    /// A user with a confirmed authenticator app; its secret.
    fn with_totp(&self, email: &str) -> Vec<u8> {
        self.ok(t0(), &["user", "add", email]);
        let e = self.ok(t0(), &["factor", "add-totp", email]);
        let secret = base32::decode(
            base32::Alphabet::Rfc4648 { padding: false },
            e["secret"].as_str().unwrap(),
        )
        .unwrap();
        let id = e["factor_id"].as_i64().unwrap().to_string();
        let code = totp::code_at(&secret, t0());
        self.ok(t0(), &["factor", "confirm", email, &id, &code]);
        secret
    }

    /// A fresh challenge for `email` at `now`.
    fn challenge(&self, now: DateTime<Utc>, email: &str) -> String {
        let s = self.ok(now, &["login", "start", email, "--assume-password"]);
        assert_eq!(s["decision"], "challenge", "{s:#}");
        s["challenge_id"].as_i64().unwrap().to_string()
    }
}

/// Run each command in its own process, all released at once; their
/// results in the same order.
fn race(commands: Vec<Command>) -> Vec<Out> {
    let gate = Arc::new(Barrier::new(commands.len()));
    let racers: Vec<_> = commands
        .into_iter()
        .map(|cmd| {
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || {
                gate.wait();
                run(cmd, None)
            })
        })
        .collect();
    racers.into_iter().map(|r| r.join().unwrap()).collect()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

/// A six-digit code that is none of the codes near `now`.
fn wrong_code(secret: &[u8], now: DateTime<Utc>) -> String {
    let near: Vec<String> = (-3..=3)
        .map(|k| totp::code_at(secret, now + TimeDelta::seconds(30 * k)))
        .collect();
    (0..1_000_000)
        .map(|n: u32| format!("{:06}", (n * 7_919 + 123_457) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

#[test]
fn eight_processes_answering_with_one_code_get_it_accepted_once() {
    let Some(team) = Team::new("race_one_code") else {
        return;
    };
    let alice = "alice@example.com";
    let secret = team.with_totp(alice);
    // One login; eight machines type its code at once.
    let now = at(120);
    let challenge = team.challenge(now, alice);
    let code = totp::code_at(&secret, now);
    let outs = race(
        (0..RACERS)
            .map(|_| team.command(now, &["login", "verify", &challenge, &code, "--json"]))
            .collect(),
    );
    let accepted: Vec<&Out> = outs.iter().filter(|o| o.code == 0).collect();
    assert_eq!(accepted.len(), 1, "exactly one accepted: {outs:#?}");
    assert_eq!(accepted[0].json()["result"], "accepted", "{outs:#?}");
    for out in outs.iter().filter(|o| o.code != 0) {
        // Refused: the login is over, or the code was just used.
        assert!(matches!(out.code, 1 | 3), "{out:?}");
        assert!(!out.stderr.contains("accepted"), "{out:?}");
    }
    let accepted: i64 = team
        .scratch
        .client()
        .query_one(
            "SELECT count(*) FROM attempts WHERE outcome = 'accepted'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(accepted, 1, "one accepted attempt recorded");
    team.ok(now, &["audit", "verify"]);
}

#[test]
fn eight_processes_adding_125_users_each_lose_none() {
    let Some(team) = Team::new("race_user_add") else {
        return;
    };
    let per = 125;
    let gate = Arc::new(Barrier::new(RACERS));
    let dir = team.dir.path().to_owned();
    let url = team.scratch.url.clone();
    let adders: Vec<_> = (0..RACERS)
        .map(|p| {
            let gate = Arc::clone(&gate);
            let (dir, url) = (dir.clone(), url.clone());
            std::thread::spawn(move || {
                gate.wait();
                (0..per)
                    .filter(|i| {
                        let email = format!("p{p}-u{i}@example.com");
                        let out = add(&dir, &url, &email);
                        assert_eq!(out.code, 0, "{email}: {out:?}");
                        true
                    })
                    .count()
            })
        })
        .collect();
    let added: usize = adders.into_iter().map(|a| a.join().unwrap()).sum();
    assert_eq!(added, RACERS * per);
    let users = team.ok(t0(), &["user", "list", "--limit", "5000"]);
    assert_eq!(users.as_array().unwrap().len(), RACERS * per, "none lost");
    let counted: i64 = team
        .scratch
        .client()
        .query_one(
            "SELECT coalesce(sum(value), 0)::bigint FROM counters WHERE name = 'users'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(counted, 1000, "the users counter agrees");
    team.ok(t0(), &["audit", "verify"]);
}

fn add(dir: &Path, url: &str, email: &str) -> Out {
    let mut cmd = factordesk(dir);
    cmd.env("FACTORDESK_KEY", "5a".repeat(32))
        .args(["--db", url, "--now"])
        .arg(t0().to_rfc3339_opts(SecondsFormat::Secs, true))
        .args(["user", "add", email, "--json"]);
    run(cmd, None)
}

#[test]
fn eight_processes_failing_at_once_count_every_failure_toward_the_lock() {
    let Some(team) = Team::new("race_failures") else {
        return;
    };
    let erin = "erin@example.com";
    let secret = team.with_totp(erin);
    let now = at(120);
    let challenge = team.challenge(now, erin);
    let wrong = wrong_code(&secret, now);
    let outs = race(
        (0..RACERS)
            .map(|_| team.command(now, &["login", "verify", &challenge, &wrong, "--json"]))
            .collect(),
    );
    // A login takes five tries: they count down 4, 3, 2, 1, 0, one each;
    // the other three find it closed (0 left) and count nothing.
    let mut left: Vec<i64> = outs
        .iter()
        .map(|o| {
            assert_eq!(o.code, 3, "{o:?}");
            let v = o.json();
            assert_eq!(v["result"], "invalid", "{v:#}");
            v["attempts_left"].as_i64().unwrap()
        })
        .collect();
    left.sort_unstable();
    assert_eq!(left, [0, 0, 0, 0, 1, 2, 3, 4], "{outs:#?}");
    // Five failures counted: four more leave one, the tenth locks.
    let c = team.challenge(at(121), erin);
    for t in 122..126 {
        let out = team.run(at(t), &["login", "verify", &c, &wrong, "--json"]);
        assert_eq!(out.json()["result"], "invalid", "at {t}: {out:?}");
    }
    let out = team.run(at(126), &["login", "verify", &c, &wrong, "--json"]);
    assert_eq!(out.json()["result"], "locked", "the 10th locks: {out:?}");
}
