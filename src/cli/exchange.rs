//! `import` and `export`: read a file whole, hand its records to the desk,
//! write exports to a private file that appears whole; a bar on a terminal.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Cli;
use super::commands::{open, say};
use super::exit;
use super::out::json;
use crate::desk::exchange::{ExportSummary, ImportSummary, UserFormat};
use crate::desk::{DeskError, Result};
use crate::domain::exchange::{self, Format, Unfit, users};
use crate::files::{self, OpenError};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Users from a CSV file with a header naming `email` and any of
    /// `name`, `role`, `phone`.
    Users {
        file: PathBuf,
        /// Check everything and report what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Authenticator secrets: otpauth:// URIs (one a line), Authelia's CSV
    /// or YAML export, or privacyIDEA's OATH CSV. The users must exist.
    Totp {
        file: PathBuf,
        /// The file's format [default: told from its first lines].
        #[arg(long, value_enum)]
        format: Option<SecretFormat>,
        /// Read bare user names (Authelia's `john`) as `john@DOMAIN`.
        #[arg(long)]
        domain: Option<String>,
        /// Check everything and report what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every active authenticator secret and hardware token, to a new file
    /// only you can read (0600). Secrets leave the vault: audited.
    Totp {
        #[arg(long, value_enum)]
        format: SecretFormat,
        /// The new file to write (never over an existing one).
        #[arg(long)]
        out: PathBuf,
        /// Why, for the audit trail (required).
        #[arg(long)]
        reason: String,
    },
    /// Every user's address, name, role, status and phone (no secrets).
    Users {
        #[arg(long, value_enum, default_value = "csv")]
        format: UserFormatArg,
        /// A new file to write [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SecretFormat {
    /// otpauth:// URIs, one a line.
    Uri,
    /// `authelia storage user totp export csv`.
    AutheliaCsv,
    /// `authelia storage user totp export` (YAML).
    AutheliaYaml,
    /// privacyIDEA's OATH CSV (`# version: 2`, hex seeds).
    OathCsv,
}

impl SecretFormat {
    fn format(self) -> Format {
        match self {
            SecretFormat::Uri => Format::Uri,
            SecretFormat::AutheliaCsv => Format::AutheliaCsv,
            SecretFormat::AutheliaYaml => Format::AutheliaYaml,
            SecretFormat::OathCsv => Format::OathCsv,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum UserFormatArg {
    Csv,
    Json,
}

pub(crate) fn import(cli: &Cli, c: &ImportCommand) -> Result<i32> {
    let (file, dry_run) = match c {
        ImportCommand::Users { file, dry_run } | ImportCommand::Totp { file, dry_run, .. } => {
            (file, *dry_run)
        }
    };
    let bytes = read_file(file)?;
    let text = exchange::text_of(&bytes)?;
    let mut desk = open(cli)?;
    let bar = bar("Importing");
    let mut tick = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let summary = match c {
        ImportCommand::Users { .. } => {
            let records = users::parse(text)?;
            desk.import_users(&records, dry_run, &mut tick)
        }
        ImportCommand::Totp { format, domain, .. } => {
            let format = match format {
                Some(f) => f.format(),
                None => Format::detect(text).ok_or_else(|| {
                    DeskError::Refused(format!(
                        "{} is not in a format factordesk reads: pass --format uri, authelia-csv, authelia-yaml or oath-csv",
                        file.display()
                    ))
                })?,
            };
            let records = format.parse(text)?;
            desk.import_secrets(format, &records, domain.as_deref(), dry_run, &mut tick)
        }
    };
    bar.finish_and_clear();
    let summary = summary?;
    if cli.json {
        super::commands::emit(&json(&summary));
    } else {
        say(&import_words(&summary));
    }
    Ok(exit::OK)
}

fn import_words(s: &ImportSummary) -> String {
    let what = if s.format == "users" {
        format!("{} users", s.users_added)
    } else {
        format!(
            "{} authenticator secrets ({} TOTP, {} HOTP)",
            s.totp_added + s.hotp_added,
            s.totp_added,
            s.hotp_added
        )
    };
    if s.dry_run {
        format!("Dry run: all rows are valid; {what} would be imported. Nothing was changed.")
    } else {
        format!("Imported {what}.")
    }
}

pub(crate) fn export(cli: &Cli, c: &ExportCommand) -> Result<i32> {
    let mut desk = open(cli)?;
    let bar = bar("Exporting");
    let mut tick = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let summary = match c {
        ExportCommand::Totp {
            format,
            out,
            reason,
        } => to_new_file(out, |w| {
            desk.export_secrets(format.format(), reason, w, &mut tick)
        }),
        ExportCommand::Users { format, out } => {
            let format = match format {
                UserFormatArg::Csv => UserFormat::Csv,
                UserFormatArg::Json => UserFormat::Json,
            };
            if let Some(path) = out {
                to_new_file(path, |w| desk.export_users(format, w, &mut tick))
            } else {
                let mut stdout = std::io::stdout().lock();
                desk.export_users(format, &mut stdout, &mut tick)
            }
        }
    };
    bar.finish_and_clear();
    let summary = summary?;
    let to_stdout = matches!(c, ExportCommand::Users { out: None, .. });
    if cli.json && !to_stdout {
        super::commands::emit(&json(&summary));
    } else if !to_stdout {
        say(&export_words(c, &summary));
    }
    Ok(exit::OK)
}

fn export_words(c: &ExportCommand, s: &ExportSummary) -> String {
    let mut text = match c {
        ExportCommand::Totp { out, .. } => format!(
            "Wrote {} secrets to {} (mode 0600; audited as secrets leaving the vault). Keep it safe and delete it once imported.",
            s.written,
            out.display()
        ),
        ExportCommand::Users { out, .. } => format!(
            "Wrote {} users to {}.",
            s.written,
            out.as_deref()
                .map_or_else(String::new, |p| p.display().to_string())
        ),
    };
    for left in &s.left_out {
        let why = match left.why {
            Unfit::Hotp => "the format has no hardware (HOTP) tokens: export as uri or oath-csv",
            Unfit::SeedLength => {
                "privacyIDEA would read another algorithm from its seed's length: export as uri"
            }
        };
        let _ = write!(
            text,
            "\nLeft out factor {} of {}: {why}.",
            left.factor_id, left.account
        );
    }
    text
}

/// Write through `write` into a new private file at `path`: built beside
/// it and put in place only when all of it is written; on any failure
/// nothing is left at `path`.
fn to_new_file<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<T>,
) -> Result<T> {
    let unwritable = |e: &std::io::Error| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            DeskError::Refused(format!(
                "{} already exists: choose another --out file; exports are never written over a file",
                path.display()
            ))
        } else {
            DeskError::ExportUnwritable {
                path: path.to_owned(),
                why: e.to_string(),
            }
        }
    };
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(unwritable(&std::io::Error::from(
            std::io::ErrorKind::AlreadyExists,
        )));
    }
    let (temp, file) = files::temp_beside(path).map_err(|e| unwritable(&e))?;
    let mut buffered = std::io::BufWriter::new(file);
    let done = write(&mut buffered).and_then(|value| {
        let file = buffered.into_inner().map_err(|e| unwritable(e.error()))?;
        file.sync_all().map_err(|e| unwritable(&e))?;
        drop(file);
        files::place_new(&temp, path).map_err(|e| unwritable(&e))?;
        Ok(value)
    });
    if done.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    done
}

/// The whole of an import file, refused in one line if it cannot be read.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let cannot = |why: String| {
        DeskError::Refused(format!(
            "cannot read {}: {why}; nothing was imported",
            path.display()
        ))
    };
    let file = files::open_regular(path).map_err(|e| match e {
        OpenError::Missing => cannot("there is no such file".to_owned()),
        OpenError::NotRegular(what) => cannot(format!("it is {what}, not a file")),
        OpenError::Io(e) => cannot(e.to_string()),
    })?;
    let mut bytes = Vec::new();
    file.take(exchange::MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(e.to_string()))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > exchange::MAX_FILE {
        return Err(cannot(format!(
            "it is larger than {} MiB; split it",
            exchange::MAX_FILE / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// A progress bar on stderr when both ends are a terminal; hidden in pipes.
fn bar(prefix: &'static str) -> ProgressBar {
    if !(std::io::stdout().is_terminal() && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix} [{bar:32}] {pos}/{len} ({eta} left)")
        .map_or_else(
            |_| ProgressStyle::default_bar(),
            |s| s.progress_chars("=> "),
        );
    bar.set_style(style);
    bar.set_prefix(prefix);
    bar
}
