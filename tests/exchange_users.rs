//! Users in and out through the real binary: an import is all or nothing,
//! with the line of its first bad row; an export round-trips without
//! secrets; every factor added takes a label, shown wherever it is listed.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod support;

use serde_json::Value;

use support::T0;
use support::fd::Fd;

#[test]
fn users_import_is_all_or_nothing_and_says_the_line() {
    let fd = Fd::new();
    let good = "email,name,role,phone\nann@example.com,Ann Lee,admin,+14155550123\n\nbo@example.com,\"Bo, Jr.\",,\n";
    let file = fd.write("users.csv", good);
    let dry = fd.run(T0, &["import", "users", &file, "--dry-run"]).quiet();
    assert!(dry.stdout.contains("2 users would be imported"), "{dry:?}");
    assert!(fd.users().is_empty(), "a dry run changes nothing");

    for (text, says) in [
        (
            "email,name,role\na@example.com,A,admin\nb@example.com,B,boss\n",
            "line 3: `boss` is not a role",
        ),
        (
            "email,name\na@example.com,A\nA@example.com,B\n",
            "line 3: A@example.com is already on line 2",
        ),
        (
            "email,name\na@example.com,A\nb@example.com,\"B\n",
            "line 3: the CSV has a quote opened and never closed",
        ),
        ("email,name\na@example.com,A\nnot-an-address,B\n", "line 3:"),
        (
            "email,name\na@example.com,A,extra\n",
            "line 2: expected 2 columns, found 3",
        ),
        ("name,role\nA,admin\n", "line 1: the header must be"),
        (
            "email,name,role,phone\na@example.com,A,,+99 123\n",
            "line 2:",
        ),
        ("email\n", "there is nothing to import"),
    ] {
        let file = fd.write("bad.csv", text);
        let err = fd.run(T0, &["import", "users", &file]).error_line();
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert!(fd.users().is_empty(), "{text:?} left users behind");
    }
    // Files that cannot be read.
    let err = fd.run(T0, &["import", "users", "no-such.csv"]).error_line();
    assert!(
        err.contains("cannot read no-such.csv: there is no such file"),
        "{err}"
    );
    let err = fd
        .run(
            T0,
            &["import", "users", &fd.dir.path().display().to_string()],
        )
        .error_line();
    assert!(err.contains("it is a directory"), "{err}");
    std::fs::write(
        fd.path("latin1.csv"),
        b"email,name\na@example.com,Ren\xe9\n",
    )
    .unwrap();
    let err = fd.run(T0, &["import", "users", "latin1.csv"]).error_line();
    assert!(err.contains("line 2: it is not UTF-8 text"), "{err}");

    let done = fd
        .run(T0, &["import", "users", &file_of(&fd, good)])
        .quiet();
    assert!(done.stdout.contains("Imported 2 users."), "{done:?}");
    assert_eq!(fd.users(), ["ann@example.com", "bo@example.com"]);
    // Again: the first row now names an existing user.
    let err = fd
        .run(T0, &["import", "users", &file_of(&fd, good)])
        .error_line();
    assert!(
        err.contains("line 2: a user with email ann@example.com already exists"),
        "{err}"
    );
    let audit = fd.ok(&["audit", "--limit", "5"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "import.users"),
        "{audit:#}"
    );
}

fn file_of(fd: &Fd, text: &str) -> String {
    fd.write("again.csv", text)
}

#[test]
fn users_export_round_trips_without_secrets() {
    let fd = Fd::new();
    fd.two_users();
    let csv = fd
        .run(T0, &["export", "users", "--format", "csv"])
        .quiet()
        .stdout;
    assert_eq!(
        csv,
        "email,name,role,phone\r\nann@example.com,Ann Lee,admin,'+14155550123\r\nbo@example.com,\"Bo, Jr.\",member,\r\n"
    );
    let json: Value = serde_json::from_str(
        &fd.run(T0, &["export", "users", "--format", "json"])
            .quiet()
            .stdout,
    )
    .unwrap();
    assert_eq!(json[1]["name"], "Bo, Jr.");
    assert!(!json.to_string().contains("password"), "{json}");

    fd.run(T0, &["export", "users", "--out", "users-out.csv"])
        .quiet();
    let err = fd
        .run(T0, &["export", "users", "--out", "users-out.csv"])
        .error_line();
    assert!(err.contains("already exists"), "{err}");
    let other = Fd::named("other.db");
    let path = fd.path("users-out.csv").display().to_string();
    other.run(T0, &["import", "users", &path]).quiet();
    let back = other.ok(&["user", "show", "ann@example.com"]);
    assert_eq!(back["profile"]["phone"], "+14155550123", "{back:#}");
    assert_eq!(other.users(), fd.users());
}

#[test]
fn labels_are_chosen_on_every_add_and_shown() {
    let fd = Fd::new();
    fd.two_users();
    let e = fd.ok(&[
        "factor",
        "add-totp",
        "ann@example.com",
        "--label",
        "  work   phone ",
    ]);
    assert_eq!(e["label"], "work phone");
    let e = fd.ok(&[
        "factor",
        "add-email",
        "ann@example.com",
        "--label",
        "personal mail",
    ]);
    assert_eq!(e["factor_id"], 2);
    fd.ok(&[
        "factor",
        "add-sms",
        "ann@example.com",
        "+14155550123",
        "--label",
        "desk phone",
    ]);
    let table = fd
        .run(T0, &["factor", "list", "ann@example.com"])
        .quiet()
        .stdout;
    for label in ["work phone", "personal mail", "desk phone"] {
        assert!(table.contains(label), "{table}");
    }
    let show = fd
        .run(T0, &["user", "show", "ann@example.com"])
        .quiet()
        .stdout;
    assert!(show.contains("work phone"), "{show}");
    // The doctor names the pending factors by their labels.
    let doctor = fd.run(T0, &["doctor", "ann@example.com"]).stdout;
    assert!(doctor.contains("work phone"), "{doctor}");
    let long = "x".repeat(65);
    let err = fd
        .run(
            T0,
            &["factor", "add-totp", "bo@example.com", "--label", &long],
        )
        .error_line();
    assert!(err.contains("factor label"), "{err}");
    let err = fd
        .run(
            T0,
            &[
                "factor",
                "add-totp",
                "bo@example.com",
                "--label",
                "a\u{1b}[31m",
            ],
        )
        .error_line();
    assert!(err.contains("factor label"), "{err}");
    assert!(fd.factors("bo@example.com").is_empty());
}
