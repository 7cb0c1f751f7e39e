//! `factordesk migrate --to URL` / `--from URL`: the whole database copied
//! between the file at `--db` and `PostgreSQL`, with a bar on a terminal, and
//! the key to give the other side's users.

use std::path::Path;

use indicatif::ProgressBar;
use serde::Serialize;

use super::{Cli, MigrateArgs, exit};
use crate::desk::transfer::{self, Moved, Progress, Stage};
use crate::desk::{DeskError, Result};
use crate::keyfile::{KEY_ENV, Source};
use crate::location::{self, Location};
use crate::store::StoreError;
use crate::store::pg::PgUrl;

/// The JSON `migrate` prints.
#[derive(Serialize)]
struct Report<'a> {
    from: String,
    to: String,
    #[serde(flatten)]
    moved: &'a Moved,
    /// The key file the other side's users pass (`None`: the key is in
    /// `FACTORDESK_KEY`).
    key_file: Option<String>,
}

pub(crate) fn run(cli: &Cli, args: &MigrateArgs) -> Result<i32> {
    let (done, flag) = match (&args.to, &args.from) {
        (Some(to), None) => (to_postgres(cli, to), "--to"),
        (None, Some(from)) => (from_postgres(cli, from), "--from"),
        _ => {
            return Err(DeskError::Usage(
                "give one of --to URL and --from URL".to_owned(),
            ));
        }
    };
    match done {
        // The PostgreSQL side is the URL of --to / --from, not --db.
        Err(e) => match &e {
            DeskError::Store(StoreError::Engine(inner)) => Ok(super::conventions::report_as(
                cli.json,
                &e,
                &super::words::engine_error(inner, flag),
            )),
            _ => Err(e),
        },
        done => done,
    }
}

fn to_postgres(cli: &Cli, to: &str) -> Result<i32> {
    let url = parse_url(to)?;
    let desk = super::commands::open(cli)?;
    let key = super::key_source(cli, &super::location(cli)?)?;
    let bar = super::progress::job_bar();
    let moved = desk.copy_to_postgres(&url, &mut |p| show(&bar, p));
    bar.finish_and_clear();
    let moved = moved?;
    let key_file = key_file_of(&key);
    let report = Report {
        from: cli.db.display().to_string(),
        to: url.redacted(),
        moved: &moved,
        key_file: key_file.clone(),
    };
    if cli.json {
        super::emit(&super::json(&report));
    } else {
        let give = key_file.map_or_else(
            || format!("the key in {KEY_ENV} (set it to the same value)"),
            |f| format!("--key-file {f} (or set {KEY_ENV} to its contents)"),
        );
        super::say(&format!(
            "{}\nPostgreSQL users open it with --db {} and {give}",
            summary(&report),
            url.redacted()
        ));
    }
    Ok(exit::OK)
}

fn from_postgres(cli: &Cli, from: &str) -> Result<i32> {
    super::check_actor(cli)?;
    let url = parse_url(from)?;
    let key = location::key_source(
        &Location::Postgres(Box::new(url.clone())),
        cli.key_file.clone(),
        std::env::var(KEY_ENV).ok(),
    )?;
    let bar = super::progress::job_bar();
    let moved = transfer::copy_from_postgres(&url, &cli.db, &key, &mut |p| show(&bar, p));
    bar.finish_and_clear();
    let moved = moved?;
    let key_file = crate::keyfile::default_path(&cli.db);
    let report = Report {
        from: url.redacted(),
        to: cli.db.display().to_string(),
        moved: &moved,
        key_file: Some(absolute(&key_file)),
    };
    if cli.json {
        super::emit(&super::json(&report));
    } else {
        super::say(&format!(
            "{}\nIts key file is {}: it opens like any other database file",
            summary(&report),
            key_file.display()
        ));
    }
    Ok(exit::OK)
}

/// The URL of `--to` / `--from`, checked.
fn parse_url(text: &str) -> Result<PgUrl> {
    PgUrl::parse(text).map_err(|e| StoreError::Engine(e).into())
}

/// The key file to name to the other side's users (absolute), if the key
/// is in one.
fn key_file_of(key: &Source) -> Option<String> {
    key.path().map(absolute)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

fn summary(report: &Report<'_>) -> String {
    let tables = report
        .moved
        .tables
        .iter()
        .filter(|t| t.rows > 0)
        .map(|t| format!("{} {}", t.table, t.rows))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "Copied {} into {}: {} rows ({tables}), the same count in every table; audit chain verified ({} events).",
        report.from, report.to, report.moved.rows, report.moved.chain_verified
    )
}

fn show(bar: &ProgressBar, p: Progress) {
    let prefix = match p.stage {
        Stage::Copying => "Copying rows",
        Stage::Indexing => "Building indexes",
        Stage::Verifying => "Verifying the audit chain",
        Stage::Analyzing => "Gathering statistics for the query planner",
    };
    bar.set_prefix(prefix);
    bar.set_message(p.table);
    bar.set_length(p.total.max(1));
    bar.set_position(p.done);
}
