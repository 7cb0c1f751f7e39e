//! The audit trail's chain, end to end through the binary: each way of
//! rewriting the trail behind factordesk's back (past the append-only
//! triggers, on either engine) is caught by `audit verify`, which names
//! the first bad event and what was done; ids are never given out twice;
//! and `--now` and `--actor` are recorded beside the real time and account.

#![allow(clippy::unwrap_used)]

use rusqlite::Connection;
use serde_json::Value;

mod support;

use support::T0;
use support::cli::{Out, run as run_cmd};
use support::fd::Fd;

/// Run the binary on `fd` at `T0` (unless `args` set `--now`), checking
/// what holds for every command: no panic, and an exit 1 comes with one
/// `error: ...` line on stderr.
fn run(fd: &Fd, args: &[&str]) -> Out {
    let mut cmd = fd.command(args);
    if !args.contains(&"--now") {
        cmd.args(["--now", T0]);
    }
    cmd.args(args);
    let out = run_cmd(cmd, None);
    if out.code == 1 {
        // Under --json the one line is an object: error, kind, exit_code.
        if args.contains(&"--json") {
            let e: serde_json::Value = serde_json::from_str(out.stderr.trim_end()).unwrap();
            assert_eq!(e["exit_code"], 1, "{out:?}");
        } else {
            assert!(out.stderr.starts_with("error: "), "{out:?}");
        }
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out:?}");
    }
    out
}

fn ok(fd: &Fd, args: &[&str]) -> Out {
    let out = run(fd, args);
    assert_eq!(out.code, 0, "{args:?}: {out:?}");
    out
}

/// A database with twelve events, ids 1 to 12: a file, or a fresh
/// `PostgreSQL` database (see `support::fd`).
fn trail() -> Fd {
    let fd = Fd::empty();
    ok(&fd, &["init"]);
    for i in 1..=12 {
        ok(&fd, &["user", "add", &format!("u{i:02}@example.com")]);
    }
    fd
}

/// The triggers that keep the trail append-only, on either engine.
const GUARDS: [&str; 2] = ["audit_append_only_update", "audit_append_only_delete"];

/// Change the trail by hand, as someone with the file (or the database's
/// owner on the server) could: past the append-only triggers, run `sql`,
/// and put the triggers back as they were.
fn tamper(fd: &Fd, sql: &str) {
    if fd.on_postgres() {
        return tamper_pg(fd, sql);
    }
    let conn = Connection::open(fd.db()).unwrap();
    let triggers: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'
             AND name IN ('audit_append_only_update', 'audit_append_only_delete')",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(triggers.len(), 2);
    for (name, _) in &triggers {
        conn.execute_batch(&format!("DROP TRIGGER {name}")).unwrap();
    }
    conn.execute_batch(sql).unwrap();
    for (_, create) in &triggers {
        conn.execute_batch(create).unwrap();
    }
    // Put back: the trail refuses changes again.
    assert!(conn.execute("DELETE FROM audit WHERE id = 1", []).is_err());
}

/// [`tamper`] on `PostgreSQL`: the same triggers, disabled around `sql`.
fn tamper_pg(fd: &Fd, sql: &str) {
    let mut client = fd.pg_client();
    let enabled: Vec<String> = client
        .query(
            "SELECT tgname::text FROM pg_trigger
             WHERE tgrelid = 'audit'::regclass AND tgname::text = ANY($1)
               AND tgenabled = 'O'",
            &[&GUARDS.to_vec()],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(enabled.len(), 2, "{enabled:?}");
    let [update, delete] = GUARDS;
    let toggle =
        |how: &str| format!("ALTER TABLE audit {how} TRIGGER {update}, {how} TRIGGER {delete}");
    client.batch_execute(&toggle("DISABLE")).unwrap();
    client.batch_execute(sql).unwrap();
    client.batch_execute(&toggle("ENABLE")).unwrap();
    // Put back: the trail refuses changes again.
    assert!(
        client
            .execute("DELETE FROM audit WHERE id = 1", &[])
            .is_err()
    );
}

/// `audit verify --json` on a tampered trail: exit 1, the JSON problem,
/// and the human report's first line.
fn broken(fd: &Fd) -> (Value, String) {
    let out = run(fd, &["audit", "verify", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.json();
    assert_eq!(report["whole"], false, "{report:#}");
    let human = run(fd, &["audit", "verify"]);
    assert_eq!(human.code, 1, "{human:?}");
    assert!(human.stderr.contains("not whole"), "{human:?}");
    let first = human.stdout.lines().next().unwrap().to_owned();
    (report["problem"].clone(), first)
}

fn problem(kind: &str, event: Option<i64>, after: Option<i64>, missing: Option<i64>) -> Value {
    serde_json::json!({ "kind": kind, "event": event, "after": after, "missing": missing })
}

#[test]
fn a_whole_trail_verifies() {
    let fd = trail();
    let out = ok(&fd, &["audit", "verify", "--json"]);
    let report = out.json();
    assert_eq!(report["whole"], true);
    assert_eq!(report["checked"], 12);
    assert_eq!(report["problem"], Value::Null);
    assert_eq!(report["head"]["events"], 12);
    assert_eq!(report["head"]["last_event"], 12);
    assert_eq!(report["head"]["adopted"], 0);
    assert_eq!(report["head"]["mac"].as_str().unwrap().len(), 64);
    let human = ok(&fd, &["audit", "verify"]);
    assert!(
        human
            .stdout
            .starts_with("The audit trail is whole: 12 events"),
        "{human:?}"
    );
    assert!(
        human.stdout.contains("Head: 12 events, last #12, MAC "),
        "{human:?}"
    );
}

#[test]
fn an_edited_event_is_named() {
    let fd = trail();
    tamper(
        &fd,
        "UPDATE audit SET detail = 'nothing happened' WHERE id = 5",
    );
    let (p, first) = broken(&fd);
    assert_eq!(p, problem("edited", Some(5), Some(4), None));
    assert!(first.contains("BROKEN at event #5"), "{first}");
    assert!(first.contains("changed after it was written"), "{first}");
    // Backdated, by its owner's own hand.
    let fd = trail();
    tamper(
        &fd,
        "UPDATE audit SET at = at - 86400, actor = 'nobody' WHERE id = 12",
    );
    assert_eq!(broken(&fd).0, problem("edited", Some(12), Some(11), None));
}

#[test]
fn a_deleted_event_is_named_by_the_one_after_the_gap() {
    let fd = trail();
    tamper(&fd, "DELETE FROM audit WHERE id IN (5, 6)");
    let (p, first) = broken(&fd);
    assert_eq!(p, problem("deleted", Some(7), Some(4), Some(2)));
    assert!(
        first.contains("2 events were deleted just before event #7 (after #4)"),
        "{first}"
    );
}

#[test]
fn an_inserted_event_is_named() {
    let fd = trail();
    // A forged event, and a copy of a real one with its seal.
    tamper(
        &fd,
        "INSERT INTO audit (at, actor, kind, detail) VALUES (1, 'admin', 'user.unlock', 'forged')",
    );
    let (p, first) = broken(&fd);
    assert_eq!(p, problem("inserted", Some(13), Some(12), None));
    assert!(first.contains("event #13 was inserted"), "{first}");
    let fd = trail();
    tamper(
        &fd,
        "INSERT INTO audit (at, actor, user_id, kind, detail, ip, os_user, written_at, clock_set, seq, mac)
             SELECT at, actor, user_id, kind, detail, ip, os_user, written_at, clock_set, seq, mac
             FROM audit WHERE id = 3",
    );
    assert_eq!(broken(&fd).0, problem("inserted", Some(13), Some(12), None));
}

#[test]
fn swapped_events_are_reordered() {
    let fd = trail();
    // Everything but the ids, through a spare row id 0.
    let columns = "at, actor, user_id, kind, detail, ip, os_user, written_at, clock_set, seq, mac";
    tamper(
        &fd,
        &format!(
            "INSERT INTO audit (id, {columns}) SELECT 0, {columns} FROM audit WHERE id = 3;
             UPDATE audit SET ({columns}) = (SELECT {columns} FROM audit WHERE id = 8) WHERE id = 3;
             UPDATE audit SET ({columns}) = (SELECT {columns} FROM audit WHERE id = 0) WHERE id = 8;
             DELETE FROM audit WHERE id = 0;"
        ),
    );
    let (p, first) = broken(&fd);
    assert_eq!(p, problem("reordered", Some(3), Some(2), None));
    assert!(first.contains("event #3 was moved"), "{first}");
}

#[test]
fn a_cut_tail_is_named_and_so_is_a_head_put_right_by_hand() {
    let fd = trail();
    tamper(&fd, "DELETE FROM audit WHERE id > 9");
    let (p, first) = broken(&fd);
    assert_eq!(p, problem("tail_cut", None, Some(9), Some(3)));
    assert!(first.contains("BROKEN at its end"), "{first}");
    assert!(
        first.contains("cut off after #9: 3 events missing"),
        "{first}"
    );
    // The head set to match what is left: its own MAC gives it away.
    tamper(
        &fd,
        "UPDATE audit_head SET events = 9, last_id = 9,
             last_mac = (SELECT mac FROM audit WHERE id = 9)",
    );
    assert_eq!(broken(&fd).0, problem("head_altered", None, Some(9), None));
    // Nothing more is written to a trail whose end is not known.
    let out = run(&fd, &["user", "add", "late@example.com"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("audit verify"), "{out:?}");
}

#[test]
fn a_deleted_event_s_id_is_never_given_again() {
    let fd = trail();
    tamper(&fd, "DELETE FROM audit WHERE id = 12");
    ok(&fd, &["user", "add", "next@example.com"]);
    let newest = ok(&fd, &["audit", "--limit", "1", "--json"]).json();
    assert_eq!(newest[0]["id"], 13, "{newest:#}");
    let ids = fd.ints("SELECT id FROM audit ORDER BY id");
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]);
    // The gap stays visible.
    assert_eq!(
        broken(&fd).0,
        problem("deleted", Some(13), Some(11), Some(1))
    );
}

#[test]
fn now_and_actor_are_recorded_beside_the_real_time_and_account() {
    let fd = Fd::empty();
    ok(&fd, &["init"]);
    ok(&fd, &["user", "add", "a@example.com"]);
    ok(
        &fd,
        &[
            "--now",
            "2019-01-01T00:00:00Z",
            "--actor",
            "mallory",
            "user",
            "unlock",
            "a@example.com",
            "--reason",
            "x",
        ],
    );
    let events = ok(&fd, &["audit", "--json"]).json();
    let unlock = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "user.unlock")
        .unwrap();
    assert_eq!(unlock["at"], "2019-01-01T00:00:00Z");
    assert_eq!(unlock["actor"], "mallory");
    assert_eq!(unlock["clock_set"], true);
    let written = unlock["written_at"].as_str().unwrap();
    assert!(written > "2020", "{written}");
    let account = unlock["os_user"].as_str().unwrap();
    assert!(!account.is_empty());
    // Without --actor, the account is the actor.
    let add = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "user.add")
        .unwrap();
    assert_eq!(add["actor"], account);
    assert_eq!(add["os_user"], account);
    let table = ok(&fd, &["audit"]).stdout;
    let row = table.lines().find(|l| l.contains("user.unlock")).unwrap();
    assert!(row.contains("2019-01-01 00:00*"), "{table}");
    assert!(row.contains(&written[..10]), "{table}");
    assert!(table.contains("WRITTEN is when it really was"), "{table}");
    assert!(ok(&fd, &["audit", "verify"]).stdout.contains("whole"));
}
