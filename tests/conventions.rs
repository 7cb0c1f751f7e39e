//! The habits of a good CLI, through the real binary: shell completions, the
//! man page, `--version`, JSON errors, and where the database lives by default.
//!
//! Every run gets a `HOME` and `XDG_DATA_HOME` inside its temporary directory
//! (unless a test sets its own), so nothing is ever written to the real home.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::T0;
use support::cli::{Out, factordesk, run as run_cmd};
use support::fd::Fd;

/// The binary in `dir`, with `env` set (`HOME` and `XDG_DATA_HOME` default to
/// folders inside `dir`).
fn run_env(dir: &Path, env: &[(&str, &Path)], args: &[&str]) -> Out {
    let mut cmd = factordesk(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_cmd(cmd, None)
}

fn run(dir: &Path, args: &[&str]) -> Out {
    run_env(dir, &[], args)
}

/// The binary on `fd`'s database: a file, or a fresh `PostgreSQL` one.
fn run_on(fd: &Fd, args: &[&str]) -> Out {
    let mut cmd = fd.command(args);
    cmd.args(args);
    run_cmd(cmd, None)
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("skipped: {name} is not installed");
    }
    found
}

#[test]
fn completions_for_every_shell_and_none_for_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(dir.path(), &["completions", shell]).quiet();
        assert!(out.stdout.contains("factordesk"), "{shell}");
        // Every subcommand is offered, the newest ones too.
        for sub in ["doctor", "outbox", "completions", "man", "migrate"] {
            assert!(out.stdout.contains(sub), "{shell} lacks {sub}");
        }
    }
    let out = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.starts_with("error: invalid value 'tcsh'")
            && out.stderr.contains("bash, elvish, fish, powershell, zsh")
            && out.stderr.trim_end().lines().count() == 1,
        "{out:?}"
    );
    let out = run(dir.path(), &["--json", "completions", "tcsh"]);
    let e = out.json_error();
    assert_eq!(e["kind"], "usage.invalid_value", "{e}");
    assert!(e["error"].as_str().unwrap().contains("'tcsh'"), "{e}");
    let out = run(dir.path(), &["completions"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn the_bash_completion_loads_and_completes_subcommands() {
    if !tool("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("factordesk.bash");
    std::fs::write(
        &script,
        run(dir.path(), &["completions", "bash"]).quiet().stdout,
    )
    .unwrap();
    let probe = format!(
        r#"source '{}' || exit 9
complete -p factordesk
COMP_WORDS=(factordesk us); COMP_CWORD=1; COMP_LINE='factordesk us'; COMP_POINT=13
_factordesk factordesk us factordesk
echo "words: ${{COMPREPLY[*]}}"
COMP_WORDS=(factordesk completions ''); COMP_CWORD=2
_factordesk factordesk '' completions
echo "shells: ${{COMPREPLY[*]}}""#,
        script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with("complete ") && l.ends_with(" factordesk")),
        "{text}"
    );
    assert!(text.contains("words: user"), "{text}");
    let shells = text.lines().find(|l| l.starts_with("shells:")).unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.contains(shell), "{text}");
    }
    // As a user's ~/.bashrc would load it: straight from the binary.
    let bin = Path::new(env!("CARGO_BIN_EXE_factordesk"));
    let dir_of_bin = bin.parent().unwrap();
    let path = format!(
        "{}:{}",
        dir_of_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            "source <(factordesk completions bash); complete -p factordesk",
        ])
        .env("PATH", path)
        .env("HOME", dir.path().join("home"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.starts_with("complete ") && said.trim_end().ends_with(" factordesk"),
        "{said}"
    );
}

#[test]
fn other_shells_parse_their_scripts_where_installed() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        if !tool(shell) {
            continue;
        }
        let script = dir.path().join(format!("factordesk.{shell}"));
        std::fs::write(
            &script,
            run(dir.path(), &["completions", shell]).quiet().stdout,
        )
        .unwrap();
        let out = Command::new(shell)
            .args(check)
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
    }
}

#[test]
fn the_man_page_is_roff_that_man_reads() {
    let dir = tempfile::tempdir().unwrap();
    let page = run(dir.path(), &["man"]).quiet().stdout;
    assert!(page.contains(".TH factordesk 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section}");
    }
    assert!(
        page.contains("factordesk\\-completions") && page.contains("factordesk\\-migrate"),
        "subcommands are listed"
    );
    let file = dir.path().join("factordesk.1");
    std::fs::write(&file, &page).unwrap();
    if !tool("man") {
        return;
    }
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // man-db without groff's output device prints nothing: say so.
    if !out.status.success() || text.trim().is_empty() {
        println!("skipped: man -l could not format the page here: {out:?}");
        return;
    }
    assert!(text.contains("factordesk"), "{text}");
    assert!(text.contains("--json"), "{text}");
    assert!(text.contains("XDG_DATA_HOME"), "{text}");
}

#[test]
fn version_names_the_schema_and_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--version", "-V"] {
        let out = run(dir.path(), &[flag]).quiet();
        let want = format!(
            "factordesk {} (schema {}, SQLite {})\n",
            env!("CARGO_PKG_VERSION"),
            factordesk::store::latest(),
            rusqlite::version()
        );
        assert_eq!(out.stdout, want);
    }
}

#[test]
fn json_errors_are_one_object_with_error_kind_and_exit_code() {
    let fd = Fd::empty_named("j.db");
    // No database yet.
    let out = run_on(&fd, &["--json", "user", "list"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    let e = out.json_error();
    assert_eq!(e["kind"], "store.missing", "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("factordesk init"),
        "{e}"
    );
    run_on(&fd, &["--now", T0, "init"]).quiet();
    // An unknown user; quotes and backticks in the sentence stay JSON.
    let out = run_on(
        &fd,
        &["--now", T0, "user", "show", "nobody@example.com", "--json"],
    );
    let e = out.json_error();
    assert_eq!(e["kind"], "unknown_user", "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("`factordesk user list --search TERM`"),
        "{e}"
    );
    // Without --json the same error is words.
    let out = run_on(&fd, &["--now", T0, "user", "show", "nobody@example.com"]);
    assert!(
        out.stderr.starts_with("error: no user nobody@example.com"),
        "{out:?}"
    );
}

#[test]
fn json_errors_name_refusals_usage_and_denials() {
    let fd = Fd::empty_named("j.db");
    run_on(&fd, &["--now", T0, "init"]).quiet();
    // A refusal of the input itself, a usage error and a denial.
    let out = run_on(
        &fd,
        &["--now", T0, "--json", "user", "add", "not-an-address"],
    );
    assert_eq!(out.json_error()["kind"], "contact.email");
    let out = run_on(&fd, &["--now", "garbage", "--json", "user", "list"]);
    assert_eq!(out.code, 2);
    let e = out.json_error();
    assert_eq!(e["kind"], "usage.value_validation", "{e}");
    assert!(e["error"].as_str().unwrap().contains("RFC 3339"), "{e}");
    let out = run_on(&fd, &["--json", "user", "frobnicate"]);
    assert_eq!(out.json_error()["kind"], "usage.invalid_subcommand");
    run_on(&fd, &["--now", T0, "user", "add", "ana@example.com"]).quiet();
    let added = run_on(
        &fd,
        &[
            "--now",
            T0,
            "--json",
            "factor",
            "add-email",
            "ana@example.com",
        ],
    )
    .quiet();
    let id = serde_json::from_str::<Value>(&added.stdout).unwrap()["factor_id"].to_string();
    let out = run_on(
        &fd,
        &[
            "--now",
            T0,
            "--json",
            "factor",
            "confirm",
            "ana@example.com",
            &id,
            "000000",
        ],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.json_error()["kind"], "wrong_confirmation");
    // `--json` after `--` is an argument, not the flag.
    let out = run_on(&fd, &["user", "show", "--", "--json"]);
    assert!(out.stderr.starts_with("error: "), "{out:?}");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_database_lives_in_the_xdg_data_home_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // No XDG_DATA_HOME: ~/.local/share/factordesk, made 0700.
    let home = d.join("home");
    let no_xdg = [("HOME", home.as_path()), ("XDG_DATA_HOME", Path::new(""))];
    let out = run_env(d, &no_xdg, &["--now", T0, "init"]).quiet();
    let place = home.join(".local/share/factordesk");
    let db = place.join("factordesk.db");
    assert!(out.stdout.contains(&db.display().to_string()), "{out:?}");
    assert!(db.is_file() && place.join("factordesk.db.key").is_file());
    assert_eq!(mode(&place), 0o700);
    assert_eq!(mode(&db), 0o600);
    run_env(d, &no_xdg, &["--now", T0, "user", "add", "ana@example.com"]).quiet();
    let out = run_env(d, &no_xdg, &["--now", T0, "user", "list"]).quiet();
    assert!(out.stdout.contains("ana@example.com"), "{out:?}");
    assert!(
        !d.join("factordesk.db").exists(),
        "nothing in the current directory"
    );

    // XDG_DATA_HOME, where set, is the place; demo follows it too.
    let xdg = d.join("xdg");
    let with_xdg = [("XDG_DATA_HOME", xdg.as_path())];
    run_env(d, &with_xdg, &["--now", T0, "demo", "--no-open"]).quiet();
    let demo = xdg.join("factordesk/factordesk.db");
    assert!(demo.is_file() && xdg.join("factordesk/factordesk.db.key").is_file());
    assert_eq!(mode(&xdg.join("factordesk")), 0o700);
    let out = run_env(
        d,
        &with_xdg,
        &["--now", T0, "user", "list", "--search", "erin"],
    )
    .quiet();
    assert!(out.stdout.contains("erin@example.com"), "{out:?}");

    // FACTORDESK_DB, and --db over it, still win.
    let env_db = d.join("env.db");
    let by_env = [
        ("XDG_DATA_HOME", xdg.as_path()),
        ("FACTORDESK_DB", env_db.as_path()),
    ];
    run_env(d, &by_env, &["--now", T0, "init"]).quiet();
    assert!(env_db.is_file() && d.join("env.db.key").is_file());
    let flag_db = d.join("flag.db");
    run_env(
        d,
        &by_env,
        &["--db", flag_db.to_str().unwrap(), "--now", T0, "init"],
    )
    .quiet();
    assert!(flag_db.is_file());
    // A --db of one's own in a missing folder is not made for it.
    let out = run(d, &["--db", "no/such/folder/x.db", "--now", T0, "init"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!d.join("no").exists());
}

#[test]
fn a_report_into_a_pipe_shows_no_progress() {
    let fd = Fd::empty_named("r.db");
    run_on(&fd, &["--now", T0, "demo", "--no-open"]).quiet();
    for format in ["csv", "json"] {
        let out = run_on(
            &fd,
            &["--now", T0, "report", "readiness", "--format", format],
        )
        .quiet();
        assert!(out.stdout.contains("dave@example.com"), "{format}");
    }
}
