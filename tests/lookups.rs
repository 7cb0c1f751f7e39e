//! Finding people and messages by phone number or address, through the real
//! binary: `user list --search NUMBER` and `outbox --to NUMBER|ADDRESS`.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::T0;
use support::cli::Out;
use support::fd::Fd;

fn run(fd: &Fd, args: &[&str]) -> Out {
    fd.run(T0, args)
}

fn ok(fd: &Fd, args: &[&str]) -> String {
    let out = run(fd, args);
    assert_eq!(out.code, 0, "{args:?}: {} {}", out.stdout, out.stderr);
    assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr);
    out.stdout
}

fn json(fd: &Fd, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(fd, &all)).unwrap()
}

/// Ana (+1 415 555 0123, an SMS factor), Ben (a UK number, SMS) and Cy
/// (an email factor): each has had a confirmation code sent; in a file or
/// on `PostgreSQL` (see `support::fd`).
fn people() -> Fd {
    let fd = Fd::empty_named("l.db");
    let d = &fd;
    ok(d, &["init"]);
    ok(
        d,
        &[
            "policy",
            "set",
            "sms_countries",
            "1,44",
            "--reason",
            "UK office",
        ],
    );
    ok(
        d,
        &["user", "add", "ana@example.com", "--phone", "+14155550123"],
    );
    ok(
        d,
        &["user", "add", "ben@example.com", "--phone", "+447400900123"],
    );
    ok(d, &["user", "add", "cy@example.com"]);
    ok(
        d,
        &["factor", "add-sms", "ana@example.com", "+1 415 555 0123"],
    );
    ok(
        d,
        &["factor", "add-sms", "ben@example.com", "+447400900123"],
    );
    ok(d, &["factor", "add-email", "cy@example.com"]);
    fd
}

fn emails(v: &Value) -> Vec<String> {
    let rows = v.as_array().or_else(|| v["users"].as_array()).unwrap();
    rows.iter()
        .map(|u| {
            u["email"]
                .as_str()
                .or_else(|| u["user"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn user_list_finds_a_phone_number_in_any_spelling() {
    let fd = people();
    let d = &fd;
    for spelling in [
        "+1 415 555 0123",
        "4155550123",
        "(415) 555-0123",
        "1-415-555-0123",
    ] {
        let v = json(d, &["user", "list", "--search", spelling]);
        assert_eq!(emails(&v), ["ana@example.com"], "{spelling}: {v:#}");
    }
    let v = json(d, &["user", "list", "--search", "07400 900123"]);
    assert_eq!(emails(&v), ["ben@example.com"], "{v:#}");
    // Someone else's number finds nobody; the table says so in words.
    let v = json(d, &["user", "list", "--search", "(415) 555-0199"]);
    assert!(emails(&v).is_empty(), "{v:#}");
    let table = ok(d, &["user", "list", "--search", "4155550123"]);
    assert!(table.contains("ana@example.com"), "{table}");
}

#[test]
fn the_outbox_is_filtered_by_number_or_address() {
    let fd = people();
    let d = &fd;
    for spelling in ["+1 415 555 0123", "4155550123", "(415) 555-0123"] {
        let v = json(d, &["outbox", "--to", spelling]);
        assert_eq!(emails(&v), ["ana@example.com"], "{spelling}: {v:#}");
    }
    let v = json(d, &["outbox", "--to", "+44 7400 900123"]);
    assert_eq!(emails(&v), ["ben@example.com"], "{v:#}");
    let v = json(d, &["outbox", "--to", "CY@example.com"]);
    assert_eq!(emails(&v), ["cy@example.com"], "{v:#}");
    let v = json(d, &["outbox", "--to", "+1 212 555 0100"]);
    assert!(emails(&v).is_empty(), "{v:#}");
    // With --user too, both must hold.
    let v = json(
        d,
        &["outbox", "--to", "4155550123", "--user", "ben@example.com"],
    );
    assert!(emails(&v).is_empty(), "{v:#}");
    let all = json(d, &["outbox"]);
    assert_eq!(emails(&all).len(), 3, "{all:#}");
}

#[test]
fn a_recipient_that_is_neither_is_a_usage_error() {
    let fd = people();
    let d = &fd;
    for bad in ["ana", "555-01", "12345678901234567", "+1 415 + 555"] {
        let out = run(d, &["outbox", "--to", bad]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with("error: invalid value")
                && out.stderr.contains("give an email address"),
            "{}",
            out.stderr
        );
    }
}

/// The console's `/` finds Carol by her UK number, typed the British way
/// and the international way, on the demo data (fixed clock, seeded RNG).
#[test]
fn the_users_search_finds_a_phone_number() {
    let mut app = support::demo_console();
    support::keys(&mut app, "2/07400 900123\n");
    for (w, h) in [(100, 30), (80, 24)] {
        insta::assert_snapshot!(
            format!("users_search_phone_national_{w}x{h}"),
            support::screen(&app, w, h)
        );
    }
    support::keys(&mut app, "\x1b/+44 7400 900123");
    let shown = support::screen(&app, 100, 30);
    assert!(shown.contains("carol@example.co.uk"), "{shown}");
    assert!(!shown.contains("alice@example.com"), "{shown}");
}
