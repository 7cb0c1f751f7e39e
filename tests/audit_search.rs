//! `audit` searched, exported and followed, and `user temp-code`, through
//! the real binary: filters, formats, bad input (one line, exit 2, nothing
//! written), and `--follow` printing an event written by another command.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

use support::T0;
use support::cli::{Out, run as run_cmd};
use support::fd::Fd;

fn command(fd: &Fd, args: &[&str]) -> Command {
    // The database in the test's directory (or on PostgreSQL), never the
    // user's own.
    let mut cmd = fd.command_by_env();
    cmd.args(args);
    cmd
}

fn run(fd: &Fd, args: &[&str]) -> Out {
    let o = run_cmd(command(fd, args), None);
    if o.code != 0 {
        assert_eq!(o.stderr.trim_end().lines().count(), 1, "{}", o.stderr);
        assert!(o.stderr.starts_with("error: "), "{}", o.stderr);
    }
    o
}

/// A database with a few events by two actors on a fixed clock.
fn trail() -> Fd {
    let fd = Fd::empty_named("factordesk.db");
    let d = &fd;
    assert_eq!(run(d, &["init", "--now", T0]).code, 0);
    for (i, (email, actor)) in [
        ("ana@example.com", "alice"),
        ("ben@example.com", "bob"),
        ("cy@example.com", "alice"),
    ]
    .iter()
    .enumerate()
    {
        let now = format!("2026-11-2{}T09:00:00Z", 1 + i);
        let o = run(
            d,
            &[
                "user",
                "add",
                email,
                "--name",
                "Lost Phone Person",
                "--now",
                &now,
                "--actor",
                actor,
            ],
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    fd
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn filters_by_actor_time_and_text() {
    let fd = trail();
    let d = &fd;
    let by = run(d, &["audit", "--by", "alice", "--format", "jsonl"]);
    assert_eq!(by.code, 0, "{}", by.stderr);
    let rows: Vec<Value> = by
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{}", by.stdout);
    assert!(rows.iter().all(|r| r["actor"] == "alice"));
    // --actor is who acts, not a filter: it still lists everyone's.
    let all = run(d, &["audit", "--actor", "alice", "--format", "jsonl"]);
    assert_eq!(lines(&all.stdout).len(), 3, "{}", all.stdout);
    // since inclusive, until exclusive.
    let range = run(
        d,
        &[
            "audit",
            "--since",
            "2026-11-22",
            "--until",
            "2026-11-23T09:00:00Z",
            "--format",
            "jsonl",
        ],
    );
    let rows: Vec<Value> = range
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{}", range.stdout);
    assert_eq!(rows[0]["user"], "ben@example.com");
    // An age counts back from --now.
    let recent = run(
        d,
        &[
            "audit",
            "--since",
            "10h",
            "--now",
            "2026-11-23T12:00:00Z",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(lines(&recent.stdout).len(), 1, "{}", recent.stdout);
    // Free text, any case, with the actor beside a kind.
    let text = run(d, &["audit", "--search", "BEN@", "--format", "jsonl"]);
    assert_eq!(lines(&text.stdout).len(), 1, "{}", text.stdout);
    let both = run(
        d,
        &[
            "audit", "--by", "alice", "--kind", "user", "--search", "cy@",
        ],
    );
    assert_eq!(both.code, 0);
    assert!(
        both.stdout.contains("cy@example.com") && !both.stdout.contains("ana@"),
        "{}",
        both.stdout
    );
    let none = run(d, &["audit", "--search", "zzq"]);
    assert_eq!(none.stdout, "No events.\n");
}

#[test]
fn formats_stream_json_csv_and_lines() {
    let fd = trail();
    let d = &fd;
    let json = run(d, &["audit", "--format", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    let empty = run(d, &["audit", "--format", "json", "--search", "zzq"]);
    assert_eq!(
        serde_json::from_str::<Value>(&empty.stdout).unwrap(),
        Value::Array(vec![])
    );
    let csv = run(d, &["audit", "--format", "csv", "--limit", "2"]);
    let rows = lines(&csv.stdout);
    assert_eq!(
        rows[0],
        "id,at,actor,os_user,user,kind,detail,ip,written_at,clock_set"
    );
    assert_eq!(rows.len(), 3, "{}", csv.stdout);
    // --format wins over --json.
    let jsonl = run(d, &["audit", "--json", "--format", "jsonl", "--limit", "1"]);
    assert_eq!(lines(&jsonl.stdout).len(), 1);
    // --json alone is a page as before.
    let page = run(d, &["audit", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&page.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let fd = trail();
    let d = &fd;
    for (args, says) in [
        (vec!["audit", "--since", "2026-13-01"], "is not a time"),
        (vec!["audit", "--until", "yesterday"], "is not a time"),
        (
            vec!["audit", "--since", "2026-11-23", "--until", "2026-11-22"],
            "is not before its end",
        ),
        (
            vec!["audit", "--since", "2026-11-22", "--until", "2026-11-22"],
            "is not before its end",
        ),
        (vec!["audit", "--format", "xml"], "invalid value 'xml'"),
        (
            vec!["audit", "--follow", "--format", "csv"],
            "--format jsonl",
        ),
        (
            vec!["audit", "--follow", "--limit", "3"],
            "cannot be used with",
        ),
    ] {
        let o = run(d, &args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(says), "{args:?}: {}", o.stderr);
    }
    let o = run(d, &["audit", "--search", "a\u{1b}[31m"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("control character"), "{}", o.stderr);
}

#[test]
fn follow_prints_what_another_command_writes() {
    let fd = trail();
    let d = &fd;
    let mut child = command(
        d,
        &["audit", "--follow", "--format", "jsonl", "--kind", "user"],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Let it read the head before anything new is written.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        run(
            d,
            &["policy", "set", "totp_skew", "2", "--reason", "slow phones"]
        )
        .code,
        0
    );
    assert_eq!(run(d, &["user", "add", "dee@example.com"]).code, 0);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let started = Instant::now();
    out.read_line(&mut line).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let v: Value = serde_json::from_str(&line).unwrap();
    // Only what the filter keeps: the policy change is not a user event.
    assert_eq!(v["kind"], "user.add", "{line}");
    assert_eq!(v["user"], "dee@example.com");
    // Closing its stdout ends it cleanly once it next writes or looks.
    drop(out);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "--follow outlived its reader");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn temp_code_is_shown_once_and_refuses_bad_validity() {
    let fd = trail();
    let d = &fd;
    let o = run(
        d,
        &[
            "user",
            "temp-code",
            "ana@example.com",
            "--valid",
            "2h",
            "--reason",
            "lost phone",
            "--json",
            "--now",
            T0,
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let code = v["code"].as_str().unwrap();
    assert_eq!(code.len(), 14);
    assert_eq!(v["valid_until"], "2026-11-21T11:00:00Z");
    let audit = run(
        d,
        &["audit", "--kind", "user.temp_code", "--format", "jsonl"],
    );
    assert!(
        audit.stdout.contains("lost phone") && !audit.stdout.contains(code),
        "{}",
        audit.stdout
    );
    for (valid, says) in [
        ("8d", "at most 7d"),
        ("1m", "at least 5m"),
        ("soon", "not a length"),
    ] {
        let o = run(
            d,
            &[
                "user",
                "temp-code",
                "ana@example.com",
                "--valid",
                valid,
                "--reason",
                "x",
            ],
        );
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(o.stderr.contains(says), "{}", o.stderr);
    }
    let o = run(d, &["user", "temp-code", "ana@example.com", "--reason", ""]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("reason"), "{}", o.stderr);
    let o = run(
        d,
        &["user", "temp-code", "nobody@example.com", "--reason", "x"],
    );
    assert_eq!(o.code, 1);
}
