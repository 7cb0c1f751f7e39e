//! The habits scripts expect of a CLI: completions, a man page, a version that
//! names the schema and `SQLite`, JSON errors, and an XDG home for the database.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{CommandFactory as _, FromArgMatches as _};
use serde::Serialize;

use super::Cli;
use super::out::json_line;
use crate::desk::{DeskError, Result};
use crate::domain::text;

/// The name every script and completion calls us by.
const BIN: &str = "factordesk";

/// `factordesk 0.1.0 (schema 7, SQLite 3.50.2)`: what a bug report needs.
fn version_text() -> String {
    format!(
        "{} (schema {}, SQLite {})",
        env!("CARGO_PKG_VERSION"),
        crate::store::latest(),
        rusqlite::version()
    )
}

/// The whole command line, as clap sees it, with the long version.
pub fn command() -> clap::Command {
    Cli::command().version(version_text())
}

/// Parse the process's arguments; a command line that does not parse is
/// reported (as JSON under `--json`) and its exit code returned.
pub fn parse() -> std::result::Result<Cli, i32> {
    let json = wants_json(std::env::args_os());
    command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
        .map_err(|e| usage_error(&e, json))
}

/// Whether `--json` is on a command line that may not parse (not after `--`).
fn wants_json(args: impl IntoIterator<Item = OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// What `--json` writes to stderr for an error.
#[derive(Debug, Serialize)]
struct ErrorJson<'a> {
    error: &'a str,
    kind: &'a str,
    exit_code: i32,
}

/// Say an error on stderr, on one line: `error: ...`, or with `--json` an
/// object with `error`, `kind` and `exit_code`.
fn say_error(json: bool, message: &str, kind: &str, exit_code: i32) {
    let line = if json {
        json_line(&ErrorJson {
            error: message,
            kind,
            exit_code,
        })
    } else {
        // Nothing in it (a name or address echoed back) can drive the terminal.
        format!("error: {}", text::escape(message))
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Report a desk error; returns the exit code.
/// [`report`] with `message` worded by the caller (which knows a flag the
/// words cannot), under `e`'s kind and exit code.
pub(crate) fn report_as(json: bool, e: &DeskError, message: &str) -> i32 {
    say_error(json, message, e.kind(), e.exit_code());
    e.exit_code()
}

pub(crate) fn report(json: bool, e: &DeskError) -> i32 {
    say_error(json, &super::words::desk_error(e), e.kind(), e.exit_code());
    e.exit_code()
}

/// Report a command line that did not parse; returns the exit code. Help and
/// version print as clap prints them; a usage error is one line on stderr
/// (exit 2), like every other error, with the kind `usage.WHAT`.
pub fn usage_error(e: &clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return e.exit_code();
    }
    let rendered = one_line(&e.render().to_string());
    let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    let kind = format!("usage.{}", snake_case(&format!("{:?}", e.kind())));
    say_error(json, message, &kind, e.exit_code());
    e.exit_code()
}

/// clap's multi-line error text as one line: lines joined with spaces,
/// paragraphs with "; ".
fn one_line(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `InvalidValue` → `invalid_value`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where the database lives when neither `--db` nor `FACTORDESK_DB` says:
/// `$XDG_DATA_HOME/factordesk/factordesk.db`, by default
/// `~/.local/share/factordesk/factordesk.db`; with no home at all, the
/// current directory.
pub fn default_db() -> PathBuf {
    data_home(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME")).map_or_else(
        || PathBuf::from("factordesk.db"),
        |home| home.join(BIN).join("factordesk.db"),
    )
}

/// The XDG data home: `XDG_DATA_HOME` when it is an absolute path (the
/// specification says to ignore a relative one), else `HOME/.local/share`.
fn data_home(xdg: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let absolute = |v: OsString| {
        let p = PathBuf::from(v);
        p.is_absolute().then_some(p)
    };
    xdg.and_then(absolute)
        .or_else(|| home.and_then(absolute).map(|h| h.join(".local/share")))
}

/// Before `init` or `demo` makes `db`: the default location's directory is
/// made (0700, as the XDG specification asks) if it is not there. A `--db`
/// of one's own names a directory that must exist already.
pub(crate) fn make_home_for(db: &Path) -> Result<()> {
    if db != default_db() {
        return Ok(());
    }
    let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        DeskError::Refused(format!(
            "cannot create {}: {e}; make it yourself, or pass --db with a writable location",
            dir.display()
        ))
    })
}

/// `factordesk completions SHELL`: the script on stdout. It is made in
/// memory first: `clap_complete` panics on a write error, and a closed pipe
/// (`factordesk completions bash | head`) is not one of ours.
pub(crate) fn completions(shell: clap_complete::Shell) -> i32 {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), BIN, &mut script);
    put(&script);
    super::exit::OK
}

/// Bytes to stdout, ignoring a closed pipe.
fn put(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// `factordesk man`: the manual page, roff, on stdout.
pub(crate) fn man() -> Result<i32> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command())
        .render(&mut page)
        .map_err(|e| DeskError::Refused(format!("cannot write the manual page: {e}")))?;
    put(&page);
    Ok(super::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_home_follows_xdg_and_ignores_relative_paths() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            data_home(some("/x/data"), some("/home/ana")),
            Some(PathBuf::from("/x/data"))
        );
        assert_eq!(
            data_home(some("relative"), some("/home/ana")),
            Some(PathBuf::from("/home/ana/.local/share"))
        );
        assert_eq!(
            data_home(some(""), some("/home/ana")),
            Some(PathBuf::from("/home/ana/.local/share"))
        );
        assert_eq!(data_home(None, some("not/absolute")), None);
        assert_eq!(data_home(None, None), None);
    }

    #[test]
    fn json_is_asked_for_before_a_double_dash_only() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wants_json(args(&["factordesk", "user", "--json", "x"])));
        assert!(!wants_json(args(&["factordesk", "user", "--", "--json"])));
        assert!(!wants_json(args(&["--json"])), "the program's own name");
    }

    #[test]
    fn names_and_lines() {
        assert_eq!(snake_case("InvalidValue"), "invalid_value");
        assert_eq!(snake_case("UnknownArgument"), "unknown_argument");
        assert_eq!(
            one_line("error: a\n  b\n\nUsage: c"),
            "error: a b; Usage: c"
        );
    }

    #[test]
    fn the_version_names_the_schema_and_sqlite() {
        let v = version_text();
        assert!(v.starts_with(env!("CARGO_PKG_VERSION")), "{v}");
        assert!(
            v.contains(&format!("schema {}", crate::store::latest())),
            "{v}"
        );
        assert!(
            v.contains(&format!("SQLite {}", rusqlite::version())),
            "{v}"
        );
    }
}
