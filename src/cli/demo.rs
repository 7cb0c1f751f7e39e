//! `factordesk demo`: (re)create the demo database, with a progress bar on a
//! terminal while `--users` generates a crowd, then open the console on it.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use indicatif::ProgressBar;

use super::{Cli, DemoArgs};
use crate::demo::{Crowd, Report, Scenario, build_with};
use crate::desk::{Desk, DeskError, Result};
use crate::location::Location;
use crate::store::pg::{self, Found};

/// `factordesk demo`: (re)create the demo database at `--db`. An existing
/// file is replaced only if `demo` made it; anything else is left untouched.
pub(crate) fn run(cli: &Cli, args: &DemoArgs) -> Result<i32> {
    crate::cli::check_actor(cli)?;
    let location = crate::cli::location(cli)?;
    let key = crate::cli::key_source(cli, &location)?;
    match &location {
        Location::File(db) => {
            super::conventions::make_home_for(db)?;
            if db.exists() {
                refuse_unless_demo(&location, &key)?;
                crate::store::remove_database_files(db);
                if let Some(path) = key.path() {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        Location::Postgres(url) => {
            if !matches!(pg::inspect(url)?.found, Found::Empty | Found::Version(0)) {
                refuse_unless_demo(&location, &key)?;
                pg::wipe(&pg::connect(url)?)?;
            }
        }
    }
    let clock = cli
        .now
        .map_or_else(crate::clock::Clock::system, crate::clock::Clock::fixed);
    let mut desk = Desk::create_at(
        &location,
        &key,
        clock,
        crate::rng::Rng::seeded(args.seed),
        crate::desk::ORIGIN_DEMO,
    )?;
    // The history is written as the demo, by whoever ran it.
    crate::cli::name_operator(cli, &mut desk);
    let crowd = args
        .users
        .map_or(Crowd::Colleagues, |users| Crowd::Generated {
            users,
            seed: args.seed,
        });
    let bar = progress_bar(crowd);
    let built = build_with(
        &mut desk,
        &Scenario::embedded()?,
        crowd,
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )
    .and_then(|report| {
        bar.set_message("gathering statistics for the query planner");
        desk.optimize()?;
        Ok(report)
    });
    bar.finish_and_clear();
    let report = match built {
        Ok(r) => r,
        Err(e) => {
            drop(desk);
            match &location {
                Location::File(db) => {
                    crate::store::remove_database_files(db);
                    if let Some(path) = key.path() {
                        let _ = std::fs::remove_file(path);
                    }
                }
                // The key file stays: it was given, or is shared.
                Location::Postgres(url) => {
                    let _ = pg::connect(url).and_then(|db| pg::wipe(&db));
                }
            }
            return Err(e);
        }
    };
    if cli.json {
        crate::cli::emit(&crate::cli::json(&report));
    } else {
        crate::cli::say(&summary(&report, &location, args.seed));
    }
    drop(desk);
    // The database is made: without a terminal there is just no console.
    let terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if args.no_open || cli.json || !terminal {
        return Ok(crate::cli::exit::OK);
    }
    crate::cli::open_console_if_terminal(cli)
}

/// Replace only what `demo` made: anything else is left untouched.
fn refuse_unless_demo(location: &Location, key: &crate::keyfile::Source) -> Result<()> {
    let existing = Desk::open_at(
        location,
        key,
        crate::clock::Clock::system(),
        crate::rng::Rng::seeded(0),
    )?;
    if existing.origin()?.as_deref() == Some(crate::desk::ORIGIN_DEMO) {
        return Ok(());
    }
    Err(DeskError::Refused(format!(
        "{location} holds a factordesk database that is not a demo; it was left untouched: pass another --db for the demo"
    )))
}

/// A bar on stderr while a crowd is generated, when stdout is a terminal;
/// otherwise (a pipe, a file, CI) one that draws nothing.
fn progress_bar(crowd: Crowd) -> ProgressBar {
    if crowd == Crowd::Colleagues {
        return ProgressBar::hidden();
    }
    let bar = super::progress::job_bar();
    bar.set_prefix("Generating users and their history");
    bar
}

/// The human summary `demo` prints: each scenario, and for one with a
/// remembered computer the command line that logs in from it.
fn summary(report: &Report, db: &Location, seed: u64) -> String {
    let mut text = format!(
        "Demo database {db} (seed {seed}, clock {}): {} users.\nEvery demo user's password: {}\n\nSupport scenarios:\n",
        crate::domain::stamp(report.now),
        report.users,
        report.password
    );
    let width = report
        .scenarios
        .iter()
        .map(|s| s.email.len())
        .max()
        .unwrap_or(0);
    for s in &report.scenarios {
        let _ = writeln!(text, "  {:<width$}  {}", s.email, s.summary);
        if let (Some(t), Some(ip)) = (&s.device_token, &s.device_ip) {
            let _ = writeln!(
                text,
                "  {:<width$}    its trusted device: echo {t} | factordesk login start {} --assume-password --device - --ip {ip}",
                "", s.email
            );
        }
    }
    text
}
